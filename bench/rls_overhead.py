"""Cost of carrying the tenant into every statement: the same queries with and without it.

Run: DATABASE_URL=... python bench/rls_overhead.py [--n 5000] [--scan-rows 2000000]
Prints per-statement latency of (a) a primary-key lookup through the tenant-scoped ORM with
the RLS settings sent before each statement (what the product does), and (b) the same SQL
on a plain psycopg connection without them (the baseline), in one run.

Then the policy's cost per row: a TEMP table of --scan-rows rows of three organizations, under
row-level security forced with the product's policy (``revops.tenancy.RLS_PREDICATE``, the
settings read once per statement) and with the earlier per-row form of the same predicate
(the baseline, ``revops/migrations/0004``), timed on a full scan with an aggregate and on an
INSERT ... SELECT of a sixth of the rows (median of 5 each; rolled back).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from revops import services  # noqa: E402
from revops.models import Organization, Payer  # noqa: E402
from revops.tenancy import tenant_context  # noqa: E402


def timed(fn, n: int) -> float:
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) / n)
    return statistics.median(samples) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--scan-rows", type=int, default=2_000_000, help="0 skips the policy scan comparison")
    args = parser.parse_args()
    org = Organization.objects.filter(slug="bench-rls").first() or services.organization_create(
        name="Bench RLS", kind="other", slug="bench-rls"
    )
    with tenant_context(org):
        payer = Payer.objects.filter(name="Bench payer").first() or Payer.objects.create(
            name="Bench payer", payer_class="commercial"
        )
        pk = payer.pk

        def orm_autocommit() -> None:
            Payer.objects.filter(pk=pk).first()

        def orm_in_transaction() -> None:
            Payer.objects.filter(pk=pk).first()

        orm_auto = timed(orm_autocommit, args.n)
        with transaction.atomic():
            orm_tx = timed(orm_in_transaction, args.n)
            # The same ORM query with the per-statement setting switched off (the setting made
            # once for the transaction instead): what the tenant round trip itself costs.
            wrappers = connection.execute_wrappers[:]
            connection.execute_wrappers.clear()
            connection.connection.execute("SELECT set_config('app.tenant_id', %s, true)", [str(org.pk)])
            try:
                orm_plain = timed(orm_in_transaction, args.n)
            finally:
                connection.execute_wrappers[:] = wrappers

    settings = connection.settings_dict
    conninfo = psycopg.conninfo.make_conninfo(
        host=settings["HOST"], port=settings["PORT"] or 5432, dbname=settings["NAME"],
        user=settings["USER"], password=settings["PASSWORD"],
    )
    sql = "SELECT id, name FROM revops_payer WHERE id = %s AND tenant_id = %s LIMIT 1"
    with psycopg.connect(conninfo, autocommit=True) as raw:
        raw.execute("SELECT set_config('app.tenant_id', %s, false)", [str(org.pk)])
        baseline = timed(lambda: raw.execute(sql, [pk, org.pk]).fetchone(), args.n)
    print(f"statements per sample: {args.n}")
    print(f"baseline: raw psycopg, no per-statement tenant setting: {baseline:8.1f} us/query")
    print(f"Django ORM, tenant set once per transaction:          {orm_plain:8.1f} us/query  ({orm_plain / baseline:.1f}x)")
    print(f"revops ORM in a transaction (set_config + query):      {orm_tx:8.1f} us/query  ({orm_tx / baseline:.1f}x;"
          f" +{orm_tx - orm_plain:.0f} us for the per-statement setting)")
    print(f"revops ORM autocommit (BEGIN, set_config, query, COMMIT): {orm_auto:8.1f} us/query  ({orm_auto / baseline:.1f}x)")
    if args.scan_rows:
        policy_scan(org.pk, args.scan_rows)


def policy_scan(tenant_id: int, rows: int) -> None:
    from importlib import import_module

    from revops.tenancy import RLS_PREDICATE

    per_row = import_module("revops.migrations.0004_rls_predicate_per_statement").OLD_PREDICATE
    with tenant_context(tenant_id), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("CREATE TEMP TABLE bench_rls (tenant_id bigint NOT NULL, amount numeric(14, 2)) "
                       "ON COMMIT DROP")
        cursor.execute("INSERT INTO bench_rls SELECT CASE g %% 3 WHEN 0 THEN %s ELSE -(g %% 3) END, g %% 1000 "
                       "FROM generate_series(1, %s) g", [tenant_id, rows])
        cursor.execute("CREATE TEMP TABLE bench_rls_target (LIKE bench_rls) ON COMMIT DROP")
        for table in ("bench_rls", "bench_rls_target"):
            cursor.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        cursor.execute("ANALYZE bench_rls")
        results = {}
        for name, predicate in (("per statement (the product)", RLS_PREDICATE), ("per row (before)", per_row)):
            for table in ("bench_rls", "bench_rls_target"):
                cursor.execute(f"DROP POLICY IF EXISTS p ON {table}")
                cursor.execute(f"CREATE POLICY p ON {table} USING {predicate} WITH CHECK {predicate}")

            def scan() -> None:
                cursor.execute("SELECT count(*), sum(amount) FROM bench_rls")
                cursor.fetchone()

            def insert() -> None:
                cursor.execute("SAVEPOINT s")
                cursor.execute("INSERT INTO bench_rls_target SELECT * FROM bench_rls LIMIT %s", [rows // 6])
                cursor.execute("ROLLBACK TO SAVEPOINT s")

            results[name] = (timed(scan, 1) / 1000, timed(insert, 1) / 1000)
        transaction.set_rollback(True)
    print(f"\nrow-level security policy, {rows:,} rows of 3 organizations (a third visible), median of 5:")
    base_scan, base_insert = results["per row (before)"]
    for name, (scan_ms, insert_ms) in results.items():
        print(f"  {name:<28} scan + aggregate {scan_ms:8.1f} ms ({base_scan / scan_ms:.2f}x)   "
              f"INSERT ... SELECT of {rows // 6:,} rows {insert_ms:8.1f} ms ({base_insert / insert_ms:.2f}x)")


if __name__ == "__main__":
    main()
