"""Where territories start: bisection or today's centres, then balanced Lloyd with prices."""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from .model import Model, Progress
from .problem import UNASSIGNED

# Centres a unit may join in the price phase (its nearest ones, plus today's owner).
CANDIDATES = 8
# The price phase aims at this fraction of the tolerance; boundary moves do the rest.
POWER_TARGET = 0.5
MAX_POWER_ROUNDS = 6
MAX_PRICE_SWEEPS = 5


def bisection(model: Model, units: np.ndarray) -> np.ndarray:
    """Recursive bisection of ``units``: split them across their principal axis where each side
    gets its share of the measure (k1 / k of it for k1 territories), down to single
    territories. Balanced to within a unit by construction, compact enough to start from.
    Returns the territory of each of ``units``."""
    assignment = np.zeros(len(units), dtype=np.int64)
    stack = [(np.arange(len(units)), 0, model.k)]
    while stack:
        part, first, count = stack.pop()
        if count == 1 or len(part) == 0:
            assignment[part] = first
            continue
        left = count // 2
        xy, mass = model.xy[units[part]], model.mass[units[part]]
        centred = xy - mass @ xy / mass.sum()
        axis = np.linalg.eigh((centred * mass[:, None]).T @ centred)[1][:, -1]
        order = np.argsort(centred @ axis, kind="stable")
        weight = model.measure[units[part]][order]
        total = weight.sum()
        if total > 0:
            share = total * left / count
            running = np.cumsum(weight)
            cut = int(np.searchsorted(running, share))
            # The unit at the cut goes to whichever side lands nearer its share.
            if cut < len(order) and running[cut] - share < share - (running[cut] - weight[cut]):
                cut += 1
        else:
            cut = len(order) * left // count
        stack.append((part[order[:cut]], first, left))
        stack.append((part[order[cut:]], first + left, count - left))
    return assignment


def centres_of(
    model: Model, units: np.ndarray, owner: np.ndarray, previous: np.ndarray
) -> np.ndarray:
    """Mass-weighted plane centroid of each territory's ``units`` (``previous`` if it has none)."""
    k = model.k
    weight = np.bincount(owner, weights=model.mass[units], minlength=k)
    centres = previous.copy()
    has = weight > 0
    for axis in range(2):
        summed = np.bincount(owner, weights=model.mass[units] * model.xy[units, axis], minlength=k)
        centres[has, axis] = summed[has] / weight[has]
    return centres


def initial_centres(model: Model, rng: np.random.Generator) -> np.ndarray:
    """Where the territories start.

    The caller's seeds; else the centres of today's territories, with k-means++ (sampling by
    squared distance times compactness mass) for territories that have none; else the centroids
    of a recursive bisection of the measure, which starts the prices near balance (k-means++
    centres can start a metro territory at ten times the mean). Bisection regions are numbered
    so that territories with locked units get the regions nearest to them (an assignment
    problem on the locked units' squared distances)."""
    problem, k = model.problem, model.k
    if problem.seeds is not None:
        return model.xy[problem.seeds].copy()
    mainland = np.flatnonzero(~model.satellite)
    known = np.flatnonzero(problem.current != UNASSIGNED)
    if len(known) == 0:
        centres = centres_of(model, mainland, bisection(model, mainland), np.zeros((k, 2)))
        pinned = np.flatnonzero(~model.free)
        if len(pinned):
            cost = np.zeros((k, k))  # territory x region
            for region in range(k):
                cost[:, region] = np.bincount(
                    problem.locked[pinned],
                    minlength=k,
                    weights=model.mass[pinned]
                    * ((model.xy[pinned] - centres[region]) ** 2).sum(axis=1),
                )
            _, region_of = linear_sum_assignment(cost)
            centres = centres[region_of]
        return centres
    centres = centres_of(model, known, problem.current[known], np.full((k, 2), np.nan))
    chosen = ~np.isnan(centres[:, 0])
    best = (
        ((model.xy[mainland, None, :] - centres[chosen][None, :, :]) ** 2).sum(axis=2).min(axis=1)
    )
    for slot in np.flatnonzero(~chosen):
        score = best * model.mass[mainland]
        total = score.sum()
        pick = mainland[
            rng.choice(len(mainland), p=score / total) if total > 0 else rng.integers(len(mainland))
        ]
        centres[slot] = model.xy[pick]
        best = np.minimum(best, ((model.xy[mainland] - centres[slot]) ** 2).sum(axis=1))
    return centres


