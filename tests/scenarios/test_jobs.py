"""Scenarios are computed by a background job: creating or recomputing one queues ``scenarios.tasks.
scenario_compute_task`` after the transaction commits, the task reports progress in five steps and stores the
result (or the refusal); a real Celery worker runs it end to end through the API."""
from __future__ import annotations

import functools
import time

import pytest
from django.urls import reverse

from revops.models import Job, JobStatus, Role
from revops.tenancy import tenant_context
from scenarios import services
from scenarios.models import Scenario
from scenarios.tasks import scenario_compute_task
from tests.revops.test_celery_worker import RESULT_TIMEOUT, celery_worker  # noqa: F401 (fixture)
from tests.scenarios.fixtures import FEB, build

ANALYST = Role.REVOPS_ANALYST


def queue(**kw):
    values = dict(name="Exit A", kind="exit_contract", window_end=FEB, window_months=2, horizon_months=3)
    values.update(kw)
    return services.scenario_create(**values)


def run(tenant, scenario):
    """What the worker does with the queued job (the task, called in this process)."""
    job = Scenario.objects.get(pk=scenario.pk).job
    return scenario_compute_task(tenant_id=tenant.org.pk, job_id=job.pk, scenario_id=scenario.pk)


def margin(s):
    return next(r for r in s.result["summary"] if r["key"] == "margin")


