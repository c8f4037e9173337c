"""Quotas API on the hand-made world of tests/quotas/fixtures.py: plans through their lifecycle, the
allocation tree (overrides, bottom-up), fairness, reconciliation, attainment, seasonality and the
bulk load of credited transactions. Every figure is worked out by hand below.

The plan "QW FY2026": target 1,000,000.00, 60% potential + 40% prior year, flat phasing, ramp 25/50/75.

- R1 is the company's only child: 1,000,000.00. Under R1, A1 has potential 800,000 of 1,000,000 and
  prior year 180,000 of 200,000: 0.6 x 0.8 + 0.4 x 0.9 = 0.84 -> A1 840,000.00, A2 160,000.00.
- Under A1, T1 has potential 1/2 and prior year 120/180: 0.6 x 1/2 + 0.4 x 2/3 = 17/30 -> T1 476,000.00,
  T2 13/30 -> 364,000.00; T3 is A2's only child: 160,000.00.
- T1 monthly: 47,600,000 cents / 12 = 3,966,666.67 -> 8 months of 39,666.67 then 4 of 39,666.66.
  T2: 4 months of 30,333.34 then 8 of 30,333.33. T3: 4 of 13,333.34 then 8 of 13,333.33.
- Ramp: Nia was hired in Dec 2025, so Jan is her 2nd month (50%) and Feb her 3rd (75%):
  Jan 13,333.34 x 50% = 6,666.67, Feb 13,333.34 x 75% = 10,000.005 -> 10,000.01 (half up);
  T3 carries 160,000.00 - 6,666.67 - 3,333.33 = 150,000.00.
- Relief: account B (potential 100,000 of T1's 400,000 = 25%) moves from T1 to T2 on Jul 1: each month
  Jul-Dec 25% of T1's month (39,666.67 or 39,666.66 -> 9,916.67 half up) moves: 6 x 9,916.67 = 59,500.02.
  T1 carries 476,000.00 - 59,500.02 = 416,499.98, T2 364,000.00 + 59,500.02 = 423,500.02.
- Plan-year credits: T1 A 10,000 + B (Mar, still T1) 5,000 = 15,000; T2 C 8,000 + B (Aug, now T2) 7,000
  + Quinn's referral 1,000 = 16,000; T3 D 4,000; E (no territory) 500 uncredited.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest

from quotas import services
from quotas.models import CreditedTransaction, Quota, QuotaPlan
from revops.models import Account, Role
from revops.tenancy import tenant_context
from tests.quotas import fixtures

pytestmark = pytest.mark.django_db

API = "/api/v1/quotas"


@pytest.fixture
def qw(world: Any) -> dict[str, Any]:
    """The quota world in organization a (whose other accounts are inactive); ``nodes`` maps code -> id."""
    with tenant_context(world.a.org):
        Account.objects.all().update(is_active=False)
        w = fixtures.build()
        w["nodes"] = dict(Quota.objects.filter(plan=w["plan"]).values_list("code", "pk"))
    return w


def rows_of(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def nodes_by_code(api: Any, plan_id: int) -> dict[str, dict[str, Any]]:
    body = api.get(f"{API}/quotas/?plan={plan_id}&limit=500").json()
    return {n["code"]: n for n in body["results"]}


def annuals(api: Any, plan_id: int) -> dict[str, str]:
    return {code: n["annual"] for code, n in nodes_by_code(api, plan_id).items()}


ALLOCATED = {"COMPANY": "1000000.00", "R1": "1000000.00", "A1": "840000.00", "A2": "160000.00",
             "T1": "476000.00", "T2": "364000.00", "T3": "160000.00"}


# -- plans -----------------------------------------------------------------------------------------

def test_a_rep_reads_the_allocated_plan_and_its_nodes(world, qw):
    api = world.a.api(Role.REP)
    plans = api.get(f"{API}/plans/").json()
    assert plans["count"] == 1
    (plan,) = plans["results"]
    assert (plan["name"], plan["status"], plan["fiscal_year"], plan["company_target"]) == (
        "QW FY2026", "draft", 2026, "1000000.00")
    assert (plan["effective_from"], plan["effective_to"]) == ("2026-01-01", "2027-01-01")
    assert (plan["weight_potential"], plan["weight_prior_year"], plan["ramp_percents"]) == (
        "0.6000", "0.4000", ["25.00", "50.00", "75.00"])

    nodes = nodes_by_code(api, plan["id"])
    assert {c: n["annual"] for c, n in nodes.items()} == ALLOCATED
    assert {c: nodes[c]["amount"] for c in ("T1", "T2", "T3", "A1", "COMPANY")} == {
        "T1": "416499.98", "T2": "423500.02", "T3": "150000.00", "A1": "840000.00", "COMPANY": "990000.00"}
    assert (nodes["T1"]["person_name"], nodes["T1"]["potential"], nodes["T1"]["prior_year"]) == (
        "Pat Prior", "400000.00", "120000.00")
    assert nodes["T3"]["ramp_start"] == "2025-12-01" and nodes["R1"]["is_leaf"] is False

    t3 = api.get(f"{API}/quotas/{nodes['T3']['id']}/").json()
    assert [(m["month"], m["allocated"], m["ramp"], m["amount"]) for m in t3["months"][:3]] == [
        ("2026-01-01", "13333.34", "-6666.67", "6666.67"),
        ("2026-02-01", "13333.34", "-3333.33", "10000.01"),
        ("2026-03-01", "13333.34", "0.00", "13333.34")]
    assert sum(Decimal(m["amount"]) for m in t3["months"]) == Decimal("150000.00")

    exported = rows_of(api.get(f"{API}/quotas/?plan={plan['id']}&is_leaf=true&format=csv"))
    assert [(r["code"], r["annual"], r["amount"]) for r in exported] == [
        ("T1", "476000.00", "416499.98"), ("T2", "364000.00", "423500.02"), ("T3", "160000.00", "150000.00")]
    assert api.get(f"{API}/plans/{plan['id']}/check/").json() == {"plan": plan["id"], "ok": True, "problems": []}
    # Reps read; they change nothing.
    assert api.post(f"{API}/plans/{plan['id']}/allocate/").status_code == 403
    assert api.patch(f"{API}/quotas/{nodes['T1']['id']}/", {"override": "1"}, format="json").status_code == 403


def test_plan_create_update_and_delete_go_through_the_services(world, qw):
    api = world.a.api(Role.REVOPS_ANALYST)
    # Even split of 500,000.00: R1 500,000; A1 and A2 250,000 each; T1 and T2 125,000 each; T3 250,000.
    created = api.post(f"{API}/plans/", {
        "name": "QW even", "fiscal_year": 2026, "territory_plan": qw["territory_plan"].pk, "company_target": "500000",
        "weight_even": "1", "weight_potential": "0", "weight_prior_year": "0", "outlier_band": "0.10"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["status"], body["effective_from"], body["outlier_band"], body["weight_even"]) == (
        "draft", "2026-01-01", "0.10", "1.0000")
    assert body["created_by"] == world.a.users[Role.REVOPS_ANALYST].pk
    assert annuals(api, body["id"]) == {"COMPANY": "500000.00", "R1": "500000.00", "A1": "250000.00",
                                        "A2": "250000.00", "T1": "125000.00", "T2": "125000.00", "T3": "250000.00"}
    # A target change re-allocates: 600,000 -> T3 300,000.00, T1 150,000.00.
    changed = api.patch(f"{API}/plans/{body['id']}/", {"company_target": "600000"}, format="json")
    assert changed.status_code == 200 and changed.json()["company_target"] == "600000.00"
    assert {k: v for k, v in annuals(api, body["id"]).items() if k in ("T1", "T3")} == {
        "T1": "150000.00", "T3": "300000.00"}

    duplicate = api.post(f"{API}/plans/", {"name": "QW FY2026", "fiscal_year": 2026,
                                           "territory_plan": qw["territory_plan"].pk, "company_target": "1"},
                         format="json")
    assert duplicate.status_code == 400
    assert duplicate.json() == {"non_field_errors": ["A quota plan named 'QW FY2026' already exists."]}
    custom = api.post(f"{API}/plans/", {"name": "QW custom", "fiscal_year": 2026, "metric": "custom",
                                        "territory_plan": qw["territory_plan"].pk, "company_target": "1"},
                      format="json")
    assert custom.status_code == 400 and "custom metric needs its code" in str(custom.json())
    fixed = api.patch(f"{API}/plans/{body['id']}/", {"fiscal_year": 2027}, format="json")
    assert fixed.status_code == 400 and list(fixed.json()) == ["fiscal_year"]
    no_method = api.patch(f"{API}/plans/{body['id']}/", {"weight_even": "0"}, format="json")
    assert no_method.json() == {"non_field_errors": ["Give at least one allocation method a weight above zero."]}
    assert api.put(f"{API}/plans/{body['id']}/", {}, format="json").status_code == 405

    assert api.delete(f"{API}/plans/{body['id']}/").status_code == 204
    with tenant_context(world.a.org):
        assert list(QuotaPlan.objects.values_list("name", flat=True)) == ["QW FY2026"]
        assert not Quota.objects.filter(plan_id=body["id"]).exists()


def test_allocate_picks_up_new_credited_transactions(world, qw):
    api = world.a.api()  # the integrator's API key
    plan_id = qw["plan"].pk
    summary = api.post(f"{API}/plans/{plan_id}/allocate/").json()
    assert summary == {"plan": plan_id, "nodes": 7, "leaves": 3, "reliefs": 6, "target": "1000000.00",
                       "leaf_total": "990000.00", "warnings": []}
    # 60,000 more 2025 bookings on D (T3): A2's prior year 80,000 of 260,000. A1 = 0.6 x 0.8 + 0.4 x 180/260
    # = 0.756923... of 100,000,000 cents = 75,692,307.69 -> floor 75,692,307 (.69) and A2 24,307,692 (.31); the
    # last cent goes to the larger fraction: A1 756,923.08, A2 243,076.92.
    with tenant_context(world.a.org):
        services.transactions_upsert(rows=[("QW-X", "bookings", "deal", qw["accounts"]["D"].pk, None,
                                            dt.date(2025, 12, 1), Decimal("60000"), "")])
    assert annuals(api, plan_id)["A2"] == "160000.00"  # nothing moves until the plan is re-allocated
    assert api.post(f"{API}/plans/{plan_id}/allocate/").status_code == 200
    after = annuals(api, plan_id)
    assert (after["A1"], after["A2"], after["T3"]) == ("756923.08", "243076.92", "243076.92")
    assert Decimal(after["T1"]) + Decimal(after["T2"]) == Decimal("756923.08")
    assert api.get(f"{API}/plans/{plan_id}/check/").json()["ok"] is True


def test_override_rebalances_siblings_to_the_cent(world, qw):
    api = world.a.api(Role.REVOPS_ANALYST)
    plan_id, nodes = qw["plan"].pk, qw["nodes"]
    # A1 fixed at 700,000.01: A2 takes the rest, 299,999.99. A1's children split 70,000,001 cents 17/30 : 13/30
    # = 39,666,667.23 : 30,333,333.77 -> floors 39,666,667 + 30,333,333, one cent left for the larger
    # fraction (T2): T1 396,666.67, T2 303,333.34.
    response = api.patch(f"{API}/quotas/{nodes['A1']}/", {"override": "700000.01"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["override"], response.json()["annual"]) == ("700000.01", "700000.01")
    assert len(response.json()["months"]) == 12
    assert annuals(api, plan_id) == {**ALLOCATED, "A1": "700000.01", "A2": "299999.99", "T1": "396666.67",
                                     "T2": "303333.34", "T3": "299999.99"}
    assert api.get(f"{API}/plans/{plan_id}/check/").json()["problems"] == []

    too_much = api.patch(f"{API}/quotas/{nodes['T1']}/", {"override": "700000.02"}, format="json")
    assert too_much.status_code == 400
    assert too_much.json() == {"non_field_errors": [
        "Overrides under Front Range would add to 700,000.02, more than its target of 700,000.01."]}
    root = api.patch(f"{API}/quotas/{nodes['COMPANY']}/", {"override": "5"}, format="json")
    assert root.status_code == 400 and "change the company target instead" in str(root.json())
    not_editable = api.patch(f"{API}/quotas/{nodes['T1']}/", {"annual": "5"}, format="json")
    assert not_editable.status_code == 400 and list(not_editable.json()) == ["annual"]
    assert api.patch(f"{API}/quotas/{nodes['T1']}/", {}, format="json").status_code == 400
    negative = api.patch(f"{API}/quotas/{nodes['T1']}/", {"override": "-1"}, format="json")
    assert negative.status_code == 400 and "override" in negative.json()

    released = api.patch(f"{API}/quotas/{nodes['A1']}/", {"override": None}, format="json")
    assert released.status_code == 200 and released.json()["override"] is None
    assert annuals(api, plan_id) == ALLOCATED

    # A custom basis on a leaf (drafts only, leaves only) is stored and rolled up.
    basis = api.patch(f"{API}/quotas/{nodes['T3']}/", {"custom_basis": "1234.50"}, format="json")
    assert basis.status_code == 200 and basis.json()["custom_basis"] == "1234.50"
    assert nodes_by_code(api, plan_id)["R1"]["custom_basis"] == "1234.50"
    parent = api.patch(f"{API}/quotas/{nodes['A2']}/", {"custom_basis": "1"}, format="json")
    assert parent.status_code == 400 and "leaf territories" in str(parent.json())


def test_bottom_up_submissions_reconcile_against_top_down(world, qw):
    analyst, executive = world.a.api(Role.REVOPS_ANALYST), world.a.api(Role.EXECUTIVE)
    plan_id, nodes = qw["plan"].pk, qw["nodes"]
    submitted = analyst.patch(f"{API}/quotas/{nodes['T1']}/", {"bottom_up": "450000", "bottom_up_note": "Denver "
                              "lost a clinic"}, format="json")
    assert submitted.status_code == 200
    assert (submitted.json()["bottom_up"], submitted.json()["bottom_up_note"]) == ("450000.00", "Denver lost a clinic")
    assert submitted.json()["bottom_up_by"] == world.a.users[Role.REVOPS_ANALYST].pk
    assert submitted.json()["annual"] == "476000.00"  # a submission moves nothing by itself
    analyst.patch(f"{API}/quotas/{nodes['T2']}/", {"bottom_up": "400000"}, format="json")
    assert executive.patch(f"{API}/quotas/{nodes['T2']}/", {"bottom_up": "1"}, format="json").status_code == 403

    # A1 has no submission of its own but both children submitted: 850,000 against 840,000.
    rows = {r["code"]: r for r in executive.get(f"{API}/plans/{plan_id}/reconciliation/").json()}
    assert [c for c in rows] == ["COMPANY", "R1", "A1", "T1", "T2", "A2", "T3"]  # depth-first
    assert (rows["T1"]["top_down"], rows["T1"]["bottom_up"], rows["T1"]["gap"]) == ("476000.00", "450000.00",
                                                                                    "-26000.00")
    assert (rows["A1"]["bottom_up"], rows["A1"]["own_submission"], rows["A1"]["gap"]) == ("850000.00", False,
                                                                                          "10000.00")
    assert rows["A1"]["gap_pct"] == pytest.approx(10000 / 840000)
    assert rows["A2"]["bottom_up"] is None and rows["R1"]["gap"] is None
    exported = rows_of(executive.get(f"{API}/plans/{plan_id}/reconciliation/?format=csv"))
    assert [(r["code"], r["gap"]) for r in exported][:4] == [("COMPANY", ""), ("R1", ""), ("A1", "10000.00"),
                                                             ("T1", "-26000.00")]

    # Accepting T1's number makes it the override: T2 takes the rest of A1, 390,000.00.
    assert executive.post(f"{API}/quotas/{nodes['T1']}/accept-bottom-up/").status_code == 403
    accepted = analyst.post(f"{API}/quotas/{nodes['T1']}/accept-bottom-up/")
    assert accepted.status_code == 200 and accepted.json()["override"] == "450000.00"
    assert {k: v for k, v in annuals(analyst, plan_id).items() if k in ("T1", "T2")} == {
        "T1": "450000.00", "T2": "390000.00"}
    nothing = analyst.post(f"{API}/quotas/{nodes['T3']}/accept-bottom-up/")
    assert nothing.status_code == 400
    assert nothing.json() == {"non_field_errors": ["This node has no bottom-up submission."]}


def test_executives_approve_and_activate_and_a_frozen_plan_refuses_edits(world, qw):
    analyst, executive, integrator = world.a.api(Role.REVOPS_ANALYST), world.a.api(Role.EXECUTIVE), world.a.api()
    plan_url = f"{API}/plans/{qw['plan'].pk}"
    t1 = qw["nodes"]["T1"]
    assert executive.patch(f"{plan_url}/", {"company_target": "1"}, format="json").status_code == 403
    assert analyst.post(f"{plan_url}/approve/").status_code == 403
    assert integrator.post(f"{plan_url}/approve/").status_code == 403
    early = executive.post(f"{plan_url}/activate/")
    assert early.status_code == 400
    assert early.json() == {"non_field_errors": ["Only an approved plan can be activated."]}

    approved = executive.post(f"{plan_url}/approve/")
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["approved_by"]) == ("approved",
                                                                            world.a.users[Role.EXECUTIVE].pk)
    frozen = analyst.patch(f"{API}/quotas/{t1}/", {"override": "400000"}, format="json")
    assert frozen.status_code == 400
    assert frozen.json() == {"non_field_errors": [
        "The plan is approved: only a draft can be changed. Return it to draft first."]}
    assert analyst.post(f"{plan_url}/allocate/").status_code == 400
    # Big plans recompute as a job: an approved plan only its attainment.
    refused = analyst.post(f"{plan_url}/recompute/", {}, format="json")
    assert refused.status_code == 400 and "recompute attainment only" in str(refused.json())
    queued = analyst.post(f"{plan_url}/recompute/", {"attainment_only": True}, format="json")
    assert queued.status_code == 202
    assert (queued.json()["kind"], queued.json()["params"]) == ("quota_recompute", {"plan": qw["plan"].pk,
                                                                                    "attainment_only": True})
    assert executive.post(f"{plan_url}/recompute/", {"attainment_only": True}, format="json").status_code == 403
    # A bottom-up number may still come in on an approved plan.
    assert analyst.patch(f"{API}/quotas/{t1}/", {"bottom_up": "1"}, format="json").status_code == 200

    assert analyst.post(f"{plan_url}/return-to-draft/").json()["status"] == "draft"
    assert executive.post(f"{plan_url}/approve/").status_code == 200
    assert analyst.post(f"{plan_url}/activate/").status_code == 403
    activated = executive.post(f"{plan_url}/activate/")
    assert activated.status_code == 200
    assert activated.json()["status"] == "active" and activated.json()["activated_at"]
    # Activation computes attainment at once.
    assert activated.json()["attainment_summary"] == {"credited": "35000.00", "credited_transactions": 6,
                                                      "uncredited": "500.00", "uncredited_transactions": 1}
    kept = analyst.delete(f"{plan_url}/")
    assert kept.status_code == 400 and "active plan cannot be deleted" in str(kept.json())
    assert analyst.post(f"{plan_url}/return-to-draft/").status_code == 400


# -- reads -----------------------------------------------------------------------------------------

def test_fairness_flags_outliers_and_quotas_above_potential(world, qw):
    body = world.a.api(Role.EXECUTIVE).get(f"{API}/plans/{qw['plan'].pk}/fairness/").json()
    # Ratios: T1 416,499.98 / 400,000 = 1.04124995; T2 423,500.02 / 400,000 = 1.05875005; T3 150,000 / 200,000
    # = 0.75. Median 1.04124995. Gini = sum |xi - xj| over ordered pairs / (2 n^2 mean)
    # = 2 x (0.29124995 + 0.30875005 + 0.0175001) / (2 x 9 x 0.95) = 1.2350002 / 17.1.
    assert body["median_ratio"] == pytest.approx(1.04124995)
    assert body["gini"] == pytest.approx(1.2350002 / 17.1)
    assert (body["leaves"], body["flagged"], body["prior_plan"], body["outlier_band"]) == (3, 3, None, "0.25")
    nodes = {n["code"]: n for n in body["nodes"]}
    assert nodes["T3"]["ratio"] == pytest.approx(0.75)
    assert nodes["T3"]["relative_to_median"] == pytest.approx(0.75 / 1.04124995)
    assert nodes["T3"]["flags"] == ["quota-to-potential 0.75 is 28% below the median 1.04"]
    assert nodes["T1"]["flags"] == ["quota 416,500 exceeds the territory's potential 400,000"]
    assert nodes["T2"]["person_name"] == "Quinn Quota" and nodes["T2"]["similar_attained_share"] is None
    assert body["warnings"] == [
        "Leaf quotas add to 990,000.00, 10,000.00 below the company target of 1,000,000.00 (ramp of new hires and "
        "relief to accounts outside the plan are not re-spread).",
        "2 quotas exceed what the territory's potential can support."]
    exported = rows_of(world.a.api(Role.REP).get(f"{API}/plans/{qw['plan'].pk}/fairness/?format=csv"))
    assert [(r["code"], r["potential"]) for r in exported] == [("T1", "400000.00"), ("T2", "400000.00"),
                                                               ("T3", "200000.00")]


def test_fairness_shows_how_reps_at_similar_ratios_did_last_year(world, qw):
    # FY2025 on the same hierarchy, 200,000.00: no 2024 bookings, so potential alone splits it and every leaf
    # has ratio 0.2 (T1 80,000 / 400,000, T2 80,000 / 400,000, T3 40,000 / 200,000): all in the band around
    # the median. Of those three reps, T2 reached quota.
    with tenant_context(world.a.org):
        prior = services.plan_create(name="QW FY2025", fiscal_year=2025, territory_plan=qw["territory_plan"],
                                     company_target=Decimal("200000"))
        services.plan_approve(plan=prior, user=world.a.users[Role.EXECUTIVE])
        services.plan_activate(plan=prior)
        assert dict(Quota.objects.filter(plan=prior, is_leaf=True).values_list("code", "amount")) == {
            "T1": Decimal("80000.00"), "T2": Decimal("80000.00"), "T3": Decimal("40000.00")}
        Quota.objects.filter(plan=prior, code="T2").update(actual=Decimal("80000.00"))
    body = world.a.api(Role.EXECUTIVE).get(f"{API}/plans/{qw['plan'].pk}/fairness/").json()
    assert body["prior_plan"] == prior.pk
    # This year T1 and T2 sit at 1.00 and 1.02 of the median (same band as last year's three), T3 at 0.72
    # (a band nobody was in last year).
    similar = {n["code"]: (n["similar_attained_share"], n["similar_reps"]) for n in body["nodes"]}
    assert similar["T1"] == (pytest.approx(1 / 3), 3) and similar["T2"] == (pytest.approx(1 / 3), 3)
    assert similar["T3"] == (None, None)


def test_attainment_by_rep_team_level_and_month(world, qw):
    plan_url = f"{API}/plans/{qw['plan'].pk}"
    refreshed = world.a.api().post(f"{plan_url}/attainment-refresh/")
    assert refreshed.status_code == 200
    assert {k: v for k, v in refreshed.json().items() if k not in ("attainment_at",)} == {
        "plan": qw["plan"].pk, "credited": "35000.00", "credited_transactions": 6, "uncredited": "500.00",
        "uncredited_transactions": 1}
    assert world.a.api(Role.EXECUTIVE).post(f"{plan_url}/attainment-refresh/").status_code == 403

    rep = world.a.api(Role.REP)
    body = rep.get(f"{plan_url}/attainment/?by=rep&as_of=2026-08-16").json()
    assert (body["by"], body["as_of"], body["month"]) == ("rep", "2026-08-16", None) and body["attainment_at"]
    rows = {r["label"]: r for r in body["rows"]}
    assert {k: (r["quota"], r["actual"]) for k, r in rows.items()} == {
        "Pat Prior": ("416499.98", "15000.00"), "Quinn Quota": ("423500.02", "16000.00"),
        "Nia New": ("150000.00", "4000.00")}
    # Pat to Aug 16: Jan-Jun 6 x 39,666.67 = 238,000.02, Jul 29,750.00, Aug 29,750.00 x 15/31 = 14,395.16.
    pat = rows["Pat Prior"]
    assert pat["quota_to_date"] == "282145.18" and pat["actual_to_date"] == "15000.00"
    assert pat["pace"] == pytest.approx(15000 / 282145.18)
    assert pat["attainment"] == pytest.approx(15000 / 416499.98) and pat["gap"] == "401499.98"

    teams = {r["label"]: (r["quota"], r["actual"]) for r in
             rep.get(f"{plan_url}/attainment/?by=team&as_of=2026-08-16").json()["rows"]}
    assert teams == {"QW Front Range": ("840000.00", "31000.00"), "QW Utah": ("150000.00", "4000.00")}
    levels = {r["label"]: (r["quota"], r["actual"]) for r in
              rep.get(f"{plan_url}/attainment/?by=level&as_of=2026-08-16").json()["rows"]}
    assert levels == {"Company": ("990000.00", "35000.00"), "Region": ("990000.00", "35000.00"),
                      "Area": ("990000.00", "35000.00"), "Territory": ("990000.00", "35000.00")}
    # August alone, by node: T2 carries 30,333.33 + relief 9,916.67 = 40,250.00 and was credited B's 7,000.
    august = {r["label"]: r for r in rep.get(f"{plan_url}/attainment/?by=node&month=2026-08&as_of=2026-08-16")
              .json()["rows"]}
    assert (august["T2 Boulder"]["quota"], august["T2 Boulder"]["actual"]) == ("40250.00", "7000.00")
    assert (august["T1 Denver"]["quota"], august["T1 Denver"]["actual"]) == ("29750.00", "0.00")
    exported = rows_of(rep.get(f"{plan_url}/attainment/?by=rep&as_of=2026-08-16&format=csv"))
    assert [(r["label"], r["actual"]) for r in exported] == [("Pat Prior", "15000.00"), ("Quinn Quota", "16000.00"),
                                                             ("Nia New", "4000.00")]
    outside = rep.get(f"{plan_url}/attainment/?month=2027-01")
    assert outside.status_code == 400 and "not a month of the plan's fiscal year" in str(outside.json())
    assert rep.get(f"{plan_url}/attainment/?by=region").status_code == 400


def test_history_shows_relief_on_both_reps(world, qw):
    api = world.a.api(Role.REP)
    t1 = api.get(f"{API}/quotas/{qw['nodes']['T1']}/history/").json()
    assert t1["quota"]["code"] == "T1" and t1["relief_in"] == []
    assert [(r["month"], r["amount"], r["to_code"], r["account_name"]) for r in t1["relief_out"]] == [
        (f"2026-{m:02d}-01", "9916.67", "T2", "QW Bravo Practice") for m in range(7, 13)]
    assert t1["relief_out"][0]["share"] == "0.250000" and t1["relief_out"][0]["days_fraction"] == "1.000000"
    july = t1["months"][6]
    assert (july["allocated"], july["relief"], july["amount"]) == ("39666.67", "-9916.67", "29750.00")
    t2 = api.get(f"{API}/quotas/{qw['nodes']['T2']}/history/").json()
    assert [(r["from_code"], r["amount"]) for r in t2["relief_in"]] == [("T1", "9916.67")] * 6
    assert t2["months"][7]["amount"] == "40250.00"
    exported = rows_of(api.get(f"{API}/quotas/{qw['nodes']['T2']}/history/?format=csv"))
    assert len(exported) == 12 and exported[7]["relief"] == "9916.67"


# -- seasonality -----------------------------------------------------------------------------------

def test_seasonality_typed_learned_and_used_by_a_plan(world, qw):
    api = world.a.api(Role.REVOPS_ANALYST)
    percents = [10, 10, 10, 5, 5, 5, 5, 5, 5, 10, 10, 20]
    created = api.post(f"{API}/seasonality/", {"name": "Quarter-end heavy", "weights": percents}, format="json")
    assert created.status_code == 201, created.content
    profile = created.json()
    assert profile["source"] == "typed" and profile["weights"][:4] == ["0.100000", "0.100000", "0.100000", "0.050000"]
    assert api.post(f"{API}/seasonality/", {"name": "Quarter-end heavy", "weights": percents},
                    format="json").json() == {"non_field_errors": [
                        "A seasonality profile named 'Quarter-end heavy' already exists."]}
    assert "weights" in api.post(f"{API}/seasonality/", {"name": "Short", "weights": [1] * 11}, format="json").json()
    zeros = api.post(f"{API}/seasonality/", {"name": "Zeros", "weights": [0] * 12}, format="json")
    assert zeros.status_code == 400 and "above zero" in str(zeros.json())

    # Phased by it, T1's 476,000.00 is 47,600.00 in January and 95,200.00 in December.
    assert api.patch(f"{API}/plans/{qw['plan'].pk}/", {"seasonality": profile["id"]}, format="json").status_code == 200
    months = api.get(f"{API}/quotas/{qw['nodes']['T1']}/").json()["months"]
    assert (months[0]["allocated"], months[3]["allocated"], months[11]["allocated"]) == (
        "47600.00", "23800.00", "95200.00")
    renamed = api.patch(f"{API}/seasonality/{profile['id']}/", {"name": "Q-end"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["weights"] == profile["weights"]
    in_use = api.delete(f"{API}/seasonality/{profile['id']}/")
    assert in_use.status_code == 409

    # 2025 bookings: Mar 100,000, Jun 20,000, Sep 60,000, Nov 20,000 of 200,000.
    learned = api.post(f"{API}/seasonality/learn/", {"name": "Learned", "metric": "bookings",
                                                     "fiscal_start": "2026-01-01", "years": 1}, format="json")
    assert learned.status_code == 201, learned.content
    assert learned.json()["source"] == "learned"
    assert learned.json()["learned_from"] == "bookings: FY starting Jan 2025"
    assert [Decimal(w) for w in learned.json()["weights"]] == [Decimal(x) for x in (
        0, 0, "0.5", 0, 0, "0.1", 0, 0, "0.3", 0, "0.1", 0)]
    again = api.post(f"{API}/seasonality/learn/", {"name": "Learned", "metric": "nothing-here",
                                                   "fiscal_start": "2026-01-01"}, format="json")
    assert again.status_code == 200 and again.json()["source"] == "flat"
    assert world.a.api(Role.EXECUTIVE).post(f"{API}/seasonality/learn/", {}, format="json").status_code == 403
    assert api.delete(f"{API}/seasonality/{learned.json()['id']}/").status_code == 204


# -- credited transactions -------------------------------------------------------------------------

def test_bulk_upsert_reports_row_errors_and_resending_changes_nothing(world, qw):
    api = world.a.api()  # integrators feed transactions
    with tenant_context(world.b.org):
        b_account = Account.objects.get()
    c = qw["accounts"]["C"].pk
    good = [
        {"external_id": "API-1", "metric": "bookings", "account_external_id": "ACC-1", "transaction_date":
         "2026-09-01", "amount": "2500.00", "description": "Harbor deal"},
        {"external_id": "API-2", "metric": "bookings", "kind": "revenue", "account": c,
         "transaction_date": "2026-10-01", "amount": "1000.10"},
        {"external_id": "API-3", "metric": "bookings", "kind": "referral", "person_employee_id": "QW1",
         "transaction_date": "2026-11-02", "amount": "300"},
    ]
    bad = [
        {"external_id": "API-4", "metric": "bookings", "account_external_id": "NOPE", "transaction_date":
         "2026-09-01", "amount": "1"},
        {"external_id": "API-5", "metric": "bookings", "account": c, "transaction_date": "2026-09-01",
         "amount": "12.345"},
        {"external_id": "API-1", "metric": "bookings", "account": c, "transaction_date": "2026-09-01", "amount": "1"},
        {"external_id": "API-6", "metric": "bookings", "transaction_date": "2026-09-01", "amount": "1"},
        {"external_id": "API-7", "metric": "bookings", "account": c, "account_external_id": "ACC-1",
         "transaction_date": "2026-09-01", "amount": "1"},
        {"external_id": "API-8", "metric": "bookings", "account": b_account.pk, "transaction_date": "2026-09-01",
         "amount": "1"},
    ]
    first = api.post(f"{API}/transactions/bulk-upsert/", good + bad, format="json")
    assert first.status_code == 200, first.content
    body = first.json()
    assert {k: body[k] for k in ("mode", "total", "failed", "loaded", "inserted", "updated", "unchanged")} == {
        "mode": "partial", "total": 9, "failed": 6, "loaded": 3, "inserted": 3, "updated": 0, "unchanged": 0}
    assert {r["index"]: r["errors"] for r in body["rows"]} == {
        3: {"account_external_id": ["No account has external id 'NOPE'."]},
        4: {"amount": ["Ensure that there are no more than 2 decimal places."]},
        5: {"external_id": ["Row 0 of this request has the same metric and external_id."]},
        6: {"account": ["Give the account (account or account_external_id) or, for a transaction without an "
                        "account, the person (person or person_employee_id)."]},
        7: {"account_external_id": ["Give account or account_external_id, not both."]},
        8: {"account": [f"No account has id {b_account.pk}."]},
    }
    with tenant_context(world.a.org):
        stored = {t.external_id: (t.account_id, t.person_id, t.kind, t.amount)
                  for t in CreditedTransaction.objects.filter(external_id__startswith="API-")}
        harbor_account = Account.objects.get(external_id="ACC-1").pk
    assert stored == {"API-1": (harbor_account, None, "deal", Decimal("2500.00")),
                      "API-2": (c, None, "revenue", Decimal("1000.10")),
                      "API-3": (None, qw["pat"].pk, "referral", Decimal("300.00"))}

    again = api.post(f"{API}/transactions/bulk-upsert/", good, format="json").json()
    assert (again["inserted"], again["updated"], again["unchanged"], again["failed"]) == (0, 0, 3, 0)
    assert "re-sending them changes nothing" in again["message"]
    changed = api.post(f"{API}/transactions/bulk-upsert/", [good[0], {**good[1], "amount": "1000.20"}],
                       format="json").json()
    assert (changed["inserted"], changed["updated"], changed["unchanged"]) == (0, 1, 1)

    strict = api.post(f"{API}/transactions/bulk-upsert/?all_or_nothing=true",
                      [{**good[0], "external_id": "API-9"}, bad[0]], format="json")
    assert strict.status_code == 400 and strict.json()["loaded"] == 0 and strict.json()["failed"] == 1
    with tenant_context(world.a.org):
        assert not CreditedTransaction.objects.filter(external_id="API-9").exists()
    assert api.post(f"{API}/transactions/bulk-upsert/", {"rows": good}, format="json").status_code == 400

    # The same columns as a CSV body: unchanged rows, and a bad row reported by index (line = index + 2).
    text = ("external_id,metric,kind,account,account_external_id,person,person_employee_id,transaction_date,amount,"
            "description\n"
            "API-1,bookings,,,ACC-1,,,2026-09-01,2500.00,Harbor deal\n"
            f"API-2,bookings,revenue,{c},,,,2026-10-01,1000.20,\n"
            "API-10,bookings,deal,,,,QW1,2026-13-01,5,\n")
    uploaded = api.generic("POST", f"{API}/transactions/bulk-upsert/", text.encode(), content_type="text/csv")
    assert uploaded.status_code == 200, uploaded.content
    assert (uploaded.json()["unchanged"], uploaded.json()["failed"]) == (2, 1)
    assert list(uploaded.json()["rows"][0]["errors"]) == ["transaction_date"] and uploaded.json()["rows"][0]["index"] == 2

    assert world.a.api(Role.EXECUTIVE).post(f"{API}/transactions/bulk-upsert/", good, format="json").status_code == 403

    # Filters: metric, date range (inclusive), account, person; the list exports.
    reader = world.a.api(Role.REP)
    listed = reader.get(f"{API}/transactions/?metric=bookings&date_from=2026-09-01&date_to=2026-10-31").json()
    assert [t["external_id"] for t in listed["results"]] == ["API-2", "API-1"]
    assert listed["results"][1]["account_name"] == "Harbor Behavioral Family Practice"
    by_account = reader.get(f"{API}/transactions/?account={c}").json()["results"]
    assert [(t["transaction_date"], t["amount"]) for t in by_account] == [
        ("2026-10-01", "1000.20"), ("2026-01-20", "8000.00"), ("2025-09-01", "60000.00")]
    by_person = reader.get(f"{API}/transactions/?person={qw['pat'].pk}").json()["results"]
    assert [(t["external_id"], t["person_name"]) for t in by_person] == [("API-3", "Pat Prior")]
    exported = rows_of(reader.get(f"{API}/transactions/?date_from=2026-11-01&format=csv"))
    assert [(r["external_id"], r["amount"]) for r in exported] == [("API-3", "300.00")]

    # Attainment credits the new rows: API-2 to T2 (C is T2's), API-3 to Pat's T1; API-1's account is in no
    # territory (uncredited). Credited 35,000.00 + 1,000.20 + 300.00; uncredited 500.00 + 2,500.00.
    summary = api.post(f"{API}/plans/{qw['plan'].pk}/attainment-refresh/").json()
    assert (summary["credited"], summary["uncredited"]) == ("36300.20", "3000.00")


# -- isolation -------------------------------------------------------------------------------------

def test_another_organizations_quota_rows_are_404_and_cannot_be_linked(world, qw):
    with tenant_context(world.b.org):
        from territories import services as territory_services

        b_territories = territory_services.plan_create(name="Theirs", effective_from=fixtures.JAN)
        territory_services.territory_create(plan=b_territories, code="B1", name="Theirs")
        b_profile = services.seasonality_save(name="Theirs", weights=[1] * 12)
        b_plan = services.plan_create(name="Theirs", fiscal_year=2026, territory_plan=b_territories,
                                      company_target=Decimal("100"), seasonality=b_profile)
        b_node = Quota.objects.get(plan=b_plan, code="B1")
        services.transactions_upsert(rows=[("B-1", "bookings", "deal", Account.objects.get().pk, None,
                                            dt.date(2026, 1, 5), Decimal("10"), "")])
        b_txn = CreditedTransaction.objects.get()
    admin = world.a.api(Role.ADMIN)
    for url in (f"{API}/plans/{b_plan.pk}/", f"{API}/plans/{b_plan.pk}/fairness/", f"{API}/quotas/{b_node.pk}/",
                f"{API}/quotas/{b_node.pk}/history/", f"{API}/seasonality/{b_profile.pk}/",
                f"{API}/transactions/{b_txn.pk}/"):
        assert admin.get(url).status_code == 404, url
    assert admin.patch(f"{API}/quotas/{b_node.pk}/", {"override": "1"}, format="json").status_code == 404
    assert admin.post(f"{API}/plans/{b_plan.pk}/approve/").status_code == 404
    assert admin.delete(f"{API}/plans/{b_plan.pk}/").status_code == 404
    linked = admin.post(f"{API}/plans/", {"name": "Borrowed", "fiscal_year": 2026, "territory_plan": b_territories.pk,
                                          "company_target": "1"}, format="json")
    assert linked.status_code == 400 and "territory_plan" in linked.json()
    borrowed = admin.patch(f"{API}/plans/{qw['plan'].pk}/", {"seasonality": b_profile.pk}, format="json")
    assert borrowed.status_code == 400 and "seasonality" in borrowed.json()
    assert b_node.pk not in {n["id"] for n in admin.get(f"{API}/quotas/?limit=500").json()["results"]}
    assert "B-1" not in {t["external_id"] for t in admin.get(f"{API}/transactions/?limit=500").json()["results"]}
    with tenant_context(world.b.org):
        assert QuotaPlan.objects.get().status == "draft" and Quota.objects.get(pk=b_node.pk).override is None


def test_openapi_documents_the_quotas_api(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    paths = schema["paths"]
    for path in ("/api/v1/quotas/plans/", "/api/v1/quotas/plans/{id}/", "/api/v1/quotas/plans/{id}/allocate/",
                 "/api/v1/quotas/plans/{id}/approve/", "/api/v1/quotas/plans/{id}/activate/",
                 "/api/v1/quotas/plans/{id}/return-to-draft/", "/api/v1/quotas/plans/{id}/attainment-refresh/",
                 "/api/v1/quotas/plans/{id}/fairness/", "/api/v1/quotas/plans/{id}/reconciliation/",
                 "/api/v1/quotas/plans/{id}/attainment/", "/api/v1/quotas/plans/{id}/check/",
                 "/api/v1/quotas/plans/{id}/recompute/",
                 "/api/v1/quotas/quotas/", "/api/v1/quotas/quotas/{id}/", "/api/v1/quotas/quotas/{id}/history/",
                 "/api/v1/quotas/quotas/{id}/accept-bottom-up/", "/api/v1/quotas/seasonality/",
                 "/api/v1/quotas/seasonality/{id}/", "/api/v1/quotas/seasonality/learn/",
                 "/api/v1/quotas/transactions/", "/api/v1/quotas/transactions/{id}/",
                 "/api/v1/quotas/transactions/bulk-upsert/"):
        assert path in paths, path
    assert "put" not in paths["/api/v1/quotas/plans/{id}/"]
    assert set(paths["/api/v1/quotas/quotas/{id}/"]) >= {"get", "patch"}
    attainment = {p["name"] for p in paths["/api/v1/quotas/plans/{id}/attainment/"]["get"]["parameters"]}
    assert {"by", "as_of", "month", "format"} <= attainment
    filters = {p["name"] for p in paths["/api/v1/quotas/transactions/"]["get"]["parameters"]}
    assert {"metric", "account", "person", "date_from", "date_to", "format"} <= filters
    upsert = paths["/api/v1/quotas/transactions/bulk-upsert/"]["post"]
    assert set(upsert["requestBody"]["content"]) == {"application/json", "text/csv"}
    assert "re-sending the same rows is\nharmless" in upsert["description"]


def test_archive_needs_the_approve_right_and_an_active_plan(world):
    with tenant_context(world.a.org):
        Account.objects.all().update(is_active=False)
        plan = fixtures.build(relief=False)["plan"]
    url = f"/api/v1/quotas/plans/{plan.pk}/archive/"
    assert world.a.api("revops_analyst").post(url).status_code == 403
    response = world.a.api("executive").post(url)
    assert response.status_code == 400 and "approved or active" in str(response.json())
    with tenant_context(world.a.org):
        services.plan_approve(plan=plan, user=world.a.users["executive"])
        services.plan_activate(plan=plan)
    response = world.a.api("executive").post(url)
    assert response.status_code == 200 and response.json()["status"] == "archived"


def test_attainment_by_fiscal_quarter(world):
    with tenant_context(world.a.org):
        Account.objects.all().update(is_active=False)
        plan = fixtures.build()["plan"]
        services.attainment_refresh(plan=plan)
    url = f"/api/v1/quotas/plans/{plan.pk}/attainment/?by=level&quarter=1"
    body = world.a.api("executive").get(url).json()
    assert body["quarter"] == 1
    territory = next(r for r in body["rows"] if r["level"] == "territory")
    # Q1 actuals: C 8,000 (Jan), A 10,000 (Feb), B 5,000 (Mar), Quinn's 1,000 is April.
    assert Decimal(territory["actual"]) == Decimal("23000.00")
    bad = world.a.api("executive").get(f"/api/v1/quotas/plans/{plan.pk}/attainment/?quarter=1&month=2026-01")
    assert bad.status_code == 400
