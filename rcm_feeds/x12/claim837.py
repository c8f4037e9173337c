"""837P/837I claim parser: streams ClaimBatch and Claim records, each claim knowing its payer."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import BinaryIO

from . import balancing
from .errors import X12Warning
from .records import (
    BillingProvider,
    Claim,
    ClaimBatch,
    OtherPayer,
    ServiceLine,
    Subscriber,
)
from .tokenizer import Segment, Tokenizer
from .values import _MISSING, Values, fail, pad, warning

Record837 = ClaimBatch | Claim

# Sections of the transaction set, to tell which loop an NM1, REF, SBR or DTP belongs to.
_HEADER, _PROVIDER, _SUBSCRIBER, _PATIENT = "header", "2000A", "2000B", "2000C"
_CLAIM, _CLAIM_PARTY, _OTHER_SUBSCRIBER = "2300", "2310", "2320"
_LINE, _LINE_PARTY = "2400", "2420"

HI_QUALIFIERS = frozenset({
    "ABK", "BK", "ABF", "BF", "ABJ", "BJ", "APR", "PR", "ABN", "BN",  # diagnoses
    "BBR", "BR", "BBQ", "BQ", "CAH", "BP", "BO", "DR",  # procedures, DRG
    "BH", "BI", "BE", "BG", "TC",  # occurrence, occurrence span, value, condition, treatment
})


_new = object.__new__

# NM1 entities whose NPI is the claim's referral source: DN referring provider (2310A/2310F, 2420F),
# DK ordering provider (2420E, e.g. the physician who ordered a lab test).
_REFERRERS = ("DN", "DK")


def implementation_kind(implementation: str) -> str | None:
    """P for professional (005010X222, 004010X098), I for institutional (X223, X096)."""
    if "X222" in implementation or "X098" in implementation:
        return "P"
    if "X223" in implementation or "X096" in implementation:
        return "I"
    return None


def parse_837(source: BinaryIO | Tokenizer, *, strict: bool = False,
              balance: bool = True) -> Iterator[Record837]:
    """Stream the 837 transaction sets of an interchange: a ClaimBatch, then its Claims.

    Each Claim is yielded when complete, with its subscriber, payer and billing provider
    resolved through the HL hierarchy; with ``balance`` a CLM02 that differs from the sum of
    the line charges gets a warning. Raises X12Error for a file that cannot be trusted.
    """
    tok = source if isinstance(source, Tokenizer) else Tokenizer(source)
    return _parse(tok, iter(tok), strict=strict, balance=balance)


def _parse(tok: Tokenizer, segments: Iterable[Segment], *, strict: bool,
           balance: bool) -> Iterator[Record837]:
    vals: Values | None = None
    batch: ClaimBatch | None = None
    section = _HEADER
    # The open HL ancestry: (HL01, level, provider, subscriber). 837 loops nest depth-first, so a
    # parent is always on this path; keeping only the path keeps memory flat.
    path: list[tuple[str, str, BillingProvider | None, Subscriber | None]] = []
    next_hl = 1
    provider: BillingProvider | None = None
    subscriber: Subscriber | None = None
    patient_level = False
    claim: Claim | None = None
    line: ServiceLine | None = None
    lx = ""
    other: OtherPayer | None = None
    batch_out = False
    check_837 = balancing.check_claim_837
    new = object.__new__
    cache: dict[str, Decimal] = {}  # the current Values' caches and separator, set at each ST
    dates: dict[str, dt.date | None] = {}
    comp = ":"

    for seg in segments:
        els = seg[0]
        sid = els[0]
        if sid == "DTP":
            if len(els) < 4:
                pad(els, 4)
            qual = els[1]
            if claim is None or vals is None:
                continue
            if section == _LINE:
                if qual == "472" and line is not None:
                    # A D8 day already in the date cache is what Values.period returns for it.
                    day = dates.get(els[3], _MISSING) if els[2] == "D8" else None
                    if day is None or day is _MISSING:
                        line.service_from, line.service_to = vals.period(els[2], els[3], seg, 3,
                                                                         claim.warnings)
                    else:
                        line.service_from = line.service_to = day
            elif section == _CLAIM:
                if qual == "434":
                    claim.statement_from, claim.statement_to = vals.period(els[2], els[3], seg, 3,
                                                                           claim.warnings)
                elif qual == "435":
                    claim.admission_date = vals.period(els[2], els[3], seg, 3, claim.warnings)[0]
                elif qual == "472":
                    claim.service_from, claim.service_to = vals.period(els[2], els[3], seg, 3,
                                                                       claim.warnings)
        elif sid == "SV1" or sid == "SV2":
            if claim is None or vals is None:
                raise fail(seg, "structure", f"{sid} outside a claim (no CLM before it)")
            # _service_line, inlined, with the usual HC:code[:modifiers] split in place.
            if len(els) < 6:
                pad(els, 6)
            # SV1 (professional): SV101 procedure, SV102 charge, SV103 unit basis, SV104 units, SV105 place;
            # SV2 (institutional): SV201 revenue code, SV202 procedure (optional), SV203 charge, SV204 unit
            # basis, SV205 units.
            if sid == "SV1":
                at, revenue, basis, place = 1, "", els[3], els[5]
            else:
                at, revenue, basis, place = 2, els[1], els[4], ""
            value = els[at]
            qualifier = code = ""
            mods: tuple[str, ...] = ()
            if value or at == 1:  # an SV1 always names a procedure; an empty one is reported by procedure()
                parts = value.split(comp)
                if len(parts) >= 2:
                    qualifier, code = parts[0], parts[1]
                    mods = tuple(parts[2:6])
                    if "" in mods:
                        mods = tuple(m for m in mods if m)
                else:
                    qualifier, code, mods = vals.procedure(value, seg, at, claim.warnings)
            charge = cache.get(els[at + 1]) or vals.money(els[at + 1], seg, at + 1)
            units_text = els[at + 3]
            units = (cache.get(units_text) or vals.money(units_text, seg, at + 3)) if units_text else None
            # Built field by field: a dataclass __init__ call costs more than the stores.
            line = new(ServiceLine)
            _, line.segment, line.offset, line.line = seg
            line.number = lx
            line.qualifier = qualifier
            line.code = code
            line.modifiers = mods
            line.revenue_code = revenue
            line.charge = charge
            line.unit_basis = basis
            line.units = units
            line.place_of_service = place
            line.service_from = line.service_to = None
            line.control_number = ""
            claim.lines.append(line)
            section = _LINE
        elif sid == "LX":
            if claim is None:
                raise fail(seg, "structure", "LX outside a claim (no CLM before it)")
            if len(els) < 2:
                pad(els, 2)
            lx = els[1]
            line = None
            section = _LINE
        elif sid == "REF":
            if len(els) < 3:
                pad(els, 3)
            qual = els[1]
            if section == _LINE:
                if qual == "6R" and line is not None:
                    line.control_number = els[2]
            elif section == _CLAIM:
                if qual == "F8":
                    claim.original_claim_number = els[2]  # type: ignore[union-attr]
                elif qual == "G1":
                    claim.prior_authorization = els[2]  # type: ignore[union-attr]
            elif section == _PROVIDER and provider is not None and qual in ("EI", "SY"):
                provider.tax_id = provider.tax_id or els[2]
        elif sid == "NM1":
            if len(els) < 10:
                pad(els, 10)
            entity = els[1]
            if section == _LINE or section == _LINE_PARTY:
                section = _LINE_PARTY
                if entity in _REFERRERS and els[8] == "XX" and claim is not None and not claim.referring_npi:
                    claim.referring_npi = els[9]  # line-level 2420E/F ordering or referring provider
            elif section == _OTHER_SUBSCRIBER:
                if entity == "PR" and other is not None:
                    other.payer_name, other.payer_id = els[3], els[9]
            elif section == _CLAIM or section == _CLAIM_PARTY:
                section = _CLAIM_PARTY
                if entity in _REFERRERS and els[8] == "XX" and claim is not None and not claim.referring_npi:
                    claim.referring_npi = els[9]  # 2310A (837P) / 2310F (837I) referring provider
            elif section == _SUBSCRIBER and subscriber is not None:
                if entity == "IL":
                    subscriber.member_id = els[9]
                elif entity == "PR":
                    subscriber.payer_name, subscriber.payer_id = els[3], els[9]
            elif section == _PROVIDER and provider is not None:
                if entity == "85":
                    provider.name = els[3]
                    if els[8] == "XX":
                        provider.npi = els[9]
            elif section == _HEADER and batch is not None:
                if entity == "41":
                    batch.submitter_name, batch.submitter_id = els[3], els[9]
                elif entity == "40":
                    batch.receiver_name, batch.receiver_id = els[3], els[9]
        elif sid == "HI":
            if claim is not None and section == _CLAIM:
                assert vals is not None
                _codes(vals, seg, claim)
        elif sid == "CLM":
            if claim is not None:
                if balance:
                    claim.warnings.extend(check_837(claim))
                yield claim
            if subscriber is None or vals is None or batch is None:
                raise fail(seg, "structure", "CLM without a subscriber (HL level 22) above it")
            claim = _claim(vals, seg, batch, subscriber, patient_level)
            line, lx, other = None, "", None
            section = _CLAIM
        elif sid == "SBR":
            if len(els) < 10:
                pad(els, 10)
            if section == _SUBSCRIBER and subscriber is not None:
                subscriber.payer_responsibility, subscriber.relationship = els[1], els[2]
                subscriber.group_number, subscriber.filing_indicator = els[3], els[9]
            elif claim is not None and section in (_CLAIM, _CLAIM_PARTY, _OTHER_SUBSCRIBER):
                other = OtherPayer(seg[1], els[1], els[9])
                claim.other_payers.append(other)
                section = _OTHER_SUBSCRIBER
        elif sid == "AMT":
            if section == _OTHER_SUBSCRIBER and other is not None:
                pad(els, 3)
                if els[1] == "D":
                    assert vals is not None
                    other.paid = vals.money(els[2], seg, 2)
        elif sid == "CL1":
            if claim is not None and section == _CLAIM:
                pad(els, 4)
                claim.admission_type, claim.admission_source, claim.patient_status = els[1:4]
        elif sid in ("SVD", "CAS", "LIN", "CTP", "LQ", "FRM"):
            if section == _LINE:
                section = _LINE_PARTY  # line adjudication / drug / form loops: not the line itself
        elif sid == "HL":
            if claim is not None:
                if balance:
                    claim.warnings.extend(check_837(claim))
                yield claim
                claim = line = other = None
            elif not batch_out and batch is not None:
                batch_out = True  # its header (BHT, submitter, receiver) is complete
                yield batch
            pad(els, 5)
            hid, parent, level = els[1], els[2], els[3]
            if hid != str(next_hl):
                raise fail(seg, "hierarchy", f"HL01 {hid[:12]!r} is out of sequence: HL ids count "
                                             f"up from 1, so {next_hl} was expected")
            next_hl += 1
            while path and path[-1][0] != parent:
                path.pop()
            if parent and not path:
                raise fail(seg, "hierarchy", f"HL02 parent {parent[:12]!r} is not an open HL above "
                                             "this one")
            if level == "20":
                provider = BillingProvider(seg[1])
                subscriber, patient_level, section = None, False, _PROVIDER
                path.append((hid, level, provider, None))
            elif level == "22":
                if not path or path[-1][1] != "20":
                    raise fail(seg, "hierarchy", "a subscriber HL (22) must sit under a billing "
                                                 "provider HL (20)")
                provider = path[-1][2]
                assert provider is not None
                subscriber = Subscriber(seg[1], provider)
                patient_level, section = False, _SUBSCRIBER
                path.append((hid, level, provider, subscriber))
            elif level == "23":
                if not path or path[-1][1] != "22":
                    raise fail(seg, "hierarchy", "a patient HL (23) must sit under a subscriber "
                                                 "HL (22)")
                subscriber = path[-1][3]
                patient_level, section = True, _PATIENT
                path.append((hid, level, provider, subscriber))
            else:
                raise fail(seg, "hierarchy", f"HL03 level {level[:6]!r} is not used in an 837 "
                                             "(20 billing provider, 22 subscriber, 23 patient)")
        elif sid == "BHT":
            if batch is not None:
                assert vals is not None
                pad(els, 7)
                batch.purpose, batch.reference, batch.claim_type = els[2], els[3], els[6]
                batch.created = vals.date(els[4], seg, 4, batch.warnings)
        elif sid == "ST":
            st = tok.transaction
            assert st is not None and tok.separators is not None
            if st.set_id != "837":
                raise fail(seg, "wrong_transaction", f"expected an 837 transaction set, found "
                                                     f"{st.set_id!r}")
            kind = implementation_kind(st.implementation)
            if kind is None:
                raise fail(seg, "unsupported", f"837 implementation {st.implementation!r} is "
                                               "neither professional (X222) nor institutional (X223)")
            vals = Values(tok.separators, strict=strict)
            cache, dates, comp = vals.money_cache, vals.dates, vals.component
            batch = ClaimBatch(st, kind, seg[1], seg[2], seg[3])
            batch.warnings.extend(tok.warnings)
            section, path, next_hl = _HEADER, [], 1
            provider = subscriber = None
            claim = line = other = None
            batch_out = False
        elif sid == "SE":
            if claim is not None:
                if balance:
                    claim.warnings.extend(check_837(claim))
                yield claim
            elif not batch_out and batch is not None:
                yield batch
            batch = claim = line = other = None
            provider = subscriber = None


def _claim(vals: Values, seg: Segment, batch: ClaimBatch, subscriber: Subscriber,
           patient_level: bool) -> Claim:
    els = pad(seg[0], 6)
    if not els[1]:
        raise fail(seg, "missing_value", "CLM01 (patient control number) is required")
    warnings: list[X12Warning] = []
    value = els[5]
    if value:
        parts = value.split(vals.component)
        if len(parts) == 1:
            parts = vals.qualified(value, seg, 5, warnings)
    else:
        parts = [""]
    if len(parts) < 3:
        parts += [""] * (3 - len(parts))
    charge = vals.money_cache.get(els[2]) or vals.money(els[2], seg, 2)
    # Built field by field: a dataclass __init__ call costs more than the stores.
    claim = _new(Claim)
    claim.batch = batch
    claim.subscriber = subscriber
    _, claim.segment, claim.offset, claim.line = seg
    claim.control_number = els[1]
    claim.charge = charge
    claim.facility_code, claim.facility_qualifier, claim.frequency = parts[0], parts[1], parts[2]
    claim.patient_is_subscriber = not patient_level
    claim.original_claim_number = claim.prior_authorization = claim.referring_npi = ""
    claim.codes = []
    claim.statement_from = claim.statement_to = claim.admission_date = None
    claim.service_from = claim.service_to = None
    claim.admission_type = claim.admission_source = claim.patient_status = ""
    claim.other_payers = []
    claim.lines = []
    claim.warnings = warnings
    if parts[2] not in ("1", "7", "8"):
        claim.warnings.append(warning(seg, "frequency", f"CLM05-3 frequency {parts[2]!r} is not "
                                                        "1 (original), 7 (replacement) or 8 (void)"))
    return claim


def _codes(vals: Values, seg: Segment, claim: Claim) -> None:
    """HI composites; a qualifier and its code split by the element separator are re-paired."""
    els = seg[0]
    comp = vals.component
    i, n = 1, len(els)
    while i < n:
        value = els[i]
        if not value:
            i += 1
            continue
        parts = value.split(comp)
        if len(parts) == 1:
            parts = vals.qualified(value, seg, i, claim.warnings)
        if len(parts) == 1:
            nxt = els[i + 1] if i + 1 < n else ""
            if value in HI_QUALIFIERS and nxt and vals.component not in nxt:
                message = (f"HI{i:02d} {value!r} and HI{i + 1:02d} {nxt[:20]!r} are one code split by "
                           f"the element separator where the component separator "
                           f"{vals.component!r} belongs; read as {value}{vals.component}{nxt}")
                if vals.strict:
                    raise fail(seg, "component_separator", message)
                claim.warnings.append(warning(seg, "component_separator", message))
                parts = [value, nxt]
                i += 1
            else:
                claim.warnings.append(warning(seg, "composite_missing",
                                              f"HI{i:02d} {value[:20]!r} is not a qualifier and "
                                              "code; skipped"))
                i += 1
                continue
        claim.codes.append(tuple(parts))
        i += 1
