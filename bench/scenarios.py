"""What-if scenarios at benchmark scale: computing each of the three kinds, with baselines in the same run.

Run: DATABASE_URL=postgres://.../revops_h1 python bench/scenarios.py [--reuse] [--runs 3] [--window 12]

Reuses the data set of bench/contract_reimbursement.py (its builder, its database
``<the DATABASE_URL database>_contracts_bench``: 1,000,000 claim lines = 250,000 claims over 24 months with
their 835 payments, 2,000 admissions, 240 contracts; ``--reuse`` keeps an organization built earlier, otherwise it
is rebuilt). On top of it, once (kept by ``--reuse``), what the scenarios read and the builder does not make:
expected reimbursement (``expected_recompute``), program costs (every program and month), RCM costs (every month),
a claim-level ``Denial`` for every denied claim payment, the admission-claim links, one intake rule in force
from the middle of the window, and the RCM aggregates (days to pay).

Then, for a window of ``--window`` months ending with the last month with claims, median of ``--runs`` of:
- the three kinds, each computed as the job computes it (``scenarios.services.compute``: the reads, the engine,
  the rounding, the digest), without saving;
- baseline 1, the reads alone (``scenarios.selectors.scenario_inputs``: the claims query with the cost
  allocation, the stays, the totals, days to pay);
- baseline 2, the engine alone per kind on inputs already read (``scenarios.engine.evaluate``), and the base
  case alone (``engine.base_figures`` + the base cash) on the same inputs.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings")

from bench import contract_reimbursement as cr  # noqa: E402  (points DATABASE_URL at its database, sets up Django)

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from contracts.services.reimbursement import expected_recompute  # noqa: E402
from intake import services as intake_services  # noqa: E402
from intake.models import IntakeRule  # noqa: E402
from rcm_feeds.aggregates import aggregates_refresh  # noqa: E402
from rcm_feeds.models import ClaimPayment, Denial, Feed, RcmCost, ReceivedFile  # noqa: E402
from revops import services as org_services  # noqa: E402
from revops.models import Organization, Payer, Program  # noqa: E402
from revops.tenancy import tenant_context  # noqa: E402
from scenarios import engine, selectors, services  # noqa: E402
from scenarios.models import Scenario, ScenarioKind  # noqa: E402


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    out, m = [], first
    while m <= last:
        out.append(m)
        m = engine.add_months(m, 1)
    return out


def prepare(org: Organization) -> None:
    """What the scenarios read beyond the contracts bench data (one transaction; skipped when already made)."""
    with tenant_context(org), transaction.atomic():
        if IntakeRule.objects.filter(reason="bench").exists():  # made last
            print("scenario extras: already there", flush=True)
            return
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM contracts_claimexpectation WHERE tenant_id = %s", [org.pk])
            if not cur.fetchone()[0]:
                print("expected reimbursement: recomputing", flush=True)
                expected_recompute()
        months = _months(cr.START, (cr.START + dt.timedelta(days=cr.DAYS)).replace(day=1))
        programs = list(Program.objects.order_by("id"))
        # Program costs: about 45% of a program's charges of the month (a rough cost-to-charge ratio).
        with connection.cursor() as cur:
            cur.execute("""SELECT program_id, date_trunc('month', service_from)::date, sum(charge) FROM rcm_feeds_claim
                           WHERE tenant_id = %s GROUP BY 1, 2""", [org.pk])
            charges = {(p, m): v for p, m, v in cur.fetchall()}
        intake_services.program_costs_upsert(rows=[
            (p.pk, m, "care_staff", (charges.get((p.pk, m), Decimal(0)) * Decimal("0.45")).quantize(Decimal("0.01")),
             None, "bench") for p in programs for m in months])
        feed, _ = Feed.objects.get_or_create(name="Bench costs", defaults={"kind": "csv_costs"})
        f, _ = ReceivedFile.objects.get_or_create(sha256="3" * 64, defaults={
            "feed": feed, "filename": "costs.csv", "size": 1, "storage_path": "b3", "source": "upload"})
        RcmCost.objects.bulk_create([RcmCost(tenant=org, source_file=f, source_position=i, month=m, category="staff",
                                             amount=Decimal("180000")) for i, m in enumerate(months)])
        # A claim-level denial for every denied, non-reversal claim payment (the builder marks 8% denied).
        denied = ClaimPayment.objects.filter(is_denied=True, is_reversal=False).select_related(
            "claim", "remittance").only("id", "claim__id", "claim__payer_id", "claim__program_id", "charge",
                                         "remittance__payment_date")
        batch = [Denial(tenant=org, claim_payment_id=cp.pk, claim_id=cp.claim_id, level="claim",
                        payer_id=cp.claim.payer_id, program_id=cp.claim.program_id, category="authorization",
                        carc_codes=["197"], denied_charge=cp.charge, denied_on=cp.remittance.payment_date)
                 for cp in denied.iterator()]
        Denial.objects.bulk_create(batch, batch_size=5000)
        links = intake_services.admission_claims_link()
        payer = Payer.objects.order_by("id").first()
        program = programs[0]
        last = (cr.START + dt.timedelta(days=cr.DAYS)).replace(day=1)
        intake_services.intake_rule_save(payer=payer, program=program, decision="allowed_with_authorization",
                                         effective_from=engine.add_months(last, -5), reason="bench")
        aggregates_refresh()
        with connection.cursor() as cur:
            for table in ("intake_programcost", "rcm_feeds_denial", "intake_admissionclaim", "rcm_feeds_rcmcost"):
                cur.execute(f"ANALYZE {table}")
        print(f"scenario extras: {len(batch):,} denials, {links:,} admission-claim links, "
              f"{len(programs) * len(months)} program-months of cost in {time.perf_counter() - t0:.0f}s", flush=True)


def kinds(org: Organization) -> dict[str, dict[str, Any]]:
    """One scenario of each kind on the bench data: exit the contract with the most claims (20% re-captured),
    tighten the bench intake rule to not allowed, the payer with the most claim-level denials 3 points lower."""
    with connection.cursor() as cur:
        cur.execute("""SELECT contract_id FROM contracts_claimexpectation WHERE tenant_id = %s AND contract_id IS NOT
                       NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""", [org.pk])
        contract_id = cur.fetchone()[0]
        cur.execute("""SELECT payer_id FROM rcm_feeds_denial WHERE tenant_id = %s AND level = 'claim'
                       GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""", [org.pk])
        payer_id = cur.fetchone()[0]
    rule = IntakeRule.objects.get(reason="bench")
    return {
        ScenarioKind.EXIT_CONTRACT: {"contract_id": contract_id, "recapture_pct": "20"},
        ScenarioKind.TIGHTEN_INTAKE_RULE: {"rule_id": rule.pk, "decision": "not_allowed"},
        ScenarioKind.DENIAL_RATE_CHANGE: {"payer_id": payer_id, "delta_points": "-3"},
    }


def timed(fn: Any, runs: int) -> tuple[float, Any]:
    times, value = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--window", type=int, default=12, help="months of the base window (1-24)")
    parser.add_argument("--reuse", action="store_true", help="keep the bench organization of an earlier run")
    args = parser.parse_args()
    print(f"database {cr.DB_NAME}; load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} on {os.cpu_count()} cores", flush=True)
    call_command("migrate", verbosity=0)
    existing = Organization.objects.filter(slug=cr.SLUG).first()
    if existing is not None and not args.reuse:
        org_services.organization_delete(organization=existing)
        existing = None
    org = existing or cr.build(args.lines)
    prepare(org)
    with tenant_context(org):
        end = services.default_window_end()
        window = selectors.window_months(end, args.window)
        params = kinds(org)
        inp, notes = selectors.scenario_inputs(window=window, horizon=12)
        print(f"window {window[0]:%Y-%m}..{window[-1]:%Y-%m}: {len(inp.claims):,} claims, "
              f"{len(inp.admissions):,} stays, {int(inp.claims['initially_denied'].sum()):,} initially denied, "
              f"{int(inp.claims['admission_id'].notna().sum()):,} claims linked to a stay; notes {notes}", flush=True)
        reads, _ = timed(lambda: selectors.scenario_inputs(window=window, horizon=12), args.runs)
        print(f"baseline, the reads alone (scenario_inputs): median {reads:.2f}s", flush=True)

        def base_only() -> Any:
            lags, org_lag = engine.payer_lags(inp)
            return engine.base_figures(inp), engine.cash_by_month(inp, None, lags, org_lag)

        base_engine, _ = timed(base_only, args.runs)
        print(f"baseline, the base case alone in the engine (figures + cash): median {base_engine * 1000:.0f} ms",
              flush=True)
        rows = []
        for kind, raw in params.items():
            cleaned, description = services.clean_parameters(kind=kind, parameters=raw)
            scenario = Scenario(name="bench", kind=kind, parameters=cleaned, window_end=end,
                                window_months=args.window, horizon_months=12,
                                effective_month=engine.add_months(end, 1))
            change = services._change(scenario)
            eng, result = timed(lambda: engine.evaluate(inp, change), args.runs)
            total, _ = timed(lambda: services.compute(scenario), args.runs)
            summary = {r["key"]: r for r in result["summary"]}
            rows.append((kind, total, eng))
            print(f"{kind}: {description}\n  compute (reads + engine + digest) median {total:.2f}s; engine alone "
                  f"{eng * 1000:.0f} ms; margin change {summary['margin']['delta']}, net revenue change "
                  f"{summary['net_revenue']['delta']}, claims change {summary['claims']['delta']}, cash change over "
                  f"12 months {result['totals']['cash_delta']}", flush=True)
    print(f"\nsummary ({args.runs} runs each, window {args.window} months, {len(inp.claims):,} claims):")
    print(f"  reads alone {reads:.2f}s; base case in the engine {base_engine * 1000:.0f} ms")
    for kind, total, eng in rows:
        print(f"  {kind:22s} compute {total:.2f}s = reads {reads:.2f}s + {total - reads:+.2f}s "
              f"(engine alone {eng * 1000:.0f} ms)")
    print(f"load average at the end {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
