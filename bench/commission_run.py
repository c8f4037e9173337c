"""A commission run of 1,000,000 transactions for 2,000 reps (three components each, splits, two levels
of manager overrides), computed and persisted, against the per-credit reference engine of the tests.

Run: DATABASE_URL=postgres://revops:revops@127.0.0.1:5432/revops_cbench python bench/commission_run.py
        [--transactions 1000000] [--reps 2000] [--split-share 0.05] [--sample-people 40] [--rebuild] [--seed 7]

The database is migrated first. Its organization is built once with COPY (``revops.bulk``) and reused
by later runs of the same sizes (``--rebuild`` builds it again):

- 2,000 reps, 200 managers (ten reps each), 20 directors (ten managers each), with reporting lines;
- 20 accounts per rep, owned by the rep (``territories.AccountOwnership``);
- plan "Rep" (tiered marginal bookings commission 4% / 6% above 50% / 9% above 100% of quota, with a
  10% hold for 60 days and a 90-day clawback; a 100%/150% attainment bonus; a SPIFF of $25 + 0.5% on
  deals of 1-15 March) for reps with a $90,000 monthly quota, and plan "Leader" (flat 2% override
  commission, bonus, the same SPIFF) for managers and directors;
- credit rules: manager override level 1 at 100%, level 2 at 50%;
- ``--transactions`` bookings in March 2026 on accounts drawn at random, ``--split-share`` of them
  split 60/40 with another rep.

Timed: ``commissions.services.runs.run_now`` for March (crediting SQL, engine, COPY of every line,
statements, commit), stage by stage. Peak memory is the process's maximum resident set.

Baseline, in the same run: the tests' per-credit reference engine (tests/commissions/reference.py) on
the credits of ``--sample-people`` reps and their managers, extrapolated linearly by credits; and the
batch engine on the same sample, which must give the same lines to the cent.

Targets (issue 7): under 30 seconds, peak memory under 4 GiB, reference / batch >= 20x.
Exit status 1 if a check fails.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings")

MARCH = dt.date(2026, 3, 1)
APRIL = dt.date(2026, 4, 1)
TARGET_SECONDS = 30.0
TARGET_GIB = 4.0


def machine() -> str:
    import psycopg
    from django.db import connection

    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    kib = int(Path("/proc/meminfo").read_text().split()[1])
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    return (f"{model}, {os.cpu_count()} cores, {kib / 1024**2:.0f} GiB, PostgreSQL {server}, "
            f"Python {platform.python_version()}, numpy {np.__version__}, psycopg {psycopg.__version__}")


def slug(args: argparse.Namespace) -> str:
    return f"commission-bench-{args.reps}-{args.transactions}-{int(args.split_share * 1000)}-{args.seed}"


def build(args: argparse.Namespace) -> None:
    from django.db import transaction

    from commissions.models import CompPlan, CompPlanVersion, Component, CreditRule, PlanAssignment
    from commissions.models import Transaction as Txn
    from commissions.models import TransactionSplit
    from revops.bulk import copy_insert, copy_insert_returning
    from revops.models import Account, Person, ReportingLine
    from territories.models import AccountOwnership, PlanStatus, TerritoryPlan

    rng = np.random.default_rng(args.seed)
    start = dt.date(2025, 1, 1)

    def timed(label: str, fn):
        t = time.perf_counter()
        out = fn()
        rows = out if isinstance(out, int) else len(out)
        print(f"  {label:<34} {rows:>10,} rows {time.perf_counter() - t:7.1f} s", flush=True)
        return out

    n_reps = args.reps
    n_managers = max(1, n_reps // 10)
    n_directors = max(1, n_managers // 10)
    with transaction.atomic():
        def people(prefix: str, count: int, role: str) -> np.ndarray:
            got = timed(f"people ({role})", lambda: copy_insert_returning(
                Person, columns=("employee_id", "first_name", "last_name", "role", "hire_date"),
                rows=[(f"{prefix}{i:05d}", role.title(), f"Number {i}", role, start) for i in range(count)],
                returning=("id", "employee_id")))
            by = dict((eid, pk) for pk, eid in got)
            return np.array([by[f"{prefix}{i:05d}"] for i in range(count)], dtype=np.int64)

        reps = people("CR", n_reps, "rep")
        managers = people("CM", n_managers, "manager")
        directors = people("CD", n_directors, "executive")
        lines = [(int(r), int(managers[i // 10 % n_managers]), start) for i, r in enumerate(reps)]
        lines += [(int(m), int(directors[i // 10 % n_directors]), start) for i, m in enumerate(managers)]
        timed("reporting lines", lambda: copy_insert(ReportingLine, columns=("person_id", "manager_id", "valid_from"),
                                                     rows=lines, trusted=("person_id", "manager_id")))
        n_accounts = n_reps * 20
        got = timed("accounts", lambda: copy_insert_returning(
            Account, columns=("external_id", "name", "zip_code", "state"),
            rows=[(f"CA{i:06d}", f"Practice {i}", f"{10000 + i % 89000:05d}", "TX") for i in range(n_accounts)],
            returning=("id", "external_id")))
        by = dict((eid, pk) for pk, eid in got)
        accounts = np.array([by[f"CA{i:06d}"] for i in range(n_accounts)], dtype=np.int64)
        owner = reps[np.arange(n_accounts) // 20]
        plan = TerritoryPlan.objects.create(name="Commission bench territories", effective_from=start,
                                            status=PlanStatus.ACTIVE)
        timed("account ownership", lambda: copy_insert(
            AccountOwnership, columns=("account_id", "plan_id", "person_id", "valid_from", "reason"),
            rows=[(int(a), plan.pk, int(p), start, "activation") for a, p in zip(accounts, owner)],
            trusted=("account_id", "plan_id", "person_id")))

        spiff = {"kind": "spiff", "basis": "bookings", "unit_amount": Decimal(25), "rate": Decimal("0.005"),
                 "spiff_start": MARCH, "spiff_end": dt.date(2026, 3, 15)}
        bonus = {"kind": "bonus", "basis": "bookings", "tiers": [{"from": "100", "amount": "2000"},
                                                                 {"from": "150", "amount": "4000"}]}
        for name, commission, people_ids, quota in (
            ("Rep", {"kind": "commission", "basis": "bookings", "rate_type": "tiered_marginal",
                     "tiers": [{"from": "0", "rate": "0.04"}, {"from": "50", "rate": "0.06"},
                               {"from": "100", "rate": "0.09"}],
                     "hold_pct": Decimal(10), "hold_days": 60, "clawback_days": 90}, reps, Decimal("90000")),
            ("Leader", {"kind": "commission", "basis": "bookings", "rate": Decimal("0.02")},
             np.concatenate([managers, directors]), Decimal("900000")),
        ):
            cp = CompPlan.objects.create(name=name)
            version = CompPlanVersion.objects.create(plan=cp, version=1, effective_from=start, status="active")
            for order, fields in enumerate((commission, bonus, spiff)):
                Component.objects.create(version=version, name=f"{name} {fields['kind']}", order=order, **fields)
            PlanAssignment.objects.bulk_create([
                PlanAssignment(tenant_id=cp.tenant_id, person_id=int(p), plan=cp, effective_from=start,
                               quota_amount=quota) for p in people_ids])
        CreditRule.objects.create(name="Manager override", kind="manager_override", level=1, share=Decimal(1))
        CreditRule.objects.create(name="Director override", kind="manager_override", level=2, share=Decimal("0.5"))

        n = args.transactions
        which = rng.integers(0, n_accounts, n)
        day = np.datetime64(MARCH) + rng.integers(0, 31, n).astype("timedelta64[D]")
        cents = np.maximum(np.rint(rng.lognormal(np.log(1_800), 0.8, n) * 100), 100).astype(np.int64)
        days = np.datetime_as_string(day).tolist()

        def txn_rows():
            for k, (a, d, c) in enumerate(zip(accounts[which].tolist(), days, cents.tolist())):
                yield (f"B{k:07d}", "bookings", a, d, f"{c // 100}.{c % 100:02d}", "bench")

        got = timed("transactions", lambda: copy_insert_returning(
            Txn, columns=("external_id", "basis", "account_id", "transaction_date", "amount", "source"),
            rows=txn_rows(), returning=("id",), trusted=("account_id",)))
        txn_ids = np.array([r[0] for r in got], dtype=np.int64)
        split = np.flatnonzero(rng.random(n) < args.split_share)
        first = owner[which[split]]
        other = reps[(np.searchsorted(reps, first) + rng.integers(1, n_reps, len(split))) % n_reps]
        rows = [(int(t), int(p), "0.6") for t, p in zip(txn_ids[split], first)]
        rows += [(int(t), int(p), "0.4") for t, p in zip(txn_ids[split], other)]
        timed("splits", lambda: copy_insert(TransactionSplit, columns=("transaction_id", "person_id", "share"),
                                            rows=rows, trusted=("transaction_id", "person_id")))


def vacuum() -> None:
    from django.db import connection

    t = time.perf_counter()
    with connection.cursor() as cursor:
        for table in ("commissions_transaction", "commissions_transactionsplit", "territories_accountownership",
                      "revops_reportingline", "revops_person", "commissions_planassignment", "commissions_lineitem"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"  VACUUM ANALYZE: {time.perf_counter() - t:.1f} s")


def reference_ratio(args: argparse.Namespace, full_credits: int, batch_seconds: float) -> tuple[float, float, bool]:
    """The reference engine on a sample of people (all their credits), extrapolated by credits."""
    import pandas as pd
    from django.db import transaction

    from commissions import engine
    from commissions.models import CommissionPeriod
    from commissions.services import runs
    from tests.commissions.reference import reference_lines

    with transaction.atomic():
        period = CommissionPeriod.objects.get(start=MARCH)
        credits, _lines, inputs = runs.compute_period(period)
        prior = runs.prior_paid_for(period=period, credits=credits)
    people = np.sort(credits["person_id"].unique())
    rng = np.random.default_rng(args.seed)
    sample_people = rng.choice(people, min(args.sample_people, len(people)), replace=False)
    sample = credits[credits["person_id"].isin(sample_people)].reset_index(drop=True)
    kwargs = dict(credits=sample, components=inputs["components"], versions=inputs["versions"],
                  quotas=inputs["quotas"], prior_paid=prior)
    t = time.perf_counter()
    slow = pd.DataFrame(reference_lines(**kwargs))
    slow_seconds = time.perf_counter() - t
    t = time.perf_counter()
    fast = engine.compute_lines(**kwargs, period_start=np.datetime64(MARCH, "D"), period_end=np.datetime64(APRIL, "D"))
    fast_seconds = time.perf_counter() - t
    key = ["person_id", "component_id", "txn_id", "kind", "tier", "amount_cents", "held_cents"]

    def canon(frame: pd.DataFrame) -> list[tuple]:
        return sorted(map(tuple, frame[key].astype({"kind": str}).itertuples(index=False, name=None)))

    same = canon(slow) == canon(fast)
    extrapolated = slow_seconds * full_credits / max(len(sample), 1)
    print(f"  reference engine: {len(sample):,} credits of {len(sample_people)} people in {slow_seconds:.2f} s "
          f"-> {extrapolated:,.0f} s for {full_credits:,} credits (extrapolated by credits)")
    print(f"  batch engine on the same sample: {fast_seconds:.3f} s ({slow_seconds / fast_seconds:,.0f}x faster); "
          f"same lines to the cent: {same}")
    return slow_seconds / fast_seconds, extrapolated / batch_seconds, same


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--split-share", type=float, default=0.05)
    parser.add_argument("--sample-people", type=int, default=40)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from commissions.models import LineItem
    from commissions.services import runs
    from revops import services as revops_services
    from revops.models import Organization
    from revops.tenancy import no_tenant, tenant_context

    call_command("migrate", "--skip-checks", verbosity=0)
    print(f"Machine: {machine()}")
    name = slug(args)
    with no_tenant():
        org = Organization.objects.filter(slug=name).first()
        if org is not None and args.rebuild:
            from revops.tenancy import cross_tenant_access

            with cross_tenant_access("bench rebuild"):
                org.delete()
            org = None
    if org is None:
        print(f"Building {name} ...")
        org = revops_services.organization_create(name="Commission bench", kind="service_line_sales", slug=name)
        with tenant_context(org):
            build(args)
    vacuum()  # outside the organization: VACUUM cannot run in the transaction the RLS settings need
    with tenant_context(org):
        period = runs.period_ensure(start=MARCH)
        stages: list[tuple[str, float]] = []
        started = time.perf_counter()

        def checkpoint(stage: str) -> None:
            stages.append((stage, time.perf_counter() - started))

        run = runs.run_start(period=period, enqueue=False)
        runs.run_execute(run_id=run.pk, checkpoint=checkpoint, cleanup=False)
        total = time.perf_counter() - started
        stages.append(("(commit)", total))
        t = time.perf_counter()
        removed = runs.superseded_lines_delete()
        cleanup_seconds = time.perf_counter() - t
        run.refresh_from_db()
        peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        previous = 0.0
        print(f"Run of March: {run.totals['credits']:,} credits -> {run.totals['lines']:,} line items, "
              f"{run.totals['statements']:,} statements")
        for stage, at in stages:
            print(f"  {at - previous:6.2f} s  then: {stage}")
            previous = at
        print(f"  total {total:.2f} s to the commit (target {TARGET_SECONDS:.0f} s), peak memory {peak_gib:.2f} GiB "
              f"(target {TARGET_GIB:.0f} GiB)")
        print(f"  then, after the commit: the superseded runs' {removed:,} lines deleted in {cleanup_seconds:.2f} s")
        with transaction.atomic():
            lines = LineItem.objects.filter(run=run).count()
        engine_ratio, end_to_end, same = reference_ratio(args, run.totals["credits"], total)
        print(f"Reference / batch engine on the sample: {engine_ratio:,.0f}x (target >= 20x); reference compute "
              f"extrapolated / the whole batch run (crediting, engine, writing, statements, commit): {end_to_end:,.1f}x")
        checks = {
            f"under {TARGET_SECONDS:.0f} s": total < TARGET_SECONDS,
            f"peak memory under {TARGET_GIB:.0f} GiB": peak_gib < TARGET_GIB,
            "reference engine >= 20x slower than the batch engine": engine_ratio >= 20,
            "batch == reference on the sample": same,
            "every line persisted": lines == run.totals["lines"],
        }
        for label, ok in checks.items():
            print(f"  [{'ok' if ok else 'FAIL'}] {label}")
        return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
