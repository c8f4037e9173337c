"""In Chromium: the forecast call page. Mona, a manager, adjusts her report Ray's commit by typing in his row
and pressing Enter: the team number changes in place (no reload, the cursor stays in the cell) while Ray's
own call stays visible beside the adjustment; a bad number is refused under the cell.

Figures (tests/forecasting/test_api.py): Ray calls 800, Rita 100, Mona has adjusted Ray to 650, so the team
commit is 650 + 100 = 750.00; adjusting Ray to 700 makes it 700 + 100 = 800.00.
"""
from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.e2e.test_login_browser import browser_page, chromium  # noqa: F401  (fixtures)
from tests.forecasting.test_api import build

pytestmark = pytest.mark.browser


def cell(page, person_pk: int, column: str):
    return page.locator(f'#fc-tree tr[data-person="{person_pk}"] [data-col="{column}"]')


def test_a_manager_adjusts_a_reports_number_and_the_team_number_changes_in_place(
    transactional_db, world, live_server, browser_page
):
    fc = build(world.a)
    ray = fc["ray"].pk
    page = browser_page
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", fc["mona_user"].username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form").filter(has=page.locator("input[name=password]")).locator("[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("home"))

    page.goto(live_server.url + reverse("forecasting_calls") + f"?period={fc['period'].pk}")
    team = page.locator('[data-value="team-number"]')
    assert team.inner_text() == "750.00"
    assert cell(page, ray, "own").inner_text() == "800.00"
    assert cell(page, ray, "adjusted").inner_text() == "650.00"
    page.evaluate("window.__sameDocument = true")

    adjust = page.get_by_label("Adjust Ray Rep harbor's commit")
    adjust.fill("700")
    adjust.press("Enter")
    page.locator("#fc-status").get_by_text("Ray Rep harbor's number adjusted to commit 700.00").wait_for()
    page.wait_for_function(
        "() => document.querySelector('[data-value=\"team-number\"]').innerText.trim() === '800.00'")
    assert cell(page, ray, "adjusted").inner_text() == "700.00"
    assert cell(page, ray, "effective").inner_text() == "700.00"
    assert cell(page, ray, "own").inner_text() == "800.00"  # Ray's own call is kept, beside the adjustment
    assert page.evaluate("window.__sameDocument") is True  # swapped in place, not reloaded
    assert page.evaluate("document.activeElement.id") == f"adjust-{ray}"  # keyboard users stay in the cell

    # A number that is not one is refused under the cell; nothing changes.
    adjust = page.get_by_label("Adjust Ray Rep harbor's commit")
    adjust.fill("lots")
    adjust.press("Enter")
    error = page.locator(f"#adjust-{ray}-error")
    error.wait_for()
    assert "'lots' is not a number" in error.inner_text()
    assert page.get_by_label("Adjust Ray Rep harbor's commit").get_attribute("aria-invalid") == "true"
    assert team.inner_text() == "800.00"
