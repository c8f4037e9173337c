"""Job records: claiming is idempotent, progress is visible, failures are recorded."""
from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask

from revops import jobs, schedules
from revops.models import Job, JobStatus, TenantSchedule
from revops.tenancy import tenant_context


def test_a_finished_job_is_never_run_again(world):
    with tenant_context(world.a.org):
        job = jobs.job_create(kind="demo", total=3)
        calls = []
        jobs.run_job(job.pk, lambda j: calls.append(j.pk) or {"ok": True})
        assert jobs.run_job(job.pk, lambda j: calls.append(j.pk)) is None
        job.refresh_from_db()
        assert calls == [job.pk]
        assert job.status == JobStatus.SUCCEEDED and job.result == {"ok": True}
        assert job.progress_done == 3 and job.percent == 100


def test_progress_is_visible_while_running(world):
    with tenant_context(world.a.org):
        job = jobs.job_create(kind="demo")
        seen = {}

        def work(j):
            jobs.job_progress(job_id=j.pk, done=40, total=200, message="row 40 of 200")
            live = jobs.job_live_progress(Job.objects.get(pk=j.pk))
            seen.update(done=live.progress_done, total=live.progress_total, pct=live.percent, msg=live.message)
            return None

        jobs.run_job(job.pk, work)
    assert seen == {"done": 40, "total": 200, "pct": 20, "msg": "row 40 of 200"}


def test_a_failure_is_recorded_with_the_error(world):
    with tenant_context(world.a.org):
        job = jobs.job_create(kind="demo")

        def work(j):
            raise ValueError("line 7: ZIP 999 is not a US ZIP code")

        with pytest.raises(ValueError):
            jobs.run_job(job.pk, work)
        job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "line 7" in job.error and job.finished_at


def test_tenant_task_requires_a_tenant():
    from revops.tasks import jobs_prune

    with pytest.raises(TypeError, match="tenant_id"):
        jobs_prune()


def test_schedules_are_mirrored_into_beat_with_the_tenant(world):
    with tenant_context(world.a.org):
        schedule = schedules.schedule_save(name="Nightly prune", task="revops.tasks.jobs_prune", crontab="5 2 * * *")
        periodic = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
        assert periodic.kwargs == f'{{"tenant_id": {world.a.org.pk}}}'
        assert (periodic.crontab.minute, periodic.crontab.hour) == ("5", "2")
        schedules.schedule_save(name="Nightly prune", task="revops.tasks.jobs_prune", crontab="5 2 * * *",
                                enabled=False, schedule=schedule)
        periodic.refresh_from_db()
        assert periodic.enabled is False
        schedules.schedule_delete(schedule=schedule)
        assert not PeriodicTask.objects.filter(pk=periodic.pk).exists()
        assert not TenantSchedule.objects.filter(name="Nightly prune").exists()


def test_unknown_tasks_and_bad_crontabs_are_refused(world):
    from django.core.exceptions import ValidationError

    with tenant_context(world.a.org):
        with pytest.raises(ValidationError):
            schedules.schedule_save(name="x", task="os.system", crontab="* * * * *")
        with pytest.raises(ValidationError):
            schedules.schedule_save(name="x", task="revops.tasks.jobs_prune", crontab="every day")
