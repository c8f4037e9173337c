"""Celery tasks of quota management: recomputing a plan (bases, allocation, attainment) as a job with a
progress bar, and the schedulable refresh of every active plan's attainment."""
from __future__ import annotations

from typing import Any

from celery import shared_task

from revops.jobs import TenantTask, run_job


@shared_task(base=TenantTask, name="quotas.tasks.plan_recompute_task")
def plan_recompute_task(*, tenant_id: int, job_id: int, plan_id: int, attainment_only: bool = False) -> dict[str, Any] | None:
    """Recompute quota plan ``plan_id`` as job ``job_id`` (quotas.jobs.plan_recompute_job)."""
    from .jobs import plan_recompute_job

    return run_job(job_id, lambda job: plan_recompute_job(job, plan_id, attainment_only=attainment_only))


@shared_task(base=TenantTask, name="quotas.tasks.attainment_refresh_active")
def attainment_refresh_active(*, tenant_id: int) -> dict[str, Any]:
    """Recompute attainment of every active quota plan of the organization (scheduled nightly by admins)."""
    from .jobs import attainment_refresh_active_plans

    return attainment_refresh_active_plans()
