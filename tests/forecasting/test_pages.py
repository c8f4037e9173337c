"""Forecasting pages on the hand-made pipeline of test_api.py (``build``): the overview's figures, the call
page for a rep and a manager with its htmx submissions and refusals, call history, runs with their
chart, accuracy, opportunities with filters, export and import, and the other organization's objects.

The figures (worked out in test_api.py's docstring):
- January 2030 open pipeline P1 1,000 (commit) + P2 500 (best case) + P3 2,000 (pipeline) = 3,500.00;
  weighted 600 + 300 + 100 = 1,000.00. All open stages: 3,900.00, weighted 1,060.00.
- Commit calls: Ray 800 (adjusted by Mona to 650), Rita 100: Mona's team 750.00 = the company's.
- Coverage without a quota plan = open pipeline / commit: 3,500 / 750 = 4.67x for Mona's and Vera's teams.
- Quota coverage (``test_coverage_uses_the_remaining_quota_of_the_active_plan``): see its docstring.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from forecasting import services
from forecasting.models import ForecastCall, ForecastPeriod, ForecastRun, ForecastScore, Opportunity
from revops.middleware import SESSION_ORG_KEY
from revops.models import Role
from revops.tenancy import tenant_context
from tests.forecasting.test_api import build, opp_row

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
D = Decimal


@pytest.fixture
def fc(world: Any) -> dict[str, Any]:
    return build(world.a)


def page_client(user: Any, tenant: Any) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_ORG_KEY] = tenant.org.pk
    session.save()
    return client


def value(html: str, name: str) -> str:
    return re.sub(r"\s+", " ", re.search(rf'data-value="{name}">(.*?)</dd>', html, re.S).group(1)).strip()


def cells(html: str, table_id: str, row_attr: str) -> dict[str, dict[str, str]]:
    """Row key -> {data-col: text} of a table (text without tags, whitespace collapsed)."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S).group(0)
    out = {}
    for key, body in re.findall(rf'<tr[^>]*{row_attr}="([^"]+)"[^>]*>(.*?)</tr>', table, re.S):
        out[key] = {col: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()
                    for col, text in re.findall(r'data-col="([\w-]+)"[^>]*>(.*?)</td>', body, re.S)}
    return out


def figure(html: str, element_id: str) -> dict[str, Any]:
    return json.loads(re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html,
                                re.S).group(1))


def csv_rows(response: Any) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv"), response["Content-Type"]
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


# -- overview --------------------------------------------------------------------------------------

def test_overview_shows_the_period_pipeline_calls_and_coverage_per_team(world, fc):
    page = world.a.client(Role.EXECUTIVE).get(reverse("forecasting_overview")).content.decode()
    assert "January 2030" in page
    assert value(page, "pipeline") == "3,500.00"
    assert value(page, "weighted") == "1,000.00"
    assert value(page, "won") == "0.00"
    assert value(page, "commit") == "750.00"
    assert value(page, "best_case") == "1,200.00"
    assert value(page, "coverage").startswith("4.67×") and "of commit" in value(page, "coverage")
    categories = cells(page, "category-table", "data-category")
    assert {k: (v["amount"], v["weighted"]) for k, v in categories.items()} == {
        "pipeline": ("2,000.00", "100.00"), "best_case": ("500.00", "300.00"), "commit": ("1,000.00", "600.00")}
    coverage = cells(page, "coverage-table", "data-manager")
    assert {k: (v["pipeline"], v["commit"], v["coverage"]) for k, v in coverage.items()} == {
        str(fc["vera"].pk): ("3,500.00", "750.00", "4.67×"), str(fc["mona"].pk): ("3,500.00", "750.00", "4.67×")}
    stages = cells(page, "stage-table", "data-stage")
    assert (stages["Proposal"]["rate"], stages["Proposal"]["weighted"]) == ("60.0%", "600.00")
    assert (stages["Qualified"]["rate"], stages["Qualified"]["weighted"]) == ("15.0%", "60.00")
    assert 'data-col="total-weighted">1,060.00' in page and 'data-col="total-amount">3,900.00' in page
    assert figure(page, "fig-stages")["data"][1]["y"][:3] == [100.0, 60.0, 600.0]
    assert "Close and score" not in page and "Open a period" not in page  # executives read
    analyst = world.a.client(Role.REVOPS_ANALYST).get(reverse("forecasting_overview")).content.decode()
    assert "Close and score January 2030" in analyst and "Open a period" in analyst
    # Every role with forecasting view opens it; billing managers do not.
    assert world.a.client(Role.REP).get(reverse("forecasting_overview")).status_code == 200
    assert world.a.client(Role.BILLING_MANAGER).get(reverse("forecasting_overview")).status_code == 403


