"""Two more additive measures of ``rcm_feeds_kpi_monthly``: the payments and charges of the claims that count
towards the payer's clean yield (current version, adjudicated, never denied), by the claim's submission month.

Existing rows get 0 until the next ``aggregates_refresh`` of their months; the data migration below rebuilds
every organization's aggregates once so that nothing reads a zero it should not.
"""
from django.db import migrations

COLUMNS = ("clean_paid", "clean_charges")


def refresh_all(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Rebuild the clean-yield measures of every organization that has aggregate rows (its whole history)."""
    from rcm_feeds.aggregates import clean_yield_backfill

    clean_yield_backfill()


class Migration(migrations.Migration):
    # The backfill runs the current aggregates_refresh, whose hook also writes intake's program money summary:
    # its table must exist first.
    dependencies = [("rcm_feeds", "0007_claim_referring_npi"), ("intake", "0005_program_claim_money")]

    operations = [
        migrations.RunSQL(
            sql=[f"ALTER TABLE rcm_feeds_kpi_monthly ADD COLUMN {c} numeric(16, 2) NOT NULL DEFAULT 0" for c in COLUMNS],
            reverse_sql=[f"ALTER TABLE rcm_feeds_kpi_monthly DROP COLUMN {c}" for c in COLUMNS],
        ),
        migrations.RunPython(refresh_all, migrations.RunPython.noop),
    ]
