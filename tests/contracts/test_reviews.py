"""Quarterly reviews: margin after allocated direct and RCM cost, denial rate, days to pay, appeals,
underpayment, volume trend, the recommendation and its reasons, decisions (hand-computed)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from contracts.rules import Figures, recommend
from contracts.selectors import previous_review, review_comparison
from contracts.services import reviews
from contracts.services.reimbursement import expected_recompute
from intake.models import ProgramCost
from revops.models import Payer
from tests.contracts import fixtures as f
from tests.rcm_feeds import kpi_fixtures as k

pytestmark = pytest.mark.django_db
D = Decimal
d = dt.date


@pytest.fixture
def quarter(tenant_a):
    payer, php = tenant_a.objects["payer"], tenant_a.objects["program"]
    other = Payer.objects.create(name="Other Payer", payer_class="commercial")
    contract, _ = f.contract(payer=payer, effective_from=d(2024, 10, 1),
                             terms=[{"kind": "per_diem", "level_of_care": "php", "rate": "500"}])
    f.claim(payer=payer, program=php, lines=[("H0035", "650", 1, d(2024, 12, 2))])  # the quarter before
    c1 = f.claim(payer=payer, program=php, submitted_on=d(2025, 1, 11),
                 lines=[("H0035", "650", 1, d(2025, 1, 6)), ("H0035", "650", 1, d(2025, 1, 7))])
    f.pay(claim=c1, paid="900", on=d(2025, 2, 10))  # 30 days to pay
    c2 = f.claim(payer=payer, program=php, lines=[("H0035", "650", 1, d(2025, 2, 3))], submitted_on=d(2025, 2, 8))
    cp2 = f.pay(claim=c2, paid="0", denied=True, on=d(2025, 3, 1))
    denial = k.denial(cp=cp2, level="claim", charge="650", denied_on=d(2025, 3, 1), category="authorization",
                      carc="197", status="appealed")
    denial.appealed_on = d(2025, 3, 5)
    denial.save()
    c3 = f.claim(payer=payer, program=php, lines=[("H0035", "650", 1, d(2025, 2, 10))], submitted_on=d(2025, 2, 15))
    f.pay(claim=c3, paid="500", on=d(2025, 3, 17))  # 30 days to pay
    f.claim(payer=other, program=php, lines=[("H0035", "650", 1, d(2025, 1, 20)), ("H0035", "650", 1, d(2025, 1, 21))],
            submitted_on=d(2025, 1, 25))
    ProgramCost.objects.create(program=php, month=d(2025, 1, 1), category="care_staff", amount=D("600"))
    ProgramCost.objects.create(program=php, month=d(2025, 1, 1), category="facility", amount=D("400"))
    ProgramCost.objects.create(program=php, month=d(2025, 2, 1), category="care_staff", amount=D("300"))
    costs = k.received_file("csv_costs")
    k.cost(file=costs, month=d(2025, 1, 1), amount="100")
    k.cost(file=costs, month=d(2025, 2, 1), amount="90")
    expected_recompute()
    return contract


def test_review_figures_by_hand(quarter):
    [review] = reviews.reviews_generate(start=d(2025, 2, 14))  # any day of the quarter
    assert review.quarter_start == d(2025, 1, 1) and review.quarter_label == "2025 Q1"
    assert (review.claims, review.previous_claims, review.volume_change) == (3, 1, D("200.00"))
    assert (review.charges, review.expected, review.net_revenue) == (D("2600.00"), D("2000.00"), D("1400.00"))
    # Direct cost: January 1,000 x 2 of 4 patient-days, February 300 x 2 of 2.
    # RCM cost: January 100 x 1 of 2 claims submitted, February 90 x 2 of 2.
    assert (review.direct_cost, review.rcm_cost, review.margin) == (D("800.00"), D("140.00"), D("460.00"))
    assert review.margin_pct == D("32.86")
    assert (review.underpayment, review.underpayment_pct) == (D("100.00"), D("5.00"))  # c1 only; c2 was denied
    assert (review.claims_adjudicated, review.claims_denied, review.denial_rate) == (3, 1, D("33.33"))
    assert review.days_to_pay == D("30.0")
    assert (review.appeals, review.appeals_won) == (1, 0)
    assert review.recommendation == "renegotiate"
    assert [r["rule"] for r in review.reasons if r["triggered"]] == ["underpayment", "denials"]


def test_decision_is_recorded_and_freezes_the_review(quarter, tenant_a):
    previous = reviews.reviews_generate(start=d(2024, 10, 1))[0]
    [review] = reviews.reviews_generate(start=d(2025, 1, 1))
    assert previous_review(review) == previous
    rows = {r["name"]: (r["now"], r["before"], r["change"]) for r in review_comparison(review, previous)}
    assert rows["claims"] == (3, 1, 2)
    with pytest.raises(ValidationError):
        reviews.review_decide(review=review, decision="renegotiate", note=" ")
    user = tenant_a.users["revops_analyst"]
    decided = reviews.review_decide(review=review, decision="renegotiate", note="Ask for 540 per diem.", user=user)
    assert (decided.decision, decided.decided_by, decided.decided_at is not None) == ("renegotiate", user, True)
    with pytest.raises(ValidationError):
        reviews.review_refresh(review=decided)
    again = reviews.reviews_generate(start=d(2025, 1, 1))[0]
    assert again.computed_at == decided.computed_at  # decided reviews are not recomputed


def figures(**kw):
    base = dict(claims=10, net_revenue=D("1000"), margin=D("200"), expected=D("1000"), underpayment=D("10"),
                denial_rate=D("5"), days_to_pay=D("30"))
    base.update(kw)
    return Figures(**base)


@pytest.mark.parametrize("kw,outcome,triggered", [
    ({}, "keep", []),
    ({"margin": D("-0.01")}, "exit", ["negative_margin", "thin_margin"]),
    ({"margin": D("99.99")}, "renegotiate", ["thin_margin"]),
    ({"margin": D("100")}, "keep", []),
    ({"underpayment": D("50")}, "renegotiate", ["underpayment"]),
    ({"underpayment": D("49.99")}, "keep", []),
    ({"denial_rate": D("12")}, "renegotiate", ["denials"]),
    ({"days_to_pay": D("45.1")}, "renegotiate", ["slow_pay"]),
    ({"days_to_pay": D("45")}, "keep", []),
    ({"days_to_pay": None, "denial_rate": None}, "keep", []),
    ({"claims": 0}, "keep", ["no_volume"]),
])
def test_recommendation_rules(kw, outcome, triggered):
    result, reasons = recommend(figures(**kw))
    assert result == outcome
    assert [r["rule"] for r in reasons if r["triggered"]] == triggered
