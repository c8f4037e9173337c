"""Loading an X12 file: the engine's records streamed into the 835, 837, 277CA and 999 writers.

``load_x12`` runs inside the file's transaction. The engine raises ``X12Error`` for a file it
refuses; it is re-raised as ``FileRefused`` (same code, reason, segment, line and offset) so the
run rolls back and quarantines the whole file. A file whose transaction sets are not the kind its
feed receives is refused the same way (``wrong_kind``).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import nullcontext
from typing import IO, Any

from django.db import connection

from revops import bulk
from revops.background_flush import BackgroundFlush

from .. import x12
from ..models import Acknowledgment, AckKind, FeedKind
from ..phi import patient_hasher
from ..x12.records import DIAGNOSIS_QUALIFIERS
from ..x12.ack import AckBatch277, ClaimAck, GroupAck, TransactionAck
from .claims import ClaimInput, ClaimWriter, LineInput, claim_front_end_update
from .context import FileRefused, LoadContext, fit
from .remittances import RemittanceWriter, load_835_record
from .resolve import FacilityResolver, PayerResolver, ProgramResolver

SET_OF_RECORD: dict[type, str] = {
    x12.Remittance: "835", x12.ClaimPayment: "835", x12.RemittanceEnd: "835",
    x12.ClaimBatch: "837", x12.Claim: "837",
    AckBatch277: "277", ClaimAck: "277",
    TransactionAck: "999", GroupAck: "999",
}
SET_OF_FEED = {FeedKind.X12_835: "835", FeedKind.X12_837: "837", FeedKind.X12_277CA: "277",
               FeedKind.X12_999: "999"}
SET_LABEL = {"835": "835 remittances", "837": "837 claims", "277": "277CA claim acknowledgments",
             "999": "999 acknowledgments"}
ACK_BATCH = 5000
# Write full batches of 835/837 claims in a second thread while the next batch is parsed
# (revops.background_flush; bench/rcm_load.py --no-background measures the difference).
BACKGROUND_FLUSH = True
ACK_COLUMNS = ("source_file_id", "source_position", "kind", "reference", "accepted", "rejected", "codes", "claim_id",
               "acknowledged_on")
ACK_TRUSTED = ("source_file_id", "claim_id")  # the file being loaded; claims selected for the tenant


def _is_npi(value: str) -> bool:
    """Ten digits: an NPI (an NM1 with a malformed id is kept without it, not refused)."""
    return len(value) == 10 and value.isdigit()


def refused(exc: x12.X12Error) -> FileRefused:
    return FileRefused(exc.code, exc.reason, segment=exc.segment, line=exc.line, offset=exc.offset)


def load_x12(ctx: LoadContext, stream: IO[bytes]) -> None:
    """Parse and load the file (raises FileRefused for a file that must be quarantined whole)."""
    expected = SET_OF_FEED[ctx.feed.kind]
    if ctx.feed.strict_validation:
        _strict_check(ctx)
    try:
        records = x12.parse(stream, strict=ctx.feed.strict_validation)
        first = next(records, None)
        if first is None:
            raise FileRefused("empty_interchange", "the interchange holds no records")
        found = SET_OF_RECORD[type(first)]
        if found != expected:
            raise FileRefused(
                "wrong_kind", f"the feed {ctx.feed.name!r} receives {SET_LABEL[expected]} but this file holds "
                              f"{SET_LABEL[found]}; send it to a feed of that kind",
                segment=first.segment, line=first.line, offset=first.offset)
        # Full batches of claims are written in a second thread on this transaction's connection
        # while the engine parses the next batch (revops.background_flush).
        overlap = BackgroundFlush(on_done=ctx.background_merge) if BACKGROUND_FLUSH else nullcontext(None)
        with overlap as background:
            loader = _LOADERS[expected](ctx, background)
            _drive(ctx, stream, loader, _chain(first, records))
    except x12.X12Error as exc:
        raise refused(exc) from exc


def _strict_check(ctx: LoadContext) -> None:
    from .files import file_path
    from .strict import pyx12_available, pyx12_refusal

    if not pyx12_available():
        ctx.warn("strict_unavailable", "The feed asks for strict validation but pyx12 is not installed: only the "
                                       "engine's strict mode was applied.")
        return
    refusal = pyx12_refusal(file_path(ctx.file))
    if refusal is not None:
        raise refusal


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def _drive(ctx: LoadContext, stream: IO[bytes], loader: Any, records: Iterator[Any]) -> None:
    tell = getattr(stream, "tell", None)
    for n, record in enumerate(records, start=1):
        loader.add(record)
        if tell is not None and n % 2000 == 0:
            ctx.progress(tell(), f"{n:,} records read")
    loader.finish()
    ctx.flush_warnings()


# -- 835 ---------------------------------------------------------------------------------------

class Remit835Loader:
    def __init__(self, ctx: LoadContext, background: BackgroundFlush | None = None) -> None:
        self.writer = RemittanceWriter(ctx, hasher=patient_hasher(), background=background)

    def add(self, record: Any) -> None:
        load_835_record(self.writer, record)

    def finish(self) -> None:
        self.writer.flush()


# -- 837 ---------------------------------------------------------------------------------------

class Claim837Loader:
    def __init__(self, ctx: LoadContext, background: BackgroundFlush | None = None) -> None:
        self.ctx = ctx
        self.writer = ClaimWriter(ctx, background=background)
        self.payers = PayerResolver(ctx)
        self.programs = ProgramResolver(ctx)
        self.facilities = FacilityResolver()
        self.hasher: Callable[[str], str] = patient_hasher()
        self.payer_of_id: dict[str, int | None] = {}  # raw NM1*PR NM109 -> payer, once resolved
        self.submitted_on = ctx.received_on
        self.reference = ""

    def add(self, record: Any) -> None:
        if type(record) is x12.Claim:
            self.claim(record)
        elif type(record) is x12.ClaimBatch:
            self.batch(record)

    def batch(self, rec: x12.ClaimBatch) -> None:
        group = rec.transaction.group
        self.submitted_on = rec.created or group.date or self.ctx.received_on
        self.reference = f"{group.control_number}/{rec.transaction.control_number}"[:40]
        for w in rec.warnings:
            self.ctx.warn(w.code, w.message, segment=w.segment, line=w.line, offset=w.offset)
        self.ctx.counts["transactions"] += 1

    def claim(self, rec: x12.Claim) -> None:
        ctx = self.ctx
        segment, line_no, offset = rec.segment, rec.line, rec.offset
        sub = rec.subscriber
        pcn, npi, facility_code = rec.control_number, sub.billing_provider.npi, rec.facility_code
        if len(pcn) > 40 or len(npi) > 10 or len(facility_code) > 4 or len(rec.original_claim_number) > 50 \
                or len(rec.prior_authorization) > 50:
            where = {"segment": segment, "line": line_no, "offset": offset}
            fit(pcn, 40, "CLM01 patient control number", **where)
            fit(npi, 10, "billing provider NPI", **where)
            fit(facility_code, 4, "CLM05-1 facility code", **where)
            fit(rec.original_claim_number, 50, "REF*F8 original claim number", **where)
            fit(rec.prior_authorization, 50, "REF*G1 prior authorization", **where)
        # Once a non-blank payer id has been resolved, the resolver answers it from its by-id map
        # without side effects, so later claims of the same payer id skip it.
        payer_id = self.payer_of_id.get(sub.payer_id)
        if payer_id is None:
            payer_id = self.payers.resolve(payer_id=sub.payer_id, name=sub.payer_name, reference=pcn,
                                           segment=segment, line=line_no, offset=offset)
            if sub.payer_id.strip():
                self.payer_of_id[sub.payer_id] = payer_id
        # Service period: what Claim.first_service_date / last_service_date give (min / max of the
        # claim's DTP*472 and DTP*434 and its lines' dates, compared in the same order), in the one
        # pass over the lines.
        first, last = rec.service_from, rec.service_to
        day = rec.statement_from
        if day is not None and (first is None or day < first):
            first = day
        day = rec.statement_to
        if day is not None and (last is None or day > last):
            last = day
        lines = []
        procedures = []
        revenue_codes = []
        for number, ln in enumerate(rec.lines, start=1):
            code, modifiers, revenue, control = ln.code, ":".join(ln.modifiers), ln.revenue_code, ln.control_number
            if len(code) > 12 or len(modifiers) > 20 or len(revenue) > 4 or len(control) > 50:
                at = {"segment": ln.segment, "line": ln.line, "offset": ln.offset}
                fit(code, 12, "procedure code", **at)
                fit(modifiers, 20, "modifiers", **at)
                fit(revenue, 4, "SV201 revenue code", **at)
                fit(control, 50, "REF*6R line control number", **at)
            if code:
                procedures.append(code)
            if revenue:
                revenue_codes.append(revenue)
            day = ln.service_from
            if day is not None and (first is None or day < first):
                first = day
            end = ln.service_to
            if end is not None and (last is None or end > last):
                last = end
            lines.append(LineInput(number, code, modifiers, revenue, ln.charge, ln.units, day, control))
        kind = rec.batch.kind
        program_id = self.programs.resolve(procedures=procedures, revenue_codes=revenue_codes,
                                           facility_code=facility_code, claim_kind=kind)
        referring = rec.referring_npi
        referring_npi = referring if _is_npi(referring) else ""
        if referring and not referring_npi:
            ctx.warn("referring_npi_invalid", f"claim {pcn}: referring/ordering provider NPI "
                     f"{referring[:20]!r} is not 10 digits; the claim is kept without a referral source",
                     claim_reference=pcn, segment=segment, line=line_no, offset=offset)
        facility_id = self.facilities.by_billing_npi(npi)
        if facility_id is None and program_id is not None:
            facility_id = self.programs.facility_of.get(program_id)
        diagnoses = []
        for c in rec.codes:  # Claim.diagnoses, read in place
            if c[0] in DIAGNOSIS_QUALIFIERS and len(c) > 1:
                code = c[1]
                if len(code) > 10:
                    ctx.warn("diagnosis_skipped", f"claim {pcn}: diagnosis {code[:30]!r} is longer than an ICD-10 "
                                                  "code; not kept", claim_reference=pcn, segment=segment,
                             line=line_no, offset=offset)
                    continue
                diagnoses.append(code)
        frequency = rec.frequency if len(rec.frequency) == 1 else "1"
        self.writer.add(ClaimInput(
            source_position=segment, patient_control_number=pcn, kind=kind, payer_id=payer_id,
            program_id=program_id, facility_id=facility_id, part2_program_id=self.programs.part2_of(program_id),
            billing_npi=npi, patient_hash=self.hasher(sub.member_id), charge=rec.charge,
            facility_code=facility_code, frequency=frequency,
            original_payer_claim_number=rec.original_claim_number,
            prior_authorization=rec.prior_authorization,
            diagnoses=diagnoses, service_from=first, service_to=last,
            submitted_on=self.submitted_on, transaction_reference=self.reference, lines=lines,
            referring_npi=referring_npi,
            line=line_no, offset=offset,
        ))
        if rec.warnings:
            for w in rec.warnings:
                ctx.warn(w.code, w.message, segment=w.segment, line=w.line, offset=w.offset, claim_reference=pcn)

    def finish(self) -> None:
        self.writer.flush()


# -- 277CA -------------------------------------------------------------------------------------

class Ack277Loader:
    """One Acknowledgment per claim; a rejection (A3/A6/A7/A8) marks the claim's front end rejected."""

    def __init__(self, ctx: LoadContext, background: BackgroundFlush | None = None) -> None:
        self.ctx = ctx
        self.pending: list[ClaimAck] = []

    def add(self, record: Any) -> None:
        if type(record) is ClaimAck:
            self.pending.append(record)
            if len(self.pending) >= ACK_BATCH:
                self.flush()
        elif type(record) is AckBatch277:
            for w in record.warnings:
                self.ctx.warn(w.code, w.message, segment=w.segment, line=w.line, offset=w.offset)

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        ctx = self.ctx
        claims = _latest_claims({a.patient_control_number for a in batch}, ctx.tenant_id)
        rows = []
        for ack in batch:
            where = {"segment": ack.segment, "line": ack.line, "offset": ack.offset}
            pcn = fit(ack.patient_control_number, 50, "TRN02 claim control number", **where)
            codes = ",".join(":".join(p for p in (s.category, s.code, s.entity) if p) for s in ack.statuses)
            day = next((s.date for s in ack.statuses if s.date is not None), None)
            rows.append((ctx.file.pk, ack.segment, AckKind.CA277, pcn, ack.accepted, ack.rejected, codes[:200],
                         claims.get(pcn), day))
            for w in ack.warnings:
                ctx.warn(w.code, w.message, segment=w.segment, line=w.line, offset=w.offset, claim_reference=pcn)
            if pcn not in claims:
                ctx.warn("ack_unmatched", f"277CA acknowledges claim {pcn}, which is not loaded yet: kept, and "
                                          "linked when its 837 arrives", claim_reference=pcn, **where)
        bulk.copy_insert(Acknowledgment, columns=ACK_COLUMNS, rows=rows, trusted=ACK_TRUSTED)
        matched = sorted({row[7] for row in rows if row[7] is not None})
        for day in claim_front_end_update(matched, ctx.tenant_id) if matched else []:
            ctx.touch(day)
        ctx.counts["acknowledgments"] += len(rows)
        ctx.counts["acknowledgments_rejected"] += sum(1 for row in rows if row[5])
        ctx.counts["claims_acknowledged"] += len(matched)

    def finish(self) -> None:
        self.flush()


