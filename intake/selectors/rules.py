"""Intake rules in force, the intake check and the violations report.

**The rule in force** for (payer, plan, program, day): among the payer's rules effective on that day whose plan
is empty or the plan (case-insensitive) and whose program is the program, or whose level of care is the
program's when they name no program, the most specific: a rule for the plan before a rule for every plan, a
rule for the program before a rule for its level of care, then the latest ``effective_from``.
**No rule: default** — ``DEFAULT_DECISION`` (allowed with authorization): when RevOps has not decided, intake
verifies benefits and obtains an authorization before admitting. The default is advice at intake; the
violations report holds admissions only to rules RevOps wrote.

**Observed economics** (intake check): over the stays discharged in the ``LOOKBACK_DAYS`` before the day of the
check, at the first level with enough data — payer x program, then payer, then program, then organization:
- net revenue per patient-day = payments on the stays' linked claims / patient-days of those stays (calendar
  days from admission through discharge); needs ``MIN_PATIENT_DAYS``;
- denial rate = linked claims with a denial / linked claims adjudicated (with a payment record), voids left
  out; needs ``MIN_ADJUDICATED_CLAIMS``.
Expected net revenue = net revenue per patient-day x expected length of stay.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from revops.models import Payer, Program
from revops.tenancy import require_tenant_id

from ..models import IntakeDecision, IntakeRule
from .common import counted_denials, rows

DEFAULT_DECISION = IntakeDecision.ALLOWED_WITH_AUTHORIZATION
DEFAULT_REASON = ("No rule: default. RevOps has not decided for this payer and program, so intake verifies "
                  "benefits and obtains an authorization before admitting.")
LOOKBACK_DAYS = 730
MIN_PATIENT_DAYS = 30
MIN_ADJUDICATED_CLAIMS = 20
LEVELS = ("payer_program", "payer", "program", "organization")
LEVEL_LABELS = {"payer_program": "this payer in this program", "payer": "this payer, every program",
                "program": "this program, every payer", "organization": "the whole organization"}
CENT = Decimal("0.01")

# The rule in force for the outer row ``x`` (columns payer_id, plan_name, program_id, level_of_care, day).
RULE_IN_FORCE_SQL = """
    SELECT r.id AS rule_id, r.decision FROM intake_intakerule r
    WHERE r.tenant_id = %(t)s AND r.payer_id = x.payer_id
      AND (r.plan_name = '' OR lower(r.plan_name) = lower(x.plan_name))
      AND (r.program_id = x.program_id OR (r.program_id IS NULL AND r.level_of_care = x.level_of_care))
      AND r.effective_from <= x.day AND (r.effective_to IS NULL OR x.day <= r.effective_to)
    ORDER BY (r.plan_name <> '') DESC, (r.program_id IS NOT NULL) DESC, r.effective_from DESC, r.id DESC
    LIMIT 1
"""


def rule_in_force(*, payer: Payer | None, plan_name: str, program: Program, on: dt.date) -> IntakeRule | None:
    if payer is None:
        return None
    found = rows(f"SELECT * FROM (SELECT %(payer)s::bigint AS payer_id, %(plan)s::text AS plan_name, "
                 f"%(program)s::bigint AS program_id, %(level)s::text AS level_of_care, %(day)s::date AS day) x, "
                 f"LATERAL ({RULE_IN_FORCE_SQL}) r",
                 {"t": require_tenant_id(), "payer": payer.pk, "plan": plan_name or "", "program": program.pk,
                  "level": program.level_of_care, "day": on})
    return IntakeRule.objects.select_related("payer", "program").get(pk=found[0]["rule_id"]) if found else None


@dataclass
class Observed:
    """One level's sample: stays, patient-days, payments, claims adjudicated and denied."""

    level: str
    admissions: int = 0
    patient_days: int = 0
    net_revenue: Decimal = Decimal("0")
    claims: int = 0
    adjudicated: int = 0
    denied: int = 0

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self.level]

    @property
    def per_patient_day(self) -> Decimal | None:
        return (self.net_revenue / self.patient_days).quantize(CENT, ROUND_HALF_UP) if self.patient_days else None

    @property
    def denial_pct(self) -> Decimal | None:
        rate = self.denial_rate
        return None if rate is None else (rate * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)

    @property
    def denial_rate(self) -> Decimal | None:
        return (Decimal(self.denied) / self.adjudicated).quantize(Decimal("0.0001"), ROUND_HALF_UP) \
            if self.adjudicated else None


