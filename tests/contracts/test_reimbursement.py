"""Expected reimbursement: hand-computed amounts for every term kind and precedence rule, checked against the
set-based recompute and against the slow per-claim reference (tests/contracts/reference.py)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from contracts.models import ClaimExpectation, LineExpectation
from contracts.services import contracts as svc
from contracts.services.reimbursement import expected_recompute, expected_recompute_for_file
from rcm_feeds.models import Claim
from revops.models import Payer, Program
from tests.contracts import fixtures as f
from tests.contracts.reference import reference_expectations

pytestmark = pytest.mark.django_db
D = Decimal
d = dt.date


def expectation(claim) -> ClaimExpectation:
    return ClaimExpectation.objects.get(claim=claim)


def line_amounts(claim) -> list[Decimal | None]:
    return [x.expected for x in LineExpectation.objects.filter(claim=claim).order_by("line_number")]


def agrees_with_reference() -> None:
    ref = reference_expectations()
    rows = {e.claim_id: e for e in ClaimExpectation.objects.all()}
    assert set(rows) == set(ref)
    for claim_id, r in ref.items():
        e = rows[claim_id]
        assert (e.status, e.expected, e.contract_id, e.source) == (r["status"], r["expected"], r["contract"],
                                                                   r["source"]), claim_id
        assert (e.paid, e.patient_responsibility, e.adjudicated, e.denied) == (
            r["paid"], r["patient_responsibility"], r["adjudicated"], r["denied"]), claim_id
        lines = {x.claim_line_id: x.expected for x in LineExpectation.objects.filter(claim_id=claim_id)}
        assert lines == r["lines"], claim_id


@pytest.fixture
def setup(tenant_a):
    payer = tenant_a.objects["payer"]
    php = tenant_a.objects["program"]  # level of care php
    res = Program.objects.create(code="RES", name="Residential", level_of_care="residential")
    detox = Program.objects.create(code="WM", name="Withdrawal management", level_of_care="detox")
    op = Program.objects.create(code="OP", name="Outpatient", level_of_care="op")
    other = Payer.objects.create(name="Other Payer", payer_class="commercial")
    return {"tenant": tenant_a, "payer": payer, "php": php, "res": res, "detox": detox, "op": op, "other": other}


def test_fee_schedule_prices_units_and_prefers_a_modifier_rate(setup):
    s = setup
    f.contract(payer=s["payer"], terms=[
        {"kind": "fee_schedule", "code": "90837", "rate": "120.50"},
        {"kind": "fee_schedule", "code": "90785", "rate": "15.255"},
        {"kind": "fee_schedule", "code": "90834", "rate": "90"},
        {"kind": "fee_schedule", "code": "90834", "modifier": "HO", "rate": "100"},
    ])
    day = d(2025, 2, 3)
    c = f.claim(payer=s["payer"], program=s["op"], lines=[
        ("90837", "225", 1, day), ("90785", "80", 2, day), ("90834", "165", 1, day, "GT:HO"),
        ("90834", "165", None, day), ("99214", "210", 1, day)])
    expected_recompute()
    # 120.50 x 1; 15.255 x 2 = 30.51; HO rate 100; plain 90 (units empty = 1); 99214 has no term.
    assert line_amounts(c) == [D("120.50"), D("30.51"), D("100.00"), D("90.00"), None]
    e = expectation(c)
    assert (e.status, e.expected, e.lines_total, e.lines_priced, e.source) == ("partial", D("341.01"), 5, 4, "payer")
    agrees_with_reference()


def test_per_diem_lesser_of_charges_by_service_date(setup):
    s = setup
    f.contract(payer=s["payer"], terms=[
        {"kind": "per_diem", "level_of_care": "php", "rate": "500", "lesser_of_charges": True},
        {"kind": "per_diem", "level_of_care": "residential", "rate": "700", "lesser_of_charges": True},
        {"kind": "fee_schedule", "code": "H0035", "rate": "999"},  # a per diem outranks the fee schedule
    ])
    c = f.claim(payer=s["payer"], program=s["php"], lines=[
        ("H0035", "650", 1, d(2025, 3, 3)),  # 500 < 650
        ("H0035", "450", 1, d(2025, 3, 4)),  # lesser of: 450
        ("90853", "75", 1, d(2025, 3, 5)),  # same day as the next line: one day, charges 725
        ("H0035", "650", 1, d(2025, 3, 5)),
    ])
    stay = f.claim(payer=s["payer"], program=s["res"], lines=[("H0019", "11900", 14, d(2025, 3, 1))])
    expected_recompute()
    assert line_amounts(c) == [D("500.00"), D("450.00"), D("0"), D("500.00")]
    assert expectation(c).expected == D("1450.00")
    assert expectation(stay).expected == D("9800.00")  # min(700 x 14 = 9,800, 11,900)
    assert expectation(c).status == "priced"
    agrees_with_reference()


def test_per_diem_without_lesser_of_pays_the_rate(setup):
    s = setup
    f.contract(payer=s["payer"], terms=[{"kind": "per_diem", "level_of_care": "php", "rate": "500"}])
    c = f.claim(payer=s["payer"], program=s["php"], lines=[("H0035", "450", 1, d(2025, 3, 4))])
    expected_recompute()
    assert expectation(c).expected == D("500.00")


def test_case_rate_per_claim_and_per_admission(setup):
    s = setup
    f.contract(payer=s["payer"], terms=[
        {"kind": "case_rate", "basis": "per_claim", "level_of_care": "detox", "rate": "3000"},
        {"kind": "case_rate", "basis": "per_admission", "level_of_care": "residential", "rate": "5000"},
    ])
    wm = f.claim(payer=s["payer"], program=s["detox"], lines=[("H0011", "1100", 3, d(2025, 4, 1)),
                                                               ("99214", "210", 1, d(2025, 4, 1))])
    f.admission(program=s["res"], payer=s["payer"], plan="PPO", admitted=d(2025, 4, 1), discharged=d(2025, 5, 20))
    first = f.claim(payer=s["payer"], program=s["res"], lines=[("H0019", "8500", 10, d(2025, 4, 1))])
    second = f.claim(payer=s["payer"], program=s["res"], lines=[("H0019", "8500", 10, d(2025, 4, 11))])
    alone = f.claim(payer=s["payer"], program=s["res"], patient_hash=f.PATIENT_B,
                    lines=[("H0019", "8500", 10, d(2025, 4, 1))])  # no admission on file: its own admission
    expected_recompute()
    assert line_amounts(wm) == [D("3000.00"), D("0")]
    assert (expectation(first).expected, expectation(second).expected, expectation(alone).expected) == (
        D("5000.00"), D("0.00"), D("5000.00"))
    agrees_with_reference()


def test_percent_of_charges_rounds_half_up_per_line(setup):
    s = setup
    f.contract(payer=s["payer"], terms=[{"kind": "percent_of_charges", "rate": "65"},
                                        {"kind": "fee_schedule", "code": "80053", "rate": "10.56"}])
    c = f.claim(payer=s["payer"], lines=[("80307", "1000.01", 1, d(2025, 1, 9)), ("80053", "45", 1, d(2025, 1, 9)),
                                         ("85025", "0.10", 1, d(2025, 1, 9))])
    expected_recompute()
    # 650.0065 -> 650.01; fee schedule 10.56; 0.065 -> 0.07 (half-up)
    assert line_amounts(c) == [D("650.01"), D("10.56"), D("0.07")]
    assert expectation(c).expected == D("660.64")
    agrees_with_reference()


def test_single_case_outranks_plan_contract_which_outranks_payer_wide(setup):
    s = setup
    day = d(2025, 5, 5)
    payer_wide, _ = f.contract(payer=s["payer"], terms=[{"kind": "per_diem", "level_of_care": "php", "rate": "500"}])
    plan, _ = f.contract(payer=s["payer"], plan_name="HMO",
                         terms=[{"kind": "per_diem", "level_of_care": "php", "rate": "550"}])
    sca = svc.single_case_create(payer=s["payer"], program=s["php"], patient_hash=f.PATIENT_A, starts_on=d(2025, 5, 1),
                                 ends_on=d(2025, 5, 31), kind="per_diem", rate="800")
    f.admission(program=s["php"], payer=s["payer"], plan="HMO", admitted=d(2025, 4, 20), patient_hash=f.PATIENT_A)
    f.admission(program=s["php"], payer=s["payer"], plan="HMO", admitted=d(2025, 4, 20), patient_hash=f.PATIENT_B)
    under_sca = f.claim(payer=s["payer"], program=s["php"], lines=[("H0035", "650", 1, day)])
    after_sca = f.claim(payer=s["payer"], program=s["php"], lines=[("H0035", "650", 1, d(2025, 6, 2))])
    plan_patient = f.claim(payer=s["payer"], program=s["php"], patient_hash=f.PATIENT_B,
                           lines=[("H0035", "650", 1, day)])
    no_admission = f.claim(payer=s["payer"], program=s["php"], patient_hash="c" * 64, lines=[("H0035", "650", 1, day)])
    expected_recompute()
    assert (expectation(under_sca).contract_id, expectation(under_sca).source, expectation(under_sca).expected) == (
        sca.pk, "single_case", D("800.00"))
    assert (expectation(after_sca).contract_id, expectation(after_sca).expected) == (plan.pk, D("550.00"))
    assert (expectation(plan_patient).contract_id, expectation(plan_patient).plan_name) == (plan.pk, "HMO")
    assert (expectation(no_admission).contract_id, expectation(no_admission).source,
            expectation(no_admission).expected) == (payer_wide.pk, "payer", D("500.00"))
    agrees_with_reference()


def test_a_new_version_prices_later_claims_and_keeps_history(setup):
    s = setup
    k, v1 = f.contract(payer=s["payer"], effective_from=d(2025, 1, 1),
                       terms=[{"kind": "per_diem", "level_of_care": "php", "rate": "500"}])
    v2 = svc.version_create(contract=k)
    svc.term_save(version=v2, term=f.term(v2, kind="per_diem"), kind="per_diem", level_of_care="php", rate="550")
    svc.version_publish(version=v2, effective_from=d(2025, 7, 1))
    v1.refresh_from_db()
    assert v1.effective_to == d(2025, 6, 30) and f.term(v1, kind="per_diem").rate == D("500")
    june = f.claim(payer=s["payer"], program=s["php"], lines=[("H0035", "650", 1, d(2025, 6, 30))])
    july = f.claim(payer=s["payer"], program=s["php"], lines=[("H0035", "650", 1, d(2025, 7, 1))])
    expected_recompute()
    assert (expectation(june).version_id, expectation(june).expected) == (v1.pk, D("500.00"))
    assert (expectation(july).version_id, expectation(july).expected) == (v2.pk, D("550.00"))
    with pytest.raises(Exception):
        svc.term_save(version=v1, kind="per_diem", level_of_care="iop", rate="1")


def test_claims_without_a_contract_are_not_zero(setup):
    s = setup
    f.contract(payer=s["payer"], effective_from=d(2025, 1, 1),
               terms=[{"kind": "per_diem", "level_of_care": "php", "rate": "500"}])
    before = f.claim(payer=s["payer"], program=s["php"], lines=[("H0035", "650", 1, d(2024, 12, 31))])
    other = f.claim(payer=s["other"], program=s["php"], lines=[("H0035", "650", 1, d(2025, 3, 3))])
    expected_recompute()
    for c in (before, other):
        e = expectation(c)
        assert (e.status, e.expected, e.contract_id) == ("no_contract", None, None)
        assert line_amounts(c) == [None]
    agrees_with_reference()


def test_payments_net_reversals_and_match_service_lines(setup):
    s = setup
    f.contract(payer=s["payer"], terms=[{"kind": "fee_schedule", "code": "90837", "rate": "120"},
                                        {"kind": "fee_schedule", "code": "90785", "rate": "15"}])
    day = d(2025, 2, 3)
    c = f.claim(payer=s["payer"], program=s["op"], lines=[("90837", "225", 1, day), ("90785", "40", 1, day)])
    f.pay(claim=c, paid="100", pr="20", lines=[("90837", "90", "20"), ("90785", "10", "0")])
    f.pay(claim=c, paid="-100", pr="-20", reversal=True, lines=[("90837", "-90", "-20"), ("90785", "-10", "0")])
    f.pay(claim=c, paid="110", pr="20", lines=[("90837", "96", "20"), ("90785", "14", "0")])
    expected_recompute()
    e = expectation(c)
    assert (e.expected, e.paid, e.patient_responsibility, e.adjudicated, e.denied) == (
        D("135.00"), D("110.00"), D("20.00"), True, False)
    assert e.variance == D("5.00")  # 135 - (110 + 20)
    lines = list(LineExpectation.objects.filter(claim=c).order_by("line_number"))
    assert [(x.paid, x.patient_responsibility, x.matched) for x in lines] == [
        (D("96.00"), D("20.00"), True), (D("14.00"), D("0.00"), True)]
    agrees_with_reference()


def test_superseded_and_void_claims_carry_no_expectation(setup):
    s = setup
    f.contract(payer=s["payer"], terms=[{"kind": "per_diem", "level_of_care": "php", "rate": "500"}])
    original = f.claim(payer=s["payer"], program=s["php"], lines=[("H0035", "650", 1, d(2025, 3, 3))])
    replacement = f.claim(payer=s["payer"], program=s["php"], lines=[("H0035", "650", 1, d(2025, 3, 3))],
                          frequency="7", original=original)
    void = f.claim(payer=s["payer"], program=s["php"], lines=[("H0035", "650", 1, d(2025, 3, 4))], frequency="8")
    expected_recompute()
    assert expectation(original).status == "superseded" and expectation(original).expected is None
    assert expectation(replacement).expected == D("500.00")
    assert expectation(void).status == "void"
    agrees_with_reference()


def test_recompute_is_idempotent_and_scoped(setup):
    s = setup
    f.contract(payer=s["payer"], terms=[{"kind": "percent_of_charges", "rate": "50"}])
    a = f.claim(payer=s["payer"], lines=[("80053", "100", 1, d(2025, 1, 9))])
    b = f.claim(payer=s["other"], lines=[("80053", "100", 1, d(2025, 1, 9))])
    first = expected_recompute()
    snapshot = list(ClaimExpectation.objects.order_by("claim_id").values_list("claim_id", "status", "expected"))
    again = expected_recompute()
    assert first == again
    assert list(ClaimExpectation.objects.order_by("claim_id").values_list("claim_id", "status", "expected")) == snapshot
    assert expected_recompute(payer_ids=[s["other"].pk])["claims"] == 1
    claims = Claim.objects.count()  # the test world has a claim of its own
    assert ClaimExpectation.objects.count() == claims and LineExpectation.objects.count() == 2
    assert expectation(a).expected == D("50.00") and expectation(b).status == "no_contract"
    assert expected_recompute_for_file(file_id=a.source_file_id)["claims"] == 1
    assert ClaimExpectation.objects.count() == claims


def test_publishing_queues_the_recompute_job_which_prices_the_payers_claims(setup, django_capture_on_commit_callbacks):
    from contracts.tasks import expected_recompute_task
    from revops.models import Job

    s = setup
    c = f.claim(payer=s["payer"], program=s["php"], lines=[("H0035", "650", 1, d(2025, 3, 3))])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        f.contract(payer=s["payer"], terms=[{"kind": "per_diem", "level_of_care": "php", "rate": "500"}])
    assert len(callbacks) == 1  # sent to Celery after commit
    job = Job.objects.get(kind="contracts_expected_recompute")
    assert job.params == {"payer_ids": [s["payer"].pk], "claim_ids": None}
    result = expected_recompute_task(tenant_id=s["tenant"].org.pk, job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded" and job.result == result and result["claims"] >= 1
    assert expectation(c).expected == D("500.00")
    assert expected_recompute_task(tenant_id=s["tenant"].org.pk, job_id=job.pk) is None  # a finished job stays done
