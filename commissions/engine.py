"""Commission batch engine: a period's credits in, traced line items out (rules: docs/commissions.md).

Plain numpy/pandas, no Django: ``commissions.services`` reads credits, plan versions, quotas and what
earlier periods paid, calls :func:`compute_lines`, and writes the lines it returns. The work is
set-based (sorts, grouped cumulative sums, clipped tier overlaps); Python loops run over
components, tiers and versions only, never over credits.

Money is integer cents, rates integer micro-units (rate x 10^6), attainment centi-percent
(50.5% = 5050); every division rounds half away from zero (:func:`round_div`).

Choices the spec leaves open, made the same way in ``tests/commissions/reference.py``:

- Credits are ordered by (date, transaction, role order, rule, credited, share); the last two only
  break ties between otherwise identical keys (a manager overriding two split reps of one deal).
- Cumulative credit (and so attainment) counts every non-reversal credit of the person and basis in
  the input, whatever its version (a credit with no version still counts, it just pays nothing).
  A quota of zero or less is no quota.
- Tier 1 of a commission rate table reaches down to minus infinity (the doc has it start at 0);
  parts of a credit that move the cumulative down (a negative credit) are negative parts.
- A credit of zero (or one that moves inside one tier) makes one line, in the tier that holds its
  ``before``. Flat lines are tier 1; the part below a hurdle is tier 0, rate 0, note below_hurdle.
- A bonus pays the highest tier whose threshold (tier 1 included) the final cumulative reaches;
  on attainment tiers a person without quota gets a zero bonus line noted ``no_quota``. A bonus
  line is made for every (person, version) with any credit under that version.
- A clawback is one line per (person, reversal transaction, component the original paid that
  person under): ``-round(paid x |reversal amount| / |original amount|)`` (all of ``paid`` when the
  original amount is 0); ``paid`` is the original's commission and SPIFF lines, from this run when
  the original transaction is among this run's credits, else from ``prior_paid``. "Within
  clawback_days" is ``reversal date - original date <= clawback_days``.
- Caps add up every line of the component in the run (commission, bonus, SPIFF, clawback); the
  version period cap adds up every line of the version's components, component cap lines included.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MICRO = 1_000_000
CENTI_PCT = 10_000  # 100% in centi-percent

KINDS = ("commission", "bonus", "spiff", "clawback", "cap")
K_COMMISSION, K_BONUS, K_SPIFF, K_CLAWBACK, K_CAP = range(5)
NOTES = ("", "below_hurdle", "no_quota", "no_clawback", "outside_clawback_window", "capped")
N_NONE, N_BELOW_HURDLE, N_NO_QUOTA, N_NO_CLAWBACK, N_OUTSIDE_WINDOW, N_CAPPED = range(6)
ROLES = ("", "owner", "direct", "split", "team", "overlay", "override")

OUTPUT_COLUMNS = (
    "person_id", "kind", "component_id", "version_id", "txn_id", "date", "role", "rule_id", "share_micro",
    "credited_cents", "att_before", "att_after", "tier", "rate_micro", "amount_cents", "held_cents",
    "release_on", "note",
)

_INF = np.int64(1 << 62)  # stands for +infinity in tier boundaries (no amount comes near it)
_NAT = np.iinfo(np.int64).min  # NaT as int64 days
_SAFE = 1 << 62  # products below this fit int64 with room for the rounding step


# -- integer arithmetic ------------------------------------------------------------------------------


def round_div(num, den):
    """``num / den`` rounded half away from zero, exactly, for python ints or int64 (or object) arrays."""
    if isinstance(num, (int, np.integer)) and isinstance(den, (int, np.integer)):
        num, den = int(num), int(den)
        q, r = divmod(abs(num), abs(den))
        if 2 * r >= abs(den):
            q += 1
        return -q if (num < 0) != (den < 0) else q
    num = np.asarray(num)
    den = np.asarray(den)
    if num.dtype != object and den.dtype != object and bool(np.all(den > 0)):
        # positive divisor: (|num| + den // 2) // den is |num| / den rounded half up, odd den included
        q = np.abs(num)
        q += den // 2
        q //= den
        return np.where(num < 0, -q, q)
    if num.dtype == object or den.dtype == object:  # python ints (no divmod ufunc for objects)
        num, den = num.astype(object), den.astype(object)
        a, d = np.abs(num), np.abs(den)
        q, r = a // d, a % d
    else:
        a, d = np.abs(num), np.abs(den)
        q, r = np.divmod(a, d)
    q = q + (2 * r >= d)
    return np.where((num < 0) != (den < 0), -q, q)


def _max_abs(x) -> int:
    x = np.asarray(x)
    return max(int(x.max()), -int(x.min())) if x.size else 0


def mul_round(a, b, den) -> np.ndarray:
    """``round(a x b / den)`` elementwise and exact (int64 while the products fit, python ints beyond);
    ``b`` and ``den`` may be arrays or single numbers."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if _max_abs(a) * _max_abs(b) < _SAFE:
        return round_div(a * b, den).astype(np.int64, copy=False)
    shape = np.broadcast_shapes(a.shape, b.shape, np.shape(den))
    prod = np.broadcast_to(a, shape).astype(object) * np.broadcast_to(b, shape).astype(object)
    return np.asarray(round_div(prod, np.broadcast_to(np.asarray(den), shape).astype(object)),
                      dtype=object).astype(np.int64)


