"""Server time of the executive dashboard for a tenant at benchmark scale, in a database of its own.

Run: DATABASE_URL=postgres://.../revops_x python bench/exec_dashboard.py [--lines 2000000] [--reps 3000]
     [--runs 7] [--reuse] [--drop] [--before GIT_REV]

Creates (or with --reuse, keeps) the database ``<name>_exec_bench`` next to DATABASE_URL's (the role needs
CREATEDB), migrates it, and builds the organization "Exec bench" with COPY (revops.bulk) and set-based SQL,
because ``seed_demo --scale 100`` takes about half an hour on 2 cores (docs/benchmarks.md), so that every tile
of the page has data:

- billing: ``bench/kpi_query.build`` (``--lines`` claim lines, 4 per claim, 24 months, 20 payers, 835s,
  denials, A/R, cost), then ``aggregates_refresh`` (the dashboard reads the aggregates);
- care and contracts (``build_care``): service dates and patients on every claim, 30,000 admissions (80% of
  the claims linked by ``intake.services.admission_claims_link``, every fifth claim unlinked), program costs,
  the payer contracts of ``bench/contract_reimbursement.py`` (payer-wide and HMO plan contracts per payer,
  100 single-case agreements) with the expected reimbursement of the 2025 claims computed
  (``expected_recompute``), and the contract reviews of 2025 Q2 and Q3;
- sales: ``--reps`` reps in 100 teams, an active calendar-year quota plan (company, 10 regions, one leaf per
  rep, 12 months each with quota and actuals), 20 opportunities per rep with their history (30% won,
  10% lost, the rest open in four stages); and (``build_extras``) a territory per rep with 20 accounts each
  on the active territory plan, monthly forecast periods January-July with a call per rep, closed and
  scored, and a commission plan with a run per month.

The quota months are written with COPY, so the script then builds the leaf-month attainment summary
(``quotas.services.attainment_summary_refresh``) as an attainment recompute would. Program profitability's money
summary (``intake_programclaimmoney``) is built by the claim link and the aggregate refresh, the underpayment
summary (``contracts_underpaymentmonthly``) by the recompute; on an older bench database the migrations
(``intake.0006``, ``contracts.0004``) build them. Each part is built only
when missing, so ``--reuse`` on an older bench database adds what it lacks.

Then, with Django's test client signed in as an executive (server time: URL resolution, middleware,
views, SQL and template rendering; no network), it times the first request (it materializes the
pipeline and territory snapshots, which the nightly job does in production) and the median of ``--runs``
warm requests of the page, its htmx fragments (tiles, drill-downs) and the API, against the 500 ms budget,
with the CPU time a warm request costs; checks that every tile shows data (exit status 1 if one is empty);
times each tile's summary alone; and with ``--before REV`` times the program profitability and underpayment
selectors of that git revision against the current ones, alternating, checking they give the same figures.
The load average is printed with the figures.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import psycopg
from psycopg import sql

BUDGET_MS = 500.0
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _bench_url(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/") + "_exec_bench"
    return urlunparse(parsed._replace(path="/" + name)), name


def _admin_conninfo(url: str) -> str:
    parsed = urlparse(url)
    return psycopg.conninfo.make_conninfo(host=parsed.hostname, port=parsed.port or 5432, dbname="postgres",
                                          user=parsed.username, password=parsed.password)


def build_sales(reps: int) -> None:
    from forecasting.models import Opportunity, OpportunityHistory, Stage
    from quotas.models import Quota, QuotaMonth, QuotaPlan
    from revops.bulk import copy_insert, copy_insert_returning
    from revops.models import Person, Team
    from territories.models import TerritoryPlan

    rng = random.Random(8)
    t0 = time.perf_counter()
    teams = copy_insert_returning(Team, columns=["name"], rows=[(f"Team {i:03d}",) for i in range(100)],
                                  returning=("id",))
    team_ids = [t[0] for t in teams]
    people = copy_insert_returning(
        Person, columns=["employee_id", "first_name", "last_name", "role", "team_id", "hire_date"],
        rows=[(f"E{i:06d}", "Rep", f"{i:06d}", "rep", team_ids[i % 100], dt.date(2020, 1, 1) + dt.timedelta(days=i % 2000))
              for i in range(reps)], returning=("id",))
    person_ids = [p[0] for p in people]
    tp = TerritoryPlan.objects.create(name="Bench territories", status="active", effective_from=dt.date(2025, 1, 1))
    plan = QuotaPlan.objects.create(name="Bench FY2025", fiscal_year=2025, territory_plan=tp, status="active",
                                    company_target=Decimal(reps) * 1_000_000, effective_from=dt.date(2025, 1, 1),
                                    effective_to=dt.date(2026, 1, 1))
    root = Quota.objects.create(plan=plan, code="COMPANY", name="Company", level="company", depth=0)
    regions = copy_insert_returning(Quota, columns=["plan_id", "parent_id", "code", "name", "level", "depth"],
                                    rows=[(plan.pk, root.pk, f"R{i}", f"Region {i}", "region", 1) for i in range(10)],
                                    returning=("id",))
    leaves = copy_insert_returning(
        Quota, columns=["plan_id", "parent_id", "person_id", "code", "name", "level", "depth", "is_leaf", "amount",
                        "annual"],
        rows=[(plan.pk, regions[i % 10][0], pid, f"T{i:06d}", f"Territory {i}", "territory", 2, True,
               Decimal(1_200_000), Decimal(1_200_000)) for i, pid in enumerate(person_ids)], returning=("id",))
    months = [dt.date(2025, m, 1) for m in range(1, 13)]
    copy_insert(QuotaMonth, columns=["quota_id", "month", "allocated", "amount", "actual"],
                rows=((leaf[0], m, Decimal(100_000), Decimal(100_000), Decimal(rng.randrange(40_000, 160_000)))
                      for leaf in leaves for m in months))
    stages = [Stage.objects.create(name=n, order=i, default_probability=Decimal(p), is_won=n == "Won", is_lost=n == "Lost")
              for i, (n, p) in enumerate([("Qualified", "0.15"), ("Proposal", "0.35"), ("Negotiation", "0.6"),
                                          ("Verbal", "0.85"), ("Won", "1"), ("Lost", "0")])]
    opp_rows = []
    for pid in person_ids:
        for k in range(20):
            roll = rng.random()
            stage = stages[4] if roll < 0.3 else stages[5] if roll < 0.4 else stages[rng.randrange(4)]
            close = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(365))
            opp_rows.append((f"O{pid}-{k}", f"Deal {pid}-{k}", pid, stage.pk, Decimal(rng.randrange(5_000, 200_000)),
                             close, dt.date(2024, 12, 1), close if stage.is_won or stage.is_lost else None,
                             stage.is_won, stage.is_lost, "closed" if stage.is_won or stage.is_lost else "pipeline"))
    opps = copy_insert_returning(
        Opportunity, columns=["external_id", "name", "owner_id", "stage_id", "amount", "expected_close", "created_on",
                              "closed_on", "is_won", "is_lost", "category"], rows=opp_rows,
        returning=("id", "stage_id", "amount", "expected_close", "category"))
    first = stages[0].pk
    copy_insert(OpportunityHistory, columns=["opportunity_id", "valid_from", "stage_id", "amount", "expected_close",
                                             "category"],
                rows=[r for o in opps for r in (
                    (o[0], dt.date(2024, 12, 1), first, o[2], o[3], "pipeline"),
                    (o[0], o[3] if o[4] == "closed" else dt.date(2025, 3, 1), o[1], o[2], o[3], o[4]))])
    print(f"sales: {reps:,} reps, {len(opp_rows):,} opportunities in {time.perf_counter() - t0:.0f}s", flush=True)


# Levels of care of kpi_query.build's five programs (it makes them all PHP): every kind of contract term applies.
LEVELS = ("php", "residential", "iop", "op", "detox")
CARE_FROM = dt.date(2025, 1, 1)  # claims priced and reviewed: the dashboard's FY2025 and what it compares with


def build_care() -> None:
    """The intake and contracts data of the billing history (set-based SQL and the real services), so that the
    program profitability, underpayment and contract margin tiles have data:

    - every claim gets service dates (from 10 to 7 days before submission) and a patient: claims of a program,
      a service month and one of 300 slots are one stay (80%); every fifth claim belongs to a patient with no
      stay (unlinked). Stays are the admissions (admitted on the first service day, discharged on the last), and
      ``intake.services.admission_claims_link`` links the claims (patient, program, dates);
    - 24 months of program costs (care staff and utilization review);
    - the contracts of ``bench/contract_reimbursement.py``: per payer a payer-wide contract (fee schedule, per
      diems, a case rate, percent of charges) and an HMO plan contract, 100 single-case agreements; then
      ``expected_recompute`` of the claims with service dates from ``CARE_FROM``;
    - the quarterly contract reviews of 2025 Q2 and Q3 (the tile compares the latest with the one before).
    """
    from django.db import connection

    from contracts.services import contracts as contract_services
    from contracts.services.reimbursement import expected_recompute
    from contracts.services.reviews import reviews_generate
    from intake import services as intake_services
    from revops.models import Payer, Program
    from revops.tenancy import require_tenant_id

    t = require_tenant_id()
    t0 = time.perf_counter()
    programs = list(Program.objects.order_by("code"))
    for program, level in zip(programs, LEVELS):
        Program.objects.filter(pk=program.pk).update(level_of_care=level)
    with connection.cursor() as cur:
        cur.execute("""
            WITH r AS (
                SELECT id, submitted_on - 10 AS sf,
                       row_number() OVER (PARTITION BY program_id, date_trunc('month', submitted_on - 10) ORDER BY id)
                           AS rn
                FROM rcm_feeds_claim WHERE tenant_id = %(t)s
            )
            UPDATE rcm_feeds_claim c SET service_from = r.sf, service_to = r.sf + 3,
                   patient_hash = CASE WHEN r.rn %% 5 = 0 THEN 'u' || lpad(c.id::text, 63, '0')
                                       ELSE encode(sha256(convert_to(c.program_id || '-' || to_char(r.sf, 'YYYY-MM')
                                                                     || '-' || (r.rn %% 300), 'UTF8')), 'hex') END
            FROM r WHERE c.tenant_id = %(t)s AND c.id = r.id
        """, {"t": t})
        print(f"care: service dates and patients on {cur.rowcount:,} claims at {time.perf_counter() - t0:.0f}s",
              flush=True)
        cur.execute("""
            INSERT INTO intake_admission (tenant_id, external_id, patient_hash, program_id, payer_id, plan_name,
                                          admitted_on, discharged_on, source, created_at)
            SELECT %(t)s, 'B' || row_number() OVER (ORDER BY min(service_from), patient_hash), patient_hash,
                   program_id, min(payer_id), CASE WHEN patient_hash < '8' THEN 'HMO' ELSE 'PPO' END,
                   min(service_from), max(service_to), 'import', now()
            FROM rcm_feeds_claim WHERE tenant_id = %(t)s AND patient_hash NOT LIKE 'u%%'
            GROUP BY patient_hash, program_id
        """, {"t": t})
        admissions = cur.rowcount
        cur.execute("ANALYZE intake_admission")
        cur.execute("ANALYZE rcm_feeds_claim")
    links = intake_services.admission_claims_link()
    print(f"care: {admissions:,} admissions, {links:,} claims linked at {time.perf_counter() - t0:.0f}s", flush=True)
    months = [dt.date(2024 + m // 12, m % 12 + 1, 1) for m in range(24)]
    intake_services.program_costs_upsert(rows=[
        row for i, p in enumerate(programs) for m in months
        for row in ((p.pk, m, "care_staff", Decimal(900_000 + 50_000 * i), None, ""),
                    (p.pk, m, "utilization_review", Decimal(40_000 + 5_000 * i), Decimal(600), ""))])
    payers = list(Payer.objects.order_by("name"))
    prices = {"php": 650, "residential": 850, "iop": 420, "op": 200, "detox": 1100}
    for i, payer in enumerate(payers):
        contract = contract_services.contract_create(payer=payer, name=f"{payer.name} agreement")
        version = contract.versions.get()
        contract_services.fee_schedule_import(version=version, text="code,rate\nH0035,300\n90837,110\n")
        for loc in ("php", "residential"):
            contract_services.term_save(version=version, kind="per_diem", level_of_care=loc,
                                        rate=Decimal(prices[loc]) * Decimal("0.6"), lesser_of_charges=True)
        contract_services.term_save(version=version, kind="case_rate", basis="per_admission", level_of_care="detox",
                                    rate="2500")
        contract_services.term_save(version=version, kind="percent_of_charges", rate=str(60 + i % 10))
        contract_services.version_publish(version=version, effective_from=dt.date(2024, 1, 1), recompute=False)
        plan = contract_services.contract_create(payer=payer, name=f"{payer.name} HMO", plan_name="HMO")
        v = plan.versions.get()
        contract_services.term_save(version=v, kind="percent_of_charges", rate=str(65 + i % 7))
        contract_services.version_publish(version=v, effective_from=dt.date(2024, 7, 1), recompute=False)
    with connection.cursor() as cur:
        cur.execute("SELECT DISTINCT ON (patient_hash) patient_hash, program_id, payer_id FROM intake_admission "
                    "WHERE tenant_id = %s AND admitted_on >= %s ORDER BY patient_hash LIMIT 100", [t, CARE_FROM])
        sca = cur.fetchall()
        for n, (patient, program_id, payer_id) in enumerate(sca):
            contract_services.single_case_create(
                payer=Payer.objects.get(pk=payer_id), program=Program.objects.get(pk=program_id),
                patient_hash=patient, starts_on=dt.date(2024, 1, 1), ends_on=dt.date(2025, 12, 31), kind="per_diem",
                rate="700", name=f"SCA {n}", recompute=False)
        cur.execute("SELECT id FROM rcm_feeds_claim WHERE tenant_id = %s AND service_from >= %s ORDER BY id",
                    [t, CARE_FROM])
        priced = [row[0] for row in cur.fetchall()]
    print(f"care: {len(payers) * 2 + len(sca)} contracts at {time.perf_counter() - t0:.0f}s; pricing "
          f"{len(priced):,} claims", flush=True)
    counts = expected_recompute(claim_ids=priced)
    print(f"care: priced {counts} at {time.perf_counter() - t0:.0f}s", flush=True)
    for quarter in (dt.date(2025, 4, 1), dt.date(2025, 7, 1)):
        reviews = reviews_generate(start=quarter)
        print(f"care: {len(reviews)} contract reviews of {quarter:%Y-%m} at {time.perf_counter() - t0:.0f}s",
              flush=True)


def build_extras() -> bool:
    """The rest of the sales tiles' inputs, so that every tile has data:

    - territory balance: the active territory plan gets 10 regions and a leaf territory per rep (the rep covers
      it), 20 accounts per leaf with their annual volume and revenue, placed in their leaf;
    - forecast accuracy: monthly forecast periods January-July 2025, a commit call per rep (COPY), each period
      closed and scored by ``forecasting.services.period_close``;
    - commission cost: plan "Bench rep" (5% of bookings) for every rep, the won deals of January-July as
      commission transactions (``transactions_upsert``), one run per month (``commissions.services.runs``).
    """
    from commissions.models import CompPlan, CompPlanVersion, Component
    from commissions.models import PlanAssignment as CommissionAssignment
    from commissions.services import runs
    from commissions.services.transactions import transactions_upsert
    from forecasting.models import ForecastCall, ForecastPeriod, Opportunity
    from forecasting.services import period_close
    from revops.bulk import copy_insert
    from revops.models import Person
    from revops.tenancy import require_tenant_id
    from territories.models import Territory

    from django.db import transaction

    rng = random.Random(88)
    t0 = time.perf_counter()
    reps = list(Person.objects.filter(role="rep").order_by("employee_id").values_list("pk", flat=True))
    built = not (Territory.objects.exists() and ForecastPeriod.objects.exists() and CompPlan.objects.exists())
    if not Territory.objects.exists():
        with transaction.atomic():
            _territories(reps, rng)
        print(f"extras: territories and accounts at {time.perf_counter() - t0:.0f}s", flush=True)
    months = [dt.date(2025, m, 1) for m in range(1, 8)]
    if not ForecastPeriod.objects.exists():
        with transaction.atomic():
            for month in months:
                end = (month + dt.timedelta(days=32)).replace(day=1)
                period = ForecastPeriod.objects.create(kind="month", start=month, end=end,
                                                       deadline=month + dt.timedelta(days=4))
                copy_insert(ForecastCall, columns=["period_id", "person_id", "kind", "category", "amount",
                                                   "submitted_at"],
                            rows=[(period.pk, rep, "rep", "commit", Decimal(rng.randrange(0, 40)) * 1000,
                                   dt.datetime(month.year, month.month, 3, 12, tzinfo=dt.timezone.utc))
                                  for rep in reps])
                period_close(period=period)
        print(f"extras: {len(months)} forecast periods scored at {time.perf_counter() - t0:.0f}s", flush=True)
    if not CompPlan.objects.exists():
        with transaction.atomic():
            comp = CompPlan.objects.create(name="Bench rep", description="5% of bookings.")
            version = CompPlanVersion.objects.create(plan=comp, version=1, effective_from=dt.date(2025, 1, 1),
                                                     status="active")
            Component.objects.create(version=version, order=0, name="Bookings commission", kind="commission",
                                     basis="bookings", rate=Decimal("0.05"))
            CommissionAssignment.objects.bulk_create([
                CommissionAssignment(tenant_id=require_tenant_id(), person_id=rep, plan=comp,
                                     effective_from=dt.date(2025, 1, 1),
                                     quota_amount=Decimal(100_000)) for rep in reps])
            won = Opportunity.objects.filter(is_won=True, closed_on__gte=months[0], closed_on__lt=dt.date(2025, 8, 1))
            transactions_upsert(rows=[(f"OPP-{o.pk}", "bookings", None, o.owner_id, None, o.closed_on, o.amount,
                                       "Won deal", None, "", "bench")
                                      for o in won.only("pk", "owner_id", "closed_on", "amount")])
        for month in months:
            runs.run_now(period=runs.period_ensure(start=month))
        print(f"extras: {len(months)} commission runs at {time.perf_counter() - t0:.0f}s", flush=True)
    return built


def _territories(reps: list[int], rng: random.Random) -> None:
    from revops.bulk import copy_insert, copy_insert_returning
    from revops.models import Account
    from territories.models import AccountVolume, Coverage, Territory, TerritoryPlan
    from territories.models import PlanAssignment as TerritoryAssignment

    plan = TerritoryPlan.objects.get(status="active")
    regions = copy_insert_returning(Territory, columns=["plan_id", "code", "name", "level"],
                                    rows=[(plan.pk, f"REG{i}", f"Region {i}", "region") for i in range(10)],
                                    returning=("id",))
    leaves = copy_insert_returning(
        Territory, columns=["plan_id", "parent_id", "code", "name", "level"],
        rows=[(plan.pk, regions[i % 10][0], f"TER{i:05d}", f"Territory {i}", "territory") for i in range(len(reps))],
        returning=("id",))
    copy_insert(Coverage, columns=["territory_id", "person_id", "role", "valid_from"],
                rows=[(leaf[0], rep, "primary", dt.date(2025, 1, 1)) for leaf, rep in zip(leaves, reps)])
    accounts = copy_insert_returning(
        Account, columns=["name", "zip_code", "state", "latitude", "longitude"],
        rows=[(f"Practice {n}", f"{37000 + n % 900:05d}", "TN", Decimal(35 + rng.random()).quantize(Decimal("1e-6")),
               Decimal(-87 + rng.random()).quantize(Decimal("1e-6"))) for n in range(20 * len(leaves))],
        returning=("id",))
    copy_insert(AccountVolume, columns=["account_id", "year", "volume", "revenue", "visits"],
                rows=[(a[0], 2024, Decimal(rng.randrange(50, 500)), Decimal(rng.randrange(20_000, 400_000)),
                       Decimal(rng.randrange(4, 24))) for a in accounts])
    copy_insert(TerritoryAssignment, columns=["plan_id", "account_id", "territory_id"],
                rows=[(plan.pk, a[0], leaves[n // 20][0]) for n, a in enumerate(accounts)])


def _backend_cpu_ms(pid: int) -> float:
    """CPU time (user + system) the Postgres backend ``pid`` has used, from /proc (a local server; 0 if unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def _filters(org: Any, q: str) -> Any:
    from django.http import QueryDict

    from analytics import filters as filters_mod

    return filters_mod.parse(QueryDict(q), start_month=org.fiscal_year_start_month)


def check_tiles(client: Any, q: str, org: Any) -> list[str]:
    """Every tile of the page must show data: the API's tiles have no empty state and the page renders each
    tile without its empty-state text. Returns the keys of empty tiles (the script then exits with status 1)."""
    from analytics.tiles import Context, tiles_for

    tiles = client.get(f"/api/v1/analytics/tiles/?{q}", HTTP_HOST="localhost").json()["tiles"]
    empty = [t["key"] for t in tiles if t["empty"]]
    html = client.get(f"/executive/?{q}", HTTP_HOST="localhost").content.decode()
    from revops.tenancy import tenant_context

    with tenant_context(org):
        ctx = Context(_filters(org, q))
        for tile in tiles_for("executive"):
            summary = tile.summary(ctx)
            if f'id="tile-{tile.key}"' not in html or (summary.get("empty") and summary["empty"] in html):
                empty.append(tile.key)
    empty = sorted(set(empty))
    print(f"tiles with data: {len(tiles) - len(empty)} of {len(tiles)}"
          + (f"; EMPTY: {', '.join(empty)}" if empty else " (every tile)"), flush=True)
    return empty


def tile_timings(org: Any, q: str, runs: int) -> None:
    """Each tile's summary alone, with a fresh request context (so it pays the shared inputs it needs, which on
    the page the first tile to ask pays): the first call and the median of ``runs`` more."""
    from analytics.tiles import Context, tiles_for
    from revops.tenancy import tenant_context

    f = _filters(org, q)
    print(f"\n{'tile (summary, fresh context)':32} {'first ms':>9} {'median ms':>9}")
    with tenant_context(org):
        for tile in tiles_for("executive"):
            samples = []
            for _ in range(runs + 1):
                ctx = Context(f)
                start = time.perf_counter()
                tile.summary(ctx)
                samples.append((time.perf_counter() - start) * 1000)
            print(f"{tile.key:32} {samples[0]:9.1f} {statistics.median(samples[1:]):9.1f}", flush=True)


def _legacy(rev: str, path: str, package: str) -> Any:
    """The module at ``path`` as of git revision ``rev``, loaded under a private name in ``package``."""
    import subprocess
    import types

    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], check=True, capture_output=True,
                            text=True).stdout
    module = types.ModuleType(f"{package}._bench_legacy_{Path(path).stem}")
    module.__package__ = package
    module.__file__ = str(ROOT / path)
    sys.modules[module.__name__] = module
    exec(compile(source, f"{rev}:{path}", "exec"), module.__dict__)
    return module


