"""Dashboard KPI queries for a tenant with 5 million claim lines: pre-aggregated vs computed from raw tables.

Run: DATABASE_URL=... python bench/kpi_query.py [--lines 5000000] [--runs 7] [--reuse | --org SLUG]
Builds (or with --reuse, finds) the organization "KPI bench" with ``--lines`` claim lines (4 per
claim) over 24 months, 20 payers, 5 programs, 3 facilities, one 835 adjudication per claim
(10% denied, 2% reversed and paid again), CAS adjustments, denials with their lifecycle, monthly
A/R snapshots and cost entries, all loaded with COPY (revops.bulk). Then refreshes the aggregates
(timed) and times, median of ``--runs``, every query the billing dashboard runs for a 12-month
period, reading the aggregates, against the same KPI queries computed from the raw tables.
``--org meridian-dx`` times the same queries on an organization that exists instead, e.g. the demo
lab after ``manage.py seed_demo --scale 100`` (about five million claim lines loaded through the
ingestion path rather than COPYed), for its last 12 months with claims.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from rcm_feeds import aggregates, kpis  # noqa: E402
from rcm_feeds.models import (  # noqa: E402
    Adjustment,
    ArBalance,
    Claim,
    ClaimLine,
    ClaimPayment,
    Denial,
    Feed,
    RcmCost,
    ReceivedFile,
    Remittance,
)
from revops import services  # noqa: E402
from revops.bulk import copy_insert, copy_insert_returning  # noqa: E402
from revops.models import Facility, Organization, Payer, Program  # noqa: E402
from revops.tenancy import tenant_context  # noqa: E402

START = dt.date(2024, 1, 1)
DAYS = 730
CATEGORIES = [("authorization", "197"), ("eligibility", "27"), ("medical_necessity", "50"),
              ("timely_filing", "29"), ("missing_information", "16"), ("bundling", "97"), ("duplicate", "18")]
CLASSES = ["commercial", "medicare", "medicaid", "medicaid_managed", "medicare_advantage"]


def _files() -> dict[str, ReceivedFile]:
    out = {}
    for i, kind in enumerate(["x12_837", "x12_835", "csv_ar", "csv_costs"]):
        feed = Feed.objects.create(name=f"Bench {kind}", kind=kind)
        out[kind] = ReceivedFile.objects.create(feed=feed, filename=f"bench.{kind}", sha256=f"{i:064d}", size=1,
                                                storage_path=f"bench/{i}", source="upload")
    return out


def build(lines: int) -> None:
    rng = random.Random(20260101)
    t0 = time.perf_counter()
    payers = [Payer.objects.create(name=f"Payer {i:02d}", payer_class=CLASSES[i % len(CLASSES)]) for i in range(20)]
    facilities = [Facility.objects.create(name=f"Campus {i}", zip_code="37203", state="TN") for i in range(3)]
    programs = [Program.objects.create(code=f"P{i}", name=f"Program {i}", level_of_care="php", facility=facilities[i % 3],
                                       place_of_service="52") for i in range(5)]
    files = _files()
    n_claims = lines // 4

    claim_rows: list[tuple[Any, ...]] = []
    for i in range(n_claims):
        submitted = START + dt.timedelta(days=rng.randrange(DAYS))
        claim_rows.append((files["x12_837"].pk, i, f"C{i:08d}", rng.choice(payers).pk, rng.choice(programs).pk,
                           rng.choice(facilities).pk, Decimal(rng.randrange(40000, 400000)) / 100, submitted,
                           "rejected" if rng.random() < 0.04 else "accepted", "1", False))
    ids = copy_insert_returning(
        Claim, columns=["source_file_id", "source_position", "patient_control_number", "payer_id", "program_id",
                        "facility_id", "charge", "submitted_on", "front_end_status", "frequency", "is_resubmission"],
        rows=claim_rows, returning=("id", "source_position"))
    claim_id = {pos: pk for pk, pos in ids}
    print(f"claims: {n_claims:,} in {time.perf_counter() - t0:.0f}s", flush=True)

    def line_rows() -> Iterator[tuple[Any, ...]]:
        for pos, row in enumerate(claim_rows):
            charge = (row[6] / 4).quantize(Decimal("0.01"))
            for n in range(1, 5):
                yield (claim_id[pos], n, "H0035", charge, Decimal(1), row[7])
    copy_insert(ClaimLine, columns=["claim_id", "line_number", "procedure_code", "charge", "units", "service_date"],
                rows=line_rows())
    print(f"claim lines: {n_claims * 4:,} at {time.perf_counter() - t0:.0f}s", flush=True)

    weeks = DAYS // 7 + 12
    remits = copy_insert_returning(
        Remittance, columns=["source_file_id", "source_position", "payer_id", "trace_number", "handling_code",
                             "payment_amount", "payment_date"],
        rows=[(files["x12_835"].pk, p * weeks + w, payer.pk, f"T{p}-{w}", "I", Decimal(0),
               START + dt.timedelta(days=7 * w + 4)) for p, payer in enumerate(payers) for w in range(weeks)],
        returning=("id", "source_position"))
    remit_id = {pos: pk for pk, pos in remits}
    payer_index = {p.pk: i for i, p in enumerate(payers)}

    payments: list[tuple[Any, ...]] = []
    for pos, row in enumerate(claim_rows):
        if rng.random() < 0.08:
            continue  # not adjudicated yet
        paid_on = row[7] + dt.timedelta(days=rng.randrange(10, 70))
        week = min((paid_on - START).days // 7, weeks - 1)
        remit = remit_id[payer_index[row[3]] * weeks + week]
        charge = row[6]
        denied = rng.random() < 0.10
        paid = Decimal(0) if denied else (charge * Decimal("0.7")).quantize(Decimal("0.01"))
        payments.append((remit, claim_id[pos], len(payments), row[2], "4" if denied else "1", charge, paid,
                         charge - paid, False, denied))
        if not denied and rng.random() < 0.02:
            later = remit_id[payer_index[row[3]] * weeks + min(week + 2, weeks - 1)]
            payments.append((later, claim_id[pos], len(payments), row[2], "22", -charge, -paid, paid - charge, True, False))
            payments.append((later, claim_id[pos], len(payments), row[2], "1", charge, paid, charge - paid, False, False))
    cps = copy_insert_returning(
        ClaimPayment, columns=["remittance_id", "claim_id", "source_position", "patient_control_number", "status_code",
                               "charge", "paid", "contractual_adjustment", "is_reversal", "is_denied"],
        rows=payments, returning=("id", "source_position"))
    cp_id = {pos: pk for pk, pos in cps}
    print(f"claim payments: {len(payments):,} at {time.perf_counter() - t0:.0f}s", flush=True)

    copy_insert(Adjustment, columns=["claim_payment_id", "group_code", "reason_code", "amount"],
                rows=((cp_id[i], "CO", "197" if p[9] else "45", p[7]) for i, p in enumerate(payments)))
    remit_date = {pk: START + dt.timedelta(days=7 * (pos % weeks) + 4) for pk, pos in remits}
    claim_by_id = {claim_id[pos]: row for pos, row in enumerate(claim_rows)}

    def denial_rows() -> Iterator[tuple[Any, ...]]:
        for i, p in enumerate(payments):
            if not p[9]:
                continue
            row = claim_by_id[p[1]]
            category, carc = rng.choice(CATEGORIES)
            denied_on = remit_date[p[0]]
            r = rng.random()
            status = "open" if r < 0.3 else "appealed" if r < 0.45 else "overturned" if r < 0.75 else "written_off"
            resolved = denied_on + dt.timedelta(days=rng.randrange(5, 120)) if status in ("overturned", "written_off") else None
            yield (cp_id[i], p[1], "claim", row[3], row[4], category, [carc], p[5], denied_on, status, resolved)
    copy_insert(Denial, columns=["claim_payment_id", "claim_id", "level", "payer_id", "program_id", "category",
                                 "carc_codes", "denied_charge", "denied_on", "status", "resolved_on"], rows=denial_rows())

    def ar_rows() -> Iterator[tuple[Any, ...]]:
        n = 0
        for m in range(24):
            as_of = kpis.add_months(START, m + 1) - dt.timedelta(days=1)
            for _ in range(4000):
                n += 1
                yield (files["csv_ar"].pk, n, as_of, rng.choice(payers).pk, rng.choice(programs).pk,
                       Decimal(rng.randrange(5000, 300000)) / 100, as_of - dt.timedelta(days=rng.randrange(0, 200)))
    copy_insert(ArBalance, columns=["source_file_id", "source_position", "as_of", "payer_id", "program_id", "balance",
                                    "billed_on"], rows=ar_rows())
    copy_insert(RcmCost, columns=["source_file_id", "source_position", "month", "category", "facility_id", "amount"],
                rows=[(files["csv_costs"].pk, m * 3 + f, kpis.add_months(START, m), "staff", fac.pk,
                       Decimal(rng.randrange(2_000_000, 4_000_000)) / 100)
                      for m in range(24) for f, fac in enumerate(facilities)])
    print(f"built in {time.perf_counter() - t0:.0f}s", flush=True)


def median_ms(fn: Callable[[], Any], runs: int, warm: bool = True) -> float:
    if warm:
        fn()  # warm the cache: the dashboard is read far more often than it is first opened
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--raw-runs", type=int, default=1, help="runs of the (slow) raw-table baseline")
    parser.add_argument("--reuse", action="store_true", help="use the existing 'KPI bench' organization")
    parser.add_argument("--org", help="time an existing organization instead (slug), e.g. meridian-dx")
    args = parser.parse_args()

    org = Organization.objects.get(slug=args.org) if args.org else Organization.objects.filter(slug="kpi-bench").first()
    if not args.org and (org is None or not args.reuse):
        if org is not None:
            services.organization_delete(organization=org)
        org = services.organization_create(name="KPI bench", kind="behavioral_health", slug="kpi-bench")
        with tenant_context(org), transaction.atomic():
            build(args.lines)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    with tenant_context(org):
        with connection.cursor() as cursor:
            # Same footing for both sides: no JIT (it only adds compile time to these queries).
            cursor.execute("SET jit = off")
            cursor.execute("SELECT count(*) FROM rcm_feeds_claimline")
            n_lines = cursor.fetchone()[0]
        start = time.perf_counter()
        with transaction.atomic():
            rows = aggregates.aggregates_refresh()
        full_refresh = time.perf_counter() - start
        with connection.cursor() as cursor:
            cursor.execute("SELECT max(month) FROM rcm_feeds_kpi_monthly WHERE tenant_id = %s AND claims_submitted > 0",
                           [org.pk])
            last = cursor.fetchone()[0] if args.org else dt.date(2025, 12, 1)
        first = kpis.add_months(last, -11)
        start = time.perf_counter()
        with transaction.atomic():
            aggregates.aggregates_refresh(months=[kpis.add_months(last, -1), last])
        two_months = time.perf_counter() - start
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE rcm_feeds_kpi_monthly; ANALYZE rcm_feeds_denial_monthly; "
                           "ANALYZE rcm_feeds_denial_resolution_monthly")

        f = kpis.KpiFilters(start=first, end=last)
        f_payer = kpis.KpiFilters(start=first, end=last,
                                  payers=list(Payer.objects.order_by("pk").values_list("pk", flat=True)[:3]))
        dashboard = {
            "kpi_series": lambda: kpis.kpi_series(f),
            "payer_mix": lambda: kpis.payer_mix(f),
            "pareto by category": lambda: kpis.denial_pareto(f, by="category"),
            "pareto by CARC": lambda: kpis.denial_pareto(f, by="carc"),
            "days to pay by payer": lambda: kpis.days_to_pay_by_payer(f),
            "A/R aging by payer": lambda: kpis.ar_aging_by_payer(f),
        }
        print(f"tenant: {n_lines:,} claim lines; aggregates: {rows:,} rows, full refresh {full_refresh:.1f} s, "
              f"two-month refresh {two_months:.1f} s")
        total = 0.0
        for name, fn in dashboard.items():
            ms = median_ms(fn, args.runs)
            total += ms
            print(f"  {name:<24} {ms:8.1f} ms")
        print(f"dashboard total (aggregates): {total:.1f} ms")
        extra = {
            "kpi_series by payer": lambda: kpis.kpi_series(f, group_by="payer"),
            "kpi_series 3 payers": lambda: kpis.kpi_series(f_payer),
        }
        for name, fn in extra.items():
            print(f"  {name:<24} {median_ms(fn, args.runs):8.1f} ms")
        raw_runs = args.raw_runs
        raw = median_ms(lambda: kpis.kpi_series(f, source="raw"), raw_runs, warm=False)
        raw_mix = median_ms(lambda: kpis.payer_mix(f, source="raw"), raw_runs, warm=False)
        agg = median_ms(lambda: (kpis.kpi_series(f), kpis.payer_mix(f)), args.runs)
        print(f"baseline, same KPIs from raw tables: kpi_series {raw:.0f} ms + payer_mix {raw_mix:.0f} ms "
              f"= {raw + raw_mix:.0f} ms (median of {raw_runs}) vs {agg:.1f} ms from aggregates "
              f"({(raw + raw_mix) / agg:.0f}x)")


if __name__ == "__main__":
    main()
