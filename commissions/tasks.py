"""Celery tasks of commission management: a period's run as a job with a progress bar."""
from __future__ import annotations

from typing import Any

from celery import shared_task

from revops.jobs import TenantTask, run_job


@shared_task(base=TenantTask, name="commissions.tasks.run_task")
def run_task(*, tenant_id: int, job_id: int, run_id: int) -> dict[str, Any] | None:
    """Compute commission run ``run_id`` as job ``job_id`` (commissions.services.runs.run_execute)."""
    from .services.runs import run_execute

    return run_job(job_id, lambda job: run_execute(run_id=run_id, job=job))
