"""In Chromium: the executive command center. An executive opens it, the attainment tile shows the hand-made
quota world's figures with its plotly chart, and "Rows" swaps the reps behind it in under the tiles (htmx, no
reload) with a CSV link; changing the period re-draws the tiles in place.

Figures (tests/analytics/test_selectors.py): as of 16 Aug 2026 Pat Prior has 15,000.00 of 416,499.98."""
from __future__ import annotations

import pytest
from django.urls import reverse

from quotas import services as quota_services
from quotas.models import QuotaPlanStatus
from revops.models import Role
from revops.tenancy import tenant_context
from tests.conftest import PASSWORD
from tests.e2e.test_login_browser import browser_page, chromium  # noqa: F401  (fixtures)
from tests.quotas import fixtures

pytestmark = pytest.mark.browser


def test_tiles_render_with_data_and_a_drill_down_swaps_in(transactional_db, world, live_server, browser_page):
    with tenant_context(world.a.org):
        plan = fixtures.build()["plan"]
        quota_services.attainment_refresh(plan=plan)
        type(plan).objects.filter(pk=plan.pk).update(status=QuotaPlanStatus.ACTIVE)
    page = browser_page
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", world.a.users[Role.EXECUTIVE].username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form").filter(has=page.locator("input[name=password]")).locator("[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("home"))

    page.goto(live_server.url + reverse("executive_dashboard") + "?period=FY2026&as_of=2026-08-16")
    tile = page.locator('[data-tile="attainment"]')
    assert tile.locator('[data-value="attainment"]').inner_text().endswith("%")
    tile.locator(".chart .main-svg").first.wait_for()  # plotly drew the chart
    page.evaluate("window.__sameDocument = true")
    tile.locator('[data-drill="attainment"]').click()
    table = page.locator('#drill [data-drill-tile="attainment"]')
    table.wait_for()
    assert "Pat Prior" in table.inner_text()
    assert "416,499.98" in table.inner_text()
    assert table.get_by_role("link", name="Export CSV").get_attribute("href").endswith("format=csv")
    assert page.evaluate("window.__sameDocument") is True

    page.select_option("#ex-period", "FY2026-Q1")
    page.locator("#ex-period-label").get_by_text("FY2026 Q1").wait_for()
    assert page.evaluate("window.__sameDocument") is True