def _mul_add_round(a, b, c, d, den: int) -> np.ndarray:
    """``round((a x b + c x d) / den)`` elementwise, exact."""
    a, b, c, d = (np.asarray(x, dtype=np.int64) for x in (a, b, c, d))
    if _max_abs(a) * _max_abs(b) + _max_abs(c) * _max_abs(d) < _SAFE:
        return round_div(a * b + c * d, den).astype(np.int64, copy=False)
    shape = np.broadcast_shapes(a.shape, b.shape, c.shape, d.shape)
    a, b, c, d = (np.broadcast_to(x, shape).astype(object) for x in (a, b, c, d))
    return np.asarray(round_div(a * b + c * d, den), dtype=object).astype(np.int64)


def _att(cum: np.ndarray, quota: np.ndarray) -> np.ndarray:
    """Attainment in centi-percent, -1 where there is no quota."""
    has = quota > 0
    if has.all():
        return mul_round(cum, CENTI_PCT, quota)
    out = np.full(cum.shape, -1, dtype=np.int64)
    if has.any():
        out[has] = mul_round(cum[has], CENTI_PCT, quota[has])
    return out


# -- specs --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    threshold: int  # centi-percent (attainment) or cents (amount tier basis); first tier 0
    rate_micro: int = 0  # commission tiers
    amount_cents: int = 0  # bonus tiers


@dataclass(frozen=True)
class ComponentSpec:
    id: int
    version_id: int
    kind: str  # "commission" | "bonus" | "spiff"
    basis: str  # basis code the component pays on (matches credits.basis)
    service_line_id: int = 0  # 0 = any service line
    rate_type: str = "flat"  # "flat" | "tiered_marginal" | "tiered_retro"
    rate_micro: int = 0  # flat rate / spiff rate / per-unit rate
    tier_basis: str = "attainment"  # "attainment" | "amount"
    tiers: tuple[Tier, ...] = ()
    service_line_rates: dict[int, int] = field(default_factory=dict)  # service line -> rate (flat only)
    hurdle_centipct: int | None = None
    cap_cents: int | None = None
    unit_cents: int = 0  # spiff amount per transaction (scaled by share)
    spiff_start: np.datetime64 | None = None  # inclusive
    spiff_end: np.datetime64 | None = None  # inclusive
    hold_centipct: int = 0  # hold_pct x 100 (25% -> 2500)
    hold_days: int = 0
    clawback_days: int | None = None


@dataclass(frozen=True)
class VersionSpec:
    id: int
    period_cap_cents: int | None = None
    quota_basis: str = "bookings"


# -- input helpers ------------------------------------------------------------------------------------


def _ints(s: pd.Series) -> np.ndarray:
    a = s.to_numpy()
    if a.dtype.kind in "iu":
        return a.astype(np.int64, copy=False)
    return pd.to_numeric(s).fillna(0).to_numpy().astype(np.int64)


def _days(s: pd.Series) -> np.ndarray:
    """Dates as int64 days since the epoch; NaT -> ``_NAT``."""
    a = s.to_numpy()
    if a.dtype.kind != "M":
        a = pd.to_datetime(s).to_numpy()
    return a.astype("datetime64[D]").astype(np.int64)


def _day(d) -> int | None:
    if d is None:
        return None
    d = np.datetime64(d, "D")
    return None if np.isnat(d) else int(d.astype(np.int64))


def _codes(values: pd.Series, categories: list[str]) -> np.ndarray:
    """Codes of ``values`` in ``categories`` (extended in place with values not seen yet)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    idx = {c: i for i, c in enumerate(categories)}
    table = np.empty(len(uniques), dtype=np.int64)
    for j, u in enumerate(uniques):
        u = "" if u is None or (isinstance(u, float) and np.isnan(u)) else str(u)
        if u not in idx:
            idx[u] = len(categories)
            categories.append(u)
        table[j] = idx[u]
    return table[codes]


def _group_starts(*keys: np.ndarray) -> np.ndarray:
    """Start positions of runs of equal keys (arrays already sorted by them)."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for k in keys:
        change[1:] |= k[1:] != k[:-1]
    return np.flatnonzero(change)


def _order(keys: list[np.ndarray], tiebreak: list[np.ndarray] = ()) -> np.ndarray | None:
    """The stable permutation sorting rows by ``keys`` (most significant first), remaining ties broken
    by ``tiebreak``; None when the rows are already in that order. One argsort of a packed int64 key
    (raw offsets, or dense ranks when the raw ranges are too wide); a lexsort if even that overflows."""
    n = len(keys[0])
    if n < 2:
        return None

    def pack(cols: list[np.ndarray]) -> np.ndarray | None:
        digits, total = [], 1
        for k in cols:
            lo = int(k.min())
            span = int(k.max()) - lo + 1
            total *= span
            digits.append((k - lo if lo else k, span))
        if total >= 1 << 63:
            return None
        key = np.zeros(n, dtype=np.int64)
        for d, span in digits:
            if span > 1:
                key *= np.int64(span)
                key += d
        return key

    key = pack(keys)
    if key is None:
        key = pack([pd.factorize(k, sort=True)[0].astype(np.int64) for k in keys])
    if key is None:
        order = np.lexsort(tuple(reversed(tiebreak)) + tuple(reversed(keys)))
        return None if bool(np.all(order[1:] > order[:-1])) else order
    presorted = bool(np.all(key[1:] >= key[:-1]))
    order = np.arange(n) if presorted else np.argsort(key, kind="stable")
    if tiebreak:
        ks = key if presorted else key[order]
        tie = ks[1:] == ks[:-1]
        if tie.any():  # rare: equal keys; sort just those rows by the tiebreak
            at = np.zeros(n, dtype=bool)
            at[1:] |= tie
            at[:-1] |= tie
            idx = np.flatnonzero(at)
            sub = order[idx]
            order[idx] = sub[np.lexsort(tuple(t[sub] for t in reversed(tiebreak)) + (ks[idx],))]
            presorted = presorted and bool(np.all(order[idx] == idx))
    return None if presorted else order


