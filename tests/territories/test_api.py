"""Territories API: plans through their lifecycle, territories, rules (and their CSV import), coverage,
assignments now and as of a date, balance and diff — the numbers those of tests/territories/test_pages.py."""
from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import yaml
from django.core.management import call_command

from revops.models import Role
from revops.tenancy import tenant_context
from territories import services
from territories.models import AccountOwnership, AssignmentRule, PlanAssignment, Territory, TerritoryPlan
from tests.territories.test_pages import JAN, JUL, activate, scenario_moving_germantown, small  # noqa: F401

pytestmark = pytest.mark.django_db

API = "/api/v1/territories"


def rows_of(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_plan_crud_goes_through_the_services(world):
    api = world.a.api(Role.REVOPS_ANALYST)
    created = api.post(f"{API}/plans/", {"name": "FY26", "effective_from": "2026-01-01",
                                         "potential_basis": "volume"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft" and body["territory_count"] == 0 and body["accounts_unassigned"] >= 1
    again = api.post(f"{API}/plans/", {"name": "fy26", "effective_from": "2026-01-01"}, format="json")
    assert again.status_code == 400 and again.json() == {"name": ["Another plan has this name."]}
    bad = api.patch(f"{API}/plans/{body['id']}/", {"effective_to": "2025-06-01"}, format="json")
    assert bad.status_code == 400 and "effective_to" in bad.json()
    renamed = api.patch(f"{API}/plans/{body['id']}/", {"name": "FY26 plan", "holdout_days": 14}, format="json")
    assert renamed.status_code == 200 and renamed.json()["holdout_days"] == 14
    assert api.delete(f"{API}/plans/{body['id']}/").status_code == 204
    with tenant_context(world.a.org):
        assert not TerritoryPlan.objects.exists()
    # Executives read plans but do not write them; reps read.
    assert world.a.api(Role.EXECUTIVE).post(f"{API}/plans/", {"name": "X", "effective_from": "2026-01-01"},
                                            format="json").status_code == 403
    assert world.a.api(Role.REP).get(f"{API}/plans/").status_code == 200


def test_territories_rules_and_balance(world):
    api = world.a.api()  # the integrator's API key
    with tenant_context(world.a.org):
        from tests.territories.test_pages import make_account
        from revops.models import Account

        Account.objects.all().update(is_active=False)
        for name, zip_code in (("A", "37201"), ("B", "37201"), ("C", "37202"), ("D", "38101")):
            make_account(name, zip_code, "100")
    plan = api.post(f"{API}/plans/", {"name": "API plan", "effective_from": "2025-01-01",
                                      "potential_basis": "revenue"}, format="json").json()
    region = api.post(f"{API}/territories/", {"plan": plan["id"], "code": "R", "name": "Tennessee",
                                              "level": "region"}, format="json").json()
    t1 = api.post(f"{API}/territories/", {"plan": plan["id"], "code": "T1", "name": "Nashville",
                                          "parent": region["id"]}, format="json").json()
    t2 = api.post(f"{API}/territories/", {"plan": plan["id"], "code": "T2", "parent": region["id"]},
                  format="json").json()
    assert t1["is_leaf"] and not api.get(f"{API}/territories/{region['id']}/").json()["is_leaf"]
    dup = api.post(f"{API}/territories/", {"plan": plan["id"], "code": "t1"}, format="json")
    assert dup.status_code == 400 and dup.json() == {"code": ["The plan already has a territory t1."]}
    for territory, kind, value in ((t1, "zip3", "372"), (t2, "zip", "38101")):
        response = api.post(f"{API}/rules/", {"plan": plan["id"], "territory": territory["id"], "kind": kind,
                                               "value": value}, format="json")
        assert response.status_code == 201, response.content
    bad_zip = api.post(f"{API}/rules/", {"plan": plan["id"], "territory": t2["id"], "kind": "zip", "value": "372"},
                       format="json")
    assert bad_zip.status_code == 400 and bad_zip.json() == {"value": ["A ZIP rule takes a 5-digit ZIP code."]}

    balance = api.get(f"{API}/plans/{plan['id']}/balance/").json()
    assert [(t["code"], t["accounts"], t["potential"]) for t in balance["territories"]] == [
        ("T1", 3, "300.00"), ("T2", 1, "100.00")]
    assert balance["mean"] == "200.00" and balance["cv"] == pytest.approx(0.5)
    assert balance["unassigned"] == {"accounts": 0, "potential": "0.00", "workload": "0.00"}
    exported = rows_of(api.get(f"{API}/plans/{plan['id']}/balance/?format=csv"))
    assert [(r["code"], r["potential"]) for r in exported] == [("T1", "300.00"), ("T2", "100.00"), ("", "0.00")]

    # Move ZIP 37202 by re-pointing a rule: T1 and T2 at 200 each.
    moved = api.post(f"{API}/rules/", {"plan": plan["id"], "territory": t2["id"], "kind": "zip", "value": "37202"},
                     format="json")
    assert moved.status_code == 201
    balance = api.get(f"{API}/plans/{plan['id']}/balance/").json()
    assert [t["potential"] for t in balance["territories"]] == ["200.00", "200.00"] and balance["cv"] == 0.0
    # Split T1's ZIP3 rule off into T3, then merge T3 back.
    rule = api.get(f"{API}/rules/?plan={plan['id']}&kind=zip3").json()["results"][0]
    split = api.post(f"{API}/territories/{t1['id']}/split/", {"code": "T3", "name": "Split", "rules": [rule["id"]]},
                     format="json")
    assert split.status_code == 201 and split.json()["parent"] == region["id"]
    assert api.get(f"{API}/rules/{rule['id']}/").json()["territory_code"] == "T3"
    merged = api.post(f"{API}/territories/{split.json()['id']}/merge/", {"into": t1["id"]}, format="json")
    assert merged.status_code == 200 and merged.json()["code"] == "T1"
    renamed = api.patch(f"{API}/territories/{t2['id']}/", {"name": "Memphis", "color": "#123456"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["color"] == "#123456"
    loop = api.patch(f"{API}/territories/{region['id']}/", {"parent": t1["id"]}, format="json")
    assert loop.status_code == 400 and "parent" in loop.json()
    has_children = api.delete(f"{API}/territories/{region['id']}/")
    assert has_children.status_code == 400 and "sub-territories" in str(has_children.json())
    assert api.delete(f"{API}/territories/{t2['id']}/").status_code == 204
    balance = api.get(f"{API}/plans/{plan['id']}/balance/").json()
    # T2's rules went with it: ZIP 37202 falls back to T1's ZIP3 rule, ZIP 38101 to the unassigned bucket.
    assert balance["unassigned"] == {"accounts": 1, "potential": "100.00", "workload": "10.00"}
    assert [(t["code"], t["accounts"]) for t in balance["territories"]] == [("T1", 3)]
    rules = rows_of(api.get(f"{API}/rules/?plan={plan['id']}&format=csv"))
    assert {(r["territory_code"], r["kind"], r["value"]) for r in rules} == {("T1", "zip3", "372")}


def test_another_organizations_rows_cannot_be_linked(world):
    with tenant_context(world.b.org):
        b_plan = services.plan_create(name="Theirs", effective_from=JAN)
        b_territory = services.territory_create(plan=b_plan, code="B1", name="Theirs")
    with tenant_context(world.a.org):
        plan = services.plan_create(name="Ours", effective_from=JAN)
    api = world.a.api(Role.ADMIN)
    response = api.post(f"{API}/rules/", {"plan": plan.pk, "territory": b_territory.pk, "kind": "state",
                                          "value": "TN"}, format="json")
    assert response.status_code == 400 and "territory" in response.json()
    response = api.post(f"{API}/territories/", {"plan": b_plan.pk, "code": "X"}, format="json")
    assert response.status_code == 400 and "plan" in response.json()
    assert api.get(f"{API}/plans/{b_plan.pk}/balance/").status_code == 404


def test_approval_is_for_executives_and_admins_and_activation_writes_history(world, small):
    plan_url = f"{API}/plans/{small.plan.pk}"
    analyst, executive, integrator = world.a.api(Role.REVOPS_ANALYST), world.a.api(Role.EXECUTIVE), world.a.api()
    assert analyst.post(f"{plan_url}/propose/").json()["status"] == "proposed"
    assert analyst.post(f"{plan_url}/approve/").status_code == 403
    assert integrator.post(f"{plan_url}/approve/").status_code == 403
    approved = executive.post(f"{plan_url}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["approved_by"] == world.a.users[Role.EXECUTIVE].pk
    refused = analyst.post(f"{API}/rules/", {"plan": small.plan.pk, "territory": small.t1.pk, "kind": "zip",
                                             "value": "37202"}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"non_field_errors": ["Plan 'FY25' is approved: copy it to a new scenario to change it."]}
    assert analyst.post(f"{plan_url}/activate/", {"on": "2025-01-01"}, format="json").status_code == 403
    activated = executive.post(f"{plan_url}/activate/", {"on": "2025-01-01"}, format="json")
    assert activated.status_code == 200
    assert {k: activated.json()[k] for k in ("accounts", "moved", "held_out", "closed")} == {
        "accounts": 4, "moved": 0, "held_out": 0, "closed": 0}
    assert activated.json()["plan"]["status"] == "active"
    with tenant_context(world.a.org):
        assert AccountOwnership.objects.count() == 4
    again = executive.post(f"{plan_url}/activate/", {"on": "2025-02-01"}, format="json")
    assert again.status_code == 400 and "Only an approved plan can be activated" in str(again.json())
    kept = analyst.delete(f"{plan_url}/")
    assert kept.status_code == 400 and "kept" in str(kept.json())


def test_copy_and_diff_against_the_active_plan(world, small):
    with tenant_context(world.a.org):
        activate(world, small.plan, JAN)
    api = world.a.api(Role.REVOPS_ANALYST)
    copy = api.post(f"{API}/plans/{small.plan.pk}/copy/", {"name": "FY25 H2", "effective_from": "2025-07-01"},
                    format="json")
    assert copy.status_code == 201 and copy.json()["status"] == "draft"
    assert copy.json()["based_on"] == small.plan.pk and copy.json()["territory_count"] == 2
    with tenant_context(world.a.org):
        t2 = Territory.objects.get(plan_id=copy.json()["id"], code="T2")
    api.post(f"{API}/rules/", {"plan": copy.json()["id"], "territory": t2.pk, "kind": "zip", "value": "37202"},
             format="json")
    diff = api.get(f"{API}/plans/{copy.json()['id']}/diff/").json()
    assert diff["against"] == small.plan.pk and diff["accounts_moved"] == 1
    assert diff["potential_moved"] == "100.00" and diff["potential_total"] == "400.00"
    assert diff["disruption_pct"] == pytest.approx(25.0)
    assert diff["moves"] == [{"account_id": small.accounts["a3"].pk, "account": "Germantown Health",
                              "from_territory": "T1", "from_rep": "Ray Rep harbor", "to_territory": "T2",
                              "to_rep": "Sue Second", "potential": "100.00"}]
    assert {r["rep"]: r["net"] for r in diff["by_rep"]} == {"Ray Rep harbor": "-100.00", "Sue Second": "100.00"}
    exported = rows_of(api.get(f"{API}/plans/{copy.json()['id']}/diff/?format=csv&table=reps"))
    assert {r["rep"]: (r["accounts_lost"], r["lost"]) for r in exported}["Ray Rep harbor"] == ("1", "100.00")


def test_assignments_of_a_plan_and_as_of_a_date(world, small):
    with tenant_context(world.a.org):
        july = scenario_moving_germantown(world, small)
        activate(world, july, JUL)
    api = world.a.api(Role.REP)
    current = api.get(f"{API}/assignments/?plan={july.pk}").json()
    assert current["count"] == 4
    by_name = {r["account_name"]: r for r in current["results"]}
    assert by_name["Germantown Health"]["territory_code"] == "T2" and by_name["Germantown Health"]["source"] == "plan"
    assert by_name["Germantown Health"]["rep_name"] == "Sue Second"

    def owner(day: str) -> tuple[str, str, str]:
        rows = api.get(f"{API}/assignments/?as_of={day}&account={small.accounts['a3'].pk}").json()["results"]
        (row,) = rows
        return row["territory_code"], row["rep_name"], row["reason"]

    assert owner("2025-06-30") == ("T1", "Ray Rep harbor", "activation")
    assert owner("2025-07-01") == ("T1", "Ray Rep harbor", "holdout")
    assert owner("2025-07-31") == ("T2", "Sue Second", "activation")
    assert api.get(f"{API}/assignments/?as_of=2024-12-31").json()["count"] == 0
    default = api.get(f"{API}/assignments/").json()  # the active plan's
    assert {r["plan"] for r in default["results"]} == {july.pk}
    exported = rows_of(api.get(f"{API}/assignments/?as_of=2025-07-15&format=csv"))
    assert len(exported) == 4 and {r["reason"] for r in exported} == {"holdout", "activation"}
    assert api.get(f"{API}/assignments/?as_of=yesterday").status_code == 400


def test_coverage_assigns_a_rep_or_a_placeholder(world, small):
    api = world.a.api(Role.ADMIN)
    neither = api.post(f"{API}/coverage/", {"territory": small.t2.pk}, format="json")
    assert neither.status_code == 400 and "placeholder" in str(neither.json())
    hired = api.post(f"{API}/coverage/", {"territory": small.t2.pk, "placeholder": "To be hired: Memphis",
                                          "valid_from": "2025-03-01"}, format="json")
    assert hired.status_code == 201 and hired.json()["plan"] == small.plan.pk
    listed = api.get(f"{API}/coverage/?territory={small.t2.pk}&role=primary").json()["results"]
    assert [(c["person"], c["placeholder"], c["valid_from"], c["valid_to"]) for c in listed] == [
        (small.rep2.pk, "", "2025-01-01", "2025-03-01"), (None, "To be hired: Memphis", "2025-03-01", None)]


def test_rules_csv_import_reports_bad_rows_by_line(world, small):
    api = world.a.api()
    text = ("territory,kind,value,priority,locked\n"
            "T2,zip,37202,,\n"        # line 2: created
            "T2,zip,3720,,\n"         # line 3: not a ZIP
            "T1,state,TN,50,true\n"   # line 4: created, locked
            "T2,zip,37202,,\n"        # line 5: repeats line 2
            "T1,zip,38101,,maybe\n")  # line 6: bad locked
    result = api.post(f"{API}/rules/bulk/", {"plan": small.plan.pk, "csv": text}, format="json")
    assert result.status_code == 200, result.content
    body = result.json()
    assert (body["created"], body["updated"], body["failed"]) == (2, 0, 3)
    failed = {r["line"]: r["errors"] for r in body["rows"] if r["status"] == "failed"}
    assert failed == {3: ["value: A ZIP rule takes a 5-digit ZIP code."],
                      5: ["zip 37202 appears again (first on line 2)"],
                      6: ["locked must be true or false, not 'maybe'"]}
    assert body["assignments"] == {"accounts": 4, "assigned": 4, "unassigned": 0}
    with tenant_context(world.a.org):
        assert AssignmentRule.objects.get(plan=small.plan, kind="state").locked
        assert PlanAssignment.objects.get(plan=small.plan, account=small.accounts["a3"]).territory_id == small.t2.pk

    strict = api.post(f"{API}/rules/bulk/?all_or_nothing=true",
                      {"plan": small.plan.pk, "csv": "territory,kind,value\nT1,zip,37209\nT1,zip,x\n"}, format="json")
    assert strict.status_code == 400
    assert [r["status"] for r in strict.json()["rows"]] == ["not_written", "failed"]
    with tenant_context(world.a.org):
        assert not AssignmentRule.objects.filter(plan=small.plan, value="37209").exists()

    upload = io.BytesIO("territory,kind,value\nT1,zip3,372\n".encode())
    upload.name = "rules.csv"
    updated = api.post(f"{API}/rules/bulk/", {"plan": small.plan.pk, "file": upload}, format="multipart")
    assert updated.status_code == 200 and updated.json()["updated"] == 1
    no_columns = api.post(f"{API}/rules/bulk/", {"plan": small.plan.pk, "csv": "zip,territory\n37201,T1\n"},
                          format="json")
    assert no_columns.status_code == 400 and "missing: kind, value" in no_columns.json()["detail"]


def test_lists_export_csv_and_xlsx(world, small):
    api = world.a.api(Role.EXECUTIVE)
    plans = rows_of(api.get(f"{API}/plans/?format=csv"))
    assert [(p["name"], p["status"], p["accounts_assigned"]) for p in plans] == [("FY25", "draft", "4")]
    xlsx = api.get(f"{API}/territories/?plan={small.plan.pk}&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assignments = rows_of(api.get(f"{API}/assignments/?plan={small.plan.pk}&format=csv"))
    assert sorted((r["account_name"], r["territory_code"]) for r in assignments) == [
        ("Broadway Practice", "T1"), ("Germantown Health", "T1"), ("Memphis Family", "T2"), ("Music Row Clinic", "T1")]


def test_the_territories_api_is_in_the_openapi_schema(tmp_path):
    path = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    paths = yaml.safe_load(path.read_text())["paths"]
    for p in ("plans/", "plans/{id}/approve/", "plans/{id}/activate/", "plans/{id}/copy/", "plans/{id}/balance/",
              "plans/{id}/diff/", "territories/{id}/merge/", "territories/{id}/split/", "rules/bulk/", "coverage/",
              "assignments/"):
        assert f"/api/v1/territories/{p}" in paths, p
    params = {p["name"] for p in paths["/api/v1/territories/assignments/"]["get"]["parameters"]}
    assert {"plan", "as_of", "territory", "account", "format"} <= params
    assert "line" in str(paths["/api/v1/territories/rules/bulk/"]["post"]["description"])
