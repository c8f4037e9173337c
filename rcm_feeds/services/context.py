"""What one load carries along: the run, counts, pending warnings, progress, and the refusal it may raise."""
from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from collections.abc import Iterable
from typing import Any

from django.db import connection

from revops import bulk
from revops.jobs import job_progress

from ..models import Feed, IngestionRun, IngestionWarning, ReceivedFile

CENT = Decimal("0.01")
WARNING_COLUMNS = ("run_id", "code", "message", "segment_number", "line_number", "byte_offset", "claim_reference")
WARNING_BATCH = 5000


class FileRefused(Exception):
    """The whole file cannot be loaded: it is quarantined with this reason and position.

    Raised inside the load transaction, so nothing of the file stays in the database.
    """

    def __init__(self, code: str, reason: str, *, segment: int | None = None, line: int | None = None,
                 offset: int | None = None, raw: str = "") -> None:
        self.code = code
        self.reason = reason
        self.segment = segment
        self.line = line
        self.offset = offset
        self.raw = raw
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.segment is not None:
            where.append(f"segment {self.segment}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.offset is not None:
            where.append(f"byte {self.offset}")
        return f"{self.reason} [{', '.join(where)}]" if where else self.reason


def fit(value: str, limit: int, what: str, *, segment: int | None = None, line: int | None = None,
        offset: int | None = None) -> str:
    """``value`` if it fits its column; a longer one refuses the file (never silently cut)."""
    if len(value) > limit:
        raise FileRefused("value_too_long", f"{what} {value[:60]!r} is longer than the {limit} characters "
                                            "the record keeps", segment=segment, line=line, offset=offset)
    return value


def pg_array(codes: list[str]) -> str | list[str]:
    """A text[] value for COPY. Codes are letters and digits, so the array literal needs no
    quoting and is cheaper to send than through psycopg's list dumper; anything else goes as a list."""
    if not codes:
        return "{}"
    text = ",".join(codes)
    return "{" + text + "}" if text.replace(",", "").isalnum() else codes


def pg_text_array(values: Iterable[str]) -> str:
    """A text[] literal for a query parameter (``= ANY(%s::text[])``): every element quoted, so any
    text is safe. Ten times cheaper than psycopg's list dumper for 10,000 control numbers."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def pg_int_array(values: Iterable[int | None]) -> str:
    """A bigint[] literal for a query parameter (``%s::bigint[]``), NULLs kept: cheaper than the list dumper."""
    return "{" + ",".join("NULL" if v is None else str(int(v)) for v in values) + "}"


def cents(amount: Decimal) -> Decimal:
    """Money rounded once, half-up to the cent (X12 amounts already are; CSV ones may not be)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class LoadContext:
    """One run's state while its file loads (inside the file's transaction)."""

    run: IngestionRun
    file: ReceivedFile
    feed: Feed
    tenant_id: int
    warning_count: int = 0
    touched_months: set[dt.date] = field(default_factory=set)
    _counts: Counter[str] = field(default_factory=Counter)
    _warnings: list[tuple[Any, ...]] = field(default_factory=list)
    _progress_at: int = 0
    _analyzed: set[str] = field(default_factory=set)
    # A batch flushed by revops.background_flush runs in a second thread while this one parses the
    # next batch: its counts and warnings are kept apart and merged here, in the loading thread,
    # when the flush has finished (``background_merge``), so their order does not depend on timing.
    _loading_thread: int = field(default_factory=threading.get_ident)
    _background_counts: Counter[str] = field(default_factory=Counter)
    _background_warnings: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def received_on(self) -> dt.date:
        return self.file.received_at.date()

    @property
    def counts(self) -> Counter[str]:
        """What the load wrote, by kind (a background flush counts into its own Counter, merged later)."""
        if threading.get_ident() == self._loading_thread:
            return self._counts
        return self._background_counts

    def warn(self, code: str, message: str, *, segment: int | None = None, line: int | None = None,
             offset: int | None = None, claim_reference: str = "") -> None:
        """Record a problem that does not stop the load (written in batches)."""
        row = (self.run.pk, code[:40], message, segment, line, offset, claim_reference[:80])
        if threading.get_ident() != self._loading_thread:
            self._background_warnings.append(row)
            return
        self._warnings.append(row)
        self.warning_count += 1
        if len(self._warnings) >= WARNING_BATCH:
            self.flush_warnings()

    def background_merge(self) -> None:
        """In the loading thread, once a background flush has finished: take over its counts and
        warnings (``revops.background_flush.BackgroundFlush(on_done=...)``)."""
        self._counts.update(self._background_counts)
        self._background_counts.clear()
        rows, self._background_warnings = self._background_warnings, []
        for row in rows:
            self._warnings.append(row)
            self.warning_count += 1
        if len(self._warnings) >= WARNING_BATCH:
            self.flush_warnings()

    def flush_warnings(self) -> None:
        if threading.get_ident() != self._loading_thread:
            return  # a background flush's warnings are written after background_merge
        rows, self._warnings = self._warnings, []
        if rows:
            bulk.copy_insert(IngestionWarning, columns=WARNING_COLUMNS, rows=rows)

    def analyze(self, *tables: str) -> None:
        """Refresh the planner's statistics of ``tables`` once per load, after its first full batch.

        Statistics gathered before this transaction do not know the rows it inserted: for an
        organization's first large file they say its tenant_id matches almost nothing, and the
        lookups of the following batches (claims by control number, open denials, back-links)
        get nested-loop plans that are quadratic in the file size. ANALYZE inside the
        transaction counts its own inserts; it samples at most 30,000 rows, so it costs tens of
        milliseconds whatever the table size.
        """
        with connection.cursor() as cursor:
            for table in tables:
                if table not in self._analyzed:
                    self._analyzed.add(table)
                    cursor.execute(f'ANALYZE "{table}"')

    def refresh_statistics(self) -> None:
        """After a large load, ANALYZE again the tables analysed during it, so the queries that
        follow in the same transaction (KPI aggregates) are planned on the final row counts."""
        with connection.cursor() as cursor:
            for table in sorted(self._analyzed):
                cursor.execute(f'ANALYZE "{table}"')

    def touch(self, day: dt.date | None) -> None:
        """Note a month whose KPI aggregates this load changes (beyond the file's own rows)."""
        if day is not None:
            self.touched_months.add(day.replace(day=1))

    def progress(self, done: int, message: str = "") -> None:
        """Report bytes read so far (Redis only while the transaction is open)."""
        if self.run.job_id is None or done - self._progress_at < 256 * 1024 and done < self.file.size:
            return
        self._progress_at = done
        job_progress(job_id=self.run.job_id, done=done, total=self.file.size, message=message)
