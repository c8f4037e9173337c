"""Geometry of the territory optimizer: projection to a plane, great-circle distances, adjacency."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
from scipy.spatial import Delaunay, QhullError, cKDTree

EARTH_RADIUS_KM = 6371.0088

# Points that share a position (a city's PO-box ZIPs on its post office) are spread on a tiny
# sunflower spiral before triangulating: qhull drops exact duplicates from the triangulation.
_DUPLICATE_SPREAD_KM = 0.01
_GOLDEN_ANGLE = np.pi * (3.0 - np.sqrt(5.0))


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere (n x 3) for latitudes and longitudes in degrees."""
    phi, lam = np.radians(lat), np.radians(lon)
    cos_phi = np.cos(phi)
    return np.column_stack((cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)))


def to_lat_lon(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude in degrees of (not necessarily unit) vectors."""
    x, y, z = vectors[..., 0], vectors[..., 1], vectors[..., 2]
    return np.degrees(np.arctan2(z, np.hypot(x, y))), np.degrees(np.arctan2(y, x))


def great_circle_km(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Great-circle distance between unit vectors (rows of a and b, broadcast), in km.

    Computed from the chord (2 asin(c/2)), which stays accurate for short distances where the
    arccos of a dot product does not."""
    chord = np.linalg.norm(a - b, axis=-1)
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))


