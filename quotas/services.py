"""Writes of the quotas app: plans and their lifecycle, the allocation tree, allocation and phasing,
overrides, bottom-up submissions, seasonality, credited transactions and attainment.

Every function works in the active organization and in one transaction. A plan is edited while
it is a draft; approval (executives, admins) freezes it, activation makes it the plan attainment
is reported against. ``plan_allocate`` recomputes every number of a plan from its inputs
(target, weights, bases, overrides, seasonality, ramp, ownership changes) set-based: one pass of
``quotas.engine`` over the whole tree, written back with COPY.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from revops.audit import audit_bulk
from revops.bulk import staging_copy, staging_create, staging_drop
from revops.models import Organization
from revops.models.audit import AuditAction
from revops.tenancy import require_tenant_id
from territories.models import Coverage, CoverageRole, Territory, TerritoryPlan
from territories.selectors import account_potentials

from . import engine
from .models import (
    CreditedTransaction,
    Quota,
    QuotaMetric,
    QuotaMonth,
    QuotaPlan,
    QuotaPlanStatus,
    QuotaRelief,
    SeasonalityProfile,
    SeasonalitySource,
    fiscal_months,
    fiscal_year_start,
)

ROOT_CODE = "COMPANY"
FLAT = [Decimal(1) / 12] * 12


def _editable(plan: QuotaPlan) -> None:
    if not plan.is_editable:
        raise ValidationError(f"The plan is {plan.get_status_display().lower()}: only a draft can be changed. "
                              "Return it to draft first.")


def _rows(sql: str, params: dict[str, Any] | Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _check_weights(weights: dict[str, Decimal]) -> None:
    if any(Decimal(w) < 0 for w in weights.values()):
        raise ValidationError("Method weights cannot be negative.")
    if sum(Decimal(w) for w in weights.values()) <= 0:
        raise ValidationError("Give at least one allocation method a weight above zero.")


# -- plans -----------------------------------------------------------------------------------------

@transaction.atomic
def plan_create(*, name: str, fiscal_year: int, territory_plan: TerritoryPlan, company_target: Decimal,
                metric: str = QuotaMetric.BOOKINGS, custom_metric: str = "", weights: dict[str, Decimal] | None = None,
                seasonality: SeasonalityProfile | None = None, ramp_percents: list[Decimal] | None = None,
                outlier_band: Decimal | None = None, user: Any | None = None) -> QuotaPlan:
    """A draft plan for a fiscal year on a territory plan's hierarchy, built and allocated."""
    org = Organization.objects.get(pk=require_tenant_id())
    start = fiscal_year_start(fiscal_year, org.fiscal_year_start_month)
    if metric == QuotaMetric.CUSTOM and not custom_metric.strip():
        raise ValidationError("A custom metric needs its code (what the transactions fed through the API carry).")
    if Decimal(company_target) < 0:
        raise ValidationError("The company target cannot be negative.")
    fields: dict[str, Any] = {}
    if weights is not None:
        _check_weights(weights)
        fields = {f"weight_{k}": Decimal(v) for k, v in weights.items()}
    if ramp_percents is not None:
        if any(not (0 <= Decimal(p) <= 100) for p in ramp_percents):
            raise ValidationError("Ramp percents are between 0 and 100.")
        fields["ramp_percents"] = [Decimal(p) for p in ramp_percents]
    if outlier_band is not None:
        fields["outlier_band"] = Decimal(outlier_band)
    if QuotaPlan.objects.filter(name=name).exists():
        raise ValidationError(f"A quota plan named {name!r} already exists.")
    plan = QuotaPlan.objects.create(
        name=name, fiscal_year=fiscal_year, metric=metric, custom_metric=custom_metric.strip(),
        territory_plan=territory_plan, company_target=Decimal(company_target), seasonality=seasonality,
        effective_from=start, effective_to=fiscal_year_start(fiscal_year + 1, org.fiscal_year_start_month),
        created_by=user if getattr(user, "pk", None) else None, **fields)
    tree_build(plan=plan)
    plan_allocate(plan=plan)
    return plan


ALLOCATION_FIELDS = {"company_target", "weight_even", "weight_potential", "weight_prior_year", "weight_ttm",
                     "weight_custom", "seasonality", "ramp_percents"}
PLAN_FIELDS = ALLOCATION_FIELDS | {"name", "outlier_band"}


@transaction.atomic
def plan_update(*, plan: QuotaPlan, **fields: Any) -> QuotaPlan:
    """Change a draft's name, target, method weights, seasonality, ramp or outlier band; re-allocate
    when a number the allocation uses changed."""
    _editable(plan)
    unknown = set(fields) - PLAN_FIELDS
    if unknown:
        raise ValidationError(f"These plan fields cannot be edited: {', '.join(sorted(unknown))}")
    if "company_target" in fields and Decimal(fields["company_target"]) < 0:
        raise ValidationError("The company target cannot be negative.")
    if "name" in fields and QuotaPlan.objects.filter(name=fields["name"]).exclude(pk=plan.pk).exists():
        raise ValidationError(f"A quota plan named {fields['name']!r} already exists.")
    for key, value in fields.items():
        setattr(plan, key, value)
    _check_weights(plan.weights)
    plan.save(update_fields=list(fields))
    if ALLOCATION_FIELDS & set(fields):
        plan_allocate(plan=plan)
    return plan


