"""The accuracy board and trend are aggregated in SQL (``forecasting.selectors.accuracy_rows``); the pandas
version they replaced (every score read, ``engine.accuracy``) is kept below as the reference.

Scores of organization A, by hand (level "rep" unless said):

| source          | h | period   | key | forecast | actual | |error| | within 5% | within 10% | 80% band   | 95% band   |
|-----------------|---|----------|-----|---------:|-------:|--------:|-----------|------------|------------|------------|
| rep_call:commit | 0 | Jan 2031 | r1  |       95 |    100 |       5 | yes (edge)| yes        | 90-110 in  | 85-115 in  |
| rep_call:commit | 0 | Jan 2031 | r2  |      108 |    100 |       8 | no        | yes        | 101-130 out| 95-140 in  |
| rep_call:commit | 0 | Feb 2031 | r1  |       50 |      0 |      50 | no        | no         | -          | -          |
| rep_call:commit | 0 | Feb 2031 | r2  |      209 |    200 |       9 | yes       | yes        | -          | -          |
| AutoETS         | 1 | Jan 2031 | r1  |   100.10 |    100 |    0.10 | yes       | yes        | -          | -          |
| AutoETS         | 2 | Jan 2031 | r1  |        0 |      0 |       0 | yes       | yes        | -          | -          |
| manager_call    | 0 | Jan 2031 | t1 (level team) | 300 | 200 | 100 | no     | no         | -          | -          |

rep_call:commit h0: n 4, WAPE (5 + 8 + 50 + 9) / (100 + 100 + 0 + 200) = 72 / 400 = 0.18, bias (-5 + 8 + 50 + 9) / 400
= 0.155, hit5 2/4, hit10 3/4, actual 400, forecast 462, cover80 1/2, cover95 2/2.
AutoETS h1: WAPE = bias = 0.10 / 100 = 0.001, hits 1. AutoETS h2: no actual, so no WAPE and no bias (sorted last).
Trend of rep_call:commit: January WAPE 13/200 = 0.065, bias 3/200 = 0.015, hit5 1/2, hit10 2/2; February WAPE
59/200 = 0.295, bias 0.295, hit5 1/2, hit10 1/2. Organization B's score is never counted.
"""
from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pandas as pd
import pytest

from analytics.selectors import sales
from forecasting import engine, selectors
from forecasting.models import ForecastPeriod, ForecastScore
from revops.tenancy import tenant_context

pytestmark = pytest.mark.django_db
D = Decimal
JAN, FEB = dt.date(2031, 1, 1), dt.date(2031, 2, 1)


def reference_board(*, level=None, sources=None, periods=None) -> pd.DataFrame:
    """``accuracy_board`` before it was aggregated in SQL, verbatim."""
    qs = ForecastScore.objects.all()
    if level:
        qs = qs.filter(level=level)
    if sources:
        qs = qs.filter(source__in=sources)
    if periods is not None:
        qs = qs.filter(period__in=periods)
    frame = pd.DataFrame(list(qs.values("source", "horizon", "level", "forecast", "actual", "period__start",
                                        "lo80", "hi80", "lo95", "hi95")))
    if frame.empty:
        return pd.DataFrame(columns=["source", "horizon", "n", "wape", "bias", "hit5", "hit10", "actual", "forecast",
                                     "cover80", "cover95"])
    for column in ("forecast", "actual", "lo80", "hi80", "lo95", "hi95"):
        frame[column] = frame[column].astype(float)
    return engine.accuracy(frame, ["source", "horizon"]).sort_values(["wape", "source"], na_position="last")


def reference_trend(*, source: str, level: str) -> pd.DataFrame:
    """``accuracy_trend`` before it was aggregated in SQL, verbatim."""
    frame = pd.DataFrame(list(ForecastScore.objects.filter(source=source, level=level)
                              .values("period__start", "forecast", "actual")))
    if frame.empty:
        return pd.DataFrame(columns=["period__start", "n", "wape", "bias", "hit5", "hit10", "actual", "forecast"])
    frame["forecast"] = frame["forecast"].astype(float)
    frame["actual"] = frame["actual"].astype(float)
    return engine.accuracy(frame, ["period__start"]).sort_values("period__start")


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def assert_same(new: pd.DataFrame, old: pd.DataFrame) -> None:
    assert list(new.columns) == list(old.columns)
    new_rows, old_rows = new.to_dict("records"), old.to_dict("records")
    assert len(new_rows) == len(old_rows)
    for a, b in zip(new_rows, old_rows):
        for k in a:
            if _missing(a[k]) or _missing(b[k]):
                assert _missing(a[k]) and _missing(b[k]), (k, a, b)
            elif isinstance(a[k], float):
                assert a[k] == pytest.approx(b[k], rel=1e-12), (k, a, b)
            else:
                assert a[k] == b[k], (k, a, b)


