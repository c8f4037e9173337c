"""Reads of the quotas app: the workbench tree, fairness and feasibility checks, reconciliation,
attainment and pace by node, rep, team and level, and a node's quota history."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from revops.tenancy import require_tenant_id

from . import engine
from .models import LeafAttainmentMonth, Quota, QuotaMonth, QuotaPlan, QuotaPlanStatus, QuotaRelief

CENT = Decimal("0.01")
RATIO_BANDS = (0.8, 0.9, 1.0, 1.1, 1.2)  # edges, relative to the median quota-to-potential ratio


def plans() -> QuerySet[QuotaPlan]:
    return QuotaPlan.objects.select_related("territory_plan", "seasonality").order_by("-fiscal_year", "name")


def nodes(*, plan: QuotaPlan) -> list[Quota]:
    """The plan's nodes depth-first (children after their parent, by code)."""
    rows = list(Quota.objects.filter(plan=plan).select_related("person", "person__team", "bottom_up_by")
                .order_by("code"))
    children: dict[int | None, list[Quota]] = {}
    for q in rows:
        children.setdefault(q.parent_id, []).append(q)
    out: list[Quota] = []

    def walk(parent: int | None) -> None:
        for q in children.get(parent, []):
            out.append(q)
            walk(q.pk)

    walk(None)
    return out


def month_grid(*, plan: QuotaPlan) -> dict[int, list[QuotaMonth]]:
    grid: dict[int, list[QuotaMonth]] = {}
    for m in QuotaMonth.objects.filter(quota__plan=plan).order_by("quota_id", "month"):
        grid.setdefault(m.quota_id, []).append(m)
    return grid


def _ratio(amount: Decimal, potential: Decimal) -> float | None:
    return float(amount / potential) if potential > 0 else None


def _band(relative: float) -> int:
    return int(np.searchsorted(RATIO_BANDS, relative, side="right"))


def band_label(band: int) -> str:
    edges = (0.0, *RATIO_BANDS, None)
    low, high = edges[band], edges[band + 1]
    return f"{low:.0%}–{high:.0%} of median" if high is not None else f"over {low:.0%} of median"


@dataclass
class Fairness:
    median_ratio: float | None
    gini: float | None
    leaves: int
    flags: dict[int, list[str]] = field(default_factory=dict)  # quota id -> reasons
    ratios: dict[int, float | None] = field(default_factory=dict)
    similar: dict[int, tuple[float, int] | None] = field(default_factory=dict)  # share attained, reps at that band
    warnings: list[str] = field(default_factory=list)
    prior_plan: QuotaPlan | None = None


def previous_plan(plan: QuotaPlan) -> QuotaPlan | None:
    return (QuotaPlan.objects.filter(fiscal_year=plan.fiscal_year - 1, metric=plan.metric,
                                     custom_metric=plan.custom_metric,
                                     status__in=[QuotaPlanStatus.ACTIVE, QuotaPlanStatus.ARCHIVED])
            .order_by("-status", "-activated_at").first())


