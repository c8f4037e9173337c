""""Where to coach, invest or adjust": rule-based flags over the dashboard's own numbers (docs/analytics.md).

- **Coach**: a rep behind pace (pace < ``PACE_BEHIND``) whose pipeline coverage is healthy
  (coverage ≥ ``COVERAGE_HEALTHY``): the deals are there, the conversion is not.
- **Invest**: a leaf territory of the active territory plan with high potential (≥ ``POTENTIAL_HIGH`` ×
  the mean leaf potential) and low coverage or attainment: no rep covering it (vacant or a to-be-hired
  placeholder), pace < ``PACE_BEHIND``, or its rep's pipeline coverage < ``COVERAGE_LOW``.
- **Adjust**: a payer whose contribution margin % or gross-to-net yield fell by at least ``POINTS_FELL``
  percentage points against the prior period (same length, just before), among payers with at least
  ``MIN_COLLECTED_SHARE`` of the period's net collected (rates, not amounts, so a prior period with more
  months of data does not make every payer "fall").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..filters import Filters
from . import revenue, sales

PACE_BEHIND = 0.9
COVERAGE_HEALTHY = 2.0
COVERAGE_LOW = 1.0
POTENTIAL_HIGH = Decimal("1.2")
POINTS_FELL = Decimal("2.00")
MIN_COLLECTED_SHARE = Decimal("0.01")


@dataclass
class Flag:
    kind: str  # coach, invest, adjust
    subject: str
    reasons: list[str]
    tile: str  # the tile whose rows it links to
    key: str  # the row key in that tile's drill-down
    values: dict[str, Any] = field(default_factory=dict)


def coach(lines: list[sales.RepLine]) -> list[Flag]:
    out = []
    for line in lines:
        pace, cov = line.row.pace, line.coverage
        if line.person_id is None or pace is None or cov is None:
            continue
        if pace < PACE_BEHIND and cov >= COVERAGE_HEALTHY:
            out.append(Flag("coach", line.row.label,
                            [f"pace {pace:.0%} (behind: under {PACE_BEHIND:.0%})",
                             f"pipeline coverage {cov:.1f}x (healthy: {COVERAGE_HEALTHY:.1f}x or more)"],
                            "attainment", line.row.key, {"pace": pace, "coverage": cov,
                                                         "pipeline": line.pipeline}))
    return sorted(out, key=lambda fl: fl.values["pace"])


def invest(balance: dict[str, Any], leaves: list[sales.Leaf], data: sales.Attainment,
           lines: list[sales.RepLine]) -> list[Flag]:
    territories = balance.get("leaves") or []
    potentials = [Decimal(t["potential"]) for t in territories if t.get("potential") is not None]
    if not potentials:
        return []
    mean = sum(potentials, Decimal(0)) / len(potentials)
    by_code = {leaf.code: leaf for leaf in leaves}
    cov_by_person = {line.person_id: line.coverage for line in lines if line.person_id}
    out = []
    for t in territories:
        potential = Decimal(t["potential"]) if t.get("potential") is not None else Decimal(0)
        if mean <= 0 or potential < POTENTIAL_HIGH * mean:
            continue
        leaf = by_code.get(t["code"])
        reasons = []
        if t.get("vacant"):
            reasons.append(f"no rep covering it ({t.get('primary') or 'vacant'})")
        pace = cov = None
        if leaf is not None:
            pace = sales.leaf_row(leaf, data.progress, key=leaf.code, label=leaf.name).pace
            if pace is not None and pace < PACE_BEHIND:
                reasons.append(f"pace {pace:.0%} (under {PACE_BEHIND:.0%})")
            cov = cov_by_person.get(leaf.person_id) if leaf.person_id else None
            if cov is not None and cov < COVERAGE_LOW:
                reasons.append(f"its rep's pipeline coverage {cov:.1f}x (under {COVERAGE_LOW:.1f}x)")
        if reasons:
            out.append(Flag("invest", f"{t['code']} {t['name']}",
                            [f"potential {potential / mean:.1f}x the mean territory's", *reasons],
                            "territory_balance", t["code"], {"potential": potential, "pace": pace,
                                                              "coverage": cov}))
    return sorted(out, key=lambda fl: -fl.values["potential"])


def adjust(now: list[revenue.PayerMargin], before: list[revenue.PayerMargin]) -> list[Flag]:
    prior = {r.payer_id: r for r in before if r.payer_id is not None}
    total = sum((r.net_collected for r in now if r.payer_id is not None), Decimal(0))
    out = []
    for r in now:
        p = prior.get(r.payer_id)
        if r.payer_id is None or p is None or total <= 0 or r.net_collected < MIN_COLLECTED_SHARE * total:
            continue
        reasons = []
        if r.margin_pct is not None and p.margin_pct is not None and p.margin_pct - r.margin_pct >= POINTS_FELL:
            reasons.append(f"margin {r.margin_pct}% of net collected, down {p.margin_pct - r.margin_pct} points "
                           f"from {p.margin_pct}%")
        if r.gross_to_net is not None and p.gross_to_net is not None and p.gross_to_net - r.gross_to_net >= POINTS_FELL:
            reasons.append(f"gross-to-net yield {r.gross_to_net}%, down {p.gross_to_net - r.gross_to_net} points "
                           f"from {p.gross_to_net}%")
        if reasons:
            out.append(Flag("adjust", r.payer, reasons, "payer_margin", str(r.payer_id),
                            {"margin_pct": r.margin_pct, "prior_margin_pct": p.margin_pct,
                             "yield": r.gross_to_net, "prior_yield": p.gross_to_net}))
    return out


def all_flags(f: Filters) -> dict[str, list[Flag]]:
    data = sales.plan_leaves(f)
    lines = sales.rep_lines(f, data)
    return {
        "coach": coach(lines),
        "invest": invest(sales.territory_balance(), data.leaves, data, lines),
        "adjust": adjust(revenue.payer_margins(f), revenue.payer_margins(f.prior())),
    }
