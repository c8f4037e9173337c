"""837P/837I parsing against the public samples, figures read by hand from the segments."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rcm_feeds.x12 import Claim, ClaimBatch, X12Error, parse_837, synth

from .x12util import assert_complete_and_unshared, build, error_of, records, sample

P = "linuxforhealth/837_005010X222A2/"
I = "linuxforhealth/837_005010X223A3/"


def read(relative: str, **kwargs: object) -> tuple[ClaimBatch, list[Claim]]:
    out = list(parse_837(sample(relative).open("rb"), **kwargs))  # type: ignore[arg-type]
    assert isinstance(out[0], ClaimBatch)
    return out[0], [r for r in out if isinstance(r, Claim)]


# file -> [(CLM01, CLM02, CLM05 parts, line charges, member id, payer id, billing NPI)], warnings
SAMPLES_837 = {
    P + "demo.ambulance.example5.837": (
        [("051068", "766.50", ("41", "", "1"), ["700.00", "8.20", "46.00", "12.30"],
          "012345678A", "123245", "2366554859")], []),
    P + "demo.autoaccident.837": (
        [("900000032", "185.00", ("11", "B", "1"), ["150.00", "35.00"], "B99977791G",
          "999888777", "1253695747")], []),
    P + "demo.cob.2ndary.example4.837": (
        [("125WILL", "145.50", ("11", "B", "1"), ["145.50"], "123456789A", "C12345",
          "1234567890")], [("component_separator", 21), ("component_separator", 26),
                           ("component_separator", 28)]),
    P + "demo.cob.example3.A.837": (
        [("26407789", "79.04", ("11", "B", "1"), ["43.00", "15.00", "21.04"], "111223333",
          "999996666", "1999996666")], []),
    P + "demo.cob.example3.B.837": (
        [("26407789", "79.04", ("11", "B", "1"), ["43.00", "15.00", "21.04"], "222334444",
          "567890", "1999996666")], []),
    P + "demo.cob.example3.C.837": (
        [("26407789", "79.04", ("11", "B", "1"), ["43.00", "15.00", "21.04"], "22233444",
          "567890", "1999996666")], []),
    P + "demo.cob.example4.837": (
        [("101KEN6055", "120.00", ("11", "B", "1"), ["120.00"], "102200221B1", "10234",
          "0100000009")], []),
    P + "demo.drug.example10.1.837": (
        [("CLMNO12345", "103.37", ("11", "B", "1"), ["50.00", "53.37"], "MBRID12345",
          "PLANID12345", "1234567893")], []),
    P + "demo.drug.example10.2.837": (
        [("CLMNO12345", "2232.93", ("12", "B", "1"),
          ["1400.00", "682.50", "15.12", "67.69", "57.12", "10.50"], "MBRID01234", "PLANID12345",
          "1234567893")], []),
    P + "demo.drug.example10.3.837": (
        [("CLMNO12345", "2232.93", ("12", "B", "1"),
          ["1400.00", "682.50", "15.12", "67.69", "57.12", "10.50"], "MBRID01234", "PLANID12345",
          "1234567893")], []),
    P + "demo.example1.837": (
        [("26463774", "100.00", ("11", "B", "1"), ["40.00", "15.00", "35.00", "10.00"],
          "JS00111223333", "999996666", "1912301953")], []),
    P + "demo.example11.837": (
        [("ABC123-RI", "28.75", ("11", "B", "1"), ["25.00", "3.75"], "00124A089", "12345",
          "1234567890")], [("component_separator", 21), ("component_separator", 24),
                           ("component_separator", 24), ("component_separator", 32),
                           ("component_separator", 36)]),
    P + "demo.example12.837": (
        [("TS234H3", "252.71", ("23", "B", "1"), ["252.71"], "57976235C", "00123",
          "1122334455")], [("component_separator", 26), ("component_separator", 29),
                           ("component_separator", 39)]),
    P + "demo.example2.837": (
        [("26462967", "100.00", ("11", "B", "1"), ["40.00", "15.00", "35.00", "10.00"],
          "00221111", "741234", "9876543210")], []),
    P + "demo.example6.837": (
        [("125WILL", "145.50", ("11", "B", "1"), ["145.50"], "123456789A", "C12345",
          "1234567890")], [("component_separator", 21), ("component_separator", 26),
                           ("component_separator", 28)]),
    P + "demo.example7.837": (
        [("R03996273 #01", "520.24", ("11", "B", "1"), ["461.10", "59.14"], "111222333A", "99999",
          "9992233334")], []),
    P + "demo.example8.837": (
        [("SMI123", "75.00", ("12", "B", "1"), ["75.00"], "987654321A", "99999", "7778889999")],
        []),
    P + "demo.example9.837": (
        [("153829140", "827.00", ("22", "B", "1"), ["827.00"], "123456789A", "05440",
          "2366554859")], [("component_separator", 20), ("component_separator", 21),
                           ("component_separator", 29)]),
    I + "institutional-claim.837i": (
        [("756048Q", "89.93", ("14", "A", "1"), ["13.39", "76.54"], "030005074A", "00435",
          "9876540809")], []),
    I + "out-of-network-repriced-claim.837i": (
        [("W392-49141", "14.84", ("13", "A", "1"), ["14.84"], "34902390F", "0012", "1122334455")],
        [("component_separator", 20), ("component_separator", 27), ("component_separator", 31)]),
    I + "ppo-repriced-claim.837i": (
        [("456DFH43", "237.50", ("13", "A", "1"), ["178.00", "59.50"], "345U8423H", "7452723",
          "1257234346")], [("component_separator", 26), ("component_separator", 33),
                           ("component_separator", 34), ("component_separator", 35),
                           ("component_separator", 43), ("component_separator", 47)]),
    I + "two-claims-single-provider.837i": (
        [("756048Q", "89.95", ("13", "A", "1"), ["13.39", "76.56"], "030005074", "99999",
          "1234567890"),
         ("756049Q", "50.00", ("13", "A", "1"), ["50.00"], "123405074", "99999", "1234567890")],
        []),
}


@pytest.mark.parametrize("relative", list(SAMPLES_837), ids=lambda r: r.rsplit("/", 1)[1])
def test_every_linuxforhealth_837(relative: str) -> None:
    expected_claims, expected_warnings = SAMPLES_837[relative]
    batch, claims = read(relative)
    assert batch.kind == ("I" if relative.endswith(".837i") else "P")
    got = [(c.control_number, str(c.charge), (c.facility_code, c.facility_qualifier, c.frequency),
            [str(ln.charge) for ln in c.lines], c.subscriber.member_id, c.subscriber.payer_id,
            c.billing_provider.npi) for c in claims]
    assert got == expected_claims
    assert [(w.code, w.segment) for c in claims for w in c.warnings] == expected_warnings
    for claim in claims:
        assert sum(ln.charge for ln in claim.lines) == claim.charge  # no charge warning either


def test_component_separator_mismatch_is_an_error_in_strict_mode() -> None:
    with pytest.raises(X12Error) as info:
        read(P + "demo.example11.837", strict=True)
    assert (info.value.code, info.value.segment, info.value.segment_id) == (
        "component_separator", 21, "CLM")


def test_professional_details() -> None:
    batch, (claim,) = read(P + "demo.example1.837")
    assert (batch.reference, batch.created, batch.claim_type) == ("244579", dt.date(2006, 10, 15),
                                                                  "CH")
    assert (batch.submitter_name, batch.submitter_id) == ("PREMIER BILLING SERVICE", "TGJ23")
    assert batch.receiver_name == "KEY INSURANCE COMPANY"
    assert claim.patient_is_subscriber is False  # HL 23 patient under the subscriber
    sub = claim.subscriber
    assert (sub.payer_responsibility, sub.group_number, sub.filing_indicator) == ("P", "2222-SJ",
                                                                                  "CI")
    assert sub.payer_name == "KEY INSURANCE COMPANY"
    assert claim.billing_provider.tax_id == "587654321"
    assert claim.codes == [("BK", "0340"), ("BF", "V7389")]
    assert claim.diagnoses == ["0340", "V7389"]
    assert [(ln.number, ln.code, ln.units, ln.unit_basis, ln.service_from) for ln in claim.lines][:2] \
        == [("1", "99213", D("1.00"), "UN", dt.date(2006, 10, 3)),
            ("2", "87070", D("1.00"), "UN", dt.date(2006, 10, 3))]
    assert (claim.first_service_date, claim.last_service_date) == (dt.date(2006, 10, 3),
                                                                   dt.date(2006, 10, 10))


def test_drug_lines_and_modifiers() -> None:
    _, (claim,) = read(P + "demo.drug.example10.2.837")
    assert [ln.place_of_service for ln in claim.lines] == ["12"] * 6
    assert (claim.lines[0].service_from, claim.lines[0].service_to) == (dt.date(2004, 2, 1),
                                                                        dt.date(2004, 2, 7))
    _, (claim,) = read(P + "demo.drug.example10.3.837")
    assert [ln.modifiers for ln in claim.lines[3:]] == [(), (), ()]  # J3490 with a description
    _, (claim,) = read(P + "demo.example8.837")
    assert claim.lines[0].modifiers == ("RR", "KH", "BR")


def test_coordination_of_benefits_other_payers() -> None:
    _, (claim,) = read(P + "demo.cob.example3.B.837")
    assert claim.subscriber.payer_responsibility == "S"
    assert [(o.payer_responsibility, o.filing_indicator, o.payer_name, o.payer_id, o.paid)
            for o in claim.other_payers] == [("P", "12", "KEY INSURANCE COMPANY", "999996666",
                                              D("39.15"))]
    # The other payer's NM1*PR (loop 2330B) must not replace the claim's own payer.
    assert claim.subscriber.payer_id == "567890"
    _, (claim,) = read(P + "demo.cob.example4.837")
    assert [(o.payer_name, o.paid) for o in claim.other_payers] == [("COMMERCE", D("80.00"))]


def test_institutional_details() -> None:
    batch, (claim,) = read(I + "institutional-claim.837i")
    assert batch.kind == "I"
    assert (claim.statement_from, claim.statement_to) == (dt.date(1996, 9, 11),
                                                          dt.date(1996, 9, 11))
    assert (claim.admission_type, claim.admission_source, claim.patient_status) == ("3", "", "01")
    assert claim.diagnoses == ["3669", "4019", "79431"]
    assert ("BH", "A1", "D8", "19261111") in claim.codes and ("BG", "09") in claim.codes
    assert ("BE", "A2", "", "", "15.31") in claim.codes  # value code kept raw
    assert [(ln.revenue_code, ln.code, ln.units) for ln in claim.lines] == [
        ("0305", "85025", D("1.00")), ("0730", "93005", D("3.00"))]
    _, (claim,) = read(I + "out-of-network-repriced-claim.837i")
    assert claim.admission_date == dt.date(2005, 6, 17)  # DTP*435*DT*200506170800


def test_two_claims_share_the_billing_provider() -> None:
    _, claims = read(I + "two-claims-single-provider.837i")
    assert claims[0].billing_provider is claims[1].billing_provider
    assert claims[0].subscriber is not claims[1].subscriber


def test_several_claims_per_subscriber_and_a_dependent() -> None:
    body = [
        ["BHT", "0019", "00", "B1", "20240101", "1200", "CH"],
        ["HL", "1", "", "20", "1"], ["NM1", "85", "2", "CLINIC", "", "", "", "", "XX", "111"],
        ["HL", "2", "1", "22", "0"], ["SBR", "P", "18", "", "", "", "", "", "", "CI"],
        ["NM1", "IL", "1", "A", "B", "", "", "", "MI", "M1"],
        ["NM1", "PR", "2", "PAYER ONE", "", "", "", "", "PI", "P1"],
        ["CLM", "C1", "10", "", "", "11:B:1"], ["LX", "1"], ["SV1", "HC:90837", "10", "UN", "1"],
        ["CLM", "C2", "20", "", "", "11:B:7"], ["REF", "F8", "PAYERCLM9"],
        ["LX", "1"], ["SV1", "HC:90834", "20", "UN", "1"],
        ["HL", "3", "1", "22", "1"], ["SBR", "S", "", "", "", "", "", "", "", "MC"],
        ["NM1", "IL", "1", "C", "D", "", "", "", "MI", "M2"],
        ["NM1", "PR", "2", "PAYER TWO", "", "", "", "", "PI", "P2"],
        ["HL", "4", "3", "23", "0"], ["PAT", "19"], ["NM1", "QC", "1", "E", "F"],
        ["CLM", "C3", "30", "", "", "11:B:8"], ["LX", "1"], ["SV1", "HC:90853", "30", "UN", "1"],
    ]
    out = records(build(body, set_id="837", functional_id="HC", version="005010X222A1"))
    claims = [r for r in out if isinstance(r, Claim)]
    assert [(c.control_number, c.subscriber.payer_id, c.subscriber.member_id,
             c.patient_is_subscriber, c.frequency) for c in claims] == [
        ("C1", "P1", "M1", True, "1"), ("C2", "P1", "M1", True, "7"),
        ("C3", "P2", "M2", False, "8")]
    assert claims[1].is_replacement and claims[1].original_claim_number == "PAYERCLM9"
    assert claims[2].is_void and claims[0].subscriber is claims[1].subscriber


def test_imsweb_fixtures_are_refused_with_their_first_defect() -> None:
    for name in ("x12_valid.txt", "x12_many_claims.txt"):
        out: list[object] = []
        with pytest.raises(X12Error) as info:
            out.extend(parse_837(sample("imsweb/" + name).open("rb")))
        err = info.value
        assert (err.code, err.segment, err.segment_id) == ("hierarchy", 27, "HL")
        assert "HL01 '2' is out of sequence" in err.reason
        # Before it: the first claim, whose HI wrote BK*8901 with the element separator.
        (claim,) = [r for r in out if isinstance(r, Claim)]
        assert claim.codes == [("BK", "8901"), ("BF", "87200"), ("BF", "5559")]
        assert [w.code for w in claim.warnings] == ["component_separator", "component_separator",
                                                    "claim_charge_mismatch"]
    err = error_of(sample("imsweb/x223-test.txt").read_bytes())
    assert err.code == "line_break_in_segment"


@pytest.mark.parametrize(("body", "code"), [
    ([["CLM", "C1", "10"]], "structure"),
    ([["HL", "2", "", "20"]], "hierarchy"),
    ([["HL", "1", "", "22"]], "hierarchy"),
    ([["HL", "1", "", "20"], ["HL", "2", "9", "22"]], "hierarchy"),
    ([["HL", "1", "", "20"], ["HL", "2", "1", "19"]], "hierarchy"),
    ([["HL", "1", "", "20"], ["HL", "2", "1", "22"], ["CLM", "C1", "ten"]], "bad_number"),
    ([["HL", "1", "", "20"], ["HL", "2", "1", "22"], ["CLM", "C1", "1"], ["SV1", "HC", "1"]],
     "composite_missing"),
])
def test_837_errors(body: list[list[str]], code: str) -> None:
    data = build(body, set_id="837", functional_id="HC", version="005010X222A1")
    assert error_of(data).code == code


def test_unknown_837_implementation_is_refused() -> None:
    data = build([["BHT", "0019"]], set_id="837", functional_id="HC", version="005010X224A2")
    assert error_of(data).code == "unsupported"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["P", "I"]), st.integers(0, 10 ** 6), st.integers(1, 80))
def test_generated_claims_round_trip(kind: str, seed: int, n: int) -> None:
    buf = io.BytesIO()
    expected = synth.write_837(buf, n, kind=kind, seed=seed)
    claims = [r for r in parse_837(io.BytesIO(buf.getvalue())) if isinstance(r, Claim)]
    assert len(claims) == expected.claims
    assert sum(c.charge for c in claims) == expected.total_charge
    assert sum(len(c.lines) for c in claims) == expected.lines
    assert all(not c.warnings for c in claims)


@pytest.mark.parametrize("relative, npi", [
    (P + "demo.example11.837", "9988776655"),  # claim-level 2310A NM1*DN referring provider
    (P + "demo.example8.837", "1111155555"),  # line-level 2420E NM1*DK ordering provider
    (P + "demo.example7.837", "5555511111"),  # the first of two lines' NM1*DK
    (P + "demo.ambulance.example5.837", ""),  # no referring or ordering provider
])
def test_referral_source_npi(relative: str, npi: str) -> None:
    _, claims = read(relative)
    assert claims[0].referring_npi == npi


# -- records built field by field ------------------------------------------------------------
# Claim and ServiceLine are built without their dataclass __init__ (the costliest part of a
# claim); these pin that every field is set, to the dataclass default where the file says
# nothing, and that no list is shared between records.

_HEAD_837 = [
    ["BHT", "0019", "00", "REF1", "20240101", "1200", "CH"],
    ["NM1", "41", "2", "SUBMITTER", "", "", "", "", "46", "S1"],
    ["NM1", "40", "2", "RECEIVER", "", "", "", "", "46", "R1"],
    ["HL", "1", "", "20", "1"],
    ["NM1", "85", "2", "CLINIC", "", "", "", "", "XX", "1234567893"],
    ["HL", "2", "1", "22", "0"],
    ["SBR", "P", "18", "", "", "", "", "", "", "MB"],
    ["NM1", "IL", "1", "DOE", "", "", "", "", "MI", "M1"],
]


@pytest.mark.parametrize("kind", ["P", "I"])
def test_fast_built_records_equal_the_dataclass_constructor(kind: str) -> None:
    from rcm_feeds.x12 import ServiceLine

    if kind == "P":
        line_seg = ["SV1", "HC:90837:HF::25", "100.00", "UN", "2", "11"]
        version = "005010X222A1"
    else:
        line_seg = ["SV2", "0900", "HC:90837", "100.00", "UN", ""]
        version = "005010X223A2"
    out = records(build(_HEAD_837 + [
        ["CLM", "PCN1", "100.00", "", "", "11:B:1"],
        ["LX", "1"],
        line_seg,
    ], set_id="837", functional_id="HC", version=version))
    batch, claim = out
    assert isinstance(batch, ClaimBatch) and isinstance(claim, Claim)
    ln = claim.lines[0]
    if kind == "P":
        expected_line = ServiceLine(14, ln.offset, 14, "1", "HC", "90837", ("HF", "25"), "",
                                    D("100.00"), "UN", D("2"), "11")
    else:
        expected_line = ServiceLine(14, ln.offset, 14, "1", "HC", "90837", (), "0900",
                                    D("100.00"), "UN", None)
    expected = Claim(batch, claim.subscriber, 12, claim.offset, 12, "PCN1", D("100.00"), "11",
                     "B", "1")
    expected.lines.append(expected_line)
    assert claim == expected


@pytest.mark.parametrize("kind", ["P", "I"])
def test_fast_built_records_are_complete_and_own_their_lists(kind: str) -> None:
    out = io.BytesIO()
    synth.write_837(out, 300, kind=kind, seed=3)
    claims = [r for r in parse_837(io.BytesIO(out.getvalue())) if isinstance(r, Claim)]
    assert len(claims) == 300
    assert_complete_and_unshared([*claims, *(ln for claim in claims for ln in claim.lines)])
