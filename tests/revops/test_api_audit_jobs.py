"""The audit-trail and jobs endpoints: filters, roles, tenants, and live job progress."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from revops.jobs import job_create, job_progress
from revops.models import AuditEvent, Job, JobStatus, Role
from revops.tenancy import tenant_context


def test_audit_trail_of_one_record_with_filters(world):
    account = world.a.objects["account"]
    world.a.api().patch(f"/api/v1/accounts/{account.pk}/", {"specialty": "Psychiatry"}, format="json")
    world.a.api(Role.REVOPS_ANALYST).patch(f"/api/v1/accounts/{account.pk}/", {"city": "Franklin"}, format="json")

    api = world.a.api(Role.EXECUTIVE)
    base = f"/api/v1/audit-events/?model=revops.Account&object_pk={account.pk}"
    events = api.get(base).json()["results"]
    assert [e["action"] for e in events] == ["update", "update", "create"]  # newest first
    assert events[0]["changed_fields"] == ["city"] and events[0]["actor_username"] == "harbor-revops_analyst"
    assert events[1]["actor_label"] == "api-key:harbor CRM sync"
    assert events[1]["actor_api_key"] == world.a.objects["apikey"].pk
    assert events[1]["before"]["specialty"] == "Family Medicine" and events[1]["after"]["specialty"] == "Psychiatry"

    assert len(api.get(base + "&action=create").json()["results"]) == 1
    assert len(api.get(base + "&actor=api-key").json()["results"]) == 1
    analyst_id = world.a.users[Role.REVOPS_ANALYST].pk
    assert len(api.get(base + f"&actor_user={analyst_id}").json()["results"]) == 1
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert api.get(base + f"&since={tomorrow}").json()["results"] == []
    assert len(api.get(base + f"&until={tomorrow}").json()["results"]) == 3
    assert api.get(base + "&since=not-a-date").status_code == 400


def test_audit_trail_roles_and_tenants(world):
    assert world.a.api(Role.REVOPS_ANALYST).get("/api/v1/audit-events/").status_code == 403
    assert world.a.api(Role.ADMIN).get("/api/v1/audit-events/").status_code == 200
    with tenant_context(world.b.org):
        foreign = AuditEvent.objects.first()
    assert world.a.api(Role.ADMIN).get(f"/api/v1/audit-events/{foreign.pk}/").status_code == 404
    body = world.a.api(Role.ADMIN).get("/api/v1/audit-events/?limit=1000").content
    assert b"Summit" not in body and b"summit" not in body
    # The trail is read-only: a write is a "change" the matrix gives no role (403 before 405).
    assert world.a.api(Role.ADMIN).delete(f"/api/v1/audit-events/{foreign.pk}/").status_code == 403
    with tenant_context(world.b.org):
        assert AuditEvent.objects.filter(pk=foreign.pk).exists()


def test_jobs_show_live_progress_from_redis(world):
    with tenant_context(world.a.org):
        job = job_create(kind="accounts_import", label="Import accounts", total=200)
        Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
        # Inside the test's transaction only Redis gets the progress, as during a long task.
        job_progress(job_id=job.pk, done=50, total=200, message="50 of 200 rows")
    api = world.a.api(Role.REP)
    body = api.get(f"/api/v1/jobs/{job.pk}/").json()
    assert (body["status"], body["progress_done"], body["percent"], body["message"]) == (
        "running", 50, 25, "50 of 200 rows")
    assert body["is_finished"] is False
    listed = api.get("/api/v1/jobs/?status=running&kind=accounts_import").json()["results"]
    assert [(j["id"], j["progress_done"]) for j in listed] == [(job.pk, 50)]
    assert api.get("/api/v1/jobs/?status=succeeded").json()["results"] == []
    assert job.pk not in [j["id"] for j in api.get("/api/v1/jobs/?status=queued").json()["results"]]


def test_failed_job_shows_the_error_line_not_the_traceback(world):
    with tenant_context(world.a.org):
        job = job_create(kind="recalc")
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, error="ValueError: bad row 7\n\nTraceback (most recent call last): ...")
    body = world.a.api().get(f"/api/v1/jobs/{job.pk}/").json()
    assert body["error"] == "ValueError: bad row 7" and body["is_finished"] is True


def test_jobs_of_another_organization_are_404(world):
    with tenant_context(world.b.org):
        job = job_create(kind="summit_only")
    assert world.a.api(Role.ADMIN).get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    listed = world.a.api(Role.ADMIN).get("/api/v1/jobs/").json()["results"]
    assert job.pk not in [j["id"] for j in listed] and listed
    assert world.a.api().post("/api/v1/jobs/", {}, format="json").status_code == 403  # read-only resource
