"""Celery tasks of payer contracts: the expected reimbursement recompute as a job with a progress bar."""
from __future__ import annotations

from typing import Any

from celery import shared_task

from revops.jobs import TenantTask, run_job


@shared_task(base=TenantTask, name="contracts.tasks.expected_recompute_task")
def expected_recompute_task(*, tenant_id: int, job_id: int) -> dict[str, Any] | None:
    """Recompute expected reimbursement for job ``job_id``'s scope (contracts.services.reimbursement)."""
    from .services.reimbursement import expected_recompute_job

    return run_job(job_id, expected_recompute_job)
