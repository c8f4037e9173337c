"""A slow, obviously-right version of scenarios.engine: loops over claims and stays, exact fractions.

It restates docs/scenarios.md line by line and is compared with the engine by test_engine_property.py.
"""
from __future__ import annotations

import math
from fractions import Fraction as F
from typing import Any

from scenarios import engine


def _f(x: Any) -> F:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return F(0)
    return F(str(x)) if isinstance(x, float) else F(x)


def _id(x: Any) -> Any:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else int(x)


def evaluate(inp: engine.Inputs, ch: engine.Change) -> dict[str, Any]:
    claims = [dict(r) for r in inp.claims.to_dict("records")]
    stays = [dict(r) for r in inp.admissions.to_dict("records")]
    n = len(inp.window)
    removed: set[int] = set()
    removed_stays: set[int] = set()
    keep = F(0)
    recaptured = F(0)
    revenue_change: dict[Any, F] = {}
    rcm_change = F(0)
    denied_change = F(0)
    if ch.kind == engine.EXIT_CONTRACT:
        for i, c in enumerate(claims):
            if _id(c["contract_id"]) == ch.contract_id:
                removed.add(i)
        gone_stays = {_id(claims[i]["admission_id"]) for i in removed} - {None}
        removed_stays = {j for j, a in enumerate(stays) if a["admission_id"] in gone_stays}
        keep = _f(ch.recapture_pct) / 100
        others = [c for i, c in enumerate(claims) if i not in removed]
        org_avg = sum((_f(c["paid"]) for c in others), F(0)) / len(others) if others else F(0)
        for i in removed:
            program = _id(claims[i]["program_id"])
            same = [c for c in others if program is not None and _id(c["program_id"]) == program]
            avg = sum((_f(c["paid"]) for c in same), F(0)) / len(same) if same else org_avg
            recaptured += keep * avg
    elif ch.kind == engine.TIGHTEN_INTAKE_RULE:
        for j, a in enumerate(stays):
            if not a["admitted_in_window"] or _id(a["payer_id"]) != ch.payer_id:
                continue
            if ch.plan_name and (a["plan_name"] or "").lower() != ch.plan_name.lower():
                continue
            if ch.program_id is not None and _id(a["program_id"]) != ch.program_id:
                continue
            if ch.program_id is None and a["level_of_care"] != ch.level_of_care:
                continue
            if ch.rule_from is not None and a["admitted_on"] < ch.rule_from:
                continue  # admitted before the rule is in force: kept as in the base case
            if ch.rule_to is not None and a["admitted_on"] > ch.rule_to:
                continue
            if ch.decision == engine.NOT_ALLOWED or not a["authorized"]:
                removed_stays.add(j)
        ids = {stays[j]["admission_id"] for j in removed_stays}
        removed = {i for i, c in enumerate(claims) if _id(c["admission_id"]) in ids}
    else:
        mine = [c for c in claims if _id(c["payer_id"]) == ch.payer_id]
        if not mine:
            raise engine.ScenarioError("payer", "no claims")
        denied = [c for c in mine if c["initially_denied"]]
        paid = [c for c in mine if c["adjudicated"] and not c["initially_denied"] and _f(c["paid"]) > 0]
        moved = -_f(ch.delta_points) / 100 * len(mine)
        if len(denied) - moved < 0 or len(denied) - moved > len(mine):
            raise engine.ScenarioError("delta_points", "out of range")
        per_paid = sum((_f(c["paid"]) for c in paid), F(0)) / len(paid) if paid else F(0)
        if moved > 0 and per_paid == 0:
            raise engine.ScenarioError("payer", "nothing paid")
        recovered = sum((_f(c["paid"]) for c in denied), F(0)) / len(denied) if denied else F(0)
        revenue_change[ch.payer_id] = moved * (per_paid - recovered)
        rework = _f(ch.rework_cost_per_denial) if ch.rework_cost_per_denial is not None else \
            sum((_f(c["rcm_cost"]) for c in mine), F(0)) / len(mine)
        rcm_change = -moved * rework
        still = sum(1 for c in denied if c["denied"])
        denied_change = -moved * (F(still, len(denied)) if denied else F(1))

    base = {"claims": F(len(claims)), "admissions": F(sum(1 for a in stays if a["admitted_in_window"])),
            "patient_days": sum((_f(a["patient_days"]) for a in stays), F(0)),
            "claims_denied": F(sum(1 for c in claims if c["denied"])),
            "expected": sum((_f(c["expected"]) for c in claims), F(0)),
            "net_revenue": sum((_f(c["paid"]) for c in claims), F(0)),
            "direct_cost": _f(inp.direct_cost_total), "rcm_cost": _f(inp.rcm_cost_total)}
    scen = dict(base)
    leave = 1 - keep
    for i in removed:
        c = claims[i]
        scen["claims"] -= leave
        scen["claims_denied"] -= leave * (1 if c["denied"] else 0)
        scen["expected"] -= _f(c["expected"])
        scen["net_revenue"] -= _f(c["paid"])
        scen["direct_cost"] -= leave * _f(c["direct_cost"])
        scen["rcm_cost"] -= leave * _f(c["rcm_cost"])
    for j in removed_stays:
        scen["admissions"] -= leave * (1 if stays[j]["admitted_in_window"] else 0)
        scen["patient_days"] -= leave * _f(stays[j]["patient_days"])
    scen["net_revenue"] += recaptured + sum(revenue_change.values(), F(0))
    scen["rcm_cost"] += rcm_change
    scen["claims_denied"] += denied_change
    for fig in (base, scen):
        fig["margin"] = fig["net_revenue"] - fig["direct_cost"] - fig["rcm_cost"]

    # cash: every (payer, service month) amount, then every horizon month's run-rate, through its lag weights
    org_dtp = _f(inp.org_days_to_pay if inp.org_days_to_pay is not None else engine.DEFAULT_DAYS_TO_PAY)
    org_lag = org_dtp + (sum((_f(c["lag_days"]) for c in claims), F(0)) / len(claims) if claims else F(0))
    payers = {_id(c["payer_id"]) for c in claims}
    lag = {}
    for p in payers:
        rows = [c for c in claims if _id(c["payer_id"]) == p]
        lag[p] = _f(inp.days_to_pay.get(p, inp.org_days_to_pay if inp.org_days_to_pay is not None
                                        else engine.DEFAULT_DAYS_TO_PAY)) \
            + sum((_f(c["lag_days"]) for c in rows), F(0)) / len(rows)
    horizon = inp.horizon_months

    def weights(days: F) -> dict[int, F]:
        months = max(days, F(0)) / 30
        k = math.floor(months)
        return {k: 1 - (months - k), k + 1: months - k}

    def run(changed: bool) -> list[F]:
        cash = [F(0)] * len(horizon)

        def put(amount: F, source: int, days: F) -> None:
            for k, w in weights(days).items():
                t = source + k - n
                if 0 <= t < len(horizon):
                    cash[t] += amount * w

        for c in claims:
            m = engine.months_between(c["service_month"], inp.window[0])
            put(_f(c["paid"]), m, lag[_id(c["payer_id"])])
        for j, month in enumerate(horizon):
            after = changed and month >= ch.effective_month
            for c in claims:
                p = _id(c["payer_id"])
                put(_f(c["paid"]) / n, n + j, lag[p])
            if after:
                for i in removed:
                    put(-_f(claims[i]["paid"]) / n, n + j, lag[_id(claims[i]["payer_id"])])
                for p, amount in revenue_change.items():
                    put(amount / n, n + j, lag[p])
                if recaptured:
                    put(recaptured / n, n + j, org_lag)
        return cash

    return {"base": base, "scenario": scen, "cash_base": run(False), "cash_scenario": run(True)}
