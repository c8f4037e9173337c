"""KPI definitions: hand-computed values on a small fixture, and SQL vs a slow Python reference."""
from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rcm_feeds import aggregates, kpis
from rcm_feeds.models import ArBalance, Claim, ClaimPayment, Denial, RcmCost
from revops.models import Payer
from revops.tenancy import tenant_context

from . import kpi_fixtures as fx

D = Decimal
JAN, FEB, MAR = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)
PERIOD = kpis.KpiFilters(start=JAN, end=MAR)


def _values(rows: list[kpis.KpiRow], group: str | None = None) -> dict[dt.date, dict[str, Decimal | None]]:
    return {r.month: {k: v.value for k, v in r.values.items()} for r in rows if r.group == group}


@pytest.fixture
def hand(tenant_a: Any) -> dict[str, Any]:
    data = fx.hand_fixture(tenant_a)
    aggregates.aggregates_refresh()
    return data


# The numbers below are worked out by hand from tests/rcm_feeds/kpi_fixtures.py::hand_fixture.
def test_claim_cohort_kpis_by_submission_month(hand: dict[str, Any]) -> None:
    v = _values(kpis.kpi_series(PERIOD))
    # January originals: C1 1000, C2 500 (front-end rejected), C3 2000, C4 300, C5 800 (replaced by C5b).
    assert v[JAN]["clean_claim_rate"] == D("60.00")  # C1, C3, C4 of 5
    # Adjudicated: C1..C4 (C5's payment went to its replacement). First pass: C1, C2 (C3 denied, C4 line denial).
    assert v[JAN]["first_pass_yield"] == D("50.00")
    assert v[JAN]["initial_denial_rate"] == D("20.00")  # C3 of 5
    assert v[JAN]["initial_denial_rate_dollars"] == D("45.65")  # (2000 + 100) / 4600
    # February: only C6 (C5b is a replacement, not a submission); nothing adjudicated yet.
    assert v[FEB]["clean_claim_rate"] == D("100.00")
    assert v[FEB]["first_pass_yield"] is None
    assert v[FEB]["initial_denial_rate"] == D("0.00")


def test_collection_rates_net_out_reversals(hand: dict[str, Any]) -> None:
    v = _values(kpis.kpi_series(PERIOD))
    # February remittance: charges 3800, paid 1400, contractual 200 + 100 (C3's CO-197 and C4's CO-50 are denials).
    assert v[FEB]["net_collection_rate"] == D("40.00")  # 1400 / 3500
    assert v[FEB]["gross_collection_rate"] == D("36.84")  # 1400 / 3800
    assert v[FEB]["gross_to_net_yield"] == D("92.11")  # 3500 / 3800
    # March: C3 2000/1500/500, C5b 800/700/100, C1 reversal -1000/-800/-200, C1 again 1000/850/150.
    assert v[MAR]["net_collection_rate"] == D("100.00")  # 2250 / (2800 - 550)
    assert v[MAR]["gross_collection_rate"] == D("80.36")  # 2250 / 2800
    assert v[MAR]["gross_to_net_yield"] == D("80.36")


def test_days_to_pay_counts_first_payment_month(hand: dict[str, Any]) -> None:
    v = _values(kpis.kpi_series(PERIOD))
    assert v[FEB]["days_to_pay"] == D("23.3")  # C1 30, C2 25, C4 15 days
    assert v[MAR]["days_to_pay"] == D("51.5")  # C3 60 (first paid after the overturn), C5b 43; C1 not first
    assert JAN not in v or v[JAN]["days_to_pay"] is None


def test_denial_cohort_overturn_rate_and_median_resolution(hand: dict[str, Any]) -> None:
    v = _values(kpis.kpi_series(PERIOD))
    assert v[FEB]["denial_overturn_rate"] == D("50.00")  # D1 overturned, D2 written off
    assert v[FEB]["denial_resolution_days"] == D("30.0")  # median of 40 and 20


