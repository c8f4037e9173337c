"""Demo territory plans for each organization: an active plan, a mid-year realignment with a
hold-out, and a balanced scenario for next year (run through the real optimizer).

Everything goes through ``territories.services`` and ``territories.balancing`` (so the audit
trail and the ownership history are what a user would get). Deterministic for a seed and year;
an organization that already has the demo's first plan is left as it is.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from django.db import transaction

from revops.jobs import job_succeed

from revops.models import Account, Membership, Organization, Person, PersonRole, Role
from revops.tenancy import tenant_context

# Annual revenue per account (billed charges it refers or orders), by account type: (low, high).
REVENUE_RANGE = {
    "hospital": (400_000, 2_500_000), "clinic": (60_000, 400_000), "physician_practice": (40_000, 300_000),
    "referral_source": (30_000, 250_000), "community_org": (10_000, 90_000),
    "payer_case_manager": (50_000, 350_000), "other": (10_000, 80_000),
}
VISITS_RANGE = {"hospital": (18, 36), "clinic": (8, 20), "physician_practice": (6, 18)}


@dataclass
class TerritoryOutcome:
    plans: int = 0
    territories: int = 0
    accounts: int = 0
    skipped: bool = False


def _volumes(rng: random.Random, year: int) -> int:
    """AccountVolume for ``year`` and the year before, for every account (COPY)."""
    from revops.bulk import copy_insert
    from territories.models import AccountVolume

    rows = []
    for pk, account_type in Account.objects.order_by("pk").values_list("pk", "account_type"):
        low, high = REVENUE_RANGE.get(account_type, REVENUE_RANGE["other"])
        revenue = Decimal(int(rng.lognormvariate(0, 0.6) * (low + high) / 2)).quantize(Decimal("1"))
        revenue = min(max(revenue, Decimal(low)), Decimal(high * 2))
        v_low, v_high = VISITS_RANGE.get(account_type, (4, 12))
        visits = Decimal(rng.randint(v_low, v_high))
        volume = (revenue / Decimal(850)).quantize(Decimal("1"))
        growth = Decimal(str(round(rng.uniform(0.9, 1.15), 3)))
        rows.append((pk, year, volume, revenue, visits))
        rows.append((pk, year - 1, (volume / growth).quantize(Decimal("1")), (revenue / growth).quantize(Decimal("1")),
                     visits))
    return copy_insert(AccountVolume, columns=("account_id", "year", "volume", "revenue", "visits"), rows=rows,
                       on_conflict=True)


def _groups(items: list[tuple[str, float]], k: int) -> list[list[str]]:
    """Split ZIP3s sorted west to east into k runs of about equal account count."""
    items = sorted(items, key=lambda item: item[1])
    size = max(1, len(items) // k)
    groups = [items[i * size:(i + 1) * size] for i in range(k - 1)] + [items[(k - 1) * size:]]
    return [[z for z, _ in g] for g in groups if g]


def territories_seed(*, organization: Organization, seed: int, year: int, balance: bool = True) -> TerritoryOutcome:
    from territories import balancing, services
    from territories.models import PlanAssignment, TerritoryPlan

    outcome = TerritoryOutcome()
    first_name = f"{year} territories"
    with tenant_context(organization), transaction.atomic():
        if TerritoryPlan.objects.filter(name=first_name).exists():
            outcome.skipped = True
            return outcome
        rng = random.Random(f"{seed}:{organization.slug}:territories")
        _volumes(rng, year)
        reps = list(Person.objects.filter(role=PersonRole.REP, termination_date__isnull=True).order_by("employee_id"))
        executive = Membership.objects.filter(role=Role.EXECUTIVE).select_related("user").first()
        approver = executive.user if executive else None
        zip3s: dict[str, list[float]] = {}
        for zip_code, lon in Account.objects.exclude(longitude=None).values_list("zip_code", "longitude"):
            zip3s.setdefault(zip_code[:3], []).append(float(lon))
        k = max(2, min(len(reps) + 1, len(zip3s), 40))  # one territory more than reps: "to be hired"
        groups = _groups([(z, sum(v) / len(v)) for z, v in zip3s.items()], k)
        plan = services.plan_create(name=first_name, effective_from=date(year, 1, 1), holdout_days=0,
                                    description="The plan in force since January (demo).")
        regions = {"W": services.territory_create(plan=plan, code="WEST", name="West region", level="region"),
                   "E": services.territory_create(plan=plan, code="EAST", name="East region", level="region")}
        leaves = []
        for n, group in enumerate(groups):
            region = regions["W" if n < len(groups) / 2 else "E"]
            leaf = services.territory_create(plan=plan, code=f"T{n + 1:02d}", name=f"Territory {n + 1}",
                                             parent=region)
            leaves.append(leaf)
            for z3 in group:
                services.rule_save(plan=plan, territory=leaf, kind="zip3", value=z3, reassign=False)
            if n < len(reps):
                services.coverage_assign(territory=leaf, person=reps[n])
            else:
                services.coverage_assign(territory=leaf, placeholder=f"To be hired: rep, territory {n + 1}")
        biggest = (Account.objects.filter(account_type="hospital").order_by("-pk").first()
                   or Account.objects.order_by("pk").first())
        if biggest is not None:
            services.rule_save(plan=plan, territory=leaves[0], kind="account", value=str(biggest.pk), reassign=False)
        services.plan_assign(plan=plan)
        services.plan_propose(plan=plan)
        services.plan_approve(plan=plan, user=approver)
        services.plan_activate(plan=plan, on=date(year, 1, 1), user=approver)

        # July: a realignment moves two ZIP3s east-to-west, with a 30-day hold-out.
        h2 = services.plan_copy(plan=plan, name=f"{year} H2 realignment", effective_from=date(year, 7, 1))
        services.plan_update(plan=h2, holdout_days=30, description="Mid-year realignment (demo): two ZIP3s move.")
        h2_leaves = {t.code: t for t in h2.territories.all()}
        if len(groups) >= 2 and len(groups[1]) >= 1 and groups[0]:
            services.unit_move(plan=h2, kind="zip3", value=groups[1][0], territory=h2_leaves["T01"])
        if len(groups) >= 3 and groups[2]:
            services.unit_move(plan=h2, kind="zip3", value=groups[2][-1], territory=h2_leaves["T02"])
        services.plan_propose(plan=h2)
        services.plan_approve(plan=h2, user=approver)
        services.plan_activate(plan=h2, on=date(year, 7, 1), user=approver)

        # Next year: a balanced scenario, left as a draft to compare and propose.
        draft = services.plan_copy(plan=h2, name=f"{year + 1} balanced scenario", effective_from=date(year + 1, 1, 1))
        services.plan_update(plan=draft, holdout_days=45,
                             description="Balanced by the optimizer from the H2 plan (demo); compare it on the diff page.")
        outcome.plans = 3
        outcome.territories = len(leaves)
        outcome.accounts = PlanAssignment.objects.filter(plan=plan).count()
    if balance:
        with tenant_context(organization), transaction.atomic():
            run = balancing.balance_start(plan=draft, tolerance=Decimal("0.10"), enqueue=False)
            result = balancing.balance_execute(run=run)
            job_succeed(job_id=run.job_id, result=result)
    return outcome

