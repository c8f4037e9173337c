"""What the territory search derives once from a Problem: plane coordinates, shares, graphs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial import cKDTree

from .geometry import bridges, components, normalise_edges, project, spherical_centre, unit_vectors
from .metrics import balance_measure, compactness_mass, problem_adjacency
from .problem import UNASSIGNED, Problem, Weights

Progress = Callable[[float, str], None]

# Weight of a squared tolerance violation (in units of the mean) against the other terms.
PENALTY = 1e4
# Components worth less than this many territories are satellites (see satellites()).
SATELLITE_WORTH = 0.5
MAX_DEGREE = 64  # link bitmasks are uint64: units with more neighbours never pass the cheap test


@dataclass
class Model:
    """Everything the search derives once from a Problem."""

    problem: Problem
    n: int
    k: int
    xy: np.ndarray  # plane coordinates, km
    measure: np.ndarray  # balanced measure shares (sum 1)
    mass: np.ndarray  # compactness mass shares (sum 1)
    body: np.ndarray  # the mass of free units outside satellites, 0 elsewhere (see Tallies.centres)
    potential_share: np.ndarray
    workload_share: np.ndarray
    move_cost: np.ndarray  # disruption cost of moving each unit away from today's owner
    scale2: float  # km^2 that one unit of normalised squared distance stands for
    edges: np.ndarray  # the adjacency: contiguity is judged on it
    max_edge_km: float
    geo: np.ndarray  # component of each unit in the adjacency
    search_edges: np.ndarray  # the adjacency plus the bridges that join its components
    satellite: np.ndarray  # units of components too small for a territory of their own
    anchor: np.ndarray  # for satellite units, the nearest unit of a larger component
    neighbours: np.ndarray  # n x D positions in the search graph, -1 padded
    links: np.ndarray  # n x D uint64: bit j of links[u, i] <=> neighbours[u, i] ~ neighbours[u, j]
    crowded: np.ndarray  # units whose degree exceeds the bitmask width
    free: np.ndarray  # units that may move
    weights: Weights
    penalty: float
    balance_unit: float  # imbalance is measured in tolerances (floored at 1 %)

    @property
    def tolerance(self) -> float:
        return self.problem.tolerance


def rescue_model(model: Model) -> Model:
    """The model the rescue search uses when the tolerance is not met: balance and penalty only,
    on a measure where every unit weighs at least a thousandth of an average unit. A unit
    with no potential then still flows from an overloaded territory to an underloaded one, so
    a boundary (or the one bridge to another component) made of such units does not wall a
    chain of territories off."""
    measure = (model.measure + 1e-3 / model.n) / (1.0 + 1e-3)
    return replace(
        model,
        measure=measure,
        potential_share=measure,
        workload_share=np.zeros(model.n),
        weights=Weights(potential=1.0, compactness=0.0, disruption=0.0),
    )


def _shares(values: np.ndarray) -> np.ndarray:
    total = values.sum()
    return values / total if total > 0 else np.zeros_like(values)


def prepare(problem: Problem) -> Model:
    n, k = problem.n, problem.k
    measure = balance_measure(problem.potential, problem.workload, problem.weights)
    mass = compactness_mass(measure)
    vectors = unit_vectors(problem.lat, problem.lon)
    centre = spherical_centre(vectors, mass)
    xy = project(problem.lat, problem.lon, centre)
    edges, max_edge_km, all_edges, lengths = problem_adjacency(problem, measure)
    geo = components(edges, n)
    joins = bridges(edges, all_edges, lengths, vectors)
    search_edges = normalise_edges(np.concatenate((edges, joins)), n)
    satellite, anchor = satellites(vectors, geo, measure, k)
    spread = mass @ ((xy - mass @ xy) ** 2).sum(axis=1) if n else 0.0
    scale2 = float(spread / k) if spread > 0 else 1.0
    owned = problem.current != UNASSIGNED
    owned_potential = problem.potential[owned].sum()
    if owned_potential > 0:
        move_cost = np.where(owned, problem.potential / owned_potential, 0.0)
    else:
        move_cost = np.where(owned, 1.0 / max(int(owned.sum()), 1), 0.0)
    neighbours, links, crowded = link_masks(search_edges, n)
    w = problem.weights
    return Model(
        problem=problem,
        n=n,
        k=k,
        xy=xy,
        measure=measure,
        mass=mass,
        body=np.where((problem.locked == UNASSIGNED) & ~satellite, mass, 0.0),
        potential_share=_shares(problem.potential),
        workload_share=_shares(problem.workload),
        move_cost=move_cost,
        scale2=scale2,
        edges=edges,
        max_edge_km=max_edge_km,
        geo=geo,
        search_edges=search_edges,
        satellite=satellite,
        anchor=anchor,
        neighbours=neighbours,
        links=links,
        crowded=crowded,
        free=problem.locked == UNASSIGNED,
        weights=w,
        penalty=PENALTY * max(w.potential + w.workload + w.compactness + w.disruption, 1e-3),
        balance_unit=max(problem.tolerance, 0.01),
    )


def satellites(
    vectors: np.ndarray, geo: np.ndarray, measure: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Components worth less than half a territory (Hawaii, Alaska, islands) and, for their
    units, the unit of a larger component nearest the component (on the sphere). The price
    phase leaves them out (a centre stranded on an island cannot grow) and hands each to the
    territory nearest its anchor."""
    n = len(geo)
    worth = np.bincount(geo, weights=measure) * k if n else np.zeros(0)
    satellite = worth[geo] < SATELLITE_WORTH if n else np.zeros(0, dtype=bool)
    anchor = np.full(n, -1, dtype=np.int64)
    if satellite.all() or not satellite.any():
        return np.zeros(n, dtype=bool), anchor
    mainland = np.flatnonzero(~satellite)
    distance, nearest = cKDTree(vectors[mainland]).query(vectors[satellite])
    # One anchor per component: the closest pair between it and the mainland.
    members = np.flatnonzero(satellite)
    order = np.lexsort((distance, geo[members]))
    first = order[np.concatenate(([True], geo[members][order][1:] != geo[members][order][:-1]))]
    per_component = np.full(int(geo.max()) + 1, -1, dtype=np.int64)
    per_component[geo[members][first]] = mainland[nearest[first]]
    anchor[members] = per_component[geo[members]]
    return satellite, anchor


