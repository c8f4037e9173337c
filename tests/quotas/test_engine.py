"""quotas.engine against hand-computed values and against a slow, obviously-right reference in exact
arithmetic (fractions), with hypothesis generating trees, bases, weights and overrides."""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quotas import engine

# -- the reference: one parent at a time, exact fractions, the rounding rule spelled out ----------


def ref_largest_remainder(total: int, shares: list[Fraction]) -> list[int]:
    """Floor each exact amount, then one more cent to the largest fractional parts (earlier first)."""
    n = len(shares)
    s = sum(shares)
    norm = [Fraction(1, n)] * n if s == 0 else [x / s for x in shares]
    exact = [total * x for x in norm]
    floors = [int(e // 1) for e in exact]
    left = total - sum(floors)
    order = sorted(range(n), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def ref_shares(bases: list[list[int]], weights: list[float], free: list[bool]) -> list[Fraction]:
    n = len(bases)
    out = [Fraction(0)] * n
    used = Fraction(0)
    for m, w in enumerate(weights):
        w = Fraction(w)
        if w <= 0:
            continue
        col = [Fraction(1) if m == 0 else Fraction(max(bases[i][m], 0)) for i in range(n)]
        total = sum(col[i] for i in range(n) if free[i])
        if total <= 0:
            continue
        used += w
        for i in range(n):
            if free[i]:
                out[i] += w * col[i] / total
    return [x / used if used else Fraction(0) for x in out]


# -- hand-computed ---------------------------------------------------------------------------------

def test_largest_remainder_gives_the_left_over_cents_to_the_largest_fractions():
    # 100 cents in thirds: 33.33 each, one cent left -> the first (all fractions equal).
    out = engine.largest_remainder(np.array([100]), np.array([1.0, 1.0, 1.0]), np.array([0, 0, 0]))
    assert out.tolist() == [34, 33, 33]
    # 1000 cents by 0.125 / 0.4375 / 0.4375: exact 125 / 437.5 / 437.5 -> 125 / 438 / 437.
    out = engine.largest_remainder(np.array([1000]), np.array([1, 3.5, 3.5]), np.array([0, 0, 0]))
    assert out.tolist() == [125, 438, 437]
    # Two groups at once; an all-zero group is split evenly.
    out = engine.largest_remainder(np.array([10, 7]), np.array([1.0, 3.0, 0.0, 0.0]), np.array([0, 0, 1, 1]))
    assert out.tolist() == [3, 7, 4, 3]


def test_allocation_of_the_fixture_world_by_hand():
    # company -> R1 -> (A1 -> T1, T2), (A2 -> T3); potential 400k/400k/200k, prior year 120k/60k/20k.
    parent = np.array([-1, 0, 1, 1, 2, 2, 3])
    leaf = np.array([[0, 400_000, 120_000, 0, 0], [0, 400_000, 60_000, 0, 0], [0, 200_000, 20_000, 0, 0]]) * 100
    bases = np.zeros((7, 5))
    bases[4:] = leaf
    bases = engine.leaf_sums(parent, bases)
    weights = np.array([0, 0.6, 0.4, 0, 0])
    result = engine.allocate(parent, bases, weights, np.full(7, -1), 1_000_000_00)
    # A1 = .6 x 800/1000 + .4 x 180/200 = .84; T1 = .6 x 1/2 + .4 x 120/180 = 17/30 of A1.
    assert (result.annual / 100).tolist() == [1_000_000, 1_000_000, 840_000, 160_000, 476_000, 364_000, 160_000]
    # A manager fixes T1 at 500,000: T2 takes the rest of A1.
    overrides = np.full(7, -1)
    overrides[4] = 500_000_00
    result = engine.allocate(parent, bases, weights, overrides, 1_000_000_00)
    assert (result.annual[4:6] / 100).tolist() == [500_000, 340_000]
    assert result.warnings == []


def test_overrides_above_the_parent_are_scaled_to_fit_and_warned():
    parent = np.array([-1, 0, 0, 0])
    overrides = np.array([-1, 600, 600, -1])
    result = engine.allocate(parent, np.zeros((4, 5)), np.array([1, 0, 0, 0, 0]), overrides, 1000)
    assert result.annual.tolist() == [1000, 500, 500, 0]
    assert "exceed its target" in result.warnings[0]


def test_every_child_overridden_spreads_the_difference_over_them():
    parent = np.array([-1, 0, 0])
    result = engine.allocate(parent, np.zeros((3, 5)), np.array([1, 0, 0, 0, 0]), np.array([-1, 300, 100]), 1000)
    assert result.annual.tolist() == [1000, 750, 250]
    assert "every child" in result.warnings[0]


def test_a_method_with_no_basis_drops_out_and_the_others_are_renormalised():
    parent = np.array([-1, 0, 0])
    bases = np.array([[0, 0, 0, 0, 0], [0, 300, 0, 0, 0], [0, 100, 0, 0, 0]], dtype=float)
    # Half potential, half prior year; nobody has a prior year -> potential alone.
    result = engine.allocate(parent, bases, np.array([0, 0.5, 0.5, 0, 0]), np.full(3, -1), 1000)
    assert result.annual.tolist() == [1000, 750, 250]
    # Even split blended 50/50 with potential: .5 x 1/2 + .5 x 3/4 = 62.5%.
    result = engine.allocate(parent, bases, np.array([0.5, 0.5, 0, 0, 0]), np.full(3, -1), 1000)
    assert result.annual.tolist() == [1000, 625, 375]


def test_flat_phasing_puts_the_left_over_cents_in_the_first_months():
    out = engine.phase(np.array([476_000_00]), [1 / 12] * 12)[0]
    assert out.sum() == 476_000_00
    assert (out / 100).tolist() == [39666.67] * 8 + [39666.66] * 4


def test_seasonal_phasing_follows_the_weights():
    weights = [0.05, 0.05, 0.10, 0.10, 0.10, 0.05, 0.05, 0.10, 0.10, 0.10, 0.10, 0.10]
    out = engine.phase(np.array([1_000_00]), weights)[0]
    assert out.tolist() == [50_00, 50_00, 100_00, 100_00, 100_00, 50_00, 50_00, 100_00, 100_00, 100_00, 100_00, 100_00]


def test_ramp_carries_the_percent_of_each_month_half_up():
    allocated = np.array([[1_333_334, 1_333_334, 1_333_334, 1_333_333]])
    percents = np.array([[Decimal(25), Decimal(50), Decimal(75), Decimal(100)]], dtype=object)
    # 25% of 13,333.34 = 3,333.335 -> 3,333.34 carried; 75% = 10,000.005 -> 10,000.01.
    assert engine.ramp_reduction(allocated, percents).tolist() == [[-1_000_000, -666_667, -333_333, 0]]
    assert engine.ramp_percent([Decimal(25), Decimal(50)], 0) == 25
    assert engine.ramp_percent([Decimal(25), Decimal(50)], 2) == 100
    assert engine.ramp_percent([Decimal(25)], -1) == 0  # before the hire month


def test_relief_is_month_quota_times_share_times_days_half_up():
    # 39,666.67 x 0.25 = 9,916.6675 -> 9,916.67; a move on the 15th of a 31-day month: 17/31 of it
    # (0.548387): 991,666.75 cents x 0.548387 = 543,817.15 -> 5,438.17.
    assert engine.relief_cents(3_966_667, Decimal("0.25"), Decimal(1)) == 991_667
    assert engine.relief_cents(3_966_667, Decimal("0.25"), Decimal("0.548387")) == 543_817


def test_gini_by_hand():
    assert engine.gini(np.array([1.0, 1.0, 1.0, 1.0])) == 0.0
    assert engine.gini(np.array([0.0, 0.0, 0.0, 1.0])) == pytest.approx(0.75)
    assert engine.gini(np.array([1.0, 3.0])) == pytest.approx(0.25)
    assert engine.gini(np.array([])) is None


def test_depths_reject_a_cycle():
    with pytest.raises(ValueError):
        engine.depths(np.array([-1, 2, 1]))


# -- properties against the reference --------------------------------------------------------------

@st.composite
def trees(draw):
    n = draw(st.integers(min_value=2, max_value=25))
    parent = [-1] + [draw(st.integers(min_value=0, max_value=i - 1)) for i in range(1, n)]
    leaf_bases = [[0] + [draw(st.integers(min_value=0, max_value=10**9)) for _ in range(4)] for _ in range(n)]
    weights = [draw(st.sampled_from([0, 0.1, 0.25, 0.5, 1.0])) for _ in range(5)]
    if sum(weights) == 0:
        weights[0] = 1.0
    overrides = [-1] + [draw(st.one_of(st.just(-1), st.just(-1), st.integers(min_value=0, max_value=10**8)))
                        for _ in range(1, n)]
    target = draw(st.integers(min_value=0, max_value=10**12))
    return parent, leaf_bases, weights, overrides, target


@settings(max_examples=200, deadline=None)
@given(trees())
def test_allocation_sums_to_the_cent_at_every_level_and_agrees_with_the_reference(case):
    parent, leaf_bases, weights, overrides, target = case
    parent_arr = np.array(parent)
    is_parent = set(p for p in parent if p >= 0)
    bases = np.array([b if i not in is_parent else [0] * 5 for i, b in enumerate(leaf_bases)], dtype=float)
    bases = engine.leaf_sums(parent_arr, bases)
    result = engine.allocate(parent_arr, bases, np.array(weights), np.array(overrides), target)
    annual = result.annual.tolist()
    assert annual[0] == target
    assert all(a >= 0 for a in annual)
    for p in is_parent:
        kids = [i for i in range(len(parent)) if parent[i] == p]
        assert sum(annual[k] for k in kids) == annual[p]
        fixed = [k for k in kids if overrides[k] >= 0]
        fixed_total = sum(overrides[k] for k in fixed)
        free = [k for k in kids if overrides[k] < 0]
        if fixed_total <= annual[p] and free:
            # Overrides are kept exactly; the free siblings split the rest like the reference does,
            # within a cent (floats may order two equal fractions differently).
            assert all(annual[k] == overrides[k] for k in fixed)
            shares = ref_shares([bases[k].astype(int).tolist() for k in kids], weights,
                                [overrides[k] < 0 for k in kids])
            expected = ref_largest_remainder(annual[p] - fixed_total, [shares[kids.index(k)] for k in free])
            assert all(abs(annual[k] - e) <= 1 for k, e in zip(free, expected))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**11), min_size=1, max_size=30),
       st.lists(st.integers(min_value=0, max_value=1000), min_size=12, max_size=12))
def test_phasing_rows_sum_to_the_annual_and_stay_within_a_cent_of_exact(annuals, raw_weights):
    weights = [w / sum(raw_weights) for w in raw_weights] if sum(raw_weights) else [1 / 12] * 12
    out = engine.phase(np.array(annuals), weights)
    for annual, row in zip(annuals, out.tolist()):
        assert sum(row) == annual
        exact = [Fraction(annual) * Fraction(w).limit_denominator(10**12) for w in weights]
        assert all(abs(x - e) < 1 + Fraction(1, 10**3) for x, e in zip(row, exact))


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**12),
       st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=40))
def test_largest_remainder_matches_the_reference(total, raw):
    out = engine.largest_remainder(np.array([total]), np.array(raw, dtype=float), np.zeros(len(raw), dtype=int))
    expected = ref_largest_remainder(total, [Fraction(x) for x in raw])
    assert int(out.sum()) == total
    assert all(abs(a - b) <= 1 for a, b in zip(out.tolist(), expected))
