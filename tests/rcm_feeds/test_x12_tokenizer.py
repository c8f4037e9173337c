"""The X12 tokenizer: separators from the ISA, envelope checks, streaming, hostile input."""
from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rcm_feeds.x12 import X12Error, parse
from rcm_feeds.x12.tokenizer import Separators, Tokenizer

from .x12util import STANDARD, build, error_of, isa, sample, sample_files


def tokens(data: bytes, chunk_size: int = 1 << 16) -> list[tuple[list[str], int, int, int]]:
    return list(Tokenizer(io.BytesIO(data), chunk_size=chunk_size))


def tokenize_error(data: bytes, chunk_size: int = 1 << 16) -> X12Error:
    with pytest.raises(X12Error) as info:
        tokens(data, chunk_size)
    return info.value


def reference_segments(data: bytes) -> list[tuple[list[str], int, int, int]]:
    """Slow and obviously right: read the separators at their fixed ISA positions, walk the text."""
    text = data.decode("latin-1")
    element, terminator = text[3], text[105]
    skip = "".join(c for c in "\r\n" if c != terminator)
    out, pos, number = [], 0, 0
    while True:
        while pos < len(text) and text[pos] in skip:
            pos += 1
        if pos >= len(text):
            return out
        end = text.index(terminator, pos)
        number += 1
        out.append((text[pos:end].split(element), number, pos, text.count("\n", 0, pos) + 1))
        pos = end + 1


# -- separators ----------------------------------------------------------------------------------


def test_separators_come_from_the_isa_not_from_habit() -> None:
    seps = Separators("|", "}", "{", "!")
    data = build([["BPR", "I", "1.00"], ["SVC", "HC}99213", "1.00"]], seps=seps, newline="")
    tok = Tokenizer(io.BytesIO(data))
    segs = list(tok)
    assert tok.separators == seps
    assert [s[0][0] for s in segs] == ["ISA", "GS", "ST", "BPR", "SVC", "SE", "GE", "IEA"]
    assert segs[4][0] == ["SVC", "HC}99213", "1.00"]


def test_uhc_sample_declares_greater_than_as_component_separator() -> None:
    tok = Tokenizer(sample("edi-835-parser/united_healthcare_legacy_sample.txt").open("rb"))
    segs = list(tok)
    assert tok.separators == Separators("*", ">", "^", "~")
    assert len(segs) == 65 and segs[-1][0][0] == "IEA"


def test_277ca_sample_with_pipe_component_separator_and_no_line_breaks() -> None:
    tok = Tokenizer(sample("imsweb/x12_277CA_rejected.txt").open("rb"))
    segs = list(tok)
    assert tok.separators is not None and tok.separators.component == "|"
    assert {s[3] for s in segs} == {1}  # one line: positions still exact
    stc = next(s for s in segs if s[0][0] == "STC" and s[0][1].startswith("A7"))
    assert stc[0][1] == "A7|562|85" and stc[1] == 22


def test_positions_are_ordinal_byte_offset_and_line() -> None:
    data = sample("edi-835-parser/emedny_sample.txt").read_bytes()
    segs = tokens(data)
    clp = [s for s in segs if s[0][0] == "CLP"]
    assert [s[1] for s in clp] == [15, 34, 46]
    for els, _, offset, line in clp:
        assert data[offset:offset + 4] == b"CLP*"
        assert data.count(b"\n", 0, offset) + 1 == line


def test_pre_5010_repetition_placeholder_is_a_warning_not_a_separator() -> None:
    data = build([["BPR", "I", "1.00"]]).replace(b"*^*00501*", b"*U*00501*", 1)
    tok = Tokenizer(io.BytesIO(data))
    list(tok)
    assert tok.separators is not None and tok.separators.repetition is None
    assert [w.code for w in tok.warnings] == ["repetition_separator"]


@pytest.mark.parametrize(("isa16", "terminator", "reason"), [
    ("*", "~", "must be three different characters"),
    (":", ":", "must be three different characters"),
    ("A", "~", "cannot be letters, digits or spaces"),
    (":", "9", "cannot be letters, digits or spaces"),
])
def test_bad_separators_are_refused(isa16: str, terminator: str, reason: str) -> None:
    head = isa()[:-1] + isa16 + terminator
    data = (head + "GS*HP~").encode()
    err = tokenize_error(data)
    assert err.code == "bad_separator" and reason in err.reason
    assert (err.segment, err.offset) == (1, 0)


def test_alphanumeric_element_separator_is_refused() -> None:
    err = tokenize_error(isa().replace("*", "X").encode() + b"~")
    assert err.code == "bad_separator" and "element separator" in err.reason


def test_isa_with_a_short_element_names_it() -> None:
    data = isa().replace("SENDER         ", "SENDER", 1).encode() + b"~" + b"x" * 200
    err = tokenize_error(data)
    assert err.code == "isa_layout" and "ISA06 must be 15 characters" in err.reason


