"""Time-series forecast runs: monthly series built from the database (bookings or another quota metric
by company, territory and service line; RCM claim charges and volume by program), forecast by
``forecasting.timeseries`` and written as ``ForecastValue`` rows with the backtest in the run's summary.

Series (docs/forecasting.md):
- ``company``, ``territory``, ``service_line``: the ``CreditedTransaction`` amounts of ``metric`` by
  transaction month. A transaction belongs to the territory (by code) that owned its account on
  the transaction date (``AccountOwnership``, as quota attainment credits it), and to its account's
  service line; one with no owner on that day, or no account, is in the key ``none`` ("No
  territory", "No service line"), so each level adds up to the company.
- ``program`` (charges) and ``program_volume`` (claim count): original RCM claims (not
  replacements, voids or resubmissions, ``Claim.is_resubmission``) by program and month submitted;
  claims without a program are in ``none``.
- History runs through the month before ``as_of`` (``as_of``'s own month is the first forecast
  month, as in the weighted-pipeline run) and is taken by transaction or submission date.
- A key with nothing in the last twelve months of history (a retired territory code) is not
  forecast; the summary counts it as inactive.

Every model fitted to a series is written (the chosen one, the seasonal-naive baseline and the other
candidates), rounded half-up to the cent once, here; the run's summary says per level which model
was chosen for each key, their shares and each model's backtest WAPE and bias.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from revops.bulk import staging_copy, staging_create, staging_drop
from revops.jobs import job_create, job_enqueue, job_progress
from revops.models import Job
from revops.tenancy import require_tenant_id

from . import engine, timeseries
from .models import ForecastRun, ForecastValue, RunKind, RunStatus

CENT = Decimal("0.01")
LEVELS = ("company", "territory", "service_line", "program")
ALL_LEVELS = (*LEVELS, "program_volume")
LEVEL_LABELS = {"company": "Company", "territory": "Territory", "service_line": "Service line",
                "program": "Program (claim charges)", "program_volume": "Program (claims)"}
NONE_LABELS = {"territory": "No territory", "service_line": "No service line", "program": "No program",
               "program_volume": "No program"}
FOLDS = 3
MAX_HORIZON = 24
VALUE_COLUMNS = ["run_id", "level", "key", "label", "model", "month", "point", "lo80", "hi80", "lo95", "hi95"]


def _frame(sql: str, params: dict[str, Any]) -> pd.DataFrame:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])


BOOKINGS_SQL = """
    SELECT {key} AS key, date_trunc('month', x.transaction_date)::date AS month, sum(x.amount)::float8 AS y
    FROM quotas_creditedtransaction x
    {joins}
    WHERE x.tenant_id = %(t)s AND x.metric = %(m)s AND x.transaction_date < %(end)s
    GROUP BY 1, 2
"""
TERRITORY_JOINS = """
    LEFT JOIN territories_accountownership o
           ON o.tenant_id = %(t)s AND o.account_id = x.account_id
          AND o.valid_from <= x.transaction_date AND (o.valid_to IS NULL OR o.valid_to > x.transaction_date)
    LEFT JOIN territories_territory tt ON tt.id = o.territory_id
"""
SERVICE_LINE_JOINS = "LEFT JOIN revops_account a ON a.id = x.account_id AND a.tenant_id = %(t)s"
CLAIMS_SQL = """
    SELECT coalesce(c.program_id::text, 'none') AS key, date_trunc('month', c.submitted_on)::date AS month,
           {value} AS y
    FROM rcm_feeds_claim c
    WHERE c.tenant_id = %(t)s AND NOT c.is_resubmission AND c.submitted_on < %(end)s
    GROUP BY 1, 2
"""


def level_history(*, level: str, end: dt.date, metric: str = "bookings") -> tuple[pd.DataFrame, dict[str, str]]:
    """The monthly history of ``level`` before ``end`` (key, month, y) and each key's label."""
    t = require_tenant_id()
    params = {"t": t, "m": metric, "end": end}
    labels: dict[str, str] = {}
    if level == "company":
        frame = _frame(BOOKINGS_SQL.format(key="'all'", joins=""), params)
        labels["all"] = LEVEL_LABELS["company"]
    elif level == "territory":
        frame = _frame(BOOKINGS_SQL.format(key="coalesce(tt.code, 'none')", joins=TERRITORY_JOINS), params)
        # Labels from the newest plan that has the code (codes carry over from plan to plan).
        labels = dict(_frame("""
            SELECT DISTINCT ON (t.code) t.code, t.name FROM territories_territory t
            JOIN territories_territoryplan p ON p.id = t.plan_id
            WHERE t.tenant_id = %(t)s ORDER BY t.code, p.effective_from DESC, t.id DESC
        """, params).itertuples(index=False, name=None))
    elif level == "service_line":
        frame = _frame(BOOKINGS_SQL.format(key="coalesce(a.service_line_id::text, 'none')", joins=SERVICE_LINE_JOINS),
                       params)
        labels = {str(k): v for k, v in _frame("SELECT id, name FROM revops_serviceline WHERE tenant_id = %(t)s",
                                                params).itertuples(index=False, name=None)}
    elif level in ("program", "program_volume"):
        value = "sum(c.charge)::float8" if level == "program" else "count(*)::float8"
        frame = _frame(CLAIMS_SQL.format(value=value), params)
        labels = {str(k): v for k, v in _frame("SELECT id, name FROM revops_program WHERE tenant_id = %(t)s",
                                                params).itertuples(index=False, name=None)}
    else:
        raise ValidationError(f"Unknown forecast level {level!r}: choose from {', '.join(ALL_LEVELS)}.")
    if frame.empty:
        frame = pd.DataFrame({"key": pd.Series(dtype=str), "month": pd.Series(dtype=object),
                              "y": pd.Series(dtype=float)})
    if level in NONE_LABELS:
        labels.setdefault("none", NONE_LABELS[level])
    frame["key"] = frame["key"].astype(str)
    return frame, labels


