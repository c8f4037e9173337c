"""Jobs pages: the list, a job's page, and the progress fragment htmx polls (286 stops it)."""
from __future__ import annotations

import pytest
from django.urls import reverse

from revops.jobs import job_claim, job_create, job_fail, job_progress, job_succeed
from revops.models import Job, Role
from revops.tenancy import tenant_context


def job_of(tenant) -> Job:
    return tenant.objects["job"]


@pytest.mark.parametrize("role", Role.values)
def test_every_member_sees_the_list_and_a_job(world, role):
    client = world.a.client(role)
    listing = client.get(reverse("jobs"))
    assert listing.status_code == 200 and b"Harbor Behavioral accounts import" in listing.content
    assert b"summit" not in listing.content.lower()
    assert client.get(reverse("job_detail", args=[job_of(world.a).pk])).status_code == 200


def test_empty_state(world):
    with tenant_context(world.a.org):
        Job.objects.all().delete()
    assert b"No jobs yet" in world.a.client("admin").get(reverse("jobs")).content


def test_running_job_fragment_polls_every_second_with_live_progress(world):
    job = job_of(world.a)
    with tenant_context(world.a.org):
        job_claim(job_id=job.pk)
        job_progress(job_id=job.pk, done=4, total=10, message="4 of 10 rows read")
    response = world.a.client("rep").get(reverse("job_progress", args=[job.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert f'hx-get="{reverse("job_progress", args=[job.pk])}"' in body and 'hx-trigger="every 1s"' in body
    assert "4 / 10 · 40%" in body and "4 of 10 rows read" in body
    assert 'aria-valuenow="40"' in body


def test_finished_job_answers_286_so_polling_stops(world):
    job = job_of(world.a)
    with tenant_context(world.a.org):
        job_claim(job_id=job.pk)
        job_succeed(job_id=job.pk, result={"rows": 0})
    response = world.a.client("admin").get(reverse("job_progress", args=[job.pk]))
    assert response.status_code == 286
    assert response["HX-Trigger"] == "job-finished"
    assert b"hx-trigger" not in response.content and b"100%" in response.content


def test_failed_job_page_shows_the_reason_not_the_traceback(world):
    job = job_of(world.a)
    with tenant_context(world.a.org):
        job_claim(job_id=job.pk)
        job_fail(job_id=job.pk, error="ImportFileError: The file is empty.\n\nTraceback (most recent call last): ...")
    body = world.a.client("admin").get(reverse("job_detail", args=[job.pk])).content.decode()
    assert "The job failed" in body and "The file is empty." in body and "Traceback" not in body


def test_a_page_can_include_the_progress_fragment(world):
    body = world.a.client("admin").get(reverse("job_detail", args=[job_of(world.a).pk])).content.decode()
    assert f'id="job-progress-{job_of(world.a).pk}"' in body
    # The result section refreshes itself when the fragment reports the job finished.
    assert 'hx-trigger="job-finished from:body"' in body


def test_htmx_detail_request_returns_the_result_fragment(world):
    with tenant_context(world.a.org):
        job = job_create(kind="accounts_import", label="x")
        job_claim(job_id=job.pk)
        job_succeed(job_id=job.pk, result={"rows": 3, "created": 3, "updated": 0, "unchanged": 0,
                                           "error_count": 0, "errors": []})
    response = world.a.client("admin").get(reverse("job_detail", args=[job.pk]), headers={"HX-Request": "true"})
    body = response.content.decode().strip()
    assert body.startswith('<section id="job-result"') and "Every row loaded." in body


def test_another_organizations_job_is_404(world):
    client = world.a.client("admin")
    foreign = job_of(world.b)
    for name in ("job_detail", "job_progress", "job_errors_csv"):
        assert client.get(reverse(name, args=[foreign.pk])).status_code == 404, name


def test_jobs_pages_are_read_only(world):
    client = world.a.client("admin")
    assert client.post(reverse("jobs")).status_code == 403
    assert client.post(reverse("job_progress", args=[job_of(world.a).pk])).status_code == 403
