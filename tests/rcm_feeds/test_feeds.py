"""Feeds and receiving: schedules, inbox polling, content-addressed storage, jobs, tenant isolation."""
from __future__ import annotations

import hashlib
import io
import json
import os
import time

import pytest
from django.core.exceptions import ValidationError
from django_celery_beat.models import PeriodicTask

from rcm_feeds import tasks
from rcm_feeds.models import ClaimPayment, FileSource, IngestionRun, ReceivedFile, Remittance, RunStatus
from rcm_feeds.services import feed_delete, feed_inbox_path, feed_save, file_path, file_receive, ingestion_submit
from revops.celery import app as celery_app
from revops.models import Job, JobStatus, TenantSchedule
from revops.schedules import SCHEDULABLE_TASKS
from revops.tenancy import tenant_context

from .ingestutil import clear_rcm, load, sample

pytestmark = pytest.mark.django_db
EMEDNY = "edi-835-parser/emedny_sample.txt"


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RCM_INBOX_ROOT = tmp_path / "inbox"
    settings.RCM_INBOX_SETTLE_SECONDS = 0


@pytest.fixture
def a(world):
    with tenant_context(world.a.org):
        clear_rcm()
        yield world.a


@pytest.fixture
def eager():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def test_feed_save_keeps_a_polling_schedule_in_celery_beat(a):
    assert "rcm_feeds.tasks.feeds_poll" in SCHEDULABLE_TASKS
    feed = feed_save(name="Payer remits", kind="x12_835", inbox_dir="payer-835", crontab="*/5 * * * *")
    schedule = feed.schedule
    assert (schedule.task, schedule.crontab, schedule.enabled, schedule.kwargs) == \
        ("rcm_feeds.tasks.feeds_poll", "*/5 * * * *", True, {"feed_id": feed.pk})
    beat = schedule.periodic_task
    assert json.loads(beat.kwargs) == {"feed_id": feed.pk, "tenant_id": a.org.pk} and beat.enabled
    assert (feed_inbox_path(feed) / "processed").is_dir()
    # Deactivating (or clearing the inbox) disables the beat entry; the schedule row is reused.
    feed = feed_save(feed=feed, name="Payer remits", kind="x12_835", inbox_dir="payer-835", is_active=False)
    assert feed.schedule_id == schedule.pk
    assert not PeriodicTask.objects.get(pk=beat.pk).enabled
    feed_delete(feed=feed)
    assert not TenantSchedule.objects.filter(pk=schedule.pk).exists()
    assert not PeriodicTask.objects.filter(pk=beat.pk).exists()


@pytest.mark.parametrize("inbox", ["../escape", "/etc", "a/../../b", "processed"])
def test_inbox_must_stay_inside_the_organizations_folder(a, inbox):
    with pytest.raises(ValidationError):
        feed_save(name="Sneaky", kind="x12_835", inbox_dir=inbox)


def test_bad_crontab_and_taken_inbox_are_refused(a):
    with pytest.raises(ValidationError, match="five fields"):
        feed_save(name="Cron", kind="x12_835", crontab="every minute")
    feed_save(name="First", kind="x12_835", inbox_dir="shared")
    with pytest.raises(ValidationError, match="already uses"):
        feed_save(name="Second", kind="x12_837", inbox_dir="shared")


def test_feed_with_files_cannot_be_deleted(a):
    run = load(sample(EMEDNY), "x12_835")
    with pytest.raises(ValidationError, match="deactivate"):
        feed_delete(feed=run.file.feed)


def test_received_file_is_stored_by_content_and_streamed(a):
    feed = feed_save(name="Uploads", kind="x12_835")
    data = sample(EMEDNY).read_bytes()

    class Trickle(io.BytesIO):
        """A stream that hands out at most 100 bytes per read, like a slow upload."""

        def read(self, size: int = -1) -> bytes:
            return super().read(min(size, 100) if size and size > 0 else 100)

    received = file_receive(feed=feed, filename="../../etc/emedny.txt", stream=Trickle(data), source=FileSource.API,
                            user=a.users["integrator"])
    sha = hashlib.sha256(data).hexdigest()
    assert (received.sha256, received.size, received.filename, received.source) == \
        (sha, len(data), "emedny.txt", "api")
    assert received.storage_path == f"rcm/{a.org.pk}/{sha[:2]}/{sha}"
    assert file_path(received).read_bytes() == data
    assert received.was_received_before is False
    again = file_receive(feed=feed, filename="copy.txt", stream=io.BytesIO(data), source=FileSource.UPLOAD)
    assert again.pk == received.pk and again.was_received_before is True
    assert not any((file_path(received).parents[1] / "tmp").iterdir())  # no temporary file left behind