def active_series(history: pd.DataFrame, *, last: dt.date) -> tuple[pd.DataFrame, list[str]]:
    """``history`` as a complete timeseries frame through ``last`` (unique_id, ds, y), without the keys
    that had nothing in the last twelve months (returned as the second item)."""
    frame = timeseries.complete(history.rename(columns={"key": "unique_id", "month": "ds"}), end=pd.Timestamp(last))
    if frame.empty:
        return frame, []
    recent = frame[frame["ds"] > pd.Timestamp(engine.add_months(last, -timeseries.SEASON))]
    alive = set(recent.loc[recent["y"] != 0, "unique_id"])
    inactive = sorted(set(frame["unique_id"]) - alive)
    return frame[frame["unique_id"].isin(alive)].reset_index(drop=True), inactive


def _money(value: float | None) -> Decimal | None:
    if value is None or not np.isfinite(value):
        return None
    return Decimal(repr(float(value))).quantize(CENT, rounding=ROUND_HALF_UP)


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and not np.isfinite(value)) else round(float(value), 6)


def _level_summary(result: timeseries.Forecast, inactive: list[str]) -> dict[str, Any]:
    lengths = result.lengths
    per_series = result.backtest.per_series
    chosen = result.chosen.set_index("unique_id")["model"]
    backtest = {row.model: {"wape": _number(row.wape), "bias": _number(row.bias), "series": int(row.series)}
                for row in result.backtest.overall.itertuples() if row.series}
    if not per_series.empty:
        # The chosen models' own backtest error is in-sample for the choice (each was picked for having
        # the lowest error on these folds), so it is optimistic; bench/forecast_backtest.py measures
        # the choice on a held-out year.
        picked = per_series.merge(result.chosen, on=["unique_id", "model"])
        backtest["chosen_in_sample"] = {
            "wape": _number(picked["abs_error"].sum() / picked["actual"].sum()) if picked["actual"].sum() else None,
            "bias": _number(picked["error"].sum() / picked["actual"].sum()) if picked["actual"].sum() else None,
            "series": int(len(picked))}
    return {
        "series": int(len(lengths)), "short": int((lengths < timeseries.MIN_SEASONAL).sum()),
        "inactive": inactive, "months": {"min": int(lengths.min()) if len(lengths) else 0,
                                         "max": int(lengths.max()) if len(lengths) else 0},
        "backtest": backtest, "chosen_share": result.chosen_share(),
        "chosen": {str(k): str(v) for k, v in chosen.items()},
        "reasons": {str(k): int(v) for k, v in result.chosen["reason"].value_counts().sort_index().items()},
    }


def _value_rows(run_id: int, level: str, labels: dict[str, str], values: pd.DataFrame) -> list[tuple[Any, ...]]:
    rows = []
    for v in values.itertuples(index=False):
        key = str(v.unique_id)
        rows.append((run_id, level, key, labels.get(key, key)[:200], v.model, v.ds.date(),
                      _money(v.point) or Decimal(0), _money(v.lo80), _money(v.hi80), _money(v.lo95), _money(v.hi95)))
    return rows


