"""Seeding speed at scale, against the raw COPY limit for the same rows, in a throwaway database.

Run: DATABASE_URL=... python bench/seed_scale.py --scale 100 [--seed 42] [--keep]

Creates a new database next to DATABASE_URL's (the role needs CREATEDB), migrates it, then:

1. seeds it as ``manage.py seed_demo --scale N --no-billing`` does (rows generated and streamed
   into COPY) and reports the wall time (the billing history goes through the ingestion path,
   benchmarked by ``bench/rcm_load.py``);
2. resets and seeds again with a baseline: every bulk batch is first generated into a list
   (timed), COPYed into an unrestricted temp table (the raw COPY limit), then loaded through
   ``revops.bulk.copy_insert`` (staging COPY, tenant checks, INSERT ... SELECT under
   row-level security, index upkeep).

Prints rows/second per table for both, so "distance to the COPY limit" is measured on the
same rows in the same run. The database is dropped at the end unless --keep.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dj_database_url
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings")


def _conninfo(settings: dict[str, Any], dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(
        host=settings["HOST"], port=settings["PORT"] or 5432, dbname=dbname,
        user=settings["USER"], password=settings["PASSWORD"],
    )


def _machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, psycopg {psycopg.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--year", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="Keep the throwaway database.")
    parser.add_argument("--skip-plain", action="store_true", help="Only the baseline run.")
    args = parser.parse_args()

    base = dj_database_url.parse(os.environ.get("DATABASE_URL", "postgres://revops:revops@127.0.0.1:5432/revops"))
    name = f"{base['NAME']}_bench_seed_{os.getpid()}"
    with psycopg.connect(_conninfo(base, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    os.environ["DATABASE_URL"] = (
        f"postgres://{quote(base['USER'])}:{quote(base['PASSWORD'] or '')}@{base['HOST']}:{base['PORT'] or 5432}/{name}"
    )

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from revops.demo.services import demo_seed

    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"database {name} migrated in {time.perf_counter() - started:.1f} s")
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server = cursor.fetchone()[0]
        print(f"machine: {_machine()}, PostgreSQL {server}")
        print(f"scale {args.scale}, seed {args.seed}, load average at start {os.getloadavg()[0]:.1f}\n")

        if not args.skip_plain:
            started = time.perf_counter()
            plain = demo_seed(seed=args.seed, scale_factor=args.scale, year=args.year, billing=False)
            wall = time.perf_counter() - started
            print(f"seed_demo --scale {args.scale} --no-billing (streamed, as the command runs): {wall:.1f} s wall")
            for org in plain.orgs:
                print(f"  {org.organization.name}: {org.people:,} people, {org.accounts:,} accounts")
            _table(plain.loads, baseline=False)
            connection.close()
            with psycopg.connect(_conninfo(base, name), autocommit=True) as raw:
                raw.execute("VACUUM ANALYZE")  # after the reset's deletes below as well

        started = time.perf_counter()
        measured = demo_seed(seed=args.seed, scale_factor=args.scale, year=args.year, reset=not args.skip_plain,
                             baseline=True, billing=False)
        wall = time.perf_counter() - started
        print(f"\nbaseline run (rows generated first, raw COPY of the same rows, then the load): {wall:.1f} s wall")
        _table(measured.loads, baseline=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('revops_account'))")
            print(f"\nrevops_account with indexes: {cursor.fetchone()[0]}")
        print(f"load average at end {os.getloadavg()[0]:.1f}")
    finally:
        connection.close()
        if args.keep:
            print(f"kept database {name}")
        else:
            with psycopg.connect(_conninfo(base, "postgres"), autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _table(loads: list[Any], *, baseline: bool) -> None:
    if baseline:
        print(f"  {'table':<22} {'rows':>10} {'generate/s':>11} {'load/s':>10} {'raw COPY/s':>11} {'load/raw':>9}")
        for s in loads:
            gen = f"{s.rows / s.generate_seconds:,.0f}" if s.generate_seconds else "planned"
            raw = s.raw_rows_per_second or 0.0
            ratio = s.rows_per_second / raw if raw else 0.0
            print(f"  {s.table:<22} {s.rows:>10,} {gen:>11} {s.rows_per_second:>10,.0f} {raw:>11,.0f} {ratio:>9.2f}")
    else:
        print(f"  {'table':<22} {'rows':>10} {'seconds':>9} {'rows/s':>10}  (generation included)")
        for s in loads:
            print(f"  {s.table:<22} {s.rows:>10,} {s.load_seconds:>9.2f} {s.rows_per_second:>10,.0f}")


if __name__ == "__main__":
    main()
