"""A commission run of 1,000,000 transactions for 2,000 reps (three components each, splits, two levels
of manager overrides), computed and persisted, against the per-credit reference engine of the tests.

Run: DATABASE_URL=postgres://revops:revops@127.0.0.1:5432/revops_cbench python bench/commission_run.py
        [--transactions 1000000] [--reps 2000] [--split-share 0.05] [--sample-people 40] [--rebuild] [--seed 7]
        [--no-previous]

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

Timed: ``commissions.services.runs.run_execute`` for March (crediting SQL, engine, binary COPY of every
line into the run's own partition, its index, statements, attaching the partition, commit), stage by
stage, with the CPU seconds of this process (all threads) and of its database backend (read from /proc
when Postgres runs on this machine): less disturbed by other work on the cores than the wall clock. Peak
memory is the process's maximum resident set at the commit. After the commit, timed apart:
planner statistics for the new partition and dropping the superseded run's partition.

Baselines, in the same run:
- the new write path again on the same lines, then the previous write path on them (``previous_write``: Arrow CSV of integers, COPY into a
  staging table, INSERT ... SELECT into an unpartitioned copy of the line table with its former
  primary key, B-tree and row-level security), in a transaction rolled back; its rows must equal the
  new partition's, column by column;
- the tests' per-credit reference engine (tests/commissions/reference.py) on the credits of
  ``--sample-people`` reps and their managers, extrapolated linearly by credits; and the batch engine
  on the same sample, which must give the same lines to the cent.
The load average of the machine is printed before and after (2 cores shared with other work).

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


# The write path before partitions (session 4), kept here as the same-run baseline.
PREVIOUS_STAGE = [("person_id", "bigint", 0), ("kind", "text", ""), ("component_id", "bigint", 0),
                  ("version_id", "bigint", 0), ("txn_id", "bigint", 0), ("date", "date", None), ("role", "text", ""),
                  ("rule_id", "bigint", 0), ("share_micro", "bigint", -1), ("credited_cents", "bigint", 0),
                  ("att_before", "bigint", -1), ("att_after", "bigint", -1), ("tier", "bigint", 0),
                  ("rate_micro", "bigint", -1), ("amount_cents", "bigint", 0), ("held_cents", "bigint", 0),
                  ("release_on", "date", None), ("source_period_id", "bigint", 0), ("note", "text", "")]
PREVIOUS_INSERT = """
    INSERT INTO _previous_lines (tenant_id, run_id, period_id, person_id, kind, component_id, version_id,
        transaction_id, transaction_date, credit_role, credit_rule_id, credit_share, credited, attainment_before,
        attainment_after, tier, rate, amount, held, release_on, source_period_id, note)
    SELECT %(t)s, %(run)s, %(period)s, person_id, kind, nullif(component_id, 0), nullif(version_id, 0),
           nullif(txn_id, 0), date, coalesce(role, ''), nullif(rule_id, 0),
           CASE WHEN share_micro < 0 THEN NULL ELSE share_micro::numeric / 1000000 END,
           credited_cents::numeric / 100,
           CASE WHEN att_before < 0 THEN NULL ELSE att_before::numeric / 100 END,
           CASE WHEN att_after < 0 THEN NULL ELSE att_after::numeric / 100 END,
           nullif(tier, 0), CASE WHEN rate_micro < 0 THEN NULL ELSE rate_micro::numeric / 1000000 END,
           amount_cents::numeric / 100, held_cents::numeric / 100, release_on, nullif(source_period_id, 0),
           coalesce(note, '')
    FROM _stage_lines
