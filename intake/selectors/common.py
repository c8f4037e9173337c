"""SQL fragments every intake computation shares, so a number has one definition.

- A claim's **current version**: not a void (frequency 8) and not replaced by a later correction (no claim
  names it as its original). Charges and units count current versions only.
- **Counted denials**: a claim-level denial counts its denied charge; a line-level denial counts only when its
  claim payment has no claim-level denial (the rule the RCM aggregates use), so a dollar is never denied twice.
"""
from __future__ import annotations

from typing import Any

from django.db import connection

AUTH_CARCS = ("15", "62", "197", "198")
# CARCs that say the authorization was there but used up (198: exceeded; 62: absent or exceeded).
EXCEEDED_CARCS = ("198",)


def current_version(alias: str = "c") -> str:
    return (f"({alias}.frequency <> '8' AND NOT EXISTS (SELECT 1 FROM rcm_feeds_claim x "
            f"WHERE x.tenant_id = {alias}.tenant_id AND x.original_claim_id = {alias}.id))")


def counted_denials(claim_ids_sql: str) -> str:
    """Denials of the claims ``claim_ids_sql`` selects, one row per counted denial."""
    return f"""
        SELECT d.* FROM (
            SELECT d.id, d.claim_id, d.claim_payment_id, d.level, d.category, d.carc_codes, d.denied_charge,
                   d.recovered_amount, d.status, d.denied_on,
                   bool_or(d.level = 'claim') OVER (PARTITION BY d.claim_payment_id) AS has_claim_level
            FROM rcm_feeds_denial d
            WHERE d.tenant_id = %(t)s AND d.claim_id IN ({claim_ids_sql})
        ) d WHERE d.level = 'claim' OR NOT d.has_claim_level
    """


def rows(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, r)) for r in cursor.fetchall()]
