"""Inputs and outputs of the territory optimizer: plain dataclasses over numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

UNASSIGNED = -1


@dataclass(frozen=True)
class Weights:
    """Relative weights of the objective's terms (see the package docstring for their units).

    ``potential`` and ``workload`` also define the balanced measure the tolerance applies to: each
    unit's share of total potential and of total workload, blended with these two weights."""

    potential: float = 1.0
    workload: float = 0.0
    compactness: float = 1.0
    disruption: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"weight {f.name} must be a finite number >= 0, not {value!r}")


def _array(value: object, dtype: type, name: str, n: int | None) -> np.ndarray:
    array = np.ascontiguousarray(value, dtype=dtype)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if n is not None and len(array) != n:
        raise ValueError(f"{name} has {len(array)} entries, ids has {n}")
    return array


@dataclass
class Problem:
    """Units (one entry per unit in every array) to split into ``k`` territories.

    ``current`` is the index (0..k-1) of the territory that owns the unit today, or -1;
    ``locked`` is the index of the territory the unit must stay in (named accounts, pinned
    ZIPs), or -1. ``adjacency`` is an (E, 2) array of unit *positions* (not ids) that touch; when
    it is None it is built from a Delaunay triangulation of the centroids with edges longer than
    ``max_edge_km`` dropped (default: four times the 95th percentile edge length).
    ``seeds`` are optional unit positions (k of them) to start the territory centres from, for
    example the reps' home ZIPs; ``rng_seed`` makes the k-means++ start reproducible."""

    ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    potential: np.ndarray
    k: int
    workload: np.ndarray | None = None
    current: np.ndarray | None = None
    locked: np.ndarray | None = None
    weights: Weights = field(default_factory=Weights)
    tolerance: float = 0.05
    seeds: np.ndarray | None = None
    rng_seed: int = 0
    adjacency: np.ndarray | None = None
    max_edge_km: float | None = None
    time_limit_s: float | None = 120.0

    def __post_init__(self) -> None:
        self.ids = _array(self.ids, np.int64, "ids", None)
        n = len(self.ids)
        self.lat = _array(self.lat, np.float64, "lat", n)
        self.lon = _array(self.lon, np.float64, "lon", n)
        self.potential = _array(self.potential, np.float64, "potential", n)
        self.workload = (
            np.zeros(n)
            if self.workload is None
            else _array(self.workload, np.float64, "workload", n)
        )
        self.current = (
            np.full(n, UNASSIGNED, dtype=np.int64)
            if self.current is None
            else _array(self.current, np.int64, "current", n)
        )
        self.locked = (
            np.full(n, UNASSIGNED, dtype=np.int64)
            if self.locked is None
            else _array(self.locked, np.int64, "locked", n)
        )
        self.k = int(self.k)
        if self.k < 1:
            raise ValueError("k must be at least 1")
        if not (np.all(np.isfinite(self.lat)) and np.all(np.isfinite(self.lon))):
            raise ValueError("every unit needs a finite latitude and longitude")
        if np.any(np.abs(self.lat) > 90) or np.any(np.abs(self.lon) > 360):
            raise ValueError("latitude or longitude out of range")
        for name in ("potential", "workload"):
            values = getattr(self, name)
            if not np.all(np.isfinite(values)) or np.any(values < 0):
                raise ValueError(f"{name} must be finite and >= 0")
        for name in ("current", "locked"):
            values = getattr(self, name)
            if np.any((values < UNASSIGNED) | (values >= self.k)):
                raise ValueError(f"{name} must hold territory indexes 0..{self.k - 1} or -1")
        if not (np.isfinite(self.tolerance) and self.tolerance >= 0):
            raise ValueError("tolerance must be >= 0")
        if self.seeds is not None:
            self.seeds = _array(self.seeds, np.int64, "seeds", self.k)
            if n and (self.seeds.min() < 0 or self.seeds.max() >= n):
                raise ValueError("seeds must be unit positions 0..n-1")
        if self.adjacency is not None:
            self.adjacency = np.asarray(self.adjacency, dtype=np.int64).reshape(-1, 2)

    @property
    def n(self) -> int:
        return len(self.ids)


@dataclass
class Metrics:
    """How good an assignment is. Territory arrays have k entries.

    The balanced measure is each unit's blended share (see ``Weights``), so ``measure_totals``
    sums to 1 and its mean is 1/k; ``cv`` is its population coefficient of variation,
    ``max_deviation`` the largest |total / mean - 1|. ``disruption`` is the share of the
    potential of units that have a current owner that now sits with another one.
    ``mean_distance_km`` is the potential-weighted mean great-circle distance from a unit to its
    territory's potential-weighted centroid. ``contiguous_share`` is the share of non-empty
    territories whose units form one connected piece of the adjacency graph;
    ``contiguous_where_possible_share`` counts a territory as contiguous when it has one piece
    per geographic component it touches (Hawaii plus part of California is fine), ignoring pieces
    made only of locked units, which the caller pinned."""

    potential_totals: np.ndarray
    workload_totals: np.ndarray
    measure_totals: np.ndarray
    units_per_territory: np.ndarray
    cv: float
    max_min_ratio: float
    max_deviation: float
    potential_cv: float
    workload_cv: float
    disruption: float
    moved_units: int
    mean_distance_km: float
    contiguous_share: float
    contiguous_where_possible_share: float
    pieces: np.ndarray


@dataclass
class Solution(Metrics):
    """The optimizer's answer: an assignment, its metrics, and how it was reached.

    ``tolerance_met`` is True when every territory's balanced measure is within the tolerance of
    the mean; otherwise ``reason`` says why not (it is None when the tolerance is met)."""

    assignment: np.ndarray
    objective: float
    iterations: int
    seconds: float
    tolerance_met: bool
    reason: str | None
    max_edge_km: float
    centroid_lat: np.ndarray
    centroid_lon: np.ndarray
