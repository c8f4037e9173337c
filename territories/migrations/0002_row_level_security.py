"""Row-level security on every territory table."""
from django.db import migrations

from revops.tenancy import EnableRowLevelSecurity

TENANT_MODELS = ["territoryplan", "territory", "assignmentrule", "planassignment", "coverage", "accountownership",
                 "accountvolume"]


class Migration(migrations.Migration):
    dependencies = [("territories", "0001_initial")]

    operations = [EnableRowLevelSecurity(name) for name in TENANT_MODELS]
