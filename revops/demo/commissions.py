"""Demo commissions for each organization: a year of monthly commission runs on the demo's bookings.

- Credit rules: managers get an override of 100% of their reps' credit (level 1), directors 50%
  (level 2), overlays 100% of the territories they cover.
- Plan "Account executive": v1 (January-June of the demo year) pays 3% of bookings to 50% of quota,
  5% to 100%, 8% above, with 10% held for 60 days and a 90-day clawback; a $1,500 bonus at 100% of
  quota and $3,000 at 125%; a Q3 SPIFF of $150 a deal of one service line. v2 (from July) adds a
  10% tier above 150% and a 0.5% kicker on net collected revenue (Riverbend only) that the EKRA
  guardrail flags, signed off by compliance. A draft v3 adds a per-referral component: flagged,
  not signed off, so it cannot be activated (open the version to see why).
- Plan "Sales leadership": 1.5% of override credit and a $5,000 bonus at 100% of the team's quota.
- Every rep is on the AE plan with a monthly quota of a twelfth of their active quota-plan target;
  reps hired in the demo year get a three-month guarantee (a non-recoverable draw), two others a
  recoverable draw for the first half.
- Transactions: the demo's credited bookings of the year, 3% of deals split 50/50 with a teammate, 2%
  cancelled 20-80 days later (clawbacks). Riverbend's net collected revenue is its 835 payments, credited
  to the account that referred each claim (837 NM1*DN): every run syncs them first, and reversals claw back.
- Periods January-December: each run in order, then January-October approved, statements approved by
  manager and finance, paid; November approved; December open. Then a few late deals dated in
  October and November and a resolved dispute: December's run pays them as adjustments.

Everything goes through ``commissions.services``; deterministic for a seed and year. An organization
that already has commission plans is left as it is.
"""
from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection, transaction

from revops.models import Membership, Organization, Person, Role
from revops.tenancy import require_tenant_id, tenant_context


@dataclass
class CommissionOutcome:
    plans: int = 0
    assignments: int = 0
    transactions: int = 0
    periods: int = 0
    lines: int = 0
    payout: str = "0"
    seconds: float = 0.0
    skipped: bool = False
    note: str = ""


def _month_starts(year: int) -> list[dt.date]:
    return [dt.date(year, m, 1) for m in range(1, 13)]