def test_overview_without_any_forecasting_data_explains_where_to_start(world):
    page = world.a.client(Role.REVOPS_ANALYST).get(reverse("forecasting_overview")).content.decode()
    assert "No forecast period yet" in page and "No stages yet" in page and "Open the first one below" in page


def test_coverage_uses_the_remaining_quota_of_the_active_plan(world):
    """The quota world of tests/quotas/fixtures.py, activated. January 2026 quota by rep: Pat (T1) 39,666.67,
    Quinn (T2) 30,333.34, Nia (T3, hired in December: 50% ramp) 6,666.67 = 76,666.68; credited in January:
    account C's 8,000.00 (Quinn). Pat has 50,000.00 open closing in January: coverage = 50,000 / (76,666.68
    - 8,000.00) = 50,000 / 68,666.68 = 0.73x of the remaining quota."""
    from quotas import services as quota_services
    from revops.models import Account
    from tests.quotas import fixtures

    with tenant_context(world.a.org):
        Account.objects.all().update(is_active=False)
        qw = fixtures.build()
        quota_services.plan_approve(plan=qw["plan"], user=world.a.users[Role.EXECUTIVE])
        quota_services.plan_activate(plan=qw["plan"])
        services.stages_install_defaults()
        from forecasting.models import Stage

        services.opportunities_upsert(rows=[opp_row("Q1", qw["pat"], Stage.objects.get(name="Proposal"), "50000",
                                                    dt.date(2026, 1, 20), dt.date(2025, 12, 1))])
        period = services.period_ensure(start=dt.date(2026, 1, 1))
    page = world.a.client(Role.EXECUTIVE).get(f"{reverse('forecasting_overview')}?period={period.pk}").content.decode()
    assert value(page, "quota") == "76,666.68"
    assert value(page, "coverage") == "0.73× <small>of remaining quota</small>"
    assert "QW FY2026" in page


def test_analysts_open_and_close_periods_from_the_overview(world, fc):
    client = world.a.client(Role.REVOPS_ANALYST)
    opened = client.post(reverse("forecasting_period_open"), {"start": "2030-02", "kind": "month", "deadline": ""})
    with tenant_context(world.a.org):
        feb = ForecastPeriod.objects.get(start=dt.date(2030, 2, 1))
    assert opened.status_code == 302 and opened["Location"].endswith(f"?period={feb.pk}")
    assert feb.deadline == dt.date(2030, 2, 8)
    bad = client.post(reverse("forecasting_period_open"), {"start": "2030-02", "kind": "quarter"})
    assert bad.status_code == 400 and "A quarter starts in January, April, July or October." in bad.content.decode()
    assert world.a.client(Role.REP).post(reverse("forecasting_period_open"), {"start": "2030-03",
                                                                              "kind": "month"}).status_code == 403
    with tenant_context(world.a.org):
        services.opportunities_upsert(rows=[opp_row("P1", fc["ray"], fc["stages"]["Closed won"], "800",
                                                    dt.date(2030, 1, 25), dt.date(2030, 1, 20))])
    closed = client.post(reverse("forecasting_period_close", args=[fc["period"].pk]), follow=True)
    assert "January 2030 closed" in closed.content.decode() and "800 of bookings" in closed.content.decode()
    with tenant_context(world.a.org):
        assert ForecastScore.objects.filter(period=fc["period"]).count() > 0
    again = client.post(reverse("forecasting_period_close", args=[fc["period"].pk]), follow=True)
    assert "The period is already closed." in again.content.decode()


