"""Row-level security on every forecasting table."""
from django.db import migrations

from revops.tenancy import EnableRowLevelSecurity

TENANT_MODELS = ["stage", "opportunity", "opportunityhistory", "forecastperiod", "forecastcall", "forecastrun",
                 "forecastvalue", "forecastscore"]


class Migration(migrations.Migration):
    dependencies = [("forecasting", "0001_initial")]

    operations = [EnableRowLevelSecurity(name) for name in TENANT_MODELS]