def _plans(year: int, *, collected: bool, service_line: Any, analyst: Any) -> dict[str, Any]:
    from commissions.models import CompPlan, CompPlanVersion, Component, ComplianceSignoff

    jan, jul = dt.date(year, 1, 1), dt.date(year, 7, 1)
    ae = CompPlan.objects.create(name="Account executive", description="Quota-carrying reps: bookings commission "
                                 "with accelerators, attainment bonus, SPIFFs.")
    leader = CompPlan.objects.create(name="Sales leadership", description="Managers and directors: override on "
                                     "their teams' bookings and a team attainment bonus.")
    tiers_v1 = [{"from": "0", "rate": "0.03"}, {"from": "50", "rate": "0.05"}, {"from": "100", "rate": "0.08"}]
    tiers_v2 = [*tiers_v1, {"from": "150", "rate": "0.10"}]

    def ae_components(version: Any, tiers: list[dict[str, str]]) -> None:
        Component.objects.create(version=version, order=0, name="Bookings commission", kind="commission",
                                 basis="bookings", rate_type="tiered_marginal", tiers=tiers,
                                 hold_pct=Decimal(10), hold_days=60, clawback_days=90)
        Component.objects.create(version=version, order=1, name="Quota attainment bonus", kind="bonus",
                                 basis="bookings", tiers=[{"from": "100", "amount": "1500"},
                                                          {"from": "125", "amount": "3000"}])
        Component.objects.create(version=version, order=2, name="Q3 new-program SPIFF", kind="spiff", basis="bookings",
                                 service_line=service_line, unit_amount=Decimal(150),
                                 spiff_start=dt.date(year, 7, 1), spiff_end=dt.date(year, 9, 30))

    v1 = CompPlanVersion.objects.create(plan=ae, version=1, effective_from=jan, effective_to=jul, status="active",
                                        notes="Launch plan.")
    ae_components(v1, tiers_v1)
    v2 = CompPlanVersion.objects.create(plan=ae, version=2, effective_from=jul, status="active",
                                        notes="Mid-year: a 10% accelerator above 150% of quota.")
    ae_components(v2, tiers_v2)
    if collected:
        kicker = Component.objects.create(version=v2, order=3, name="Net collected revenue kicker",
                                          kind="commission", basis="net_collected_revenue", rate=Decimal("0.005"))
        ComplianceSignoff.objects.create(
            component=kicker, signed_by=analyst,
            reason="Reviewed by the compliance committee (memo CC-%d-014): pays salaried staff on net collections "
                   "across all payers, not on referrals or tests; re-reviewed every year." % year)
    v3 = CompPlanVersion.objects.create(plan=ae, version=3, effective_from=dt.date(year + 1, 1, 1), status="draft",
                                        notes="Proposal for next year: adds a per-referral component.")
    ae_components(v3, tiers_v2)
    Component.objects.create(version=v3, order=3, name="Referral bounty", kind="commission", basis="referrals",
                             rate=Decimal(40))
    lv = CompPlanVersion.objects.create(plan=leader, version=1, effective_from=jan, status="active")
    Component.objects.create(version=lv, order=0, name="Team override", kind="commission", basis="bookings",
                             rate=Decimal("0.015"))
    Component.objects.create(version=lv, order=1, name="Team attainment bonus", kind="bonus", basis="bookings",
                             tiers=[{"from": "100", "amount": "5000"}])
    return {"ae": ae, "leader": leader}


def _quotas(year: int) -> dict[int, Decimal]:
    """Each rep's monthly quota: a twelfth of their leaf target in the bookings quota plan covering July."""
    tenant_id = require_tenant_id()
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT q.person_id, sum(q.annual) FROM quotas_quota q
            JOIN quotas_quotaplan p ON p.id = q.plan_id AND p.tenant_id = %(t)s AND p.metric = 'bookings'
            WHERE q.tenant_id = %(t)s AND q.is_leaf AND q.person_id IS NOT NULL
              AND p.effective_from <= %(d)s AND p.effective_to > %(d)s AND p.status IN ('active', 'archived')
            GROUP BY q.person_id
        """, {"t": tenant_id, "d": dt.date(year, 7, 1)})
        return {pk: (Decimal(annual) / 12).quantize(Decimal(100), rounding=ROUND_HALF_UP)
                for pk, annual in cursor.fetchall() if annual}


def _transactions(year: int, rng: random.Random) -> int:
    """The year's credited bookings as commission transactions; splits; cancellations. (Net collected revenue
    comes from the 835 remittances: each run syncs them, commissions.services.remittances.)"""
    from commissions.services.transactions import splits_replace, transactions_upsert

    tenant_id = require_tenant_id()
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT t.external_id, t.metric, t.account_id, t.person_id, t.transaction_date, t.amount, t.description,
                   o.person_id
            FROM quotas_creditedtransaction t
            LEFT JOIN territories_accountownership o ON o.tenant_id = %(t)s AND o.account_id = t.account_id
                 AND o.valid_from <= t.transaction_date AND (o.valid_to IS NULL OR o.valid_to > t.transaction_date)
            WHERE t.tenant_id = %(t)s AND t.metric = 'bookings'
              AND t.transaction_date >= %(s)s AND t.transaction_date < %(e)s AND t.amount > 0
            ORDER BY t.transaction_date, t.id
        """, {"t": tenant_id, "s": dt.date(year, 1, 1), "e": dt.date(year + 1, 1, 1)})
        found = cursor.fetchall()
    rows, splits, cancels = [], [], []
    team_of = dict(Person.objects.values_list("pk", "team_id"))
    mates: dict[Any, list[int]] = {}
    for pk, team in team_of.items():
        if team:
            mates.setdefault(team, []).append(pk)
    last_day = dt.date(year, 12, 31)
    for number, (external_id, metric, account, person, day, amount, description, owner) in enumerate(found):
        ext = external_id or f"DEMO-C{number:06d}"
        rows.append((ext, metric, account, person, None, day, amount, description[:200], None, "", "demo"))
        if metric != "bookings":
            continue
        draw = rng.random()
        if draw < 0.03 and owner and person is None:
            others = [m for m in mates.get(team_of.get(owner), []) if m != owner]
            if others:
                splits += [(ext, metric, owner, Decimal("0.5")), (ext, metric, rng.choice(others), Decimal("0.5"))]
        elif draw < 0.05:
            when = day + dt.timedelta(days=rng.randint(20, 80))
            if when <= last_day:
                cancels.append((f"{ext}-X", metric, account, person, None, when, -amount, "Cancelled", ext,
                                "cancellation", "demo"))
    transactions_upsert(rows=rows)
    if cancels:
        transactions_upsert(rows=cancels)
    if splits:
        splits_replace(rows=splits)
    return len(rows) + len(cancels)


