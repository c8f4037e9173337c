"""In Chromium: a KPI tile's "Trend" control, used from the keyboard, draws the KPI's plotly chart under the tiles."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from rcm_feeds import aggregates
from revops.models import Role
from revops.tenancy import tenant_context
from tests.conftest import PASSWORD
from tests.e2e.test_login_browser import browser_page, chromium  # noqa: F401  (fixtures)
from tests.rcm_feeds import kpi_fixtures as fx

pytestmark = pytest.mark.browser

TRACES = "el => el.data.map(t => t.name)"


def test_trend_control_draws_the_kpi_chart_and_its_breakdown(transactional_db, world, live_server, browser_page):
    with tenant_context(world.a.org):
        hand: dict[str, Any] = fx.hand_fixture(world.a)
        aggregates.aggregates_refresh()
    user = world.a.users[Role.BILLING_MANAGER]
    page = browser_page
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form").filter(has=page.locator("input[name=password]")).locator("[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("home"))

    page.goto(live_server.url + reverse("billing_dashboard") + "?start=2026-01&end=2026-03")
    tile = page.locator("article.kpi-tile").filter(has=page.get_by_role("heading", name=re.compile("Net collection")))
    trend = tile.get_by_role("link", name=re.compile(r"^Trend of Net collection rate"))
    trend.focus()
    page.keyboard.press("Enter")

    chart = page.locator("#kpi-trend .js-plotly-plot")
    chart.wait_for()
    assert chart.evaluate(TRACES) == ["Net collection rate", "Benchmark (>= 95%)"]
    assert page.evaluate("document.activeElement.id") == "trend-head"  # focus follows to the chart
    assert page.url.endswith("?start=2026-01&end=2026-03")  # the dashboard stays where it was

    page.select_option("#trend-by", "payer")
    page.wait_for_function(
        "() => { const el = document.querySelector('#kpi-trend .js-plotly-plot');"
        " return el && el.data && el.data.length === 3; }"
    )
    names = chart.evaluate(TRACES)
    assert set(names) == {hand["p1"].name, hand["p2"].name, "Benchmark (>= 95%)"}
    assert "Net collection rate by month, by payer" in page.locator("#trend-head").inner_text()


def test_feed_form_redraws_the_mapping_for_the_kind_and_shows_errors_in_place(
    transactional_db, world, live_server, browser_page, settings, tmp_path
):
    settings.RCM_INBOX_ROOT = tmp_path / "inbox"
    user = world.a.users[Role.ADMIN]
    page = browser_page
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form").filter(has=page.locator("input[name=password]")).locator("[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("home"))

    page.goto(live_server.url + reverse("billing_feed_new"))
    assert page.evaluate("document.activeElement.name") == "name"  # autofocus
    page.keyboard.type("Aging snapshot")
    page.get_by_label("Kind of file").select_option("csv_ar")
    page.locator("input[name=map__as_of]").wait_for()
    assert page.locator("input[name=map__charge]").count() == 0
    assert page.get_by_label("Name").input_value() == "Aging snapshot"  # kept across the redraw

    page.get_by_label("Poll schedule (cron, UTC)").fill("daily")
    page.locator("input[name=map__balance]").fill("Open Balance")
    page.get_by_role("button", name="Add feed").click()
    error = page.locator("#id_crontab_error")
    error.wait_for()
    assert "Use five fields" in error.inner_text()
    assert page.locator("input[name=map__balance]").input_value() == "Open Balance"
    # When the swap settles, the cursor is in the field in error (never pulled back to Name).
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    page.wait_for_function("document.activeElement && document.activeElement.name === 'crontab'")

    schedule = page.get_by_label("Poll schedule (cron, UTC)")
    schedule.fill("0 5 * * *")
    assert schedule.input_value() == "0 5 * * *"
    assert page.get_by_label("Name").input_value() == "Aging snapshot"
    page.get_by_role("button", name="Add feed").click()
    try:
        page.wait_for_url(live_server.url + reverse("billing_feeds"), timeout=30_000)
    except Exception:  # say what the page shows instead of a bare timeout
        errors = page.locator(".error, .errorlist, [role=alert]").all_inner_texts()
        raise AssertionError(f"no redirect to the feeds list; page {page.url} shows {errors}") from None
    assert "Feed Aging snapshot saved." in page.locator("main").inner_text()
    assert "CSV A/R aging snapshot" in page.locator("table").inner_text()
