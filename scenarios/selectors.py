"""Reads of the scenarios app: which scenarios a user may see, the window defaults, and the engine's inputs.

The inputs reuse the other apps' definitions (docs/scenarios.md, "Inputs"): claims as the contracts app
materializes them (``contracts_claimexpectation``: service date, paid, denied, the contract in force), their
stays (``intake_admissionclaim``), cost allocation exactly as the quarterly contract reviews do it
(``contracts.services.reviews``), patient-days as program profitability counts them, authorization on the
admission day as the intake violations report checks it, and days to pay from the RCM KPI module.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pandas as pd
from django.db import connection
from django.db.models import Q, QuerySet

from contracts.services.reviews import COST_BASIS_CTES, DAY_BASED_LEVELS
from rcm_feeds import kpis
from revops.access import allowed
from revops.tenancy import require_tenant_id

from . import engine
from .models import Scenario

RESOURCE = "scenarios"
ADMIN = "admin"


def visible_scenarios(*, user: Any) -> QuerySet[Scenario]:
    """The user's own scenarios and every shared one of the active organization."""
    rows = Scenario.objects.select_related("created_by", "job")
    uid = getattr(user, "pk", None)
    return rows.filter(Q(shared=True) | Q(created_by_id=uid)) if uid else rows.filter(shared=True)


def scenario_status(scenario: Scenario) -> str:
    """``computing`` (its job is queued or running), ``refused`` (the latest computation was refused),
    ``computed``, or ``not_computed`` (never computed: its job failed for another reason, or was pruned)."""
    job = scenario.job
    if job is not None and not job.is_finished:
        return "computing"
    if scenario.error:
        return "refused"
    return "computed" if scenario.computed_at else "not_computed"


def may_manage(*, scenario: Scenario, user: Any, role: str | None) -> bool:
    """Delete, share/unshare: the author, or an admin of the organization."""
    return role == ADMIN or (getattr(user, "pk", None) is not None and scenario.created_by_id == user.pk)


def may_recompute(*, scenario: Scenario, user: Any, role: str | None) -> bool:
    """Recompute: anyone who may change scenarios and can see this one (it refreshes the shared figures)."""
    return allowed(role, RESOURCE, "change")


# -- window ----------------------------------------------------------------------------------------------

def last_complete_month(*, today: dt.date | None = None) -> dt.date | None:
    """The latest month before the current one with a claim (by service date), or None without claims."""
    today = today or dt.date.today()
    with connection.cursor() as cur:
        cur.execute("SELECT max(service_date) FROM contracts_claimexpectation WHERE tenant_id = %s "
                    "AND status NOT IN ('void', 'superseded') AND service_date < %s",
                    [require_tenant_id(), today.replace(day=1)])
        (last,) = cur.fetchone()
    return last.replace(day=1) if last else None


def window_months(end: dt.date, months: int) -> tuple[dt.date, ...]:
    return tuple(engine.add_months(end.replace(day=1), k) for k in range(1 - months, 1))


# -- inputs ----------------------------------------------------------------------------------------------