def observed_by_level(*, payer: Payer | None, program: Program, on: dt.date,
                      lookback_days: int = LOOKBACK_DAYS) -> dict[str, Observed]:
    """The sample at each fallback level (set-based: one query with grouping sets)."""
    params = {"t": require_tenant_id(), "lo": on - dt.timedelta(days=lookback_days), "on": on,
              "payer": payer.pk if payer else None, "program": program.pk}
    sql = """
        WITH adm AS MATERIALIZED (
            SELECT a.id, a.payer_id, a.program_id, (a.discharged_on - a.admitted_on + 1) AS days
            FROM intake_admission a
            WHERE a.tenant_id = %(t)s AND a.discharged_on BETWEEN %(lo)s AND %(on)s
        ), claim_money AS (
            -- whole-table aggregates joined by hash: linear in the claims, whatever the statistics say
            SELECT l.admission_id, coalesce(p.paid, 0) AS paid, p.claim_id IS NOT NULL AS adjudicated,
                   dn.claim_id IS NOT NULL AS denied
            FROM adm
            JOIN intake_admissionclaim l ON l.admission_id = adm.id AND l.tenant_id = %(t)s
            JOIN rcm_feeds_claim c ON c.id = l.claim_id AND c.tenant_id = %(t)s
            LEFT JOIN (SELECT cp.claim_id, sum(cp.paid) AS paid FROM rcm_feeds_claimpayment cp
                       WHERE cp.tenant_id = %(t)s AND cp.claim_id IS NOT NULL GROUP BY cp.claim_id) p
                   ON p.claim_id = c.id
            LEFT JOIN (SELECT DISTINCT d.claim_id FROM rcm_feeds_denial d
                       WHERE d.tenant_id = %(t)s AND d.claim_id IS NOT NULL) dn ON dn.claim_id = c.id
            WHERE c.frequency <> '8'
        ), per_admission AS (
            SELECT adm.id, adm.payer_id, adm.program_id, adm.days, coalesce(m.paid, 0) AS paid,
                   coalesce(m.claims, 0) AS claims, coalesce(m.adjudicated, 0) AS adjudicated,
                   coalesce(m.denied, 0) AS denied
            FROM adm LEFT JOIN (
                SELECT admission_id, sum(paid) AS paid, count(*) AS claims,
                       count(*) FILTER (WHERE adjudicated) AS adjudicated,
                       count(*) FILTER (WHERE adjudicated AND denied) AS denied
                FROM claim_money GROUP BY admission_id
            ) m ON m.admission_id = adm.id
        )
        SELECT CASE GROUPING(payer_id, program_id) WHEN 0 THEN 'payer_program' WHEN 1 THEN 'payer'
                    WHEN 2 THEN 'program' ELSE 'organization' END AS level,
               payer_id, program_id, count(*) AS admissions, sum(days) AS patient_days, sum(paid) AS net_revenue,
               sum(claims) AS claims, sum(adjudicated) AS adjudicated, sum(denied) AS denied
        FROM per_admission
        GROUP BY GROUPING SETS ((payer_id, program_id), (payer_id), (program_id), ())
        HAVING GROUPING(payer_id, program_id) = 3
            OR (GROUPING(payer_id, program_id) = 0 AND payer_id = %(payer)s AND program_id = %(program)s)
            OR (GROUPING(payer_id, program_id) = 1 AND payer_id = %(payer)s)
            OR (GROUPING(payer_id, program_id) = 2 AND program_id = %(program)s)
    """
    out = {level: Observed(level) for level in LEVELS}
    for r in rows(sql, params):
        out[r["level"]] = Observed(level=r["level"], admissions=r["admissions"], patient_days=r["patient_days"] or 0,
                                   net_revenue=r["net_revenue"] or Decimal("0"), claims=r["claims"] or 0,
                                   adjudicated=r["adjudicated"] or 0, denied=r["denied"] or 0)
    return out


@dataclass
class IntakeCheck:
    decision: str
    allowed: bool
    requires_authorization: bool
    rule: IntakeRule | None
    reason: str
    expected_los_days: int | None
    revenue_basis: Observed | None
    net_revenue_per_patient_day: Decimal | None
    expected_net_revenue: Decimal | None
    denial_basis: Observed | None
    denial_rate: Decimal | None
    samples: dict[str, Observed] = field(default_factory=dict)

    @property
    def decision_label(self) -> str:
        return IntakeDecision(self.decision).label


def _first(samples: dict[str, Observed], enough: Any) -> Observed | None:
    return next((samples[level] for level in LEVELS if enough(samples[level])), None)


def intake_check(*, payer: Payer | None, program: Program, plan_name: str = "", expected_los_days: int | None = None,
                 on: dt.date, min_patient_days: int = MIN_PATIENT_DAYS,
                 min_adjudicated_claims: int = MIN_ADJUDICATED_CLAIMS,
                 lookback_days: int = LOOKBACK_DAYS) -> IntakeCheck:
    """May a patient of ``payer`` (``plan_name``) be admitted to ``program`` on ``on``, why, and what the
    organization's own history says such a stay brings in and how often its claims are denied."""
    rule = rule_in_force(payer=payer, plan_name=plan_name, program=program, on=on)
    decision = rule.decision if rule else DEFAULT_DECISION
    if rule is not None:
        reason = (f"Rule #{rule.pk} ({rule.payer}, {rule.plan_name or 'every plan'}, "
                  f"{rule.program or rule.get_level_of_care_display()}, from {rule.effective_from:%Y-%m-%d}"
                  f"{f' to {rule.effective_to:%Y-%m-%d}' if rule.effective_to else ''}): "
                  f"{rule.get_decision_display()}." + (f" {rule.reason}" if rule.reason else ""))
    else:
        reason = DEFAULT_REASON
    samples = observed_by_level(payer=payer, program=program, on=on, lookback_days=lookback_days)
    revenue = _first(samples, lambda s: s.patient_days >= min_patient_days)
    denial = _first(samples, lambda s: s.adjudicated >= min_adjudicated_claims)
    per_day = revenue.per_patient_day if revenue else None
    expected = (per_day * expected_los_days).quantize(CENT, ROUND_HALF_UP) \
        if per_day is not None and expected_los_days else None
    return IntakeCheck(decision=decision, allowed=decision != IntakeDecision.NOT_ALLOWED,
                       requires_authorization=decision == IntakeDecision.ALLOWED_WITH_AUTHORIZATION, rule=rule,
                       reason=reason, expected_los_days=expected_los_days, revenue_basis=revenue,
                       net_revenue_per_patient_day=per_day, expected_net_revenue=expected, denial_basis=denial,
                       denial_rate=denial.denial_rate if denial else None, samples=samples)