def test_ar_kpis_use_last_snapshot_of_month_and_rolling_revenue(hand: dict[str, Any]) -> None:
    v = _values(kpis.kpi_series(PERIOD))
    assert v[JAN]["ar_over_90_pct"] == D("25.00")  # 1000 of 4000 (the 9999 snapshot of Jan 15 is superseded)
    assert v[JAN]["net_days_in_ar"] is None  # no revenue in Nov-Jan
    assert v[MAR]["ar_over_90_pct"] == D("25.00")  # 500 of 2000
    # NPSR Jan-Mar = 0 + 3500 + 2250 = 5750 over 90 days; 2000 / (5750 / 90) = 31.30
    assert v[MAR]["net_days_in_ar"] == D("31.3")
    assert v[FEB]["net_days_in_ar"] is None  # no snapshot in February


def test_cost_to_collect_and_its_absence_by_payer(hand: dict[str, Any]) -> None:
    v = _values(kpis.kpi_series(PERIOD))
    assert v[FEB]["cost_to_collect"] == D("5.00")  # 70 / 1400
    assert v[MAR]["cost_to_collect"] is None  # no cost entries
    by_payer = kpis.kpi_series(PERIOD, group_by="payer")
    assert all(r.values["cost_to_collect"].value is None for r in by_payer if "cost_to_collect" in r.values)


def test_group_by_payer_and_period_over_period_change(hand: dict[str, Any]) -> None:
    rows = kpis.kpi_series(PERIOD, group_by="payer")
    p1, p2 = str(hand["p1"].pk), str(hand["p2"].pk)
    assert _values(rows, p1)[FEB]["net_collection_rate"] == D("100.00")  # 1200 / (1500 - 300)
    assert _values(rows, p2)[FEB]["net_collection_rate"] == D("8.70")  # 200 / 2300
    overall = {r.month: r for r in kpis.kpi_series(PERIOD)}
    assert overall[FEB].values["clean_claim_rate"].change == D("40.00")
    assert overall[JAN].values["clean_claim_rate"].change is None


def test_payer_mix_by_gross_charges(hand: dict[str, Any]) -> None:
    mix = {(r.month, r.group): r.values["payer_mix"].value for r in kpis.payer_mix(PERIOD)}
    assert mix[(JAN, "commercial")] == D("50.00")  # 1000 + 500 + 800 of 4600
    assert mix[(JAN, "medicaid")] == D("50.00")
    assert mix[(FEB, "commercial")] == D("100.00")


def test_denial_pareto(hand: dict[str, Any]) -> None:
    pareto = kpis.denial_pareto(PERIOD, by="category")
    assert [(p["key"], p["denials"]) for p in pareto] == [("authorization", 1), ("medical_necessity", 1)]
    assert pareto[-1]["cumulative_share"] == D("100.00")
    assert {p["key"] for p in kpis.denial_pareto(PERIOD, by="carc")} == {"197", "50"}


def test_filters_restrict_to_payer_class(hand: dict[str, Any]) -> None:
    v = _values(kpis.kpi_series(kpis.KpiFilters(start=JAN, end=MAR, payer_classes=["medicaid"])))
    assert v[JAN]["initial_denial_rate"] == D("50.00")  # C3 of C3, C4


def test_late_remittance_refreshes_the_submission_month(hand: dict[str, Any]) -> None:
    late = fx.claim(file=fx.received_file("x12_837"), charge="100", submitted_on=dt.date(2026, 1, 28),
                    payer=hand["p1"])
    aggregates.aggregates_refresh(months=[JAN])
    f = fx.received_file()
    cp = fx.payment(remit=fx.remittance(file=f, payment_date=dt.date(2026, 4, 2)), claim=late, charge="100",
                    paid="0", denied=True)
    fx.denial(cp=cp, level="claim", charge="100", denied_on=dt.date(2026, 4, 2), category="eligibility", carc="27")
    touched = aggregates.months_touched_by_file(f.pk)
    assert touched == [JAN, dt.date(2026, 4, 1)]
    aggregates.aggregates_refresh(months=touched)
    v = _values(kpis.kpi_series(PERIOD))
    assert v[JAN]["initial_denial_rate"] == D("33.33")  # C3 and the late claim, of 6
    assert _values(kpis.kpi_series(PERIOD, source="raw"))[JAN]["initial_denial_rate"] == D("33.33")


