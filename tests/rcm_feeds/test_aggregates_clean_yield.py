"""The clean-yield measures of ``rcm_feeds_kpi_monthly`` (``clean_paid`` / ``clean_charges``, migration 0008):
what they hold on a small hand-made history, and the one-off backfill the migration runs for rows written
before the columns existed."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection

from rcm_feeds.aggregates import aggregates_refresh, clean_yield_backfill
from rcm_feeds.models import Claim
from revops.models import Organization
from revops.tenancy import require_tenant_id, tenant_context
from tests.rcm_feeds.kpi_fixtures import claim, denial, payment, received_file, remittance

D = Decimal
JAN, FEB = dt.date(2025, 1, 1), dt.date(2025, 2, 1)


def _clean() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT month, payer_id, sum(clean_paid), sum(clean_charges) FROM rcm_feeds_kpi_monthly "
                       "WHERE tenant_id = %s GROUP BY 1, 2 HAVING sum(clean_charges) <> 0 OR sum(clean_paid) <> 0 "
                       "ORDER BY 1, 2", [require_tenant_id()])
        return cursor.fetchall()


def _history(tenant):
    payer = tenant.objects["payer"]
    f837, f835 = received_file("x12_837"), received_file("x12_835")
    paid = claim(file=f837, charge="1000", submitted_on=dt.date(2025, 1, 10), payer=payer)  # clean: 700 of 1000
    reversed_ = claim(file=f837, charge="500", submitted_on=dt.date(2025, 1, 20), payer=payer)  # 400 - 400 + 350
    denied = claim(file=f837, charge="800", submitted_on=dt.date(2025, 1, 25), payer=payer)  # denied: out
    replaced = claim(file=f837, charge="300", submitted_on=dt.date(2025, 2, 3), payer=payer)  # replaced: out
    claim(file=f837, charge="320", submitted_on=dt.date(2025, 2, 20), payer=payer, frequency="7", original=replaced)
    void = claim(file=f837, charge="200", submitted_on=dt.date(2025, 2, 5), payer=payer, frequency="8")  # void: out
    claim(file=f837, charge="600", submitted_on=dt.date(2025, 2, 6), payer=payer)  # never adjudicated: out
    remit = remittance(file=f835, payment_date=dt.date(2025, 3, 1))
    payment(remit=remit, claim=paid, charge="1000", paid="700")
    payment(remit=remit, claim=reversed_, charge="500", paid="400")
    payment(remit=remit, claim=reversed_, charge="-500", paid="-400", reversal=True)
    payment(remit=remit, claim=reversed_, charge="500", paid="350")
    cp = payment(remit=remit, claim=denied, charge="800", paid="0", denied=True)
    denial(cp=cp, level="claim", charge="800", denied_on=dt.date(2025, 3, 1), category="authorization", carc="197",
           status="overturned", resolved_on=dt.date(2025, 4, 1))
    payment(remit=remit, claim=replaced, charge="300", paid="250")
    payment(remit=remit, claim=void, charge="200", paid="0")
    return payer


def test_clean_measures_count_current_adjudicated_never_denied_claims_by_submission_month(tenant_a):
    payer = _history(tenant_a)
    aggregates_refresh()
    # January: 700 of 1000 and 350 of 500 (the reversal nets out); the denied claim stays out even though its
    # denial was overturned. February: the replaced claim, the void and the claim never adjudicated are out, the
    # replacement is not adjudicated: nothing.
    assert _clean() == [(JAN, payer.pk, D("1050.00"), D("1500.00"))]


def test_the_migration_backfill_rebuilds_the_measures_of_rows_written_before_them(world):
    with tenant_context(world.a.org):
        payer = _history(world.a)
        aggregates_refresh()
        with connection.cursor() as cursor:  # rows as they were before migration 0008: the columns at 0
            cursor.execute("UPDATE rcm_feeds_kpi_monthly SET clean_paid = 0, clean_charges = 0 WHERE tenant_id = %s",
                           [world.a.org.pk])
        assert _clean() == []
    with_claims = 0
    for org in Organization.objects.all():
        with tenant_context(org):
            with_claims += Claim.objects.exists()
    assert clean_yield_backfill() == with_claims  # organizations without claims are skipped
    with tenant_context(world.a.org):
        assert _clean() == [(JAN, payer.pk, D("1050.00"), D("1500.00"))]
