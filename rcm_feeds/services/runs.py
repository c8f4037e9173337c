"""Ingestion runs: receive a file, queue its load as a job, load it in one transaction or not at all.

- ``ingestion_submit`` is what the inbox poller, the upload page and the API call: it receives the
  file (``file_receive``) and starts its run.
- ``ingestion_start`` queues a ``Job`` (progress bar) and an ``IngestionRun``; the Celery task
  ``rcm_feeds.tasks.file_ingest`` runs ``ingestion_execute`` after commit. A file that already
  has a settled run (loaded, partly loaded, quarantined, or found to be all duplicates) gets a
  new run in status ``duplicate`` at once — "Already loaded — no change" — and no job.
- ``ingestion_execute`` locks the file row, loads it inside one transaction, and settles the
  run: loaded / loaded with warnings / partial (some CSV rows quarantined) / quarantined (the
  whole file refused: nothing of it stays) / duplicate / failed (an unexpected error, rolled
  back; the job shows the traceback). Then the KPI aggregates of the months the file touched are
  rebuilt in the same transaction (``rcm_feeds.aggregates``).
- ``ingestion_rerun`` loads again a file that did not load (quarantined whole, or failed), e.g.
  after its feed's column mapping was corrected.
- ``ingestion_load`` receives a file and loads it at once in the calling process, with no job and
  no worker (management commands such as ``seed_demo``, backfills of historical files).
"""
from __future__ import annotations

import datetime as dt
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from revops import bulk
from revops.jobs import job_create, job_enqueue
from revops.models import Job
from revops.tenancy import require_tenant_id

from ..models import (
    Feed,
    FeedKind,
    IngestionRun,
    QuarantineItem,
    QuarantineStatus,
    ReceivedFile,
    RunStatus,
)
from .context import FileRefused, LoadContext
from .files import file_open, file_receive

JOB_KIND = "rcm_ingest"
LOADED_STATES = (RunStatus.LOADED, RunStatus.LOADED_WITH_WARNINGS, RunStatus.PARTIAL)
SETTLED_STATES = (*LOADED_STATES, RunStatus.QUARANTINED, RunStatus.DUPLICATE)
ACTIVE_STATES = (RunStatus.QUEUED, RunStatus.RUNNING)
ALREADY_LOADED = "Already loaded — no change"


def ingestion_submit(*, feed: Feed, filename: str, stream: IO[bytes], source: str,
                     user: Any | None = None) -> IngestionRun:
    """Receive a file for ``feed`` and start loading it (or record that it is already loaded)."""
    with transaction.atomic():
        file = file_receive(feed=feed, filename=filename, stream=stream, source=source, user=user)
        return ingestion_start(file=file, user=user)


def _settled_run(file: ReceivedFile, *, exclude: IngestionRun | None = None,
                 quarantined: bool = True) -> IngestionRun | None:
    """The run that settled the file: it loaded (or found everything loaded before) or, with
    ``quarantined``, refused it. Runs that only reported a repeated receipt do not count."""
    states = SETTLED_STATES if quarantined else (*LOADED_STATES, RunStatus.DUPLICATE)
    runs = IngestionRun.objects.filter(file=file, status__in=states).exclude(status=RunStatus.DUPLICATE,
                                                                            counts__has_key="duplicate_of_run")
    if exclude is not None:
        runs = runs.exclude(pk=exclude.pk)
    return runs.order_by("-id").first()


def _duplicate_message(prior: IngestionRun) -> str:
    if prior.status in ACTIVE_STATES:
        return f"Already received; run {prior.pk} is loading it — no change."
    if prior.status == RunStatus.QUARANTINED:
        return (f"Already received and quarantined by run {prior.pk} — no change. Fix the file or send a "
                "corrected one.")
    if prior.status == RunStatus.DUPLICATE:
        return f"Already received: every transaction set in it was loaded before (run {prior.pk}) — no change."
    return f"{ALREADY_LOADED} (run {prior.pk})."


def _duplicate_run(file: ReceivedFile, prior: IngestionRun) -> IngestionRun:
    now = timezone.now()
    return IngestionRun.objects.create(
        file=file, status=RunStatus.DUPLICATE, started_at=now, finished_at=now,
        message=_duplicate_message(prior), counts={"duplicate_of_run": prior.pk},
    )


