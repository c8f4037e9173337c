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
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from forecasting.selectors.pipeline import coverage as coverage_ratio
from quotas.models import QuotaPlan, QuotaPlanStatus
from quotas.selectors import CENT, AttainmentRow, fiscal_progress
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
    """One leaf of the quota tree with its sums over the period's months (``*_rep``: only the months from the
    rep's hire month on, as quotas counts them by rep and team)."""

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
    sums: dict[str, Decimal] = field(default_factory=dict)


_LEAVES_SQL = """
    SELECT q.id, q.code, q.name, q.person_id, coalesce(p.first_name || ' ' || p.last_name, ''), p.team_id,
           coalesce(t.name, ''), t.service_line_id,
           {sums}
    FROM quotas_quota q
    JOIN quotas_quotamonth m ON m.tenant_id = q.tenant_id AND m.quota_id = q.id AND m.month = ANY(%(months)s)
    LEFT JOIN revops_person p ON p.id = q.person_id
    LEFT JOIN revops_team t ON t.id = p.team_id
    WHERE q.tenant_id = %(t)s AND q.plan_id = %(plan)s AND q.is_leaf
    GROUP BY q.id, q.code, q.name, q.person_id, p.first_name, p.last_name, p.team_id, t.name, t.service_line_id
"""


def _sums_sql() -> str:
    parts = []
    for suffix, cond in (("", "true"), ("_rep", "(q.ramp_start IS NULL OR m.month >= q.ramp_start)")):
        parts += [
            f"coalesce(sum(m.amount) FILTER (WHERE {cond}), 0) AS quota{suffix}",
            f"coalesce(sum(m.actual) FILTER (WHERE {cond}), 0) AS actual{suffix}",
            f"coalesce(sum(m.amount) FILTER (WHERE {cond} AND m.month = ANY(%(full)s)), 0) AS quota_full{suffix}",
            f"coalesce(sum(m.amount) FILTER (WHERE {cond} AND m.month = %(partial)s), 0) AS quota_partial{suffix}",
            f"coalesce(sum(m.actual) FILTER (WHERE {cond} AND m.month = ANY(%(started)s)), 0) AS actual_started{suffix}",
        ]
    return ",\n           ".join(parts)


SUM_NAMES = [f"{n}{s}" for s in ("", "_rep") for n in ("quota", "actual", "quota_full", "quota_partial",
                                                         "actual_started")]


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
    """The plan's leaves (narrowed by region, team and service line) with their sums over the period."""
    plan = quota_plan(f)
    if plan is None:
        return Attainment(None, f.as_of, ZERO, [])
    progress = dict(zip(plan.months, fiscal_progress(plan, f.as_of)))
    months = [m for m in plan.months if f.start <= m < f.end]
    full = [m for m in months if progress[m] == 1]
    partial = [m for m in months if 0 < progress[m] < 1]
    started = [m for m in months if progress[m] > 0]
    share = progress[partial[0]] if partial else ZERO
    with connection.cursor() as cursor:
        cursor.execute(_LEAVES_SQL.format(sums=_sums_sql()),
                       {"t": require_tenant_id(), "plan": plan.pk, "months": months, "full": full,
                        "partial": partial[0] if partial else None, "started": started})
        rows = cursor.fetchall()
    regions = _regions(plan)
    leaves = []
    for pk, code, name, person_id, person, team_id, team, sl_id, *sums in rows:
        region = regions.get(pk, ("", "No region"))
        leaf = Leaf(pk, code, name, person_id, person, team_id, team, sl_id, region[0], region[1],
                    dict(zip(SUM_NAMES, sums)))
        if f.region and leaf.region != f.region:
            continue
        if f.team and leaf.team_id != f.team:
            continue
        if f.service_line and leaf.service_line_id != f.service_line:
            continue
        leaves.append(leaf)
    return Attainment(plan, f.as_of, share, leaves)


def _add(row: AttainmentRow, leaf: Leaf, share: Decimal, suffix: str) -> None:
    s = leaf.sums
    row.quota += s[f"quota{suffix}"]
    row.actual += s[f"actual{suffix}"]
    # Quota to date: the elapsed months + the current month × its elapsed share, rounded per node as quotas does.
    row.quota_to_date += s[f"quota_full{suffix}"] + (s[f"quota_partial{suffix}"] * share).quantize(CENT)
    row.actual_to_date += s[f"actual_started{suffix}"]
    row.quota_ids.append(leaf.id)