def _latest_claims(pcns: set[str], tenant_id: int) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT ON (patient_control_number) patient_control_number, id FROM rcm_feeds_claim "
            "WHERE tenant_id = %s AND patient_control_number = ANY(%s) "
            "ORDER BY patient_control_number, submitted_on DESC, id DESC",
            [tenant_id, list(pcns)],
        )
        return dict(cursor.fetchall())


# -- 999 ---------------------------------------------------------------------------------------

REJECTED_999 = frozenset({"R", "M", "W", "X"})


class Ack999Loader:
    """One Acknowledgment per acknowledged 837 transaction set; a rejection rejects all its claims.

    The claims are those of the most recently loaded 837 whose group and transaction set control
    numbers (GS06/ST02) are the ones the 999 names (AK102/AK202).
    """

    def __init__(self, ctx: LoadContext, background: BackgroundFlush | None = None) -> None:
        self.ctx = ctx
        self.rows: list[tuple[Any, ...]] = []

    def add(self, record: Any) -> None:
        ctx = self.ctx
        if type(record) is GroupAck:
            ctx.counts["groups_acknowledged"] += 1
            return
        if type(record) is not TransactionAck:
            return
        ack: TransactionAck = record
        where = {"segment": ack.segment, "line": ack.line, "offset": ack.offset}
        rejected = ack.code in REJECTED_999
        parts = [f"IK5 {ack.code}", *ack.error_codes]
        parts += [f"IK3 {e.segment_id} at {e.position} code {e.code}" for e in ack.errors]
        codes = "; ".join(parts)[:200]
        day = ack.transaction.group.date or ack.transaction.group.interchange.date
        self.rows.append((ctx.file.pk, ack.segment, AckKind.ACK999, fit(ack.control_number, 50, "AK202", **where),
                          ack.accepted, rejected, codes, None, day))
        reference = f"{ack.group_control_number}/{ack.control_number}"
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH f AS (SELECT max(source_file_id) AS file FROM rcm_feeds_claim
                           WHERE tenant_id = %(t)s AND transaction_reference = %(ref)s)
                UPDATE rcm_feeds_claim c SET front_end_status = %(status)s, front_end_codes = %(codes)s
                FROM f WHERE c.tenant_id = %(t)s AND c.transaction_reference = %(ref)s AND c.source_file_id = f.file
                  {"" if rejected else "AND c.front_end_status = ''"}
                RETURNING c.submitted_on
                """,
                {"t": ctx.tenant_id, "ref": reference, "status": "rejected" if rejected else "accepted",
                 "codes": ("999 " + codes)[:120]},
            )
            updated = cursor.fetchall()
        for (submitted_on,) in updated:
            ctx.touch(submitted_on)
        if rejected:
            ctx.counts["claims_rejected_front_end"] += len(updated)
        if not updated and not _has_set(reference, ctx.tenant_id):
            ctx.warn("ack_unmatched", f"999 acknowledges 837 transaction set {ack.control_number} of group "
                                      f"{ack.group_control_number}, which is not loaded", **where)
        if len(self.rows) >= ACK_BATCH:
            self.flush()

    def flush(self) -> None:
        rows, self.rows = self.rows, []
        if rows:
            bulk.copy_insert(Acknowledgment, columns=ACK_COLUMNS, rows=rows, trusted=ACK_TRUSTED)
            self.ctx.counts["acknowledgments"] += len(rows)
            self.ctx.counts["acknowledgments_rejected"] += sum(1 for row in rows if row[5])

    def finish(self) -> None:
        self.flush()


def _has_set(reference: str, tenant_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM rcm_feeds_claim "
                       "WHERE tenant_id = %s AND transaction_reference = %s)", [tenant_id, reference])
        return bool(cursor.fetchone()[0])


_LOADERS: dict[str, Callable[[LoadContext, BackgroundFlush | None], Any]] = {
    "835": Remit835Loader, "837": Claim837Loader, "277": Ack277Loader, "999": Ack999Loader,
}