# -- the call page ---------------------------------------------------------------------------------

def test_a_rep_sees_their_own_calls_and_pipeline_and_no_team(world, fc):
    page = world.a.client(Role.REP).get(f"{reverse('forecasting_calls')}?period={fc['period'].pk}").content.decode()
    own = cells(page, "own-calls", "data-category")
    assert (own["commit"]["own"], own["best_case"]["own"], own["pipeline"]["own"]) == (
        "800.00", "1,200.00", "not called")
    assert 'id="own-commit" name="commit" value="800.00"' in page  # the form starts from the current call
    assert value(page, "pipeline-commit").startswith("1,000.00") and value(page, "pipeline-weighted") == "900.00"
    assert re.findall(r'data-opportunity="(\w+)"', page) == ["P2", "P1"]
    assert "Due by" in page and "Jan 8, 2030" in page
    assert 'id="fc-tree"' not in page  # Ray manages nobody
    # Every call by or about Ray: his three and Mona's adjustment.
    assert page.count('data-call="') == 4 and "Mona Manager harbor's adjustment of Ray Rep harbor" in page
    # Another person's page is not his to open.
    other = world.a.client(Role.REP).get(f"{reverse('forecasting_calls')}?person={fc['rita'].pk}")
    assert other.status_code == 403
    assert ("You may open only your own call page and those of the people under you; Rita Rep&#x27;s is not one "
            "of them.") in other.content.decode()
    history = world.a.client(Role.REP).get(f"{reverse('forecasting_call_history')}?person={fc['rita'].pk}")
    assert history.status_code == 403


def test_a_rep_submits_their_call_with_htmx_and_a_bad_number_is_refused_under_its_field(world, fc):
    client = world.a.client(Role.REP)
    base = {"period": fc["period"].pk, "person": fc["ray"].pk, "kind": "rep", "input_id": "own",
            "view_person": fc["ray"].pk, "view_category": "commit"}
    saved = client.post(reverse("forecasting_call_submit"), {**base, "commit": "900", "best_case": "1,300",
                                                             "pipeline": "", "note": "P2 slips"}, **HTMX)
    assert saved.status_code == 200
    html = saved.content.decode()
    assert "Ray Rep harbor&#x27;s call saved: commit 900.00, best case 1,300.00." in html
    own = cells(html, "own-calls", "data-category")
    assert (own["commit"]["own"], own["best_case"]["own"]) == ("900.00", "1,300.00")
    with tenant_context(world.a.org):
        latest = ForecastCall.objects.filter(person=fc["ray"], category="commit").order_by("-submitted_at",
                                                                                           "-id").first()
        assert (latest.amount, latest.note, latest.submitted_by, latest.is_late) == (
            D("900.00"), "P2 slips", world.a.users[Role.REP], False)
    bad = client.post(reverse("forecasting_call_submit"), {**base, "commit": "lots"}, **HTMX).content.decode()
    assert 'id="own-commit" name="commit" value="lots"' in bad and 'aria-invalid="true"' in bad
    assert "&#x27;lots&#x27; is not a number" in bad
    empty = client.post(reverse("forecasting_call_submit"), base, **HTMX).content.decode()
    assert "Type at least one number" in empty
    # The board answered is only ever one Ray may read: naming Rita's page shows his own.
    sneaky = client.post(reverse("forecasting_call_submit"), {**base, "pipeline": "10",
                                                              "view_person": fc["rita"].pk}, **HTMX).content.decode()
    assert "Ray Rep harbor: own call" in sneaky and "Rita Rep: own call" not in sneaky
    # Without htmx a saved call redirects back to the page.
    plain = client.post(reverse("forecasting_call_submit"), {**base, "pipeline": "2000"})
    assert plain.status_code == 302 and f"person={fc['ray'].pk}" in plain["Location"]


