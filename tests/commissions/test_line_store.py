"""A run's lines in a partition of their own: binary COPY encoding, the partition's security, and what a
re-run does with the superseded partition (commissions/services/line_store.py)."""
from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.db import connection, transaction
from django.db.utils import IntegrityError, ProgrammingError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commissions.models import CommissionRun, Dispute, LineItem, RunStatus
from commissions.services import line_store, runs
from revops.tenancy import cross_tenant_access, tenant_context
from tests.commissions import fixtures

pytestmark = pytest.mark.django_db

D = Decimal
TYPES = {"int8": "bigint", "int2": "smallint", "date": "date", "text": "text"}


def _round_trip(columns: list[line_store.Column]) -> list[tuple]:
    """COPY ``columns`` in binary into a temp table of the matching types and read the rows back by id."""
    spec = ", ".join(f"{c.name} {TYPES.get(c.kind) or f'numeric(18, {c.scale})'}" for c in columns)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE _rt ({spec}) ON COMMIT DROP")
        names = ", ".join(c.name for c in columns)
        with connection.connection.cursor() as raw, raw.copy(f"COPY _rt ({names}) FROM STDIN WITH (FORMAT binary)") as cp:
            for chunk in line_store.binary_rows(columns, chunk=3):  # several chunks and layouts
                cp.write(chunk)
        cursor.execute(f"SELECT {names} FROM _rt ORDER BY 1")
        rows = cursor.fetchall()
        cursor.execute("DROP TABLE _rt")  # the test's transaction never commits
        return rows


def test_binary_copy_writes_numerics_nulls_dates_and_text_exactly():
    ids = np.arange(1, 8, dtype=np.int64)
    cents = np.array([0, 1, -1, 123456, -99999999999999, 99999999999999, 5], dtype=np.int64)
    micro = np.array([0, 1, 1_000_000, 40_000, 999_999, 123_456_789, 7], dtype=np.int64)
    days = np.array([0, 20_523, 10_957, -1, 20_000, 20_000, 20_000], dtype=np.int64)  # 1970-01-01, 2026-03-11, ...
    null = np.array([False, False, False, True, False, True, False])
    text = np.array([0, 1, 2, 0, 1, 2, 3], dtype=np.int64)
    rows = _round_trip([
        line_store.Column("id", "int8", ids),
        line_store.Column("amount", "numeric", cents, scale=2),
        line_store.Column("rate", "numeric", micro, null=null, scale=6),
        line_store.Column("day", "date", days, null=null),
        line_store.Column("tier", "int2", np.array([1, 2, 3, 0, 4, 5, 6]), null=null),
        line_store.Column("note", "text", text, labels=["", "capped", "Prämie für Q1 — ok", "x" * 300]),
    ])
    import datetime as dt

    assert rows == [
        (1, D("0.00"), D("0.000000"), dt.date(1970, 1, 1), 1, ""),
        (2, D("0.01"), D("0.000001"), dt.date(2026, 3, 11), 2, "capped"),
        (3, D("-0.01"), D("1.000000"), dt.date(2000, 1, 1), 3, "Prämie für Q1 — ok"),
        (4, D("1234.56"), None, None, None, ""),
        (5, D("-999999999999.99"), D("0.999999"), dt.date(2024, 10, 4), 4, "capped"),
        (6, D("999999999999.99"), None, None, None, "Prämie für Q1 — ok"),
        (7, D("0.05"), D("0.000007"), dt.date(2024, 10, 4), 6, "x" * 300),
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(units=st.lists(st.integers(min_value=-10**15, max_value=10**15), min_size=1, max_size=40),
       scale=st.sampled_from([0, 2, 4, 6]))
def test_binary_numerics_equal_the_decimal_of_their_units(units, scale):
    values = np.array(units, dtype=np.int64)
    rows = _round_trip([line_store.Column("id", "int8", np.arange(len(units), dtype=np.int64)),
                        line_store.Column("v", "numeric", values, scale=scale)])
    assert [r[1] for r in rows] == [D(u).scaleb(-scale) for u in units]


def test_line_columns_map_sentinels_to_nulls_like_the_previous_insert_select():
    frame = pd.DataFrame({"person_id": [5, 6], "kind": ["commission", "manual"], "component_id": [3, 0],
                          "txn_id": [9, 0], "share_micro": [0, -1], "att_before": [-1, 12_345], "tier": [0, 2],
                          "amount_cents": [150, -20], "note": ["", "#4: fix"]})
    columns = {c.name: c for c in runs.line_columns(frame, 100)}
    assert columns["id"].values.tolist() == [100, 101]
    assert columns["component_id"].null.tolist() == [False, True]
    assert columns["transaction_id"].null.tolist() == [False, True]
    assert columns["credit_share"].null.tolist() == [False, True]  # 0 is a share of 0, -1 is none
    assert columns["attainment_before"].null.tolist() == [True, False]
    assert columns["tier"].null.tolist() == [True, False]
    assert columns["version_id"].null.tolist() == [True, True]  # a column the frame lacks
    assert columns["transaction_date"].null.tolist() == [True, True]
    note = columns["note"]
    assert [note.labels[i] for i in note.values] == ["", "#4: fix"]


def _partition(run_id: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relrowsecurity, c.relforcerowsecurity, "
            "EXISTS (SELECT 1 FROM pg_policies p WHERE p.tablename = c.relname AND p.policyname = 'tenant_isolation'),"
            " pg_get_expr(c.relpartbound, c.oid) FROM pg_class c WHERE c.relname = %s",
            [line_store.partition_name(run_id)])
        return cursor.fetchone()


def test_a_run_writes_an_attached_partition_with_row_level_security_of_its_own(world):
    with tenant_context(world.a.org):
        fixtures.build()
        march = runs.period_ensure(start=fixtures.MAR)
        run = runs.run_now(period=march)
        assert _partition(run.pk) == (True, True, True, f"FOR VALUES IN ('{run.pk}')")
        lines = LineItem.objects.filter(run=run).count()
        ids = list(LineItem.objects.filter(run=run).order_by("id").values_list("id", flat=True))
        assert lines == run.totals["lines"] > 0 and ids == list(range(ids[0], ids[0] + lines))
        assert LineItem.objects.get(pk=ids[-1]).run_id == run.pk  # a lookup by id alone finds one line
        name = line_store.partition_name(run.pk)
    # Read directly, the partition is as fail-closed as the parent.
    with tenant_context(world.b.org):
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT count(*) FROM "{name}"')
            assert cursor.fetchone()[0] == 0
            cursor.execute(f"UPDATE \"{name}\" SET note = 'mine'")
            assert cursor.rowcount == 0
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO \"{name}\" (id, tenant_id, run_id, period_id, person_id, kind, credit_role, "
                           f"credited, amount, held, note) VALUES (1, {world.a.org.pk}, {run.pk}, 1, 1, 'manual', '', "
                           f"0, 1, 0, 'smuggled')")
    with tenant_context(world.a.org):
        # the partition's bound and CHECK: a line of another run cannot be moved into it
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE \"{name}\" SET run_id = run_id + 1 WHERE id = {ids[0]}")


