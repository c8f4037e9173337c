"""RCM ingestion end to end: generated 837 and 835 files received, parsed, checked and loaded, vs raw COPY.

Run: DATABASE_URL=... python bench/rcm_load.py [--claims 100000] [--small 10000] [--profile] [--keep]

For each size, a throwaway organization is created; an 837P with that many claims is loaded,
then an 835 of the same size that pays them (same control numbers, so every payment is matched
to its claim, denials are linked and overturn checks run against real rows). Each load runs in a
fresh child process so its peak RSS is its own, and does what a worker does, in one
transaction: ``file_receive`` (streamed to storage while hashed), then ``ingestion_execute``
(parse, balance, denial rule, payer/program resolution, COPY of every table in batches,
reversal links, overturn detection). Printed per file: claims per second on wall-clock time
(commit included) and on the worker's own CPU time, peak RSS, the rows written; then, in the same
child, the raw COPY of exactly the rows the load wrote (selected back from the tables) into
unrestricted temp tables (``revops.bulk.copy_measure_raw``), so the distance to the COPY limit
shows; with ``--aggregates`` also the KPI aggregate refresh that a real run does after the
load (rcm_feeds.aggregates, timed apart). ``--profile`` prints the load's cProfile top
functions. The organizations are deleted at the end unless --keep.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings")


def _setup() -> None:
    import django

    django.setup()


def generate(directory: Path, claims: int, seed: int) -> dict[str, Path]:
    from rcm_feeds.x12 import synth

    paths = {"837": directory / f"837P-{claims}.x12", "835": directory / f"835-{claims}.x12"}
    with paths["837"].open("wb") as out:
        synth.write_837(out, claims, kind="P", seed=seed)
    with paths["835"].open("wb") as out:
        synth.write_835(out, claims, seed=seed)
    return paths


# Tables a load writes, with the columns the loaders COPY (what the raw COPY baseline re-sends).
def _tables(kind: str) -> list[tuple[Any, tuple[str, ...]]]:
    from rcm_feeds import models as m
    from rcm_feeds.services import claims, remittances
    from rcm_feeds.services.context import WARNING_COLUMNS

    if kind == "837":
        return [(m.Claim, claims.CLAIM_COLUMNS), (m.ClaimLine, claims.LINE_COLUMNS),
                (m.IngestionWarning, WARNING_COLUMNS)]
    return [(m.ClaimPayment, remittances.CP_COLUMNS), (m.ServicePayment, remittances.SP_COLUMNS),
            (m.Adjustment, remittances.ADJ_COLUMNS), (m.Denial, remittances.DENIAL_COLUMNS),
            (m.ProviderAdjustment, remittances.PLB_COLUMNS), (m.IngestionWarning, WARNING_COLUMNS)]


ANALYZED = {"837": ("rcm_feeds_claim", "rcm_feeds_claimline"),
            "835": ("rcm_feeds_claimpayment", "rcm_feeds_servicepayment", "rcm_feeds_denial")}


class StatementTimer:
    """Django execute wrapper: seconds per statement shape (first words), for ``--statements``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = " ".join(sql.split())[:90]
            self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - started
            self.calls[key] = self.calls.get(key, 0) + 1

    def report(self, top: int = 14) -> str:
        rows = sorted(self.seconds.items(), key=lambda kv: -kv[1])[:top]
        total = sum(self.seconds.values())
        lines = [f"  statements through Django: {total:.2f} s in {sum(self.calls.values()):,} calls"]
        lines += [f"  {sec:7.2f} s {self.calls[key]:6,}x  {key}" for key, sec in rows]
        return "\n".join(lines)


def _backend_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of a Postgres backend on this machine, from /proc; None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


FLOOR_FORMS = (
    ("temp", "TEMP table, no index (not WAL-logged)"),
    ("pkey", "logged table, primary key only"),
    ("indexes", "logged table, the product's indexes"),
)


def postgres_floor(kind: str, org_id: int, backend: int) -> dict[str, list[float]]:
    """Postgres CPU of storing exactly the rows this load wrote, with nothing else to do.

    The rows (every column, ids included) are read back as COPY text first, so the client does
    no encoding in the timed part; then, per form in ``FLOOR_FORMS``, each table's rows are
    COPYed into a new empty table shaped like it (``LIKE ... INCLUDING DEFAULTS``, plus its
    primary key, or plus all its indexes and unique constraints): no row-level security, no
    foreign-key triggers, no lookups, no INSERT ... SELECT. Everything is rolled back. Returns
    {form: [server CPU seconds, wall seconds]} summed over the tables.
    """
    from django.db import connection, transaction

    texts = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")  # sets the transaction's tenant (row-level security) for the raw COPY
        for model, _ in _tables(kind):
            table = model._meta.db_table
            chunks = []
            with connection.connection.cursor() as raw, raw.copy(
                    f"COPY (SELECT * FROM {table} WHERE tenant_id = {int(org_id)}) TO STDOUT") as copy:
                for chunk in copy:
                    chunks.append(bytes(chunk))
            texts.append((table, b"".join(chunks)))
    out: dict[str, list[float]] = {}
    for form, _ in FLOOR_FORMS:
        cpu = wall = 0.0
        with transaction.atomic():
            with connection.connection.cursor() as raw:
                for table, text in texts:
                    name = f"_floor_{table}"
                    if form == "temp":
                        raw.execute(f"CREATE TEMP TABLE {name} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
                    elif form == "pkey":
                        raw.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)")
                        raw.execute(f"ALTER TABLE {name} ADD PRIMARY KEY (id)")
                    else:
                        raw.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING INDEXES "
                                    "INCLUDING CONSTRAINTS)")
                    before, started = _backend_cpu(backend), time.perf_counter()
                    with raw.copy(f"COPY {name} FROM STDIN") as copy:
                        for at in range(0, len(text), 1 << 20):
                            copy.write(text[at:at + (1 << 20)])
                    wall += time.perf_counter() - started
                    after = _backend_cpu(backend)
                    cpu += (after - before) if before is not None and after is not None else float("nan")
            transaction.set_rollback(True)
        out[form] = [cpu, wall]
    return out


