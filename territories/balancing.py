"""Balancing a draft plan with the optimizer (``territories.optimizer``), as a Celery job.

What moves: **ZIP codes**. Each ZIP with active accounts is one unit (centroid = mean of its
accounts' coordinates; potential and workload = their sums under the plan's basis). Accounts
that a non-geographic rule places (named account, NPI, service line, account type, specialty)
stay where that rule puts them: they become units locked to their territory, so their
potential still counts in its balance. A ZIP pinned by a ``locked`` ZIP rule is locked too.
Every other ZIP is free; today's owner of a ZIP is the territory holding most of its potential.

The result is written back as ZIP rules (one per ZIP whose territory changes; the rule
precedence makes a ZIP rule beat ZIP3/county/state rules), the plan is re-evaluated, and a
``BalanceRun`` keeps the balance before and after. Plans are scenarios: balance a copy of the
active plan, compare it on the diff page, propose it.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from revops.audit import audit_bulk
from revops.jobs import job_create, job_enqueue, job_progress
from revops.models import Job
from revops.models.audit import AuditAction
from revops.tenancy import require_tenant_id

from . import selectors, services
from .models import AssignmentRule, BalanceRun, BalanceRunStatus, RuleKind, Territory, TerritoryPlan

GEOGRAPHIC = ("zip", "zip3", "county", "state")


@transaction.atomic
def balance_start(*, plan: TerritoryPlan, territories: int | None = None, tolerance: Decimal = Decimal("0.05"),
                  weight_potential: float = 1.0, weight_workload: float = 0.0, weight_compactness: float = 1.0,
                  weight_disruption: float = 20.0, user: Any | None = None, enqueue: bool = True) -> BalanceRun:
    """Check the settings, record the run, and enqueue the job (runs after commit; ``enqueue=False``:
    the caller runs ``balance_execute`` itself, as the demo seed does)."""
    if not plan.is_editable:
        raise ValidationError("Only a draft or proposed plan can be balanced: copy the plan first.")
    leaves = selectors.leaf_territories(plan)
    k = territories or len(leaves)
    if k < 1:
        raise ValidationError({"territories": "Create at least one territory first."})
    if k < len(leaves):
        raise ValidationError({"territories": f"The plan has {len(leaves)} territories: merge some first to "
                                              f"balance into {k}."})
    if k > 500:
        raise ValidationError({"territories": "Balance into at most 500 territories."})
    if not (Decimal("0") <= tolerance <= Decimal("0.5")):
        raise ValidationError({"tolerance": "Use a tolerance between 0 and 0.5 (50%)."})
    for name, value in (("weight_potential", weight_potential), ("weight_workload", weight_workload),
                        ("weight_compactness", weight_compactness), ("weight_disruption", weight_disruption)):
        if not (0 <= value <= 100):
            raise ValidationError({name: "Weights are between 0 and 100."})
    if weight_potential + weight_workload <= 0:
        raise ValidationError({"weight_potential": "Balance potential, workload or both."})
    job = job_create(kind="territory_balance", label=f"Balance {plan.name} into {k} territories", total=100,
                     created_by=user)
    run = BalanceRun.objects.create(
        plan=plan, job=job, territories=k, tolerance=tolerance, weight_potential=weight_potential,
        weight_workload=weight_workload, weight_compactness=weight_compactness, weight_disruption=weight_disruption,
        created_by=user if getattr(user, "pk", None) else None)
    if enqueue:
        from .tasks import plan_balance_task

        job_enqueue(job=job, task=plan_balance_task, run_id=run.pk)
    return run


UNITS_SQL = """
    WITH p AS ({potential}),
    a AS (
        SELECT p.id, p.zip_code, p.latitude, p.longitude, p.{column} AS base, p.visits,
               pa.territory_id, r.kind AS rule_kind, coalesce(r.locked, false) AS rule_locked
        FROM p
        LEFT JOIN territories_planassignment pa ON pa.tenant_id = %(t)s AND pa.plan_id = %(plan)s AND pa.account_id = p.id
        LEFT JOIN territories_assignmentrule r ON r.id = pa.rule_id
        WHERE p.latitude IS NOT NULL AND p.longitude IS NOT NULL
    )
    -- Fixed accounts: placed by a non-geographic rule, or by a locked rule.
    SELECT 'fixed' AS unit, a.zip_code, a.territory_id, avg(a.latitude)::float8, avg(a.longitude)::float8,
           sum(a.base)::float8, sum(a.visits)::float8, count(*)
    FROM a WHERE a.territory_id IS NOT NULL AND (a.rule_kind NOT IN ('zip', 'zip3', 'county', 'state') OR a.rule_locked)
    GROUP BY a.zip_code, a.territory_id
    UNION ALL
    -- Free accounts, by ZIP; today's owner is the territory with most of the ZIP's potential.
    SELECT 'zip', f.zip_code, (array_agg(f.territory_id ORDER BY f.t_base DESC NULLS LAST, f.territory_id))[1],
           avg(f.latitude)::float8, avg(f.longitude)::float8, sum(f.base)::float8, sum(f.visits)::float8, count(*)
    FROM (
        SELECT a.*, sum(a.base) OVER (PARTITION BY a.zip_code, a.territory_id) AS t_base
        FROM a WHERE a.territory_id IS NULL OR (a.rule_kind IN ('zip', 'zip3', 'county', 'state') AND NOT a.rule_locked)
    ) f
    GROUP BY f.zip_code
