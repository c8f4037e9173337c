"""Row-level security on every RCM table."""
from django.db import migrations

from revops.tenancy import EnableRowLevelSecurity

TENANT_MODELS = [
    "feed", "receivedfile", "ingestionrun", "ingestionwarning", "quarantineitem", "claim", "claimline",
    "remittance", "claimpayment", "servicepayment", "adjustment", "provideradjustment", "carccategory",
    "denial", "acknowledgment", "arbalance", "rcmcost",
]


class Migration(migrations.Migration):
    dependencies = [("rcm_feeds", "0001_initial")]

    operations = [EnableRowLevelSecurity(name) for name in TENANT_MODELS]
