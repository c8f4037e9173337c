"""Streaming X12 tokenizer: separators from the ISA, envelope and control-count checks."""
from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from .envelope import (
    Envelope,
    FunctionalGroup,
    Interchange,
    Separators,
    TransactionSet,
    parse_ccyymmdd,
)
from .errors import X12Error, X12Warning

__all__ = ["FunctionalGroup", "Interchange", "Segment", "Separators", "Tokenizer",
           "TransactionSet", "parse_ccyymmdd"]

# One segment: its elements (elements[0] is the segment id), its 1-based ordinal in the file,
# the byte offset of its first byte and the 1-based line it starts on.
Segment = tuple[list[str], int, int, int]

ISA_LENGTH = 106  # "ISA" + 16 fixed-width elements + their separators + the terminator
# Byte offsets (from the "I" of ISA) where the element separator must stand, one per element.
_ISA_SEPARATOR_AT = (3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103)
_ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
_ENVELOPE = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
_NO_IDS: frozenset[str] = frozenset()
_PRINTABLE = frozenset(range(0x20, 0x7F))
_CRLF = "\r\n"
_TRAILING_OK = frozenset(b" \r\n")  # what may follow the last IEA


class Tokenizer:
    """Reads an interchange from a binary stream in chunks and yields its segments.

    Memory stays flat: only one chunk and one partial segment are held. Everything yielded is
    provisional until iteration ends without an X12Error: control counts and the closing IEA
    are checked as they stream past, so a loader must write what it receives in one
    transaction and roll it back on error.
    """

    def __init__(self, stream: BinaryIO, *, chunk_size: int = 1 << 18) -> None:
        self._stream = stream
        self._chunk_size = chunk_size
        self.separators: Separators | None = None
        self.warnings: list[X12Warning] = []
        self._env = Envelope()

    @property
    def interchange(self) -> Interchange | None:
        return self._env.interchange

    @property
    def group(self) -> FunctionalGroup | None:
        return self._env.group

    @property
    def transaction(self) -> TransactionSet | None:
        return self._env.transaction

    def __iter__(self) -> Iterator[Segment]:
        return self._segments()

    # -- the ISA ------------------------------------------------------------------------------

    def _read_head(self) -> tuple[bytes, int, int]:
        """Bytes from the start of the ISA on, the ISA's file offset and its line."""
        buf = b""
        while True:
            more = self._stream.read(self._chunk_size)
            buf += more
            skip = 3 if buf.startswith(b"\xef\xbb\xbf") else 0
            stripped = buf[skip:].lstrip(b" \t\r\n")
            start = len(buf) - len(stripped)
            if len(stripped) >= ISA_LENGTH or not more:
                break
        if not stripped:
            raise X12Error("empty", "the file is empty", segment=None, offset=0, line=1)
        line = 1 + buf.count(b"\n", 0, start)
        if not stripped.startswith(b"ISA"):
            raise X12Error("missing_isa", _not_isa_reason(stripped), segment=1, offset=start,
                           line=line)
        if len(stripped) < ISA_LENGTH:
            raise X12Error(
                "short_isa",
                f"the file ends {len(stripped)} bytes into the ISA header, which is always "
                f"{ISA_LENGTH} bytes: the interchange is truncated",
                segment=1, offset=start, line=line, segment_id="ISA")
        return stripped, start, line

    def _read_isa(self, head: bytes, offset: int, line: int) -> list[str]:
        def fail(code: str, reason: str) -> X12Error:
            return X12Error(code, reason, segment=1, offset=offset, line=line, segment_id="ISA")

        isa = head[:ISA_LENGTH]
        for i, byte in enumerate(isa):
            if byte not in _PRINTABLE and i not in (3, 82, 104, 105) and i not in _ISA_SEPARATOR_AT:
                raise fail("non_x12_bytes", f"byte 0x{byte:02x} inside the ISA header at byte "
                                            f"{offset + i} is not an X12 character")
        esep = isa[3:4]
        if esep.isalnum() or esep in (b" ", b"\r", b"\n"):
            raise fail("bad_separator", f"the element separator (byte 4, after 'ISA') is "
                                        f"{esep.decode('latin-1')!r}: separators cannot be letters, "
                                        "digits, spaces or line breaks")
        for n, at in enumerate(_ISA_SEPARATOR_AT, start=1):
            if isa[at:at + 1] != esep:
                raise fail("isa_layout",
                           f"the ISA is not the fixed-length {ISA_LENGTH}-byte header: ISA{n - 1:02d} "
                           f"must be {_ISA_WIDTHS[n - 2]} characters, so the element separator "
                           f"{esep.decode('latin-1')!r} should stand at byte {offset + at}"
                           if n > 1 else "ISA must be followed by the element separator")
        text = isa.decode("latin-1")
        element, repetition, component, terminator = text[3], text[82], text[104], text[105]
        version = text[84:89]
        for name, char in (("element separator (byte 4)", element),
                           ("component separator (ISA16)", component),
                           ("segment terminator (after ISA16)", terminator)):
            if char.isalnum() or char == " ":
                raise fail("bad_separator", f"the {name} is {char!r}: separators cannot be "
                                            "letters, digits or spaces")
        for char in (element, repetition, component, terminator):
            if ord(char) > 0x7E:
                raise fail("bad_separator", f"separator {char!r} in the ISA is not an ASCII "
                                            "character")
        if element in _CRLF or component in _CRLF:
            raise fail("bad_separator", "a line break cannot be the element or component separator")
        if len({element, component, terminator}) < 3:
            raise fail("bad_separator",
                       f"the element separator {element!r}, component separator {component!r} "
                       f"and segment terminator {terminator!r} must be three different characters")
        rep: str | None = repetition
        if version < "00402" or repetition.isalnum() or repetition == " ":
            if version >= "00402":
                self.warnings.append(X12Warning(
                    "repetition_separator",
                    f"ISA11 is {repetition!r}, the pre-5010 standards identifier, not a repetition "
                    f"separator although ISA12 is {version}; repeated elements are not split",
                    1, offset, line))
            rep = None
        elif repetition in (element, component, terminator):
            raise fail("bad_separator", f"the repetition separator (ISA11) {repetition!r} is also "
                                        "used as another separator")
        if not text[90:99].isdigit():
            raise fail("bad_control_number", f"ISA13 {text[90:99]!r} must be a 9-digit number")
        els = text[:105].split(element)
        if len(els) != 17:
            raise fail("isa_layout", f"an ISA element contains the element separator {element!r}")
        self.separators = Separators(element, component, rep, terminator)
        return els

    # -- the stream ---------------------------------------------------------------------------

    def _segments(self) -> Iterator[Segment]:
        # Segments are yielded one at a time rather than in per-chunk lists: a list of a chunk's
        # segments keeps tens of thousands of containers alive and the cyclic GC then costs
        # more than the splitting itself.
        head, base, line = self._read_head()
        isa = self._read_isa(head, base, line)
        seps = self.separators
        assert seps is not None
        self._env.open_interchange(isa, 1, base, line)
        yield isa, 1, base, line

        term, esep = seps.segment, seps.element
        allowed = bytes(sorted(_PRINTABLE | {ord(c) for c in (esep, term, seps.component, "\r", "\n")}
                               | ({ord(seps.repetition)} if seps.repetition else set())))
        # What follows the ISA's terminator ("\n", "\r\n" or nothing) is taken as the file's habit.
        after = head[ISA_LENGTH:ISA_LENGTH + 2].decode("latin-1")
        suffix = "\r\n" if after.startswith("\r\n") else after[:1] if after[:1] in _CRLF else ""
        if term in suffix:
            suffix = ""
        term_suffix = term + suffix
        term_lf = 1 if term == "\n" else 0
        per_lf = term_suffix.count("\n")  # line breaks per segment in a uniform chunk
        per_cr = term_suffix.count("\r")

        ordinal, line = 1, line + term_lf + suffix.count("\n")
        offset = base + ISA_LENGTH + len(suffix)  # file offset of pending[0]
        pending = ""
        # One set lookup per segment: ids already validated while a transaction set is open.
        # Envelope ids are never in it, and outside a set it is empty, so both take the slow path.
        valid_ids: set[str] = set()
        ok_ids: set[str] | frozenset[str] = _NO_IDS
        check = self._check
        data: bytes | None = head[ISA_LENGTH + len(suffix):]
        read = self._stream.read
        size = self._chunk_size
        bad_at: int | None = None
        while True:
            if data is None:
                data = read(size)
                if not data:
                    break
            if data.translate(None, allowed):
                bad_at = next(i for i, b in enumerate(data) if b not in allowed)
                bad_offset = offset + len(pending) + bad_at
                bad_byte = data[bad_at]
                data = data[:bad_at]
            text = pending + data.decode("ascii")
            data = None
            if suffix and text.startswith(suffix):
                # The previous chunk ended on a terminator whose line break landed in this one.
                text = text[len(suffix):]
                offset += len(suffix)
                line += per_lf - term_lf

            # Only the line-break counts the checks below compare need are counted; a count
            # only ever compared with zero is a (much cheaper) membership test.
            uniform = False
            if suffix:
                lf = text.count("\n")
                cr = text.count("\r") if per_cr else "\r" in text
                n_term = text.count(term)
                if lf == n_term * per_lf and cr == n_term * per_cr:
                    parts = text.split(term_suffix)
                    uniform = len(parts) - 1 == n_term
            else:
                lf = "\n" in text
                cr = "\r" in text
            if uniform:
                step, chunk_lf = len(term_suffix), per_lf
            elif not lf and not cr:
                # No line break at all: every segment is followed by the bare terminator, which
                # is the uniform case with an empty suffix (the per-segment checks of the other
                # branch cannot fire).
                uniform = True
                parts = text.split(term)
                step, chunk_lf = 1, 0
            if uniform:
                # Every terminator is followed by the same line break and there is no other
                # line break (the counts prove it): split on both at once.
                pending = parts.pop()
                for part in parts:
                    ordinal += 1
                    els = part.split(esep)
                    if els[0] not in ok_ids:
                        ok_ids = valid_ids if check(els, ordinal, offset, line, valid_ids) \
                            else _NO_IDS
                    yield els, ordinal, offset, line
                    offset += len(part) + step
                    line += chunk_lf
            else:
                parts = text.split(term)
                pending = parts.pop()
                # Line breaks are allowed only right after a terminator.
                stray_check = bool(lf or cr)
                for part in parts:
                    ordinal += 1
                    seg_offset = offset
                    offset += len(part) + 1
                    if part and part[0] in _CRLF:
                        body = part.lstrip(_CRLF)
                        k = len(part) - len(body)
                        line += part.count("\n", 0, k)
                        seg_offset += k
                        part = body
                    if stray_check and ("\n" in part or "\r" in part):
                        raise _line_break_error(part, ordinal, seg_offset, line)
                    els = part.split(esep)
                    if els[0] not in ok_ids:
                        ok_ids = valid_ids if check(els, ordinal, seg_offset, line, valid_ids) \
                            else _NO_IDS
                    yield els, ordinal, seg_offset, line
                    line += term_lf
            if bad_at is not None:
                raise X12Error("non_x12_bytes",
                               f"byte 0x{bad_byte:02x} at byte {bad_offset} is not an X12 character "
                               "(X12 allows printable ASCII and the declared separators)",
                               segment=ordinal + 1, offset=bad_offset, line=line)
        self._finish(pending, ordinal, offset, line)

    def _check(self, els: list[str], ordinal: int, offset: int, line: int,
               valid_ids: set[str]) -> bool:
        """Slow path for a segment id not yet seen in this set; return whether a set is open."""
        sid = els[0]
        if sid in _ENVELOPE:
            return self._env.check(els, ordinal, offset, line, self.separators)  # type: ignore[arg-type]
        if sid not in valid_ids:
            _check_segment_id(sid, ordinal, offset, line)
        if self._env.transaction is None:
            raise X12Error(
                "outside_transaction",
                f"segment {sid} after the closing IEA" if self._env.interchange is None
                else f"segment {sid} stands outside a transaction set (ST..SE)",
                segment=ordinal, offset=offset, line=line, segment_id=sid)
        valid_ids.add(sid)
        return True

    def _finish(self, pending: str, ordinal: int, offset: int, line: int) -> None:
        env = self._env
        rest = pending.encode("ascii")
        if rest and any(b not in _TRAILING_OK for b in rest):
            body = pending.lstrip(_CRLF)
            start = offset + len(pending) - len(body)
            if env.interchange is None:
                raise X12Error("data_after_iea", "data after the closing IEA segment",
                               segment=ordinal + 1, offset=start, line=line)
            raise X12Error("truncated",
                           f"the file ends in the middle of a segment ({body[:20]!r}...): "
                           f"no segment terminator {self.separators.segment if self.separators else ''!r}"
                           " after it — the file is truncated",
                           segment=ordinal + 1, offset=start, line=line)
        missing = env.unclosed()
        if missing is None:
            return
        raise X12Error("truncated", f"the file ends early: {missing}", segment=ordinal,
                       offset=offset, line=line)

