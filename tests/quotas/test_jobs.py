"""Quota recompute jobs: started from a service, run by a real Celery worker, with progress; changed
transactions queue an attainment refresh of the active plans of their metric."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from quotas import jobs, services
from quotas.models import Quota
from revops.models import Account, Job, JobStatus
from revops.tenancy import tenant_context
from tests.quotas import fixtures
from tests.revops.test_celery_worker import RESULT_TIMEOUT, celery_worker  # noqa: F401 (fixture)


@pytest.mark.celery_worker
def test_a_real_worker_recomputes_a_plan_with_progress(transactional_db, world, celery_worker):
    from quotas.tasks import plan_recompute_task
    from revops.celery import app as celery_app

    with tenant_context(world.a.org):
        Account.objects.all().update(is_active=False)
        built = fixtures.build()
        plan = built["plan"]
        # Stale numbers the job must put right: a wrong annual target and no attainment.
        Quota.objects.filter(plan=plan, code="T1").update(annual=Decimal(1))
        job = jobs.plan_recompute_start(plan=plan, enqueue=False)
    assert celery_app.conf.task_always_eager is False
    result = plan_recompute_task.apply_async(
        kwargs={"tenant_id": world.a.org.pk, "job_id": job.pk, "plan_id": plan.pk}, queue=celery_worker.queue)
    try:
        outcome = result.get(timeout=RESULT_TIMEOUT)
    except Exception:
        pytest.fail(f"the worker did not finish the quota job; its output:\n{celery_worker.output()[-5000:]}")
    assert outcome["attainment"]["credited"] == "35000.00"
    with tenant_context(world.a.org):
        job = Job.objects.get(pk=job.pk)
        assert job.status == JobStatus.SUCCEEDED and job.progress_done == job.progress_total == 3
        assert Quota.objects.get(plan=plan, code="T1").annual == Decimal("476000.00")
        assert Quota.objects.get(plan=plan, code="COMPANY").actual == Decimal("35000.00")


@pytest.mark.django_db
def test_an_approved_plan_only_recomputes_attainment(world):
    with tenant_context(world.a.org):
        Account.objects.all().update(is_active=False)
        plan = fixtures.build(relief=False)["plan"]
        services.plan_approve(plan=plan, user=world.a.users["executive"])
        with pytest.raises(ValidationError, match="attainment only"):
            jobs.plan_recompute_start(plan=plan, enqueue=False)
        job = jobs.plan_recompute_start(plan=plan, attainment_only=True, enqueue=False)
        assert job.params == {"plan": plan.pk, "attainment_only": True}


@pytest.mark.django_db
def test_changed_transactions_queue_an_attainment_refresh_of_active_plans(world, django_capture_on_commit_callbacks):
    with tenant_context(world.a.org):
        Account.objects.all().update(is_active=False)
        built = fixtures.build(relief=False)
        plan = built["plan"]
        services.plan_approve(plan=plan, user=world.a.users["executive"])
        services.plan_activate(plan=plan)
        row = ("QW-new", "bookings", "deal", built["accounts"]["A"].pk, None, dt.date(2026, 9, 1), Decimal(5), "")
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.transactions_upsert(rows=[row])
        queued = Job.objects.filter(kind="quota_recompute")
        assert queued.count() == 1 and queued.get().params["attainment_only"] is True
        assert len(callbacks) == 1  # the enqueue waits for the commit
        with django_capture_on_commit_callbacks(execute=False):
            services.transactions_upsert(rows=[row])  # unchanged: nothing queued
        assert queued.count() == 1
        services.transactions_upsert(rows=[(*row[:2], "deal", row[3], None, row[5], Decimal(5), "")],
                                     refresh_attainment=False)
        assert queued.count() == 1
