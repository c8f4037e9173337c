"""Long-running work: job records, progress, and the Celery conventions every app follows.

Conventions:
- A task takes ``tenant_id`` (keyword) and ids, never model instances; ``TenantTask`` enters
  the organization before the task body runs.
- Work is enqueued after the surrounding transaction commits (``job_enqueue``).
- A task claims its job with a guarded state change, so a redelivered or repeated task does
  nothing twice; a finished job is never run again.
- Progress goes to Redis (visible at once, even while the task's own transaction is open) and
  to the job row, which the page fragment polls with htmx.
"""
from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from typing import Any

from celery import Task
from celery.contrib.django.task import DjangoTask
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from revops.models import Job, JobStatus
from revops.tenancy import Actor, actor_context, require_tenant_id, tenant_context

logger = logging.getLogger(__name__)

PROGRESS_TTL = 24 * 3600


class TenantTask(DjangoTask):
    """Celery task base: requires ``tenant_id=...`` and runs the body inside that organization."""

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        tenant_id = kwargs.get("tenant_id")
        if tenant_id is None:
            raise TypeError(f"{self.name} must be called with tenant_id=...")
        with tenant_context(int(tenant_id)), actor_context(Actor(label=f"task:{self.name}")):
            return super().__call__(*args, **kwargs)


def _progress_key(job_id: int) -> str:
    return f"job-progress:{require_tenant_id()}:{job_id}"


def job_create(*, kind: str, label: str = "", params: dict[str, Any] | None = None,
               total: int | None = None, created_by: Any | None = None) -> Job:
    job = Job(kind=kind, label=label, params=params or {}, progress_total=total,
              created_by=created_by if getattr(created_by, "pk", None) else None)
    job.save()
    return job


def job_enqueue(*, job: Job, task: Task, **kwargs: Any) -> Job:
    """Send ``task`` for ``job`` once the current transaction commits."""
    tenant_id = require_tenant_id()

    def send() -> None:
        result = task.apply_async(kwargs={"tenant_id": tenant_id, "job_id": job.pk, **kwargs})
        with tenant_context(tenant_id):
            Job.objects.filter(pk=job.pk, celery_task_id="").update(celery_task_id=result.id or "")

    transaction.on_commit(send)
    return job


def job_claim(*, job_id: int) -> Job | None:
    """Mark the job running; None if it already finished (the task must then do nothing)."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.RUNNING, started_at=now, error=""
    )
    if not claimed:
        return None
    return Job.objects.get(pk=job_id)


def job_progress(*, job_id: int, done: int, total: int | None = None, message: str = "") -> None:
    payload = {"done": done, "total": total, "message": message[:300]}
    cache.set(_progress_key(job_id), json.dumps(payload), PROGRESS_TTL)
    fields: dict[str, Any] = {"progress_done": done, "message": message[:300]}
    if total is not None:
        fields["progress_total"] = total
    if not transaction.get_connection().in_atomic_block:
        Job.objects.filter(pk=job_id).update(**fields)


def job_live_progress(job: Job) -> Job:
    """The job with the latest progress from Redis laid over the row (for polling)."""
    if job.status == JobStatus.RUNNING:
        raw = cache.get(_progress_key(job.pk))
        if raw:
            data = json.loads(raw)
            job.progress_done = data["done"]
            if data.get("total") is not None:
                job.progress_total = data["total"]
            job.message = data.get("message") or job.message
    return job


def job_succeed(*, job_id: int, result: dict[str, Any] | None = None, message: str = "Done") -> None:
    job = Job.objects.get(pk=job_id)
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.SUCCEEDED, finished_at=timezone.now(), result=result, message=message[:300],
        progress_done=job.progress_total if job.progress_total is not None else job.progress_done,
    )
    cache.delete(_progress_key(job_id))


def job_fail(*, job_id: int, error: str) -> None:
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.FAILED, finished_at=timezone.now(), error=error[:10000], message="Failed"
    )
    cache.delete(_progress_key(job_id))


def run_job(job_id: int, work: Callable[[Job], dict[str, Any] | None]) -> dict[str, Any] | None:
    """Claim the job, run ``work(job)``, record success or the error. Used by every job task."""
    job = job_claim(job_id=job_id)
    if job is None:
        logger.info("job %s already finished; nothing to do", job_id)
        return None
    try:
        result = work(job)
    except Exception as exc:  # noqa: BLE001 - the job row must say what went wrong
        logger.exception("job %s failed", job_id)
        job_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=5)}")
        raise
    job_succeed(job_id=job_id, result=result)
    return result
