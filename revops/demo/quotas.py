"""Demo quota plans for each organization: two fiscal years of credited transactions, a learned
and a typed seasonality profile, last year's plan (archived, with attainment), this year's
(active, with attainment and the July realignment's relief) and a draft for next year with
managers' overrides and bottom-up submissions.

Fiscal years follow the organization's setting: "this year" is the fiscal year the demo
territories' July realignment falls in (Meridian, January start: FY = the demo year; Riverbend,
July start: FY = the demo year + 1, July to June), "last year" the one before. Transactions cover
both, generated from each account's revenue with the organization's monthly seasonality, a
per-rep performance factor that persists from one year to the next, per-account variance and
company growth; Riverbend also gets net collected revenue (collections 3 to 12 weeks after each
admission's booking, at the account's yield) and an active plan on it.

The territory plans start on 1 January of the demo year, so last fiscal year predates every
ownership row: the history is extended backwards with the January plan's territories (the same
accounts, territories and, where they were employed, reps), so last year's attainment can be
credited by the ownership on the transaction date like any other.

Everything else goes through ``quotas.services`` (so the audit trail and the numbers are what a
user would get). Deterministic for a seed, scale and year; an organization that already has the
demo's first quota plan is left as it is, and one without territory plans gets none.
"""
from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import Sum

from revops.models import Membership, Organization, OrganizationKind, Role
from revops.tenancy import require_tenant_id, tenant_context

# Share of each calendar month (January first) in a year's bookings: a lab's quarter-end pushes
# and summer and holiday lulls; behavioral-health referrals' school-year rhythm, slow in early
# summer and over the holidays.
SEASON = {
    OrganizationKind.LAB: (7.8, 8.0, 9.3, 8.2, 8.4, 9.0, 7.2, 7.6, 9.1, 9.0, 8.0, 8.4),
    OrganizationKind.BEHAVIORAL_HEALTH: (8.8, 8.6, 9.0, 8.7, 8.4, 7.8, 7.4, 8.6, 9.2, 9.0, 7.6, 6.9),
}
# The profile an analyst typed in for next year (calendar months, percent).
TYPED = {
    OrganizationKind.LAB: ("Quarter-end push (typed)", (7.5, 7.5, 10, 7.5, 7.5, 10, 7.5, 7.5, 10, 8, 8, 9)),
    OrganizationKind.BEHAVIORAL_HEALTH: ("School-year referrals (typed)",
                                         (8.5, 8.5, 9, 9, 8.5, 8, 7, 8.5, 9, 9, 7.5, 6.5)),
}
# Bookings a year as a share of the account's billed revenue, and what the descriptions say.
BOOKING_RATE = {OrganizationKind.LAB: 0.20, OrganizationKind.BEHAVIORAL_HEALTH: 0.25}
DESCRIPTIONS = {
    OrganizationKind.LAB: ("New test panel order", "Standing order renewal", "Toxicology add-on", "Genetics referral"),
    OrganizationKind.BEHAVIORAL_HEALTH: ("PHP admission", "IOP admission", "Residential admission", "Detox admission"),
}
GROWTH = 1.08  # this year's bookings over last year's, company-wide, before rep and account variance
TARGET_UPLIFT = Decimal("1.12")  # this year's company target = last year's actual x 1.12
BENCH_DEALS_PER_SCALE_UNIT = 5_000  # a fiscal year's bookings per --scale unit (the larger organization)
CHUNK = 200_000


@dataclass
class QuotaOutcome:
    plans: int = 0
    transactions: int = 0
    reliefs: int = 0
    ramps: int = 0
    seconds: float = 0.0
    skipped: bool = False
    note: str = ""


def plan_names(fiscal_year: int) -> dict[str, str]:
    """The demo's quota plans, by role, for the fiscal year ``fiscal_year`` ("this year")."""
    return {"last": f"FY{fiscal_year - 1} bookings", "this": f"FY{fiscal_year} bookings",
            "next": f"FY{fiscal_year + 1} bookings (draft)", "collections": f"FY{fiscal_year} net collected revenue"}


def _round_to(value: Decimal, step: int) -> Decimal:
    return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def _fiscal_order(calendar: tuple[float, ...], start_month: int) -> list[float]:
    return [calendar[(start_month - 1 + k) % 12] for k in range(12)]


