"""Reads the forecasting pages and API compose from the selectors and the quota pillar: the roll-up as flat
rows, pipeline by stage and category, the period's weighted pipeline, calls and quota side by side,
coverage per team, and actuals for a run's chart.

Definitions (one place each):
- **Weighted pipeline** of an open opportunity = amount x its stage's conversion rate learned from
  the organization's history (``services.conversion_table``; the stage's default probability while
  it has too little closed history), summed, then rounded half-up to the cent.
- **Period pipeline**: open opportunities whose expected close falls in the period.
- **Team** of a manager: the manager and everyone under them on the period's first day.
- **Remaining quota** of a team: its reps' quota for the period's months minus their credited actuals
  (``quotas.selectors.attainment`` by rep on the active plan of the period's fiscal year, bookings
  first). **Coverage** = the team's open period pipeline / remaining quota; without an active
  quota plan, / the team's commit number (the roll-up), and the page says which.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from revops.models import Person

from .. import engine, selectors, services
from ..models import CALL_CATEGORIES, CallKind, ForecastPeriod, ForecastValue, Opportunity, RunKind, Stage
from . import RollupNode

CENT = Decimal("0.01")
ZERO = Decimal(0)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# -- roll-up ---------------------------------------------------------------------------------------

def rollup_rows(tree: RollupNode) -> list[dict[str, Any]]:
    """The roll-up depth-first: each person with their own call, their manager's adjustment, their own
    team-level call, their team number and what counts upward, per category."""
    out: list[dict[str, Any]] = []

    def visit(node: RollupNode, depth: int, manager: int | None) -> None:
        row: dict[str, Any] = {"node": node, "person": node.person.pk, "name": str(node.person),
                               "employee_id": node.person.employee_id, "depth": depth, "manager": manager,
                               "has_reports": bool(node.children)}
        for c in CALL_CATEGORIES:
            row[f"own_{c.value}"] = node.own[c].amount if c in node.own else None
            row[f"adjusted_{c.value}"] = node.adjusted[c].amount if c in node.adjusted else None
            row[f"team_call_{c.value}"] = node.team_call[c].amount if c in node.team_call else None
            row[f"team_{c.value}"] = node.rolled(c)
            row[f"effective_{c.value}"] = node.effective(c)
        out.append(row)
        for child in node.children:
            visit(child, depth + 1, node.person.pk)

    visit(tree, 0, None)
    return out


def team_numbers(tree: RollupNode) -> dict[str, Decimal | None]:
    return {c.value: tree.team_number(c) for c in CALL_CATEGORIES}


# -- pipeline --------------------------------------------------------------------------------------

def open_opportunities(people: set[int] | None = None) -> QuerySet[Opportunity]:
    qs = Opportunity.objects.filter(is_won=False, is_lost=False)
    return qs if people is None else qs.filter(owner_id__in=people)


def conversion_rates(as_of: dt.date | None = None) -> dict[int, Decimal]:
    """Stage id -> learned conversion rate (as a Decimal) on ``as_of`` (today); the stages' default
    probabilities while the organization has no opportunity at all (``engine.learn_conversion`` needs one)."""
    if not Opportunity.objects.exists():
        return {pk: p for pk, p in Stage.objects.filter(is_won=False, is_lost=False)
                .values_list("pk", "default_probability")}
    table = services.conversion_table(as_of=as_of or timezone.localdate())
    return {int(r.stage_id): Decimal(str(round(float(r.rate), 6))) for r in table.itertuples()}


@dataclass
class StageRow:
    stage: Stage
    count: int
    amount: Decimal
    rate: Decimal | None
    weighted: Decimal

    @property
    def rate_pct(self) -> Decimal | None:
        return None if self.rate is None else self.rate * 100


def pipeline_by_stage(*, people: set[int] | None = None, rates: dict[int, Decimal] | None = None) -> list[StageRow]:
    """Every open stage with its open opportunities' count, amount and weighted amount."""
    rates = conversion_rates() if rates is None else rates
    sums = {r["stage_id"]: r for r in open_opportunities(people).values("stage_id")
            .annotate(n=Count("id"), amount=Sum("amount"))}
    rows = []
    for stage in Stage.objects.filter(is_won=False, is_lost=False):
        s = sums.get(stage.pk, {"n": 0, "amount": ZERO})
        rate = rates.get(stage.pk)
        rows.append(StageRow(stage, s["n"], s["amount"] or ZERO, rate, cents((s["amount"] or ZERO) * (rate or ZERO))))
    return rows


