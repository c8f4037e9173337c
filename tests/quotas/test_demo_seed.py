"""The demo's quota plans (revops.demo.quotas) on a small organization: last year archived, this year
active with attainment and relief, next year a draft with overrides and bottom-up numbers."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from quotas import selectors
from quotas.models import CreditedTransaction, Quota, QuotaPlan, QuotaRelief, SeasonalityProfile
from revops.demo.quotas import quotas_seed
from revops.demo.territories import territories_seed
from revops.models import Account, Person
from revops.tenancy import tenant_context
from territories.models import AccountOwnership

from tests.territories.test_demo_seed import PLACES

pytestmark = pytest.mark.django_db


# Like Meridian: a lab on a January fiscal year; like Riverbend: behavioral health on a July one
# (this year is FY2026, July 2025 to June 2026), which also gets a net collected revenue plan.
@pytest.mark.parametrize("which, start_month, this_year", [("b", 1, 2025), ("a", 7, 2026)])
def test_demo_quotas_seed_builds_three_years_of_plans_with_attainment_and_relief(world, which, start_month,
                                                                                 this_year):
    org = getattr(world, which).org
    org.fiscal_year_start_month = start_month
    org.save(update_fields=["fiscal_year_start_month"])
    with tenant_context(org):
        Account.objects.all().update(is_active=False)  # the world's account has no coordinates
        for n, (zip_code, state, lat, lon) in enumerate(PLACES):
            for m in range(3):
                Account.objects.create(name=f"Account {n}-{m}", zip_code=zip_code, state=state,
                                       latitude=Decimal(str(lat)), longitude=Decimal(str(lon)),
                                       account_type="hospital" if m == 0 else "clinic")
        Person.objects.create(employee_id="R9", first_name="Ann", last_name="Other", role="rep",
                              hire_date=dt.date(2020, 1, 1))
    territories_seed(organization=org, seed=7, year=2025, balance=False)
    outcome = quotas_seed(organization=org, seed=7, year=2025)
    collections = {f"FY{this_year} net collected revenue": "active"} if which == "a" else {}
    assert not outcome.skipped and outcome.plans == 3 + len(collections) and outcome.transactions > 0
    with tenant_context(org):
        plans = {p.name: p for p in QuotaPlan.objects.all()}
        assert {name: p.status for name, p in plans.items()} == {
            f"FY{this_year - 1} bookings": "archived", f"FY{this_year} bookings": "active",
            f"FY{this_year + 1} bookings (draft)": "draft", **collections}
        last, this, draft = (plans[f"FY{this_year - 1} bookings"], plans[f"FY{this_year} bookings"],
                             plans[f"FY{this_year + 1} bookings (draft)"])
        assert this.effective_from == dt.date(2025, start_month, 1)
        for plan in plans.values():
            assert selectors.check_sums(plan=plan) == []
        # This year: target = last year's credited bookings x 1.12 (to 10,000), learned phasing.
        last_year_bookings = sum(CreditedTransaction.objects.filter(
            metric="bookings", transaction_date__gte=last.effective_from, transaction_date__lt=this.effective_from,
        ).values_list("amount", flat=True))
        assert abs(this.company_target - last_year_bookings * Decimal("1.12")) <= 5_000
        assert this.seasonality.source == "learned" and draft.seasonality.source == "typed"
        assert SeasonalityProfile.objects.count() == 2
        # The July realignment's held-out accounts moved quota with them (from one leaf to another).
        reliefs = QuotaRelief.objects.filter(plan=this)
        assert reliefs.exists() and outcome.reliefs == reliefs.count()
        assert all(r.from_quota_id != r.to_quota_id for r in reliefs)
        assert reliefs.filter(effective_date=dt.date(2025, 7, 31)).exists()
        # Attainment: every credited transaction of last and this year reached a leaf (the ownership
        # history reaches back to last year's start).
        for plan in [last, this] + [plans[name] for name in collections]:
            plan.refresh_from_db()
            assert Decimal(plan.attainment_summary["credited"]) > 0
            assert plan.attainment_summary["uncredited_transactions"] == 0
            assert Quota.objects.get(plan=plan, parent__isnull=True).actual == Decimal(plan.attainment_summary["credited"])
        assert AccountOwnership.objects.filter(valid_from=last.effective_from).exists()
        # The territory waiting for its hire ramps; the draft carries overrides and bottom-up numbers.
        assert Quota.objects.filter(plan=this, is_leaf=True, ramp_start__isnull=False).exists()
        assert Quota.objects.filter(plan=draft, override__isnull=False).count() == 2
        assert Quota.objects.filter(plan=draft, bottom_up__isnull=False).count() >= 3
        # Fairness has last year's outcomes to compare with.
        assert selectors.fairness(plan=this).prior_plan == last
        counts = (CreditedTransaction.objects.count(), Quota.objects.count(), QuotaRelief.objects.count(),
                  AccountOwnership.objects.count())
    again = quotas_seed(organization=org, seed=7, year=2025)
    assert again.skipped
    with tenant_context(org):
        assert (CreditedTransaction.objects.count(), Quota.objects.count(), QuotaRelief.objects.count(),
                AccountOwnership.objects.count()) == counts
