"""Where a run's lines are stored: a partition of ``commissions_lineitem`` per run (migration 0003).

In the run's transaction ``partition_load`` creates a table for the run with ``CHECK (run_id = <run>)``
(the organization and period, constant in a run, are added after the load as catalog values: see
``MISSING``), COPYs the lines straight into it in Postgres's
binary format (numerics, dates and integers encoded with numpy: no text to parse, no staging table,
no INSERT ... SELECT), builds its BRIN index after the load and turns on row-level security with the
tenant policy on the partition itself (COPY FROM refuses a table with row-level security, and nothing
outside this transaction sees the table before it is attached). ``partition_attach`` attaches it as
the run's partition just before the commit: the CHECK constraint proves the partition bound, so
Postgres skips the validation scan. A run killed midway rolls back the table with everything else.

Ids: Postgres cannot enforce a unique ``id`` across partitions, so ids come only from the parent's
identity sequence, which steps by ``ID_BLOCK``: one ``nextval`` gives a run a block of its own
(atomic, no lock), and ids stay below 2**53 (JavaScript numbers) for 67 million runs.
"""
from __future__ import annotations

import re
import struct
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from queue import Full, Queue

import numpy as np
import pandas as pd
from django.db import connection

from revops.tenancy import require_tenant_id, rls_sql

PARENT = "commissions_lineitem"
LEGACY = "commissions_lineitem_legacy"  # the lines written before partitions (migration 0003)
ID_BLOCK = 2 ** 27  # ids per run: the identity sequence's increment
BRIN = "USING brin (tenant_id, run_id, person_id, id) WITH (pages_per_range = 32)"
_PARTITION = re.compile(r"^commissions_lineitem_r(\d+)$")


def partition_name(run_id: int) -> str:
    return f"commissions_lineitem_r{int(run_id)}"


def line_ids_reserve(count: int) -> int:
    """The first of ``count`` consecutive ids no other line has (a block of the identity sequence)."""
    if count > ID_BLOCK:
        raise ValueError(f"A run writes at most {ID_BLOCK:,} lines (this one has {count:,}).")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT nextval(pg_get_serial_sequence('{PARENT}', 'id'))")
        return int(cursor.fetchone()[0])


# ----------------------------------------------------------------------------------------------
# Postgres binary COPY from numpy columns


@dataclass
class Column:
    """One column of the COPY: ``values`` are int64 (integers, numeric units of 10**-scale, days since
    1970-01-01) or, for text, codes into ``labels``; ``null`` marks NULLs (None: no NULL)."""

    name: str
    kind: str  # "int8", "int2", "date", "numeric", "text"
    values: np.ndarray
    null: np.ndarray | None = None
    scale: int = 0
    labels: Sequence[str] = ()


_PG_EPOCH_DAYS = 10_957  # 2000-01-01 - 1970-01-01
HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
TRAILER = b"\xff\xff"


