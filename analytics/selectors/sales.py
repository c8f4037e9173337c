"""Sales reads of the executive dashboard: attainment and pace by region, team and rep, pipeline coverage and
forecast vs quota, leaderboards, territory balance, forecast accuracy and commission cost.

No number is defined here. Attainment, quota to date and pace are ``quotas.selectors.AttainmentRow``'s
(docs/quotas.md), summed set-based in SQL over the plan's leaf months (``tests/analytics`` checks the
result against ``quotas.selectors.attainment``); coverage is ``forecasting.selectors.pipeline.coverage``
and the weighted pipeline the forecasting engine's (docs/forecasting.md); balance is
``territories.selectors.plan_balance``; accuracy ``forecasting.selectors.accuracy_board/accuracy_trend``;
commission cost ``commissions.selectors.runs.payout_summary`` (docs/commissions.md).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from forecasting.selectors.pipeline import coverage as coverage_ratio
from quotas.models import QuotaPlan, QuotaPlanStatus
from quotas.selectors import CENT, AttainmentRow, leaf_period_sums, period_window, summary_is_current
from revops.tenancy import require_tenant_id

from ..filters import Filters
from ..models import Snapshot, SnapshotKind

ZERO = Decimal(0)
GROUPINGS = ("company", "region", "team", "rep")


def quota_plan(f: Filters) -> QuotaPlan | None:
    """The quota plan the period is measured against: the active (else archived) plan whose fiscal year
    contains the period's first day, bookings first (as the forecasting overview picks it)."""
    plans = list(QuotaPlan.objects.filter(status__in=[QuotaPlanStatus.ACTIVE, QuotaPlanStatus.ARCHIVED],
                                          effective_from__lte=f.start, effective_to__gt=f.start))
    plans.sort(key=lambda p: (p.status != QuotaPlanStatus.ACTIVE, p.metric != "bookings", p.name))
    return plans[0] if plans else None


@dataclass
class Leaf:
    """One leaf of the quota tree with its sums over the period's months in cents (``*_rep``: only the months
    from the rep's hire month on, as quotas counts them by rep and team), from the attainment summary."""

    id: int
    code: str
    name: str
    person_id: int | None
    person: str
    team_id: int | None
    team: str
    service_line_id: int | None
    region: str
    region_name: str
    # In cents, (quota, actual, quota of the elapsed months, actual to date, quota of the current month) over the
    # period (``quotas.selectors.LEAF_SUM_NAMES``): every month (``node``, summed as quotas sums a node: the
    # current month rounded once per row) and the rep's months (``rep``: the current month's elapsed quota
    # already rounded per leaf and added, as quotas does by rep and team).
    node: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    rep: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)



def region_choices(plan: QuotaPlan | None) -> list[tuple[str, str]]:
    """(code, name) of the plan's first-level nodes (the region filter's choices)."""
    if plan is None:
        return []
    return list(plan.quotas.filter(depth=1).order_by("name").values_list("code", "name"))


