"""Commission transactions and splits: COPY upserts keyed by (basis, external id).

Integrators send transactions from their CRM or billing system; re-sending the same rows changes
nothing. A reversal names the original by external id; splits replace a transaction's owner
crediting and must add up to 100%.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from revops.audit import audit_bulk
from revops.bulk import staging_copy, staging_create, staging_drop
from revops.models.audit import AuditAction
from revops.tenancy import require_tenant_id

from ..models import Transaction, TransactionSplit

# The order of a transaction row handed to ``transactions_upsert``.
TXN_COLUMNS = ["external_id", "basis", "account_id", "person_id", "service_line_id", "transaction_date", "amount",
               "description", "reverses_external_id", "reversal_reason", "source"]
_STAGE_COLUMNS = ["external_id", "basis", "account_id", "person_id", "service_line_id", "transaction_date", "amount",
                  "description", "reversal_reason", "source"]
SPLIT_COLUMNS = ["external_id", "basis", "person_id", "share"]


def _reference_check(cursor: Any, stage: str, tenant_id: int) -> None:
    """Accounts, people and service lines must be this organization's (a staging table has no RLS)."""
    cursor.execute(f"""
        SELECT count(*) FROM {stage} s
        WHERE (s.account_id IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM revops_account a WHERE a.id = s.account_id AND a.tenant_id = %(t)s))
           OR (s.person_id IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM revops_person p WHERE p.id = s.person_id AND p.tenant_id = %(t)s))
           OR (s.service_line_id IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM revops_serviceline l WHERE l.id = s.service_line_id AND l.tenant_id = %(t)s))
    """, {"t": tenant_id})
    if cursor.fetchone()[0]:
        raise ValidationError("Some transactions name an account, person or service line that is not in this "
                              "organization.")


