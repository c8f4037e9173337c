"""Quota allocation, phasing and attainment at 5,000 reps and a million credited transactions,
against a straightforward per-row ORM implementation.

Run: DATABASE_URL=postgres://revops:revops@127.0.0.1:5432/revops_qbench python bench/quota_allocate.py
        [--transactions 1000000] [--prior-transactions 250000] [--accounts 50000] [--moved 0.02]
        [--sample-share 0.02] [--sample-leaves 250] [--no-baseline] [--statements] [--rebuild] [--seed 7]

The database is migrated first (``migrate --skip-checks``). Its organization "Quota bench" is
built once with COPY (``revops.bulk``) and reused by later runs with the same sizes
(``--rebuild`` builds it again):

- a territory plan of 5 regions > 25 areas > 125 districts > 1,000 sub-districts > 5,000
  territories (under the quota plan's company node: a six-level tree of 6,156 nodes), one rep
  covering each territory (5% hired since October of the year before: they ramp);
- ``--accounts`` accounts with two years of ``AccountVolume`` (revenue: the potential), ten per
  territory in ``PlanAssignment``, and their ``AccountOwnership`` from the start of the year
  before; ``--moved`` of them (2%) change territory on a day between March and October of
  the plan year (relief);
- ``--transactions`` bookings in the plan year (1% credited to a rep without an account) and
  ``--prior-transactions`` in the year before (the prior-year basis), accounts drawn in
  proportion to their revenue, months by a seasonality profile.

Timed (each service in its own transaction, commit included), on a new draft quota plan:

1. ``quotas.services.tree_build``: the 6,156 nodes from the territory plan, reps and ramps,
   then every node's bases (potential, prior year, trailing twelve months);
2. ``quotas.services.plan_allocate``: top-down allocation of the company target (60% potential,
   40% prior year), seasonal phasing of every leaf by month, ramp, relief of the moved accounts,
   parents' months as sums of their children's;
3. ``quotas.services.attainment_refresh``: every transaction of the plan year credited through
   the ownership on its date, rolled up by month to every node.

Target (issue 5): 1 + 2 + 3 under 20 seconds.

Baseline, in the same run: what a straightforward per-row ORM implementation does, run on a
sample and extrapolated linearly (the output says from what):

- allocation over the sample subtree (``--sample-leaves`` leaves and their ancestors): per
  leaf an ORM aggregate for its potential and one for its prior year, a coverage lookup for the
  ramp, a query for its accounts that moved; per node a ``Quota.save()`` and twelve
  ``QuotaMonth.save()``; parents summed in Python. Extrapolated by leaves and parents separately
  to 5,000 leaves and 1,156 parents;
- attainment over ``--sample-share`` of the plan year's transactions (every 50th by id): per
  transaction an ORM query for the ownership on its date, the credit summed in Python; then the
  sample subtree's months saved one by one. The loop is extrapolated by transactions, the
  saves by node-months.

Exit status 1 if the checks fail (the allocation sums, the target, attainment totals, under 20 s).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings")

SLUG = "quota-bench"
YEAR = 2026
FAN_OUT = (("region", "R", 5), ("area", "A", 5), ("district", "D", 5), ("subdistrict", "S", 8), ("territory", "T", 5))
SEASON = (7.8, 8.0, 9.3, 8.2, 8.4, 9.0, 7.2, 7.6, 9.1, 9.0, 8.0, 8.4)
CENT = Decimal("0.01")


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024**2:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    import psycopg
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    return (f"{model}, {os.cpu_count()} cores{memory}, PostgreSQL {server}, Python {platform.python_version()}, "
            f"numpy {np.__version__}, psycopg {psycopg.__version__}")


class StatementTimer:
    """Django execute wrapper: seconds per statement shape (first words), for ``--statements``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = " ".join(sql.split())[:100]
            self.seconds[key] += time.perf_counter() - started
            self.calls[key] += 1

    def report(self, top: int = 12) -> str:
        rows = sorted(self.seconds.items(), key=lambda kv: -kv[1])[:top]
        lines = [f"    statements: {sum(self.seconds.values()):.2f} s in {sum(self.calls.values()):,} calls"]
        lines += [f"    {sec:7.2f} s {self.calls[key]:6,}x  {key}" for key, sec in rows]
        return "\n".join(lines)