def _shift_year(day: dt.date, years: int) -> dt.date:
    return day.replace(year=day.year + years)


def _territory_plan_for(plans: list[Any], start: dt.date) -> Any:
    """The territory plan in force on a fiscal year's first day: the latest starting on or
    before it (the earliest when the year predates them all)."""
    started = [p for p in plans if p.effective_from <= start]
    return started[-1] if started else plans[0]


def _extend_ownership(start: dt.date) -> int:
    """Copy the first ownership period back to ``start`` (reps not employed then left out)."""
    from territories.models import AccountOwnership

    first = AccountOwnership.objects.order_by("valid_from").values_list("valid_from", flat=True).first()
    if first is None or first <= start:
        return 0
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO territories_accountownership
                (tenant_id, account_id, plan_id, territory_id, person_id, valid_from, valid_to, reason)
            SELECT o.tenant_id, o.account_id, o.plan_id, o.territory_id,
                   CASE WHEN p.hire_date <= %(start)s THEN o.person_id END, %(start)s, o.valid_from, 'activation'
            FROM territories_accountownership o LEFT JOIN revops_person p ON p.id = o.person_id
            WHERE o.tenant_id = %(t)s AND o.valid_from = %(first)s
        """, {"t": require_tenant_id(), "start": start, "first": first})
        return cursor.rowcount


def _accounts(territory_plan_id: int, year: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Active accounts: id, territory code in the plan ('' if none), revenue of ``year``."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT a.id, coalesce(t.code, ''), coalesce(v.revenue, 0)::float8
            FROM revops_account a
            LEFT JOIN territories_planassignment pa ON pa.tenant_id = %(t)s AND pa.plan_id = %(p)s AND pa.account_id = a.id
            LEFT JOIN territories_territory t ON t.id = pa.territory_id
            LEFT JOIN territories_accountvolume v ON v.tenant_id = %(t)s AND v.account_id = a.id AND v.year = %(y)s
            WHERE a.tenant_id = %(t)s AND a.is_active
            ORDER BY a.id
        """, {"t": require_tenant_id(), "p": territory_plan_id, "y": year})
        rows = cursor.fetchall()
    return (np.array([r[0] for r in rows], dtype=np.int64), [r[1] for r in rows],
            np.array([r[2] for r in rows], dtype=np.float64))


@dataclass
class _Deals:
    account: np.ndarray  # index into the accounts
    day: np.ndarray  # datetime64[D]
    cents: np.ndarray  # int64


def _deals(rng: np.random.Generator, base: np.ndarray, count: int, start: dt.date, season: list[float]) -> _Deals:
    """About ``count`` deals over the fiscal year from ``start`` adding to about ``base`` per account:
    deal counts Poisson in the square root of the account's bookings, sizes lognormal around
    an even split, months by ``season`` (fiscal order), days uniform within the month."""
    weight = np.sqrt(np.maximum(base, 0.0))
    lam = count * weight / weight.sum() if weight.sum() > 0 else np.zeros_like(base)
    n = rng.poisson(lam)
    account = np.repeat(np.arange(len(base)), n)
    size = base[account] / np.maximum(n[account], 1) * rng.lognormal(-0.045, 0.3, len(account))
    months = np.array([np.datetime64(start, "M") + k for k in range(13)])
    month = rng.choice(12, p=np.asarray(season) / sum(season), size=len(account))
    length = (months[1:] - months[:-1]).astype("timedelta64[D]").astype(np.int64)
    day = (months[month].astype("datetime64[D]")
           + (rng.random(len(account)) * length[month]).astype(np.int64).astype("timedelta64[D]"))
    cents = np.maximum(np.rint(size * 100).astype(np.int64), 100)
    order = np.lexsort((account, day))
    return _Deals(account[order], day[order], cents[order])


