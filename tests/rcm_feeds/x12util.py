"""Shared helpers for the X12 tests: sample paths, interchange building, record collection."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rcm_feeds.x12 import X12Error, parse
from rcm_feeds.x12.tokenizer import Separators

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples" / "x12"
STANDARD = Separators("*", ":", "^", "~")


def sample(relative: str) -> Path:
    path = SAMPLES / relative
    assert path.is_file(), f"missing sample {path}"
    return path


def sample_files() -> list[Path]:
    """Every X12 sample file (not the READMEs and licenses)."""
    return sorted(p for p in SAMPLES.rglob("*")
                  if p.is_file() and p.name not in ("README.md", "LICENSE"))


def isa(seps: Separators = STANDARD, control: str = "000000001", version: str = "00501") -> str:
    e = seps.element
    rep = seps.repetition or "U"
    return e.join(["ISA", "00", " " * 10, "00", " " * 10, "ZZ", "SENDER".ljust(15), "ZZ",
                   "RECEIVER".ljust(15), "240101", "1200", rep, version, control, "0", "T",
                   seps.component])


def build(body: list[list[str]], *, seps: Separators = STANDARD, set_id: str = "835",
          functional_id: str = "HP", version: str = "005010X221A1", newline: str = "\n",
          extra_sets: int = 0) -> bytes:
    """An interchange around ``body`` (segments as element lists) with correct counts."""
    e, t = seps.element, seps.segment + newline
    segs = [isa(seps), e.join(["GS", functional_id, "S", "R", "20240101", "1200", "1", "X",
                               version])]
    for n in range(1 + extra_sets):
        control = f"{n + 1:04d}"
        segs.append(e.join(["ST", set_id, control, version]))
        segs.extend(e.join(s) for s in body)
        segs.append(e.join(["SE", str(len(body) + 2), control]))
    segs.append(e.join(["GE", str(1 + extra_sets), "1"]))
    segs.append(e.join(["IEA", "1", "000000001"]))
    return (t.join(segs) + t).encode("ascii")


def records(data: bytes, **kwargs: Any) -> list[Any]:
    return list(parse(io.BytesIO(data), **kwargs))


def error_of(data: bytes, **kwargs: Any) -> X12Error:
    try:
        records(data, **kwargs)
    except X12Error as exc:
        return exc
    raise AssertionError("expected an X12Error")


def assert_complete_and_unshared(records_: Any) -> None:
    """Every dataclass slot of every record is set (the parser builds some records field by field, without
    their ``__init__``), each equals its dataclass-built copy, and no list is shared between records."""
    import dataclasses

    seen_lists: set[int] = set()
    for rec in records_:
        for f in dataclasses.fields(rec):
            value = getattr(rec, f.name)  # AttributeError if the parser left a slot unset
            if isinstance(value, list):
                assert id(value) not in seen_lists, f"{type(rec).__name__}.{f.name} is shared"
                seen_lists.add(id(value))
        assert dataclasses.replace(rec) == rec
