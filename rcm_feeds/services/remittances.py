"""Loading 835 remittances while the engine streams them: payments, lines, adjustments, denials, PLBs.

One ``Remittance`` row per transaction set (written when its header is read, completed at its
SE), then claim payments in batches of ``BATCH``:

1. one query finds each payment's claim: by payer claim number (CLP07) when an earlier payment
   with that number was matched, else the latest claim with the patient control number (CLP01)
   sent to the remittance's payer, else the latest claim with that control number;
2. claim payments are COPYed, returning their ids; then service lines (returning ids), then
   claim- and line-level adjustments, denials and the warnings of the batch;
3. reversals (CLP02 22) are linked to the payment they take back (``reversed_by`` on the
   original), and denials that this batch's payments overturn are closed.

A transaction set whose TRN trace (trace number + originator + BPR02 amount) was loaded before,
from any file, or earlier in this file, is skipped with a ``duplicate_trace`` warning.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, NamedTuple

from django.db import connection

from revops import bulk
from revops.background_flush import BackgroundFlush

from ..models import (
    Adjustment,
    ClaimPayment,
    Denial,
    DenialStatus,
    ProviderAdjustment,
    Remittance,
    ServicePayment,
)
from ..x12 import records as x12
from ..x12.denials import claim_denials
from .context import FileRefused, LoadContext, fit, pg_array, pg_text_array
from .denials import carc_categories_install_defaults, carc_category_map, denials_detect_overturns
from .resolve import PayerResolver, ProgramResolver

BATCH = 10000
ZERO = x12.ZERO

CP_COLUMNS = (
    "remittance_id", "claim_id", "source_position", "patient_control_number", "status_code", "charge", "paid",
    "patient_responsibility", "contractual_adjustment", "filing_indicator", "payer_claim_number", "frequency",
    "patient_hash", "statement_from", "statement_to", "is_reversal", "is_denied", "balanced", "part2_program_id",
)
SP_COLUMNS = (
    "claim_payment_id", "source_position", "procedure_qualifier", "procedure_code", "modifiers", "revenue_code",
    "charge", "paid", "units", "service_date", "remark_codes", "is_denied", "balanced",
)
ADJ_COLUMNS = ("claim_payment_id", "service_payment_id", "group_code", "reason_code", "amount", "quantity")
DENIAL_COLUMNS = (
    "claim_payment_id", "service_payment_id", "claim_id", "level", "payer_id", "program_id", "category",
    "carc_codes", "rarc_codes", "denied_charge", "denied_on", "status",
)
PLB_COLUMNS = ("remittance_id", "reason_code", "reference", "amount", "fiscal_period_date")
_UNBALANCED = frozenset({"claim_unbalanced", "line_unbalanced"})

# COPY text of each table's rows (revops.bulk.CopyText): types as _prepare and _write build them.
_N = bulk.NULL
_dc = bulk.date_text_cached
_dt = bulk.date_text
CP_TEXT = bulk.CopyText(
    lines=lambda rows: [
        f"{r}\t{_N if c is None else c}\t{seg}\t{pcn}\t{st}\t{ch!s}\t{pd!s}\t{_N if pr is None else str(pr)}\t"
        f"{co!s}\t{fi}\t{nu}\t{fr}\t{h}\t{_dc(sf) or _dt(sf)}\t{_dc(stt) or _dt(stt)}\t{'t' if rev else 'f'}\t"
        f"{'t' if den else 'f'}\t{'t' if bal else 'f'}\t{_N if p2 is None else p2}\n"
        for r, c, seg, pcn, st, ch, pd, pr, co, fi, nu, fr, h, sf, stt, rev, den, bal, p2 in rows],
    texts=lambda rows: [row[3] + row[4] + row[9] + row[10] + row[11] + row[12] for row in rows],
)
SP_TEXT = bulk.CopyText(
    lines=lambda rows: [
        f"{cp}\t{seg}\t{q}\t{code}\t{mods}\t{rev}\t{ch!s}\t{pd!s}\t{_N if u is None else str(u)}\t"
        f"{_dc(d) or _dt(d)}\t{rem}\t{'t' if den else 'f'}\t{'t' if bal else 'f'}\n"
        for cp, seg, q, code, mods, rev, ch, pd, u, d, rem, den, bal in rows],
    texts=lambda rows: [row[2] + row[3] + row[4] + row[5] + row[10] for row in rows],
)
ADJ_TEXT = bulk.CopyText(
    lines=lambda rows: [
        f"{cp}\t{_N if sp is None else sp}\t{g}\t{rs}\t{a!s}\t{_N if q is None else str(q)}\n"
        for cp, sp, g, rs, a, q in rows],
    texts=lambda rows: [row[2] + row[3] for row in rows],
)
DENIAL_TEXT = bulk.CopyText(
    lines=lambda rows: [
        f"{cp}\t{_N if sp is None else sp}\t{_N if c is None else c}\t{lv}\t{_N if py is None else py}\t"
        f"{_N if pg is None else pg}\t{cat}\t{carcs}\t{rarcs}\t{a!s}\t{_dc(d) or _dt(d)}\t{st}\n"
        for cp, sp, c, lv, py, pg, cat, carcs, rarcs, a, d, st in rows],
    texts=lambda rows: [row[3] + row[6] + row[7] + row[8] + row[11] for row in rows],
)


class _Open:
    """The transaction set being loaded."""

    __slots__ = ("claims", "date", "pk", "payer_id", "record", "skipped", "unbalanced")

    def __init__(self, record: x12.Remittance, pk: int | None, payer_id: int | None, date: dt.date) -> None:
        self.record = record
        self.pk = pk
        self.payer_id = payer_id
        self.date = date  # what its denials are dated: payment date, else production date, else receipt
        self.claims = 0
        self.skipped = pk is None
        self.unbalanced = False


class _Prepared(NamedTuple):
    """A claim payment ready to write but for its ids (``RemittanceWriter._prepare``)."""

    rec: x12.ClaimPayment
    current: _Open
    denials: list[Any]
    cp_tail: tuple[Any, ...]  # CP_COLUMNS from source_position to balanced
    sp_tails: list[tuple[Any, ...]]  # SP_COLUMNS but the claim payment id, per line
    claim_adjustments: list[tuple[Any, ...]]  # ADJ_COLUMNS but the claim payment id
    line_adjustments: list[list[tuple[Any, ...]]]  # per line: ADJ_COLUMNS but both ids


class RemittanceWriter:
    """``background``: a ``revops.background_flush.BackgroundFlush`` to write full batches in while the
    engine parses the next one (None: every batch is written before parsing goes on)."""

    def __init__(self, ctx: LoadContext, *, hasher: Callable[[str], str],
                 background: BackgroundFlush | None = None) -> None:
        self.ctx = ctx
        self.background = background
        self.hasher = hasher
        self.payers = PayerResolver(ctx)
        self.programs = ProgramResolver(ctx)
        carc_categories_install_defaults()
        self.categories = carc_category_map()
        self.part2_feed = self.programs.part2_of(ctx.feed.source_program_id)
        self.open: _Open | None = None
        self.traces_here: set[tuple[str, str, Any]] = set()
        self.batch: list[tuple[x12.ClaimPayment, _Open]] = []
        self.plbs: list[tuple[Any, ...]] = []
        self.seen_remittance_warnings: set[tuple[str, int]] = set()
        self.original_of: dict[int, int | None] = {}  # claim id -> its original (claims of the batch)

    # -- records from the engine -------------------------------------------------------------------

    def remittance(self, rec: x12.Remittance) -> None:
        ctx = self.ctx
        trace = (rec.trace_number, rec.trace_originator, rec.payment_amount)
        where = {"segment": rec.segment, "line": rec.line, "offset": rec.offset}
        date = rec.payment_date or rec.production_date or ctx.received_on
        earlier = Remittance.objects.filter(
            trace_number=rec.trace_number, trace_originator=rec.trace_originator, payment_amount=rec.payment_amount,
        ).select_related("source_file").first()
        if earlier is not None or trace in self.traces_here:
            source = (f"file {earlier.source_file.filename!r} (received {earlier.source_file.received_at:%Y-%m-%d})"
                      if earlier is not None else "earlier in this file")
            ctx.warn("duplicate_trace",
                     f"TRN trace {rec.trace_number} from {rec.trace_originator or 'unknown originator'} for "
                     f"{rec.payment_amount} was already loaded from {source}: this transaction set is skipped, "
                     "not loaded twice", claim_reference=rec.trace_number, **where)
            ctx.counts["transactions_duplicate"] += 1
            self.open = _Open(rec, None, None, date)
            return
        self.traces_here.add(trace)
        payer_id = self.payers.resolve(payer_id=rec.payer_id, name=rec.payer_name, **where)
        row = Remittance.objects.create(
            source_file=ctx.file, source_position=rec.segment, payer_id=payer_id,
            payer_name=fit(rec.payer_name, 120, "N1*PR payer name", **where),
            payer_identifier=fit(rec.payer_id, 80, "payer id", **where),
            trace_number=fit(rec.trace_number, 60, "TRN02 trace number", **where),
            trace_originator=fit(rec.trace_originator, 20, "TRN03 originator", **where),
            handling_code=fit(rec.handling_code, 2, "BPR01 handling code", **where),
            payment_method=fit(rec.payment_method, 3, "BPR04 payment method", **where),
            payment_amount=rec.payment_amount, payment_date=rec.payment_date,
            production_date=rec.production_date, payee_npi=fit(rec.payee_npi, 10, "payee NPI", **where),
        )
        ctx.counts["remittances"] += 1
        ctx.touch(date)
        self.open = _Open(rec, row.pk, payer_id, date)

    def claim(self, rec: x12.ClaimPayment) -> None:
        current = self.open
        assert current is not None
        current.claims += 1
        if current.skipped:
            self.ctx.counts["claim_payments_skipped"] += 1
            return
        if rec.warnings and not current.unbalanced and any(w.code in _UNBALANCED for w in rec.warnings):
            current.unbalanced = True
        self.batch.append(self._prepare(rec, current))
        if len(self.batch) >= BATCH:
            batch, self.batch = self.batch, []
            plbs, self.plbs = self.plbs, []
            if self.background is not None:
                self.background.submit(self._write, batch, plbs)
            else:
                self._write(batch, plbs)

    def end(self, rec: x12.RemittanceEnd) -> None:
        current = self.open
        assert current is not None
        self.open = None
        if current.skipped:
            return
        ctx = self.ctx
        for w in [*rec.remittance.warnings, *rec.warnings]:
            if (w.code, w.segment) in self.seen_remittance_warnings:
                continue  # the tokenizer's warnings are repeated on every transaction set
            self.seen_remittance_warnings.add((w.code, w.segment))
            ctx.warn(w.code, w.message, segment=w.segment, line=w.line, offset=w.offset,
                     claim_reference=rec.remittance.trace_number)
        for plb in rec.provider_adjustments:
            where = {"segment": plb.segment, "line": plb.line, "offset": plb.offset}
            self.plbs.append((current.pk, fit(plb.reason, 4, "PLB reason", **where),
                              fit(plb.reference, 50, "PLB reference", **where), plb.amount, plb.fiscal_period_date))
        balanced = not current.unbalanced and not any(w.code == "payment_unbalanced" for w in rec.warnings)
        Remittance.objects.filter(pk=current.pk).update(
            balanced=balanced, provider_adjustment_total=rec.provider_adjustment_total)
        ctx.counts["provider_adjustments"] += len(rec.provider_adjustments)
        if not balanced:
            ctx.counts["remittances_unbalanced"] += 1

    # -- batches -----------------------------------------------------------------------------------

    def _prepare(self, rec: x12.ClaimPayment, current: _Open) -> _Prepared:
        """What a claim's rows need that the database does not tell: checked in the loading thread as
        the claim is parsed, so a batch written in the background only adds ids and claim links."""
        warnings = rec.warnings
        denials = [] if rec.is_reversal else claim_denials(rec, categories=self.categories)
        contractual = ZERO
        for adj in rec.adjustments:
            if adj.group == "CO":
                contractual += adj.amount
        lines = rec.lines
        for svc in lines:
            for adj in svc.adjustments:
                if adj.group == "CO":
                    contractual += adj.amount
        pcn, status, filing = rec.patient_control_number, rec.status, rec.filing_indicator
        number, frequency = rec.payer_claim_number, rec.frequency
        if len(pcn) > 40 or len(status) > 2 or len(filing) > 2 or len(number) > 50 or len(frequency) > 1:
            where = {"segment": rec.segment, "line": rec.line, "offset": rec.offset}
            fit(pcn, 40, "CLP01 patient control number", **where)
            fit(status, 2, "CLP02 status", **where)
            fit(filing, 2, "CLP06 filing indicator", **where)
            fit(number, 50, "CLP07 payer claim number", **where)
            fit(frequency, 1, "CLP09 frequency", **where)
        balanced = True
        unbalanced_lines: set[int] | tuple[()] = ()
        if warnings:
            balanced = not any(w.code in _UNBALANCED for w in warnings)
            unbalanced_lines = {w.segment for w in warnings if w.code == "line_unbalanced"}
        denied_lines = {d.service.segment for d in denials if d.service is not None} if denials else ()
        cp_tail = (rec.segment, pcn, status, rec.charge, rec.paid, rec.patient_responsibility, contractual, filing,
                   number, frequency, self.hasher(rec.patient_member_id or rec.insured_member_id),
                   rec.statement_from, rec.statement_to, rec.is_reversal,
                   bool(denials) and denials[0].service is None, balanced)
        sp_tails = []
        line_adjustments = []
        for svc in lines:
            qualifier, code, modifiers, revenue = svc.qualifier, svc.code, ":".join(svc.modifiers), svc.revenue_code
            remarks = svc.remark_codes
            if len(qualifier) > 2 or len(code) > 48 or len(modifiers) > 20 or len(revenue) > 4 or (
                    remarks and max(map(len, remarks)) > 8):
                where = {"segment": svc.segment, "line": svc.line, "offset": svc.offset}
                fit(qualifier, 2, "SVC01-1 qualifier", **where)
                fit(code, 48, "SVC01-2 procedure code", **where)
                fit(modifiers, 20, "SVC01 modifiers", **where)
                fit(revenue, 4, "SVC04 revenue code", **where)
                for remark in remarks:
                    fit(remark, 8, "LQ*HE remark code", **where)
            segment = svc.segment
            sp_tails.append((segment, qualifier, code, modifiers, revenue, svc.charge, svc.paid, svc.units,
                             svc.service_date or svc.service_from, pg_array(remarks), segment in denied_lines,
                             segment not in unbalanced_lines))
            line_adjustments.append([(adj.group, _reason(adj), adj.amount, adj.quantity)
                                     for adj in svc.adjustments])
        claim_adjustments = [(None, adj.group, _reason(adj), adj.amount, adj.quantity) for adj in rec.adjustments]
        return _Prepared(rec, current, denials, cp_tail, sp_tails, claim_adjustments, line_adjustments)

    def flush(self) -> None:
        """Write what is pending, after the batch in the background (if any) is written."""
        if self.background is not None:
            self.background.wait()
        batch, self.batch = self.batch, []
        plbs, self.plbs = self.plbs, []
        self._write(batch, plbs)

    def _write(self, batch: list[_Prepared], plbs: list[tuple[Any, ...]]) -> None:
        """One batch (run in the background thread when there is one: only the database and ``ctx``)."""
        ctx = self.ctx
        if plbs:
            bulk.copy_insert(ProviderAdjustment, columns=PLB_COLUMNS, rows=plbs, trusted=("remittance_id",))
        if not batch:
            return
        self.original_of.clear()
        claims = self._claims_of(batch)
        programs = self.programs
        part2_feed = self.part2_feed
        founds = [_claim_for(p.rec, claims, p.current.payer_id) for p in batch]
        cp_rows = [(p.current.pk, found[0], *p.cp_tail, part2_feed or found[2]) for p, found in zip(batch, founds)]
        # Trusted ids (revops.bulk): the remittance this load created, claims its lookups selected.
        returned = bulk.copy_insert_returning(ClaimPayment, columns=CP_COLUMNS, rows=cp_rows,
                                              returning=("id", "source_position"),
                                              trusted=("remittance_id", "claim_id"), text=CP_TEXT)
        cp_id = dict((pos, pk) for pk, pos in returned)

        sp_rows = [(cp_id[p.rec.segment], *tail) for p in batch for tail in p.sp_tails]
        sp_id: dict[int, int] = {}
        if sp_rows:
            sp_id = dict((pos, pk) for pk, pos in bulk.copy_insert_returning(
                ServicePayment, columns=SP_COLUMNS, rows=sp_rows, returning=("id", "source_position"),
                trusted=("claim_payment_id",), text=SP_TEXT))

        adj_rows = []
        denial_rows = []
        for p, found in zip(batch, founds):
            rec = p.rec
            parent = cp_id[rec.segment]
            for adj in p.claim_adjustments:
                adj_rows.append((parent, *adj))
            for tail, adjustments in zip(p.sp_tails, p.line_adjustments):
                if adjustments:
                    line_id = sp_id[tail[0]]
                    for adj in adjustments:
                        adj_rows.append((parent, line_id, *adj))
            if p.denials:
                current = p.current
                program_id = found[1] or programs.resolve(
                    procedures=[s.code for s in rec.lines],
                    revenue_codes=[s.revenue_code for s in rec.lines if s.revenue_code],
                    facility_code=rec.facility_type)
                for d in p.denials:
                    denial_rows.append((
                        parent, sp_id[d.service.segment] if d.service is not None else None, found[0], d.level,
                        current.payer_id, program_id, d.category, pg_array(d.carcs),
                        pg_array([c[:8] for c in d.rarcs]), d.amount, current.date, DenialStatus.OPEN,
                    ))
            for w in rec.warnings:
                ctx.warn(w.code, w.message, segment=w.segment, line=w.line, offset=w.offset,
                         claim_reference=rec.patient_control_number)
        if adj_rows:
            bulk.copy_insert(Adjustment, columns=ADJ_COLUMNS, rows=adj_rows,
                             trusted=("claim_payment_id", "service_payment_id"), text=ADJ_TEXT)
        new_denials: list[int] = []
        if denial_rows:
            new_denials = [pk for (pk,) in bulk.copy_insert_returning(
                Denial, columns=DENIAL_COLUMNS, rows=denial_rows,
                trusted=("claim_payment_id", "service_payment_id", "claim_id"), text=DENIAL_TEXT)]
        ctx.flush_warnings()
        if len(batch) >= BATCH:
            ctx.analyze("rcm_feeds_claimpayment", "rcm_feeds_servicepayment", "rcm_feeds_denial")

        reversals = [cp_id[p.rec.segment] for p in batch if p.rec.is_reversal]
        if reversals:
            self._link_reversals(reversals)
        paying = [(p.rec.patient_control_number, p.current.pk, self.original_of.get(row[1]))
                  for p, row in zip(batch, cp_rows) if p.rec.paid > 0 and not p.rec.is_reversal]
        for _, day in denials_detect_overturns(paid=paying, denial_ids=new_denials):
            ctx.touch(day)
            ctx.counts["denials_overturned"] += 1

        ctx.counts["claim_payments"] += len(batch)
        ctx.counts["service_payments"] += len(sp_rows)
        ctx.counts["adjustments"] += len(adj_rows)
        ctx.counts["denials"] += len(denial_rows)
        ctx.counts["denials_claim_level"] += sum(1 for row in denial_rows if row[3] == "claim")
        ctx.counts["claim_payments_matched"] += sum(1 for row in cp_rows if row[1] is not None)
        ctx.counts["reversals"] += len(reversals)

    def _claims_of(self, batch: list[_Prepared]) -> dict[Any, tuple[int | None, int | None, int | None]]:
        """(claim id, program id, part2 program id) by control number and by ("F8", payer claim number,
        control number) for payer claim numbers an earlier, matched payment carried."""
        tenant_id = self.ctx.tenant_id
        pcns = pg_text_array({p.rec.patient_control_number for p in batch})
        out: dict[Any, tuple[int | None, int | None, int | None]] = {}
        claims_per_pcn: dict[str, int] = {}
        with connection.cursor() as cursor:
            # The latest claim per control number and payer; the payer's own claim wins (a secondary
            # payer's remittance pays the claim sent to it), else the latest claim with the number.
            cursor.execute(
                "SELECT DISTINCT ON (patient_control_number, payer_id) patient_control_number, payer_id, id, "
                "program_id, part2_program_id, submitted_on, original_claim_id FROM rcm_feeds_claim "
                "WHERE tenant_id = %s AND patient_control_number = ANY(%s::text[]) "
                "ORDER BY patient_control_number, payer_id, submitted_on DESC, id DESC",
                [tenant_id, pcns],
            )
            latest: dict[str, tuple[dt.date, int]] = {}
            for pcn, payer_id, pk, program_id, part2, submitted_on, original in cursor.fetchall():
                out[(pcn, payer_id)] = (pk, program_id, part2)
                self.original_of[pk] = original
                claims_per_pcn[pcn] = claims_per_pcn.get(pcn, 0) + 1
                if pcn not in latest or (submitted_on, pk) > latest[pcn]:
                    latest[pcn] = (submitted_on, pk)
                    out[pcn] = (pk, program_id, part2)
            # The payer claim number only decides between several claims with one control number.
            numbers = list({p.rec.payer_claim_number for p in batch
                            if p.rec.payer_claim_number and claims_per_pcn.get(p.rec.patient_control_number, 0) > 1})
            if numbers:
                cursor.execute(
                    "SELECT DISTINCT ON (cp.payer_claim_number, cp.patient_control_number) cp.payer_claim_number, "
                    "cp.patient_control_number, c.id, c.program_id, c.part2_program_id, c.original_claim_id "
                    "FROM rcm_feeds_claimpayment cp "
                    "JOIN rcm_feeds_claim c ON c.id = cp.claim_id "
                    "WHERE cp.tenant_id = %s AND cp.payer_claim_number = ANY(%s) "
                    "AND cp.patient_control_number = ANY(%s::text[]) "
                    "ORDER BY cp.payer_claim_number, cp.patient_control_number, "
                    "cp.id DESC",
                    [tenant_id, numbers, pcns],
                )
                for number, pcn, pk, program_id, part2, original in cursor.fetchall():
                    out[("F8", number, pcn)] = (pk, program_id, part2)
                    self.original_of[pk] = original
        return out

    def _link_reversals(self, reversal_ids: list[int]) -> None:
        """Point each reversed original at its reversal: same control number (and payer claim number when
        given), exactly negated charge and payment, loaded before it and not reversed yet."""
        ctx = self.ctx
        with connection.cursor() as cursor:
            cursor.execute("""
                SELECT r.id, r.patient_control_number, r.source_position, o.id
                FROM rcm_feeds_claimpayment r
                LEFT JOIN LATERAL (
                    SELECT o.id FROM rcm_feeds_claimpayment o
                    WHERE o.tenant_id = %(t)s AND o.patient_control_number = r.patient_control_number
                      AND NOT o.is_reversal AND o.reversed_by_id IS NULL AND o.id < r.id
                      AND (r.payer_claim_number = '' OR o.payer_claim_number = r.payer_claim_number)
                      AND o.charge = -r.charge AND o.paid = -r.paid
                    ORDER BY o.id DESC LIMIT 1
                ) o ON true
                WHERE r.id = ANY(%(ids)s)
                ORDER BY r.id
            """, {"t": ctx.tenant_id, "ids": reversal_ids})
            found = cursor.fetchall()
            taken: set[int] = set()
            pairs = []
            for reversal, pcn, position, original in found:
                if original is None or original in taken:
                    ctx.warn("reversal_unmatched",
                             f"claim {pcn}: reversal (CLP02 22) of a payment that was not loaded (no earlier payment "
                             "of the negated charge and amount): it is kept and nets against nothing",
                             segment=position, claim_reference=pcn)
                    continue
                taken.add(original)
                pairs.append((original, reversal))
            if pairs:
                cursor.execute(
                    "UPDATE rcm_feeds_claimpayment cp SET reversed_by_id = v.reversal "
                    "FROM unnest(%s::bigint[], %s::bigint[]) AS v(original, reversal) WHERE cp.id = v.original",
                    [[a for a, _ in pairs], [b for _, b in pairs]],
                )
                ctx.counts["reversals_linked"] += len(pairs)


_NO_CLAIM: tuple[None, None, None] = (None, None, None)


def _claim_for(rec: x12.ClaimPayment, claims: dict[Any, tuple[int | None, int | None, int | None]],
               payer_id: int | None) -> tuple[int | None, int | None, int | None]:
    pcn = rec.patient_control_number
    if rec.payer_claim_number:
        found = claims.get(("F8", rec.payer_claim_number, pcn))
        if found is not None:
            return found
    return claims.get((pcn, payer_id)) or claims.get(pcn, _NO_CLAIM)


def _reason(adj: x12.Adjustment) -> str:
    if len(adj.reason) > 5:
        raise FileRefused("value_too_long", f"CAS reason code {adj.reason[:20]!r} is longer than 5 characters",
                          segment=adj.segment, line=adj.line, offset=adj.offset)
    return adj.reason


def load_835_record(writer: RemittanceWriter, record: Any) -> bool:
    """Feed one engine record to the writer; False for a record that is not an 835 record."""
    kind = type(record)
    if kind is x12.ClaimPayment:
        writer.claim(record)
    elif kind is x12.Remittance:
        writer.remittance(record)
    elif kind is x12.RemittanceEnd:
        writer.end(record)
    else:
        return False
    return True