def _rows(prefix: str, metric: str, kind: str, account_ids: np.ndarray, deals: _Deals,
          descriptions: tuple[str, ...] | None, rng: np.random.Generator) -> Iterator[tuple[Any, ...]]:
    """Transaction tuples in ``quotas.services.TXN_COLUMNS`` order (amounts and dates as text for COPY)."""
    ids = account_ids[deals.account].tolist()
    days = np.datetime_as_string(deals.day).tolist()
    cents = deals.cents.tolist()
    text = [descriptions[k] for k in rng.integers(0, len(descriptions), len(ids))] if descriptions else None
    for k, (account, day, amount) in enumerate(zip(ids, days, cents)):
        yield (f"{prefix}-{k + 1:07d}", metric, kind, account, None, day, f"{amount // 100}.{amount % 100:02d}",
               text[k] if text else "")


def _upsert(rows: Iterator[tuple[Any, ...]]) -> int:
    from quotas import services

    inserted = 0
    while True:
        chunk = [row for _, row in zip(range(CHUNK), rows)]
        if not chunk:
            return inserted
        inserted += services.transactions_upsert(rows=chunk)["inserted"]


def _actual(metric: str, start: dt.date, end: dt.date) -> Decimal:
    from quotas.models import CreditedTransaction

    return CreditedTransaction.objects.filter(metric=metric, transaction_date__gte=start, transaction_date__lt=end
                                              ).aggregate(total=Sum("amount"))["total"] or Decimal(0)


def _transactions(*, organization: Organization, seed: int, year: int, scale: int, territory_plan: Any,
                  last_start: dt.date, this_start: dt.date, end: dt.date, season: list[float]) -> int:
    """Last and this fiscal year's bookings (and Riverbend's collections), loaded with COPY."""
    from quotas.models import QuotaMetric, TransactionKind
    from territories.models import Coverage

    kind = organization.kind if organization.kind in SEASON else OrganizationKind.LAB
    rng = np.random.default_rng(random.Random(f"{seed}:{organization.slug}:quotas").getrandbits(64))
    account_ids, codes, revenue = _accounts(territory_plan.pk, year)
    if not len(account_ids):
        return 0
    # Reps: a performance factor per territory that mostly persists into the next year; a
    # territory waiting for its hire sells less. Accounts: some buy far more than their size says.
    territory_codes = sorted(set(codes))
    vacant = set(Coverage.objects.filter(territory__plan=territory_plan, person__isnull=True)
                 .values_list("territory__code", flat=True))
    hired = dict(Coverage.objects.filter(territory__plan=territory_plan, person__isnull=False)
                 .values_list("territory__code", "person__hire_date"))
    last_rep = rng.lognormal(0.0, 0.2, len(territory_codes))
    this_rep = last_rep ** 0.6 * rng.lognormal(0.0, 0.15, len(territory_codes))
    for j, code in enumerate(territory_codes):
        if code in vacant or not code:
            last_rep[j], this_rep[j] = 0.8, 0.6
    position = {code: j for j, code in enumerate(territory_codes)}
    territory = np.array([position[c] for c in codes], dtype=np.int64)
    # A territory whose rep joined during the year books a third of its usual before they start.
    hire = np.array([np.datetime64(hired.get(c) or "1900-01-01", "D") for c in territory_codes])
    account_factor = rng.lognormal(-0.08, 0.4, len(account_ids))
    base = revenue * BOOKING_RATE[kind] * account_factor
    if kind == OrganizationKind.LAB:
        per_year = scale * BENCH_DEALS_PER_SCALE_UNIT if scale > 1 else 12 * len(account_ids)
    else:
        per_year = min(10 * len(account_ids), 2_000)
    loaded = 0
    collections: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    if kind == OrganizationKind.BEHAVIORAL_HEALTH:
        # The quarter before last year: not loaded, but its admissions are collected last year.
        before = _deals(rng, base * last_rep[territory] / GROWTH, per_year, _shift_year(last_start, -1), season)
        tail = before.day >= np.datetime64(last_start) - np.timedelta64(92, "D")
        collections.append((before.account[tail], before.day[tail], before.cents[tail]))
    for start, rep, growth in ((last_start, last_rep, 1.0), (this_start, this_rep, GROWTH)):
        yearly = base * rep[territory] * growth * rng.lognormal(-0.01, 0.15, len(account_ids))
        deals = _deals(rng, yearly, per_year, start, season)
        keep = (deals.day >= hire[territory[deals.account]]) | (rng.random(len(deals.day)) < 0.33)
        deals = _Deals(deals.account[keep], deals.day[keep], deals.cents[keep])
        fiscal_year = start.year + (1 if start.month != 1 else 0)
        loaded += _upsert(_rows(f"BK{fiscal_year}", QuotaMetric.BOOKINGS, TransactionKind.DEAL, account_ids, deals,
                                DESCRIPTIONS[kind], rng))
        if kind == OrganizationKind.BEHAVIORAL_HEALTH:
            collections.append((deals.account, deals.day, deals.cents))
    if collections:
        # Net collections: each admission's payments arrive 3 to 12 weeks later at the account's
        # yield (payer mix); what would arrive after this fiscal year is not in the demo yet.
        account = np.concatenate([c[0] for c in collections])
        booked = np.concatenate([c[1] for c in collections])
        cents = np.concatenate([c[2] for c in collections])
        yield_rate = rng.uniform(0.45, 0.8, len(account_ids))[account] * rng.lognormal(-0.005, 0.1, len(account))
        day = booked + rng.integers(21, 85, len(account)).astype("timedelta64[D]")
        keep = (day >= np.datetime64(last_start)) & (day < np.datetime64(end))
        order = np.lexsort((account[keep], day[keep]))
        paid = _Deals(account[keep][order], day[keep][order],
                      np.maximum(np.rint(cents[keep][order] * yield_rate[keep][order]).astype(np.int64), 100))
        loaded += _upsert(_rows("NC", QuotaMetric.NET_COLLECTED_REVENUE, TransactionKind.COLLECTION, account_ids,
                                paid, None, rng))
    return loaded


