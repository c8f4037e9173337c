"""Cash forecast: drivers and curve learned by hand from a small RCM fixture, open-claim and volume
cash by month, fallbacks, reversals, the run it writes, tenant isolation, and property tests of the
arithmetic against a slow reference."""
from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecasting import cash, cash_data
from forecasting.models import ForecastRun, ForecastValue, RunKind, RunStatus
from revops.models import Payer
from revops.tenancy import tenant_context
from tests.rcm_feeds import kpi_fixtures as fx

D = Decimal
AS_OF = dt.date(2026, 6, 15)
JAN5 = dt.date(2026, 1, 5)
JUN, JUL, AUG, SEP = dt.date(2026, 6, 1), dt.date(2026, 7, 1), dt.date(2026, 8, 1), dt.date(2026, 9, 1)
# The hand fixture's curve (payer P, claims not denied): adjudicated after 10, 20, 20, 30, 30, 30, 40,
# 60, 60 days, plus one claim unpaid at 87 days (censored) and one at 5 days (censored before any event).
# Kaplan-Meier: S(10) = 9/10, S(20) = .9 x 7/9 = .7, S(30) = .7 x 4/7 = .4, S(40) = .4 x 3/4 = .3,
# S(60) = .3 x 1/3 = .1, then flat: 10% never paid. Denial rate 1/10, yield 6300/9000 = .7.
S = {9: 1.0, 10: 0.9, 20: 0.7, 30: 0.4, 40: 0.3, 60: 0.1}
NET = 0.7 * 0.9  # yield x (1 - denial rate)


def day(n: int) -> dt.date:
    return JAN5 + dt.timedelta(days=n)


def build_rcm(*, denied_claims: int = 1, payer_name: str | None = None) -> dict[str, Any]:
    """Payer P (the organization's commercial payer) with the hand fixture; Q (commercial, one open
    claim) and R (Medicaid, one open claim) too small to learn from."""
    p = Payer.objects.get(name=payer_name) if payer_name else Payer.objects.filter(payer_class="commercial").first()
    q = Payer.objects.create(name="Quill Commercial", payer_class="commercial")
    r = Payer.objects.create(name="River Medicaid", payer_class="medicaid")
    f837, f835 = fx.received_file("x12_837"), fx.received_file("x12_835")
    remits: dict[dt.date, Any] = {}

    def remit(on: dt.date) -> Any:
        if on not in remits:
            remits[on] = fx.remittance(file=f835, payment_date=on, payer=p)
        return remits[on]

    for n, age in enumerate([10, 20, 20, 30, 30, 30, 40, 60, 60]):
        c = fx.claim(file=f837, charge="1000", submitted_on=JAN5, payer=p)
        if n == 1:  # paid 900 at 20 days, reversed and re-paid 700 at 40: first adjudication 20, net 700
            fx.payment(remit=remit(day(20)), claim=c, charge="1000", paid="900", co="100")
            fx.payment(remit=remit(day(40)), claim=c, charge="-1000", paid="-900", co="-100", reversal=True)
            fx.payment(remit=remit(day(40)), claim=c, charge="1000", paid="700", co="300")
        else:
            fx.payment(remit=remit(day(age)), claim=c, charge="1000", paid="700", co="300")
    for _ in range(denied_claims):
        c = fx.claim(file=f837, charge="1000", submitted_on=JAN5, payer=p)
        cp = fx.payment(remit=remit(day(25)), claim=c, charge="1000", paid="0", co="1000", denied=True,
                        co_reason="197")
        fx.denial(cp=cp, level="claim", charge="1000", denied_on=day(25), category="authorization", carc="197")
    old = fx.claim(file=f837, charge="3000", submitted_on=dt.date(2026, 3, 20), payer=p)  # open, 87 days
    young = fx.claim(file=f837, charge="2000", submitted_on=dt.date(2026, 6, 10), payer=p)  # open, 5 days
    fx.payment(remit=remit(dt.date(2026, 6, 20)), claim=young, charge="2000", paid="1400")  # after as_of: unknown
    fx.claim(file=f837, charge="1000", submitted_on=dt.date(2026, 6, 10), payer=q)
    fx.claim(file=f837, charge="1000", submitted_on=dt.date(2026, 6, 10), payer=r)
    return {"p": p, "q": q, "r": r, "old": old, "young": young}


