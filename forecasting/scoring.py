"""Scores of the time-series and cash forecasts of a closing period (``services.period_close`` calls it).

- **Time-series runs** forecast a quota metric (bookings by default) by company, territory, service line
  and program (claim charges; claim counts for ``program_volume``). Each model's values for the
  period's months are scored against the same series' actual months (``runs.level_history``), by
  level and key. The source is the model's name, with ``:<metric>`` appended when the run forecast
  another metric than bookings.
- **Cash runs** are scored against the 835 payments (CLP04, reversals netted) by payment month
  (BPR16, else DTM*405), at company, payer class and payer: ``cash_open_claims`` against payments of
  claims submitted on or before the run's ``as_of``, ``cash_forecast_volume`` against payments of
  claims submitted after it, and ``cash_total`` (their sum) against both. Payments the 835 could not
  match to a claim are left out of all three (their claim's date and payer are unknown).

A run is scored when it saw nothing of the period: a time-series run's history ends the day before
its ``as_of`` (so a run as of the period's first day counts), a cash run's includes its ``as_of``.
The horizon is the months from the month of that last known day to the period's (1 = the next
month); for each (source, level, key, horizon) the latest such run wins. Intervals (80% and 95%) are kept on a score
when the period is one month, so the accuracy board can say how often actuals fell inside them
(calibration); the sum of several months' quantiles is not the quantile of the sum, so a longer
period's scores carry none, and neither does ``cash_total``.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import connection

from revops.tenancy import require_tenant_id

from .models import ForecastPeriod, ForecastRun, ForecastScore, ForecastValue, RunKind, RunStatus

CASH_OPEN, CASH_VOLUME, CASH_TOTAL = "cash_open_claims", "cash_forecast_volume", "cash_total"
BANDS = ("lo80", "hi80", "lo95", "hi95")
Key = tuple[str, str, str, int]  # source, level, key, horizon


def last_known(run: ForecastRun) -> dt.date:
    """The last day whose data the run saw: a time-series run's history ends the day before its ``as_of``
    (a run as of 1 October forecasts October from September's close); cash and pipeline runs include it."""
    return run.as_of - dt.timedelta(days=1) if run.kind == RunKind.TIME_SERIES else run.as_of


def horizon_of(run: ForecastRun, period: ForecastPeriod) -> int:
    """Months from the month of the run's last known day to the period's first (1 = the next month)."""
    seen = last_known(run)
    return (period.start.year - seen.year) * 12 + period.start.month - seen.month


def _runs(period: ForecastPeriod, kind: str) -> list[ForecastRun]:
    """Succeeded runs of ``kind`` that saw nothing of the period, oldest first (so the latest wins)."""
    runs = ForecastRun.objects.filter(kind=kind, status=RunStatus.SUCCEEDED, as_of__lte=period.start)
    return [r for r in runs.order_by("as_of", "created_at", "id") if last_known(r) < period.start]


def _forecasts(run: ForecastRun, months: list[dt.date], single_month: bool) -> dict[tuple[str, str, str], dict]:
    """(model, level, key) -> point sum over ``months`` (and the bands when ``single_month``), and the label."""
    out: dict[tuple[str, str, str], dict] = {}
    for v in ForecastValue.objects.filter(run=run, month__in=months).order_by("month"):
        entry = out.setdefault((v.model, v.level, v.key), {"point": Decimal(0), "label": v.label})
        entry["point"] += v.point
        if single_month:
            entry.update({band: getattr(v, band) for band in BANDS})
    return out


def _put(scores: dict[Key, ForecastScore], period: ForecastPeriod, *, source: str, level: str, key: str,
         horizon: int, label: str, forecast: Decimal, actual: Decimal, bands: dict[str, Any] | None) -> None:
    score = ForecastScore(period=period, source=source[:40], level=level, key=key, label=label[:200],
                          horizon=horizon, forecast=forecast, actual=actual)
    for band in BANDS:
        setattr(score, band, (bands or {}).get(band))
    scores[(score.source, level, key, horizon)] = score


def timeseries_scores(period: ForecastPeriod, months: list[dt.date]) -> dict[Key, ForecastScore]:
    from .runs import level_history

    scores: dict[Key, ForecastScore] = {}
    actuals: dict[tuple[str, str], dict[str, Decimal]] = {}  # (level, metric) -> key -> actual
    single = len(months) == 1
    for run in _runs(period, RunKind.TIME_SERIES):
        metric = (run.params or {}).get("metric", "bookings")
        horizon = horizon_of(run, period)
        for (model, level, key), f in _forecasts(run, months, single).items():
            if (level, metric) not in actuals:
                history, _ = level_history(level=level, end=period.end, metric=metric)
                inside = history[history["month"].isin(months)] if not history.empty else history
                actuals[(level, metric)] = {
                    str(k): Decimal(str(round(float(y), 2)))
                    for k, y in inside.groupby("key")["y"].sum().items()} if not inside.empty else {}
            source = model if metric == "bookings" else f"{model}:{metric}"
            _put(scores, period, source=source, level=level, key=key, horizon=horizon, label=f["label"],
                 forecast=f["point"], actual=actuals[(level, metric)].get(key, Decimal(0)), bands=f if single else None)
    return scores


def cash_actuals(*, as_of: dt.date, start: dt.date, end: dt.date) -> dict[tuple[str, str, str], Decimal]:
    """(model, level, key) -> the 835 payments dated in [start, end), split by the claim's submission
    on or before ``as_of`` (open claims) or after it (forecast volume)."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.submitted_on <= %(as_of)s AS open_claim, coalesce(c.payer_id::text, 'none') AS payer,
                   coalesce(p.payer_class, '') AS payer_class, sum(cp.paid) AS paid
            FROM rcm_feeds_claimpayment cp
            JOIN rcm_feeds_remittance r ON r.id = cp.remittance_id AND r.tenant_id = %(t)s
            JOIN rcm_feeds_claim c ON c.id = cp.claim_id AND c.tenant_id = %(t)s
            LEFT JOIN revops_payer p ON p.id = c.payer_id AND p.tenant_id = %(t)s
            WHERE cp.tenant_id = %(t)s
              AND coalesce(r.payment_date, r.production_date) >= %(start)s
              AND coalesce(r.payment_date, r.production_date) < %(end)s
            GROUP BY 1, 2, 3
        """, {"t": require_tenant_id(), "as_of": as_of, "start": start, "end": end})
        rows = cursor.fetchall()
    from .cash import UNKNOWN_CLASS

    out: dict[tuple[str, str, str], Decimal] = {}
    for open_claim, payer, payer_class, paid in rows:
        for model in ((CASH_OPEN if open_claim else CASH_VOLUME), CASH_TOTAL):
            for level, key in (("company", "all"), ("payer_class", payer_class or UNKNOWN_CLASS), ("payer", payer)):
                out[(model, level, key)] = out.get((model, level, key), Decimal(0)) + paid
    return out


def cash_scores(period: ForecastPeriod, months: list[dt.date]) -> dict[Key, ForecastScore]:
    scores: dict[Key, ForecastScore] = {}
    single = len(months) == 1
    for run in _runs(period, RunKind.CASH):
        horizon = horizon_of(run, period)
        actual = cash_actuals(as_of=run.as_of, start=period.start, end=period.end)
        forecasts = _forecasts(run, months, single)
        totals: dict[tuple[str, str], dict] = {}
        for (model, level, key), f in forecasts.items():
            _put(scores, period, source=model, level=level, key=key, horizon=horizon, label=f["label"],
                 forecast=f["point"], actual=actual.get((model, level, key), Decimal(0)), bands=f if single else None)
            total = totals.setdefault((level, key), {"point": Decimal(0), "label": f["label"]})
            total["point"] += f["point"]
        for (level, key), f in totals.items():
            _put(scores, period, source=CASH_TOTAL, level=level, key=key, horizon=horizon, label=f["label"],
                 forecast=f["point"], actual=actual.get((CASH_TOTAL, level, key), Decimal(0)), bands=None)
    return scores