# -- the data set ----------------------------------------------------------------------------------

def slug(args: argparse.Namespace) -> str:
    """The organization of a data set: its sizes and seed are in its slug, so a run reuses it."""
    return (f"{SLUG}-{args.accounts}-{args.transactions}-{args.prior_transactions}-"
            f"{int(args.accounts * args.moved)}-{args.seed}")


def build(args: argparse.Namespace) -> None:
    """The organization's territories, reps, accounts, ownership and transactions, with COPY."""
    from django.db import transaction

    from quotas.models import CreditedTransaction
    from revops.bulk import copy_insert, copy_insert_returning
    from revops.models import Account, Person
    from territories.models import (
        AccountOwnership,
        AccountVolume,
        Coverage,
        PlanAssignment,
        PlanStatus,
        PotentialBasis,
        Territory,
        TerritoryPlan,
    )

    rng = np.random.default_rng(args.seed)
    prior_start, start, end = dt.date(YEAR - 1, 1, 1), dt.date(YEAR, 1, 1), dt.date(YEAR + 1, 1, 1)
    timings: list[tuple[str, int, float]] = []

    def timed(label: str, fn: Any) -> Any:
        t = time.perf_counter()
        out = fn()
        rows = out if isinstance(out, int) else len(out)
        timings.append((label, rows, time.perf_counter() - t))
        print(f"  {label:<40} {rows:>10,} rows {timings[-1][2]:7.1f} s", flush=True)
        return out

    with transaction.atomic():
        plan = TerritoryPlan.objects.create(name="Bench territories", effective_from=prior_start,
                                            status=PlanStatus.ACTIVE, potential_basis=PotentialBasis.REVENUE)
        parents: list[int | None] = [None]
        parent_codes = [""]
        for level, prefix, fan in FAN_OUT:
            rows = []
            for p, (pid, pcode) in enumerate(zip(parents, parent_codes)):
                for k in range(fan):
                    code = f"{prefix}{p * fan + k + 1:04d}"
                    rows.append((plan.pk, pid, code, f"{level.title()} {p * fan + k + 1}", level))
            got = timed(f"territories: {level}", lambda rows=rows: copy_insert_returning(
                Territory, columns=("plan_id", "parent_id", "code", "name", "level"), rows=rows,
                returning=("id", "code"), trusted=("plan_id", "parent_id")))
            by_code = dict((code, pk) for pk, code in got)
            parent_codes = [r[2] for r in rows]
            parents = [by_code[c] for c in parent_codes]
        leaves = np.array(parents, dtype=np.int64)
        n_leaves = len(leaves)

        # Reps: 95% hired years ago, 5% since October of last year (they ramp).
        new = rng.random(n_leaves) < 0.05
        old_days = rng.integers(0, 8 * 365, n_leaves)
        new_days = rng.integers(0, 270, n_leaves)
        hires = [dt.date(YEAR - 1, 10, 1) + dt.timedelta(days=int(d)) if is_new else
                 dt.date(2015, 1, 1) + dt.timedelta(days=int(o)) for is_new, o, d in zip(new, old_days, new_days)]
        people = timed("people (reps)", lambda: copy_insert_returning(
            Person, columns=("employee_id", "first_name", "last_name", "role", "hire_date"),
            rows=[(f"QB{i:05d}", "Rep", f"Number {i}", "rep", hires[i]) for i in range(n_leaves)],
            returning=("id", "employee_id")))
        person_of = dict((eid, pk) for pk, eid in people)
        reps = np.array([person_of[f"QB{i:05d}"] for i in range(n_leaves)], dtype=np.int64)
        timed("coverage", lambda: copy_insert(
            Coverage, columns=("territory_id", "person_id", "role", "valid_from"),
            rows=[(int(leaves[i]), int(reps[i]), "primary", max(prior_start, hires[i])) for i in range(n_leaves)],
            trusted=("territory_id", "person_id")))

        n = args.accounts
        got = timed("accounts", lambda: copy_insert_returning(
            Account, columns=("external_id", "name", "zip_code", "state", "account_type"),
            rows=[(f"QA{i:06d}", f"Practice {i}", f"{10000 + i % 89000:05d}", "TX", "physician_practice")
                  for i in range(n)], returning=("id", "external_id")))
        account_of = dict((eid, pk) for pk, eid in got)
        accounts = np.array([account_of[f"QA{i:06d}"] for i in range(n)], dtype=np.int64)
        revenue = np.rint(rng.lognormal(np.log(120_000), 0.7, n))
        timed("account volumes (2 years)", lambda: copy_insert(
            AccountVolume, columns=("account_id", "year", "volume", "revenue", "visits"),
            rows=[(int(a), y, int(r // 850), int(r / (1.08 if y < YEAR else 1)), 12)
                  for a, r in zip(accounts, revenue) for y in (YEAR - 1, YEAR)], trusted=("account_id",)))
        home = rng.permutation(np.arange(n) % n_leaves)  # ten accounts per territory
        timed("plan assignments", lambda: copy_insert(
            PlanAssignment, columns=("plan_id", "account_id", "territory_id"),
            rows=[(plan.pk, int(a), int(leaves[h])) for a, h in zip(accounts, home)],
            trusted=("plan_id", "account_id", "territory_id")))

        moved = np.zeros(n, dtype=bool)
        moved[rng.choice(n, int(n * args.moved), replace=False)] = True
        dest = (home + rng.integers(1, n_leaves, n)) % n_leaves
        move_day = [dt.date(YEAR, 3, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 245, n)]

        def ownership_rows() -> Any:
            for i in range(n):
                h = home[i]
                if moved[i]:
                    yield (int(accounts[i]), plan.pk, int(leaves[h]), int(reps[h]), prior_start, move_day[i], "activation")
                    d = dest[i]
                    yield (int(accounts[i]), plan.pk, int(leaves[d]), int(reps[d]), move_day[i], None, "edit")
                else:
                    yield (int(accounts[i]), plan.pk, int(leaves[h]), int(reps[h]), prior_start, None, "activation")

        timed("account ownership", lambda: copy_insert(
            AccountOwnership, columns=("account_id", "plan_id", "territory_id", "person_id", "valid_from", "valid_to",
                                       "reason"),
            rows=ownership_rows(), trusted=("account_id", "plan_id", "territory_id", "person_id")))

        weights = revenue / revenue.sum()
        season = np.asarray(SEASON) / sum(SEASON)

        def transactions(count: int, year: int, person_share: float) -> Any:
            who = rng.choice(n, count, p=weights)
            month = rng.choice(12, count, p=season)
            first = np.array([np.datetime64(f"{year}-{m + 1:02d}-01") for m in range(12)] + [np.datetime64(f"{year + 1}-01-01")])
            length = (first[1:] - first[:-1]).astype(np.int64)
            day = first[month] + (rng.random(count) * length[month]).astype(np.int64).astype("timedelta64[D]")
            cents = np.maximum(np.rint(rng.lognormal(np.log(1_600), 0.8, count) * 100), 100).astype(np.int64)
            direct = rng.random(count) < person_share
            owner_rep = reps[home[who]]
            days = np.datetime_as_string(day).tolist()
            for k, (a, r, d, c, p) in enumerate(zip(accounts[who].tolist(), owner_rep.tolist(), days, cents.tolist(),
                                                    direct.tolist())):
                yield ("bookings", "deal", None if p else a, r if p else None, d, f"{c // 100}.{c % 100:02d}")

        columns = ("metric", "kind", "account_id", "person_id", "transaction_date", "amount")
        timed("credited transactions, prior year", lambda: copy_insert(
            CreditedTransaction, columns=columns, rows=transactions(args.prior_transactions, YEAR - 1, 0.0),
            trusted=("account_id", "person_id")))
        timed("credited transactions, plan year", lambda: copy_insert(
            CreditedTransaction, columns=columns, rows=transactions(args.transactions, YEAR, 0.01),
            trusted=("account_id", "person_id")))
    print(f"  built in {sum(t for _, _, t in timings):.1f} s (commit included in the last step's wall time)")


def vacuum() -> None:
    from django.db import connection

    t = time.perf_counter()
    with connection.cursor() as cursor:
        for table in ("quotas_creditedtransaction", "territories_accountownership", "territories_planassignment",
                      "territories_accountvolume", "territories_territory", "territories_coverage", "revops_account",
                      "revops_person", "quotas_quota", "quotas_quotamonth", "quotas_quotarelief"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"  VACUUM ANALYZE: {time.perf_counter() - t:.1f} s")


def drop_plans(tenant_id: int) -> None:
    """Earlier runs' quota plans, in four statements (a cascade through the ORM would load every row)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for sql in ("DELETE FROM quotas_quotarelief WHERE tenant_id = %s",
                    "DELETE FROM quotas_quotamonth WHERE tenant_id = %s",
                    "DELETE FROM quotas_quota WHERE tenant_id = %s",
                    "DELETE FROM quotas_quotaplan WHERE tenant_id = %s"):
            cursor.execute(sql, [tenant_id])


# -- the straightforward per-row ORM implementation ------------------------------------------------

def _split(total: Decimal, shares: list[Decimal]) -> list[Decimal]:
    """Half-up to the cent each, the last one takes the rounding difference (so they sum)."""
    whole = sum(shares)
    out = [((total * s / whole) if whole else total / len(shares)).quantize(CENT, rounding=ROUND_HALF_UP)
           for s in shares]
    out[-1] += total - sum(out)
    return out


def naive_allocate(plan: Any, sample_leaf_codes: set[str]) -> dict[str, Any]:
    """Per-row ORM allocation of ``plan`` over the sample subtree; seconds spent on leaves and on parents."""
    from django.db import transaction
    from django.db.models import Sum

    from quotas.models import CreditedTransaction, Quota, QuotaMonth, fiscal_months
    from territories.models import AccountOwnership, AccountVolume, Coverage, PlanAssignment, Territory

    months = fiscal_months(plan.effective_from)
    season = [Decimal(str(w)) for w in plan.seasonality.weights]
    ramp = [Decimal(p) for p in plan.ramp_percents]
    leaf_seconds = parent_seconds = 0.0
    with transaction.atomic():
        territories = {t.pk: t for t in Territory.objects.filter(plan=plan.territory_plan)}
        keep: set[int] = set()
        for t in territories.values():
            if t.code in sample_leaf_codes:
                node = t
                while node is not None:
                    keep.add(node.pk)
                    node = territories.get(node.parent_id)
        children: dict[int | None, list[Any]] = defaultdict(list)
        for pk in sorted(keep, key=lambda pk: territories[pk].code):
            children[territories[pk].parent_id].append(territories[pk])
        bases: dict[int | None, tuple[Decimal, Decimal]] = {}
        months_of: dict[int | None, list[Decimal]] = {}

        def leaf_bases(t: Any) -> tuple[Decimal, Decimal]:
            accounts = PlanAssignment.objects.filter(plan=plan.territory_plan, territory=t).values("account_id")
            potential = AccountVolume.objects.filter(account_id__in=accounts, year=plan.effective_from.year
                                                     ).aggregate(s=Sum("revenue"))["s"] or Decimal(0)
            prior = CreditedTransaction.objects.filter(
                account_id__in=accounts, metric=plan.metric_code,
                transaction_date__gte=plan.effective_from.replace(year=plan.effective_from.year - 1),
                transaction_date__lt=plan.effective_from).aggregate(s=Sum("amount"))["s"] or Decimal(0)
            return potential, prior

        def gather(t: Any | None) -> tuple[Decimal, Decimal]:
            nonlocal leaf_seconds, parent_seconds
            kids = children.get(t.pk if t else None, [])
            if not kids:
                started = time.perf_counter()
                bases[t.pk] = leaf_bases(t)
                leaf_seconds += time.perf_counter() - started
                return bases[t.pk]
            sums = [gather(k) for k in kids]
            bases[t.pk if t else None] = (sum(s[0] for s in sums), sum(s[1] for s in sums))
            return bases[t.pk if t else None]

        gather(None)
        root = Quota(plan=plan, code="COMPANY", name="Company", level="company", depth=0,
                     annual=plan.company_target, potential=bases[None][0], prior_year=bases[None][1])
        root.save()

        def allocate(t: Any | None, quota: Any, amount: Decimal, depth: int) -> list[Decimal]:
            nonlocal leaf_seconds, parent_seconds
            kids = children.get(t.pk if t else None, [])
            if not kids:  # a leaf: phase, ramp, relief, save its months
                started = time.perf_counter()
                cov = Coverage.objects.filter(territory=t, role="primary").select_related("person").first()
                values = _split(amount, season)
                if cov is not None and cov.person is not None:
                    hired = cov.person.hire_date.replace(day=1)
                    for j, m in enumerate(months):
                        k = (m.year - hired.year) * 12 + m.month - hired.month
                        pct = Decimal(0) if k < 0 else (ramp[k] if k < len(ramp) else Decimal(100))
                        values[j] = (values[j] * pct / 100).quantize(CENT, rounding=ROUND_HALF_UP)
                # Relief: each account that left during the year takes its share of the months after.
                for o in AccountOwnership.objects.filter(territory__code=t.code, valid_to__gt=plan.effective_from,
                                                         valid_to__lt=plan.effective_to):
                    volume = AccountVolume.objects.filter(account_id=o.account_id, year=plan.effective_from.year).first()
                    share = volume.revenue / bases[t.pk][0] if volume is not None and bases[t.pk][0] else Decimal(0)
                    for j, m in enumerate(months):
                        if m >= o.valid_to.replace(day=1):
                            values[j] -= (values[j] * share).quantize(CENT, rounding=ROUND_HALF_UP)
                for j, m in enumerate(months):
                    QuotaMonth(quota=quota, month=m, allocated=values[j], amount=values[j]).save()
                quota.amount = sum(values)
                quota.save()
                leaf_seconds += time.perf_counter() - started
                return values
            started = time.perf_counter()
            shares = [Decimal("0.6") * bases[k.pk][0] / max(bases[t.pk if t else None][0], CENT)
                      + Decimal("0.4") * bases[k.pk][1] / max(bases[t.pk if t else None][1], CENT) for k in kids]
            amounts = _split(amount, shares)
            parent_seconds += time.perf_counter() - started
            totals = [Decimal(0)] * 12
            for k, a in zip(kids, amounts):
                started = time.perf_counter()
                q = Quota(plan=plan, parent=quota, territory=k, code=k.code, name=k.name, level=k.level, depth=depth,
                          is_leaf=not children.get(k.pk), annual=a, potential=bases[k.pk][0], prior_year=bases[k.pk][1])
                q.save()
                elapsed = time.perf_counter() - started
                if q.is_leaf:
                    leaf_seconds += elapsed
                else:
                    parent_seconds += elapsed
                values = allocate(k, q, a, depth + 1)
                totals = [x + y for x, y in zip(totals, values)]
            started = time.perf_counter()
            for j, m in enumerate(months):
                QuotaMonth(quota=quota, month=m, allocated=totals[j], amount=totals[j]).save()
            quota.amount = sum(totals)
            quota.save()
            parent_seconds += time.perf_counter() - started
            return totals

        allocate(None, root, plan.company_target, 1)
    leaves = sum(1 for pk in keep if not children.get(pk))
    return {"leaf_seconds": leaf_seconds, "parent_seconds": parent_seconds, "leaves": leaves,
            "parents": len(keep) - leaves + 1}


def naive_attainment(plan: Any, every: int) -> dict[str, Any]:
    """Per-transaction ORM ownership lookups over every ``every``-th transaction, then the sample
    subtree's months saved one by one."""
    from django.db import transaction
    from django.db.models import Q

    from quotas.models import CreditedTransaction, Quota, QuotaMonth
    from territories.models import AccountOwnership

    with transaction.atomic():
        leaves = {q.code: q for q in Quota.objects.filter(plan=plan, is_leaf=True)}
        by_person = {q.person_id: q for q in leaves.values() if q.person_id}
        credited: dict[tuple[int, dt.date], Decimal] = defaultdict(Decimal)
        uncredited = Decimal(0)
        started = time.perf_counter()
        count = 0
        sample = CreditedTransaction.objects.filter(
            metric=plan.metric_code, transaction_date__gte=plan.effective_from,
            transaction_date__lt=plan.effective_to).extra(where=[f"quotas_creditedtransaction.id %% {every} = 0"])
        for txn in sample.iterator(chunk_size=2000):
            count += 1
            leaf = None
            if txn.account_id is not None:
                owner = (AccountOwnership.objects.filter(account_id=txn.account_id, valid_from__lte=txn.transaction_date)
                         .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=txn.transaction_date))
                         .select_related("territory").first())
                if owner is not None and owner.territory is not None:
                    leaf = leaves.get(owner.territory.code)
            else:
                leaf = by_person.get(txn.person_id)
            if leaf is None:
                uncredited += txn.amount
                continue
            credited[(leaf.pk, txn.transaction_date.replace(day=1))] += txn.amount
        loop_seconds = time.perf_counter() - started
        started = time.perf_counter()
        node_months = 0
        for month in QuotaMonth.objects.filter(quota__plan=plan):
            month.actual = credited.get((month.quota_id, month.month), Decimal(0))
            month.save(update_fields=["actual"])
            node_months += 1
        save_seconds = time.perf_counter() - started
    return {"transactions": count, "loop_seconds": loop_seconds, "node_months": node_months,
            "save_seconds": save_seconds, "credited": sum(credited.values(), Decimal(0)), "uncredited": uncredited}


