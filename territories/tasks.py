"""Celery tasks of territory design: the balancing optimizer runs as a job with a progress bar."""
from __future__ import annotations

from typing import Any

from celery import shared_task

from revops.jobs import TenantTask, run_job


@shared_task(base=TenantTask, name="territories.tasks.plan_balance_task")
def plan_balance_task(*, tenant_id: int, job_id: int, run_id: int) -> dict[str, Any] | None:
    """Balance the plan of ``BalanceRun`` ``run_id`` as job ``job_id`` (territories.balancing)."""
    from .balancing import balance_execute_job

    return run_job(job_id, lambda job: balance_execute_job(job, run_id))
