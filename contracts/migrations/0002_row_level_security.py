"""Row-level security on every contracts table."""
from django.db import migrations

from revops.tenancy import EnableRowLevelSecurity

TENANT_MODELS = ["contract", "contractversion", "contractterm", "claimexpectation", "lineexpectation",
                 "contractreview"]


class Migration(migrations.Migration):
    dependencies = [("contracts", "0001_initial")]

    operations = [EnableRowLevelSecurity(name) for name in TENANT_MODELS]
