"""Row-level security on the intake tables added in 0003."""
from django.db import migrations

from revops.tenancy import EnableRowLevelSecurity

TENANT_MODELS = ["admissionclaim", "authorization", "intakerule"]


class Migration(migrations.Migration):
    dependencies = [("intake", "0003_admission_claims_authorizations_rules")]

    operations = [EnableRowLevelSecurity(name) for name in TENANT_MODELS]
