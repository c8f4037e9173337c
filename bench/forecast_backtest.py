"""Time-series forecasting: speed of forecast + backtest on 5,000 monthly series, and the accuracy of
the chosen model against the seasonal-naive baseline on a held-out year of demo-like bookings.

Run: python bench/forecast_backtest.py [--series 5000] [--months 36] [--horizon 6] [--folds 3]
        [--n-jobs 2] [--territories 600] [--candidates theta,seasonal_naive] [--seed 7]
        [--skip-speed] [--skip-accuracy]

No database: ``forecasting.timeseries`` is pure pandas, and this measures it (Django is set up only
to read the demo's constants). Both parts print in the same run; exit status 1 if a target is missed.

1. **Speed** (issue 6: under 60 s): ``timeseries.forecast`` on ``--series`` series of ``--months``
   months: the rolling-origin backtest (``--folds`` windows of ``--horizon`` months stepping by the
   horizon, every candidate refitted at each cutoff: ETS(A,N,A), Theta, seasonal naive), the
   per-series choice, and the final fits with 80 and 95 % intervals for every model, ``--n-jobs``
   worker processes. Series generation is not timed.
2. **Accuracy** (issue 6: the chosen model's WAPE at least 10 % below the seasonal naive's at the
   territory level): ``--territories`` territories' monthly bookings over four years; the models
   see the first three, the choice is made on their backtest (3 x 6 months, as a forecast run
   does), and the fourth year is forecast 12 months ahead and scored: WAPE = sum |actual -
   forecast| / sum actual over every territory and month, per model and for the chosen one, with
   the coverage of the 80 and 95 % intervals.

The generator is not the demo seed itself: ``seed_demo`` makes two fiscal years of bookings, and a
held-out year of them would leave the models twelve months, less than the two seasons the seasonal
models need. It mirrors how ``revops/demo/quotas.py`` makes bookings, with its constants: accounts'
billed revenue by account type (``revops/demo/territories.py``) x the organization's booking rate x
an account factor (lognormal, sigma 0.4); a rep performance factor per territory that mostly
persists from year to year (next = previous^0.6 x lognormal sigma 0.15) and a year without a rep
now and then (x 0.6, 4 % of territory-years); company growth of 8 % a year; a per-account
yearly variance (sigma 0.15); deals Poisson (12 a year per account on average, weighted by the
square root of the account's bookings), months by the organization's seasonality, sizes lognormal
(sigma 0.3). Half the territories are a lab's (Meridian's quarter-end seasonality), half a
behavioral-health network's (Riverbend's school-year rhythm); 8 to 20 accounts a territory.
The speed part uses the same generator (three years).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings")

SPEED_TARGET = 60.0
IMPROVEMENT_TARGET = 0.10
DEALS_PER_ACCOUNT_YEAR = 12
VACANT_SHARE = 0.04
ACCOUNT_TYPES = ("hospital", "clinic", "physician_practice", "referral_source")
ACCOUNT_TYPE_SHARE = (0.05, 0.25, 0.55, 0.15)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import statsforecast

    return (f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}, "
            f"pandas {pd.__version__}, statsforecast {statsforecast.__version__}")


def demo_like(n_territories: int, years: int, seed: int, start_year: int = 2023) -> pd.DataFrame:
    """Monthly bookings per territory (unique_id, ds, y), generated the way the demo makes them."""
    from revops.demo.quotas import BOOKING_RATE, GROWTH, SEASON
    from revops.demo.territories import REVENUE_RANGE
    from revops.models import OrganizationKind

    rng = np.random.default_rng(seed)
    kinds = [OrganizationKind.LAB, OrganizationKind.BEHAVIORAL_HEALTH]
    territory_kind = np.arange(n_territories) % 2
    per_territory = rng.integers(8, 21, n_territories)
    territory = np.repeat(np.arange(n_territories), per_territory)
    n_accounts = len(territory)
    account_type = rng.choice(len(ACCOUNT_TYPES), p=ACCOUNT_TYPE_SHARE, size=n_accounts)
    mid = np.array([sum(REVENUE_RANGE[t]) / 2 for t in ACCOUNT_TYPES])[account_type]
    low = np.array([REVENUE_RANGE[t][0] for t in ACCOUNT_TYPES])[account_type]
    high = np.array([REVENUE_RANGE[t][1] * 2 for t in ACCOUNT_TYPES])[account_type]
    revenue = np.clip(rng.lognormal(0, 0.6, n_accounts) * mid, low, high)
    rate = np.array([BOOKING_RATE[k] for k in kinds])[territory_kind[territory]]
    base = revenue * rate * rng.lognormal(-0.08, 0.4, n_accounts)
    season = np.array([np.asarray(SEASON[k], dtype=float) / sum(SEASON[k]) for k in kinds])[territory_kind[territory]]

    rep = np.empty((n_territories, years))
    rep[:, 0] = rng.lognormal(0.0, 0.2, n_territories)
    for y in range(1, years):
        rep[:, y] = rep[:, y - 1] ** 0.6 * rng.lognormal(0.0, 0.15, n_territories)
    rep = np.where(rng.random((n_territories, years)) < VACANT_SHARE, 0.6 * rep, rep)

    months = years * 12
    amounts = np.zeros((n_territories, months))
    per_year = DEALS_PER_ACCOUNT_YEAR * n_accounts
    for y in range(years):
        yearly = base * rep[territory, y] * GROWTH ** y * rng.lognormal(-0.01, 0.15, n_accounts)
        weight = np.sqrt(yearly)
        deals = rng.poisson(per_year * weight / weight.sum())
        account = np.repeat(np.arange(n_accounts), deals)
        # Month of each deal by its organization's seasonality (inverse CDF of the 12 shares).
        month = (rng.random(len(account))[:, None] > np.cumsum(season[account], axis=1)).sum(axis=1).clip(0, 11)
        size = yearly[account] / deals[account] * rng.lognormal(-0.045, 0.3, len(account))
        np.add.at(amounts, (territory[account], y * 12 + month), np.rint(size * 100) / 100)
    ds = pd.date_range(f"{start_year}-01-01", periods=months, freq="MS")
    return pd.DataFrame({"unique_id": np.repeat([f"T{k:05d}" for k in range(n_territories)], months),
                         "ds": np.tile(ds, n_territories), "y": amounts.ravel()})


def candidates(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*args.candidates.split(","), "seasonal_naive"]))


def speed(args: argparse.Namespace) -> tuple[float, bool]:
    from forecasting import timeseries as ts

    years = -(-args.months // 12)
    frame = demo_like(args.series, years, args.seed + 1)
    frame = frame.groupby("unique_id").head(args.months).reset_index(drop=True)
    print(f"\n1. speed: {args.series:,} series x {args.months} months, backtest {args.folds} folds x "
          f"{args.horizon} months (step {args.horizon}), forecast {args.horizon} months with 80/95 % intervals, "
          f"n_jobs={args.n_jobs}")
    load = os.getloadavg()[0]
    started = time.perf_counter()
    result = ts.backtest(frame, args.horizon, args.folds, models=candidates(args), n_jobs=args.n_jobs)
    backtested = time.perf_counter()
    fc = ts.forecast(frame, args.horizon, ts.LEVELS, choose=result, n_jobs=args.n_jobs, candidates=candidates(args))
    finished = time.perf_counter()
    total = finished - started
    fits = len(result.per_series["unique_id"].unique()) * args.folds * len(candidates(args))
    print(f"   backtest {backtested - started:6.2f} s ({len(result.cv):,} fold-months, {fits:,} model fits)")
    print(f"   forecast {finished - backtested:6.2f} s ({len(fc.values):,} values, "
          f"{fc.values['model'].nunique()} models)")
    ok = total < SPEED_TARGET
    print(f"   total    {total:6.2f} s  target < {SPEED_TARGET:.0f} s: {'PASS' if ok else 'FAIL'}   "
          f"(load average {load:.2f} -> {os.getloadavg()[0]:.2f})")
    print("   backtest WAPE: " + ", ".join(f"{r.model} {r.wape:.3f}" for r in result.overall.itertuples())
          + "; chosen: " + ", ".join(f"{m} {s:.0%}" for m, s in fc.chosen_share().items()))
    return total, ok


def accuracy(args: argparse.Namespace) -> tuple[float, bool]:
    from forecasting import timeseries as ts

    frame = demo_like(args.territories, 4, args.seed)
    cut = frame["ds"].min() + pd.DateOffset(years=3)
    history, held_out = frame[frame["ds"] < cut], frame[frame["ds"] >= cut]
    print(f"\n2. accuracy: {args.territories} demo-like territories, history {history['ds'].min():%b %Y} - "
          f"{history['ds'].max():%b %Y} (36 months), held-out year {cut:%b %Y} - {held_out['ds'].max():%b %Y}; "
          f"choice on the history's backtest ({args.folds} x {args.horizon} months), forecast 12 months")
    started = time.perf_counter()
    fc = ts.forecast(history, 12, ts.LEVELS, folds=args.folds, backtest_h=args.horizon, n_jobs=args.n_jobs,
                     candidates=candidates(args))
    seconds = time.perf_counter() - started
    scored = fc.values.merge(held_out, on=["unique_id", "ds"])
    chosen = fc.chosen_values().merge(held_out, on=["unique_id", "ds"])
    rows = [(m, scored[scored["model"] == m]) for m in candidates(args)] + [("chosen", chosen)]
    print(f"   {'model':16} {'WAPE':>7} {'bias':>7} {'80% cover':>10} {'95% cover':>10}")
    figures = {}
    for name, part in rows:
        w = ts.wape(part["y"], part["point"])
        b = ts.bias(part["y"], part["point"])
        c80 = ((part["y"] >= part["lo80"]) & (part["y"] <= part["hi80"])).mean()
        c95 = ((part["y"] >= part["lo95"]) & (part["y"] <= part["hi95"])).mean()
        figures[name] = w
        print(f"   {name:16} {w:7.3f} {b:+7.3f} {c80:10.1%} {c95:10.1%}")
    improvement = 1 - figures["chosen"] / figures[ts.SEASONAL_NAIVE]
    ok = improvement >= IMPROVEMENT_TARGET
    print("   chosen: " + ", ".join(f"{m} {s:.0%}" for m, s in fc.chosen_share().items()) + f"  ({seconds:.1f} s)")
    print(f"   chosen WAPE {figures['chosen']:.3f} vs seasonal naive {figures[ts.SEASONAL_NAIVE]:.3f}: "
          f"{improvement:.1%} lower, target >= {IMPROVEMENT_TARGET:.0%}: {'PASS' if ok else 'FAIL'}")
    return improvement, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=5000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--horizon", type=int, default=6)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--territories", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--candidates", default="theta,seasonal_naive",
                        help="comma-separated candidate models (the seasonal naive is always one)")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    load = os.getloadavg()
    print(f"machine: {machine()}")
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    ok_speed = True
    if not args.skip_speed:
        _, ok_speed = speed(args)
    ok_accuracy = True
    if not args.skip_accuracy:
        _, ok_accuracy = accuracy(args)
    load = os.getloadavg()
    print(f"\nload average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0 if ok_speed and ok_accuracy else 1


if __name__ == "__main__":
    sys.exit(main())