def fairness(*, plan: QuotaPlan) -> Fairness:
    """Quota-to-potential ratios per leaf and the checks built on them.

    - ratio = the leaf's quota (after ramp and relief) / its potential;
    - outlier: a ratio more than the plan's ``outlier_band`` (default 25%) above or below the median
      ratio, or a quota on a territory with no potential;
    - Gini coefficient of the ratios (quota burden relative to potential; 0 = perfectly even);
    - similar-ratio history: for each leaf, the share of last fiscal year's reps whose ratio fell in
      the same band (relative to that year's median) and who reached quota;
    - warnings: quotas that add to less than the company target; a quota above its potential.
    """
    leaves = [q for q in Quota.objects.filter(plan=plan, is_leaf=True).order_by("code")]
    out = Fairness(median_ratio=None, gini=None, leaves=len(leaves))
    ratios = {q.pk: _ratio(q.amount, q.potential) for q in leaves}
    out.ratios = ratios
    known = np.array([r for r in ratios.values() if r is not None])
    if len(known):
        out.median_ratio = float(np.median(known))
        out.gini = engine.gini(known)
    band = float(plan.outlier_band)
    for q in leaves:
        reasons: list[str] = []
        r = ratios[q.pk]
        if r is None and q.amount > 0:
            reasons.append("quota on a territory with no potential")
        elif r is not None and out.median_ratio and abs(r / out.median_ratio - 1) > band:
            direction = "above" if r > out.median_ratio else "below"
            reasons.append(f"quota-to-potential {r:.2f} is {abs(r / out.median_ratio - 1):.0%} {direction} the "
                           f"median {out.median_ratio:.2f}")
        if q.potential > 0 and q.amount > q.potential:
            reasons.append(f"quota {q.amount:,.0f} exceeds the territory's potential {q.potential:,.0f}")
        if reasons:
            out.flags[q.pk] = reasons
    prior = previous_plan(plan)
    out.prior_plan = prior
    if prior is not None and out.median_ratio:
        history = [(_ratio(q.amount, q.potential), q.actual >= q.amount and q.amount > 0)
                   for q in Quota.objects.filter(plan=prior, is_leaf=True)]
        history = [(r, hit) for r, hit in history if r is not None]
        if history:
            prior_median = float(np.median([r for r, _ in history]))
            by_band: dict[int, list[bool]] = {}
            for r, hit in history:
                by_band.setdefault(_band(r / prior_median), []).append(hit)
            for q in leaves:
                r = ratios[q.pk]
                if r is None:
                    out.similar[q.pk] = None
                    continue
                hits = by_band.get(_band(r / out.median_ratio))
                out.similar[q.pk] = (sum(hits) / len(hits), len(hits)) if hits else None
    total = sum((q.amount for q in leaves), Decimal(0))
    if total < plan.company_target:
        out.warnings.append(f"Leaf quotas add to {total:,.2f}, {plan.company_target - total:,.2f} below the company "
                            f"target of {plan.company_target:,.2f} (ramp of new hires and relief to accounts outside "
                            "the plan are not re-spread).")
    over = sum(1 for q in leaves if q.potential > 0 and q.amount > q.potential)
    if over:
        out.warnings.append(f"{over} quota{'s' if over != 1 else ''} exceed{'s' if over == 1 else ''} what the "
                            "territory's potential can support.")
    out.warnings.extend(plan.allocation_warnings or [])
    return out


def reconciliation(*, plan: QuotaPlan) -> list[dict[str, Any]]:
    """Top-down vs bottom-up per node: a parent without its own submission shows the sum of its
    children's (where every child submitted)."""
    tree = nodes(plan=plan)
    children: dict[int, list[Quota]] = {}
    for q in tree:
        if q.parent_id is not None:
            children.setdefault(q.parent_id, []).append(q)
    submitted: dict[int, Decimal | None] = {}
    for q in reversed(tree):  # children before parents
        if q.bottom_up is not None:
            submitted[q.pk] = q.bottom_up
            continue
        kids = children.get(q.pk, [])
        if kids and all(submitted.get(k.pk) is not None for k in kids):
            submitted[q.pk] = sum((submitted[k.pk] for k in kids), Decimal(0))  # type: ignore[misc]
        else:
            submitted[q.pk] = None
    rows = []
    for q in tree:
        bu = submitted[q.pk]
        rows.append({"quota": q, "top_down": q.annual, "bottom_up": bu, "own_submission": q.bottom_up is not None,
                     "gap": (bu - q.annual) if bu is not None else None,
                     "gap_pct": float((bu - q.annual) / q.annual) if bu is not None and q.annual else None})
    return rows


