"""Hand-computed figures of the executive dashboard: pace, coverage, forecast, commission cost %, revenue per
FTE, net revenue per encounter, payer margin and every flag; the set-based attainment against quotas' own."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection

from analytics import filters
from analytics.selectors import flags, revenue, sales
from commissions.models import CommissionPeriod
from commissions.selectors.runs import PeriodPayout
from forecasting.models import Opportunity, OpportunityHistory, Stage
from quotas import selectors as quota_selectors
from quotas import services as quota_services
from quotas.models import QuotaPlanStatus
from revops.models import Facility, Payer, Person
from revops.tenancy import require_tenant_id
from tests.quotas import fixtures

AS_OF = dt.date(2026, 8, 16)


def parse(**params: str) -> filters.Filters:
    return filters.parse(params, start_month=1, today=dt.date(2026, 11, 22))


@pytest.fixture
def quota_world(tenant_a):
    world = fixtures.build()
    plan = world["plan"]
    quota_services.attainment_refresh(plan=plan)
    type(plan).objects.filter(pk=plan.pk).update(status=QuotaPlanStatus.ACTIVE)
    plan.refresh_from_db()
    return world


def test_period_parsing_and_prior_period():
    f = filters.parse({"period": "FY2026-Q3", "as_of": "2026-08-16"}, start_month=7, today=dt.date(2026, 11, 22))
    # July fiscal year: FY2026 runs Jul 2025 - Jun 2026, so Q3 is Jan-Mar 2026 and the as-of date is clamped.
    assert (f.start, f.end, f.as_of) == (dt.date(2026, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 3, 31))
    prior = f.prior()
    assert (prior.start, prior.end) == (dt.date(2025, 10, 1), dt.date(2026, 1, 1))
    m = filters.parse({"period": "2031-03", "as_of": "2031-03-31"}, start_month=1)
    assert (m.start, m.end, m.months_to_date) == (dt.date(2031, 3, 1), dt.date(2031, 4, 1), [dt.date(2031, 3, 1)])


def test_attainment_and_pace_match_the_quota_selectors_by_hand(quota_world):
    plan = quota_world["plan"]
    f = parse(period="FY2026", as_of=AS_OF.isoformat())
    data = sales.plan_leaves(f)
    by_rep = {r.label: r for r in sales.attainment_rows(data, by="rep")}
    pat = by_rep["Pat Prior"]
    # Hand figures (tests/quotas/test_services.py): quota 416,499.98, actual 15,000; quota to date =
    # Jan-Jun 6 x 39,666.67 + July 29,750.00 + August 29,750.00 x 15/31 (14,395.16) = 282,145.18.
    assert (pat.quota, pat.actual) == (D("416499.98"), D("15000.00"))
    assert pat.quota_to_date == D("282145.18")
    assert pat.pace == pytest.approx(15000 / 282145.18)
    # The slow reference: quotas' own attainment, row by row, by rep and team; regions are node sums.
    for by in ("rep", "team"):
        reference = {r.label: r for r in quota_selectors.attainment(plan=plan, by=by, as_of=AS_OF)}
        ours = {r.label: r for r in sales.attainment_rows(data, by=by)}
        assert set(ours) == set(reference)
        for label, r in reference.items():
            o = ours[label]
            assert (o.quota, o.actual, o.quota_to_date, o.actual_to_date) == (
                r.quota, r.actual, r.quota_to_date, r.actual_to_date), (by, label)
    nodes = {r.label.split(" ")[0]: r for r in quota_selectors.attainment(plan=plan, by="node", as_of=AS_OF)}
    (region,) = sales.attainment_rows(data, by="region")
    assert (region.quota, region.actual, region.quota_to_date) == (
        nodes["R1"].quota, nodes["R1"].actual, nodes["R1"].quota_to_date)
    (company,) = sales.attainment_rows(data, by="company")
    assert company.actual == D("35000.00")
    # A quarter: only its months count.
    q3 = sales.attainment_rows(sales.plan_leaves(parse(period="FY2026-Q3", as_of=AS_OF.isoformat())), by="rep")
    ref = {r.label: r for r in quota_selectors.attainment(plan=plan, by="rep", as_of=AS_OF, quarter=3)}
    assert {r.label: (r.quota, r.quota_to_date) for r in q3} == {k: (v.quota, v.quota_to_date) for k, v in ref.items()}


def _pipeline(owner: Person, amount: str) -> None:
    open_stage = Stage.objects.create(name="Proposal", order=1, default_probability=D("0.5"))
    Stage.objects.create(name="Won", order=2, is_won=True, default_probability=D("1"))
    Stage.objects.create(name="Lost", order=3, is_lost=True, default_probability=D("0"))
    opp = Opportunity.objects.create(name="Big deal", owner=owner, stage=open_stage, amount=D(amount),
                                     expected_close=dt.date(2026, 10, 15), created_on=dt.date(2026, 6, 1))
    OpportunityHistory.objects.create(opportunity=opp, valid_from=dt.date(2026, 6, 1), stage=open_stage,
                                      amount=D(amount), expected_close=dt.date(2026, 10, 15), category="pipeline")


def test_coverage_forecast_and_the_coach_flag_by_hand(quota_world):
    pat = quota_world["pat"] if "pat" in quota_world else Person.objects.get(first_name="Pat")
    _pipeline(pat, "1000000")
    f = parse(period="FY2026", as_of=AS_OF.isoformat())
    lines = {line.row.label: line for line in sales.rep_lines(f)}
    line = lines["Pat Prior"]
    # Open on 16 Aug, expected in October: period pipeline 1,000,000; remaining quota 416,499.98 - 15,000.
    assert line.pipeline == D("1000000.00")
    assert line.coverage == pytest.approx(1000000 / 401499.98)
    # Fewer than 5 closed deals: the stage's default 50%; it lands in October, inside the period.
    assert line.weighted == D("500000.00")
    assert line.forecast == D("515000.00")
    assert line.forecast_vs_quota == pytest.approx(515000 / 416499.98)
    coach = flags.coach(list(lines.values()))
    assert [fl.subject for fl in coach] == ["Pat Prior"]  # pace 5.3% < 90%, coverage 2.49x >= 2.0x
    assert coach[0].tile == "attainment" and coach[0].key == f"p{pat.pk}"
    # With half the pipeline (coverage 1.25x) nobody is flagged.
    Opportunity.objects.update(amount=D("500000"))
    OpportunityHistory.objects.update(amount=D("500000"))
    from analytics.models import Snapshot
    Snapshot.objects.all().delete()
    assert flags.coach(sales.rep_lines(f)) == []


def test_commission_cost_percent_sums_cost_over_credited():
    a = PeriodPayout(period=CommissionPeriod(name="Jan"), earned=D("100.00"), adjustments=D("20.00"),
                     credited=D("1000.00"))
    b = PeriodPayout(period=CommissionPeriod(name="Feb"), earned=D("50.00"), adjustments=D("-5.00"),
                     credited=D("500.00"))
    out = sales.commission_cost_of([a, b])
    # (120 + 45) / 1,500 = 11.00%; each period's own: 12.00% and 9.00%.
    assert (out["cost"], out["credited"], out["cost_pct"]) == (D("165.00"), D("1500.00"), D("11.00"))
    assert (a.cost_pct, b.cost_pct) == (D("12.00"), D("9.00"))
    assert sales.commission_cost_of([])["cost_pct"] is None


def _kpi_row(month: dt.date, *, payer=None, facility=None, **measures: str) -> None:
    cols = ["tenant_id", "month", "payer_id", "facility_id", *measures]
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO rcm_feeds_kpi_monthly ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})",
                       [require_tenant_id(), month, payer.pk if payer else None, facility.pk if facility else None,
                        *measures.values()])


MAR, FEB = dt.date(2031, 3, 1), dt.date(2031, 2, 1)


@pytest.fixture
def rcm_world(tenant_a):
    f1 = Facility.objects.create(name="North campus")
    f2 = Facility.objects.create(name="Closed clinic")
    pa = Payer.objects.create(name="Alpha Health", payer_class="commercial")
    pb = Payer.objects.create(name="Beta Care", payer_class="medicaid")
    pc = Payer.objects.create(name="Gamma Plan", payer_class="commercial")
    # March: Alpha collects 6,000 on 10,000 charged (3,500 contractual), Beta 2,000 on 4,000 (1,000), Gamma a net
    # reversal of -100; North campus' revenue-cycle cost is 400; the closed clinic's 50 has no payments.
    _kpi_row(MAR, payer=pa, facility=f1, payments="6000", remit_charges="10000", contractual="3500", paid_claims="15")
    _kpi_row(MAR, payer=pb, facility=f1, payments="2000", remit_charges="4000", contractual="1000", paid_claims="5")
    _kpi_row(MAR, payer=pc, facility=f1, payments="-100", remit_charges="-200", contractual="0")
    _kpi_row(MAR, facility=f1, rcm_cost="400")
    _kpi_row(MAR, facility=f2, rcm_cost="50")
    # February: Alpha's yield was 70% and nothing was spent; Beta the same as in March.
    _kpi_row(FEB, payer=pa, facility=f1, payments="6000", remit_charges="10000", contractual="3000", paid_claims="15")
    _kpi_row(FEB, payer=pb, facility=f1, payments="2000", remit_charges="4000", contractual="1000", paid_claims="5")
    _kpi_row(FEB, facility=f1, rcm_cost="100")
    return {"alpha": pa, "beta": pb, "gamma": pc}


def test_payer_margin_allocates_cost_by_collections(rcm_world):
    f = parse(period="2031-03", as_of="2031-03-31")
    rows = {r.payer: r for r in revenue.payer_margins(f)}
    # 400 split by positive collections 6,000 : 2,000 : 0 -> 300, 100, 0; the closed clinic's 50 is unallocated.
    assert (rows["Alpha Health"].rcm_cost, rows["Alpha Health"].margin) == (D("300.00"), D("5700.00"))
    assert (rows["Beta Care"].rcm_cost, rows["Beta Care"].margin) == (D("100.00"), D("1900.00"))
    assert (rows["Gamma Plan"].rcm_cost, rows["Gamma Plan"].margin) == (D("0.00"), D("-100.00"))
    assert rows["Unallocated RCM cost"].rcm_cost == D("50.00")
    assert rows["Alpha Health"].margin_pct == D("95.00")
    assert rows["Alpha Health"].gross_to_net == D("65.00")
    commercial = revenue.payer_margins(parse(period="2031-03", as_of="2031-03-31", payer_class="commercial"))
    assert {r.payer for r in commercial} == {"Alpha Health", "Gamma Plan"}


def test_adjust_flag_when_margin_or_yield_fell(rcm_world):
    f = parse(period="2031-03", as_of="2031-03-31")
    out = flags.adjust(revenue.payer_margins(f), revenue.payer_margins(f.prior()))
    # Alpha: February margin (6,000 - 75) / 6,000 = 98.75%, March 95.00% (-3.75 points); yield 70% -> 65%.
    # Beta: 98.75% -> 95.00% too (February's 100 split 75 : 25). Gamma has no February.
    assert {fl.subject: fl.reasons for fl in out} == {
        "Alpha Health": ["margin 95.00% of net collected, down 3.75 points from 98.75%",
                         "gross-to-net yield 65.00%, down 5.00 points from 70.00%"],
        "Beta Care": ["margin 95.00% of net collected, down 3.75 points from 98.75%"],
    }
    assert out[0].tile == "payer_margin" and out[0].key == str(rcm_world["alpha"].pk)


def test_revenue_per_fte_and_per_encounter_by_hand(rcm_world):
    Person.objects.create(employee_id="N1", first_name="Nora", last_name="New", hire_date=dt.date(2031, 3, 17))
    Person.objects.create(employee_id="L1", first_name="Lee", last_name="Left", hire_date=dt.date(2030, 1, 1),
                          termination_date=dt.date(2031, 3, 10))
    Person.objects.create(employee_id="G1", first_name="Gone", last_name="Before", hire_date=dt.date(2030, 1, 1),
                          termination_date=dt.date(2031, 2, 28))
    f = parse(period="2031-03", as_of="2031-03-31")
    pay = revenue.payroll(f)
    # Mona and Ray all 31 days, Nora 17-31 March (15), Lee 1-10 March (10): 87 / 31 = 2.806 -> 2.81 FTE.
    assert pay["fte"] == D("2.81")
    totals = revenue.revenue_totals(f)
    # NPSR = (10,000 - 3,500) + (4,000 - 1,000) + (-200) = 9,300; 20 claims first paid.
    assert totals.npsr == D("9300.00")
    assert totals.per_encounter == D("465.00")
    assert revenue.revenue_per_fte(totals.npsr, pay["fte"]) == D("3309.61")  # 9,300 / 2.81
    assert totals.gross_to_net == D("67.39")  # 9,300 / 13,800


def test_invest_flag_for_high_potential_vacant_or_behind_territories():
    balance = {"leaves": [
        {"code": "T1", "name": "Denver", "potential": "300", "vacant": True, "primary": "To be hired"},
        {"code": "T2", "name": "Boulder", "potential": "100", "vacant": False, "primary": "Quinn"},
        {"code": "T3", "name": "Provo", "potential": "200", "vacant": False, "primary": "Nia"},
    ]}
    data = sales.Attainment(None, AS_OF, D(0), [])
    out = flags.invest(balance, [], data, [])
    # Mean potential 200: T1 (300 >= 1.2 x 200) is high and vacant; T3 (200) is not high.
    assert [(fl.subject, fl.reasons) for fl in out] == [
        ("T1 Denver", ["potential 1.5x the mean territory's", "no rep covering it (To be hired)"])]


def test_the_nightly_refresh_materializes_both_snapshots(quota_world):
    from analytics.models import Snapshot
    from analytics.tasks import snapshots_refresh_task

    _pipeline(quota_world["pat"], "1000")
    out = snapshots_refresh_task.run(tenant_id=require_tenant_id())
    assert len(out["snapshots"]) == 2
    pipeline = Snapshot.objects.get(kind="pipeline")
    assert pipeline.payload["close"] == [[quota_world["pat"].pk, "2026-10-01", "1000.00", 1]]
    balance = Snapshot.objects.get(kind="territory_balance")
    assert {leaf["code"] for leaf in balance.payload["leaves"]} == {"T1", "T2", "T3"}
