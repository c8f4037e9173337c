"""A small hand-made quota world with round numbers, whose expected figures are worked out by hand
in tests/quotas/test_services.py.

Territory plan "QW Jan" (FY2026, January fiscal year, revenue potential), activated 2026-01-01:

    R1 West (region)
      A1 Front Range (area): T1 Denver  (Pat Prior)  accounts A 300,000 + B 100,000 = potential 400,000
                             T2 Boulder (Quinn Quota) account  C 400,000
      A2 Utah (area):        T3 Provo   (Nia New, hired 2025-12-01, carries the ramp)  account D 200,000

On 2026-07-01 the copy "QW Jul" moves account B (ZIP 80203) from T1 to T2 (relief).
Prior-year (2025) bookings by territory of the Jan plan: T1 120,000, T2 60,000, T3 20,000.
Account E (NY) is in no territory: its bookings are uncredited.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model

from revops.models import Account, Person, Team
from territories import services as territory_services
from territories.models import AccountVolume

JAN = dt.date(2026, 1, 1)
JUL = dt.date(2026, 7, 1)


def _account(name: str, zip_code: str, state: str, revenue: str) -> Account:
    a = Account.objects.create(name=name, zip_code=zip_code, state=state)
    for year in (2025, 2026):
        AccountVolume.objects.create(account=a, year=year, revenue=Decimal(revenue), volume=Decimal(10))
    return a


def build_territories(*, relief: bool = True, approver: Any | None = None) -> dict[str, Any]:
    """The territory side (inside an active organization whose other accounts are inactive)."""
    approver = approver or get_user_model().objects.filter(is_superuser=False).first()
    team_west = Team.objects.create(name="QW Front Range")
    team_utah = Team.objects.create(name="QW Utah")
    pat = Person.objects.create(employee_id="QW1", first_name="Pat", last_name="Prior", team=team_west,
                                hire_date=dt.date(2019, 1, 1))
    quinn = Person.objects.create(employee_id="QW2", first_name="Quinn", last_name="Quota", team=team_west,
                                  hire_date=dt.date(2020, 5, 1))
    nia = Person.objects.create(employee_id="QW3", first_name="Nia", last_name="New", team=team_utah,
                                hire_date=dt.date(2025, 12, 1))
    accounts = {
        "A": _account("QW Alpha Clinic", "80202", "CO", "300000"),
        "B": _account("QW Bravo Practice", "80203", "CO", "100000"),
        "C": _account("QW Charlie Hospital", "80301", "CO", "400000"),
        "D": _account("QW Delta Center", "84601", "UT", "200000"),
        "E": _account("QW Echo Outlier", "10001", "NY", "50000"),
    }
    tp = territory_services.plan_create(name="QW Jan", effective_from=JAN, potential_basis="revenue")
    r1 = territory_services.territory_create(plan=tp, code="R1", name="West", level="region")
    a1 = territory_services.territory_create(plan=tp, code="A1", name="Front Range", level="area", parent=r1)
    a2 = territory_services.territory_create(plan=tp, code="A2", name="Utah", level="area", parent=r1)
    t1 = territory_services.territory_create(plan=tp, code="T1", name="Denver", parent=a1)
    t2 = territory_services.territory_create(plan=tp, code="T2", name="Boulder", parent=a1)
    t3 = territory_services.territory_create(plan=tp, code="T3", name="Provo", parent=a2)
    territory_services.rule_save(plan=tp, territory=t1, kind="zip", value="80202")
    territory_services.rule_save(plan=tp, territory=t1, kind="zip", value="80203")
    territory_services.rule_save(plan=tp, territory=t2, kind="zip", value="80301")
    territory_services.rule_save(plan=tp, territory=t3, kind="state", value="UT")
    territory_services.coverage_assign(territory=t1, person=pat, valid_from=JAN)
    territory_services.coverage_assign(territory=t2, person=quinn, valid_from=JAN)
    territory_services.coverage_assign(territory=t3, person=nia, valid_from=JAN)
    territory_services.plan_propose(plan=tp)
    territory_services.plan_approve(plan=tp, user=approver)
    territory_services.plan_activate(plan=tp, on=JAN, user=approver)
    out = {"territory_plan": tp, "pat": pat, "quinn": quinn, "nia": nia, "accounts": accounts,
           "team_west": team_west, "team_utah": team_utah}
    if relief:
        jul = territory_services.plan_copy(plan=tp, name="QW Jul", effective_from=JUL)
        rule = jul.rules.get(kind="zip", value="80203")
        territory_services.rule_delete(rule=rule)
        territory_services.rule_save(plan=jul, territory=jul.territories.get(code="T2"), kind="zip", value="80203")
        territory_services.plan_propose(plan=jul)
        territory_services.plan_approve(plan=jul, user=approver)
        territory_services.plan_activate(plan=jul, on=JUL, user=approver)
        out["july_plan"] = jul
    return out


# (account key, date, amount): prior year 2025 and the plan year 2026.
PRIOR_YEAR = [("A", dt.date(2025, 3, 1), "100000"), ("B", dt.date(2025, 6, 1), "20000"),
              ("C", dt.date(2025, 9, 1), "60000"), ("D", dt.date(2025, 11, 1), "20000")]
PLAN_YEAR = [("A", dt.date(2026, 2, 10), "10000"), ("B", dt.date(2026, 3, 5), "5000"),
             ("B", dt.date(2026, 8, 3), "7000"), ("C", dt.date(2026, 1, 20), "8000"),
             ("D", dt.date(2026, 5, 1), "4000"), ("E", dt.date(2026, 6, 1), "500")]


def transaction_rows(world: dict[str, Any], metric: str = "bookings") -> list[tuple[Any, ...]]:
    rows = [(f"QW-{n}", metric, "deal", world["accounts"][key].pk, None, day, Decimal(amount), "")
            for n, (key, day, amount) in enumerate(PRIOR_YEAR + PLAN_YEAR)]
    # Credited to Quinn directly (no account): e.g. a referral logged against the rep.
    rows.append(("QW-P", metric, "referral", None, world["quinn"].pk, dt.date(2026, 4, 2), Decimal("1000"), ""))
    return rows


def build(*, relief: bool = True, target: str = "1000000", **plan_kwargs: Any) -> dict[str, Any]:
    """Territories, transactions and a draft quota plan "QW FY2026" (60% potential, 40% prior year, flat)."""
    from quotas import services

    world = build_territories(relief=relief)
    services.transactions_upsert(rows=transaction_rows(world))
    world["plan"] = services.plan_create(
        name="QW FY2026", fiscal_year=2026, territory_plan=world["territory_plan"], company_target=Decimal(target),
        weights={"even": 0, "potential": Decimal("0.6"), "prior_year": Decimal("0.4"), "ttm": 0, "custom": 0},
        **plan_kwargs)
    return world