def test_aggregates_are_tenant_scoped(hand: dict[str, Any], world: Any) -> None:
    with tenant_context(world.b.org):
        assert kpis.kpi_series(PERIOD) == []
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM rcm_feeds_kpi_monthly")
            assert cursor.fetchone()[0] == 0  # row-level security hides organization a's rows


# ---------------------------------------------------------------------------------------------
# A slow, obviously-right reference: plain Python over model instances, one definition at a time.

def _pct(num: Decimal, den: Decimal) -> Decimal | None:
    if not den:
        return None
    return (D(100) * num / den).quantize(D("0.01"), ROUND_HALF_UP)


def _month(d: dt.date) -> dt.date:
    return d.replace(day=1)


def reference_kpis(months: list[dt.date]) -> dict[dt.date, dict[str, Decimal | None]]:
    claims = list(Claim.objects.all())
    payments = list(ClaimPayment.objects.select_related("remittance").prefetch_related("adjustments__service_payment"))
    denials = list(Denial.objects.all())
    out: dict[dt.date, dict[str, Decimal | None]] = {m: {} for m in months}
    corrected = {c.original_claim_id for c in claims if c.original_claim_id}
    originals = [c for c in claims if not c.is_resubmission and c.frequency not in ("7", "8")]

    def paid_on(cp: ClaimPayment) -> dt.date | None:
        return cp.remittance.payment_date or cp.remittance.production_date

    def first_adjudication(c: Claim) -> ClaimPayment | None:
        mine = [cp for cp in payments if cp.claim_id == c.pk and not cp.is_reversal]
        mine.sort(key=lambda cp: (paid_on(cp) is None, paid_on(cp) or dt.date.min, cp.pk))
        return mine[0] if mine else None

    npsr: dict[dt.date, Decimal] = defaultdict(D)
    for m in months:
        sub = [c for c in originals if _month(c.submitted_on) == m]
        n_sub, charges = D(len(sub)), sum((c.charge for c in sub), D(0))
        clean = sum(1 for c in sub if c.front_end_status != "rejected" and c.pk not in corrected)
        adjudicated = first_pass = denied = 0
        denied_charge = D(0)
        for c in sub:
            first = first_adjudication(c)
            if first is None:
                continue
            adjudicated += 1
            ds = [d for d in denials if d.claim_payment_id == first.pk]
            if not ds and c.pk not in corrected:
                first_pass += 1
            claim_level = [d for d in ds if d.level == "claim"]
            if claim_level:
                denied += 1
                denied_charge += sum(d.denied_charge for d in claim_level)
            else:
                denied_charge += sum((d.denied_charge for d in ds), D(0))
        v = out[m]
        v["clean_claim_rate"] = _pct(D(clean), n_sub)
        v["first_pass_yield"] = _pct(D(first_pass), D(adjudicated))
        v["initial_denial_rate"] = _pct(D(denied), n_sub)
        v["initial_denial_rate_dollars"] = _pct(denied_charge, charges)

        remit = [cp for cp in payments if paid_on(cp) and _month(paid_on(cp)) == m]
        charge = sum((cp.charge for cp in remit), D(0))
        paid = sum((cp.paid for cp in remit), D(0))
        contractual = sum(
            (a.amount for cp in remit for a in cp.adjustments.all()
             if a.group_code == "CO" and not cp.is_denied
             and not (a.service_payment is not None and a.service_payment.is_denied)), D(0))
        npsr[m] = charge - contractual
        v["net_collection_rate"] = _pct(paid, charge - contractual)
        v["gross_collection_rate"] = _pct(paid, charge)
        v["gross_to_net_yield"] = _pct(charge - contractual, charge)
        costs = sum((k.amount for k in RcmCost.objects.all() if _month(k.month) == m), D(0))
        v["cost_to_collect"] = _pct(costs, paid) if costs else None

        days = []
        for c in claims:
            paid_rows = [cp for cp in payments if cp.claim_id == c.pk and not cp.is_reversal and cp.paid > 0
                         and paid_on(cp)]
            if paid_rows:
                first_paid = min(paid_rows, key=lambda cp: (paid_on(cp), cp.pk))
                if _month(paid_on(first_paid)) == m:
                    days.append((paid_on(first_paid) - c.submitted_on).days)
        v["days_to_pay"] = (D(sum(days)) / len(days)).quantize(D("0.1"), ROUND_HALF_UP) if days else None

        in_month = [a for a in ArBalance.objects.all() if _month(a.as_of) == m]
        last = max((a.as_of for a in in_month), default=None)
        snapshot = [a for a in in_month if a.as_of == last]
        total = sum((a.balance for a in snapshot), D(0))
        old = sum((a.balance for a in snapshot if (a.as_of - a.billed_on).days > 90), D(0))
        v["ar_over_90_pct"] = _pct(old, total) if total else None

        cohort = [d for d in denials if _month(d.denied_on) == m]
        v["denial_overturn_rate"] = _pct(D(sum(1 for d in cohort if d.status == "overturned")), D(len(cohort)))
        resolved = [(d.resolved_on - d.denied_on).days for d in cohort
                    if d.status in ("overturned", "written_off") and d.resolved_on]
        v["denial_resolution_days"] = (
            D(str(statistics.median(resolved))).quantize(D("0.1"), ROUND_HALF_UP) if resolved else None)
    for m in months:
        window = [m, kpis.add_months(m, -1), kpis.add_months(m, -2)]
        revenue = sum((npsr.get(w, D(0)) for w in window), D(0))
        span = (kpis.add_months(m, 1) - window[-1]).days
        snapshot_total = _ar_total(m)
        out[m]["net_days_in_ar"] = (
            (snapshot_total * span / revenue).quantize(D("0.1"), ROUND_HALF_UP)
            if revenue > 0 and snapshot_total else None)
    return out


