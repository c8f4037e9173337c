"""``manage.py seed_demo``: build the demo organizations, their users of every role and API keys."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from revops.demo import scale
from revops.demo.quotas import BENCH_DEALS_PER_SCALE_UNIT
from revops.demo.rcm import BENCH_CLAIMS_PER_UNIT
from revops.demo.services import DemoOutcome, default_year, demo_seed

HELP = f"""Build two demo organizations deterministically from --seed: Riverbend Behavioral Health
(a behavioral-health provider network) and Meridian Diagnostics (a lab sales organization), each
with a demo user for every role, one user in both, an API key (printed once) and default
schedules. Organizations that exist are left alone unless --reset.

Each organization also gets its RCM feeds and 18 months of billing history ending in December of
--year, loaded through the ingestion path (837, 277CA and 835 files, A/R and cost CSVs, denial
appeals and write-offs; revops/demo/rcm). An existing organization gets whatever part of that
history it lacks; --no-billing skips it. With its billing, a behavioral-health organization gets its
admissions (the stays its claims describe), authorizations, intake rules and their violations, and
monthly program costs (revops/demo/intake; a lab has none). Then each organization gets its territory plans
(revops/demo/territories): the plan active since January, a July realignment with a 30-day
hold-out, and a draft for next year balanced by the optimizer; --no-territories skips them.
Then its quota plans (revops/demo/quotas): two fiscal years of credited bookings (and Riverbend's
net collected revenue), a learned and a typed seasonality profile, last year's plan archived with
its attainment, this year's active with attainment and the July realignment's relief, and a draft
for next year with overrides and bottom-up submissions; --no-quotas skips them (so does
--no-territories: quotas are set on the territory plans). Then its pipeline (revops/demo/forecasting):
opportunities with their stage history from January of the demo year to today, a forecast period per
month with reps' calls and managers' adjustments, the weighted-pipeline forecast made at each month's
end, and every past month closed and scored; --no-forecasting skips it. Then its commissions
(revops/demo/commissions): plans with versions, an EKRA-flagged component signed off and a draft
one that is not, assignments with quotas and draws, the year's bookings as transactions (splits,
cancellations), twelve monthly runs (ten paid, November locked, December open with late deals and
a resolved dispute as adjustments); --no-commissions skips them.

