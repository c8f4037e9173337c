"""Writing claims (from 837s and CSV exports) in batches: COPY, resubmission links, late-file back-links.

Per batch of claims:
1. one query finds earlier claims with the same patient control numbers (their root), one the
   claims behind REF*F8 payer claim numbers (via the 835 payments that carried them);
2. the claims are COPYed (``revops.bulk.copy_insert_returning``) and their lines after them;
3. claims whose control number repeats inside the same batch are linked to the first one;
4. remittance payments, denials and 277CA acknowledgments that arrived before their claim (late
   837) are linked to it.

Links: ``original_claim`` always points at the root of the family (the first submission), so
a chain of corrections is one hop. The original of a replacement or void is the claim whose 835
payment carried the REF*F8 payer claim number, else the first claim with the same control number
and payer. A claim is a resubmission when its frequency is 7 or 8, or when its control number was
sent to the same payer before (loaded earlier, or earlier in the same file); the same control
number sent to another payer is coordination of benefits (a secondary claim), not a resubmission.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection

from revops import bulk
from revops.background_flush import BackgroundFlush

from ..models import Claim, ClaimLine
from .context import LoadContext, pg_array, pg_int_array, pg_text_array

BATCH = 10000

CLAIM_COLUMNS = (
    "source_file_id", "source_position", "patient_control_number", "kind", "payer_id", "program_id",
    "facility_id", "part2_program_id", "billing_npi", "patient_hash", "charge", "facility_code", "frequency",
    "original_payer_claim_number", "original_claim_id", "prior_authorization", "diagnoses", "service_from",
    "service_to", "submitted_on", "is_resubmission", "transaction_reference", "referring_npi",
)
LINE_COLUMNS = ("claim_id", "line_number", "procedure_code", "modifiers", "revenue_code", "charge", "units",
                "service_date", "control_number")

# COPY text of the rows _write builds (revops.bulk.CopyText).
_N = bulk.NULL
_dc = bulk.date_text_cached
_dt = bulk.date_text
CLAIM_TEXT = bulk.CopyText(
    lines=lambda rows: [
        f"{f}\t{pos}\t{pcn}\t{k}\t{_N if py is None else py}\t{_N if pg is None else pg}\t"
        f"{_N if fa is None else fa}\t{_N if p2 is None else p2}\t{npi}\t{h}\t{ch!s}\t{fc}\t{fr}\t{opcn}\t"
        f"{_N if orig is None else orig}\t{pa}\t{dx}\t{_dc(sf) or _dt(sf)}\t{_dc(st) or _dt(st)}\t"
        f"{_dc(sub) or _dt(sub)}\t{'t' if rs else 'f'}\t{tx}\t{rn}\n"
        for f, pos, pcn, k, py, pg, fa, p2, npi, h, ch, fc, fr, opcn, orig, pa, dx, sf, st, sub, rs, tx, rn in rows],
    texts=lambda rows: [row[2] + row[3] + row[8] + row[9] + row[11] + row[12] + row[13] + row[15] + row[16]
                        + row[21] + row[22] for row in rows],
)
LINE_TEXT = bulk.CopyText(
    lines=lambda rows: [
        f"{c}\t{n}\t{code}\t{mods}\t{rev}\t{ch!s}\t{_N if u is None else str(u)}\t{_dc(d) or _dt(d)}\t{cn}\n"
        for c, n, code, mods, rev, ch, u, d, cn in rows],
    texts=lambda rows: [row[2] + row[3] + row[4] + row[8] for row in rows],
)


@dataclass(slots=True)
class LineInput:
    line_number: int
    procedure_code: str
    modifiers: str
    revenue_code: str
    charge: Decimal
    units: Decimal | None
    service_date: dt.date | None
    control_number: str = ""


@dataclass(slots=True)
class ClaimInput:
    """A claim ready to write: references resolved, identifiers hashed, lengths checked."""

    source_position: int  # CLM segment number, or CSV line number
    patient_control_number: str
    kind: str
    payer_id: int | None
    program_id: int | None
    facility_id: int | None
    part2_program_id: int | None
    billing_npi: str
    patient_hash: str
    charge: Decimal
    facility_code: str
    frequency: str
    original_payer_claim_number: str
    prior_authorization: str
    diagnoses: list[str]
    service_from: dt.date | None
    service_to: dt.date | None
    submitted_on: dt.date
    transaction_reference: str = ""
    referring_npi: str = ""
    lines: list[LineInput] = field(default_factory=list)
    line: int | None = None  # file line and byte offset, for messages
    offset: int | None = None


class ClaimWriter:
    """``background``: a ``revops.background_flush.BackgroundFlush`` to write full batches in while the
    caller reads the next one (None: every batch is written before reading goes on)."""

    def __init__(self, ctx: LoadContext, *, background: BackgroundFlush | None = None) -> None:
        self.ctx = ctx
        self.background = background
        self.pending: list[ClaimInput] = []

    def add(self, claim: ClaimInput) -> None:
        self.pending.append(claim)
        if len(self.pending) >= BATCH:
            batch, self.pending = self.pending, []
            if self.background is not None:
                self.background.submit(self._write, batch)
            else:
                self._write(batch)

    def flush(self) -> None:
        """Write what is pending, after the batch in the background (if any) is written."""
        if self.background is not None:
            self.background.wait()
        batch, self.pending = self.pending, []
        self._write(batch)

    def _write(self, batch: list[ClaimInput]) -> None:
        """One batch (run in the background thread when there is one: only the database and ``ctx``)."""
        if not batch:
            return
        ctx = self.ctx
        tenant_id = ctx.tenant_id
        roots_by_pcn = self._roots_by_control_number({c.patient_control_number for c in batch})  # (pcn, payer)
        roots_by_f8 = self._roots_by_payer_claim_number(
            {c.original_payer_claim_number for c in batch if c.original_payer_claim_number})

        rows = []
        first_in_batch: dict[tuple[str, int | None], int] = {}  # (control number, payer) -> first position here
        link_later: list[tuple[int, int]] = []  # (source position, source position of the batch original)
        resubmissions = 0
        file_id = ctx.file.pk
        for c in batch:
            pcn = c.patient_control_number
            original = None
            if c.original_payer_claim_number:
                original = roots_by_f8.get(c.original_payer_claim_number)
            key = (pcn, c.payer_id)
            if original is None:
                original = roots_by_pcn.get(key)
            repeat_here = original is None and key in first_in_batch
            if repeat_here:
                link_later.append((c.source_position, first_in_batch[key]))
            first_in_batch.setdefault(key, c.source_position)
            is_resubmission = c.frequency in ("7", "8") or original is not None or repeat_here
            if c.frequency in ("7", "8") and original is None and not repeat_here:
                ctx.warn("original_claim_not_found",
                         f"claim {pcn} is a {'replacement' if c.frequency == '7' else 'void'} (frequency "
                         f"{c.frequency}) but no earlier claim with payer claim number "
                         f"{c.original_payer_claim_number or '(none given)'} or control number {pcn} was loaded",
                         segment=c.source_position if ctx.feed.kind.startswith("x12") else None,
                         line=c.line, offset=c.offset, claim_reference=pcn)
            resubmissions += is_resubmission
            rows.append((
                file_id, c.source_position, pcn, c.kind, c.payer_id, c.program_id, c.facility_id,
                c.part2_program_id, c.billing_npi, c.patient_hash, c.charge, c.facility_code, c.frequency,
                c.original_payer_claim_number, original, c.prior_authorization, pg_array(c.diagnoses), c.service_from,
                c.service_to, c.submitted_on, is_resubmission, c.transaction_reference, c.referring_npi,
            ))
        returned = bulk.copy_insert_returning(Claim, columns=CLAIM_COLUMNS, rows=rows,
                                              returning=("id", "source_position"),
                                              trusted=("source_file_id", "original_claim_id"), text=CLAIM_TEXT)
        id_at = dict((pos, pk) for pk, pos in returned)
        if link_later:
            self._link_in_batch([(id_at[pos], id_at[first]) for pos, first in link_later])

        line_rows = [
            (id_at[c.source_position], ln.line_number, ln.procedure_code, ln.modifiers, ln.revenue_code,
             ln.charge, ln.units, ln.service_date, ln.control_number)
            for c in batch for ln in c.lines
        ]
        if line_rows:
            bulk.copy_insert(ClaimLine, columns=LINE_COLUMNS, rows=line_rows, trusted=("claim_id",),
                             text=LINE_TEXT)
        if len(batch) >= BATCH:
            ctx.analyze("rcm_feeds_claim", "rcm_feeds_claimline")
        claim_ids = list(id_at.values())
        self._back_link(claim_ids, tenant_id)
        ctx.counts["claims"] += len(batch)
        ctx.counts["claim_lines"] += len(line_rows)
        ctx.counts["resubmissions"] += resubmissions

    # -- lookups ---------------------------------------------------------------------------------

    def _roots_by_control_number(self, pcns: set[str]) -> dict[tuple[str, int | None], int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT ON (patient_control_number, payer_id) patient_control_number, payer_id, "
                "coalesce(original_claim_id, id) FROM rcm_feeds_claim "
                "WHERE tenant_id = %s AND patient_control_number = ANY(%s::text[]) "
                "ORDER BY patient_control_number, payer_id, id",
                [self.ctx.tenant_id, pg_text_array(pcns)],
            )
            return {(pcn, payer): root for pcn, payer, root in cursor.fetchall()}

    def _roots_by_payer_claim_number(self, numbers: set[str]) -> dict[str, int]:
        if not numbers:
            return {}
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT ON (cp.payer_claim_number) cp.payer_claim_number, coalesce(c.original_claim_id, c.id) "
                "FROM rcm_feeds_claimpayment cp JOIN rcm_feeds_claim c ON c.id = cp.claim_id "
                "WHERE cp.tenant_id = %s AND cp.payer_claim_number = ANY(%s) "
                "ORDER BY cp.payer_claim_number, cp.id DESC",
                [self.ctx.tenant_id, list(numbers)],
            )
            return dict(cursor.fetchall())

    def _link_in_batch(self, pairs: list[tuple[int, int]]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE rcm_feeds_claim c SET original_claim_id = v.original, is_resubmission = true "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, original) WHERE c.id = v.id",
                [[a for a, _ in pairs], [b for _, b in pairs]],
            )

    def _back_link(self, claim_ids: list[int], tenant_id: int) -> None:
        """Link payments, denials and 277CA acknowledgments that arrived before these claims.

        Each claim probes the control-number indexes (LATERAL ... OFFSET 0), so the cost is per
        claim, never a scan of the tenant's payments, whatever the planner's statistics say.
        """
        params = {"t": tenant_id, "ids": pg_int_array(claim_ids)}
        with connection.cursor() as cursor:
            cursor.execute("""
                WITH c AS MATERIALIZED (
                    SELECT DISTINCT ON (patient_control_number) id, patient_control_number, part2_program_id
                    FROM rcm_feeds_claim WHERE id = ANY(%(ids)s::bigint[])
                    ORDER BY patient_control_number, id DESC
                ), m AS (
                    SELECT x.id AS cp_id, c.id AS claim_id, c.part2_program_id FROM c CROSS JOIN LATERAL (
                        SELECT cp.id FROM rcm_feeds_claimpayment cp
                        WHERE cp.tenant_id = %(t)s AND cp.patient_control_number = c.patient_control_number
                          AND cp.claim_id IS NULL
                        OFFSET 0
                    ) x
                )
                UPDATE rcm_feeds_claimpayment cp SET claim_id = m.claim_id,
                       part2_program_id = coalesce(cp.part2_program_id, m.part2_program_id)
                FROM m WHERE cp.id = m.cp_id
                RETURNING cp.id
            """, params)
            payments = [row[0] for row in cursor.fetchall()]
            if payments:
                self.ctx.counts["payments_linked_late"] += len(payments)
                cursor.execute("""
                    UPDATE rcm_feeds_denial d
                    SET claim_id = cp.claim_id, program_id = coalesce(d.program_id, c.program_id)
                    FROM rcm_feeds_claimpayment cp JOIN rcm_feeds_claim c ON c.id = cp.claim_id
                    WHERE d.claim_id IS NULL AND d.claim_payment_id = cp.id AND cp.id = ANY(%(payments)s)
                    RETURNING d.denied_on
                """, {**params, "payments": payments})
                for (day,) in cursor.fetchall():
                    self.ctx.touch(day)
            cursor.execute("""
                WITH c AS MATERIALIZED (
                    SELECT DISTINCT ON (patient_control_number) id, patient_control_number
                    FROM rcm_feeds_claim WHERE id = ANY(%(ids)s::bigint[])
                    ORDER BY patient_control_number, id DESC
                ), m AS (
                    SELECT x.id AS ack_id, c.id AS claim_id FROM c CROSS JOIN LATERAL (
                        SELECT a.id FROM rcm_feeds_acknowledgment a
                        WHERE a.tenant_id = %(t)s AND a.reference = c.patient_control_number AND a.kind = '277ca'
                          AND a.claim_id IS NULL
                        OFFSET 0
                    ) x
                )
                UPDATE rcm_feeds_acknowledgment a SET claim_id = m.claim_id FROM m WHERE a.id = m.ack_id
                RETURNING a.claim_id
            """, params)
            acked = sorted({row[0] for row in cursor.fetchall()})
            if acked:
                claim_front_end_update(acked, tenant_id)


def claim_front_end_update(claim_ids: list[int], tenant_id: int) -> list[dt.date]:
    """Set each claim's front-end status from its latest 277CA acknowledgment; their submission dates."""
    with connection.cursor() as cursor:
        cursor.execute("""
            WITH a AS (
                SELECT DISTINCT ON (claim_id) claim_id, accepted, rejected, codes
                FROM rcm_feeds_acknowledgment
                WHERE claim_id = ANY(%(ids)s::bigint[]) AND kind = '277ca' AND (accepted OR rejected)
                ORDER BY claim_id, id DESC
            )
            UPDATE rcm_feeds_claim c
            SET front_end_status = CASE WHEN a.rejected THEN 'rejected' ELSE 'accepted' END,
                front_end_codes = left(a.codes, 120)
            FROM a WHERE c.id = a.claim_id AND c.tenant_id = %(t)s
            RETURNING c.submitted_on
        """, {"t": tenant_id, "ids": claim_ids})
        return [row[0] for row in cursor.fetchall()]