@pytest.fixture
def rcm(tenant_a: Any) -> dict[str, Any]:
    return build_rcm()


def _points(frame: pd.DataFrame, level: str, key: str, source: str = cash.OPEN_CLAIMS) -> dict[dt.date, float]:
    rows = frame[(frame["level"] == level) & (frame["key"] == key) & (frame["source"] == source)]
    return dict(zip(rows["month"], rows["point"]))


def _learn(as_of: dt.date = AS_OF, min_claims: int = 10) -> cash.CashForecast:
    return cash.forecast_cash(cash_data.claim_facts(as_of=as_of), cash_data.payer_frame(), as_of=as_of, horizon=4,
                              volume=pd.DataFrame(columns=["month", "charges"]), min_claims=min_claims)


# -- learning ----------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_learns_denial_rate_yield_and_days_to_pay_curve_by_hand(rcm: dict[str, Any]) -> None:
    p = _learn().params[str(rcm["p"].pk)]
    assert p.source == "payer"
    assert (p.claims, p.adjudicated) == (12, 10)  # 9 paid + 1 denied + 2 open; the 2024 claim is outside
    assert p.denial_rate == pytest.approx(0.1)
    assert p.yield_rate == pytest.approx(0.7)  # the reversed 900 nets out: 9 x 700 / 9 x 1000
    for t, s in S.items():
        assert p.survival[t] == pytest.approx(s)
    assert p.never_paid == pytest.approx(0.1)
    assert p.median_days_to_pay == 30
    assert [b["share"] for b in p.buckets()[:3]] == pytest.approx([0.6, 0.3, 0.0])


@pytest.mark.django_db
def test_payer_with_few_claims_falls_back_to_its_class_then_to_the_organization(rcm: dict[str, Any]) -> None:
    params = _learn().params
    q, r = params[str(rcm["q"].pk)], params[str(rcm["r"].pk)]
    assert q.source == "payer_class"  # commercial: P's claims and Q's, 10 adjudicated
    assert r.source == "organization"  # Medicaid has nothing adjudicated
    for fallback in (q, r):
        assert (fallback.denial_rate, fallback.yield_rate) == pytest.approx((0.1, 0.7))
        assert fallback.survival[60] == pytest.approx(0.1)
    # With a higher bar, P itself falls back to the organization.
    assert _learn(min_claims=11).params[str(rcm["p"].pk)].source == "organization"


@pytest.mark.django_db
def test_reversed_payment_reopens_the_claim(tenant_a: Any) -> None:
    p = tenant_a.objects["payer"]
    f837, f835 = fx.received_file("x12_837"), fx.received_file("x12_835")
    c = fx.claim(file=f837, charge="500", submitted_on=dt.date(2026, 5, 1), payer=p)
    fx.payment(remit=fx.remittance(file=f835, payment_date=dt.date(2026, 5, 20)), claim=c, charge="500", paid="400")
    fx.payment(remit=fx.remittance(file=f835, payment_date=dt.date(2026, 6, 1)), claim=c, charge="-500",
               paid="-400", reversal=True)
    facts = cash_data.claim_facts(as_of=AS_OF).set_index("claim_id")
    assert (facts.loc[c.pk, "standing"], facts.loc[c.pk, "net_paid"]) == (0, 0.0)
    assert facts.loc[c.pk, "first_adjudicated_on"] == dt.date(2026, 5, 20)
    before = cash_data.claim_facts(as_of=dt.date(2026, 5, 31)).set_index("claim_id")
    assert (before.loc[c.pk, "standing"], before.loc[c.pk, "net_paid"]) == (1, 400.0)