def _ar_total(m: dt.date) -> Decimal:
    in_month = [a for a in ArBalance.objects.all() if _month(a.as_of) == m]
    last = max((a.as_of for a in in_month), default=None)
    return sum((a.balance for a in in_month if a.as_of == last), D(0))


def _sql_values(months: list[dt.date], source: str) -> dict[dt.date, dict[str, Decimal | None]]:
    rows = kpis.kpi_series(kpis.KpiFilters(start=months[0], end=months[-1]), source=source)
    got = _values(rows)
    return {m: {k: got.get(m, {}).get(k) for k in kpis.KPI_BY_KEY} for m in months}


def test_hand_fixture_agrees_with_reference(hand: dict[str, Any]) -> None:
    months = [JAN, FEB, MAR]
    assert _sql_values(months, "aggregate") == reference_kpis(months)


MONTHS = [dt.date(2025, 11, 1), dt.date(2025, 12, 1), dt.date(2026, 1, 1)]
days_in = st.integers(min_value=0, max_value=88)
money_st = st.integers(min_value=1, max_value=5000).map(D)

claim_st = st.fixed_dictionaries({
    "payer": st.sampled_from([0, 1, None]),
    "submitted": days_in,
    "charge": money_st,
    "rejected": st.booleans(),
    "corrected": st.booleans(),
    "adjudications": st.lists(st.fixed_dictionaries({
        "offset": st.integers(min_value=0, max_value=60),
        "paid_share": st.sampled_from([0, 50, 80, 100]),
        "co_share": st.sampled_from([0, 10, 20]),
        "claim_denied": st.booleans(),
        "line_denied": st.booleans(),
        "reversed": st.booleans(),
        "status": st.sampled_from(["open", "appealed", "overturned", "written_off"]),
        "resolve_after": st.integers(min_value=0, max_value=90),
    }), max_size=2),
})


