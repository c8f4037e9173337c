"""Quota arithmetic on whole trees at once (numpy, no Django): top-down allocation with overrides
and blended methods, largest-remainder rounding to the cent, seasonal phasing, ramp, relief,
roll-ups, and the fairness statistics.

All money is integer cents (int64) inside this module; callers convert from and to Decimal.
A tree is given as ``parent`` (index of each node's parent, -1 for the root) with parents listed
before their children (``order_parents_first`` sorts one that is not).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

METHODS = ("even", "potential", "prior_year", "ttm", "custom")


def to_cents(value: Decimal | int | float | str) -> int:
    return int((Decimal(value) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_cents(cents: int | np.integer) -> Decimal:
    return (Decimal(int(cents)) / 100).quantize(Decimal("0.01"))


def largest_remainder(totals: np.ndarray, shares: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Split ``totals[g]`` (integer cents) among the members of each group ``g`` in proportion to
    ``shares`` (non-negative; normalised within the group), so that each group sums exactly to its
    total: floor every member's exact amount, then give one more cent to the members with the
    largest fractional parts (ties: the earlier member). A group whose shares are all zero is split
    evenly.

    ``groups`` holds, for each member, the index of its group in ``totals``.
    """
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    shares = np.asarray(shares, dtype=np.float64)
    group_sum = np.bincount(groups, weights=shares, minlength=len(totals))
    group_size = np.bincount(groups, minlength=len(totals)).astype(np.float64)
    zero = group_sum[groups] <= 0
    norm = np.where(zero, 1.0 / np.maximum(group_size[groups], 1.0), shares / np.where(zero, 1.0, group_sum[groups]))
    exact = totals[groups].astype(np.float64) * norm
    floor = np.floor(exact).astype(np.int64)
    # Floats can put a member one cent high when its exact amount is a whole number; never
    # more than the group's total.
    frac = exact - floor
    given = np.bincount(groups, weights=floor, minlength=len(totals)).astype(np.int64)
    remainder = totals - given
    order = np.lexsort((np.arange(n), -frac, groups))
    sorted_groups = groups[order]
    starts = np.searchsorted(sorted_groups, sorted_groups, side="left")
    rank = np.arange(n) - starts
    extra = np.zeros(n, dtype=np.int64)
    extra[order] = (rank < remainder[sorted_groups]).astype(np.int64)
    # A negative remainder (float excess) takes cents back from the smallest fractions instead.
    take = np.zeros(n, dtype=np.int64)
    if (remainder < 0).any():
        order_back = np.lexsort((np.arange(n), frac, groups))
        sg = groups[order_back]
        st = np.searchsorted(sg, sg, side="left")
        rk = np.arange(n) - st
        take[order_back] = (rk < -remainder[sg]).astype(np.int64)
    return floor + extra - take


def order_parents_first(parent: np.ndarray) -> np.ndarray:
    """A permutation listing every node after its parent (breadth-first by depth)."""
    depth = depths(parent)
    return np.lexsort((np.arange(len(parent)), depth))


def depths(parent: np.ndarray) -> np.ndarray:
    n = len(parent)
    depth = np.full(n, -1, dtype=np.int64)
    roots = parent < 0
    depth[roots] = 0
    for _ in range(n):
        todo = depth < 0
        if not todo.any():
            break
        known = depth[np.where(todo, parent, 0)]
        ready = todo & (known >= 0)
        if not ready.any():
            raise ValueError("the tree has a cycle or a dangling parent")
        depth[ready] = known[ready] + 1
    return depth


@dataclass
class Allocation:
    annual: np.ndarray  # cents per node
    warnings: list[str] = field(default_factory=list)


def blended_shares(bases: np.ndarray, weights: np.ndarray, groups: np.ndarray, free: np.ndarray,
                   n_groups: int) -> np.ndarray:
    """Each free member's share of its group: sum over methods of weight x (its basis / the free
    siblings' total). A method whose free siblings all have zero basis drops out of that group and
    the remaining weights are renormalised; with nothing left the group is split evenly."""
    n = len(groups)
    shares = np.zeros(n, dtype=np.float64)
    used_weight = np.zeros(n_groups, dtype=np.float64)
    for m in range(bases.shape[1]):
        w = float(weights[m])
        if w <= 0:
            continue
        b = np.where(free, np.maximum(bases[:, m].astype(np.float64), 0.0), 0.0)
        total = np.bincount(groups, weights=b, minlength=n_groups)
        ok = total > 0
        shares += np.where(ok[groups], w * b / np.where(ok[groups], total[groups], 1.0), 0.0)
        used_weight += np.where(ok, w, 0.0)
    scale = np.where(used_weight > 0, 1.0 / np.where(used_weight > 0, used_weight, 1.0), 0.0)
    shares = shares * scale[groups]
    return np.where(free, shares, 0.0)


