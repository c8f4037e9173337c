"""Forecasting API on a hand-made pipeline in organization a (``build`` below, shared with the page and
browser tests). Every figure is worked out by hand here.

People (the org fixture of test_services.py): Vera (VP) > Mona (manager) > Ray (rep, the REP user's
person) and Rita (rep). A user of the rep role is linked to Mona ("harbor-mona"), the executive user to Vera.

Stages: the defaults (Prospecting 5%, Qualified 15%, Proposal 35%, Negotiation 60%, Verbal 85%). Five
closed deals of Rita passed Proposal in Oct 2025 and closed in Nov 2025, three won: Proposal converts
at 3/5 = 60%, learned; the other stages keep their defaults (fewer than five closed deals passed them).

Open pipeline (expected close):
  P1 Ray   Proposal     1,000.00  25 Jan 2030  commit     -> 1,000 x 0.60 = 600.00
  P2 Ray   Negotiation    500.00  10 Jan 2030  best case  ->   500 x 0.60 = 300.00
  P3 Rita  Prospecting  2,000.00  31 Jan 2030  pipeline   -> 2,000 x 0.05 = 100.00
  P4 Rita  Qualified      400.00  15 Feb 2030  pipeline   ->   400 x 0.15 =  60.00
January 2030 (P1-P3): 3,500.00 open, 1,000.00 weighted; all open: 3,900.00, 1,060.00.

Calls for January 2030 (deadline 8 Jan 2030): Ray commit 700 then 800 (800 counts), best case 1,200;
Rita commit 100; Mona adjusts Ray's commit to 650. Mona's team commit = 650 + 100 = 750 (Ray's own
800 stays beside it); Vera's = Mona's 750 (nobody adjusted Mona). Best case: Ray 1,200 -> 1,200.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from forecasting import services
from forecasting.models import CallKind, ForecastCall, ForecastPeriod, ForecastScore, Opportunity, OpportunityHistory, Stage
from revops import services as revops_services
from revops.models import Person, Role
from revops.tenancy import tenant_context
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

API = "/api/v1/forecasting"
D = Decimal
JAN = dt.date(2030, 1, 1)
# Calls made before the tests run (so a call a test submits now is the latest) and before the deadline.
ON_TIME = dt.datetime(2026, 11, 2, 9, tzinfo=dt.timezone.utc)


def opp_row(ext: str, owner: Person, stage: Stage, amount: str, close: dt.date, changed: dt.date,
            category: str = "pipeline") -> tuple[Any, ...]:
    return (ext, f"Deal {ext}", None, None, owner.pk, stage.pk, D(amount), close, category, None, changed)


def build(tenant: Any, *, calls: bool = True) -> dict[str, Any]:
    """The pipeline, people, users and (with ``calls``) the January 2030 calls, in ``tenant``'s organization."""
    with tenant_context(tenant.org):
        services.stages_install_defaults()
        s = {st.name: st for st in Stage.objects.all()}
        mona, ray = tenant.objects["manager"], tenant.objects["person"]
        vera = Person.objects.create(employee_id="V1", first_name="Vera", last_name="VP", role="manager",
                                     hire_date=dt.date(2018, 1, 1))
        rita = Person.objects.create(employee_id="R2", first_name="Rita", last_name="Rep", role="rep",
                                     hire_date=dt.date(2022, 1, 1))
        revops_services.reporting_line_assign(person=mona, manager=vera, valid_from=dt.date(2020, 1, 1))
        revops_services.reporting_line_assign(person=rita, manager=mona, valid_from=dt.date(2022, 1, 1))
        mona_user = get_user_model().objects.create_user(username=f"{tenant.org.slug}-mona", password=PASSWORD)
        revops_services.membership_upsert(user=mona_user, role=Role.REP, person=mona)
        revops_services.membership_upsert(user=tenant.users[Role.EXECUTIVE], role=Role.EXECUTIVE, person=vera)
        history = [opp_row(f"H{n}", rita, s["Proposal"], "100", dt.date(2025, 11, 30), dt.date(2025, 10, 1))
                   for n in range(5)]
        services.opportunities_upsert(rows=history)
        services.opportunities_upsert(rows=[
            opp_row(f"H{n}", rita, s["Closed won" if n < 3 else "Closed lost"], "100", dt.date(2025, 11, 30),
                    dt.date(2025, 11, 15)) for n in range(5)])
        changed = dt.date(2026, 11, 1)
        services.opportunities_upsert(rows=[
            opp_row("P1", ray, s["Proposal"], "1000", dt.date(2030, 1, 25), changed, "commit"),
            opp_row("P2", ray, s["Negotiation"], "500", dt.date(2030, 1, 10), changed, "best_case"),
            opp_row("P3", rita, s["Prospecting"], "2000", dt.date(2030, 1, 31), changed),
            opp_row("P4", rita, s["Qualified"], "400", dt.date(2030, 2, 15), changed),
        ])
        period = services.period_ensure(start=JAN)
        if calls:
            services.call_submit(period=period, person=ray, category="commit", amount=D("700"),
                                 now=ON_TIME - dt.timedelta(days=1))
            services.call_submit(period=period, person=ray, category="commit", amount=D("800"), now=ON_TIME)
            services.call_submit(period=period, person=ray, category="best_case", amount=D("1200"), now=ON_TIME)
            services.call_submit(period=period, person=rita, category="commit", amount=D("100"), now=ON_TIME)
            services.call_submit(period=period, person=mona, kind=CallKind.MANAGER, subject=ray, category="commit",
                                 amount=D("650"), now=ON_TIME)
        return {"vera": vera, "mona": mona, "ray": ray, "rita": rita, "stages": s, "period": period,
                "mona_user": mona_user}


