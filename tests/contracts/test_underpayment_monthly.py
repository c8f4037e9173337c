"""The underpayment report by payer from the payer x service-month summary (``UnderpaymentMonthly``), refreshed by
``expected_recompute`` for the months it recomputes.

The statements it replaced for whole-month payer reports are kept here as the reference (``OLD_PAYER_SQL`` and
``OLD_COVERAGE_SQL``, verbatim from contracts.selectors, over ``ClaimExpectation``). After every step (a late
payment, a reversal and repayment, a late denial, a corrected claim moving to another month, a new contract for a
payer) the claims are recomputed only as a load or a publication recomputes them, and the report must give exactly
the reference's figures for several periods and payer filters; a full rebuild must give the same summary rows.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from contracts.models import UnderpaymentMonthly, UnderpaymentMonthlyState
from contracts.selectors import Filters, _monthly_where, underpayment_report
from contracts.services.reimbursement import expected_recompute, underpayment_monthly_refresh
from revops.models import Payer, Program
from revops.tenancy import require_tenant_id
from tests.contracts import fixtures as f

pytestmark = pytest.mark.django_db
D = Decimal
d = dt.date

_V = "(e.expected - e.paid - e.patient_responsibility)"
_PRICED = "e.adjudicated AND e.expected IS NOT NULL"
OLD_PAYER_SQL = """
SELECT coalesce(e.payer_id::text, 'none') AS key, count(*) FILTER (WHERE NOT e.denied),
       coalesce(sum(e.expected) FILTER (WHERE NOT e.denied), 0),
       coalesce(sum(e.paid) FILTER (WHERE NOT e.denied), 0),
       coalesce(sum(e.patient_responsibility) FILTER (WHERE NOT e.denied), 0),
       coalesce(sum(""" + _V + """) FILTER (WHERE NOT e.denied), 0),
       count(*) FILTER (WHERE NOT e.denied AND """ + _V + """ > 0),
       count(*) FILTER (WHERE e.denied), coalesce(sum(e.expected) FILTER (WHERE e.denied), 0)
FROM contracts_claimexpectation e
WHERE {where} AND """ + _PRICED + """
GROUP BY 1 ORDER BY 6 DESC, 9 DESC
"""
OLD_COVERAGE_SQL = """
SELECT count(*), count(*) FILTER (WHERE """ + _PRICED + """ AND NOT e.denied),
       count(*) FILTER (WHERE e.expected IS NOT NULL AND NOT e.adjudicated),
       count(*) FILTER (WHERE """ + _PRICED + """ AND e.denied),
       count(*) FILTER (WHERE e.status = 'no_contract'), count(*) FILTER (WHERE e.status = 'no_term'),
       coalesce(sum(e.charge) FILTER (WHERE e.status = 'no_contract'), 0)
FROM contracts_claimexpectation e WHERE {where}
"""


def _reference(filters: Filters) -> tuple[dict, tuple]:
    params: dict = {}
    where = filters.where(params)
    with connection.cursor() as cur:
        cur.execute(OLD_PAYER_SQL.format(where=where), params)
        rows = {r[0]: tuple(r[1:]) for r in cur.fetchall()}
        cur.execute(OLD_COVERAGE_SQL.format(where=where), params)
        return rows, tuple(cur.fetchone())


def _agree(payers: list[Payer]) -> dict:
    """For several whole-month periods and payer filters, the summary's report equals the reference; returns the
    report's rows for 2025 by payer id."""
    assert UnderpaymentMonthlyState.objects.exists()
    out = {}
    for filters in (Filters(start=d(2025, 1, 1)), Filters(start=d(2025, 2, 1), end=d(2025, 2, 28)),
                    Filters(start=d(2025, 3, 1), end=d(2025, 3, 31)), Filters(),
                    Filters(start=d(2025, 1, 1), end=d(2025, 12, 31), payers=(payers[0].pk,)),
                    Filters(start=d(2025, 1, 1), payers=tuple(p.pk for p in payers))):
        assert _monthly_where(filters, {}) is not None  # the summary answers these
        report = underpayment_report(group="payer", filters=filters)
        rows = {r.key: (r.claims, r.expected, r.paid, r.patient_responsibility, r.variance, r.underpaid_claims,
                        r.denied_claims, r.denied_expected) for r in report.rows}
        c = report.coverage
        ref_rows, ref_coverage = _reference(filters)
        assert rows == ref_rows
        assert (c.total, c.in_variance, c.not_adjudicated, c.denied, c.no_contract, c.no_term,
                c.charges_no_contract) == ref_coverage
        if filters == Filters(start=d(2025, 1, 1)):
            out = rows
    return out


