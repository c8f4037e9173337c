"""Cash forecast arithmetic without Django (pandas/numpy): each payer's denial rate, yield and
days-to-pay curve learned from its trailing claims, and the expected collections of open claims and
of forecast charge volume by month, with an 80% (and 95%) band.

Definitions (docs/forecasting.md, "Cash forecast"); every fact is taken as known on ``as_of``:

- A *claim* is an original submission (as in the RCM KPIs: not a replacement or void, not a repeat
  of a control number); payments to its corrections count for it. The *learning window* is the
  claims submitted in the ``WINDOW_DAYS`` days up to ``as_of``.
- *First adjudication*: the claim's earliest non-reversal 835 claim payment (KPI rule). A claim is
  *open* when it has no standing adjudication: every non-reversal payment dated up to ``as_of``
  has been taken back by a reversal (never adjudicated, or reversed and not yet re-adjudicated).
- **Denial rate** d: claims whose first adjudication was a claim-level initial denial (the KPI
  ``initial_denial_rate`` numerator) / claims adjudicated by ``as_of`` (not / claims submitted:
  recent claims cannot have been denied yet, so the KPI's denominator would bias a forecast low).
- **Yield** y: net payments (reversals netted) / charges, over adjudicated claims not initially
  denied and not open; charge-weighted. Its charge-weighted second moment feeds the band.
- **Days-to-pay curve**: S(t), the share of claims not initially denied still unpaid t days after
  submission, t = 0..``MAX_DAYS``, estimated with Kaplan-Meier: a claim adjudicated after t days is
  an event at t, a claim still unadjudicated at ``as_of`` is censored at its age (so recent claims
  do not inflate the never-paid share). S(``MAX_DAYS``) is the share never paid; the curve is flat
  after ``MAX_DAYS``. Cash is taken to arrive on the adjudication date (the 835 that pays it).
- **Fallback**: a payer with fewer than ``min_claims`` adjudicated claims in the window uses its
  payer class's claims pooled, then the organization's. All three parameters come from one level.
- **Open claim** of charge c, submitted on day s, age a = as_of - s: expected cash in month k =
  c x y x (1 - d) x (S(first_k - s - 1) - S(last_k - s)) / S(a), where month k runs from first_k
  to last_k (month 0 starts the day after ``as_of``). Denied claims are adjudicated, not open:
  recoveries of overturned denials are not forecast (conservative).
- **Forecast volume**: charges V submitted in a month, spread evenly over its days (only the days
  after ``as_of`` in ``as_of``'s month, with V prorated to them): the same formula with S(a) = 1,
  averaged over the submission days.
- **Band**: each claim pays c x R with probability q = (1 - d) x P(month) (R with the yield's mean
  and second moment), independently of other claims, so Var = c^2 (E[R^2] q - y^2 q^2); forecast
  volume counts as V / (mean claim charge) claims of the mean charge. An optional error of the
  volume itself (``lo``/``hi`` of its 80% band) adds (y (1 - d) P x sd_V)^2, taken as perfectly
  correlated across payers (conservative). The band is point +/- z x sd (normal approximation),
  floored at 0. It does not include the error of the learned parameters.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

WINDOW_DAYS = 365
MAX_DAYS = 365
MIN_CLAIMS = 30
BUCKET_DAYS = 30
Z80 = 1.2815515655446004
Z95 = 1.959963984540054
NO_PAYER = "none"
UNKNOWN_CLASS = "unknown"
OPEN_CLAIMS = "open_claims"
FORECAST_VOLUME = "forecast_volume"
OUTPUT_COLUMNS = ["level", "key", "label", "month", "point", "lo", "hi", "lo95", "hi95", "sd", "source"]

# Columns of the claims frame the database part hands over (one row per original claim).
CLAIM_COLUMNS = ["claim_id", "submitted_on", "charge", "payer_id", "first_adjudicated_on", "initially_denied",
                 "net_paid", "standing", "program_id"]


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def id_key(value: object) -> str:
    """A payer's (or program's) id as the key of the output: its digits, or "none"."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return NO_PAYER
    return str(int(value))  # type: ignore[call-overload]