# -- open claims -------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_open_claim_expected_cash_by_month_by_hand(rcm: dict[str, Any]) -> None:
    frame = cash_data.cash_forecast(as_of=AS_OF, horizon=4, volume=pd.DataFrame(columns=["month", "charges"]),
                                    min_claims=10)
    # The young claim (2000, 5 days old; its June 20 payment is after as_of): June 16-30 are ages 6-20,
    # July ages 21-51, August 52-82: S(5) - S(20) = .3, S(20) - S(51) = .4, S(51) - S(82) = .2.
    # The old claim (3000, 87 days) is past the last payment the curve knows: nothing more expected.
    p = _points(frame, "payer", str(rcm["p"].pk))
    assert [p[m] for m in (JUN, JUL, AUG, SEP)] == pytest.approx([2000 * NET * x for x in (0.3, 0.4, 0.2, 0)])
    assert [p[m] for m in (JUN, JUL, AUG)] == pytest.approx([378, 504, 252])
    q = _points(frame, "payer", str(rcm["q"].pk))
    assert [q[m] for m in (JUN, JUL, AUG)] == pytest.approx([189, 252, 126])
    assert _points(frame, "payer_class", "commercial")[JUL] == pytest.approx(504 + 252)
    assert _points(frame, "payer_class", "medicaid")[JUL] == pytest.approx(252)
    company = frame[(frame["level"] == "company") & (frame["source"] == cash.OPEN_CLAIMS)].set_index("month")
    assert company.loc[JUN, "point"] == pytest.approx(756)
    # Band: each claim pays c x .7 with q = .9 x .3 in June, independently: Var = c^2 .7^2 q (1 - q).
    sd = math.sqrt((2000 ** 2 + 1000 ** 2 + 1000 ** 2) * 0.49 * 0.27 * 0.73)
    assert company.loc[JUN, "sd"] == pytest.approx(sd)
    assert company.loc[JUN, "hi"] == pytest.approx(756 + cash.Z80 * sd)
    assert company.loc[JUN, "lo"] == 0.0  # 756 - 1.28 x 761 is floored at zero


# -- forecast volume ---------------------------------------------------------------------------------