@pytest.fixture
def fc(world: Any) -> dict[str, Any]:
    return build(world.a)


def as_user(user: Any, tenant: Any) -> Any:
    from rest_framework.test import APIClient

    from revops.middleware import SESSION_ORG_KEY

    client = APIClient()
    client.force_login(user)
    session = client.session
    session[SESSION_ORG_KEY] = tenant.org.pk
    session.save()
    return client


def rows_of(response: Any) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv"), response["Content-Type"]
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


# -- stages ----------------------------------------------------------------------------------------

def test_stages_are_listed_in_order_and_changed_by_analysts_only(world, fc):
    api = world.a.api(Role.REVOPS_ANALYST)
    body = api.get(f"{API}/stages/").json()
    assert [(s["name"], s["default_probability"]) for s in body["results"][:5]] == [
        ("Prospecting", "0.0500"), ("Qualified", "0.1500"), ("Proposal", "0.3500"), ("Negotiation", "0.6000"),
        ("Verbal commitment", "0.8500")]
    assert [s["name"] for s in body["results"] if s["is_won"] or s["is_lost"]] == ["Closed won", "Closed lost"]
    created = api.post(f"{API}/stages/", {"name": "Demo", "order": 3, "default_probability": "0.25"}, format="json")
    assert created.status_code == 201, created.content
    taken = api.post(f"{API}/stages/", {"name": "demo", "order": 4}, format="json")
    assert taken.status_code == 400 and taken.json()["name"] == ["A stage named 'demo' already exists."]
    both = api.post(f"{API}/stages/", {"name": "Odd", "order": 5, "is_won": True, "is_lost": True}, format="json")
    assert both.status_code == 400 and both.json()["is_lost"] == ["A stage is won or lost, not both."]
    # Proposal carries opportunities and their history: kept (409); the new stage goes.
    assert api.delete(f"{API}/stages/{fc['stages']['Proposal'].pk}/").status_code == 409
    assert api.delete(f"{API}/stages/{created.json()['id']}/").status_code == 204
    assert world.a.api(Role.REP).post(f"{API}/stages/", {"name": "X", "order": 9}, format="json").status_code == 403
    assert world.a.api(Role.EXECUTIVE).delete(f"{API}/stages/{fc['stages']['Proposal'].pk}/").status_code == 403


# -- opportunities ---------------------------------------------------------------------------------

