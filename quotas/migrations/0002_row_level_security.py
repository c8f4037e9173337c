"""Row-level security on every quota table."""
from django.db import migrations

from revops.tenancy import EnableRowLevelSecurity

TENANT_MODELS = ["seasonalityprofile", "quotaplan", "quota", "quotamonth", "quotarelief", "creditedtransaction"]


class Migration(migrations.Migration):
    dependencies = [("quotas", "0001_initial")]

    operations = [EnableRowLevelSecurity(name) for name in TENANT_MODELS]