def _regions(plan: QuotaPlan) -> dict[int, tuple[str, str]]:
    """Leaf id -> (code, name) of its depth-1 ancestor (the region: the first level under the company)."""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT id, parent_id, depth, code, name, is_leaf FROM quotas_quota
                          WHERE tenant_id = %s AND plan_id = %s""", [require_tenant_id(), plan.pk])
        nodes = {r[0]: r for r in cursor.fetchall()}
    memo: dict[int, tuple[str, str]] = {}

    def region(pk: int) -> tuple[str, str]:
        if pk in memo:
            return memo[pk]
        node = nodes[pk]
        if node[2] <= 1 or node[1] is None or node[1] not in nodes:
            out = (node[3], node[4]) if node[2] == 1 else ("", "No region")
        else:
            out = region(node[1])
        memo[pk] = out
        return out

    return {pk: region(pk) for pk, node in nodes.items() if node[5]}


@dataclass
class Attainment:
    plan: QuotaPlan | None
    as_of: dt.date
    progress: Decimal  # the partial month's elapsed share
    leaves: list[Leaf]


def plan_leaves(f: Filters) -> Attainment:
    """The plan's leaves (narrowed by region, team and service line) with their sums over the period, read from
    the leaf-month attainment summary (``quotas.models.LeafAttainmentMonth``), rebuilt first when it is older
    than the plan's last allocation or attainment run."""
    plan = quota_plan(f)
    if plan is None:
        return Attainment(None, f.as_of, ZERO, [])
    if not summary_is_current(plan):
        from quotas.services import attainment_summary_refresh

        attainment_summary_refresh(plan=plan)
    window = period_window(plan, [m for m in plan.months if f.start <= m < f.end], f.as_of)
    share = window.share if window.partial is not None and window.first <= window.partial < window.stop else ZERO
    rows = leaf_period_sums(plan=plan, window=window)
    regions = _regions(plan) if rows else {}
    leaves = []
    for (pk, code, name, person_id, person, team_id, team, sl_id, _quota_id,
         quota, actual, full, partial, started, quota_r, actual_r, full_r, partial_r, started_r) in rows:
        if f.team and team_id != f.team:
            continue
        if f.service_line and sl_id != f.service_line:
            continue
        region = regions.get(pk, ("", "No region"))
        if f.region and region[0] != f.region:
            continue
        leaves.append(Leaf(pk, code, name, person_id, person, team_id, team, sl_id, region[0], region[1],
                           (quota, actual, full, started, partial),
                           (quota_r, actual_r, full_r + _elapsed(partial_r, share), started_r, 0)))
    return Attainment(plan, f.as_of, share, leaves)


def _elapsed(partial: int, share: Decimal) -> int:
    """The current month's quota × its elapsed share, in cents, rounded to the cent as
    ``quotas.selectors.attainment`` rounds a month (``(amount × share).quantize(CENT)``, the same Decimal
    operation). Quota to date = the elapsed months + this."""
    return int((_cents(partial) * share).quantize(CENT).scaleb(2)) if partial and share else 0


