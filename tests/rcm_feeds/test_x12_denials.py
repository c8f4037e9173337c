"""Denial detection (domain.md's rule) and the default CARC category table."""
from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from rcm_feeds.x12 import ClaimPayment
from rcm_feeds.x12.denials import (
    CATEGORIES,
    DEFAULT_CARC_CATEGORIES,
    DenialRule,
    category_of,
    claim_denials,
)
from rcm_feeds.x12.records import Adjustment, ServicePayment

from .x12util import records, sample


def claims_of(relative: str) -> list[ClaimPayment]:
    return [r for r in records(sample(relative).read_bytes()) if isinstance(r, ClaimPayment)]


def test_emedny_zero_pays_are_line_denials_with_categories() -> None:
    claims = claims_of("edi-835-parser/emedny_sample.txt")
    denials = [d for c in claims for d in claim_denials(c)]
    assert [(d.level, d.claim.payer_claim_number, d.service.code if d.service else None, d.amount,
             d.carcs, d.rarcs, d.category) for d in denials] == [
        ("claim", "1000220000000020", None, D(34), ["29"], [], "timely_filing"),
        ("line", "1000220000000020", "V2020", D(12), ["29"], [], "timely_filing"),
        ("line", "1000220000000020", "V2103", D(22), ["29"], [], "timely_filing"),
        ("line", "1000230000000020", "V2700", D("2.75"), ["251"], ["N206"], "missing_information"),
        ("line", "1000230000000020", "S0580", D(20), ["251"], ["N206"], "missing_information"),
    ]
    # The positions point at the CLP and the SVC segments.
    assert [(d.segment, d.line) for d in denials] == [(34, 1), (40, 1), (43, 1), (59, 1), (63, 1)]
    assert [(a.group, a.reason, a.amount) for a in denials[0].reasons] == [
        ("CO", "29", D(12)), ("CO", "29", D(22))]


def test_uhc_deductible_line_with_contractual_adjustment_under_the_literal_rule() -> None:
    """SVC03 0 with PR-1 105.26 and CO-45 79.60: CO-45 is neither PR nor OA-23, so it is a denial
    by domain.md's rule; a tenant that treats CO-45 as benign can say so in its rule."""
    claims = claims_of("edi-835-parser/united_healthcare_legacy_sample.txt")
    denials = [d for c in claims for d in claim_denials(c)]
    assert [(d.level, d.service.code if d.service else None, d.amount, d.carcs, d.category)
            for d in denials] == [("line", "B4152", D("184.86"), ["45"], "other")]
    lenient = DenialRule(benign_codes=frozenset({("OA", "23"), ("CO", "45")}))
    assert [d for c in claims for d in claim_denials(c, rule=lenient)] == []


def test_samples_without_denials() -> None:
    for name in ("managed-care.835", "medicare-part-a.835", "secondary-payment.835",
                 "cob-contractural-adjustment.835"):
        claims = claims_of("linuxforhealth/835_005010X221A1/" + name)
        assert [d for c in claims for d in claim_denials(c)] == [], name


def _claim(status: str, charge: str, paid: str, claim_cas: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
           lines: list[tuple[str, str, list[tuple[str, str, str]]]] = ()) -> ClaimPayment:  # type: ignore[assignment]
    def adj(group: str, reason: str, amount: str) -> Adjustment:
        return Adjustment(group, reason, D(amount), None, 1, 0, 1)

    claim = ClaimPayment(None, 1, 0, 1, "PCN", status, D(charge), D(paid), None, "CI",  # type: ignore[arg-type]
                         "P1", "11", "1")
    claim.adjustments = [adj(*a) for a in claim_cas]
    for lcharge, lpaid, lcas in lines:
        svc = ServicePayment(2, 0, 2, "HC", "90837", (), D(lcharge), D(lpaid), "", None)
        svc.adjustments = [adj(*a) for a in lcas]
        claim.lines.append(svc)
    return claim


def test_status_4_is_a_denial_even_without_codes() -> None:
    (denial,) = claim_denials(_claim("4", "100", "0"))
    assert (denial.level, denial.carcs, denial.category) == ("claim", [], "eligibility")
    (denial,) = claim_denials(_claim("4", "100", "0", [("CO", "197", "100")]))
    assert (denial.carcs, denial.category) == (["197"], "authorization")