# One row per current claim (not void, not superseded) with its service date in the window, with the reviews'
# cost allocation: direct cost of (program, service month) x the claim's units / the program-month's units
# (patient-days for day-based levels of care, claim lines otherwise; the base is every current claim of the
# program that month), RCM cost of its submission month / claims submitted that month (submission months in
# the window only). ``initially_denied``: its first non-reversal claim payment carried a claim-level denial.
CLAIMS_SQL = """
WITH ce AS (
    SELECT e.* FROM contracts_claimexpectation e
    WHERE e.tenant_id = %(t)s AND e.status NOT IN ('void', 'superseded')
), w AS (
    SELECT * FROM ce WHERE ce.service_date >= %(start)s AND ce.service_date < %(end)s
), {cost_basis}
), direct AS (
    SELECT u.claim_id, c.amount * u.units / pm.units AS amount
    FROM basis u JOIN program_month pm ON pm.program_id = u.program_id AND pm.month = u.month AND pm.units > 0
    JOIN costs c ON c.program_id = u.program_id AND c.month = u.month
), submitted AS (
    SELECT date_trunc('month', submitted_on)::date AS month, count(*) AS n FROM ce
    WHERE submitted_on >= %(start)s AND submitted_on < %(end)s GROUP BY 1
), rcm AS (
    SELECT s.month, sum(rc.amount) / max(s.n) AS per_claim
    FROM submitted s JOIN rcm_feeds_rcmcost rc ON rc.tenant_id = %(t)s AND rc.month = s.month GROUP BY s.month
), first_adjudication AS (
    SELECT DISTINCT ON (cp.claim_id) cp.claim_id, cp.id
    FROM rcm_feeds_claimpayment cp JOIN rcm_feeds_remittance r ON r.id = cp.remittance_id AND r.tenant_id = %(t)s
    WHERE cp.tenant_id = %(t)s AND NOT cp.is_reversal AND cp.claim_id IN (SELECT claim_id FROM w)
    ORDER BY cp.claim_id, coalesce(r.payment_date, r.production_date) NULLS LAST, cp.id
)
SELECT w.claim_id, w.payer_id, w.program_id, w.contract_id, l.admission_id,
       date_trunc('month', w.service_date)::date AS service_month, (w.submitted_on - w.service_date) AS lag_days,
       w.charge, w.expected, w.paid, w.adjudicated, w.denied,
       EXISTS (SELECT 1 FROM rcm_feeds_denial d WHERE d.tenant_id = %(t)s AND d.claim_payment_id = fa.id
                  AND d.level = 'claim') AS initially_denied,
       coalesce(d.amount, 0) AS direct_cost,
       coalesce(r.per_claim, 0) AS rcm_cost
FROM w
LEFT JOIN intake_admissionclaim l ON l.tenant_id = %(t)s AND l.claim_id = w.claim_id
LEFT JOIN first_adjudication fa ON fa.claim_id = w.claim_id
LEFT JOIN direct d ON d.claim_id = w.claim_id
LEFT JOIN rcm r ON r.month = date_trunc('month', w.submitted_on)::date
ORDER BY w.claim_id
"""
CLAIMS_SQL = CLAIMS_SQL.replace("{cost_basis}", COST_BASIS_CTES.strip())

# Stays overlapping the window. Patient-days as program profitability counts them: calendar days inside the
# window, a stay still in care through the window's last day. ``authorized``: an authorization of the stay
# covers its admission day (the intake violations rule).
ADMISSIONS_SQL = """
SELECT a.id AS admission_id, a.payer_id, a.plan_name, a.program_id, p.level_of_care, a.admitted_on,
       (a.admitted_on >= %(start)s AND a.admitted_on < %(end)s) AS admitted_in_window,
       greatest(0, least(coalesce(a.discharged_on, greatest(%(last_day)s::date, a.admitted_on)), %(last_day)s::date)
                   - greatest(a.admitted_on, %(start)s::date) + 1) AS patient_days,
       EXISTS (SELECT 1 FROM intake_authorization au WHERE au.tenant_id = %(t)s AND au.admission_id = a.id
                  AND a.admitted_on BETWEEN au.starts_on AND au.ends_on) AS authorized
FROM intake_admission a JOIN revops_program p ON p.id = a.program_id
WHERE a.tenant_id = %(t)s AND a.admitted_on < %(end)s
  AND coalesce(a.discharged_on, greatest(%(last_day)s::date, a.admitted_on)) >= %(start)s
ORDER BY a.id
"""

COST_TOTALS_SQL = """
SELECT (SELECT coalesce(sum(amount), 0) FROM intake_programcost
        WHERE tenant_id = %(t)s AND month >= %(start)s AND month < %(end)s),
       (SELECT coalesce(sum(amount), 0) FROM rcm_feeds_rcmcost
        WHERE tenant_id = %(t)s AND month >= %(start)s AND month < %(end)s),
       (SELECT count(*) FROM rcm_feeds_claim c
        WHERE c.tenant_id = %(t)s AND c.frequency <> '8' AND coalesce(c.service_from, c.submitted_on) >= %(start)s
          AND coalesce(c.service_from, c.submitted_on) < %(end)s
          AND NOT EXISTS (SELECT 1 FROM contracts_claimexpectation e WHERE e.tenant_id = %(t)s AND e.claim_id = c.id))
"""


def _params(window: tuple[dt.date, ...]) -> dict[str, Any]:
    end = engine.add_months(window[-1], 1)
    return {"t": require_tenant_id(), "start": window[0], "end": end, "last_day": end - dt.timedelta(days=1),
            "day_levels": list(DAY_BASED_LEVELS)}