"""
COMPARED = ("person_id, kind, component_id, version_id, transaction_id, transaction_date, credit_role, credit_rule_id, "
            "credit_share, credited, attainment_before, attainment_after, tier, rate, amount, held, release_on, "
            "source_period_id, note, tenant_id, run_id, period_id")


def previous_write(lines, *, run_id: int, period_id: int) -> tuple[dict[str, float], int]:
    """The previous path on ``lines`` into ``_previous_lines`` (call inside a transaction that is rolled
    back); returns its stage times and how many of its rows differ from the run's partition."""
    import io

    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv
    from django.db import connection

    from revops.tenancy import require_tenant_id, rls_sql

    tenant_id = require_tenant_id()
    times: dict[str, float] = {}
    with connection.cursor() as cursor:  # the table as it was: primary key, B-tree, row-level security
        cursor.execute("CREATE TEMP TABLE _previous_lines (LIKE commissions_lineitem INCLUDING DEFAULTS "
                       "INCLUDING CONSTRAINTS INCLUDING IDENTITY) ON COMMIT DROP")
        cursor.execute("ALTER TABLE _previous_lines ADD PRIMARY KEY (id)")
        cursor.execute("CREATE INDEX ON _previous_lines (tenant_id, run_id, person_id)")
        for statement in rls_sql("_previous_lines"):
            cursor.execute(statement)
    t = time.perf_counter()
    n = len(lines)
    arrays = []
    for name, kind, default in PREVIOUS_STAGE:
        series = lines[name] if name in lines else None
        if kind == "bigint":
            values = (np.full(n, default, dtype=np.int64) if series is None
                      else series.fillna(default).to_numpy(dtype=np.int64))
            arrays.append(pa.array(values, type=pa.int64()))
        elif kind == "date":
            days = pd.to_datetime(series).to_numpy(dtype="datetime64[D]")
            arrays.append(pa.array(days, type=pa.date32(), mask=np.isnat(days)))
        else:
            arrays.append(pa.array(series.astype(str).where(series.notna(), default).to_numpy(dtype=object),
                                   type=pa.string()))
    sink = io.BytesIO()
    pacsv.write_csv(pa.table(arrays, names=[name for name, _k, _d in PREVIOUS_STAGE]), sink,
                    write_options=pacsv.WriteOptions(include_header=False))
    sink.seek(0)
    times["Arrow table and CSV"] = time.perf_counter() - t
    t = time.perf_counter()
    stage_columns = ", ".join(f"{name} {kind}" for name, kind, _d in PREVIOUS_STAGE)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE _stage_lines ({stage_columns}) ON COMMIT DROP")
    connection.apply_rls_settings()
    names = ", ".join(name for name, _k, _d in PREVIOUS_STAGE)
    with connection.connection.cursor() as raw, raw.copy(
            f"COPY _stage_lines ({names}) FROM STDIN WITH (FORMAT csv)") as copy:
        while chunk := sink.read(1 << 22):
            copy.write(chunk)
    times["COPY into staging"] = time.perf_counter() - t
    del sink
    t = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(PREVIOUS_INSERT, {"t": tenant_id, "run": run_id, "period": period_id})
    times["INSERT ... SELECT under row-level security"] = time.perf_counter() - t
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM (SELECT {COMPARED} FROM _previous_lines EXCEPT ALL "
                       f"SELECT {COMPARED} FROM commissions_lineitem WHERE run_id = %s) d", [run_id])
        missing = cursor.fetchone()[0]
        cursor.execute(f"SELECT count(*) FROM (SELECT {COMPARED} FROM commissions_lineitem WHERE run_id = %s "
                       f"EXCEPT ALL SELECT {COMPARED} FROM _previous_lines) d", [run_id])
        extra = cursor.fetchone()[0]
    return times, missing + extra


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_seconds(backend_pid: int | None) -> tuple[float, float | None]:
    """CPU seconds used so far by this process (all threads) and, when Postgres runs on this machine and its
    /proc entry is readable, by the database backend serving it: a measure the other work on the cores
    disturbs far less than the wall clock."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    server = None
    if backend_pid is not None:
        try:
            fields = Path(f"/proc/{backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
            server = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            server = None
    return usage.ru_utime + usage.ru_stime, server


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
    parser.add_argument("--no-previous", action="store_true", help="skip the previous write path's baseline")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from commissions.models import LineItem
    from commissions.services import line_store, runs
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
        started = 0.0

        def checkpoint(stage: str) -> None:
            stages.append((stage, time.perf_counter() - started))

        # Instruments (no change to what runs): the frame written, and the write's parts.
        captured: dict[str, object] = {}
        parts: dict[str, float] = {}

        def timed(module, name):
            original = getattr(module, name)

            def wrapper(*a, **k):
                t0 = time.perf_counter()
                try:
                    return original(*a, **k)
                finally:
                    parts[name] = parts.get(name, 0.0) + time.perf_counter() - t0
            return original, wrapper

        write_original = runs.lines_write

        def capture(*, run, period, lines):
            captured["lines"] = lines
            return write_original(run=run, period=period, lines=lines)

        patched = [(runs, "lines_write", write_original)]
        runs.lines_write = capture
        for module, name in ((runs, "line_columns"), (line_store, "partition_attach"), (runs, "inputs_digest"),
                             (runs, "_digest_frame"), (runs.crediting, "credits_and_unowned"),
                             (runs.crediting, "uncredited"), (runs, "lines_concat")):
            original, wrapper = timed(module, name)
            patched.append((module, name, original))
            setattr(module, name, wrapper)
        load_before = load()
        run = runs.run_start(period=period, enqueue=False)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend_pid = cursor.fetchone()[0]
        cpu_before = cpu_seconds(backend_pid)
        started = time.perf_counter()
        try:
            runs.run_execute(run_id=run.pk, checkpoint=checkpoint, cleanup=False)
        finally:
            for module, name, original in patched:
                setattr(module, name, original)
        total = time.perf_counter() - started
        cpu_after = cpu_seconds(backend_pid)
        stages.append(("(commit)", total))
        peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        load_after = load()
        t = time.perf_counter()
        line_store.partition_analyze(run_id=run.pk)
        analyze_seconds = time.perf_counter() - t
        t = time.perf_counter()
        removed = runs.superseded_lines_delete()
        cleanup_seconds = time.perf_counter() - t
        run.refresh_from_db()
        previous = 0.0
        print(f"Run of March: {run.totals['credits']:,} credits -> {run.totals['lines']:,} line items, "
              f"{run.totals['statements']:,} statements (load average before {load_before}, after {load_after})")
        for stage, at in stages:
            print(f"  {at - previous:6.2f} s  then: {stage}")
            previous = at
        print("  of which: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in parts.items()))
        print(f"  total {total:.2f} s to the commit (target {TARGET_SECONDS:.0f} s), peak memory {peak_gib:.2f} GiB "
              f"(target {TARGET_GIB:.0f} GiB)")
        server_cpu = ("not readable" if cpu_after[1] is None or cpu_before[1] is None
                      else f"{cpu_after[1] - cpu_before[1]:.2f} s")
        print(f"  CPU time to the commit: this process {cpu_after[0] - cpu_before[0]:.2f} s (all threads), "
              f"its database backend {server_cpu}")
        print(f"  then, after the commit: ANALYZE of the run's partition {analyze_seconds:.2f} s; the superseded "
              f"runs' {removed:,} lines removed (partition dropped) in {cleanup_seconds:.2f} s")
        frame = captured.get("lines")
        if frame is not None:
            t = time.perf_counter()
            columns = runs.line_columns(frame, 1)
            encoded = sum(len(chunk) for chunk in line_store.binary_rows(columns))
            print(f"  binary COPY data alone: {encoded / 1e6:,.0f} MB encoded in {time.perf_counter() - t:.2f} s "
                  f"(client side of the write; the rest of it is the server's COPY, index and policy)")
            del columns
        same_as_previous = True
        if frame is not None and not args.no_previous:
            # Both paths again on the same frame, back to back (rolled back): the same load for both.
            with transaction.atomic():
                t = time.perf_counter()
                line_store.partition_load(run_id=run.pk + 10**9, period_id=period.pk,
                                          columns=runs.line_columns(frame, 1))
                print(f"New write path again on the same lines (rolled back, load average {load()}): "
                      f"{time.perf_counter() - t:.2f} s")
                transaction.set_rollback(True)
            with transaction.atomic():
                times, differ = previous_write(frame, run_id=run.pk, period_id=period.pk)
                transaction.set_rollback(True)
            same_as_previous = differ == 0
            print(f"Baseline, the previous write path on the same {len(frame):,} lines (load average {load()}): "
                  f"{sum(times.values()):.2f} s = " + ", ".join(f"{k} {v:.2f} s" for k, v in times.items()))
            print(f"  rows differing from the new partition's (all columns but id): {differ:,}")
        captured.clear()
        del frame
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
            "the partition holds exactly the previous path's rows": same_as_previous,
        }
        for label, ok in checks.items():
            print(f"  [{'ok' if ok else 'FAIL'}] {label}")
        return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