def violations(*, start: dt.date | None = None, end: dt.date | None = None,
               program_id: int | None = None, payer_id: int | None = None) -> list[dict[str, Any]]:
    """Admissions (admitted from ``start`` to ``end``) that broke the rule in force on their admission day: not
    allowed, or allowed with authorization and no authorization of the admission covers the admission day.
    Cost: denied dollars and written-off dollars (denied - recovered, of denials written off) of the counted
    denials of their linked claims; net collected alongside."""
    params = {"t": require_tenant_id(), "start": start, "end": end, "program": program_id, "payer": payer_id}
    claim_ids = "SELECT l.claim_id FROM intake_admissionclaim l JOIN flagged f ON f.id = l.admission_id " \
                "WHERE l.tenant_id = %(t)s"
    sql = f"""
        WITH x AS (
            SELECT a.id, a.external_id, a.payer_id, a.plan_name, a.program_id, p.level_of_care, a.admitted_on AS day,
                   a.discharged_on
            FROM intake_admission a JOIN revops_program p ON p.id = a.program_id
            WHERE a.tenant_id = %(t)s AND a.payer_id IS NOT NULL
              AND (%(start)s::date IS NULL OR a.admitted_on >= %(start)s)
              AND (%(end)s::date IS NULL OR a.admitted_on <= %(end)s)
              AND (%(program)s::bigint IS NULL OR a.program_id = %(program)s)
              AND (%(payer)s::bigint IS NULL OR a.payer_id = %(payer)s)
        ), flagged AS (
            SELECT x.*, r.rule_id, r.decision,
                   CASE WHEN r.decision = 'not_allowed' THEN 'not_allowed' ELSE 'no_authorization' END AS violation
            FROM x CROSS JOIN LATERAL ({RULE_IN_FORCE_SQL}) r
            WHERE r.decision = 'not_allowed'
               OR (r.decision = 'allowed_with_authorization' AND NOT EXISTS (
                   SELECT 1 FROM intake_authorization au WHERE au.tenant_id = %(t)s AND au.admission_id = x.id
                     AND x.day BETWEEN au.starts_on AND au.ends_on))
        ), den AS ({counted_denials(claim_ids)}),
        money AS (
            SELECT l.admission_id,
                   count(*) AS claims,
                   (SELECT coalesce(sum(cp.paid), 0) FROM rcm_feeds_claimpayment cp
                    WHERE cp.tenant_id = %(t)s AND cp.claim_id IN (
                        SELECT l2.claim_id FROM intake_admissionclaim l2
                        WHERE l2.tenant_id = %(t)s AND l2.admission_id = l.admission_id)) AS net_collected
            FROM intake_admissionclaim l JOIN flagged f ON f.id = l.admission_id
            WHERE l.tenant_id = %(t)s GROUP BY l.admission_id
        ), lost AS (
            SELECT l.admission_id, sum(den.denied_charge) AS denied,
                   coalesce(sum(den.denied_charge - den.recovered_amount)
                            FILTER (WHERE den.status = 'written_off'), 0) AS written_off
            FROM den JOIN intake_admissionclaim l ON l.claim_id = den.claim_id AND l.tenant_id = %(t)s
            GROUP BY l.admission_id
        )
        SELECT f.id AS admission_id, f.external_id, f.day AS admitted_on, f.discharged_on, f.plan_name,
               f.violation, f.rule_id, r.reason AS rule_reason, py.name AS payer, pg.name AS program,
               coalesce(m.claims, 0) AS claims, coalesce(m.net_collected, 0) AS net_collected,
               coalesce(lo.denied, 0) AS denied, coalesce(lo.written_off, 0) AS written_off
        FROM flagged f
        JOIN intake_intakerule r ON r.id = f.rule_id
        JOIN revops_payer py ON py.id = f.payer_id
        JOIN revops_program pg ON pg.id = f.program_id
        LEFT JOIN money m ON m.admission_id = f.id
        LEFT JOIN lost lo ON lo.admission_id = f.id
        ORDER BY f.day DESC, f.id DESC
    """
    return rows(sql, params)