def fiscal_progress(plan: QuotaPlan, as_of: dt.date) -> list[Decimal]:
    """For each fiscal month, the share of it elapsed by ``as_of`` (1 for past months, 0 for future)."""
    out = []
    for j, month in enumerate(plan.months):
        end = plan.months[j + 1] if j + 1 < 12 else plan.effective_to
        if as_of >= end:
            out.append(Decimal(1))
        elif as_of <= month:
            out.append(Decimal(0))
        else:
            out.append(Decimal((as_of - month).days) / Decimal((end - month).days))
    return out


@dataclass
class AttainmentRow:
    key: str
    label: str
    level: str
    quota: Decimal
    actual: Decimal
    quota_to_date: Decimal
    actual_to_date: Decimal
    quota_ids: list[int]

    @property
    def attainment(self) -> float | None:
        return float(self.actual / self.quota) if self.quota > 0 else None

    @property
    def pace(self) -> float | None:
        """Actual to date / quota to date (1.0 = on pace)."""
        return float(self.actual_to_date / self.quota_to_date) if self.quota_to_date > 0 else None

    @property
    def gap(self) -> Decimal:
        return self.quota - self.actual


GROUPINGS = ("node", "rep", "team", "level")


def quarter_months(plan: QuotaPlan, quarter: int) -> list[dt.date]:
    """The three months of fiscal quarter ``quarter`` (1-4) of the plan's year."""
    if quarter not in (1, 2, 3, 4):
        raise ValueError("a fiscal quarter is 1, 2, 3 or 4")
    return plan.months[3 * (quarter - 1):3 * quarter]


def attainment(*, plan: QuotaPlan, by: str = "node", as_of: dt.date | None = None,
               month: dt.date | None = None, quarter: int | None = None) -> list[AttainmentRow]:
    """Quota and credited actuals for the year (or one month, or one fiscal quarter) with pace to ``as_of``.

    ``by``: node (every node of the tree), rep (leaves summed per person; vacancies as one row
    each), team (leaves summed per the rep's team), level (nodes summed per hierarchy level).
    Quota to date counts the elapsed share of the current month (days); actuals to date are the
    credited months up to ``as_of``. By rep and team, the months before a rep's hire month (a
    mid-year hire's vacant months, which carry no quota) are left out: the territory's sales then
    were not theirs.
    """
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {GROUPINGS}")
    as_of = as_of or timezone.localdate()
    progress = fiscal_progress(plan, as_of)
    wanted = set(quarter_months(plan, quarter)) if quarter is not None else None
    tree = nodes(plan=plan)
    grid = month_grid(plan=plan)
    rows: dict[str, AttainmentRow] = {}
    for q in tree:
        if by in ("rep", "team") and not q.is_leaf:
            continue
        if by == "node":
            key, label, level = str(q.pk), f"{q.code} {q.name}", q.level
        elif by == "level":
            key, label, level = f"{q.depth}:{q.level}", q.level.title(), q.level
        elif by == "rep":
            key = f"p{q.person_id}" if q.person_id else f"v{q.pk}"
            label = q.person.full_name if q.person else f"Vacant: {q.code} {q.name}"
            level = "rep"
        else:
            team = q.person.team if q.person and q.person.team_id else None
            key, label, level = f"t{team.pk if team else 0}", team.name if team else "No team", "team"
        row = rows.get(key) or AttainmentRow(key, label, level, Decimal(0), Decimal(0), Decimal(0), Decimal(0), [])
        for j, m in enumerate(grid.get(q.pk, [])):
            if month is not None and m.month != month:
                continue
            if wanted is not None and m.month not in wanted:
                continue
            if by in ("rep", "team") and q.ramp_start is not None and m.month < q.ramp_start:
                continue  # before the rep's hire month: the territory's sales, not theirs
            row.quota += m.amount
            row.actual += m.actual
            row.quota_to_date += (m.amount * progress[j]).quantize(CENT)
            if progress[j] > 0:
                row.actual_to_date += m.actual
        row.quota_ids.append(q.pk)
        rows[key] = row
    return list(rows.values())


