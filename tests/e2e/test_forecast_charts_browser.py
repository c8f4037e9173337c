"""In Chromium: the forecasting charts draw. A weighted-pipeline run's page plots its forecast (January 2030:
1,000.00, February: 60.00, as tests/forecasting/test_pages.py computes them by hand); the scenario page plots
bookings and cash, base and scenario side by side, and the scenario's bars move when a driver changes."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from forecasting import services
from revops.tenancy import tenant_context
from tests.conftest import PASSWORD
from tests.e2e.test_login_browser import browser_page, chromium  # noqa: F401  (fixtures)
from tests.forecasting.test_api import build

pytestmark = pytest.mark.browser


def sign_in(page, live_server, username: str) -> None:
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form").filter(has=page.locator("input[name=password]")).locator("[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("home"))


def drawn(page, figure: str) -> list[dict]:
    """The traces plotly drew into ``[data-figure=figure]`` (its ``data``), once it has drawn them."""
    selector = f'[data-figure="{figure}"]'
    page.locator(f"{selector} .main-svg").first.wait_for()
    return page.evaluate(f"""() => document.querySelector('{selector}').data.map(
        t => ({{name: t.name, type: t.type, x: t.x, y: t.y}}))""")


def test_the_run_and_scenario_charts_draw_and_a_driver_moves_the_scenario(
    transactional_db, world, live_server, browser_page
):
    fc = build(world.a)
    with tenant_context(world.a.org):
        run = services.pipeline_run(as_of=dt.date(2029, 12, 31), horizon=3)
    page = browser_page
    sign_in(page, live_server, fc["mona_user"].username)

    page.goto(live_server.url + reverse("forecasting_run", args=[run.pk]))
    traces = drawn(page, "fig-run")
    point = next(t for t in traces if t["name"] == "weighted_pipeline")
    assert point["x"] == ["2030-01-01", "2030-02-01"] and point["y"] == [1000.0, 60.0]

    page.goto(live_server.url + reverse("forecasting_scenarios") + "?as_of=2029-12-31&horizon=3")
    traces = {t["name"]: t for t in drawn(page, "fig-scenario")}
    assert set(traces) == {"Bookings, base", "Bookings, scenario", "Cash, base", "Cash, scenario"}
    base = dict(zip(traces["Bookings, base"]["x"], traces["Bookings, base"]["y"]))
    assert (base["2030-01-01"], base["2030-02-01"]) == (1000.0, 60.0)
    assert traces["Bookings, scenario"]["y"] == traces["Bookings, base"]["y"]  # no driver changed yet

    # Keyboard only: the win rate field, a new value, Enter submits the form.
    field = page.get_by_label("Win rate change (%)")
    field.fill("20")
    field.press("Enter")
    page.wait_for_url("**win_rate_pct=20**")
    traces = {t["name"]: t for t in drawn(page, "fig-scenario")}
    base, scenario = traces["Bookings, base"]["y"], traces["Bookings, scenario"]["y"]
    assert sum(scenario) > sum(base)
    assert page.locator('[data-value="bookings-scenario"]').inner_text() != page.locator(
        '[data-value="bookings-base"]').inner_text()