def test_patient_responsibility_and_prior_payer_are_not_denials() -> None:
    assert claim_denials(_claim("1", "100", "0", [("PR", "1", "100")])) == []
    assert claim_denials(_claim("2", "100", "0", [("OA", "23", "60"), ("PR", "2", "40")])) == []
    (denial,) = claim_denials(_claim("2", "100", "0", [("CO", "23", "100")]))
    assert denial.category == "wrong_payer"


def test_zero_amount_adjustments_do_not_make_a_denial() -> None:
    assert claim_denials(_claim("1", "100", "0", [("PR", "1", "100"), ("CO", "45", "0")])) == []


def test_line_denial_needs_a_charge_and_a_zero_payment() -> None:
    claim = _claim("1", "300", "100", lines=[
        ("200", "100", [("CO", "45", "100")]),
        ("100", "0", [("CO", "50", "100")]),
        ("0", "0", [("CO", "97", "0")])])
    (denial,) = claim_denials(claim)
    assert (denial.level, denial.carcs, denial.category) == ("line", ["50"], "medical_necessity")


def test_largest_reason_first_decides_the_category() -> None:
    claim = _claim("1", "100", "0", [("CO", "16", "30"), ("CO", "197", "70")])
    (denial,) = claim_denials(claim)
    assert denial.carcs == ["197", "16"] and denial.category == "authorization"
    assert category_of(["999", "16"], DEFAULT_CARC_CATEGORIES) == "missing_information"
    assert category_of(["45"], {"45": "contractual"}) == "contractual"


def test_default_table_is_the_domain_list() -> None:
    by_category: dict[str, set[str]] = {}
    for code, (category, description) in DEFAULT_CARC_CATEGORIES.items():
        assert category in CATEGORIES and description
        by_category.setdefault(category, set()).add(code)
    assert by_category == {
        "eligibility": {"26", "27", "31", "177"}, "authorization": {"15", "197", "198"},
        "medical_necessity": {"50"}, "timely_filing": {"29"}, "duplicate": {"18"},
        "bundling": {"97", "234"}, "missing_information": {"16", "251", "252"},
        "wrong_payer": {"22", "23", "109"}}
    assert "other" in CATEGORIES


# -- the fast rule against a slow, literal reading of domain.md ------------------------------------

_ADJ = st.tuples(st.sampled_from(["CO", "PR", "OA", "PI"]),
                 st.sampled_from(["23", "45", "29", "197", "1", "2"]),
                 st.sampled_from(["0", "5.00", "10.00", "-3.00"]))
_MONEY = st.sampled_from(["0", "0.00", "10.00", "100.00", "-50.00"])


def reference_claim_denied(claim: ClaimPayment) -> bool:
    adjustments = list(claim.adjustments) + [a for s in claim.lines for a in s.adjustments]
    other = [a for a in adjustments if a.amount != 0
             and not (a.group == "PR" or (a.group, a.reason) == ("OA", "23"))]
    return claim.status == "4" or (claim.charge > 0 and claim.paid == 0 and len(other) > 0)


def reference_line_denied(svc: ServicePayment) -> bool:
    other = [a for a in svc.adjustments if a.amount != 0
             and not (a.group == "PR" or (a.group, a.reason) == ("OA", "23"))]
    return svc.charge > 0 and svc.paid == 0 and len(other) > 0


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["1", "2", "4", "22"]), _MONEY, _MONEY, st.lists(_ADJ, max_size=3),
       st.lists(st.tuples(_MONEY, _MONEY, st.lists(_ADJ, max_size=3)), max_size=3))
def test_rule_agrees_with_reference(status: str, charge: str, paid: str,
                                    claim_cas: list[tuple[str, str, str]],
                                    lines: list[tuple[str, str, list[tuple[str, str, str]]]]) -> None:
    claim = _claim(status, charge, paid, claim_cas, lines)
    denials = claim_denials(claim)
    assert any(d.level == "claim" for d in denials) == reference_claim_denied(claim)
    assert [d.service for d in denials if d.level == "line"] == [
        s for s in claim.lines if reference_line_denied(s)]