def test_opportunities_filter_and_export_and_a_rep_sees_only_their_own(world, fc):
    api = world.a.api(Role.REVOPS_ANALYST)
    open_jan = api.get(f"{API}/opportunities/?state=open&close_from=2030-01-01&close_to=2030-01-31").json()
    assert [(o["external_id"], o["amount"], o["stage_name"]) for o in open_jan["results"]] == [
        ("P2", "500.00", "Negotiation"), ("P1", "1000.00", "Proposal"), ("P3", "2000.00", "Prospecting")]
    assert api.get(f"{API}/opportunities/?state=won").json()["count"] == 3  # H0-H2
    rita = api.get(f"{API}/opportunities/?owner={fc['rita'].pk}&state=open&format=csv")
    assert [(r["external_id"], r["amount"], r["owner_name"]) for r in rows_of(rita)] == [
        ("P3", "2000.00", "Rita Rep"), ("P4", "400.00", "Rita Rep")]
    # Ray (the rep user) has no reports: his own two only; Mona's user sees her team's.
    mine = world.a.api(Role.REP).get(f"{API}/opportunities/").json()
    assert sorted(o["external_id"] for o in mine["results"]) == ["P1", "P2"]
    team = as_user(fc["mona_user"], world.a).get(f"{API}/opportunities/?state=open").json()
    assert sorted(o["external_id"] for o in team["results"]) == ["P1", "P2", "P3", "P4"]
    with tenant_context(world.a.org):
        p1 = Opportunity.objects.get(external_id="P1")
        h0 = Opportunity.objects.get(external_id="H0")
    assert world.a.api(Role.REP).get(f"{API}/opportunities/{h0.pk}/").status_code == 404  # Rita's, not his
    history = api.get(f"{API}/opportunities/{h0.pk}/history/").json()
    assert [(h["valid_from"], h["stage_name"], h["category"]) for h in history] == [
        ("2025-10-01", "Proposal", "pipeline"), ("2025-11-15", "Closed won", "closed")]
    assert api.get(f"{API}/opportunities/{p1.pk}/").json()["category"] == "commit"


def test_bulk_upsert_resolves_keys_reports_row_errors_by_index_and_resending_changes_nothing(world, fc):
    api = world.a.api()  # the integrator's API key
    rows = [
        {"external_id": "N1", "name": "New clinic", "owner_employee_id": "R1", "stage_name": "qualified",
         "account_external_id": "ACC-1", "service_line_code": "TOX", "amount": "2500.00",
         "expected_close": "2030-03-31", "category": "best_case", "changed_on": "2026-11-10"},
        {"external_id": "P1", "name": "Deal P1", "owner": fc["ray"].pk, "stage": fc["stages"]["Negotiation"].pk,
         "amount": "1000.00", "expected_close": "2030-01-25", "category": "commit", "changed_on": "2026-11-12"},
        {"external_id": "N2", "name": "Nobody's", "owner_employee_id": "NOPE", "stage_name": "Qualified",
         "amount": "10", "expected_close": "2030-03-31"},
        {"external_id": "N3", "name": "No stage", "owner_employee_id": "R1", "stage_name": "Dreaming",
         "amount": "-5", "expected_close": "2030-03-31"},
        {"external_id": "N1", "name": "Twice", "owner_employee_id": "R1", "stage_name": "Qualified", "amount": "1",
         "expected_close": "2030-03-31"},
        {"name": "No id", "owner_employee_id": "R1", "stage_name": "Qualified", "amount": "1",
         "expected_close": "2030-03-31"},
    ]
    first = api.post(f"{API}/opportunities/bulk-upsert/", rows, format="json")
    assert first.status_code == 200, first.content
    body = first.json()
    assert {k: body[k] for k in ("total", "failed", "loaded", "inserted", "updated", "unchanged", "history")} == {
        "total": 6, "failed": 4, "loaded": 2, "inserted": 1, "updated": 1, "unchanged": 0, "history": 2}
    assert [(r["index"], r["external_id"], sorted(r["errors"])) for r in body["rows"]] == [
        (2, "N2", ["owner_employee_id"]), (3, "N3", ["amount"]), (4, "N1", ["external_id"]),
        (5, None, ["external_id"])]
    assert body["rows"][0]["errors"]["owner_employee_id"] == ["No person has employee id 'NOPE'."]
    assert body["rows"][2]["errors"]["external_id"] == ["Row 0 of this request has the same external_id."]
    with tenant_context(world.a.org):
        n1 = Opportunity.objects.select_related("owner", "stage", "account", "service_line").get(external_id="N1")
        assert (n1.owner.employee_id, n1.stage.name, n1.account.external_id, n1.service_line.code, n1.amount,
                n1.category, n1.created_on) == ("R1", "Qualified", "ACC-1", "TOX", D("2500.00"), "best_case",
                                                dt.date(2026, 11, 10))
        p1 = Opportunity.objects.get(external_id="P1")
        assert [(h.valid_from, h.stage.name) for h in OpportunityHistory.objects.filter(opportunity=p1)
                .order_by("valid_from")] == [(dt.date(2026, 11, 1), "Proposal"), (dt.date(2026, 11, 12), "Negotiation")]
    again = api.post(f"{API}/opportunities/bulk-upsert/", rows[:2], format="json").json()
    assert (again["inserted"], again["updated"], again["unchanged"], again["history"]) == (0, 0, 2, 0)
    assert "re-sending them changes nothing" in again["message"]
    # The same as CSV; all-or-nothing refuses the batch with one bad row and loads nothing.
    text = ("external_id,name,owner_employee_id,stage_name,amount,expected_close\n"
            "C1,From CSV,R1,Proposal,300,2030-02-01\nC2,Bad,R1,Proposal,lots,2030-02-01\n")
    strict = api.post(f"{API}/opportunities/bulk-upsert/?all_or_nothing=true", text, content_type="text/csv")
    assert strict.status_code == 400 and strict.json()["loaded"] == 0
    assert strict.json()["rows"][0]["index"] == 1
    loose = api.post(f"{API}/opportunities/bulk-upsert/", text, content_type="text/csv")
    assert (loose.status_code, loose.json()["inserted"], loose.json()["failed"]) == (200, 1, 1)
    assert api.post(f"{API}/opportunities/bulk-upsert/", {"not": "a list"}, format="json").status_code == 400
    assert world.a.api(Role.REP).post(f"{API}/opportunities/bulk-upsert/", rows[:1], format="json").status_code == 403
    # The integrator reads back everything it synced (H0-H4, P1-P4, N1, C1).
    assert api.get(f"{API}/opportunities/").json()["count"] == 11