def _numeric_layout(column: Column) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Sign words and base-10000 digits (most significant first; leading zeros kept: Postgres accepts
    them and normalises), big-endian raw bytes per row, with the weight and digit count."""
    units = column.values.astype(np.int64, copy=False)
    frac_digits = -(-column.scale // 4)
    scaled = np.abs(units) * np.int64(10 ** (4 * frac_digits - column.scale))
    biggest = int(scaled.max(initial=0)) // 10 ** (4 * frac_digits)
    int_digits = max(1, -(-len(str(biggest)) // 4))
    ndigits = int_digits + frac_digits
    digits = np.empty((len(units), ndigits), dtype=">i2")
    for k in range(ndigits - 1, -1, -1):
        scaled, digits[:, k] = np.divmod(scaled, 10_000)
    sign = np.where(units < 0, 0x4000, 0).astype(">u2")
    return sign.view("V2"), np.ascontiguousarray(digits).view(f"V{2 * ndigits}").ravel(), int_digits - 1, ndigits


def _groups(columns: Sequence[Column], n: int) -> np.ndarray:
    """A group number per row: rows of one group have the same NULLs and the same text values, so they
    share one fixed binary layout."""
    key = np.zeros(n, dtype=np.int64)
    cardinality = 1
    for column in columns:
        parts = []
        if column.null is not None:
            parts.append((column.null.astype(np.int64), 2))
        if column.kind == "text":
            parts.append((column.values.astype(np.int64), max(len(column.labels), 1)))
        for values, size in parts:
            if cardinality * size >= 2 ** 62:
                key, uniques = pd.factorize(key)
                cardinality = len(uniques)
            key = key * size + values
            cardinality *= size
    return key


_WIDTH = {"int8": (8, ">i8"), "int2": (2, ">i2"), "date": (4, ">i4")}


def _block(columns: Sequence[Column], rows: np.ndarray, raw: dict[str, tuple]) -> memoryview:
    """The binary COPY rows of ``rows`` (all of one group): a template row holds the group's constants
    (field count, lengths, text, numeric headers); the varying fields are copied in as raw bytes."""
    first = rows[0]
    template = bytearray(struct.pack(">h", len(columns)))
    names, formats, offsets, sources = [], [], [], []

    def vary(source: np.ndarray, width: int) -> None:
        names.append(f"f{len(names)}")
        formats.append(f"V{width}")
        offsets.append(len(template))
        sources.append(source)
        template.extend(bytes(width))

    for column in columns:
        if column.null is not None and column.null[first]:
            template += struct.pack(">i", -1)
        elif column.kind == "text":
            data = column.labels[int(column.values[first])].encode()
            template += struct.pack(">i", len(data)) + data
        elif column.kind == "numeric":
            sign, digits, weight, ndigits = raw[column.name]
            template += struct.pack(">ihh", 8 + 2 * ndigits, ndigits, weight)
            vary(sign, 2)
            template += struct.pack(">h", column.scale)
            vary(digits, 2 * ndigits)
        else:
            width = _WIDTH[column.kind][0]
            template += struct.pack(">i", width)
            vary(raw[column.name], width)
    size = len(template)
    block = np.empty(len(rows), dtype=f"V{size}")
    block[:] = np.frombuffer(bytes(template), dtype=f"V{size}")[0]
    if names:
        fields = block.view(np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": size}))
        for name, source in zip(names, sources):
            fields[name] = source[rows]
    return memoryview(block.view(np.uint8))  # the array's own bytes: no copy (psycopg sends any buffer)


def _raw(column: Column) -> tuple | np.ndarray:
    """A column's varying bytes, big-endian, one raw element per row."""
    if column.kind == "numeric":
        return _numeric_layout(column)
    width, dtype = _WIDTH[column.kind]
    values = column.values - _PG_EPOCH_DAYS if column.kind == "date" else column.values
    return values.astype(dtype).view(f"V{width}")


def binary_rows(columns: Sequence[Column], chunk: int = 500_000) -> Iterator[bytes | memoryview]:
    """Postgres binary COPY data for ``columns`` (all of one length), in chunks of about ``chunk`` rows.
    Within a chunk, rows come grouped by layout (the caller gives ids explicitly; order is not kept)."""
    n = len(columns[0].values) if columns else 0
    yield HEADER
    for start in range(0, n, chunk):
        part = [Column(c.name, c.kind, c.values[start:start + chunk],
                       None if c.null is None else c.null[start:start + chunk], c.scale, c.labels) for c in columns]
        size = len(part[0].values)
        encoded = {c.name: _raw(c) for c in part if c.kind != "text"}
        key = _groups(part, size)
        order = np.argsort(key, kind="stable")
        bounds = np.flatnonzero(np.diff(key[order])) + 1
        for rows in np.split(order, bounds):
            yield _block(part, rows, encoded)
    yield TRAILER


def _ahead(chunks: Iterator[bytes | memoryview], depth: int = 3) -> Iterator[bytes | memoryview]:
    """``chunks`` produced by a thread while the caller sends the previous ones: numpy's copies and the
    socket writes release the GIL, so encoding overlaps the server's COPY on another core."""
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item: object) -> None:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.2)
                return
            except Full:
                continue

    def produce() -> None:
        try:
            for chunk in chunks:
                if stop.is_set():
                    return
                put(chunk)
            put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    thread = threading.Thread(target=produce, name="line-copy-encoder", daemon=True)
    thread.start()
    try:
        while True:
            item = queue.get()
            if item is done:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:  # the consumer failed or stopped early: let the producer end
        stop.set()
        thread.join()


# ----------------------------------------------------------------------------------------------
# The run's partition