def allocate(parent: np.ndarray, bases: np.ndarray, weights: np.ndarray, overrides: np.ndarray,
             target_cents: int) -> Allocation:
    """Top-down allocation of ``target_cents`` over a tree.

    ``bases`` is (nodes x methods) in the order of ``METHODS`` (the "even" column is ignored:
    every node counts 1); for a parent, callers pass the sums of its leaves. ``overrides`` is
    the fixed annual cents of a node, or -1 for none (the root's override is ignored: the root
    is the company target). Under each parent the overridden children keep their override and
    the rest of the parent's amount is split by ``blended_shares``; when overrides exceed the
    parent they are scaled down to fit and a warning says so. Children sum to their parent to
    the cent at every level.
    """
    n = len(parent)
    parent = np.asarray(parent, dtype=np.int64)
    bases = np.asarray(bases, dtype=np.float64).copy()
    if bases.shape[1] != len(METHODS):
        raise ValueError(f"bases needs {len(METHODS)} columns: {METHODS}")
    bases[:, 0] = 1.0
    overrides = np.asarray(overrides, dtype=np.int64)
    annual = np.zeros(n, dtype=np.int64)
    depth = depths(parent)
    roots = np.flatnonzero(parent < 0)
    if len(roots) != 1:
        raise ValueError("the tree needs exactly one root")
    annual[roots[0]] = target_cents
    warnings: list[str] = []
    for d in range(1, int(depth.max(initial=0)) + 1):
        members = np.flatnonzero(depth == d)
        if len(members) == 0:
            continue
        parents_here, groups = np.unique(parent[members], return_inverse=True)
        totals = annual[parents_here]
        has_override = overrides[members] >= 0
        fixed = np.where(has_override, overrides[members], 0)
        fixed_sum = np.bincount(groups, weights=fixed, minlength=len(parents_here)).astype(np.int64)
        over = fixed_sum > totals
        if over.any():
            for g in np.flatnonzero(over):
                warnings.append(f"overrides under node {int(parents_here[g])} exceed its target "
                                f"({fixed_sum[g] / 100:,.2f} > {totals[g] / 100:,.2f}); they were scaled down to fit")
            scaled_groups = over[groups] & has_override
            if scaled_groups.any():
                idx = np.flatnonzero(scaled_groups)
                sub_groups_unique, sub_groups = np.unique(groups[idx], return_inverse=True)
                fixed[idx] = largest_remainder(totals[sub_groups_unique], fixed[idx].astype(np.float64), sub_groups)
            fixed_sum = np.bincount(groups, weights=fixed, minlength=len(parents_here)).astype(np.int64)
        free = ~has_override
        free_count = np.bincount(groups, weights=free.astype(np.float64), minlength=len(parents_here))
        rest = totals - fixed_sum
        # Overrides that leave money over with no free sibling to take it: the rest is spread over
        # the overridden children in proportion to their overrides, so the level still sums.
        stranded = (free_count == 0) & (rest != 0)
        for g in np.flatnonzero(stranded):
            warnings.append(f"every child of node {int(parents_here[g])} is overridden and they do not add up to "
                            f"its target; the difference ({rest[g] / 100:,.2f}) was spread over them")
        take = free | stranded[groups]
        shares = blended_shares(bases[members], np.asarray(weights, dtype=np.float64), groups, free,
                                len(parents_here))
        shares = np.where(stranded[groups], fixed.astype(np.float64), shares)
        idx = np.flatnonzero(take)
        amounts = np.zeros(len(members), dtype=np.int64)
        if len(idx):
            g_unique, g_inv = np.unique(groups[idx], return_inverse=True)
            amounts[idx] = largest_remainder(rest[g_unique], shares[idx], g_inv)
        annual[members] = fixed + amounts
    return Allocation(annual=annual, warnings=warnings)


def leaf_sums(parent: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Roll values up a tree: each node gets its own value plus all its descendants' (columns kept)."""
    parent = np.asarray(parent, dtype=np.int64)
    out = np.array(values, dtype=np.int64 if np.issubdtype(np.asarray(values).dtype, np.integer) else np.float64,
                   copy=True)
    depth = depths(parent)
    for d in range(int(depth.max(initial=0)), 0, -1):
        members = np.flatnonzero(depth == d)
        np.add.at(out, parent[members], out[members])
    return out


def phase(annual_cents: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(nodes x 12) cents: each annual amount split by the twelve seasonality weights, every row
    summing exactly to its annual amount (largest remainder)."""
    k = len(weights)
    n = len(annual_cents)
    shares = np.tile(np.asarray(weights, dtype=np.float64), n)
    groups = np.repeat(np.arange(n), k)
    return largest_remainder(np.asarray(annual_cents, dtype=np.int64), shares, groups).reshape(n, k)


def ramp_percent(ramp: list[Decimal] | list[float], months_since_start: int) -> Decimal:
    """The share of quota carried in the ``months_since_start``-th month (0 = the first month)."""
    if months_since_start < 0:
        return Decimal(0)
    if months_since_start < len(ramp):
        return Decimal(ramp[months_since_start])
    return Decimal(100)


def month_index(start: dt.date, month: dt.date) -> int:
    return (month.year - start.year) * 12 + month.month - start.month


def ramp_reduction(allocated: np.ndarray, percents: np.ndarray) -> np.ndarray:
    """Cents a new hire does not carry: allocated x (1 - percent/100), rounded half up (<= 0)."""
    keep = np.asarray(percents, dtype=object)
    out = np.zeros(allocated.shape, dtype=np.int64)
    for i, j in zip(*np.nonzero(keep != 100)):
        carried = (Decimal(int(allocated[i, j])) * Decimal(keep[i, j]) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        out[i, j] = int(carried) - int(allocated[i, j])
    return out


def relief_cents(month_cents: int, share: Decimal, days_fraction: Decimal) -> int:
    """Quota moved with an account for one month: the old owner's month quota x the account's share
    of the territory's potential x the fraction of the month after the move, half up to the cent."""
    return int((Decimal(month_cents) * share * days_fraction).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def gini(values: np.ndarray) -> float | None:
    """Gini coefficient of non-negative values (0 = everyone carries the same, 1 = one carries all)."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0 or x.sum() <= 0:
        return None
    cum = np.cumsum(x)
    return float((n + 1 - 2 * (cum.sum() / cum[-1])) / n)
