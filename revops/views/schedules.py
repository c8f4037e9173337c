"""Per-organization schedules: list (admin, analyst, billing manager), create and edit (admin)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from celery.schedules import crontab as celery_crontab
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from revops import schedules as schedule_services
from revops.access import CHANGE, allowed, require_access
from revops.forms import ScheduleForm
from revops.models import TenantSchedule


def next_run(expression: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """When a five-field crontab (UTC) fires next after ``now``."""
    parts = expression.split()
    if len(parts) != 5:
        return None
    now = now or timezone.now()
    minute, hour, day_of_month, month_of_year, day_of_week = parts
    try:
        schedule = celery_crontab(minute=minute, hour=hour, day_of_month=day_of_month,
                                  month_of_year=month_of_year, day_of_week=day_of_week, nowfun=lambda: now)
        return now + schedule.remaining_estimate(now)
    except (ValueError, TypeError):
        return None


@require_access("schedules")
def schedules(request: HttpRequest) -> HttpResponse:
    rows = list(TenantSchedule.objects.select_related("periodic_task"))
    for row in rows:
        row.next_run = next_run(row.crontab) if row.enabled else None  # type: ignore[attr-defined]
        row.description = schedule_services.SCHEDULABLE_TASKS.get(row.task, row.task)  # type: ignore[attr-defined]
    return render(request, "revops/schedules/list.html", {
        "schedules": rows, "can_change": allowed(request.role, "schedules", CHANGE),  # type: ignore[attr-defined]
    })


def _save(request: HttpRequest, form: ScheduleForm, schedule: TenantSchedule | None) -> TenantSchedule | None:
    data = form.cleaned_data
    try:
        return schedule_services.schedule_save(
            name=data["name"], task=data["task"], crontab=data["crontab"], enabled=data["enabled"],
            kwargs=data["kwargs"], schedule=schedule,
        )
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return None


@require_access("schedules", CHANGE)
def schedule_new(request: HttpRequest) -> HttpResponse:
    form = ScheduleForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and _save(request, form, None):
        messages.success(request, f"Schedule {form.cleaned_data['name']} created.")
        return redirect("schedules")
    return render(request, "revops/schedules/form.html", {"form": form, "can_change": True})


@require_access("schedules", model=TenantSchedule)
def schedule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """GET shows the schedule (read-only for roles that may only view it); POST saves it."""
    schedule = get_object_or_404(TenantSchedule.objects.select_related("periodic_task"), pk=pk)
    form = ScheduleForm(request.POST or None, instance=schedule)
    can_change = allowed(request.role, "schedules", CHANGE)  # type: ignore[attr-defined]
    if not can_change:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST" and form.is_valid() and _save(request, form, schedule):
        messages.success(request, f"Schedule {schedule.name} saved.")
        return redirect("schedules")
    context: dict[str, Any] = {"form": form, "schedule": schedule, "can_change": can_change,
                               "next_run": next_run(schedule.crontab) if schedule.enabled else None}
    return render(request, "revops/schedules/form.html", context)


@require_access("schedules", CHANGE, model=TenantSchedule)
def schedule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = get_object_or_404(TenantSchedule, pk=pk)
    if request.method == "POST":
        schedule_services.schedule_delete(schedule=schedule)
        messages.success(request, f"Schedule {schedule.name} deleted.")
        return redirect("schedules")
    return render(request, "revops/schedules/delete.html", {"schedule": schedule})
