"""X12 envelopes (ISA/GS/ST and their closing IEA/GE/SE): what they say and their checks."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .errors import X12Error


def parse_ccyymmdd(value: str) -> dt.date | None:
    """A CCYYMMDD date, or None when the text is not a real date."""
    if len(value) != 8 or not value.isdigit():
        return None
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Separators:
    element: str
    component: str
    repetition: str | None
    segment: str


@dataclass(slots=True)
class Interchange:
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    date: dt.date | None
    time: str
    version: str
    control_number: str
    usage: str  # ISA15: P production, T test
    segment: int
    offset: int
    line: int

    @property
    def is_test(self) -> bool:
        return self.usage != "P"


@dataclass(slots=True)
class FunctionalGroup:
    functional_id: str  # GS01: HP 835, HC 837, HN 277, FA 999
    sender_id: str
    receiver_id: str
    date: dt.date | None
    control_number: str
    version: str  # GS08, e.g. 005010X221A1
    interchange: Interchange
    segment: int
    offset: int
    line: int


@dataclass(slots=True)
class TransactionSet:
    set_id: str  # ST01: 835, 837, 277, 999
    control_number: str
    implementation: str  # ST03, else the group's GS08
    group: FunctionalGroup
    segment: int
    offset: int
    line: int


@dataclass(slots=True)
class Envelope:
    """Open envelopes and their counts while the file streams past, and their checks."""

    interchanges: int = 0
    groups_in_isa: int = 0
    sets_in_group: int = 0
    interchange: Interchange | None = None
    group: FunctionalGroup | None = None
    transaction: TransactionSet | None = None

    def open_interchange(self, els: list[str], ordinal: int, offset: int, line: int) -> None:
        self.interchange = Interchange(
            sender_qualifier=els[5], sender_id=els[6].rstrip(), receiver_qualifier=els[7],
            receiver_id=els[8].rstrip(), date=parse_ccyymmdd("20" + els[9]), time=els[10],
            version=els[12], control_number=els[13], usage=els[15], segment=ordinal,
            offset=offset, line=line)
        self.groups_in_isa = 0
        self.interchanges += 1

    def check(self, els: list[str], ordinal: int, offset: int, line: int,
              separators: Separators) -> bool:
        """Check one envelope segment; return whether a transaction set is open after it."""
        sid = els[0]

        def fail(code: str, reason: str) -> X12Error:
            return X12Error(code, reason, segment=ordinal, offset=offset, line=line, segment_id=sid)

        def count(value: str, what: str) -> int:
            if not value.isdigit():
                raise fail("bad_control_count", f"{what} {value!r} is not a number")
            return int(value)

        els = els + [""] * (9 - len(els)) if len(els) < 9 else els
        if sid == "ST":
            if self.group is None:
                raise fail("structure", "ST outside a functional group (no GS before it)")
            if self.transaction is not None:
                raise fail("structure", f"ST while transaction set "
                                        f"{self.transaction.control_number} is still open (no SE)")
            if not els[1] or not els[2]:
                raise fail("structure", "ST must carry the transaction set id and control number")
            self.transaction = TransactionSet(els[1], els[2], els[3] or self.group.version,
                                             self.group, ordinal, offset, line)
            return True
        if sid == "SE":
            st = self.transaction
            if st is None:
                raise fail("structure", "SE without an open transaction set (no ST)")
            declared = count(els[1], "SE01 segment count")
            actual = ordinal - st.segment + 1
            if declared != actual:
                raise fail("control_count",
                           f"SE01 says transaction set {st.control_number} has {declared} "
                           f"segments but it has {actual} (ST at segment {st.segment} to this SE)")
            if els[2] != st.control_number:
                raise fail("control_number", f"SE02 {els[2]!r} does not match ST02 "
                                             f"{st.control_number!r}")
            self.transaction = None
            self.sets_in_group += 1
            return False
        if sid == "GS":
            if self.interchange is None:
                raise fail("structure", "GS outside an interchange (no ISA before it)")
            if self.group is not None:
                raise fail("structure", f"GS while group {self.group.control_number} is still "
                                        "open (no GE)")
            self.group = FunctionalGroup(els[1], els[2], els[3], parse_ccyymmdd(els[4]), els[6],
                                        els[8], self.interchange, ordinal, offset, line)
            self.sets_in_group = 0
            return False
        if sid == "GE":
            gs = self.group
            if gs is None or self.transaction is not None:
                raise fail("structure", "GE without an open group" if gs is None else
                           f"GE while transaction set {self.transaction.control_number} "  # type: ignore[union-attr]
                           "is still open (no SE)")
            declared = count(els[1], "GE01 transaction set count")
            if declared != self.sets_in_group:
                raise fail("control_count", f"GE01 says group {gs.control_number} has {declared} "
                                            f"transaction sets but it has {self.sets_in_group}")
            if els[2] != gs.control_number:
                raise fail("control_number", f"GE02 {els[2]!r} does not match GS06 "
                                             f"{gs.control_number!r}")
            self.group = None
            self.groups_in_isa += 1
            return False
        if sid == "IEA":
            isa = self.interchange
            if isa is None or self.group is not None:
                raise fail("structure", "IEA without an open interchange" if isa is None else
                           f"IEA while group {self.group.control_number} is still open (no GE)")  # type: ignore[union-attr]
            declared = count(els[1], "IEA01 group count")
            if declared != self.groups_in_isa:
                raise fail("control_count", f"IEA01 says the interchange has {declared} "
                                            f"functional groups but it has {self.groups_in_isa}")
            if els[2] != isa.control_number:
                raise fail("control_number", f"IEA02 {els[2]!r} does not match ISA13 "
                                             f"{isa.control_number!r}")
            self.interchange = None
            return False
        # A further ISA after an IEA: the same separators are required, since the stream was
        # already split with the first interchange's.
        seps = separators
        if self.interchange is not None:
            raise fail("structure", f"ISA while interchange {self.interchange.control_number} is "
                                    "still open (no IEA)")
        if len(els) != 17 or els[16] != seps.component or (
                seps.repetition is not None and els[11] != seps.repetition):
            raise fail("bad_separator", "a second interchange in the file uses different "
                                        "separators; send each interchange as its own file")
        if not els[13].isdigit():
            raise fail("bad_control_number", f"ISA13 {els[13]!r} must be a 9-digit number")
        self.open_interchange(els, ordinal, offset, line)
        return False

    def unclosed(self) -> str | None:
        """What is still open at the end of the file, if anything."""
        if self.transaction is not None:
            return f"transaction set {self.transaction.control_number} is not closed (no SE)"
        if self.group is not None:
            return f"functional group {self.group.control_number} is not closed (no GE)"
        if self.interchange is not None:
            return f"interchange {self.interchange.control_number} is not closed (no IEA)"
        return None
