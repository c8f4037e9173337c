"""Front-end acknowledgments: 277CA claim acceptance (STC) and 999 transaction-set acceptance."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO

from .envelope import TransactionSet
from .errors import X12Warning
from .tokenizer import Segment, Tokenizer
from .values import Values, fail, pad

# 277CA STC01-1 claim status categories (code list 507).
ACCEPTED_CATEGORIES = frozenset({"A0", "A1", "A2", "A5"})  # forwarded, received, accepted, split
REJECTED_CATEGORIES = frozenset({"A3", "A6", "A7", "A8"})  # returned, missing/invalid/relational
# 999 IK501 / AK901 acknowledgment codes that accept the transaction set or group.
ACCEPTED_999 = frozenset({"A", "E"})  # accepted, accepted with errors noted


@dataclass(slots=True)
class ClaimStatus:
    """One STC status composite (STC01, STC10 or STC11)."""

    category: str  # A1 received, A2 accepted, A7 rejected for invalid information, ...
    code: str  # claim status code (code list 508), e.g. 20 accepted, 562 entity's identifier
    entity: str  # entity identifier the status is about, e.g. 85 billing provider
    date: dt.date | None  # STC02
    action: str  # STC03: WQ accepted, U rejected
    amount: Decimal | None  # STC04 total claim charge
    segment: int
    offset: int
    line: int


@dataclass(slots=True)
class AckBatch277:
    """One 277CA transaction set: who acknowledges and batch-level statuses (HL 20/21/19)."""

    transaction: TransactionSet
    segment: int
    offset: int
    line: int
    source_name: str = ""  # HL 20 NM1*PR / AY: the payer or clearinghouse acknowledging
    source_id: str = ""
    receiver_id: str = ""  # HL 21 NM1*41: the submitter
    statuses: list[ClaimStatus] = field(default_factory=list)  # receiver/provider-level STC
    warnings: list[X12Warning] = field(default_factory=list)


@dataclass(slots=True)
class ClaimAck:
    """One claim in a 277CA (loop 2200D): its numbers and statuses."""

    batch: AckBatch277
    segment: int
    offset: int
    line: int
    patient_control_number: str  # TRN02 = the 837's CLM01
    provider_npi: str = ""  # HL 19 NM1*85
    payer_claim_number: str = ""  # REF*1K
    clearinghouse_trace: str = ""  # REF*D9
    bill_type: str = ""  # REF*BLT (institutional)
    service_from: dt.date | None = None  # DTP*472
    service_to: dt.date | None = None
    statuses: list[ClaimStatus] = field(default_factory=list)
    line_statuses: list[ClaimStatus] = field(default_factory=list)  # loop 2220D SVC/STC
    warnings: list[X12Warning] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        return any(s.category in REJECTED_CATEGORIES for s in self.statuses)

    @property
    def accepted(self) -> bool:
        return not self.rejected and any(s.category in ACCEPTED_CATEGORIES for s in self.statuses)

    @property
    def charge(self) -> Decimal | None:
        return next((s.amount for s in self.statuses if s.amount is not None), None)


def parse_277ca(source: BinaryIO | Tokenizer) -> Iterator[AckBatch277 | ClaimAck]:
    """Stream 277CA transaction sets: an AckBatch277, then one ClaimAck per claim."""
    tok = source if isinstance(source, Tokenizer) else Tokenizer(source)
    return _parse_277(tok, iter(tok))


def _parse_277(tok: Tokenizer, segments: Iterable[Segment]) -> Iterator[AckBatch277 | ClaimAck]:
    vals: Values | None = None
    batch: AckBatch277 | None = None
    batch_out = False
    level = ""
    npi = ""
    claim: ClaimAck | None = None
    in_line = False
    for seg in segments:
        els = seg[0]
        sid = els[0]
        if sid == "STC":
            assert vals is not None and batch is not None
            target = batch.statuses if claim is None else (
                claim.line_statuses if in_line else claim.statuses)
            target.extend(_statuses(vals, seg, claim.warnings if claim else batch.warnings))
        elif sid == "TRN":
            pad(els, 3)
            if level in ("PT", "22", "23") and els[1] == "2":
                assert batch is not None
                if claim is not None:
                    yield claim
                elif not batch_out:
                    batch_out = True
                    yield batch
                claim = ClaimAck(batch, seg[1], seg[2], seg[3], els[2], npi)
                in_line = False
        elif sid == "REF":
            if claim is not None and not in_line:
                pad(els, 3)
                if els[1] == "1K":
                    claim.payer_claim_number = els[2]
                elif els[1] == "D9":
                    claim.clearinghouse_trace = els[2]
                elif els[1] == "BLT":
                    claim.bill_type = els[2]
        elif sid == "DTP":
            if claim is not None and not in_line:
                assert vals is not None
                pad(els, 4)
                if els[1] == "472":
                    claim.service_from, claim.service_to = vals.period(els[2], els[3], seg, 3,
                                                                       claim.warnings)
        elif sid == "SVC":
            in_line = claim is not None
        elif sid == "NM1":
            pad(els, 10)
            if batch is not None:
                if level == "20":
                    batch.source_name, batch.source_id = els[3], els[9]
                elif level == "21" and els[1] == "41":
                    batch.receiver_id = els[9]
                elif level == "19" and els[1] == "85":
                    npi = els[9] if els[8] == "XX" else ""
        elif sid == "HL":
            if claim is not None:
                yield claim
                claim = None
            pad(els, 4)
            level = els[3]
            if level in ("20", "21"):
                npi = ""
        elif sid == "ST":
            st = tok.transaction
            assert st is not None and tok.separators is not None
            if st.set_id != "277":
                raise fail(seg, "wrong_transaction", f"expected a 277 transaction set, found "
                                                     f"{st.set_id!r}")
            vals = Values(tok.separators)
            batch = AckBatch277(st, seg[1], seg[2], seg[3])
            batch.warnings.extend(tok.warnings)
            batch_out, level, npi, claim = False, "", "", None
        elif sid == "SE":
            if claim is not None:
                yield claim
            elif not batch_out and batch is not None:
                yield batch
            batch = claim = None


def _statuses(vals: Values, seg: Segment, warnings: list[X12Warning]) -> list[ClaimStatus]:
    els = pad(seg[0], 12)
    date = vals.date(els[2], seg, 2, warnings)
    amount = vals.money_or_none(els[4], seg, 4)
    out = []
    for i in (1, 10, 11):
        if els[i]:
            parts = vals.qualified(els[i], seg, i, warnings) + ["", ""]
            out.append(ClaimStatus(parts[0], parts[1], parts[2], date, els[3], amount if i == 1
                                   else None, seg[1], seg[2], seg[3]))
    if not out:
        raise fail(seg, "missing_value", "STC01 (claim status) is required")
    return out


# -- 999 ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class ElementError:
    """IK4: an element in error inside the segment named by the IK3 before it."""

    position: str  # IK401 composite: element position[:component position[:repeat]]
    element_ref: str  # IK402 data element reference number
    code: str  # IK403 implementation data element syntax error code
    bad_value: str  # IK404 copy of the bad data


@dataclass(slots=True)
class SegmentError:
    """IK3: a segment in error in the acknowledged transaction set."""

    segment_id: str  # IK301
    position: str  # IK302: segment position counted from that set's ST (ST = 1)
    loop_id: str  # IK303
    code: str  # IK304 implementation segment syntax error code
    elements: list[ElementError]
    segment: int
    offset: int
    line: int


@dataclass(slots=True)
class TransactionAck:
    """AK2..IK5: whether one submitted transaction set (e.g. an 837 ST) was accepted."""

    transaction: TransactionSet  # the 999's own transaction set
    functional_id: str  # AK101 of the acknowledged group: HC for 837
    group_control_number: str  # AK102 = the 837's GS06
    set_id: str  # AK201: 837
    control_number: str  # AK202 = the 837's ST02
    implementation: str  # AK203
    code: str  # IK501: A accepted, E accepted with errors, R rejected, M, W, X
    error_codes: list[str]  # IK502..IK506
    errors: list[SegmentError]
    segment: int
    offset: int
    line: int

    @property
    def accepted(self) -> bool:
        return self.code in ACCEPTED_999


@dataclass(slots=True)
class GroupAck:
    """AK9: the verdict on the acknowledged functional group."""

    transaction: TransactionSet
    functional_id: str
    group_control_number: str
    version: str  # AK103
    code: str  # AK901: A, E, P partially accepted, R, M, W, X
    included: int  # AK902 transaction sets included
    received: int  # AK903
    accepted_count: int  # AK904
    error_codes: list[str]  # AK905..AK909
    segment: int
    offset: int
    line: int

    @property
    def accepted(self) -> bool:
        return self.code in ACCEPTED_999


def parse_999(source: BinaryIO | Tokenizer) -> Iterator[TransactionAck | GroupAck]:
    """Stream 999 acknowledgments: a TransactionAck at each IK5, a GroupAck at each AK9."""
    tok = source if isinstance(source, Tokenizer) else Tokenizer(source)
    return _parse_999(tok, iter(tok))


def _parse_999(tok: Tokenizer, segments: Iterable[Segment]) -> Iterator[TransactionAck | GroupAck]:
    ak1: list[str] = []
    ak2: list[str] | None = None
    errors: list[SegmentError] = []
    for seg in segments:
        els = seg[0]
        sid = els[0]
        if sid == "IK3":
            pad(els, 5)
            errors.append(SegmentError(els[1], els[2], els[3], els[4], [], seg[1], seg[2], seg[3]))
        elif sid == "IK4":
            if not errors:
                raise fail(seg, "structure", "IK4 without the IK3 segment error it belongs to")
            pad(els, 5)
            errors[-1].elements.append(ElementError(els[1], els[2], els[3], els[4]))
        elif sid == "AK2":
            if not ak1:
                raise fail(seg, "structure", "AK2 without the AK1 (group response) it belongs to")
            ak2 = pad(els, 4)
            errors = []
        elif sid == "IK5":
            if ak2 is None:
                raise fail(seg, "structure", "IK5 without the AK2 it closes")
            st = tok.transaction
            assert st is not None
            pad(els, 7)
            yield TransactionAck(st, ak1[1], ak1[2], ak2[1], ak2[2], ak2[3], els[1],
                                 [c for c in els[2:7] if c], errors, seg[1], seg[2], seg[3])
            ak2, errors = None, []
        elif sid == "AK1":
            ak1 = pad(els, 4)
        elif sid == "AK9":
            if not ak1:
                raise fail(seg, "structure", "AK9 without the AK1 it closes")
            st = tok.transaction
            assert st is not None
            pad(els, 10)
            yield GroupAck(st, ak1[1], ak1[2], ak1[3], els[1], _count(els[2], seg, 2),
                           _count(els[3], seg, 3), _count(els[4], seg, 4),
                           [c for c in els[5:10] if c], seg[1], seg[2], seg[3])
        elif sid == "ST":
            st = tok.transaction
            assert st is not None and tok.separators is not None
            if st.set_id != "999":
                raise fail(seg, "wrong_transaction", f"expected a 999 transaction set, found "
                                                     f"{st.set_id!r}")
            ak1, ak2, errors = [], None, []


def _count(value: str, seg: Segment, idx: int) -> int:
    if not value.isdigit():
        raise fail(seg, "bad_number", f"AK9{idx:02d} {value[:20]!r} is not a count")
    return int(value)
