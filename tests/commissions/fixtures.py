"""A small hand-made commission world with round numbers; tests/commissions/test_runs.py works its
statements out by hand from it.

Territory plan "CW" active from 2026-01-01: T1 (Pat; accounts A 80202, B 80203; Olive overlays it),
T2 (Quinn; account C 80301). Reporting: Pat and Quinn -> Mo (manager) -> Dee (director).

Plans (active version 1 from 2026-01-01):
- "AE": C1 bookings commission, tiered marginal: 5% to 100% of quota, 8% above; clawback 90 days.
        C2 attainment bonus: $1,000 at 100%.  Pat and Quinn, quota $10,000 a month; Quinn has a
        recoverable $500 draw.
- "Leader": flat 2% on bookings (Mo and Dee, paid on override credit).
- "Overlay": flat 1% on bookings (Olive).
Credit rules: manager override level 1 at 100%, level 2 at 50%; overlay at 100%.

March 2026 transactions: X1 A 6,000 (03-05, Pat); X2 C 4,000 (03-10) split Quinn 75% / Pat 25%;
X3 B 5,000 (03-20, Pat).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model

from commissions.models import CompPlan, CompPlanVersion, Component, CreditRule, PlanAssignment
from commissions.services.transactions import splits_replace, transactions_upsert
from revops import services as revops_services
from revops.models import Account, Person, Team
from territories import services as territory_services

JAN = dt.date(2026, 1, 1)
MAR = dt.date(2026, 3, 1)
APR = dt.date(2026, 4, 1)


def _person(code: str, first: str, last: str, team: Team | None, role: str = "rep") -> Person:
    return Person.objects.create(employee_id=code, first_name=first, last_name=last, team=team, role=role,
                                 hire_date=dt.date(2020, 1, 1))


def _plan(name: str, components: list[dict[str, Any]]) -> CompPlanVersion:
    plan = CompPlan.objects.create(name=name)
    version = CompPlanVersion.objects.create(plan=plan, version=1, effective_from=JAN, status="active")
    for order, fields in enumerate(components):
        Component.objects.create(version=version, order=order, **fields)
    return version


def build() -> dict[str, Any]:
    approver = get_user_model().objects.filter(is_superuser=False).first()
    west = Team.objects.create(name="CW West")
    leaders = Team.objects.create(name="CW Leaders")
    pat = _person("CW1", "Pat", "Seller", west)
    quinn = _person("CW2", "Quinn", "Closer", west)
    olive = _person("CW3", "Olive", "Overlay", None, role="overlay")
    mo = _person("CW4", "Mo", "Manager", leaders, role="manager")
    dee = _person("CW5", "Dee", "Director", None, role="executive")
    for person in (pat, quinn):
        revops_services.reporting_line_assign(person=person, manager=mo, valid_from=JAN)
    revops_services.reporting_line_assign(person=mo, manager=dee, valid_from=JAN)
    accounts = {key: Account.objects.create(name=f"CW {key}", zip_code=zip_code, state="CO")
                for key, zip_code in (("A", "80202"), ("B", "80203"), ("C", "80301"))}
    tp = territory_services.plan_create(name="CW", effective_from=JAN)
    t1 = territory_services.territory_create(plan=tp, code="T1", name="Denver")
    t2 = territory_services.territory_create(plan=tp, code="T2", name="Boulder")
    territory_services.rule_save(plan=tp, territory=t1, kind="zip", value="80202")
    territory_services.rule_save(plan=tp, territory=t1, kind="zip", value="80203")
    territory_services.rule_save(plan=tp, territory=t2, kind="zip", value="80301")
    territory_services.coverage_assign(territory=t1, person=pat, valid_from=JAN)
    territory_services.coverage_assign(territory=t2, person=quinn, valid_from=JAN)
    territory_services.coverage_assign(territory=t1, person=olive, role="overlay", valid_from=JAN)
    territory_services.plan_propose(plan=tp)
    territory_services.plan_approve(plan=tp, user=approver)
    territory_services.plan_activate(plan=tp, on=JAN, user=approver)

    ae = _plan("AE", [
        {"name": "Bookings commission", "kind": "commission", "basis": "bookings", "rate_type": "tiered_marginal",
         "tiers": [{"from": "0", "rate": "0.05"}, {"from": "100", "rate": "0.08"}], "clawback_days": 90},
        {"name": "Quota bonus", "kind": "bonus", "basis": "bookings", "tiers": [{"from": "100", "amount": "1000"}]},
    ])
    leader = _plan("Leader", [{"name": "Team override", "kind": "commission", "basis": "bookings",
                               "rate": Decimal("0.02")}])
    overlay = _plan("Overlay", [{"name": "Overlay commission", "kind": "commission", "basis": "bookings",
                                 "rate": Decimal("0.01")}])
    PlanAssignment.objects.create(person=pat, plan=ae.plan, effective_from=JAN, quota_amount=Decimal("10000"))
    PlanAssignment.objects.create(person=quinn, plan=ae.plan, effective_from=JAN, quota_amount=Decimal("10000"),
                                  draw_amount=Decimal("500"), draw_recoverable=True)
    for person in (mo, dee):
        PlanAssignment.objects.create(person=person, plan=leader.plan, effective_from=JAN)
    PlanAssignment.objects.create(person=olive, plan=overlay.plan, effective_from=JAN)
    CreditRule.objects.create(name="Manager override", kind="manager_override", level=1, share=Decimal("1"))
    CreditRule.objects.create(name="Director override", kind="manager_override", level=2, share=Decimal("0.5"))
    CreditRule.objects.create(name="Overlay credit", kind="overlay", share=Decimal("1"))

    transactions_upsert(rows=[
        ("X1", "bookings", accounts["A"].pk, None, None, dt.date(2026, 3, 5), Decimal("6000"), "Deal 1", None, "", ""),
        ("X2", "bookings", accounts["C"].pk, None, None, dt.date(2026, 3, 10), Decimal("4000"), "Deal 2", None, "", ""),
        ("X3", "bookings", accounts["B"].pk, None, None, dt.date(2026, 3, 20), Decimal("5000"), "Deal 3", None, "", ""),
    ])
    splits_replace(rows=[("X2", "bookings", quinn.pk, Decimal("0.75")), ("X2", "bookings", pat.pk, Decimal("0.25"))])
    return {"pat": pat, "quinn": quinn, "olive": olive, "mo": mo, "dee": dee, "accounts": accounts, "ae": ae,
            "leader": leader, "overlay": overlay, "territory_plan": tp, "approver": approver}