def test_another_organizations_ids_do_not_resolve(world, fc):
    with tenant_context(world.b.org):
        services.stages_install_defaults()
        b_stage = Stage.objects.get(name="Proposal")
    body = world.a.api(Role.REVOPS_ANALYST).post(f"{API}/opportunities/bulk-upsert/", [
        {"external_id": "X1", "name": "Leak", "owner": world.b.objects["person"].pk, "stage": b_stage.pk,
         "amount": "1", "expected_close": "2030-01-01"}], format="json").json()
    assert body["failed"] == 1 and sorted(body["rows"][0]["errors"]) == ["owner", "stage"]


# -- periods ---------------------------------------------------------------------------------------

def test_periods_are_opened_once_and_closing_scores_every_forecast(world, fc):
    api = world.a.api(Role.REVOPS_ANALYST)
    created = api.post(f"{API}/periods/", {"start": "2030-02-14"}, format="json")
    assert created.status_code == 201
    assert (created.json()["start"], created.json()["end"], created.json()["deadline"]) == (
        "2030-02-01", "2030-03-01", "2030-02-08")
    assert api.post(f"{API}/periods/", {"start": "2030-02-01"}, format="json").status_code == 200
    bad = api.post(f"{API}/periods/", {"start": "2030-02-01", "kind": "quarter"}, format="json")
    assert bad.status_code == 400 and "A quarter starts in January" in str(bad.json())
    assert world.a.api(Role.REP).post(f"{API}/periods/", {"start": "2030-03-01"}, format="json").status_code == 403
    # A weighted-pipeline forecast made before January, then Ray wins P1 at 800 on 20 January.
    run = api.post(f"{API}/runs/", {"kind": "pipeline", "as_of": "2029-12-31", "horizon": 3}, format="json")
    assert run.status_code == 201
    with tenant_context(world.a.org):
        services.opportunities_upsert(rows=[opp_row("P1", fc["ray"], fc["stages"]["Closed won"], "800",
                                                    dt.date(2030, 1, 25), dt.date(2030, 1, 20))])
    closed = api.post(f"{API}/periods/{fc['period'].pk}/close/")
    assert closed.status_code == 200, closed.content
    assert closed.json()["bookings"] == 800
    with tenant_context(world.a.org):
        scores = {(x.source, x.level, x.key): (x.forecast, x.actual) for x in ForecastScore.objects.all()}
    ray, rita, mona = (str(fc[n].pk) for n in ("ray", "rita", "mona"))
    assert scores[("rep_call:commit", "rep", ray)] == (D("800"), D("800"))
    assert scores[("rep_call:commit", "rep", rita)] == (D("100"), D("0"))
    assert scores[("manager_call:commit", "team", mona)] == (D("750"), D("800"))
    assert scores[("weighted_pipeline", "company", "all")] == (D("1000.00"), D("800"))
    again = api.post(f"{API}/periods/{fc['period'].pk}/close/")
    assert again.status_code == 400 and "already closed" in str(again.json())
    late = world.a.api(Role.REP).post(f"{API}/calls/", {"period": fc["period"].pk, "person": fc["ray"].pk,
                                                        "category": "commit", "amount": "1"}, format="json")
    assert late.status_code == 400 and "closed" in str(late.json())