def quota_history(*, quota: Quota) -> dict[str, Any]:
    """A node's months (allocated, ramp, relief, amount, actual) and every relief in or out of it."""
    return {
        "months": list(QuotaMonth.objects.filter(quota=quota).order_by("month")),
        "relief_out": list(QuotaRelief.objects.filter(from_quota=quota).select_related("account", "to_quota")
                           .order_by("effective_date", "month")),
        "relief_in": list(QuotaRelief.objects.filter(to_quota=quota).select_related("account", "from_quota")
                          .order_by("effective_date", "month")),
    }


def check_sums(*, plan: QuotaPlan) -> list[str]:
    """Every parent's annual target equals its children's, and every month too (empty = all good)."""
    problems: list[str] = []
    tree = {q.pk: q for q in Quota.objects.filter(plan=plan)}
    kids: dict[int, list[Quota]] = {}
    for q in tree.values():
        if q.parent_id:
            kids.setdefault(q.parent_id, []).append(q)
    grid = month_grid(plan=plan)
    for pk, children in kids.items():
        parent = tree[pk]
        if sum((c.annual for c in children), Decimal(0)) != parent.annual:
            problems.append(f"{parent.code}: annual {parent.annual} != children {sum(c.annual for c in children)}")
        for j, m in enumerate(grid.get(pk, [])):
            child_sum = sum((grid[c.pk][j].amount for c in children), Decimal(0))
            if child_sum != m.amount:
                problems.append(f"{parent.code} {m.month:%Y-%m}: {m.amount} != children {child_sum}")
    return problems


def leaf_attainment_by_code(*, on: dt.date | None = None) -> dict[str, dict[str, Any]]:
    """Current attainment per territory code from the active quota plan whose fiscal year contains
    ``on`` (today by default; bookings first when several metrics are active): what territory
    balance pages show next to potential and workload."""
    on = on or timezone.localdate()
    candidates = list(QuotaPlan.objects.filter(status=QuotaPlanStatus.ACTIVE, effective_from__lte=on,
                                               effective_to__gt=on))
    candidates.sort(key=lambda p: (p.metric != "bookings", p.name))
    plan = candidates[0] if candidates else None
    if plan is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for q in Quota.objects.filter(plan=plan, is_leaf=True).only("code", "amount", "actual"):
        out[q.code] = {"quota_plan": plan.name, "metric": plan.get_metric_display(), "quota": q.amount,
                       "actual": q.actual, "attainment": float(q.actual / q.amount) if q.amount > 0 else None}
    return out


# -- the leaf-month attainment summary (LeafAttainmentMonth) ---------------------------------------------------

def summary_is_current(plan: QuotaPlan) -> bool:
    """True when the plan's attainment summary was rebuilt after its last allocation and attainment run."""
    if plan.summary_at is None:
        return False
    return all(stamp is None or stamp <= plan.summary_at for stamp in (plan.allocated_at, plan.attainment_at))


@dataclass(frozen=True)
class PeriodWindow:
    """A run of the plan's fiscal months as indexes: the period ``[first, stop)``, the months fully elapsed by
    the as-of date ``[0, full_stop)``, the month it falls in (``partial``, its elapsed ``share``) and the months
    begun ``[0, started_stop)`` (what ``fiscal_progress`` says month by month)."""

    first: int
    stop: int
    full_stop: int
    partial: int | None
    share: Decimal
    started_stop: int


def period_window(plan: QuotaPlan, months: list[dt.date], as_of: dt.date) -> PeriodWindow:
    """The window of ``months`` (consecutive months of the plan's year) as of ``as_of``."""
    progress = fiscal_progress(plan, as_of)
    full_stop = sum(1 for p in progress if p == 1)  # elapsed months come first
    partial = next((j for j, p in enumerate(progress) if 0 < p < 1), None)
    index = {m: j for j, m in enumerate(plan.months)}
    ks = [index[m] for m in months if m in index]
    first, stop = (ks[0], ks[-1] + 1) if ks else (0, 0)
    return PeriodWindow(first, stop, full_stop, partial, progress[partial] if partial is not None else Decimal(0),
                        full_stop + (1 if partial is not None else 0))