_COLS = {"row": np.int64, "person": np.int64, "cidx": np.int32, "version": np.int64, "kind": np.int8,
         "tier": np.int16, "rate": np.int64, "credited": np.int64, "att_before": np.int64, "att_after": np.int64,
         "amount": np.int64, "held": np.int64, "release": np.int64, "note": np.int8}


class _Lines:
    """Lines being built, as chunks whose columns are arrays or one scalar for the whole chunk."""

    def __init__(self) -> None:
        self.chunks: list[tuple[int, dict]] = []

    def add(self, n: int, **cols) -> None:
        if n:
            cols.setdefault("held", 0)
            cols.setdefault("release", _NAT)
            assert set(cols) == set(_COLS), set(cols) ^ set(_COLS)
            self.chunks.append((n, cols))

    def __len__(self) -> int:
        return sum(n for n, _ in self.chunks)

    def column(self, name: str, *, release: bool = False) -> np.ndarray:
        """One column over all chunks (``release`` frees the chunks' parts as it goes)."""
        out = np.empty(len(self), dtype=_COLS[name])
        at = 0
        for n, cols in self.chunks:
            out[at:at + n] = cols.pop(name) if release else cols[name]
            at += n
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        return {c: self.column(c) for c in _COLS}


# -- the engine ---------------------------------------------------------------------------------------


