"""Demo intake, utilization review and program economics.

Riverbend (behavioral health): admissions derived from its billing history — each patient's claims in one
program, split into stays where more than ``STAY_GAP_DAYS`` pass between claims — linked to those claims;
a handful of patients in care today; authorizations for the stays of programs that need them (some used up,
some missing, some with reviews due this week relative to ``today``); intake rules (a few payer/program pairs not
allowed from mid-year, authorization required for residential and PHP at commercial payers, so some admissions
break them); and monthly direct program costs (care staff, facility, utilization review with hours) sized from
each program's patient-days. Meridian (a lab) has no programs and no admissions: nothing is made, and the intake
pages show their empty states.

Deterministic for (seed, organization, year, today); fast (set-based reads of the claims, COPY upserts).
An organization that already has admissions is left as it is.
"""
from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction

from revops.models import Organization, OrganizationKind, Payer, Program
from revops.tenancy import tenant_context

STAY_GAP_DAYS = 21
AUTH_LEVELS = ("php", "iop", "residential", "detox")
COMMERCIAL_PLANS = ("PPO", "HMO", "EPO", "POS")
UR_HOURLY_COST = Decimal("42.50")  # loaded hourly cost of a utilization-review nurse


@dataclass
class IntakeOutcome:
    admissions: int = 0
    in_care: int = 0
    claims_linked: int = 0
    authorizations: int = 0
    reviews_due: int = 0
    rules: int = 0
    violations: int = 0
    program_costs: int = 0
    seconds: float = 0.0
    skipped: bool = False


def _stays(tenant_id: int) -> list[tuple]:
    """(patient hash, program id, payer id, first service, last service, distinct service days) per stay."""
    with connection.cursor() as cursor:
        cursor.execute("""
            WITH c AS (
                SELECT c.patient_hash, c.program_id, c.payer_id, c.service_from,
                       coalesce(c.service_to, c.service_from) AS service_to, c.id,
                       CASE WHEN c.service_from - max(coalesce(c.service_to, c.service_from)) OVER (
                                PARTITION BY c.patient_hash, c.program_id ORDER BY c.service_from, c.id
                                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) > %(gap)s THEN 1 ELSE 0 END AS new_stay
                FROM rcm_feeds_claim c
                WHERE c.tenant_id = %(t)s AND c.patient_hash <> '' AND c.program_id IS NOT NULL
                  AND c.service_from IS NOT NULL AND c.frequency <> '8'
            ), s AS (
                SELECT *, sum(new_stay) OVER (PARTITION BY patient_hash, program_id ORDER BY service_from, id) AS stay
                FROM c
            )
            SELECT s.patient_hash, s.program_id, (array_agg(s.payer_id ORDER BY s.service_from, s.id))[1],
                   min(s.service_from), max(s.service_to),
                   (SELECT count(DISTINCT coalesce(cl.service_date, c2.service_from)) FROM rcm_feeds_claimline cl
                    JOIN rcm_feeds_claim c2 ON c2.id = cl.claim_id
                    WHERE cl.tenant_id = %(t)s AND c2.id = ANY(array_agg(s.id)))
            FROM s GROUP BY s.patient_hash, s.program_id, s.stay
            ORDER BY min(s.service_from), s.patient_hash, s.program_id
        """, {"t": tenant_id, "gap": STAY_GAP_DAYS})
        return cursor.fetchall()


