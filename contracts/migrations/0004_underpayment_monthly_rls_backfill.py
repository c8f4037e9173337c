"""Row-level security on the underpayment summary (0003), then build it once for every organization with claim
expectations, so that the underpayment report reads it from the start
(contracts.services.reimbursement.underpayment_monthly_backfill)."""
from django.db import migrations

from revops.tenancy import EnableRowLevelSecurity

TENANT_MODELS = ["underpaymentmonthly", "underpaymentmonthlystate"]


def build_all(apps, schema_editor):  # type: ignore[no-untyped-def]
    from contracts.services.reimbursement import underpayment_monthly_backfill

    underpayment_monthly_backfill()


class Migration(migrations.Migration):
    dependencies = [("contracts", "0003_underpayment_monthly")]

    operations = [
        *[EnableRowLevelSecurity(name) for name in TENANT_MODELS],
        migrations.RunPython(build_all, migrations.RunPython.noop),
    ]
