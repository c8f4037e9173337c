"""Metrics of a territory assignment: balance, disruption, compactness, contiguity."""

from __future__ import annotations

import numpy as np

from .geometry import (
    components,
    cut_long_edges,
    great_circle_km,
    normalise_edges,
    spherical_centre,
    territory_pieces,
    triangulation,
    unit_vectors,
)
from .problem import UNASSIGNED, Metrics, Problem, Weights

# Share of the compactness mass that every unit gets whatever its measure, so that units with
# no potential still want to sit with their neighbours.
FLOOR_MASS = 0.1


def balance_measure(potential: np.ndarray, workload: np.ndarray, weights: Weights) -> np.ndarray:
    """Each unit's share of the balanced measure (sums to 1).

    The blend of the unit's share of total potential and of total workload, by the potential and
    workload weights. When neither applies (zero weights or nothing to share) every unit counts
    the same, so territories are balanced by unit count."""
    n = len(potential)
    measure = np.zeros(n)
    for weight, values in ((weights.potential, potential), (weights.workload, workload)):
        total = values.sum()
        if weight > 0 and total > 0:
            measure += weight * values / total
    total = measure.sum()
    if total <= 0:
        return np.full(n, 1.0 / n) if n else measure
    return measure / total


def coefficient_of_variation(totals: np.ndarray) -> float:
    mean = totals.mean() if len(totals) else 0.0
    return float(totals.std() / mean) if mean > 0 else 0.0


def max_min_ratio(totals: np.ndarray) -> float:
    low = totals.min() if len(totals) else 0.0
    if low <= 0:
        return float("inf") if totals.max(initial=0.0) > 0 else 1.0
    return float(totals.max() / low)


def territory_centroids(
    vectors: np.ndarray, assignment: np.ndarray, weights: np.ndarray, k: int
) -> np.ndarray:
    """Weighted spherical centroid (unit vector) of each territory; unweighted where the
    territory's weights sum to zero, (0, 0, 0) for an empty territory."""
    summed = np.zeros((k, 3))
    plain = np.zeros((k, 3))
    for axis in range(3):
        summed[:, axis] = np.bincount(assignment, weights=weights * vectors[:, axis], minlength=k)
        plain[:, axis] = np.bincount(assignment, weights=vectors[:, axis], minlength=k)
    weight_totals = np.bincount(assignment, weights=weights, minlength=k)
    summed = np.where((weight_totals > 0)[:, None], summed, plain)
    norms = np.linalg.norm(summed, axis=1, keepdims=True)
    return np.divide(summed, norms, out=np.zeros_like(summed), where=norms > 0)


def compactness_mass(measure: np.ndarray) -> np.ndarray:
    """Weight of each unit in the compactness term (90 % its measure, 10 % an equal share)."""
    return (1.0 - FLOOR_MASS) * measure + FLOOR_MASS / max(len(measure), 1)


