"""A person signs in through the real login page in Chromium and lands on their home page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from revops.models import Role
from tests.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying to reach Google's hosts, which
# this machine's closed network refuses (slow starts, noisy logs).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (Playwright's own browser download is not used)."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"Debian's Chromium is not installed at {CHROMIUM} "
            "(bin/test installs it with apt-get when run as root)"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed"
    )
    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a
    # thread with a running loop unless told the code is really synchronous, as it is here.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    """A fresh page (own cookies) for each test."""
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_user_signs_in_and_sees_their_organization_home(
    transactional_db, world, live_server, browser_page
):
    # live_server serves from another thread: the world must be committed (transactional_db).
    user = world.a.users[Role.BILLING_MANAGER]
    page = browser_page

    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form").filter(has=page.locator("input[name=password]")).locator(
        "[type=submit]"
    ).click()
    page.wait_for_url(live_server.url + reverse("home"))

    assert page.get_by_role("heading", level=1).inner_text().strip() == world.a.org.name
    body = page.locator("body").inner_text()
    assert user.username in body
    assert world.b.org.name not in body


def test_wrong_password_stays_on_the_login_page(transactional_db, world, live_server, browser_page):
    page = browser_page

    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", world.a.users[Role.EXECUTIVE].username)
    page.fill("input[name=password]", "not-the-password")
    page.locator("form").filter(has=page.locator("input[name=password]")).locator(
        "[type=submit]"
    ).click()
    page.wait_for_load_state()

    assert page.url.startswith(live_server.url + reverse("login"))
    assert "correct username and password" in page.get_by_role("alert").inner_text()
    assert world.a.org.name not in page.locator("body").inner_text()
