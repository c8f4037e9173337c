"""Quarterly contract reviews: the figures of every contract's quarter in one SQL statement, the rule-based
recommendation (contracts.rules), and the analyst's decision.

Figures read the materialized expected reimbursement (run the recompute first) and the RCM tables; their
definitions are in docs/contracts.md ("Quarterly reviews"). A review with a recorded decision is a frozen
record: refreshing it is refused.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from revops.tenancy import require_tenant_id

from ..models import Contract, ContractReview, Recommendation
from ..rules import Figures, recommend

DAY_BASED_LEVELS = ("residential", "php", "iop", "detox", "otp")


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def add_quarters(start: dt.date, n: int) -> dt.date:
    m = start.month - 1 + 3 * n
    return dt.date(start.year + m // 12, m % 12 + 1, 1)


# The cost allocation's basis, one definition for the reviews and the scenarios app (docs/contracts.md, "Costs"):
# allocation units per current claim with its service date in [start, end) (patient-days for day-based levels of
# care, claim lines otherwise), their sum per program and month, and the direct program costs of those months.
# Needs a CTE ``ce`` of the current claim expectations and the parameters t, start, end and day_levels.
COST_BASIS_CTES = """basis AS (  -- allocation units per claim: patient-days (day-based levels) or claim lines (others)
    SELECT ce.claim_id, ce.contract_id, ce.program_id, date_trunc('month', ce.service_date)::date AS month,
           CASE WHEN pg.level_of_care = ANY(%(day_levels)s)
                THEN (SELECT coalesce(sum(x.units), 0) FROM (
                         SELECT max(coalesce(l.units, 1)) AS units FROM contracts_lineexpectation l
                         WHERE l.tenant_id = %(t)s AND l.claim_id = ce.claim_id GROUP BY l.service_date) x)
                ELSE ce.lines_total END AS units
    FROM ce JOIN revops_program pg ON pg.id = ce.program_id
    WHERE ce.service_date >= %(start)s AND ce.service_date < %(end)s
), program_month AS (
    SELECT program_id, month, sum(units) AS units FROM basis GROUP BY program_id, month
), costs AS (
    SELECT pc.program_id, pc.month, sum(pc.amount) AS amount FROM intake_programcost pc
    WHERE pc.tenant_id = %(t)s AND pc.month >= %(start)s AND pc.month < %(end)s GROUP BY pc.program_id, pc.month"""


# Per contract: figures of the quarter [start, end) and the claim count of the quarter before.
REVIEW_SQL = """
WITH ce AS (
    SELECT e.* FROM contracts_claimexpectation e
    WHERE e.tenant_id = %(t)s AND e.status NOT IN ('void', 'superseded')
), q AS (
    SELECT * FROM ce WHERE ce.contract_id = ANY(%(contracts)s) AND ce.service_date >= %(start)s
      AND ce.service_date < %(end)s
), firstpay AS (
    SELECT cp.claim_id, min(coalesce(r.payment_date, r.production_date)) AS paid_on
    FROM rcm_feeds_claimpayment cp JOIN rcm_feeds_remittance r ON r.id = cp.remittance_id AND r.tenant_id = %(t)s
    WHERE cp.tenant_id = %(t)s AND cp.paid > 0 AND NOT cp.is_reversal AND cp.claim_id IN (SELECT claim_id FROM q)
    GROUP BY cp.claim_id
), denials AS (
    SELECT d.claim_id, bool_or(d.level = 'claim') AS claim_denied,
           count(*) FILTER (WHERE d.appealed_on IS NOT NULL) AS appeals,
           count(*) FILTER (WHERE d.appealed_on IS NOT NULL AND d.status = 'overturned') AS appeals_won
    FROM rcm_feeds_denial d WHERE d.tenant_id = %(t)s AND d.claim_id IN (SELECT claim_id FROM q)
    GROUP BY d.claim_id
), {cost_basis}
), direct AS (
    SELECT b.contract_id, round(sum(c.amount * b.units / pm.units), 2) AS amount
    FROM (SELECT contract_id, program_id, month, sum(units) AS units FROM basis
          WHERE contract_id = ANY(%(contracts)s) GROUP BY 1, 2, 3) b
    JOIN program_month pm ON pm.program_id = b.program_id AND pm.month = b.month AND pm.units > 0
    JOIN costs c ON c.program_id = b.program_id AND c.month = b.month
    GROUP BY b.contract_id
), submitted AS (
    SELECT date_trunc('month', ce.submitted_on)::date AS month, ce.contract_id, count(*) AS n
    FROM ce WHERE ce.submitted_on >= %(start)s AND ce.submitted_on < %(end)s GROUP BY 1, 2
), rcm AS (
    SELECT s.contract_id, round(sum(rc.amount * s.n / tot.n), 2) AS amount
    FROM submitted s
    JOIN (SELECT month, sum(n) AS n FROM submitted GROUP BY month) tot ON tot.month = s.month
    JOIN (SELECT month, sum(amount) AS amount FROM rcm_feeds_rcmcost WHERE tenant_id = %(t)s
          AND month >= %(start)s AND month < %(end)s GROUP BY month) rc ON rc.month = s.month
    WHERE s.contract_id = ANY(%(contracts)s)
    GROUP BY s.contract_id
), prev AS (
    SELECT ce.contract_id, count(*) AS n FROM ce
    WHERE ce.contract_id = ANY(%(contracts)s) AND ce.service_date >= %(prev)s AND ce.service_date < %(start)s
    GROUP BY ce.contract_id
), figures AS (
    SELECT q.contract_id, count(*) AS claims, coalesce(sum(q.charge), 0) AS charges,
           coalesce(sum(q.expected), 0) AS expected, coalesce(sum(q.paid), 0) AS net_revenue,
           coalesce(sum(q.expected - q.paid - q.patient_responsibility)
                    FILTER (WHERE q.adjudicated AND q.expected IS NOT NULL AND NOT q.denied), 0) AS underpayment,
           count(*) FILTER (WHERE q.adjudicated) AS adjudicated,
           count(*) FILTER (WHERE q.adjudicated AND coalesce(dn.claim_denied, false)) AS denied,
           round(avg(fp.paid_on - q.submitted_on), 1) AS days_to_pay,
           coalesce(sum(dn.appeals), 0) AS appeals, coalesce(sum(dn.appeals_won), 0) AS appeals_won
    FROM q LEFT JOIN firstpay fp ON fp.claim_id = q.claim_id LEFT JOIN denials dn ON dn.claim_id = q.claim_id
    GROUP BY q.contract_id
)
SELECT k.id, coalesce(f.claims, 0), coalesce(f.charges, 0), coalesce(f.expected, 0), coalesce(f.net_revenue, 0),
       coalesce(f.underpayment, 0), coalesce(f.adjudicated, 0), coalesce(f.denied, 0), f.days_to_pay,
       coalesce(f.appeals, 0), coalesce(f.appeals_won, 0), coalesce(d.amount, 0), coalesce(r.amount, 0),
       coalesce(p.n, 0)