def test_a_rerun_drops_the_superseded_partition_and_unlinks_disputes_from_its_lines(world):
    with tenant_context(world.a.org):
        cw = fixtures.build()
        march = runs.period_ensure(start=fixtures.MAR)
        first = runs.run_now(period=march)
        line = LineItem.objects.filter(run=first, person=cw["pat"], kind="bonus").get()
        dispute = Dispute.objects.create(period=march, person=cw["pat"], line=line, line_kind=line.kind,
                                         amount_disputed=line.amount, subject="Bonus")
        second = runs.run_now(period=march)
        assert CommissionRun.objects.get(pk=first.pk).status == RunStatus.SUPERSEDED
        assert _partition(first.pk) is None  # dropped, not emptied
        assert not LineItem.objects.filter(run=first).exists()
        assert LineItem.objects.filter(run=second).count() == second.totals["lines"]
        dispute.refresh_from_db()
        assert dispute.line_id is None and dispute.amount_disputed == D("1000.00")  # its copy stays


def test_ids_of_two_runs_never_meet(world):
    with tenant_context(world.a.org):
        first = line_store.line_ids_reserve(10)
        second = line_store.line_ids_reserve(line_store.ID_BLOCK)
        assert second - first >= line_store.ID_BLOCK
        with pytest.raises(ValueError):
            line_store.line_ids_reserve(line_store.ID_BLOCK + 1)


# ----------------------------------------------------------------------------------------------
# The run's table stores only what varies by line (session 7): the organization and period once in the
# catalog, the columns laid out without alignment padding. Earlier partitions (the parent's layout) read
# alongside.

_LINE_VALUES = ("id", "tenant_id", "run_id", "period_id", "person_id", "kind", "component_id", "version_id",
                "transaction_id", "transaction_date", "credit_role", "credit_rule_id", "credit_share", "credited",
                "attainment_before", "attainment_after", "tier", "rate", "amount", "held", "release_on",
                "source_period_id", "note")


def _attributes(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT attname, attlen, atthasmissing, attmissingval::text FROM pg_attribute "
                       "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum", [table])
        return cursor.fetchall()


