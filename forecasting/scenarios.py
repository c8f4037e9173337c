"""What-if scenarios on the forecast's drivers, shown next to the base case.

Drivers (docs/forecasting.md, "Scenarios"):
- **win rate**: every stage's learned conversion rate x (1 + pct/100), capped at 100%;
- **cycle time**: every open deal's expected close (and each stage's cycle time) moves by N days;
- **denial rate**: every payer's learned denial rate moves by N percentage points (0-100%);
- **payer mix**: each payer class's share of the forecast charge volume x a factor, each month's
  total kept.

The first two change the weighted pipeline (bookings), the last two the cash forecast; both are
recomputed from the same inputs with and without the change, so the difference is the scenario's
effect alone.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from . import cash, engine


@dataclass(frozen=True)
class Scenario:
    win_rate_pct: float = 0.0
    cycle_days: int = 0
    denial_rate_pts: float = 0.0
    payer_mix: dict[str, float] = field(default_factory=dict)

    def drivers(self) -> cash.Drivers:
        return cash.Drivers(denial_rate_pts=self.denial_rate_pts, payer_mix=tuple(sorted(self.payer_mix.items())))


def pipeline_by_month(pipeline: pd.DataFrame, conversion: pd.DataFrame, *, as_of: dt.date, horizon: int,
                      scenario: Scenario) -> pd.Series:
    """Weighted pipeline by month (the ``horizon`` months from ``as_of``'s) under ``scenario``."""
    months = [engine.add_months(engine.month_start(as_of), k) for k in range(horizon)]
    if pipeline.empty:
        return pd.Series(0.0, index=months)
    conv = conversion.copy()
    conv["rate"] = (conv["rate"].astype(float) * (1 + scenario.win_rate_pct / 100.0)).clip(0.0, 1.0)
    opps = pipeline.copy()
    if scenario.cycle_days:
        shift = pd.to_timedelta(scenario.cycle_days, unit="D")
        opps["expected_close"] = (pd.to_datetime(opps["expected_close"]) + shift).dt.date
        conv["cycle_days"] = (conv["cycle_days"].astype(float) + scenario.cycle_days).clip(lower=0)
    weighted = engine.weighted_pipeline(opps, conv, as_of=as_of)
    return weighted.groupby("month")["expected"].sum().reindex(months, fill_value=0.0)


def compare(*, base: pd.Series, scenario: pd.Series) -> pd.DataFrame:
    frame = pd.DataFrame({"base": base, "scenario": scenario}).fillna(0.0)
    frame["change"] = frame["scenario"] - frame["base"]
    return frame


def evaluate(*, as_of: dt.date, horizon: int, scenario: Scenario) -> dict[str, Any]:
    """Bookings (weighted pipeline) and cash (open claims + forecast volume) by month, base and scenario."""
    from .cash_data import claim_facts, payer_frame, time_series_charges
    from .services import conversion_table, open_pipeline

    conversion = conversion_table(as_of=as_of)
    pipeline = open_pipeline(as_of=as_of)
    bookings = compare(
        base=pipeline_by_month(pipeline, conversion, as_of=as_of, horizon=horizon, scenario=Scenario()),
        scenario=pipeline_by_month(pipeline, conversion, as_of=as_of, horizon=horizon, scenario=scenario))
    claims, payers = claim_facts(as_of=as_of), payer_frame()
    _, volume = time_series_charges(as_of=as_of)

    def cash_by_month(drivers: cash.Drivers | None) -> pd.Series:
        frame = cash.forecast_cash(claims, payers, as_of=as_of, horizon=horizon, volume=volume,
                                   fill_missing_months=volume is not None, drivers=drivers).frame
        company = frame[frame["level"] == "company"]
        months = [engine.add_months(engine.month_start(as_of), k) for k in range(horizon)]
        return company.groupby("month")["point"].sum().reindex(months, fill_value=0.0).astype(float)

    cash_frame = compare(base=cash_by_month(None), scenario=cash_by_month(scenario.drivers()))
    return {
        "bookings": bookings, "cash": cash_frame,
        "totals": {"bookings_base": float(bookings["base"].sum()), "bookings_scenario": float(bookings["scenario"].sum()),
                   "cash_base": float(cash_frame["base"].sum()), "cash_scenario": float(cash_frame["scenario"].sum())},
    }
