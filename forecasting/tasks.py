"""Celery tasks of forecasting: a time-series forecast run as a job with a progress bar."""
from __future__ import annotations

from typing import Any

from celery import shared_task

from revops.jobs import TenantTask, run_job


@shared_task(base=TenantTask, name="forecasting.tasks.timeseries_run_task")
def timeseries_run_task(*, tenant_id: int, job_id: int, run_id: int) -> dict[str, Any] | None:
    """Compute time-series forecast run ``run_id`` as job ``job_id`` (forecasting.runs.timeseries_run_job).

    The models run in this process (``n_jobs=1``): a prefork worker's children may not fork
    their own pools, and a run of a few hundred series takes seconds.
    """
    from .runs import timeseries_run_job

    return run_job(job_id, lambda job: timeseries_run_job(job, run_id))
