"""Typed values out of X12 elements: money, dates, periods and qualified composites."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from .envelope import Separators, parse_ccyymmdd
from .errors import X12Error, X12Warning
from .tokenizer import Segment

_CACHE_LIMIT = 8192  # distinct strings remembered per parse; cleared when full, so memory stays flat
_MISSING: Any = object()


def _is_x12_number(s: str) -> bool:
    """X12 'R'/'N' text: optional minus, digits, at most one decimal point; no exponent or sign +."""
    body = s.replace(".", "", 1)
    return body.isdigit() or (body[:1] == "-" and body[1:].isdigit())


def element_name(els: list[str], idx: int) -> str:
    return f"{els[0]}{idx:02d}"


class Values:
    """Per-parse converter: remembers the separators, the strict flag and small caches."""

    __slots__ = (
        "_dates",
        "_money",
        "component",
        "dates",
        "money_cache",
        "repetition",
        "strict",
    )

    def __init__(self, separators: Separators, *, strict: bool = False) -> None:
        self.component = separators.component
        self.repetition = separators.repetition
        self.strict = strict
        self._money: dict[str, Decimal] = {}
        self._dates: dict[str, dt.date | None] = {}
        self.dates = self._dates  # read directly by hot loops: a hit needs no call
        self.money_cache = self._money

    # -- numbers ------------------------------------------------------------------------------

    def money(self, s: str, seg: Segment, idx: int) -> Decimal:
        """A required amount (or quantity); an empty or malformed one refuses the file."""
        cache = self._money
        value = cache.get(s)
        if value is not None:
            return value
        # _is_x12_number, inlined: most amounts in a file are distinct, so this runs often.
        body = s.replace(".", "", 1)
        if not body.isdigit() and not (body[:1] == "-" and body[1:].isdigit()):
            name = element_name(seg[0], idx)
            if not s:
                raise fail(seg, "missing_value", f"{name} is required but empty")
            raise fail(seg, "bad_number", f"{name} {s[:30]!r} is not a number")
        value = Decimal(s)
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[s] = value
        return value

    def money_or_none(self, s: str, seg: Segment, idx: int) -> Decimal | None:
        return self.money(s, seg, idx) if s else None

    # -- dates --------------------------------------------------------------------------------

    def date(self, s: str, seg: Segment, idx: int, warnings: list[X12Warning]) -> dt.date | None:
        """A CCYYMMDD date; an impossible one is a warning and comes back as None."""
        value: dt.date | None = self._dates.get(s, _MISSING)
        if value is _MISSING:
            value = parse_ccyymmdd(s)
            if len(self._dates) >= _CACHE_LIMIT:
                self._dates.clear()
            self._dates[s] = value
        if value is None and s:
            warnings.append(warning(seg, "bad_date", f"{element_name(seg[0], idx)} {s[:30]!r} is "
                                                     "not a CCYYMMDD date; left empty"))
        return value

    def period(self, fmt: str, s: str, seg: Segment, idx: int,
               warnings: list[X12Warning]) -> tuple[dt.date | None, dt.date | None]:
        """A DTP value by its format qualifier: D8 one day, RD8 a range, DT date and time."""
        if fmt == "RD8":
            first, sep, last = s.partition("-")
            if sep:
                return (self.date(first, seg, idx, warnings), self.date(last, seg, idx, warnings))
        elif fmt == "D8":
            day = self.date(s, seg, idx, warnings)
            return day, day
        elif fmt == "DT" and len(s) == 12:
            day = self.date(s[:8], seg, idx, warnings)
            return day, day
        warnings.append(warning(seg, "bad_date", f"{element_name(seg[0], idx)} {s[:30]!r} does not "
                                                 f"match its format qualifier {fmt!r}; left empty"))
        return None, None

    # -- composites ---------------------------------------------------------------------------

    def qualified(self, value: str, seg: Segment, idx: int,
                  warnings: list[X12Warning]) -> list[str]:
        """Split a composite that starts with a code qualifier (HC:99213, BK:8628, 11:B:1).

        A composite written with a separator other than the declared ISA16 (``HC>55669`` when
        ISA16 is ``:``) is recognisable because a qualifier never contains punctuation. It is
        split on the character actually used and a warning names it; with ``strict`` the file
        is refused instead.
        """
        parts = value.split(self.component)
        if len(parts) > 1 or not value:
            return parts
        used = self._undeclared_separator(value)
        if used is None:
            return parts
        name = element_name(seg[0], idx)
        message = (f"{name} {value[:40]!r} separates its components with {used!r} but the ISA16 "
                   f"component separator is {self.component!r}")
        if self.strict:
            raise fail(seg, "component_separator", message)
        warnings.append(warning(seg, "component_separator",
                                message + f"; read as {' / '.join(value.split(used))}"))
        return value.split(used)

    def _undeclared_separator(self, value: str) -> str | None:
        for i, ch in enumerate(value[:4]):
            if not ch.isalnum():
                if i == 0 or ch == " " or ch == self.repetition:
                    return None
                return ch
        return None

    def procedure(self, value: str, seg: Segment, idx: int,
                  warnings: list[X12Warning]) -> tuple[str, str, tuple[str, ...]]:
        """A procedure composite: (qualifier, code, modifiers). HC:99213:25 -> (HC, 99213, (25,))."""
        parts = self.qualified(value, seg, idx, warnings)
        if len(parts) >= 2:
            mods = tuple(parts[2:6])
            if "" in mods:
                mods = tuple(m for m in mods if m)
            return parts[0], parts[1], mods
        name = element_name(seg[0], idx)
        if len(value) <= 3 and value.isalnum():
            nxt = seg[0][idx + 1] if len(seg[0]) > idx + 1 else ""
            raise fail(seg, "composite_missing",
                       f"{name} {value!r} is a qualifier with no code: the component separator "
                       f"{self.component!r} is missing, so the elements after it are shifted "
                       f"({element_name(seg[0], idx + 1)} would be {nxt!r})")
        warnings.append(warning(seg, "composite_missing",
                                f"{name} {value[:40]!r} has no code qualifier; kept as the code"))
        return "", value, ()


def fail(seg: Segment, code: str, reason: str) -> X12Error:
    els, ordinal, offset, line = seg
    return X12Error(code, reason, segment=ordinal, offset=offset, line=line, segment_id=els[0])


def warning(seg: Segment, code: str, message: str) -> X12Warning:
    return X12Warning(code, message, seg[1], seg[2], seg[3])


def pad(els: list[str], n: int) -> list[str]:
    """The elements list long enough to index up to n-1 (missing trailing elements are empty)."""
    if len(els) < n:
        els.extend([""] * (n - len(els)))
    return els
