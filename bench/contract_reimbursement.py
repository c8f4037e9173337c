"""Expected reimbursement recompute on 1,000,000 claim lines, with a baseline in the same run.

Run: DATABASE_URL=postgres://.../revops_h1 python bench/contract_reimbursement.py [--lines 1000000] [--runs 2]
     [--reuse]

Works in its own database: ``<the DATABASE_URL database>_contracts_bench`` (created and migrated when missing;
``--reuse`` keeps its data from an earlier run). Builds the organization "Contracts bench" with ``--lines``
claim lines (4 per claim; 24 months; 20 payers; programs of every level of care; one 835 payment per claim
with its service lines and patient-responsibility adjustments, 8% denied, 1% reversed and paid again; 2,000
admissions), and 20 payer-wide contracts (fee schedule of the claims' codes, per diems, a case rate, percent
of charges), 20 plan contracts and 200 single-case agreements, all loaded with COPY (revops.bulk).

Then times ``expected_recompute()`` (every claim; delete + three set-based statements per 20,000 claim ids, one
transaction), median of ``--runs``, against two baselines measured in the same run:
- floor: the same transaction writing the same number of rows with no pricing (claims and lines copied
  into the two tables by INSERT ... SELECT straight from rcm_feeds), i.e. what the writes alone cost;
- per claim: the slow Python reference of the tests (tests/contracts/reference.py) over 300 claims,
  extrapolated to every claim (what a loop over claims would take).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings")


def _bench_database() -> str:
    """Point DATABASE_URL at this benchmark's own database, creating it when missing."""
    import psycopg

    url = os.environ.get("DATABASE_URL", "postgres://revops:revops@127.0.0.1:5432/revops")
    parts = urlparse(url)
    name = parts.path.lstrip("/") + "_contracts_bench"
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunparse(parts._replace(path="/" + name))
    return name


DB_NAME = _bench_database()

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from contracts.models import Contract  # noqa: E402
from contracts.services import contracts as contract_services  # noqa: E402
from contracts.services.reimbursement import expected_recompute  # noqa: E402
from intake.models import Admission  # noqa: E402
from rcm_feeds.models import (  # noqa: E402
    Adjustment,
    Claim,
    ClaimLine,
    ClaimPayment,
    Feed,
    ReceivedFile,
    Remittance,
    ServicePayment,
)
from revops import services  # noqa: E402
from revops.bulk import copy_insert, copy_insert_returning  # noqa: E402
from revops.models import Organization, Payer, Program  # noqa: E402
from revops.tenancy import tenant_context  # noqa: E402

START = dt.date(2024, 1, 1)
DAYS = 730
CLASSES = ["commercial", "medicare", "medicaid", "medicaid_managed", "medicare_advantage"]
# level of care -> (codes billed, charge per unit)
LEVELS = {"php": (["H0035"], 650), "residential": (["H0019"], 850), "iop": (["S9480", "90853"], 420),
          "op": (["90837", "90834", "99214", "90785"], 200), "detox": (["H0011"], 1100)}
SLUG = "contracts-bench"