# -- refusals ------------------------------------------------------------------------------------


def test_file_without_isa_is_refused_with_the_reason() -> None:
    err = error_of(sample("edi-835-parser/blue_cross_nc_sample.txt").read_bytes())
    assert err.code == "missing_isa"
    assert "starts with a ST segment" in err.reason and "refuses to assume" in err.reason
    assert (err.segment, err.offset, err.line) == (1, 0, 1)


@pytest.mark.parametrize(("data", "code"), [
    (b"", "empty"),
    (b"   \r\n", "empty"),
    (b"UNA:+.? 'UNB+UNOC:3", "missing_isa"),
    (b"<?xml version='1.0'?>", "missing_isa"),
    (b"ISA*00*", "short_isa"),
])
def test_not_an_interchange(data: bytes, code: str) -> None:
    assert tokenize_error(data).code == code


def test_truncated_mid_segment() -> None:
    data = build([["BPR", "I", "1.00"], ["TRN", "1", "X"]])
    cut = data[:data.index(b"TRN") + 6]
    err = tokenize_error(cut)
    assert err.code == "truncated" and "middle of a segment" in err.reason
    assert err.offset == data.index(b"TRN")


@pytest.mark.parametrize(("cut_before", "missing"), [
    (b"SE*", "no SE"), (b"GE*", "no GE"), (b"IEA*", "no IEA")])
def test_truncated_envelope(cut_before: bytes, missing: str) -> None:
    data = build([["BPR", "I", "1.00"]])
    err = tokenize_error(data[:data.index(cut_before)])
    assert err.code == "truncated" and missing in err.reason


def test_se_segment_count_mismatch() -> None:
    data = build([["BPR", "I", "1.00"], ["TRN", "1", "X"]]).replace(b"SE*4*", b"SE*5*")
    err = tokenize_error(data)
    assert err.code == "control_count" and err.segment_id == "SE"
    assert "SE01 says transaction set 0001 has 5 segments but it has 4" in err.reason


def test_ge_and_iea_counts() -> None:
    data = build([["BPR", "I", "1.00"]], extra_sets=1)
    assert tokenize_error(data.replace(b"GE*2*", b"GE*1*")).reason.startswith("GE01 says group 1 "
                                                                             "has 1 transaction")
    err = tokenize_error(data.replace(b"IEA*1*", b"IEA*2*"))
    assert err.code == "control_count" and "IEA01" in err.reason


def test_control_number_mismatches() -> None:
    data = build([["BPR", "I", "1.00"]])
    assert tokenize_error(data.replace(b"SE*3*0001", b"SE*3*0002")).code == "control_number"
    assert "GE02" in tokenize_error(data.replace(b"GE*1*1", b"GE*1*7")).reason
    err = error_of(sample("imsweb/x12_999_accepted.txt").read_bytes())
    assert err.code == "control_number"
    assert err.reason == "IEA02 '000000001' does not match ISA13 '000000286'"
    assert (err.segment, err.line, err.offset) == (10, 10, 282)


def test_sample_se_counts_that_lie_are_refused() -> None:
    """The imsweb 837 fixtures say SE*25 whatever their length (the parser stops earlier, at their
    HL numbering; the tokenizer alone reaches the SE)."""
    err = tokenize_error(sample("imsweb/x12_valid.txt").read_bytes())
    assert err.code == "control_count" and "has 25 segments but it has 34" in err.reason
    err = tokenize_error(sample("imsweb/x12_many_claims.txt").read_bytes())
    assert err.code == "control_count" and "has 25 segments but it has 11486" in err.reason
    assert (err.segment, err.line) == (11488, 11488)


def test_non_x12_bytes_are_located() -> None:
    data = build([["BPR", "I", "1.00"], ["N1", "PR", "CAFE"]])
    at = data.index(b"CAFE") + 3
    bad = data[:at] + b"\xc9" + data[at + 1:]
    for chunk in (7, 1 << 16):
        err = tokenize_error(bad, chunk)
        assert err.code == "non_x12_bytes" and "0xc9" in err.reason
        assert err.offset == at and err.segment == 5


def test_spaces_before_line_break_in_sample_are_refused() -> None:
    err = tokenize_error(sample("imsweb/x223-test.txt").read_bytes())
    assert err.code == "line_break_in_segment"
    assert "' ' between a segment terminator and the line break" in err.reason
    assert (err.segment, err.line) == (32, 31)


def test_line_break_inside_a_segment() -> None:
    data = build([["N3", "LINE ONE\nLINE TWO"]], newline="")
    assert "inside a segment" in tokenize_error(data).reason


@pytest.mark.parametrize(("data", "code"), [
    (build([["BPR", "I"]]).replace(b"BPR*I", b"bpr*I"), "bad_segment_id"),
    (build([["BPR", "I"]]).replace(b"BPR*I~", b"BPR*I~~"), "empty_segment"),
    (build([["BPR", "I"]]) + b"XYZ*1~", "outside_transaction"),
    (build([["BPR", "I"]]) + b"garbage", "data_after_iea"),
    (build([["BPR", "I"]]).replace(b"GS*", b"ST*835*1~GS*", 1), "structure"),
])
def test_structure_errors(data: bytes, code: str) -> None:
    assert tokenize_error(data).code == code


