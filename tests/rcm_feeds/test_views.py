"""The billing dashboard: tiles, fragments, drill-down, exports, empty state, roles."""
from __future__ import annotations

from tests.rcm_feeds.x12util import SAMPLES

import csv
import datetime as dt
import io
import json
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from rcm_feeds import aggregates
from revops import services
from revops.middleware import SESSION_ORG_KEY
from revops.models import Role
from revops.tenancy import tenant_context

from . import kpi_fixtures as fx

PERIOD = "start=2026-01&end=2026-03"


@pytest.fixture
def hand(world: Any) -> dict[str, Any]:
    with tenant_context(world.a.org):
        data = fx.hand_fixture(world.a)
        aggregates.aggregates_refresh()
    return data


def test_dashboard_shows_tiles_definitions_and_local_plotly(world: Any, hand: dict[str, Any]) -> None:
    response = world.a.client(Role.BILLING_MANAGER).get(reverse("billing_dashboard") + "?" + PERIOD)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Clean claim rate" in html and "Net days in A/R" in html
    assert "31.3 d" in html  # net days in A/R of March (tests/rcm_feeds/test_kpis.py works it out)
    assert "clean claims / claims submitted" in html  # the definition, on hover and as a footnote
    assert 'src="/static/plotly/plotly.min.' in html
    assert not re.search(r'<script[^>]+src="(https?:)?//', html)  # nothing from a CDN
    assert "Denials by category" in html and "Medical necessity" in html
    assert 'data-figure="fig-aging"' in html  # A/R aging chart (March snapshot)


