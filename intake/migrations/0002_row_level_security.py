"""Row-level security on every intake table."""
from django.db import migrations

from revops.tenancy import EnableRowLevelSecurity

TENANT_MODELS = ["admission", "programcost"]


class Migration(migrations.Migration):
    dependencies = [("intake", "0001_initial")]

    operations = [EnableRowLevelSecurity(name) for name in TENANT_MODELS]