@transaction.atomic
def plan_approve(*, plan: QuotaPlan, user: Any) -> QuotaPlan:
    if plan.status != QuotaPlanStatus.DRAFT:
        raise ValidationError("Only a draft can be approved.")
    plan_allocate(plan=plan)
    plan.status, plan.approved_by, plan.approved_at = QuotaPlanStatus.APPROVED, user, timezone.now()
    plan.save(update_fields=["status", "approved_by", "approved_at"])
    return plan


@transaction.atomic
def plan_activate(*, plan: QuotaPlan, user: Any | None = None) -> QuotaPlan:
    """Make an approved plan the active one for its fiscal year and metric (the previous one is archived)."""
    if plan.status != QuotaPlanStatus.APPROVED:
        raise ValidationError("Only an approved plan can be activated.")
    QuotaPlan.objects.filter(status=QuotaPlanStatus.ACTIVE, fiscal_year=plan.fiscal_year, metric=plan.metric,
                             custom_metric=plan.custom_metric).exclude(pk=plan.pk).update(status=QuotaPlanStatus.ARCHIVED)
    plan.status, plan.activated_at = QuotaPlanStatus.ACTIVE, timezone.now()
    plan.save(update_fields=["status", "activated_at"])
    attainment_refresh(plan=plan)
    return plan


@transaction.atomic
def plan_archive(*, plan: QuotaPlan) -> QuotaPlan:
    """Archive an active or approved plan (a closed fiscal year): read-only, kept for history and for
    the fairness check's "similar ratios last year"."""
    if plan.status not in (QuotaPlanStatus.ACTIVE, QuotaPlanStatus.APPROVED):
        raise ValidationError("Only an approved or active plan can be archived; delete a draft instead.")
    plan.status = QuotaPlanStatus.ARCHIVED
    plan.save(update_fields=["status"])
    return plan


@transaction.atomic
def plan_return_to_draft(*, plan: QuotaPlan) -> QuotaPlan:
    if plan.status != QuotaPlanStatus.APPROVED:
        raise ValidationError("Only an approved plan that is not active yet can go back to draft.")
    plan.status, plan.approved_by, plan.approved_at = QuotaPlanStatus.DRAFT, None, None
    plan.save(update_fields=["status", "approved_by", "approved_at"])
    return plan


@transaction.atomic
def plan_delete(*, plan: QuotaPlan) -> None:
    if plan.status == QuotaPlanStatus.ACTIVE:
        raise ValidationError("The active plan cannot be deleted; activate another plan first.")
    plan.delete()


# -- the tree and its bases ------------------------------------------------------------------------

@transaction.atomic
def tree_build(*, plan: QuotaPlan) -> int:
    """(Re)build the plan's nodes from its territory plan: a company root, then every territory.

    Nodes are matched by territory code, so overrides, bottom-up submissions and custom bases of
    territories that still exist survive a rebuild. A leaf's rep is the primary covering its
    territory on the plan's first day; a rep hired less than the ramp's length before (or during)
    the fiscal year ramps from their hire month.
    """
    _editable(plan)
    tenant_id = require_tenant_id()
    QuotaPlan.objects.filter(pk=plan.pk).update(summary_at=None)  # leaves and ramps may change: rebuild on read
    plan.summary_at = None
    territories = list(Territory.objects.filter(plan=plan.territory_plan).order_by("code"))
    coverage = {c.territory_id: c for c in Coverage.objects.filter(
        territory__plan=plan.territory_plan, role=CoverageRole.PRIMARY, valid_from__lte=plan.effective_from,
    ).exclude(valid_to__lte=plan.effective_from).select_related("person")}
    # Territories without a primary on day one: whoever starts covering first during the year.
    for c in Coverage.objects.filter(territory__plan=plan.territory_plan, role=CoverageRole.PRIMARY,
                                     valid_from__gt=plan.effective_from, valid_from__lt=plan.effective_to
                                     ).select_related("person").order_by("valid_from"):
        coverage.setdefault(c.territory_id, c)
    parents = {t.parent_id for t in territories if t.parent_id is not None}
    by_id = {t.pk: t for t in territories}
    Quota.objects.filter(plan=plan).exclude(code__in=[ROOT_CODE] + [t.code for t in territories]).delete()

    depth_cache: dict[int, int] = {}

    def depth_of(t: Territory) -> int:
        if t.pk not in depth_cache:
            depth_cache[t.pk] = 1 if t.parent_id is None else depth_of(by_id[t.parent_id]) + 1
        return depth_cache[t.pk]

    ramp_months = len(plan.ramp_percents or [])
    # (code, parent code, name, level, depth, is_leaf, territory, person, ramp start)
    rows: list[tuple[Any, ...]] = [(ROOT_CODE, None, "Company", "company", 0, not territories, None, None, None)]
    for t in territories:
        is_leaf = t.pk not in parents
        cov = coverage.get(t.pk) if is_leaf else None
        ramp_start = None
        if cov is not None and cov.person is not None and ramp_months:
            # New to the company, not new to the territory: a veteran who takes over a territory
            # does not ramp. The hire month is the ramp's first month.
            start = cov.person.hire_date.replace(day=1)
            if engine.month_index(start, plan.effective_from) < ramp_months and start < plan.effective_to:
                ramp_start = start
        elif cov is not None and ramp_months and cov.valid_from < plan.effective_to:
            # A to-be-hired placeholder ramps from the month its coverage starts.
            ramp_start = max(cov.valid_from, plan.effective_from).replace(day=1)
        parent_code = by_id[t.parent_id].code if t.parent_id is not None else ROOT_CODE
        rows.append((t.code, parent_code, t.name, t.level, depth_of(t), is_leaf, t.pk,
                     cov.person_id if cov is not None else None, ramp_start))
    # Set-based: one COPY, then one upsert per depth (parents exist before their children and are
    # joined by code). Existing nodes keep their overrides, custom bases and submissions.
    columns = ["code", "parent_code", "name", "level", "depth", "is_leaf", "territory_id", "person_id", "ramp_start"]
    stage = "_quota_tree"
    with connection.cursor() as cursor:
        cursor.execute(f"""CREATE TEMP TABLE {stage} (code varchar(40), parent_code varchar(40), name varchar(160),
                           level varchar(40), depth smallint, is_leaf boolean, territory_id bigint, person_id bigint,
                           ramp_start date) ON COMMIT DROP""")
    staging_copy(stage, columns, rows)
    with connection.cursor() as cursor:
        for depth in sorted({r[4] for r in rows}):
            cursor.execute(f"""
                INSERT INTO quotas_quota (tenant_id, plan_id, parent_id, territory_id, person_id, code, name, level,
                    depth, is_leaf, ramp_start, potential, prior_year, ttm, custom_basis, annual, amount, actual,
                    bottom_up_note)
                SELECT %(t)s, %(plan)s, p.id, s.territory_id, s.person_id, s.code, s.name, s.level, s.depth,
                       s.is_leaf, s.ramp_start, 0, 0, 0, 0, 0, 0, 0, ''
                FROM {stage} s
                LEFT JOIN quotas_quota p ON p.tenant_id = %(t)s AND p.plan_id = %(plan)s AND p.code = s.parent_code
                WHERE s.depth = %(d)s
                ON CONFLICT (tenant_id, plan_id, code) DO UPDATE
                   SET parent_id = EXCLUDED.parent_id, territory_id = EXCLUDED.territory_id,
                       person_id = EXCLUDED.person_id, name = EXCLUDED.name, level = EXCLUDED.level,
                       depth = EXCLUDED.depth, is_leaf = EXCLUDED.is_leaf, ramp_start = EXCLUDED.ramp_start,
                       custom_basis = CASE WHEN EXCLUDED.is_leaf THEN quotas_quota.custom_basis ELSE 0 END
            """, {"t": tenant_id, "plan": plan.pk, "d": depth})
        cursor.execute(f"DROP TABLE {stage}")
    bases_refresh(plan=plan)
    audit_bulk(model=Quota, action=AuditAction.UPDATE, tenant_id=tenant_id,
               summary={"plan": plan.pk, "tree_built": len(rows)})
    return len(rows)