def link_masks(edges: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Padded neighbour lists and, per unit, which of its neighbours touch each other."""
    source = np.concatenate((edges[:, 0], edges[:, 1]))
    target = np.concatenate((edges[:, 1], edges[:, 0]))
    order = np.lexsort((target, source))
    source, target = source[order], target[order]
    degree = np.bincount(source, minlength=n)
    width = int(min(max(degree.max(initial=0), 1), MAX_DEGREE))
    starts = np.cumsum(degree) - degree
    rank = np.arange(len(source)) - np.repeat(starts, degree)
    keep = rank < width
    neighbours = np.full((n, width), -1, dtype=np.int64)
    neighbours[source[keep], rank[keep]] = target[keep]
    keys = edges[:, 0] * n + edges[:, 1]  # sorted: edges are unique sorted rows
    links = np.zeros((n, width), dtype=np.uint64)
    valid = neighbours >= 0
    for i in range(width):
        a = neighbours[:, i : i + 1]
        both = valid[:, i : i + 1] & valid
        low, high = np.minimum(a, neighbours), np.maximum(a, neighbours)
        key = low * n + high
        found = np.zeros_like(both)
        if len(keys):
            at = np.searchsorted(keys, key).clip(max=len(keys) - 1)
            found = both & (keys[at] == key)
        links[:, i] = (found.astype(np.uint64) << np.arange(width, dtype=np.uint64)).sum(
            axis=1, dtype=np.uint64
        )
    return neighbours, links, degree > MAX_DEGREE
