"""Rewrite every ``tenant_isolation`` policy with ``revops.tenancy.RLS_PREDICATE``: each setting read
once per statement (a scalar sub-select, an InitPlan) instead of once per row.

Tables created by later migrations get the new predicate from ``EnableRowLevelSecurity``; this
rewrites the policies that exist when it runs, whichever app's migration created them (and the
commission runs' line partitions, which ``commissions.services.line_store`` creates at run time).
"""
from django.db import migrations

OLD_PREDICATE = (
    "(tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
    " OR current_setting('app.rls_bypass', true) = 'on')"
)
# What revops.tenancy.RLS_PREDICATE was when this migration was written (a test keeps them equal).
NEW_PREDICATE = (
    "((SELECT current_setting('app.rls_bypass', true) = 'on')"
    " OR tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::bigint))"
)


def _rewrite(schema_editor, predicate: str) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT schemaname, tablename FROM pg_policies WHERE policyname = 'tenant_isolation' "
                       "AND schemaname = current_schema() ORDER BY tablename")
        tables = cursor.fetchall()
        for schema, table in tables:
            cursor.execute(f'ALTER POLICY tenant_isolation ON "{schema}"."{table}" '
                           f"USING {predicate} WITH CHECK {predicate}")


def forwards(apps, schema_editor):
    _rewrite(schema_editor, NEW_PREDICATE)


def backwards(apps, schema_editor):
    _rewrite(schema_editor, OLD_PREDICATE)


class Migration(migrations.Migration):

    dependencies = [
        ("revops", "0003_tenant_fk_without_single_column_index"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