def _shift_year(day: dt.date, years: int) -> dt.date:
    return day.replace(year=day.year + years)


@transaction.atomic
def bases_refresh(*, plan: QuotaPlan, ttm_end: dt.date | None = None) -> None:
    """Compute every leaf's allocation bases and roll them up (parents = sums of their leaves).

    - potential: the territory plan's potential (volume, revenue or payer-adjusted, as the
      territory plan says) of the accounts it assigns to the territory;
    - prior year: the plan metric's credited transactions in the previous fiscal year, of the
      accounts the territory plan assigns to the territory (what the territory's accounts did,
      whoever owned them then);
    - trailing twelve months: the same over the twelve months before ``ttm_end`` (default: the
      first day of the current month, or the plan start if that is earlier).
    """
    tenant_id = require_tenant_id()
    today_month = timezone.localdate().replace(day=1)
    ttm_end = ttm_end or min(today_month, plan.effective_from)
    potentials: dict[int, Decimal] = {}
    for row in account_potentials(plan=plan.territory_plan):
        if row["territory_id"] is not None:
            potentials[row["territory_id"]] = potentials.get(row["territory_id"], Decimal(0)) + row["potential"]
    windows = {"prior_year": (_shift_year(plan.effective_from, -1), plan.effective_from),
               "ttm": (_shift_year(ttm_end, -1), ttm_end)}
    sums: dict[str, dict[int, Decimal]] = {}
    with connection.cursor() as cursor:
        # On freshly loaded tables the planner picks a nested loop over the whole plan assignment;
        # the hash join is right at every size (as in territories.services.plan_assign).
        cursor.execute("SET LOCAL enable_nestloop = off")
    for key, (start, end) in windows.items():
        sums[key] = dict(_rows("""
            SELECT pa.territory_id, sum(t.amount)
            FROM quotas_creditedtransaction t
            JOIN territories_planassignment pa
              ON pa.tenant_id = %(t)s AND pa.plan_id = %(tp)s AND pa.account_id = t.account_id
            WHERE t.tenant_id = %(t)s AND t.metric = %(m)s AND t.transaction_date >= %(s)s AND t.transaction_date < %(e)s
              AND pa.territory_id IS NOT NULL
            GROUP BY pa.territory_id
        """, {"t": tenant_id, "tp": plan.territory_plan_id, "m": plan.metric_code, "s": start, "e": end}))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_nestloop = on")
    nodes = list(Quota.objects.filter(plan=plan).values("id", "parent_id", "territory_id", "is_leaf", "custom_basis"))
    index = {n["id"]: i for i, n in enumerate(nodes)}
    parent = np.array([index.get(n["parent_id"], -1) for n in nodes], dtype=np.int64)
    leaf = np.array([n["is_leaf"] for n in nodes])
    cols = np.zeros((len(nodes), 4), dtype=np.int64)
    for i, n in enumerate(nodes):
        if not n["is_leaf"]:
            continue
        tid = n["territory_id"]
        cols[i] = [engine.to_cents(potentials.get(tid, 0)), engine.to_cents(sums["prior_year"].get(tid, 0)),
                   engine.to_cents(sums["ttm"].get(tid, 0)), engine.to_cents(n["custom_basis"])]
    rolled = engine.leaf_sums(parent, np.where(leaf[:, None], cols, 0))
    _write_nodes(["potential", "prior_year", "ttm", "custom_basis"],
                 [(n["id"], *[engine.from_cents(v) for v in rolled[i]]) for i, n in enumerate(nodes)])


