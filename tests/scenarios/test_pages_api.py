"""Pages and API of scenarios: create through the form and the API, detail tables and exports, share, recompute,
delete; isolation (another organization's scenario is 404), roles (billing manager, rep, integrator: 403) and
private vs shared visibility."""
from __future__ import annotations

import pytest
from django.urls import reverse

from revops.models import Role
from revops.tenancy import tenant_context
from scenarios import services
from scenarios.models import Scenario
from scenarios.tasks import scenario_compute_task
from tests.scenarios.fixtures import FEB, build

pytestmark = pytest.mark.django_db
ANALYST, EXEC, ADMIN = Role.REVOPS_ANALYST, Role.EXECUTIVE, Role.ADMIN


def make(tenant, world_rows, *, role=ANALYST, shared=False, name="Exit A"):
    with tenant_context(tenant.org):
        return services.scenario_create(name=name, kind="exit_contract", window_end=FEB, window_months=2,
                                        horizon_months=3, parameters={"contract_id": world_rows["contract"].pk},
                                        user=tenant.users[role], shared=shared, compute_now=True)


def run_job(tenant, scenario_id):
    """Run the scenario's queued computation as the worker would (tests/scenarios/test_jobs.py has a real one)."""
    with tenant_context(tenant.org):
        job = Scenario.objects.get(pk=scenario_id).job
        return scenario_compute_task(tenant_id=tenant.org.pk, job_id=job.pk, scenario_id=scenario_id)


@pytest.fixture
def rows(world):
    with tenant_context(world.a.org):
        return build(world.a)


def test_empty_list_explains_the_three_kinds(world):
    body = world.a.client(ANALYST).get(reverse("scenarios_list")).content.decode()
    assert "No scenarios yet" in body and "Exit a payer contract" in body and "Tighten an intake rule" in body
    assert "Change a payer's denial rate" in body


def test_create_through_the_form_and_read_the_detail(world, rows):
    client = world.a.client(ANALYST)
    assert client.get(reverse("scenarios_new")).status_code == 200
    response = client.post(reverse("scenarios_new"), {
        "name": "Exit A PPO", "kind": "exit_contract", "contract_id": rows["contract"].pk, "recapture_pct": "0",
        "window_end": "2025-02", "window_months": "2", "horizon_months": "3", "effective_month": ""})
    with tenant_context(world.a.org):
        s = Scenario.objects.get(name="Exit A PPO")
    assert response.status_code == 302 and response["Location"] == reverse("scenarios_detail", args=[s.pk])
    run_job(world.a, s.pk)
    page = client.get(response["Location"]).content.decode()
    assert 'id="summary-table"' in page and "-450.00" in page and "335.00" in page
    assert 'data-figure="cash-figure"' in page and "plotly/plotly.min.js" in page
    for table in ("summary", "monthly", "assumptions"):
        csv = client.get(reverse("scenarios_detail", args=[s.pk]) + f"?table={table}&format=csv")
        assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
        xlsx = client.get(reverse("scenarios_detail", args=[s.pk]) + f"?table={table}&format=xlsx")
        assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    csv = client.get(reverse("scenarios_detail", args=[s.pk]) + "?table=summary&format=csv").content.decode()
    assert "Net contribution margin" in csv and "335.00" in csv
    listing = client.get(reverse("scenarios_list") + "?format=csv").content.decode()
    assert "Exit A PPO" in listing


def test_form_errors_stay_on_the_form(world, rows):
    # Parameter errors stay on the form; a change the data refuses is shown on the scenario's page (test_jobs.py).
    client = world.a.client(ANALYST)
    response = client.post(reverse("scenarios_new"), {
        "name": "Bad", "kind": "denial_rate_change", "payer_id": rows["a"].pk, "delta_points": "0",
        "window_end": "2025-02", "window_months": "2", "horizon_months": "3"})
    assert response.status_code == 400 and "Enter the change in percentage points" in response.content.decode()
    response = client.post(reverse("scenarios_new"), {
        "name": "Bad dates", "kind": "tighten_intake_rule", "intake_payer_id": rows["a"].pk,
        "program_id": rows["php"].pk, "decision": "not_allowed", "rule_effective_from": "2025-02-01",
        "rule_effective_to": "2025-01-01", "window_end": "2025-02", "window_months": "2", "horizon_months": "3"})
    body = response.content.decode()
    assert response.status_code == 400 and "cannot come before its start" in body
    assert body.index("cannot come before its start") > body.index('name="rule_effective_to"')
    with tenant_context(world.a.org):
        assert not Scenario.objects.exists()