def compute_lines(*, credits: pd.DataFrame, components: Sequence[ComponentSpec], versions: Mapping[int, VersionSpec],
                  quotas: Mapping[tuple[int, str], int], prior_paid: pd.DataFrame | None,
                  period_start: np.datetime64, period_end: np.datetime64) -> pd.DataFrame:
    """Every line of one period (docs/commissions.md), in the order person, component, date,
    transaction, role order, rule, tier, kind.

    ``components`` must include every component named in ``prior_paid`` (older versions too), so a
    reversal can claw back under it. ``period_start``/``period_end`` only check that no credit is
    dated outside the period (both ends inclusive, so an exclusive end works too). Credits already in
    (person, basis, date, txn, role order, rule) order skip the sort (about 40% of the time)."""
    n = len(credits)
    comp_list = sorted(components, key=lambda c: c.id)
    for c in comp_list:
        if c.kind not in ("commission", "bonus", "spiff"):
            raise ValueError(f"component {c.id}: unknown kind {c.kind!r}")
        if c.kind != "spiff" and not c.tiers and (c.kind == "bonus" or c.rate_type != "flat"):
            raise ValueError(f"component {c.id} has no tiers")
    cidx_of = {c.id: i + 1 for i, c in enumerate(comp_list)}  # 0 is the version period cap

    # ---- credits as arrays, in (person, basis, date, txn, role order, rule, credited, share) order.
    # Within one component every credit has its basis, so this is also the documented line order.
    person = _ints(credits["person_id"])
    date = _days(credits["date"])
    if n:
        lo, hi = _day(period_start), _day(period_end)
        if (lo is not None and date.min() < lo) or (hi is not None and date.max() > hi):
            raise ValueError("a credit is dated outside the period")
    basis_names: list[str] = []
    basis = _codes(credits["basis"], basis_names)
    for c in comp_list:  # bases only components name still get a (person, basis) slot
        if c.basis not in basis_names:
            basis_names.append(c.basis)
    nb = len(basis_names)
    bcode = {b: i for i, b in enumerate(basis_names)}
    tables = _ComponentTables(comp_list, bcode)
    txn = _ints(credits["txn_id"])
    rule = _ints(credits["rule_id"])
    credited = _ints(credits["credited_cents"])
    share = _ints(credits["share_micro"])
    role_order = _ints(credits["role_order"])
    order = _order([person, basis, date, txn, role_order, rule], [credited, share])

    def take(a: np.ndarray) -> np.ndarray:
        return a if order is None else a[order]

    person, basis, date, txn, rule, credited, share = (
        take(a) for a in (person, basis, date, txn, rule, credited, share))
    del role_order
    version = take(_ints(credits["version_id"]))
    uses_service_line = any(c.service_line_id or c.service_line_rates for c in comp_list)
    service_line = take(_ints(credits["service_line_id"])) if uses_service_line else np.zeros(n, dtype=np.int64)
    reverses_raw = _ints(credits["reverses_txn_id"])
    is_rev = take(reverses_raw != 0)
    role_cats = list(ROLES)
    role = take(_codes(credits["role"], role_cats).astype(np.int8))

    # persons, dense in id order; a slot per (person, basis)
    pstart = _group_starts(person)
    persons = person[pstart]
    npers = len(persons)
    pdense = np.zeros(n, dtype=np.int64)
    if n:
        pdense[pstart[1:]] = 1
        pdense = np.cumsum(pdense)
    slot = pdense * nb + basis

    # ---- cumulative credit per slot; reversals do not count ----
    contrib = np.where(is_rev, 0, credited)
    cum_after = np.cumsum(contrib)
    gs = _group_starts(slot)
    cum_after -= np.repeat(cum_after[gs] - contrib[gs], np.diff(np.r_[gs, n]))
    cum_before = cum_after - contrib
    final_by_slot = np.zeros(npers * nb, dtype=np.int64)
    if n:
        ge = np.r_[gs[1:], n] - 1
        final_by_slot[slot[ge]] = cum_after[ge]
    quota_by_slot = np.zeros(npers * nb, dtype=np.int64)
    for (pid, b), q in quotas.items():
        j = int(np.searchsorted(persons, pid))
        if j < npers and persons[j] == pid and b in bcode and q is not None and q > 0:
            quota_by_slot[j * nb + bcode[b]] = int(q)
    ctx = _Credits(pdense=pdense, slot=slot, date=date, credited=credited, share=share,
                   service_line=service_line, cum_before=cum_before, cum_after=cum_after,
                   final_by_slot=final_by_slot, quota_by_slot=quota_by_slot)

    # ---- rows that pay, by version ----
    pays = (version != 0) & ~is_rev
    rows_by_version = _rows_by_version(version, pays)

    lines = _Lines()
    for c in comp_list:
        if c.kind == "bonus":
            continue
        rows = rows_by_version.get(c.version_id, np.zeros(0, dtype=np.int64))
        rows = rows[basis[rows] == bcode[c.basis]]
        if c.service_line_id:
            rows = rows[service_line[rows] == c.service_line_id]
        if c.kind == "spiff":
            _spiff_lines(lines, c, cidx_of[c.id], rows, ctx)
        else:
            _commission_lines(lines, c, cidx_of[c.id], rows, ctx)

    # ---- attainment bonuses: one line per (person, version with credits, bonus component) ----
    bonus_comps = [c for c in comp_list if c.kind == "bonus"]
    if bonus_comps and n:
        has_v = version != 0
        vcodes, vvalues = pd.factorize(version[has_v])
        seen = np.zeros((npers, len(vvalues)), dtype=bool)  # the (person, version) pairs with a credit
        seen[pdense[has_v], vcodes] = True
        pv_person, pv_code = np.nonzero(seen)
        pv_version = np.asarray(vvalues, dtype=np.int64)[pv_code]
        for c in bonus_comps:
            ps = pv_person[pv_version == c.version_id]
            if ps.size:
                _bonus_lines(lines, c, cidx_of[c.id], ps, ps * nb + bcode[c.basis], ctx)

    # ---- clawbacks, caps ----
    extra = _Lines()
    rrows = np.flatnonzero(is_rev & (version != 0))  # reversals that may claw back
    if rrows.size:
        src = rrows if order is None else order[rrows]
        _clawback_lines(extra, lines, cidx_of, tables, prior_paid, rrows=rrows, is_rev=is_rev, pdense=pdense,
                        persons=persons, txn=txn, reverses=reverses_raw[src], date=date, credited=credited,
                        orig_date=_days(credits["orig_date"].iloc[src]),
                        amount=_ints(credits["amount_cents"].iloc[src]),
                        orig_amount=_ints(credits["orig_amount_cents"].iloc[src]))
    lines.chunks.extend(extra.chunks)
    _cap_lines(lines, tables, versions)

    return _frame(lines, tables, n=n, persons=persons, credit_person=pdense, basis=basis, date=date, txn=txn,
                  role=role, role_cats=role_cats, rule=rule, share=share)


@dataclass
class _Credits:
    """The sorted credit columns the component functions read."""

    pdense: np.ndarray
    slot: np.ndarray
    date: np.ndarray
    credited: np.ndarray
    share: np.ndarray
    service_line: np.ndarray
    cum_before: np.ndarray
    cum_after: np.ndarray
    final_by_slot: np.ndarray
    quota_by_slot: np.ndarray


class _ComponentTables:
    """Per-component attributes as arrays indexed by the dense component index (0 = version cap)."""

    def __init__(self, comp_list: list[ComponentSpec], bcode: Mapping[str, int]) -> None:
        self.ids = np.array([0] + [c.id for c in comp_list], dtype=np.int64)
        self.basis = np.array([-1] + [bcode[c.basis] for c in comp_list], dtype=np.int64)
        self.version = np.array([0] + [c.version_id for c in comp_list], dtype=np.int64)
        self.has_cap = np.array([False] + [c.cap_cents is not None for c in comp_list])
        self.cap = np.array([0] + [c.cap_cents or 0 for c in comp_list], dtype=np.int64)
        self.clawback_days = np.array([-1] + [-1 if c.clawback_days is None else c.clawback_days
                                              for c in comp_list], dtype=np.int64)


