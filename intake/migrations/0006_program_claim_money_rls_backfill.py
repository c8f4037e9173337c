"""Row-level security on the program money summary (0005), then build it once for every organization with claim
links, so that program profitability reads it from the start (intake.services.program_money_backfill)."""
from django.db import migrations

from revops.tenancy import EnableRowLevelSecurity

TENANT_MODELS = ["programclaimmoney", "programclaimmoneystate"]


def build_all(apps, schema_editor):  # type: ignore[no-untyped-def]
    from intake.services import program_money_backfill

    program_money_backfill()


class Migration(migrations.Migration):
    dependencies = [("intake", "0005_program_claim_money"), ("rcm_feeds", "0008_kpi_monthly_clean_yield")]

    operations = [
        *[EnableRowLevelSecurity(name) for name in TENANT_MODELS],
        migrations.RunPython(build_all, migrations.RunPython.noop),
    ]
