"""The demo's commissions (revops.demo.commissions) on a small organization built like the quota demo's
test: plans with an EKRA-flagged component signed off and a draft one that cannot activate, a year of
monthly runs (ten paid, November locked, December open), late deals and a dispute as adjustments."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from commissions.models import (
    CommissionPeriod,
    CompPlanVersion,
    Dispute,
    LineItem,
    PlanAssignment,
    Statement,
    Transaction,
)
from commissions.services import plans as plan_services
from revops.demo.commissions import commissions_seed
from revops.demo.quotas import quotas_seed
from revops.demo.territories import territories_seed
from revops.models import Account, Person
from revops.tenancy import tenant_context
from tests.territories.test_demo_seed import PLACES

pytestmark = pytest.mark.django_db


def test_demo_commissions_seed_runs_a_year_with_locks_adjustments_and_the_guardrail(world):
    org = world.a.org  # behavioral health, EKRA-covered in the demo catalog
    org.ekra_covered = True
    org.save(update_fields=["ekra_covered"])
    with tenant_context(org):
        Account.objects.all().update(is_active=False)
        for n, (zip_code, state, lat, lon) in enumerate(PLACES):
            for m in range(3):
                Account.objects.create(name=f"Account {n}-{m}", zip_code=zip_code, state=state,
                                       latitude=Decimal(str(lat)), longitude=Decimal(str(lon)),
                                       account_type="hospital" if m == 0 else "clinic")
        Person.objects.create(employee_id="R9", first_name="Ann", last_name="Other", role="rep",
                              hire_date=dt.date(2020, 1, 1))
    territories_seed(organization=org, seed=7, year=2025, balance=False)
    quotas_seed(organization=org, seed=7, year=2025)
    outcome = commissions_seed(organization=org, seed=7, year=2025)
    assert not outcome.skipped and outcome.periods == 12 and outcome.transactions > 0 and outcome.lines > 0
    with tenant_context(org):
        statuses = [p.status for p in CommissionPeriod.objects.order_by("start")]
        assert statuses == ["paid"] * 10 + ["approved", "open"]
        assert all(p.current_run_id for p in CommissionPeriod.objects.all())
        # Paid periods' statements went through both approvals.
        october = CommissionPeriod.objects.get(start=dt.date(2025, 10, 1))
        assert set(Statement.objects.filter(period=october).values_list("status", flat=True)) == {"finance_approved"}
        # December carries the late deals of October and November as adjustments.
        december = CommissionPeriod.objects.get(start=dt.date(2025, 12, 1))
        adjustments = LineItem.objects.filter(run_id=december.current_run_id, kind="adjustment")
        assert adjustments.exists()
        assert {l.transaction.external_id for l in adjustments if l.transaction_id} >= {"DEMO-LATE-1"}
        assert Transaction.objects.filter(reverses__isnull=False).exists()
        # The net collected kicker is flagged and signed off; the draft's referral bounty is flagged and not.
        active = CompPlanVersion.objects.get(plan__name="Account executive", version=2)
        kicker = active.components.get(name="Net collected revenue kicker")
        assert plan_services.component_flagged(kicker) and kicker.signoff.reason
        draft = CompPlanVersion.objects.get(plan__name="Account executive", version=3)
        with pytest.raises(ValidationError, match="Referral bounty"):
            plan_services.version_activate(version=draft, user=world.a.users["admin"])
        assert PlanAssignment.objects.count() == outcome.assignments
        assert Dispute.objects.count() in (0, 1, 2)
    # A second seed leaves the organization as it is.
    assert commissions_seed(organization=org, seed=7, year=2025).skipped
