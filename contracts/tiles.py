"""The contracts pillar's tiles on the executive dashboard (analytics.tiles registry):

- **Underpayment by payer** over the period's service dates, from ``contracts.selectors.underpayment_report``
  (docs/contracts.md defines the variance; this module only narrows it to the dashboard's period and payer class);
- **Contract margin**: per contract, the latest quarterly review's net contribution margin (after allocated direct
  and RCM cost) and its change against the review of the quarter before, with the recommendation. The figures are
  the stored ``ContractReview``'s (``contracts.services.reviews``), never recomputed here.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
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


# -- contract margin ------------------------------------------------------------------------------------------
# Per contract, the latest quarterly review (contracts.services.reviews: net contribution margin after allocated
# direct and RCM cost, docs/contracts.md "Quarterly reviews") beside the review of the quarter before. Nothing is
# recomputed here: every figure is the stored review's, so the tile, the review page and the API agree.

MARGIN_COLUMNS = tuple(Column(h, k) for h, k in (
    ("Contract id", "key"), ("Contract", "contract"), ("Payer", "payer"), ("Quarter", "quarter"), ("Claims", "claims"),
    ("Net revenue (paid)", "net_revenue"), ("Direct cost (allocated)", "direct_cost"),
    ("RCM cost (allocated)", "rcm_cost"), ("Net contribution margin", "margin"), ("Margin % of net revenue", "margin_pct"),
    ("Previous quarter", "previous_quarter"), ("Previous margin", "previous_margin"),
    ("Margin change", "margin_change"), ("Previous margin %", "previous_margin_pct"),
    ("Margin % change (points)", "margin_pct_change"), ("Recommendation", "recommendation"),
    ("Decision", "decision"), ("Review computed", "computed_at")))


def _quarter_label(day: dt.date) -> str:
    return f"{day.year} Q{(day.month - 1) // 3 + 1}"


def _change(now: Any, before: Any) -> Any:
    return None if now is None or before is None else now - before


def margin_rows_all(ctx: Context) -> list[dict[str, Any]]:
    """One row per contract: its latest review of a quarter begun by the as-of date (narrowed by the contract's
    payer class) and the change against the same contract's review of the quarter before, lowest margin first."""
    cached = ctx.__dict__.get("_contract_margin")
    if cached is not None:
        return cached
    from .models import ContractReview
    from .services.reviews import add_quarters

    f = ctx.filters
    reviews = ContractReview.objects.filter(quarter_start__lte=f.as_of)
    if f.payer_class:
        reviews = reviews.filter(contract__payer__payer_class=f.payer_class)
    latest = list(reviews.select_related("contract", "contract__payer")
                  .order_by("contract_id", "-quarter_start").distinct("contract_id"))
    wanted = {(r.contract_id, add_quarters(r.quarter_start, -1)) for r in latest}
    previous = {(p.contract_id, p.quarter_start): p for p in ContractReview.objects.filter(
        contract_id__in={c for c, _ in wanted}, quarter_start__in={q for _, q in wanted})
        if (p.contract_id, p.quarter_start) in wanted}
    out = []
    for r in latest:
        p = previous.get((r.contract_id, add_quarters(r.quarter_start, -1)))
        out.append({
            "key": str(r.contract_id), "contract": r.contract.name, "payer": r.contract.payer.name,
            "quarter": r.quarter_label, "quarter_start": r.quarter_start, "claims": r.claims,
            "net_revenue": r.net_revenue, "direct_cost": r.direct_cost, "rcm_cost": r.rcm_cost, "margin": r.margin,
            "margin_pct": r.margin_pct, "previous_quarter": p.quarter_label if p else None,
            "previous_margin": p.margin if p else None, "margin_change": _change(r.margin, p.margin if p else None),
            "previous_margin_pct": p.margin_pct if p else None,
            "margin_pct_change": _change(r.margin_pct, p.margin_pct if p else None),
            "recommendation": r.get_recommendation_display(), "recommendation_code": r.recommendation,
            "decision": r.get_decision_display() if r.decision else "", "computed_at": r.computed_at,
            "review_id": r.pk})
    out.sort(key=lambda row: (row["margin"], row["contract"]))
    ctx.__dict__["_contract_margin"] = out
    return out


def _signed(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:+,.0f}"


def margin_summary(ctx: Context) -> dict[str, Any]:
    rows = margin_rows_all(ctx)
    if not rows:
        return {"empty": f"No contract review of a quarter begun by {ctx.filters.as_of:%d %b %Y}: generate the "
                         "quarter's reviews on the contract reviews page.", "values": {}, "headline": []}
    last = max(r["quarter_start"] for r in rows)
    current = [r for r in rows if r["quarter_start"] == last]
    margin = sum((r["margin"] for r in current), Decimal(0))
    compared = [r for r in current if r["previous_margin"] is not None]
    change = (sum((r["margin_change"] for r in compared), Decimal(0)) if compared else None)
    counts = {code: sum(1 for r in rows if r["recommendation_code"] == code) for code in ("keep", "renegotiate", "exit")}
    worst = rows[0]
    shown = rows[:12][::-1]
    figure = figure_json([
        {"type": "bar", "orientation": "h", "name": "Latest review", "y": [r["contract"] for r in shown],
         "x": [float(r["margin"]) for r in shown], "marker": {"color": PALETTE[0]},
         "customdata": [r["quarter"] for r in shown],
         "hovertemplate": "%{y} (%{customdata})<br>margin %{x:,.0f}<extra></extra>"},
        {"type": "scatter", "mode": "markers", "name": "Quarter before", "y": [r["contract"] for r in shown],
         "x": [None if r["previous_margin"] is None else float(r["previous_margin"]) for r in shown],
         "marker": {"color": PALETTE[2], "size": 9}, "hovertemplate": "%{y}<br>quarter before %{x:,.0f}<extra></extra>"},
    ], {"height": 300, "margin": {"l": 180, "r": 12, "t": 16, "b": 32}})
    label = _quarter_label(last)
    return {
        "values": {"quarter": label, "contracts": len(rows), "reviews_in_quarter": len(current), "margin": margin,
                   "margin_change": change, "compared": len(compared), "keep": counts["keep"],
                   "renegotiate": counts["renegotiate"], "exit": counts["exit"],
                   "losing_money": sum(1 for r in rows if r["margin"] < 0),
                   "lowest": {"contract": worst["contract"], "quarter": worst["quarter"], "margin": worst["margin"]}},
        "headline": [(f"Margin {label}", money_text(margin)), ("Change vs quarter before", _signed(change)),
                     ("Exit / renegotiate", f"{counts['exit']} / {counts['renegotiate']}"),
                     ("Lowest margin", f"{worst['contract']} ({money_text(worst['margin'])})")],
        "note": f"latest review of each of {len(rows)} contract{'s' if len(rows) != 1 else ''}; {len(current)} "
                f"reviewed for {label} ({len(compared)} with a review of the quarter before)",
        "figure": figure,
    }


def margin_rows(ctx: Context, key: str | None) -> list[dict[str, Any]]:
    return [r for r in margin_rows_all(ctx) if key is None or r["key"] == key]


register(Tile(
    key="contract_margin", title="Contract margin", section="payers", order=135,
    definition="Per contract, its latest quarterly review (a quarter begun by the as-of date): net contribution "
               "margin = net revenue (paid) − allocated direct cost − allocated RCM cost, its change vs the same "
               "contract's review of the quarter before, and the review's recommendation (contracts reviews, "
               "docs/contracts.md).",
    summary=margin_summary, rows=margin_rows, columns=MARGIN_COLUMNS, filters=("payer_class",),
    resource="contracts"))
