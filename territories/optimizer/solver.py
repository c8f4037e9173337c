"""The territory balancing driver: start, repair, boundary moves, and the Solution."""

from __future__ import annotations

import time

import numpy as np

from .geometry import to_lat_lon, unit_vectors
from .metrics import evaluate, territory_centroids
from .model import Model, Progress, prepare, rescue_model
from .problem import UNASSIGNED, Problem, Solution
from .search import fill_empty, local_search, objective, repair
from .start import initial_centres, power_assignment

__all__ = ["Progress", "solve"]


def _tolerance_met(model: Model, assignment: np.ndarray) -> bool:
    totals = np.bincount(assignment, weights=model.measure, minlength=model.k)
    return bool(np.all(np.abs(totals * model.k - 1.0) <= model.tolerance + 1e-9))


def _improve(
    model: Model, start: np.ndarray, deadline: float, progress: Progress, span: tuple[float, float]
) -> tuple[np.ndarray, int]:
    """Repair contiguity, then contiguity-keeping moves. If the tolerance is still not met, a
    rescue search on balance alone (contiguity-keeping, then free), and a last polish."""
    first, last = span
    assignment = fill_empty(model, repair(model, start))
    assignment, rounds = local_search(
        model,
        assignment,
        strict=True,
        deadline=deadline,
        progress=progress,
        span=(first, first + 0.8 * (last - first)),
    )
    if not _tolerance_met(model, assignment):
        rescue = rescue_model(model)
        for strict in (True, False):
            if _tolerance_met(model, assignment):
                break
            assignment, more = local_search(
                rescue,
                assignment,
                strict=strict,
                deadline=deadline,
                progress=progress,
                span=(first + 0.8 * (last - first), last),
            )
            rounds += more
        assignment, more = local_search(
            model, assignment, strict=True, deadline=deadline, progress=progress, span=(last, last)
        )
        rounds += more
    return assignment, rounds


def _why_not(model: Model, assignment: np.ndarray, timed_out: bool) -> str:
    problem, k = model.problem, model.k
    mean = 1.0 / k
    high = mean * (1.0 + model.tolerance)
    reasons = []
    if model.n < k:
        reasons.append(f"{model.n} units cannot fill {k} territories")
    biggest = int(np.argmax(model.measure)) if model.n else 0
    if model.n and model.measure[biggest] > high + 1e-12:
        reasons.append(
            f"unit {problem.ids[biggest]} alone is {model.measure[biggest] / mean:.0%} of a "
            f"territory's mean, above the {1 + model.tolerance:.0%} upper bound"
        )
    pinned = np.bincount(
        problem.locked[~model.free], weights=model.measure[~model.free], minlength=k
    )
    over = np.flatnonzero(pinned > high + 1e-12)
    if len(over):
        reasons.append(
            f"locked units alone exceed the upper bound in territories {over[:10].tolist()}"
        )
    if not reasons:
        totals = np.bincount(assignment, weights=model.measure, minlength=k)
        worst = int(np.argmax(np.abs(totals / mean - 1.0)))
        reasons.append(
            ("the time limit was reached" if timed_out else "no further boundary move helps")
            + f" with territory {worst} at {totals[worst] / mean - 1.0:+.1%} of the mean "
            "(units too coarse, locked units or the adjacency graph stand in the way)"
        )
    return "; ".join(reasons)


def solve(problem: Problem, progress: Progress | None = None) -> Solution:
    """Balance ``problem`` into k territories (see the package docstring for the method)."""
    started = time.monotonic()
    report: Progress = progress or (lambda fraction, message: None)
    limit = problem.time_limit_s if problem.time_limit_s is not None else float("inf")
    deadline = started + limit
    report(0.0, "preparing units and adjacency")
    model = prepare(problem)
    if model.n == 0:
        assignment = np.zeros(0, dtype=np.int64)
        return _solution(model, assignment, 0, started, timed_out=False)
    rng = np.random.default_rng(problem.rng_seed)
    report(0.05, "choosing starting centres")
    starts: list[np.ndarray] = []
    owned = problem.current != UNASSIGNED
    if np.all(owned | ~model.free):
        # Today's assignment as a start of its own: the least disruptive one there is.
        today = np.where(model.free, problem.current, problem.locked)
        starts.append(today)
    centres = initial_centres(model, rng)
    assignment, iterations = power_assignment(model, centres, deadline, report, (0.1, 0.35))
    starts.append(assignment)
    bounds = np.linspace(0.35, 0.95, len(starts) + 1)
    best: tuple[bool, float, np.ndarray] | None = None
    for index, start in enumerate(starts):
        assignment, rounds = _improve(
            model, start, deadline, report, (bounds[index], bounds[index + 1])
        )
        iterations += rounds
        met, value = _tolerance_met(model, assignment), objective(model, assignment)
        if best is None or (met, -value) > (best[0], -best[1]):
            best = (met, value, assignment)
    assert best is not None
    report(0.97, "measuring the result")
    solution = _solution(model, best[2], iterations, started, timed_out=time.monotonic() > deadline)
    report(1.0, "done")
    return solution


def _solution(
    model: Model, assignment: np.ndarray, iterations: int, started: float, *, timed_out: bool
) -> Solution:
    problem = model.problem
    metrics = evaluate(
        problem, assignment, edges=model.edges, geo_components=model.geo, measure=model.measure
    )
    met = _tolerance_met(model, assignment) if model.n else model.k == 0
    vectors = unit_vectors(problem.lat, problem.lon)
    centroid_lat, centroid_lon = to_lat_lon(
        territory_centroids(vectors, assignment, problem.potential, model.k)
    )
    return Solution(
        **vars(metrics),
        assignment=assignment,
        objective=objective(model, assignment) if model.n else 0.0,
        iterations=iterations,
        seconds=time.monotonic() - started,
        tolerance_met=met,
        reason=None if met else _why_not(model, assignment, timed_out),
        max_edge_km=model.max_edge_km,
        centroid_lat=centroid_lat,
        centroid_lon=centroid_lon,
    )
