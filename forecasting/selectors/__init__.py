"""Reads of forecasting: roll-ups of calls along the effective-dated reporting hierarchy with managers'
adjustments beside the reps' own numbers, call history, runs and accuracy leaderboards."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd
from django.db.models import Count, F, FloatField, Q, QuerySet, Sum, Value
from django.db.models.functions import Abs, Cast
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual

from revops.models import Person
from revops.selectors import reporting_lines_on

from ..models import CALL_CATEGORIES, CallKind, ForecastCall, ForecastPeriod, ForecastScore


@dataclass
class RollupNode:
    """One person in a period's roll-up. ``own``: their own latest call per category;
    ``adjusted``: their manager's latest adjustment of their number; ``team_call``: their own latest
    team-level number (as a manager). Nothing overwrites anything: the page shows all three."""

    person: Person
    own: dict[str, ForecastCall] = field(default_factory=dict)
    adjusted: dict[str, ForecastCall] = field(default_factory=dict)
    team_call: dict[str, ForecastCall] = field(default_factory=dict)
    children: list[RollupNode] = field(default_factory=list)

    def rolled(self, category: str) -> Decimal | None:
        """The node's number before anyone above adjusts it: a manager's team-level call if made,
        else their own call plus each report's number as adjusted (None when nobody called)."""
        if category in self.team_call:
            return self.team_call[category].amount
        parts = [self.own[category].amount] if category in self.own else []
        parts += [n for n in (child.effective(category) for child in self.children) if n is not None]
        return sum(parts, Decimal(0)) if parts else None

    def effective(self, category: str) -> Decimal | None:
        """What this node contributes to its manager's roll-up: the manager's adjustment if any."""
        if category in self.adjusted:
            return self.adjusted[category].amount
        return self.rolled(category)

    def team_number(self, category: str) -> Decimal | None:
        return self.rolled(category)

    def walk(self, depth: int = 0) -> list[tuple[int, RollupNode]]:
        out = [(depth, self)]
        for child in self.children:
            out.extend(child.walk(depth + 1))
        return out


def latest_calls(*, period: ForecastPeriod) -> list[ForecastCall]:
    """The latest call per (person, subject, kind, category) of the period."""
    seen: set[tuple[int, int | None, str, str]] = set()
    out = []
    for call in ForecastCall.objects.filter(period=period).order_by("-submitted_at", "-id"):
        key = (call.person_id, call.subject_id, call.kind, call.category)
        if key not in seen:
            seen.add(key)
            out.append(call)
    return out


@dataclass
class PeriodCalls:
    """What every roll-up of one period reads, loaded once (closing a period rolls up every manager)."""

    calls: list[ForecastCall]
    lines: list[tuple[int, int]]
    people: dict[int, Person]

    @classmethod
    def load(cls, period: ForecastPeriod) -> PeriodCalls:
        return cls(calls=latest_calls(period=period),
                   lines=list(reporting_lines_on(on=period.start).values_list("person_id", "manager_id")),
                   people={p.pk: p for p in Person.objects.all()})


def rollup(*, period: ForecastPeriod, manager: Person, loaded: PeriodCalls | None = None) -> RollupNode:
    """``manager``'s organization on the period's first day with every call in it."""
    loaded = loaded or PeriodCalls.load(period)
    lines, people, calls = loaded.lines, loaded.people, loaded.calls
    children: dict[int, list[int]] = {}
    for person_id, manager_id in lines:
        children.setdefault(manager_id, []).append(person_id)
    own = {(c.person_id, c.category): c for c in calls if c.kind == CallKind.REP}
    team = {(c.person_id, c.category): c for c in calls if c.kind == CallKind.MANAGER and c.subject_id is None}
    adjusted = {(c.person_id, c.subject_id, c.category): c for c in calls
                if c.kind == CallKind.MANAGER and c.subject_id is not None}

    def build(person_id: int, boss: int | None, seen: frozenset[int]) -> RollupNode:
        node = RollupNode(person=people[person_id])
        for category in CALL_CATEGORIES:
            if (person_id, category) in own:
                node.own[category] = own[(person_id, category)]
            if (person_id, category) in team:
                node.team_call[category] = team[(person_id, category)]
            if boss is not None and (boss, person_id, category) in adjusted:
                node.adjusted[category] = adjusted[(boss, person_id, category)]
        for child in sorted(children.get(person_id, []), key=lambda p: str(people[p])):
            if child not in seen:
                node.children.append(build(child, person_id, seen | {child}))
        return node

    return build(manager.pk, None, frozenset({manager.pk}))


