"""A real Celery worker process runs a tenant task against the test database and real Redis."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from revops.celery import app as celery_app
from revops.models import Job, JobStatus
from revops.tasks import jobs_prune
from revops.tenancy import tenant_context

ROOT = Path(__file__).resolve().parents[2]
RESULT_TIMEOUT = 90


def _test_database_url() -> str:
    """The URL of the database this test runs against (pytest-django's test database)."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    def __init__(self, process: subprocess.Popen[bytes], log: Path, queue: str) -> None:
        self.process = process
        self.log = log
        self.queue = queue

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = 15) -> bool:
        """True once ``text`` appears in the worker's log (it may lag behind the stored result)."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True


@pytest.fixture
def celery_worker(transactional_db: None) -> Iterator[Worker]:
    """``celery -A revops worker -P solo`` on a queue of its own, stopped after the test.

    The queue name is unique so that parallel test runs sharing one Redis never take each
    other's tasks (each run has its own test database).
    """
    queue = f"revops-test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    with tempfile.NamedTemporaryFile(prefix="celery-worker-", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "revops",
                "worker",
                "-P",
                "solo",
                "--concurrency",
                "1",
                "-Q",
                queue,
                "-n",
                f"{queue}@%h",
                "--without-mingle",
                "--without-gossip",
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        yield Worker(process, log_path, queue)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log_path.unlink(missing_ok=True)


def _finished_job(label: str, finished_days_ago: int, status: str = JobStatus.SUCCEEDED) -> Job:
    finished = timezone.now() - dt.timedelta(days=finished_days_ago)
    return Job.objects.create(
        kind="import",
        label=label,
        status=status,
        created_at=finished,
        started_at=finished,
        finished_at=finished,
    )


def _job_ids(org: object) -> set[int]:
    with tenant_context(org):
        return set(Job.objects.values_list("pk", flat=True))


@pytest.mark.celery_worker
def test_worker_prunes_only_the_given_organizations_old_jobs(
    transactional_db, world, celery_worker
):
    with tenant_context(world.a.org):
        a_old = {
            _finished_job("a old ok", 120).pk,
            _finished_job("a old failed", 95, JobStatus.FAILED).pk,
        }
        a_recent = _finished_job("a recent", 5).pk
        a_running = Job.objects.create(
            kind="import",
            label="a old but running",
            status=JobStatus.RUNNING,
            created_at=timezone.now() - dt.timedelta(days=200),
        ).pk
    with tenant_context(world.b.org):
        b_old = {
            _finished_job("b old ok", 120).pk,
            _finished_job("b old failed", 300, JobStatus.FAILED).pk,
        }
    # The world may hold jobs of its own (e.g. a queued import); they are not old and finished.
    a_before, b_before = _job_ids(world.a.org), _job_ids(world.b.org)
    assert {a_recent, a_running} | a_old <= a_before and b_old <= b_before

    assert celery_app.conf.task_always_eager is False
    result = jobs_prune.apply_async(kwargs={"tenant_id": world.a.org.pk}, queue=celery_worker.queue)
    try:
        deleted = result.get(timeout=RESULT_TIMEOUT)
    except Exception:
        pytest.fail(
            f"the worker did not finish jobs_prune; its output:\n{celery_worker.output()[-5000:]}"
        )

    assert deleted == len(a_old)
    assert celery_worker.wait_for_output(f"Task revops.tasks.jobs_prune[{result.id}] succeeded"), (
        celery_worker.output()[-5000:]
    )
    assert _job_ids(world.a.org) == a_before - a_old
    assert _job_ids(world.b.org) == b_before