def balance_prices(
    cost: np.ndarray,
    candidates: np.ndarray,
    measure: np.ndarray,
    target: np.ndarray,
    prices: np.ndarray,
    fixed: np.ndarray,
    tolerance: float,
    sweeps: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Prices that balance ``argmin_j cost[u, j] - price[j]`` (columns name territories).

    Exact coordinate ascent on the transportation dual: one territory at a time, the price at
    which the units that would rather join it than their best alternative add up to its target
    (a weighted quantile of their thresholds), everyone else's prices held. Scale-free — a
    Manhattan territory and a Montana one are balanced alike — which fixed-step price updates
    are not. Returns prices, the territory of each unit, and the sweeps made."""
    k = len(prices)
    n, width = candidates.shape
    flat = candidates.ravel()
    usable = np.isfinite(cost).ravel()
    order = np.argsort(flat, kind="stable")
    order = order[usable[order]]
    bounds = np.searchsorted(flat[order], np.arange(k + 1))
    entry_unit, entry_column = order // width, order % width
    rows = np.arange(n)
    prices = prices.copy()
    choice = candidates[rows, np.argmin(cost - prices[candidates], axis=1)]
    worst = np.abs((fixed + np.bincount(choice, weights=measure, minlength=k)) * k - 1.0).max()
    best = (worst, prices.copy(), choice)
    done = 0
    for _ in range(sweeps):
        done += 1
        for j in range(k):
            lo, hi = bounds[j], bounds[j + 1]
            if lo == hi:
                continue
            units = entry_unit[lo:hi]
            reduced = cost[units] - prices[candidates[units]]
            reduced[candidates[units] == j] = np.inf
            thresholds = cost[units, entry_column[lo:hi]] - reduced.min(axis=1)
            ranked = np.argsort(thresholds, kind="stable")
            t = thresholds[ranked]
            running = np.cumsum(measure[units][ranked])
            if target[j] <= 0:
                prices[j] = t[0] - 1.0
                continue
            i = int(np.searchsorted(running, target[j]))
            if i > 0 and (i == len(t) or running[i] - target[j] > target[j] - running[i - 1]):
                i -= 1  # stop before the unit that would overshoot more than it helps
            upper = t[i + 1] if i + 1 < len(t) and np.isfinite(t[i + 1]) else t[i] + 1.0
            prices[j] = t[i] + 0.5 * (upper - t[i]) if np.isfinite(t[i]) else prices[j]
        choice = candidates[rows, np.argmin(cost - prices[candidates], axis=1)]
        worst = np.abs((fixed + np.bincount(choice, weights=measure, minlength=k)) * k - 1.0).max()
        if worst < best[0]:
            best = (worst, prices.copy(), choice)
        if worst <= tolerance:
            break
    return best[1], best[2], done


def power_assignment(
    model: Model,
    centres: np.ndarray,
    deadline: float,
    progress: Progress,
    span: tuple[float, float],
) -> tuple[np.ndarray, int]:
    """Balanced Lloyd: each unit joins argmin_j |x - c_j|^2 / s^2 - price_j (- stay bonus) among
    its nearest centres and today's owner, with prices from ``balance_prices``; then the centres
    move to their territories' centroids, and again. Without the stay bonus the cells are a
    power diagram, convex in the plane. Locked units sit where they are locked and satellites
    with the territory nearest their anchor; both count as fixed loads."""
    k, problem = model.k, model.problem
    w = model.weights
    active = np.flatnonzero(model.free & ~model.satellite)
    current = problem.current[active]
    has_owner = current != UNASSIGNED
    compactness = max(w.compactness, 1e-3)
    # Staying with today's owner is worth the disruption cost, in normalised squared distance.
    stay = np.clip(
        w.disruption * model.move_cost[active] / (compactness * model.mass[active]), 0.0, 50.0
    )
    width = min(k, CANDIDATES)
    prices = np.zeros(k)
    assignment = np.where(model.free, 0, problem.locked)
    drifting = model.free & model.satellite
    sweeps = 0
    best, best_key = assignment.copy(), (np.inf, 0)
    for round_ in range(MAX_POWER_ROUNDS):
        tree = cKDTree(centres)
        if drifting.any():
            assignment[drifting] = tree.query(model.xy[model.anchor[drifting]])[1]
        fixed_units = np.flatnonzero(~model.free | model.satellite)
        fixed = np.bincount(
            assignment[fixed_units], weights=model.measure[fixed_units], minlength=k
        )
        if len(active):
            _, nearest = tree.query(model.xy[active], k=width)
            nearest = nearest.reshape(len(active), width)
            listed = (nearest == current[:, None]).any(axis=1)
            extra = np.where(has_owner & ~listed, current, nearest[:, 0])
            candidates = np.column_stack((nearest, extra))
            cost = ((model.xy[active, None, :] - centres[candidates]) ** 2).sum(
                axis=2
            ) / model.scale2
            cost[~has_owner | listed, -1] = np.inf
            cost -= np.where(candidates == current[:, None], stay[:, None], 0.0)
            prices, choice, done = balance_prices(
                cost,
                candidates,
                model.measure[active],
                1.0 / k - fixed,
                prices,
                fixed,
                POWER_TARGET * model.tolerance,
                MAX_PRICE_SWEEPS,
            )
            sweeps += done
            assignment[active] = choice
            moved = centres_of(model, active, choice, centres)
        else:
            moved = centres
        # Coordinate ascent can stall on the piecewise-linear dual, and a later round is not
        # always better balanced: keep the latest round within the tolerance, else the best.
        totals = np.bincount(assignment, weights=model.measure, minlength=k)
        key = (max(float(np.abs(totals * k - 1.0).max()) - model.tolerance, 0.0), -round_)
        if key < best_key:
            best, best_key = assignment.copy(), key
        shift = np.sqrt(((moved - centres) ** 2).sum(axis=1).max()) / np.sqrt(model.scale2)
        centres = moved
        progress(
            span[0] + (span[1] - span[0]) * (round_ + 1) / MAX_POWER_ROUNDS,
            f"balancing centres, round {round_ + 1}",
        )
        if shift < 0.01 or time.monotonic() > deadline:
            break
    return best, sweeps