def test_a_runs_table_keeps_organization_and_period_once_and_no_padding(world):
    with tenant_context(world.a.org):
        fixtures.build()
        march = runs.period_ensure(start=fixtures.MAR)
        run = runs.run_now(period=march)
        name = line_store.partition_name(run.pk)
        attributes = _attributes(name)
        # Added after the COPY: one catalog value each, not stored in the lines.
        assert attributes[-2:] == [("tenant_id", 8, True, f"{{{world.a.org.pk}}}"),
                                   ("period_id", 8, True, f"{{{march.pk}}}")]
        stored = attributes[:-2]
        assert not any(missing for _n, _l, missing, _v in stored)
        widths = [length for _n, length, _m, _v in stored]
        # 8-byte columns first, then 4 (dates), 2 (tier), then the variable-length ones (-1): no padding.
        assert widths == sorted(widths, key=lambda w: -w if w > 0 else 99)
        assert stored[0][0] == "id" and {n for n, *_ in attributes} == set(_LINE_VALUES)
        with connection.cursor() as cursor:
            # The run's lines read their organization, run and period through the parent and the partition.
            cursor.execute(f'SELECT count(*), count(*) FILTER (WHERE tenant_id = %s AND run_id = %s AND period_id = %s) '
                           f'FROM "{name}"', [world.a.org.pk, run.pk, march.pk])
            total, scoped = cursor.fetchone()
        assert total == scoped == run.totals["lines"] > 0
        assert set(LineItem.objects.filter(run=run).values_list("tenant_id", "run_id", "period_id")) == {
            (world.a.org.pk, run.pk, march.pk)}
    # A row of another organization cannot be put into the table, even with row-level security lifted.
    with cross_tenant_access("test: the partition's own organization check"), \
            pytest.raises(IntegrityError, match="_tenant"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO \"{name}\" (id, tenant_id, run_id, period_id, person_id, kind, credit_role, "
                       f"credited, amount, held, note) VALUES (1, {world.b.org.pk}, {run.pk}, {march.pk}, 1, 'manual', "
                       f"'', 0, 1, 0, 'smuggled')")


def test_lines_of_an_earlier_layout_read_like_the_new_ones(world):
    """A partition written before session 7 (the parent's column order, the organization, run and period in
    every row) and one in the new layout answer the same queries with the same values."""
    with tenant_context(world.a.org):
        fixtures.build()
        march = runs.period_ensure(start=fixtures.MAR)
        run = runs.run_now(period=march)
        earlier = CommissionRun.objects.create(period=march, status=RunStatus.SUPERSEDED)
        new, old = line_store.partition_name(run.pk), line_store.partition_name(earlier.pk)
        compared = ", ".join(c for c in _LINE_VALUES if c not in ("id", "run_id"))
        with connection.cursor() as cursor:
            # Session 5's table: LIKE the parent, constants stored per row, filled from the new partition.
            cursor.execute(f'CREATE TABLE "{old}" (LIKE {line_store.PARENT} INCLUDING DEFAULTS INCLUDING '
                           f'CONSTRAINTS, CONSTRAINT "{old}_scope" CHECK (tenant_id = {world.a.org.pk} AND '
                           f'run_id = {earlier.pk}))')
            cursor.execute(f'INSERT INTO "{old}" ({", ".join(_LINE_VALUES)}) SELECT id + 1000000, tenant_id, '
                           f'{earlier.pk}, {compared.replace("tenant_id, ", "")} FROM "{new}"')
            cursor.execute(f'ALTER TABLE {line_store.PARENT} ATTACH PARTITION "{old}" FOR VALUES IN ({earlier.pk})')
            assert [a[:2] for a in _attributes(old)] == [a[:2] for a in _attributes(line_store.PARENT)]
            cursor.execute(f"SELECT {compared} FROM {line_store.PARENT} WHERE run_id = %s EXCEPT ALL "
                           f"SELECT {compared} FROM {line_store.PARENT} WHERE run_id = %s", [run.pk, earlier.pk])
            assert cursor.fetchall() == []
            cursor.execute(f"SELECT {compared} FROM {line_store.PARENT} WHERE run_id = %s EXCEPT ALL "
                           f"SELECT {compared} FROM {line_store.PARENT} WHERE run_id = %s", [earlier.pk, run.pk])
            assert cursor.fetchall() == []

        def totals(r):
            lines = LineItem.objects.filter(run=r)
            return (lines.count(), sorted((line.person_id, line.kind, line.amount, line.held, line.release_on,
                                           line.period_id, line.tenant_id) for line in lines))
        assert totals(run) == totals(earlier) and totals(run)[0] == run.totals["lines"]
        # Superseded, the earlier-layout partition is dropped like any other.
        assert runs.superseded_lines_delete() == run.totals["lines"]
        assert line_store.partitions_of([run.pk, earlier.pk]) == [run.pk]