@pytest.fixture
def scores(world):
    rows = [("rep_call:commit", 0, JAN, "rep", "r1", "95", "100", ("90", "110"), ("85", "115")),
            ("rep_call:commit", 0, JAN, "rep", "r2", "108", "100", ("101", "130"), ("95", "140")),
            ("rep_call:commit", 0, FEB, "rep", "r1", "50", "0", None, None),
            ("rep_call:commit", 0, FEB, "rep", "r2", "209", "200", None, None),
            ("AutoETS", 1, JAN, "rep", "r1", "100.10", "100", None, None),
            ("AutoETS", 2, JAN, "rep", "r1", "0", "0", None, None),
            ("manager_call", 0, JAN, "team", "t1", "300", "200", None, None)]
    with tenant_context(world.a.org):
        periods = {m: ForecastPeriod.objects.create(start=m, end=m.replace(month=m.month + 1), deadline=m)
                   for m in (JAN, FEB)}
        for source, horizon, month, level, key, forecast, actual, b80, b95 in rows:
            ForecastScore.objects.create(
                period=periods[month], source=source, horizon=horizon, level=level, key=key, forecast=D(forecast),
                actual=D(actual), lo80=D(b80[0]) if b80 else None, hi80=D(b80[1]) if b80 else None,
                lo95=D(b95[0]) if b95 else None, hi95=D(b95[1]) if b95 else None)
    with tenant_context(world.b.org):
        other = ForecastPeriod.objects.create(start=JAN, end=FEB, deadline=JAN)
        ForecastScore.objects.create(period=other, source="rep_call:commit", horizon=0, level="rep", key="x",
                                     forecast=D("1000"), actual=D("1"))
    return periods


def test_the_board_by_hand(world, scores):
    with tenant_context(world.a.org):
        board = selectors.accuracy_board(level="rep")
    assert list(board["source"]) == ["AutoETS", "rep_call:commit", "AutoETS"]
    assert list(board["horizon"]) == [1, 0, 2]
    rep = board.set_index(["source", "horizon"]).loc[("rep_call:commit", 0)]
    assert rep["n"] == 4
    assert rep["wape"] == pytest.approx(0.18) and rep["bias"] == pytest.approx(0.155)
    assert (rep["hit5"], rep["hit10"], rep["cover80"], rep["cover95"]) == (0.5, 0.75, 0.5, 1.0)
    assert (rep["actual"], rep["forecast"]) == (400.0, 462.0)
    ets1 = board.set_index(["source", "horizon"]).loc[("AutoETS", 1)]
    assert ets1["wape"] == pytest.approx(0.001) and ets1["bias"] == pytest.approx(0.001)
    assert (ets1["hit5"], ets1["hit10"]) == (1.0, 1.0) and _missing(ets1["cover80"])
    ets2 = board.set_index(["source", "horizon"]).loc[("AutoETS", 2)]
    assert _missing(ets2["wape"]) and _missing(ets2["bias"]) and ets2["hit5"] == 1.0


def test_the_trend_by_hand(world, scores):
    with tenant_context(world.a.org):
        trend = selectors.accuracy_trend(source="rep_call:commit", level="rep")
    assert list(trend["period__start"]) == [JAN, FEB] and list(trend["n"]) == [2, 2]
    assert list(trend["wape"]) == pytest.approx([0.065, 0.295])
    assert list(trend["bias"]) == pytest.approx([0.015, 0.295])
    assert list(trend["hit5"]) == [0.5, 0.5] and list(trend["hit10"]) == [1.0, 0.5]
    assert list(trend["actual"]) == [200.0, 200.0] and list(trend["forecast"]) == [203.0, 259.0]


def test_the_same_figures_as_the_pandas_version(world, scores):
    with tenant_context(world.a.org):
        for kwargs in ({}, {"level": "rep"}, {"level": "team"}, {"level": "company"},
                       {"sources": ["AutoETS"]}, {"periods": [scores[FEB]]}, {"periods": []}):
            assert_same(selectors.accuracy_board(**kwargs), reference_board(**kwargs))
        for source, level in (("rep_call:commit", "rep"), ("AutoETS", "rep"), ("manager_call", "team"),
                              ("nobody", "rep")):
            assert_same(selectors.accuracy_trend(source=source, level=level),
                        reference_trend(source=source, level=level))


def test_the_board_and_trends_from_one_aggregate(world, scores):
    """The executive tile's read: one aggregate per (source, horizon, period), summed up to the board and to each
    source's trend, gives the pandas version's figures."""
    with tenant_context(world.a.org):
        for level in ("rep", "team", "company"):
            board, trends = selectors.accuracy_board_and_trends(level=level)
            assert_same(board, reference_board(level=level))
            assert sorted(trends) == sorted(set(reference_board(level=level)["source"]))
            for source, trend in trends.items():
                assert_same(trend, reference_trend(source=source, level=level))
        board, trends = selectors.accuracy_board_and_trends(level="rep")
    assert list(trends["rep_call:commit"]["wape"]) == pytest.approx([0.065, 0.295])
    assert list(trends["AutoETS"]["n"]) == [2]  # horizons 1 and 2 of January summed
    assert list(board["cover80"])[1] == 0.5


def test_the_executive_tile_reads_the_most_scored_level(world, scores):
    """``analytics.selectors.sales.accuracy``: team before rep, so the manager call's board and trend."""
    with tenant_context(world.a.org):
        acc = sales.accuracy(None)
    assert acc["level"] == "team"
    assert [(r["source"], r["n"], r["wape"]) for r in acc["board"]] == [("manager_call", 1, 0.5)]
    assert acc["board"][0]["cover80"] is None
    assert acc["trends"] == []  # one score: no trend (two or more)
