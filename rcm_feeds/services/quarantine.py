"""The quarantine: files refused whole and CSV rows refused one by one, each with why and where.

- A whole file (an X12 file the engine refuses, a CSV whose header lacks a required column or
  that is not UTF-8) is quarantined by its run with the reason code, the reason, and the
  segment number, line and byte offset; ``raw`` holds the offending segment as received.
  Nothing of the file is loaded. It is fixed by sending a corrected file
  (``quarantine_fix_file``, or ``quarantine_fix`` with the corrected text), which is received
  like any other file and loaded by a new run, or by ``ingestion_rerun`` after the feed's
  column mapping was corrected.
- A bad CSV row is quarantined with its line number, reason and the row as received while the
  good rows load. ``quarantine_fix`` re-parses the corrected row with the file's header and the
  feed's mapping and loads it in a new run of the same file (at the same line number); a row
  that is still wrong is refused with the reason and the item stays open.
- ``quarantine_discard`` closes an item without loading anything.
"""
from __future__ import annotations

import io
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from revops import bulk
from revops.tenancy import require_tenant_id

from ..models import FileSource, IngestionRun, QuarantineItem, QuarantineStatus, RunStatus
from .context import FileRefused, LoadContext
from .files import file_open, file_receive

RAW_LIMIT = 2000
ROW_COLUMNS = ("run_id", "file_id", "scope", "reason_code", "reason", "line_number", "raw")


def _raw_segment(item_file: Any, offset: int | None) -> str:
    """The segment at ``offset`` as received (up to its terminator, at most RAW_LIMIT bytes)."""
    if offset is None:
        return ""
    with file_open(item_file) as stream:
        head = stream.read(128).lstrip(b"\xef\xbb\xbf \t\r\n")
        terminators = [head[105:106]] if head.startswith(b"ISA") and len(head) > 105 else [b"~", b"\n"]
        stream.seek(offset)
        text = stream.read(RAW_LIMIT)
    ends = [i for i in (text.find(t) for t in terminators) if i >= 0]
    if ends:
        text = text[:min(ends) + 1]
    return text.decode("latin-1")


def quarantine_file(*, run: IngestionRun, refusal: FileRefused) -> QuarantineItem:
    """Quarantine the run's whole file with the refusal's reason and position."""
    file = run.file
    raw = refusal.raw or _raw_segment(file, refusal.offset)
    return QuarantineItem.objects.create(
        run=run, file=file, scope="file", reason_code=refusal.code[:40], reason=refusal.reason,
        segment_number=refusal.segment, line_number=refusal.line, byte_offset=refusal.offset, raw=raw,
    )


def quarantine_rows(ctx: LoadContext, rows: list[tuple[int, str, str, str]]) -> None:
    """Quarantine bad CSV rows of this run: (line number, reason code, reason, raw row)."""
    if not rows:
        return
    bulk.copy_insert(QuarantineItem, columns=ROW_COLUMNS, rows=[
        (ctx.run.pk, ctx.file.pk, "row", code[:40], reason, line, raw[:RAW_LIMIT]) for line, code, reason, raw in rows
    ])
    ctx.counts["rows_quarantined"] += len(rows)


def _open_item(item: QuarantineItem) -> QuarantineItem:
    item = QuarantineItem.objects.select_for_update().select_related("file", "file__feed").get(pk=item.pk)
    if item.status != QuarantineStatus.OPEN:
        raise ValidationError(f"This item is already {item.get_status_display().lower()}.")
    return item


def _close(item: QuarantineItem, *, status: str, user: Any | None, fixed_raw: str = "",
           rerun: IngestionRun | None = None) -> None:
    item.status, item.fixed_raw, item.rerun = status, fixed_raw, rerun
    item.resolved_at = timezone.now()
    item.resolved_by = user if getattr(user, "pk", None) else None
    item.save(update_fields=["status", "fixed_raw", "rerun", "resolved_at", "resolved_by"])


@transaction.atomic
def quarantine_fix(*, item: QuarantineItem, fixed_raw: str, user: Any | None = None) -> IngestionRun:
    """Load the corrected row (CSV) or the corrected file text (whole-file item); returns the new run."""
    item = _open_item(item)
    if item.scope == "file":
        return quarantine_fix_file(item=item, filename=item.file.filename,
                                   stream=io.BytesIO(fixed_raw.encode("utf-8")), user=user)
    from ..aggregates import aggregates_refresh, months_touched_by_file
    from .ingest_csv import load_fixed_row

    now = timezone.now()
    run = IngestionRun.objects.create(file=item.file, status=RunStatus.RUNNING, started_at=now)
    ctx = LoadContext(run=run, file=item.file, feed=item.file.feed, tenant_id=require_tenant_id())
    load_fixed_row(ctx, line_number=item.line_number or 0, raw=fixed_raw)
    ctx.flush_warnings()
    months = set(months_touched_by_file(item.file_id)) | ctx.touched_months
    if months:
        aggregates_refresh(months=sorted(months))
    from .runs import reprice_file

    reprice_file(item.file_id)
    counts = {k: v for k, v in ctx.counts.items() if v}
    counts["warnings"] = ctx.warning_count
    run.status = RunStatus.LOADED_WITH_WARNINGS if ctx.warning_count else RunStatus.LOADED
    run.counts, run.finished_at = counts, timezone.now()
    run.message = f"Line {item.line_number} fixed and loaded (quarantine item {item.pk})."
    run.save(update_fields=["status", "counts", "finished_at", "message"])
    _close(item, status=QuarantineStatus.RERUN, user=user, fixed_raw=fixed_raw, rerun=run)
    return run


@transaction.atomic
def quarantine_fix_file(*, item: QuarantineItem, filename: str, stream: IO[bytes], user: Any | None = None,
                        source: str = FileSource.UPLOAD) -> IngestionRun:
    """Receive a corrected version of a quarantined file and queue its load; closes the item."""
    from .runs import ingestion_start

    item = _open_item(item)
    if item.scope != "file":
        raise ValidationError("A quarantined row is fixed by correcting the row, not by a file.")
    corrected = file_receive(feed=item.file.feed, filename=filename, stream=stream, source=source, user=user)
    if corrected.pk == item.file_id:
        raise ValidationError("This is the same file that was quarantined: correct it before sending it again.")
    run = ingestion_start(file=corrected, user=user)
    _close(item, status=QuarantineStatus.RERUN, user=user, rerun=run,
           fixed_raw=f"Corrected file {corrected.filename} (sha256 {corrected.sha256[:12]}…), run {run.pk}")
    return run


@transaction.atomic
def quarantine_discard(*, item: QuarantineItem, user: Any | None = None, note: str = "") -> QuarantineItem:
    """Close an item without loading anything (e.g. a row the billing system should not have exported)."""
    item = _open_item(item)
    _close(item, status=QuarantineStatus.DISCARDED, user=user, fixed_raw=note)
    return item
