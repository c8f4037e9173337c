"""KPI aggregate tables: no foreign key to the organization (it blocked TRUNCATE of organizations,
e.g. Django's test flush); rows go with their organization through a trigger instead."""
from django.db import migrations

TABLES = ["rcm_feeds_kpi_monthly", "rcm_feeds_denial_monthly", "rcm_feeds_denial_resolution_monthly"]

FORWARD = [
    *[f"ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {t}_tenant_id_fkey" for t in TABLES],
    """CREATE OR REPLACE FUNCTION rcm_feeds_aggregates_organization_deleted() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         DELETE FROM rcm_feeds_kpi_monthly WHERE tenant_id = OLD.id;
         DELETE FROM rcm_feeds_denial_monthly WHERE tenant_id = OLD.id;
         DELETE FROM rcm_feeds_denial_resolution_monthly WHERE tenant_id = OLD.id;
         RETURN OLD;
       END $$""",
    """CREATE TRIGGER rcm_feeds_aggregates_organization_deleted AFTER DELETE ON revops_organization
       FOR EACH ROW EXECUTE FUNCTION rcm_feeds_aggregates_organization_deleted()""",
]
BACKWARD = [
    "DROP TRIGGER IF EXISTS rcm_feeds_aggregates_organization_deleted ON revops_organization",
    "DROP FUNCTION IF EXISTS rcm_feeds_aggregates_organization_deleted()",
    *[f"ALTER TABLE {t} ADD CONSTRAINT {t}_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES revops_organization (id) "
      "ON DELETE CASCADE" for t in TABLES],
]


class Migration(migrations.Migration):
    dependencies = [("rcm_feeds", "0004_ingestion_links")]

    operations = [migrations.RunSQL(sql=FORWARD, reverse_sql=BACKWARD)]
