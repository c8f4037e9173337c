"""In Chromium: the plan workspace draws its map (plotly's US geography from local static files) and
balance chart; clicking a ZIP on the map fills the move form, and moving a ZIP changes the chart and
the metrics in place, without reloading the page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from revops.models import Role
from revops.tenancy import tenant_context
from tests.conftest import PASSWORD
from tests.e2e.test_login_browser import browser_page, chromium  # noqa: F401  (fixtures)
from tests.territories.test_pages import build_small

pytestmark = pytest.mark.browser

BARS = "el => el.data[0].y"


def test_moving_a_zip_updates_the_balance_chart_and_metrics_without_a_reload(
    transactional_db, world, live_server, browser_page
):
    with tenant_context(world.a.org):
        small = build_small(world)
    user = world.a.users[Role.REVOPS_ANALYST]
    page = browser_page
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form").filter(has=page.locator("input[name=password]")).locator("[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("home"))

    page.goto(live_server.url + reverse("territories_plan", args=[small.plan.pk]))
    balance = page.locator("#ws-balance .js-plotly-plot")
    balance.wait_for()
    assert balance.evaluate(BARS) == [300, 100]
    # The map is drawn on plotly's US geography from this app's static files (state outlines, no tiles).
    page.locator("#ws-map .js-plotly-plot .geo .subunits path").first.wait_for(state="attached")
    assert page.locator("#ws-map .js-plotly-plot .scattergeo .point").count() == 3  # one marker per ZIP
    assert page.locator('[data-value="cv"]').inner_text() == "50.0%"
    page.evaluate("window.__sameDocument = true")

    # Clicking a ZIP's marker on the map fills the move form with that ZIP.
    page.get_by_label("What").select_option("state")
    page.locator("#ws-map").scroll_into_view_if_needed()
    box = page.locator("#ws-map .js-plotly-plot .scattergeo .point").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)  # plotly's geo finds the point under the pointer itself (its bg layer takes the events)
    page.mouse.click(x, y)
    page.wait_for_function("() => document.getElementById('id_move-value').value !== ''")
    assert page.locator("#id_move-value").input_value() in {"37201", "37202", "38101"}
    assert page.get_by_label("What").input_value() == "zip"
    page.locator("#id_move-value").fill("37202")
    page.locator("#id_move-territory").select_option(label="T2 · Memphis")
    page.get_by_role("button", name="Move", exact=True).click()

    page.locator("#ws-status").get_by_text("ZIP code 37202 moved to T2.").wait_for()
    page.wait_for_function(
        "() => { const el = document.querySelector('#ws-balance .js-plotly-plot');"
        " return el && el.data && el.data[0].y[0] === 200; }"
    )
    assert page.locator("#ws-balance .js-plotly-plot").evaluate(BARS) == [200, 200]
    assert page.locator('[data-value="cv"]').inner_text() == "0.0%"
    assert page.locator('#balance-table tr[data-territory="T2"] td[data-col="accounts"]').inner_text() == "2"
    assert page.evaluate("window.__sameDocument") is True  # swapped in place, not reloaded