def _write_values(rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    stage = staging_create("forecasting_forecastvalue", VALUE_COLUMNS)
    staging_copy(stage, VALUE_COLUMNS, rows)
    with connection.cursor() as cursor:
        cursor.execute(f"""INSERT INTO forecasting_forecastvalue (tenant_id, {', '.join(VALUE_COLUMNS)})
                           SELECT %s, {', '.join(VALUE_COLUMNS)} FROM {stage}""", [require_tenant_id()])
    staging_drop(stage)


def _check(*, horizon: int, levels: Sequence[str]) -> list[str]:
    if not 1 <= horizon <= MAX_HORIZON:
        raise ValidationError(f"The horizon is 1 to {MAX_HORIZON} months.")
    unknown = [level for level in levels if level not in ALL_LEVELS]
    if unknown or not levels:
        raise ValidationError(f"Unknown forecast levels {', '.join(unknown) or '(none given)'}: the levels are "
                              f"{', '.join(ALL_LEVELS)}.")
    return list(dict.fromkeys(levels))


@transaction.atomic
def timeseries_run_execute(*, run: ForecastRun, job: Job | None = None, n_jobs: int = 1) -> ForecastRun:
    """Compute ``run`` (kind time series): every level's series, backtest, forecasts and choice.

    Re-running a run that did not finish replaces its values; a finished run is left as it is.
    """
    claimed = ForecastRun.objects.filter(pk=run.pk, kind=RunKind.TIME_SERIES,
                                         status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).update(
        status=RunStatus.RUNNING)
    run.refresh_from_db()
    if not claimed:
        return run
    started = time.perf_counter()
    params = run.params or {}
    levels = _check(horizon=run.horizon, levels=params.get("levels", LEVELS))
    metric = params.get("metric", "bookings")
    folds = int(params.get("folds", FOLDS))
    first = engine.month_start(run.as_of)
    last = engine.add_months(first, -1)
    ForecastValue.objects.filter(run=run).delete()
    total = len(levels) + 1
    summary: dict[str, Any] = {
        "metric": metric, "horizon": run.horizon, "folds": folds, "history_to": last.isoformat(),
        "first_month": first.isoformat(), "models": timeseries.MODEL_LABELS, "baseline": timeseries.BASELINE,
        "levels": {}, "values": 0}
    history_from: dt.date | None = None
    for done, level in enumerate(levels):
        if job is not None:
            job_progress(job_id=job.pk, done=done, total=total, message=f"Forecasting {LEVEL_LABELS[level].lower()}")
        history, labels = level_history(level=level, end=first, metric=metric)
        frame, inactive = active_series(history, last=last)
        if frame.empty:
            summary["levels"][level] = {"series": 0, "inactive": inactive}
            continue
        start = frame["ds"].min().date()
        history_from = min(history_from, start) if history_from else start
        result = timeseries.forecast(frame, run.horizon, timeseries.LEVELS, folds=folds, n_jobs=n_jobs,
                                     nonnegative=True)
        rows = _value_rows(run.pk, level, labels, result.values)
        _write_values(rows)
        summary["levels"][level] = _level_summary(result, inactive)
        summary["values"] += len(rows)
    if job is not None:
        job_progress(job_id=job.pk, done=len(levels), total=total, message="Writing the run summary")
    summary["history_from"] = history_from.isoformat() if history_from else None
    summary["seconds"] = round(time.perf_counter() - started, 2)
    run.status = RunStatus.SUCCEEDED
    run.summary = summary
    run.save(update_fields=["status", "summary"])
    return run


def _new_run(*, as_of: dt.date, horizon: int, levels: Sequence[str], metric: str, user: Any | None,
             job: Job | None, folds: int) -> ForecastRun:
    levels = _check(horizon=horizon, levels=levels)
    return ForecastRun.objects.create(
        kind=RunKind.TIME_SERIES, status=RunStatus.QUEUED, job=job, as_of=as_of, horizon=horizon,
        params={"levels": levels, "metric": metric, "folds": folds},
        created_by=user if getattr(user, "pk", None) else None)


def timeseries_run(*, as_of: dt.date, horizon: int = 6, levels: Sequence[str] = LEVELS, metric: str = "bookings",
                   user: Any | None = None, job: Job | None = None, folds: int = FOLDS,
                   n_jobs: int = 1) -> ForecastRun:
    """Create and compute a time-series run now (tests, the shell, the demo seed)."""
    with transaction.atomic():
        run = _new_run(as_of=as_of, horizon=horizon, levels=levels, metric=metric, user=user, job=job, folds=folds)
        return timeseries_run_execute(run=run, job=job, n_jobs=n_jobs)


@transaction.atomic
def timeseries_run_start(*, as_of: dt.date, horizon: int = 6, levels: Sequence[str] = LEVELS,
                         metric: str = "bookings", user: Any | None = None, folds: int = FOLDS,
                         enqueue: bool = True) -> ForecastRun:
    """Queue a time-series run as a job with a progress bar; the task starts after the commit."""
    levels = _check(horizon=horizon, levels=levels)
    job = job_create(kind="forecast_timeseries", total=len(levels) + 1, created_by=user,
                     label=f"Time-series forecast of {metric} as of {as_of:%d %b %Y}",
                     params={"as_of": as_of.isoformat(), "horizon": horizon, "levels": levels, "metric": metric})
    run = _new_run(as_of=as_of, horizon=horizon, levels=levels, metric=metric, user=user, job=job, folds=folds)
    job.params["run"] = run.pk
    job.save(update_fields=["params"])
    if enqueue:
        from .tasks import timeseries_run_task

        job_enqueue(job=job, task=timeseries_run_task, run_id=run.pk)
    return run


def timeseries_run_job(job: Job, run_id: int) -> dict[str, Any]:
    """The job body (``forecasting.tasks.timeseries_run_task``): execute the run, or mark it failed."""
    run = ForecastRun.objects.get(pk=run_id)
    try:
        run = timeseries_run_execute(run=run, job=job)
    except Exception as exc:
        ForecastRun.objects.filter(pk=run_id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).update(
            status=RunStatus.FAILED, summary={"error": f"{type(exc).__name__}: {exc}"[:1000]})
        raise
    return {"run": run.pk, "status": run.status, "values": run.summary.get("values", 0),
            "seconds": run.summary.get("seconds")}
