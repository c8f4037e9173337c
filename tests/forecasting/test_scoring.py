"""Closing a period scores the time-series and cash runs too (forecasting.scoring), with the interval
coverage the accuracy board reports. January 2031, by hand:

Time series (company level), bookings in January: 600 + 400 = 1,000; net collected revenue: 700.
- run of 2030-12-31 (horizon 1): AutoETS 1,050 [80%: 950-1,150; 95%: 900-1,200] -> inside both;
  SeasonalNaive 1,300 [1,250-1,350; 1,200-1,400] -> outside both.
- run of 2030-11-30 (horizon 2): AutoETS 800 [850-950 ...] -> outside the 80% band.
- run as of 2031-01-01 (history through 31 December: horizon 1): Theta 990; a run as of 2031-01-02 saw a
  day of January and is not scored.
- a net-collected run of 2030-12-31: AutoETS 650 -> source "AutoETS:net_collected_revenue", actual 700.
Cash, run of 2030-12-31, against January's 835 payments:
- claim K1 submitted 2030-12-10 paid 300.00 on 01-15 (an open claim at the run);
- claim K2 submitted 2031-01-05 paid 200.00 on 01-25 (forecast volume);
- a payment of a claim never submitted, 50.00: matched to no claim, left out.
cash_open_claims 280 [250-320; 200-350] vs 300: inside; cash_forecast_volume 250 [210-240; 150-300]
vs 200: outside the 80% band, inside the 95%; cash_total 530 vs 500, no bands.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from forecasting import selectors, services
from forecasting.models import ForecastRun, ForecastScore, ForecastValue, RunKind, RunStatus
from quotas.models import CreditedTransaction
from revops.tenancy import tenant_context
from tests.rcm_feeds.ingestutil import clm, clp, load, remittance, x835, x837

pytestmark = pytest.mark.django_db
D = Decimal
JAN = dt.date(2031, 1, 1)


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RCM_INBOX_ROOT = tmp_path / "inbox"


def _run(kind: str, as_of: dt.date, values: list[tuple], metric: str = "bookings") -> ForecastRun:
    run = ForecastRun.objects.create(kind=kind, status=RunStatus.SUCCEEDED, as_of=as_of, horizon=3,
                                     params={"metric": metric})
    for model, level, key, point, band80, band95 in values:
        ForecastValue.objects.create(run=run, level=level, key=key, label=key, model=model, month=JAN, point=D(point),
                                     lo80=D(band80[0]) if band80 else None, hi80=D(band80[1]) if band80 else None,
                                     lo95=D(band95[0]) if band95 else None, hi95=D(band95[1]) if band95 else None)
    return run


@pytest.fixture
def closed(world):
    with tenant_context(world.a.org):
        person = world.a.objects["person"]
        for n, (metric, amount) in enumerate((("bookings", "600"), ("bookings", "400"),
                                              ("net_collected_revenue", "700"))):
            CreditedTransaction.objects.create(external_id=f"S{n}", metric=metric, person=person,
                                               transaction_date=dt.date(2031, 1, 10 + n), amount=D(amount))
        _run(RunKind.TIME_SERIES, dt.date(2030, 12, 31), [
            ("AutoETS", "company", "all", "1050", ("950", "1150"), ("900", "1200")),
            ("SeasonalNaive", "company", "all", "1300", ("1250", "1350"), ("1200", "1400"))])
        _run(RunKind.TIME_SERIES, dt.date(2030, 11, 30), [
            ("AutoETS", "company", "all", "800", ("850", "950"), ("700", "1100"))])
        # As of the period's first day, history through 31 December: horizon 1, and the newest run wins.
        _run(RunKind.TIME_SERIES, JAN, [("Theta", "company", "all", "990", None, None)])
        # As of 2 January: it saw a day of the period, so it is not scored.
        _run(RunKind.TIME_SERIES, dt.date(2031, 1, 2), [("Theta", "company", "all", "5", None, None)])
        _run(RunKind.TIME_SERIES, dt.date(2030, 12, 31), [
            ("AutoETS", "company", "all", "650", None, None)], metric="net_collected_revenue")
        load(x837(clm("K1", "400.00", date="20301201"), date="20301210"), "x12_837")
        load(x837(clm("K2", "300.00", date="20310102"), control=2, date="20310105"), "x12_837")
        load(x835(remittance([clp("K1", "1", "400.00", "300.00", "CO*45*100.00")], trace="JAN-1", amount="300.00",
                             date="20310115"), control=1, date="20310115"), "x12_835")
        load(x835(remittance([clp("K2", "1", "300.00", "200.00", "CO*45*100.00"),
                              clp("NOCLAIM", "1", "60.00", "50.00", "CO*45*10.00")], trace="JAN-2",
                             amount="250.00", date="20310125"), control=2, date="20310125"), "x12_835")
        _run(RunKind.CASH, dt.date(2030, 12, 31), [
            ("cash_open_claims", "company", "all", "280", ("250", "320"), ("200", "350")),
            ("cash_forecast_volume", "company", "all", "250", ("210", "240"), ("150", "300"))])
        period = services.period_ensure(start=JAN)
        services.period_close(period=period)
        yield {(s.source, s.level, s.key, s.horizon): s for s in ForecastScore.objects.filter(period=period)}


def test_time_series_models_are_scored_against_their_series(closed):
    ets, naive = closed[("AutoETS", "company", "all", 1)], closed[("SeasonalNaive", "company", "all", 1)]
    assert (ets.forecast, ets.actual, ets.lo80, ets.hi95) == (D("1050"), D("1000"), D("950"), D("1200"))
    assert (naive.forecast, naive.actual) == (D("1300"), D("1000"))
    theta = closed[("Theta", "company", "all", 1)]
    assert (theta.forecast, theta.actual) == (D("990"), D("1000"))
    assert not [k for k in closed if k[0] == "Theta" and k[3] != 1]
    older = closed[("AutoETS", "company", "all", 2)]
    assert (older.forecast, older.actual) == (D("800"), D("1000"))
    other_metric = closed[("AutoETS:net_collected_revenue", "company", "all", 1)]
    assert (other_metric.forecast, other_metric.actual, other_metric.lo80) == (D("650"), D("700"), None)


def test_cash_runs_are_scored_against_the_payments_split_at_the_run_date(closed):
    open_claims = closed[("cash_open_claims", "company", "all", 1)]
    volume = closed[("cash_forecast_volume", "company", "all", 1)]
    total = closed[("cash_total", "company", "all", 1)]
    assert (open_claims.forecast, open_claims.actual) == (D("280"), D("300.00"))
    assert (volume.forecast, volume.actual) == (D("250"), D("200.00"))
    assert (total.forecast, total.actual, total.lo80) == (D("530"), D("500.00"), None)


def test_the_board_reports_interval_coverage(closed):
    board = selectors.accuracy_board(level="company").set_index(["source", "horizon"])
    assert board.loc[("AutoETS", 1), "cover80"] == 1.0 and board.loc[("AutoETS", 1), "cover95"] == 1.0
    assert board.loc[("SeasonalNaive", 1), "cover80"] == 0.0 and board.loc[("SeasonalNaive", 1), "cover95"] == 0.0
    assert board.loc[("AutoETS", 2), "cover80"] == 0.0 and board.loc[("AutoETS", 2), "cover95"] == 1.0
    assert board.loc[("cash_forecast_volume", 1), "cover80"] == 0.0
    assert board.loc[("cash_forecast_volume", 1), "cover95"] == 1.0
    assert board.loc[("cash_open_claims", 1), "cover80"] == 1.0
    assert pd.isna(board.loc[("cash_total", 1), "cover80"])  # no intervals: no coverage
    assert board.loc[("AutoETS", 1), "wape"] == pytest.approx(50 / 1000)


def test_the_accuracy_page_shows_the_bands(closed, world):
    from django.urls import reverse

    response = world.a.client("executive").get(reverse("forecasting_accuracy") + "?level=company")
    html = response.content.decode()
    assert response.status_code == 200 and "In 80% band" in html
    row = html.split('data-source="cash_forecast_volume" data-horizon="1"')[1].split("</tr>")[0]
    assert 'data-col="cover80">0%' in row and 'data-col="cover95">100%' in row
