"""In Chromium: building a plan version in an EKRA-covered organization. An admin adds a tiered component paying
on test counts through the form that opens in place; the component comes back flagged under EKRA / the
Anti-Kickback Statute, activation is refused with the component named, a compliance sign-off is recorded in
place, and then the version activates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from commissions.models import Component, VersionStatus
from commissions.services import plans as services
from revops.models import Role
from revops.tenancy import tenant_context
from tests.conftest import PASSWORD
from tests.e2e.test_login_browser import browser_page, chromium  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def test_a_flagged_tiered_component_is_signed_off_and_the_version_activates(
    transactional_db, world, live_server, browser_page
):
    with tenant_context(world.a.org):
        world.a.org.ekra_covered = True
        world.a.org.save()
        plan = services.plan_create(name="Lab reps")
        version = services.version_create(plan=plan, effective_from=dt.date(2025, 1, 1))
        services.component_save(version=version, name="Bookings", basis="bookings", rate=Decimal("0.05"))
    user = world.a.users[Role.ADMIN]
    page = browser_page
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form").filter(has=page.locator("input[name=password]")).locator("[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("home"))

    url = live_server.url + reverse("commissions_version", args=[version.pk])
    page.goto(url)
    page.evaluate("window.__sameDocument = true")

    # The add form opens in place, with the cursor in its first field.
    page.get_by_role("link", name="Add component").click()
    page.locator("#id_new_tiers").wait_for()
    assert page.evaluate("document.activeElement.id") == "id_new_name"
    page.fill("#id_new_name", "Test volume")
    page.select_option("#id_new_basis", "tests")
    page.select_option("#id_new_rate_type", "tiered_marginal")
    page.fill("#id_new_tiers", "0, 2\n100, 3")
    page.get_by_role("button", name="Add component").click()

    row = page.locator('tr[data-component="Test volume"]')
    row.wait_for()
    assert "$2.00 per test credited to you; $3.00 per test on the part above 100% of quota." in row.inner_text()
    assert row.locator("[data-flag=ekra]").inner_text() == "EKRA / Anti-Kickback flag"
    row.get_by_text("Why it is flagged").click()
    assert "18 U.S.C. § 220" in row.inner_text()
    assert page.evaluate("window.__sameDocument") is True  # swapped in place, not reloaded
    with tenant_context(world.a.org):
        assert Component.objects.get(name="Test volume").tiers == [{"from": "0", "rate": "2"},
                                                                    {"from": "100", "rate": "3"}]

    # Activation is refused, naming the component that needs a sign-off.
    page.get_by_role("button", name="Activate v1").click()
    status = page.locator("#cv-status")
    status.get_by_text("needs a compliance sign-off first: Test volume.").wait_for()
    assert page.evaluate("window.__sameDocument") is True

    # The sign-off is recorded in place.
    page.get_by_label("Compliance sign-off reason for Test volume").fill("Salaried employees; counsel memo of Jan 5")
    row.get_by_role("button", name="Record sign-off").click()
    page.locator('tr[data-component="Test volume"] [data-signoff=signed]').wait_for()
    assert "Compliance sign-off recorded for Test volume." in page.locator("#cv-status").inner_text()
    assert page.locator("#blockers").count() == 0

    # Now it activates (the page reloads to show the active version).
    page.get_by_role("button", name="Activate v1").click()
    page.locator('[data-value="status"]', has_text="Active").wait_for()
    assert "Lab reps v1 is active from Jan 1, 2025." in page.locator(".messages").inner_text()
    with tenant_context(world.a.org):
        version.refresh_from_db()
    assert version.status == VersionStatus.ACTIVE and version.activated_by == user