def problem_adjacency(
    problem: Problem, measure: np.ndarray | None = None
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """The adjacency the optimizer uses (the caller's, or the Delaunay one cut at
    ``max_edge_km``), the threshold (NaN for the caller's), and the full triangulation's edges
    and lengths (what components are bridged with)."""
    if measure is None:
        measure = balance_measure(problem.potential, problem.workload, problem.weights)
    centre = spherical_centre(unit_vectors(problem.lat, problem.lon), compactness_mass(measure))
    all_edges, lengths = triangulation(problem.lat, problem.lon, centre)
    if problem.adjacency is not None:
        return normalise_edges(problem.adjacency, problem.n), float("nan"), all_edges, lengths
    edges, threshold = cut_long_edges(all_edges, lengths, problem.n, problem.max_edge_km)
    return edges, threshold, all_edges, lengths


def evaluate(
    problem: Problem,
    assignment: np.ndarray,
    *,
    edges: np.ndarray | None = None,
    geo_components: np.ndarray | None = None,
    measure: np.ndarray | None = None,
) -> Metrics:
    """All metrics of ``assignment`` (every unit assigned to a territory 0..k-1), on the
    optimizer's adjacency unless ``edges`` are given."""
    k, n = problem.k, problem.n
    assignment = np.asarray(assignment, dtype=np.int64)
    if len(assignment) != n or (n and (assignment.min() < 0 or assignment.max() >= k)):
        raise ValueError("every unit must be assigned to a territory 0..k-1")
    if measure is None:
        measure = balance_measure(problem.potential, problem.workload, problem.weights)
    if edges is None:
        edges = problem_adjacency(problem, measure)[0]
    if geo_components is None:
        geo_components = components(edges, n)
    potential_totals = np.bincount(assignment, weights=problem.potential, minlength=k)
    workload_totals = np.bincount(assignment, weights=problem.workload, minlength=k)
    measure_totals = np.bincount(assignment, weights=measure, minlength=k)
    units = np.bincount(assignment, minlength=k)
    mean = measure_totals.mean()
    max_deviation = float(np.abs(measure_totals / mean - 1.0).max()) if mean > 0 else 0.0

    owned = problem.current != UNASSIGNED
    moved = owned & (assignment != problem.current)
    owned_potential = problem.potential[owned].sum()
    if owned_potential > 0:
        disruption = float(problem.potential[moved].sum() / owned_potential)
    else:
        disruption = float(moved.sum() / owned.sum()) if owned.any() else 0.0

    vectors = unit_vectors(problem.lat, problem.lon)
    centroids = territory_centroids(vectors, assignment, problem.potential, k)
    distances = great_circle_km(vectors, centroids[assignment])
    total_potential = problem.potential.sum()
    if n == 0:
        mean_distance = 0.0
    elif total_potential > 0:
        mean_distance = float(problem.potential @ distances / total_potential)
    else:
        mean_distance = float(distances.mean())

    pieces, where_possible = _contiguity(assignment, problem.locked, edges, geo_components, k)
    occupied = units > 0
    occupied_count = max(int(occupied.sum()), 1)
    return Metrics(
        potential_totals=potential_totals,
        workload_totals=workload_totals,
        measure_totals=measure_totals,
        units_per_territory=units,
        cv=coefficient_of_variation(measure_totals),
        max_min_ratio=max_min_ratio(measure_totals),
        max_deviation=max_deviation,
        potential_cv=coefficient_of_variation(potential_totals),
        workload_cv=coefficient_of_variation(workload_totals),
        disruption=disruption,
        moved_units=int(moved.sum()),
        mean_distance_km=mean_distance,
        contiguous_share=float((pieces[occupied] == 1).sum() / occupied_count),
        contiguous_where_possible_share=float(where_possible[occupied].sum() / occupied_count),
        pieces=pieces,
    )


def _contiguity(
    assignment: np.ndarray,
    locked: np.ndarray,
    edges: np.ndarray,
    geo_components: np.ndarray,
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Pieces per territory, and whether each territory has one piece per geographic component
    (pieces made only of locked units not counted)."""
    piece = territory_pieces(assignment, edges)
    count = int(piece.max()) + 1 if len(piece) else 0
    piece_territory = np.zeros(count, dtype=np.int64)
    piece_territory[piece] = assignment
    piece_geo = np.zeros(count, dtype=np.int64)
    piece_geo[piece] = geo_components
    free_units = np.bincount(piece, weights=(locked == UNASSIGNED).astype(float), minlength=count)
    pieces = np.bincount(piece_territory, minlength=k)
    judged = free_units > 0
    judged_pieces = np.bincount(piece_territory[judged], minlength=k)
    # Distinct (territory, component) pairs among the judged pieces.
    pairs = np.unique(
        piece_territory[judged] * (int(geo_components.max(initial=0)) + 1) + piece_geo[judged]
    )
    geo_touched = np.bincount(pairs // (int(geo_components.max(initial=0)) + 1), minlength=k)
    return pieces, judged_pieces == geo_touched