# -- calls -----------------------------------------------------------------------------------------

def call(period: ForecastPeriod, person: Person, amount: str, **extra: Any) -> dict[str, Any]:
    return {"period": period.pk, "person": person.pk, "category": "commit", "amount": amount, **extra}


def test_a_rep_submits_their_own_call_and_is_refused_for_someone_else(world, fc):
    rep = world.a.api(Role.REP)
    own = rep.post(f"{API}/calls/", call(fc["period"], fc["ray"], "850", note="P1 signs on the 20th"), format="json")
    assert own.status_code == 201, own.content
    body = own.json()
    assert (body["person_name"], body["kind"], body["amount"], body["submitted_by"], body["is_late"]) == (
        "Ray Rep harbor", "rep", "850.00", world.a.users[Role.REP].pk, False)
    other = rep.post(f"{API}/calls/", call(fc["period"], fc["rita"], "5"), format="json")
    assert other.status_code == 403
    assert other.json()["detail"] == ("You may submit calls only for yourself (Ray Rep harbor) and the people under "
                                      "you on 01 Jan 2030; Rita Rep is not one of them.")
    # Ray manages nobody: a manager's adjustment is the service's to refuse (400, with its reason).
    nobody = rep.post(f"{API}/calls/", call(fc["period"], fc["ray"], "5", kind="manager"), format="json")
    assert nobody.status_code == 400 and "has nobody reporting to them" in str(nobody.json())
    with tenant_context(world.a.org):
        assert not ForecastCall.objects.filter(person=fc["rita"], amount=D("5")).exists()


def test_a_manager_adjusts_a_report_but_not_their_own_manager_and_analysts_act_on_behalf(world, fc):
    mona = as_user(fc["mona_user"], world.a)
    adjusted = mona.post(f"{API}/calls/", call(fc["period"], fc["mona"], "150", kind="manager",
                                               subject=fc["rita"].pk), format="json")
    assert adjusted.status_code == 201, adjusted.content
    assert (adjusted.json()["subject_name"], adjusted.json()["kind"]) == ("Rita Rep", "manager")
    # A report's own call may be entered by their manager; Vera is above Mona: refused.
    assert mona.post(f"{API}/calls/", call(fc["period"], fc["rita"], "120"), format="json").status_code == 201
    up = mona.post(f"{API}/calls/", call(fc["period"], fc["vera"], "1"), format="json")
    assert up.status_code == 403 and "Vera VP is not one of them" in up.json()["detail"]
    analyst = world.a.api(Role.REVOPS_ANALYST).post(f"{API}/calls/", call(fc["period"], fc["rita"], "90"),
                                                    format="json")
    assert analyst.status_code == 201 and analyst.json()["submitted_by"] == world.a.users[Role.REVOPS_ANALYST].pk
    # An admin whose membership names no person may still act on behalf; an unlinked billing
    # manager has no forecast_calls right at all; integrators neither.
    assert world.a.api(Role.ADMIN).post(f"{API}/calls/", call(fc["period"], fc["vera"], "10"),
                                        format="json").status_code == 201
    assert world.a.api(Role.BILLING_MANAGER).post(f"{API}/calls/", call(fc["period"], fc["ray"], "1"),
                                                  format="json").status_code == 403
    assert world.a.api().post(f"{API}/calls/", call(fc["period"], fc["ray"], "1"), format="json").status_code == 403


