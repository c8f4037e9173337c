"""In Chromium: the quota workbench. Typing an override into a cell and pressing Enter re-balances the
sibling in place (the tree, flags and fairness panel are swapped in, the page is not reloaded, and the
cursor stays in the cell); a refused override shows its reason under the cell; the month columns toggle."""

from __future__ import annotations

import pytest
from django.urls import reverse

from revops.models import Account, Role
from revops.tenancy import tenant_context
from tests.conftest import PASSWORD
from tests.e2e.test_login_browser import browser_page, chromium  # noqa: F401  (fixtures)
from tests.quotas import fixtures

pytestmark = pytest.mark.browser


def cell(page, code: str, column: str):
    return page.locator(f'#qw-tree tr[data-code="{code}"] [data-col="{column}"]')


def test_an_override_rebalances_the_sibling_in_place_without_a_reload(
    transactional_db, world, live_server, browser_page
):
    with tenant_context(world.a.org):
        Account.objects.all().update(is_active=False)
        qw = fixtures.build()
        t1 = qw["plan"].quotas.get(code="T1")
    user = world.a.users[Role.REVOPS_ANALYST]
    page = browser_page
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form").filter(has=page.locator("input[name=password]")).locator("[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("home"))

    page.goto(live_server.url + reverse("quotas_plan", args=[qw["plan"].pk]))
    assert cell(page, "T1", "annual").inner_text() == "476,000.00"
    assert cell(page, "T2", "annual").inner_text() == "364,000.00"
    assert not cell(page, "T1", "m1").is_visible()  # the twelve months are behind a toggle
    page.get_by_label("Show the 12 months").check()
    assert cell(page, "T1", "m1").inner_text() == "39,666.67"
    page.evaluate("window.__sameDocument = true")

    override = page.get_by_label("Override for T1 Denver")
    override.fill("500,000")
    override.press("Enter")
    page.locator("#qw-status").get_by_text("T1 Denver fixed at 500,000.00").wait_for()
    page.wait_for_function(
        "() => document.querySelector('#qw-tree tr[data-code=\"T2\"] [data-col=\"annual\"]').innerText === '340,000.00'"
    )
    assert cell(page, "T1", "annual").inner_text() == "500,000.00"
    assert cell(page, "A1", "annual").inner_text() == "840,000.00"
    assert cell(page, "T1", "m1").is_visible()  # the toggle survives the swap
    assert page.evaluate("window.__sameDocument") is True  # swapped in place, not reloaded
    assert page.evaluate("document.activeElement.id") == f"override-{t1.pk}"  # keyboard users stay in the cell

    # Too much for the parent: the reason shows under the cell, the tree is unchanged.
    override = page.get_by_label("Override for T1 Denver")
    override.fill("900000")
    override.press("Enter")
    error = page.locator(f"#override-{t1.pk}-error")
    error.wait_for()
    assert "more than its target of 840,000.00" in error.inner_text()
    assert page.get_by_label("Override for T1 Denver").get_attribute("aria-invalid") == "true"
    assert cell(page, "T2", "annual").inner_text() == "340,000.00"

    # Clear releases it: T1 takes its share by the methods again.
    page.locator('#qw-tree tr[data-code="T1"]').get_by_role("button", name="Clear").click()
    page.wait_for_function(
        "() => document.querySelector('#qw-tree tr[data-code=\"T2\"] [data-col=\"annual\"]').innerText === '364,000.00'"
    )
    assert cell(page, "T1", "annual").inner_text() == "476,000.00"
    assert page.evaluate("window.__sameDocument") is True