def spherical_centre(vectors: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The normalised (weighted) mean of unit vectors: the centre of projections and metrics."""
    total = vectors.sum(axis=0) if weights is None else weights @ vectors
    norm = np.linalg.norm(total)
    return total / norm if norm > 0 else np.array([1.0, 0.0, 0.0])


def project(lat: np.ndarray, lon: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Azimuthal equidistant projection around ``centre`` (a unit vector): x, y in km.

    Distances from the centre are exact and local distances are nearly so; across the fifty
    states (centre in Kansas) the east-west stretch is about 7 % in Alaska and 16 % in Hawaii,
    which only affects how far those already remote units look."""
    lat0, lon0 = (np.radians(v) for v in to_lat_lon(centre))
    phi, lam = np.radians(lat), np.radians(lon)
    cos_c = np.sin(lat0) * np.sin(phi) + np.cos(lat0) * np.cos(phi) * np.cos(lam - lon0)
    c = np.arccos(np.clip(cos_c, -1.0, 1.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(c > 1e-12, c / np.sin(c), 1.0)
    x = EARTH_RADIUS_KM * scale * np.cos(phi) * np.sin(lam - lon0)
    y = (
        EARTH_RADIUS_KM
        * scale
        * (np.cos(lat0) * np.sin(phi) - np.sin(lat0) * np.cos(phi) * np.cos(lam - lon0))
    )
    return np.column_stack((x, y))


def _spread_duplicates(xy: np.ndarray) -> np.ndarray:
    _, inverse, counts = np.unique(xy, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    if counts.max(initial=1) == 1:
        return xy
    order = np.argsort(inverse, kind="stable")
    starts = np.cumsum(counts) - counts
    rank = np.empty(len(xy), dtype=np.int64)
    rank[order] = np.arange(len(xy)) - np.repeat(starts, counts)
    radius = _DUPLICATE_SPREAD_KM * np.sqrt(rank)
    angle = rank * _GOLDEN_ANGLE
    return xy + np.column_stack((radius * np.cos(angle), radius * np.sin(angle)))


def normalise_edges(edges: np.ndarray, n: int) -> np.ndarray:
    """Undirected edges as sorted, unique (u < v) rows of unit positions; self-loops dropped."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if len(edges) and (edges.min() < 0 or edges.max() >= n):
        raise ValueError("adjacency refers to a unit position outside 0..n-1")
    edges = np.sort(edges, axis=1)
    edges = edges[edges[:, 0] != edges[:, 1]]
    return np.unique(edges, axis=0) if len(edges) else edges


def triangulation(
    lat: np.ndarray, lon: np.ndarray, centre: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Edges of a Delaunay triangulation of the projected centroids, with their great-circle
    lengths in km. Points that share a position are spread on a 10 m spiral first; two points,
    or points on one line, are chained along it."""
    n = len(lat)
    if n < 2:
        return np.empty((0, 2), dtype=np.int64), np.empty(0)
    vectors = unit_vectors(lat, lon)
    if centre is None:
        centre = spherical_centre(vectors)
    xy = _spread_duplicates(project(lat, lon, centre))
    centred = xy - xy.mean(axis=0)
    simplices = None
    if n >= 3 and np.linalg.matrix_rank(centred, tol=1e-9) == 2:
        try:
            simplices = Delaunay(xy).simplices
        except QhullError:  # nearly collinear: fall through to the chain
            simplices = None
    if simplices is not None:
        edges = np.concatenate((simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [0, 2]]))
    else:
        axis = np.linalg.svd(centred, full_matrices=False)[2][0]
        order = np.argsort(centred @ axis, kind="stable")
        edges = np.column_stack((order[:-1], order[1:]))
    edges = normalise_edges(edges, n)
    return edges, great_circle_km(vectors[edges[:, 0]], vectors[edges[:, 1]])


def default_max_edge_km(lengths: np.ndarray) -> float:
    """Four times the 95th percentile of the triangulation's edge lengths."""
    return float(4.0 * np.percentile(lengths, 95)) if len(lengths) else 0.0


def nearest_neighbour_km(edges: np.ndarray, lengths: np.ndarray, n: int) -> np.ndarray:
    """Length of each unit's shortest edge (infinite for a unit with none)."""
    nearest = np.full(n, np.inf)
    np.minimum.at(nearest, edges[:, 0], lengths)
    np.minimum.at(nearest, edges[:, 1], lengths)
    return nearest


def cut_long_edges(
    edges: np.ndarray, lengths: np.ndarray, n: int, max_edge_km: float | None
) -> tuple[np.ndarray, float]:
    """Drop triangulation edges that cross the sea rather than join neighbours.

    With ``max_edge_km`` given, exactly the edges longer than it. By default, edges longer than
    four times the 95th percentile of all lengths (about 150 km for the US ZIP codes: Alaska's
    nearest edge to Washington is 894 km, Hawaii's to California 3,511 km), and also edges
    longer than ten times the nearest-neighbour distance at both their ends, which catches a
    small island next to a small data set, where one percentile cannot (on the US ZIP codes it
    also parts Hawaii's islands and drops ~500 edges across bays and lakes)."""
    if max_edge_km is not None:
        return edges[lengths <= max_edge_km], float(max_edge_km)
    threshold = default_max_edge_km(lengths)
    nearest = nearest_neighbour_km(edges, lengths, n)
    local = 10.0 * np.maximum(nearest[edges[:, 0]], nearest[edges[:, 1]])
    return edges[(lengths <= threshold) & (lengths <= local)], threshold


def delaunay_edges(
    lat: np.ndarray,
    lon: np.ndarray,
    *,
    max_edge_km: float | None = None,
    centre: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Adjacency of units from a Delaunay triangulation of their projected centroids, with the
    edges that cross the sea dropped (``cut_long_edges``), so that separate landmasses (Alaska,
    Hawaii, islands) become separate components instead of being joined by the triangulation's
    hull. Returns (edges, the global length threshold)."""
    edges, lengths = triangulation(lat, lon, centre)
    return cut_long_edges(edges, lengths, len(lat), max_edge_km)


def bridges(
    edges: np.ndarray,
    candidates: np.ndarray,
    lengths: np.ndarray,
    xyz: np.ndarray,
    *,
    per_link: int = 3,
) -> np.ndarray:
    """Pairs of units that join the components of ``edges`` into one.

    A minimum spanning tree over the components, each pair of components weighted by the
    shortest candidate edge between them (the candidates are the full triangulation, which is
    connected). For each link of the tree, the ``per_link`` closest pairs of units between the
    two components with no unit in two pairs, so that one locked or empty unit at the end of a
    bridge does not wall a component off. ``xyz`` are the units' unit vectors (chord distance
    ranks like great-circle distance). The search may move units across these; contiguity is
    still judged without them."""
    n = len(xyz)
    label = components(edges, n)
    count = int(label.max(initial=-1)) + 1
    if count <= 1 or len(candidates) == 0:
        return np.empty((0, 2), dtype=np.int64)
    a, b = label[candidates[:, 0]], label[candidates[:, 1]]
    crossing = np.flatnonzero(a != b)
    key = np.minimum(a, b)[crossing] * count + np.maximum(a, b)[crossing]
    order = np.lexsort((lengths[crossing], key))
    crossing, key = crossing[order], key[order]
    first = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    # Zero-length edges would vanish from a sparse matrix: shift every weight by one km.
    graph = coo_matrix(
        (lengths[crossing[first]] + 1.0, (key[first] // count, key[first] % count)),
        shape=(count, count),
    )
    tree = minimum_spanning_tree(graph.tocsr()).tocoo()
    members = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[members], np.arange(count + 1))
    trees: dict[int, cKDTree] = {}
    out = []
    for one, other in zip(tree.row.tolist(), tree.col.tolist(), strict=True):
        small, large = sorted((one, other), key=lambda c: bounds[c + 1] - bounds[c])
        small_units = members[bounds[small] : bounds[small + 1]]
        large_units = members[bounds[large] : bounds[large + 1]]
        if large not in trees:
            trees[large] = cKDTree(xyz[large_units])
        reach = min(per_link, len(large_units))
        distance, nearest = trees[large].query(xyz[small_units], k=reach)
        distance, nearest = (
            distance.reshape(len(small_units), reach),
            nearest.reshape(len(small_units), reach),
        )
        ranked = np.argsort(distance, axis=None, kind="stable")
        used_small: set[int] = set()
        used_large: set[int] = set()
        for flat in ranked.tolist():  # at most per_link pairs are kept: a short loop
            near, far = small_units[flat // reach], large_units[nearest.flat[flat]]
            if near in used_small or far in used_large:
                continue
            used_small.add(near)
            used_large.add(far)
            out.append((min(near, far), max(near, far)))
            if len(used_small) == per_link:
                break
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def components(edges: np.ndarray, n: int) -> np.ndarray:
    """Connected-component label of every unit in the adjacency graph."""
    if n == 0:
        return np.empty(0, dtype=np.int64)
    graph = coo_matrix(
        (np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])), shape=(n, n)
    )
    return connected_components(graph, directed=False)[1].astype(np.int64)


def territory_pieces(assignment: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Label of the connected piece of its territory each unit is in (edges inside territories)."""
    inside = assignment[edges[:, 0]] == assignment[edges[:, 1]]
    return components(edges[inside], len(assignment))