@dataclass(frozen=True)
class CurveParams:
    """What one payer (or class, or the organization) teaches: the three drivers and the curve."""

    source: str  # "payer", "payer_class" or "organization": where the numbers were learned
    claims: int  # claims in the window
    adjudicated: int
    denial_rate: float
    yield_rate: float
    yield_second_moment: float  # charge-weighted E[R^2] of paid / charge
    survival: np.ndarray  # S[t] for t = 0..MAX_DAYS
    mean_charge: float

    def s(self, days: np.ndarray) -> np.ndarray:
        """S(t) for any integer t: 1 before submission, flat after MAX_DAYS."""
        days = np.asarray(days)
        out = self.survival[np.clip(days, 0, MAX_DAYS)]
        return np.where(days < 0, 1.0, out)

    @property
    def never_paid(self) -> float:
        return float(self.survival[-1])

    @property
    def median_days_to_pay(self) -> int | None:
        """First day by which half of the claims not denied are paid (None if never)."""
        hit = np.nonzero(self.survival <= 0.5)[0]
        return int(hit[0]) if len(hit) else None

    def buckets(self, width: int = BUCKET_DAYS) -> list[dict[str, float | int]]:
        """Share of claims paid in each ``width``-day bucket (0-30, 31-60, ..., -365), then never."""
        out: list[dict[str, float | int]] = []
        previous = 1.0
        for end in [*range(width, MAX_DAYS, width), MAX_DAYS]:
            now = float(self.survival[end])
            out.append({"to_day": end, "share": round(previous - now, 6)})
            previous = now
        return out

    def with_source(self, source: str) -> CurveParams:
        return CurveParams(source, self.claims, self.adjudicated, self.denial_rate, self.yield_rate,
                           self.yield_second_moment, self.survival, self.mean_charge)


def kaplan_meier(durations: np.ndarray, observed: np.ndarray, max_days: int = MAX_DAYS) -> np.ndarray:
    """S[t] = P(T > t) for t = 0..max_days from integer durations; ``observed`` False = censored there.

    A claim censored at c is known unpaid through day c, so it is at risk at every t <= c. Events
    after ``max_days`` count as censored at ``max_days``.
    """
    durations = np.clip(np.asarray(durations, dtype=np.int64), 0, None)
    observed = np.asarray(observed, dtype=bool) & (durations <= max_days)
    durations = np.minimum(durations, max_days)
    events = np.bincount(durations[observed], minlength=max_days + 1).astype(float)
    at_risk = np.bincount(durations, minlength=max_days + 1)[::-1].cumsum()[::-1].astype(float)
    hazard = np.divide(events, at_risk, out=np.zeros_like(events), where=at_risk > 0)
    return np.cumprod(1.0 - hazard)


def prepare_claims(claims: pd.DataFrame, payers: pd.DataFrame, *, as_of: dt.date) -> pd.DataFrame:
    """The claims frame (``CLAIM_COLUMNS``) with payer key and class, age, and open/adjudicated/window flags."""
    df = claims.copy()
    if df.empty:
        df = pd.DataFrame({c: pd.Series(dtype=object) for c in CLAIM_COLUMNS})
    classes = dict(zip(payers["payer_id"].map(id_key), payers["payer_class"])) if len(payers) else {}
    df["payer"] = [id_key(p) for p in df["payer_id"]]
    df["program"] = [id_key(p) for p in df["program_id"]] if "program_id" in df.columns else NO_PAYER
    df["payer_class"] = df["payer"].map(classes).fillna(UNKNOWN_CLASS)
    df["charge"] = df["charge"].astype(float)
    df["net_paid"] = df["net_paid"].astype(float)
    df["submitted"] = np.array([d.toordinal() for d in df["submitted_on"]], dtype=np.int64)
    df["age"] = as_of.toordinal() - df["submitted"]
    adjudicated = [d is not None and not pd.isna(d) for d in df["first_adjudicated_on"]]
    df["adjudicated"] = np.array(adjudicated, dtype=bool)
    df["paid_after"] = np.array(
        [(d.toordinal() - s) if a else -1 for d, s, a in zip(df["first_adjudicated_on"], df["submitted"], adjudicated)],
        dtype=np.int64)
    df["initially_denied"] = df["initially_denied"].astype(bool) & df["adjudicated"]
    df["open"] = df["standing"].astype(int) <= 0
    df["in_window"] = (df["age"] >= 0) & (df["age"] < WINDOW_DAYS)
    return df


