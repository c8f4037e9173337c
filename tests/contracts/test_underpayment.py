"""Underpayment variance by payer, program and code, with the claims behind each figure (hand-computed)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from contracts.selectors import CLAIM_LEVEL, Filters, underpayment_report, variance_claims
from contracts.services.reimbursement import expected_recompute
from revops.models import Payer, Program
from tests.contracts import fixtures as f

pytestmark = pytest.mark.django_db
D = Decimal
d = dt.date


@pytest.fixture
def data(tenant_a):
    payer = tenant_a.objects["payer"]
    php = tenant_a.objects["program"]
    op = Program.objects.create(code="OP", name="Outpatient", level_of_care="op")
    other = Payer.objects.create(name="Other Payer", payer_class="commercial")
    f.contract(payer=payer, terms=[{"kind": "fee_schedule", "code": "90837", "rate": "120"},
                                   {"kind": "fee_schedule", "code": "90785", "rate": "15"},
                                   {"kind": "per_diem", "level_of_care": "php", "rate": "500"}])
    a = f.claim(payer=payer, program=op, lines=[("90837", "225", 1, d(2025, 2, 3)), ("90785", "40", 1, d(2025, 2, 3))])
    f.pay(claim=a, paid="100", pr="20", lines=[("90837", "85", "20"), ("90785", "15", "0")])
    b = f.claim(payer=payer, program=php, lines=[("H0035", "650", 1, d(2025, 2, 4))])
    f.pay(claim=b, paid="400", lines=[("H0035", "410", "0")])  # 10 taken at claim level
    c = f.claim(payer=payer, program=php, lines=[("H0035", "650", 1, d(2025, 2, 5))])
    f.pay(claim=c, paid="0", denied=True)
    pending = f.claim(payer=payer, program=php, lines=[("H0035", "650", 1, d(2025, 2, 6))])
    loose = f.claim(payer=other, program=php, lines=[("H0035", "650", 1, d(2025, 2, 6))])
    expected_recompute()
    return {"payer": payer, "php": php, "op": op, "a": a, "b": b, "c": c, "pending": pending, "loose": loose}


FILTERS = Filters(start=d(2025, 1, 1))  # leaves out the test world's own 2024 claim


def test_variance_by_payer_counts_only_adjudicated_priced_claims_that_were_not_denied(data):
    report = underpayment_report(group="payer", filters=FILTERS)
    [row] = report.rows
    assert (row.label, row.claims, row.expected, row.paid, row.patient_responsibility, row.variance,
            row.underpaid_claims, row.denied_claims, row.denied_expected) == (
        data["payer"].name, 2, D("635.00"), D("500.00"), D("20.00"), D("115.00"), 2, 1, D("500.00"))
    assert row.variance_pct == D("18.11")  # 115 / 635
    cov = report.coverage
    assert (cov.total, cov.in_variance, cov.not_adjudicated, cov.denied, cov.no_contract, cov.no_term,
            cov.charges_no_contract) == (5, 2, 1, 1, 1, 0, D("650.00"))


def test_variance_by_program(data):
    rows = {r.label: (r.claims, r.variance, r.denied_claims) for r in
            underpayment_report(group="program", filters=FILTERS).rows}
    assert rows == {"Partial hospitalization": (1, D("100.00"), 1), "Outpatient": (1, D("15.00"), 0)}


def test_variance_by_code_with_the_claim_level_rest(data):
    rows = {r.key: (r.claims, r.expected, r.paid, r.patient_responsibility, r.variance, r.denied_claims,
                    r.denied_expected) for r in underpayment_report(group="code", filters=FILTERS).rows}
    assert rows == {
        "H0035": (1, D("500.00"), D("410.00"), D("0.00"), D("90.00"), 1, D("500.00")),
        "90837": (1, D("120.00"), D("85.00"), D("20.00"), D("15.00"), 0, D("0")),
        "90785": (1, D("15.00"), D("15.00"), D("0.00"), D("0.00"), 0, D("0")),
        CLAIM_LEVEL: (1, D("0"), D("0"), D("0"), D("10.00"), 0, D("0")),
    }
    report = underpayment_report(group="code", filters=FILTERS)
    assert report.totals.variance == D("115.00")  # the same total as by payer


def test_the_claims_behind_each_figure(data):
    by_payer = list(variance_claims(filters=FILTERS, group="payer", key=str(data["payer"].pk)))
    assert [(e.claim_id, e.variance_amount) for e in by_payer] == [(data["b"].pk, D("100.00")),
                                                                   (data["a"].pk, D("15.00"))]
    [code] = variance_claims(filters=FILTERS, group="code", key="H0035")
    assert (code.claim_id, code.code_expected, code.code_paid, code.code_variance) == (
        data["b"].pk, D("500.00"), D("410.00"), D("90.00"))
    denied = list(variance_claims(filters=FILTERS, group="payer", key=str(data["payer"].pk), denied=True))
    assert [e.claim_id for e in denied] == [data["c"].pk]
    assert [e.claim_id for e in variance_claims(filters=FILTERS, group="program", key=str(data["op"].pk))] == [
        data["a"].pk]
