"""COPY-speed bulk loads into tenant tables that row-level security still checks row by row.

Postgres refuses ``COPY FROM`` into a table with row-level security, so a load goes in two
steps inside one transaction:

1. ``COPY`` the rows into a TEMP staging table (no policies, no indexes) on the raw connection,
   with psycopg 3's ``Copy.write_row``, or as COPY text the caller formats (``CopyText``: the
   835/837 writers, whose column types are known; half the worker CPU of ``write_row``);
2. ``INSERT INTO target (...) SELECT ... FROM staging`` through Django's cursor, so the
   backend sets the transaction-local ``app.tenant_id`` first and the policy's WITH CHECK
   verifies every inserted row.

``tenant_id`` is filled with the active organization unless the rows carry it themselves, in
which case the database refuses the whole load if any row names another organization.
Foreign keys to tenant-owned tables are checked against the active organization before the
insert (foreign-key triggers do not see row-level security, so nothing else would stop a
load from pointing at another organization's rows), except the ``trusted`` columns a caller
names: ids it took from rows it inserted (``copy_insert_returning``) or selected for the
active organization in the same transaction, such as an adjustment's claim payment. Those
checks are joins over the whole batch against the parent table; skipping them where the
caller holds the ids anyway took 4.6 s off a 100,000-claim 835 load.

This is the one COPY path of the project: demo seeding uses it now, RCM ingestion later.
"""
from __future__ import annotations

import gc
import itertools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from psycopg import sql
from psycopg.adapt import PyFormat, Transformer

from revops.tenancy import CrossTenantWrite, TenantModel, require_tenant_id

_staging_names = itertools.count(1)


@dataclass(frozen=True)
class RawCopy:
    """A COPY into an unrestricted temp table: the speed limit a load is measured against."""

    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


def _fields(model: type[models.Model], columns: Sequence[str]) -> list[models.Field]:
    by_column = {f.column: f for f in model._meta.concrete_fields}
    if len(set(columns)) != len(columns):
        raise ValueError(f"duplicate columns in {list(columns)}")
    fields = []
    for column in columns:
        field = by_column.get(column)
        if field is None:
            raise ValueError(f"{model._meta.db_table} has no column {column!r}")
        if field.primary_key:
            raise ValueError("primary keys come from the table's identity, not from the load")
        fields.append(field)
    return fields


def _defaults(model: type[models.Model], columns: Sequence[str]) -> list[tuple[models.Field, Any]]:
    """Model-level defaults (``default=`` lives in Python, not in the table) for absent columns."""
    out = []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.column in columns or field.column == "tenant_id":
            continue
        if not field.has_default() and field.null:
            continue  # NULL is what the row gets anyway
        out.append((field, field.get_db_prep_save(field.get_default(), connection)))
    return out


def staging_create(table: str, columns: Sequence[str]) -> str:
    """A TEMP table with the target's column types and nothing else (no RLS, no constraints)."""
    name = f"_stage_{next(_staging_names)}"
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
                sql.Identifier(name),
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.Identifier(table),
            ).as_string(connection.connection)
        )
    return name


@dataclass(frozen=True)
class CopyText:
    """A table's rows written as COPY text by the caller, who knows each column's Python type,
    instead of by psycopg's per-value dumpers (``Copy.write_row``): twice as fast for the wide
    rows of an 835 (1.4 against 3.0 microseconds for a 13-column service payment row).

    ``lines(chunk)``: one COPY text line per row (``\\N`` for None, ``t``/``f``, ``str()`` of
    ints and finite Decimals, ``isoformat()`` of dates, text values as they are).
    ``texts(chunk)``: every text value of the rows (``str`` columns, array literals). A chunk
    whose texts are not all ``str`` (a list, a None) or hold a character COPY text must escape
    (backslash, tab, newline, carriage return; NUL too) is formatted by psycopg's dumpers
    instead, value by value, exactly as ``write_row`` would have.
    """

    lines: Callable[[Sequence[Sequence[Any]]], list[str]]
    texts: Callable[[Sequence[Sequence[Any]]], list[str]]


NULL = "\\N"
COPY_CHUNK = 2000
_UNSAFE = re.compile("[\\\\\t\n\r\x00]")
# psycopg's own escaping of a dumped value in COPY text format (psycopg._copy_base).
_ESCAPE = re.compile(b"[\b\t\n\v\f\r\\\\]")
_ESCAPES = {b"\b": b"\\b", b"\t": b"\\t", b"\n": b"\\n", b"\v": b"\\v", b"\f": b"\\f",
            b"\r": b"\\r", b"\\": b"\\\\"}


