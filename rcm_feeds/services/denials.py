"""Denial categories and the denial lifecycle: open -> appealed -> overturned (paid later) or written off.

Dates are what the lifecycle records, never durations or rates: overturn rate and resolution
time are computed from ``denied_on``, ``appealed_on`` and ``resolved_on``.

- ``open``: created by ingestion (``denied_on`` = the remittance's payment date, else its
  production date, else the day the file was received).
- ``appealed``: ``denial_appeal`` records the appeal date.
- ``overturned``: set automatically when a LATER remittance pays the claim (claim-level denial)
  or the same procedure on the claim (line-level denial): ``denials_detect_overturns`` runs on
  every 835 load, in both directions (new payments against open denials, new denials against
  payments already loaded, for files that arrive out of order). ``resolved_on`` is that payment's
  date, ``recovered_amount`` what it paid (CLP04, or SVC03 for a line), ``overturned_by`` the
  payment.
- ``written_off``: ``denial_write_off`` records the date and reason.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from revops.audit import audit_bulk
from revops.models.audit import AuditAction
from revops.tenancy import require_tenant_id

from ..models import CarcCategory, Denial, DenialStatus
from ..x12.denials import DEFAULT_CARC_CATEGORIES
from .context import pg_int_array, pg_text_array

OPEN_STATES = (DenialStatus.OPEN, DenialStatus.APPEALED)


# -- categories --------------------------------------------------------------------------------

def carc_categories_install_defaults() -> int:
    """Seed the active organization's CARC -> category table from the engine's defaults when empty."""
    if CarcCategory.objects.exists():
        return 0
    CarcCategory.objects.bulk_create([
        CarcCategory(tenant_id=require_tenant_id(), reason_code=code, category=category, description=text)
        for code, (category, text) in DEFAULT_CARC_CATEGORIES.items()
    ])
    return len(DEFAULT_CARC_CATEGORIES)


def carc_category_map() -> dict[str, str]:
    """The organization's CARC -> category mapping (what ingestion categorises denials with)."""
    return dict(CarcCategory.objects.values_list("reason_code", "category"))


# -- lifecycle ---------------------------------------------------------------------------------

def _refresh_aggregates(denial: Denial) -> None:
    from ..aggregates import aggregates_refresh

    aggregates_refresh(months=[denial.denied_on])


def _locked(denial: Denial) -> Denial:
    return Denial.objects.select_for_update().get(pk=denial.pk)


@transaction.atomic
def denial_appeal(*, denial: Denial, appealed_on: dt.date, note: str = "",
                  refresh_aggregates: bool = True) -> Denial:
    """Record that the denial was appealed on ``appealed_on`` (an open or appealed denial).

    ``refresh_aggregates=False`` leaves the KPI aggregates to the caller (a batch of lifecycle
    steps followed by one ``aggregates_refresh``, as ``seed_demo`` does)."""
    denial = _locked(denial)
    if denial.status not in OPEN_STATES:
        raise ValidationError({"status": f"A denial that is {denial.get_status_display().lower()} cannot be appealed."})
    if appealed_on < denial.denied_on:
        raise ValidationError({"appealed_on": f"The appeal date is before the denial date {denial.denied_on}."})
    denial.status = DenialStatus.APPEALED
    denial.appealed_on = appealed_on
    if note:
        denial.note = (denial.note + "\n" + note).strip()
    denial.save(update_fields=["status", "appealed_on", "note"])
    if refresh_aggregates:
        _refresh_aggregates(denial)
    return denial


@transaction.atomic
def denial_write_off(*, denial: Denial, written_off_on: dt.date, reason: str,
                     refresh_aggregates: bool = True) -> Denial:
    """Close an open or appealed denial as written off on ``written_off_on`` for ``reason``
    (``refresh_aggregates`` as in ``denial_appeal``)."""
    denial = _locked(denial)
    if denial.status not in OPEN_STATES:
        raise ValidationError(
            {"status": f"A denial that is {denial.get_status_display().lower()} cannot be written off."})
    if not reason.strip():
        raise ValidationError({"reason": "Say why the denial is written off."})
    if written_off_on < denial.denied_on or (denial.appealed_on and written_off_on < denial.appealed_on):
        raise ValidationError({"written_off_on": "The write-off date is before the denial or its appeal."})
    denial.status = DenialStatus.WRITTEN_OFF
    denial.resolved_on = written_off_on
    denial.write_off_reason = reason.strip()[:200]
    denial.save(update_fields=["status", "resolved_on", "write_off_reason"])
    if refresh_aggregates:
        _refresh_aggregates(denial)
    return denial