def commissions_seed(*, organization: Organization, seed: int, year: int) -> CommissionOutcome:
    from commissions.models import CompPlan, CreditRule, LineItem, PlanAssignment, Statement
    from commissions.services import disputes, runs, statements
    from commissions.services.transactions import transactions_upsert
    from revops.models import ServiceLine

    outcome = CommissionOutcome()
    started = time.perf_counter()
    rng = random.Random(f"{seed}:{organization.slug}:commissions")
    with tenant_context(organization):
        if CompPlan.objects.exists():
            outcome.skipped = True
            return outcome
        memberships = {m.role: m for m in Membership.objects.select_related("user", "person").order_by("pk")}
        analyst = (memberships.get(Role.REVOPS_ANALYST) or memberships[Role.ADMIN]).user
        executive = (memberships.get(Role.EXECUTIVE) or memberships[Role.ADMIN]).user
        admin = memberships[Role.ADMIN].user
        with transaction.atomic():
            CreditRule.objects.create(name="Manager override", kind="manager_override", level=1, share=Decimal(1))
            CreditRule.objects.create(name="Director override", kind="manager_override", level=2,
                                      share=Decimal("0.5"))
            CreditRule.objects.create(name="Overlay credit", kind="overlay", share=Decimal(1))
            collected = organization.kind == "behavioral_health"
            service_line = ServiceLine.objects.order_by("code").first()
            plans = _plans(year, collected=collected, service_line=service_line, analyst=analyst)
            outcome.plans = 2
            quotas = _quotas(year)
            jan = dt.date(year, 1, 1)
            reps = list(Person.objects.filter(role="rep").order_by("employee_id"))
            leaders = list(Person.objects.filter(role__in=["manager", "executive"]).order_by("employee_id"))
            assignments = []
            recoverable = {r.pk for r in reps[1:3]}
            for rep in reps:
                start = max(rep.hire_date, jan)
                if rep.termination_date and rep.termination_date <= start:
                    continue
                new_hire = rep.hire_date >= jan
                draw = Decimal(3000) if new_hire else Decimal(1500) if rep.pk in recoverable else Decimal(0)
                assignments.append(PlanAssignment(
                    tenant_id=organization.pk, person=rep, plan=plans["ae"], effective_from=start,
                    effective_to=rep.termination_date, quota_amount=quotas.get(rep.pk),
                    draw_amount=draw, draw_recoverable=not new_hire,
                    draw_until=(rep.hire_date + dt.timedelta(days=90)) if new_hire else
                    dt.date(year, 6, 30) if draw else None))
            team_quota: dict[int, Decimal] = {}
            with connection.cursor() as cursor:
                cursor.execute("SELECT person_id, manager_id FROM revops_reportingline WHERE tenant_id = %s "
                               "AND valid_to IS NULL", [organization.pk])
                for person, manager in cursor.fetchall():
                    team_quota[manager] = team_quota.get(manager, Decimal(0)) + quotas.get(person, Decimal(0))
            for leader in leaders:
                assignments.append(PlanAssignment(
                    tenant_id=organization.pk, person=leader, plan=plans["leader"],
                    effective_from=max(leader.hire_date, jan), quota_amount=team_quota.get(leader.pk) or None))
            PlanAssignment.objects.bulk_create(assignments)
            outcome.assignments = len(assignments)
            outcome.transactions = _transactions(year, rng)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE commissions_transaction, commissions_transactionsplit, "
                               "commissions_planassignment")
        # A year of runs, each its own transaction like the worker's.
        periods = [runs.period_ensure(start=month) for month in _month_starts(year)]
        outcome.periods = len(periods)
        # Each month is run while it is open (a run of the earliest open period also rechecks every
        # locked one, so running all twelve first and locking after keeps the seed linear); then
        # January-November are approved in order.
        for period in periods:
            runs.run_now(period=period, user=analyst)
        for period in periods[:11]:
            if period.start.month <= 10:
                with transaction.atomic():
                    for statement in Statement.objects.filter(period=period):
                        statements.statement_approve(statement=statement, user=executive, as_finance=False)
                        statements.statement_approve(statement=statement, user=admin, as_finance=True)
            runs.period_approve(period=period, user=executive)
            if period.start.month <= 10:
                runs.period_mark_paid(period=period)
        # Late deals dated in the locked October and November, and a resolved dispute.
        with transaction.atomic():
            late = []
            for number, rep in enumerate(r for r in reps if r.pk in quotas and not r.termination_date):
                if number >= 3:
                    break
                day = dt.date(year, 10 + number % 2, 20 + number)
                late.append((f"DEMO-LATE-{number + 1}", "bookings", None, rep.pk, None, day,
                             Decimal(4000 + 1500 * number), "Late-booked deal (after the period closed)", None, "",
                             "demo"))
            transactions_upsert(rows=late)
        linked = memberships.get(Role.REP)
        if linked is not None and linked.person_id:
            november = periods[10]
            line = (LineItem.objects.filter(run_id=november.current_run_id, person_id=linked.person_id,
                                            kind="commission").order_by("-amount").first())
            if line is not None:
                dispute = disputes.dispute_open(
                    line=line, user=linked.user, subject="Split credit missing on this deal",
                    body="I co-sold this account with my teammate; the split should be 60/40 in my favour, not "
                         "the owner's 100% to them.")
                disputes.dispute_resolve(dispute=dispute, user=analyst,
                                         resolution="Confirmed with the manager: paying the 10% difference as an "
                                                    "adjustment in December.",
                                         adjustment_amount=(line.amount / 10).quantize(Decimal("0.01")))
                second = (LineItem.objects.filter(run_id=november.current_run_id, person_id=linked.person_id,
                                                  kind="commission").order_by("amount").first())
                if second is not None and second.pk != line.pk:
                    disputes.dispute_open(line=second, user=linked.user, subject="Tier looks wrong",
                                          body="I was above 100% of quota by then; shouldn't this be at 8%?")
        december = runs.run_now(period=periods[11], user=analyst)
        outcome.lines = LineItem.objects.filter(run__period__in=periods).count()
        outcome.payout = str(sum((s.payout for s in Statement.objects.all()), Decimal(0)))
        if december.totals.get("adjustments"):
            outcome.note = f"December adjustments {december.totals['adjustments']}"
    outcome.seconds = time.perf_counter() - started
    return outcome