def build(lines: int) -> Organization:
    rng = random.Random(20261122)
    t0 = time.perf_counter()
    org = services.organization_create(name="Contracts bench", kind="behavioral_health", slug=SLUG)
    with tenant_context(org):
        payers = [Payer.objects.create(name=f"Payer {i:02d}", payer_class=CLASSES[i % 5]) for i in range(20)]
        programs = [Program.objects.create(code=f"P{i}", name=f"Program {i}", level_of_care=loc)
                    for i, loc in enumerate(LEVELS)]
        feed837 = Feed.objects.create(name="Bench 837", kind="x12_837")
        feed835 = Feed.objects.create(name="Bench 835", kind="x12_835")
        f837 = ReceivedFile.objects.create(feed=feed837, filename="b.837", sha256="1" * 64, size=1, storage_path="b1",
                                           source="upload")
        f835 = ReceivedFile.objects.create(feed=feed835, filename="b.835", sha256="2" * 64, size=1, storage_path="b2",
                                           source="upload")
        n_claims = lines // 4
        patients = [f"{i:064x}" for i in range(20_000)]
        claim_rows = []
        for i in range(n_claims):
            program = programs[i % len(programs)]
            day = START + dt.timedelta(days=rng.randrange(DAYS))
            claim_rows.append((f837.pk, i, f"C{i}", payers[rng.randrange(20)].pk, program.pk, rng.choice(patients),
                               Decimal(0), day, day + dt.timedelta(days=3), day + dt.timedelta(days=8), "1", False))
        ids = copy_insert_returning(
            Claim, columns=["source_file_id", "source_position", "patient_control_number", "payer_id", "program_id",
                            "patient_hash", "charge", "service_from", "service_to", "submitted_on", "frequency",
                            "is_resubmission"],
            rows=claim_rows, returning=("id", "source_position"))
        claim_id = {pos: pk for pk, pos in ids}
        loc_of = {p.pk: p.level_of_care for p in programs}

        def line_rows() -> Iterator[tuple[Any, ...]]:
            for pos, row in enumerate(claim_rows):
                codes, price = LEVELS[loc_of[row[4]]]
                for n in range(4):
                    units = 1 if loc_of[row[4]] != "residential" or n else 5
                    yield (claim_id[pos], n + 1, codes[n % len(codes)], Decimal(price * units), Decimal(units),
                           row[7] + dt.timedelta(days=n))

        copy_insert(ClaimLine, columns=["claim_id", "line_number", "procedure_code", "charge", "units",
                                        "service_date"], rows=line_rows())
        with connection.cursor() as cur:
            cur.execute("UPDATE rcm_feeds_claim c SET charge = s.total FROM (SELECT claim_id, sum(charge) AS total "
                        "FROM rcm_feeds_claimline WHERE tenant_id = %s GROUP BY claim_id) s "
                        "WHERE c.tenant_id = %s AND c.id = s.claim_id", [org.pk, org.pk])
        print(f"claims {n_claims:,}, lines {n_claims * 4:,} at {time.perf_counter() - t0:.0f}s", flush=True)

        remits = copy_insert_returning(
            Remittance, columns=["source_file_id", "source_position", "payer_id", "trace_number", "handling_code",
                                 "payment_amount", "payment_date"],
            rows=[(f835.pk, w, payers[0].pk, f"T{w}", "I", Decimal(0), START + dt.timedelta(days=7 * w + 30))
                  for w in range(DAYS // 7 + 4)], returning=("id", "source_position"))
        remit_id = {pos: pk for pk, pos in remits}
        payments, plans = [], []
        for pos, row in enumerate(claim_rows):
            codes, price = LEVELS[loc_of[row[4]]]
            charge = Decimal(price * (8 if loc_of[row[4]] == "residential" else 4))
            denied = rng.random() < 0.08
            paid = Decimal(0) if denied else (charge * Decimal(rng.uniform(0.4, 0.7))).quantize(Decimal("0.01"))
            pr = Decimal(0) if denied else (paid * Decimal("0.1")).quantize(Decimal("0.01"))
            week = (row[9] - START).days // 7
            payments.append((remit_id[week], claim_id[pos], len(payments), row[2], "4" if denied else "1", charge,
                             paid, pr, False, denied))
            plans.append((len(payments) - 1, paid, pr, codes))
            if rng.random() < 0.01 and not denied:
                payments.append((remit_id[week + 1], claim_id[pos], len(payments), row[2], "22", -charge, -paid, -pr,
                                 True, False))
                plans.append((len(payments) - 1, -paid, -pr, codes))
                payments.append((remit_id[week + 1], claim_id[pos], len(payments), row[2], "1", charge, paid, pr,
                                 False, False))
                plans.append((len(payments) - 1, paid, pr, codes))
        cps = copy_insert_returning(
            ClaimPayment, columns=["remittance_id", "claim_id", "source_position", "patient_control_number",
                                   "status_code", "charge", "paid", "patient_responsibility", "is_reversal",
                                   "is_denied"], rows=payments, returning=("id", "source_position"))
        cp_id = {pos: pk for pk, pos in cps}

        def service_rows() -> Iterator[tuple[Any, ...]]:
            for pos, paid, _, codes in plans:
                quarter = (paid / 4).quantize(Decimal("0.01"))
                for n in range(4):
                    yield (cp_id[pos], pos * 4 + n, codes[n % len(codes)], Decimal(0),
                           paid - 3 * quarter if n == 3 else quarter)

        sps = copy_insert_returning(ServicePayment, columns=["claim_payment_id", "source_position", "procedure_code",
                                                             "charge", "paid"], rows=service_rows(),
                                    returning=("id", "claim_payment_id", "source_position"))
        pr_of = {cp_id[pos]: pr for pos, _, pr, _ in plans}
        copy_insert(Adjustment, columns=["claim_payment_id", "service_payment_id", "group_code", "reason_code",
                                         "amount"],
                    rows=((cp, sp, "PR", "2", pr_of[cp]) for sp, cp, spos in sps if spos % 4 == 0 and pr_of[cp]))
        print(f"payments {len(payments):,}, service lines {len(payments) * 4:,} at {time.perf_counter() - t0:.0f}s",
              flush=True)
        for i in range(2000):
            program = programs[i % len(programs)]
            day = START + dt.timedelta(days=rng.randrange(DAYS - 30))
            Admission.objects.create(external_id=f"A{i}", patient_hash=patients[i], program=program,
                                     payer=payers[i % 20], plan_name="HMO" if i % 2 else "PPO", admitted_on=day,
                                     discharged_on=day + dt.timedelta(days=rng.randrange(5, 40)))
        for i, payer in enumerate(payers):
            contract = contract_services.contract_create(payer=payer, name=f"Payer {i:02d} agreement")
            version = contract.versions.get()
            rows = [(code, Decimal(price) * Decimal("0.55")) for codes, price in LEVELS.values() for code in codes]
            contract_services.fee_schedule_import(version=version,
                                                  text="code,rate\n" + "\n".join(f"{c},{r}" for c, r in rows))
            for loc in ("php", "residential"):
                contract_services.term_save(version=version, kind="per_diem", level_of_care=loc,
                                            rate=Decimal(LEVELS[loc][1]) * Decimal("0.6"), lesser_of_charges=True)
            contract_services.term_save(version=version, kind="case_rate", basis="per_admission",
                                        level_of_care="detox", rate="2500")
            contract_services.term_save(version=version, kind="percent_of_charges", rate="50")
            contract_services.version_publish(version=version, effective_from=START, recompute=False)
            plan = contract_services.contract_create(payer=payer, name=f"Payer {i:02d} HMO", plan_name="HMO")
            v = plan.versions.get()
            contract_services.term_save(version=v, kind="percent_of_charges", rate="55")
            contract_services.version_publish(version=v, effective_from=START + dt.timedelta(days=180),
                                              recompute=False)
        for i in range(200):
            contract_services.single_case_create(
                payer=payers[i % 20], program=programs[i % len(programs)], patient_hash=patients[1000 + i],
                starts_on=START, ends_on=START + dt.timedelta(days=DAYS), kind="per_diem", rate="700",
                name=f"SCA {i}",
                recompute=False)
        with connection.cursor() as cur:
            for table in ("rcm_feeds_claim", "rcm_feeds_claimline", "rcm_feeds_claimpayment",
                          "rcm_feeds_servicepayment", "rcm_feeds_adjustment", "intake_admission"):
                cur.execute(f"ANALYZE {table}")
        print(f"contracts {Contract.objects.count():,} built at {time.perf_counter() - t0:.0f}s", flush=True)
    return org


FLOOR_SQL = [
    "DELETE FROM contracts_lineexpectation WHERE tenant_id = %(t)s",
    "DELETE FROM contracts_claimexpectation WHERE tenant_id = %(t)s",
    """INSERT INTO contracts_claimexpectation (tenant_id, claim_id, payer_id, program_id, service_date, submitted_on,
           plan_name, source, status, charge, lines_total, lines_priced, paid, patient_responsibility, adjudicated,
           denied, computed_at)
       SELECT %(t)s, c.id, c.payer_id, c.program_id, coalesce(c.service_from, c.submitted_on), c.submitted_on, '', '',
              'no_term', c.charge, 0, 0, 0, 0, false, false, now()
       FROM rcm_feeds_claim c WHERE c.tenant_id = %(t)s""",
    """INSERT INTO contracts_lineexpectation (tenant_id, claim_id, claim_line_id, line_number, code,
           service_date, units, charge, term_kind, paid, patient_responsibility, matched)
       SELECT %(t)s, l.claim_id, l.id, l.line_number, l.procedure_code, l.service_date, l.units, l.charge, '', 0, 0,
              false
       FROM rcm_feeds_claimline l WHERE l.tenant_id = %(t)s""",
]


class Rollback(Exception):
    pass


def floor(org: Organization) -> float:
    """Write the same rows with no pricing, in one transaction, rolled back (the cost of the writes alone)."""
    with tenant_context(org):
        t0 = time.perf_counter()
        try:
            with transaction.atomic(), connection.cursor() as cur:
                for statement in FLOOR_SQL:
                    cur.execute(statement, {"t": org.pk})
                elapsed = time.perf_counter() - t0
                raise Rollback
        except Rollback:
            pass
    return elapsed


def per_claim(org: Organization, sample: int = 300) -> float:
    """Seconds per claim of the slow Python reference (one claim at a time through the ORM)."""
    sys.path.insert(0, str(ROOT))
    from tests.contracts import reference

    with tenant_context(org):
        claims = list(Claim.objects.order_by("id")[:sample])
        t0 = time.perf_counter()
        for claim in claims:
            admission = reference.admission_of(claim)
            found = reference.contract_in_force(claim, admission.plan_name if admission else "")
            if found and not reference.superseded(claim):
                reference.price_lines(claim, found[1], admission)
        return (time.perf_counter() - t0) / sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--reuse", action="store_true", help="keep the bench organization of an earlier run")
    args = parser.parse_args()
    print(f"database {DB_NAME}", flush=True)
    call_command("migrate", verbosity=0)
    existing = Organization.objects.filter(slug=SLUG).first()
    if existing is not None and not args.reuse:
        services.organization_delete(organization=existing)
        existing = None
    org = existing or build(args.lines)
    with tenant_context(org):
        lines = ClaimLine.objects.count()
        claims = Claim.objects.count()
    print(f"{claims:,} claims, {lines:,} claim lines", flush=True)
    times = []
    for run in range(args.runs):
        with tenant_context(org):
            t0 = time.perf_counter()
            counts = expected_recompute()
            times.append(time.perf_counter() - t0)
        print(f"run {run + 1}: {times[-1]:.1f}s {counts}", flush=True)
    base = floor(org)
    per = per_claim(org)
    median = statistics.median(times)
    print(f"\nexpected_recompute: median {median:.1f}s over {args.runs} runs for {lines:,} lines "
          f"({lines / median:,.0f} lines/s)")
    print(f"baseline, writes only (no pricing): {base:.1f}s -> pricing costs {median - base:.1f}s on top")
    print(f"baseline, per-claim Python reference: {per * 1000:.1f} ms/claim -> {per * claims / 60:.0f} min for "
          f"{claims:,} claims ({per * claims / median:,.0f}x the set-based recompute)")


if __name__ == "__main__":
    main()