def period_pipeline(*, period: ForecastPeriod, people: set[int] | None = None,
                    rates: dict[int, Decimal] | None = None) -> dict[str, Any]:
    """Open opportunities expected to close in the period by category (count, amount, weighted) and the
    closed-won bookings of the period so far."""
    rates = conversion_rates() if rates is None else rates
    opps = open_opportunities(people).filter(expected_close__gte=period.start, expected_close__lt=period.end)
    by_category: dict[str, dict[str, Any]] = {}
    for category, stage_id, n, amount in (opps.values_list("category", "stage_id")
                                          .annotate(n=Count("id"), amount=Sum("amount"))
                                          .values_list("category", "stage_id", "n", "amount")):
        row = by_category.setdefault(category, {"count": 0, "amount": ZERO, "weighted_raw": ZERO})
        row["count"] += n
        row["amount"] += amount
        row["weighted_raw"] += amount * rates.get(stage_id, ZERO)
    rows = []
    for value, label in Opportunity._meta.get_field("category").choices:
        if value in by_category:
            r = by_category[value]
            rows.append({"category": value, "label": label, "count": r["count"], "amount": r["amount"],
                         "weighted": cents(r["weighted_raw"])})
    won = Opportunity.objects.filter(is_won=True, closed_on__gte=period.start, closed_on__lt=period.end)
    if people is not None:
        won = won.filter(owner_id__in=people)
    return {
        "rows": rows, "count": sum(r["count"] for r in rows), "amount": sum((r["amount"] for r in rows), ZERO),
        "weighted": cents(sum((r["weighted_raw"] for r in by_category.values()), ZERO)),
        "won": won.aggregate(total=Sum("amount"))["total"] or ZERO,
    }


def period_opportunities(*, period: ForecastPeriod, people: set[int] | None) -> QuerySet[Opportunity]:
    """The opportunities a rep's call is about: open ones expected to close in the period and the ones
    won in it."""
    from django.db.models import Q

    qs = Opportunity.objects.filter(
        Q(is_won=False, is_lost=False, expected_close__gte=period.start, expected_close__lt=period.end)
        | Q(is_won=True, closed_on__gte=period.start, closed_on__lt=period.end))
    if people is not None:
        qs = qs.filter(owner_id__in=people)
    return qs.select_related("stage", "account", "owner").order_by("expected_close", "name")


# -- calls across the organization ---------------------------------------------------------------

def company_calls(*, period: ForecastPeriod) -> tuple[dict[str, Decimal | None], list[RollupNode]]:
    """The organization's number per category: each top manager's team number, plus the own calls of
    people outside the hierarchy; and the top managers' trees (for coverage)."""
    trees = [selectors.rollup(period=period, manager=m) for m in selectors.top_managers(on=period.start)]
    in_trees = {node.person.pk for tree in trees for _, node in tree.walk()}
    totals: dict[str, Decimal | None] = {}
    loose = [c for c in selectors.latest_calls(period=period)
             if c.kind == CallKind.REP and c.person_id not in in_trees]
    for c in CALL_CATEGORIES:
        parts = [n for n in (tree.team_number(c) for tree in trees) if n is not None]
        parts += [call.amount for call in loose if call.category == c]
        totals[c.value] = sum(parts, ZERO) if parts else None
    return totals, trees


# -- quota and coverage ----------------------------------------------------------------------------

@dataclass
class PeriodQuota:
    plan: Any
    by_person: dict[int, tuple[Decimal, Decimal]]  # person id -> (quota, actual) for the period's months

    @property
    def quota(self) -> Decimal:
        return sum((q for q, _ in self.by_person.values()), ZERO)

    @property
    def actual(self) -> Decimal:
        return sum((a for _, a in self.by_person.values()), ZERO)


def period_quota(*, period: ForecastPeriod) -> PeriodQuota | None:
    """Quota and credited actuals per rep for the period's months from the active quota plan of its fiscal
    year (bookings first); None without one."""
    from quotas.models import QuotaPlan, QuotaPlanStatus
    from quotas.selectors import attainment

    plans = sorted(QuotaPlan.objects.filter(status=QuotaPlanStatus.ACTIVE, effective_from__lte=period.start,
                                            effective_to__gt=period.start),
                   key=lambda p: (p.metric != "bookings", p.name))
    if not plans:
        return None
    plan = plans[0]
    by_person: dict[int, tuple[Decimal, Decimal]] = {}
    for month in plan.months:
        if not (period.start <= month < period.end):
            continue
        for row in attainment(plan=plan, by="rep", month=month):
            if not row.key.startswith("p"):
                continue  # a vacancy: nobody's pipeline covers it
            pid = int(row.key[1:])
            q, a = by_person.get(pid, (ZERO, ZERO))
            by_person[pid] = (q + row.quota, a + row.actual)
    return PeriodQuota(plan, by_person)


def coverage(*, pipeline: Decimal, quota: Decimal | None, actual: Decimal | None,
             commit: Decimal | None) -> float | None:
    """Open period pipeline / remaining quota (quota - actual), or / the commit number without a quota;
    None when the denominator is not positive."""
    denominator = (quota - (actual or ZERO)) if quota is not None else commit
    return float(pipeline / denominator) if denominator and denominator > 0 else None


