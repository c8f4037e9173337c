"""Cash forecast against the database: the claim facts known on a day, the volume to turn into cash,
``cash_forecast`` (a data frame) and ``cash_run`` (a ForecastRun of kind "cash" with its values).

The arithmetic is in forecasting/cash.py; the definitions in docs/forecasting.md ("Cash forecast").
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd
from django.db import connection, transaction

from revops.models import Payer
from revops.models.reference import PayerClass
from revops.tenancy import require_tenant_id

from . import cash
from .models import ForecastRun, ForecastValue, RunKind, RunStatus

CENT = Decimal("0.01")
MODELS = {cash.OPEN_CLAIMS: "cash_open_claims", cash.FORECAST_VOLUME: "cash_forecast_volume"}
# The time-series run's level whose values are claim charges by program (forecasting.runs).
CHARGES_LEVEL = "program"
SEASONAL_NAIVE = "seasonal_naive"

# One row per original claim (KPI rule: not a replacement or void, not a repeat of a control number)
# that was submitted in the learning window or is still open, with what was known on as_of.
# Payments to a claim's corrections count for the claim; a voided claim is left out. A claim's first
# adjudication is its earliest non-reversal claim payment (remittance date, then load order), as in
# rcm_feeds.aggregates; ``standing`` = non-reversal payments - reversals (<= 0: open).
CLAIM_FACTS_SQL = """
    WITH originals AS (
        SELECT c.id, c.submitted_on, c.charge, c.payer_id, c.program_id
        FROM rcm_feeds_claim c
        WHERE c.tenant_id = %(t)s AND NOT c.is_resubmission AND c.frequency NOT IN ('7', '8')
          AND c.submitted_on <= %(as_of)s
          AND NOT EXISTS (SELECT 1 FROM rcm_feeds_claim v
                          WHERE v.tenant_id = %(t)s AND v.original_claim_id = c.id AND v.frequency = '8'
                            AND v.submitted_on <= %(as_of)s)
    ), pay AS (
        SELECT coalesce(c.original_claim_id, c.id) AS root, cp.id, cp.paid, cp.is_reversal,
               coalesce(r.payment_date, r.production_date) AS paid_on
        FROM rcm_feeds_claimpayment cp
        JOIN rcm_feeds_remittance r ON r.id = cp.remittance_id
        JOIN rcm_feeds_claim c ON c.id = cp.claim_id
        WHERE cp.tenant_id = %(t)s AND c.tenant_id = %(t)s
          AND coalesce(r.payment_date, r.production_date) <= %(as_of)s
    ), first_adjudication AS (
        SELECT DISTINCT ON (root) root, id AS claim_payment_id, paid_on
        FROM pay WHERE NOT is_reversal ORDER BY root, paid_on, id
    ), totals AS (
        SELECT root, sum(paid) AS net_paid,
               count(*) FILTER (WHERE NOT is_reversal) - count(*) FILTER (WHERE is_reversal) AS standing
        FROM pay GROUP BY root
    )
    SELECT o.id AS claim_id, o.submitted_on, o.charge::float8 AS charge, o.payer_id,
           fa.paid_on AS first_adjudicated_on,
           EXISTS (SELECT 1 FROM rcm_feeds_denial d
                   WHERE d.tenant_id = %(t)s AND d.claim_payment_id = fa.claim_payment_id AND d.level = 'claim')
               AS initially_denied,
           coalesce(t.net_paid, 0)::float8 AS net_paid, coalesce(t.standing, 0) AS standing, o.program_id
    FROM originals o
    LEFT JOIN first_adjudication fa ON fa.root = o.id
    LEFT JOIN totals t ON t.root = o.id
    WHERE o.submitted_on > %(window_start)s OR coalesce(t.standing, 0) <= 0
"""


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def claim_facts(*, as_of: dt.date) -> pd.DataFrame:
    """The active organization's claims as ``cash.CLAIM_COLUMNS`` (see CLAIM_FACTS_SQL)."""
    params = {"t": require_tenant_id(), "as_of": as_of,
              "window_start": as_of - dt.timedelta(days=cash.WINDOW_DAYS)}
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_FACTS_SQL, params)
        rows = cursor.fetchall()
    frame = pd.DataFrame(rows, columns=cash.CLAIM_COLUMNS)
    frame["payer_id"] = frame["payer_id"].astype("Int64")
    frame["program_id"] = frame["program_id"].astype("Int64")
    return frame


def payer_frame() -> pd.DataFrame:
    """The active organization's payers: payer_id, name, payer_class, payer_class_label."""
    rows = list(Payer.objects.values_list("id", "name", "payer_class"))
    labels = dict(PayerClass.choices)
    return pd.DataFrame([(i, n, c, labels.get(c, c)) for i, n, c in rows],
                        columns=["payer_id", "name", "payer_class", "payer_class_label"])