--scale N adds N-1 units loaded through COPY (revops/bulk.py); scale 1 is the demo core. One unit:
Meridian +{scale.DISTRICTS_PER_UNIT} districts of 1 manager and {scale.REPS_PER_DISTRICT} reps
(with area managers, regional directors and divisional VPs above them: a six-level hierarchy) and
+{scale.MERIDIAN_ACCOUNTS_PER_UNIT:,} practice accounts nationwide; Riverbend
+{scale.RIVERBEND_ACCOUNTS_PER_UNIT:,} referral-source accounts. Scale 100 is about 5,000 reps and
1,000,000 accounts (see docs/benchmarks.md). Each unit also adds billing history: Meridian
+{BENCH_CLAIMS_PER_UNIT["meridian-dx"]:,} claims of about five lines, Riverbend
+{BENCH_CLAIMS_PER_UNIT["riverbend-bh"]:,} claims (scale 100: about a million Meridian claims and five
million claim lines), loaded file by file with progress printed. Meridian's bookings grow to
{BENCH_DEALS_PER_SCALE_UNIT:,} x N per fiscal year (two fiscal years: about N x {2 * BENCH_DEALS_PER_SCALE_UNIT:,}
credited transactions, scale 100 about a million)."""


class Command(BaseCommand):
    help = HELP

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument("--scale", type=int, default=1, help="1 = demo size; 100 = benchmark size.")
        parser.add_argument("--year", type=int, default=None,
                            help="Year the hires, moves and terminations happen in (default: last year).")
        parser.add_argument("--reset", action="store_true", help="Delete the demo organizations and rebuild them.")
        parser.add_argument("--no-billing", action="store_true",
                            help="Skip the billing (RCM) history: feeds, claims, remittances, A/R, costs.")
        parser.add_argument("--no-territories", action="store_true",
                            help="Skip the territory plans (active plan, mid-year realignment, balanced draft).")
        parser.add_argument("--no-quotas", action="store_true",
                            help="Skip the quota plans and their credited transactions.")
        parser.add_argument("--no-forecasting", action="store_true",
                            help="Skip the pipeline, forecast calls, month-end forecasts and scored months.")
        parser.add_argument("--no-commissions", action="store_true",
                            help="Skip the commission plans, transactions, monthly runs, statements and disputes.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["scale"] < 1:
            self.stderr.write("--scale must be at least 1")
            raise SystemExit(2)
        year = options["year"] or default_year()
        verbose = options["scale"] > 1 or options["verbosity"] > 1
        progress = (lambda line: self.stdout.write(f"  {line}")) if verbose else None
        outcome = demo_seed(seed=options["seed"], scale_factor=options["scale"], year=year, reset=options["reset"],
                            billing=not options["no_billing"], territories=not options["no_territories"],
                            quotas=not options["no_quotas"], forecasting=not options["no_forecasting"],
                            commissions=not options["no_commissions"], progress=progress)
        self._report(outcome, verbose=verbose)

    def _report(self, outcome: DemoOutcome, *, verbose: bool) -> None:
        out = self.stdout
        for org in outcome.orgs:
            if org.created:
                out.write(self.style.SUCCESS(
                    f"Created {org.organization.name} ({org.organization.slug}): "
                    f"{org.people:,} people, {org.accounts:,} accounts"))
                out.write(f"  API key (shown once): {org.api_key}")
            else:
                out.write(self.style.WARNING(
                    f"{org.organization.name} ({org.organization.slug}) exists: left as it is (--reset rebuilds it)"))
            billing = org.billing
            if billing is not None:
                rows = billing.rows
                out.write(f"  Billing: {rows['claims']:,} claims ({rows['claim_lines']:,} lines), "
                          f"{rows['claim_payments']:,} claim payments, {rows['denials']:,} denials, "
                          f"{rows['ar_rows']:,} A/R rows, {rows['cost_rows']:,} cost rows in {rows['files']:,} files"
                          + (f"; loaded {billing.files_loaded:,} files, {billing.appeals:,} appeals, "
                             f"{billing.write_offs:,} write-offs in {billing.seconds:.1f} s"
                             if billing.files_loaded else " (nothing new to load)"))
                for note in billing.notes:
                    if not note.endswith("loaded whole before"):
                        out.write(self.style.WARNING(f"  Billing history {note}"))
            i = org.intake
            if i is not None:
                out.write("  Intake: admissions already loaded" if i.skipped else
                          "  Intake: a lab has no admissions (program pages show empty states)" if not i.admissions else
                          f"  Intake: {i.admissions:,} admissions ({i.in_care} in care), {i.claims_linked:,} claims "
                          f"linked, {i.authorizations:,} authorizations ({i.reviews_due} reviews due this week), "
                          f"{i.rules} intake rules, {i.violations} violations, {i.program_costs:,} program cost rows "
                          f"in {i.seconds:.1f} s")
            k = org.contracts
            if k is not None:
                out.write("  Contracts: already built" if k.skipped else
                          f"  Contracts: {k.contracts} payer contracts ({k.single_case} single-case agreements), "
                          f"{k.terms:,} terms, expected reimbursement of {sum(k.claims.values()):,} claims, "
                          f"{k.reviews} quarterly reviews; underpaying: {', '.join(k.underpaying_payers) or 'none'} "
                          f"in {k.seconds:.1f} s")
            sc = org.scenarios
            if sc is not None:
                out.write("  Scenarios: already saved" if sc.skipped else
                          f"  Scenarios: {len(sc.created)} saved what-ifs ({'; '.join(sc.created) or 'none'})")
                for note in sc.refused:
                    out.write(self.style.WARNING(f"  Scenario not saved: {note}"))
            plans = org.territories
            if plans is not None:
                out.write("  Territories: plans already built" if plans.skipped else
                          f"  Territories: {plans.plans} plans (active, mid-year realignment with a hold-out, a "
                          f"balanced draft for next year), {plans.territories} territories, {plans.accounts:,} accounts")
            f = org.forecasting
            if f is not None:
                out.write("  Forecasting: pipeline already built" if f.skipped else
                          f"  Forecasting: {f.opportunities:,} opportunities ({f.history:,} history rows), {f.periods} "
                          f"monthly periods with {f.calls:,} calls, {f.runs} forecast runs (month-end pipeline, time series, "
                          f"cash), {f.scores:,} scores "
                          f"in {f.seconds:.1f} s")
            q = org.quotas
            if q is not None:
                out.write(f"  Quotas: {q.note or 'plans already built'}" if q.skipped else
                          f"  Quotas: {q.plans} plans (last year archived, this year active, a draft for next year), "
                          f"{q.transactions:,} credited transactions, {q.reliefs} relief rows, {q.ramps} ramping "
                          f"territor{'y' if q.ramps == 1 else 'ies'} in {q.seconds:.1f} s")
            c = org.commissions
            if c is not None:
                out.write("  Commissions: plans already built" if c.skipped else
                          f"  Commissions: {c.plans} plans, {c.assignments} assignments, {c.transactions:,} transactions, "
                          f"{c.periods} monthly periods run ({c.lines:,} line items, payouts {c.payout}) "
                          f"in {c.seconds:.1f} s")
        if verbose and outcome.loads:
            out.write("\nBulk loads (COPY via revops/bulk.py):")
            out.write(f"  {'table':<24} {'rows':>10} {'seconds':>9} {'rows/s':>10}")
            for stat in outcome.loads:
                out.write(f"  {stat.table:<24} {stat.rows:>10,} {stat.load_seconds:>9.2f} {stat.rows_per_second:>10,.0f}")
        out.write("\nDemo logins:")
        widths = (30, 16, 26, 14)
        header = ("organization", "role", "username", "password")
        out.write("  " + " ".join(h.ljust(w) for h, w in zip(header, widths)) + "  person")
        for login in outcome.logins:
            cells = (login.organization, login.role, login.username, login.password)
            out.write("  " + " ".join(c.ljust(w) for c, w in zip(cells, widths)) + f"  {login.person}")
