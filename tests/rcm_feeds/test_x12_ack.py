"""277CA claim acknowledgments and 999 transaction-set acknowledgments."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal as D

import pytest

from rcm_feeds.x12 import AckBatch277, ClaimAck, GroupAck, TransactionAck, X12Error, parse
from rcm_feeds.x12.ack import parse_277ca, parse_999

from .x12util import build, error_of, records, sample


def test_277ca_accepted() -> None:
    batch, claim = list(parse_277ca(sample("imsweb/x12_277CA_accepted.txt").open("rb")))
    assert isinstance(batch, AckBatch277) and isinstance(claim, ClaimAck)
    assert (batch.source_name, batch.source_id, batch.receiver_id) == ("NYSDOH", "141797357",
                                                                       "ETIN")
    assert [(s.category, s.code) for s in batch.statuses] == [("A1", "20")]
    assert (claim.patient_control_number, claim.payer_claim_number, claim.provider_npi) == (
        "5781", "1107000000014420", "1234567890")
    assert [(s.category, s.code, s.entity, s.date, s.action) for s in claim.statuses] == [
        ("A2", "20", "", dt.date(2011, 3, 11), "WQ")]
    assert claim.accepted and not claim.rejected and claim.charge == D(125)
    assert (claim.segment, claim.line) == (21, 21)


def test_277ca_rejected_with_pipe_component_separator() -> None:
    batch, claim = list(parse_277ca(sample("imsweb/x12_277CA_rejected.txt").open("rb")))
    assert [(s.category, s.code, s.entity) for s in claim.statuses] == [("A7", "562", "85")]
    assert claim.rejected and not claim.accepted
    assert (claim.patient_control_number, claim.payer_claim_number, claim.bill_type) == (
        "3920394930203", "1107000000001120", "731")
    assert claim.charge == D("199.14")
    assert (claim.service_from, claim.service_to) == (dt.date(2009, 3, 11), dt.date(2009, 3, 11))
    assert batch.statuses[0].category == "A1"  # the batch was received; the claim was not


def test_999_rejected_names_the_segment_in_error() -> None:
    tx, group = records(sample("imsweb/x12_999_rejected.txt").read_bytes())
    assert isinstance(tx, TransactionAck) and isinstance(group, GroupAck)
    assert (tx.functional_id, tx.group_control_number, tx.set_id, tx.control_number) == (
        "HC", "28", "837", "0028")
    assert (tx.code, tx.accepted, tx.error_codes) == ("R", False, ["5"])
    assert [(e.segment_id, e.position, e.code) for e in tx.errors] == [("NM", "17", "1")]
    assert (group.code, group.included, group.received, group.accepted_count, group.accepted) == (
        "R", 1, 1, 0, False)


def test_999_accepted_sample_has_a_wrong_iea02_but_its_content_reads() -> None:
    data = sample("imsweb/x12_999_accepted.txt").read_bytes()
    assert error_of(data).code == "control_number"
    fixed = data.replace(b"IEA*1*000000001", b"IEA*1*000000286")  # in memory, for the content
    tx, group = records(fixed)
    assert (tx.set_id, tx.control_number, tx.implementation, tx.code, tx.accepted) == (
        "837", "0001", "005010X223A2", "A", True)
    assert (group.code, group.accepted_count, group.accepted) == ("A", 1, True)


def test_999_element_errors() -> None:
    body = [["AK1", "HC", "5", "005010X222A1"], ["AK2", "837", "0001"],
            ["IK3", "CLM", "22", "2300", "8"], ["IK4", "2", "782", "6", "1O.00"],
            ["IK5", "R", "5"], ["AK9", "R", "1", "1", "0"]]
    tx, group = records(build(body, set_id="999", functional_id="FA", version="005010X231A1"))
    (seg_error,) = tx.errors
    assert (seg_error.segment_id, seg_error.loop_id) == ("CLM", "2300")
    assert [(e.position, e.element_ref, e.code, e.bad_value) for e in seg_error.elements] == [
        ("2", "782", "6", "1O.00")]
    assert not tx.accepted and group.code == "R"


@pytest.mark.parametrize(("body", "code"), [
    ([["IK5", "A"]], "structure"),
    ([["AK2", "837", "1"]], "structure"),
    ([["AK1", "HC", "1"], ["AK9", "A", "x", "1", "1"]], "bad_number"),
])
def test_999_errors(body: list[list[str]], code: str) -> None:
    assert error_of(build(body, set_id="999", functional_id="FA")).code == code


def test_parse_dispatches_and_refuses_other_transactions() -> None:
    assert isinstance(records(sample("imsweb/x12_277CA_accepted.txt").read_bytes())[1], ClaimAck)
    err = error_of(build([["BGN", "00"]], set_id="270", functional_id="HS"))
    assert err.code == "unsupported" and "'270'" in err.reason
    with pytest.raises(X12Error) as info:
        list(parse_999(io.BytesIO(sample("imsweb/x12_277CA_accepted.txt").read_bytes())))
    assert info.value.code == "wrong_transaction"
    empty = build([], set_id="835").replace(b"ST*835*0001*005010X221A1~\nSE*2*0001~\n", b"")
    with pytest.raises(X12Error) as info:
        list(parse(io.BytesIO(empty.replace(b"GE*1*", b"GE*0*"))))
    assert info.value.code == "empty_interchange"