def _check_segment_id(sid: str, ordinal: int, offset: int, line: int) -> None:
    if not sid:
        raise X12Error("empty_segment", "empty segment or segment without an id (two terminators "
                       "or a separator in a row)", segment=ordinal, offset=offset, line=line)
    if 2 <= len(sid) <= 3 and sid.isalnum() and sid.isupper() and sid[0].isalpha() and sid.isascii():
        return
    raise X12Error("bad_segment_id",
                   f"{sid[:20]!r} is not a segment id (2-3 upper-case letters and digits)",
                   segment=ordinal, offset=offset, line=line)


def _not_isa_reason(start: bytes) -> str:
    first = start[:3].decode("latin-1")
    if first in ("UNA", "UNB"):
        return "this is an EDIFACT file (it starts with UNA/UNB), not X12"
    head = start[:4].decode("latin-1")
    sid = head[:3].rstrip(head[2:3] if not head[2:3].isalnum() else "")
    if 2 <= len(sid) <= 3 and sid.isalnum() and sid.isupper():
        sep = head[len(sid):len(sid) + 1]
        if sep and not sep.isalnum():
            return (f"the file starts with a {sid} segment, not the ISA interchange header: without "
                    "the ISA its separators are unknown, and the engine refuses to assume '*', ':' "
                    "and '~'")
    return "not an X12 interchange: the file does not start with 'ISA'"


def _line_break_error(part: str, ordinal: int, offset: int, line: int) -> X12Error:
    at = min(i for i in (part.find("\n"), part.find("\r")) if i >= 0)
    if not part[:at].strip(" \t"):
        reason = (f"{part[:at]!r} between a segment terminator and the line break: only CR/LF "
                  "may follow a terminator")
    else:
        reason = ("line break inside a segment: only CR/LF right after a segment terminator is "
                  "ignored (is the file wrapped at a fixed width?)")
    return X12Error("line_break_in_segment", reason, segment=ordinal, offset=offset, line=line)
