"""Monthly time-series forecasts with statsforecast: candidate models, rolling-origin backtests, the
per-series choice of model and prediction intervals, with a seasonal-naive baseline beside every one.

Pure pandas in and out (no Django). A frame is long: ``unique_id`` (str), ``ds`` (month start),
``y`` (float). Definitions (docs/forecasting.md):

- **Candidates** for a series with at least two seasons (``MIN_SEASONAL`` = 24 months): ETS(A,N,A)
  (``ets``: additive error and seasonality, no trend; ``AutoETS(model="ANA")``, analytic
  intervals); the standard Theta method (``theta``), on the seasonally adjusted series when
  statsforecast's seasonality test finds a season (multiplicative, additive when the series has
  zero months), with intervals simulated from 200 paths with a fixed seed; and the seasonal naive
  (``seasonal_naive``: the same month a year earlier). Full AutoETS (every error/trend/season
  combination) was ~80 times slower than ETS(A,N,A) on 500 series and its multiplicative fits
  failed on zero months. Theta costs about a third of ETS(A,N,A) and was the most accurate of the
  three on demo-like bookings (docs/benchmarks.md, "Forecasting").
- A model that cannot be fitted to one series (AutoETS gives up on some noiseless ones) leaves that
  series without its forecast (NaN in a fold: out of the running for the series) instead of
  failing the batch; the seasonal naive always fits.
- **Backtest**: rolling origin, ``folds`` windows of ``h`` months stepping by ``h``, every model
  refitted on everything before each cutoff. A series is backtested on as many folds as leave at
  least ``MIN_TRAIN`` (13) training months in the first one.
- **Chosen model** of a series: the candidate with the lowest backtest WAPE over its folds (for one
  series the WAPE's denominator is the same for every model, so this is the lowest sum of absolute
  errors); a tie with the seasonal naive (within 1e-9 relative) goes to the seasonal naive, and so
  does a series that could not be backtested, or whose chosen model then failed its final fit.
- **Short series** (fewer than 24 months): the seasonal models are not fitted. The chosen model is
  the historical mean (``mean``, with normal intervals from the series' spread); the baseline
  beside it is the seasonal naive when the series has a full season (12 months), else the naive
  (``naive``: the last month), because without a season there is no "same month last year".
- A month with no rows inside a series' span is zero (``complete``).
- Forecasts of money never go below zero: point and interval bounds are clipped at 0
  (``nonnegative``), after the fit.
- Deterministic: the same frame gives the same output, whatever ``n_jobs`` (the models are
  deterministic optimisers, the series sorted).
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .engine import bias, wape

SEASON = 12
MIN_SEASONAL = 2 * SEASON
MIN_TRAIN = SEASON + 1
LEVELS = (80, 95)

ETS = "ets"
THETA = "theta"
SEASONAL_NAIVE = "seasonal_naive"
MEAN = "mean"
NAIVE = "naive"
BASELINE = SEASONAL_NAIVE
# ETS(A,N,A) stays available (``candidates=``) but is not a default: on the benchmark's held-out year
# it added nothing over Theta + seasonal naive (WAPE 0.316 against 0.317) and took about 70% of the
# time (bench/forecast_backtest.py, docs/benchmarks.md).
CANDIDATES = (THETA, SEASONAL_NAIVE)
ALL_CANDIDATES = (ETS, THETA, SEASONAL_NAIVE)
MODEL_LABELS = {ETS: "ETS(A,N,A)", THETA: "Theta", SEASONAL_NAIVE: "Seasonal naive", MEAN: "Historical mean",
                NAIVE: "Naive (last month)"}
TIE = 1e-9


def _model(name: str) -> Any:
    from statsforecast.models import AutoETS, HistoricAverage, Naive, SeasonalNaive, Theta

    factories = {
        ETS: lambda: AutoETS(season_length=SEASON, model="ANA", alias=ETS),
        THETA: lambda: Theta(season_length=SEASON, alias=THETA),
        SEASONAL_NAIVE: lambda: SeasonalNaive(season_length=SEASON, alias=SEASONAL_NAIVE),
        MEAN: lambda: HistoricAverage(alias=MEAN),
        NAIVE: lambda: Naive(alias=NAIVE),
    }
    return factories[name]()


_PROBE = 100.0 + 10.0 * np.sin(np.arange(36) * 2 * np.pi / SEASON) + np.arange(36) % 5


class _Unfitted:
    """statsforecast's fallback for a model that fails on one series (AutoETS raises "no model able to
    be fitted" on some near-deterministic series): NaN forecasts, so the batch goes on and that series
    just has no forecast from the model. The keys come in the model's own order, because statsforecast
    names the output columns after the last series' keys."""

    def __init__(self, name: str) -> None:
        self.name = self.alias = name

    def forecast(self, y: np.ndarray, h: int, X: Any = None, X_future: Any = None, level: Any = None,
                 fitted: bool = False) -> dict[str, np.ndarray]:
        keys = _model(self.name).forecast(y=_PROBE, h=1, level=list(level) if level else None).keys()
        out = {key: np.full(h, np.nan) for key in keys}
        if fitted:
            out["fitted"] = np.full(len(y), np.nan)
        return out

    def new(self) -> _Unfitted:
        return _Unfitted(self.name)

    def __repr__(self) -> str:
        return self.name