"""


def _units(plan: TerritoryPlan) -> list[tuple[Any, ...]]:
    column, _, _ = selectors.potential_factor(plan)
    with connection.cursor() as cursor:
        cursor.execute(UNITS_SQL.format(potential=selectors.POTENTIAL_SQL, column=column),
                       {"t": require_tenant_id(), "plan": plan.pk, "year": plan.effective_from.year})
        return cursor.fetchall()


def _summary(balance: selectors.Balance) -> dict[str, Any]:
    return {"cv": balance.cv, "max_min_ratio": balance.max_min_ratio, "max_deviation_pct": balance.max_deviation_pct,
            "unassigned_accounts": balance.unassigned.get("accounts", 0),
            "territories": [{"code": r["code"], "potential": str(r["potential"]), "workload": str(r["workload"]),
                             "accounts": r["accounts"]} for r in balance.territories]}


def balance_execute(*, run: BalanceRun, progress: Callable[[float, str], None] | None = None) -> dict[str, Any]:
    """Run the optimizer for ``run`` and write its answer into the plan (one transaction)."""
    from .optimizer import Problem, Weights, solve

    started = time.perf_counter()
    plan = run.plan
    if not plan.is_editable:
        raise ValidationError("The plan is no longer a draft or proposed: nothing was changed.")
    report = progress or (lambda fraction, message: None)
    with transaction.atomic():
        before = selectors.plan_balance(plan=plan)
        BalanceRun.objects.filter(pk=run.pk).update(status=BalanceRunStatus.RUNNING, before=_summary(before))
        leaves = selectors.leaf_territories(plan)
        for n in range(len(leaves), run.territories):  # more territories asked for than the plan has
            parent = leaves[0].parent if leaves else None
            code = f"NEW-{n + 1:02d}"
            while Territory.objects.filter(plan=plan, code=code).exists():
                code += "x"
            leaves.append(services.territory_create(plan=plan, code=code, name=f"New territory {n + 1}",
                                                    parent=parent))
        index = {t.pk: i for i, t in enumerate(leaves)}
        rows = _units(plan)
        if not rows:
            raise ValidationError("No active account with coordinates to balance.")
        fixed = np.array([r[0] == "fixed" for r in rows])
        territory_of = np.array([index.get(r[2], -1) if r[2] is not None else -1 for r in rows], dtype=np.int64)
        locked_zips = {r.value for r in AssignmentRule.objects.filter(plan=plan, kind=RuleKind.ZIP, locked=True)}
        locked = np.where(fixed, territory_of, -1)
        problem = Problem(
            ids=np.arange(len(rows)), lat=np.array([r[3] for r in rows]), lon=np.array([r[4] for r in rows]),
            potential=np.array([r[5] or 0.0 for r in rows]), workload=np.array([r[6] or 0.0 for r in rows]),
            k=len(leaves), current=territory_of, locked=locked,
            weights=Weights(potential=run.weight_potential, workload=run.weight_workload,
                            compactness=run.weight_compactness, disruption=run.weight_disruption),
            tolerance=float(run.tolerance), rng_seed=plan.pk)
        report(0.05, f"{int((~fixed).sum()):,} ZIPs to place, {int(fixed.sum()):,} fixed groups")
        solution = solve(problem, progress=lambda f, m: report(0.05 + 0.85 * f, m))
        report(0.92, "Writing ZIP rules")
        moved: dict[str, Territory] = {}
        for i, row in enumerate(rows):
            if fixed[i] or row[1] in locked_zips:
                continue
            target = leaves[int(solution.assignment[i])]
            if territory_of[i] != solution.assignment[i]:
                moved[row[1]] = target
        if moved:
            AssignmentRule.objects.filter(plan=plan, kind=RuleKind.ZIP, value__in=list(moved)).delete()
            tenant_id = require_tenant_id()  # bulk_create skips TenantModel.save, which would fill it
            AssignmentRule.objects.bulk_create([
                AssignmentRule(tenant_id=tenant_id, plan=plan, territory=t, kind=RuleKind.ZIP, value=z)
                for z, t in sorted(moved.items())])
            audit_bulk(model=AssignmentRule, action=AuditAction.UPDATE, tenant_id=require_tenant_id(),
                       summary={"plan": plan.pk, "balance_run": run.pk, "zip_rules_written": len(moved)})
        services.plan_assign(plan=plan)
        services.plan_touched(plan)
        after = selectors.plan_balance(plan=plan)
        result = {
            "zips_moved": len(moved), "tolerance_met": bool(solution.tolerance_met),
            "reason": getattr(solution, "reason", None), "optimizer_cv": float(solution.cv),
            "optimizer_max_deviation": float(solution.max_deviation), "disruption": float(solution.disruption),
            "contiguous_share": float(solution.contiguous_where_possible_share),
            "mean_distance_km": float(solution.mean_distance_km), "seconds": round(time.perf_counter() - started, 2),
        }
        BalanceRun.objects.filter(pk=run.pk).update(
            status=BalanceRunStatus.APPLIED, after={**_summary(after), **result}, zips_moved=len(moved),
            message=("Balanced within the tolerance." if solution.tolerance_met
                     else f"Best effort: {getattr(solution, 'reason', '') or 'tolerance not met'}"))
    report(1.0, "Done")
    return result


def balance_execute_job(job: Job, run_id: int) -> dict[str, Any]:
    run = BalanceRun.objects.select_related("plan").get(pk=run_id, job=job)

    def progress(fraction: float, message: str) -> None:
        job_progress(job_id=job.pk, done=int(round(fraction * 100)), total=100, message=message)

    try:
        return balance_execute(run=run, progress=progress)
    except Exception as exc:
        BalanceRun.objects.filter(pk=run.pk).update(status=BalanceRunStatus.FAILED, message=str(exc)[:2000])
        raise
