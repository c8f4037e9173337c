"""The leaf-month attainment summary (``quotas.models.LeafAttainmentMonth``) that the executive dashboard reads:

- rebuilt by every allocation and attainment recompute, and equal, row by row, to the quota months it summarises
  (amount and actual in cents; the rep's columns zero before the rep's hire month);
- the dashboard's attainment read from it equals quotas' own ``selectors.attainment`` (the slow reference) by rep,
  team and region, for years, quarters and months and any as-of date (a hypothesis property), and still does
  after late actuals arrive (the queued recompute) and after months change behind its back (rebuilt on read).

Hand figures from tests/quotas/test_services.py: T1 February 10,000.00 and March 5,000.00 credited; T3 (Nia, ramp)
January carries 6,666.67; T2 April 1,000.00 (Quinn's own referral) and August 7,000.00 (account B after the move).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import filters
from analytics.selectors import sales
from quotas import jobs, selectors, services
from quotas.models import LeafAttainmentMonth, Quota, QuotaMonth, QuotaPlan, QuotaPlanStatus
from revops.models import Account, Job
from revops.tenancy import tenant_context
from tests.quotas import fixtures

pytestmark = pytest.mark.django_db
D = Decimal
JUL = dt.date(2026, 7, 1)


@pytest.fixture
def a(world):
    with tenant_context(world.a.org):
        Account.objects.all().update(is_active=False)  # the world's own account stays out of the sums
        yield world.a


def cents(value: Decimal) -> int:
    return int(value * 100)


def direct(plan: QuotaPlan) -> dict[tuple[int, dt.date], tuple[int, int, int, int]]:
    """The summary computed straight from the quota months (the reference)."""
    out = {}
    for m in QuotaMonth.objects.filter(quota__plan=plan, quota__is_leaf=True).select_related("quota"):
        counts = m.quota.ramp_start is None or m.month >= m.quota.ramp_start
        out[(m.quota_id, m.month)] = (cents(m.amount), cents(m.actual), cents(m.amount) if counts else 0,
                                      cents(m.actual) if counts else 0)
    return out


def leaf(plan: QuotaPlan, code: str) -> int:
    return Quota.objects.get(plan=plan, code=code).pk


def test_recomputes_rebuild_the_summary_and_it_equals_the_quota_months(a):
    plan = fixtures.build()["plan"]  # built and allocated: no actuals yet
    plan.refresh_from_db()
    assert selectors.summary_is_current(plan)
    assert selectors.summary_months(plan=plan) == direct(plan)
    assert LeafAttainmentMonth.objects.filter(plan=plan).count() == 3 * 12  # leaves only
    t1, t2, t3 = leaf(plan, "T1"), leaf(plan, "T2"), leaf(plan, "T3")
    assert selectors.summary_months(plan=plan)[(t3, dt.date(2026, 1, 1))][:2] == (666667, 0)

    services.attainment_refresh(plan=plan)
    rows = selectors.summary_months(plan=plan)
    assert rows == direct(plan)
    assert rows[(t1, dt.date(2026, 2, 1))][1] == rows[(t1, dt.date(2026, 2, 1))][3] == 1_000_000
    assert rows[(t1, dt.date(2026, 3, 1))][1] == 500_000

    # A manager's override re-allocates the draft: the summary follows the new month quotas.
    services.quota_override_set(quota=Quota.objects.get(plan=plan, code="T1"), amount=D("500000"))
    assert selectors.summary_months(plan=plan) == direct(plan)
    assert selectors.summary_months(plan=plan)[(t1, dt.date(2026, 2, 1))][1] == 1_000_000  # actuals kept

    # A rep who starts in July: their columns leave out the territory's months before.
    Quota.objects.filter(pk=t2).update(ramp_start=JUL)
    services.attainment_summary_refresh(plan=plan)
    rows = selectors.summary_months(plan=plan)
    assert rows == direct(plan)
    assert rows[(t2, dt.date(2026, 4, 1))][1:4:2] == (100_000, 0)  # Quinn's April referral: the node's only
    assert rows[(t2, dt.date(2026, 8, 1))][1:4:2] == (700_000, 700_000)


def _activate(plan: QuotaPlan) -> QuotaPlan:
    services.attainment_refresh(plan=plan)
    QuotaPlan.objects.filter(pk=plan.pk).update(status=QuotaPlanStatus.ACTIVE)
    plan.refresh_from_db()
    return plan


def _agree(plan: QuotaPlan, f: filters.Filters, *, month: dt.date | None = None, quarter: int | None = None) -> None:
    """The dashboard's rows (summary) equal quotas' attainment (quota months) by rep and team; the region's
    node sums equal its node row."""
    data = sales.plan_leaves(f)
    for by in ("rep", "team"):
        reference = {r.key: r for r in selectors.attainment(plan=plan, by=by, as_of=f.as_of, month=month,
                                                            quarter=quarter)}
        ours = {r.key: r for r in sales.attainment_rows(data, by=by)}
        assert set(ours) == set(reference), by
        for key, r in reference.items():
            o = ours[key]
            assert (o.quota, o.actual, o.quota_to_date, o.actual_to_date, sorted(o.quota_ids)) == (
                r.quota, r.actual, r.quota_to_date, r.actual_to_date, sorted(r.quota_ids)), (by, key)
    nodes = {r.label.split(" ")[0]: r for r in selectors.attainment(plan=plan, by="node", as_of=f.as_of, month=month,
                                                                    quarter=quarter)}
    (region,) = sales.attainment_rows(data, by="region")
    assert (region.quota, region.actual, region.quota_to_date, region.actual_to_date) == (
        nodes["R1"].quota, nodes["R1"].actual, nodes["R1"].quota_to_date, nodes["R1"].actual_to_date)


def _fy(as_of: dt.date) -> filters.Filters:
    return filters.parse({"period": "FY2026", "as_of": as_of.isoformat()}, start_month=1, today=dt.date(2027, 1, 5))


def test_late_actuals_reach_the_dashboard_through_the_queued_recompute(a, django_capture_on_commit_callbacks):
    world = fixtures.build()
    plan = _activate(world["plan"])
    f = _fy(dt.date(2026, 10, 20))
    _agree(plan, f)
    assert sales.attainment_rows(sales.plan_leaves(f), by="company")[0].actual == D("35000.00")

    # A September deal on account A (T1's) arrives in October: the upsert queues an attainment recompute.
    late = ("QW-late", "bookings", "deal", world["accounts"]["A"].pk, None, dt.date(2026, 9, 14), D("2500.00"), "")
    with django_capture_on_commit_callbacks(execute=False):
        services.transactions_upsert(rows=[late])
    job = Job.objects.get(kind="quota_recompute")
    assert job.params == {"plan": plan.pk, "attainment_only": True}
    jobs.plan_recompute_job(job, plan.pk, attainment_only=True)  # what the worker runs
    plan.refresh_from_db()
    assert selectors.summary_is_current(plan) and selectors.summary_months(plan=plan) == direct(plan)
    company = sales.attainment_rows(sales.plan_leaves(f), by="company")[0]
    assert company.actual == company.actual_to_date == D("37500.00")
    pat = next(r for r in sales.attainment_rows(sales.plan_leaves(f), by="rep") if r.label == "Pat Prior")
    assert pat.actual == D("17500.00")  # 10,000 + 5,000 + the late 2,500
    _agree(plan, f)


def test_a_summary_older_than_the_months_is_rebuilt_on_read(a):
    plan = _activate(fixtures.build()["plan"])
    f = _fy(dt.date(2026, 8, 16))
    # Months written behind the summary's back by a newer attainment run (another process): the stamps say so.
    # T3's May (account D's 4,000) and its ancestors' months gain 321.00.
    QuotaMonth.objects.filter(quota__plan=plan, quota__code__in=["T3", "A2", "R1", "COMPANY"],
                              month=dt.date(2026, 5, 1)).update(actual=F("actual") + D("321.00"))
    QuotaPlan.objects.filter(pk=plan.pk).update(attainment_at=plan.summary_at + dt.timedelta(microseconds=1))
    plan.refresh_from_db()
    assert not selectors.summary_is_current(plan)
    nia = next(r for r in sales.attainment_rows(sales.plan_leaves(f), by="rep") if r.label == "Nia New")
    assert nia.actual == D("4321.00")
    plan.refresh_from_db()
    assert selectors.summary_is_current(plan) and selectors.summary_months(plan=plan) == direct(plan)
    _agree(plan, f)


PERIODS = st.one_of(st.just(("FY2026", None, None)),
                    st.integers(1, 4).map(lambda q: (f"FY2026-Q{q}", None, q)),
                    st.integers(1, 12).map(lambda m: (f"2026-{m:02d}", dt.date(2026, m, 1), None)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(period=PERIODS, day=st.integers(0, 364))
def test_property_the_summary_gives_quotas_figures_for_any_period_and_as_of(a, period, day):
    plan = QuotaPlan.objects.filter(name="QW FY2026").first()
    if plan is None:
        world = fixtures.build()
        Quota.objects.filter(plan=world["plan"], code="T2").update(ramp_start=JUL)  # a mid-year rep too
        plan = _activate(world["plan"])
    name, month, quarter = period
    as_of = dt.date(2026, 1, 1) + dt.timedelta(days=day)
    f = filters.parse({"period": name, "as_of": as_of.isoformat()}, start_month=1, today=dt.date(2027, 1, 5))
    _agree(plan, f, month=month, quarter=quarter)