def attainment_rows(data: Attainment, *, by: str) -> list[AttainmentRow]:
    """``quotas.selectors.AttainmentRow`` per company, region (node sums), team or rep (months from the hire
    month on; a vacancy is a row of its own, key ``v<leaf id>``), largest quota first."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {GROUPINGS}")
    rows: dict[str, AttainmentRow] = {}
    for leaf in data.leaves:
        if by == "company":
            key, label, suffix = "all", data.plan.name if data.plan else "Company", ""
        elif by == "region":
            key, label, suffix = f"r{leaf.region}", leaf.region_name, ""
        elif by == "team":
            key, label, suffix = f"t{leaf.team_id or 0}", leaf.team or "No team", "_rep"
        else:
            key = f"p{leaf.person_id}" if leaf.person_id else f"v{leaf.id}"
            label = leaf.person or f"Vacant: {leaf.code} {leaf.name}"
            suffix = "_rep"
        row = rows.get(key) or AttainmentRow(key, label, by, ZERO, ZERO, ZERO, ZERO, [])
        _add(row, leaf, data.progress, suffix)
        rows[key] = row
    return sorted(rows.values(), key=lambda r: (-r.quota, r.label))


# -- pipeline, coverage, forecast vs quota ---------------------------------------------------------

def pipeline_snapshot(as_of: dt.date) -> None:
    """Make sure the pipeline of ``as_of`` is materialized (computed and stored on first read; refreshed nightly)."""
    if not Snapshot.objects.filter(kind=SnapshotKind.PIPELINE, as_of=as_of).exists():
        from ..services import snapshot_refresh

        snapshot_refresh(kind=SnapshotKind.PIPELINE, as_of=as_of)


# Summed in SQL over the stored payload's elements: [owner, month, amount(, count)].
_PIPELINE_SQL = """
    SELECT (e->>0)::bigint, sum((e->>2)::numeric), {count}
    FROM analytics_snapshot s, jsonb_array_elements(s.payload->'{part}') e
    WHERE s.tenant_id = %(t)s AND s.kind = 'pipeline' AND s.as_of = %(as_of)s AND e->>1 = ANY(%(months)s)
    GROUP BY 1
"""


@dataclass
class PipelineByOwner:
    period_pipeline: dict[int, Decimal]  # open on as_of, expected to close in the period
    opportunities: dict[int, int]
    weighted_rest: dict[int, Decimal]  # weighted amount landing in the period from the as-of month on


def pipeline_by_owner(f: Filters) -> PipelineByOwner:
    pipeline_snapshot(f.as_of)
    params = {"t": require_tenant_id(), "as_of": f.as_of}
    with connection.cursor() as cursor:
        cursor.execute(_PIPELINE_SQL.format(part="close", count="sum((e->>3)::int)"),
                       {**params, "months": [m.isoformat() for m in f.months]})
        close = cursor.fetchall()
        cursor.execute(_PIPELINE_SQL.format(part="landing", count="0"),
                       {**params, "months": [m.isoformat() for m in f.months if m >= f.as_of.replace(day=1)]})
        landing = cursor.fetchall()
    return PipelineByOwner({o: a for o, a, _ in close}, {o: int(n) for o, _, n in close},
                           {o: a for o, a, _ in landing})


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
    people_of: dict[str, set[int]] = {}
    leaf_by_id = {leaf.id: leaf for leaf in data.leaves}
    for row in rows:
        people_of[row.key] = {leaf_by_id[q].person_id for q in row.quota_ids if leaf_by_id[q].person_id}
    out = []
    for row in rows:
        people = people_of[row.key]
        out.append(RepLine(
            row=row, person_id=int(row.key[1:]) if by == "rep" and row.key.startswith("p") else None,
            pipeline=sum((pipe.period_pipeline.get(p, ZERO) for p in people), ZERO),
            opportunities=sum(pipe.opportunities.get(p, 0) for p in people),
            weighted=sum((pipe.weighted_rest.get(p, ZERO) for p in people), ZERO).quantize(CENT)))
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
    (``forecasting.selectors.accuracy_board`` / ``accuracy_trend``), over every closed period."""
    from forecasting.models import ForecastScore
    from forecasting.selectors import accuracy_board, accuracy_trend

    level = next((lv for lv in ACCURACY_LEVELS if ForecastScore.objects.filter(level=lv).exists()), None)
    if level is None:
        return {"level": None, "board": [], "trends": []}
    board = accuracy_board(level=level)
    records = [{k: (None if v != v else v) for k, v in r.items()} for r in board.to_dict("records")]
    sources = []
    for r in records:
        if r["source"] not in sources and r.get("n", 0) >= 2:
            sources.append(r["source"])
    trends = []
    for source in sources[:TREND_SOURCES]:
        frame = accuracy_trend(source=source, level=level)
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