@pytest.mark.django_db
def test_create_queues_the_job_after_commit_and_the_task_stores_the_result(scenario_world, tenant_a,
                                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        s = queue(parameters={"contract_id": scenario_world["contract"].pk}, user=tenant_a.users[ANALYST])
    assert len(callbacks) == 1  # sent to Celery once the transaction commits
    job = s.job
    assert job.kind == services.COMPUTE_JOB and job.status == JobStatus.QUEUED and job.progress_total == 5
    assert job.params == {"scenario_id": s.pk} and job.created_by == tenant_a.users[ANALYST]
    assert s.result == {} and s.computed_at is None
    from scenarios.selectors import scenario_status

    assert scenario_status(s) == "computing"
    result = run(tenant_a, s)
    s.refresh_from_db()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress_done == 5 and job.percent == 100
    assert result == job.result and result["first"] is True and result["changed"] is None
    assert margin(s) == {"key": "margin", "label": "Net contribution margin", "unit": "money", "base": "-450.00",
                         "scenario": "-115.00", "delta": "335.00"}
    assert scenario_status(s) == "computed" and s.error == ""


@pytest.mark.django_db
def test_recompute_queues_one_job_at_a_time_and_says_whether_the_data_changed(scenario_world, tenant_a):
    s = queue(parameters={"contract_id": scenario_world["contract"].pk})
    run(tenant_a, s)
    first = services.scenario_recompute_start(scenario=s)
    assert services.scenario_recompute_start(scenario=s) == first  # still queued: the same job
    assert run(tenant_a, s)["changed"] is False
    from intake.models import ProgramCost

    ProgramCost.objects.filter(month=FEB).update(amount="700")
    second = services.scenario_recompute_start(scenario=s)
    assert second != first
    assert run(tenant_a, s)["changed"] is True
    s.refresh_from_db()
    assert s.job == second and next(r for r in s.result["summary"] if r["key"] == "direct_cost")["base"] == \
        "1700.00"


@pytest.mark.django_db
def test_a_change_the_data_refuses_fails_the_job_and_is_shown_on_the_scenario(scenario_world, tenant_a):
    s = queue(kind="denial_rate_change", parameters={"payer_id": scenario_world["a"].pk, "delta_points": "-80"})
    with pytest.raises(services.ScenarioRefused):
        run(tenant_a, s)
    s.refresh_from_db()
    assert s.job.status == JobStatus.FAILED and "cannot fall by 80 points" in s.error and s.result == {}
    from scenarios.selectors import scenario_status

    assert scenario_status(s) == "refused"


@pytest.mark.django_db
def test_a_scenario_deleted_before_its_job_runs_is_nothing_to_do(scenario_world, tenant_a):
    s = queue(parameters={"contract_id": scenario_world["contract"].pk})
    job = s.job
    services.scenario_delete(scenario=s)
    assert scenario_compute_task(tenant_id=tenant_a.org.pk, job_id=job.pk, scenario_id=s.pk) == {
        "scenario_id": s.pk, "deleted": True}


@pytest.mark.django_db
def test_the_page_shows_the_progress_bar_then_the_result(world):
    a = world.a
    with tenant_context(a.org):
        rows = build(a)
    client = a.client(ANALYST)
    response = client.post(reverse("scenarios_new"), {
        "name": "Exit A PPO", "kind": "exit_contract", "contract_id": rows["contract"].pk, "recapture_pct": "0",
        "window_end": "2025-02", "window_months": "2", "horizon_months": "3"})
    with tenant_context(a.org):
        s = Scenario.objects.get(name="Exit A PPO")
    assert response.status_code == 302 and response["Location"] == reverse("scenarios_detail", args=[s.pk])
    page = client.get(response["Location"]).content.decode()
    # The progress bar polls the job; when it finishes, the page body is fetched again.
    assert 'role="progressbar"' in page and reverse("job_progress", args=[s.job_id]) in page
    assert 'hx-trigger="job-finished from:body"' in page and 'id="summary-table"' not in page
    assert "disabled" in page.split('id="recompute"')[1][:40]  # no second computation while this one runs
    listing = client.get(reverse("scenarios_list")).content.decode()
    assert "Computing…" in listing
    with tenant_context(a.org):
        run(a, s)
    body = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert body.lstrip().startswith('<div id="scenario-body">') and "<html" not in body  # the fragment only
    assert 'id="summary-table"' in body and "335.00" in body and 'role="progressbar"' not in body
    # Recompute: a job again; once it ran, the page says the data is unchanged.
    assert client.post(reverse("scenarios_recompute", args=[s.pk])).status_code == 302
    with tenant_context(a.org):
        run(a, s)
    assert "the data is unchanged" in client.get(response["Location"]).content.decode()


@pytest.mark.django_db
def test_a_refused_change_is_shown_on_the_page(world):
    a = world.a
    with tenant_context(a.org):
        rows = build(a)
        s = queue(kind="denial_rate_change", parameters={"payer_id": rows["a"].pk, "delta_points": "-80"},
                  user=a.users[ANALYST])
        with pytest.raises(services.ScenarioRefused):
            run(a, s)
    page = a.client(ANALYST).get(reverse("scenarios_detail", args=[s.pk])).content.decode()
    assert 'id="refused"' in page and "cannot fall by 80 points" in page and 'id="summary-table"' not in page
    assert "Refused" in a.client(ANALYST).get(reverse("scenarios_list")).content.decode()


@pytest.mark.celery_worker
def test_a_real_worker_computes_a_scenario_created_through_the_api(transactional_db, world, celery_worker,
                                                                   monkeypatch):
    from revops.celery import app as celery_app

    assert celery_app.conf.task_always_eager is False
    # The enqueue after commit goes to this test's worker queue.
    monkeypatch.setattr(scenario_compute_task, "apply_async",
                        functools.partial(scenario_compute_task.apply_async, queue=celery_worker.queue))
    with tenant_context(world.a.org):
        rows = build(world.a)
    api = world.a.api(ANALYST)
    response = api.post("/api/v1/scenarios/", {
        "name": "Denials -50", "kind": "denial_rate_change", "window_end": "2025-02-01", "window_months": 2,
        "horizon_months": 3, "parameters": {"payer_id": rows["a"].pk, "delta_points": "-50"}}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    sid, job_id = body["scenario"]["id"], body["job_id"]
    assert body["job_url"].endswith(f"/api/v1/jobs/{job_id}/") and body["scenario"]["status"] == "computing"
    deadline = time.monotonic() + RESULT_TIMEOUT
    while (job := api.get(f"/api/v1/jobs/{job_id}/").json())["status"] not in ("succeeded", "failed"):
        if time.monotonic() > deadline:
            pytest.fail(f"the worker did not finish the scenario job; its output:\n{celery_worker.output()[-5000:]}")
        time.sleep(0.3)
    assert job["status"] == "succeeded", (job, celery_worker.output()[-3000:])
    assert celery_worker.wait_for_output("Task scenarios.tasks.scenario_compute_task"), celery_worker.output()[-3000:]
    assert job["progress_done"] == job["progress_total"] == 5
    scenario = api.get(f"/api/v1/scenarios/{sid}/").json()
    assert scenario["status"] == "computed" and scenario["job_id"] == job_id
    # Hand-computed in test_services: payer A's denials 50 points lower, margin -450 -> 367.50.
    assert next(r for r in scenario["result"]["summary"] if r["key"] == "margin")["scenario"] == "367.50"
    # Recompute through the API: 202, the worker again, nothing changed.
    response = api.post(f"/api/v1/scenarios/{sid}/recompute/")
    assert response.status_code == 202 and response.json()["job_id"] != job_id
    again = response.json()["job_id"]
    deadline = time.monotonic() + RESULT_TIMEOUT
    while (job := api.get(f"/api/v1/jobs/{again}/").json())["status"] not in ("succeeded", "failed"):
        if time.monotonic() > deadline:
            pytest.fail(f"the worker did not finish the recompute; its output:\n{celery_worker.output()[-5000:]}")
        time.sleep(0.3)
    assert job["status"] == "succeeded" and job["result"]["changed"] is False
    with tenant_context(world.a.org):
        assert Job.objects.filter(kind=services.COMPUTE_JOB).count() == 2