def _cents(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


class _Totals:
    """Cents summed over the leaves of one row (exact), turned into an ``AttainmentRow`` of Decimals at the end.
    The current month's quota (the fifth figure, node rows only) is multiplied by its elapsed share and rounded
    once for the row, as quotas rounds a node's month."""

    __slots__ = ("quota", "actual", "quota_to_date", "actual_to_date", "partial", "ids")

    def __init__(self) -> None:
        self.quota = self.actual = self.quota_to_date = self.actual_to_date = self.partial = 0
        self.ids: list[int] = []

    def add(self, leaf_id: int, sums: tuple[int, int, int, int, int]) -> None:
        self.quota += sums[0]
        self.actual += sums[1]
        self.quota_to_date += sums[2]
        self.actual_to_date += sums[3]
        self.partial += sums[4]
        self.ids.append(leaf_id)

    def row(self, key: str, label: str, level: str, share: Decimal) -> AttainmentRow:
        return AttainmentRow(key, label, level, _cents(self.quota), _cents(self.actual),
                             _cents(self.quota_to_date + _elapsed(self.partial, share)), _cents(self.actual_to_date),
                             self.ids)


def leaf_row(leaf: Leaf, share: Decimal, *, key: str, label: str, level: str = "node") -> AttainmentRow:
    """One leaf's own ``AttainmentRow`` (every month of the period, as a node)."""
    totals = _Totals()
    totals.add(leaf.id, leaf.node)
    return totals.row(key, label, level, share)


def attainment_rows(data: Attainment, *, by: str) -> list[AttainmentRow]:
    """``quotas.selectors.AttainmentRow`` per company, region (node sums: its quota node's figures, the current
    month's elapsed quota rounded once), team or rep (months from the hire month on, rounded per leaf as quotas
    does by rep and team; a vacancy is a row of its own, key ``v<leaf id>``), largest quota first."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {GROUPINGS}")
    groups: dict[str, tuple[str, _Totals]] = {}
    for leaf in data.leaves:
        if by == "company":
            key, label, sums = "all", data.plan.name if data.plan else "Company", leaf.node
        elif by == "region":
            key, label, sums = f"r{leaf.region}", leaf.region_name, leaf.node
        elif by == "team":
            key, label, sums = f"t{leaf.team_id or 0}", leaf.team or "No team", leaf.rep
        else:
            key = f"p{leaf.person_id}" if leaf.person_id else f"v{leaf.id}"
            label = leaf.person or f"Vacant: {leaf.code} {leaf.name}"
            sums = leaf.rep
        group = groups.get(key)
        if group is None:
            group = groups[key] = (label, _Totals())
        group[1].add(leaf.id, sums)
    ordered = sorted(groups.items(), key=lambda kv: (-kv[1][1].quota, kv[1][0]))
    return [totals.row(key, label, by, data.progress) for key, (label, totals) in ordered]


# -- pipeline, coverage, forecast vs quota ---------------------------------------------------------

def pipeline_snapshot(as_of: dt.date) -> None:
    """Make sure the pipeline of ``as_of`` is materialized (computed and stored on first read; refreshed nightly)."""
    from ..services import PIPELINE_ROWS_MARKER

    if not Snapshot.objects.filter(kind=SnapshotKind.PIPELINE, as_of=as_of,
                                   payload__has_key=PIPELINE_ROWS_MARKER).exists():
        from ..services import snapshot_refresh

        snapshot_refresh(kind=SnapshotKind.PIPELINE, as_of=as_of)


# Summed per owner over the snapshot's rows (analytics.models.PipelineMonth, cents) of the period's months.
_PIPELINE_SQL = """
    SELECT owner_id, (sum(close_cents) FILTER (WHERE month >= %(start)s))::bigint,
           sum(opportunities) FILTER (WHERE month >= %(start)s),
           (sum(landing_cents) FILTER (WHERE month >= %(rest)s))::bigint
    FROM analytics_pipelinemonth
    WHERE tenant_id = %(t)s AND as_of = %(as_of)s AND month >= least(%(start)s, %(rest)s) AND month < %(end)s
    GROUP BY owner_id
"""


@dataclass
class PipelineByOwner:
    """Per owner, in cents: the period pipeline (open on the as-of date, expected to close in the period), its
    opportunities, and the weighted amount landing in the period from the as-of month on."""

    period_pipeline: dict[int, int]
    opportunities: dict[int, int]
    weighted_rest: dict[int, int]


def pipeline_by_owner(f: Filters) -> PipelineByOwner:
    """Sums of the pipeline snapshot's rows of ``f.as_of`` over the period's months, per owner."""
    pipeline_snapshot(f.as_of)
    rest = max(f.start, f.as_of.replace(day=1))
    with connection.cursor() as cursor:
        cursor.execute(_PIPELINE_SQL, {"t": require_tenant_id(), "as_of": f.as_of, "start": f.start, "rest": rest,
                                       "end": f.end})
        rows = cursor.fetchall()
    close, count, landing = {}, {}, {}
    for owner, close_cents, n, landing_cents in rows:
        if close_cents is not None:
            close[owner], count[owner] = close_cents, int(n)
        if landing_cents is not None:
            landing[owner] = landing_cents
    return PipelineByOwner(close, count, landing)


@dataclass
class RepLine:
    """A rep's attainment row with their pipeline: coverage and forecast vs quota."""

    row: AttainmentRow
    person_id: int | None
    pipeline: Decimal
    opportunities: int
    weighted: Decimal

    @property
    def coverage(self) -> float | None:
        """Period pipeline / remaining quota (``forecasting.selectors.pipeline.coverage``)."""
        return coverage_ratio(pipeline=self.pipeline, quota=self.row.quota, actual=self.row.actual_to_date,
                              commit=None)

    @property
    def forecast(self) -> Decimal:
        """Where the period lands: actual to date + the weighted pipeline landing in the rest of the period."""
        return self.row.actual_to_date + self.weighted

    @property
    def forecast_vs_quota(self) -> float | None:
        return float(self.forecast / self.row.quota) if self.row.quota > 0 else None


def rep_lines(f: Filters, data: Attainment | None = None, *, by: str = "rep",
              pipe: PipelineByOwner | None = None) -> list[RepLine]:
    """Attainment rows (by rep, team, region or company) with the pipeline of the people in them."""
    data = data or plan_leaves(f)
    rows = attainment_rows(data, by=by)
    pipe = pipe or pipeline_by_owner(f)
    person_of = {leaf.id: leaf.person_id for leaf in data.leaves}
    close, count, landing = pipe.period_pipeline, pipe.opportunities, pipe.weighted_rest
    out = []
    for row in rows:
        people = {person_of[q] for q in row.quota_ids}
        people.discard(None)
        pipeline = opportunities = weighted = 0
        for p in people:
            pipeline += close.get(p, 0)
            opportunities += count.get(p, 0)
            weighted += landing.get(p, 0)
        out.append(RepLine(
            row=row, person_id=int(row.key[1:]) if by == "rep" and row.key.startswith("p") else None,
            pipeline=_cents(pipeline), opportunities=opportunities, weighted=_cents(weighted)))
    return out


# -- territory balance -------------------------------------------------------------------------------

def territory_balance(as_of: dt.date | None = None) -> dict[str, Any]:
    """The materialized balance of the active territory plan today (``territories.selectors.plan_balance``)."""
    as_of = as_of or timezone.localdate()
    snapshot = Snapshot.objects.filter(kind=SnapshotKind.TERRITORY_BALANCE, as_of=as_of).only(
        "payload", "computed_at").first()
    if snapshot is None:
        from ..services import snapshot_refresh

        snapshot = snapshot_refresh(kind=SnapshotKind.TERRITORY_BALANCE, as_of=as_of)
    return {**snapshot.payload, "computed_at": snapshot.computed_at}


# -- forecast accuracy -------------------------------------------------------------------------------

ACCURACY_LEVELS = ("company", "team", "rep")
TREND_SOURCES = 3


def accuracy(f: Filters) -> dict[str, Any]:
    """The leaderboard at the most scored of company/team/rep and the WAPE trend of its best sources
    (``forecasting.selectors.accuracy_board`` / ``accuracy_trend``, both from one aggregate of the level's scores:
    ``accuracy_board_and_trends``), over every closed period."""
    from forecasting.models import ForecastScore
    from forecasting.selectors import accuracy_board_and_trends

    level = next((lv for lv in ACCURACY_LEVELS if ForecastScore.objects.filter(level=lv).exists()), None)
    if level is None:
        return {"level": None, "board": [], "trends": []}
    board, frames = accuracy_board_and_trends(level=level)
    records = [{k: (None if v != v else v) for k, v in r.items()} for r in board.to_dict("records")]
    sources = []
    for r in records:
        if r["source"] not in sources and r.get("n", 0) >= 2:
            sources.append(r["source"])
    trends = []
    for source in sources[:TREND_SOURCES]:
        frame = frames[source]
        trends.append({"source": source, "points": [
            {"period": r["period__start"], "wape": None if r["wape"] is None or r["wape"] != r["wape"] else r["wape"],
             "n": r["n"]} for r in frame.to_dict("records")]})
    return {"level": level, "board": records, "trends": trends}


# -- commission cost ---------------------------------------------------------------------------------

def commission_cost(f: Filters) -> dict[str, Any]:
    """``payout_summary`` of the commission periods that start in the period and have a current run; the
    period's cost % is the same ratio over the summed cost and credited amount."""
    from commissions.models import CommissionPeriod
    from commissions.selectors.runs import payout_summary

    periods = list(CommissionPeriod.objects.filter(Q(start__gte=f.start) & Q(start__lt=f.end))
                   .exclude(current_run=None).order_by("start"))
    return commission_cost_of(payout_summary(periods=periods))


def commission_cost_of(summaries: list[Any]) -> dict[str, Any]:
    """Σ cost / Σ credited × 100 over ``PeriodPayout`` rows (``PeriodPayout.cost_pct``'s formula, summed)."""
    cost = sum((s.cost for s in summaries), ZERO)
    credited = sum((s.credited for s in summaries), ZERO)
    pct = (cost / credited * 100).quantize(Decimal("0.01")) if credited else None
    return {"periods": summaries, "cost": cost, "credited": credited, "cost_pct": pct,
            "payout": sum((s.payout for s in summaries), ZERO)}