def _summary_rows() -> list[tuple]:
    fields = [fld.name for fld in UnderpaymentMonthly._meta.fields if fld.name not in ("id", "tenant")]
    return sorted(UnderpaymentMonthly.objects.values_list(*[f"{n}_id" if n == "payer" else n for n in fields]),
                  key=lambda r: (r[0] or 0, r[1]))


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
    f.pay(claim=b, paid="400", lines=[("H0035", "410", "0")])
    c = f.claim(payer=payer, program=php, lines=[("H0035", "650", 1, d(2025, 2, 5))])
    f.pay(claim=c, paid="0", denied=True)
    pending = f.claim(payer=payer, program=php, lines=[("H0035", "650", 1, d(2025, 2, 6))])
    loose = f.claim(payer=other, program=php, lines=[("H0035", "650", 1, d(2025, 2, 6))])
    expected_recompute()
    return {"payer": payer, "other": other, "php": php, "a": a, "b": b, "c": c, "pending": pending, "loose": loose}


def test_summary_report_equals_the_old_statements_through_late_payments_denials_and_corrections(data):
    payer, other = data["payer"], data["other"]
    payers = [payer, other]
    key = str(payer.pk)
    rows = _agree(payers)
    # By hand (tests/contracts/test_underpayment.py): a 120 + 15 expected, 100 paid + 20 PR -> 15; b 500 - 400 = 100.
    assert rows[key] == (2, D("635.00"), D("500.00"), D("20.00"), D("115.00"), 2, 1, D("500.00"))

    # A late payment of the pending claim (450 of its 500 per diem), recomputed as the 835's load would.
    f.pay(claim=data["pending"], paid="450", on=d(2025, 4, 10))
    expected_recompute(claim_ids=[data["pending"].pk])
    rows = _agree(payers)
    assert rows[key][:6] == (3, D("1135.00"), D("950.00"), D("20.00"), D("165.00"), 3)

    # b's 400 reversed and paid 500 in full: b leaves the underpaid claims.
    f.pay(claim=data["b"], paid="-400", reversal=True, on=d(2025, 4, 12))
    f.pay(claim=data["b"], paid="500", on=d(2025, 4, 12))
    expected_recompute(claim_ids=[data["b"].pk])
    rows = _agree(payers)
    assert rows[key][:6] == (3, D("1135.00"), D("1050.00"), D("20.00"), D("65.00"), 2)

    # A late denial of a.
    f.pay(claim=data["a"], paid="0", denied=True, on=d(2025, 4, 20))
    expected_recompute(claim_ids=[data["a"].pk])
    _agree(payers)

    # A corrected claim replaces the pending one with a March service date: the February row loses it (superseded)
    # and March gets the correction; both months are refreshed.
    corrected = f.claim(payer=payer, program=data["php"], lines=[("H0035", "650", 1, d(2025, 3, 3))],
                        frequency="7", original=data["pending"])
    expected_recompute(claim_ids=[data["pending"].pk, corrected.pk])
    _agree(payers)

    # A contract for the other payer prices its claim: recomputed by payer, as a publication does.
    f.contract(payer=other, terms=[{"kind": "per_diem", "level_of_care": "php", "rate": "300"}])
    expected_recompute(payer_ids=[other.pk])
    _agree(payers)

    incremental = _summary_rows()
    underpayment_monthly_refresh(months=None)
    assert _summary_rows() == incremental


def test_partial_months_and_other_groups_read_the_expectations_and_an_unbuilt_summary_is_not_read(data):
    assert _monthly_where(Filters(start=d(2025, 2, 4)), {}) is None
    assert _monthly_where(Filters(start=d(2025, 2, 1), end=d(2025, 2, 27)), {}) is None
    assert _monthly_where(Filters(start=d(2025, 2, 1), programs=(data["php"].pk,)), {}) is None
    partial = underpayment_report(group="payer", filters=Filters(start=d(2025, 2, 5)))
    # only c (denied) and the pending and loose claims from 5 February on: no claim in the variance
    assert [(r.claims, r.denied_claims) for r in partial.rows] == [(0, 1)]
    assert partial.coverage.total == 3
    UnderpaymentMonthlyState.objects.all().delete()
    UnderpaymentMonthly.objects.all().delete()
    assert _monthly_where(Filters(start=d(2025, 1, 1)), {}) is None
    report = underpayment_report(group="payer", filters=Filters(start=d(2025, 1, 1)))
    assert report.totals.variance == D("115.00")
    # the first refresh builds every month, whatever months it names
    underpayment_monthly_refresh(months=[d(2031, 1, 1)])
    assert require_tenant_id() and set(UnderpaymentMonthly.objects.values_list("month", flat=True)) >= {d(2025, 2, 1)}
    assert _agree([data["payer"], data["other"]])[str(data["payer"].pk)][4] == D("115.00")