def _write_nodes(columns: list[str], rows: Iterable[Sequence[Any]]) -> None:
    """UPDATE quota nodes of the active organization from (id, values...) rows via a COPY'd stage."""
    stage = staging_create("quotas_quota", ["id", *columns])
    staging_copy(stage, ["id", *columns], rows)
    sets = ", ".join(f"{c} = s.{c}" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE quotas_quota q SET {sets} FROM {stage} s WHERE q.id = s.id AND q.tenant_id = %s",
                       [require_tenant_id()])
    staging_drop(stage)


# -- allocation ------------------------------------------------------------------------------------

def seasonality_weights(plan: QuotaPlan) -> list[Decimal]:
    return list(plan.seasonality.weights) if plan.seasonality_id else list(FLAT)


def _days_fraction(effective: dt.date, month: dt.date) -> Decimal:
    """The share of ``month`` from ``effective`` on (1 for a later month)."""
    if effective <= month:
        return Decimal(1)
    next_month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    days = (next_month - month).days
    return (Decimal((next_month - effective).days) / Decimal(days)).quantize(Decimal("0.000001"))


def ownership_moves(*, plan: QuotaPlan) -> list[tuple[int, dt.date, str | None, str | None, int | None, int | None]]:
    """Accounts whose owning territory changed during the plan's year (after its first day):
    (account, date of the change, old territory code, new territory code, old person, new person)."""
    return _rows("""
        SELECT n.account_id, n.valid_from, ot.code, nt.code, o.person_id, n.person_id
        FROM territories_accountownership n
        JOIN territories_accountownership o
          ON o.tenant_id = %(t)s AND o.account_id = n.account_id AND o.valid_to = n.valid_from
        LEFT JOIN territories_territory ot ON ot.id = o.territory_id
        LEFT JOIN territories_territory nt ON nt.id = n.territory_id
        WHERE n.tenant_id = %(t)s AND n.valid_from > %(s)s AND n.valid_from < %(e)s
          AND ot.code IS DISTINCT FROM nt.code
        ORDER BY n.valid_from, n.account_id
    """, {"t": require_tenant_id(), "s": plan.effective_from, "e": plan.effective_to})  # type: ignore[return-value]


@transaction.atomic
def plan_reallocate(*, plan: QuotaPlan) -> dict[str, Any]:
    """Rebuild the tree from the territory plan (territories, coverage, bases) and allocate again."""
    tree_build(plan=plan)
    return plan_allocate(plan=plan)