def learn(claims: pd.DataFrame, *, source: str) -> CurveParams | None:
    """Drivers and curve from prepared claims (any subset); None when nothing was adjudicated."""
    w = claims[claims["in_window"]]
    adjudicated = w[w["adjudicated"]]
    if adjudicated.empty:
        return None
    denial_rate = float(adjudicated["initially_denied"].mean())
    settled = adjudicated[~adjudicated["initially_denied"] & ~adjudicated["open"]]
    charge = float(settled["charge"].sum())
    if charge > 0:
        ratio = settled["net_paid"].to_numpy() / np.where(settled["charge"] > 0, settled["charge"], 1.0)
        yield_rate = float(settled["net_paid"].sum()) / charge
        second = float((settled["charge"].to_numpy() * ratio ** 2).sum()) / charge
    else:
        yield_rate = second = 0.0
    curve_claims = w[~w["initially_denied"]]
    durations = np.where(curve_claims["adjudicated"], curve_claims["paid_after"], curve_claims["age"])
    survival = kaplan_meier(durations, curve_claims["adjudicated"].to_numpy())
    return CurveParams(source=source, claims=int(len(w)), adjudicated=int(len(adjudicated)),
                       denial_rate=denial_rate, yield_rate=yield_rate, yield_second_moment=max(second, yield_rate ** 2),
                       survival=survival, mean_charge=float(w["charge"].mean()) if len(w) else 0.0)


def learn_by_payer(claims: pd.DataFrame, payers: pd.DataFrame, *,
                   min_claims: int = MIN_CLAIMS) -> dict[str, CurveParams | None]:
    """Parameters per payer key (every payer with claims or in ``payers``, and "none"), with fallback."""
    organization = learn(claims, source="organization")
    by_class: dict[str, CurveParams | None] = {}
    for cls, group in claims.groupby("payer_class"):
        by_class[str(cls)] = learn(group, source="payer_class")
    classes = dict(zip(claims["payer"], claims["payer_class"]))
    if len(payers):
        classes.update(zip(payers["payer_id"].map(id_key), payers["payer_class"]))
    classes.setdefault(NO_PAYER, UNKNOWN_CLASS)
    own = {str(k): g for k, g in claims.groupby("payer")}
    out: dict[str, CurveParams | None] = {}
    for key, cls in classes.items():
        params = learn(own[key], source="payer") if key in own and key != NO_PAYER else None
        if params is None or params.adjudicated < min_claims:
            params = by_class.get(cls)
            if params is None or params.adjudicated < min_claims:
                params = organization
        out[key] = params
    return out


@dataclass(frozen=True)
class MonthWindow:
    month: dt.date
    first: int  # day ordinal of the first day that counts (the day after as_of in month 0)
    last: int


def month_windows(as_of: dt.date, horizon: int) -> list[MonthWindow]:
    first_month = month_start(as_of)
    out = []
    for k in range(horizon):
        m = add_months(first_month, k)
        first = as_of.toordinal() + 1 if k == 0 else m.toordinal()
        out.append(MonthWindow(m, first, month_end(m).toordinal()))
    return out


def month_probabilities(params: CurveParams, submitted: np.ndarray, known_unpaid_age: np.ndarray,
                        windows: list[MonthWindow]) -> np.ndarray:
    """P(paid in each month window | not denied, unpaid through ``known_unpaid_age``): shape (claims, months).

    ``known_unpaid_age`` -1 means unconditional (a claim not submitted yet).
    """
    submitted = np.asarray(submitted, dtype=np.int64)[:, None]
    first = np.array([w.first for w in windows], dtype=np.int64)[None, :]
    last = np.array([w.last for w in windows], dtype=np.int64)[None, :]
    base = params.s(np.asarray(known_unpaid_age, dtype=np.int64))[:, None]
    mass = np.clip(params.s(first - submitted - 1) - params.s(last - submitted), 0.0, None)
    return np.divide(mass, base, out=np.zeros_like(mass), where=base > 0)


