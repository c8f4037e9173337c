"""Row-level security on every analytics table."""
from django.db import migrations

from revops.tenancy import EnableRowLevelSecurity

TENANT_MODELS = ["snapshot"]


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_initial")]

    operations = [EnableRowLevelSecurity(name) for name in TENANT_MODELS]
