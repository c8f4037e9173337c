"""Per-organization schedules, mirrored into django-celery-beat (whose tables are global)."""
from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from revops.models import TenantSchedule
from revops.tenancy import require_tenant_id

# Tasks an organization may schedule: name -> what it does (shown in the page).
SCHEDULABLE_TASKS: dict[str, str] = {
    "revops.tasks.jobs_prune": "Delete finished job records older than 90 days",
    "rcm_feeds.tasks.feeds_poll": "Receive new files from an RCM feed's inbox folder and load them",
    "quotas.tasks.attainment_refresh_active": "Recompute quota attainment of the active plans from credited transactions",
    "analytics.tasks.snapshots_refresh_task": "Refresh the executive dashboard's pipeline and territory-balance snapshots",
}


def _crontab(expression: str) -> CrontabSchedule:
    parts = expression.split()
    if len(parts) != 5:
        raise ValidationError({"crontab": "Use five fields: minute hour day-of-month month day-of-week."})
    minute, hour, day_of_month, month_of_year, day_of_week = parts
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
        day_of_week=day_of_week, timezone="UTC",
    )
    return schedule


@transaction.atomic
def schedule_save(*, name: str, task: str, crontab: str, enabled: bool = True,
                  kwargs: dict | None = None, schedule: TenantSchedule | None = None) -> TenantSchedule:
    """Create or update an organization's schedule and its beat entry (tenant_id in kwargs)."""
    tenant_id = require_tenant_id()
    if task not in SCHEDULABLE_TASKS:
        raise ValidationError({"task": f"{task!r} cannot be scheduled."})
    schedule = schedule or TenantSchedule()
    schedule.name, schedule.task, schedule.crontab, schedule.enabled = name, task, crontab, enabled
    schedule.kwargs = kwargs or {}
    beat_kwargs = json.dumps({**schedule.kwargs, "tenant_id": tenant_id})
    periodic = schedule.periodic_task or PeriodicTask()
    periodic.name = f"tenant-{tenant_id}:{name}"
    periodic.task = task
    periodic.crontab = _crontab(crontab)
    periodic.kwargs = beat_kwargs
    periodic.enabled = enabled
    periodic.save()
    schedule.periodic_task = periodic
    schedule.save()
    return schedule


@transaction.atomic
def schedule_delete(*, schedule: TenantSchedule) -> None:
    periodic = schedule.periodic_task
    schedule.delete()
    if periodic is not None:
        periodic.delete()


def schedules_install_defaults() -> None:
    """Give the active organization the default schedules it does not have yet."""
    if not TenantSchedule.objects.filter(name="Prune old jobs").exists():
        schedule_save(name="Prune old jobs", task="revops.tasks.jobs_prune", crontab="17 3 * * *")
    if not TenantSchedule.objects.filter(name="Refresh the executive dashboard").exists():
        schedule_save(name="Refresh the executive dashboard", task="analytics.tasks.snapshots_refresh_task",
                      crontab="41 4 * * *")