def _queue(file: ReceivedFile, user: Any | None) -> IngestionRun:
    from ..tasks import file_ingest

    job = job_create(kind=JOB_KIND, label=f"Load {file.filename}"[:200], params={"file_id": file.pk},
                     total=file.size, created_by=user)
    run = IngestionRun.objects.create(file=file, job=job, status=RunStatus.QUEUED)
    job_enqueue(job=job, task=file_ingest, file_id=file.pk)
    return run


@transaction.atomic
def ingestion_start(*, file: ReceivedFile, user: Any | None = None) -> IngestionRun:
    """Queue the load of ``file``; a file already settled or being loaded gets a ``duplicate`` run."""
    ReceivedFile.objects.select_for_update().filter(pk=file.pk).first()
    prior = _settled_run(file) or (
        IngestionRun.objects.filter(file=file, status__in=ACTIVE_STATES).order_by("-id").first())
    if prior is not None:
        return _duplicate_run(file, prior)
    return _queue(file, user)


@transaction.atomic
def ingestion_rerun(*, file: ReceivedFile, user: Any | None = None) -> IngestionRun:
    """Load again a file that was quarantined whole or failed (never one that loaded)."""
    ReceivedFile.objects.select_for_update().filter(pk=file.pk).first()
    if IngestionRun.objects.filter(file=file, status__in=LOADED_STATES).exists():
        raise ValidationError(f"{file.filename} is already loaded; loading it again would change nothing.")
    if IngestionRun.objects.filter(file=file, status__in=ACTIVE_STATES).exists():
        raise ValidationError(f"{file.filename} is being loaded right now.")
    return _queue(file, user)


# -- the load ----------------------------------------------------------------------------------

def _loader(kind: str) -> Any:
    from .ingest_csv import load_csv
    from .ingest_x12 import load_x12

    return load_x12 if kind.startswith("x12") else load_csv


def _settle(run: IngestionRun, status: str, counts: dict[str, Any], message: str) -> None:
    run.status, run.counts, run.message, run.finished_at = status, counts, message, timezone.now()
    IngestionRun.objects.filter(pk=run.pk).update(status=status, counts=counts, message=message,
                                                  finished_at=run.finished_at)


def _outcome(ctx: LoadContext) -> tuple[str, str]:
    counts, kind = ctx.counts, ctx.feed.kind
    warnings = ctx.warning_count
    if kind.startswith("csv"):
        loaded, bad = counts["rows_loaded"], counts["rows_quarantined"]
        text = f"{loaded:,} rows loaded"
        if bad:
            text += f", {bad:,} quarantined (fix them in the quarantine queue)"
        if warnings:
            text += f", {warnings:,} warnings"
        if bad and not loaded:
            return RunStatus.QUARANTINED, text + "."
        if bad:
            return RunStatus.PARTIAL, text + "."
        return (RunStatus.LOADED_WITH_WARNINGS if warnings else RunStatus.LOADED), text + "."
    if kind == FeedKind.X12_835:
        if not counts["remittances"] and counts["transactions_duplicate"]:
            return RunStatus.DUPLICATE, ("Every transaction set in this file was already loaded (repeated TRN traces) "
                                         "— no change.")
        text = (f"{counts['claim_payments']:,} claim payments in {counts['remittances']:,} remittances loaded, "
                f"{counts['denials']:,} denials")
        if counts["transactions_duplicate"]:
            text += f"; {counts['transactions_duplicate']:,} transaction sets skipped as already loaded (repeated TRN)"
    elif kind == FeedKind.X12_837:
        text = f"{counts['claims']:,} claims with {counts['claim_lines']:,} lines loaded"
    else:
        text = (f"{counts['acknowledgments']:,} acknowledgments loaded, "
                f"{counts['acknowledgments_rejected']:,} rejections")
    if warnings:
        text += f"; {warnings:,} warnings"
        return RunStatus.LOADED_WITH_WARNINGS, text + "."
    return RunStatus.LOADED, text + "."


def _refresh_aggregates(ctx: LoadContext) -> None:
    from ..aggregates import aggregates_refresh, months_touched_by_file

    ctx.refresh_statistics()

    months = set(months_touched_by_file(ctx.file.pk)) | ctx.touched_months
    if months:
        aggregates_refresh(months=sorted(months))
    reprice_file(ctx.file.pk)