def _build(data: dict[str, Any], payers: list[Payer]) -> None:
    f837, f835, fo = fx.received_file("x12_837"), fx.received_file(), fx.received_file("csv_ar")
    base = MONTHS[0]
    for c in data["claims"]:
        payer = payers[c["payer"]] if c["payer"] is not None else None
        submitted = base + dt.timedelta(days=c["submitted"])
        claim = fx.claim(file=f837, charge=c["charge"], submitted_on=submitted, payer=payer,
                         front_end_status="rejected" if c["rejected"] else "accepted")
        if c["corrected"]:
            fx.claim(file=f837, charge=c["charge"], submitted_on=submitted + dt.timedelta(days=3), payer=payer,
                     frequency="7", original=claim)
        for a in c["adjudications"]:
            on = submitted + dt.timedelta(days=a["offset"])
            remit = fx.remittance(file=f835, payment_date=on, payer=payer)
            charge = c["charge"]
            paid = D(0) if a["claim_denied"] else charge * a["paid_share"] / 100
            co = charge if a["claim_denied"] else charge * a["co_share"] / 100
            cp = fx.payment(remit=remit, claim=claim, charge=str(charge), paid=str(paid), co=str(co),
                            denied=a["claim_denied"])
            resolved = on + dt.timedelta(days=a["resolve_after"]) if a["status"] in ("overturned", "written_off") else None
            if a["claim_denied"]:
                fx.denial(cp=cp, level="claim", charge=str(charge), denied_on=on, category="authorization",
                          carc="197", status=a["status"], resolved_on=resolved)
            elif a["line_denied"]:
                sp = fx.line(cp=cp, charge="1", paid="0", co="1", denied=True, co_reason="50")
                fx.denial(cp=cp, sp=sp, level="line", charge="1", denied_on=on, category="medical_necessity",
                          carc="50", status=a["status"], resolved_on=resolved)
            if a["reversed"]:
                fx.payment(remit=fx.remittance(file=f835, payment_date=on + dt.timedelta(days=5), payer=payer),
                           claim=claim, charge=str(-charge), paid=str(-paid), co=str(-co) if not a["claim_denied"]
                           else "0", reversal=True)
    for snap in data["ar"]:
        fx.ar(file=fo, as_of=base + dt.timedelta(days=snap["as_of"]), balance=str(snap["balance"]),
              billed_on=base + dt.timedelta(days=snap["as_of"] - snap["age"]))
    for k in data["costs"]:
        fx.cost(file=fo, month=MONTHS[k["month"]], amount=str(k["amount"]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(data=st.fixed_dictionaries({
    "claims": st.lists(claim_st, max_size=6),
    "ar": st.lists(st.fixed_dictionaries({"as_of": days_in, "balance": money_st,
                                          "age": st.integers(min_value=0, max_value=200)}), max_size=4),
    "costs": st.lists(st.fixed_dictionaries({"month": st.integers(0, 2), "amount": money_st}), max_size=2),
}))
def test_sql_kpis_agree_with_reference(tenant_a: Any, data: dict[str, Any]) -> None:
    with transaction.atomic():
        payers = [tenant_a.objects["payer"], Payer.objects.create(name="Random Medicaid", payer_class="medicaid")]
        _build(data, payers)
        aggregates.aggregates_refresh()
        aggregates.aggregates_refresh(months=MONTHS[1:])  # the per-month path ingestion takes
        expected = reference_kpis(MONTHS)
        assert _sql_values(MONTHS, "aggregate") == expected
        assert _sql_values(MONTHS, "raw") == expected
        transaction.set_rollback(True)


def test_aggregates_go_with_their_organization(hand: dict[str, Any], world: Any) -> None:
    from revops import services
    from revops.tenancy import cross_tenant_access

    org_id = world.a.org.pk

    def rows() -> int:
        with cross_tenant_access("test: aggregates of a deleted organization"), connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM rcm_feeds_kpi_monthly WHERE tenant_id = %s", [org_id])
            return cursor.fetchone()[0]

    assert rows() > 0
    services.organization_delete(organization=world.a.org)
    assert rows() == 0


def test_month_ranges_merge_adjacent_months_and_span_year_ends():
    d = dt.date
    assert aggregates.month_ranges([d(2024, 3, 9), d(2024, 1, 31), d(2024, 2, 1), d(2024, 12, 5), d(2025, 1, 1)]) == [
        (d(2024, 1, 1), d(2024, 4, 1)), (d(2024, 12, 1), d(2025, 2, 1))]
    assert aggregates.month_ranges([]) == []
    text = aggregates.with_months("SELECT 1 WHERE /*in_months*/x.day/*end*/", [d(2024, 5, 2)])
    assert text == "SELECT 1 WHERE ((x.day >= DATE '2024-05-01' AND x.day < DATE '2024-06-01'))"
    assert aggregates.with_months("WHERE /*in_months*/x/*end*/", None) == "WHERE true"