def test_an_executive_without_a_linked_person_is_told_to_link_it(world, fc):
    with tenant_context(world.a.org):
        revops_services.membership_upsert(user=world.a.users[Role.EXECUTIVE], role=Role.EXECUTIVE, person=None)
    refused = world.a.api(Role.EXECUTIVE).post(f"{API}/calls/", call(fc["period"], fc["vera"], "1"), format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("Your membership is not linked to a person")


def test_calls_list_latest_and_a_reps_view_of_them(world, fc):
    api = world.a.api(Role.REVOPS_ANALYST)
    latest = api.get(f"{API}/calls/?period={fc['period'].pk}&latest=true&category=commit").json()
    assert sorted((c["person_name"], c["kind"], c["subject_name"], c["amount"]) for c in latest["results"]) == [
        ("Mona Manager harbor", "manager", "Ray Rep harbor", "650.00"), ("Ray Rep harbor", "rep", None, "800.00"),
        ("Rita Rep", "rep", None, "100.00")]
    everything = api.get(f"{API}/calls/?period={fc['period'].pk}&person={fc['ray'].pk}").json()
    assert [c["amount"] for c in everything["results"]] == ["1200.00", "800.00", "700.00"]  # newest first
    rays = world.a.api(Role.REP).get(f"{API}/calls/").json()
    assert {c["person_name"] for c in rays["results"]} == {"Ray Rep harbor"}
    exported = rows_of(api.get(f"{API}/calls/?period={fc['period'].pk}&latest=true&format=csv"))
    assert len(exported) == 4 and {"person_name", "amount", "is_late"} <= set(exported[0])


# -- roll-up ---------------------------------------------------------------------------------------

def test_rollup_shows_own_calls_adjustments_and_team_numbers_side_by_side(world, fc):
    api = world.a.api(Role.REVOPS_ANALYST)
    body = api.get(f"{API}/rollup/?period={fc['period'].pk}&manager={fc['vera'].pk}").json()
    assert body["team"] == {"commit": "750.00", "best_case": "1200.00", "pipeline": None}
    nodes = {n["name"]: n for n in body["nodes"]}
    assert [(n["name"], n["depth"]) for n in body["nodes"]] == [
        ("Vera VP", 0), ("Mona Manager harbor", 1), ("Ray Rep harbor", 2), ("Rita Rep", 2)]
    ray = nodes["Ray Rep harbor"]
    assert (ray["own_commit"], ray["adjusted_commit"], ray["effective_commit"], ray["manager"]) == (
        "800.00", "650.00", "650.00", fc["mona"].pk)
    assert (nodes["Mona Manager harbor"]["team_commit"], nodes["Mona Manager harbor"]["own_commit"]) == (
        "750.00", None)
    assert nodes["Rita Rep"]["effective_commit"] == "100.00"
    # Mona's own user defaults to her own roll-up; Ray may not roll up Mona's team.
    mine = as_user(fc["mona_user"], world.a).get(f"{API}/rollup/?period={fc['period'].pk}").json()
    assert (mine["manager"], mine["team"]["commit"]) == (fc["mona"].pk, "750.00")
    refused = world.a.api(Role.REP).get(f"{API}/rollup/?period={fc['period'].pk}&manager={fc['mona'].pk}")
    assert refused.status_code == 403 and "Mona Manager harbor is not one of them" in refused.json()["detail"]
    exported = rows_of(api.get(f"{API}/rollup/?period={fc['period'].pk}&manager={fc['mona'].pk}&format=csv"))
    assert [(r["name"], r["own_commit"], r["adjusted_commit"], r["team_commit"]) for r in exported] == [
        ("Mona Manager harbor", "", "", "750.00"), ("Ray Rep harbor", "800.00", "650.00", "800.00"),
        ("Rita Rep", "100.00", "", "100.00")]
    # An analyst linked to no person gets the top of the hierarchy.
    assert api.get(f"{API}/rollup/?period={fc['period'].pk}").json()["manager"] == fc["vera"].pk


# -- runs ------------------------------------------------------------------------------------------

def test_weighted_pipeline_run_and_its_values(world, fc):
    api = world.a.api(Role.REVOPS_ANALYST)
    created = api.post(f"{API}/runs/", {"kind": "pipeline", "as_of": "2029-12-31", "horizon": 3}, format="json")
    assert created.status_code == 201, created.content
    run = created.json()
    assert (run["kind"], run["status"], run["horizon"], run["summary"]["open_opportunities"]) == (
        "pipeline", "succeeded", 3, 4)
    proposal = next(c for c in run["summary"]["conversion"] if c["stage_id"] == fc["stages"]["Proposal"].pk)
    assert (proposal["rate"], proposal["passed"], proposal["won"], proposal["source"]) == (0.6, 5, 3, "history")
    company = api.get(f"{API}/runs/{run['id']}/values/?level=company").json()
    assert [(v["month"], v["point"]) for v in company["results"]] == [("2030-01-01", "1000.00"),
                                                                      ("2030-02-01", "60.00")]
    reps = rows_of(api.get(f"{API}/runs/{run['id']}/values/?level=rep&format=csv"))
    assert sorted((r["key"], r["month"], r["point"]) for r in reps) == sorted([
        (str(fc["ray"].pk), "2030-01-01", "900.00"), (str(fc["rita"].pk), "2030-01-01", "100.00"),
        (str(fc["rita"].pk), "2030-02-01", "60.00")])
    listed = api.get(f"{API}/runs/?kind=pipeline").json()["results"][0]
    assert (listed["id"], listed["values_count"]) == (run["id"], 7)  # 2 company + 3 rep + 2 service line
    assert world.a.api(Role.REP).post(f"{API}/runs/", {"kind": "pipeline"}, format="json").status_code == 403
    # Ray reads the company and his own series, not Rita's.
    rays = world.a.api(Role.REP).get(f"{API}/runs/{run['id']}/values/?level=rep").json()
    assert [(v["key"], v["point"]) for v in rays["results"]] == [(str(fc["ray"].pk), "900.00")]


# -- accuracy --------------------------------------------------------------------------------------

def test_accuracy_leaderboard_and_trend_after_a_period_closes(world, fc):
    """Ray called 800 and won 800; Rita called 100 and won nothing: rep_call:commit WAPE = (0 + 100) / 800
    = 12.5%, bias = (900 - 800) / 800 = +12.5%, one of two within 5%. Mona's team 750 against 800: WAPE
    6.25%, bias -6.25%. The weighted pipeline (made 31 Dec 2029, horizon 1) said Ray 900, Rita 100, company
    1,000: at rep level (100 + 100) / 800 = 25%."""
    api = world.a.api(Role.REVOPS_ANALYST)
    assert api.get(f"{API}/accuracy/").json() == []
    api.post(f"{API}/runs/", {"kind": "pipeline", "as_of": "2029-12-31", "horizon": 3}, format="json")
    with tenant_context(world.a.org):
        services.opportunities_upsert(rows=[opp_row("P1", fc["ray"], fc["stages"]["Closed won"], "800",
                                                    dt.date(2030, 1, 25), dt.date(2030, 1, 20))])
    assert api.post(f"{API}/periods/{fc['period'].pk}/close/").status_code == 200
    board = {(r["source"], r["horizon"]): r for r in api.get(f"{API}/accuracy/?level=rep").json()}
    assert set(board) == {("rep_call:commit", 0), ("rep_call:best_case", 0), ("weighted_pipeline", 1)}
    rep = board[("rep_call:commit", 0)]
    assert (rep["n"], rep["wape"], rep["bias"], rep["hit5"], rep["hit10"]) == (2, 0.125, 0.125, 0.5, 0.5)
    assert board[("weighted_pipeline", 1)]["wape"] == 0.25
    team = api.get(f"{API}/accuracy/?source=manager_call:commit").json()
    assert [(r["n"], r["wape"], r["bias"], r["forecast"], r["actual"]) for r in team] == [
        (1, 0.0625, -0.0625, 750.0, 800.0)]
    trend = api.get(f"{API}/accuracy/trend/?source=rep_call:commit&level=rep").json()
    assert trend == [{"period_start": "2030-01-01", "n": 2, "wape": 0.125, "bias": 0.125, "hit5": 0.5,
                      "hit10": 0.5, "actual": 800.0, "forecast": 900.0}]
    exported = rows_of(api.get(f"{API}/accuracy/?level=rep&format=csv"))
    assert exported[0]["source"] == "rep_call:commit" and exported[0]["wape"] == "0.125"
    assert api.get(f"{API}/accuracy/trend/").status_code == 400  # which source?
    assert world.a.api(Role.REP).get(f"{API}/accuracy/").status_code == 200
    assert world.a.api(Role.BILLING_MANAGER).get(f"{API}/accuracy/").status_code == 403


# -- another organization ----------------------------------------------------------------------------

def test_another_organizations_objects_are_not_found(world, fc):
    b = build(world.b, calls=False)
    with tenant_context(world.b.org):
        b_opp = Opportunity.objects.get(external_id="P1")
        b_run = services.pipeline_run(as_of=dt.date(2029, 12, 31), horizon=1)
    api = world.a.api(Role.ADMIN)
    for url in (f"opportunities/{b_opp.pk}/", f"opportunities/{b_opp.pk}/history/", f"periods/{b['period'].pk}/",
                f"runs/{b_run.pk}/", f"runs/{b_run.pk}/values/", f"stages/{b['stages']['Proposal'].pk}/"):
        assert api.get(f"{API}/{url}").status_code == 404, url
    assert api.post(f"{API}/periods/{b['period'].pk}/close/").status_code == 404
    foreign = api.post(f"{API}/calls/", call(b["period"], b["ray"], "1"), format="json")
    assert foreign.status_code == 400 and set(foreign.json()) == {"period", "person"}
    assert api.get(f"{API}/rollup/?period={b['period'].pk}&manager={b['mona'].pk}").status_code == 404
    with tenant_context(world.b.org):
        assert ForecastPeriod.objects.get(pk=b["period"].pk).closed_at is None


def test_openapi_documents_the_forecasting_api(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    paths = schema["paths"]
    for path in ("/api/v1/forecasting/stages/", "/api/v1/forecasting/stages/{id}/",
                 "/api/v1/forecasting/opportunities/", "/api/v1/forecasting/opportunities/{id}/",
                 "/api/v1/forecasting/opportunities/{id}/history/", "/api/v1/forecasting/opportunities/bulk-upsert/",
                 "/api/v1/forecasting/periods/", "/api/v1/forecasting/periods/{id}/",
                 "/api/v1/forecasting/periods/{id}/close/", "/api/v1/forecasting/calls/",
                 "/api/v1/forecasting/calls/{id}/", "/api/v1/forecasting/rollup/", "/api/v1/forecasting/runs/",
                 "/api/v1/forecasting/runs/{id}/", "/api/v1/forecasting/runs/{id}/values/",
                 "/api/v1/forecasting/accuracy/", "/api/v1/forecasting/accuracy/trend/"):
        assert path in paths, path
    upsert = paths["/api/v1/forecasting/opportunities/bulk-upsert/"]["post"]
    assert set(upsert["requestBody"]["content"]) == {"application/json", "text/csv"}
    assert "Re-sending the same rows changes nothing" in upsert["description"]
    submit = paths["/api/v1/forecasting/calls/"]["post"]
    assert "403" in submit["responses"] and "Whose calls you may submit" in submit["description"]
    filters = {p["name"] for p in paths["/api/v1/forecasting/opportunities/"]["get"]["parameters"]}
    assert {"owner", "stage", "category", "state", "close_from", "close_to", "format"} <= filters
    rollup = {p["name"] for p in paths["/api/v1/forecasting/rollup/"]["get"]["parameters"]}
    assert {"period", "manager", "format"} <= rollup
    trend = {p["name"] for p in paths["/api/v1/forecasting/accuracy/trend/"]["get"]["parameters"]}
    assert {"source", "level"} <= trend