FROM unnest(%(contracts)s::bigint[]) AS k(id)
LEFT JOIN figures f ON f.contract_id = k.id LEFT JOIN direct d ON d.contract_id = k.id
LEFT JOIN rcm r ON r.contract_id = k.id LEFT JOIN prev p ON p.contract_id = k.id
"""

REVIEW_SQL = REVIEW_SQL.replace("{cost_basis}", COST_BASIS_CTES.strip())


def review_figures(*, contract_ids: list[int], start: dt.date) -> dict[int, dict[str, Any]]:
    """Figures of each contract for the quarter starting ``start`` (one statement)."""
    end, prev = add_quarters(start, 1), add_quarters(start, -1)
    with connection.cursor() as cur:
        cur.execute(REVIEW_SQL, {"t": require_tenant_id(), "contracts": contract_ids, "start": start, "end": end,
                                 "prev": prev, "day_levels": list(DAY_BASED_LEVELS)})
        rows = cur.fetchall()
    out: dict[int, dict[str, Any]] = {}
    for (cid, claims, charges, expected, revenue, under, adjudicated, denied, dtp, appeals, won, direct, rcm,
         previous) in rows:
        out[cid] = {
            "claims": claims, "charges": charges, "expected": expected, "net_revenue": revenue,
            "underpayment": under, "claims_adjudicated": adjudicated, "claims_denied": denied,
            "denial_rate": (Decimal(denied * 100) / adjudicated).quantize(Decimal("0.01")) if adjudicated else None,
            "days_to_pay": dtp, "appeals": appeals, "appeals_won": won, "direct_cost": direct, "rcm_cost": rcm,
            "margin": revenue - direct - rcm, "previous_claims": previous,
            "volume_change": ((Decimal(claims - previous) * 100) / previous).quantize(Decimal("0.01"))
            if previous else None,
        }
    return out


def _apply(review: ContractReview, figures: dict[str, Any]) -> None:
    for name, value in figures.items():
        setattr(review, name, value)
    review.recommendation, review.reasons = recommend(Figures(
        claims=figures["claims"], net_revenue=figures["net_revenue"], margin=figures["margin"],
        expected=figures["expected"], underpayment=figures["underpayment"], denial_rate=figures["denial_rate"],
        days_to_pay=figures["days_to_pay"]))
    review.computed_at = timezone.now()


def contracts_in_force(*, start: dt.date) -> list[int]:
    """Contracts with a published version in force on some day of the quarter starting ``start``."""
    end = add_quarters(start, 1) - dt.timedelta(days=1)
    from django.db.models import Q

    return list(Contract.objects.filter(
        versions__status="published", versions__effective_from__lte=end).filter(
        Q(versions__effective_to__isnull=True) | Q(versions__effective_to__gte=start)).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=start)).distinct().order_by("id").values_list("id", flat=True))


@transaction.atomic
def reviews_generate(*, start: dt.date, contract_ids: list[int] | None = None) -> list[ContractReview]:
    """Create (or refresh, when still undecided) the reviews of the quarter starting ``start``."""
    start = quarter_start(start)
    ids = contract_ids if contract_ids is not None else contracts_in_force(start=start)
    if not ids:
        return []
    figures = review_figures(contract_ids=ids, start=start)
    existing = {r.contract_id: r for r in ContractReview.objects.filter(quarter_start=start, contract_id__in=ids)}
    out = []
    for cid in ids:
        review = existing.get(cid)
        if review is not None and review.decision:
            out.append(review)  # decided: a frozen record
            continue
        review = review or ContractReview(contract_id=cid, quarter_start=start)
        _apply(review, figures[cid])
        review.save()
        out.append(review)
    return out


@transaction.atomic
def review_refresh(*, review: ContractReview) -> ContractReview:
    if review.decision:
        raise ValidationError("This review has a decision and is a frozen record: review the next quarter instead.")
    return reviews_generate(start=review.quarter_start, contract_ids=[review.contract_id])[0]


@transaction.atomic
def review_decide(*, review: ContractReview, decision: str, note: str, user: Any = None) -> ContractReview:
    """Record the analyst's decision (keep / renegotiate / exit) with a note; who and when are kept."""
    if decision not in Recommendation.values:
        raise ValidationError({"decision": "Choose keep, renegotiate or exit."})
    if not note.strip():
        raise ValidationError({"decision_note": "Say why (the note is part of the record)."})
    review = ContractReview.objects.select_for_update().get(pk=review.pk)
    review.decision, review.decision_note = decision, note.strip()
    review.decided_by = user if getattr(user, "pk", None) else None
    review.decided_at = timezone.now()
    review.save()
    return review
