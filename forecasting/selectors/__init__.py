"""Reads of forecasting: roll-ups of calls along the effective-dated reporting hierarchy with managers'
adjustments beside the reps' own numbers, call history, runs and accuracy leaderboards."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from revops.models import Person
from revops.selectors import reporting_lines_on

from .. import engine
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
    from django.db.models import Q

    return list(ForecastCall.objects.filter(period=period).filter(Q(person=person) | Q(subject=person))
                .select_related("person", "subject", "submitted_by").order_by("-submitted_at", "-id"))


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
    frame = pd.DataFrame(list(qs.values("source", "horizon", "level", "forecast", "actual", "period__start",
                                        "lo80", "hi80", "lo95", "hi95")))
    if frame.empty:
        return pd.DataFrame(columns=["source", "horizon", "n", "wape", "bias", "hit5", "hit10", "actual", "forecast",
                                     "cover80", "cover95"])
    for column in ("forecast", "actual", "lo80", "hi80", "lo95", "hi95"):
        frame[column] = frame[column].astype(float)
    return engine.accuracy(frame, ["source", "horizon"]).sort_values(["wape", "source"], na_position="last")


def accuracy_trend(*, source: str, level: str) -> pd.DataFrame:
    """WAPE and bias of one source by closed period (oldest first): whose number to trust, over time."""
    frame = pd.DataFrame(list(ForecastScore.objects.filter(source=source, level=level)
                              .values("period__start", "forecast", "actual")))
    if frame.empty:
        return pd.DataFrame(columns=["period__start", "n", "wape", "bias", "hit5", "hit10", "actual", "forecast"])
    frame["forecast"] = frame["forecast"].astype(float)
    frame["actual"] = frame["actual"].astype(float)
    return engine.accuracy(frame, ["period__start"]).sort_values("period__start")
