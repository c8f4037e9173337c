"""Balancing a draft plan: ZIPs move as units, fixed accounts and locked ZIPs stay, the balance improves."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from revops.models import Account
from revops.tenancy import tenant_context
from territories import balancing, selectors, services
from territories.models import AccountVolume, AssignmentRule, BalanceRunStatus, PlanAssignment
from tests.revops.test_celery_worker import RESULT_TIMEOUT, celery_worker  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

JAN = dt.date(2025, 1, 1)
# (ZIP, latitude, longitude): a west-to-east line of Tennessee ZIPs.
ZIPS = [("38103", 35.15, -90.05), ("38301", 35.61, -88.81), ("37040", 36.52, -87.36), ("37203", 36.15, -86.79),
        ("37129", 35.87, -86.43), ("38501", 36.16, -85.50), ("37421", 35.03, -85.15), ("37902", 35.96, -83.92),
        ("37604", 36.31, -82.35), ("37620", 36.56, -82.18)]


@pytest.fixture
def plan(world):
    with tenant_context(world.a.org):
        Account.objects.all().update(is_active=False)
        plan = services.plan_create(name="Balance me", effective_from=JAN, potential_basis="revenue")
        west = services.territory_create(plan=plan, code="W", name="West")
        services.territory_create(plan=plan, code="E", name="East")
        services.rule_save(plan=plan, territory=west, kind="state", value="TN")  # everything in the west
        for n, (zip_code, lat, lon) in enumerate(ZIPS):
            for m in range(2):
                a = Account.objects.create(name=f"Clinic {zip_code}-{m}", zip_code=zip_code, state="TN",
                                           latitude=Decimal(str(lat)), longitude=Decimal(str(lon)))
                AccountVolume.objects.create(account=a, year=2025, revenue=Decimal(100 + 10 * n), visits=Decimal(4))
        services.plan_assign(plan=plan)
        yield plan


def test_balancing_moves_zips_and_keeps_fixed_accounts_and_locked_zips(plan):
    west, east = plan.territories.get(code="W"), plan.territories.get(code="E")
    named = Account.objects.get(name="Clinic 37620-0")  # far east, but a named account of the west
    services.rule_save(plan=plan, territory=west, kind="account", value=str(named.pk))
    services.rule_save(plan=plan, territory=west, kind="zip", value="37604", locked=True)
    before = selectors.plan_balance(plan=plan)
    assert before.cv == pytest.approx(1.0)  # all potential in one of two territories

    run = balancing.balance_start(plan=plan, tolerance=Decimal("0.10"))
    assert run.job is not None and run.territories == 2
    result = balancing.balance_execute(run=run)
    run.refresh_from_db()
    assert run.status == BalanceRunStatus.APPLIED and run.zips_moved == result["zips_moved"] > 0
    after = selectors.plan_balance(plan=plan)
    totals = {r["code"]: r["potential"] for r in after.territories}
    assert totals["E"] > 0 and after.cv < 0.1
    assert run.before["cv"] == pytest.approx(1.0) and run.after["cv"] == pytest.approx(after.cv)
    # The named account and the locked ZIP stayed in the west.
    assert PlanAssignment.objects.get(plan=plan, account=named).territory == west
    for account in Account.objects.filter(zip_code="37604", is_active=True):
        assert PlanAssignment.objects.get(plan=plan, account=account).territory == west
    # What moved is written as ZIP rules of the east.
    moved = set(AssignmentRule.objects.filter(plan=plan, kind="zip", territory=east).values_list("value", flat=True))
    assert moved and "37604" not in moved


def test_balancing_refuses_plans_that_are_not_scenarios_and_bad_settings(plan, world):
    with pytest.raises(ValidationError, match="tolerance"):
        balancing.balance_start(plan=plan, tolerance=Decimal("0.9"))
    with pytest.raises(ValidationError, match="merge some first"):
        balancing.balance_start(plan=plan, territories=1)
    services.plan_propose(plan=plan)
    services.plan_approve(plan=plan, user=world.a.users["executive"])
    with pytest.raises(ValidationError, match="copy the plan first"):
        balancing.balance_start(plan=plan)


def test_balancing_into_more_territories_creates_them(plan):
    run = balancing.balance_start(plan=plan, territories=3, tolerance=Decimal("0.25"))
    balancing.balance_execute(run=run)
    codes = {r["code"] for r in selectors.plan_balance(plan=plan).territories}
    assert codes == {"E", "W", "NEW-03"}
    assert all(r["potential"] > 0 for r in selectors.plan_balance(plan=plan).territories)


@pytest.mark.celery_worker
def test_a_real_worker_runs_the_balancing_job_with_progress(transactional_db, world, celery_worker):
    from revops.celery import app as celery_app
    from revops.models import Job, JobStatus
    from territories.tasks import plan_balance_task

    with tenant_context(world.a.org):
        plan = services.plan_create(name="Worker", effective_from=JAN, potential_basis="revenue")
        west = services.territory_create(plan=plan, code="W", name="West")
        services.territory_create(plan=plan, code="E", name="East")
        services.rule_save(plan=plan, territory=west, kind="state", value="TN")
        for n, (zip_code, lat, lon) in enumerate(ZIPS):
            a = Account.objects.create(name=f"Clinic {zip_code}", zip_code=zip_code, state="TN",
                                       latitude=Decimal(str(lat)), longitude=Decimal(str(lon)))
            AccountVolume.objects.create(account=a, year=2025, revenue=Decimal(100 + n), visits=Decimal(4))
        run = balancing.balance_start(plan=plan, tolerance=Decimal("0.2"), enqueue=False)
    assert celery_app.conf.task_always_eager is False
    result = plan_balance_task.apply_async(
        kwargs={"tenant_id": world.a.org.pk, "job_id": run.job_id, "run_id": run.pk}, queue=celery_worker.queue)
    try:
        outcome = result.get(timeout=RESULT_TIMEOUT)
    except Exception:
        pytest.fail(f"the worker did not finish the balancing job; its output:\n{celery_worker.output()[-5000:]}")
    assert outcome["zips_moved"] > 0
    with tenant_context(world.a.org):
        job = Job.objects.get(pk=run.job_id)
        assert job.status == JobStatus.SUCCEEDED and job.progress_done == job.progress_total == 100
        run.refresh_from_db()
        assert run.status == BalanceRunStatus.APPLIED
        assert {r["code"] for r in selectors.plan_balance(plan=plan).territories if r["potential"] > 0} == {"W", "E"}


def test_the_workspace_starts_a_balancing_job_and_shows_its_progress(plan, world):
    from django.urls import reverse

    from territories.models import BalanceRun

    url = reverse("territories_plan_balance_run", args=[plan.pk])
    page = world.a.client("revops_analyst").get(reverse("territories_plan", args=[plan.pk]))
    assert page.status_code == 200 and b"Balance automatically" in page.content and b'name="tolerance_pct"' in page.content
    response = world.a.client("revops_analyst").post(url, {
        "territories": 2, "tolerance_pct": "7.5", "weight_potential": 1, "weight_workload": 0,
        "weight_compactness": 1, "weight_disruption": 2}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    run = BalanceRun.objects.get(plan=plan)
    assert run.tolerance == Decimal("0.0750") and run.weight_disruption == 2 and run.job.status == "queued"
    assert b'role="progressbar"' in response.content  # the job's live progress bar
    bad = world.a.client("revops_analyst").post(url, {"territories": 1, "tolerance_pct": "5", "weight_potential": 1,
                                                      "weight_workload": 0, "weight_compactness": 1,
                                                      "weight_disruption": 1})
    assert bad.status_code == 400 and b"merge some first" in bad.content
    assert world.a.client("executive").post(url, {"territories": 2}).status_code == 403


def test_the_api_lists_and_starts_balancing_runs(plan, world):
    from django.urls import reverse

    url = reverse("api-territories-plan-balance-runs", args=[plan.pk])
    api = world.a.api("revops_analyst")
    started = api.post(url, {"tolerance": "0.1", "weight_disruption": 3}, format="json")
    assert started.status_code == 202, started.content
    assert started.json()["status"] == "queued" and started.json()["tolerance"] == "0.1000"
    listed = api.get(url)
    assert listed.status_code == 200 and [r["id"] for r in listed.json()] == [started.json()["id"]]
    assert api.post(url, {"tolerance": "0.9"}, format="json").status_code == 400
    assert world.a.api("executive").post(url, {}, format="json").status_code == 403
    assert world.b.api("revops_analyst").get(url).status_code == 404