def test_share_recompute_delete_on_pages(world, rows):
    s = make(world.a, rows)
    author, other = world.a.client(ANALYST), world.a.client(EXEC)
    url = reverse("scenarios_detail", args=[s.pk])
    assert other.get(url).status_code == 404  # private
    assert author.post(reverse("scenarios_share", args=[s.pk]), {"shared": "1"}).status_code == 302
    assert other.get(url).status_code == 200  # the link works once shared
    assert other.post(reverse("scenarios_delete", args=[s.pk])).status_code == 404  # not theirs
    response = other.post(reverse("scenarios_recompute", args=[s.pk]), follow=True)
    assert "Recomputing from today" in response.content.decode() and 'role="progressbar"' in response.content.decode()
    run_job(world.a, s.pk)
    assert "the data is unchanged" in other.get(url).content.decode()
    assert author.post(reverse("scenarios_delete", args=[s.pk])).status_code == 302
    with tenant_context(world.a.org):
        assert not Scenario.objects.filter(pk=s.pk).exists()


def test_admin_may_delete_a_shared_scenario(world, rows):
    s = make(world.a, rows, shared=True)
    assert world.a.client(ADMIN).post(reverse("scenarios_delete", args=[s.pk])).status_code == 302


@pytest.mark.parametrize("role", [Role.BILLING_MANAGER, Role.REP])
def test_roles_without_scenarios_get_403(world, rows, role):
    s = make(world.a, rows, shared=True)
    client, api = world.a.client(role), world.a.api(role)
    assert client.get(reverse("scenarios_list")).status_code == 403
    assert client.get(reverse("scenarios_detail", args=[s.pk])).status_code == 403
    assert client.post(reverse("scenarios_new"), {}).status_code == 403
    assert api.get("/api/v1/scenarios/").status_code == 403
    assert api.get(f"/api/v1/scenarios/{s.pk}/").status_code == 403


def test_integrator_key_gets_403(world, rows):
    assert world.a.api().get("/api/v1/scenarios/").status_code == 403


def test_another_organizations_scenario_is_404(world, rows):
    with tenant_context(world.b.org):
        theirs = build(world.b)
    s = make(world.b, theirs, role=ADMIN, shared=True)
    for role in (ADMIN, ANALYST, EXEC):
        client, api = world.a.client(role), world.a.api(role)
        assert client.get(reverse("scenarios_detail", args=[s.pk])).status_code == 404
        assert client.post(reverse("scenarios_recompute", args=[s.pk])).status_code == 404
        assert client.post(reverse("scenarios_delete", args=[s.pk])).status_code == 404
        assert api.get(f"/api/v1/scenarios/{s.pk}/").status_code == 404
        assert api.get(f"/api/v1/scenarios/{s.pk}/results/").status_code == 404
        assert api.delete(f"/api/v1/scenarios/{s.pk}/").status_code == 404
        assert b"Summit" not in client.get(reverse("scenarios_list")).content
    with tenant_context(world.b.org):
        assert Scenario.objects.filter(pk=s.pk).exists()


