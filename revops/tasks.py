"""Celery tasks of the shared layer; thin: load by id, call a service."""
from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from revops.jobs import TenantTask, run_job
from revops.models import Job, JobStatus


@shared_task(base=TenantTask, name="revops.tasks.jobs_prune")
def jobs_prune(*, tenant_id: int, older_than_days: int = 90) -> int:
    """Delete the organization's finished job records older than ``older_than_days``."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = Job.objects.filter(
        status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED], finished_at__lt=cutoff
    ).delete()
    return deleted


@shared_task(base=TenantTask, name="revops.tasks.reference_import")
def reference_import(*, tenant_id: int, job_id: int) -> dict | None:
    """Load an uploaded CSV of accounts or people into reference data (revops.imports)."""
    from revops.imports import import_run

    return run_job(job_id, import_run)
