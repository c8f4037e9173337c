"""The demo's territory plans (revops.demo.territories) on a small organization: three plans, history, a balanced draft."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from revops.demo.territories import territories_seed
from revops.models import Account, Person
from revops.tenancy import tenant_context
from territories import selectors
from territories.models import AccountOwnership, BalanceRun, PlanStatus, TerritoryPlan

pytestmark = pytest.mark.django_db

PLACES = [("97201", "OR", 45.51, -122.69), ("94103", "CA", 37.77, -122.41), ("85004", "AZ", 33.45, -112.07),
          ("80202", "CO", 39.75, -104.99), ("75201", "TX", 32.79, -96.80), ("60601", "IL", 41.89, -87.62),
          ("30303", "GA", 33.75, -84.39), ("10001", "NY", 40.75, -73.99), ("02108", "MA", 42.36, -71.06)]


def test_demo_territories_seed_builds_plans_history_and_a_balanced_scenario(world):
    org = world.a.org
    with tenant_context(org):
        Account.objects.all().update(is_active=False)  # the world's account has no coordinates
        for n, (zip_code, state, lat, lon) in enumerate(PLACES):
            for m in range(3):
                Account.objects.create(name=f"Account {n}-{m}", zip_code=zip_code, state=state,
                                       latitude=Decimal(str(lat)), longitude=Decimal(str(lon)),
                                       account_type="hospital" if m == 0 else "clinic")
        Person.objects.create(employee_id="R9", first_name="Ann", last_name="Other", role="rep",
                              hire_date=dt.date(2020, 1, 1))
    outcome = territories_seed(organization=org, seed=7, year=2025)
    assert outcome.plans == 3 and not outcome.skipped and outcome.territories == 3  # 2 reps + 1 to be hired
    with tenant_context(org):
        plans = {p.name: p for p in TerritoryPlan.objects.all()}
        assert plans["2025 territories"].status == PlanStatus.ARCHIVED
        assert plans["2025 H2 realignment"].status == PlanStatus.ACTIVE
        draft = plans["2026 balanced scenario"]
        assert draft.status == PlanStatus.DRAFT
        run = BalanceRun.objects.get(plan=draft)
        assert run.status == "applied" and run.job.status == "succeeded"
        balance = selectors.plan_balance(plan=draft)
        assert balance.unassigned["accounts"] == 0
        assert run.after["cv"] <= run.before["cv"]
        # History: everyone owned from Jan 1; the realignment's moves held out for 30 days.
        assert len(selectors.ownership_on(on=dt.date(2025, 3, 1))) == Account.objects.filter(is_active=True).count()
        assert AccountOwnership.objects.filter(reason="holdout", valid_to=dt.date(2025, 7, 31)).exists()
        assert selectors.plan_diff(plan=draft)["accounts_moved"] >= 0
    again = territories_seed(organization=org, seed=7, year=2025)
    assert again.skipped