def _hand_claims() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The hand curve as plain frames (payer 1, commercial), for the arithmetic without a database."""
    rows = [(n, JAN5, 1000.0, 1, day(a), False, 700.0, 1, None)
            for n, a in enumerate([10, 20, 20, 30, 30, 30, 40, 60, 60])]
    rows.append((20, JAN5, 1000.0, 1, day(25), True, 0.0, 1, None))
    rows.append((21, dt.date(2026, 3, 20), 3000.0, 1, None, False, 0.0, 0, None))
    rows.append((22, dt.date(2026, 6, 10), 2000.0, 1, None, False, 0.0, 0, None))
    claims = pd.DataFrame(rows, columns=cash.CLAIM_COLUMNS)
    payers = pd.DataFrame([(1, "P", "commercial"), (2, "Q", "commercial")], columns=["payer_id", "name", "payer_class"])
    return claims, payers


def _volume_points(volume: pd.DataFrame | None, level: str = "company", key: str = "all") -> dict[dt.date, float]:
    claims, payers = _hand_claims()
    result = cash.forecast_cash(claims, payers, as_of=AS_OF, horizon=4, volume=volume, min_claims=10)
    return _points(result.frame, level, key, cash.FORECAST_VOLUME)


def test_forecast_volume_spreads_submissions_over_the_month_by_hand() -> None:
    # 3000 submitted over July's 31 days. A claim submitted on July s is paid in July when T <= 31 - s:
    # sum over u = 0..30 of F(u) = 10 x .1 + 10 x .3 + .6 = 4.6; by August 31 (u = 31..61):
    # 9 x .6 + 20 x .7 + 2 x .9 = 21.2; by September 30 every claim reaches .9 (27.9).
    points = _volume_points(pd.DataFrame({"month": [JUL], "charges": [3000.0], "payer_id": [1]}))
    per_day = 3000 * NET / 31
    assert [points[m] for m in (JUN, JUL, AUG, SEP)] == pytest.approx(
        [0, per_day * 4.6, per_day * 16.6, per_day * 6.7])
    assert [points[m] for m in (JUL, AUG, SEP)] == pytest.approx([280.4516, 1012.0645, 408.4839], abs=1e-4)


def test_forecast_volume_of_the_as_of_month_counts_only_the_days_after_as_of() -> None:
    # June 3000 -> 1500 over June 16-30. Paid in June when T <= 30 - s (u = 0..14): 5 x .1 = .5 of 15;
    # by July 31 (u = 31..45): 9 x .6 + 6 x .7 = 9.6.
    points = _volume_points(pd.DataFrame({"month": [JUN], "charges": [3000.0], "payer_id": [1]}))
    assert points[JUN] == pytest.approx(1500 * NET * 0.5 / 15)
    assert points[JUL] == pytest.approx(1500 * NET * 9.1 / 15)


def test_forecast_volume_total_is_split_by_the_trailing_payer_mix() -> None:
    # Window charges: payer 1 has every claim, so it gets it all; the total is unchanged by the split.
    total = pd.DataFrame({"month": [JUL], "charges": [3000.0]})
    assert _volume_points(total, "payer", "1")[AUG] == pytest.approx(3000 * NET * 16.6 / 31)
    claims, payers = _hand_claims()
    claims.loc[len(claims)] = [30, dt.date(2026, 6, 1), 5000.0, 2, None, False, 0.0, 0, 7]  # payer 2: 5000 of 20000
    result = cash.forecast_cash(claims, payers, as_of=AS_OF, horizon=4, volume=total, min_claims=10)
    assert result.volume.set_index("payer")["charges"].to_dict() == pytest.approx({"1": 2250.0, "2": 750.0})
    # By program: program 7's claims are all payer 2's; program 8 has none, so it takes the overall mix.
    by_program = pd.DataFrame({"month": [JUL, JUL], "charges": [1000.0, 400.0], "program_id": [7, 8]})
    result = cash.forecast_cash(claims, payers, as_of=AS_OF, horizon=4, volume=by_program, min_claims=10)
    assert result.volume.set_index("payer")["charges"].to_dict() == pytest.approx({"1": 300.0, "2": 1100.0})


def test_forecast_volume_band_adds_the_volume_error() -> None:
    # 80% band of July charges 2000..4000: sd_V = 1000 / 1.2816; cash sd adds y(1-d)P x sd_V.
    with_band = pd.DataFrame({"month": [JUL], "charges": [3000.0], "payer_id": [1], "lo": [2000.0], "hi": [4000.0]})
    claims, payers = _hand_claims()
    plain = cash.forecast_cash(claims, payers, as_of=AS_OF, horizon=4,
                               volume=with_band[["month", "charges", "payer_id"]], min_claims=10)
    banded = cash.forecast_cash(claims, payers, as_of=AS_OF, horizon=4, volume=with_band, min_claims=10)

    def sd(r: cash.CashForecast) -> float:
        f = r.frame
        row = f[(f["level"] == "company") & (f["source"] == cash.FORECAST_VOLUME) & (f["month"] == AUG)]
        return float(row["sd"].iloc[0])

    volume_sd = 1000 / cash.Z80 * NET * 16.6 / 31
    assert sd(banded) ** 2 == pytest.approx(sd(plain) ** 2 + volume_sd ** 2)


# -- the run -----------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_cash_run_writes_values_and_summary_with_trailing_average_volume(rcm: dict[str, Any], tenant_a: Any) -> None:
    assert cash.cash_run is cash_data.cash_run  # where the run pages look for it
    run = cash_data.cash_run(as_of=AS_OF, horizon=3, user=tenant_a.users["revops_analyst"], min_claims=10)
    assert (run.kind, run.status, run.params["volume_source"]) == ("cash", "succeeded", "trailing_3_month_average")
    values = ForecastValue.objects.filter(run=run)
    # Open claims: payers P, Q, R + classes commercial, medicaid + company, 3 months; volume: P only.
    assert values.filter(model="cash_open_claims").count() == (3 + 2 + 1) * 3
    assert values.filter(model="cash_forecast_volume").count() == 3 * 3
    june = values.get(model="cash_open_claims", level="company", key="all", month=JUN)
    sd = math.sqrt(6e6 * 0.49 * 0.27 * 0.73)
    assert (june.point, june.lo80) == (D("756.00"), D("0.00"))
    assert june.hi80 == cash_data.money(756 + cash.Z80 * sd)
    assert values.get(model="cash_open_claims", level="payer_class", key="medicaid", month=JUL).point == D("252.00")
    # Volume: P's March-May charges (the 3000 claim of March 20) average 1000 a month. June: 500 over
    # June 16-30, paid in June 0.5 / 15 of the time; July adds the full July cohort (4.6 / 31).
    volume = values.filter(model="cash_forecast_volume", level="payer", key=str(rcm["p"].pk))
    assert volume.get(month=JUN).point == D("10.50")
    assert volume.get(month=JUL).point == cash_data.money(500 * NET * 9.1 / 15 + 1000 * NET * 4.6 / 31)
    payers = {row["payer"]: row for row in run.summary["payers"]}
    p = payers[str(rcm["p"].pk)]
    assert (p["denial_rate"], p["yield"], p["median_days_to_pay"], p["learned_from"]) == (0.1, 0.7, 30, "payer")
    assert (p["open_claims"], p["open_charges"], p["expected_open_claims"]) == (2, 5000.0, 1134.0)
    assert payers[str(rcm["r"].pk)]["learned_from"] == "organization"
    assert run.summary["expected_open_claims"] == pytest.approx(756 + 1008 + 504)


@pytest.mark.django_db
def test_cash_run_turns_the_latest_time_series_charge_forecast_into_cash(rcm: dict[str, Any]) -> None:
    # A time-series run of claim charges by program (forecasting.runs, level "program"): July only.
    ts = ForecastRun.objects.create(kind=RunKind.TIME_SERIES, status=RunStatus.SUCCEEDED, as_of=dt.date(2026, 6, 1),
                                    summary={"levels": {"program": {"chosen": {"none": "ets"}}}})
    ForecastValue.objects.create(run=ts, level="program", key="none", model="ets", month=JUL, point=D("3000"),
                                 lo80=D("2000"), hi80=D("4000"))
    ForecastValue.objects.create(run=ts, level="program", key="none", model="seasonal_naive", month=JUL,
                                 point=D("99999"))
    bookings = ForecastRun.objects.create(kind=RunKind.TIME_SERIES, status=RunStatus.SUCCEEDED, as_of=AS_OF)
    ForecastValue.objects.create(run=bookings, level="company", key="all", model="ets", month=JUL, point=D("777"))
    run = cash_data.cash_run(as_of=AS_OF, horizon=3, min_claims=10)
    assert (run.params["volume_source"], run.params["time_series_run"]) == ("time_series", ts.pk)
    # July's 3000 (claims without a program: all of the window's) split by the window's mix: P 15000,
    # Q 1000, R 1000 of 17000; June and August, which the run does not cover, take P's 1000 a month.
    volume = {(r["payer"], r["month"]): r["charges"] for r in run.summary["volume"]}
    p = str(rcm["p"].pk)
    assert volume[(p, "2026-07-01")] == pytest.approx(3000 * 15 / 17, abs=0.01)
    assert (volume[(p, "2026-06-01")], volume[(p, "2026-08-01")]) == (1000.0, 1000.0)
    july = ForecastValue.objects.get(run=run, model="cash_forecast_volume", level="company", month=JUL)
    # Every payer shares P's drivers: July cash = the July cohort + the filled June cohort's July part.
    assert july.point == cash_data.money(3000 * NET * 4.6 / 31 + 500 * NET * 9.1 / 15)
    assert july.hi80 > july.point


@pytest.mark.django_db
def test_other_organizations_claims_never_count(world: Any) -> None:
    with tenant_context(world.b.org):
        build_rcm(denied_claims=20)  # a very different organization: 20 of 29 adjudicated claims denied
        b_run = cash_data.cash_run(as_of=AS_OF, horizon=3, min_claims=10)
        b_payers = set(Payer.objects.values_list("pk", flat=True))
    with tenant_context(world.a.org):
        rcm = build_rcm()
        frame = cash_data.cash_forecast(as_of=AS_OF, horizon=4, volume=None, min_claims=10)
        assert _points(frame, "company", "all")[JUN] == pytest.approx(756)
        payer_keys = set(frame.loc[frame["level"] == "payer", "key"])
        assert payer_keys == {str(rcm[k].pk) for k in ("p", "q", "r")}
        assert not payer_keys & {str(pk) for pk in b_payers}
        assert not ForecastValue.objects.filter(run_id=b_run.pk).exists()
        assert not ForecastRun.objects.filter(pk=b_run.pk).exists()
    with tenant_context(world.b.org):
        b = {row["payer"]: row for row in ForecastRun.objects.get(pk=b_run.pk).summary["payers"]}
        assert all(row["denial_rate"] == pytest.approx(20 / 29, abs=1e-4) for row in b.values() if row["learned_from"])


# -- properties against a slow reference ---------------------------------------------------------------

def slow_survival(durations: list[int], observed: list[bool], max_days: int = cash.MAX_DAYS) -> list[float]:
    """Product-limit over the distinct event days, one day at a time."""
    s, out = 1.0, []
    for t in range(max_days + 1):
        at_risk = sum(1 for d in durations if min(max(d, 0), max_days) >= t)
        events = sum(1 for d, o in zip(durations, observed) if o and max(d, 0) == t and d <= max_days)
        if at_risk:
            s *= 1 - events / at_risk
        out.append(s)
    return out


def params_from(durations: list[int], observed: list[bool], denial: float, yld: float) -> cash.CurveParams:
    return cash.CurveParams("payer", len(durations), len(durations), denial, yld, yld ** 2 + 0.01,
                            cash.kaplan_meier(np.array(durations), np.array(observed)), 1000.0)


curves = st.lists(st.tuples(st.integers(0, 400), st.booleans()), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(curve=curves)
def test_kaplan_meier_agrees_with_the_slow_reference(curve: list[tuple[int, bool]]) -> None:
    durations, observed = [d for d, _ in curve], [o for _, o in curve]
    assert cash.kaplan_meier(np.array(durations), np.array(observed)) == pytest.approx(
        slow_survival(durations, observed))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(curve=curves, denial=st.floats(0, 1), yld=st.floats(0, 1.5), charge=st.floats(0.01, 1e6),
       age=st.integers(0, 500), horizon=st.integers(1, 24), as_of_day=st.integers(0, 365))
def test_open_claim_cash_never_exceeds_charge_times_yield(curve: list[tuple[int, bool]], denial: float, yld: float,
                                                          charge: float, age: int, horizon: int,
                                                          as_of_day: int) -> None:
    params = params_from([d for d, _ in curve], [o for _, o in curve], denial, yld)
    as_of = dt.date(2025, 1, 1) + dt.timedelta(days=as_of_day)
    windows = cash.month_windows(as_of, horizon)
    submitted = np.array([as_of.toordinal() - age])
    prob = cash.month_probabilities(params, submitted, np.array([age]), windows)[0]
    assert (prob >= 0).all()
    assert prob.sum() <= 1 + 1e-9
    # The slow way: the unconditional mass on each month's days, over S(age).
    survival = slow_survival([d for d, _ in curve], [o for _, o in curve])

    def s(t: int) -> float:
        return 1.0 if t < 0 else survival[min(t, cash.MAX_DAYS)]

    for k, w in enumerate(windows):
        mass = sum(s(t - 1) - s(t) for t in range(w.first - submitted[0], w.last - submitted[0] + 1))
        assert prob[k] == pytest.approx(mass / s(age) if s(age) > 0 else 0.0, abs=1e-9)
    point, var = cash._expected(params, np.array([charge]), prob[None, :])
    assert point.sum() <= charge * yld * (1 + 1e-9)
    assert (point <= charge * yld * (1 + 1e-9)).all()
    assert (var >= 0).all()
