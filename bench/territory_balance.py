"""Territory balancing on every US ZIP code: our optimizer against plain k-means and an exact MILP.

Run: python bench/territory_balance.py [--k 100] [--tolerance 0.05] [--seed 7] [--standard-only]
                                       [--milp-units 500] [--milp-k 10] [--milp-time-limit 120]

Units are the active ZIP codes of the fifty states and DC that have a real point in the
``zipcodes`` package (40,823; 44 more carry the placeholder 0, 0; ``--standard-only`` keeps the
street-delivery ones, 29,672). Potential is
synthetic and deterministic (``--seed``): a population proxy (distinct ZIP points within 15 km,
to the power 0.5; PO-box ZIPs count a fifth, single-organisation ZIPs a twentieth) times a
lognormal factor (sigma 0.5). No database.

1. Ours: ``territories.optimizer.solve`` into k territories within ±tolerance of the mean.
2. Baseline: plain k-means (``scipy.cluster.vq.kmeans2``, k-means++ start, same seed) on the same
   projected centroids: what "compact, but nobody balanced it" gives.
3. Exact comparison on a small instance (the ``--milp-units`` ZIPs nearest Kansas City, same
   potentials, ``--milp-k`` territories, same tolerance). We solve it, then HiGHS
   (``scipy.optimize.milp``) solves the balanced assignment to *fixed centres* — our
   territories' centroids — minimising potential-weighted great-circle distance:
       min sum_uj p_u d(u, c_j) x_uj   s.t.  sum_j x_uj = 1,
       (1 - tol) P / k <= sum_u p_u x_uj <= (1 + tol) P / k,   x binary.
   Same centres, same balance band, no contiguity: its optimum is a lower bound for every
   assignment to those centres, ours included, so ``ours / optimum - 1`` is what our heuristic
   assignment (and its contiguity) costs against the exact best. It is solved twice: with the
   tolerance's band, and with the band ours actually reached (like-for-like balance). A
   p-median, where the MILP also picks the centres, has 250,000 binaries at 500 units: not tried.

Checks (exit status 1 if one fails): ours finishes in under 30 s, every territory within the
tolerance, CV <= 3 %.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy
import zipcodes
from scipy.cluster.vq import kmeans2
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from revops.demo.geo import STATES  # a plain tuple: no Django set-up
from territories.optimizer import Problem, Weights, evaluate, solve
from territories.optimizer.geometry import (
    EARTH_RADIUS_KM,
    components,
    great_circle_km,
    project,
    spherical_centre,
    unit_vectors,
)
from territories.optimizer.metrics import problem_adjacency

TYPE_FACTOR = {"STANDARD": 1.0, "PO BOX": 0.2, "UNIQUE": 0.05}
KANSAS_CITY = (39.0997, -94.5786)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024**2:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{model}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, scipy {scipy.__version__}"
    )


def load_units(standard_only: bool) -> dict[str, np.ndarray]:
    wanted = set(STATES)
    # 44 ZIP codes (APO boxes, some single-organisation ZIPs) carry the placeholder point 0, 0.
    rows = [
        z
        for z in zipcodes.list_all()
        if z["active"]
        and z["state"] in wanted
        and z["lat"]
        and z["long"]
        and (float(z["lat"]), float(z["long"])) != (0.0, 0.0)
        and (not standard_only or z["zip_code_type"] == "STANDARD")
    ]
    return {
        "ids": np.array([int(z["zip_code"]) for z in rows], dtype=np.int64),
        "lat": np.array([float(z["lat"]) for z in rows]),
        "lon": np.array([float(z["long"]) for z in rows]),
        "type": np.array([TYPE_FACTOR[z["zip_code_type"]] for z in rows]),
        "state": np.array([z["state"] for z in rows]),
    }


def synthetic_potential(units: dict[str, np.ndarray], seed: int) -> np.ndarray:
    vectors = unit_vectors(units["lat"], units["lon"])
    points = np.unique(vectors.round(9), axis=0)  # co-located ZIPs count once in the proxy
    radius = 2.0 * np.sin(15.0 / EARTH_RADIUS_KM / 2.0)
    density = cKDTree(points).query_ball_point(vectors, radius, return_length=True)
    rng = np.random.default_rng(seed)
    return units["type"] * np.sqrt(density) * rng.lognormal(0.0, 0.5, len(vectors))


def describe(name: str, metrics, seconds: float, tolerance: float) -> dict:
    totals = metrics.potential_totals
    within = np.abs(totals / totals.mean() - 1.0) <= tolerance + 1e-12
    row = {
        "name": name,
        "seconds": seconds,
        "cv": metrics.potential_cv,
        "max_min": metrics.max_min_ratio,
        "max_dev": float(np.abs(totals / totals.mean() - 1.0).max()),
        "within": int(within.sum()),
        "k": len(totals),
        "contiguous": metrics.contiguous_share,
        "where_possible": metrics.contiguous_where_possible_share,
        "distance": metrics.mean_distance_km,
    }
    print(
        f"  {name:<10} {seconds:7.2f} s  CV {row['cv']:7.2%}  max/min {row['max_min']:7.3f}  "
        f"max dev {row['max_dev']:7.2%}  within ±{tolerance:.0%}: {row['within']:>3}/{row['k']}  "
        f"contiguous {row['contiguous']:6.1%} "
        f"(where geography allows {row['where_possible']:6.1%})  "
        f"mean distance {row['distance']:6.1f} km"
    )
    return row


def milp_fixed_centres(lat, lon, potential, centres, tolerance, time_limit):
    """The balanced assignment to fixed centres that minimises potential-weighted distance."""
    n, k = len(lat), len(centres)
    distance = great_circle_km(unit_vectors(lat, lon)[:, None, :], centres[None, :, :])  # n x k
    cost = (potential[:, None] * distance).ravel()  # x[u * k + j]
    rows_assign = np.repeat(np.arange(n), k)
    rows_balance = n + np.tile(np.arange(k), n)
    matrix = coo_matrix(
        (
            np.concatenate((np.ones(n * k), np.repeat(potential, k))),
            (
                np.concatenate((rows_assign, rows_balance)),
                np.concatenate((np.arange(n * k), np.arange(n * k))),
            ),
        ),
        shape=(n + k, n * k),
    ).tocsr()
    target = potential.sum() / k
    lower = np.concatenate((np.ones(n), np.full(k, (1 - tolerance) * target)))
    upper = np.concatenate((np.ones(n), np.full(k, (1 + tolerance) * target)))
    started = time.perf_counter()
    result = milp(
        c=cost,
        constraints=LinearConstraint(matrix, lower, upper),
        integrality=np.ones(n * k),
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit, "disp": False},
    )
    seconds = time.perf_counter() - started
    assignment = None
    if result.x is not None:
        assignment = result.x.reshape(n, k).argmax(axis=1).astype(np.int64)
    return result, seconds, assignment, distance


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--standard-only", action="store_true")
    parser.add_argument("--milp-units", type=int, default=500)
    parser.add_argument("--milp-k", type=int, default=10)
    parser.add_argument("--milp-time-limit", type=float, default=120.0)
    args = parser.parse_args()

    load_start = os.getloadavg()
    print(f"machine: {machine()}")
    print(f"load average at start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}")

    units = load_units(args.standard_only)
    potential = synthetic_potential(units, args.seed)
    n = len(potential)
    print(
        f"\nunits: {n:,} ZIP codes ({'standard only' if args.standard_only else 'all active'}) "
        f"of the 50 states and DC; k = {args.k}, tolerance ±{args.tolerance:.0%}; "
        f"largest ZIP = {potential.max() / (potential.sum() / args.k):.1%} of a territory's mean"
    )

    problem = Problem(
        ids=units["ids"],
        lat=units["lat"],
        lon=units["lon"],
        potential=potential,
        k=args.k,
        tolerance=args.tolerance,
        rng_seed=args.seed,
        time_limit_s=60.0,
    )
    print("\n(1) ours: territories.optimizer.solve")
    started = time.perf_counter()
    solution = solve(problem)
    ours_seconds = time.perf_counter() - started
    edges, threshold, _, _ = problem_adjacency(problem)
    label = components(edges, n)
    sizes = np.sort(np.bincount(label))[::-1]
    print(
        f"  adjacency: {len(edges):,} Delaunay edges up to {threshold:.0f} km, "
        f"{len(sizes)} components "
        f"(largest {', '.join(f'{s:,}' for s in sizes[:4])})"
    )
    ours = describe("ours", solution, ours_seconds, args.tolerance)
    print(
        f"  tolerance met: {solution.tolerance_met}"
        f"{'' if solution.reason is None else ' — ' + solution.reason}; "
        f"iterations {solution.iterations}"
    )

    print(
        "\n(2) baseline: plain k-means on the projected centroids "
        "(scipy.cluster.vq.kmeans2, k-means++)"
    )
    vectors = unit_vectors(units["lat"], units["lon"])
    xy = project(units["lat"], units["lon"], spherical_centre(vectors))
    started = time.perf_counter()
    _, labels = kmeans2(xy, args.k, seed=args.seed, minit="++")
    kmeans_seconds = time.perf_counter() - started
    baseline = describe(
        "k-means",
        evaluate(problem, labels.astype(np.int64), edges=edges, geo_components=label),
        kmeans_seconds,
        args.tolerance,
    )

    print(
        f"\n(3) exact comparison: the {args.milp_units} ZIPs nearest Kansas City, "
        f"k = {args.milp_k}, "
        f"±{args.tolerance:.0%}"
    )
    here = unit_vectors(np.array([KANSAS_CITY[0]]), np.array([KANSAS_CITY[1]]))[0]
    nearest = np.sort(np.argsort(great_circle_km(vectors, here), kind="stable")[: args.milp_units])
    small = Problem(
        ids=units["ids"][nearest],
        lat=units["lat"][nearest],
        lon=units["lon"][nearest],
        potential=potential[nearest],
        k=args.milp_k,
        tolerance=args.tolerance,
        rng_seed=args.seed,
        weights=Weights(potential=1.0, compactness=1.0, disruption=0.0),
    )
    started = time.perf_counter()
    small_solution = solve(small)
    small_seconds = time.perf_counter() - started
    centres = unit_vectors(small_solution.centroid_lat, small_solution.centroid_lon)
    describe("ours", small_solution, small_seconds, args.tolerance)
    # The band of the issue, then the band ours actually reached (a like-for-like balance).
    bands = [("MILP", args.tolerance), ("MILP tight", small_solution.max_deviation)]
    for label_text, band in bands:
        result, milp_seconds, exact, distance = milp_fixed_centres(
            small.lat, small.lon, small.potential, centres, band, args.milp_time_limit
        )
        ours_cost = float(small.potential @ distance[np.arange(small.n), small_solution.assignment])
        print(
            f"  {label_text}: HiGHS, {small.n * small.k:,} binaries, band ±{band:.2%}, "
            f"time limit {args.milp_time_limit:.0f} s: status {result.status} "
            f"({result.message.strip()}) in {milp_seconds:.1f} s"
        )
        if result.x is None:
            continue
        describe(label_text, evaluate(small, exact), milp_seconds, args.tolerance)
        bound = result.mip_dual_bound
        print(
            f"  objective {result.fun:,.0f} potential·km, best bound {bound:,.0f} "
            f"(gap {result.mip_gap:.2%}); ours {ours_cost:,.0f} is {ours_cost / bound - 1:+.2%} "
            f"above the bound, {ours_cost / result.fun - 1:+.2%} above the MILP's assignment"
        )

    load_end = os.getloadavg()
    print(f"\nload average at end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    checks = {
        f"finished in under 30 s ({ours_seconds:.1f} s)": ours_seconds < 30.0,
        f"every territory within ±{args.tolerance:.0%} of the mean "
        f"({ours['within']}/{args.k})": ours["within"] == args.k,
        f"CV <= 3% ({ours['cv']:.2%})": ours["cv"] <= 0.03,
    }
    for text, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    print(
        f"  k-means for comparison: CV {baseline['cv']:.1%}, "
        f"{baseline['within']}/{args.k} within the tolerance"
    )
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
