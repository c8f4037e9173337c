"""The three tenancy layers: scoped manager, the RLS settings backend, and row-level security."""
from __future__ import annotations

import pytest
from django.db import connection, transaction

from revops.models import Account, AuditEvent, Payer
from revops.tenancy import (
    CrossTenantWrite,
    NoActiveTenant,
    cross_tenant_access,
    tenant_context,
    tenant_models,
)


def test_manager_raises_without_active_tenant(world):
    with pytest.raises(NoActiveTenant):
        list(Payer.objects.all())


def test_querysets_defined_outside_a_tenant_resolve_when_evaluated(world):
    qs = Payer.objects.filter(payer_class="commercial")  # no tenant yet: nothing runs
    with tenant_context(world.a.org):
        assert [p.name for p in qs] == ["Harbor Behavioral Health Plan"]
    with tenant_context(world.b.org):
        assert [p.name for p in qs.all()] == ["Summit Labs Health Plan"]


def test_unscoped_still_limited_by_row_level_security(world):
    with tenant_context(world.a.org):
        names = set(Payer.objects.unscoped().values_list("name", flat=True))
    assert names == {"Harbor Behavioral Health Plan"}


def test_raw_sql_without_tenant_returns_no_rows(world):
    for model in tenant_models():
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT count(*) FROM "{model._meta.db_table}"')
            assert cursor.fetchone()[0] == 0, model._meta.db_table


def test_raw_sql_inside_a_tenant_sees_only_that_tenant(world):
    with tenant_context(world.b.org), connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tenant_id FROM revops_account")
        assert cursor.fetchall() == [(world.b.org.pk,)]


def test_raw_sql_cannot_insert_into_another_tenant(world):
    with tenant_context(world.a.org):
        with pytest.raises(Exception, match="row-level security"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO revops_payer (tenant_id, name, payer_class, payer_id, is_active)"
                    " VALUES (%s, 'Smuggled', 'commercial', '', true)",
                    [world.b.org.pk],
                )


def test_cross_tenant_access_lifts_rls_only_inside_the_block(world):
    with cross_tenant_access("test: count every organization's accounts"):
        assert Account.objects.unscoped().count() == 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM revops_account")
        assert cursor.fetchone()[0] == 0


def test_every_tenant_table_has_rls_enabled_forced_and_a_policy(db):
    tables = {m._meta.db_table for m in tenant_models()}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
            " EXISTS (SELECT 1 FROM pg_policies p WHERE p.tablename = c.relname AND p.policyname = 'tenant_isolation')"
            " FROM pg_class c WHERE c.relname = ANY(%s)",
            [list(tables)],
        )
        rows = {r[0]: r[1:] for r in cursor.fetchall()}
    assert set(rows) == tables
    assert {t: v for t, v in rows.items() if v != (True, True, True)} == {}


def test_every_tenant_table_has_not_null_tenant_and_constraints_lead_with_it(db):
    for model in tenant_models():
        field = model._meta.get_field("tenant")
        assert not field.null, model
        for constraint in model._meta.constraints:
            fields = getattr(constraint, "fields", None)
            if fields:
                assert fields[0] == "tenant", (model, constraint.name)
        for index in model._meta.indexes:
            if index.condition is not None and len(index.fields) == 1 and model._meta.get_field(index.fields[0]).is_relation:
                continue  # a partial form of Django's own single-column index on a link (nonnull_indexes)
            assert index.fields[0] == "tenant", (model, index.name)


def test_every_tenant_table_has_an_index_leading_with_tenant(db):
    for model in tenant_models():
        leading = [c.fields[0] for c in model._meta.constraints if getattr(c, "fields", None)]
        leading += [i.fields[0] for i in model._meta.indexes]
        assert "tenant" in leading, f"{model.__name__} has no index or unique constraint leading with tenant"


def test_application_role_is_not_superuser_nor_bypassrls(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)


def test_saving_a_row_of_another_tenant_is_refused(world):
    with tenant_context(world.a.org):
        payer = Payer.objects.get()
    with tenant_context(world.b.org), pytest.raises(CrossTenantWrite):
        payer.name = "Renamed across tenants"
        payer.save()


def test_foreign_key_to_another_tenants_row_is_refused(world):
    with tenant_context(world.a.org), pytest.raises(CrossTenantWrite):
        Account.objects.create(
            name="Cross", zip_code="37203", state="TN", service_line_id=world.b.objects["serviceline"].pk
        )


def test_savepoint_rollback_does_not_leave_a_stale_tenant(world):
    with transaction.atomic():
        with tenant_context(world.a.org):
            try:
                with transaction.atomic():
                    with tenant_context(world.b.org):
                        assert Payer.objects.count() == 1
                        raise RuntimeError("roll back the savepoint")
            except RuntimeError:
                pass
            assert list(Payer.objects.values_list("name", flat=True)) == ["Harbor Behavioral Health Plan"]
            with connection.cursor() as cursor:
                cursor.execute("SELECT name FROM revops_payer")
                assert cursor.fetchall() == [("Harbor Behavioral Health Plan",)]


def test_audit_events_are_append_only(world):
    with tenant_context(world.a.org):
        event = AuditEvent.objects.first()
        with pytest.raises(Exception, match="append-only"), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).update(object_repr="x", after={"forged": True})


def test_application_connections_run_without_jit(db):
    """settings: Postgres JIT is off for the app's connections (compiling mis-estimated reporting plans cost seconds)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_every_policy_reads_the_settings_once_per_statement(db):
    """The policy's settings are scalar sub-selects (InitPlans), the form migration 0004 wrote."""
    from importlib import import_module

    from revops.tenancy import RLS_PREDICATE

    migration = import_module("revops.migrations.0004_rls_predicate_per_statement")
    assert migration.NEW_PREDICATE == RLS_PREDICATE
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename, qual, with_check FROM pg_policies WHERE policyname = 'tenant_isolation'")
        policies = cursor.fetchall()
    assert len(policies) >= len(tenant_models())
    per_statement = ("( SELECT (current_setting('app.rls_bypass'::text, true) = 'on'::text))",
                     "( SELECT (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::bigint")
    per_row = [table for table, qual, check in policies
               if not all(part in expr for part in per_statement for expr in (qual, check))]
    assert per_row == []


def test_the_policy_plan_reads_the_tenant_once_not_per_row(world):
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (COSTS OFF) SELECT count(*) FROM revops_account")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "InitPlan" in plan, plan


def test_partial_link_indexes_skip_empty_links_and_serve_lookups_by_value(db):
    """rcm_feeds.models.nonnull_indexes: rows without the link are not in the index, and a lookup by
    value (what an on_delete check or cascade runs) is planned on it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%%\\_nn'")
        defs = dict(cursor.fetchall())
        assert set(defs) >= {"claim_original_claim_nn", "claim_part2_program_nn", "claimpayment_part2_program_nn",
                             "denial_overturned_by_nn"}
        assert all("IS NOT NULL" in d for d in defs.values()), defs
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM rcm_feeds_denial WHERE overturned_by_id = 42")
        plan = "\n".join(r[0] for r in cursor.fetchall())
    assert "denial_overturned_by_nn" in plan, plan