def before_after(org: Any, q: str, runs: int, rev: str) -> None:
    """The two tiles this bench was extended for, before (``rev``'s selectors) and after (the current ones),
    alternating in the same process, with the same figures checked; and the statements they replaced."""
    from django.db import connection

    from contracts.selectors import Filters, underpayment_report
    from intake.selectors.profitability import program_profitability
    from revops.tenancy import tenant_context
    from tests.intake.test_clean_yield import NEW_YIELDS_SQL, OLD_YIELDS_SQL

    old_profit = _legacy(rev, "intake/selectors/profitability.py", "intake.selectors")
    old_contracts = _legacy(rev, "contracts/selectors.py", "contracts")
    f = _filters(org, q)
    period = {"start": f.start, "end": f.end - dt.timedelta(days=1), "grain": "total", "as_of": f.as_of}
    window = Filters(start=f.start, end=f.end - dt.timedelta(days=1))

    def figures(rows: list[Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.as_dict().items() if not k.startswith("unlinked")} for r in rows]

    def report(r: Any) -> tuple[Any, ...]:
        return ([(x.key, x.claims, x.expected, x.paid, x.patient_responsibility, x.variance, x.underpaid_claims,
                  x.denied_claims, x.denied_expected) for x in r.rows], tuple(vars(r.coverage).values()))

    def yields(text: str) -> list[Any]:
        # A payer group without a yield (NULL) is left out: the join falls back to the organization's yield for
        # it exactly as for a payer with no row (the aggregates have a NULL-payer group from the cost rows).
        with connection.cursor() as cur:
            cur.execute(text, {"t": org.pk})
            return sorted((r for r in cur.fetchall() if r[0] or r[2] is not None), key=str)

    cases = [
        ("program profitability (tile)", lambda: old_profit.program_profitability(**period),
         lambda: program_profitability(**period, with_unlinked=False), figures),
        ("program profitability (page: + unlinked)", lambda: old_profit.program_profitability(**period),
         lambda: program_profitability(**period), lambda rows: [r.as_dict() for r in rows]),
        ("  payers' clean yield statement", lambda: yields(OLD_YIELDS_SQL), lambda: yields(NEW_YIELDS_SQL),
         lambda rows: rows),
        ("underpayment by payer", lambda: old_contracts.underpayment_report(group="payer", filters=window),
         lambda: underpayment_report(group="payer", filters=window), report),
    ]
    print(f"\nbefore ({rev}) / after, alternating, median of {runs}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'selector':42} {'before ms':>10} {'after ms':>10}  same figures")
    with tenant_context(org):
        for label, before, after, key in cases:
            b_samples, a_samples = [], []
            same = key(before()) == key(after())  # also warms both
            for _ in range(runs):
                for fn, samples in ((before, b_samples), (after, a_samples)):
                    start = time.perf_counter()
                    fn()
                    samples.append((time.perf_counter() - start) * 1000)
            print(f"{label:42} {statistics.median(b_samples):10.1f} {statistics.median(a_samples):10.1f}  "
                  f"{'yes' if same else 'NO'}", flush=True)
            if not same:
                sys.exit(f"{label}: the figures differ between {rev} and the current code")