def _run_models(models: Sequence[str], n_jobs: int, method: str, on: list[str], **kwargs: Any) -> pd.DataFrame:
    """``StatsForecast.<method>`` per model (each with its own NaN fallback), merged on ``on``."""
    from statsforecast import StatsForecast

    merged: pd.DataFrame | None = None
    for name in models:
        sf = StatsForecast(models=[_model(name)], freq="MS", n_jobs=n_jobs, fallback_model=_Unfitted(name))
        with warnings.catch_warnings():
            # Theta's seasonality test divides by zero on a constant series; statsforecast warns when
            # a fold's training data is shorter than a season. Neither changes the result.
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)
            out = getattr(sf, method)(**kwargs)
        out["unique_id"] = out["unique_id"].astype(str)
        merged = out if merged is None else merged.merge(out.drop(columns=["y"], errors="ignore"), on=on)
    assert merged is not None
    return merged


def complete(frame: pd.DataFrame, *, end: pd.Timestamp | None = None) -> pd.DataFrame:
    """Every month from each series' first month through ``end`` (default: the last month of the
    frame), zero where the frame has none; months after ``end`` dropped. Sorted by series and month."""
    if frame.empty:
        return pd.DataFrame({"unique_id": pd.Series(dtype=str), "ds": pd.Series(dtype="datetime64[ns]"),
                             "y": pd.Series(dtype=float)})
    df = frame[["unique_id", "ds", "y"]].copy()
    df["unique_id"] = df["unique_id"].astype(str)
    df["ds"] = pd.to_datetime(df["ds"]).dt.to_period("M").dt.to_timestamp()
    df["y"] = df["y"].astype(float)
    last = pd.Timestamp(end).to_period("M").to_timestamp() if end is not None else df["ds"].max()
    df = df[df["ds"] <= last].groupby(["unique_id", "ds"], as_index=False)["y"].sum()
    first = df.groupby("unique_id")["ds"].min()
    months = pd.date_range(first.min(), last, freq="MS") if len(first) else pd.DatetimeIndex([])
    grid = pd.MultiIndex.from_product([sorted(first.index), months], names=["unique_id", "ds"]).to_frame(index=False)
    grid = grid[grid["ds"] >= grid["unique_id"].map(first)]
    out = grid.merge(df, on=["unique_id", "ds"], how="left")
    out["y"] = out["y"].fillna(0.0)
    return out.sort_values(["unique_id", "ds"]).reset_index(drop=True)


def _lengths(frame: pd.DataFrame) -> pd.Series:
    return frame.groupby("unique_id").size()