@transaction.atomic
def plan_allocate(*, plan: QuotaPlan) -> dict[str, Any]:
    """Recompute every node's annual target and months from the plan's inputs, in one pass.

    1. top-down allocation of the company target (``engine.allocate``);
    2. each leaf's annual target phased by seasonality (rows sum to the annual, to the cent);
    3. ramp: a new hire's month carries the plan's ramp percent (half up to the cent);
    4. relief: for every account that changed territory after the plan's first day, each month from
       the change on moves (old owner's month quota x account potential / territory potential x
       share of the month after the change) from the old leaf to the new one;
    5. parents' months are the sums of their children's.
    """
    _editable(plan)
    tenant_id = require_tenant_id()
    nodes = list(Quota.objects.filter(plan=plan).order_by("depth", "code").values(
        "id", "parent_id", "code", "is_leaf", "person_id", "potential", "prior_year", "ttm", "custom_basis",
        "override", "ramp_start"))
    if not nodes:
        tree_build(plan=plan)
        return plan_allocate(plan=plan)
    n = len(nodes)
    index = {node["id"]: i for i, node in enumerate(nodes)}
    parent = np.array([index.get(node["parent_id"], -1) for node in nodes], dtype=np.int64)
    bases = np.array([[0, engine.to_cents(x["potential"]), engine.to_cents(x["prior_year"]), engine.to_cents(x["ttm"]),
                       engine.to_cents(x["custom_basis"])] for x in nodes], dtype=np.float64)
    weights = np.array([float(plan.weights[m]) for m in engine.METHODS])
    overrides = np.array([engine.to_cents(x["override"]) if x["override"] is not None else -1 for x in nodes],
                         dtype=np.int64)
    result = engine.allocate(parent, bases, weights, overrides, engine.to_cents(plan.company_target))
    leaf = np.array([x["is_leaf"] for x in nodes])
    months = plan.months
    allocated = np.zeros((n, 12), dtype=np.int64)
    leaf_idx = np.flatnonzero(leaf)
    allocated[leaf_idx] = engine.phase(result.annual[leaf_idx], [float(w) for w in seasonality_weights(plan)])

    ramp = np.zeros((n, 12), dtype=np.int64)
    for i in leaf_idx:
        start = nodes[i]["ramp_start"]
        if start is None:
            continue
        percents = np.array([[engine.ramp_percent(plan.ramp_percents, engine.month_index(start, m)) for m in months]],
                            dtype=object)
        ramp[i] = engine.ramp_reduction(allocated[i:i + 1], percents)[0]

    carried = allocated + ramp
    relief = np.zeros((n, 12), dtype=np.int64)
    relief_rows: list[tuple[Any, ...]] = []
    by_code = {x["code"]: i for i, x in enumerate(nodes) if x["is_leaf"]}
    by_person: dict[int, int] = {}
    for i, x in enumerate(nodes):
        if x["is_leaf"] and x["person_id"] is not None:
            by_person.setdefault(x["person_id"], i)
    moves = ownership_moves(plan=plan)
    if moves:
        potential_of = {r["id"]: r["potential"] for r in account_potentials(plan=plan.territory_plan)}
        for account_id, day, old_code, new_code, old_person, new_person in moves:
            src = by_code.get(old_code) if old_code else None
            if src is None and old_person is not None:
                src = by_person.get(old_person)
            dst = by_code.get(new_code) if new_code else None
            if dst is None and new_person is not None:
                dst = by_person.get(new_person)
            if src is None or src == dst:
                continue  # nothing to take quota from (the account was unassigned or outside this plan)
            src_potential = nodes[src]["potential"]
            acct_potential = potential_of.get(account_id, Decimal(0))
            if src_potential <= 0 or acct_potential <= 0:
                continue
            share = min(Decimal(1), (acct_potential / src_potential)).quantize(Decimal("0.000001"))
            for j, month in enumerate(months):
                next_month = months[j + 1] if j + 1 < 12 else plan.effective_to
                if next_month <= day:
                    continue
                fraction = _days_fraction(day, month)
                cents = engine.relief_cents(int(carried[src, j]), share, fraction)
                if cents == 0:
                    continue
                relief[src, j] -= cents
                if dst is not None:
                    relief[dst, j] += cents
                relief_rows.append((tenant_id, plan.pk, account_id, nodes[src]["id"],
                                    nodes[dst]["id"] if dst is not None else None, day, month, share, fraction,
                                    engine.from_cents(cents)))
    leaf_only = np.where(leaf[:, None], 1, 0)
    allocated_all = engine.leaf_sums(parent, allocated * leaf_only)
    ramp_all = engine.leaf_sums(parent, ramp * leaf_only)
    relief_all = engine.leaf_sums(parent, relief * leaf_only)
    amount_all = allocated_all + ramp_all + relief_all

    _write_nodes(["annual", "amount"], [(x["id"], engine.from_cents(result.annual[i]),
                                         engine.from_cents(amount_all[i].sum())) for i, x in enumerate(nodes)])
    stage = staging_create("quotas_quotamonth", ["quota_id", "month", "allocated", "ramp", "relief", "amount"])
    staging_copy(stage, ["quota_id", "month", "allocated", "ramp", "relief", "amount"], (
        (x["id"], months[j], engine.from_cents(allocated_all[i, j]), engine.from_cents(ramp_all[i, j]),
         engine.from_cents(relief_all[i, j]), engine.from_cents(amount_all[i, j]))
        for i, x in enumerate(nodes) for j in range(12)))
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO quotas_quotamonth (tenant_id, quota_id, month, allocated, ramp, relief, amount, actual)
            SELECT %s, quota_id, month, allocated, ramp, relief, amount, 0 FROM {stage}
            ON CONFLICT (tenant_id, quota_id, month) DO UPDATE
               SET allocated = EXCLUDED.allocated, ramp = EXCLUDED.ramp, relief = EXCLUDED.relief,
                   amount = EXCLUDED.amount
        """, [tenant_id])
        cursor.execute("DELETE FROM quotas_quotarelief WHERE tenant_id = %s AND plan_id = %s", [tenant_id, plan.pk])
    staging_drop(stage)
    if relief_rows:
        stage = staging_create("quotas_quotarelief", ["tenant_id", "plan_id", "account_id", "from_quota_id",
                                                     "to_quota_id", "effective_date", "month", "share",
                                                     "days_fraction", "amount"])
        cols = ["tenant_id", "plan_id", "account_id", "from_quota_id", "to_quota_id", "effective_date", "month",
                "share", "days_fraction", "amount"]
        staging_copy(stage, cols, relief_rows)
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO quotas_quotarelief ({', '.join(cols)}) SELECT {', '.join(cols)} FROM {stage}")
        staging_drop(stage)
    plan.allocation_warnings = result.warnings
    plan.allocated_at = timezone.now()
    plan.save(update_fields=["allocation_warnings", "allocated_at"])
    attainment_summary_refresh(plan=plan)
    summary = {"plan": plan.pk, "nodes": n, "leaves": int(leaf.sum()), "reliefs": len(relief_rows),
               "target": str(plan.company_target), "leaf_total": str(engine.from_cents(amount_all[leaf].sum())),
               "warnings": result.warnings}
    audit_bulk(model=QuotaMonth, action=AuditAction.UPDATE, tenant_id=tenant_id, summary=summary)
    return summary


@transaction.atomic
def quota_override_set(*, quota: Quota, amount: Decimal | None, allocate: bool = True) -> dict[str, Any]:
    """Fix (or with ``None`` release) a node's annual target; its siblings re-balance around it.
    ``allocate=False`` leaves the re-allocation to the caller (an import applies many rows, then
    allocates once)."""
    plan = quota.plan
    _editable(plan)
    if quota.parent_id is None:
        raise ValidationError("The company node is the plan's target: change the company target instead.")
    if amount is not None:
        amount = Decimal(amount).quantize(Decimal("0.01"))
        if amount < 0:
            raise ValidationError("A quota cannot be negative.")
        parent_target = Quota.objects.values_list("annual", flat=True).get(pk=quota.parent_id)
        fixed = sum(Quota.objects.filter(parent_id=quota.parent_id, override__isnull=False).exclude(pk=quota.pk)
                    .values_list("override", flat=True), Decimal(0))
        if fixed + amount > parent_target:
            raise ValidationError(f"Overrides under {quota.parent.name} would add to {fixed + amount:,.2f}, more than "
                                  f"its target of {parent_target:,.2f}.")
    quota.override = amount
    quota.save(update_fields=["override"])
    return plan_allocate(plan=plan) if allocate else {}


@transaction.atomic
def quota_custom_basis_set(*, quota: Quota, amount: Decimal, allocate: bool = True) -> dict[str, Any]:
    """A leaf's custom allocation basis; ``allocate=False``: the caller refreshes bases and allocates."""
    _editable(quota.plan)
    if not quota.is_leaf:
        raise ValidationError("The custom field is entered on leaf territories; parents are their sums.")
    if Decimal(amount) < 0:
        raise ValidationError("A custom basis cannot be negative.")
    quota.custom_basis = Decimal(amount).quantize(Decimal("0.01"))
    quota.save(update_fields=["custom_basis"])
    if not allocate:
        return {}
    bases_refresh(plan=quota.plan)
    return plan_allocate(plan=quota.plan)