def test_a_rep_submitting_for_someone_else_gets_a_403_that_says_why(world, fc):
    response = world.a.client(Role.REP).post(reverse("forecasting_call_submit"), {
        "period": fc["period"].pk, "person": fc["rita"].pk, "kind": "rep", "commit": "5"})
    assert response.status_code == 403
    assert ("You may submit calls only for yourself (Ray Rep harbor) and the people under you on 01 Jan 2030; "
            "Rita Rep is not one of them.") in response.content.decode()
    with tenant_context(world.a.org):
        assert not ForecastCall.objects.filter(person=fc["rita"], amount=D("5")).exists()


def test_a_manager_sees_the_roll_up_and_adjusts_a_report_without_overwriting_their_call(world, fc):
    client = page_client(fc["mona_user"], world.a)
    page = client.get(f"{reverse('forecasting_calls')}?period={fc['period'].pk}").content.decode()
    assert value(page, "team-number") == "750.00" and value(page, "bottom-up") == "750.00"
    tree = cells(page, "fc-tree", "data-person")
    ray, rita = str(fc["ray"].pk), str(fc["rita"].pk)
    assert (tree[ray]["own"], tree[ray]["adjusted"], tree[ray]["effective"]) == ("800.00", "650.00", "650.00")
    assert (tree[rita]["own"], tree[rita]["adjusted"], tree[rita]["effective"]) == ("100.00", "—", "100.00")
    assert f'id="adjust-{fc["rita"].pk}"' in page
    # Mona trims Rita to 60: the team becomes 650 + 60 = 710 and Rita's own 100 stays.
    adjusted = client.post(reverse("forecasting_call_submit"), {
        "period": fc["period"].pk, "person": fc["mona"].pk, "kind": "manager", "subject": fc["rita"].pk,
        "commit": "60", "input_id": f"adjust-{fc['rita'].pk}", "view_person": fc["mona"].pk,
        "view_category": "commit"}, **HTMX).content.decode()
    assert "Rita Rep&#x27;s number adjusted to commit 60.00; their own call is kept beside it." in adjusted
    assert value(adjusted, "team-number") == "710.00"
    tree = cells(adjusted, "fc-tree", "data-person")
    assert (tree[rita]["own"], tree[rita]["adjusted"], tree[rita]["effective"]) == ("100.00", "60.00", "60.00")
    # A team-level number replaces the roll-up for Mona's total; the roll-up stays beside it.
    team = client.post(reverse("forecasting_call_submit"), {
        "period": fc["period"].pk, "person": fc["mona"].pk, "kind": "manager", "commit": "700",
        "input_id": "team-number", "view_person": fc["mona"].pk, "view_category": "commit"}, **HTMX).content.decode()
    assert (value(team, "team-number"), value(team, "bottom-up"), value(team, "team-call")) == (
        "700.00", "710.00", "700.00")
    # The best-case tab: Ray's 1,200 is the team's.
    best = client.get(f"{reverse('forecasting_calls')}?period={fc['period'].pk}&category=best_case&part=board",
                      **HTMX).content.decode()
    assert best.startswith('\n<div id="fc-board">') or '<div id="fc-board">' in best[:200]
    assert value(best, "team-number") == "1,200.00"
    # Adjusting Vera (her own manager) is refused with the reason; so is a negative number, under its cell.
    above = client.post(reverse("forecasting_call_submit"), {
        "period": fc["period"].pk, "person": fc["vera"].pk, "kind": "manager", "subject": fc["mona"].pk,
        "commit": "1"}, **HTMX)
    assert above.status_code == 403 and "Vera VP is not one of them" in above.content.decode()
    negative = client.post(reverse("forecasting_call_submit"), {
        "period": fc["period"].pk, "person": fc["mona"].pk, "kind": "manager", "subject": fc["ray"].pk,
        "commit": "-5", "input_id": f"adjust-{fc['ray'].pk}", "view_person": fc["mona"].pk,
        "view_category": "commit"}, **HTMX).content.decode()
    assert f'id="adjust-{fc["ray"].pk}-error">An amount cannot be negative.' in negative