def top_managers(*, on: dt.date) -> list[Person]:
    """People who manage someone on ``on`` and report to nobody then (the roots of the hierarchy)."""
    lines = list(reporting_lines_on(on=on).values_list("person_id", "manager_id"))
    reporting = {p for p, _ in lines}
    roots = {m for _, m in lines if m not in reporting}
    return list(Person.objects.filter(pk__in=roots).order_by("last_name", "first_name"))


def call_history(*, period: ForecastPeriod, person: Person) -> list[ForecastCall]:
    """Every call ``person`` made or that was made about them in the period, newest first."""
    return list(ForecastCall.objects.filter(period=period).filter(Q(person=person) | Q(subject=person))
                .select_related("person", "subject", "submitted_by").order_by("-submitted_at", "-id"))


BOARD_COLUMNS = ["source", "horizon", "n", "wape", "bias", "hit5", "hit10", "actual", "forecast", "cover80", "cover95"]
TREND_COLUMNS = ["period__start", "n", "wape", "bias", "hit5", "hit10", "actual", "forecast"]


def accuracy_board(*, level: str | None = None, sources: list[str] | None = None,
                   periods: list[ForecastPeriod] | None = None) -> pd.DataFrame:
    """WAPE, bias, hit rates within 5/10% and interval coverage per source (and horizon) over closed periods'
    scores."""
    qs = ForecastScore.objects.all()
    if level:
        qs = qs.filter(level=level)
    if sources:
        qs = qs.filter(source__in=sources)
    if periods is not None:
        qs = qs.filter(period__in=periods)
    rows = accuracy_rows(qs, ["source", "horizon"], bands=True)
    if not rows:
        return pd.DataFrame(columns=BOARD_COLUMNS)
    return pd.DataFrame(rows).sort_values(["wape", "source"], na_position="last")


def accuracy_trend(*, source: str, level: str) -> pd.DataFrame:
    """WAPE and bias of one source by closed period (oldest first): whose number to trust, over time."""
    rows = accuracy_rows(ForecastScore.objects.filter(source=source, level=level), ["period__start"], bands=False)
    if not rows:
        return pd.DataFrame(columns=TREND_COLUMNS)
    return pd.DataFrame(rows).sort_values("period__start")


def accuracy_board_and_trends(*, level: str) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """``accuracy_board(level=level)`` and ``accuracy_trend(source=..., level=level)`` of every source, from one
    aggregate of the level's scores per (source, horizon, period), summed up in Python: every measure is a sum or
    a count, so the board's and the trends' groups are sums of these (the executive dashboard's tile)."""
    sums = _accuracy_sums(ForecastScore.objects.filter(level=level), ["source", "horizon", "period__start"],
                          bands=True)
    board: dict[tuple[str, int], dict[str, Any]] = {}
    trends: dict[str, dict[dt.date, dict[str, Any]]] = {}
    for g in sums:
        _add(board.setdefault((g["source"], g["horizon"]), {}), g)
        _add(trends.setdefault(g["source"], {}).setdefault(g["period__start"], {}), g)
    board_rows = [{"source": s, "horizon": h, **_measures(board[s, h], bands=True)} for s, h in sorted(board)]
    frame = (pd.DataFrame(board_rows).sort_values(["wape", "source"], na_position="last") if board_rows
             else pd.DataFrame(columns=BOARD_COLUMNS))
    return frame, {source: pd.DataFrame([{"period__start": start, **_measures(by_period[start], bands=False)}
                                         for start in sorted(by_period)])
                   for source, by_period in trends.items()}


