"""Bulk loads of demo rows through ``revops.bulk``, timed per table (optionally against raw COPY)."""
from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from revops import bulk
from revops.tenancy import TenantModel


@dataclass
class LoadStat:
    """Rows loaded into one table and what they cost.

    ``load_seconds`` covers ``copy_insert`` (staging COPY, tenant checks, INSERT ... SELECT
    under row-level security, index upkeep). When streaming it includes generating the rows;
    when measuring a baseline, rows that come from a generator are generated first
    (``generate_seconds``; zero for rows planned up front) and the same list is also COPYed
    into an unrestricted temp table (``raw_copy_seconds``).
    """

    table: str
    rows: int = 0
    load_seconds: float = 0.0
    generate_seconds: float = 0.0
    raw_copy_seconds: float | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.load_seconds if self.load_seconds else 0.0

    @property
    def raw_rows_per_second(self) -> float | None:
        if self.raw_copy_seconds is None:
            return None
        return self.rows / self.raw_copy_seconds if self.raw_copy_seconds else 0.0


@dataclass
class Loader:
    """Loads rows for the active organization and keeps a ``LoadStat`` per table."""

    baseline: bool = False
    stats: dict[str, LoadStat] = field(default_factory=dict)

    def _stat(self, model: type[TenantModel]) -> LoadStat:
        table = model._meta.db_table
        return self.stats.setdefault(table, LoadStat(table=table))

    def _prepare(self, model: type[TenantModel], columns: Sequence[str],
                 rows: Iterable[Sequence[Any]]) -> Iterable[Sequence[Any]]:
        if not self.baseline:
            return rows
        stat = self._stat(model)
        if not isinstance(rows, (list, tuple)):  # rows built up front (planned people) cost nothing here
            started = time.perf_counter()
            rows = list(rows)
            stat.generate_seconds += time.perf_counter() - started
        raw = bulk.copy_measure_raw(model, columns=columns, rows=rows)
        stat.raw_copy_seconds = (stat.raw_copy_seconds or 0.0) + raw.seconds
        return rows

    def load(self, model: type[TenantModel], *, columns: Sequence[str], rows: Iterable[Sequence[Any]],
             on_conflict: bool | str = False) -> int:
        rows = self._prepare(model, columns, rows)
        started = time.perf_counter()
        inserted = bulk.copy_insert(model, columns=columns, rows=rows, on_conflict=on_conflict)
        self._record(model, inserted, time.perf_counter() - started)
        return inserted

    def load_returning(self, model: type[TenantModel], *, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                       returning: Sequence[str]) -> list[tuple[Any, ...]]:
        rows = self._prepare(model, columns, rows)
        started = time.perf_counter()
        returned = bulk.copy_insert_returning(model, columns=columns, rows=rows, returning=returning)
        self._record(model, len(returned), time.perf_counter() - started)
        return returned

    def _record(self, model: type[TenantModel], rows: int, seconds: float) -> None:
        stat = self._stat(model)
        stat.rows += rows
        stat.load_seconds += seconds
