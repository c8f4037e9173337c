"""The X12 engine's one exception type and its warnings, both carrying where in the file."""
from __future__ import annotations

from dataclasses import dataclass


class X12Error(Exception):
    """A file the engine refuses, with a machine code, a reason and where it was found.

    ``segment`` is the 1-based ordinal of the segment in the file (the ISA is 1), ``offset`` the
    byte offset of that segment's first byte, ``line`` the 1-based line it starts on. Any of the
    three is None when the problem is not tied to a segment (an empty file).
    """

    def __init__(
        self,
        code: str,
        reason: str,
        *,
        segment: int | None = None,
        offset: int | None = None,
        line: int | None = None,
        segment_id: str | None = None,
    ) -> None:
        self.code = code
        self.reason = reason
        self.segment = segment
        self.offset = offset
        self.line = line
        self.segment_id = segment_id
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.segment is not None:
            label = f"segment {self.segment}"
            if self.segment_id:
                label += f" ({self.segment_id})"
            where.append(label)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.offset is not None:
            where.append(f"byte {self.offset}")
        return f"{self.reason} [{', '.join(where)}]" if where else self.reason


@dataclass(frozen=True, slots=True)
class X12Warning:
    """Something the loader must show but that does not stop the file loading."""

    code: str
    message: str
    segment: int
    offset: int
    line: int

    def describe(self) -> str:
        return f"{self.message} [segment {self.segment}, line {self.line}, byte {self.offset}]"
