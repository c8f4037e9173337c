"""The plan-builder API: plans, versions (activate, retire), components (tiers, EKRA flag, sign-off), assignments
(end) and credit rules; roles, another organization's rows (404 / 400), exports and the OpenAPI description."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from commissions.models import CompPlan, CompPlanVersion, Component, VersionStatus
from commissions.services import plans as services
from revops.models import Role
from revops.tenancy import tenant_context

pytestmark = pytest.mark.django_db

API = "/api/v1/commissions"
D = Decimal


def create_plan(client, name="AE plan"):
    response = client.post(f"{API}/plans/", {"name": name, "description": "Account executives"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_plan_crud_and_refusals(world):
    api = world.a.api(Role.REVOPS_ANALYST)
    plan = create_plan(api)
    assert plan["name"] == "AE plan" and plan["versions"] == []
    duplicate = api.post(f"{API}/plans/", {"name": "ae plan"}, format="json")
    assert duplicate.status_code == 400
    assert duplicate.json() == {"name": ["A compensation plan named 'ae plan' already exists."]}
    renamed = api.patch(f"{API}/plans/{plan['id']}/", {"name": "AE plan 2025"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "AE plan 2025"
    listed = api.get(f"{API}/plans/").json()
    assert [p["name"] for p in listed["results"]] == ["AE plan 2025"]
    person = world.a.objects["person"].pk
    assert api.post(f"{API}/assignments/", {"person": person, "plan": plan["id"], "effective_from": "2025-01-01"},
                    format="json").status_code == 201
    refused = api.delete(f"{API}/plans/{plan['id']}/")
    assert refused.status_code == 400 and "has assignments" in str(refused.json())
    empty = create_plan(api, "Unused")
    assert api.delete(f"{API}/plans/{empty['id']}/").status_code == 204


def test_versions_components_signoff_and_activation(world):
    with tenant_context(world.a.org):
        world.a.org.ekra_covered = True
        world.a.org.save()
    analyst, executive = world.a.api(Role.REVOPS_ANALYST), world.a.api(Role.EXECUTIVE)
    plan = create_plan(analyst)
    v1 = analyst.post(f"{API}/versions/", {"plan": plan["id"], "effective_from": "2025-01-01"}, format="json")
    assert v1.status_code == 201, v1.content
    v1 = v1.json()
    assert (v1["version"], v1["status"], v1["quota_basis"]) == (1, "draft", "bookings")

    tiered = analyst.post(f"{API}/components/", {
        "version": v1["id"], "name": "Bookings", "kind": "commission", "basis": "bookings",
        "rate_type": "tiered_marginal", "tiers": [{"from": "0", "rate": "0.05"}, {"from": 100, "rate": 0.08}]},
        format="json")
    assert tiered.status_code == 201, tiered.content
    body = tiered.json()
    assert body["tiers"] == [{"from": "0", "rate": "0.05"}, {"from": "100", "rate": "0.08"}]
    assert body["flagged"] is False and body["ekra_explanation"] is None and body["signoff"] is None
    assert body["terms"] == ["5% of bookings credited to you; 8% on the part above 100% of quota."]

    bad = analyst.post(f"{API}/components/", {
        "version": v1["id"], "name": "Bad", "rate_type": "tiered_marginal",
        "tiers": [{"from": "5", "rate": "0.05"}]}, format="json")
    assert bad.status_code == 400
    assert bad.json() == {"tiers": ["The first tier starts from 0 (it is the rate below the next threshold); it "
                                    "starts from 5."]}
    unknown_key = analyst.post(f"{API}/components/", {
        "version": v1["id"], "name": "Bad", "rate_type": "tiered_marginal", "tiers": [{"from": "0", "pct": "5"}]},
        format="json")
    assert unknown_key.status_code == 400

    referral = analyst.post(f"{API}/components/", {
        "version": v1["id"], "name": "Referral pay", "basis": "referrals", "rate": "25"}, format="json").json()
    assert referral["flagged"] is True and "18 U.S.C. § 220" in referral["ekra_explanation"]

    detail = analyst.get(f"{API}/versions/{v1['id']}/").json()
    assert [c["name"] for c in detail["components"]] == ["Bookings", "Referral pay"]
    assert detail["missing_signoffs"] == [referral["id"]]

    refused = executive.post(f"{API}/versions/{v1['id']}/activate/")
    assert refused.status_code == 400
    assert "needs a compliance sign-off first: Referral pay." in str(refused.json())
    assert analyst.post(f"{API}/versions/{v1['id']}/activate/").status_code == 403
    assert analyst.post(f"{API}/components/{referral['id']}/signoff/", {"reason": "ok"}, format="json").status_code == 403
    assert world.a.api().post(f"{API}/components/{referral['id']}/signoff/", {"reason": "ok"},
                              format="json").status_code == 403  # integrators have no approve right
    no_reason = executive.post(f"{API}/components/{referral['id']}/signoff/", {}, format="json")
    assert no_reason.status_code == 400
    signed = executive.post(f"{API}/components/{referral['id']}/signoff/", {"reason": "Counsel reviewed"},
                            format="json")
    assert signed.status_code == 201
    assert signed.json()["signed_by"] == world.a.users[Role.EXECUTIVE].username

    activated = executive.post(f"{API}/versions/{v1['id']}/activate/")
    assert activated.status_code == 200, activated.content
    assert activated.json()["version"]["status"] == "active" and activated.json()["changes"] == []
    assert activated.json()["version"]["activated_by"] == world.a.users[Role.EXECUTIVE].username

    # An active version is fixed; a copy starts a new draft, and activating it ends v1.
    fixed = analyst.patch(f"{API}/components/{tiered.json()['id']}/", {"name": "Renamed"}, format="json")
    assert fixed.status_code == 400 and "only a draft changes" in str(fixed.json())
    v2 = analyst.post(f"{API}/versions/", {"plan": plan["id"], "effective_from": "2025-07-01",
                                           "copy_from": v1["id"]}, format="json").json()
    assert v2["version"] == 2 and v2["component_count"] == 2
    assert executive.post(f"{API}/components/999999999/signoff/", {"reason": "x"}, format="json").status_code == 404
    with tenant_context(world.a.org):
        for c in Component.objects.filter(version_id=v2["id"], basis="referrals"):
            services.signoff_record(component=c, user=world.a.users[Role.ADMIN], reason="Reviewed for v2")
    second = executive.post(f"{API}/versions/{v2['id']}/activate/").json()
    assert second["changes"] == ["v1 now ends on Jul 1, 2025."]
    listed = analyst.get(f"{API}/versions/", {"plan": plan["id"], "in_force_on": "2025-03-01"}).json()["results"]
    assert [v["version"] for v in listed] == [1]
    retired = executive.post(f"{API}/versions/{v2['id']}/retire/")
    assert retired.status_code == 200 and retired.json()["status"] == "retired"


def test_draft_versions_change_and_delete(world):
    api = world.a.api(Role.REVOPS_ANALYST)
    plan = create_plan(api)
    v = api.post(f"{API}/versions/", {"plan": plan["id"], "effective_from": "2025-01-01"}, format="json").json()
    patched = api.patch(f"{API}/versions/{v['id']}/", {"period_cap": "20000.00", "effective_to": "2026-01-01"},
                        format="json")
    assert patched.status_code == 200 and patched.json()["period_cap"] == "20000.00"
    bad = api.patch(f"{API}/versions/{v['id']}/", {"effective_to": "2024-12-01"}, format="json")
    assert bad.status_code == 400 and "must end after it starts" in str(bad.json())
    assert api.patch(f"{API}/versions/{v['id']}/", {"plan": create_plan(api, "Other")["id"]},
                     format="json").status_code == 400
    assert api.delete(f"{API}/versions/{v['id']}/").status_code == 204


def test_assignments_overlap_and_end(world):
    api = world.a.api(Role.REVOPS_ANALYST)
    plan = create_plan(api)
    person = world.a.objects["person"].pk
    first = api.post(f"{API}/assignments/", {"person": person, "plan": plan["id"], "effective_from": "2025-01-01",
                                             "quota_amount": "100000.00"}, format="json")
    assert first.status_code == 201 and first.json()["person_name"] == "Ray Rep harbor"
    overlap = api.post(f"{API}/assignments/", {"person": person, "plan": plan["id"], "effective_from": "2025-06-01"},
                       format="json")
    assert overlap.status_code == 400
    assert overlap.json() == {"non_field_errors": [
        "Ray Rep harbor is already on AE plan from Jan 1, 2025 with no end date; a person is on one plan at a time. "
        "End that assignment first, or start this one after it ends."]}
    ended = api.post(f"{API}/assignments/{first.json()['id']}/end/", {"effective_to": "2025-06-01"}, format="json")
    assert ended.status_code == 200 and ended.json()["effective_to"] == "2025-06-01"
    assert api.post(f"{API}/assignments/", {"person": person, "plan": plan["id"], "effective_from": "2025-06-01"},
                    format="json").status_code == 201
    active = api.get(f"{API}/assignments/", {"active_on": "2025-03-15"}).json()["results"]
    assert [(a["effective_from"], a["effective_to"]) for a in active] == [("2025-01-01", "2025-06-01")]
    export = api.get(f"{API}/assignments/?format=csv")
    assert export["Content-Type"].startswith("text/csv")
    exported = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert sorted(r["effective_from"] for r in exported) == ["2025-01-01", "2025-06-01"]


def test_credit_rules_crud(world):
    api = world.a.api()  # an integrator's API key may keep rules
    created = api.post(f"{API}/credit-rules/", {"name": "Overlay 10%", "kind": "overlay", "share": "0.1"},
                       format="json")
    assert created.status_code == 201 and created.json()["share"] == "0.1" and created.json()["level"] == 1
    rule = created.json()["id"]
    duplicate = api.post(f"{API}/credit-rules/", {"name": "Again", "kind": "overlay", "share": "0.2"}, format="json")
    assert duplicate.status_code == 400
    assert api.patch(f"{API}/credit-rules/{rule}/", {"share": "0.15", "is_active": False},
                     format="json").json()["share"] == "0.15"
    assert api.patch(f"{API}/credit-rules/{rule}/", {"share": "2"}, format="json").status_code == 400
    assert api.delete(f"{API}/credit-rules/{rule}/").status_code == 204


def test_roles(world):
    for role in (Role.REP, Role.BILLING_MANAGER):
        assert world.a.api(role).get(f"{API}/plans/").status_code == 403
    assert world.a.api(Role.EXECUTIVE).get(f"{API}/plans/").status_code == 200
    assert world.a.api(Role.EXECUTIVE).post(f"{API}/plans/", {"name": "x"}, format="json").status_code == 403
    assert world.a.api().post(f"{API}/plans/", {"name": "By key"}, format="json").status_code == 201


def test_another_organizations_rows_are_not_found(world):
    with tenant_context(world.b.org):
        b_plan = services.plan_create(name="Summit plan")
        b_version = services.version_create(plan=b_plan, effective_from=dt.date(2025, 1, 1))
        b_component = services.component_save(version=b_version, name="Tests", basis="tests", rate=D(3))
    api = world.a.api(Role.ADMIN)
    assert api.get(f"{API}/plans/{b_plan.pk}/").status_code == 404
    assert api.patch(f"{API}/plans/{b_plan.pk}/", {"name": "Mine"}, format="json").status_code == 404
    assert api.delete(f"{API}/plans/{b_plan.pk}/").status_code == 404
    assert api.post(f"{API}/versions/{b_version.pk}/activate/").status_code == 404
    assert api.post(f"{API}/components/{b_component.pk}/signoff/", {"reason": "x"}, format="json").status_code == 404
    into_b = api.post(f"{API}/versions/", {"plan": b_plan.pk, "effective_from": "2025-01-01"}, format="json")
    assert into_b.status_code == 400 and "plan" in into_b.json()
    assert b"Summit" not in api.get(f"{API}/plans/").content
    with tenant_context(world.b.org):
        assert CompPlan.objects.get(pk=b_plan.pk).name == "Summit plan"
        assert CompPlanVersion.objects.get(pk=b_version.pk).status == VersionStatus.DRAFT


def test_lists_export_as_csv(world):
    api = world.a.api(Role.REVOPS_ANALYST)
    create_plan(api)
    response = api.get(f"{API}/plans/?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    exported = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["name"] for r in exported] == ["AE plan"]


def test_the_schema_documents_the_endpoints(world):
    schema = world.a.api(Role.ADMIN).get("/api/v1/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"] if schema["Content-Type"].startswith("application/json") else None
    if paths is None:
        import yaml

        paths = yaml.safe_load(schema.content)["paths"]
    for path in (f"{API}/plans/", f"{API}/versions/{{id}}/activate/", f"{API}/versions/{{id}}/retire/",
                 f"{API}/components/{{id}}/signoff/", f"{API}/assignments/{{id}}/end/", f"{API}/credit-rules/"):
        assert path in paths, path
    assert "EKRA" in paths[f"{API}/versions/{{id}}/activate/"]["post"]["description"]
