"""Row-level security on the scenarios table."""
from django.db import migrations

from revops.tenancy import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("scenarios", "0001_initial")]

    operations = [EnableRowLevelSecurity("scenario")]