def test_vera_drills_down_into_monas_team_and_reads_a_persons_history(world, fc):
    client = world.a.client(Role.EXECUTIVE)  # linked to Vera
    page = client.get(f"{reverse('forecasting_calls')}?period={fc['period'].pk}").content.decode()
    tree = cells(page, "fc-tree", "data-person")
    assert tree[str(fc["mona"].pk)]["team"] == "750.00" and tree[str(fc["ray"].pk)]["effective"] == "650.00"
    assert f'id="adjust-{fc["mona"].pk}"' in page and f'id="adjust-{fc["ray"].pk}"' not in page  # direct only
    drill = client.get(f"{reverse('forecasting_calls')}?period={fc['period'].pk}&person={fc['mona'].pk}")
    assert drill.status_code == 200 and value(drill.content.decode(), "team-number") == "750.00"
    history = client.get(f"{reverse('forecasting_call_history')}?period={fc['period'].pk}&person={fc['ray'].pk}",
                         **HTMX).content.decode()
    assert history.count('data-call="') == 4 and "Ray Rep harbor's own call" in history
    assert 'id="call-history"' in history and "<html" not in history


def test_admins_pick_whose_page_and_submit_on_their_behalf(world, fc):
    client = world.a.client(Role.ADMIN)
    page = client.get(f"{reverse('forecasting_calls')}?period={fc['period'].pk}").content.decode()
    assert 'id="person-select"' in page and value(page, "team-number") == "750.00"  # Vera, the top manager
    saved = client.post(reverse("forecasting_call_submit"), {
        "period": fc["period"].pk, "person": fc["rita"].pk, "kind": "rep", "commit": "120", "input_id": "own",
        "view_person": fc["rita"].pk, "view_category": "commit"}, **HTMX)
    assert "Rita Rep&#x27;s call saved: commit 120.00." in saved.content.decode()
    with tenant_context(world.a.org):
        assert ForecastCall.objects.filter(person=fc["rita"], amount=D("120"),
                                           submitted_by=world.a.users[Role.ADMIN]).exists()
    assert world.a.client(Role.BILLING_MANAGER).get(reverse("forecasting_calls")).status_code == 403


def test_late_calls_are_flagged_on_the_page(world, fc):
    with tenant_context(world.a.org):
        services.call_submit(period=fc["period"], person=fc["rita"], category="best_case", amount=D("300"),
                             now=dt.datetime(2030, 1, 9, 12, tzinfo=dt.timezone.utc))
    page = page_client(fc["mona_user"], world.a).get(
        f"{reverse('forecasting_calls')}?period={fc['period'].pk}&category=best_case").content.decode()
    tree = cells(page, "fc-tree", "data-person")
    assert tree[str(fc["rita"].pk)]["own"] == "300.00 late"


def test_a_closed_period_takes_no_more_calls_and_shows_none_of_the_forms(world, fc):
    with tenant_context(world.a.org):
        services.period_close(period=fc["period"])
    page = world.a.client(Role.REP).get(f"{reverse('forecasting_calls')}?period={fc['period'].pk}").content.decode()
    assert "closed: calls are final" in page and 'id="own-form"' not in page
    refused = world.a.client(Role.REP).post(reverse("forecasting_call_submit"), {
        "period": fc["period"].pk, "person": fc["ray"].pk, "kind": "rep", "commit": "1", "input_id": "own",
        "view_person": fc["ray"].pk, "view_category": "commit"}, **HTMX)
    assert "The period is closed: its calls are final." in refused.content.decode()


# -- runs ------------------------------------------------------------------------------------------

