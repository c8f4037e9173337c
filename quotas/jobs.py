"""Long quota work as jobs: start (record + enqueue after commit) and execute (with progress)."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from revops.jobs import job_create, job_enqueue, job_progress
from revops.models import Job

from . import services
from .models import QuotaPlan, QuotaPlanStatus


@transaction.atomic
def plan_recompute_start(*, plan: QuotaPlan, user: Any | None = None, attainment_only: bool = False,
                         enqueue: bool = True) -> Job:
    """Queue a recompute of ``plan``: bases, allocation and attainment (a draft), or attainment only
    (any plan; the only choice once a plan is approved, because its quotas are frozen)."""
    if not attainment_only and not plan.is_editable:
        raise ValidationError("Only a draft is re-allocated; approved and active plans recompute attainment only.")
    what = "attainment" if attainment_only else "bases, allocation and attainment"
    job = job_create(kind="quota_recompute", label=f"Recompute {what} of {plan.name}", total=3, created_by=user,
                     params={"plan": plan.pk, "attainment_only": attainment_only})
    if enqueue:
        from .tasks import plan_recompute_task

        job_enqueue(job=job, task=plan_recompute_task, plan_id=plan.pk, attainment_only=attainment_only)
    return job


def plan_recompute_job(job: Job, plan_id: int, *, attainment_only: bool = False) -> dict[str, Any]:
    plan = QuotaPlan.objects.get(pk=plan_id)
    result: dict[str, Any] = {"plan": plan.pk}
    if not attainment_only and plan.is_editable:
        job_progress(job_id=job.pk, done=0, total=3, message="Computing potential, prior-year and TTM bases")
        with transaction.atomic():
            services.tree_build(plan=plan)
        job_progress(job_id=job.pk, done=1, total=3, message="Allocating, phasing, ramp and relief")
        with transaction.atomic():
            result["allocation"] = services.plan_allocate(plan=plan)
    job_progress(job_id=job.pk, done=2, total=3, message="Crediting transactions (attainment)")
    with transaction.atomic():
        result["attainment"] = services.attainment_refresh(plan=plan)
    return result


def attainment_refresh_active_plans() -> dict[str, Any]:
    out = {}
    for plan in QuotaPlan.objects.filter(status=QuotaPlanStatus.ACTIVE):
        with transaction.atomic():
            out[plan.name] = services.attainment_refresh(plan=plan)
    return out
