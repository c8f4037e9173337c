"""Boundary moves between adjacent territories, batched and vectorised, and contiguity repair."""

from __future__ import annotations

import time

import numpy as np

from .geometry import territory_pieces
from .model import Model, Progress
from .problem import UNASSIGNED

MAX_SEARCH_ROUNDS = 1000
# Stop when the last STALL_ROUNDS rounds gained less than STALL_GAIN of the objective.
STALL_ROUNDS = 40
STALL_GAIN = 1e-3
_EPS = 1e-15


def keeps_donor_connected(model: Model, units: np.ndarray, assignment: np.ndarray) -> np.ndarray:
    """Whether taking each unit out of its territory keeps that territory's pieces whole.

    Sufficient test: the unit's neighbours in its own territory are connected among themselves,
    so any path through the unit can go round it. Removing several units that pass it and are
    pairwise non-adjacent is safe too (no reroute uses another removed unit)."""
    if len(units) == 0:
        return np.zeros(0, dtype=bool)
    width = model.neighbours.shape[1]
    bits = np.arange(width, dtype=np.uint64)
    near = model.neighbours[units]
    same = (near >= 0) & (assignment[near.clip(min=0)] == assignment[units][:, None])
    own = (same.astype(np.uint64) << bits).sum(axis=1, dtype=np.uint64)
    reach = own & (~own + np.uint64(1))  # lowest set bit
    links = model.links[units] & own[:, None]
    for _ in range(width):
        inside = ((reach[:, None] >> bits) & np.uint64(1)).astype(bool)
        grown = reach | np.bitwise_or.reduce(np.where(inside, links, np.uint64(0)), axis=1)
        if np.array_equal(grown, reach):
            break
        reach = grown
    return (reach == own) & ~model.crowded[units]


