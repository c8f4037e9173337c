"""COPY loads into tenant tables: staged, inserted under row-level security, tenant-checked."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction

from revops import bulk
from revops.models import Account, AuditEvent, Payer, Person, ReportingLine
from revops.tenancy import CrossTenantWrite, NoActiveTenant, cross_tenant_access, tenant_context

PAYER_COLUMNS = ("name", "payer_class", "payer_id")
ACCOUNT_COLUMNS = ("external_id", "name", "zip_code", "state", "service_line_id")


def payer_rows(n: int, prefix: str = "Plan") -> list[tuple[str, str, str]]:
    return [(f"{prefix} {i}", "commercial", f"{10000 + i}") for i in range(n)]


def test_copy_insert_loads_rows_for_the_active_tenant(world):
    with tenant_context(world.a.org):
        inserted = bulk.copy_insert(Payer, columns=PAYER_COLUMNS, rows=payer_rows(250))
        loaded = Payer.objects.filter(name__startswith="Plan ")
        assert inserted == 250
        assert loaded.count() == 250
        assert set(loaded.values_list("tenant_id", flat=True)) == {world.a.org.pk}
        # Columns left out get the model's Python-side default (is_active=True).
        assert set(loaded.values_list("is_active", flat=True)) == {True}
        assert loaded.get(name="Plan 7").payer_id == "10007"
    with tenant_context(world.b.org):
        assert not Payer.objects.filter(name__startswith="Plan ").exists()


def test_copy_insert_keeps_nulls_dates_and_decimals(world):
    with tenant_context(world.a.org):
        bulk.copy_insert(
            Account,
            columns=("external_id", "name", "zip_code", "state", "latitude", "longitude", "npi"),
            rows=[("Z-1", "O'Brien & Sons, \"Family\" Practice\tTab", "37203", "TN", None, None, ""),
                  ("Z-2", "Back\\slash Clinic", "37203", "TN", "36.150400", "-86.791600", "1234567893")],
        )
        first, second = Account.objects.filter(external_id__in=["Z-1", "Z-2"]).order_by("external_id")
        assert first.name == "O'Brien & Sons, \"Family\" Practice\tTab"
        assert first.latitude is None
        assert second.name == "Back\\slash Clinic"
        assert str(second.longitude) == "-86.791600"


def test_row_level_security_rejects_rows_naming_another_tenant(world):
    rows = [(world.a.org.pk, "Own plan", "commercial", ""), (world.b.org.pk, "Smuggled plan", "commercial", "")]
    with tenant_context(world.a.org):
        with pytest.raises(Exception, match="row-level security"), transaction.atomic():
            bulk.copy_insert(Payer, columns=("tenant_id", *PAYER_COLUMNS), rows=rows)
        # The whole load was refused, not just the foreign row.
        assert not Payer.objects.filter(name="Own plan").exists()
    with cross_tenant_access("test: look for the smuggled row everywhere"):
        assert not Payer.objects.unscoped().filter(name="Smuggled plan").exists()


def test_rows_carrying_the_active_tenant_id_are_accepted(world):
    with tenant_context(world.b.org):
        assert bulk.copy_insert(Payer, columns=("tenant_id", *PAYER_COLUMNS),
                                rows=[(world.b.org.pk, "Own plan", "medicare", "")]) == 1
        assert Payer.objects.get(name="Own plan").payer_class == "medicare"


def test_foreign_keys_to_another_tenants_rows_are_refused(world):
    foreign_line = world.b.objects["serviceline"].pk
    with tenant_context(world.a.org):
        with pytest.raises(CrossTenantWrite, match="service_line_id"), transaction.atomic():
            bulk.copy_insert(Account, columns=ACCOUNT_COLUMNS, rows=[("X-1", "Borrowed line", "37203", "TN", foreign_line)])
        assert not Account.objects.filter(external_id="X-1").exists()
        own_line = world.a.objects["serviceline"].pk
        assert bulk.copy_insert(Account, columns=ACCOUNT_COLUMNS,
                                rows=[("X-1", "Own line", "37203", "TN", own_line), ("X-2", "No line", "37203", "TN", None)]) == 2


def test_on_conflict_makes_reloading_idempotent(world):
    rows = [(f"ACC-{i:03d}", f"Practice {i}", "37203", "TN", None) for i in range(2, 12)]
    conflict = "(tenant_id, external_id) WHERE external_id <> ''"
    with tenant_context(world.a.org):
        # ACC-1 already exists (the world fixture's account): nine of ten rows are new.
        rows.append(("ACC-1", "Renamed?", "37203", "TN", None))
        assert bulk.copy_insert(Account, columns=ACCOUNT_COLUMNS, rows=rows, on_conflict=conflict) == 10
        assert bulk.copy_insert(Account, columns=ACCOUNT_COLUMNS, rows=rows, on_conflict=conflict) == 0
        assert Account.objects.count() == 11
        assert Account.objects.get(external_id="ACC-1").name == "Harbor Behavioral Family Practice"


def test_on_conflict_true_skips_any_constraint_including_exclusion(world):
    rep, manager = world.a.objects["person"], world.a.objects["manager"]
    with tenant_context(world.a.org):
        # The rep already reports to the manager from 2021-03-01 (open-ended): an overlapping period.
        inserted = bulk.copy_insert(ReportingLine, columns=("person_id", "manager_id", "valid_from", "valid_to"),
                                    rows=[(rep.pk, manager.pk, dt.date(2022, 1, 1), None)], on_conflict=True)
        assert inserted == 0
        assert ReportingLine.objects.filter(person=rep).count() == 1


def test_without_on_conflict_a_duplicate_fails_the_load(world):
    with tenant_context(world.a.org):
        with pytest.raises(Exception, match="person_employee_id_unique"), transaction.atomic():
            bulk.copy_insert(Person, columns=("employee_id", "first_name", "last_name", "hire_date"),
                             rows=[("R1", "Dup", "Licate", dt.date(2020, 1, 1))])


def test_copy_insert_returning_gives_the_new_rows(world):
    with tenant_context(world.b.org):
        returned = bulk.copy_insert_returning(
            Person, columns=("employee_id", "first_name", "last_name", "hire_date"),
            rows=[("E-1", "Ada", "Lovelace", dt.date(2020, 1, 6)), ("E-2", "Alan", "Turing", dt.date(2021, 2, 1))],
            returning=("id", "employee_id"),
        )
        ids = {emp: pk for pk, emp in returned}
        assert set(ids) == {"E-1", "E-2"}
        assert Person.objects.get(pk=ids["E-2"]).last_name == "Turing"


def test_copy_insert_refuses_without_an_active_tenant(world):
    with pytest.raises(NoActiveTenant):
        bulk.copy_insert(Payer, columns=PAYER_COLUMNS, rows=payer_rows(1))
    with cross_tenant_access("test: count payers of every organization"):
        assert Payer.objects.unscoped().count() == 2


def test_copy_insert_rejects_unknown_columns_primary_keys_and_shared_models(world):
    with tenant_context(world.a.org):
        with pytest.raises(ValueError, match="no column"):
            bulk.copy_insert(Payer, columns=("name", "colour"), rows=[])
        with pytest.raises(ValueError, match="primary keys"):
            bulk.copy_insert(Payer, columns=("id", "name"), rows=[])
        from revops.models import Organization

        with pytest.raises(TypeError):
            bulk.copy_insert(Organization, columns=("name",), rows=[])  # type: ignore[arg-type]


def test_a_load_records_one_audit_event(world):
    with tenant_context(world.a.org):
        before = AuditEvent.objects.filter(model="revops.Payer").count()
        bulk.copy_insert(Payer, columns=PAYER_COLUMNS, rows=payer_rows(40))
        events = AuditEvent.objects.filter(model="revops.Payer")
        assert events.count() == before + 1
        assert events.first().after["rows_inserted"] == 40


def test_raw_copy_measurement_keeps_nothing(world):
    with tenant_context(world.a.org):
        measured = bulk.copy_measure_raw(Payer, columns=PAYER_COLUMNS, rows=payer_rows(500))
        assert measured.rows == 500 and measured.seconds > 0
        assert not Payer.objects.filter(name__startswith="Plan ").exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE '\\_stage\\_%%' AND relpersistence = 't'")
        assert cursor.fetchone()[0] == 0


def test_trusted_columns_skip_only_their_own_tenant_check(world):
    foreign_line = world.b.objects["serviceline"].pk
    with tenant_context(world.a.org):
        with pytest.raises(ValueError, match="not loaded columns"):
            bulk.copy_insert(Account, columns=ACCOUNT_COLUMNS, rows=[], trusted=("team_id",))
        # A trusted column is the caller's promise (ids it just inserted or selected for the
        # tenant); a column it does not name is still checked.
        with pytest.raises(CrossTenantWrite, match="service_line_id"), transaction.atomic():
            bulk.copy_insert(Account, columns=ACCOUNT_COLUMNS, trusted=("zip_code",),
                             rows=[("X-9", "Borrowed line", "37203", "TN", foreign_line)])
        own_line = world.a.objects["serviceline"].pk
        assert bulk.copy_insert(Account, columns=ACCOUNT_COLUMNS, trusted=("service_line_id",),
                                rows=[("X-9", "Own line", "37203", "TN", own_line)]) == 1


def test_cyclic_gc_is_paused_for_a_load_and_restored_even_on_error():
    import gc

    from revops.bulk import cyclic_gc_paused

    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
        with cyclic_gc_paused():  # nested: still off, and still off after the inner block
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    try:
        with cyclic_gc_paused():
            raise RuntimeError("a refused file")
    except RuntimeError:
        pass
    assert gc.isenabled()
