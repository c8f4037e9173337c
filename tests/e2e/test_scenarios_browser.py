"""In Chromium, with a real Celery worker: an analyst builds an "exit contract" scenario through the form
(keyboard-reachable radios and selects), lands on its page while the job computes it (the progress bar), sees the
page fill in when the job finishes (base vs scenario table, plotly cash chart drawn), and shares it."""
from __future__ import annotations

import functools

import pytest
from django.urls import reverse

from revops.models import Role
from revops.tenancy import tenant_context
from tests.conftest import PASSWORD
from scenarios.tasks import scenario_compute_task
from tests.e2e.test_login_browser import browser_page, chromium  # noqa: F401  (fixtures)
from tests.revops.test_celery_worker import celery_worker  # noqa: F401  (fixture)
from tests.scenarios.fixtures import build

pytestmark = pytest.mark.browser


@pytest.mark.celery_worker
def test_create_scenario_and_see_the_chart(transactional_db, world, live_server, browser_page, celery_worker,
                                          monkeypatch):
    # The job is sent (after the commit) to this test's worker.
    monkeypatch.setattr(scenario_compute_task, "apply_async",
                        functools.partial(scenario_compute_task.apply_async, queue=celery_worker.queue))
    a = world.a
    with tenant_context(a.org):
        rows = build(a)
    user = a.users[Role.REVOPS_ANALYST]
    page = browser_page
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form").filter(has=page.locator("input[name=password]")).locator("[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("home"))

    page.goto(live_server.url + reverse("scenarios_list"))
    page.locator("#scenarios-empty").wait_for()
    page.get_by_role("link", name="New scenario").click()
    page.fill("#id_name", "Exit A PPO")
    page.get_by_label("Exit a payer contract").check()
    assert page.locator('fieldset[data-kind="denial_rate_change"]').is_hidden()  # only the chosen kind's fields
    page.select_option("#id_contract_id", str(rows["contract"].pk))
    page.fill("#id_window_end", "2025-02")
    page.fill("#id_window_months", "2")
    page.fill("#id_horizon_months", "3")
    page.get_by_role("button", name="Compute and save").click()
    page.locator(".messages li.success").get_by_text("it is being computed").wait_for()
    # The page polls the job and fetches its body again when it finishes (unless the worker was already done).
    computing = page.locator("#computing [role=progressbar]").count() == 1
    assert computing or page.locator("#summary-table").count() == 1
    page.evaluate("window.__samePage = true")
    page.locator("#summary-table").wait_for(timeout=90_000)
    assert page.locator("#computing").count() == 0
    assert page.evaluate("window.__samePage === true")  # filled in by htmx, not by reloading the page
    print("progress bar seen while computing:", computing)
    margin = page.locator('#summary-table tr[data-key="margin"]').inner_text()
    assert "-450.00" in margin and "335.00" in margin
    page.locator('[data-figure="cash-figure"] .main-svg').first.wait_for()  # plotly drew the chart
    assert page.locator("#cash-total-delta").inner_text() == "-800.00"
    assert page.locator("#visibility").inner_text() == "Private"
    page.locator("#share-toggle").click()
    page.locator(".messages li.success").get_by_text("Shared").wait_for()
    assert page.locator("#visibility").inner_text() == "Shared"
