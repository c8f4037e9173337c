"""The territory balancing engine (territories.optimizer): plain numpy, no database.

Hand-checkable instances, properties on random ones (hypothesis), and a slow, obviously-right
reference implementation of the metrics that the fast ones must agree with."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territories.optimizer import Problem, Weights, delaunay_edges, evaluate, solve
from territories.optimizer.geometry import components

EARTH_RADIUS_KM = 6371.0088
PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def grid(rows: int, cols: int, *, step: float = 0.1, lat0: float = 40.0, lon0: float = -100.0):
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    return lat0 + r.ravel() * step, lon0 + c.ravel() * step


def scattered(n: int, seed: int, *, spread: float = 3.0, sigma: float = 0.5):
    rng = np.random.default_rng(seed)
    lat = 38.0 + rng.uniform(-spread, spread, n)
    lon = -95.0 + rng.uniform(-spread, spread, n)
    return lat, lon, rng.lognormal(0.0, sigma, n)


def problem(lat, lon, potential, k, **kwargs) -> Problem:
    return Problem(
        ids=np.arange(len(lat)) + 1000, lat=lat, lon=lon, potential=potential, k=k, **kwargs
    )


# -- reference metrics: slow and obviously right --------------------------------------------------


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def reference_metrics(p: Problem, assignment, edges) -> dict:
    k, n = p.k, p.n
    totals = [0.0] * k
    for unit in range(n):
        totals[assignment[unit]] += float(p.potential[unit])
    mean = sum(totals) / k
    cv = math.sqrt(sum((t - mean) ** 2 for t in totals) / k) / mean
    ratio = max(totals) / min(totals) if min(totals) > 0 else math.inf

    owned = moved = 0.0
    for unit in range(n):
        if p.current[unit] >= 0:
            owned += p.potential[unit]
            if assignment[unit] != p.current[unit]:
                moved += p.potential[unit]
    disruption = moved / owned if owned else 0.0

    # Potential-weighted centroid on the sphere, then the weighted mean great-circle distance.
    distance_sum = 0.0
    for territory in range(k):
        members = [u for u in range(n) if assignment[u] == territory]
        if not members:
            continue
        x = y = z = 0.0
        for u in members:
            phi, lam = math.radians(p.lat[u]), math.radians(p.lon[u])
            w = p.potential[u]
            x += w * math.cos(phi) * math.cos(lam)
            y += w * math.cos(phi) * math.sin(lam)
            z += w * math.sin(phi)
        clat, clon = math.degrees(math.atan2(z, math.hypot(x, y))), math.degrees(math.atan2(y, x))
        distance_sum += sum(
            p.potential[u] * haversine_km(p.lat[u], p.lon[u], clat, clon) for u in members
        )
    mean_distance = distance_sum / float(p.potential.sum())

    # Pieces of each territory by breadth-first search over edges inside it.
    neighbours: dict[int, list[int]] = {u: [] for u in range(n)}
    for a, b in edges:
        neighbours[int(a)].append(int(b))
        neighbours[int(b)].append(int(a))
    pieces = [0] * k
    seen = [False] * n
    for start in range(n):
        if seen[start]:
            continue
        pieces[assignment[start]] += 1
        seen[start] = True
        queue = deque([start])
        while queue:
            u = queue.popleft()
            for v in neighbours[u]:
                if not seen[v] and assignment[v] == assignment[start]:
                    seen[v] = True
                    queue.append(v)
    occupied = [t for t in range(k) if any(assignment[u] == t for u in range(n))]
    contiguous = sum(1 for t in occupied if pieces[t] == 1) / len(occupied)
    return {
        "cv": cv,
        "ratio": ratio,
        "disruption": disruption,
        "distance": mean_distance,
        "pieces": pieces,
        "contiguous": contiguous,
    }


@st.composite
def assigned_instances(draw):
    n = draw(st.integers(min_value=4, max_value=40))
    k = draw(st.integers(min_value=1, max_value=min(6, n)))
    seed = draw(st.integers(min_value=0, max_value=10_000))
    rng = np.random.default_rng(seed)
    lat, lon = 35 + rng.uniform(0, 4, n), -100 + rng.uniform(0, 4, n)
    potential = rng.lognormal(0, 1, n)
    assignment = rng.integers(0, k, n)
    assignment[:k] = np.arange(k)  # every territory has a unit, so max/min is finite
    current = np.where(rng.random(n) < 0.7, rng.integers(0, k, n), -1)
    return problem(lat, lon, potential, k, current=current), assignment


@given(assigned_instances())
@PROPERTY
def test_metrics_agree_with_the_reference_implementation(instance):
    p, assignment = instance
    edges, _ = delaunay_edges(p.lat, p.lon)
    fast = evaluate(p, assignment, edges=edges)
    slow = reference_metrics(p, assignment, edges)
    assert fast.potential_cv == pytest.approx(slow["cv"], rel=1e-9, abs=1e-12)
    assert fast.cv == pytest.approx(slow["cv"], rel=1e-9, abs=1e-12)  # measure = potential shares
    assert fast.max_min_ratio == pytest.approx(slow["ratio"], rel=1e-9)
    assert fast.disruption == pytest.approx(slow["disruption"], rel=1e-9, abs=1e-12)
    assert fast.mean_distance_km == pytest.approx(slow["distance"], rel=1e-6, abs=1e-6)
    assert fast.pieces.tolist() == slow["pieces"]
    assert fast.contiguous_share == pytest.approx(slow["contiguous"])


# -- hand-checkable -------------------------------------------------------------------------------


def test_two_by_four_grid_splits_into_balanced_contiguous_halves():
    lat, lon = grid(2, 4)  # 11 km between rows, 8.5 km between columns at 40°N
    solution = solve(problem(lat, lon, np.ones(8), 2, tolerance=0.0))
    halves = solution.assignment.reshape(2, 4)
    # Two 2x2 squares are more compact than two 1x4 rows.
    assert len(set(halves[:, :2].ravel())) == 1 and len(set(halves[:, 2:].ravel())) == 1
    assert halves[0, 0] != halves[0, 3]
    assert solution.potential_totals.tolist() == [4.0, 4.0]
    assert solution.cv == 0.0 and solution.max_min_ratio == 1.0
    assert solution.contiguous_share == 1.0
    assert solution.tolerance_met and solution.reason is None


def test_caller_adjacency_is_what_contiguity_is_judged_on():
    lat, lon = grid(1, 6)
    chain = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]])
    solution = solve(problem(lat, lon, np.ones(6), 3, adjacency=chain, tolerance=0.0))
    assert solution.assignment[0] == solution.assignment[1]
    assert solution.assignment[2] == solution.assignment[3]
    assert solution.assignment[4] == solution.assignment[5]
    assert solution.contiguous_share == 1.0
    # Without the 2-3 and 3-4 links the middle pair is no longer one piece.
    broken = evaluate(problem(lat, lon, np.ones(6), 3), np.array([0, 0, 1, 2, 1, 2]), edges=chain)
    assert broken.pieces.tolist() == [1, 2, 2]


def test_delaunay_adjacency_leaves_far_islands_as_their_own_components():
    lat, lon = grid(6, 6, step=0.2)
    island_lat, island_lon = grid(
        2, 2, step=0.2, lat0=21.0, lon0=-157.0
    )  # Hawaii-like, 4,000 km off
    lat, lon = np.concatenate((lat, island_lat)), np.concatenate((lon, island_lon))
    edges, _ = delaunay_edges(lat, lon)
    label = components(edges, len(lat))
    assert len(set(label[:36])) == 1 and len(set(label[36:])) == 1
    assert label[0] != label[36]
    span = [haversine_km(lat[a], lon[a], lat[b], lon[b]) for a, b in edges]
    assert max(span) < 1000  # nothing across the 4,000 km of sea


# -- behaviour ------------------------------------------------------------------------------------


def test_every_unit_is_assigned_exactly_once():
    lat, lon, potential = scattered(250, seed=1)
    solution = solve(problem(lat, lon, potential, 9))
    assert solution.assignment.shape == (250,)
    assert solution.assignment.dtype == np.int64
    assert set(solution.assignment.tolist()) == set(range(9))
    assert solution.units_per_territory.sum() == 250
    assert solution.potential_totals.sum() == pytest.approx(potential.sum())


@pytest.mark.parametrize("seed", [3, 11, 29])
def test_tolerance_is_met_on_random_feasible_instances(seed):
    lat, lon, potential = scattered(300, seed=seed)
    solution = solve(problem(lat, lon, potential, 8, tolerance=0.05, rng_seed=seed))
    assert solution.tolerance_met, solution.reason
    assert solution.max_deviation <= 0.05 + 1e-9
    deviation = np.abs(solution.potential_totals / solution.potential_totals.mean() - 1.0)
    assert deviation.max() <= 0.05 + 1e-9
    assert solution.contiguous_where_possible_share == 1.0


@st.composite
def feasible_instances(draw):
    """A few hundred units (uniform, elongated, or three far clusters), some with no potential,
    some locked, at least 40 units per territory so that ±5 % is reachable."""
    n = draw(st.integers(min_value=200, max_value=400))
    k = draw(st.integers(min_value=2, max_value=n // 40))
    seed = draw(st.integers(min_value=0, max_value=10_000))
    shape = draw(st.sampled_from(["square", "elongated", "clusters"]))
    rng = np.random.default_rng(seed)
    if shape == "square":
        lat, lon = 38 + rng.uniform(-3, 3, n), -95 + rng.uniform(-3, 3, n)
    elif shape == "elongated":
        lat, lon = 38 + rng.normal(0, 1.5, n), -95 + rng.normal(0, 3, n)
    else:
        offsets = rng.uniform(-10, 10, (3, 2))
        cluster = rng.integers(0, 3, n)
        lat = 38 + offsets[cluster, 0] + rng.normal(0, 0.5, n)
        lon = -95 + offsets[cluster, 1] + rng.normal(0, 0.5, n)
    potential = rng.lognormal(0, 0.5, n)
    potential[rng.random(n) < draw(st.sampled_from([0.0, 0.3]))] = 0.0
    locked = np.where(rng.random(n) < draw(st.sampled_from([0.0, 0.03])), rng.integers(0, k, n), -1)
    return problem(lat, lon, potential, k, locked=locked, rng_seed=seed)


@given(feasible_instances())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_tolerance_is_met_on_random_feasible_instances_property(p):
    solution = solve(p)
    assert solution.tolerance_met, solution.reason
    assert solution.max_deviation <= p.tolerance + 1e-9
    pinned = p.locked >= 0
    assert np.array_equal(solution.assignment[pinned], p.locked[pinned])


@st.composite
def locked_instances(draw):
    n = draw(st.integers(min_value=20, max_value=120))
    k = draw(st.integers(min_value=2, max_value=6))
    seed = draw(st.integers(min_value=0, max_value=10_000))
    share = draw(st.sampled_from([0.05, 0.2, 0.5]))
    lat, lon, potential = scattered(n, seed=seed)
    rng = np.random.default_rng(seed + 1)
    locked = np.where(rng.random(n) < share, rng.integers(0, k, n), -1)
    current = np.where(rng.random(n) < 0.5, rng.integers(0, k, n), -1)
    return problem(lat, lon, potential, k, locked=locked, current=current, rng_seed=seed)


@given(locked_instances())
@PROPERTY
def test_locked_units_never_move(p):
    solution = solve(p)
    pinned = p.locked >= 0
    assert np.array_equal(solution.assignment[pinned], p.locked[pinned])
    assert solution.units_per_territory.sum() == p.n


def test_no_disruption_when_today_is_balanced_and_disruption_weighs():
    lat, lon, potential = scattered(300, seed=5)
    today = solve(problem(lat, lon, potential, 6, tolerance=0.05)).assignment
    again = solve(
        problem(
            lat,
            lon,
            potential,
            6,
            tolerance=0.05,
            current=today,
            weights=Weights(potential=1.0, compactness=1.0, disruption=100.0),
        )
    )
    assert again.tolerance_met
    assert again.disruption == 0.0 and again.moved_units == 0
    assert np.array_equal(again.assignment, today)


def test_unbalanced_today_is_fixed_with_few_moves():
    lat, lon, potential = scattered(300, seed=6)
    balanced = solve(problem(lat, lon, potential, 6)).assignment
    # Today's owner 0 took a tenth of its neighbours' units: out of tolerance.
    rng = np.random.default_rng(6)
    today = balanced.copy()
    grab = (balanced == 1) & (rng.random(300) < 0.3)
    today[grab] = 0
    start = evaluate(problem(lat, lon, potential, 6), today)
    assert start.max_deviation > 0.05
    fixed = solve(
        problem(
            lat,
            lon,
            potential,
            6,
            current=today,
            weights=Weights(potential=1.0, compactness=1.0, disruption=20.0),
        )
    )
    assert fixed.tolerance_met, fixed.reason
    assert 0.0 < fixed.disruption < 0.25


def test_same_seed_same_answer():
    lat, lon, potential = scattered(200, seed=8)
    first = solve(problem(lat, lon, potential, 7, rng_seed=42, time_limit_s=None))
    second = solve(problem(lat, lon, potential, 7, rng_seed=42, time_limit_s=None))
    assert np.array_equal(first.assignment, second.assignment)
    assert first.objective == second.objective


def test_same_seed_same_answer_with_partial_current_assignment():
    lat, lon, potential = scattered(200, seed=9)
    current = np.where(np.arange(200) % 3 == 0, np.arange(200) % 5, -1)  # k-means++ fills the rest
    runs = [
        solve(problem(lat, lon, potential, 7, current=current, rng_seed=3, time_limit_s=None))
        for _ in range(2)
    ]
    assert np.array_equal(runs[0].assignment, runs[1].assignment)


def test_more_territories_than_geographic_components():
    rng = np.random.default_rng(2)
    centres = np.repeat([[30.0, -100.0], [45.0, -80.0], [35.0, -120.0]], 100, axis=0)
    points = centres + rng.normal(0, 0.3, (300, 2))
    p = problem(points[:, 0], points[:, 1], rng.lognormal(0, 0.5, 300), 7)
    solution = solve(p)
    edges, _ = delaunay_edges(p.lat, p.lon)
    assert len(set(components(edges, p.n).tolist())) == 3
    assert solution.tolerance_met, solution.reason
    assert (solution.units_per_territory > 0).all()
    # A territory may straddle two clusters (7 territories over 3), but one piece in each.
    assert solution.contiguous_where_possible_share == 1.0


def test_small_island_joins_a_mainland_territory_in_one_piece():
    lat, lon = grid(12, 12, step=0.15)
    island_lat, island_lon = grid(3, 3, step=0.05, lat0=30.0, lon0=-140.0)  # a tenth of a territory
    lat, lon = np.concatenate((lat, island_lat)), np.concatenate((lon, island_lon))
    potential = np.concatenate((np.ones(144), np.full(9, 0.5)))
    solution = solve(problem(lat, lon, potential, 4))
    assert solution.tolerance_met, solution.reason
    assert len(set(solution.assignment[144:].tolist())) == 1  # the island is not split
    assert solution.contiguous_where_possible_share == 1.0
    assert solution.contiguous_share == 0.75  # its territory has two pieces, by geography


def test_units_with_zero_potential_are_assigned_and_balance_holds():
    lat, lon, potential = scattered(240, seed=4)
    potential[::2] = 0.0
    solution = solve(problem(lat, lon, potential, 5))
    assert solution.tolerance_met, solution.reason
    assert solution.units_per_territory.sum() == 240
    zero = potential == 0
    assert set(solution.assignment[zero].tolist()) <= set(range(5))


def test_units_on_one_point_are_still_split():
    # 30 accounts on one ZIP centroid: no geometry separates them, boundary moves do.
    potential = np.arange(30) % 3 + 1.0
    solution = solve(problem(np.full(30, 40.0), np.full(30, -100.0), potential, 4))
    assert solution.tolerance_met, solution.reason
    assert (solution.units_per_territory > 0).all()


def test_all_zero_potential_balances_unit_counts():
    lat, lon = grid(4, 6)
    solution = solve(problem(lat, lon, np.zeros(24), 3, tolerance=0.0))
    assert solution.units_per_territory.tolist() == [8, 8, 8]
    assert solution.tolerance_met


def test_infeasible_tolerance_returns_best_effort_with_reason():
    lat, lon, potential = scattered(40, seed=12)
    potential[7] = potential.sum()  # one unit is half of everything: 200 % of a territory of four
    solution = solve(problem(lat, lon, potential, 4))
    assert not solution.tolerance_met
    assert "unit 1007 alone" in solution.reason
    assert solution.units_per_territory.sum() == 40


def test_more_territories_than_units_is_reported():
    lat, lon = grid(1, 3)
    solution = solve(problem(lat, lon, np.ones(3), 5))
    assert not solution.tolerance_met
    assert "3 units cannot fill 5 territories" in solution.reason
    assert sorted(solution.units_per_territory.tolist()) == [0, 0, 1, 1, 1]


def test_locked_units_heavier_than_a_territory_are_reported():
    lat, lon = grid(3, 4)
    locked = np.full(12, -1)
    locked[:8] = 0  # two thirds of everything pinned to territory 0 of 3
    solution = solve(problem(lat, lon, np.ones(12), 3, locked=locked))
    assert not solution.tolerance_met
    assert "locked units alone exceed" in solution.reason
    assert (solution.assignment[:8] == 0).all()


def test_workload_weight_balances_workload_too():
    lat, lon, potential = scattered(300, seed=13)
    workload = np.random.default_rng(13).lognormal(0, 0.8, 300)
    solution = solve(
        problem(
            lat, lon, potential, 5, workload=workload, weights=Weights(potential=1.0, workload=1.0)
        )
    )
    assert solution.tolerance_met, solution.reason
    assert solution.workload_totals.sum() == pytest.approx(workload.sum())
    # The blended measure is balanced, and neither part is far from it.
    assert solution.potential_cv < 0.1 and solution.workload_cv < 0.1


def test_progress_is_reported_from_zero_to_one():
    seen: list[tuple[float, str]] = []
    lat, lon, potential = scattered(150, seed=14)
    solve(
        problem(lat, lon, potential, 4),
        progress=lambda fraction, message: seen.append((fraction, message)),
    )
    fractions = [f for f, _ in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert all(isinstance(message, str) and message for _, message in seen)


@pytest.mark.parametrize(
    "change",
    [
        {"locked": np.array([0, 0, 5])},
        {"potential": np.array([1.0, -1.0, 1.0])},
        {"k": 0},
        {"seeds": np.array([0, 9])},
    ],
)
def test_invalid_problems_are_refused(change):
    lat, lon = grid(1, 3)
    arguments = {"lat": lat, "lon": lon, "potential": np.ones(3), "k": 2} | change
    with pytest.raises(ValueError):
        problem(**arguments)
