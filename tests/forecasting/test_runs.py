"""Time-series forecast runs on the quota fixture world: series per company, territory (owner on the
transaction date), service line and program (RCM claims), values for every model with the expected
figures worked out by hand, the run summary, isolation from another organization, and the job run
by a real Celery worker with progress.

Bookings (tests/quotas/fixtures.py), as of 15 September 2026 (history through August 2026):

    2025 (no territory owned an account yet, so key ``none``): A Mar 100,000; B Jun 20,000;
    C Sep 60,000; D Nov 20,000.
    2026: C Jan 8,000 (T2); A Feb 10,000 and B Mar 5,000 (T1); Quinn Apr 1,000 (no account);
    D May 4,000 (T3); E Jun 500 (no territory); B Aug 7,000 (T2 since the July relief).

Every series is shorter than two seasons, so the chosen model is the historical mean:
company 235,500 / 18 months (Mar 2025 - Aug 2026) = 13,083.33; T1 15,000 / 7 (Feb - Aug 2026)
= 2,142.86; T2 15,000 / 8 = 1,875; T3 4,000 / 4 = 1,000; none 201,500 / 18 = 11,194.44.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from forecasting import runs
from forecasting import timeseries as ts
from forecasting.models import ForecastRun, ForecastValue, RunStatus
from quotas import services as quota_services
from revops.models import Account, Job, JobStatus, Program
from revops.tenancy import tenant_context
from tests.quotas import fixtures
from tests.rcm_feeds.kpi_fixtures import claim, received_file
from tests.revops.test_celery_worker import RESULT_TIMEOUT, celery_worker  # noqa: F401 (fixture)

D = Decimal
AS_OF = dt.date(2026, 9, 15)
MONTHS = [dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 12, 1),
          dt.date(2027, 1, 1), dt.date(2027, 2, 1)]


def month_add(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


# PHP claims: one a month from July 2024 to August 2026 (with the world's June 2024 claim of 1,200,
# 27 months), charge 1,000 + 100 x the month's number; a replacement that must not count.
def php_charge(day: dt.date) -> Decimal:
    return D(1000 + 100 * day.month)


def build(tenant) -> dict:
    Account.objects.all().update(is_active=False)
    built = fixtures.build_territories(relief=True)
    quota_services.transactions_upsert(rows=fixtures.transaction_rows(built))
    php = tenant.objects["program"]
    f837 = received_file("x12_837")
    day = dt.date(2024, 7, 10)
    while day < dt.date(2026, 9, 1):
        original = claim(file=f837, charge=php_charge(day), submitted_on=day, program=php)
        day = month_add(day, 1).replace(day=10)
    claim(file=f837, charge="99999", submitted_on=dt.date(2026, 8, 20), program=php, frequency="7", original=original)
    claim(file=f837, charge="300", submitted_on=dt.date(2026, 8, 3))  # no program
    iop = Program.objects.create(code="IOP", name="Intensive outpatient", level_of_care="iop")
    claim(file=f837, charge="500", submitted_on=dt.date(2024, 2, 5), program=iop)  # nothing since: inactive
    return {**built, "php": php, "iop": iop}


def points(run: ForecastRun, level: str, key: str, model: str) -> list[Decimal]:
    return list(ForecastValue.objects.filter(run=run, level=level, key=key, model=model).order_by("month")
                .values_list("point", flat=True))


@pytest.mark.django_db
def test_a_run_forecasts_every_level_with_the_chosen_model_and_the_seasonal_naive_beside_it(world):
    with tenant_context(world.b.org):
        # The other organization books a million a month in the same months: none of it may show.
        account = world.b.objects["account"]
        quota_services.transactions_upsert(rows=[
            (f"B-{m}", "bookings", "deal", account.pk, None, month_add(dt.date(2024, 1, 1), m), D("1000000"), "")
            for m in range(32)])
    with tenant_context(world.a.org):
        built = build(world.a)
        service_line = world.a.objects["serviceline"]
        Account.objects.filter(pk=built["accounts"]["A"].pk).update(service_line=service_line)
        run = runs.timeseries_run(as_of=AS_OF, levels=(*runs.LEVELS, "program_volume"))
        assert run.status == RunStatus.SUCCEEDED and run.kind == "time_series"

        assert points(run, "company", "all", ts.MEAN) == [D("13083.33")] * 6
        # Seasonal naive: Sep 2025 60,000, Oct 0, Nov 20,000, Dec 0, Jan 2026 8,000, Feb 10,000.
        assert points(run, "company", "all", ts.SEASONAL_NAIVE) == [D(60000), D(0), D(20000), D(0), D(8000), D(10000)]
        assert points(run, "territory", "T1", ts.MEAN) == [D("2142.86")] * 6
        assert points(run, "territory", "T2", ts.MEAN) == [D("1875.00")] * 6
        assert points(run, "territory", "T3", ts.MEAN) == [D("1000.00")] * 6
        assert points(run, "territory", "none", ts.MEAN) == [D("11194.44")] * 6
        assert points(run, "territory", "none", ts.SEASONAL_NAIVE) == [D(60000), D(0), D(20000), D(0), D(0), D(0)]
        # T1..T3 have less than a season: the naive (last month: T1 Aug 0, T2 Aug 7,000) is the baseline.
        assert points(run, "territory", "T2", ts.NAIVE) == [D(7000)] * 6
        labels = dict(ForecastValue.objects.filter(run=run, level="territory").values_list("key", "label"))
        assert labels == {"T1": "Denver", "T2": "Boulder", "T3": "Provo", "none": "No territory"}
        # Service line: account A (Mar 2025 100,000, Feb 2026 10,000) over 18 months; the rest from Jun 2025.
        sl = str(service_line.pk)
        assert points(run, "service_line", sl, ts.MEAN) == [D("6111.11")] * 6
        assert points(run, "service_line", "none", ts.MEAN) == [D("8366.67")] * 6

        # PHP has 27 months: every default candidate, and the seasonal naive repeats Sep 2025 - Feb 2026.
        php = str(built["php"].pk)
        assert set(ForecastValue.objects.filter(run=run, level="program", key=php).values_list("model", flat=True)) == {
            *ts.CANDIDATES}
        assert points(run, "program", php, ts.SEASONAL_NAIVE) == [php_charge(m) for m in MONTHS]
        assert points(run, "program_volume", php, ts.SEASONAL_NAIVE) == [D(1)] * 6  # the replacement is not a claim
        assert points(run, "program", "none", ts.MEAN) == [D(300)] * 6

        values = ForecastValue.objects.filter(run=run)
        assert set(values.values_list("month", flat=True)) == set(MONTHS)
        for v in values:
            assert v.lo95 <= v.lo80 <= v.point <= v.hi80 <= v.hi95 and v.lo95 >= 0

        summary = run.summary
        assert (summary["history_to"], summary["first_month"], summary["history_from"]) == (
            "2026-08-01", "2026-09-01", "2024-06-01")
        assert summary["values"] == values.count()
        territory = summary["levels"]["territory"]
        assert territory["chosen"] == {"T1": ts.MEAN, "T2": ts.MEAN, "T3": ts.MEAN, "none": ts.MEAN}
        assert territory["chosen_share"] == {ts.MEAN: 1.0} and territory["short"] == 4
        program = summary["levels"]["program"]
        assert program["inactive"] == [str(built["iop"].pk)]
        assert program["chosen"][php] in ts.CANDIDATES and program["reasons"].get("short") == 1
        assert set(program["backtest"]) == {*ts.CANDIDATES, "chosen_in_sample"}
        assert program["backtest"][ts.SEASONAL_NAIVE]["series"] == 1
        assert 0 <= program["backtest"][ts.SEASONAL_NAIVE]["wape"] < 1
        assert sum(program["chosen_share"].values()) == pytest.approx(1.0)

    with tenant_context(world.b.org):
        assert not ForecastValue.objects.filter(run_id=run.pk).exists()
        other = runs.timeseries_run(as_of=AS_OF, levels=("company",))
        # 32 months of 1,000,000: nothing of organization a's bookings in it.
        assert points(other, "company", "all", ts.SEASONAL_NAIVE) == [D("1000000.00")] * 6
        assert other.summary["levels"]["company"]["series"] == 1


@pytest.mark.django_db
def test_start_queues_the_task_after_commit_and_rejects_unknown_levels(world, django_capture_on_commit_callbacks):
    with tenant_context(world.a.org):
        with pytest.raises(ValidationError, match="levels"):
            runs.timeseries_run_start(as_of=AS_OF, levels=("payer",))
        with pytest.raises(ValidationError, match="horizon"):
            runs.timeseries_run_start(as_of=AS_OF, horizon=0)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            run = runs.timeseries_run_start(as_of=AS_OF, levels=("company", "territory"))
        assert len(callbacks) == 1
        assert run.status == RunStatus.QUEUED and run.params["levels"] == ["company", "territory"]
        assert run.job.params["run"] == run.pk and run.job.progress_total == 3


@pytest.mark.django_db
def test_a_run_that_fails_is_marked_failed_and_a_finished_run_is_not_computed_again(world):
    with tenant_context(world.a.org):
        run = runs.timeseries_run_start(as_of=AS_OF, levels=("company",), enqueue=False)
        ForecastRun.objects.filter(pk=run.pk).update(params={"levels": ["payer"]})
        with pytest.raises(ValidationError):
            runs.timeseries_run_job(run.job, run.pk)
        run.refresh_from_db()
        assert run.status == RunStatus.FAILED and "payer" in run.summary["error"]

        done = runs.timeseries_run(as_of=AS_OF, levels=("company",))
        before = done.summary
        again = runs.timeseries_run_execute(run=done)
        assert again.summary == before and again.status == RunStatus.SUCCEEDED


@pytest.mark.celery_worker
def test_a_real_worker_runs_a_time_series_forecast_with_progress(transactional_db, world, celery_worker):
    from forecasting.tasks import timeseries_run_task
    from revops.celery import app as celery_app

    with tenant_context(world.a.org):
        build(world.a)
        run = runs.timeseries_run_start(as_of=AS_OF, enqueue=False)
    assert celery_app.conf.task_always_eager is False
    result = timeseries_run_task.apply_async(
        kwargs={"tenant_id": world.a.org.pk, "job_id": run.job_id, "run_id": run.pk}, queue=celery_worker.queue)
    try:
        outcome = result.get(timeout=RESULT_TIMEOUT)
    except Exception:
        pytest.fail(f"the worker did not finish the forecast job; its output:\n{celery_worker.output()[-5000:]}")
    with tenant_context(world.a.org):
        job = Job.objects.get(pk=run.job_id)
        run.refresh_from_db()
        assert job.status == JobStatus.SUCCEEDED and job.progress_done == job.progress_total == 5
        assert run.status == RunStatus.SUCCEEDED and outcome == {
            "run": run.pk, "status": "succeeded", "values": run.summary["values"], "seconds": run.summary["seconds"]}
        assert points(run, "territory", "T1", ts.MEAN) == [D("2142.86")] * 6
        assert set(ForecastValue.objects.filter(run=run).values_list("level", flat=True)) == set(runs.LEVELS)