def _rows_by_version(version: np.ndarray, pays: np.ndarray) -> dict[int, np.ndarray]:
    """Paying rows (ascending) of each version."""
    vers = pd.unique(version[pays])
    if len(vers) <= 32:
        return {int(v): np.flatnonzero(pays & (version == v)) for v in vers}
    prow = np.flatnonzero(pays)
    codes, uniq = pd.factorize(version[prow])
    o = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[o], np.arange(len(uniq) + 1))
    return {int(v): prow[o[bounds[i]:bounds[i + 1]]] for i, v in enumerate(uniq)}


def _hold(c: ComponentSpec, amount: np.ndarray, line_date: np.ndarray):
    """Held part of positive lines and its release day (scalars when the component holds nothing)."""
    if not c.hold_centipct:
        return 0, _NAT
    held = np.where(amount > 0, mul_round(amount, c.hold_centipct, CENTI_PCT), 0)
    return held, np.where(held != 0, line_date + c.hold_days, _NAT)


def _tier_bounds(thresholds, quota_by_slot: np.ndarray, on_attainment: bool) -> list:
    """Boundary (cents) of each threshold, per slot on attainment (infinite without a quota)."""
    out = []
    for t in thresholds:
        if on_attainment:
            has = quota_by_slot > 0
            b = np.full(quota_by_slot.size, _INF, dtype=np.int64)
            b[has] = mul_round(quota_by_slot[has], t, CENTI_PCT)
            out.append(b)
        else:
            out.append(np.int64(t))
    return out


def _commission_lines(lines: _Lines, c: ComponentSpec, cidx: int, rows: np.ndarray, x: _Credits) -> None:
    m = len(rows)
    if m == 0:
        return
    slot = x.slot[rows]
    q = x.quota_by_slot[slot]
    cb = x.cum_before[rows]
    ca = x.cum_after[rows]
    cred = x.credited[rows]
    on_attainment = c.rate_type != "flat" and c.tier_basis == "attainment"
    needs_quota = on_attainment or c.hurdle_centipct is not None
    note = np.where(q > 0, N_NONE, N_NO_QUOTA).astype(np.int8) if needs_quota else N_NONE
    common = {"person": x.pdense[rows], "cidx": cidx, "version": c.version_id, "kind": K_COMMISSION}
    hurdle = None
    if c.hurdle_centipct is not None:
        h = _tier_bounds([c.hurdle_centipct], x.quota_by_slot, True)[0]
        h[x.quota_by_slot <= 0] = -_INF  # no quota: no hurdle
        hurdle = h[slot]
        if not (hurdle > -_INF).any():
            hurdle = None

    if c.rate_type == "flat":
        rate = np.int64(c.rate_micro)
        if c.service_line_rates:
            rate = np.full(m, c.rate_micro, dtype=np.int64)
            sl = x.service_line[rows]
            for sl_id, r in c.service_line_rates.items():
                rate[sl == int(sl_id)] = r
        rates, uppers = [rate], []
    else:
        rates = [np.int64(t.rate_micro) for t in c.tiers]
        uppers = [b if np.ndim(b) == 0 else b[slot]
                  for b in _tier_bounds([t.threshold for t in c.tiers[1:]], x.quota_by_slot, on_attainment)]

    if c.rate_type == "tiered_retro":
        f = x.final_by_slot[slot]
        tier = np.ones(m, dtype=np.int16)
        for b in uppers:
            tier += f >= b
        rate = np.array(rates, dtype=np.int64)[tier - 1]
        line_note = note
        if hurdle is not None:
            below = f < hurdle
            tier[below] = 0
            rate[below] = 0
            line_note = np.where(below, N_BELOW_HURDLE, note).astype(np.int8)
        amount = mul_round(cred, rate, MICRO)
        held, release = _hold(c, amount, x.date[rows])
        lines.add(m, row=rows, tier=tier, rate=rate, credited=cred, att_before=_att(cb, q), att_after=_att(ca, q),
                  amount=amount, held=held, release=release, note=line_note, **common)
        return

    if hurdle is None and not uppers:  # one rate, no hurdle: one line per credit
        rate = rates[0]
        amount = mul_round(cred, rate, MICRO)
        held, release = _hold(c, amount, x.date[rows])
        lines.add(m, row=rows, tier=1, rate=rate, credited=cred, att_before=_att(cb, q), att_after=_att(ca, q),
                  amount=amount, held=held, release=release, note=note, **common)
        return

    # flat with a hurdle, marginal: the part of [before, after] in each segment of the cumulative line
    # (below the hurdle = tier 0, then each tier above it), row by row in tier order
    neg = np.full(m, -_INF, dtype=np.int64)
    pos = np.full(m, _INF, dtype=np.int64)
    h = neg if hurdle is None else hurdle
    edges = [neg] + [np.maximum(u, h) for u in uppers] + [pos]
    seg_lo = [neg, h, *edges[1:-1]]
    seg_hi = [h, *edges[1:]]
    seg_rate = [np.int64(0), *rates]
    first = 0 if hurdle is not None else 1
    nseg = len(seg_lo) - first
    sb = np.empty((m, nseg), dtype=np.int64)
    sa = np.empty((m, nseg), dtype=np.int64)
    sel = np.empty((m, nseg), dtype=bool)
    zero = ca == cb
    for j in range(nseg):
        lo, hi = seg_lo[first + j], seg_hi[first + j]
        sb[:, j] = np.minimum(np.maximum(cb, lo), hi)
        sa[:, j] = np.minimum(np.maximum(ca, lo), hi)
        sel[:, j] = (sa[:, j] != sb[:, j]) | (zero & (lo <= cb) & (cb < hi))
    flat_idx = np.flatnonzero(sel)
    i, j = np.divmod(flat_idx, nseg)
    part_b = sb.ravel()[flat_idx]
    part_a = sa.ravel()[flat_idx]
    del sb, sa, sel
    part = part_a - part_b
    tier = (j + first).astype(np.int16)
    if np.ndim(rates[0]):  # flat rate by service line, per row
        rate = np.where(tier == 0, 0, rates[0][i])
    else:
        rate = np.array(seg_rate[first:], dtype=np.int64)[j]
    qi = q[i]
    amount = mul_round(part, rate, MICRO)
    r_i = rows[i]
    held, release = _hold(c, amount, x.date[r_i])
    line_note = note[i] if np.ndim(note) else note
    if hurdle is not None:
        line_note = np.where(tier == 0, N_BELOW_HURDLE, line_note).astype(np.int8)
    lines.add(len(i), row=r_i, tier=tier, rate=rate, credited=part, att_before=_att(part_b, qi),
              att_after=_att(part_a, qi), amount=amount, held=held, release=release, note=line_note,
              **{**common, "person": common["person"][i]})