def test_upload_runs_the_job_after_commit_with_progress_and_result(a, eager, django_capture_on_commit_callbacks):
    feed = feed_save(name="Uploads", kind="x12_835")
    with django_capture_on_commit_callbacks(execute=True):
        run = ingestion_submit(feed=feed, filename="emedny.txt", stream=sample(EMEDNY).open("rb"),
                               source=FileSource.UPLOAD, user=a.users["billing_manager"])
    run.refresh_from_db()
    job = Job.objects.get(pk=run.job_id)
    assert job.status == JobStatus.SUCCEEDED and job.kind == "rcm_ingest" and job.celery_task_id
    assert job.result["run_id"] == run.pk and job.result["status"] == run.status == RunStatus.LOADED_WITH_WARNINGS
    assert job.progress_total == run.file.size and job.created_by == a.users["billing_manager"]
    assert ClaimPayment.objects.count() == 3


def test_inbox_polling_picks_a_file_up_once_and_moves_it(a, tmp_path):
    feed = feed_save(name="Inbox remits", kind="x12_835", inbox_dir="remits")
    inbox = feed_inbox_path(feed)
    (inbox / "emedny.835").write_bytes(sample(EMEDNY).read_bytes())
    (inbox / "half-written.835.part").write_bytes(b"ISA*")
    (inbox / ".hidden").write_bytes(b"x")
    assert tasks.feeds_poll(tenant_id=a.org.pk) == 1
    assert not (inbox / "emedny.835").exists() and (inbox / "processed" / "emedny.835").exists()
    assert (inbox / "half-written.835.part").exists() and (inbox / ".hidden").exists()
    received = ReceivedFile.objects.get()
    assert (received.source, received.feed, received.filename) == ("inbox", feed, "emedny.835")
    run = IngestionRun.objects.get(file=received)
    assert run.status == RunStatus.QUEUED and run.job_id
    # Polling again finds nothing; the same bytes dropped again are received as a duplicate.
    assert tasks.feeds_poll(tenant_id=a.org.pk, feed_id=feed.pk) == 0
    (inbox / "emedny.835").write_bytes(sample(EMEDNY).read_bytes())
    assert tasks.feeds_poll(tenant_id=a.org.pk) == 1
    assert ReceivedFile.objects.count() == 1
    assert IngestionRun.objects.filter(file=received, status=RunStatus.DUPLICATE).count() == 1
    assert len(os.listdir(inbox / "processed")) == 2  # the second copy kept under a new name


def test_inbox_leaves_a_file_that_is_still_being_written(a, settings):
    settings.RCM_INBOX_SETTLE_SECONDS = 60
    feed = feed_save(name="Inbox remits", kind="x12_835", inbox_dir="remits")
    path = feed_inbox_path(feed) / "fresh.835"
    path.write_bytes(sample(EMEDNY).read_bytes())
    assert tasks.feeds_poll(tenant_id=a.org.pk) == 0 and path.exists()
    old = time.time() - 120
    os.utime(path, (old, old))
    assert tasks.feeds_poll(tenant_id=a.org.pk) == 1


def test_inbox_poll_then_job_loads_the_file(a, eager, django_capture_on_commit_callbacks):
    feed = feed_save(name="Inbox remits", kind="x12_835", inbox_dir="remits")
    (feed_inbox_path(feed) / "emedny.835").write_bytes(sample(EMEDNY).read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        tasks.feeds_poll(tenant_id=a.org.pk, feed_id=feed.pk)
    assert IngestionRun.objects.get().status == RunStatus.LOADED_WITH_WARNINGS
    assert Remittance.objects.count() == 1


def test_a_file_loaded_in_one_organization_is_invisible_and_not_a_duplicate_in_another(world):
    with tenant_context(world.a.org):
        clear_rcm()
        run_a = load(sample(EMEDNY), "x12_835")
        file_a = run_a.file
    with tenant_context(world.b.org):
        clear_rcm()
        assert not ReceivedFile.objects.filter(sha256=file_a.sha256).exists()
        assert not ReceivedFile.objects.unscoped().filter(pk=file_a.pk).exists()  # row-level security
        assert not Remittance.objects.exists() and not IngestionRun.objects.filter(pk=run_a.pk).exists()
        run_b = load(sample(EMEDNY), "x12_835")
        assert run_b.status == RunStatus.LOADED_WITH_WARNINGS  # not "already loaded"
        assert run_b.file_id != file_a.pk and run_b.file.sha256 == file_a.sha256
        assert run_b.file.storage_path.startswith(f"rcm/{world.b.org.pk}/")
        assert ClaimPayment.objects.count() == 3
        # Same member ids, different organization salt: the hashes cannot be joined across tenants.
        hashes_b = set(ClaimPayment.objects.values_list("patient_hash", flat=True))
    with tenant_context(world.a.org):
        assert ClaimPayment.objects.count() == 3
        assert hashes_b.isdisjoint(ClaimPayment.objects.values_list("patient_hash", flat=True))


def test_tasks_need_a_tenant(world):
    with pytest.raises(TypeError, match="tenant_id"):
        tasks.feeds_poll()
