"""The intake pillar's tile on the executive dashboard (analytics.tiles registry): program profitability and
net revenue per admission, from ``intake.selectors.program_profitability`` (docs/intake.md defines every
figure; this module only sums its rows over the dashboard's period)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from analytics.tiles import Column, Context, Tile, money_text, pct_text, register
from forecasting.views.figures import PALETTE, figure_json

from .selectors import program_profitability

COLUMNS = tuple(Column(h, k) for h, k in (
    ("Program", "program_name"), ("Level of care", "level_of_care"), ("Admissions", "admissions"),
    ("Patient-days", "patient_days"), ("Net revenue on paper", "net_on_paper"),
    ("Net revenue after denials", "net_after_denials"), ("Direct cost", "direct_cost"),
    ("Margin on paper", "margin_on_paper"), ("Margin after denials", "margin_after_denials"),
    ("Net revenue per admission", "net_per_admission_after_denials"),
    ("Net revenue per patient-day", "net_per_patient_day_after_denials")))
CENT = Decimal("0.01")


def _rows(ctx: Context) -> list[dict[str, Any]]:
    cache = ctx.__dict__.setdefault("_program_rows", None)
    if cache is None:
        f = ctx.filters
        # The tile shows no unlinked-claims figure: skip that scan of every current claim of the period.
        rows = program_profitability(start=f.start, end=f.end - dt.timedelta(days=1), grain="total", as_of=f.as_of,
                                     with_unlinked=False)
        cache = ctx.__dict__["_program_rows"] = [_row(r.as_dict()) for r in rows]
    return cache


def _row(d: dict[str, Any]) -> dict[str, Any]:
    return {**d, "key": str(d["program_id"])}


def summary(ctx: Context) -> dict[str, Any]:
    rows = _rows(ctx)
    if not rows:
        return {"empty": "No admissions or program costs in this period (a lab has none).", "values": {},
                "headline": []}
    admissions = sum(r["admissions"] for r in rows)
    net = sum((Decimal(str(r["net_after_denials"])) for r in rows), Decimal(0))
    paper = sum((Decimal(str(r["net_on_paper"])) for r in rows), Decimal(0))
    losing = [r["program_code"] for r in rows if Decimal(str(r["margin_after_denials"])) < 0]
    per_admission = (net / admissions).quantize(CENT) if admissions else None  # the selector's, over all programs
    leakage = ((paper - net) / paper * 100).quantize(Decimal("0.1")) if paper else None
    data = [{"type": "bar", "name": name, "x": [r["program_code"] for r in rows],
             "y": [float(r[key]) for r in rows], "marker": {"color": color},
             "hovertemplate": f"%{{x}}<br>{name} %{{y:,.0f}}<extra></extra>"}
            for name, key, color in (("Margin on paper", "margin_on_paper", PALETTE[1]),
                                     ("Margin after denials", "margin_after_denials", PALETTE[4]))]
    figure = figure_json(data, {"height": 240, "margin": {"l": 56, "r": 12, "t": 16, "b": 64}, "barmode": "group"})
    return {"values": {"admissions": admissions, "net_after_denials": net, "net_on_paper": paper,
                       "net_per_admission": per_admission, "programs_losing_after_denials": losing},
            "headline": [("Net revenue per admission", money_text(per_admission)),
                         ("Lost to denials", pct_text(leakage)),
                         ("Programs losing money after denials", ", ".join(losing) or "none")],
            "figure": figure}


def rows(ctx: Context, key: str | None) -> list[dict[str, Any]]:
    return [r for r in _rows(ctx) if key is None or r["key"] == key]


register(Tile(
    key="program_profitability", title="Program profitability", section="programs", order=200,
    definition="Per program over the period (intake.selectors.program_profitability, docs/intake.md): net revenue "
               "on paper (had no denial been lost) against after denials (collected), margins after direct cost, "
               "net revenue per admission and per patient-day.",
    summary=summary, rows=rows, columns=COLUMNS, resource="admissions"))