def _expected(params: CurveParams, charge: np.ndarray, prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected cash and its variance per claim and month (see the module docstring)."""
    q = (1.0 - params.denial_rate) * prob
    point = charge[:, None] * params.yield_rate * q
    var = charge[:, None] ** 2 * np.clip(params.yield_second_moment * q - params.yield_rate ** 2 * q ** 2, 0.0, None)
    return point, var


def _rows(payer: str, windows: list[MonthWindow], point: np.ndarray, var: np.ndarray,
          sd_volume: np.ndarray | None = None) -> list[dict[str, object]]:
    sd_volume = np.zeros(len(windows)) if sd_volume is None else sd_volume
    return [{"payer": payer, "month": w.month, "point": float(point[k]), "var": float(var[k]),
             "sd_volume": float(sd_volume[k])} for k, w in enumerate(windows)]


def open_claims_cash(claims: pd.DataFrame, params: dict[str, CurveParams | None], *, as_of: dt.date,
                     horizon: int) -> pd.DataFrame:
    """Expected cash of the open claims per payer key and month: payer, month, point, var, sd_volume."""
    windows = month_windows(as_of, horizon)
    open_ = claims[claims["open"] & (claims["age"] >= 0)]
    rows: list[dict[str, object]] = []
    for key, group in open_.groupby("payer"):
        p = params.get(str(key))
        if p is None:
            rows += _rows(str(key), windows, np.zeros(horizon), np.zeros(horizon))
            continue
        prob = month_probabilities(p, group["submitted"].to_numpy(), group["age"].to_numpy(), windows)
        point, var = _expected(p, group["charge"].to_numpy(), prob)
        rows += _rows(str(key), windows, point.sum(axis=0), var.sum(axis=0))
    return pd.DataFrame(rows, columns=["payer", "month", "point", "var", "sd_volume"])


def payer_mix(claims: pd.DataFrame) -> pd.DataFrame:
    """payer, share: the share of gross charges of the claims submitted (the KPI payer mix's basis)."""
    total = float(claims["charge"].sum())
    if total <= 0:
        return pd.DataFrame({"payer": [NO_PAYER], "share": [1.0]})
    mix = claims.groupby("payer")["charge"].sum() / total
    return mix.rename("share").reset_index()


def trailing_average_volume(claims: pd.DataFrame, *, as_of: dt.date, horizon: int, months: int = 3) -> pd.DataFrame:
    """Default volume: per payer, the average charges submitted in the ``months`` full months before
    ``as_of``'s month, repeated for each month of the horizon."""
    first = add_months(month_start(as_of), -months).toordinal()
    last = month_start(as_of).toordinal()
    recent = claims[(claims["submitted"] >= first) & (claims["submitted"] < last)]
    average = recent.groupby("payer")["charge"].sum() / months
    rows = [{"payer": key, "month": add_months(month_start(as_of), k), "charges": float(v)}
            for key, v in average.items() for k in range(horizon)]
    return pd.DataFrame(rows, columns=["payer", "month", "charges"])


VOLUME_COLUMNS = ["payer", "month", "charges", "sd"]


def normalise_volume(volume: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """Volume rows (month, charges, optional lo/hi = 80% band of the charges) as payer, month, charges, sd.

    With a ``payer_id`` column each row is that payer's (empty: claims without a payer). Otherwise
    each row is split by the window's payer mix: its program's (``program_id`` column, empty = claims
    without a program) when the program has claims in the window, else the organization's.
    """
    if volume.empty:
        return pd.DataFrame(columns=VOLUME_COLUMNS)
    v = volume.copy()
    v["month"] = [month_start(pd.Timestamp(m).date()) for m in v["month"]]
    v["charges"] = v["charges"].astype(float)
    if "lo" in v.columns and "hi" in v.columns:
        v["sd"] = ((v["hi"].astype(float) - v["lo"].astype(float)) / (2 * Z80)).fillna(0.0).clip(lower=0.0)
    else:
        v["sd"] = 0.0
    if "payer_id" in v.columns:
        v["payer"] = [id_key(p) for p in v["payer_id"]]
        return v[VOLUME_COLUMNS].reset_index(drop=True)
    window = claims[claims["in_window"]]
    overall = payer_mix(window)
    mixes: dict[str, pd.DataFrame] = {}
    if "program_id" in v.columns:
        v["program"] = [id_key(p) for p in v["program_id"]]
        mixes = {str(k): payer_mix(g) for k, g in window.groupby("program")}
    else:
        v["program"] = ""
    parts = []
    for program, group in v.groupby("program"):
        split = (group.groupby("month", as_index=False)[["charges", "sd"]].sum()
                 .merge(mixes.get(str(program), overall), how="cross"))
        split["charges"] *= split["share"]
        split["sd"] *= split["share"]  # a program's error splits with its charges (perfectly correlated)
        parts.append(split)
    return (pd.concat(parts, ignore_index=True).groupby(["payer", "month"], as_index=False)[["charges", "sd"]].sum()
            [VOLUME_COLUMNS])


def volume_cash(volume: pd.DataFrame, params: dict[str, CurveParams | None], *, as_of: dt.date,
                horizon: int) -> pd.DataFrame:
    """Expected cash of forecast charges (``normalise_volume`` rows) per payer key and month."""
    windows = month_windows(as_of, horizon)
    months = [w.month for w in windows]
    totals: dict[str, dict[str, np.ndarray]] = {}
    for row in volume.itertuples(index=False):
        if row.month not in months or row.charges == 0:
            continue
        first = max(row.month.toordinal(), as_of.toordinal() + 1)
        days = np.arange(first, month_end(row.month).toordinal() + 1)
        if len(days) == 0:
            continue
        fraction = len(days) / (month_end(row.month).toordinal() - row.month.toordinal() + 1)
        charges, sd = row.charges * fraction, row.sd * fraction
        acc = totals.setdefault(row.payer, {k: np.zeros(horizon) for k in ("point", "var", "sd_volume")})
        p = params.get(row.payer)
        if p is None:
            continue
        prob = month_probabilities(p, days, np.full(len(days), -1), windows).mean(axis=0)
        q = (1.0 - p.denial_rate) * prob
        per_charge = p.yield_rate * q
        acc["point"] += charges * per_charge
        claim_size = p.mean_charge if p.mean_charge > 0 else charges
        acc["var"] += charges * claim_size * np.clip(p.yield_second_moment * q - p.yield_rate ** 2 * q ** 2, 0, None)
        acc["sd_volume"] += sd * per_charge
    rows: list[dict[str, object]] = []
    for key, acc in totals.items():
        rows += _rows(key, windows, acc["point"], acc["var"], acc["sd_volume"])
    return pd.DataFrame(rows, columns=["payer", "month", "point", "var", "sd_volume"])


def roll_up(rows: pd.DataFrame, *, source: str, classes: dict[str, str], labels: dict[str, str]) -> pd.DataFrame:
    """Payer rows (payer, month, point, var, sd_volume) to payer, payer_class and company rows with the band.

    Claim outcomes are independent (variances add); volume errors are perfectly correlated (sds add).
    """
    if rows.empty:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    r = rows.copy()
    r["payer_class"] = r["payer"].map(lambda k: classes.get(k, UNKNOWN_CLASS))
    r["company"] = "all"
    frames = []
    for level, column in (("company", "company"), ("payer_class", "payer_class"), ("payer", "payer")):
        g = r.groupby([column, "month"], as_index=False)[["point", "var", "sd_volume"]].sum()
        g = g.rename(columns={column: "key"})
        g.insert(0, "level", level)
        frames.append(g)
    out = pd.concat(frames, ignore_index=True)
    out["sd"] = np.sqrt(out["var"] + out["sd_volume"] ** 2)
    out["lo"] = (out["point"] - Z80 * out["sd"]).clip(lower=0.0)
    out["hi"] = out["point"] + Z80 * out["sd"]
    out["lo95"] = (out["point"] - Z95 * out["sd"]).clip(lower=0.0)
    out["hi95"] = out["point"] + Z95 * out["sd"]
    out["label"] = [labels.get(f"{lv}:{k}", k) for lv, k in zip(out["level"], out["key"])]
    out["source"] = source
    order = {"company": 0, "payer_class": 1, "payer": 2}
    out = out.sort_values(["level", "key", "month"], key=lambda s: s.map(order) if s.name == "level" else s)
    return out[OUTPUT_COLUMNS].reset_index(drop=True)


@dataclass
class CashForecast:
    frame: pd.DataFrame  # OUTPUT_COLUMNS, both sources
    params: dict[str, CurveParams | None]
    claims: pd.DataFrame  # prepared claims
    volume: pd.DataFrame  # the normalised volume used (payer, month, charges, sd)


@dataclass(frozen=True)
class Drivers:
    """What-if changes to the learned drivers (``forecasting.scenarios``): denial rates move by
    ``denial_rate_pts`` percentage points (clipped to 0-100%), and each payer class's share of the
    forecast volume is multiplied by ``payer_mix[class]`` with every month's total kept."""

    denial_rate_pts: float = 0.0
    payer_mix: tuple[tuple[str, float], ...] = ()

    @property
    def is_base(self) -> bool:
        return self.denial_rate_pts == 0 and all(f == 1 for _, f in self.payer_mix)


def adjust_params(params: dict[str, CurveParams | None], drivers: Drivers) -> dict[str, CurveParams | None]:
    if drivers.denial_rate_pts == 0:
        return params
    from dataclasses import replace

    return {k: (None if p is None else replace(p, denial_rate=float(np.clip(
        p.denial_rate + drivers.denial_rate_pts / 100.0, 0.0, 1.0)))) for k, p in params.items()}


def adjust_mix(volume: pd.DataFrame, classes: dict[str, str], drivers: Drivers) -> pd.DataFrame:
    """Re-weight each month's charges by payer class, keeping the month's total."""
    factors = dict(drivers.payer_mix)
    if not factors or volume.empty:
        return volume
    out = volume.copy()
    weight = out["payer"].map(lambda k: factors.get(classes.get(k, UNKNOWN_CLASS), 1.0)).astype(float)
    before = out.groupby("month")["charges"].transform("sum")
    out["charges"] = out["charges"] * weight
    after = out.groupby("month")["charges"].transform("sum")
    scale = np.where(after > 0, before / after.where(after > 0, 1.0), 0.0)
    out["charges"] = out["charges"] * scale
    out["sd"] = out["sd"] * weight * scale
    return out


def forecast_cash(claims: pd.DataFrame, payers: pd.DataFrame, *, as_of: dt.date, horizon: int,
                  volume: pd.DataFrame | None, min_claims: int = MIN_CLAIMS,
                  fill_missing_months: bool = False, drivers: Drivers | None = None) -> CashForecast:
    """Both sources from plain frames. ``claims``: ``CLAIM_COLUMNS``; ``payers``: payer_id, name,
    payer_class (optional payer_class_label). ``volume``: see ``normalise_volume``; None = the trailing
    3-month average per payer. ``fill_missing_months``: months of the horizon ``volume`` has no row
    for take the trailing 3-month average too. ``drivers``: what-if changes (None: as learned)."""
    prepared = prepare_claims(claims, payers, as_of=as_of)
    params = learn_by_payer(prepared, payers, min_claims=min_claims)
    average = trailing_average_volume(prepared, as_of=as_of, horizon=horizon).assign(sd=0.0)[VOLUME_COLUMNS]
    if volume is None:
        volume_rows = average
    else:
        volume_rows = normalise_volume(volume, prepared)
        if fill_missing_months:
            missing = average[~average["month"].isin(set(volume_rows["month"]))]
            volume_rows = pd.concat([df for df in (volume_rows, missing) if not df.empty] or [volume_rows],
                                    ignore_index=True)
    for key in volume_rows["payer"].unique():
        if key not in params:  # a payer the organization does not know: the organization's numbers
            params[key] = learn(prepared, source="organization")
    classes = {k: UNKNOWN_CLASS for k in params}
    classes.update(dict(zip(prepared["payer"], prepared["payer_class"])))
    labels = {"company:all": "All payers", f"payer:{NO_PAYER}": "No payer",
              f"payer_class:{UNKNOWN_CLASS}": "Unknown payer class"}
    if len(payers):
        keys = payers["payer_id"].map(id_key)
        classes.update(zip(keys, payers["payer_class"]))
        labels.update({f"payer:{k}": str(n) for k, n in zip(keys, payers["name"])})
        if "payer_class_label" in payers.columns:
            labels.update({f"payer_class:{c}": str(n)
                           for c, n in zip(payers["payer_class"], payers["payer_class_label"])})
    labels.update({f"payer_class:{c}": str(c).replace("_", " ").capitalize() for c in set(classes.values())
                   if f"payer_class:{c}" not in labels})
    if drivers is not None and not drivers.is_base:
        params = adjust_params(params, drivers)
        volume_rows = adjust_mix(volume_rows, classes, drivers)
    parts = [
        roll_up(open_claims_cash(prepared, params, as_of=as_of, horizon=horizon), source=OPEN_CLAIMS,
                classes=classes, labels=labels),
        roll_up(volume_cash(volume_rows, params, as_of=as_of, horizon=horizon), source=FORECAST_VOLUME,
                classes=classes, labels=labels),
    ]
    parts = [p for p in parts if not p.empty]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=OUTPUT_COLUMNS)
    return CashForecast(frame=frame, params=params, claims=prepared, volume=volume_rows)


def payer_summary(result: CashForecast) -> list[dict[str, object]]:
    """Per payer: the drivers and where they were learned, open claims, and the expected totals."""
    f, c = result.frame, result.claims
    payer_rows = f[f["level"] == "payer"]
    expected = payer_rows.groupby(["key", "source"])["point"].sum()
    open_ = c[c["open"] & (c["age"] >= 0)]
    open_count = open_.groupby("payer").size()
    open_charges = open_.groupby("payer")["charge"].sum()
    labels = dict(zip(payer_rows["key"], payer_rows["label"]))
    window = c[c["in_window"]].groupby("payer").agg(claims=("claim_id", "size"), adjudicated=("adjudicated", "sum"))
    keys = sorted(set(payer_rows["key"]) | set(window.index))
    out = []
    for key in keys:
        p = result.params.get(key)
        o, v = float(expected.get((key, OPEN_CLAIMS), 0.0)), float(expected.get((key, FORECAST_VOLUME), 0.0))
        out.append({
            "payer": key, "label": labels.get(key, key),
            "claims": int(window["claims"].get(key, 0)) if key in window.index else 0,
            "adjudicated": int(window["adjudicated"].get(key, 0)) if key in window.index else 0,
            "learned_from": p.source if p else None,
            "denial_rate": round(p.denial_rate, 4) if p else None,
            "yield": round(p.yield_rate, 4) if p else None,
            "median_days_to_pay": p.median_days_to_pay if p else None,
            "never_paid_share": round(p.never_paid, 4) if p else None,
            "curve": p.buckets() if p else [],
            "open_claims": int(open_count.get(key, 0)), "open_charges": round(float(open_charges.get(key, 0.0)), 2),
            "expected_open_claims": round(o, 2), "expected_forecast_volume": round(v, 2),
            "expected_total": round(o + v, 2),
        })
    return out


def __getattr__(name: str) -> object:
    # ``forecasting.cash.cash_run`` is where the run pages look for the cash run; the service lives
    # with the database reads in forecasting/cash_data.py so that this module stays free of Django.
    if name == "cash_run":
        from .cash_data import cash_run

        return cash_run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