def _fetch(sql: str, params: dict[str, Any]) -> tuple[list[str], list[tuple]]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return [c.name for c in cur.description], cur.fetchall()


def _floats(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    for col in columns:
        df[col] = df[col].map(lambda v: None if v is None else float(v)).astype("float64")
    return df


def days_to_pay(window: tuple[dt.date, ...]) -> tuple[dict[int | None, float], float | None]:
    """The KPI ``days_to_pay`` over the window's months, per payer and for the organization (first payments of
    the window's months; rcm_feeds/kpis.py)."""
    filters = kpis.KpiFilters(start=window[0], end=window[-1])
    by_payer = {r["payer_id"]: float(r["days"]) for r in kpis.days_to_pay_by_payer(filters) if r["days"] is not None}
    num = den = Decimal(0)
    for row in kpis.kpi_series(filters):
        value = row.values.get("days_to_pay")
        if value is not None and value.denominator:
            num += value.numerator or 0
            den += value.denominator
    return by_payer, (float(num / den) if den else None)


def initial_denial_kpi(window: tuple[dt.date, ...], payer_id: int) -> dict[str, Any]:
    """The billing dashboard's initial denial rate of the payer over the window's months (for reference)."""
    denied = submitted = Decimal(0)
    for row in kpis.kpi_series(kpis.KpiFilters(start=window[0], end=window[-1], payers=[payer_id])):
        value = row.values.get("initial_denial_rate")
        if value is not None:
            denied += value.numerator or 0
            submitted += value.denominator or 0
    rate = (denied * 100 / submitted).quantize(Decimal("0.01")) if submitted else None
    return {"claims_submitted": int(submitted), "initially_denied": int(denied), "rate": rate}


def scenario_inputs(*, window: tuple[dt.date, ...], horizon: int,
                    progress: Callable[[int, str], None] | None = None) -> tuple[engine.Inputs, dict[str, Any]]:
    """The engine's inputs for the active organization, and data notes (claims missing from the expected
    reimbursement, i.e. not yet recomputed). ``progress(step, message)`` is told before each read (steps 0-2)."""
    report = progress or (lambda step, message: None)
    params = _params(window)
    report(0, "Reading the window's claims and allocating costs")
    names, rows = _fetch(CLAIMS_SQL, params)
    claims = engine.frame(rows, names)[engine.CLAIM_COLUMNS]
    claims = _floats(claims, ["charge", "expected", "paid", "direct_cost", "rcm_cost", "lag_days"])
    for col in ("adjudicated", "denied", "initially_denied"):
        claims[col] = claims[col].astype(bool)
    report(1, f"Reading stays ({len(claims):,} claims read)")
    names, rows = _fetch(ADMISSIONS_SQL, params)
    admissions = engine.frame(rows, names)[engine.ADMISSION_COLUMNS]
    admissions["patient_days"] = admissions["patient_days"].astype("float64")
    report(2, "Reading cost totals and days to pay")
    with connection.cursor() as cur:
        cur.execute(COST_TOTALS_SQL, params)
        direct_total, rcm_total, missing = cur.fetchone()
    by_payer, org = days_to_pay(window)
    inp = engine.Inputs(window=window, horizon=horizon, claims=claims, admissions=admissions,
                        direct_cost_total=float(direct_total), rcm_cost_total=float(rcm_total),
                        days_to_pay=by_payer, org_days_to_pay=org)
    return inp, {"claims_without_expectation": int(missing)}


def inputs_digest(inp: engine.Inputs, parameters: dict[str, Any]) -> str:
    """SHA-256 of everything the result depends on: the frames, the totals, the days to pay, the parameters."""
    h = hashlib.sha256()
    h.update(json.dumps(parameters, sort_keys=True, default=str).encode())
    h.update(json.dumps([str(m) for m in inp.window] + [inp.horizon, round(inp.direct_cost_total, 6),
                                                        round(inp.rcm_cost_total, 6), inp.org_days_to_pay,
                                                        sorted((str(k), v) for k, v in inp.days_to_pay.items())],
                        default=str).encode())
    for df in (inp.claims, inp.admissions):  # row hashes of the values as read (objects hashed by their text)
        h.update(",".join(f"{c}:{t}" for c, t in df.dtypes.items()).encode())
        h.update(pd.util.hash_pandas_object(df, index=False).values.tobytes())
    return h.hexdigest()