@transaction.atomic
def denial_reopen(*, denial: Denial) -> Denial:
    """Undo a write-off (entered by mistake): back to appealed if it was appealed, else open."""
    denial = _locked(denial)
    if denial.status != DenialStatus.WRITTEN_OFF:
        raise ValidationError(
            {"status": "Only a written-off denial can be reopened; an overturn comes from a payment."})
    denial.status = DenialStatus.APPEALED if denial.appealed_on else DenialStatus.OPEN
    denial.resolved_on = None
    denial.write_off_reason = ""
    denial.save(update_fields=["status", "resolved_on", "write_off_reason"])
    _refresh_aggregates(denial)
    return denial


# -- overturns ---------------------------------------------------------------------------------

# A payment belongs to the denied claim's family when it carries the same patient control number,
# or when its claim and the denied claim share a root (a corrected claim, frequency 7, points at
# its original). "Later": another remittance, paid after the denial date (same day: loaded after
# it). Every lookup is a LATERAL subquery with OFFSET 0 on an indexed column: a per-row index
# probe that the planner cannot turn into a scan of every open denial or payment of the tenant,
# whatever statistics it has (they are stale in the middle of a large load).
_OVERTURN_SQL = """
WITH d AS MATERIALIZED (
    SELECT x.* FROM unnest(%(ids)s::bigint[]) AS i(id) CROSS JOIN LATERAL (
        SELECT d.id, d.level, d.denied_on, d.claim_id, dcp.id AS dcp_id, dcp.remittance_id AS drem,
               dcp.patient_control_number AS pcn, dsp.procedure_code AS proc, dsp.revenue_code AS rev,
               (SELECT coalesce(c.original_claim_id, c.id) FROM rcm_feeds_claim c WHERE c.id = d.claim_id) AS family
        FROM rcm_feeds_denial d
        JOIN rcm_feeds_claimpayment dcp ON dcp.id = d.claim_payment_id
        LEFT JOIN rcm_feeds_servicepayment dsp ON dsp.id = d.service_payment_id
        WHERE d.id = i.id AND d.status IN ('open', 'appealed')
        OFFSET 0
    ) x
), cand AS (
    SELECT d.id AS denial_id, x.cp_id FROM d CROSS JOIN LATERAL (
        SELECT cp.id AS cp_id FROM rcm_feeds_claimpayment cp
        WHERE cp.tenant_id = %(t)s AND cp.patient_control_number = d.pcn AND cp.remittance_id <> d.drem
          AND cp.paid > 0 AND NOT cp.is_reversal
        UNION ALL  -- the denied claim is a correction: payments of its original
        SELECT cp.id FROM rcm_feeds_claimpayment cp
        WHERE d.family <> d.claim_id AND cp.tenant_id = %(t)s AND cp.claim_id = d.family
        UNION ALL  -- payments of corrections of the same original
        SELECT cp.id FROM rcm_feeds_claim c JOIN rcm_feeds_claimpayment cp ON cp.claim_id = c.id
        WHERE c.tenant_id = %(t)s AND c.original_claim_id = d.family
        OFFSET 0
    ) x
), hit AS (
    SELECT DISTINCT ON (d.id) d.id, cp.id AS cp_id, paid.on_date,
           CASE WHEN d.level = 'claim' THEN cp.paid ELSE sp.paid END AS recovered
    FROM d
    JOIN cand ON cand.denial_id = d.id
    JOIN rcm_feeds_claimpayment cp ON cp.id = cand.cp_id
    JOIN rcm_feeds_remittance r ON r.id = cp.remittance_id
    JOIN rcm_feeds_receivedfile f ON f.id = r.source_file_id
    CROSS JOIN LATERAL (SELECT coalesce(r.payment_date, r.production_date, f.received_at::date) AS on_date) paid
    LEFT JOIN LATERAL (
        SELECT s.paid FROM rcm_feeds_servicepayment s
        WHERE s.claim_payment_id = cp.id AND s.paid > 0 AND s.procedure_code = d.proc AND s.revenue_code = d.rev
        ORDER BY s.source_position LIMIT 1
    ) sp ON d.level = 'line'
    WHERE cp.paid > 0 AND NOT cp.is_reversal AND cp.remittance_id <> d.drem
      AND (paid.on_date > d.denied_on OR (paid.on_date = d.denied_on AND cp.id > d.dcp_id))
      AND (d.level = 'claim' OR sp.paid IS NOT NULL)
    ORDER BY d.id, paid.on_date, cp.id
)
UPDATE rcm_feeds_denial SET status = 'overturned', resolved_on = hit.on_date, recovered_amount = hit.recovered,
       overturned_by_id = hit.cp_id
FROM hit WHERE rcm_feeds_denial.id = hit.id
RETURNING rcm_feeds_denial.id, rcm_feeds_denial.denied_on
"""