def _spiff_lines(lines: _Lines, c: ComponentSpec, cidx: int, rows: np.ndarray, x: _Credits) -> None:
    d = x.date[rows]
    start, end = _day(c.spiff_start), _day(c.spiff_end)
    keep = np.ones(len(rows), dtype=bool)
    if start is not None:
        keep &= d >= start
    if end is not None:
        keep &= d <= end
    rows = rows[keep]
    m = len(rows)
    if m == 0:
        return
    cred = x.credited[rows]
    # round(unit_amount x share + credited x rate)
    amount = _mul_add_round(c.unit_cents, x.share[rows], cred, c.rate_micro, MICRO)
    held, release = _hold(c, amount, x.date[rows])
    q = x.quota_by_slot[x.slot[rows]]
    lines.add(m, row=rows, person=x.pdense[rows], cidx=cidx, version=c.version_id, kind=K_SPIFF, tier=0,
              rate=c.rate_micro, credited=cred, att_before=_att(x.cum_before[rows], q),
              att_after=_att(x.cum_after[rows], q), amount=amount, held=held, release=release, note=N_NONE)


def _bonus_lines(lines: _Lines, c: ComponentSpec, cidx: int, ps: np.ndarray, slots: np.ndarray, x: _Credits) -> None:
    m = len(ps)
    final = x.final_by_slot[slots]
    quota = x.quota_by_slot[slots]
    on_attainment = c.tier_basis == "attainment"
    tier = np.zeros(m, dtype=np.int16)
    for b in _tier_bounds([t.threshold for t in c.tiers], x.quota_by_slot, on_attainment):
        tier += final >= (b if np.ndim(b) == 0 else b[slots])  # no quota on attainment: never reached
    amounts = np.array([0] + [t.amount_cents for t in c.tiers], dtype=np.int64)
    note = np.where((quota > 0) | (not on_attainment), N_NONE, N_NO_QUOTA).astype(np.int8)
    lines.add(m, row=-1, person=ps, cidx=cidx, version=c.version_id, kind=K_BONUS, tier=tier, rate=-1,
              credited=final, att_before=-1, att_after=_att(final, quota), amount=amounts[tier], note=note)