@transaction.atomic
def transactions_upsert(*, rows: Iterable[Sequence[Any]], source: str = "api") -> dict[str, int]:
    """Insert or update transactions (tuples in ``TXN_COLUMNS`` order; ``source`` fills empty sources).

    A row with an external id replaces the stored one of the same basis and id; re-sending changes
    nothing. ``reverses_external_id`` links a reversal to its original (same basis), which must
    exist or arrive in the same call. Returns counts received / inserted / updated / unchanged."""
    tenant_id = require_tenant_id()
    rows = list(rows)
    for number, row in enumerate(rows, start=1):
        if len(row) != len(TXN_COLUMNS):
            raise ValidationError(f"Row {number}: expected {len(TXN_COLUMNS)} values ({', '.join(TXN_COLUMNS)}).")
        if row[2] is None and row[3] is None:
            raise ValidationError(f"Row {number}: a transaction needs an account or a person.")
        if not row[1]:
            raise ValidationError(f"Row {number}: a transaction needs a basis.")
    stage = staging_create("commissions_transaction", _STAGE_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {stage} ADD COLUMN reverses_external_id varchar(80)")
    staging_copy(stage, [*_STAGE_COLUMNS, "reverses_external_id"],
                 ([*r[:8], r[9] or "", r[10] or source, r[8] or None] for r in rows))
    with connection.cursor() as cursor:
        _reference_check(cursor, stage, tenant_id)
        cursor.execute(f"""SELECT basis, external_id FROM {stage} WHERE external_id <> ''
                           GROUP BY basis, external_id HAVING count(*) > 1 LIMIT 1""")
        duplicate = cursor.fetchone()
        if duplicate:
            raise ValidationError(f"External id {duplicate[1]!r} ({duplicate[0]}) appears twice in one upsert.")
        cols = ", ".join(_STAGE_COLUMNS)
        compare = ("account_id", "person_id", "service_line_id", "transaction_date", "amount", "description",
                   "reversal_reason")
        cursor.execute(f"""
            WITH up AS (
                INSERT INTO commissions_transaction (tenant_id, created_at, {cols})
                SELECT %s, now(), {cols} FROM {stage}
                ON CONFLICT (tenant_id, basis, external_id) WHERE external_id <> '' DO UPDATE
                   SET {", ".join(f"{c} = EXCLUDED.{c}" for c in compare)}
                   WHERE ({", ".join(f"commissions_transaction.{c}" for c in compare)})
                     IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in compare)})
                RETURNING (xmax = 0) AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
        """, [tenant_id])
        inserted, updated = cursor.fetchone()
        # Link reversals to their originals (same basis) by external id.
        cursor.execute(f"""
            SELECT s.external_id, s.reverses_external_id FROM {stage} s
            WHERE s.reverses_external_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM commissions_transaction o
                WHERE o.tenant_id = %s AND o.basis = s.basis AND o.external_id = s.reverses_external_id)
            LIMIT 1
        """, [tenant_id])
        missing = cursor.fetchone()
        if missing:
            raise ValidationError(f"Transaction {missing[0]!r} reverses {missing[1]!r}, which is not on file.")
        cursor.execute(f"""
            UPDATE commissions_transaction t SET reverses_id = o.id
            FROM {stage} s JOIN commissions_transaction o
                 ON o.tenant_id = %(t)s AND o.basis = s.basis AND o.external_id = s.reverses_external_id
            WHERE t.tenant_id = %(t)s AND t.basis = s.basis AND t.external_id = s.external_id
              AND s.reverses_external_id IS NOT NULL AND t.reverses_id IS DISTINCT FROM o.id
        """, {"t": tenant_id})
        relinked = cursor.rowcount
        cursor.execute(f"""
            SELECT t.external_id FROM {stage} s
            JOIN commissions_transaction t ON t.tenant_id = %(t)s AND t.basis = s.basis AND t.external_id = s.external_id
            JOIN commissions_transaction o ON o.id = t.reverses_id
            WHERE o.reverses_id IS NOT NULL OR o.id = t.id LIMIT 1
        """, {"t": tenant_id})
        bad = cursor.fetchone()
        if bad:
            raise ValidationError(f"Transaction {bad[0]!r} reverses a reversal (or itself).")
    staging_drop(stage)
    counts = {"received": len(rows), "inserted": inserted, "updated": updated,
              "unchanged": len(rows) - inserted - updated, "reversals_linked": relinked}
    audit_bulk(model=Transaction, action=AuditAction.CREATE, tenant_id=tenant_id, summary=counts)
    return counts


@transaction.atomic
def splits_replace(*, rows: Iterable[Sequence[Any]]) -> dict[str, int]:
    """Replace the splits of the transactions named in ``rows`` (``SPLIT_COLUMNS`` order:
    external id, basis, person id, share). Each transaction's shares must add up to exactly 1."""
    tenant_id = require_tenant_id()
    rows = [tuple(r) for r in rows]
    by_txn: dict[tuple[str, str], Decimal] = {}
    for number, (external_id, basis, _person, share) in enumerate(rows, start=1):
        share = Decimal(str(share))
        if not Decimal(0) < share <= Decimal(1):
            raise ValidationError(f"Row {number}: a split share is above 0 and at most 1 (100%).")
        by_txn[(basis, external_id)] = by_txn.get((basis, external_id), Decimal(0)) + share
    for (basis, external_id), total in by_txn.items():
        if total != Decimal(1):
            raise ValidationError(f"The splits of {external_id!r} ({basis}) add up to {total * 100:.4f}%, not 100%.")
    stage = staging_create("commissions_transactionsplit", ["person_id", "share"])
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {stage} ADD COLUMN external_id varchar(80), ADD COLUMN basis varchar(40)")
    staging_copy(stage, ["external_id", "basis", "person_id", "share"], rows)
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT s.external_id FROM {stage} s WHERE NOT EXISTS (
                SELECT 1 FROM commissions_transaction t
                WHERE t.tenant_id = %(t)s AND t.basis = s.basis AND t.external_id = s.external_id) LIMIT 1
        """, {"t": tenant_id})
        missing = cursor.fetchone()
        if missing:
            raise ValidationError(f"Split for transaction {missing[0]!r}, which is not on file.")
        cursor.execute(f"""
            SELECT count(*) FROM {stage} s WHERE NOT EXISTS (
                SELECT 1 FROM revops_person p WHERE p.id = s.person_id AND p.tenant_id = %(t)s)
        """, {"t": tenant_id})
        if cursor.fetchone()[0]:
            raise ValidationError("Some splits name a person who is not in this organization.")
        cursor.execute(f"""
            DELETE FROM commissions_transactionsplit x USING commissions_transaction t, {stage} s
            WHERE x.tenant_id = %(t)s AND x.transaction_id = t.id AND t.tenant_id = %(t)s
              AND t.basis = s.basis AND t.external_id = s.external_id
        """, {"t": tenant_id})
        deleted = cursor.rowcount
        cursor.execute(f"""
            INSERT INTO commissions_transactionsplit (tenant_id, transaction_id, person_id, share)
            SELECT %(t)s, t.id, s.person_id, s.share FROM {stage} s
            JOIN commissions_transaction t ON t.tenant_id = %(t)s AND t.basis = s.basis AND t.external_id = s.external_id
        """, {"t": tenant_id})
        inserted = cursor.rowcount
    staging_drop(stage)
    counts = {"transactions": len(by_txn), "splits_removed": deleted, "splits_written": inserted}
    audit_bulk(model=TransactionSplit, action=AuditAction.UPDATE, tenant_id=tenant_id, summary=counts)
    return counts
