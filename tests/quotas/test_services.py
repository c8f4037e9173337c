"""Quota services on the hand-made world of tests/quotas/fixtures.py, every figure worked out by hand.

Allocation of 1,000,000.00 with 60% potential / 40% prior year (see the fixture docstring):
  A1 = .6 x 800k/1,000k + .4 x 180k/200k = .84 -> 840,000.00;  A2 -> 160,000.00
  T1 = .6 x 400/800 + .4 x 120/180 = 17/30 of A1 -> 476,000.00;  T2 -> 364,000.00;  T3 -> 160,000.00
Flat phasing: T1 47,600,000 cents / 12 = 3,966,666.67 -> eight months of 39,666.67 and four of 39,666.66.
Ramp: Nia (T3) was hired in December 2025, ramp 25/50/75%: January is her 2nd month (50%), February 75%.
  T3 January 13,333.34 -> carries 6,666.67 (ramp -6,666.67); February 75% of 13,333.34 = 10,000.005 -> 10,000.01.
Relief: account B (potential 100,000 of T1's 400,000 -> share 0.25) moves to T2 on 1 July: each month July-December
  moves T1's month quota x 0.25: 39,666.67 x .25 = 9,916.6675 -> 9,916.67 (and 39,666.66 x .25 = 9,916.665 -> 9,916.67).
  T1 = 476,000 - 6 x 9,916.67 = 416,499.98;  T2 = 364,000 + 59,500.02 = 423,500.02;  T3 = 160,000 - 10,000 = 150,000.
Attainment 2026: T1 A 10,000 + B(Mar, still T1) 5,000 = 15,000; T2 C 8,000 + B(Aug) 7,000 + Quinn's own 1,000 =
  16,000; T3 D 4,000; account E belongs to no territory: 500 uncredited.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from quotas import selectors, services
from quotas.models import CreditedTransaction, Quota, QuotaMonth, QuotaPlanStatus, QuotaRelief
from revops.models import Account
from revops.tenancy import tenant_context
from tests.quotas import fixtures

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def a(world):
    with tenant_context(world.a.org):
        Account.objects.all().update(is_active=False)  # the world's own account stays out of the sums
        yield world.a


def node(plan, code) -> Quota:
    return Quota.objects.get(plan=plan, code=code)


def months(plan, code) -> list[QuotaMonth]:
    return list(QuotaMonth.objects.filter(quota__plan=plan, quota__code=code).order_by("month"))


def test_top_down_allocation_by_blended_methods_to_the_cent(a):
    plan = fixtures.build(relief=False)["plan"]
    annual = {q.code: q.annual for q in Quota.objects.filter(plan=plan)}
    assert annual == {"COMPANY": D("1000000.00"), "R1": D("1000000.00"), "A1": D("840000.00"),
                      "A2": D("160000.00"), "T1": D("476000.00"), "T2": D("364000.00"), "T3": D("160000.00")}
    t1 = node(plan, "T1")
    assert (t1.potential, t1.prior_year) == (D("400000.00"), D("120000.00"))
    assert node(plan, "A1").potential == D("800000.00")  # parents are the sums of their leaves
    assert [m.allocated for m in months(plan, "T1")] == [D("39666.67")] * 8 + [D("39666.66")] * 4
    assert selectors.check_sums(plan=plan) == []


def test_new_hire_ramp_reduces_the_first_months(a):
    plan = fixtures.build(relief=False)["plan"]
    t3 = months(plan, "T3")
    assert [m.ramp for m in t3[:3]] == [D("-6666.67"), D("-3333.33"), D("0.00")]
    assert [m.amount for m in t3[:3]] == [D("6666.67"), D("10000.01"), D("13333.34")]
    assert node(plan, "T3").amount == D("150000.00")
    assert node(plan, "T1").amount == D("476000.00")  # Pat was hired in 2019: no ramp
    # The company's months are the sums of the leaves after ramp.
    company = months(plan, "COMPANY")
    assert company[0].amount == D("39666.67") + D("30333.34") + D("6666.67")


def test_relief_moves_quota_with_the_account_and_shows_on_both_reps(a):
    plan = fixtures.build()["plan"]
    t1, t2 = months(plan, "T1"), months(plan, "T2")
    assert [m.relief for m in t1[:6]] == [D(0)] * 6
    assert [m.relief for m in t1[6:]] == [D("-9916.67")] * 6
    assert [m.relief for m in t2[6:]] == [D("9916.67")] * 6
    assert node(plan, "T1").amount == D("416499.98")
    assert node(plan, "T2").amount == D("423500.02")
    reliefs = QuotaRelief.objects.filter(plan=plan)
    assert reliefs.count() == 6
    assert {(r.from_quota.code, r.to_quota.code, r.share) for r in reliefs} == {("T1", "T2", D("0.250000"))}
    history_t1 = selectors.quota_history(quota=node(plan, "T1"))
    history_t2 = selectors.quota_history(quota=node(plan, "T2"))
    assert len(history_t1["relief_out"]) == 6 and len(history_t2["relief_in"]) == 6
    # Relief between leaves of the same area leaves the area's months unchanged.
    assert sum(m.amount for m in months(plan, "A1")) == D("840000.00")
    assert selectors.check_sums(plan=plan) == []


def test_mid_month_relief_is_prorated_by_days(a):
    world = fixtures.build_territories(relief=False)
    from territories import services as territory_services

    tp = world["territory_plan"]
    approver = a.users["executive"]
    jul = territory_services.plan_copy(plan=tp, name="QW Jul 15", effective_from=dt.date(2026, 7, 15))
    territory_services.rule_delete(rule=jul.rules.get(kind="zip", value="80203"))
    territory_services.rule_save(plan=jul, territory=jul.territories.get(code="T2"), kind="zip", value="80203")
    territory_services.plan_propose(plan=jul)
    territory_services.plan_approve(plan=jul, user=approver)
    territory_services.plan_activate(plan=jul, on=dt.date(2026, 7, 15), user=approver)
    services.transactions_upsert(rows=fixtures.transaction_rows(world))
    plan = services.plan_create(name="QW mid", fiscal_year=2026, territory_plan=tp, company_target=D("1000000"),
                                weights={"even": 0, "potential": D("0.6"), "prior_year": D("0.4"), "ttm": 0,
                                         "custom": 0})
    july = QuotaRelief.objects.get(plan=plan, month=dt.date(2026, 7, 1))
    # 17 of July's 31 days are after the move: 0.548387; 991,666.75 cents x 0.548387 = 543,817.15 -> 5,438.17.
    assert july.days_fraction == D("0.548387")
    assert july.amount == D("5438.17")
    assert QuotaRelief.objects.get(plan=plan, month=dt.date(2026, 8, 1)).amount == D("9916.67")


def test_attainment_credits_the_owner_on_the_transaction_date(a):
    world = fixtures.build()
    plan = world["plan"]
    summary = services.attainment_refresh(plan=plan)
    assert summary == {"credited": "35000.00", "credited_transactions": 6, "uncredited": "500.00",
                       "uncredited_transactions": 1}
    actual = {q.code: q.actual for q in Quota.objects.filter(plan=plan)}
    assert actual == {"COMPANY": D("35000.00"), "R1": D("35000.00"), "A1": D("31000.00"), "A2": D("4000.00"),
                      "T1": D("15000.00"), "T2": D("16000.00"), "T3": D("4000.00")}
    assert [m.actual for m in months(plan, "T2")][:8] == [D("8000.00"), 0, 0, D("1000.00"), 0, 0, 0, D("7000.00")]
    # Prior-year transactions are outside the plan's fiscal year.
    assert CreditedTransaction.objects.filter(transaction_date__year=2025).count() == 4


def test_attainment_and_pace_by_rep_team_and_level(a):
    world = fixtures.build()
    plan = world["plan"]
    services.attainment_refresh(plan=plan)
    as_of = dt.date(2026, 8, 16)
    by_rep = {r.label: r for r in selectors.attainment(plan=plan, by="rep", as_of=as_of)}
    pat = by_rep["Pat Prior"]
    assert (pat.quota, pat.actual) == (D("416499.98"), D("15000.00"))
    # Quota to date: Jan-Jun 6 x 39,666.67 + July 29,750.00 + August 29,750.00 x 15/31 (= 14,395.16).
    assert pat.quota_to_date == D("238000.02") + D("29750.00") + D("14395.16")
    assert pat.pace == pytest.approx(15000 / 282145.18)
    assert pat.attainment == pytest.approx(15000 / 416499.98)
    by_team = {r.label: r for r in selectors.attainment(plan=plan, by="team", as_of=as_of)}
    assert by_team["QW Front Range"].actual == D("31000.00")
    assert by_team["QW Utah"].actual == D("4000.00")
    by_level = {r.label: r for r in selectors.attainment(plan=plan, by="level", as_of=as_of)}
    assert by_level["Territory"].actual == D("35000.00")
    assert by_level["Area"].quota == D("990000.00")
    august = selectors.attainment(plan=plan, by="node", month=dt.date(2026, 8, 1), as_of=as_of)
    t2 = next(r for r in august if r.label.startswith("T2"))
    assert (t2.quota, t2.actual) == (D("30333.33") + D("9916.67"), D("7000.00"))


def test_override_rebalances_siblings_and_is_checked_against_the_parent(a):
    plan = fixtures.build(relief=False)["plan"]
    services.quota_override_set(quota=node(plan, "T1"), amount=D("500000"))
    assert (node(plan, "T1").annual, node(plan, "T2").annual) == (D("500000.00"), D("340000.00"))
    assert node(plan, "A1").annual == D("840000.00")
    with pytest.raises(ValidationError, match="more than its target"):
        services.quota_override_set(quota=node(plan, "T2"), amount=D("340000.01"))
    with pytest.raises(ValidationError, match="company target"):
        services.quota_override_set(quota=node(plan, "COMPANY"), amount=D("1"))
    # Rebuilding the tree keeps the override (matched by territory code).
    services.tree_build(plan=plan)
    services.plan_allocate(plan=plan)
    assert node(plan, "T1").annual == D("500000.00")
    services.quota_override_set(quota=node(plan, "T1"), amount=None)
    assert node(plan, "T1").annual == D("476000.00")


def test_custom_field_and_even_split_methods(a):
    plan = fixtures.build(relief=False)["plan"]
    services.quota_custom_basis_set(quota=node(plan, "T1"), amount=D("3"))
    services.quota_custom_basis_set(quota=node(plan, "T2"), amount=D("1"))
    services.quota_custom_basis_set(quota=node(plan, "T3"), amount=D("1"))
    services.plan_update(plan=plan, weight_potential=D(0), weight_prior_year=D(0), weight_custom=D(1))
    # A1 has custom 4 of 5 -> 800,000; T1 3 of 4 of A1 -> 600,000.
    assert [node(plan, c).annual for c in ("A1", "T1", "T2", "T3")] == [D("800000.00"), D("600000.00"),
                                                                        D("200000.00"), D("200000.00")]
    services.plan_update(plan=plan, weight_custom=D(0), weight_even=D(1))
    assert [node(plan, c).annual for c in ("A1", "A2", "T1", "T2")] == [D("500000.00")] * 2 + [D("250000.00")] * 2
    with pytest.raises(ValidationError, match="at least one"):
        services.plan_update(plan=plan, weight_even=D(0))


def test_bottom_up_submission_gap_and_accept(a, world):
    plan = fixtures.build(relief=False)["plan"]
    services.bottom_up_submit(quota=node(plan, "T1"), amount=D("450000"), note="Two big accounts churn",
                              user=world.a.users["revops_analyst"])
    services.bottom_up_submit(quota=node(plan, "T2"), amount=D("380000"))
    rows = {r["quota"].code: r for r in selectors.reconciliation(plan=plan)}
    assert rows["T1"]["gap"] == D("-26000.00")
    assert rows["A1"]["bottom_up"] == D("830000.00") and not rows["A1"]["own_submission"]
    assert rows["A2"]["bottom_up"] is None  # T3 has not submitted
    services.bottom_up_accept(quota=node(plan, "T1"))
    assert (node(plan, "T1").annual, node(plan, "T2").annual) == (D("450000.00"), D("390000.00"))


def test_seasonality_learned_from_history_and_typed(a):
    world = fixtures.build_territories(relief=False)
    services.transactions_upsert(rows=fixtures.transaction_rows(world))
    profile = services.seasonality_learn(name="Learned", metric="bookings", fiscal_start=dt.date(2026, 1, 1), years=1)
    # 2025: March 100,000, June 20,000, September 60,000, November 20,000 of 200,000.
    assert [str(w) for w in profile.weights] == ["0.000000", "0.000000", "0.500000", "0.000000", "0.000000",
                                                 "0.100000", "0.000000", "0.000000", "0.300000", "0.000000",
                                                 "0.100000", "0.000000"]
    assert profile.source == "learned" and "2025" in profile.learned_from
    typed = services.seasonality_save(name="Typed", weights=[7, 7, 9, 9, 9, 8, 7, 8, 9, 9, 9, 9])
    assert sum(typed.weights) == 1
    with pytest.raises(ValidationError, match="twelve"):
        services.seasonality_save(name="Short", weights=[1, 2, 3])
    plan = services.plan_create(name="Seasonal", fiscal_year=2026, territory_plan=world["territory_plan"],
                                company_target=D("1000000"), seasonality=profile)
    t1 = months(plan, "T1")
    assert sum(m.allocated for m in t1) == node(plan, "T1").annual
    assert t1[0].allocated == 0 and t1[2].allocated == (node(plan, "T1").annual * D("0.5")).quantize(D("0.01"))


def test_lifecycle_one_active_plan_per_year_and_metric(a, world):
    built = fixtures.build(relief=False)
    plan = built["plan"]
    exec_user = world.a.users["executive"]
    services.plan_approve(plan=plan, user=exec_user)
    with pytest.raises(ValidationError, match="only a draft"):
        services.plan_update(plan=plan, company_target=D("5"))
    services.plan_return_to_draft(plan=plan)
    services.plan_approve(plan=plan, user=exec_user)
    services.plan_activate(plan=plan, user=exec_user)
    assert plan.status == QuotaPlanStatus.ACTIVE and plan.attainment_summary["credited"] == "35000.00"
    second = services.plan_create(name="QW FY2026 b", fiscal_year=2026, territory_plan=built["territory_plan"],
                                  company_target=D("900000"))
    services.plan_approve(plan=second, user=exec_user)
    services.plan_activate(plan=second, user=exec_user)
    plan.refresh_from_db()
    assert plan.status == QuotaPlanStatus.ARCHIVED
    with pytest.raises(ValidationError, match="active plan cannot be deleted"):
        services.plan_delete(plan=second)


def test_fairness_flags_outliers_gini_warnings_and_last_years_hit_rate(a):
    world = fixtures.build()
    plan = world["plan"]
    fair = selectors.fairness(plan=plan)
    t1, t2, t3 = (node(plan, c) for c in ("T1", "T2", "T3"))
    # Ratios: 416,499.98/400,000, 423,500.02/400,000, 150,000/200,000 = 0.75; median 1.04124995.
    assert fair.ratios[t3.pk] == pytest.approx(0.75)
    assert fair.median_ratio == pytest.approx(416499.98 / 400000)
    assert t3.pk in fair.flags and "below the median" in fair.flags[t3.pk][0]
    # T1 and T2 are near the median but carry more than their potential.
    assert fair.flags[t1.pk] == ["quota 416,500 exceeds the territory's potential 400,000"]
    assert len(fair.flags[t2.pk]) == 1
    ratios = [416499.98 / 400000, 423500.02 / 400000, 0.75]
    mean_abs_diff = sum(abs(x - y) for x in ratios for y in ratios) / 9
    assert fair.gini == pytest.approx(mean_abs_diff / (2 * sum(ratios) / 3))
    assert any("10,000.00 below the company target" in w for w in fair.warnings)
    # Last year: three reps at ratios 1.0, 1.0 and 0.7 of potential; the two at the median made quota.
    prior = services.plan_create(name="QW FY2025", fiscal_year=2025, territory_plan=world["territory_plan"],
                                 company_target=D("900000"))
    for code, amount, actual in (("T1", "400000", "410000"), ("T2", "400000", "400000"), ("T3", "140000", "90000")):
        Quota.objects.filter(plan=prior, code=code).update(amount=D(amount), actual=D(actual))
    prior.status = QuotaPlanStatus.ARCHIVED
    prior.save(update_fields=["status"])
    fair = selectors.fairness(plan=plan)
    assert fair.prior_plan == prior
    assert fair.similar[t1.pk] == (1.0, 2)      # T1 sits at the median band: both reps there made it
    assert fair.similar[t3.pk] == (0.0, 1)      # T3's band (70-80% of median): the one rep there did not


def test_quota_exceeding_potential_is_flagged(a):
    plan = fixtures.build(relief=False, target="2000000")["plan"]
    fair = selectors.fairness(plan=plan)
    assert all(any("exceeds the territory's potential" in r for r in reasons) for reasons in fair.flags.values())
    assert any("exceed what the territory's potential can support" in w for w in fair.warnings)


def test_transactions_upsert_is_idempotent_and_stays_in_the_organization(a, world):
    built = fixtures.build_territories(relief=False)
    rows = fixtures.transaction_rows(built)
    first = services.transactions_upsert(rows=rows)
    assert first == {"received": 11, "inserted": 11, "updated": 0, "unchanged": 0}
    assert services.transactions_upsert(rows=rows) == {"received": 11, "inserted": 0, "updated": 0, "unchanged": 11}
    changed = [rows[0][:6] + (D("1.00"), "")]
    assert services.transactions_upsert(rows=changed)["updated"] == 1
    with pytest.raises(ValidationError, match="appears twice"):
        services.transactions_upsert(rows=[rows[0], rows[0][:6] + (D("2.00"), "")])
    foreign = world.b.objects["account"].pk
    with pytest.raises(ValidationError, match="not in this organization"):
        services.transactions_upsert(rows=[("X", "bookings", "deal", foreign, None, dt.date(2026, 1, 1), D(1), "")])
    assert CreditedTransaction.objects.count() == 11


def test_custom_metric_plans_read_transactions_of_their_code(a):
    world = fixtures.build_territories(relief=False)
    services.transactions_upsert(rows=fixtures.transaction_rows(world, metric="lab_panels"))
    with pytest.raises(ValidationError, match="custom metric"):
        services.plan_create(name="Custom", fiscal_year=2026, territory_plan=world["territory_plan"],
                             company_target=D(100), metric="custom")
    plan = services.plan_create(name="Custom", fiscal_year=2026, territory_plan=world["territory_plan"],
                                company_target=D(100), metric="custom", custom_metric="lab_panels")
    assert services.attainment_refresh(plan=plan)["credited"] == "35000.00"


def test_a_july_fiscal_year(a):
    from revops.models import Organization

    Organization.objects.filter(pk=a.org.pk).update(fiscal_year_start_month=7)
    world = fixtures.build_territories(relief=False)
    plan = services.plan_create(name="FY27", fiscal_year=2027, territory_plan=world["territory_plan"],
                                company_target=D("1200000"))
    assert (plan.effective_from, plan.effective_to) == (dt.date(2026, 7, 1), dt.date(2027, 7, 1))
    assert [m.month for m in months(plan, "COMPANY")][0] == dt.date(2026, 7, 1)
    assert services.fiscal_year_of(dt.date(2026, 8, 1), 7) == 2027


def test_territory_balance_shows_current_attainment_of_the_active_plan(a, world):
    from django.urls import reverse

    from territories.selectors import plan_balance

    built = fixtures.build()
    plan = built["plan"]
    rows = {r["code"]: r for r in plan_balance(plan=built["july_plan"]).territories}
    assert rows["T1"]["attainment"] is None  # no active quota plan yet
    services.plan_approve(plan=plan, user=world.a.users["executive"])
    services.plan_activate(plan=plan)
    # Today (the tests run in FY2026's calendar or later) falls in the plan's year only in 2026.
    from quotas.selectors import leaf_attainment_by_code

    current = leaf_attainment_by_code(on=dt.date(2026, 11, 22))
    assert current["T1"]["quota"] == D("416499.98") and current["T1"]["actual"] == D("15000.00")
    assert current["T1"]["attainment"] == pytest.approx(15000 / 416499.98)
    assert leaf_attainment_by_code(on=dt.date(2027, 1, 5)) == {}
    page = world.a.client("revops_analyst").get(reverse("territories_plan", args=[built["july_plan"].pk]))
    assert page.status_code == 200 and b'data-col="attainment"' in page.content


def test_a_mid_year_hire_is_measured_from_the_hire_month(a):
    world = fixtures.build(relief=False)
    plan = world["plan"]
    # Nia's territory sold 4,000 in May; say she was hired in June instead of last December.
    world["nia"].hire_date = dt.date(2026, 6, 10)
    world["nia"].save()
    services.plan_reallocate(plan=plan)
    services.attainment_refresh(plan=plan)
    t3 = months(plan, "T3")
    assert [m.amount for m in t3[:5]] == [D(0)] * 5          # no quota before the hire month
    assert t3[5].ramp == -(t3[5].allocated * D("0.75")).quantize(D("0.01"))  # June: 25%
    assert node(plan, "T3").actual == D("4000.00")            # the territory keeps its May sale
    nia = next(r for r in selectors.attainment(plan=plan, by="rep", as_of=dt.date(2026, 12, 31))
               if r.label == "Nia New")
    assert nia.actual == D(0) and nia.quota == node(plan, "T3").amount
    services.plan_approve(plan=plan, user=a.users["executive"])
    services.plan_activate(plan=plan)
    services.plan_archive(plan=plan)
    assert plan.status == QuotaPlanStatus.ARCHIVED
    with pytest.raises(ValidationError, match="Only an approved or active"):
        services.plan_archive(plan=plan)


def test_quarter_roll_ups(a):
    plan = fixtures.build()["plan"]
    services.attainment_refresh(plan=plan)
    rows = {r.label: r for r in selectors.attainment(plan=plan, by="rep", quarter=3, as_of=dt.date(2026, 12, 31))}
    # T2's 364,000 phases to 30,333.34 in January-April (four left-over cents) and 30,333.33 after, so Q3
    # (Jul-Sep) is 3 x 30,333.33 + 3 x 9,916.67 of relief = 120,750.00; actual: B's 7,000 in August.
    t2 = rows["Quinn Quota"]
    assert t2.quota == 3 * D("30333.33") + 3 * D("9916.67") == D("120750.00")
    assert t2.actual == D("7000.00")
    year = sum((r.quota for r in selectors.attainment(plan=plan, by="node")
                if r.label.startswith("COMPANY")), D(0))
    quarters = sum((r.quota for q in (1, 2, 3, 4) for r in selectors.attainment(plan=plan, by="node", quarter=q)
                    if r.label.startswith("COMPANY")), D(0))
    assert quarters == year == D("990000.00")
    with pytest.raises(ValueError):
        selectors.attainment(plan=plan, quarter=5)
