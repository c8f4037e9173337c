"""Celery tasks of the analytics app: the nightly refresh of the dashboard's materialized snapshots."""
from __future__ import annotations

from typing import Any

from celery import shared_task

from revops.jobs import TenantTask


@shared_task(base=TenantTask, name="analytics.tasks.snapshots_refresh_task")
def snapshots_refresh_task(*, tenant_id: int) -> dict[str, Any]:
    """Recompute today's pipeline and territory-balance snapshots of the organization (schedulable)."""
    from .services import snapshots_refresh

    return {"snapshots": [f"{s.kind}:{s.as_of.isoformat()}" for s in snapshots_refresh()]}