@transaction.atomic
def bottom_up_submit(*, quota: Quota, amount: Decimal | None, note: str = "", user: Any | None = None) -> Quota:
    """A manager's bottom-up number for a node (``None`` withdraws it). Any state but archived."""
    if quota.plan.status == QuotaPlanStatus.ARCHIVED:
        raise ValidationError("The plan is archived.")
    if amount is not None and Decimal(amount) < 0:
        raise ValidationError("A bottom-up number cannot be negative.")
    quota.bottom_up = None if amount is None else Decimal(amount).quantize(Decimal("0.01"))
    quota.bottom_up_note = note[:500]
    quota.bottom_up_by = user if getattr(user, "pk", None) else None
    quota.bottom_up_at = timezone.now() if amount is not None else None
    quota.save(update_fields=["bottom_up", "bottom_up_note", "bottom_up_by", "bottom_up_at"])
    return quota


@transaction.atomic
def bottom_up_accept(*, quota: Quota) -> dict[str, Any]:
    """Reconcile: take the node's bottom-up number as its override."""
    if quota.bottom_up is None:
        raise ValidationError("This node has no bottom-up submission.")
    return quota_override_set(quota=quota, amount=quota.bottom_up)


# -- seasonality -----------------------------------------------------------------------------------

def _normalise(weights: Sequence[Decimal | float | str]) -> list[Decimal]:
    values = [Decimal(str(w)) for w in weights]
    if len(values) != 12:
        raise ValidationError("A seasonality profile has twelve monthly weights.")
    if any(v < 0 for v in values):
        raise ValidationError("Seasonality weights cannot be negative.")
    total = sum(values)
    if total <= 0:
        raise ValidationError("At least one month needs a weight above zero.")
    out = [(v / total).quantize(Decimal("0.000001")) for v in values]
    out[int(np.argmax([float(v) for v in out]))] += Decimal(1) - sum(out)  # exact sum of 1
    return out


@transaction.atomic
def seasonality_save(*, name: str, weights: Sequence[Decimal | float | str],
                     profile: SeasonalityProfile | None = None) -> SeasonalityProfile:
    """Typed-in phasing: twelve weights (any scale, e.g. percents) in fiscal-month order, normalised to 1."""
    profile = profile or SeasonalityProfile(source=SeasonalitySource.TYPED)
    if SeasonalityProfile.objects.filter(name=name).exclude(pk=profile.pk).exists():
        raise ValidationError(f"A seasonality profile named {name!r} already exists.")
    new = _normalise(weights)
    if profile.pk and list(profile.weights) != new:
        # Typed-over weights are no longer what history says.
        profile.source, profile.learned_from = SeasonalitySource.TYPED, ""
    profile.name, profile.weights = name, new
    profile.save()
    return profile


@transaction.atomic
def seasonality_learn(*, name: str, metric: str, fiscal_start: dt.date, years: int = 3) -> SeasonalityProfile:
    """Learn phasing from the ``years`` full fiscal years before ``fiscal_start``: each fiscal month's
    share of its year's credited total, averaged over the years that have any (flat if none)."""
    tenant_id = require_tenant_id()
    shares: list[list[float]] = []
    used: list[str] = []
    for back in range(years, 0, -1):
        start = _shift_year(fiscal_start, -back)
        rows = dict(_rows("""
            SELECT date_trunc('month', transaction_date)::date, sum(amount) FROM quotas_creditedtransaction
            WHERE tenant_id = %s AND metric = %s AND transaction_date >= %s AND transaction_date < %s
            GROUP BY 1
        """, [tenant_id, metric, start, _shift_year(start, 1)]))
        totals = [float(rows.get(m, 0)) for m in fiscal_months(start)]
        if sum(totals) > 0:
            shares.append([v / sum(totals) for v in totals])
            used.append(f"FY starting {start:%b %Y}")
    weights = list(np.mean(shares, axis=0)) if shares else [1.0] * 12
    profile = SeasonalityProfile.objects.filter(name=name).first() or SeasonalityProfile(name=name)
    profile.source = SeasonalitySource.LEARNED if shares else SeasonalitySource.FLAT
    profile.weights = _normalise([Decimal(str(round(w, 8))) for w in weights])
    profile.learned_from = (f"{metric}: " + ", ".join(used)) if used else f"{metric}: no history, flat"
    profile.save()
    return profile


# -- credited transactions and attainment ----------------------------------------------------------