def _clawback_lines(extra: _Lines, lines: _Lines, cidx_of: Mapping[int, int], tables: _ComponentTables,
                    prior_paid: pd.DataFrame | None, *, rrows, is_rev, pdense, persons, txn, reverses, date,
                    credited, orig_date, amount, orig_amount) -> None:
    """Clawback lines; ``reverses``, ``orig_date``, ``amount`` and ``orig_amount`` are aligned with ``rrows``."""
    # one claim per (person, reversal transaction); a person's rows of one transaction are adjacent
    st = _group_starts(pdense[rrows], txn[rrows])
    first = rrows[st]
    claims = pd.DataFrame({"row": first, "at": st, "p": pdense[first], "orig": reverses[st],
                           "credited": np.add.reduceat(credited[rrows], st)})
    originals = np.unique(reverses[st])

    # what an original paid: this run's commission and SPIFF lines when it is credited in this run,
    # else what earlier periods paid (prior_paid)
    is_original = np.isin(txn, originals)
    in_run = np.unique(txn[is_original & ~is_rev])
    parts = []
    for n_chunk, cols in lines.chunks:
        if cols["kind"] not in (K_COMMISSION, K_SPIFF):
            continue
        row = cols["row"]
        sel = np.flatnonzero(is_original[row])
        if sel.size:
            parts.append(pd.DataFrame({"orig": txn[row[sel]], "p": np.broadcast_to(cols["person"], n_chunk)[sel],
                                       "cidx": cols["cidx"], "paid": cols["amount"][sel]}))
    if prior_paid is not None and len(prior_paid):
        pp_txn = _ints(prior_paid["txn_id"])
        pp_person = _ints(prior_paid["person_id"])
        j = np.clip(np.searchsorted(persons, pp_person), 0, len(persons) - 1)
        keep = np.isin(pp_txn, originals) & ~np.isin(pp_txn, in_run) & (persons[j] == pp_person)
        if keep.any():
            ids = _ints(prior_paid["component_id"])[keep]
            missing = sorted(set(ids.tolist()) - set(cidx_of))
            if missing:
                raise ValueError(f"prior_paid names components not passed to the engine: {missing}")
            parts.append(pd.DataFrame({"orig": pp_txn[keep], "p": j[keep],
                                       "cidx": np.array([cidx_of[int(k)] for k in ids], dtype=np.int64),
                                       "paid": _ints(prior_paid["paid_cents"])[keep]}))
    if not parts:
        return
    paid = pd.concat(parts, ignore_index=True).groupby(["orig", "p", "cidx"], sort=True, as_index=False)["paid"].sum()
    m = claims.merge(paid, on=["orig", "p"], how="inner", sort=False)
    if not len(m):
        return
    row = m["row"].to_numpy(np.int64)
    at = m["at"].to_numpy(np.int64)
    cidx = m["cidx"].to_numpy(np.int64)
    window = tables.clawback_days[cidx]
    no_claw = window < 0
    outside = ~no_claw & ((orig_date[at] == _NAT) | (date[row] - orig_date[at] > window))
    rev_amt = np.abs(amount[at])
    org_amt = np.abs(orig_amount[at])
    p = m["paid"].to_numpy(np.int64)
    claw = -p  # an original of amount 0: all of it
    ok = org_amt != 0
    if ok.any():
        claw[ok] = -mul_round(p[ok], rev_amt[ok], org_amt[ok])
    claw = np.where(no_claw | outside, 0, claw)
    note = np.where(no_claw, N_NO_CLAWBACK, np.where(outside, N_OUTSIDE_WINDOW, N_NONE))
    extra.add(len(m), row=row, person=m["p"].to_numpy(np.int64), cidx=cidx, version=tables.version[cidx],
              kind=K_CLAWBACK, tier=0, rate=-1, credited=m["credited"].to_numpy(np.int64), att_before=-1,
              att_after=-1, amount=claw, note=note)


def _cap_lines(lines: _Lines, tables: _ComponentTables, versions: Mapping[int, VersionSpec]) -> None:
    """Component caps over every line of the component, then version period caps over its components."""
    vcap = {vid: v.period_cap_cents for vid, v in versions.items() if v.period_cap_cents is not None}
    wanted = tables.has_cap | np.isin(tables.version, np.fromiter(vcap, dtype=np.int64, count=len(vcap)))
    wanted[0] = False
    if not wanted.any():
        return
    sums = []
    for n_chunk, cols in lines.chunks:
        p = np.broadcast_to(cols["person"], n_chunk)
        cidx = np.broadcast_to(cols["cidx"], n_chunk)
        amount = np.broadcast_to(cols["amount"], n_chunk)
        if np.ndim(cols["cidx"]) == 0 and np.ndim(cols["person"]) and bool(np.all(p[1:] >= p[:-1])):
            if not wanted[cols["cidx"]]:
                continue
            st = _group_starts(p)  # persons in order: sum each person's run
            sums.append(pd.DataFrame({"p": p[st], "cidx": int(cols["cidx"]), "amount": np.add.reduceat(amount, st)}))
        else:
            sel = wanted[cidx]
            sums.append(pd.DataFrame({"p": p[sel], "cidx": cidx[sel], "amount": amount[sel]}))
    if not sums:
        return
    tot = pd.concat(sums, ignore_index=True).groupby(["p", "cidx"], sort=True, as_index=False)["amount"].sum()
    p = tot["p"].to_numpy(np.int64)
    cidx = tot["cidx"].to_numpy(np.int64)
    total = tot["amount"].to_numpy(np.int64)
    over = tables.has_cap[cidx] & (total > tables.cap[cidx])
    cut = np.where(over, tables.cap[cidx] - total, 0)
    if over.any():
        lines.add(int(over.sum()), row=-1, person=p[over], cidx=cidx[over], version=tables.version[cidx[over]],
                  kind=K_CAP, tier=0, rate=-1, credited=0, att_before=-1, att_after=-1, amount=cut[over],
                  note=N_CAPPED)
    if not vcap:
        return
    ver = tables.version[cidx]
    sel = np.isin(ver, np.fromiter(vcap, dtype=np.int64, count=len(vcap)))
    if not sel.any():
        return
    vt = pd.DataFrame({"p": p[sel], "v": ver[sel], "amount": (total + cut)[sel]}).groupby(
        ["p", "v"], sort=True, as_index=False)["amount"].sum()
    vp = vt["p"].to_numpy(np.int64)
    vid = vt["v"].to_numpy(np.int64)
    vtotal = vt["amount"].to_numpy(np.int64)
    vc = np.array([vcap[int(v)] for v in vid], dtype=np.int64)
    over = vtotal > vc
    if over.any():
        lines.add(int(over.sum()), row=-1, person=vp[over], cidx=0, version=vid[over], kind=K_CAP, tier=0, rate=-1,
                  credited=0, att_before=-1, att_after=-1, amount=(vc - vtotal)[over], note=N_CAPPED)