_DATE_TEXT: dict[Any, str] = {None: NULL}
date_text_cached = _DATE_TEXT.get  # for CopyText.lines: ``date_text_cached(d) or date_text(d)``


def date_text(day: Any) -> str:
    """A date (or None) as COPY text: its ISO form, cached (a file has few distinct dates, and
    ``isoformat`` costs more than the rest of a row's formatting)."""
    text = _DATE_TEXT.get(day)
    if text is None:
        text = day.isoformat()
        if len(_DATE_TEXT) < 50_000:
            _DATE_TEXT[day] = text
    return text


def _escape(m: re.Match[bytes]) -> bytes:
    return _ESCAPES[m.group(0)]


def _copy_rows_dumped(rows: Sequence[Sequence[Any]], tx: Transformer) -> bytes:
    """``rows`` as COPY text, each value dumped by psycopg (what ``Copy.write_row`` sends)."""
    out = bytearray()
    for row in rows:
        fields = [rb"\N" if b is None else _ESCAPE.sub(_escape, bytes(b))
                  for b in tx.dump_sequence(row, [PyFormat.TEXT] * len(row))]
        out += b"\t".join(fields)
        out += b"\n"
    return bytes(out)


def staging_copy(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                 text: CopyText | None = None) -> int:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    count = 0
    with connection.connection.cursor() as raw, raw.copy(statement) as copy:
        if text is None:
            for row in rows:
                copy.write_row(row)
                count += 1
            return count
        rows = rows if isinstance(rows, list) else list(rows)
        tx: Transformer | None = None
        for start in range(0, len(rows), COPY_CHUNK):
            chunk = rows[start:start + COPY_CHUNK]
            try:
                clean = _UNSAFE.search("".join(text.texts(chunk))) is None
            except TypeError:  # a text column holding a list or None: psycopg dumps it
                clean = False
            if clean:
                copy.write("".join(text.lines(chunk)))
            else:
                if tx is None:
                    tx = Transformer(raw)
                copy.write(_copy_rows_dumped(chunk, tx))
        return len(rows)


def staging_drop(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)).as_string(connection.connection))


def _check_tenant_references(fields: Sequence[models.Field], staging: str, tenant_id: int,
                             trusted: Sequence[str] = ()) -> None:
    for field in fields:
        if field.column in trusted:
            continue
        related = field.related_model if field.is_relation else None
        if not (isinstance(related, type) and issubclass(related, TenantModel)) or field.column == "tenant_id":
            continue
        # Joined on the primary key alone, the tenant compared after the join. With the tenant
        # inside the join condition, statistics that do not know yet about rows inserted earlier
        # in the same transaction (a large load) make the planner expect one matching row and
        # pick a nested loop over a materialised scan of the tenant's rows: quadratic in the
        # batch (3 s for 1,400 rows against 21,000 in bench/rcm_load.py; hours at 100,000).
        query = sql.SQL(
            "SELECT count(*) FROM {s} LEFT JOIN {r} ON {r}.{pk} = {s}.{c}"
            " WHERE {s}.{c} IS NOT NULL AND ({r}.{pk} IS NULL OR {r}.tenant_id <> %s)"
        ).format(
            s=sql.Identifier(staging),
            c=sql.Identifier(field.column),
            r=sql.Identifier(related._meta.db_table),
            pk=sql.Identifier(related._meta.pk.column),
        )
        with connection.cursor() as cursor:
            cursor.execute(query.as_string(connection.connection), [tenant_id])
            missing = cursor.fetchone()[0]
        if missing:
            raise CrossTenantWrite(
                f"{missing} staged {field.model._meta.db_table} rows have {field.column} values that are "
                f"not {related._meta.db_table} rows of organization {tenant_id}"
            )


