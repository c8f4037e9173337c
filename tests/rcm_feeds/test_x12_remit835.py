"""835 parsing and balancing against the public samples, figures hand-computed from the segments."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rcm_feeds.x12 import ClaimPayment, Remittance, RemittanceEnd, X12Error, parse_835, synth
from rcm_feeds.x12.denials import claim_denials
from rcm_feeds.x12.tokenizer import Separators

from .x12util import assert_complete_and_unshared, build, error_of, records, sample

LFH = "linuxforhealth/835_005010X221A1/"


def read(relative: str, **kwargs: object) -> tuple[Remittance, list[ClaimPayment], RemittanceEnd]:
    out = list(parse_835(sample(relative).open("rb"), **kwargs))  # type: ignore[arg-type]
    remits = [r for r in out if isinstance(r, Remittance)]
    ends = [r for r in out if isinstance(r, RemittanceEnd)]
    assert len(remits) == len(ends) == 1
    assert out[0] is remits[0] and out[-1] is ends[0]
    return remits[0], [r for r in out if isinstance(r, ClaimPayment)], ends[0]


def cas(items: list) -> list[tuple[str, str, D]]:  # type: ignore[type-arg]
    return [(a.group, a.reason, a.amount) for a in items]


def test_managed_care() -> None:
    remit, claims, end = read(LFH + "managed-care.835")
    assert (remit.handling_code, remit.payment_amount, remit.payment_method) == ("I", D("945.00"),
                                                                                 "ACH")
    assert (remit.trace_number, remit.trace_originator) == ("7170066655", "1935665544")
    assert (remit.payer_name, remit.payee_name, remit.payee_npi) == (
        "RUSHMORE LIFE", "ACME MEDICAL CENTER", "5544667733")
    assert remit.payee_tax_id == "777667755"  # REF*TJ
    assert remit.production_date == dt.date(2002, 3, 14)
    # BPR16 20002316 has month 23: not a date; the file still loads, with the warning.
    assert remit.payment_date is None
    assert [w.code for w in remit.warnings] == ["bad_date"] and remit.warnings[0].segment == 4
    assert [(c.patient_control_number, c.status, c.charge, c.paid, c.patient_responsibility)
            for c in claims] == [("5554555444", "1", D("800.00"), D("450.00"), D("300.00")),
                                 ("8765432112", "1", D("1200.00"), D("495.00"), D("600.00"))]
    assert [c.payer_claim_number for c in claims] == ["94060555410000", "94077799230000"]
    assert [c.patient_member_id for c in claims] == ["33344555510", "44455666610"]
    first, second = claims
    assert cas(first.adjustments) == [("CO", "A2", D("50.00"))]
    assert cas(first.lines[0].adjustments) == [("PR", "1", D("300.00"))]
    assert (first.lines[0].code, first.lines[0].charge, first.lines[0].paid) == (
        "99211", D("800.00"), D("500.00"))
    assert (first.lines[0].service_from, first.lines[0].service_to) == (
        dt.date(2002, 3, 1), dt.date(2002, 3, 4))
    assert cas(second.lines[0].adjustments) == [("PR", "1", D("600.00")), ("CO", "45", D("50.00"))]
    assert (end.claim_count, end.total_charge, end.total_paid) == (2, D("2000.00"), D("945.00"))
    assert end.provider_adjustments == [] and end.warnings == []
    assert all(c.warnings == [] for c in claims)  # 800-450 = 50+300; 1200-495 = 55+600+50
    assert [d for c in claims for d in claim_denials(c)] == []


def test_medicare_part_a_negative_plb() -> None:
    remit, claims, end = read(LFH + "medicare-part-a.835")
    assert (remit.handling_code, remit.payment_amount, remit.payment_date) == (
        "C", D("150000.00"), dt.date(2002, 9, 13))
    assert remit.payer_id == "999"  # N1*PR has no N104: REF*2U
    assert [(c.patient_control_number, c.charge, c.paid, c.filing_indicator) for c in claims] == [
        ("666123", D("211366.97"), D("138018.40"), "MA"),
        ("777777", D("15000.00"), D("11980.33"), "MB")]
    assert [c.facility_type for c in claims] == ["11", "13"]
    assert claims[0].patient_id_qualifier == "HN" and claims[0].patient_member_id == "666666666A"
    assert (claims[0].statement_from, claims[0].statement_to) == (dt.date(2002, 8, 16),
                                                                  dt.date(2002, 8, 24))
    assert claims[1].remark_codes == ["MA02"]  # MOA03
    plb = end.provider_adjustments
    assert [(p.provider_id, p.fiscal_period_date, p.reason, p.reference, p.amount) for p in plb] == [
        ("6543210903", dt.date(2002, 12, 31), "CV", "CP", D("-1.27"))]
    # 138018.40 + 11980.33 = 149998.73; minus PLB -1.27 = 150000.00 = BPR02
    assert end.total_paid == D("149998.73") and end.provider_adjustment_total == D("-1.27")
    assert end.warnings == [] and all(c.warnings == [] for c in claims)


def test_secondary_payment_component_separator_mismatch_is_a_warning() -> None:
    remit, claims, end = read(LFH + "secondary-payment.835")
    assert remit.payment_amount == D("1222.00") and end.total_paid == D("1222.00")  # 912 + 310
    first, second = claims
    assert (first.patient_control_number, first.paid) == ("L0004828311", D("912.00"))
    assert cas(first.adjustments) == [("OA", "23", D("9411.64"))]  # 10323.64 - 912.00
    assert [(ln.qualifier, ln.code, ln.modifiers, ln.charge, ln.paid) for ln in second.lines] == [
        ("HC", "12345", ("26",), D("166.50"), D("30.00")),
        ("HC", "66543", ("26",), D("585.00"), D("280.00"))]
    assert cas(second.lines[1].adjustments) == [("PR", "1", D("150.00")), ("PR", "2", D("70.00")),
                                                ("CO", "42", D("85.00"))]
    warnings = second.warnings
    assert [(w.code, w.segment, w.offset) for w in warnings] == [
        ("component_separator", 29, 846), ("component_separator", 34, 947)]
    assert "SVC01 'HC>12345>26' separates its components with '>'" in warnings[0].message
    assert "ISA16 component separator is ':'" in warnings[0].message
    assert first.warnings == [] and end.warnings == []  # money balances
    assert [d for c in claims for d in claim_denials(c)] == []  # OA-23 and PR: not denials


def test_component_separator_mismatch_is_an_error_in_strict_mode() -> None:
    with pytest.raises(X12Error) as info:
        read(LFH + "secondary-payment.835", strict=True)
    assert (info.value.code, info.value.segment, info.value.segment_id) == (
        "component_separator", 29, "SVC")


def test_cob_contractual_adjustment() -> None:
    remit, claims, end = read(LFH + "cob-contractural-adjustment.835")
    (claim,) = claims
    assert (claim.charge, claim.paid, remit.payment_amount) == (D("541.00"), D("34.00"),
                                                                D("34.00"))
    line = claim.lines[0]
    assert (line.code, line.allowed) == ("55669", D("550.00"))
    # 541.00 - 34.00 = 507.00 = OA-23 516.00 + OA-94 -9.00
    assert cas(line.adjustments) == [("OA", "23", D("516.00")), ("OA", "94", D("-9.00"))]
    assert [(w.code, w.segment) for w in claim.warnings] == [("component_separator", 21)]
    assert end.warnings == []


def test_tertiary_payment_missing_composite_separator_is_refused() -> None:
    with pytest.raises(X12Error) as info:
        read(LFH + "tertiary-payment.835")
    err = info.value
    assert (err.code, err.segment, err.offset, err.segment_id) == ("composite_missing", 20, 614,
                                                                   "SVC")
    assert "SVC01 'HC' is a qualifier with no code" in err.reason
    assert "SVC02 would be '24599.00'" in err.reason


def test_emedny_line_level_zero_pays() -> None:
    remit, claims, end = read("edi-835-parser/emedny_sample.txt")
    assert remit.payment_amount == D("45.75") and remit.payment_date == dt.date(2010, 1, 1)
    assert [(c.status, c.charge, c.paid, c.payer_claim_number) for c in claims] == [
        ("1", D("34.25"), D("34.25"), "1000210000000030"),
        ("2", D(34), D(0), "1000220000000020"),
        ("2", D("34.25"), D("11.5"), "1000230000000020")]
    assert end.total_paid == D("45.75") and end.warnings == []
    assert all(c.warnings == [] for c in claims)
    assert [ln.modifiers for ln in claims[0].lines] == [("RB",), ("RB",), ("RB",), ()]
    assert claims[2].lines[1].service_date == dt.date(2013, 9, 17)
    assert [ln.remark_codes for ln in claims[2].lines] == [[], [], ["N206"], ["N206"]]


def test_united_healthcare_greater_than_separator() -> None:
    remit, claims, end = read("edi-835-parser/united_healthcare_legacy_sample.txt")
    assert (remit.payer_id, remit.payment_amount) == ("87726", D("349.99"))
    assert remit.trace_supplemental == "000088888"
    assert [(c.charge, c.paid, c.patient_responsibility) for c in claims] == [
        (D("341.28"), D("88.92"), D("105.26")), (D("816.24"), D("261.07"), D("115.13"))]
    assert [ln.code for c in claims for ln in c.lines] == ["B4152", "B4152", "B4154", "B4034",
                                                           "B4154"]
    assert [ln.units for ln in claims[0].lines] == [D(234), D(277)]
    assert [ln.control_number for ln in claims[0].lines] == ["800941258001", "800941258002"]
    assert cas(claims[1].lines[2].adjustments) == [("PR", "2", D("5.13")), ("PR", "1", D(110)),
                                                   ("CO", "45", D("184.32"))]
    assert end.total_paid == D("349.99") and end.warnings == []
    assert all(c.warnings == [] for c in claims)


def test_balancing_warnings_carry_positions() -> None:
    data = sample(LFH + "managed-care.835").read_bytes()
    data = data.replace(b"CAS*PR*1*300.00", b"CAS*PR*1*290.00").replace(b"BPR*I*945.00",
                                                                        b"BPR*I*950.00")
    out = records(data)
    claim = next(r for r in out if isinstance(r, ClaimPayment))
    assert [(w.code, w.segment) for w in claim.warnings] == [("line_unbalanced", 16),
                                                             ("claim_unbalanced", 13)]
    assert "CLP03 800.00 - CLP04 450.00 = 350.00 but the claim and line CAS add up to 340.00" in (
        claim.warnings[1].message)
    end = out[-1]
    assert [(w.code, w.segment) for w in end.warnings] == [("payment_unbalanced", 4)]
    assert "BPR02 950.00 but the claims paid 945.00" in end.warnings[0].message
    assert records(data, balance=False)[1].warnings == []


def _remit(*claim_segments: list[str], bpr: str = "0") -> bytes:
    return build([["BPR", "I", bpr, "C", "NON"], ["TRN", "1", "T1", "1999"],
                  ["N1", "PR", "PAYER"], ["N1", "PE", "CLINIC", "XX", "1234567893"],
                  ["LX", "1"], *claim_segments])


def test_reversal_is_flagged_and_never_a_denial() -> None:
    data = _remit(["CLP", "A1", "22", "-100.00", "-80.00", "", "MC", "P1"],
                  ["CAS", "CO", "45", "-20.00"],
                  ["CLP", "A1", "1", "100.00", "90.00", "", "MC", "P2"],
                  ["CAS", "CO", "45", "10.00"], bpr="10.00")
    claims = [r for r in records(data) if isinstance(r, ClaimPayment)]
    assert [c.is_reversal for c in claims] == [True, False]
    assert all(c.warnings == [] for c in claims) and records(data)[-1].warnings == []
    assert claim_denials(claims[0]) == []


@pytest.mark.parametrize(("segments", "code"), [
    ([["CAS", "CO", "45", "1.00"]], "structure"),
    ([["CLP", "A", "1", "1.00", "1.0.0"]], "bad_number"),
    ([["CLP", "A", "1", "1e5", "0"]], "bad_number"),
    ([["CLP", "A", "1", "", "0"]], "missing_value"),
    ([["CLP", "A", "1", "1", "0"], ["CAS", "XX", "45", "1"]], "bad_code"),
    ([["CLP", "A", "1", "1", "0"], ["CAS", "CO", "", "1"]], "missing_value"),
    ([["SVC", "HC:99213", "1", "1"]], "structure"),
])
def test_money_and_structure_errors(segments: list[list[str]], code: str) -> None:
    err = error_of(_remit(*segments))
    assert err.code == code and err.segment is not None and err.offset is not None


def test_835_without_bpr_or_trn_is_refused() -> None:
    data = build([["N1", "PR", "PAYER"], ["CLP", "A", "1", "1", "0"]])
    assert "no BPR" in error_of(data).reason
    data = build([["BPR", "I", "0"], ["CLP", "A", "1", "1", "0"]])
    assert "no TRN" in error_of(data).reason


def test_wrong_transaction_for_the_835_parser() -> None:
    data = sample("linuxforhealth/837_005010X222A2/demo.example1.837").open("rb")
    with pytest.raises(X12Error) as info:
        list(parse_835(data))
    assert info.value.code == "wrong_transaction"


_SEPARATORS = st.lists(st.sampled_from("!#$%&'()*+,/;<=>?@[]^_`{|}~\x1c\x1d\x1e"), min_size=4,
                       max_size=4, unique=True).map(lambda c: Separators(*c))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_SEPARATORS, st.integers(0, 10 ** 6), st.integers(1, 60), st.integers(1, 25),
       st.booleans())
def test_generated_remittances_round_trip(seps: Separators, seed: int, claims: int, per: int,
                                          newline: bool) -> None:
    buf = io.BytesIO()
    expected = synth.write_835(buf, claims, seed=seed, separators=seps, newline=newline,
                               claims_per_transaction=per)
    out = list(parse_835(io.BytesIO(buf.getvalue())))
    got = [r for r in out if isinstance(r, ClaimPayment)]
    ends = [r for r in out if isinstance(r, RemittanceEnd)]
    assert len(got) == expected.claims and len(ends) == expected.transactions
    assert sum(c.paid for c in got) == expected.total_paid
    assert sum(c.charge for c in got) == expected.total_charge
    assert sum(e.provider_adjustment_total for e in ends) == expected.plb_total
    assert sum(e.remittance.payment_amount for e in ends) == expected.payment_total
    assert all(not c.warnings for c in got) and all(not e.warnings for e in ends)
    denials = [d for c in got for d in claim_denials(c)]
    assert sum(d.level == "claim" for d in denials) == expected.denied_claims
    assert sum(d.level == "line" for d in denials) == expected.denied_lines
    assert sum(c.is_reversal for c in got) == expected.reversals


# -- records built field by field ------------------------------------------------------------
# The parser builds ClaimPayment, ServicePayment and Adjustment without calling their dataclass
# __init__ (it is the costliest part of a claim); these pin that every field is set, to the
# dataclass default where the file says nothing, and that no list is shared between records.


def test_fast_built_records_equal_the_dataclass_constructor() -> None:
    from rcm_feeds.x12 import Adjustment, ServicePayment

    out = records(build([
        ["BPR", "I", "80.00", "C", "ACH", "CCP", "01", "1", "DA", "1", "1", "", "01", "1", "DA",
         "1", "20240105"],
        ["TRN", "1", "TRACE1", "1999999999"],
        ["CLP", "PCN1", "1", "100.00", "80.00", "", "12", "PAYER1", "11", "1"],
        ["SVC", "HC:90837", "100.00", "80.00"],
        ["CAS", "CO", "45", "20.00"],
    ]))
    remit, claim, end = out
    assert isinstance(claim, ClaimPayment)
    svc = ServicePayment(7, claim.lines[0].offset, 7, "HC", "90837", (), D("100.00"), D("80.00"),
                         "", None)
    svc.adjustments.append(Adjustment("CO", "45", D("20.00"), None, 8, svc.offset + 27, 8))
    expected = ClaimPayment(remit, 6, claim.offset, 6, "PCN1", "1", D("100.00"), D("80.00"), None,
                            "12", "PAYER1", "11", "1")
    expected.lines.append(svc)
    assert claim == expected
    assert end.claim_count == 1


def test_fast_built_records_are_complete_and_own_their_lists() -> None:
    out = io.BytesIO()
    synth.write_835(out, 300, seed=3)
    claims = [r for r in parse_835(io.BytesIO(out.getvalue())) if isinstance(r, ClaimPayment)]
    assert len(claims) == 300
    lines = [svc for claim in claims for svc in claim.lines]
    assert_complete_and_unshared([*claims, *lines, *(a for c in claims for a in c.adjustments),
                                  *(a for svc in lines for a in svc.adjustments)])