def reprice_file(file_id: int) -> None:
    """Expected reimbursement of the claims a loaded file touches (contracts), when the organization has
    payer contracts at all: an organization without any pays nothing for it."""
    from contracts.models import Contract
    from contracts.services.reimbursement import expected_recompute_for_file

    if Contract.objects.exists():
        expected_recompute_for_file(file_id=file_id)


def ingestion_execute(*, run: IngestionRun, refresh_aggregates: bool = True) -> IngestionRun:
    """Load the run's file in one transaction and settle the run (see the module docstring).

    Safe to call twice: only a queued or running run is worked on, and the file row is locked so
    a second worker waits and then finds the file loaded.
    """
    claimed = IngestionRun.objects.filter(pk=run.pk, status__in=ACTIVE_STATES).update(
        status=RunStatus.RUNNING, started_at=timezone.now())
    run.refresh_from_db()
    if not claimed:
        return run
    tenant_id = require_tenant_id()
    try:
        with transaction.atomic():
            file = ReceivedFile.objects.select_for_update().select_related("feed").get(pk=run.file_id)
            # A quarantined file may be run again (ingestion_rerun); a loaded one never.
            prior = _settled_run(file, exclude=run, quarantined=False)
            if prior is not None:
                _settle(run, RunStatus.DUPLICATE, {"duplicate_of_run": prior.pk}, _duplicate_message(prior))
                return run
            ctx = LoadContext(run=run, file=file, feed=file.feed, tenant_id=tenant_id)
            with file_open(file) as stream, bulk.cyclic_gc_paused():
                _loader(file.feed.kind)(ctx, stream)
            ctx.flush_warnings()
            status, message = _outcome(ctx)
            counts = {k: v for k, v in sorted(ctx.counts.items()) if v}
            counts["warnings"] = ctx.warning_count
            QuarantineItem.objects.filter(file=file, scope="file", status=QuarantineStatus.OPEN).update(
                status=QuarantineStatus.RERUN, rerun=run, resolved_at=timezone.now())
            if refresh_aggregates and status != RunStatus.DUPLICATE:
                _refresh_aggregates(ctx)
            _settle(run, status, counts, message)
    except FileRefused as refusal:
        from .quarantine import quarantine_file

        with transaction.atomic():
            quarantine_file(run=run, refusal=refusal)
            _settle(run, RunStatus.QUARANTINED, {"quarantined": 1},
                    f"Quarantined, nothing loaded: {refusal.describe()}")
    except Exception as exc:
        _settle(run, RunStatus.FAILED, {}, f"Failed, nothing loaded: {type(exc).__name__}: {exc}"[:2000])
        raise
    return run


def ingestion_load(*, feed: Feed, filename: str, stream: IO[bytes], source: str, user: Any | None = None,
                   received_at: dt.datetime | None = None, refresh_aggregates: bool = True) -> IngestionRun:
    """Receive a file and load it now, in this process and one transaction (no job, no Celery task).

    For commands and backfills, which must not leave queued jobs for a worker that may not run.
    ``received_at`` dates a file that arrived before it is loaded here (a historical file); it is
    kept only for a file received for the first time. A file received before gets a ``duplicate``
    run, as in ``ingestion_start``. ``refresh_aggregates=False`` leaves the KPI aggregates to the
    caller (one ``aggregates_refresh`` after many files).
    """
    with transaction.atomic():
        file = file_receive(feed=feed, filename=filename, stream=stream, source=source, user=user)
        ReceivedFile.objects.select_for_update().filter(pk=file.pk).first()
        if received_at is not None and not file.was_received_before:  # type: ignore[attr-defined]
            ReceivedFile.objects.filter(pk=file.pk).update(received_at=received_at)
            file.received_at = received_at
        prior = _settled_run(file) or (
            IngestionRun.objects.filter(file=file, status__in=ACTIVE_STATES).order_by("-id").first())
        if prior is not None:
            return _duplicate_run(file, prior)
        run = IngestionRun.objects.create(file=file, status=RunStatus.QUEUED)
        return ingestion_execute(run=run, refresh_aggregates=refresh_aggregates)


def ingestion_execute_job(job: Job) -> dict[str, Any]:
    """The body of ``rcm_feeds.tasks.file_ingest``: the job's run, executed; its outcome as the job result."""
    run = IngestionRun.objects.get(job=job)
    run = ingestion_execute(run=run)
    return {"run_id": run.pk, "file_id": run.file_id, "status": run.status, "message": run.message,
            "counts": run.counts}
