"""Cost of carrying the tenant into every statement: the same queries with and without it.

Run: DATABASE_URL=... python bench/rls_overhead.py [--n 5000]
Prints per-statement latency of (a) a primary-key lookup through the tenant-scoped ORM with
the RLS settings sent before each statement (what the product does), and (b) the same SQL
on a plain psycopg connection without them (the baseline), in one run.
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


if __name__ == "__main__":
    main()