# Open denials that new payments may overturn: same control number in another remittance, or (for
# a payment of a corrected claim, ``family`` = its original) denials of the original and of the
# original's corrections. ``pay`` rows: (control number, remittance id, family or NULL).
_CANDIDATES_SQL = """
WITH pay AS MATERIALIZED (
    SELECT * FROM unnest(%(pcns)s::text[], %(rems)s::bigint[], %(families)s::bigint[]) AS p(pcn, rem, family)
)
SELECT x.denial_id FROM pay CROSS JOIN LATERAL (
    SELECT d.id AS denial_id FROM rcm_feeds_claimpayment dcp
    JOIN rcm_feeds_denial d ON d.claim_payment_id = dcp.id AND d.status IN ('open', 'appealed')
    WHERE dcp.tenant_id = %(t)s AND dcp.patient_control_number = pay.pcn AND dcp.remittance_id <> pay.rem
    UNION ALL
    SELECT d.id FROM rcm_feeds_denial d
    WHERE pay.family IS NOT NULL AND d.claim_id = pay.family AND d.status IN ('open', 'appealed')
    UNION ALL
    SELECT d.id FROM rcm_feeds_claim c JOIN rcm_feeds_denial d ON d.claim_id = c.id AND d.status IN ('open', 'appealed')
    WHERE pay.family IS NOT NULL AND c.tenant_id = %(t)s AND c.original_claim_id = pay.family
    OFFSET 0
) x
"""
_PAID_SQL = """
SELECT cp.patient_control_number, cp.remittance_id, c.original_claim_id
FROM rcm_feeds_claimpayment cp LEFT JOIN rcm_feeds_claim c ON c.id = cp.claim_id
WHERE cp.id = ANY(%(ids)s) AND cp.paid > 0 AND NOT cp.is_reversal
"""

Paid = tuple[str, int, int | None]  # control number, remittance id, original claim of its claim (or None)


def denials_detect_overturns(*, claim_payment_ids: Sequence[int] = (), denial_ids: Sequence[int] = (),
                             paid: Sequence[Paid] | None = None) -> list[tuple[int, dt.date]]:
    """Mark open/appealed denials overturned where a later payment paid them.

    ``claim_payment_ids``: payments just loaded (checked against every open denial of their
    claims), or ``paid``: the same described by the caller who has them in hand (the 835 writer:
    control number, remittance id, original claim of the matched claim; paying, non-reversal
    payments only). ``denial_ids``: denials just created (checked against every payment already
    loaded). Returns (denial id, denied_on) of the denials overturned.
    """
    tenant_id = require_tenant_id()
    candidates: set[int] = set(denial_ids)
    with connection.cursor() as cursor:
        if paid is None and claim_payment_ids:
            cursor.execute(_PAID_SQL, {"t": tenant_id, "ids": list(claim_payment_ids)})
            paid = cursor.fetchall()
        if paid:
            cursor.execute(_CANDIDATES_SQL, {"t": tenant_id, "pcns": pg_text_array([p[0] for p in paid]),
                                             "rems": pg_int_array([p[1] for p in paid]),
                                             "families": pg_int_array([p[2] for p in paid])})
            candidates.update(row[0] for row in cursor.fetchall())
        if not candidates:
            return []
        cursor.execute(_OVERTURN_SQL, {"t": tenant_id, "ids": pg_int_array(sorted(candidates))})
        overturned = [(row[0], row[1]) for row in cursor.fetchall()]
    if overturned:
        audit_bulk(model=Denial, action=AuditAction.UPDATE, tenant_id=tenant_id,
                   summary={"overturned": len(overturned), "denial_ids": [pk for pk, _ in overturned][:200],
                            "via": "later payment detected on load"})
    return overturned