def test_an_analyst_runs_the_weighted_pipeline_and_reads_its_chart(world, fc):
    client = world.a.client(Role.REVOPS_ANALYST)
    page = client.get(reverse("forecasting_runs")).content.decode()
    assert "No forecast runs yet" in page and 'id="run-form"' in page
    started = client.post(reverse("forecasting_run_start"), {"kind": "pipeline", "as_of": "2029-12-31",
                                                             "horizon": "3"})
    with tenant_context(world.a.org):
        run = ForecastRun.objects.get()
    assert started.status_code == 302 and started["Location"] == reverse("forecasting_run", args=[run.pk])
    detail = client.get(started["Location"]).content.decode()
    fig = figure(detail, "fig-run")
    point = next(t for t in fig["data"] if t.get("name") == "weighted_pipeline")
    assert (point["x"], point["y"]) == (["2030-01-01", "2030-02-01"], [1000.0, 60.0])
    values = cells(detail, "values-table", "data-month")
    assert values["2030-01"]["point"] == "1,000.00" and values["2030-02"]["point"] == "60.00"
    conversion = cells(detail, "conversion-table", "data-stage")
    assert conversion["Proposal"]["rate"] == "60.0%" and conversion["Prospecting"]["rate"] == "5.0%"
    rita = client.get(f"{reverse('forecasting_run', args=[run.pk])}?series=rep|{fc['rita'].pk}").content.decode()
    assert "Rita Rep: forecast" in rita and cells(rita, "values-table", "data-month")["2030-02"]["point"] == "60.00"
    exported = csv_rows(client.get(f"{reverse('forecasting_run', args=[run.pk])}?format=csv"))
    assert len(exported) == 7 and {"level", "key", "model", "month", "point", "lo80", "hi95"} <= set(exported[0])
    listed = cells(client.get(reverse("forecasting_runs")).content.decode(), "runs-table", "data-run")
    assert listed[str(run.pk)]["values"] == "7"
    # Reps read runs (the company's and their own series, not other reps'); they do not start them.
    rep_page = world.a.client(Role.REP).get(reverse("forecasting_run", args=[run.pk])).content.decode()
    assert "rep: Ray Rep harbor" in rep_page and "rep: Rita Rep" not in rep_page
    assert world.a.client(Role.REP).post(reverse("forecasting_run_start"), {"kind": "pipeline"}).status_code == 403


def test_a_past_run_draws_the_actual_beside_the_forecast(world, fc):
    """P1 is won at 800 on 20 Jan 2030 against a January forecast of 1,000."""
    with tenant_context(world.a.org):
        run = services.pipeline_run(as_of=dt.date(2029, 12, 31), horizon=3)
        services.opportunities_upsert(rows=[opp_row("P1", fc["ray"], fc["stages"]["Closed won"], "800",
                                                    dt.date(2030, 1, 25), dt.date(2030, 1, 20))])
    from unittest import mock

    with mock.patch("django.utils.timezone.localdate", return_value=dt.date(2030, 3, 1)):
        detail = world.a.client(Role.EXECUTIVE).get(reverse("forecasting_run", args=[run.pk])).content.decode()
    actual = next(t for t in figure(detail, "fig-run")["data"] if t.get("name") == "Actual")
    assert (actual["x"], actual["y"]) == (["2030-01-01", "2030-02-01"], [800.0, 0.0])
    assert cells(detail, "values-table", "data-month")["2030-01"]["actual"] == "800.00"


def test_time_series_and_cash_runs_are_offered_once_installed_and_a_queued_run_shows_its_job(world, fc):
    client = world.a.client(Role.REVOPS_ANALYST)
    page = client.get(reverse("forecasting_runs")).content.decode()
    assert re.findall(r'<option value="(\w+)"', page) == ["pipeline", "time_series", "cash"]
    started = client.post(reverse("forecasting_run_start"), {"kind": "time_series", "as_of": "2026-11-01",
                                                             "horizon": "3"})
    with tenant_context(world.a.org):
        run = ForecastRun.objects.get(kind="time_series")
    assert started.status_code == 302 and started["Location"] == reverse("forecasting_run", args=[run.pk])
    detail = client.get(started["Location"]).content.decode()
    # The job runs after the commit (never, inside this test's transaction): the page follows its progress.
    assert f'id="job-progress-{run.job_id}"' in detail and 'hx-trigger="job-finished from:body"' in detail


# -- accuracy --------------------------------------------------------------------------------------