def timed(client: Any, url: str, runs: int, backend: int) -> tuple[float, float, float, int]:
    """(first request ms, warm median ms, warm CPU ms per request, status). CPU = this process (Django: views,
    templates, the driver) + its Postgres backend: the server's own work, which other load on the machine does
    not inflate the way it inflates wall time."""
    start = time.perf_counter()
    response = client.get(url, HTTP_HOST="localhost")
    first = (time.perf_counter() - start) * 1000
    headers = {"HTTP_HX_REQUEST": "true"} if "hx=1" in url else {}
    samples = []
    cpu0, db0 = time.process_time(), _backend_cpu_ms(backend)
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url, HTTP_HOST="localhost", **headers)
        samples.append((time.perf_counter() - start) * 1000)
    cpu = ((time.process_time() - cpu0) * 1000 + _backend_cpu_ms(backend) - db0) / runs
    return first, statistics.median(samples), cpu, response.status_code


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--reps", type=int, default=3_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep the bench database and organization if there")
    parser.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    parser.add_argument("--before", metavar="GIT_REV",
                        help="also time the program profitability and underpayment selectors of this revision "
                             "(git show REV:path, loaded beside the current ones) against the current ones, "
                             "alternating, and check that they give the same figures")
    args = parser.parse_args()

    url, name = _bench_url(os.environ.get("DATABASE_URL", "postgres://revops:revops@127.0.0.1:5432/revops"))
    with psycopg.connect(_admin_conninfo(url), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and not args.reuse:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        if not exists or not args.reuse:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import setup_test_environment

    from rcm_feeds import aggregates
    from revops import services
    from revops.middleware import SESSION_ORG_KEY
    from revops.models import Organization
    from revops.tenancy import tenant_context

    call_command("migrate", verbosity=0)
    setup_test_environment()
    org = Organization.objects.filter(slug="exec-bench").first()
    if org is None:
        sys.argv = [sys.argv[0]]
        from bench import kpi_query

        org = services.organization_create(name="Exec bench", kind="behavioral_health", slug="exec-bench")
        t0 = time.perf_counter()
        with tenant_context(org), transaction.atomic():
            kpi_query.build(args.lines)
            build_sales(args.reps)
        print(f"built in {time.perf_counter() - t0:.0f}s", flush=True)
    from intake.models import Admission

    with tenant_context(org):
        has_care = Admission.objects.exists()
    if not has_care:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        t0 = time.perf_counter()
        with tenant_context(org), transaction.atomic():
            build_care()
        print(f"care built in {time.perf_counter() - t0:.0f}s", flush=True)
    with tenant_context(org):
        built = build_extras()  # each part only when missing
    if built:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh tables and partitions: plans need their statistics (autovacuum's job)
    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM rcm_feeds_kpi_monthly WHERE tenant_id = %s", [org.pk])
        aggregated = cursor.fetchone()[0]
    if not aggregated:
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # statistics first: the refresh's plans depend on them
        with tenant_context(org):
            aggregates.aggregates_refresh(months=None)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"aggregates refreshed in {time.perf_counter() - t0:.0f}s", flush=True)
    # The quota months were written with COPY, not by a recompute: build the attainment summary the dashboard
    # reads as ``attainment_refresh`` would (idempotent with --reuse: only a summary older than its plan).
    from quotas.models import QuotaPlan
    from quotas.selectors import summary_is_current
    from quotas.services import attainment_summary_refresh

    with tenant_context(org):
        stale = [plan for plan in QuotaPlan.objects.all() if not summary_is_current(plan)]
        if stale:
            t0 = time.perf_counter()
            with transaction.atomic():
                for plan in stale:
                    attainment_summary_refresh(plan=plan)
            print(f"attainment summary built in {time.perf_counter() - t0:.1f}s", flush=True)
    user = get_user_model().objects.filter(username="exec-bench").first()
    if user is None:
        user = get_user_model().objects.create_user(username="exec-bench", password="x")
        with tenant_context(org):
            services.membership_upsert(user=user, role="executive")
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_ORG_KEY] = org.pk
    session.save()
    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM rcm_feeds_claimline WHERE tenant_id = %s", [org.pk])
        lines = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM revops_person WHERE tenant_id = %s", [org.pk])
        people = cursor.fetchone()[0]
        cursor.execute("DELETE FROM analytics_snapshot WHERE tenant_id = %s", [org.pk])  # first request computes
    print(f"tenant: {lines:,} claim lines, {people:,} people; budget {BUDGET_MS:.0f} ms (warm median of {args.runs}); "
          f"load average {os.getloadavg()[0]:.1f}")
    q = "period=FY2025&as_of=2025-08-15"
    urls = [
        ("page", f"/executive/?{q}"),
        ("tiles fragment (htmx)", f"/executive/?{q}&by=team&hx=1"),
        ("drill: attainment by rep", f"/executive/drill/?tile=attainment&{q}&hx=1"),
        ("drill: payer margin", f"/executive/drill/?tile=payer_margin&{q}&hx=1"),
        ("drill: flags", f"/executive/drill/?tile=flags&{q}&hx=1"),
        ("drill: program profitability", f"/executive/drill/?tile=program_profitability&{q}&hx=1"),
        ("drill: underpayment", f"/executive/drill/?tile=underpayment&{q}&hx=1"),
        ("drill: contract margin", f"/executive/drill/?tile=contract_margin&{q}&hx=1"),
        ("export: attainment CSV", f"/executive/drill/?tile=attainment&{q}&format=csv"),
        ("API tiles", f"/api/v1/analytics/tiles/?{q}"),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    print(f"{'request':32} {'first ms':>9} {'warm ms':>9} {'CPU ms':>8}  status  vs budget")
    for label, u in urls:
        first, warm, cpu, status = timed(client, u, args.runs, backend)
        verdict = "ok" if warm <= BUDGET_MS else "OVER"
        print(f"{label:32} {first:9.1f} {warm:9.1f} {cpu:8.1f}  {status:6}  {verdict}")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    empty = check_tiles(client, q, org)
    tile_timings(org, q, args.runs)
    if args.before:
        before_after(org, q, args.runs, args.before)
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.drop:
        connection.close()
        with psycopg.connect(_admin_conninfo(url), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    if empty:
        sys.exit(f"empty tiles: {', '.join(empty)}")


if __name__ == "__main__":
    main()
