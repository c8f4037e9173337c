"""The intake demo: stays derived from the claims, linked, authorized, ruled and costed; nothing for a lab."""
from __future__ import annotations

import datetime as dt

import pytest

from intake.models import Admission, AdmissionClaim, Authorization, IntakeRule, ProgramCost
from revops.demo.intake import intake_seed
from revops.tenancy import tenant_context
from tests.intake.fixtures import build

pytestmark = pytest.mark.django_db
TODAY = dt.date(2025, 3, 5)


def _claims_only(tenant):
    with tenant_context(tenant.org):
        build(tenant)
        for model in (IntakeRule, ProgramCost, Admission):
            model.objects.all().delete()


def _snapshot(org):
    with tenant_context(org):
        return (sorted(Admission.objects.values_list("external_id", "admitted_on", "discharged_on", "plan_name")),
                sorted(Authorization.objects.values_list("auth_number", "units_granted", "ends_on", "next_review_on")),
                sorted(ProgramCost.objects.values_list("program__code", "month", "category", "amount")))


def test_intake_seed_derives_stays_from_claims_and_is_deterministic(world):
    _claims_only(world.a)
    outcome = intake_seed(organization=world.a.org, seed=7, year=2025, today=TODAY)
    # Stays: X (C1 Jan 6-10 and C2 Jan 13-15: 3 days apart, one stay), Y (C3, C4), Z (C5), W (C6); 12 in care.
    assert (outcome.admissions, outcome.in_care, outcome.claims_linked) == (16, 12, 6)
    with tenant_context(world.a.org):
        x = Admission.objects.get(external_id="RB-ADM-000001")
        assert (x.admitted_on, x.discharged_on) == (dt.date(2025, 1, 6), dt.date(2025, 1, 15))
        assert AdmissionClaim.objects.count() == 6
        assert Admission.objects.filter(discharged_on__isnull=True).count() == 12
    assert outcome.reviews_due >= 1 and outcome.program_costs > 0 and outcome.rules > 0
    assert intake_seed(organization=world.a.org, seed=7, year=2025, today=TODAY).skipped
    first = _snapshot(world.a.org)
    with tenant_context(world.a.org):
        for model in (IntakeRule, ProgramCost, Admission):
            model.objects.all().delete()
    intake_seed(organization=world.a.org, seed=7, year=2025, today=TODAY)
    assert _snapshot(world.a.org) == first


def test_intake_seed_makes_nothing_for_a_lab(world):
    outcome = intake_seed(organization=world.b.org, seed=7, year=2025, today=TODAY)
    assert outcome.admissions == 0 and not outcome.skipped
    with tenant_context(world.b.org):
        assert not Admission.objects.exists() and not ProgramCost.objects.exists()