# Per leaf, cents: quota, actual, quota of the elapsed months, quota of the current month, actual of the begun
# months; then the same as the rep counts them (from the hire month on). Dimensions are read live.
LEAF_SUMS_SQL = """
    WITH s AS (
        SELECT quota_id,
               sum(amount_cents)::bigint, sum(actual_cents)::bigint,
               coalesce(sum(amount_cents) FILTER (WHERE k < %(full_stop)s), 0)::bigint,
               coalesce(sum(amount_cents) FILTER (WHERE k = %(partial)s), 0)::bigint,
               coalesce(sum(actual_cents) FILTER (WHERE k < %(started_stop)s), 0)::bigint,
               sum(amount_rep_cents)::bigint, sum(actual_rep_cents)::bigint,
               coalesce(sum(amount_rep_cents) FILTER (WHERE k < %(full_stop)s), 0)::bigint,
               coalesce(sum(amount_rep_cents) FILTER (WHERE k = %(partial)s), 0)::bigint,
               coalesce(sum(actual_rep_cents) FILTER (WHERE k < %(started_stop)s), 0)::bigint
        FROM quotas_leafattainmentmonth
        WHERE tenant_id = %(t)s AND plan_id = %(plan)s AND k >= %(first)s AND k < %(stop)s
        GROUP BY quota_id
    )
    SELECT q.id, q.code, q.name, q.person_id, coalesce(p.first_name || ' ' || p.last_name, ''), p.team_id,
           coalesce(t.name, ''), t.service_line_id, s.*
    FROM s JOIN quotas_quota q ON q.id = s.quota_id AND q.tenant_id = %(t)s
    LEFT JOIN revops_person p ON p.id = q.person_id AND p.tenant_id = %(t)s
    LEFT JOIN revops_team t ON t.id = p.team_id AND t.tenant_id = %(t)s
"""
LEAF_SUM_NAMES = [f"{n}{s}" for s in ("", "_rep") for n in ("quota", "actual", "quota_full", "quota_partial",
                                                              "actual_started")]


def leaf_period_sums(*, plan: QuotaPlan, window: PeriodWindow) -> list[tuple[Any, ...]]:
    """Per leaf of the plan with months in the window: (id, code, name, person id, person, team id, team,
    service line id, quota id, then ``LEAF_SUM_NAMES`` in cents), from the attainment summary.

    The sums are ``attainment``'s (by node for the leaf, by rep and team for the ``_rep`` ones) before the
    current month's elapsed share is applied; the caller rounds ``quota_partial × share`` to the cent per leaf,
    as ``attainment`` does per month."""
    if window.stop <= window.first:
        return []
    with connection.cursor() as cursor:
        cursor.execute(LEAF_SUMS_SQL, {"t": require_tenant_id(), "plan": plan.pk, "first": window.first,
                                       "stop": window.stop, "full_stop": window.full_stop,
                                       "partial": -1 if window.partial is None else window.partial,
                                       "started_stop": window.started_stop})
        return cursor.fetchall()


def summary_months(*, plan: QuotaPlan) -> dict[tuple[int, dt.date], tuple[int, int, int, int]]:
    """The summary's rows as {(leaf id, month): (amount, actual, amount_rep, actual_rep) in cents} (tests and
    checks compare it with the quota months)."""
    return {(r.quota_id, r.month): (r.amount_cents, r.actual_cents, r.amount_rep_cents, r.actual_rep_cents)
            for r in LeafAttainmentMonth.objects.filter(plan=plan)}