def load_child(kind: str, path: Path, org_id: int, profile: bool, aggregates: bool,
               statements: bool = False, background: bool = True, floor: bool = False) -> dict[str, Any]:
    _setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from rcm_feeds.services import ingest_x12

    ingest_x12.BACKGROUND_FLUSH = background

    from rcm_feeds.models import Feed, FileSource, IngestionRun, RunStatus
    from rcm_feeds.services import file_receive, ingestion_execute
    from rcm_feeds.services.context import LoadContext
    from rcm_feeds.services.runs import _refresh_aggregates
    from revops.bulk import copy_measure_raw
    from revops.tenancy import tenant_context

    result: dict[str, Any] = {}
    with tenant_context(org_id):
        feed = Feed.objects.get(kind=f"x12_{kind}")
        # A warm-up query, so connection set-up is not charged to the load.
        Feed.objects.count()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        server_cpu = _backend_cpu(backend)
        profiler = cProfile.Profile() if profile else None
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        timer = StatementTimer()
        with transaction.atomic(), connection.execute_wrapper(timer) if statements else contextlib.nullcontext():
            with path.open("rb") as stream:
                received = file_receive(feed=feed, filename=path.name, stream=stream, source=FileSource.UPLOAD)
            run = IngestionRun.objects.create(file=received, status=RunStatus.QUEUED)
            run = ingestion_execute(run=run, refresh_aggregates=False)
            if statements:  # the deferred constraint checks, timed here instead of inside COMMIT
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        if statements:
            result["statements"] = timer.report()
        if profiler:
            profiler.disable()
        result["wall"] = time.perf_counter() - wall
        result["cpu"] = time.process_time() - cpu
        server_after = _backend_cpu(backend)
        result["server_cpu"] = None if server_cpu is None or server_after is None else server_after - server_cpu
        result["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result["status"] = run.status
        result["counts"] = run.counts
        assert run.status in (RunStatus.LOADED, RunStatus.LOADED_WITH_WARNINGS), run.message

        result["aggregates_s"] = None
        if aggregates:
            started = time.perf_counter()
            with transaction.atomic():
                ctx = LoadContext(run=run, file=received, feed=feed, tenant_id=org_id)
                ctx.analyze(*ANALYZED[kind])  # what a run does before it refreshes the aggregates
                _refresh_aggregates(ctx)
            result["aggregates_s"] = time.perf_counter() - started

        raw_rows = raw_seconds = 0.0
        per_table = {}
        for model, columns in _tables(kind):
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {', '.join(columns)} FROM {model._meta.db_table} WHERE tenant_id = %s",
                               [org_id])
                rows = cursor.fetchall()
            if not rows:
                continue
            measured = copy_measure_raw(model, columns=columns, rows=rows)
            per_table[model._meta.model_name] = [measured.rows, measured.seconds]
            raw_rows += measured.rows
            raw_seconds += measured.seconds
        result["raw_rows"], result["raw_seconds"], result["raw_tables"] = raw_rows, raw_seconds, per_table
        if floor:
            result["floor"] = postgres_floor(kind, org_id, backend)
        result["finished"] = timezone.now().isoformat()
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(28)
        result["profile"] = out.getvalue()
    return result


def _floor_report(kind: str, n: int, run: dict[str, Any]) -> str:
    """The floor beside the load: Postgres CPU per form, and the claims/s it allows at best."""
    lines = [f"--- {kind} {n:,} claims: Postgres storing the same {int(run['raw_rows']):,} rows and nothing else "
             f"(server CPU; the load itself: {run['server_cpu'] or 0:.2f} s) ---"]
    for form, label in FLOOR_FORMS:
        cpu, wall = run["floor"][form]
        lines.append(f"  {label:<45} server CPU {cpu:6.2f} s  wall {wall:6.2f} s  "
                     f"-> at most {n / max(cpu, wall, 1e-9):>9,.0f} claims/s even with a free worker")
    lines.append(f"  (30,000 claims/s leaves {n / 30000:.2f} s of wall time for everything)")
    return "\n".join(lines)


