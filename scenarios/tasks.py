"""Celery tasks of what-if scenarios: computing a scenario as a job with a progress bar."""
from __future__ import annotations

from typing import Any

from celery import shared_task

from revops.jobs import TenantTask, run_job


@shared_task(base=TenantTask, name="scenarios.tasks.scenario_compute_task")
def scenario_compute_task(*, tenant_id: int, job_id: int, scenario_id: int) -> dict[str, Any] | None:
    """Compute scenario ``scenario_id`` as job ``job_id`` (scenarios.services.scenario_compute_job)."""
    from .services import scenario_compute_job

    return run_job(job_id, lambda job: scenario_compute_job(job, scenario_id))