def test_accuracy_leaderboard_and_trend_after_the_period_closes(world, fc):
    """rep_call:commit: WAPE (0 + 100) / 800 = 12.5%, bias +12.5%, 50% within 5% (test_api.py)."""
    client = world.a.client(Role.EXECUTIVE)
    assert "Nothing scored yet" in client.get(reverse("forecasting_accuracy")).content.decode()
    with tenant_context(world.a.org):
        services.pipeline_run(as_of=dt.date(2029, 12, 31), horizon=3)
        services.opportunities_upsert(rows=[opp_row("P1", fc["ray"], fc["stages"]["Closed won"], "800",
                                                    dt.date(2030, 1, 25), dt.date(2030, 1, 20))])
        services.period_close(period=fc["period"])
    page = client.get(f"{reverse('forecasting_accuracy')}?level=rep").content.decode()
    board = cells(page, "board-table", "data-source")
    assert board["rep_call:commit"] == {"n": "2", "wape": "12.5%", "bias": "12.5%", "hit5": "50%", "hit10": "50%",
                                        "cover80": "—", "cover95": "—"}  # calls have no intervals
    assert board["weighted_pipeline"]["wape"] == "25.0%"
    trend = figure(page, "fig-trend")
    rep_call = next(t for t in trend["data"] if t["name"] == "rep_call:commit")
    assert (rep_call["x"], rep_call["y"]) == (["2030-01-01"], [12.5])
    every = client.get(reverse("forecasting_accuracy")).content.decode()
    assert "manager_call:commit (team)" in json.dumps(figure(every, "fig-trend"))
    exported = csv_rows(client.get(f"{reverse('forecasting_accuracy')}?level=team&format=csv"))
    assert [(r["source"], r["wape"], r["bias"]) for r in exported] == [
        ("manager_call:commit", "0.0625", "-0.0625"), ("manager_call:best_case", "0.5", "0.5")]


# -- opportunities ---------------------------------------------------------------------------------

def test_opportunities_list_filters_exports_and_shows_history(world, fc):
    client = world.a.client(Role.REVOPS_ANALYST)
    page = client.get(reverse("forecasting_opportunities")).content.decode()  # open ones by default
    assert re.findall(r'data-opportunity="(\w+)"', page) == ["P2", "P1", "P3", "P4"]
    assert "4 opportunities · 3,900.00" in page
    rita = client.get(f"{reverse('forecasting_opportunities')}?owner={fc['rita'].pk}&state=&close_to=2030-01-31",
                      **HTMX).content.decode()
    assert re.findall(r'data-opportunity="(\w+)"', rita) == ["H0", "H1", "H2", "H3", "H4", "P3"]
    assert rita.lstrip().startswith('<section id="opp-results"')
    exported = csv_rows(client.get(f"{reverse('forecasting_opportunities')}?state=won&format=csv"))
    assert [(r["external_id"], r["owner_employee_id"], r["stage_name"], r["amount"]) for r in exported] == [
        ("H0", "R2", "Closed won", "100.00"), ("H1", "R2", "Closed won", "100.00"),
        ("H2", "R2", "Closed won", "100.00")]
    with tenant_context(world.a.org):
        h0 = Opportunity.objects.get(external_id="H0")
    detail = client.get(reverse("forecasting_opportunity", args=[h0.pk])).content.decode()
    assert re.findall(r'data-col="stage">([^<]+)<', detail) == ["Proposal", "Closed won"]
    # Ray, a rep, sees his own only, and not Rita's deal's page.
    mine = world.a.client(Role.REP).get(reverse("forecasting_opportunities")).content.decode()
    assert re.findall(r'data-opportunity="(\w+)"', mine) == ["P2", "P1"] and "Import CSV" not in mine
    assert world.a.client(Role.REP).get(reverse("forecasting_opportunity", args=[h0.pk])).status_code == 404


