"""forecasting.timeseries on hand-made monthly series: folds of the rolling-origin backtest, the seasonal
naive exact on a perfectly seasonal series, flat and short series, the choice of model and its ties,
intervals around the point, clipping at zero, and the same output for the same input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecasting import timeseries as ts

PATTERN = np.arange(1, 13) * 100.0  # Jan 100 ... Dec 1200


def series(uid: str, values, start: str = "2023-01-01") -> pd.DataFrame:
    values = np.asarray(values, dtype=float)
    return pd.DataFrame({"unique_id": uid, "ds": pd.date_range(start, periods=len(values), freq="MS"), "y": values})


def noisy(n_series: int = 4, months: int = 36, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n_series):
        level = 1000 * (k + 1)
        y = level * (1 + 0.3 * np.sin(np.arange(months) * 2 * np.pi / 12)) * rng.lognormal(0, 0.2, months)
        frames.append(series(f"s{k}", y))
    return pd.concat(frames, ignore_index=True)


def test_complete_fills_missing_months_with_zero_and_runs_every_series_to_the_end():
    frame = pd.DataFrame({"unique_id": ["a", "a", "b", "a"],
                          "ds": pd.to_datetime(["2025-01-01", "2025-03-15", "2025-02-01", "2025-03-01"]),
                          "y": [1.0, 2.0, 5.0, 3.0]})
    out = ts.complete(frame, end=pd.Timestamp("2025-04-01"))
    assert out.to_dict("list") == {
        "unique_id": ["a", "a", "a", "a", "b", "b", "b"],
        "ds": list(pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01",
                                   "2025-02-01", "2025-03-01", "2025-04-01"])),
        "y": [1.0, 0.0, 5.0, 0.0, 5.0, 0.0, 0.0],  # a's two March rows add up; b starts in February
    }


@pytest.mark.parametrize(("length", "h", "folds", "expected"), [
    (36, 6, 3, 3), (26, 6, 3, 2), (24, 6, 3, 1), (24, 12, 3, 0), (23, 1, 3, 0), (60, 12, 3, 3)])
def test_fold_count_keeps_thirteen_training_months_before_the_first_fold(length, h, folds, expected):
    assert ts.fold_count(length, h, folds) == expected


def test_seasonal_naive_backtest_errors_worked_out_by_hand():
    # Each year is the pattern plus 100 x the year's index, so the seasonal naive is 100 short every
    # month. Folds of 6 months at cutoffs after months 18, 24 and 30: actuals 6,300 + 3,300 + 6,900.
    y = np.concatenate([PATTERN + 100 * k for k in range(3)])
    result = ts.backtest(series("a", y), h=6, folds=3, models=(ts.SEASONAL_NAIVE,))
    assert sorted(result.cv["cutoff"].unique()) == list(pd.to_datetime(["2024-06-01", "2024-12-01", "2025-06-01"]))
    row = result.per_series.iloc[0]
    assert (row["folds"], row["actual"], row["abs_error"], row["error"]) == (3, 16500.0, 1800.0, -1800.0)
    assert row["wape"] == pytest.approx(1800 / 16500)
    overall = result.overall.set_index("model").loc[ts.SEASONAL_NAIVE]
    assert overall["wape"] == pytest.approx(1800 / 16500) and overall["bias"] == pytest.approx(-1800 / 16500)


def test_a_perfectly_seasonal_series_is_forecast_exactly_by_the_seasonal_naive_which_is_chosen():
    result = ts.forecast(series("a", np.tile(PATTERN, 3)), h=6, candidates=ts.ALL_CANDIDATES)
    naive = result.values[result.values["model"] == ts.SEASONAL_NAIVE]
    assert naive["ds"].tolist() == list(pd.date_range("2026-01-01", periods=6, freq="MS"))
    assert naive["point"].tolist() == [100.0, 200.0, 300.0, 400.0, 500.0, 600.0]
    assert (naive["lo95"] == naive["point"]).all() and (naive["hi95"] == naive["point"]).all()  # no residuals
    assert result.backtest.per_series.set_index("model").loc[ts.SEASONAL_NAIVE, "abs_error"] == 0
    assert set(result.values["model"]) == {ts.ETS, ts.THETA, ts.SEASONAL_NAIVE}
    assert result.chosen.to_dict("records")[0]["model"] == ts.SEASONAL_NAIVE


def test_a_flat_series_is_forecast_flat_by_every_model_and_the_tie_goes_to_the_seasonal_naive():
    result = ts.forecast(series("flat", np.full(36, 500.0)), h=3, candidates=ts.ALL_CANDIDATES)
    assert result.values["point"].round(6).tolist() == [500.0] * 9
    assert result.chosen.to_dict("records") == [{"unique_id": "flat", "model": ts.SEASONAL_NAIVE, "reason": "tie"}]


def test_short_series_fall_back_to_the_mean_beside_the_seasonal_naive_or_the_naive():
    frame = pd.concat([series("year_and_a_half", [10.0] * 12 + [40.0] * 6, start="2024-07-01"),
                       series("five_months", [1.0, 2.0, 3.0, 4.0, 5.0], start="2025-08-01")])
    result = ts.forecast(frame, h=2)
    points = result.values.set_index(["unique_id", "model"])["point"]
    # 18 months: mean (12 x 10 + 6 x 40) / 18 = 20; seasonal naive = Jan and Feb 2025 = 10.
    assert points.loc[("year_and_a_half", ts.MEAN)].tolist() == [20.0, 20.0]
    assert points.loc[("year_and_a_half", ts.SEASONAL_NAIVE)].tolist() == [10.0, 10.0]
    # 5 months: no full season, so the baseline is the naive (5) beside the mean (3).
    assert points.loc[("five_months", ts.MEAN)].tolist() == [3.0, 3.0]
    assert points.loc[("five_months", ts.NAIVE)].tolist() == [5.0, 5.0]
    assert result.chosen.set_index("unique_id")[["model", "reason"]].to_dict("index") == {
        "five_months": {"model": ts.MEAN, "reason": "short"},
        "year_and_a_half": {"model": ts.MEAN, "reason": "short"}}
    assert result.backtest.cv.empty


def test_choice_is_the_lowest_backtest_error_with_ties_and_the_unbacktested_going_to_the_seasonal_naive():
    per_series = pd.DataFrame(
        [(uid, model, 3, 100.0, err, 0.0, None) for uid, errs in {
            "a": {ts.ETS: 10.0, ts.THETA: 12.0, ts.SEASONAL_NAIVE: 15.0},
            "b": {ts.ETS: 15.0, ts.THETA: 15.0, ts.SEASONAL_NAIVE: 15.0},
            "c": {ts.ETS: 20.0, ts.THETA: 30.0, ts.SEASONAL_NAIVE: 15.0},
            "d": {ts.ETS: np.nan, ts.THETA: 30.0, ts.SEASONAL_NAIVE: 40.0},
            "e": {ts.ETS: 7.0, ts.THETA: 7.0, ts.SEASONAL_NAIVE: 9.0},
        }.items() for model, err in errs.items()],
        columns=["unique_id", "model", "folds", "actual", "abs_error", "error", "wape"])
    result = ts.Backtest(h=6, folds=3, models=ts.CANDIDATES, cv=pd.DataFrame(), per_series=per_series,
                         overall=pd.DataFrame())
    lengths = pd.Series({"a": 36, "b": 36, "c": 36, "d": 36, "e": 36, "short": 18, "unbacktested": 24})
    chosen = ts.chosen_models(result, lengths).set_index("unique_id")
    assert chosen.to_dict("index") == {
        "a": {"model": ts.ETS, "reason": "backtest"},
        "b": {"model": ts.SEASONAL_NAIVE, "reason": "tie"},
        "c": {"model": ts.SEASONAL_NAIVE, "reason": "backtest"},
        "d": {"model": ts.THETA, "reason": "backtest"},  # ETS failed a fold: out of the running
        "e": {"model": ts.ETS, "reason": "backtest"},  # ETS and Theta tie: by name, deterministic
        "short": {"model": ts.MEAN, "reason": "short"},
        "unbacktested": {"model": ts.SEASONAL_NAIVE, "reason": "no_backtest"},
    }


def test_intervals_nest_around_the_point_for_every_model():
    result = ts.forecast(noisy(), h=6, candidates=ts.ALL_CANDIDATES)
    v = result.values
    assert len(v) == 4 * 3 * 6
    assert ((v["lo95"] <= v["lo80"]) & (v["lo80"] <= v["point"]) & (v["point"] <= v["hi80"])
            & (v["hi80"] <= v["hi95"])).all()
    assert (v["hi95"] > v["lo95"]).all()


def test_money_forecasts_are_clipped_at_zero():
    falling = series("falling", np.linspace(3000, 50, 36) + np.tile([0, 200] * 6, 3))
    clipped = ts.forecast(falling, h=6).values
    raw = ts.forecast(falling, h=6, nonnegative=False).values
    assert (raw[["point", "lo80", "lo95"]].to_numpy() < 0).any()
    assert (clipped[["point", "lo80", "hi80", "lo95", "hi95"]].to_numpy() >= 0).all()
    assert (clipped["point"] == raw["point"].clip(lower=0)).all()


def test_the_same_input_gives_the_same_output_in_one_process_or_two():
    frame = noisy(n_series=6)
    first = ts.forecast(frame, h=6)
    again = ts.forecast(frame.sample(frac=1, random_state=1), h=6)  # row order does not matter
    parallel = ts.forecast(frame, h=6, n_jobs=2)
    for other in (again, parallel):
        pd.testing.assert_frame_equal(first.values, other.values)
        pd.testing.assert_frame_equal(first.chosen, other.chosen)
        pd.testing.assert_frame_equal(first.backtest.per_series, other.backtest.per_series)


def reference_seasonal_naive_errors(y: np.ndarray, h: int, folds: int) -> tuple[int, float, float]:
    """Folds, sum |actual| and sum |error| of the seasonal naive, one month at a time."""
    k = ts.fold_count(len(y), h, folds)
    actual = error = 0.0
    for fold in range(k):
        cutoff = len(y) - (k - fold) * h
        for step in range(h):
            t = cutoff + step
            forecast = y[cutoff - 12 + step % 12]  # the same month of the last full season before the cutoff
            actual += abs(y[t])
            error += abs(y[t] - forecast)
    return k, actual, error


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(length=st.integers(min_value=24, max_value=48), h=st.integers(min_value=1, max_value=12),
       folds=st.integers(min_value=1, max_value=4),
       values=st.lists(st.integers(min_value=0, max_value=10_000), min_size=48, max_size=48))
def test_backtest_folds_agree_with_a_month_by_month_reference(length, h, folds, values):
    y = np.asarray(values[:length], dtype=float)
    result = ts.backtest(series("x", y), h=h, folds=folds, models=(ts.SEASONAL_NAIVE,))
    k, actual, error = reference_seasonal_naive_errors(y, h, folds)
    if k == 0:
        assert result.per_series.empty
        return
    row = result.per_series.iloc[0]
    assert row["folds"] == k
    assert row["actual"] == pytest.approx(actual) and row["abs_error"] == pytest.approx(error)


def test_a_model_that_cannot_fit_a_fold_of_one_series_is_left_out_of_its_choice_and_the_batch_goes_on():
    # AutoETS raises "no model able to be fitted" on the first fold (15 months) of this noiseless
    # series; statsforecast would fail the whole batch without the NaN fallback.
    months = pd.date_range("2024-06-01", "2026-08-01", freq="MS")
    odd = series("odd", [1200.0] + [1000.0 + 100 * d.month for d in months[1:]], start="2024-06-01")
    result = ts.forecast(pd.concat([odd, noisy(n_series=1)]), h=6, candidates=ts.ALL_CANDIDATES)
    errors = result.backtest.per_series.set_index(["unique_id", "model"])["abs_error"]
    assert np.isnan(errors[("odd", ts.ETS)]) and errors[("odd", ts.SEASONAL_NAIVE)] == 0
    assert not np.isnan(errors[("s0", ts.ETS)])
    assert result.chosen.set_index("unique_id").loc["odd", "model"] == ts.SEASONAL_NAIVE
    assert set(result.values.groupby("unique_id")["model"].unique().map(frozenset)) == {frozenset(ts.ALL_CANDIDATES)}


def test_the_seasonal_naive_is_always_a_candidate():
    with pytest.raises(ValueError, match="seasonal naive"):
        ts.forecast(noisy(n_series=1), h=3, candidates=(ts.ETS,))
    only_theta = ts.forecast(noisy(n_series=1), h=3, candidates=(ts.THETA, ts.SEASONAL_NAIVE))
    assert set(only_theta.values["model"]) == {ts.THETA, ts.SEASONAL_NAIVE}
    assert set(only_theta.backtest.per_series["model"]) == {ts.THETA, ts.SEASONAL_NAIVE}
