"""In Chromium: an analyst adds a per diem to a draft contract version in place (htmx), publishes it, opens the
underpayment report (rows and chart render with data), drills down to the claims behind a payer's variance
without leaving the page, and records a review decision in place."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from contracts.services import contracts as services
from contracts.services.reimbursement import expected_recompute
from contracts.services.reviews import reviews_generate
from revops.models import Role
from revops.tenancy import tenant_context
from tests.conftest import PASSWORD
from tests.contracts import fixtures as f
from tests.e2e.test_login_browser import browser_page, chromium  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def test_terms_underpayment_drilldown_and_review_decision(transactional_db, world, live_server, browser_page):
    a = world.a
    with tenant_context(a.org):
        payer, php = a.objects["payer"], a.objects["program"]
        contract = services.contract_create(payer=payer, name="Browser PPO")
        claim = f.claim(payer=payer, program=php, lines=[("H0035", "650", 1, dt.date(2025, 2, 4))])
        f.pay(claim=claim, paid="400", lines=[("H0035", "400", "0")])
    user = a.users[Role.REVOPS_ANALYST]
    page = browser_page
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form").filter(has=page.locator("input[name=password]")).locator("[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("home"))

    page.goto(live_server.url + reverse("contracts_detail", args=[contract.pk]))
    page.evaluate("window.__sameDocument = true")
    page.select_option("#term_kind", "per_diem")
    page.select_option("#term_level_of_care", "php")
    page.fill("#term_rate", "500")
    page.get_by_role("button", name="Add term").click()
    page.locator("#terms-table tr[data-term]").wait_for()
    assert "Partial hospitalization" in page.locator("#terms-table").inner_text()
    assert page.evaluate("window.__sameDocument") is True  # swapped in place

    page.fill("#id_effective_from", "2025-01-01")
    page.get_by_role("button", name="Publish").click()
    page.locator(".messages li.success").get_by_text("Version 1 published from").wait_for()

    with tenant_context(a.org):  # the job runs in a worker; here the recompute runs in-process
        expected_recompute()
        [review] = reviews_generate(start=dt.date(2025, 1, 1), contract_ids=[contract.pk])

    page.goto(live_server.url + reverse("contracts_underpayments") + "?group=payer&start=2025-01-01")
    row = page.locator(f'#variance-table tr[data-key="{payer.pk}"]')
    row.wait_for()
    assert "100.00" in row.inner_text()
    page.locator('[data-figure="variance-figure"] .main-svg').first.wait_for()  # plotly drew the chart
    page.evaluate("window.__sameDocument = true")
    row.locator("a.drill").click()
    page.locator("#drill-table").wait_for()
    assert claim.patient_control_number in page.locator("#drill-table").inner_text()
    assert page.evaluate("window.__sameDocument") is True

    page.goto(live_server.url + reverse("contracts_review", args=[review.pk]))
    assert page.locator("#recommendation").inner_text() == "Renegotiate"
    page.evaluate("window.__sameDocument = true")
    page.select_option("#id_decision", "renegotiate")
    page.fill("#id_note", "Per diem paid at 400 against 500.")
    page.get_by_role("button", name="Record decision").click()
    page.locator("#decision-recorded").wait_for()
    assert "Per diem paid at 400 against 500." in page.locator("#decision-recorded").inner_text()
    assert page.evaluate("window.__sameDocument") is True