TXN_COLUMNS = ["external_id", "metric", "kind", "account_id", "person_id", "transaction_date", "amount", "description"]


@transaction.atomic
def transactions_upsert(*, rows: Iterable[Sequence[Any]], refresh_attainment: bool = True) -> dict[str, int]:
    """Insert or update credited transactions (tuples in ``TXN_COLUMNS`` order) with COPY; a row with
    an external id replaces the stored one of the same metric and id, so re-sending changes nothing.

    When rows changed, the attainment of the active plans of the metrics they carry is recomputed
    by a job after commit (``refresh_attainment=False``: the caller does it, as the demo seed does)."""
    tenant_id = require_tenant_id()
    stage = staging_create("quotas_creditedtransaction", TXN_COLUMNS)
    staged = staging_copy(stage, TXN_COLUMNS, rows)
    with connection.cursor() as cursor:
        # Accounts and people must be this organization's (the stage has no RLS).
        cursor.execute(f"""
            SELECT count(*) FROM {stage} s
            WHERE (s.account_id IS NOT NULL AND NOT EXISTS (
                       SELECT 1 FROM revops_account a WHERE a.id = s.account_id AND a.tenant_id = %s))
               OR (s.person_id IS NOT NULL AND NOT EXISTS (
                       SELECT 1 FROM revops_person p WHERE p.id = s.person_id AND p.tenant_id = %s))
        """, [tenant_id, tenant_id])
        if cursor.fetchone()[0]:
            raise ValidationError("Some transactions name an account or person that is not in this organization.")
        cursor.execute(f"""SELECT metric, external_id FROM {stage} WHERE external_id <> ''
                           GROUP BY metric, external_id HAVING count(*) > 1 LIMIT 1""")
        duplicate = cursor.fetchone()
        if duplicate:
            raise ValidationError(f"External id {duplicate[1]!r} ({duplicate[0]}) appears twice in one upsert.")
        cols = ", ".join(TXN_COLUMNS)
        cursor.execute(f"""
            WITH up AS (
                INSERT INTO quotas_creditedtransaction (tenant_id, created_at, {cols})
                SELECT %s, now(), {cols} FROM {stage}
                ON CONFLICT (tenant_id, metric, external_id) WHERE external_id <> '' DO UPDATE
                   SET kind = EXCLUDED.kind, account_id = EXCLUDED.account_id, person_id = EXCLUDED.person_id,
                       transaction_date = EXCLUDED.transaction_date, amount = EXCLUDED.amount,
                       description = EXCLUDED.description
                   WHERE (quotas_creditedtransaction.kind, quotas_creditedtransaction.account_id,
                          quotas_creditedtransaction.person_id, quotas_creditedtransaction.transaction_date,
                          quotas_creditedtransaction.amount, quotas_creditedtransaction.description)
                     IS DISTINCT FROM (EXCLUDED.kind, EXCLUDED.account_id, EXCLUDED.person_id,
                          EXCLUDED.transaction_date, EXCLUDED.amount, EXCLUDED.description)
                RETURNING (xmax = 0) AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
        """, [tenant_id])
        inserted, updated = cursor.fetchone()
        cursor.execute(f"SELECT DISTINCT metric FROM {stage}")
        metrics = [r[0] for r in cursor.fetchall()]
    staging_drop(stage)
    counts = {"received": staged, "inserted": inserted, "updated": updated, "unchanged": staged - inserted - updated}
    if refresh_attainment and inserted + updated:
        from .jobs import plan_recompute_start

        for plan in QuotaPlan.objects.filter(status=QuotaPlanStatus.ACTIVE):
            if plan.metric_code in metrics:
                plan_recompute_start(plan=plan, attainment_only=True)
    audit_bulk(model=CreditedTransaction, action=AuditAction.CREATE, tenant_id=tenant_id, summary=counts)
    return counts


ATTAINMENT_SQL = """
    WITH leaves AS (
        SELECT id, code, person_id FROM quotas_quota WHERE tenant_id = %(t)s AND plan_id = %(plan)s AND is_leaf
    ), by_person AS (
        SELECT DISTINCT ON (person_id) person_id, id FROM leaves WHERE person_id IS NOT NULL ORDER BY person_id, code
    ), credited AS (
        SELECT date_trunc('month', x.transaction_date)::date AS month, x.amount,
               coalesce(lc.id, lp.id, dp.id) AS quota_id
        FROM quotas_creditedtransaction x
        LEFT JOIN territories_accountownership o
               ON o.tenant_id = %(t)s AND o.account_id = x.account_id
              AND o.valid_from <= x.transaction_date AND (o.valid_to IS NULL OR o.valid_to > x.transaction_date)
        LEFT JOIN territories_territory tt ON tt.id = o.territory_id
        LEFT JOIN leaves lc ON lc.code = tt.code
        LEFT JOIN by_person lp ON lp.person_id = o.person_id
        LEFT JOIN by_person dp ON dp.person_id = x.person_id AND x.account_id IS NULL
        WHERE x.tenant_id = %(t)s AND x.metric = %(m)s
          AND x.transaction_date >= %(s)s AND x.transaction_date < %(e)s
    )
    SELECT quota_id, month, sum(amount), count(*) FROM credited GROUP BY quota_id, month
"""


