"""In Chromium: a rep opens their March statement from "My statements" and reads every line with its explanation;
an analyst starts a run of the period and watches the progress bar, fed by a real Celery worker, reach 100% and
the run's page swap in its result without a reload."""

from __future__ import annotations

import pytest
from django.urls import NoReverseMatch, reverse

from commissions.services import runs
from revops.celery import app as celery_app
from revops.models import Role
from revops.tenancy import tenant_context
from tests.commissions import fixtures
from tests.conftest import PASSWORD
from tests.e2e.test_login_browser import browser_page, chromium  # noqa: F401  (fixtures)
from tests.revops.test_celery_worker import celery_worker  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.urls("tests.commissions.urls_runs_only")]


def sign_in(page, base: str, user) -> None:
    page.goto(base + reverse("login"))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form").filter(has=page.locator("input[name=password]")).locator("[type=submit]").click()
    page.wait_for_url(base + reverse("home"))


def test_a_rep_reads_their_explained_statement_and_an_analyst_watches_a_run_finish(
    transactional_db, world, live_server, browser_page, chromium, celery_worker  # noqa: F811
):
    with tenant_context(world.a.org):
        cw = fixtures.build()
        period = runs.period_ensure(start=fixtures.MAR)
        runs.run_now(period=period)
        membership = world.a.users[Role.REP].memberships.get()
        membership.person = cw["pat"]
        membership.save()

    # The rep: My statements -> March -> every line explained.
    page = browser_page
    sign_in(page, live_server.url, world.a.users[Role.REP])
    page.goto(live_server.url + reverse("commissions_my"))
    page.get_by_role("link", name="Mar 2026").click()
    page.get_by_role("heading", name="Commission statement · Mar 2026").wait_for()
    assert page.locator("#statement-person").inner_text() == "Pat Seller"
    assert page.locator('#statement-summary [data-col="payout"]').inner_text() == "1,660.00"
    lines = page.locator("#lines-table tbody tr")
    assert lines.count() == 5
    tier2 = page.locator('#lines-table tr[data-kind="commission"]').filter(has_text="tier 2")
    assert tier2.locator('[data-col="explanation"]').inner_text() == (
        "Deal X3 on 20 Mar 2026 credited to you as account owner (100%): $5,000.00. Bookings commission (AE v1), "
        "tier 2 (above 100% of quota) at 8.0000% on $2,000.00 → $160.00. Attainment 100.00% → 120.00%.")
    assert tier2.locator('[data-col="amount"]').inner_text() == "160.00"
    bonus = page.locator('#lines-table tr[data-kind="bonus"] [data-col="explanation"]').inner_text()
    assert bonus.startswith("Quota bonus (AE v1): attainment bonus; final attainment 120.00% reached tier 1")
    try:
        reverse("commissions_dispute_new")
    except NoReverseMatch:
        assert page.get_by_role("link", name="Dispute this line").count() == 0
    else:
        assert page.get_by_role("link", name="Dispute this line").count() == 5

    # The analyst: the period page -> Run -> the progress bar follows the worker to the end.
    context = chromium.new_context()
    context.set_default_timeout(60_000)
    analyst = context.new_page()
    default_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = celery_worker.queue  # the run's job goes to this test's worker
    try:
        sign_in(analyst, live_server.url, world.a.users[Role.REVOPS_ANALYST])
        analyst.goto(live_server.url + reverse("commissions_period", args=[period.pk]))
        analyst.get_by_role("button", name="Run Mar 2026").click()
        analyst.wait_for_url(f"{live_server.url}/commissions/runs/*/")
        analyst.evaluate("window.__sameDocument = true")
        assert analyst.get_by_role("progressbar").count() == 1
        analyst.wait_for_function(
            "() => document.querySelector('#run-status') && document.querySelector('#run-status').innerText === "
            "'Succeeded'")
        assert analyst.get_by_role("progressbar").get_attribute("aria-valuenow") == "100"
        assert analyst.locator('#run-totals [data-col="payout"]').inner_text() == "2,720.00"
        assert analyst.evaluate("window.__sameDocument") is True  # swapped in by htmx, not reloaded
        assert analyst.locator('#run-statements tr[data-person="Pat Seller"] [data-col="payout"]').inner_text() \
            == "1,660.00"
    finally:
        celery_app.conf.task_default_queue = default_queue
        context.close()
