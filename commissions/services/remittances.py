"""Net collected revenue from 835 remittances, as commission transactions.

Each 835 claim payment (CLP) whose claim names a referral source becomes one transaction of the
``net_collected_revenue`` basis:

- **who**: the claim's referring (837 NM1*DN) or ordering (NM1*DK) provider NPI is matched to the
  organization's account with that NPI (the lowest id when several share it, active accounts first);
  crediting then finds the account's owner on the payment date as for any transaction;
- **when**: the remittance's payment date (BPR16), else its production date (DTM*405);
- **how much**: the amount the payer paid on the claim (CLP04), so a denial adds nothing;
- **reversals**: a CLP02 = 22 reversal carries the negated payment; it becomes a reversal
  transaction that ``reverses`` the original payment's transaction with the reason
  ``claim_reversal``, so components with a clawback window claw it back.

The sync is set-based (one SELECT, one COPY upsert) and idempotent: external ids are
``rcm835-<claim payment id>``; a second sync of the same remittances changes nothing. Payments of
claims without a referral source, or whose NPI matches no account, are counted as unattributed.
A commission run syncs everything paid before its period's (exclusive) end before it credits (see
``runs._run_in_transaction``), so a remittance that arrives after its period locked is paid as a
retroactive adjustment in the open period, like a late deal.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection, transaction

from revops.tenancy import require_tenant_id

from ..models import Basis, Component, ReversalReason
from .transactions import transactions_upsert

SOURCE = "rcm_835"
PREFIX = "rcm835-"


def _payments(tenant_id: int, before: dt.date | None) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    """Attributed claim payments as transaction rows (``TXN_COLUMNS`` order), and the counts of all."""
    with connection.cursor() as cursor:
        cursor.execute("""
            WITH account_by_npi AS (
                SELECT DISTINCT ON (npi) npi, id, service_line_id FROM revops_account
                WHERE tenant_id = %(t)s AND npi <> ''
                ORDER BY npi, is_active DESC, id
            ),
            payments AS (
                SELECT cp.id, cp.paid, cp.is_reversal, cp.status_code, cp.patient_control_number,
                       coalesce(r.payment_date, r.production_date) AS paid_on, r.trace_number,
                       c.referring_npi, a.id AS account_id, a.service_line_id, o.id AS original_id
                FROM rcm_feeds_claimpayment cp
                JOIN rcm_feeds_remittance r ON r.id = cp.remittance_id AND r.tenant_id = %(t)s
                LEFT JOIN rcm_feeds_claim c ON c.id = cp.claim_id AND c.tenant_id = %(t)s
                LEFT JOIN account_by_npi a ON a.npi = c.referring_npi
                -- the payment a reversal takes back (at most one: unique on (tenant, reversed_by))
                LEFT JOIN rcm_feeds_claimpayment o ON o.tenant_id = %(t)s AND o.reversed_by_id = cp.id
                WHERE cp.tenant_id = %(t)s AND coalesce(r.payment_date, r.production_date) IS NOT NULL
                  AND (%(before)s::date IS NULL OR coalesce(r.payment_date, r.production_date) < %(before)s::date)
            )
            SELECT id, paid, is_reversal, paid_on, trace_number, patient_control_number, account_id,
                   service_line_id, original_id, referring_npi
            FROM payments ORDER BY id
        """, {"t": tenant_id, "before": before})
        rows = cursor.fetchall()
    counts = {"payments": len(rows), "attributed": 0, "no_referral_source": 0, "unknown_referral_source": 0,
              "nothing_paid": 0}
    out: list[tuple[Any, ...]] = []
    # Only payments that moved money become transactions (a reversal of a zero payment is zero too).
    included = {r[0] for r in rows if r[6] is not None and r[1]}
    for pk, paid, is_reversal, paid_on, trace, pcn, account_id, service_line_id, original_id, npi in rows:
        if account_id is None:
            counts["unknown_referral_source" if npi else "no_referral_source"] += 1
            continue
        if not paid:
            counts["nothing_paid"] += 1
            continue
        counts["attributed"] += 1
        reverses = f"{PREFIX}{original_id}" if is_reversal and original_id in included else None
        description = (f"835 {'reversal' if is_reversal else 'payment'} of claim {pcn} "
                       f"(check/EFT {trace})")[:200]
        out.append((f"{PREFIX}{pk}", Basis.NET_COLLECTED.value, account_id, None, service_line_id, paid_on, paid,
                    description, reverses, ReversalReason.CLAIM_REVERSAL.value if reverses else "", SOURCE))
    return out, counts


def collected_in_use() -> bool:
    """Whether any plan version pays on net collected revenue (a run syncs only then)."""
    return Component.objects.filter(basis=Basis.NET_COLLECTED).exists()


@transaction.atomic
def remittances_sync(*, before: dt.date | None = None) -> dict[str, int]:
    """Upsert a transaction per attributed 835 claim payment paid before ``before`` (all when None).

    Returns the counts of payments seen, attributed, unattributed (no referral source on the claim,
    or an NPI that is no account's), paid nothing (denials), and the upsert's inserted / updated /
    unchanged."""
    tenant_id = require_tenant_id()
    rows, counts = _payments(tenant_id, before)
    upsert = transactions_upsert(rows=rows, source=SOURCE) if rows else {"inserted": 0, "updated": 0, "unchanged": 0}
    counts.update({k: upsert.get(k, 0) for k in ("inserted", "updated", "unchanged")})
    return counts