@dataclass
class CoverageRow:
    manager: Person
    depth: int
    team_size: int
    pipeline: Decimal
    weighted: Decimal
    commit: Decimal | None
    quota: Decimal | None
    actual: Decimal | None

    @property
    def indent(self) -> float:
        return 0.5 + self.depth * 1.25

    @property
    def remaining(self) -> Decimal | None:
        return None if self.quota is None else self.quota - (self.actual or ZERO)

    @property
    def basis(self) -> str:
        return "remaining quota" if self.quota is not None else "commit"

    @property
    def coverage(self) -> float | None:
        return coverage(pipeline=self.pipeline, quota=self.quota, actual=self.actual, commit=self.commit)


def coverage_by_team(*, period: ForecastPeriod, trees: list[RollupNode], quota: PeriodQuota | None,
                     rates: dict[int, Decimal]) -> list[CoverageRow]:
    """One row per manager (anyone with reports on the period's first day), in hierarchy order."""
    opps = (open_opportunities().filter(expected_close__gte=period.start, expected_close__lt=period.end)
            .values_list("owner_id", "stage_id").annotate(amount=Sum("amount")).values_list("owner_id", "stage_id",
                                                                                             "amount"))
    pipeline: dict[int, Decimal] = {}
    weighted: dict[int, Decimal] = {}
    for owner, stage_id, amount in opps:
        pipeline[owner] = pipeline.get(owner, ZERO) + amount
        weighted[owner] = weighted.get(owner, ZERO) + amount * rates.get(stage_id, ZERO)
    rows = []
    for tree in trees:
        for depth, node in tree.walk():
            if not node.children:
                continue
            team = [n.person.pk for _, n in node.walk()]
            q = a = None
            if quota is not None:
                q = sum((quota.by_person.get(p, (ZERO, ZERO))[0] for p in team), ZERO)
                a = sum((quota.by_person.get(p, (ZERO, ZERO))[1] for p in team), ZERO)
            rows.append(CoverageRow(
                manager=node.person, depth=depth, team_size=len(team),
                pipeline=sum((pipeline.get(p, ZERO) for p in team), ZERO),
                weighted=cents(sum((weighted.get(p, ZERO) for p in team), ZERO)),
                commit=node.rolled("commit"), quota=q, actual=a))
    return rows


# -- runs ------------------------------------------------------------------------------------------

def run_actuals(*, run: Any, level: str, key: str, months: list[dt.date]) -> dict[dt.date, Decimal] | None:
    """What happened in the months of a run's series that have begun, measured as the run measures it: a
    weighted-pipeline run's company, rep or service line by closed-won opportunities; a time-series
    run's series by its own history (``forecasting.runs.level_history``). None when there is no such
    measure (cash runs, other levels)."""
    today = timezone.localdate()
    shown = [m for m in months if m <= today]
    if not shown:
        return None
    if run.kind == RunKind.PIPELINE:
        return _won_by_month(level=level, key=key, months=shown)
    if run.kind == RunKind.TIME_SERIES:
        try:
            from forecasting.runs import level_history
        except ImportError:
            return None
        params = run.params if isinstance(run.params, dict) else {}
        try:
            frame, _ = level_history(level=level, end=engine.add_months(shown[-1], 1),
                                     metric=params.get("metric", "bookings"))
        except ValidationError:
            return None
        frame = frame[frame["key"] == key]
        totals = {(m if isinstance(m, dt.date) else m.date()): y for m, y in zip(frame["month"], frame["y"])}
        return {m: cents(Decimal(str(totals.get(m, 0.0)))) for m in shown}
    return None


def _won_by_month(*, level: str, key: str, months: list[dt.date]) -> dict[dt.date, Decimal] | None:
    if level not in ("company", "rep", "service_line"):
        return None
    qs = Opportunity.objects.filter(is_won=True, closed_on__gte=months[0],
                                    closed_on__lt=engine.add_months(months[-1], 1))
    if level == "rep":
        if not key.isdigit():
            return None
        qs = qs.filter(owner_id=int(key))
    elif level == "service_line":
        qs = qs.filter(service_line__isnull=True) if key == "none" else (
            qs.filter(service_line_id=int(key)) if key.isdigit() else qs.none())
    totals = dict(qs.annotate(m=TruncMonth("closed_on")).values_list("m").annotate(t=Sum("amount"))
                  .values_list("m", "t"))
    return {m: totals.get(m, ZERO) for m in months}


def run_series(*, run: Any, level: str, key: str) -> dict[str, list[ForecastValue]]:
    """A run's values of one series by model, months in order."""
    out: dict[str, list[ForecastValue]] = {}
    for v in ForecastValue.objects.filter(run=run, level=level, key=key).order_by("model", "month"):
        out.setdefault(v.model, []).append(v)
    return out


def series_label(level: str, key: str, label: str = "") -> str:
    """How a series is named on a page: its stored label, else a person's or service line's name."""
    if label:
        return label
    if level == "company":
        return "Company"
    if level == "rep" and key.isdigit():
        person = Person.objects.filter(pk=int(key)).first()
        return str(person) if person else f"Person {key}"
    if level == "service_line":
        from revops.models import ServiceLine

        if key == "none":
            return "No service line"
        line = ServiceLine.objects.filter(pk=int(key)).first() if key.isdigit() else None
        return line.name if line else key
    return key