def test_import_upserts_by_external_id_and_lists_failed_rows_by_line(world, fc):
    client = world.a.client(Role.REVOPS_ANALYST)
    text = ("external_id,name,owner_employee_id,stage_name,amount,expected_close,category,changed_on\n"
            "P1,Deal P1,R1,Negotiation,\"1,000.00\",2030-01-25,commit,2026-11-15\n"
            "N1,New one,R2,Qualified,$900,2030-03-01,pipeline,2026-11-15\n"
            "\n"
            "N2,Nobody's,ZZ,Qualified,100,2030-03-01,,\n"
            "N3,Bad date,R1,Qualified,100,someday,,\n")
    upload = SimpleUploadedFile("pipeline.csv", text.encode(), content_type="text/csv")
    response = client.post(reverse("forecasting_opportunities_import"), {"file": upload})
    html = response.content.decode()
    assert response.status_code == 200
    assert "4 rows: 1 inserted, 1 updated, 0 unchanged" in html and "2 rows failed and were not loaded" in html
    failed = re.findall(r'<tr data-line="(\d+)">.*?<td>([^<]*)</td></tr>', html, re.S)
    assert [line for line, _ in failed] == ["5", "6"]
    assert "owner_employee_id: No person has employee id &#x27;ZZ&#x27;." in failed[0][1]
    assert "expected_close:" in failed[1][1]
    with tenant_context(world.a.org):
        assert Opportunity.objects.get(external_id="P1").stage.name == "Negotiation"
        assert Opportunity.objects.get(external_id="N1").amount == D("900.00")
    again = client.post(reverse("forecasting_opportunities_import"),
                        {"file": SimpleUploadedFile("pipeline.csv", text.encode(), content_type="text/csv")})
    assert "0 inserted, 0 updated, 2 unchanged" in again.content.decode()
    strict = client.post(reverse("forecasting_opportunities_import"), {
        "file": SimpleUploadedFile("pipeline.csv", text.encode(), content_type="text/csv"), "all_or_nothing": "on"})
    assert strict.status_code == 400 and "Nothing was loaded: 2 of 4 rows failed" in strict.content.decode()
    wrong = client.post(reverse("forecasting_opportunities_import"), {
        "file": SimpleUploadedFile("x.csv", b"id,title\n1,x\n", content_type="text/csv")})
    assert wrong.status_code == 400 and "missing: external_id, name, amount, expected_close" in wrong.content.decode()
    template = csv_rows(client.get(f"{reverse('forecasting_opportunities_template')}?format=csv"))
    assert template == []
    assert world.a.client(Role.REP).get(reverse("forecasting_opportunities_import")).status_code == 403


def test_the_navigation_has_forecasting_for_the_roles_that_read_it(world):
    page = world.a.client(Role.REP).get(reverse("forecasting_runs")).content.decode()
    assert f'<a href="{reverse("forecasting_overview")}" aria-current="page">Forecasting</a>' in page
    billing = world.a.client(Role.BILLING_MANAGER).get(reverse("home")).content.decode()
    assert f'href="{reverse("forecasting_overview")}"' not in billing
    integrator = world.a.client(Role.INTEGRATOR).get(reverse("forecasting_overview")).content.decode()
    assert f'href="{reverse("forecasting_calls")}"' not in integrator  # calls are for sales, not integrations


# -- another organization ----------------------------------------------------------------------------

def test_another_organizations_objects_are_not_found_on_the_pages(world, fc):
    b = build(world.b, calls=False)
    with tenant_context(world.b.org):
        b_opp = Opportunity.objects.get(external_id="P1")
        b_run = services.pipeline_run(as_of=dt.date(2029, 12, 31), horizon=1)
    client = world.a.client(Role.ADMIN)
    assert client.get(reverse("forecasting_opportunity", args=[b_opp.pk])).status_code == 404
    assert client.get(reverse("forecasting_run", args=[b_run.pk])).status_code == 404
    assert client.post(reverse("forecasting_period_close", args=[b["period"].pk])).status_code == 404
    calls = client.get(f"{reverse('forecasting_calls')}?period={b['period'].pk}&person={b['ray'].pk}")
    assert calls.status_code == 404
    refused = client.post(reverse("forecasting_call_submit"), {
        "period": b["period"].pk, "person": b["ray"].pk, "kind": "rep", "commit": "1", "input_id": "own"}, **HTMX)
    assert "Select a valid choice" in refused.content.decode()
    with tenant_context(world.b.org):
        assert not ForecastCall.objects.exists() and ForecastPeriod.objects.get().closed_at is None
    assert "summit" not in client.get(reverse("forecasting_overview")).content.decode().lower()
