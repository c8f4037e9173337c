"""Row-level security on every tenant table of this app, and an append-only audit trail."""
from django.db import migrations

from revops.tenancy import EnableRowLevelSecurity

TENANT_MODELS = [
    "membership", "apikey", "serviceline", "team", "person", "reportingline", "facility",
    "program", "payer", "account", "auditevent", "job", "tenantschedule",
]

AUDIT_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION revops_audit_append_only() RETURNS trigger AS $$
BEGIN
    -- Only the actor references may change (to NULL, when a user or key is deleted).
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
       OR NEW.at IS DISTINCT FROM OLD.at OR NEW.action IS DISTINCT FROM OLD.action
       OR NEW.model IS DISTINCT FROM OLD.model OR NEW.object_pk IS DISTINCT FROM OLD.object_pk
       OR NEW.before IS DISTINCT FROM OLD.before OR NEW.after IS DISTINCT FROM OLD.after
       OR NEW.actor_label IS DISTINCT FROM OLD.actor_label THEN
        RAISE EXCEPTION 'audit events are append-only';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER revops_audit_append_only BEFORE UPDATE ON revops_auditevent
    FOR EACH ROW EXECUTE FUNCTION revops_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("revops", "0001_initial")]

    operations = [EnableRowLevelSecurity(name) for name in TENANT_MODELS] + [
        migrations.RunSQL(
            AUDIT_APPEND_ONLY,
            reverse_sql="DROP TRIGGER IF EXISTS revops_audit_append_only ON revops_auditevent;"
            " DROP FUNCTION IF EXISTS revops_audit_append_only();",
        ),
    ]
