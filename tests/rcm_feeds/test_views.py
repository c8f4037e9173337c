"""The billing dashboard: tiles, fragments, drill-down, exports, empty state, roles."""
from __future__ import annotations

from tests.rcm_feeds.x12util import SAMPLES

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