def fold_count(length: int, h: int, folds: int) -> int:
    """How many of ``folds`` windows of ``h`` months a series of ``length`` months can be backtested
    on, keeping at least ``MIN_TRAIN`` training months before the first (0 for a short series)."""
    if length < MIN_SEASONAL or h < 1:
        return 0
    return max(0, min(folds, (length - MIN_TRAIN) // h))


@dataclass(frozen=True)
class Backtest:
    """``cv``: unique_id, cutoff, ds, y and one column per model (every fold's forecasts);
    ``per_series``: unique_id, model, folds, actual (sum |y|), abs_error, error (sum forecast - y),
    wape; ``overall``: per model over every backtested series and fold: series, wape, bias."""

    h: int
    folds: int
    models: tuple[str, ...]
    cv: pd.DataFrame
    per_series: pd.DataFrame
    overall: pd.DataFrame


def backtest(frame: pd.DataFrame, h: int, folds: int = 3, *, models: Sequence[str] = CANDIDATES,
             n_jobs: int = 1) -> Backtest:
    """Rolling-origin cross-validation of ``models`` on every series with at least two seasons."""
    models = tuple(models)
    df = complete(frame)
    lengths = _lengths(df)
    windows = lengths.map(lambda n: fold_count(int(n), h, folds))
    parts = []
    for k in sorted(set(windows[windows > 0])):
        ids = windows.index[windows == k]
        group = df[df["unique_id"].isin(ids)]
        parts.append(_run_models(models, n_jobs, "cross_validation", ["unique_id", "ds", "cutoff"], df=group, h=h,
                                 n_windows=int(k), step_size=h))
    columns = ["unique_id", "ds", "cutoff", "y", *models]
    cv = (pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns))
    cv["unique_id"] = cv["unique_id"].astype(str)
    cv = cv.sort_values(["unique_id", "cutoff", "ds"]).reset_index(drop=True)
    return Backtest(h=h, folds=folds, models=models, cv=cv, per_series=_per_series(cv, models),
                    overall=_overall(cv, models))


def _per_series(cv: pd.DataFrame, models: tuple[str, ...]) -> pd.DataFrame:
    rows = []
    if not cv.empty:
        y = cv["y"].astype(float)
        base = pd.DataFrame({"unique_id": cv["unique_id"], "cutoff": cv["cutoff"], "actual": y.abs()})
        for m in models:
            f = cv[m].astype(float)
            part = base.assign(abs_error=(f - y).abs(), error=f - y, missing=f.isna())
            g = part.groupby("unique_id").agg(folds=("cutoff", "nunique"), actual=("actual", "sum"),
                                              abs_error=("abs_error", "sum"), error=("error", "sum"),
                                              missing=("missing", "any"))
            g["model"] = m
            rows.append(g.reset_index())
    if not rows:
        return pd.DataFrame(columns=["unique_id", "model", "folds", "actual", "abs_error", "error", "wape"])
    out = pd.concat(rows, ignore_index=True)
    # A model that could not forecast some fold of a series (NaN) is out of the running for it.
    out.loc[out.pop("missing"), ["abs_error", "error"]] = np.nan
    out["wape"] = out["abs_error"] / out["actual"].where(out["actual"] > 0)
    return out[["unique_id", "model", "folds", "actual", "abs_error", "error", "wape"]].sort_values(
        ["unique_id", "model"]).reset_index(drop=True)


def _overall(cv: pd.DataFrame, models: tuple[str, ...]) -> pd.DataFrame:
    rows = []
    for m in models:
        part = cv[cv[m].notna()]
        y, f = part["y"].to_numpy(dtype=float), part[m].to_numpy(dtype=float)
        rows.append({"model": m, "series": int(part["unique_id"].nunique()) if len(part) else 0,
                     "wape": wape(y, f), "bias": bias(y, f)})
    return pd.DataFrame(rows, columns=["model", "series", "wape", "bias"])


def chosen_models(result: Backtest, lengths: pd.Series) -> pd.DataFrame:
    """unique_id, model, reason: the chosen model per series of ``lengths`` (months per series).

    Reasons: ``backtest`` (the lowest WAPE, the seasonal naive's included), ``tie`` (a candidate
    matched the seasonal naive and none beat it: the seasonal naive), ``no_backtest`` (two seasons,
    but too short for one fold of the horizon, or no candidate forecast every fold: the seasonal
    naive), ``short`` (under two seasons: the historical mean). ``forecast`` adds ``failed_fit``
    (the chosen model could not be fitted to the whole history: the seasonal naive).
    """
    errors = (result.per_series.pivot(index="unique_id", columns="model", values="abs_error")
              if not result.per_series.empty else pd.DataFrame())
    rows = []
    for uid, n in lengths.sort_index().items():
        if n < MIN_SEASONAL:
            rows.append((uid, MEAN, "short"))
            continue
        if uid not in errors.index:
            rows.append((uid, BASELINE, "no_backtest"))
            continue
        e = errors.loc[uid].dropna()
        if e.empty:
            rows.append((uid, BASELINE, "no_backtest"))
            continue
        baseline = e.get(BASELINE)
        if baseline is not None:
            tolerance = TIE * max(abs(float(baseline)), 1.0)
            if e.min() >= baseline - tolerance:
                tied = bool((e.drop(BASELINE) <= baseline + tolerance).any())
                rows.append((uid, BASELINE, "tie" if tied else "backtest"))
                continue
        others = e.drop(BASELINE, errors="ignore")
        rows.append((uid, min(others.index, key=lambda m: (others[m], m)), "backtest"))
    return pd.DataFrame(rows, columns=["unique_id", "model", "reason"])


@dataclass(frozen=True)
class Forecast:
    """``values``: unique_id, model, ds, point and lo<level>/hi<level> for every model fitted to
    each series (candidates or the short-series pair); ``chosen``: unique_id, model, reason;
    ``backtest``: what the choice was made on; ``lengths``: months of history per series."""

    h: int
    levels: tuple[int, ...]
    values: pd.DataFrame
    chosen: pd.DataFrame
    backtest: Backtest
    lengths: pd.Series

    def chosen_share(self) -> dict[str, float]:
        if self.chosen.empty:
            return {}
        share = self.chosen["model"].value_counts(normalize=True).sort_index()
        return {str(k): float(v) for k, v in share.items()}

    def chosen_values(self) -> pd.DataFrame:
        """The chosen model's rows only (one forecast per series and month)."""
        return self.values.merge(self.chosen[["unique_id", "model"]], on=["unique_id", "model"])


def _long(wide: pd.DataFrame, models: Sequence[str], levels: Sequence[int]) -> pd.DataFrame:
    parts = []
    for m in models:
        part = {"unique_id": wide["unique_id"].astype(str), "model": m, "ds": wide["ds"],
                "point": wide[m].astype(float)}
        for level in levels:
            part[f"lo{level}"] = wide[f"{m}-lo-{level}"].astype(float)
            part[f"hi{level}"] = wide[f"{m}-hi-{level}"].astype(float)
        parts.append(pd.DataFrame(part))
    return pd.concat(parts, ignore_index=True)


def forecast(frame: pd.DataFrame, h: int, levels: Sequence[int] = LEVELS, *, choose: Backtest | None = None,
             folds: int = 3, backtest_h: int | None = None, n_jobs: int = 1, nonnegative: bool = True,
             candidates: Sequence[str] = CANDIDATES) -> Forecast:
    """Forecast every series ``h`` months past the frame's last month with every model that fits it,
    and choose one per series.

    The choice is made on ``choose`` (a ``backtest`` of the same frame) or, when not given, on a
    backtest run here with ``folds`` windows of ``backtest_h`` months (default ``h``). Series end
    together: each runs through the frame's last month (``complete``). ``candidates`` must include
    the seasonal naive (the baseline is always computed).
    """
    candidates = tuple(candidates)
    if BASELINE not in candidates:
        raise ValueError("The seasonal naive is always among the candidates.")
    levels = tuple(sorted(int(level) for level in levels))
    df = complete(frame)
    lengths = _lengths(df)
    result = choose if choose is not None else backtest(df, backtest_h or h, folds, models=candidates, n_jobs=n_jobs)
    groups: list[tuple[tuple[str, ...], pd.Index]] = [
        (candidates, lengths.index[lengths >= MIN_SEASONAL]),
        ((MEAN, SEASONAL_NAIVE), lengths.index[(lengths >= SEASON) & (lengths < MIN_SEASONAL)]),
        ((MEAN, NAIVE), lengths.index[lengths < SEASON]),
    ]
    parts = []
    for models, ids in groups:
        if len(ids):
            group = df[df["unique_id"].isin(ids)]
            wide = _run_models(models, n_jobs, "forecast", ["unique_id", "ds"], df=group, h=h, level=list(levels))
            parts.append(_long(wide, models, levels))
    bounds = [f"{side}{level}" for level in levels for side in ("lo", "hi")]
    if parts:
        values = pd.concat(parts, ignore_index=True)
    else:
        values = pd.DataFrame(columns=["unique_id", "model", "ds", "point", *bounds])
    values = values[values["point"].notna()]  # a model that failed on the series (see _Unfitted)
    if nonnegative and not values.empty:
        values[["point", *bounds]] = values[["point", *bounds]].clip(lower=0.0)
    values = values.sort_values(["unique_id", "model", "ds"]).reset_index(drop=True)
    chosen = chosen_models(result, lengths)
    fitted = set(zip(values["unique_id"], values["model"]))
    failed = [(uid, model) not in fitted for uid, model in zip(chosen["unique_id"], chosen["model"])]
    chosen.loc[failed, ["model", "reason"]] = [BASELINE, "failed_fit"]
    return Forecast(h=h, levels=levels, values=values, chosen=chosen, backtest=result, lengths=lengths)