def _load(model: type[TenantModel], columns: Sequence[str], rows: Iterable[Sequence[Any]],
          on_conflict: bool | str, returning: Sequence[str],
          trusted: Sequence[str] = (), text: CopyText | None = None) -> tuple[int, list[tuple[Any, ...]]]:
    if not (isinstance(model, type) and issubclass(model, TenantModel)):
        raise TypeError(f"{model!r} is not a tenant-owned model")
    tenant_id = require_tenant_id()
    columns = list(columns)
    unknown = [c for c in trusted if c not in columns]
    if unknown:
        raise ValueError(f"trusted columns {unknown} are not loaded columns")
    fields = _fields(model, columns)
    table = model._meta.db_table
    defaults = _defaults(model, columns)

    target_columns = [*columns]
    select_items: list[sql.Composable] = [sql.Identifier(c) for c in columns]
    params: list[Any] = []
    if "tenant_id" not in columns:
        target_columns.append("tenant_id")
        select_items.append(sql.SQL("%s::bigint"))
        params.append(tenant_id)
    for field, value in defaults:
        target_columns.append(field.column)
        select_items.append(sql.SQL("%s::" + field.db_type(connection)))
        params.append(value)

    with transaction.atomic():
        staging = staging_create(table, columns)
        staged = staging_copy(staging, columns, rows, text)
        _check_tenant_references(fields, staging, tenant_id, trusted)
        statement = sql.SQL("INSERT INTO {t} ({cols}) SELECT {items} FROM {s}").format(
            t=sql.Identifier(table),
            cols=sql.SQL(", ").join(map(sql.Identifier, target_columns)),
            items=sql.SQL(", ").join(select_items),
            s=sql.Identifier(staging),
        )
        if on_conflict is True:
            statement += sql.SQL(" ON CONFLICT DO NOTHING")
        elif on_conflict:
            statement += sql.SQL(" ON CONFLICT " + on_conflict + " DO NOTHING")
        if returning:
            statement += sql.SQL(" RETURNING ") + sql.SQL(", ").join(map(sql.Identifier, returning))
        with connection.cursor() as cursor:
            cursor.execute(statement.as_string(connection.connection), params)
            returned = cursor.fetchall() if returning else []
            inserted = len(returned) if returning else cursor.rowcount
        staging_drop(staging)
        _audit(model, tenant_id, staged=staged, inserted=inserted, columns=columns)
    return inserted, returned


def _audit(model: type[TenantModel], tenant_id: int, *, staged: int, inserted: int, columns: list[str]) -> None:
    from revops.audit import AUDITED, audit_bulk
    from revops.models.audit import AuditAction

    if model in AUDITED and inserted:
        audit_bulk(
            model=model, action=AuditAction.CREATE, tenant_id=tenant_id,
            summary={"rows_inserted": inserted, "rows_staged": staged, "columns": columns, "via": "COPY"},
        )


def copy_insert(model: type[TenantModel], *, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                on_conflict: bool | str = False, trusted: Sequence[str] = (), text: CopyText | None = None) -> int:
    """COPY ``rows`` (tuples in ``columns`` order) into ``model``'s table for the active organization.

    ``on_conflict``: ``True`` skips rows that violate any unique or exclusion constraint;
    a conflict target such as ``"(tenant_id, employee_id)"`` (or, for a partial index,
    ``"(tenant_id, external_id) WHERE external_id <> ''"``) skips only those; it is SQL text
    from code, never user input. Columns not listed get the model's Python-side default.
    ``trusted``: foreign-key columns whose ids the caller got from the active organization's
    rows in this transaction (never from input), so their tenant check is skipped.
    ``text``: how to write the rows as COPY text without psycopg's dumpers (``CopyText``).
    Returns the number of rows inserted.
    """
    inserted, _ = _load(model, columns, rows, on_conflict, (), trusted, text)
    return inserted


def copy_insert_returning(model: type[TenantModel], *, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                          returning: Sequence[str] = ("id",), on_conflict: bool | str = False,
                          trusted: Sequence[str] = (), text: CopyText | None = None) -> list[tuple[Any, ...]]:
    """Like ``copy_insert``, returning the ``returning`` columns of every inserted row."""
    _, returned = _load(model, columns, rows, on_conflict, returning, trusted, text)
    return returned


def copy_measure_raw(model: type[models.Model], *, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> RawCopy:
    """Time a plain COPY of ``rows`` into an unrestricted temp table shaped like ``model``'s.

    The baseline for benchmarks: what the same rows cost with no policy, index, constraint or
    INSERT ... SELECT. Pass a materialised list so the time is COPY alone, not row generation.
    Nothing is kept.
    """
    columns = list(columns)
    _fields(model, columns)
    with transaction.atomic():
        staging = staging_create(model._meta.db_table, columns)
        started = time.perf_counter()
        count = staging_copy(staging, columns, rows)
        seconds = time.perf_counter() - started
        staging_drop(staging)
    return RawCopy(rows=count, seconds=seconds)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Switch off Python's cyclic garbage collector for the block (a bulk load), then back on.

    A load keeps a batch of parsed records alive while it writes it: around a million small
    objects for 10,000 835 claims. The collector walks every live object each time it runs a
    full collection, and it ran so often during a load that it took more CPU than the parsing:
    a 100,000-claim 835 took 21.2 s of worker CPU with it and 9.3 s without (bench/rcm_load.py).
    Nothing is leaked by pausing it: objects without reference cycles (records, rows, tuples) are
    freed by reference counting as before, and the few cycles the block may make (tracebacks,
    ORM instances) are collected by the collector's next run after it. Re-entrant; leaves the
    collector off if it was off.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