def quotas_seed(*, organization: Organization, seed: int, year: int, scale: int = 1) -> QuotaOutcome:
    from quotas import selectors, services
    from quotas.models import (
        Quota,
        QuotaMetric,
        QuotaPlan,
        QuotaRelief,
        fiscal_year_start,
    )
    from territories.models import TerritoryPlan

    outcome = QuotaOutcome()
    started = time.perf_counter()
    start_month = organization.fiscal_year_start_month
    this_year = services.fiscal_year_of(dt.date(year, 7, 1), start_month)
    names = plan_names(this_year)
    with tenant_context(organization), transaction.atomic():
        if QuotaPlan.objects.filter(name=names["this"]).exists():
            outcome.skipped = True
            return outcome
        territory_plans = list(TerritoryPlan.objects.order_by("effective_from", "pk"))
        if not territory_plans:
            outcome.skipped, outcome.note = True, "no territory plans to set quotas on"
            return outcome
        kind = organization.kind if organization.kind in SEASON else OrganizationKind.LAB
        last_start = fiscal_year_start(this_year - 1, start_month)
        this_start = fiscal_year_start(this_year, start_month)
        next_start = fiscal_year_start(this_year + 1, start_month)
        plan_of = {key: _territory_plan_for(territory_plans, day)
                   for key, day in (("last", last_start), ("this", this_start), ("next", next_start))}
        _extend_ownership(last_start)
        outcome.transactions = _transactions(
            organization=organization, seed=seed, year=year, scale=scale, territory_plan=territory_plans[0],
            last_start=last_start, this_start=this_start, end=next_start,
            season=_fiscal_order(SEASON[kind], start_month))
        with connection.cursor() as cursor:
            # Statistics for the rows just loaded: without them the planner expects one
            # transaction and one assignment, and the allocation bases' join becomes a nested
            # loop (0.65 s a query at demo size, 3.6 s of the seed).
            cursor.execute("ANALYZE quotas_creditedtransaction, territories_planassignment, "
                           "territories_accountownership")

        executive = Membership.objects.filter(role=Role.EXECUTIVE).select_related("user").first()
        analyst = Membership.objects.filter(role=Role.REVOPS_ANALYST).select_related("user").first()
        approver = executive.user if executive else None
        planner = analyst.user if analyst else approver
        learned = services.seasonality_learn(name="Bookings (learned)", metric=QuotaMetric.BOOKINGS,
                                             fiscal_start=this_start)
        typed_name, typed_weights = TYPED[kind]
        typed = services.seasonality_save(name=typed_name, weights=_fiscal_order(typed_weights, start_month))

        def run(plan: QuotaPlan) -> QuotaPlan:
            services.plan_approve(plan=plan, user=approver)
            services.plan_activate(plan=plan, user=approver)  # computes attainment
            return plan

        # Last year: set on potential alone (no history before it), beaten by about 3%; archived
        # now that the year is over, its attainment is the fairness checks' "similar ratio" history.
        last_actual = _actual(QuotaMetric.BOOKINGS, last_start, this_start)
        last = run(services.plan_create(
            name=names["last"], fiscal_year=this_year - 1, territory_plan=plan_of["last"],
            company_target=_round_to(last_actual / Decimal("1.03"), 10_000),
            weights={"even": Decimal("0.2"), "potential": Decimal("0.8"), "prior_year": 0, "ttm": 0, "custom": 0},
            user=planner))
        services.plan_archive(plan=last)

        # This year: last year's actual x 1.12, 60% potential / 40% prior year, learned phasing.
        this = run(services.plan_create(
            name=names["this"], fiscal_year=this_year, territory_plan=plan_of["this"],
            company_target=_round_to(last_actual * TARGET_UPLIFT, 10_000),
            weights={"even": 0, "potential": Decimal("0.6"), "prior_year": Decimal("0.4"), "ttm": 0, "custom": 0},
            seasonality=learned, user=planner))
        plans = 2
        if kind == OrganizationKind.BEHAVIORAL_HEALTH:
            collected = _actual(QuotaMetric.NET_COLLECTED_REVENUE, last_start, this_start)
            run(services.plan_create(
                name=names["collections"], fiscal_year=this_year, metric=QuotaMetric.NET_COLLECTED_REVENUE,
                territory_plan=plan_of["this"], company_target=_round_to(collected * Decimal("1.10"), 10_000),
                weights={"even": 0, "potential": Decimal("0.5"), "prior_year": Decimal("0.5"), "ttm": 0, "custom": 0},
                user=planner))
            plans += 1

        # Next year: a draft on the balanced territory scenario, typed phasing; one region's leader
        # fixed a higher number for it, one rep's territory was cut; managers sent bottom-up numbers.
        this_actual = _actual(QuotaMetric.BOOKINGS, this_start, next_start)
        draft = services.plan_create(
            name=names["next"], fiscal_year=this_year + 1, territory_plan=plan_of["next"],
            company_target=_round_to(this_actual * TARGET_UPLIFT, 10_000),
            weights={"even": Decimal("0.1"), "potential": Decimal("0.5"), "prior_year": Decimal("0.4"), "ttm": 0,
                     "custom": 0},
            seasonality=typed, user=planner)
        plans += 1
        pick = random.Random(f"{seed}:{organization.slug}:quota-draft")
        parents = list(Quota.objects.filter(plan=draft, depth=1, is_leaf=False).order_by("code"))
        leaves = list(Quota.objects.filter(plan=draft, is_leaf=True, person__isnull=False).order_by("code"))
        if parents:
            region = max(parents, key=lambda q: q.annual)
            services.quota_override_set(quota=region, amount=_round_to(region.annual * Decimal("1.04"), 1_000))
        if len(leaves) > 1:
            leaf = Quota.objects.get(pk=pick.choice(leaves).pk)
            services.quota_override_set(quota=leaf, amount=_round_to(leaf.annual * Decimal("0.85"), 1_000))
        for node in parents + pick.sample(leaves, min(4, len(leaves))):
            node.refresh_from_db()
            factor = Decimal(str(round(pick.uniform(0.88, 1.02), 3)))
            services.bottom_up_submit(quota=node, amount=_round_to(node.annual * factor, 1_000), user=planner,
                                      note="Manager's number from the pipeline review")

        for plan in (last, this, draft):
            problems = selectors.check_sums(plan=plan)
            if problems:
                raise RuntimeError(f"{plan.name}: allocation does not add up: {problems[:3]}")
        outcome.plans = plans
        outcome.reliefs = QuotaRelief.objects.filter(plan=this).count()
        outcome.ramps = Quota.objects.filter(plan=this, ramp_start__isnull=False).count()
    outcome.seconds = time.perf_counter() - started
    return outcome