def _days_to_ns(days: np.ndarray) -> np.ndarray:
    return np.where(days == _NAT, _NAT, days * np.int64(86_400 * 10**9)).view("datetime64[ns]")


def _frame(lines: _Lines, tables: _ComponentTables, *, n, persons, credit_person, basis, date, txn, role, role_cats,
           rule, share) -> pd.DataFrame:
    """The documented row order and the output frame."""
    m = len(lines)
    row = lines.column("row", release=True)
    person = lines.column("person", release=True)
    cidx = lines.column("cidx", release=True)
    tier = lines.column("tier", release=True)
    kind = lines.column("kind", release=True)
    has_row = row >= 0
    r = np.where(has_row, row, 0)
    del row

    def from_credit(a: np.ndarray, missing) -> np.ndarray:
        """The credit column at each line's credit (``missing`` for bonus and cap lines)."""
        return np.where(has_row, a[r], missing) if n else np.full(len(has_row), missing, dtype=a.dtype)

    # Order: person, component, date (bonus and caps last), transaction, the credit's place among the
    # person's credits of the transaction, tier, kind. Each component's lines come out of their
    # function in this order, so the stable sort mostly merges runs.
    if n:
        # the credit's place on its transaction (credits are sorted by person, basis, date, txn, ...)
        gst = _group_starts(credit_person, basis, date, txn)
        subrank = np.arange(n) - np.repeat(gst, np.diff(np.r_[gst, n]))
        d0, t0 = int(date.min()), int(txn.min())
        dspan, tspan, sspan = int(date.max()) - d0 + 2, int(txn.max()) - t0 + 1, int(subrank.max()) + 1
        if float(dspan) * tspan * sspan * (len(persons) + 1) * len(tables.ids) * (int(tier.max(initial=0)) + 1) \
                * len(KINDS) < 2.0 ** 62:
            place = ((date - d0) * np.int64(tspan) + (txn - t0)) * np.int64(sspan) + subrank
            last = np.int64((dspan - 1) * tspan * sspan)  # after every dated line
            order = _order([person, cidx, from_credit(place, last), tier, kind])
            del place
        else:
            order = _order([person, cidx, from_credit(date, int(date.max()) + 1), from_credit(txn, 0),
                            from_credit(subrank, 0), tier, kind])
    else:
        order = _order([person, cidx, tier, kind]) if m else None
    if order is None:
        order = np.arange(m)
    has_row = has_row[order]  # from here on from_credit gives sorted columns
    r = r[order]

    def o(name: str) -> np.ndarray:
        return lines.column(name, release=True)[order]

    out = {
        "person_id": persons[person[order]] if m else np.zeros(0, dtype=np.int64),
        "kind": pd.Categorical.from_codes(kind[order], categories=list(KINDS), validate=False),
        "component_id": tables.ids[cidx[order]],
        "version_id": o("version"),
        "txn_id": from_credit(txn, 0),
        "date": _days_to_ns(from_credit(date, _NAT)),
        "role": pd.Categorical.from_codes(from_credit(role, np.int8(0)), categories=role_cats, validate=False),
        "rule_id": from_credit(rule, 0),
        "share_micro": from_credit(share, 0),
        "credited_cents": o("credited"),
        "att_before": o("att_before"),
        "att_after": o("att_after"),
        "tier": tier[order],
        "rate_micro": o("rate"),
        "amount_cents": o("amount"),
        "held_cents": o("held"),
        "release_on": _days_to_ns(o("release")),
        "note": pd.Categorical.from_codes(o("note"), categories=list(NOTES), validate=False),
    }
    return pd.DataFrame(out, columns=list(OUTPUT_COLUMNS), copy=False)


# -- statements ---------------------------------------------------------------------------------------


def payouts(*, people: pd.DataFrame) -> pd.DataFrame:
    """Draws, recovery and payout per person ("Statements, draws and guarantees" in the doc).

    ``net = earned + adjustments - held + released``. A draw applies when ``draw_cents > 0``: below
    it the draw is paid (``draw_paid = draw - net``, added to the balance when recoverable); at or
    above it, up to the balance is recovered from ``net - draw``. With no draw, a negative net pays 0
    and its shortfall joins the balance; otherwise up to the balance is recovered from net."""
    out = people.copy()
    earned = _ints(people["earned_cents"])
    net = earned + _ints(people["adjustments_cents"]) - _ints(people["held_cents"]) + _ints(people["released_cents"])
    draw = _ints(people["draw_cents"])
    recoverable = people["draw_recoverable"].fillna(False).to_numpy(bool)
    balance = _ints(people["balance_cents"])
    has_draw = draw > 0
    below = has_draw & (net < draw)
    draw_paid = np.where(below, draw - net, 0)
    shortfall = np.where(~has_draw & (net < 0), -net, 0)
    excess = np.where(below, 0, np.maximum(np.where(has_draw, net - draw, net), 0))
    recovered = np.minimum(balance, excess)
    payout = np.where(below, draw, np.where(shortfall > 0, 0, net - recovered))
    out["draw_paid_cents"] = draw_paid
    out["draw_recovered_cents"] = recovered
    out["balance_after_cents"] = balance - recovered + np.where(recoverable, draw_paid, 0) + shortfall
    out["payout_cents"] = payout
    return out
