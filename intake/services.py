"""Writes of the intake app: admissions and authorizations (bulk upserts by external id / auth number, COPY
into a staging table then ``INSERT ... ON CONFLICT``), the set-based link of admissions to their claims,
intake rules and program costs.

Every function runs in the active organization (``revops.tenancy``) and in one transaction.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from revops.audit import audit_bulk
from revops.bulk import staging_copy, staging_create, staging_drop
from revops.models import Payer, Program
from revops.models.audit import AuditAction
from rcm_feeds.aggregates import months_predicate
from revops.tenancy import require_tenant_id

from .models import Admission, Authorization, IntakeDecision, IntakeRule, ProgramCost

ADMISSION_COLUMNS = ("external_id", "patient_hash", "program_id", "payer_id", "plan_name", "facility_id",
                     "admitted_on", "discharged_on", "expected_los_days", "source")
AUTHORIZATION_COLUMNS = ("auth_number", "admission_id", "payer_id", "level_of_care", "unit_kind", "units_granted",
                         "starts_on", "ends_on", "next_review_on", "note", "source")
PROGRAM_COST_COLUMNS = ("program_id", "month", "category", "amount", "hours", "note")


# A load this large changes the tables' statistics enough that the planner's row estimates (and with them the
# join strategy of the set-based reads) go wrong until autovacuum next analyzes them.
ANALYZE_AFTER = 500


def _analyze(*tables: str) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {table}")


def _fetch_one(sql: str, params: dict[str, Any]) -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _refuse_duplicates(stage: str, key: str, noun: str) -> None:
    row = _fetch_one(f"SELECT {key} FROM {stage} GROUP BY {key} HAVING count(*) > 1 LIMIT 1", {})
    if row:
        raise ValidationError(f"{noun} {row[0]!r} appears twice in one upsert.")


# -- admissions ------------------------------------------------------------------------------------

@transaction.atomic
def admissions_upsert(*, rows: Iterable[Sequence[Any]], link_claims: bool = True) -> dict[str, int]:
    """Insert or update admissions by external id (tuples in ``ADMISSION_COLUMNS`` order; the member id already
    hashed with ``rcm_feeds.phi``). Re-sending the same rows changes nothing. Then re-links the claims of the
    patients the rows name (``admission_claims_link``)."""
    tenant_id = require_tenant_id()
    stage = staging_create("intake_admission", ADMISSION_COLUMNS)
    staged = staging_copy(stage, ADMISSION_COLUMNS, rows)
    params = {"t": tenant_id}
    bad = _fetch_one(f"""
        SELECT count(*) FROM {stage} s WHERE s.external_id = '' OR s.patient_hash = ''
           OR NOT EXISTS (SELECT 1 FROM revops_program p WHERE p.id = s.program_id AND p.tenant_id = %(t)s)
           OR (s.payer_id IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM revops_payer p WHERE p.id = s.payer_id AND p.tenant_id = %(t)s))
           OR (s.facility_id IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM revops_facility f WHERE f.id = s.facility_id AND f.tenant_id = %(t)s))
           OR s.discharged_on < s.admitted_on
    """, params)[0]
    if bad:
        raise ValidationError("Every admission needs an external id, a member id, this organization's program (and "
                              "payer and facility when named), and a discharge date on or after the admission date.")
    _refuse_duplicates(stage, "external_id", "External id")
    inserted, updated = _fetch_one(f"""
        WITH up AS (
            INSERT INTO intake_admission (tenant_id, external_id, patient_hash, program_id, payer_id, plan_name,
                                          facility_id, admitted_on, discharged_on, expected_los_days, source,
                                          created_at)
            SELECT %(t)s, s.external_id, s.patient_hash, s.program_id, s.payer_id, coalesce(s.plan_name, ''),
                   s.facility_id, s.admitted_on, s.discharged_on, s.expected_los_days,
                   coalesce(nullif(s.source, ''), 'api'), now()
            FROM {stage} s
            ON CONFLICT (tenant_id, external_id) DO UPDATE
               SET patient_hash = EXCLUDED.patient_hash, program_id = EXCLUDED.program_id,
                   payer_id = EXCLUDED.payer_id, plan_name = EXCLUDED.plan_name, facility_id = EXCLUDED.facility_id,
                   admitted_on = EXCLUDED.admitted_on, discharged_on = EXCLUDED.discharged_on,
                   expected_los_days = EXCLUDED.expected_los_days
               WHERE (intake_admission.patient_hash, intake_admission.program_id, intake_admission.payer_id,
                      intake_admission.plan_name, intake_admission.facility_id, intake_admission.admitted_on,
                      intake_admission.discharged_on, intake_admission.expected_los_days)
                 IS DISTINCT FROM (EXCLUDED.patient_hash, EXCLUDED.program_id, EXCLUDED.payer_id, EXCLUDED.plan_name,
                      EXCLUDED.facility_id, EXCLUDED.admitted_on, EXCLUDED.discharged_on, EXCLUDED.expected_los_days)
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
    """, params)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT patient_hash FROM {stage}")
        hashes = [r[0] for r in cursor.fetchall()]
    if updated and not link_claims:
        # Links kept, but an updated admission may have moved to another program: refresh its claims' months.
        with connection.cursor() as cursor:
            moved = _service_months(cursor, f"""
                SELECT DISTINCT date_trunc('month', c.service_from)::date
                FROM {stage} s JOIN intake_admission a ON a.tenant_id = %(t)s AND a.external_id = s.external_id
                JOIN intake_admissionclaim l ON l.tenant_id = %(t)s AND l.admission_id = a.id
                JOIN rcm_feeds_claim c ON c.tenant_id = %(t)s AND c.id = l.claim_id
            """, params)
        program_money_refresh(months=moved)
    staging_drop(stage)
    linked = admission_claims_link(patient_hashes=hashes) if link_claims and (inserted or updated) else 0
    if inserted >= ANALYZE_AFTER:
        _analyze("intake_admission", "intake_admissionclaim")
    counts = {"received": staged, "inserted": inserted, "updated": updated,
              "unchanged": staged - inserted - updated, "claims_linked": linked}
    audit_bulk(model=Admission, action=AuditAction.UPDATE, tenant_id=tenant_id, summary=counts)
    return counts


@transaction.atomic
def admission_claims_link(*, patient_hashes: Sequence[str] | None = None) -> int:
    """Link claims to admissions, set-based: a claim of the same patient hash and program whose service dates
    (``service_from`` .. ``service_to``) fall within the stay (admitted on .. discharged on, open-ended while in
    care). When two stays could take a claim, the one admitted last wins. ``patient_hashes`` limits the work
    to those patients (None: every admission of the organization). Returns the number of links."""
    params: dict[str, Any] = {"t": require_tenant_id(), "h": list(patient_hashes or [])}
    only = patient_hashes is not None
    with connection.cursor() as cursor:
        # The service months of every claim whose link goes or comes: their program money is refreshed below.
        unlinked = _service_months(cursor, f"""
            WITH gone AS (
                DELETE FROM intake_admissionclaim l USING intake_admission a
                WHERE l.tenant_id = %(t)s AND a.tenant_id = %(t)s AND a.id = l.admission_id
                  {"AND a.patient_hash = ANY(%(h)s)" if only else ""}
                RETURNING l.claim_id
            )
            SELECT DISTINCT date_trunc('month', c.service_from)::date
            FROM gone JOIN rcm_feeds_claim c ON c.id = gone.claim_id AND c.tenant_id = %(t)s
        """, params)
        cursor.execute(f"""
            WITH made AS (
            INSERT INTO intake_admissionclaim (tenant_id, admission_id, claim_id)
            SELECT DISTINCT ON (c.id) %(t)s, a.id, c.id
            FROM rcm_feeds_claim c
            JOIN intake_admission a ON a.tenant_id = %(t)s AND a.patient_hash = c.patient_hash
             AND a.program_id = c.program_id AND a.admitted_on <= c.service_from
             AND coalesce(c.service_to, c.service_from) <= coalesce(a.discharged_on, 'infinity'::date)
            WHERE c.tenant_id = %(t)s AND c.patient_hash <> '' AND c.service_from IS NOT NULL
              {"AND c.patient_hash = ANY(%(h)s)" if only else ""}
            ORDER BY c.id, a.admitted_on DESC, a.id DESC
            ON CONFLICT (tenant_id, claim_id) DO UPDATE SET admission_id = EXCLUDED.admission_id
            RETURNING claim_id
            )
            SELECT (SELECT count(*) FROM made), ARRAY(
                SELECT DISTINCT date_trunc('month', c.service_from)::date
                FROM made JOIN rcm_feeds_claim c ON c.id = made.claim_id AND c.tenant_id = %(t)s)
        """, params)
        linked, relinked = cursor.fetchone()
    if linked >= ANALYZE_AFTER:
        _analyze("intake_admissionclaim")
    # In the same transaction as the links: program profitability never sees links and money disagree.
    program_money_refresh(months=None if not only else set(unlinked) | set(relinked))
    return linked


# -- authorizations --------------------------------------------------------------------------------

@transaction.atomic
def authorizations_upsert(*, rows: Iterable[Sequence[Any]]) -> dict[str, int]:
    """Insert or update authorizations by auth number (tuples in ``AUTHORIZATION_COLUMNS`` order). A concurrent
    review that extends an authorization re-sends it with the new units, end date and next review."""
    tenant_id = require_tenant_id()
    stage = staging_create("intake_authorization", AUTHORIZATION_COLUMNS)
    staged = staging_copy(stage, AUTHORIZATION_COLUMNS, rows)
    params = {"t": tenant_id}
    bad = _fetch_one(f"""
        SELECT count(*) FROM {stage} s WHERE s.auth_number = '' OR s.ends_on < s.starts_on OR s.units_granted < 0
           OR NOT EXISTS (SELECT 1 FROM intake_admission a WHERE a.id = s.admission_id AND a.tenant_id = %(t)s)
           OR (s.payer_id IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM revops_payer p WHERE p.id = s.payer_id AND p.tenant_id = %(t)s))
    """, params)[0]
    if bad:
        raise ValidationError("Every authorization needs an auth number, one of this organization's admissions, "
                              "units granted of zero or more and an end date on or after its start.")
    _refuse_duplicates(stage, "auth_number", "Auth number")
    inserted, updated = _fetch_one(f"""
        WITH up AS (
            INSERT INTO intake_authorization (tenant_id, auth_number, admission_id, payer_id, level_of_care, unit_kind,
                                              units_granted, starts_on, ends_on, next_review_on, note, source,
                                              created_at)
            SELECT %(t)s, s.auth_number, s.admission_id, s.payer_id, s.level_of_care, s.unit_kind, s.units_granted,
                   s.starts_on, s.ends_on, s.next_review_on, coalesce(s.note, ''),
                   coalesce(nullif(s.source, ''), 'api'), now()
            FROM {stage} s
            ON CONFLICT (tenant_id, auth_number) DO UPDATE
               SET admission_id = EXCLUDED.admission_id, payer_id = EXCLUDED.payer_id,
                   level_of_care = EXCLUDED.level_of_care, unit_kind = EXCLUDED.unit_kind,
                   units_granted = EXCLUDED.units_granted, starts_on = EXCLUDED.starts_on, ends_on = EXCLUDED.ends_on,
                   next_review_on = EXCLUDED.next_review_on, note = EXCLUDED.note
               WHERE (intake_authorization.admission_id, intake_authorization.payer_id,
                      intake_authorization.level_of_care, intake_authorization.unit_kind,
                      intake_authorization.units_granted, intake_authorization.starts_on, intake_authorization.ends_on,
                      intake_authorization.next_review_on, intake_authorization.note)
                 IS DISTINCT FROM (EXCLUDED.admission_id, EXCLUDED.payer_id, EXCLUDED.level_of_care,
                      EXCLUDED.unit_kind, EXCLUDED.units_granted, EXCLUDED.starts_on, EXCLUDED.ends_on,
                      EXCLUDED.next_review_on, EXCLUDED.note)
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
    """, params)
    staging_drop(stage)
    if inserted >= ANALYZE_AFTER:
        _analyze("intake_authorization")
    counts = {"received": staged, "inserted": inserted, "updated": updated, "unchanged": staged - inserted - updated}
    audit_bulk(model=Authorization, action=AuditAction.UPDATE, tenant_id=tenant_id, summary=counts)
    return counts


@transaction.atomic
def authorization_save(*, admission: Admission, auth_number: str, units_granted: Decimal, starts_on: dt.date,
                       ends_on: dt.date, unit_kind: str = "days", level_of_care: str = "", payer: Payer | None = None,
                       next_review_on: dt.date | None = None, note: str = "", source: str = "page",
                       authorization: Authorization | None = None) -> Authorization:
    """Create (or, given ``authorization``, change) one authorization; the payer and level of care default to the
    admission's."""
    if ends_on < starts_on:
        raise ValidationError({"ends_on": ["The authorization ends before it starts."]})
    auth = authorization or Authorization(source=source)
    auth.admission = admission
    auth.auth_number = auth_number.strip()
    auth.payer = payer or admission.payer
    auth.level_of_care = level_of_care or admission.program.level_of_care
    auth.unit_kind, auth.units_granted = unit_kind, units_granted
    auth.starts_on, auth.ends_on, auth.next_review_on, auth.note = starts_on, ends_on, next_review_on, note
    if Authorization.objects.filter(auth_number=auth.auth_number).exclude(pk=auth.pk).exists():
        raise ValidationError({"auth_number": [f"Authorization {auth.auth_number} already exists."]})
    auth.full_clean(exclude=["tenant"])
    auth.save()
    return auth


# -- intake rules ----------------------------------------------------------------------------------

@transaction.atomic
def intake_rule_save(*, payer: Payer, decision: str, effective_from: dt.date, program: Program | None = None,
                     level_of_care: str = "", plan_name: str = "", effective_to: dt.date | None = None,
                     reason: str = "", rule: IntakeRule | None = None) -> IntakeRule:
    """Create (or, given ``rule``, change) an intake rule. It names a program, or else a level of care; two rules
    for the same payer, plan and target may not be in force on the same day."""
    if decision not in IntakeDecision.values:
        raise ValidationError({"decision": [f"Unknown decision {decision!r}."]})
    if program is None and not level_of_care:
        raise ValidationError("Name a program or a level of care.")
    if effective_to is not None and effective_to < effective_from:
        raise ValidationError({"effective_to": ["The rule ends before it starts."]})
    plan_name = plan_name.strip()
    target = {"program": program} if program is not None else {"program__isnull": True,
                                                                 "level_of_care": level_of_care}
    overlapping = (IntakeRule.objects.filter(payer=payer, plan_name__iexact=plan_name, **target)
                   .exclude(pk=getattr(rule, "pk", None))
                   .exclude(effective_to__lt=effective_from))
    if effective_to is not None:
        overlapping = overlapping.exclude(effective_from__gt=effective_to)
    clash = overlapping.first()
    if clash is not None:
        raise ValidationError(f"A rule for the same payer, plan and target is in force on overlapping dates "
                              f"(from {clash.effective_from:%Y-%m-%d}"
                              f"{f' to {clash.effective_to:%Y-%m-%d}' if clash.effective_to else ''}): end it first.")
    rule = rule or IntakeRule()
    rule.payer, rule.plan_name, rule.program = payer, plan_name, program
    rule.level_of_care = "" if program is not None else level_of_care
    rule.decision, rule.effective_from, rule.effective_to, rule.reason = decision, effective_from, effective_to, reason
    rule.save()
    return rule


@transaction.atomic
def intake_rule_delete(*, rule: IntakeRule) -> None:
    rule.delete()


# -- program costs ---------------------------------------------------------------------------------

@transaction.atomic
def program_costs_upsert(*, rows: Iterable[Sequence[Any]]) -> dict[str, int]:
    """Insert or replace program costs by (program, month, category) (tuples in ``PROGRAM_COST_COLUMNS`` order;
    ``month`` any day of the month)."""
    tenant_id = require_tenant_id()
    stage = staging_create("intake_programcost", PROGRAM_COST_COLUMNS)
    staged = staging_copy(stage, PROGRAM_COST_COLUMNS, rows)
    params = {"t": tenant_id}
    bad = _fetch_one(f"""
        SELECT count(*) FROM {stage} s
        WHERE NOT EXISTS (SELECT 1 FROM revops_program p WHERE p.id = s.program_id AND p.tenant_id = %(t)s)
           OR s.amount IS NULL OR s.month IS NULL
    """, params)[0]
    if bad:
        raise ValidationError("Every cost needs this organization's program, a month and an amount.")
    dup = _fetch_one(f"""SELECT program_id, date_trunc('month', month)::date, category FROM {stage}
                         GROUP BY 1, 2, 3 HAVING count(*) > 1 LIMIT 1""", {})
    if dup:
        raise ValidationError(f"Program {dup[0]}, {dup[1]:%Y-%m}, {dup[2]} appears twice in one upsert.")
    inserted, updated = _fetch_one(f"""
        WITH up AS (
            INSERT INTO intake_programcost (tenant_id, program_id, month, category, amount, hours, note)
            SELECT %(t)s, s.program_id, date_trunc('month', s.month)::date, s.category, s.amount, s.hours,
                   coalesce(s.note, '')
            FROM {stage} s
            ON CONFLICT (tenant_id, program_id, month, category) DO UPDATE
               SET amount = EXCLUDED.amount, hours = EXCLUDED.hours, note = EXCLUDED.note
               WHERE (intake_programcost.amount, intake_programcost.hours, intake_programcost.note)
                     IS DISTINCT FROM (EXCLUDED.amount, EXCLUDED.hours, EXCLUDED.note)
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
    """, params)
    staging_drop(stage)
    counts = {"received": staged, "inserted": inserted, "updated": updated, "unchanged": staged - inserted - updated}
    audit_bulk(model=ProgramCost, action=AuditAction.UPDATE, tenant_id=tenant_id, summary=counts)
    return counts


@transaction.atomic
def program_cost_save(*, program: Program, month: dt.date, category: str, amount: Decimal,
                      hours: Decimal | None = None, note: str = "") -> ProgramCost:
    """Set one program's cost of one category in one month (replacing what was there)."""
    cost, _ = ProgramCost.objects.update_or_create(
        program=program, month=month.replace(day=1), category=category,
        defaults={"amount": amount, "hours": hours, "note": note})
    return cost


@transaction.atomic
def program_cost_delete(*, cost: ProgramCost) -> None:
    cost.delete()


# -- the linked claims' money (program profitability's summary) -----------------------------------

@transaction.atomic
def program_money_refresh(*, months: Iterable[dt.date] | None = None) -> int:
    """Replace the active organization's ``ProgramClaimMoney`` rows of the claims' service ``months`` (any date in
    each; None: every month) with the linked claims' money recomputed from the claims. The first refresh of an
    organization builds every month (and marks the summary built), whatever ``months`` says. Rows written.

    Refreshes of one organization are serialized on its state row, so two concurrent loads cannot both delete
    and then both insert a month."""
    from .selectors.profitability import linked_claim_money_sql

    t = require_tenant_id()
    wanted = None if months is None else sorted({d.replace(day=1) for d in months})
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO intake_programclaimmoneystate (tenant_id, built_at, refreshed_at) VALUES (%s, now(), now())
            ON CONFLICT (tenant_id) DO UPDATE SET refreshed_at = now() RETURNING (xmax = 0)
        """, [t])
        if cursor.fetchone()[0]:
            wanted = None  # first build: the whole history
        if wanted is not None and not wanted:
            return 0
        params: dict[str, Any] = {"t": t, "all": wanted is None, "months": wanted or []}
        in_months = f"c.service_from IS NOT NULL AND {months_predicate('c.service_from', wanted)}"
        # Payments and denials of the linked claims of the months (counted denials are per claim payment, and a
        # claim payment's denials are all its claim's: counting over these claims counts as over every claim). A
        # full build hash-joins over every claim instead (at the bench's 400,000 links, 3.4-6 s either way on loaded
        # cores; a month's refresh 0.4-0.7 s, docs/benchmarks.md).
        in_period = ("SELECT lc.id FROM lc" if wanted is not None else
                     "SELECT c2.id FROM rcm_feeds_claim c2 WHERE c2.tenant_id = %(t)s AND c2.service_from IS NOT NULL")
        cursor.execute("SET LOCAL jit = off")  # as the aggregates: misestimated joins made it compile for seconds
        cursor.execute("DELETE FROM intake_programclaimmoney WHERE tenant_id = %(t)s "
                       "AND (%(all)s OR month = ANY(%(months)s::date[]))", params)
        cursor.execute("INSERT INTO intake_programclaimmoney (tenant_id, program_id, month, payer_id, claims, "
                       "gross_charges, net_after_denials, denied, written_off, lost) SELECT %(t)s, m.* FROM ("
                       + linked_claim_money_sql(claims_where=in_months, in_period=in_period) + ") m", params)
        return cursor.rowcount


def program_money_refresh_after_rcm(*, months: Sequence[dt.date] | None) -> int:
    """The hook of ``rcm_feeds.aggregates.aggregates_refresh``: its ``months`` are submission, payment and denial
    months (a load refreshes the submission months of every claim it adds, corrects, pays or denies; a denial's
    appeal or write-off refreshes its denial month). Refresh the service months of the claims submitted or denied
    in them."""
    if months is None:
        return program_money_refresh(months=None)
    if not months:
        return 0
    with connection.cursor() as cursor:
        service_months = _service_months(cursor, f"""
            SELECT DISTINCT date_trunc('month', c.service_from)::date FROM rcm_feeds_claim c
            WHERE c.tenant_id = %(t)s AND c.service_from IS NOT NULL AND (
                {months_predicate('c.submitted_on', months)}
                OR c.id IN (SELECT d.claim_id FROM rcm_feeds_denial d
                            WHERE d.tenant_id = %(t)s AND {months_predicate('d.denied_on', months)}))
        """, {"t": require_tenant_id()})
    return program_money_refresh(months=service_months)


def _service_months(cursor: Any, sql_text: str, params: dict[str, Any]) -> list[dt.date]:
    cursor.execute(sql_text, params)
    return [r[0] for r in cursor.fetchall() if r[0] is not None]


def program_money_backfill() -> int:
    """Build ``ProgramClaimMoney`` for every organization that has claim links (migration 0006); the others build
    it on their first refresh and are read from the claims until then. Organizations built."""
    from revops.tenancy import each_organization_with_rows

    return each_organization_with_rows("intake_admissionclaim", lambda: program_money_refresh(months=None))