# The run's table stores only what varies from line to line. ATTACH matches the parent's columns by name,
# not position, so the table lays them out for itself: 8-byte columns first, then 4-, 2-byte and
# variable-length ones (no alignment padding), ``run_id`` filled by its default and checked per row (the
# CHECK that proves the partition bound), and the organization and period, constant in a run, added after
# the COPY with ``ADD COLUMN ... NOT NULL DEFAULT``: Postgres keeps such a value once in the catalog
# (``pg_attribute.attmissingval``) for every row stored before the column existed, without rewriting or
# scanning the table. 16 bytes less a line in the heap and the WAL than the parent's layout.
MISSING = ("tenant_id", "period_id")  # constant in a run: one catalog value, not 8 bytes a line each
_ALIGN_ORDER = {"d": 0, "i": 1, "s": 2, "c": 3}


def _layout() -> tuple[list[tuple[str, str, bool]], list[tuple[str, str]]]:
    """The parent's columns as (name, type, NOT NULL), fixed-width by alignment then variable-width (each
    group in the parent's order), and its CHECK constraints as (name, definition)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT attname, format_type(atttypid, atttypmod), attnotnull, attlen, attalign, attnum "
                       "FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                       [PARENT])
        attributes = cursor.fetchall()
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = %s::regclass AND contype = 'c' ORDER BY conname", [PARENT])
        checks = cursor.fetchall()
    attributes.sort(key=lambda a: (a[3] < 0, _ALIGN_ORDER.get(a[4], 4), a[5]))
    return [(name, kind, notnull) for name, kind, notnull, _len, _align, _num in attributes], checks


def partition_load(*, run_id: int, period_id: int, columns: Sequence[Column]) -> int:
    """Create the run's table (not attached yet), COPY ``columns`` into it, index it, secure it."""
    tenant_id = require_tenant_id()
    name = partition_name(run_id)
    attributes, checks = _layout()
    constant = {"tenant_id": int(tenant_id), "period_id": int(period_id)}
    stored = []
    for column, kind, notnull in attributes:
        if column in MISSING:
            continue
        default = f" DEFAULT {int(run_id)}" if column == "run_id" else ""
        stored.append(f'"{column}" {kind}{" NOT NULL" if notnull else ""}{default}')
    stored += [f'CONSTRAINT "{check}" {definition}' for check, definition in checks]
    stored.append(f'CONSTRAINT "{name}_scope" CHECK (run_id = {int(run_id)})')
    with connection.cursor() as cursor:
        # A table of this name can only be left from a run id used again after a sequence reset.
        cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
        cursor.execute(f'CREATE TABLE "{name}" ({", ".join(stored)})')
    connection.apply_rls_settings()
    names = ", ".join(c.name for c in columns)
    with connection.connection.cursor() as raw, raw.copy(
            f'COPY "{name}" ({names}) FROM STDIN WITH (FORMAT binary, FREEZE)') as copy:
        for data in _ahead(binary_rows(columns)):
            copy.write(data)
    kinds = dict((column, kind) for column, kind, _n in attributes)
    with connection.cursor() as cursor:
        # No scan: the values are constants. The CHECK holds every later row to the organization (the rows
        # above all read the one value; NOT VALID skips a scan that could only confirm it).
        cursor.execute(f'ALTER TABLE "{name}" ' + ", ".join(
            f'ADD COLUMN "{column}" {kinds[column]} NOT NULL DEFAULT {constant[column]}' for column in MISSING)
            + f', ADD CONSTRAINT "{name}_tenant" CHECK (tenant_id = {int(tenant_id)}) NOT VALID')
        cursor.execute(f'CREATE INDEX "{name}_brin" ON "{name}" {BRIN}')
        for statement in rls_sql(name):
            cursor.execute(statement)
    return len(columns[0].values) if columns else 0  # COPY writes every row or fails


def partition_attach(*, run_id: int) -> None:
    """Attach the run's loaded table as its partition (no validation scan: the CHECK implies the bound)."""
    name = partition_name(run_id)
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE {PARENT} ATTACH PARTITION "{name}" FOR VALUES IN ({int(run_id)})')


def partitions_of(run_ids: Sequence[int]) -> list[int]:
    """Which of ``run_ids`` have a partition of their own."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = %s::regclass", [PARENT])
        have = {int(m.group(1)) for (relname,) in cursor.fetchall() if (m := _PARTITION.match(relname))}
    return [r for r in run_ids if r in have]


def partition_analyze(*, run_id: int) -> None:
    """Planner statistics for a new partition (after the commit: the BRIN is only chosen with them)."""
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{partition_name(run_id)}"')
