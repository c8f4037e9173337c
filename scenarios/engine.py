"""What-if arithmetic without Django (pandas): a base case over a window of months and one change to it.

Fed two frames and a few totals by ``scenarios.selectors.scenario_inputs`` (one row per claim, one per
admission; docs/scenarios.md defines every column and formula), it answers, for the base case and the scenario:

- **window figures** (the base window replayed as if the change had been in force all of it): claims,
  admissions, patient-days, claims denied, expected reimbursement, net revenue, direct cost, RCM cost, margin;
- **by month of the horizon**: volume, revenue and margin at the window's monthly run-rate, the change taking
  effect from its effective month; **cash** = the window's revenue running off plus the run-rate revenue of each
  horizon month, each arriving ``days to pay`` (plus the payer's submission lag) after its service month.

Money is computed in double precision and rounded half-up to the cent once, on the figures returned.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

EXIT_CONTRACT = "exit_contract"
TIGHTEN_INTAKE_RULE = "tighten_intake_rule"
DENIAL_RATE_CHANGE = "denial_rate_change"
KINDS = (EXIT_CONTRACT, TIGHTEN_INTAKE_RULE, DENIAL_RATE_CHANGE)
NOT_ALLOWED = "not_allowed"
ALLOWED_WITH_AUTHORIZATION = "allowed_with_authorization"
DAYS_PER_MONTH = 30.0  # cash timing: a lag of D days is D / 30 months
DEFAULT_DAYS_TO_PAY = 30.0  # when neither the payer nor the organization has a paid claim in the window
RECAPTURED = "recaptured"  # the pseudo-payer of re-captured volume in the cash model

CLAIM_COLUMNS = ["claim_id", "payer_id", "program_id", "contract_id", "admission_id", "service_month", "lag_days",
                 "charge", "expected", "paid", "adjudicated", "denied", "initially_denied", "direct_cost", "rcm_cost"]
ADMISSION_COLUMNS = ["admission_id", "payer_id", "plan_name", "program_id", "level_of_care", "admitted_on",
                     "admitted_in_window", "patient_days", "authorized"]
CENT = Decimal("0.01")


class ScenarioError(ValueError):
    """The change cannot be applied to this data (named field, message for the user)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(later: dt.date, earlier: dt.date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


@dataclass(frozen=True)
class Inputs:
    """What the database part hands over (see docs/scenarios.md, "Inputs")."""

    window: tuple[dt.date, ...]  # first days of the window's months, ascending
    horizon: int  # months after the window
    claims: pd.DataFrame  # CLAIM_COLUMNS
    admissions: pd.DataFrame  # ADMISSION_COLUMNS
    direct_cost_total: float  # program direct cost of the window's months (all of it)
    rcm_cost_total: float  # revenue-cycle cost of the window's months (all of it)
    days_to_pay: dict[Any, float] = field(default_factory=dict)  # payer id -> KPI days to pay over the window
    org_days_to_pay: float | None = None

    @property
    def horizon_months(self) -> list[dt.date]:
        return [add_months(self.window[-1], k) for k in range(1, self.horizon + 1)]


@dataclass(frozen=True)
class Change:
    """One scenario's parameters, already resolved to ids (``scenarios.services`` validates them)."""

    kind: str
    effective_month: dt.date
    contract_id: int | None = None
    recapture_pct: float = 0.0
    payer_id: int | None = None
    plan_name: str = ""
    program_id: int | None = None
    level_of_care: str = ""
    decision: str = ""
    rule_from: dt.date | None = None  # the tightened rule's effective dates (inclusive; None: open-ended)
    rule_to: dt.date | None = None
    delta_points: float = 0.0
    rework_cost_per_denial: float | None = None


@dataclass
class Effect:
    """What the change does to the window: rows that leave (share ``1 - recapture`` of them), revenue moved."""

    removed_claims: pd.Series  # bool mask over the claims frame
    removed_admissions: pd.Series  # bool mask over the admissions frame
    recapture: float = 0.0  # share of the removed volume and cost that stays (re-captured by other payers)
    recaptured_revenue: float = 0.0
    revenue_change_by_payer: dict[Any, float] = field(default_factory=dict)  # besides removed claims
    rcm_change: float = 0.0
    denied_change: float = 0.0
    details: list[tuple[str, Any]] = field(default_factory=list)


def _key(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return int(value)


# -- the three changes ---------------------------------------------------------------------------------

def exit_contract(inp: Inputs, ch: Change) -> Effect:
    """The contract's claims leave (and the stays they bill); ``recapture_pct`` of that volume comes back from
    other payers at their net revenue per claim in the same program, with its costs."""
    claims = inp.claims
    removed = claims["contract_id"].map(_key) == ch.contract_id
    stays = set(claims.loc[removed, "admission_id"].dropna().astype(int))
    removed_adm = inp.admissions["admission_id"].isin(stays)
    r = ch.recapture_pct / 100.0
    recaptured = 0.0
    if r:
        rest = claims.loc[~removed]
        org_avg = float(rest["paid"].sum()) / len(rest) if len(rest) else 0.0
        for program, n in claims.loc[removed].groupby(claims["program_id"].map(_key), dropna=False).size().items():
            same = rest.loc[rest["program_id"].map(_key) == _key(program)] if program is not None else rest.iloc[0:0]
            avg = float(same["paid"].sum()) / len(same) if len(same) else org_avg
            recaptured += r * n * avg
    return Effect(removed_claims=removed, removed_admissions=removed_adm, recapture=r, recaptured_revenue=recaptured,
                  details=[("Claims under the contract in the window", int(removed.sum())),
                           ("Re-captured by other payers (%)", ch.recapture_pct),
                           ("Re-captured net revenue", recaptured)])


def _rule_targets(inp: Inputs, ch: Change) -> tuple[pd.Series, pd.Series]:
    """(the stays admitted in the window that the rule is about: payer, plan, program or level of care;
    whether each stay's admission day falls within the rule's effective dates)."""
    a = inp.admissions
    match = a["admitted_in_window"].astype(bool) & (a["payer_id"].map(_key) == ch.payer_id)
    if ch.plan_name:
        match &= a["plan_name"].fillna("").str.lower() == ch.plan_name.lower()
    if ch.program_id is not None:
        match &= a["program_id"].map(_key) == ch.program_id
    else:
        match &= a["level_of_care"] == ch.level_of_care
    lo, hi = ch.rule_from, ch.rule_to
    in_force = a["admitted_on"].map(lambda d: (lo is None or d >= lo) and (hi is None or d <= hi)).astype(bool)
    return match, in_force


def refused_admissions(inp: Inputs, ch: Change) -> pd.Series:
    """Admissions of the window the tighter decision refuses: the payer's (plan's) stays in the program (or
    level of care) admitted in the window on a day the rule is in force (its effective dates, inclusive); all of
    them when not allowed, those with no authorization covering the admission day when allowed with
    authorization. Stays admitted outside the rule's dates keep their base-case figures."""
    match, in_force = _rule_targets(inp, ch)
    match &= in_force
    if ch.decision == NOT_ALLOWED:
        return match
    if ch.decision == ALLOWED_WITH_AUTHORIZATION:
        return match & ~inp.admissions["authorized"].astype(bool)
    raise ScenarioError("decision", "A tighter intake decision is not allowed, or allowed with authorization.")


def _in_force_in_window(inp: Inputs, ch: Change) -> str:
    """The rule's effective dates intersected with the window, for the assumptions."""
    start, end = inp.window[0], add_months(inp.window[-1], 1) - dt.timedelta(days=1)
    lo = max(start, ch.rule_from) if ch.rule_from else start
    hi = min(end, ch.rule_to) if ch.rule_to else end
    return f"{lo.isoformat()} to {hi.isoformat()}" if lo <= hi else "not in force in the window"


def tighten_intake_rule(inp: Inputs, ch: Change) -> Effect:
    refused = refused_admissions(inp, ch)
    target, in_force = _rule_targets(inp, ch)
    ids = set(inp.admissions.loc[refused, "admission_id"].astype(int))
    removed = inp.claims["admission_id"].map(_key).isin(ids)
    return Effect(removed_claims=removed, removed_admissions=refused,
                  details=[("Admissions refused", int(refused.sum())),
                           ("Their claims in the window", int(removed.sum())),
                           ("Rule in force (admission days in the window)", _in_force_in_window(inp, ch)),
                           ("Admissions outside the rule's dates (kept as in the base case)",
                            int((target & ~in_force).sum()))])


@dataclass(frozen=True)
class DenialBasis:
    claims: int  # the payer's claims in the window
    initially_denied: int
    still_denied: int  # of those, still denied (never paid)
    paid_per_paid_claim: float  # net paid / claims adjudicated, not initially denied, paid > 0
    recovered_per_denied_claim: float  # net paid on initially denied claims / initially denied claims
    rcm_cost_per_claim: float

    @property
    def rate(self) -> float | None:
        return self.initially_denied / self.claims if self.claims else None


def denial_basis(inp: Inputs, payer_id: int | None) -> DenialBasis:
    c = inp.claims.loc[inp.claims["payer_id"].map(_key) == payer_id]
    den = c.loc[c["initially_denied"].astype(bool)]
    paid = c.loc[c["adjudicated"].astype(bool) & ~c["initially_denied"].astype(bool) & (c["paid"] > 0)]
    return DenialBasis(
        claims=len(c), initially_denied=len(den), still_denied=int(den["denied"].astype(bool).sum()),
        paid_per_paid_claim=float(paid["paid"].sum()) / len(paid) if len(paid) else 0.0,
        recovered_per_denied_claim=float(den["paid"].sum()) / len(den) if len(den) else 0.0,
        rcm_cost_per_claim=float(c["rcm_cost"].sum()) / len(c) if len(c) else 0.0)


def denial_rate_change(inp: Inputs, ch: Change) -> Effect:
    """The payer's initial denial rate moves by ``delta_points``: ``moved`` = -delta / 100 x its claims go from
    initially denied to paid (or back, for a rise), each worth the paid-per-paid-claim less what its denial
    recovered on average; each avoided denial saves one rework (default: the payer's RCM cost per claim)."""
    b = denial_basis(inp, ch.payer_id)
    if not b.claims:
        raise ScenarioError("payer", "This payer has no claims in the window.")
    moved = -ch.delta_points / 100.0 * b.claims
    if b.initially_denied - moved < -1e-9:
        rate_now = 100 * (b.rate or 0)
        raise ScenarioError("delta_points", f"The payer's initial denial rate in the window is {rate_now:.2f}%: "
                                            f"it cannot fall by {-ch.delta_points:g} points.")
    if b.initially_denied - moved > b.claims + 1e-9:
        raise ScenarioError("delta_points", "The denial rate cannot rise above 100%.")
    if moved > 0 and b.paid_per_paid_claim == 0:
        raise ScenarioError("payer", "This payer paid no claim in the window: nothing to value a paid claim at.")
    gain = moved * (b.paid_per_paid_claim - b.recovered_per_denied_claim)
    rework = ch.rework_cost_per_denial if ch.rework_cost_per_denial is not None else b.rcm_cost_per_claim
    lost_share = b.still_denied / b.initially_denied if b.initially_denied else 1.0
    rate = b.rate or 0.0
    return Effect(
        removed_claims=pd.Series(False, index=inp.claims.index),
        removed_admissions=pd.Series(False, index=inp.admissions.index),
        revenue_change_by_payer={ch.payer_id: gain}, rcm_change=-moved * rework, denied_change=-moved * lost_share,
        details=[("Payer's claims in the window", b.claims), ("Initially denied", b.initially_denied),
                 ("Initial denial rate, base (%)", 100 * rate),
                 ("Initial denial rate, scenario (%)", 100 * rate + ch.delta_points),
                 ("Claims moved from denied to paid", moved), ("Paid per paid claim", b.paid_per_paid_claim),
                 ("Recovered per initially denied claim", b.recovered_per_denied_claim),
                 ("Rework cost per denial", rework)])


APPLY = {EXIT_CONTRACT: exit_contract, TIGHTEN_INTAKE_RULE: tighten_intake_rule,
         DENIAL_RATE_CHANGE: denial_rate_change}


# -- figures ---------------------------------------------------------------------------------------------

SUMMARY = (  # key, label, unit
    ("claims", "Claims", "count"), ("admissions", "Admissions", "count"), ("patient_days", "Patient-days", "count"),
    ("claims_denied", "Claims denied (not paid)", "count"),
    ("expected", "Expected reimbursement (contracts)", "money"), ("net_revenue", "Net revenue (paid)", "money"),
    ("direct_cost", "Direct program cost", "money"), ("rcm_cost", "RCM cost", "money"),
    ("margin", "Net contribution margin", "money"), ("margin_pct", "Margin % of net revenue", "pct"),
)


def base_figures(inp: Inputs) -> dict[str, float]:
    c, a = inp.claims, inp.admissions
    revenue = float(c["paid"].sum())
    out = {"claims": float(len(c)), "admissions": float(a["admitted_in_window"].astype(bool).sum()),
           "patient_days": float(a["patient_days"].sum()), "claims_denied": float(c["denied"].astype(bool).sum()),
           "expected": float(c["expected"].fillna(0).sum()), "net_revenue": revenue,
           "direct_cost": float(inp.direct_cost_total), "rcm_cost": float(inp.rcm_cost_total)}
    out["margin"] = revenue - out["direct_cost"] - out["rcm_cost"]
    return out


def scenario_figures(inp: Inputs, base: dict[str, float], eff: Effect) -> dict[str, float]:
    c, a = inp.claims, inp.admissions
    gone = c.loc[eff.removed_claims]
    gone_adm = a.loc[eff.removed_admissions]
    leave = 1.0 - eff.recapture
    out = dict(base)
    out["claims"] -= leave * len(gone)
    out["admissions"] -= leave * float(gone_adm["admitted_in_window"].astype(bool).sum())
    out["patient_days"] -= leave * float(gone_adm["patient_days"].sum())
    out["claims_denied"] += -leave * float(gone["denied"].astype(bool).sum()) + eff.denied_change
    out["expected"] -= float(gone["expected"].fillna(0).sum())
    out["net_revenue"] += -float(gone["paid"].sum()) + eff.recaptured_revenue + sum(
        eff.revenue_change_by_payer.values())
    out["direct_cost"] -= leave * float(gone["direct_cost"].sum())
    out["rcm_cost"] += -leave * float(gone["rcm_cost"].sum()) + eff.rcm_change
    out["margin"] = out["net_revenue"] - out["direct_cost"] - out["rcm_cost"]
    return out


def lag_weights(days: float) -> dict[int, float]:
    """Share of a service month's revenue collected k months later, for a lag of ``days``: services spread
    evenly over the month, each paid ``days`` later, with months of DAYS_PER_MONTH days."""
    months = max(days, 0.0) / DAYS_PER_MONTH
    k = math.floor(months)
    f = months - k
    return {k: 1.0 - f, k + 1: f} if f > 1e-12 else {k: 1.0}


def payer_lags(inp: Inputs) -> tuple[dict[Any, float], float]:
    """Days from service to cash per payer: the KPI days to pay (organization's when the payer has none) plus
    the payer's average days from service date to submission in the window; and the organization's."""
    c = inp.claims
    org_dtp = inp.org_days_to_pay if inp.org_days_to_pay is not None else DEFAULT_DAYS_TO_PAY
    org_lag = org_dtp + (float(c["lag_days"].mean()) if len(c) else 0.0)
    lags: dict[Any, float] = {}
    for payer, rows in c.groupby(c["payer_id"].map(_key), dropna=False):
        dtp = inp.days_to_pay.get(_key(payer), org_dtp)
        lags[_key(payer)] = float(dtp) + float(rows["lag_days"].mean())
    return lags, org_lag


def cash_by_month(inp: Inputs, eff: Effect | None, lags: dict[Any, float], org_lag: float,
                  effective_month: dt.date | None = None) -> list[float]:
    """Cash of each horizon month: the window's revenue by service month running off, plus each horizon
    month's run-rate revenue (window revenue / window months), changed from the effective month by ``eff``."""
    c, n = inp.claims, len(inp.window)
    horizon = inp.horizon_months
    cash = [0.0] * len(horizon)
    first = inp.window[0]

    def spread(amount: float, source: int, lag: float) -> None:  # source: month index from the window's first
        for k, w in lag_weights(lag).items():
            target = source + k - n  # index into the horizon
            if 0 <= target < len(horizon):
                cash[target] += amount * w

    payer = c["payer_id"].map(_key)
    by_payer_month = c.groupby([payer, c["service_month"].map(lambda m: months_between(m, first))],
                               dropna=False)["paid"].sum()
    for (p, m), amount in by_payer_month.items():
        spread(float(amount), int(m), lags.get(_key(p), org_lag))
    run_rate = c.groupby(payer, dropna=False)["paid"].sum() / n
    change: dict[Any, float] = {}
    if eff is not None:
        gone = c.loc[eff.removed_claims]
        for p, amount in gone.groupby(gone["payer_id"].map(_key), dropna=False)["paid"].sum().items():
            change[_key(p)] = change.get(_key(p), 0.0) - float(amount) / n
        for p, amount in eff.revenue_change_by_payer.items():
            change[_key(p)] = change.get(_key(p), 0.0) + amount / n
        if eff.recaptured_revenue:
            change[RECAPTURED] = eff.recaptured_revenue / n
    for j, month in enumerate(horizon):
        source = n + j
        after = eff is not None and effective_month is not None and month >= effective_month
        for p, amount in run_rate.items():
            spread(float(amount) + (change.get(_key(p), 0.0) if after else 0.0), source, lags.get(_key(p), org_lag))
        if after and RECAPTURED in change:
            spread(change[RECAPTURED], source, org_lag)
    return cash


# -- rounding and the result ----------------------------------------------------------------------------

def money(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(CENT, rounding=ROUND_HALF_UP)


def volume(value: float) -> Decimal:
    """Counts: whole numbers when whole, else one decimal (re-capture and moved denials are expected values)."""
    d = Decimal(repr(float(value))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return d.quantize(Decimal(1)) if d == d.to_integral_value() else d


def _pct(margin: float, revenue: float) -> Decimal | None:
    return None if not revenue else Decimal(repr(100.0 * margin / revenue)).quantize(CENT, rounding=ROUND_HALF_UP)


def _round(key: str, unit: str, value: float | None) -> Decimal | None:
    if value is None:
        return None
    return volume(value) if unit == "count" else money(value)


def _detail_value(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    return value


def evaluate(inp: Inputs, ch: Change) -> dict[str, Any]:
    """Base case and scenario: window figures, months of the horizon, assumptions. Plain data with Decimals."""
    if ch.kind not in APPLY:
        raise ScenarioError("kind", f"Unknown scenario kind {ch.kind!r}.")
    horizon = inp.horizon_months
    if horizon and not (horizon[0] <= ch.effective_month <= horizon[-1]):
        raise ScenarioError("effective_month", "The change must take effect in a month of the horizon.")
    eff = APPLY[ch.kind](inp, ch)
    base = base_figures(inp)
    scen = scenario_figures(inp, base, eff)
    summary = []
    for key, label, unit in SUMMARY:
        if key == "margin_pct":
            b, s = _pct(base["margin"], base["net_revenue"]), _pct(scen["margin"], scen["net_revenue"])
            summary.append({"key": key, "label": label, "unit": unit, "base": b, "scenario": s,
                            "delta": None if b is None or s is None else s - b})
            continue
        b, s = _round(key, unit, base[key]), _round(key, unit, scen[key])
        summary.append({"key": key, "label": label, "unit": unit, "base": b, "scenario": s,
                        "delta": _round(key, unit, scen[key] - base[key])})
    lags, org_lag = payer_lags(inp)
    cash_base = cash_by_month(inp, None, lags, org_lag)
    cash_scen = cash_by_month(inp, eff, lags, org_lag, ch.effective_month)
    n = len(inp.window)
    monthly = []
    for j, month in enumerate(horizon):
        row: dict[str, Any] = {"month": month}
        after = month >= ch.effective_month
        for key, unit in (("claims", "count"), ("patient_days", "count"), ("net_revenue", "money"),
                          ("margin", "money")):
            b = base[key] / n
            s = scen[key] / n if after else b
            row[f"{key}_base"], row[f"{key}_scenario"] = _round(key, unit, b), _round(key, unit, s)
            row[f"{key}_delta"] = _round(key, unit, s - b)
        row["cash_base"], row["cash_scenario"] = money(cash_base[j]), money(cash_scen[j])
        row["cash_delta"] = money(cash_scen[j] - cash_base[j])
        monthly.append(row)
    allocated_direct = float(inp.claims["direct_cost"].sum())
    allocated_rcm = float(inp.claims["rcm_cost"].sum())
    assumptions = [(label, _detail_value(v)) for label, v in eff.details] + [
        ("Direct cost allocated to the window's claims", money(allocated_direct)),
        ("Direct cost not allocated (fixed in the scenario)", money(inp.direct_cost_total - allocated_direct)),
        ("RCM cost allocated to the window's claims", money(allocated_rcm)),
        ("RCM cost not allocated (fixed in the scenario)", money(inp.rcm_cost_total - allocated_rcm)),
        ("Organization days from service to cash", _detail_value(org_lag)),
    ]
    return {
        "window": {"start": inp.window[0], "end": inp.window[-1], "months": n},
        "effective_month": ch.effective_month, "horizon": inp.horizon, "summary": summary, "monthly": monthly,
        "totals": {"cash_base": money(sum(cash_base)), "cash_scenario": money(sum(cash_scen)),
                   "cash_delta": money(sum(cash_scen) - sum(cash_base))},
        "assumptions": [{"label": label, "value": value} for label, value in assumptions],
    }


def frame(rows: Iterable[Any], columns: list[str]) -> pd.DataFrame:
    """A frame with exactly ``columns`` (an empty one keeps them)."""
    return pd.DataFrame(list(rows), columns=columns)
