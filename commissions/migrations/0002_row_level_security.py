"""Row-level security on every commission table."""
from django.db import migrations

from revops.tenancy import EnableRowLevelSecurity

TENANT_MODELS = [
    "transaction", "transactionsplit", "creditrule", "compplan", "compplanversion", "component",
    "compliancesignoff", "planassignment", "commissionperiod", "commissionrun", "lineitem", "statement",
    "manualadjustment", "dispute", "disputemessage",
]


class Migration(migrations.Migration):
    dependencies = [("commissions", "0001_initial")]

    operations = [EnableRowLevelSecurity(name) for name in TENANT_MODELS]
