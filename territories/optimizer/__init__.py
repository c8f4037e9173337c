"""Territory balancing engine: split geographic units (ZIPs) into k balanced, compact territories.

Plain numpy/scipy, no Django: ``territories.services`` moves data between the database and this
package. ``solve(Problem(...), progress)`` returns a ``Solution``.

What is balanced
    Each unit has a *balanced measure*: its share of total potential and of total workload,
    blended by the potential and workload weights (``metrics.balance_measure``; unit count when
    neither applies). The tolerance is a hard target on it: every territory's total within
    ``mean * (1 ± tolerance)``.

Objective (minimised; every term dimensionless)
    ``potential * k * sum_t (share_t - 1/k)^2 / tol^2``  (the same for workload): the squared CV
    of the territories' totals measured in tolerances (floored at 1 %), so a split whose
    territories sit about a tolerance off the mean costs about 1;
    ``+ compactness * sum_u mass_u |x_u - c_t(u)|^2 / s^2``: squared plane distance (km) to the
    territory's centre; ``mass`` is 90 % the unit's balanced measure and 10 % an equal share, so
    units with no potential still want to sit with their neighbours; ``s^2`` is the total spread
    of the mass divided by k, which makes the term about 1 for a good k-way split at any scale;
    ``c_t`` is the centroid of the territory's *body* (its free units outside satellite
    components, below), so a locked named account in another state or an attached island does
    not drag the centre into the sea;
    ``+ disruption * (share of today's owned potential that changes owner)``;
    ``+ penalty * sum_t max(0, |total_t / mean - 1| - tolerance)^2`` with the penalty 10^4 times
    the sum of the weights: the tolerance comes first.

    Trade-offs in practice: a unit moves from territory A to a lighter neighbour B for balance
    when ``dev_A - dev_B > (disruption / potential) * tol^2 / 2`` (plus the unit's own size):
    with weights 1 and 1, as soon as they differ by 0.125 % of the mean; with disruption 20 and a
    5 % tolerance, only when they differ by 2.5 %. So to leave an assignment that is already
    within the tolerance alone, weigh disruption at 1 / tolerance or more.
    ``mean_distance_km`` in the Solution is the potential-weighted great-circle distance to the
    territory's potential-weighted centroid: what people read. The squared plane distance is
    what the search minimises, because it keeps the cells of step 3 convex.

Method
    1. **Adjacency.** Unless the caller gives one, a Delaunay triangulation of the centroids in
       an azimuthal equidistant plane around the data's centre (co-located units spread on a
       10 m spiral first), without the edges that cross the sea (``geometry.cut_long_edges``:
       longer than 4x the 95th-percentile edge, about 150 km on the US ZIP codes, or than 10x
       the nearest-neighbour distance at both ends). Alaska, Hawaii and islands become
       components of their own; contiguity is judged on this graph. For the search only, the
       components are joined by *bridges*: along a minimum spanning tree of the components, the
       three closest disjoint pairs of units per link.
    2. **Satellites.** Components worth less than half a territory (on the bench, at k = 100,
       Hawaii's main islands are 0.24 of one and Alaska's largest component 0.14) cannot hold a
       territory: they join the territory nearest their closest mainland unit, and boundary moves
       across the bridges settle them.
    3. **Start.** The caller's ``seeds``; else the centres of today's territories (k-means++ with
       ``rng_seed`` for the territories that have none); else a recursive bisection of the
       units along their principal axis at the measure's weighted median (balanced to one unit
       by construction), numbered by an assignment problem so that territories with locked units
       get the regions nearest those units.
    4. **Balanced Lloyd with prices (the capacitated assignment).** Each unit joins
       ``argmin_j |x - c_j|^2 / s^2 - price_j`` over its 8 nearest centres and today's owner
       (today's owner gets a stay bonus worth the disruption weight). The prices are the duals
       of the transportation problem with the territories as sinks; they come from exact
       coordinate ascent — for one territory at a time, the weighted quantile of the units'
       switching thresholds that gives it exactly its share — which is scale-free (a Manhattan
       territory and a Montana one alike), where fixed-step price updates diverge on this data.
       Then the centres move to their territories' centroids, for up to 6 rounds (the best
       balanced round is kept: coordinate ascent can stall on the piecewise-linear dual). The
       cells are a power diagram, convex in the plane, so nearly contiguous from the start.
       Locked units and satellites count as fixed loads.
    5. **Contiguity repair.** A territory keeps its largest piece of the search graph; every
       other piece without locked units goes to the neighbouring territory it shares most edges
       with.
    6. **Boundary moves**, batched and vectorised (``search.local_search``). Each round scores
       every (boundary unit, neighbouring territory) move by the exact change of the objective if
       it alone were made (the per-territory sums of ``search.Tallies`` give balance, penalty,
       disruption and the inertia change in O(1) per move); keeps each unit's best improving
       move; keeps pairwise non-adjacent units (each beats its candidate neighbours); keeps the
       units whose removal leaves their territory in one piece — the unit's neighbours inside its
       territory must be connected among themselves, tested on precomputed neighbour-link
       bitmasks, which with non-adjacent movers keeps every donor connected even when several of
       its units leave at once; keeps one direction per pair of territories; and admits moves in
       order of gain while no territory inside the tolerance band leaves it and no pair exchanges
       more than half their difference. The batch stays only if the objective (O(k) from the
       sums) falls; otherwise it is undone and the next batch is half as large, so the search
       cannot cycle. It stops when nothing improves, after 40 rounds that gained less than
       0.1 %, or at the deadline. Locked units never move.
    7. **Rescue.** If the tolerance is still not met, the same search on balance and penalty
       alone, with every unit weighing at least a thousandth of an average one (so a wall of
       zero-potential units, or one at the end of a bridge, cannot block a chain of territories):
       first keeping territories whole, then without that test (contiguity is then kept only
       where it survives, and the metrics say so); then a last contiguity-keeping polish.
    8. With a current assignment, today's assignment (locked units put where they are locked)
       is improved from itself by steps 5-7 as well, and the better of the two results —
       tolerance met first, then objective — is returned: when today's territories are within
       the tolerance and disruption weighs enough, nothing moves.

    If the tolerance cannot be met, ``tolerance_met`` is False and ``reason`` names the cause it
    can see (fewer units than territories, a unit larger than the band, locked units that
    overfill a territory) or says where the search stopped. Deterministic for a given problem
    and ``rng_seed``, unless ``time_limit_s`` cuts a phase short.

Performance: 40,823 US ZIP codes into 100 territories in 7-10 s on two shared cores
(``bench/territory_balance.py``, ``docs/benchmarks.md``).
"""

from .geometry import delaunay_edges
from .metrics import balance_measure, evaluate
from .problem import UNASSIGNED, Metrics, Problem, Solution, Weights
from .solver import Progress, solve

__all__ = [
    "UNASSIGNED",
    "Metrics",
    "Problem",
    "Progress",
    "Solution",
    "Weights",
    "balance_measure",
    "delaunay_edges",
    "evaluate",
    "solve",
]
