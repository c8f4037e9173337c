"""Forecast arithmetic without Django (pandas/numpy): stage-to-close conversion and cycle times
learned from an organization's own history, the weighted pipeline, and accuracy scores.

Definitions (docs/forecasting.md):
- An opportunity *passed* a stage if its history ever shows it in that stage. Among the
  opportunities that passed a stage and closed (won or lost) by ``as_of``, the stage's
  **conversion rate** is the share that was won, and its **cycle time** the median days from first
  entering the stage to the close of the won ones. With fewer than ``min_closed`` such
  opportunities the stage's typed default probability is used instead (and flagged).
- **Weighted pipeline**: each open opportunity counts amount x its current stage's conversion
  rate, in the month it is expected to close: its expected close date, or, when that is already
  past, ``as_of`` + the stage's median cycle time (at least the rest of the month).
- **WAPE** = sum |actual - forecast| / sum |actual|; **bias** = sum (forecast - actual) / sum actual
  (positive: over-forecast); **hit rate within x%** = the share of forecasts with
  |forecast - actual| <= x% of |actual|.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

MIN_CLOSED = 5


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def learn_conversion(history: pd.DataFrame, outcomes: pd.DataFrame, stages: pd.DataFrame, *, as_of: dt.date,
                     min_closed: int = MIN_CLOSED) -> pd.DataFrame:
    """Per open stage: passed, won, rate, cycle_days, source ('history' or 'default').

    ``history``: opportunity_id, valid_from, stage_id (every recorded state up to ``as_of``).
    ``outcomes``: opportunity_id, closed_on, is_won, is_lost (the opportunity now).
    ``stages``: stage_id, default_probability, is_won, is_lost, order.
    """
    open_stages = stages[~(stages["is_won"] | stages["is_lost"])].copy()
    h = history[pd.to_datetime(history["valid_from"]).dt.date <= as_of]
    entered = (h.groupby(["opportunity_id", "stage_id"], as_index=False)["valid_from"].min()
               .rename(columns={"valid_from": "entered_on"}))
    closed = outcomes[outcomes["closed_on"].notna()].copy()
    closed = closed[pd.to_datetime(closed["closed_on"]).dt.date <= as_of]
    closed = closed[closed["is_won"] | closed["is_lost"]]
    joined = entered.merge(closed[["opportunity_id", "closed_on", "is_won"]], on="opportunity_id", how="inner")
    joined["days"] = (pd.to_datetime(joined["closed_on"]) - pd.to_datetime(joined["entered_on"])).dt.days
    stats = joined.groupby("stage_id").agg(passed=("opportunity_id", "nunique"), won=("is_won", "sum"))
    cycle = joined[joined["is_won"].astype(bool)].groupby("stage_id")["days"].median().rename("cycle_days")
    out = open_stages[["stage_id", "order", "default_probability"]].merge(
        stats, left_on="stage_id", right_index=True, how="left").merge(
        cycle, left_on="stage_id", right_index=True, how="left")
    out["passed"] = out["passed"].fillna(0).astype(int)
    out["won"] = out["won"].fillna(0).astype(int)
    learned = out["passed"] >= min_closed
    out["rate"] = np.where(learned, out["won"] / out["passed"].where(out["passed"] > 0, 1),
                           out["default_probability"].astype(float))
    out["source"] = np.where(learned, "history", "default")
    return out.sort_values("order").reset_index(drop=True)


@dataclass(frozen=True)
class Weighted:
    opportunity_id: int
    probability: float
    expected: float
    month: dt.date


def weighted_pipeline(open_opps: pd.DataFrame, conversion: pd.DataFrame, *, as_of: dt.date) -> pd.DataFrame:
    """``open_opps``: opportunity_id, stage_id, amount, expected_close. Adds probability, expected
    (amount x probability) and month (when the weighted amount is expected to land)."""
    df = open_opps.merge(conversion[["stage_id", "rate", "cycle_days"]], on="stage_id", how="left")
    df["probability"] = df["rate"].fillna(0.0).astype(float)
    df["expected"] = df["amount"].astype(float) * df["probability"]
    close = pd.to_datetime(df["expected_close"])
    overdue = close.dt.date < as_of
    cycle = pd.to_timedelta(df["cycle_days"].fillna(30).clip(lower=0), unit="D")
    landing = close.where(~overdue, pd.Timestamp(as_of) + cycle)
    df["month"] = landing.dt.to_period("M").dt.to_timestamp().dt.date
    df["overdue"] = overdue
    return df.drop(columns=["rate"])


def wape(actual: np.ndarray, forecast: np.ndarray) -> float | None:
    actual, forecast = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    denominator = np.abs(actual).sum()
    return float(np.abs(actual - forecast).sum() / denominator) if denominator > 0 else None


def bias(actual: np.ndarray, forecast: np.ndarray) -> float | None:
    actual, forecast = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    denominator = actual.sum()
    return float((forecast - actual).sum() / denominator) if denominator != 0 else None


def hit_rate(actual: np.ndarray, forecast: np.ndarray, tolerance: float) -> float | None:
    actual, forecast = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    if len(actual) == 0:
        return None
    return float((np.abs(forecast - actual) <= tolerance * np.abs(actual) + 1e-9).mean())


def coverage(actual: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float | None:
    """The share of forecasts with an interval whose actual fell inside it (None without intervals).
    A calibrated 80% interval covers about 80% of actuals."""
    actual, lo, hi = (np.asarray(x, dtype=float) for x in (actual, lo, hi))
    has = ~(np.isnan(lo) | np.isnan(hi))
    if not has.any():
        return None
    a = actual[has]
    return float(((a >= lo[has] - 1e-9) & (a <= hi[has] + 1e-9)).mean())


def accuracy(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """WAPE, bias, hit rates within 5% and 10%, the count, and (when ``frame`` has lo80/hi80/lo95/hi95)
    the coverage of the 80% and 95% intervals per group of ``frame`` (actual, forecast)."""
    rows = []
    bands = all(c in frame for c in ("lo80", "hi80", "lo95", "hi95"))
    for key, group in frame.groupby(by, dropna=False):
        a, f = group["actual"].to_numpy(dtype=float), group["forecast"].to_numpy(dtype=float)
        row = {**dict(zip(by, key if isinstance(key, tuple) else (key,))), "n": len(group),
               "wape": wape(a, f), "bias": bias(a, f), "hit5": hit_rate(a, f, 0.05),
               "hit10": hit_rate(a, f, 0.10), "actual": float(a.sum()), "forecast": float(f.sum()),
               "cover80": None, "cover95": None}
        if bands:
            row["cover80"] = coverage(a, group["lo80"].to_numpy(dtype=float), group["hi80"].to_numpy(dtype=float))
            row["cover95"] = coverage(a, group["lo95"].to_numpy(dtype=float), group["hi95"].to_numpy(dtype=float))
        rows.append(row)
    return pd.DataFrame(rows)