def accuracy_rows(qs: QuerySet[ForecastScore], by: list[str], *, bands: bool) -> list[dict[str, Any]]:
    """``engine.accuracy`` of the scores ``qs`` per group ``by`` (field paths), in SQL: one aggregate row per group
    instead of every score read into pandas (docs/benchmarks.md, executive dashboard, session 7).

    The same figures: the sums are exact numeric sums (pandas summed the floats, so the ratios can differ in the
    last bits); the 5%/10% hits and the interval coverage compare the scores cast to double precision with the
    engine's tolerances, as ``engine.hit_rate`` and ``engine.coverage`` do. Groups in ``by`` order, as
    ``DataFrame.groupby`` returns them. ``tests/forecasting/test_accuracy_sql.py`` keeps the pandas version as
    the reference."""
    return [{**{k: g[k] for k in by}, **_measures(g, bands=bands)}
            for g in sorted(_accuracy_sums(qs, by, bands=bands), key=lambda g: tuple(g[k] for k in by))]


_SUMS = ("n", "abs_error", "abs_actual", "error", "sum_actual", "sum_forecast", "hit5", "hit10",
         "has80", "in80", "has95", "in95")


def _accuracy_sums(qs: QuerySet[ForecastScore], by: list[str], *, bands: bool) -> list[dict[str, Any]]:
    """Per group ``by``: the count, exact numeric sums and the counts of hits and of actuals inside the bands."""
    actual, forecast = Cast("actual", FloatField()), Cast("forecast", FloatField())

    def hits(tolerance: float) -> Count:
        return Count("pk", filter=LessThanOrEqual(
            Abs(forecast - actual), Value(tolerance, FloatField()) * Abs(actual) + Value(1e-9, FloatField())))

    measures: dict[str, Any] = {
        "n": Count("pk"), "abs_error": Sum(Abs(F("actual") - F("forecast"))), "abs_actual": Sum(Abs(F("actual"))),
        "error": Sum(F("forecast") - F("actual")), "sum_actual": Sum("actual"), "sum_forecast": Sum("forecast"),
        "hit5": hits(0.05), "hit10": hits(0.10)}
    if bands:
        for b in ("80", "95"):
            lo, hi = f"lo{b}", f"hi{b}"
            has = Q(**{f"{lo}__isnull": False, f"{hi}__isnull": False})
            measures[f"has{b}"] = Count("pk", filter=has)
            measures[f"in{b}"] = Count("pk", filter=has & GreaterThanOrEqual(
                actual, Cast(lo, FloatField()) - Value(1e-9, FloatField())) & LessThanOrEqual(
                actual, Cast(hi, FloatField()) + Value(1e-9, FloatField())))
    return list(qs.order_by().values(*by).annotate(**measures))


def _add(total: dict[str, Any], g: dict[str, Any]) -> None:
    for k in _SUMS:
        if k in g:
            total[k] = total.get(k, 0) + g[k]


def _measures(g: dict[str, Any], *, bands: bool) -> dict[str, Any]:
    """``engine.accuracy``'s row (after the group keys) from a group's sums."""
    n, abs_actual, sum_actual = g["n"], g["abs_actual"], g["sum_actual"]
    row = {"n": n, "wape": float(g["abs_error"]) / float(abs_actual) if abs_actual > 0 else None,
           "bias": float(g["error"]) / float(sum_actual) if sum_actual != 0 else None,
           "hit5": g["hit5"] / n, "hit10": g["hit10"] / n,
           "actual": float(sum_actual), "forecast": float(g["sum_forecast"]), "cover80": None, "cover95": None}
    if bands:
        for b in ("80", "95"):
            row[f"cover{b}"] = g[f"in{b}"] / g[f"has{b}"] if g[f"has{b}"] else None
    return row