def group_cumsum(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Inclusive running sum of values within each group, in the given order."""
    order = np.argsort(groups, kind="stable")
    ordered_groups, ordered = groups[order], values[order]
    running = np.cumsum(ordered)
    starts = np.flatnonzero(np.concatenate(([True], ordered_groups[1:] != ordered_groups[:-1])))
    lengths = np.diff(np.concatenate((starts, [len(ordered)])))
    out = np.empty_like(running)
    out[order] = running - np.repeat(running[starts] - ordered[starts], lengths)
    return out


def violation(model: Model, totals: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(totals * model.k - 1.0) - model.tolerance, 0.0) ** 2


def objective(model: Model, assignment: np.ndarray) -> float:
    """weighted imbalance + compactness + disruption + tolerance penalty (package docstring)."""
    return Tallies(model, assignment).objective()


class Tallies:
    """Per-territory sums that give the objective in O(k) and update in O(moves).

    Compactness uses sum_u w |x_u - c|^2 = sum_u w |x_u|^2 - |sum_u w x_u|^2 / sum_u w per
    territory, so neither it nor the centres need a pass over the units."""

    def __init__(self, model: Model, assignment: np.ndarray) -> None:
        self.model = model
        xy = model.xy
        squared = (xy**2).sum(axis=1)
        # Columns: measure, potential share, workload share, body mass, body x, body y,
        # body |x|^2, mass, mass x, mass y.
        self.columns = np.column_stack(
            (
                model.measure,
                model.potential_share,
                model.workload_share,
                model.body,
                model.body * xy[:, 0],
                model.body * xy[:, 1],
                model.body * squared,
                model.mass,
                model.mass * xy[:, 0],
                model.mass * xy[:, 1],
            )
        )
        self.owned = model.problem.current != UNASSIGNED
        self.reset(assignment)

    def reset(self, assignment: np.ndarray) -> None:
        k = self.model.k
        self.sums = np.zeros((k, self.columns.shape[1]))
        np.add.at(self.sums, assignment, self.columns)
        moved = self.owned & (assignment != self.model.problem.current)
        self.disrupted = float(self.model.move_cost[moved].sum())

    def move(self, units: np.ndarray, origin: np.ndarray, into: np.ndarray) -> None:
        rows = self.columns[units]
        np.subtract.at(self.sums, origin, rows)
        np.add.at(self.sums, into, rows)
        current = self.model.problem.current[units]
        cost = self.model.move_cost[units] * self.owned[units]
        self.disrupted += float(cost @ ((into != current).astype(float) - (origin != current)))

    def centres(self) -> np.ndarray:
        """Each territory's centre for the compactness term: the mass-weighted centroid of its
        body (free units outside satellites), of all its units when it has no body."""
        sums = self.sums
        body = sums[:, 3] > 0
        weight = np.where(body, sums[:, 3], sums[:, 7])
        weight = np.where(weight > 0, weight, 1.0)
        x = np.where(body, sums[:, 4], sums[:, 8]) / weight
        y = np.where(body, sums[:, 5], sums[:, 9]) / weight
        return np.column_stack((x, y))

    def objective(self) -> float:
        model, sums, k, w = self.model, self.sums, self.model.k, self.model.weights
        value = 0.0
        for weight, column in ((w.potential, 1), (w.workload, 2)):
            if weight > 0:
                value += (
                    weight
                    * k
                    * float(((sums[:, column] - 1.0 / k) ** 2).sum())
                    / model.balance_unit**2
                )
        if w.compactness > 0:
            body = sums[:, 3] > 0
            inertia = sums[body, 6] - (sums[body, 4] ** 2 + sums[body, 5] ** 2) / sums[body, 3]
            value += w.compactness * float(np.maximum(inertia, 0.0).sum()) / model.scale2
        value += w.disruption * self.disrupted
        return value + model.penalty * float(violation(model, sums[:, 0]).sum())


def admit(
    origin: np.ndarray,
    into: np.ndarray,
    measure: np.ndarray,
    totals: np.ndarray,
    low: float,
    high: float,
    *,
    band: bool = True,
    passes: int = 4,
) -> np.ndarray:
    """Which moves (in order of preference) to make together: taken in order while no
    territory inside [low, high] leaves it, none outside overshoots the far side, and no pair
    of territories exchanges more than half their difference (its first move always may).

    Running sums over all the candidates are conservative (a rejected move still counts), so
    what is left is offered again against the room that remains, a few times over. Without
    ``band`` only the pair limit applies (for when the band jams a chain of territories)."""
    k = len(totals)
    if band:
        out_left, in_left = np.maximum(totals - low, 0.0), np.maximum(high - totals, 0.0)
    else:
        out_left, in_left = np.full(k, np.inf), np.full(k, np.inf)
    pairs, pair = np.unique(origin * k + into, return_inverse=True)
    pair_room = np.maximum((totals[pairs // k] - totals[pairs % k]) / 2.0, 0.0)
    pair_used = np.zeros(len(pairs))
    accepted = np.zeros(len(origin), dtype=bool)
    pending = np.arange(len(origin))
    for _ in range(passes):
        # Moves too large for the room left on either side can only be refused.
        m = measure[pending]
        pending = pending[
            (m <= out_left[origin[pending]] + _EPS) & (m <= in_left[into[pending]] + _EPS)
        ]
        if len(pending) == 0:
            break
        o, i, p, m = origin[pending], into[pending], pair[pending], measure[pending]
        before = group_cumsum(p, m) - m + pair_used[p]
        ok = (
            (group_cumsum(o, m) <= out_left[o] + _EPS)
            & (group_cumsum(i, m) <= in_left[i] + _EPS)
            & ((before <= pair_room[p] + _EPS) | (before <= _EPS))
        )
        taken = pending[ok]
        accepted[taken] = True
        out_left -= np.bincount(origin[taken], weights=measure[taken], minlength=k)
        in_left -= np.bincount(into[taken], weights=measure[taken], minlength=k)
        pair_used += np.bincount(pair[taken], weights=measure[taken], minlength=len(pairs))
        pending = pending[~ok]
    return np.flatnonzero(accepted)


def local_search(
    model: Model,
    assignment: np.ndarray,
    *,
    strict: bool,
    deadline: float,
    progress: Progress,
    span: tuple[float, float],
) -> tuple[np.ndarray, int]:
    """Rounds of improving moves of boundary units to an adjacent territory, in batches.

    Each round scores every (boundary unit, neighbouring territory) move by the change of the
    objective it makes alone, keeps each unit's best improving move, keeps a set of pairwise
    non-adjacent units (each better than its candidate neighbours), keeps (when ``strict``) the
    units whose removal leaves their territory's pieces whole, keeps one direction per pair of
    territories, and takes them in order of gain while no territory inside the tolerance band
    leaves it and no pair of territories exchanges more than half their difference. The batch
    stays only if the objective falls; otherwise it is undone and the next batch is half as
    large, so the search cannot cycle. It stops when a round finds nothing, when the last
    rounds gained less than a thousandth of the objective, or at the deadline."""
    k, w, problem = model.k, model.weights, model.problem
    assignment = assignment.copy()
    eu, ev = model.search_edges[:, 0], model.search_edges[:, 1]
    mean = 1.0 / k
    low, high = mean * (1.0 - model.tolerance), mean * (1.0 + model.tolerance)
    current = problem.current
    tallies = Tallies(model, assignment)
    value = tallies.objective()
    history = [(0, value)]
    batch = 1.0
    rounds = 0
    for rounds in range(1, MAX_SEARCH_ROUNDS + 1):
        if time.monotonic() > deadline:
            break
        # Stop when the last STALL_ROUNDS rounds gained less than STALL_GAIN of the objective.
        while len(history) > 1 and history[1][0] <= rounds - STALL_ROUNDS:
            history.pop(0)
        if rounds > STALL_ROUNDS and history[0][1] - value < STALL_GAIN * abs(value):
            break
        if rounds % 50 == 0:  # wash out rounding in the running sums
            tallies.reset(assignment)
            value = tallies.objective()
        across = np.flatnonzero(assignment[eu] != assignment[ev])
        units = np.concatenate((eu[across], ev[across]))
        into = np.concatenate((assignment[ev[across]], assignment[eu[across]]))
        movable = model.free[units]
        units, into = units[movable], into[movable]
        if len(units) == 0:
            break
        origin = assignment[units]
        sums = tallies.sums
        gain = np.zeros(len(units))
        for weight, column, share in (
            (w.potential, 1, model.potential_share),
            (w.workload, 2, model.workload_share),
        ):
            if weight > 0:
                s = share[units]
                gain += (
                    weight
                    * k
                    * 2.0
                    * s
                    * (sums[into, column] - sums[origin, column] + s)
                    / model.balance_unit**2
                )
        if w.compactness > 0:
            # Exact change of the two territories' inertia when the unit alone moves.
            centres = tallies.centres()
            xy, body = model.xy[units], model.body[units]
            weight_from, weight_to = sums[origin, 3], sums[into, 3]
            remaining = weight_from - body
            leave = np.divide(
                weight_from, remaining, out=np.zeros_like(remaining), where=remaining > 0
            )
            join = np.divide(
                weight_to,
                weight_to + body,
                out=np.zeros_like(weight_to),
                where=weight_to + body > 0,
            )
            gain += (
                w.compactness
                * body
                * (
                    ((xy - centres[into]) ** 2).sum(axis=1) * join
                    - ((xy - centres[origin]) ** 2).sum(axis=1) * leave
                )
                / model.scale2
            )
        if w.disruption > 0:
            owned = current[units] != UNASSIGNED
            gain += (
                w.disruption
                * model.move_cost[units]
                * owned
                * ((into != current[units]).astype(float) - (origin != current[units]))
            )
        m = model.measure[units]
        totals = sums[:, 0]
        gain += model.penalty * (
            violation(model, totals[origin] - m)
            + violation(model, totals[into] + m)
            - violation(model, totals[origin])
            - violation(model, totals[into])
        )
        keep = gain < -1e-12
        units, into, origin, gain, m = units[keep], into[keep], origin[keep], gain[keep], m[keep]
        if len(units) == 0:
            break
        # Each unit's best move.
        order = np.lexsort((gain, units))
        keep = order[np.concatenate(([True], units[order][1:] != units[order][:-1]))]
        units, into, origin, gain, m = units[keep], into[keep], origin[keep], gain[keep], m[keep]
        # Pairwise non-adjacent: a unit moves only if it beats every candidate neighbour.
        rank = np.full(model.n, -1, dtype=np.int64)
        by_gain = np.lexsort((units, gain))
        rank[units[by_gain]] = np.arange(len(units))
        both = (rank[eu] >= 0) & (rank[ev] >= 0)
        loser = np.where(rank[eu[both]] > rank[ev[both]], eu[both], ev[both])
        beaten = np.zeros(model.n, dtype=bool)
        beaten[loser] = True
        keep = ~beaten[units]
        units, into, origin, gain, m = units[keep], into[keep], origin[keep], gain[keep], m[keep]
        if strict:
            keep = keeps_donor_connected(model, units, assignment)
            units, into, origin, gain, m = (
                units[keep],
                into[keep],
                origin[keep],
                gain[keep],
                m[keep],
            )
        if len(units) == 0:
            break
        # One direction per pair of territories: the one its best move goes.
        pair = np.minimum(origin, into) * k + np.maximum(origin, into)
        by_pair = np.lexsort((gain, pair))
        lead = by_pair[np.concatenate(([True], pair[by_pair][1:] != pair[by_pair][:-1]))]
        direction = np.zeros(k * k, dtype=np.int64)
        direction[pair[lead]] = origin[lead]
        keep = direction[pair] == origin
        units, into, origin, gain, m = units[keep], into[keep], origin[keep], gain[keep], m[keep]
        # Capacities, in order of gain.
        order = np.argsort(gain, kind="stable")
        units, into, origin, m = units[order], into[order], origin[order], m[order]
        accept = admit(origin, into, m, totals, low, high)
        if len(accept) == 0:
            # The band jams (a territory far out of it behind neighbours at its edge): let the
            # objective, whose penalty prefers several small violations to one large, decide.
            accept = admit(origin, into, m, totals, low, high, band=False)
        if len(accept) == 0:
            break
        # The gains assume each move alone; a batch is kept only if the objective falls, else it
        # is undone and the next one is half as large.
        accept = accept[: max(1, int(np.ceil(batch * len(accept))))]
        moving, source, target = units[accept], origin[accept], into[accept]
        tallies.move(moving, source, target)
        trial = tallies.objective()
        if trial < value - 1e-12 * max(abs(value), 1.0):
            assignment[moving] = target
            value = trial
            history.append((rounds, value))
            batch = min(1.0, batch * 1.5)
        else:
            tallies.move(moving, target, source)
            if len(accept) == 1:
                break
            batch /= 2.0
        if rounds % 10 == 0:
            progress(
                span[0] + (span[1] - span[0]) * min(rounds / 300.0, 1.0),
                f"moving boundary units, round {rounds}",
            )
    return assignment, rounds


def repair(model: Model, assignment: np.ndarray, passes: int = 8) -> np.ndarray:
    """Give every detached fragment of a territory to the neighbouring territory it shares most
    edges with. A territory keeps its largest piece in the search graph (the adjacency plus the
    bridges between components); pieces with locked units never move."""
    assignment = assignment.copy()
    k, edges = model.k, model.search_edges
    locked = (~model.free).astype(float)
    source = np.concatenate((edges[:, 0], edges[:, 1]))
    target = np.concatenate((edges[:, 1], edges[:, 0]))
    for _ in range(passes):
        piece = territory_pieces(assignment, edges)
        count = int(piece.max(initial=-1)) + 1
        owner = np.zeros(count, dtype=np.int64)
        owner[piece] = assignment
        size = np.bincount(piece, minlength=count)
        weight = np.bincount(piece, weights=model.measure, minlength=count)
        pinned = np.bincount(piece, weights=locked, minlength=count) > 0
        order = np.lexsort((-size, -weight, owner))
        first = order[np.concatenate(([True], owner[order][1:] != owner[order][:-1]))]
        fragment = np.ones(count, dtype=bool)
        fragment[first] = False
        fragment &= ~pinned
        if not fragment.any():
            break
        crossing = fragment[piece[source]] & (assignment[target] != assignment[source])
        pairs, shared = np.unique(
            piece[source[crossing]] * k + assignment[target[crossing]], return_counts=True
        )
        if len(pairs) == 0:
            break
        frag, into = pairs // k, pairs % k
        best = np.lexsort((-shared, frag))
        keep = best[np.concatenate(([True], frag[best][1:] != frag[best][:-1]))]
        destination = np.full(count, -1, dtype=np.int64)
        destination[frag[keep]] = into[keep]
        moving = destination[piece] >= 0
        assignment[moving] = destination[piece[moving]]
    return assignment


def fill_empty(model: Model, assignment: np.ndarray) -> np.ndarray:
    """Give every empty territory one unit, so boundary moves can grow it: the free unit farthest
    from its centre in the heaviest territory that has more than one free unit. (The price phase
    leaves a territory empty when, say, the units it needs all sit on one point.)"""
    assignment = assignment.copy()
    k = model.k
    for territory in np.flatnonzero(np.bincount(assignment, minlength=k) == 0):
        free_count = np.bincount(assignment[model.free], minlength=k)
        totals = np.bincount(assignment, weights=model.measure, minlength=k)
        donors = np.flatnonzero(free_count > 1)
        if len(donors) == 0:
            break
        donor = donors[np.argmax(totals[donors])]
        units = np.flatnonzero((assignment == donor) & model.free)
        centre = model.mass[units] @ model.xy[units] / max(model.mass[units].sum(), 1e-300)
        far = units[np.argmax(((model.xy[units] - centre) ** 2).sum(axis=1))]
        assignment[far] = territory
    return assignment
