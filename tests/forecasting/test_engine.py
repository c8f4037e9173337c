"""forecasting.engine on hand-made histories: conversion rates, cycle times, the weighted pipeline and
accuracy metrics, every expected value worked out by hand."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasting import engine

D = dt.date
STAGES = pd.DataFrame([
    {"stage_id": 1, "order": 1, "default_probability": 0.1, "is_won": False, "is_lost": False},
    {"stage_id": 2, "order": 2, "default_probability": 0.5, "is_won": False, "is_lost": False},
    {"stage_id": 8, "order": 8, "default_probability": 1.0, "is_won": True, "is_lost": False},
    {"stage_id": 9, "order": 9, "default_probability": 0.0, "is_won": False, "is_lost": True},
])


def history_and_outcomes():
    # o1-o3: S1 (Jan 1) -> S2 (Feb 1) -> won (Mar 2, Apr 1, May 1); o4: S1 -> lost (Feb 15);
    # o5: S1 -> S2 -> lost (Mar 1); o6: S1 on Jan 1, still open.
    h = []
    for o in (1, 2, 3, 4, 5, 6):
        h.append((o, D(2025, 1, 1), 1))
    for o in (1, 2, 3, 5):
        h.append((o, D(2025, 2, 1), 2))
    closes = {1: (D(2025, 3, 2), True), 2: (D(2025, 4, 1), True), 3: (D(2025, 5, 1), True),
              4: (D(2025, 2, 15), False), 5: (D(2025, 3, 1), False)}
    for o, (day, won) in closes.items():
        h.append((o, day, 8 if won else 9))
    history = pd.DataFrame(h, columns=["opportunity_id", "valid_from", "stage_id"])
    outcomes = pd.DataFrame([{"opportunity_id": o, "closed_on": closes.get(o, (None, False))[0],
                              "is_won": closes.get(o, (None, False))[1] and o in closes,
                              "is_lost": o in closes and not closes[o][1]} for o in range(1, 7)])
    return history, outcomes


def test_conversion_rates_and_cycle_times_are_learned_from_closed_history():
    history, outcomes = history_and_outcomes()
    table = engine.learn_conversion(history, outcomes, STAGES, as_of=D(2025, 6, 1)).set_index("stage_id")
    # S1: o1-o5 passed it and closed, 3 won -> 60%; cycle from Jan 1: 60, 90, 120 days -> median 90.
    assert (table.loc[1, "passed"], table.loc[1, "won"], table.loc[1, "rate"]) == (5, 3, 0.6)
    assert table.loc[1, "cycle_days"] == 90 and table.loc[1, "source"] == "history"
    # S2: only 4 closed passed it (fewer than 5): the typed default.
    assert (table.loc[2, "passed"], table.loc[2, "rate"], table.loc[2, "source"]) == (4, 0.5, "default")
    table = engine.learn_conversion(history, outcomes, STAGES, as_of=D(2025, 6, 1), min_closed=3).set_index("stage_id")
    assert table.loc[2, "rate"] == 0.75 and table.loc[2, "cycle_days"] == 59  # Feb 1 -> Mar 2, Apr 1, May 1


def test_history_after_as_of_is_not_used():
    history, outcomes = history_and_outcomes()
    # On 10 March only o4 (lost) and o1 (won), o5 (lost) had closed: S1 passed 3 -> default.
    table = engine.learn_conversion(history, outcomes, STAGES, as_of=D(2025, 3, 10), min_closed=3).set_index("stage_id")
    assert (table.loc[1, "passed"], table.loc[1, "won"]) == (3, 1)
    assert table.loc[1, "rate"] == pytest.approx(1 / 3)


def test_weighted_pipeline_lands_overdue_deals_after_the_cycle_time():
    history, outcomes = history_and_outcomes()
    conversion = engine.learn_conversion(history, outcomes, STAGES, as_of=D(2025, 6, 1))
    open_opps = pd.DataFrame([
        {"opportunity_id": 6, "stage_id": 1, "amount": 1000.0, "expected_close": D(2025, 7, 20)},
        {"opportunity_id": 7, "stage_id": 1, "amount": 500.0, "expected_close": D(2025, 5, 1)},   # overdue
        {"opportunity_id": 8, "stage_id": 2, "amount": 200.0, "expected_close": D(2025, 6, 30)},
    ])
    out = engine.weighted_pipeline(open_opps, conversion, as_of=D(2025, 6, 1)).set_index("opportunity_id")
    assert out.loc[6, "expected"] == pytest.approx(600) and out.loc[6, "month"] == D(2025, 7, 1)
    # Overdue: 1 June + 90 days = 30 August.
    assert out.loc[7, "expected"] == pytest.approx(300) and out.loc[7, "month"] == D(2025, 8, 1)
    assert bool(out.loc[7, "overdue"]) is True
    assert out.loc[8, "expected"] == pytest.approx(100) and out.loc[8, "month"] == D(2025, 6, 1)


def test_accuracy_metrics_by_hand():
    actual, forecast = np.array([100.0, 200.0, 0.0]), np.array([110.0, 150.0, 10.0])
    assert engine.wape(actual, forecast) == pytest.approx(70 / 300)
    assert engine.bias(actual, forecast) == pytest.approx(-30 / 300)
    assert engine.hit_rate(actual, forecast, 0.05) == 0
    assert engine.hit_rate(actual, forecast, 0.10) == pytest.approx(1 / 3)
    assert engine.wape(np.zeros(2), np.ones(2)) is None
    frame = pd.DataFrame({"source": ["a", "a", "b"], "actual": [100.0, 100.0, 50.0], "forecast": [95.0, 120.0, 50.0]})
    board = engine.accuracy(frame, ["source"]).set_index("source")
    assert board.loc["a", "wape"] == pytest.approx(25 / 200) and board.loc["a", "hit5"] == 0.5
    assert board.loc["b", "wape"] == 0 and board.loc["b", "n"] == 1


def reference_wape(actual, forecast):
    total = sum(abs(a) for a in actual)
    return None if total == 0 else sum(abs(a - f) for a, f in zip(actual, forecast)) / total


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), min_size=1, max_size=50))
def test_wape_and_bias_agree_with_a_plain_loop(pairs):
    actual = [a for a, _ in pairs]
    forecast = [f for _, f in pairs]
    expected = reference_wape(actual, forecast)
    got = engine.wape(np.array(actual), np.array(forecast))
    assert (got is None) == (expected is None)
    if expected is not None:
        assert got == pytest.approx(expected)
    if sum(actual):
        assert engine.bias(np.array(actual), np.array(forecast)) == pytest.approx(
            (sum(forecast) - sum(actual)) / sum(actual))