def test_trailing_line_breaks_and_spaces_after_iea_are_fine() -> None:
    assert tokens(build([["BPR", "I"]]) + b"\r\n\n  ")[-1][0][0] == "IEA"
    assert tokenize_error(build([["BPR", "I"]]) + b"\x00").code == "non_x12_bytes"


def test_two_interchanges_in_one_file() -> None:
    data = build([["BPR", "I"]])
    segs = tokens(data + data)
    assert [s[0][0] for s in segs].count("ISA") == 2


# -- streaming -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [p for p in sample_files()
                                  if p.name != "blue_cross_nc_sample.txt"], ids=lambda p: p.name)
def test_every_sample_tokenizes_the_same_in_any_chunk_size(path) -> None:
    data = path.read_bytes()
    results = []
    for chunk in (1, 2, 3, 5, 64, 1 << 16):
        try:
            results.append(tokens(data, chunk))
        except X12Error as exc:
            results.append((exc.code, exc.segment, exc.offset, exc.line))
    assert all(r == results[0] for r in results)
    if isinstance(results[0], list):
        assert results[0] == reference_segments(data)


def test_memory_stays_flat_on_a_long_file() -> None:
    """Only a chunk and the current segment are held: reading stops after what was consumed."""

    class CountingReader(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.inner = io.BytesIO(data)
            self.read_so_far = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            assert size > 0, "the tokenizer must never read the whole file"
            chunk = self.inner.read(size)
            self.read_so_far += len(chunk)
            return chunk

    body = [["NM1", "QC", "1", "X"]] * 20000
    data = build(body)
    reader = CountingReader(data)
    segs = iter(Tokenizer(reader, chunk_size=4096))  # type: ignore[arg-type]
    for _ in range(100):
        next(segs)
    assert reader.read_so_far <= 2 * 4096 < len(data)


# -- properties ----------------------------------------------------------------------------------

_PUNCT = "!\"#$%&'()*+,/:;<=>?@[\\]^_`{|}~\x1c\x1d\x1e\x1f"
_ALPHABET = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-", max_size=12)
_IDS = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=2, max_size=3).filter(
    lambda s: s[0].isalpha() and s not in ("ISA", "IEA", "GS", "GE", "ST", "SE"))


@st.composite
def interchanges(draw: st.DrawFn) -> tuple[bytes, list[list[str]], Separators]:
    chars = draw(st.lists(st.sampled_from(_PUNCT), min_size=4, max_size=4, unique=True))
    seps = Separators(chars[0], chars[1], chars[2], chars[3])
    body = draw(st.lists(st.builds(lambda sid, els: [sid, *els], _IDS,
                                   st.lists(_ALPHABET, max_size=8)), max_size=30))
    newline = draw(st.sampled_from(["", "\n", "\r\n"]))
    return build(body, seps=seps, newline=newline), body, seps


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(interchanges(), st.integers(min_value=1, max_value=300))
def test_well_formed_interchanges_round_trip(generated: tuple[bytes, list[list[str]], Separators],
                                             chunk: int) -> None:
    data, body, seps = generated
    tok = Tokenizer(io.BytesIO(data), chunk_size=chunk)
    segs = list(tok)
    assert tok.separators == seps
    assert [s[0] for s in segs[3:-3]] == body
    assert segs == reference_segments(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_x12_errors(data: bytes) -> None:
    try:
        list(parse(io.BytesIO(data)))
    except X12Error:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_after_a_valid_isa_raise_only_x12_errors(tail: bytes) -> None:
    try:
        list(parse(io.BytesIO(isa().encode() + b"~" + tail)))
    except X12Error:
        pass


_MUTATION_SOURCES = [p.read_bytes() for p in sample_files()]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(range(len(_MUTATION_SOURCES))),
       st.lists(st.tuples(st.sampled_from(["flip", "insert", "delete"]), st.integers(0, 10 ** 6),
                          st.binary(min_size=1, max_size=3)), min_size=1, max_size=4),
       st.booleans())
def test_mutated_samples_raise_only_x12_errors(which: int, edits: list[tuple[str, int, bytes]],
                                               strict: bool) -> None:
    data = bytearray(_MUTATION_SOURCES[which])
    for kind, at, payload in edits:
        at %= max(len(data), 1)
        if kind == "flip":
            data[at:at + len(payload)] = payload
        elif kind == "insert":
            data[at:at] = payload
        else:
            del data[at:at + len(payload)]
    try:
        list(parse(io.BytesIO(bytes(data)), strict=strict))
    except X12Error:
        pass


def test_standard_separators_default() -> None:
    assert STANDARD == Separators("*", ":", "^", "~")
