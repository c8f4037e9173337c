"""In Chromium: the intake pages. An analyst sees program profitability with its chart drawn (on paper beside
after denials), adds an intake rule in place with htmx, runs the intake check against it, and finds the stay that
broke a rule and the authorization whose review is due."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from intake.models import Authorization
from revops.models import Role
from revops.tenancy import tenant_context
from tests.conftest import PASSWORD
from tests.e2e.test_login_browser import browser_page, chromium  # noqa: F401  (fixtures)
from tests.intake.fixtures import build

pytestmark = pytest.mark.browser


def test_profitability_chart_rules_check_and_reviews(transactional_db, world, live_server, browser_page):
    today = dt.date.today()
    with tenant_context(world.a.org):
        made = build(world.a)
        Authorization.objects.filter(auth_number="AUTH1").update(next_review_on=today, ends_on=today)
    user = world.a.users[Role.REVOPS_ANALYST]
    page = browser_page
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form").filter(has=page.locator("input[name=password]")).locator("[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("home"))

    # Program profitability: the table side by side and the chart drawn by plotly.
    page.goto(live_server.url + reverse("intake_profitability") + "?start=2025-01&end=2025-02&grain=month")
    row = page.locator('#profit-table tr[data-program="PHP"][data-period="2025-01-01"]')
    assert row.locator('[data-col="net-after"]').inner_text() == "2,100.00"
    assert row.locator('[data-col="margin-after"]').inner_text() == "400.00"
    page.locator('[data-figure="fig-profit"] .main-svg').first.wait_for()

    # An intake rule added in place (htmx), without a reload.
    page.goto(live_server.url + reverse("intake_rules"))
    page.evaluate("window.__sameDocument = true")
    form = page.locator("#rule-new")
    form.locator("#id_payer").select_option(str(made["b"].pk))
    form.locator("#id_program").select_option(str(made["iop"].pk))
    form.locator("#id_decision").select_option("not_allowed")
    form.locator("#id_effective_from").fill("2025-01-01")
    form.locator("#id_reason").fill("No IOP contract with Second Payer")
    form.get_by_role("button", name="Add rule").click()
    page.get_by_text("No IOP contract with Second Payer").wait_for()
    assert page.evaluate("window.__sameDocument") is True

    # The check answers from that rule, with the observed economics and their basis.
    page.goto(live_server.url + reverse("intake_check"))
    page.locator("#id_payer").select_option(str(made["b"].pk))
    page.locator("#id_program").select_option(str(made["iop"].pk))
    page.locator("#id_expected_los_days").fill("10")
    page.get_by_role("button", name="Check").click()
    page.locator("#check-verdict").get_by_text("Not allowed").wait_for()
    assert "No IOP contract with Second Payer" in page.locator("#check-reason").inner_text()
    assert "patient-days" in page.locator("#check-basis").inner_text()

    # Violations list the stay that broke a rule; the review due today is on the authorizations page.
    page.goto(live_server.url + reverse("intake_violations"))
    assert page.locator('#violations-table tr[data-admission="ADM2"]').count() == 1
    page.goto(live_server.url + reverse("intake_authorizations"))
    assert page.locator('#due-table tr[data-auth="AUTH1"]').count() == 1
