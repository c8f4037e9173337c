"""Property: the set-based units used agree with the row-by-row reference for any lines and date ranges."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake import services
from intake.models import Admission, Authorization
from intake.selectors.authorizations import authorizations_with_usage
from rcm_feeds.models import ClaimLine
from rcm_feeds.phi import patient_hash
from tests.intake.fixtures import make_claim
from tests.intake.test_computations import reference_units_used
from tests.rcm_feeds.kpi_fixtures import received_file

pytestmark = pytest.mark.django_db
START = dt.date(2025, 5, 1)


class Rollback(Exception):
    pass


lines = st.lists(st.tuples(st.integers(0, 20), st.one_of(st.none(), st.integers(1, 4))), min_size=0, max_size=12)
ranges = st.lists(st.tuples(st.integers(0, 20), st.integers(0, 10), st.sampled_from(["days", "units"])),
                  min_size=1, max_size=4)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=lines, ranges=ranges)
def test_units_used_agree_with_the_reference(tenant_a, lines, ranges):
    program, payer = tenant_a.objects["program"], tenant_a.objects["payer"]
    try:
        with transaction.atomic():
            services.admissions_upsert(rows=[("P1", patient_hash("P"), program.pk, payer.pk, "", None, START,
                                              START + dt.timedelta(days=30), None, "test")])
            claim = make_claim(file=received_file(), patient="P", program=program, payer=payer, start=START, days=1,
                               charge="100")
            ClaimLine.objects.filter(claim=claim).delete()
            for n, (offset, units) in enumerate(lines, start=1):
                ClaimLine.objects.create(claim=claim, line_number=n, charge=Decimal("10"),
                                         units=None if units is None else Decimal(units),
                                         service_date=START + dt.timedelta(days=offset))
            services.admission_claims_link()
            admission = Admission.objects.get(external_id="P1")
            for n, (offset, length, kind) in enumerate(ranges):
                start = START + dt.timedelta(days=offset)
                services.authorization_save(admission=admission, auth_number=f"A{n}", units_granted=Decimal("5"),
                                            starts_on=start, ends_on=start + dt.timedelta(days=length), unit_kind=kind)
            fast = {a.auth_number: a.units_used for a in authorizations_with_usage()}
            slow = {a.auth_number: reference_units_used(a) for a in Authorization.objects.all()}
            assert fast == slow
            raise Rollback
    except Rollback:
        pass