@transaction.atomic
def attainment_refresh(*, plan: QuotaPlan) -> dict[str, Any]:
    """Credit the plan metric's transactions of the fiscal year to leaves and roll them up.

    A transaction with an account credits the leaf whose territory (by code) owned the account on
    the transaction date, or failing that the leaf of the rep who owned it; one without an account
    credits its person's leaf. What credits no leaf (unowned accounts, reps outside the plan) is
    counted as uncredited and shown, never dropped silently.
    """
    tenant_id = require_tenant_id()
    params = {"t": tenant_id, "plan": plan.pk, "m": plan.metric_code, "s": plan.effective_from,
              "e": plan.effective_to}
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(ATTAINMENT_SQL, params)
        rows = cursor.fetchall()
    nodes = list(Quota.objects.filter(plan=plan).values_list("id", "parent_id"))
    index = {pk: i for i, (pk, _) in enumerate(nodes)}
    parent = np.array([index.get(p, -1) for _, p in nodes], dtype=np.int64)
    months = plan.months
    month_index = {m: j for j, m in enumerate(months)}
    actual = np.zeros((len(nodes), 12), dtype=np.int64)
    uncredited = Decimal(0)
    uncredited_count = credited_count = 0
    for quota_id, month, total, count in rows:
        if quota_id is None or quota_id not in index:
            uncredited += total
            uncredited_count += count
            continue
        actual[index[quota_id], month_index[month]] += engine.to_cents(total)
        credited_count += count
    rolled = engine.leaf_sums(parent, actual)
    stage = staging_create("quotas_quotamonth", ["quota_id", "month", "actual"])
    staging_copy(stage, ["quota_id", "month", "actual"], (
        (pk, months[j], engine.from_cents(rolled[i, j])) for i, (pk, _) in enumerate(nodes) for j in range(12)))
    with connection.cursor() as cursor:
        cursor.execute(f"""
            UPDATE quotas_quotamonth m SET actual = s.actual FROM {stage} s
            WHERE m.tenant_id = %s AND m.quota_id = s.quota_id AND m.month = s.month AND m.actual <> s.actual
        """, [tenant_id])
    staging_drop(stage)
    _write_nodes(["actual"], [(pk, engine.from_cents(rolled[i].sum())) for i, (pk, _) in enumerate(nodes)])
    plan.attainment_summary = {
        "credited": str(engine.from_cents(rolled[parent < 0].sum())), "credited_transactions": credited_count,
        "uncredited": str(uncredited.quantize(Decimal("0.01"))), "uncredited_transactions": uncredited_count}
    plan.attainment_at = timezone.now()
    plan.save(update_fields=["attainment_summary", "attainment_at"])
    attainment_summary_refresh(plan=plan)
    return plan.attainment_summary


SUMMARY_SQL = """
    INSERT INTO quotas_leafattainmentmonth (tenant_id, plan_id, quota_id, k, month, amount_cents, actual_cents,
                                            amount_rep_cents, actual_rep_cents)
    SELECT q.tenant_id, q.plan_id, q.id,
           (extract(year FROM m.month)::int * 12 + extract(month FROM m.month)::int) - %(base)s, m.month,
           (m.amount * 100)::bigint, (m.actual * 100)::bigint,
           CASE WHEN q.ramp_start IS NULL OR m.month >= q.ramp_start THEN (m.amount * 100)::bigint ELSE 0 END,
           CASE WHEN q.ramp_start IS NULL OR m.month >= q.ramp_start THEN (m.actual * 100)::bigint ELSE 0 END
    FROM quotas_quota q
    JOIN quotas_quotamonth m ON m.tenant_id = q.tenant_id AND m.quota_id = q.id
    WHERE q.tenant_id = %(t)s AND q.plan_id = %(plan)s AND q.is_leaf
      AND m.month >= %(start)s AND m.month < %(end)s
"""


@transaction.atomic
@transaction.atomic
def attainment_summary_refresh(*, plan: QuotaPlan) -> int:
    """Rebuild the plan's leaf-month attainment summary (``LeafAttainmentMonth``) from its quota months.

    Called at the end of ``plan_allocate`` (quota amounts) and ``attainment_refresh`` (actuals, including
    transactions that arrive late: ``transactions_upsert`` queues that recompute), and by the dashboard on the
    first read of a plan whose summary is older than its last allocation or attainment run
    (``quotas.selectors.summary_is_current``). Returns the number of rows written."""
    tenant_id = require_tenant_id()
    start = plan.effective_from
    # One rebuild of a plan at a time (two dashboard requests may both find it stale): the second waits and
    # rebuilds after the first committed, instead of failing on the unique key; readers see old or new rows.
    QuotaPlan.objects.select_for_update().filter(pk=plan.pk).values_list("pk", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM quotas_leafattainmentmonth WHERE tenant_id = %s AND plan_id = %s",
                       [tenant_id, plan.pk])
        cursor.execute(SUMMARY_SQL, {"t": tenant_id, "plan": plan.pk, "base": start.year * 12 + start.month,
                                     "start": start, "end": plan.effective_to})
        written = cursor.rowcount
        # A table that was never analysed (a new install) would be planned as empty: nested loops per leaf.
        cursor.execute("SELECT reltuples < 0 FROM pg_class WHERE oid = 'quotas_leafattainmentmonth'::regclass")
        if cursor.fetchone()[0]:
            cursor.execute("ANALYZE quotas_leafattainmentmonth")
    plan.summary_at = timezone.now()
    QuotaPlan.objects.filter(pk=plan.pk).update(summary_at=plan.summary_at)
    return written


def fiscal_year_of(day: dt.date, start_month: int) -> int:
    """The fiscal year (named by the calendar year it ends in) that contains ``day``."""
    return day.year + (1 if start_month != 1 and day.month >= start_month else 0)