def test_api_create_read_results_share_recompute_delete(world, rows):
    api = world.a.api(ANALYST)
    response = api.post("/api/v1/scenarios/", {
        "name": "Denials -50", "kind": "denial_rate_change", "window_end": "2025-02-15", "window_months": 2,
        "horizon_months": 3, "parameters": {"payer_id": rows["a"].pk, "delta_points": "-50"}}, format="json")
    assert response.status_code == 202, response.content
    queued = response.json()
    sid = queued["scenario"]["id"]
    assert queued["scenario"]["status"] == "computing" and queued["job_url"].endswith(f"/jobs/{queued['job_id']}/")
    run_job(world.a, sid)
    body = api.get(f"/api/v1/scenarios/{sid}/").json()
    assert body["status"] == "computed" and body["job_id"] == queued["job_id"]
    assert body["effective_month"] == "2025-03-01" and body["url"].endswith(f"/scenarios/{sid}/")
    margin = next(r for r in body["result"]["summary"] if r["key"] == "margin")
    assert margin == {"key": "margin", "label": "Net contribution margin", "unit": "money", "base": "-450.00",
                      "scenario": "367.50", "delta": "817.50"}
    assert [r["id"] for r in api.get("/api/v1/scenarios/").json()["results"]] == [sid]
    monthly = api.get(f"/api/v1/scenarios/{sid}/results/?table=monthly").json()
    assert [r["cash_delta"] for r in monthly] == ["0.00", "400.00", "400.00"]
    csv = api.get(f"/api/v1/scenarios/{sid}/results/?table=monthly&format=csv")
    assert csv.status_code == 200 and b"cash_delta" in csv.content
    assert api.get(f"/api/v1/scenarios/{sid}/results/?table=nope").status_code == 400
    other = world.a.api(EXEC)
    assert other.get(f"/api/v1/scenarios/{sid}/").status_code == 404  # private
    assert api.post(f"/api/v1/scenarios/{sid}/share/", {"shared": True}, format="json").status_code == 200
    assert other.get(f"/api/v1/scenarios/{sid}/").status_code == 200
    assert other.post(f"/api/v1/scenarios/{sid}/share/", {"shared": False}, format="json").status_code == 404
    recomputed = other.post(f"/api/v1/scenarios/{sid}/recompute/")
    assert recomputed.status_code == 202 and recomputed.json()["job_id"] != queued["job_id"]
    assert run_job(world.a, sid)["changed"] is False
    job = other.get(recomputed.json()["job_url"]).json()
    assert job["status"] == "succeeded" and job["result"]["changed"] is False
    assert other.delete(f"/api/v1/scenarios/{sid}/").status_code == 404
    assert api.delete(f"/api/v1/scenarios/{sid}/").status_code == 204


def test_api_validation_errors(world, rows):
    api = world.a.api(ANALYST)
    response = api.post("/api/v1/scenarios/", {"name": "x", "kind": "exit_contract",
                                               "parameters": {"contract_id": 987654}}, format="json")
    assert response.status_code == 400 and "contract_id" in response.json()
    response = api.post("/api/v1/scenarios/", {"name": "x", "kind": "denial_rate_change", "window_end": "2025-02-01",
                                               "window_months": 2,
                                               "parameters": {"payer_id": rows["a"].pk, "delta_points": "0"}},
                        format="json")
    assert response.status_code == 400 and "delta_points" in response.json()
    # A change the data refuses (payer A's rate is 50%: it cannot fall by 60 points) is known once computed.
    response = api.post("/api/v1/scenarios/", {"name": "x", "kind": "denial_rate_change", "window_end": "2025-02-01",
                                               "window_months": 2,
                                               "parameters": {"payer_id": rows["a"].pk, "delta_points": "-60"}},
                        format="json")
    assert response.status_code == 202
    sid = response.json()["scenario"]["id"]
    with pytest.raises(services.ScenarioRefused):
        run_job(world.a, sid)
    body = api.get(f"/api/v1/scenarios/{sid}/").json()
    assert body["status"] == "refused" and "cannot fall by 60 points" in body["error"]


def test_openapi_documents_the_endpoints(world):
    schema = world.a.api(ANALYST).get("/api/v1/schema/").content.decode()
    assert "/api/v1/scenarios/{id}/recompute/" in schema and "/api/v1/scenarios/{id}/results/" in schema
    assert "ScenarioQueued" in schema and "'202':" in schema