def test_filter_request_from_htmx_answers_only_the_panels(world: Any, hand: dict[str, Any]) -> None:
    client = world.a.client(Role.BILLING_MANAGER)
    url = reverse("billing_dashboard") + f"?{PERIOD}&payer={hand['p2'].pk}"
    response = client.get(url, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="panels">') and "<html" not in html
    assert "State Medicaid" in html  # days to pay / aging by the filtered payer


def test_denial_drilldown_lists_claims_behind_a_bar(world: Any, hand: dict[str, Any]) -> None:
    client = world.a.client(Role.BILLING_MANAGER)
    url = reverse("billing_denial_claims") + f"?{PERIOD}&category=authorization"
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert hand["c3"].patient_control_number in html and "1 denial" in html
    assert hand["c1"].patient_control_number not in html
    page = client.get(reverse("billing_denial_claims") + f"?{PERIOD}&carc=50").content.decode()
    assert "<html" in page and "CARC 50" in page


@pytest.mark.parametrize("table", ["kpis", "payer_mix", "pareto_category", "pareto_carc", "ar_aging",
                                   "days_to_pay", "denials", "runs", "quarantine"])
def test_every_table_exports_csv(world: Any, hand: dict[str, Any], table: str) -> None:
    response = world.a.client(Role.BILLING_MANAGER).get(reverse("billing_export") + f"?{PERIOD}&table={table}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode()
    assert len(body.strip().splitlines()) >= 2  # a header and at least one row
    assert "summit" not in body.lower()


def test_export_of_an_unknown_table_is_404(world: Any) -> None:
    assert world.a.client(Role.ADMIN).get(reverse("billing_export") + "?table=people").status_code == 404


def test_kpi_export_values(world: Any, hand: dict[str, Any]) -> None:
    body = world.a.client(Role.ADMIN).get(reverse("billing_export") + f"?{PERIOD}&table=kpis").content.decode()
    assert "2026-03-01,Net collection rate,100.00" in body


def test_executive_reads_rep_and_analyst_may_not(world: Any, hand: dict[str, Any]) -> None:
    url = reverse("billing_dashboard")
    assert world.a.client(Role.EXECUTIVE).get(url).status_code == 200
    assert world.a.client(Role.REP).get(url).status_code == 403
    assert world.a.client(Role.REVOPS_ANALYST).get(url).status_code == 403


def test_nav_shows_billing_to_billing_roles_only(world: Any) -> None:
    assert 'href="/billing/"' in world.a.client(Role.BILLING_MANAGER).get(reverse("home")).content.decode()
    assert 'href="/billing/"' not in world.a.client(Role.REP).get(reverse("home")).content.decode()


def test_new_organization_sees_how_to_add_a_feed(db: Any) -> None:
    org = services.organization_create(name="Fresh Start Recovery", kind="behavioral_health", slug="fresh")
    with tenant_context(org):
        user = get_user_model().objects.create_user(username="fresh-billing", password="x" * 12)
        services.membership_upsert(user=user, role=Role.BILLING_MANAGER)
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_ORG_KEY] = org.pk
    session.save()
    html = client.get(reverse("billing_dashboard")).content.decode()
    assert "No billing data yet" in html and "add" in html.lower() and "/api/v1/rcm/files/" in html
    assert f'<a href="{reverse("billing_feeds")}">Billing › Feeds</a>' in html  # where feeds are added


def test_runs_fragment_lists_runs_and_quarantine(world: Any) -> None:
    html = world.a.client(Role.BILLING_MANAGER).get(reverse("billing_runs")).content.decode()
    assert "Ingestion runs" in html and "ISA segment is not 106 characters" in html


def test_quarantine_discard_from_the_page(world: Any) -> None:
    from rcm_feeds.models import QuarantineItem

    item = world.a.objects["quarantineitem"]
    url = reverse("billing_quarantine_discard", kwargs={"pk": item.pk})
    assert world.a.client(Role.EXECUTIVE).post(url).status_code == 403
    page = world.a.client(Role.BILLING_MANAGER).get(url)
    assert page.status_code == 200 and "ISA segment is not 106 characters" in page.content.decode()
    response = world.a.client(Role.BILLING_MANAGER).post(url, {"note": "not ours"})
    assert response.status_code == 302
    with tenant_context(world.a.org):
        assert QuarantineItem.objects.get(pk=item.pk).status == "discarded"


def test_quarantine_fix_needs_the_corrected_text(world: Any) -> None:
    url = reverse("billing_quarantine_fix", kwargs={"pk": world.a.objects["quarantineitem"].pk})
    response = world.a.client(Role.BILLING_MANAGER).post(url, {"fixed_raw": "  "})
    assert response.status_code == 400 and "Enter the corrected row." in response.content.decode()


def test_upload_page_receives_a_file(world: Any) -> None:
    client = world.a.client(Role.BILLING_MANAGER)
    assert "Upload and load" in client.get(reverse("billing_upload")).content.decode()
    with open(SAMPLES / "linuxforhealth/835_005010X221A1/managed-care.835", "rb") as fh:
        response = client.post(reverse("billing_upload"), {"feed": world.a.objects["feed"].pk, "file": fh})
    assert response.status_code == 302
    assert world.a.client(Role.EXECUTIVE).get(reverse("billing_upload")).status_code == 403


# -- one KPI's trend (the fragment a tile's "Trend" control loads) ------------------------------

def _figure(html: str) -> dict[str, Any]:
    match = re.search(r'<script id="fig-kpi-trend" type="application/json">(.*?)</script>', html, re.S)
    assert match, "no trend figure in the answer"
    return json.loads(match.group(1))


def _lines(figure: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Trace name -> {month: y} of a trend figure."""
    return {t["name"]: dict(zip(t["x"], t["y"])) for t in figure["data"]}


def test_tiles_open_their_trend_with_htmx_or_as_a_page(world: Any, hand: dict[str, Any]) -> None:
    html = world.a.client(Role.BILLING_MANAGER).get(reverse("billing_dashboard") + "?" + PERIOD).content.decode()
    trend_url = reverse("billing_kpi_trend", kwargs={"kpi": "net_collection_rate"})
    link = re.search(rf'<a class="trend-link" href="{trend_url}\?([^"]*)"\s+hx-get="{trend_url}\?[^"]*"\s+'
                     r'hx-target="#kpi-trend"', html)
    assert link and "start=2026-01" in link.group(1)  # the dashboard's filters travel with it
    assert '<div id="kpi-trend" aria-live="polite"></div>' in html


def test_trend_fragment_draws_the_kpi_by_month_with_its_benchmark(world: Any, hand: dict[str, Any]) -> None:
    url = reverse("billing_kpi_trend", kwargs={"kpi": "net_collection_rate"}) + "?" + PERIOD
    response = world.a.client(Role.BILLING_MANAGER).get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="kpi-trend"') and "<html" not in html
    figure = _figure(html)
    lines = _lines(figure)
    # tests/rcm_feeds/test_kpis.py works these out: Feb 1400 / 3500, Mar 2250 / 2250; no remittance in Jan.
    assert lines["Net collection rate"] == {"2026-01-01": None, "2026-02-01": "40.00", "2026-03-01": "100.00"}
    benchmark = next(t for t in figure["data"] if t["name"].startswith("Benchmark"))
    assert benchmark["name"] == "Benchmark (>= 95%)" and benchmark["line"]["dash"] == "dash"
    assert set(benchmark["y"]) == {"95"} and benchmark["x"] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert figure["layout"]["yaxis"]["ticksuffix"] == "%"
    # The table under the chart: value, change from the month before, numerator, denominator.
    row = re.search(r"<th scope=\"row\" class=\"nowrap\">Mar 2026</th>(.*?)</tr>", html, re.S).group(1)
    assert re.findall(r'<td class="num">([^<]*)</td>', row) == ["100.00%", "+60.00", "2250.00", "2250.00"]


def test_trend_breaks_down_by_payer_and_payer_class(world: Any, hand: dict[str, Any]) -> None:
    client = world.a.client(Role.EXECUTIVE)
    url = reverse("billing_kpi_trend", kwargs={"kpi": "net_collection_rate"})
    html = client.get(url + f"?{PERIOD}&by=payer", HTTP_HX_REQUEST="true").content.decode()
    lines = _lines(_figure(html))
    commercial, medicaid = hand["p1"].name, hand["p2"].name
    assert set(lines) == {commercial, medicaid, "Benchmark (>= 95%)"}
    assert lines[commercial]["2026-02-01"] == "100.00" and lines[medicaid]["2026-02-01"] == "8.70"
    assert '<option value="payer" selected>' in html
    classes = _lines(_figure(client.get(url + f"?{PERIOD}&by=payer_class", HTTP_HX_REQUEST="true")
                             .content.decode()))
    # The cost entry's "unknown" payer class has no collections at all: no line for it.
    assert classes["commercial"]["2026-02-01"] == "100.00" and classes["medicaid"]["2026-02-01"] == "8.70"
    assert "unknown" not in classes


def test_trend_draws_the_largest_groups_and_exports_them_all(world: Any, hand: dict[str, Any]) -> None:
    from revops.models import Payer

    with tenant_context(world.a.org):
        f837 = fx.received_file("x12_837")
        for i in range(9):  # nine small payers, one claim each, all smaller than p1 and p2
            payer = Payer.objects.create(name=f"Small plan {i}", payer_class="commercial")
            fx.claim(file=f837, charge="10", submitted_on=dt.date(2026, 1, 3), payer=payer)
        aggregates.aggregates_refresh()
    client = world.a.client(Role.ADMIN)
    url = reverse("billing_kpi_trend", kwargs={"kpi": "clean_claim_rate"}) + f"?{PERIOD}&by=payer"
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    drawn = set(_lines(_figure(html))) - {"Benchmark (>= 95%)"}
    assert len(drawn) == 8 and {hand["p1"].name, hand["p2"].name} <= drawn  # 3 and 2 claims: the largest
    assert "3 more are in the CSV export" in html
    body = client.get(url + "&format=csv").content.decode()
    assert {r["group"] for r in csv.DictReader(io.StringIO(body.lstrip("\ufeff")))} >= {f"Small plan {i}" for i in range(9)}
    assert f"2026-01-01,{hand['p2'].name},100.00,2,2," in body  # C3 and C4 were both clean


def test_trend_export_and_page_of_its_own(world: Any, hand: dict[str, Any]) -> None:
    client = world.a.client(Role.BILLING_MANAGER)
    url = reverse("billing_kpi_trend", kwargs={"kpi": "clean_claim_rate"}) + "?" + PERIOD
    body = client.get(url + "&format=csv").content.decode()
    assert "month,group,value,numerator,denominator,change" in body
    assert "2026-01-01,Clean claim rate,60.00,3,5," in body and "2026-02-01,Clean claim rate,100.00,1,1,40.00" in body
    page = client.get(url).content.decode()
    assert "<html" in page and 'src="/static/plotly/plotly.min.' in page and 'data-figure="fig-kpi-trend"' in page


def test_trend_without_reference_or_values(world: Any, hand: dict[str, Any]) -> None:
    client = world.a.client(Role.BILLING_MANAGER)
    url = reverse("billing_kpi_trend", kwargs={"kpi": "gross_collection_rate"}) + "?" + PERIOD
    figure = _figure(client.get(url, HTTP_HX_REQUEST="true").content.decode())
    assert [t["name"] for t in figure["data"]] == ["Gross collection rate"]  # no published benchmark
    empty = client.get(reverse("billing_kpi_trend", kwargs={"kpi": "cost_to_collect"}) + f"?{PERIOD}&by=payer",
                       HTTP_HX_REQUEST="true").content.decode()
    assert "No values in the period" in empty and "Costs are kept by facility only" in empty


def test_trend_of_an_unknown_kpi_is_404_and_roles_follow_the_dashboard(world: Any, hand: dict[str, Any]) -> None:
    assert world.a.client(Role.ADMIN).get(reverse("billing_kpi_trend", kwargs={"kpi": "happiness"})).status_code == 404
    url = reverse("billing_kpi_trend", kwargs={"kpi": "days_to_pay"}) + "?" + PERIOD
    assert world.a.client(Role.EXECUTIVE).get(url, HTTP_HX_REQUEST="true").status_code == 200
    assert world.a.client(Role.REP).get(url, HTTP_HX_REQUEST="true").status_code == 403
    assert world.a.client(Role.INTEGRATOR).get(url).status_code == 403


def test_trend_shows_only_the_organizations_own_numbers(world: Any, hand: dict[str, Any]) -> None:
    url = reverse("billing_kpi_trend", kwargs={"kpi": "net_collection_rate"}) + "?" + PERIOD
    html = world.b.client(Role.BILLING_MANAGER).get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "No values in the period" in html and "fig-kpi-trend" not in html