def time_series_charges(*, as_of: dt.date) -> tuple[ForecastRun | None, pd.DataFrame | None]:
    """Forecast claim charges by program (month, program_id, charges, lo, hi) from the latest
    successful time-series run made on or before ``as_of`` that forecast them (level ``program``):
    per program the model the run chose (``summary["levels"]["program"]["chosen"]``), else a model
    other than the seasonal-naive baseline, else the baseline."""
    runs = (ForecastRun.objects.filter(kind=RunKind.TIME_SERIES, status=RunStatus.SUCCEEDED, as_of__lte=as_of,
                                       values__level=CHARGES_LEVEL)
            .distinct().order_by("-as_of", "-created_at", "-id"))
    run = runs.first()
    if run is None:
        return None, None
    values = pd.DataFrame(list(run.values.filter(level=CHARGES_LEVEL)
                               .values("key", "model", "month", "point", "lo80", "hi80")))
    chosen = ((run.summary or {}).get("levels", {}).get(CHARGES_LEVEL, {}) or {}).get("chosen", {})
    keep = []
    for key, group in values.groupby("key"):
        models = set(group["model"])
        model = chosen.get(key)
        if model not in models:
            others = sorted(models - {SEASONAL_NAIVE})
            model = others[0] if others else SEASONAL_NAIVE
        keep.append(group[group["model"] == model])
    picked = pd.concat(keep, ignore_index=True)
    for column in ("point", "lo80", "hi80"):
        picked[column] = picked[column].astype(float)
    no_band = picked["lo80"].isna() | picked["hi80"].isna()
    picked.loc[no_band, "lo80"] = picked.loc[no_band, "point"]
    picked.loc[no_band, "hi80"] = picked.loc[no_band, "point"]
    picked["program_id"] = [None if k == cash.NO_PAYER else int(k) for k in picked["key"]]
    return run, picked.rename(columns={"point": "charges", "lo80": "lo", "hi80": "hi"})[
        ["month", "program_id", "charges", "lo", "hi"]]


def cash_forecast(*, as_of: dt.date, horizon: int, volume: pd.DataFrame | None,
                  min_claims: int = cash.MIN_CLAIMS, drivers: cash.Drivers | None = None) -> pd.DataFrame:
    """Expected collections by month of the open claims and of ``volume`` (month, charges, optional
    payer_id or program_id, lo, hi; see ``cash.normalise_volume``; None = the trailing 3-month average
    per payer): level, key, label, month, point, lo, hi (80%), lo95, hi95, sd, source."""
    return cash.forecast_cash(claim_facts(as_of=as_of), payer_frame(), as_of=as_of, horizon=horizon, volume=volume,
                              min_claims=min_claims, drivers=drivers).frame


@transaction.atomic
def cash_run(*, as_of: dt.date, horizon: int = 6, user: Any | None = None,
             min_claims: int = cash.MIN_CLAIMS) -> ForecastRun:
    """The cash forecast as of ``as_of`` for ``horizon`` months (models ``cash_open_claims`` and
    ``cash_forecast_volume``; levels company, payer_class, payer; lo80/hi80 and lo95/hi95 from the
    band), with each payer's drivers in the run's summary. The volume is the latest time-series
    charge forecast by program when there is one (split by each program's payer mix; months it does
    not cover take the trailing 3-month average), else the trailing 3-month average per payer."""
    run = ForecastRun.objects.create(kind=RunKind.CASH, status=RunStatus.RUNNING, as_of=as_of, horizon=horizon,
                                     created_by=user if getattr(user, "pk", None) else None)
    ts_run, volume = time_series_charges(as_of=as_of)
    result = cash.forecast_cash(claim_facts(as_of=as_of), payer_frame(), as_of=as_of, horizon=horizon,
                                volume=volume, min_claims=min_claims, fill_missing_months=True)
    tenant_id = require_tenant_id()
    values = [
        ForecastValue(tenant_id=tenant_id, run=run, level=r.level, key=str(r.key)[:80], label=str(r.label)[:200],
                      model=MODELS[r.source], month=r.month, point=money(r.point), lo80=money(r.lo),
                      hi80=money(r.hi), lo95=money(r.lo95), hi95=money(r.hi95))
        for r in result.frame.itertuples(index=False)
    ]
    ForecastValue.objects.bulk_create(values, batch_size=2000)
    company = result.frame[result.frame["level"] == "company"]
    totals = company.groupby("source")["point"].sum()
    run.params = {"min_claims": min_claims, "window_days": cash.WINDOW_DAYS, "max_days": cash.MAX_DAYS,
                  "volume_source": "time_series" if ts_run else "trailing_3_month_average",
                  "time_series_run": ts_run.pk if ts_run else None}
    run.summary = {
        "values": len(values),
        "expected_open_claims": round(float(totals.get(cash.OPEN_CLAIMS, 0.0)), 2),
        "expected_forecast_volume": round(float(totals.get(cash.FORECAST_VOLUME, 0.0)), 2),
        "volume": [{"payer": r.payer, "month": r.month.isoformat(), "charges": round(float(r.charges), 2)}
                   for r in result.volume.itertuples(index=False)],
        "payers": cash.payer_summary(result),
    }
    run.status = RunStatus.SUCCEEDED
    run.save(update_fields=["status", "params", "summary"])
    return run
