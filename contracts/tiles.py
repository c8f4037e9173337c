"""The contracts pillar's tile on the executive dashboard (analytics.tiles registry): underpayment by payer over
the period's service dates, from ``contracts.selectors.underpayment_report`` (docs/contracts.md defines the
variance; this module only narrows it to the dashboard's period and payer class)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from analytics.tiles import Column, Context, Tile, money_text, register
from forecasting.views.figures import PALETTE, figure_json
from revops.models import Payer

from .selectors import Filters, Report, underpayment_report

COLUMNS = tuple(Column(h, k) for h, k in (
    ("Payer", "label"), ("Claims in the variance", "claims"), ("Expected", "expected"), ("Paid", "paid"),
    ("Patient responsibility", "patient_responsibility"), ("Underpayment (expected − paid)", "variance"),
    ("Underpayment % of expected", "variance_pct"), ("Claims underpaid", "underpaid_claims"),
    ("Denied claims (not in the variance)", "denied_claims")))


def _report(ctx: Context) -> Report:
    cached = ctx.__dict__.get("_underpayment")
    if cached is None:
        f = ctx.filters
        payers: tuple[int, ...] = ()
        if f.payer_class:
            payers = tuple(Payer.objects.filter(payer_class=f.payer_class).values_list("pk", flat=True)) or (0,)
        cached = ctx.__dict__["_underpayment"] = underpayment_report(
            group="payer", filters=Filters(start=f.start, end=f.end - dt.timedelta(days=1), payers=payers))
    return cached


def _row(r: Any) -> dict[str, Any]:
    return {"key": r.key, "label": r.label, "claims": r.claims, "expected": r.expected, "paid": r.paid,
            "patient_responsibility": r.patient_responsibility, "variance": r.variance,
            "variance_pct": r.variance_pct, "underpaid_claims": r.underpaid_claims, "denied_claims": r.denied_claims}


def summary(ctx: Context) -> dict[str, Any]:
    report = _report(ctx)
    if not report.rows:
        return {"empty": "No claims priced by a payer contract in this period.", "values": {}, "headline": []}
    t = report.totals
    top = sorted(report.rows, key=lambda r: r.variance, reverse=True)[:10]
    figure = figure_json([{"type": "bar", "orientation": "h", "name": "Underpayment",
                           "y": [r.label for r in top][::-1], "x": [float(r.variance) for r in top][::-1],
                           "marker": {"color": PALETTE[4]},
                           "hovertemplate": "%{y}<br>underpaid %{x:,.0f}<extra></extra>"}],
                         {"height": 300, "margin": {"l": 180, "r": 12, "t": 16, "b": 32}})
    worst = top[0]
    return {"values": {"underpayment": t.variance, "expected": t.expected, "underpayment_pct": t.variance_pct,
                       "claims": report.coverage.in_variance, "no_contract": report.coverage.no_contract},
            "headline": [("Underpaid", money_text(t.variance)),
                         ("Of expected", "—" if t.variance_pct is None else f"{t.variance_pct}%"),
                         ("Most underpaid", f"{worst.label} ({money_text(worst.variance)})")],
            "note": f"{report.coverage.in_variance:,} adjudicated claims; {report.coverage.no_contract:,} had no "
                    "contract in force; denied claims are not in the variance",
            "figure": figure}


def rows(ctx: Context, key: str | None) -> list[dict[str, Any]]:
    return [_row(r) for r in _report(ctx).rows if key is None or r.key == key]


register(Tile(
    key="underpayment", title="Underpayment by payer", section="payers", order=130,
    definition="Expected reimbursement (the contract in force on the service date) − (paid + patient "
               "responsibility), over adjudicated, priced, not denied claims with service dates in the period "
               "(contracts.selectors.underpayment_report, docs/contracts.md).",
    summary=summary, rows=rows, columns=COLUMNS, filters=("payer_class",), resource="contracts"))