# -- the run ---------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--prior-transactions", type=int, default=250_000)
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--moved", type=float, default=0.02)
    parser.add_argument("--sample-share", type=float, default=0.02)
    parser.add_argument("--sample-leaves", type=int, default=250)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--statements", action="store_true", help="time every SQL statement of the timed steps")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Sum

    from quotas import selectors, services
    from quotas.models import CreditedTransaction, Quota, QuotaMonth, QuotaPlan, QuotaRelief, SeasonalityProfile
    from revops import services as revops_services
    from revops.models import Organization
    from revops.tenancy import tenant_context
    from territories.models import TerritoryPlan

    load_start = os.getloadavg()
    print(f"machine: {machine()}")
    print(f"load average at start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}")
    call_command("migrate", skip_checks=True, verbosity=0)

    org = Organization.objects.filter(slug=slug(args)).first()
    if org is not None and args.rebuild:
        print("\nremoving the data set (--rebuild) ...", flush=True)
        t = time.perf_counter()
        revops_services.organization_delete(organization=org)
        print(f"  {time.perf_counter() - t:.1f} s")
        org = None
    if org is None:
        print(f"\nbuilding the data set with COPY (seed {args.seed}) ...", flush=True)
        org = revops_services.organization_create(name="Quota bench", slug=slug(args), kind="lab")
        with tenant_context(org):
            build(args)
        vacuum()
    with tenant_context(org):
        territory_plan = TerritoryPlan.objects.get(name="Bench territories")
        drop_plans(org.pk)
        start, end = dt.date(YEAR, 1, 1), dt.date(YEAR + 1, 1, 1)
        plan_year = CreditedTransaction.objects.filter(transaction_date__gte=start, transaction_date__lt=end)
        plan_total = plan_year.aggregate(s=Sum("amount"))["s"]
        prior_total = CreditedTransaction.objects.filter(transaction_date__lt=start).aggregate(s=Sum("amount"))["s"]
        n_txn = plan_year.count()
        profile = (SeasonalityProfile.objects.filter(name="Bench phasing").first()
                   or services.seasonality_save(name="Bench phasing", weights=SEASON))
        target = (prior_total * Decimal("1.12")).quantize(Decimal(1))
        print(f"\ndata: {Quota.objects.count()} quota rows left over; {n_txn:,} plan-year transactions "
              f"({plan_total:,.2f}); prior year {prior_total:,.2f}; company target {target:,} (prior year x 1.12)")

        def new_plan(name: str) -> QuotaPlan:
            return QuotaPlan.objects.create(
                name=name, fiscal_year=YEAR, territory_plan=territory_plan, company_target=target,
                seasonality=profile, effective_from=start, effective_to=end)

        # -- ours ------------------------------------------------------------------------------
        plan = new_plan(f"Bench FY{YEAR}")
        timer = StatementTimer()
        ours: dict[str, float] = {}
        print("\n(1) ours: quotas.services, set-based", flush=True)
        for label, step in (("tree_build (nodes, reps, ramps, bases)", lambda: services.tree_build(plan=plan)),
                            ("plan_allocate (allocation, phasing, ramp, relief)", lambda: services.plan_allocate(plan=plan)),
                            ("attainment_refresh (1 transaction = 1 credit)", lambda: services.attainment_refresh(plan=plan))):
            timer.seconds.clear()
            timer.calls.clear()
            t = time.perf_counter()
            if args.statements:
                with connection.execute_wrapper(timer):
                    step()
            else:
                step()
            ours[label] = time.perf_counter() - t
            print(f"  {label:<52} {ours[label]:7.2f} s", flush=True)
            if args.statements:
                print(timer.report())
        plan.refresh_from_db()
        with connection.cursor() as cursor:
            # Statistics that know about the plan just written, for the checks and the baseline
            # below (not timed; the services ran on whatever statistics the tables had).
            for table in ("quotas_quota", "quotas_quotamonth", "quotas_quotarelief"):
                cursor.execute(f"ANALYZE {table}")
        nodes = Quota.objects.filter(plan=plan).count()
        leaves = Quota.objects.filter(plan=plan, is_leaf=True).count()
        ramps = Quota.objects.filter(plan=plan, ramp_start__isnull=False).count()
        reliefs = QuotaRelief.objects.filter(plan=plan).count()
        months = QuotaMonth.objects.filter(quota__plan=plan).count()
        t = time.perf_counter()
        problems = selectors.check_sums(plan=plan)
        check_seconds = time.perf_counter() - t
        root = Quota.objects.get(plan=plan, parent__isnull=True)
        summary = plan.attainment_summary
        credited, uncredited = Decimal(summary["credited"]), Decimal(summary["uncredited"])
        print(f"  {nodes:,} nodes ({leaves:,} leaves, depth {Quota.objects.filter(plan=plan).order_by('-depth').first().depth + 1} "
              f"levels), {months:,} node-months, {ramps} ramping reps, {reliefs:,} relief rows")
        print(f"  root annual {root.annual:,} (target {target:,}); leaves carry {root.amount:,} after ramp and relief")
        print(f"  credited {credited:,} in {summary['credited_transactions']:,} transactions, uncredited {uncredited:,} "
              f"in {summary['uncredited_transactions']:,}; plan-year total {plan_total:,}")
        print(f"  selectors.check_sums (not timed, {check_seconds:.1f} s): "
              f"{'every parent = its children, annual and monthly' if not problems else problems[:3]}")
        total_ours = sum(ours.values())
        allocation_ours = sum(v for k, v in ours.items() if not k.startswith("attainment"))

        # -- baseline --------------------------------------------------------------------------
        baseline: dict[str, Any] = {}
        if not args.no_baseline:
            print(f"\n(2) baseline: per-row ORM, on a sample, extrapolated linearly", flush=True)
            every = max(1, round(1 / args.sample_share))
            codes = sorted(Quota.objects.filter(plan=plan, is_leaf=True).values_list("code", flat=True))
            sample_codes = set(codes[:args.sample_leaves])
            naive = new_plan(f"Bench FY{YEAR} naive")
            alloc = naive_allocate(naive, sample_codes)
            full_parents = nodes - leaves
            alloc_x = (alloc["leaf_seconds"] * leaves / alloc["leaves"]
                       + alloc["parent_seconds"] * full_parents / alloc["parents"])
            print(f"  allocation: {alloc['leaves']} leaves in {alloc['leaf_seconds']:.2f} s, {alloc['parents']} parents "
                  f"in {alloc['parent_seconds']:.2f} s; extrapolated to {leaves:,} leaves and {full_parents:,} parents: "
                  f"{alloc_x:,.0f} s", flush=True)
            att = naive_attainment(naive, every)
            loop_x = att["loop_seconds"] * n_txn / max(att["transactions"], 1)
            save_x = att["save_seconds"] * months / max(att["node_months"], 1)
            print(f"  attainment: {att['transactions']:,} transactions (every {every}th, "
                  f"{att['transactions'] / n_txn:.1%}) in {att['loop_seconds']:.2f} s, extrapolated to {n_txn:,}: "
                  f"{loop_x:,.0f} s; {att['node_months']:,} node-months saved in {att['save_seconds']:.2f} s, "
                  f"extrapolated to {months:,}: {save_x:,.0f} s")
            baseline = {"allocation": alloc_x, "attainment": loop_x + save_x}
            drop_plans(org.pk)

        # -- table -----------------------------------------------------------------------------
        print("\nfigures (wall seconds; baseline extrapolated from the sample above)")
        print(f"  {'step':<52} {'ours':>8} {'baseline':>10} {'ratio':>8}")
        attainment_ours = ours["attainment_refresh (1 transaction = 1 credit)"]
        for label, ours_s, base_s in (
                ("allocation (tree_build + plan_allocate)", allocation_ours, baseline.get("allocation")),
                ("attainment (attainment_refresh)", attainment_ours, baseline.get("attainment")),
                ("total", total_ours, sum(baseline.values()) if baseline else None)):
            print(f"  {label:<52} {ours_s:>8.2f} {base_s if base_s is not None else float('nan'):>10,.0f} "
                  f"{(base_s / ours_s) if base_s else float('nan'):>7,.0f}x")
        print(f"  target: total under 20 s for {leaves:,} reps, {nodes - 1:,} territories and {n_txn:,} transactions")

    load_end = os.getloadavg()
    print(f"\nload average at end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    checks = {
        f"total under 20 s ({total_ours:.1f} s)": total_ours < 20.0,
        "every parent sums its children, annual and monthly": not problems,
        "the root carries the company target": root.annual == target,
        "credited + uncredited = the plan year's transactions": credited + uncredited == plan_total,
        "relief and ramps present": reliefs > 0 and ramps > 0,
    }
    for text, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