def child(*args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000, help="a smaller size too, to show memory stays flat")
    parser.add_argument("--profile", action="store_true", help="print the cProfile top functions of each load")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway organizations")
    parser.add_argument("--aggregates", action="store_true",
                        help="also time the KPI aggregate refresh a real run does after the load")
    parser.add_argument("--statements", action="store_true",
                        help="time each statement shape of the load (deferred constraint checks included)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the one-thread load (no background flush) that each size is compared with")
    parser.add_argument("--floor", action="store_true",
                        help="also time Postgres storing the same rows with nothing else to do (postgres_floor)")
    parser.add_argument("--child", nargs=8, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path, org_id, profile, aggregates, statements, background, floor = args.child
        print(json.dumps(load_child(kind, Path(path), int(org_id), profile == "1", aggregates == "1",
                                    statements == "1", background == "1", floor == "1"), default=str))
        return

    _setup()
    from django.db import connection

    from rcm_feeds.services import feed_save
    from revops.services import organization_create, organization_delete
    from revops.tenancy import tenant_context

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    print(f"python {sys.version.split()[0]}, PostgreSQL {server}, {os.cpu_count()} cores, "
          f"load average at start {os.getloadavg()[0]:.1f}")
    sizes = sorted({args.small, args.claims} - {0})
    organizations = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            header = (f"\n{'file':<5}{'claims':>9}{'mode':>12}{'MB':>7}{'claims/s wall':>15}{'claims/s cpu':>14}"
                      f"{'server cpu s':>14}{'peak RSS MB':>13}{'rows':>10}{'raw COPY rows/s':>17}"
                      f"{'raw claims/s':>14}{'load/raw':>10}{'aggregates s':>14}")
            lines = []
            profiles = []
            floors: list[str] = []
            modes = [("background", "1")] + ([] if args.no_baseline else [("one-thread", "0")])
            for n in sizes:
                files = generate(Path(tmp), n, seed=n)
                for mode, background in modes:
                    org = organization_create(name=f"bench rcm {uuid.uuid4().hex[:8]}", kind="behavioral_health")
                    organizations.append(org)
                    with tenant_context(org):
                        feed_save(name="bench 837", kind="x12_837")
                        feed_save(name="bench 835", kind="x12_835")
                    for kind in ("837", "835"):
                        path = files[kind]
                        run = child(kind, str(path), str(org.pk), "1" if args.profile else "0",
                                    "1" if args.aggregates else "0", "1" if args.statements else "0", background,
                                    "1" if args.floor and mode == "background" else "0")
                        claims = run["counts"].get("claims") or run["counts"].get("claim_payments")
                        assert claims == n, run["counts"]
                        rows = int(run["raw_rows"])
                        raw_claims = n / run["raw_seconds"]
                        server = f"{run['server_cpu']:>14.1f}" if run["server_cpu"] is not None else f"{'-':>14}"
                        lines.append(
                            f"{kind:<5}{n:>9,}{mode:>12}{path.stat().st_size / 1e6:>7.1f}{n / run['wall']:>15,.0f}"
                            f"{n / run['cpu']:>14,.0f}{server}{run['maxrss_mb']:>13.1f}{rows:>10,}"
                            f"{rows / run['raw_seconds']:>17,.0f}{raw_claims:>14,.0f}"
                            f"{(n / run['wall']) / raw_claims:>10.2f}"
                            + (f"{run['aggregates_s']:>14.2f}" if run["aggregates_s"] is not None else f"{'-':>14}"))
                        lines.append("     counts: " + ", ".join(f"{k} {v:,}" for k, v in run["counts"].items()))
                        if args.profile:
                            profiles.append(f"--- {kind} {n:,} claims, {mode} ---\n{run['profile']}")
                        if run.get("floor"):
                            floors.append(_floor_report(kind, n, run))
                        if args.statements:
                            profiles.append(f"--- {kind} {n:,} claims, {mode}: statements ---\n{run['statements']}")
                        print(f"  loaded {kind} {n:,} claims ({mode}) in {run['wall']:.1f} s, worker CPU "
                              f"{run['cpu']:.1f} s, server CPU {run['server_cpu'] or 0:.1f} s", flush=True)
            print(header)
            print("\n".join(lines))
            for text in floors:
                print(text)
            for text in profiles:
                print(text)
    finally:
        if not args.keep:
            for org in organizations:
                organization_delete(organization=org)
            # The deleted rows stay as dead tuples until vacuumed, and with autovacuum off (as on the
            # machine these figures come from) every later run would load into ever larger tables
            # and indexes: 5 million dead adjustment rows after ~15 runs made loads ~40% slower.
            started = time.perf_counter()
            with connection.cursor() as cursor:
                for model, _ in _tables("837") + _tables("835"):
                    cursor.execute(f"VACUUM {model._meta.db_table}")
            print(f"vacuumed the tables the loads wrote in {time.perf_counter() - started:.1f} s")
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