def intake_seed(*, organization: Organization, seed: int, year: int, today: dt.date | None = None) -> IntakeOutcome:
    from intake import services
    from intake.models import Admission, IntakeDecision, ProgramCostCategory
    from intake.selectors.authorizations import reviews_due, week_bounds
    from intake.selectors.profitability import program_profitability
    from intake.selectors.rules import violations
    from rcm_feeds.phi import patient_hasher

    outcome = IntakeOutcome()
    started = time.monotonic()
    today = today or dt.date.today()
    rng = random.Random(f"{seed}:{organization.slug}:intake:{year}")
    with tenant_context(organization), transaction.atomic():
        if Admission.objects.exists():
            outcome.skipped = True
            return outcome
        programs = {p.pk: p for p in Program.objects.all()}
        if organization.kind == OrganizationKind.LAB or not programs:  # a lab: no levels of care, no admissions
            outcome.seconds = time.monotonic() - started
            return outcome
        payers = {p.pk: p for p in Payer.objects.all()}

        def plan_of(payer_id: int | None) -> str:
            payer = payers.get(payer_id)
            return rng.choice(COMMERCIAL_PLANS) if payer is not None and payer.payer_class == "commercial" else ""

        stays = _stays(organization.pk)
        admission_rows, auth_specs = [], []
        for n, (patient, program_id, payer_id, first, last, days) in enumerate(stays, start=1):
            los = (last - first).days + 1
            expected = max(1, round(los * rng.uniform(0.8, 1.2)))
            external_id = f"RB-ADM-{n:06d}"
            admission_rows.append((external_id, patient, program_id, payer_id, plan_of(payer_id),
                                   programs[program_id].facility_id, first, last, expected, "demo"))
            if programs[program_id].level_of_care in AUTH_LEVELS:
                auth_specs.append((external_id, program_id, payer_id, first, last, max(days, 1)))
        # Patients in care today: admitted in the last few weeks, no claims yet.
        hasher = patient_hasher()
        care_programs = [p for p in programs.values() if p.level_of_care in AUTH_LEVELS]
        payer_ids = [pk for pk, p in payers.items() if p.payer_class != "self_pay"]
        for n in range(1, 13):
            program = care_programs[n % len(care_programs)]
            payer_id = rng.choice(payer_ids)
            admitted = today - dt.timedelta(days=rng.randint(2, 24))
            external_id = f"RB-NOW-{n:04d}"
            admission_rows.append((external_id, hasher(f"NOW{seed}{n:05d}"), program.pk, payer_id, plan_of(payer_id),
                                   program.facility_id, admitted, None, rng.randint(14, 35), "demo"))
            auth_specs.append((external_id, program.pk, payer_id, admitted, None, 0))
        counts = services.admissions_upsert(rows=admission_rows)
        outcome.admissions, outcome.claims_linked = counts["inserted"], counts["claims_linked"]
        outcome.in_care = 12

        # Authorizations: most stays covered (some used up, some short), some never authorized.
        ids = dict(Admission.objects.values_list("external_id", "pk"))
        monday, _ = week_bounds(today)
        auth_rows = []
        for n, (external_id, program_id, payer_id, first, last, days) in enumerate(auth_specs, start=1):
            roll = rng.random()
            if last is not None and roll < 0.12:
                continue  # never authorized
            level = programs[program_id].level_of_care
            if last is None:  # in care: a first authorization with a concurrent review this week (or overdue)
                granted = rng.choice((7, 10, 14))
                ends = first + dt.timedelta(days=granted + 6)
                review = monday + dt.timedelta(days=rng.randint(-3, 6))
            elif roll < 0.30:  # used up: fewer days granted than billed
                granted = max(1, days - rng.randint(1, max(1, days // 4)))
                ends, review = last, None
            else:
                granted = days + rng.randint(0, 5)
                ends, review = last, None
            auth_rows.append((f"RB-AUTH-{n:06d}", ids[external_id], payer_id, level, "days", Decimal(granted), first,
                              ends, review, "", "demo"))
        outcome.authorizations = services.authorizations_upsert(rows=auth_rows)["inserted"]
        outcome.reviews_due = reviews_due(today=today).count()

        # Intake rules: not allowed for a few busy payer/program pairs from mid-year; authorization required for
        # residential and PHP at commercial payers; Medicare allowed in outpatient programs.
        mid_year = dt.date(year, 7, 1)
        with connection.cursor() as cursor:
            cursor.execute("""SELECT payer_id, program_id, count(*) FROM intake_admission
                              WHERE tenant_id = %s AND payer_id IS NOT NULL AND admitted_on >= %s
                              GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 12""", [organization.pk, mid_year])
            busy = cursor.fetchall()
        chosen = rng.sample(busy, k=min(3, len(busy)))
        rules = 0
        for payer_id, program_id, _ in chosen:
            services.intake_rule_save(payer=payers[payer_id], program=programs[program_id],
                                      decision=IntakeDecision.NOT_ALLOWED, effective_from=mid_year,
                                      reason="Out of network for this level of care since the mid-year contract "
                                             "renewal; refer to an in-network provider.")
            rules += 1
        taken = {(p, g) for p, g, _ in chosen}
        for payer in sorted(payers.values(), key=lambda p: p.name):
            if payer.payer_class == "commercial":
                for level in ("residential", "php"):
                    services.intake_rule_save(payer=payer, level_of_care=level, effective_from=dt.date(year - 1, 1, 1),
                                              decision=IntakeDecision.ALLOWED_WITH_AUTHORIZATION,
                                              reason="Prior authorization required before admission; concurrent "
                                                     "review every 7 days.")
                    rules += 1
            elif payer.payer_class == "medicare":
                for program in programs.values():
                    if program.level_of_care == "op" and (payer.pk, program.pk) not in taken:
                        services.intake_rule_save(payer=payer, program=program, effective_from=dt.date(year - 1, 1, 1),
                                                  decision=IntakeDecision.ALLOWED, reason="Covered outpatient benefit.")
                        rules += 1
        outcome.rules = rules
        outcome.violations = len(violations())

        # Program costs per month, sized from patient-days at a rate per day that is each program's own share
        # of its net revenue on paper (72-98%): every program looks profitable on paper, and the ones with
        # many denials lose money after them.
        first_month = min(r[6] for r in admission_rows).replace(day=1)
        rows = program_profitability(start=first_month, end=today, grain="month", as_of=today)
        totals = {r.program_id: r for r in program_profitability(start=first_month, end=today, grain="total",
                                                                   as_of=today)}
        rate = {pk: (t.net_on_paper / t.patient_days * Decimal(str(rng.uniform(0.72, 0.98))))
                if t.patient_days else Decimal("0") for pk, t in totals.items()}
        cost_rows = []
        for r in rows:
            if r.patient_days == 0 and r.admissions == 0:
                continue
            direct = rate[r.program_id] * r.patient_days * Decimal(str(rng.uniform(0.95, 1.05)))
            staff = (direct * Decimal("0.75")).quantize(Decimal("0.01"))
            facility = (direct * Decimal("0.25")).quantize(Decimal("0.01"))
            ur_hours = Decimal(str(round(r.admissions * rng.uniform(1.5, 3.5), 1))) \
                if r.level_of_care in AUTH_LEVELS else Decimal("0")
            cost_rows.append((r.program_id, r.period_start, ProgramCostCategory.CARE_STAFF, staff, None, "demo"))
            cost_rows.append((r.program_id, r.period_start, ProgramCostCategory.FACILITY, facility, None, "demo"))
            if ur_hours:
                cost_rows.append((r.program_id, r.period_start, ProgramCostCategory.UTILIZATION_REVIEW,
                                  (ur_hours * UR_HOURLY_COST).quantize(Decimal("0.01")), ur_hours, "demo"))
        outcome.program_costs = services.program_costs_upsert(rows=cost_rows)["inserted"] if cost_rows else 0
    outcome.seconds = time.monotonic() - started
    return outcome
