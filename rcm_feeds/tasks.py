"""Celery tasks of the RCM feeds: poll inboxes on the feeds' schedules, load a received file."""
from __future__ import annotations

from typing import Any

from celery import shared_task

from revops.jobs import TenantTask, run_job


@shared_task(base=TenantTask, name="rcm_feeds.tasks.feeds_poll")
def feeds_poll(*, tenant_id: int, feed_id: int | None = None) -> int:
    """Receive new files from the inbox of ``feed_id`` (every active feed when None); files picked up."""
    from .models import Feed
    from .services.feeds import inbox_poll

    feeds = Feed.objects.filter(is_active=True).exclude(inbox_dir="")
    if feed_id is not None:
        feeds = feeds.filter(pk=feed_id)
    return sum(len(inbox_poll(feed=feed)) for feed in feeds)


@shared_task(base=TenantTask, name="rcm_feeds.tasks.file_ingest")
def file_ingest(*, tenant_id: int, job_id: int, file_id: int) -> dict[str, Any] | None:
    """Load received file ``file_id`` as job ``job_id`` (its IngestionRun); see services.runs."""
    from .services.runs import ingestion_execute_job

    return run_job(job_id, ingestion_execute_job)
