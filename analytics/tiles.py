"""The tile registry of the executive dashboard: every tile's summary (its numbers, a chart) and its rows.

A tile is registered once and then appears on the page (``/executive/``), in its htmx drill-down and CSV/Excel
export (``/executive/drill/?tile=<key>``) and in the API (``/api/v1/analytics/tiles/``, ``rows/?tile=<key>``)
without any other change. Another app adds its tiles from its ``AppConfig.ready()``::

    from analytics.tiles import Column, Tile, register

    register(Tile(key="underpayment", title="Underpayment by payer", section="payers", order=60,
                  definition="expected reimbursement − paid, by payer (contracts/selectors.py)",
                  filters=("payer_class",), summary=my_summary, rows=my_rows, resource="contracts"))

``summary(ctx) -> dict`` returns ``values`` (named numbers, for the API), ``headline`` (label, text) pairs and
optionally ``figure`` (plotly JSON, ``analytics.figures``) and ``empty`` (why there is nothing to show).
``rows(ctx, key) -> list[dict]`` returns the rows behind the tile (``key`` narrows to one row's key, the
target of a flag's link); ``columns`` name them for the table and the export. ``ctx`` is a ``Context``:
the parsed filters plus per-request caches of what several tiles read. ``resource`` (default
``executive_dashboard``) is checked too: a tile the role may not read is left out.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from revops.access import VIEW, allowed
from revops.exports import Column

from . import figures
from .filters import Filters
from .selectors import flags as flag_rules
from .selectors import revenue, sales

__all__ = ["Column", "Context", "Tile", "REGISTRY", "register", "tiles_for"]


class Context:
    """The filters of one request and what several tiles share, computed at most once."""

    def __init__(self, filters: Filters, *, by: str = "rep") -> None:
        self.filters = filters
        self.by = by if by in sales.GROUPINGS else "rep"

    @cached_property
    def leaves(self) -> sales.Attainment:
        return sales.plan_leaves(self.filters)

    def lines(self, by: str) -> list[sales.RepLine]:
        cache = self.__dict__.setdefault("_lines", {})
        if by not in cache:
            cache[by] = sales.rep_lines(self.filters, self.leaves, by=by, pipe=self.pipeline)
        return cache[by]

    @cached_property
    def pipeline(self) -> sales.PipelineByOwner:
        return sales.pipeline_by_owner(self.filters)

    @cached_property
    def revenue(self) -> revenue.RevenueTotals:
        return revenue.revenue_totals(self.filters)

    @cached_property
    def payroll(self) -> dict[str, Any]:
        return revenue.payroll(self.filters)

    @cached_property
    def margins(self) -> list[revenue.PayerMargin]:
        return revenue.payer_margins(self.filters)

    @cached_property
    def prior_margins(self) -> list[revenue.PayerMargin]:
        return revenue.payer_margins(self.filters.prior())

    @cached_property
    def balance(self) -> dict[str, Any]:
        return sales.territory_balance()

    @cached_property
    def flags(self) -> dict[str, list[flag_rules.Flag]]:
        lines = self.lines("rep")
        return {"coach": flag_rules.coach(lines),
                "invest": flag_rules.invest(self.balance, self.leaves.leaves, self.leaves, lines),
                "adjust": flag_rules.adjust(self.margins, self.prior_margins)}


@dataclass(frozen=True)
class Tile:
    key: str
    title: str
    section: str  # sales, revenue, payers, programs, flags
    order: int
    definition: str
    summary: Callable[[Context], dict[str, Any]]
    rows: Callable[[Context, str | None], list[dict[str, Any]]]
    columns: tuple[Column, ...] = ()
    filters: tuple[str, ...] = ()  # the filters that narrow it (others are ignored, and the tile says so)
    resource: str = "executive_dashboard"
    groupings: tuple[str, ...] = field(default=())  # the ?by= values its rows accept


REGISTRY: dict[str, Tile] = {}


def register(tile: Tile) -> Tile:
    """Add (or replace, by key) a tile."""
    REGISTRY[tile.key] = tile
    return tile


def tiles_for(role: str | None) -> list[Tile]:
    return sorted((t for t in REGISTRY.values() if allowed(role, t.resource, VIEW)), key=lambda t: (t.order, t.key))


# -- formatting helpers ------------------------------------------------------------------------------

def pct_text(value: float | Decimal | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:.{digits}f}%" if isinstance(value, float) else f"{value}%"


def money_text(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def ratio_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


# -- sales tiles --------------------------------------------------------------------------------------

SALES_FILTERS = ("region", "team", "service_line")
RCM_FILTERS = ("payer_class",)


def _attainment_row(line: sales.RepLine) -> dict[str, Any]:
    r = line.row
    return {"key": r.key, "name": r.label, "quota": r.quota, "actual": r.actual, "quota_to_date": r.quota_to_date,
            "actual_to_date": r.actual_to_date, "attainment": _f(r.attainment), "pace": _f(r.pace), "gap": r.gap,
            "pipeline": line.pipeline, "opportunities": line.opportunities, "coverage": line.coverage,
            "weighted_pipeline": line.weighted, "forecast": line.forecast,
            "forecast_vs_quota": line.forecast_vs_quota}


ATTAINMENT_COLUMNS = tuple(Column(h, k) for h, k in (
    ("Key", "key"), ("Name", "name"), ("Quota", "quota"), ("Actual", "actual"), ("Quota to date", "quota_to_date"),
    ("Actual to date", "actual_to_date"), ("Attainment", "attainment"), ("Pace", "pace"), ("Gap", "gap"),
    ("Period pipeline", "pipeline"), ("Open opportunities", "opportunities"), ("Coverage", "coverage"),
    ("Weighted pipeline (rest of period)", "weighted_pipeline"), ("Forecast", "forecast"),
    ("Forecast vs quota", "forecast_vs_quota")))


def attainment_summary(ctx: Context) -> dict[str, Any]:
    data = ctx.leaves
    if data.plan is None:
        return {"empty": "No active or archived quota plan covers this period.", "values": {}, "headline": []}
    company = ctx.lines("company")
    if not company:
        return {"empty": "No quota in this period for these filters.", "values": {}, "headline": []}
    c = company[0].row
    by = ctx.by if ctx.by != "company" else "region"
    groups = ctx.lines(by)
    return {
        "values": {"plan": data.plan.name, "quota": c.quota, "actual": c.actual, "quota_to_date": c.quota_to_date,
                   "actual_to_date": c.actual_to_date, "attainment": _f(c.attainment), "pace": _f(c.pace)},
        "headline": [("Attainment", pct_text(c.attainment)), ("Pace", pct_text(c.pace)),
                     ("Actual to date", money_text(c.actual_to_date)), ("Quota to date", money_text(c.quota_to_date))],
        "note": f"{data.plan.name}; pace as of {ctx.filters.as_of:%d %b %Y}; by {by}",
        "figure": figures.attainment_bars([(g.row.label, _f(g.row.attainment), _f(g.row.pace)) for g in groups[:15]]),
    }


def attainment_rows(ctx: Context, key: str | None) -> list[dict[str, Any]]:
    rows = [_attainment_row(line) for line in ctx.lines(ctx.by)]
    return [r for r in rows if key is None or r["key"] == key]


register(Tile(
    key="attainment", title="Attainment vs plan", section="sales", order=10,
    definition="Attainment = actual / quota; quota to date = elapsed months + the current month × its elapsed "
               "days (seasonality is in the monthly quota); pace = actual to date / quota to date (quotas).",
    summary=attainment_summary, rows=attainment_rows, columns=ATTAINMENT_COLUMNS, filters=SALES_FILTERS,
    groupings=("region", "team", "rep")))


def forecast_summary(ctx: Context) -> dict[str, Any]:
    company = ctx.lines("company")
    if not company:
        return {"empty": "No quota in this period for these filters.", "values": {}, "headline": []}
    line = company[0]
    groups = ctx.lines("region" if ctx.by in ("company", "rep") else ctx.by)
    return {
        "values": {"quota": line.row.quota, "forecast": line.forecast, "forecast_vs_quota": line.forecast_vs_quota,
                   "pipeline": line.pipeline, "coverage": line.coverage, "weighted_pipeline": line.weighted},
        "headline": [("Forecast vs quota", pct_text(line.forecast_vs_quota)), ("Coverage", ratio_text(line.coverage)),
                     ("Forecast", money_text(line.forecast)), ("Period pipeline", money_text(line.pipeline))],
        "note": f"pipeline as it stood on {ctx.filters.as_of:%d %b %Y}",
        "figure": figures.forecast_bars([(g.row.label, _f(g.row.quota), _f(g.row.actual_to_date), _f(g.weighted))
                                         for g in groups[:12]]),
    }


register(Tile(
    key="forecast", title="Forecast vs quota and pipeline coverage", section="sales", order=20,
    definition="Forecast = actual to date + weighted pipeline landing in the rest of the period (stage "
               "conversion learned from history); coverage = period pipeline / remaining quota (forecasting).",
    summary=forecast_summary, rows=attainment_rows, columns=ATTAINMENT_COLUMNS, filters=SALES_FILTERS,
    groupings=("region", "team", "rep")))


def leaderboard_summary(ctx: Context) -> dict[str, Any]:
    reps = [line for line in ctx.lines("rep") if line.person_id and line.row.attainment is not None]
    if not reps:
        return {"empty": "No rep carries quota in this period.", "values": {}, "headline": []}
    ranked = sorted(reps, key=lambda line: -(line.row.attainment or 0))
    top = [{"key": line.row.key, "name": line.row.label, "attainment": line.row.attainment, "pace": line.row.pace}
           for line in ranked[:5]]
    bottom = [{"key": line.row.key, "name": line.row.label, "attainment": line.row.attainment, "pace": line.row.pace}
              for line in ranked[-5:][::-1]] if len(ranked) > 5 else []
    return {"values": {"top": top, "bottom": bottom, "reps": len(ranked)},
            "headline": [("Reps ranked", str(len(ranked)))], "top": top, "bottom": bottom}


def leaderboard_rows(ctx: Context, key: str | None) -> list[dict[str, Any]]:
    rows = [_attainment_row(line) for line in ctx.lines("rep") if line.person_id]
    rows.sort(key=lambda r: -(r["attainment"] or 0))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return [r for r in rows if key is None or r["key"] == key]


register(Tile(
    key="leaderboard", title="Leaderboard", section="sales", order=30,
    definition="Reps ranked by attainment (actual / quota) for the period; pace beside it.",
    summary=leaderboard_summary, rows=leaderboard_rows, columns=(Column("Rank", "rank"), *ATTAINMENT_COLUMNS),
    filters=SALES_FILTERS))


BALANCE_COLUMNS = tuple(Column(h, k) for h, k in (
    ("Code", "code"), ("Territory", "name"), ("Primary", "primary"), ("Vacant", "vacant"), ("Accounts", "accounts"),
    ("Potential", "potential"), ("Share", "share"), ("Deviation %", "deviation_pct"), ("Quota", "quota"),
    ("Actual", "actual"), ("Attainment", "attainment")))


def balance_summary(ctx: Context) -> dict[str, Any]:
    b = ctx.balance
    if not b or not b.get("leaves"):
        return {"empty": "No active territory plan.", "values": {}, "headline": []}
    leaves = b["leaves"]
    return {
        "values": {"plan": b["plan"], "cv": b["cv"], "max_min": b["max_min"],
                   "largest_deviation_pct": b["largest_deviation"], "territories": len(leaves),
                   "unassigned_potential": b["unassigned"]["potential"]},
        "headline": [("CV of potential", "—" if b["cv"] is None else f"{b['cv']:.2f}"),
                     ("Max / min", ratio_text(b["max_min"])),
                     ("Largest deviation", "—" if b["largest_deviation"] is None else f"{b['largest_deviation']:.0f}%"),
                     ("Territories", str(len(leaves)))],
        "note": f"{b['plan']} (active today; computed {b['computed_at']:%d %b %H:%M})",
        "figure": figures.balance_bars([(t["code"], _f(t["potential"])) for t in leaves[:60]], _f(b["mean"])),
    }


def balance_rows(ctx: Context, key: str | None) -> list[dict[str, Any]]:
    rows = [{**t, "potential": Decimal(t["potential"]) if t["potential"] is not None else None}
            for t in (ctx.balance or {}).get("leaves", [])]
    return [r for r in rows if key is None or r["code"] == key]


register(Tile(
    key="territory_balance", title="Territory balance", section="sales", order=40,
    definition="Potential per leaf territory of the active plan; CV = standard deviation / mean, max/min, largest "
               "deviation from the mean (territories).",
    summary=balance_summary, rows=balance_rows, columns=BALANCE_COLUMNS))


ACCURACY_COLUMNS = tuple(Column(h, k) for h, k in (
    ("Source", "source"), ("Horizon", "horizon"), ("Forecasts", "n"), ("WAPE", "wape"), ("Bias", "bias"),
    ("Within 5%", "hit5"), ("Within 10%", "hit10"), ("Forecast", "forecast"), ("Actual", "actual")))


def accuracy_summary(ctx: Context) -> dict[str, Any]:
    acc = _accuracy(ctx)
    if not acc["board"]:
        return {"empty": "No closed forecast period has been scored yet.", "values": {}, "headline": []}
    best = acc["board"][0]
    return {"values": {"level": acc["level"], "best_source": best["source"], "best_wape": best["wape"],
                       "trends": acc["trends"]},
            "headline": [("Best source", f"{best['source']} (h{best['horizon']})"),
                         ("WAPE", pct_text(best["wape"])), ("Bias", pct_text(best["bias"]))],
            "note": f"{acc['level']} level, every closed period",
            "figure": figures.accuracy_lines(acc["trends"])}


def _accuracy(ctx: Context) -> dict[str, Any]:
    if "_accuracy" not in ctx.__dict__:
        ctx.__dict__["_accuracy"] = sales.accuracy(ctx.filters)
    return ctx.__dict__["_accuracy"]


def accuracy_rows(ctx: Context, key: str | None) -> list[dict[str, Any]]:
    return [r for r in _accuracy(ctx)["board"] if key is None or r["source"] == key]


register(Tile(
    key="forecast_accuracy", title="Forecast accuracy trend", section="sales", order=50,
    definition="WAPE = Σ|actual − forecast| / Σ|actual| per source over closed periods; bias = Σ(forecast − "
               "actual) / Σ actual (forecasting).",
    summary=accuracy_summary, rows=accuracy_rows, columns=ACCURACY_COLUMNS))


COMMISSION_COLUMNS = tuple(Column(h, k) for h, k in (
    ("Period", "period"), ("People paid", "people"), ("Earned", "earned"), ("Adjustments", "adjustments"),
    ("Cost", "cost"), ("Credited", "credited"), ("Cost %", "cost_pct"), ("Payout", "payout")))


def commission_summary(ctx: Context) -> dict[str, Any]:
    cc = ctx.__dict__.setdefault("_commission", sales.commission_cost(ctx.filters))
    if not cc["periods"]:
        return {"empty": "No commission period of this period has been run.", "values": {}, "headline": []}
    return {"values": {"cost": cc["cost"], "credited": cc["credited"], "cost_pct": cc["cost_pct"],
                       "payout": cc["payout"]},
            "headline": [("Commission cost", pct_text(cc["cost_pct"], 2) if cc["cost_pct"] is not None else "—"),
                         ("Cost", money_text(cc["cost"])), ("Credited revenue", money_text(cc["credited"]))],
            "figure": figures.commission_bars([(p.period.name, _f(p.cost_pct)) for p in cc["periods"]])}


def commission_rows(ctx: Context, key: str | None) -> list[dict[str, Any]]:
    cc = ctx.__dict__.setdefault("_commission", sales.commission_cost(ctx.filters))
    return [{"period": p.period.name, "people": p.people, "earned": p.earned, "adjustments": p.adjustments,
             "cost": p.cost, "credited": p.credited, "cost_pct": p.cost_pct, "payout": p.payout}
            for p in cc["periods"] if key is None or p.period.name == key]


register(Tile(
    key="commission_cost", title="Commission cost as % of revenue", section="revenue", order=60,
    definition="Commission cost (earned + adjustments of each period's current run) / credited revenue "
               "(the money transactions that credited someone on a plan) × 100 (commissions payout summary).",
    summary=commission_summary, rows=commission_rows, columns=COMMISSION_COLUMNS))


# -- revenue tiles -----------------------------------------------------------------------------------

REVENUE_COLUMNS = tuple(Column(h, k) for h, k in (
    ("Month", "month"), ("Net revenue (NPSR)", "npsr"), ("Charges", "charges"), ("Net collected", "payments"),
    ("Claims first paid", "paid_claims"), ("Gross-to-net %", "gross_to_net"), ("Net revenue per encounter",
                                                                               "per_encounter")))


def _revenue_rows(ctx: Context, key: str | None) -> list[dict[str, Any]]:
    out = []
    for m in ctx.revenue.months:
        per = (m["npsr"] / m["paid_claims"]).quantize(Decimal("0.01")) if m["paid_claims"] else None
        out.append({**m, "per_encounter": per})
    return [r for r in out if key is None or r["month"].isoformat()[:7] == key]


def encounter_summary(ctx: Context) -> dict[str, Any]:
    rt = ctx.revenue
    if not rt.months:
        return {"empty": "No billing data in this period.", "values": {}, "headline": []}
    return {"values": {"npsr": rt.npsr, "paid_claims": rt.paid_claims, "per_encounter": rt.per_encounter},
            "headline": [("Net revenue per encounter", money_text(rt.per_encounter)),
                         ("Net revenue", money_text(rt.npsr)), ("Encounters paid", f"{rt.paid_claims:,.0f}")],
            "note": "per admission: with the intake pillar",
            "figure": figures.month_line([(m["month"], _f(m["npsr"] / m["paid_claims"]) if m["paid_claims"] else None)
                                          for m in rt.months], "Net revenue per encounter")}


register(Tile(
    key="revenue_per_encounter", title="Net revenue per encounter", section="revenue", order=70,
    definition="NPSR (835 charges − contractual adjustments) / claims first paid, both by payment month.",
    summary=encounter_summary, rows=_revenue_rows, columns=REVENUE_COLUMNS, filters=RCM_FILTERS))


FTE_COLUMNS = tuple(Column(h, k) for h, k in (
    ("Person", "name"), ("Role", "role"), ("Hired", "hire_date"), ("Left", "termination_date"),
    ("Days employed in window", "days")))


def fte_summary(ctx: Context) -> dict[str, Any]:
    pay, rt = ctx.payroll, ctx.revenue
    value = revenue.revenue_per_fte(rt.npsr, pay["fte"])
    if not pay["people"]:
        return {"empty": "Nobody on the payroll in this period.", "values": {}, "headline": []}
    return {"values": {"npsr": rt.npsr, "fte": pay["fte"], "revenue_per_fte": value,
                       "window_start": pay["start"], "window_end": pay["end"]},
            "headline": [("Revenue per FTE", money_text(value)), ("FTE", f"{pay['fte']}"),
                         ("Net revenue", money_text(rt.npsr))],
            "note": f"window {pay['start']:%b %Y} – {pay['end']:%b %Y} (exclusive)"}


def fte_rows(ctx: Context, key: str | None) -> list[dict[str, Any]]:
    return [p for p in ctx.payroll["people"] if key is None or str(p["id"]) == key]


register(Tile(
    key="revenue_per_fte", title="Revenue per FTE", section="revenue", order=80,
    definition="NPSR / FTE; FTE = Σ days each person on the payroll (revops people, hire to termination) was "
               "employed in the window / days in the window.",
    summary=fte_summary, rows=fte_rows, columns=FTE_COLUMNS, filters=RCM_FILTERS))


def g2n_summary(ctx: Context) -> dict[str, Any]:
    rt = ctx.revenue
    if not rt.months:
        return {"empty": "No billing data in this period.", "values": {}, "headline": []}
    return {"values": {"gross_to_net": rt.gross_to_net, "npsr": rt.npsr, "charges": rt.charges},
            "headline": [("Gross-to-net yield", pct_text(rt.gross_to_net)), ("Net revenue", money_text(rt.npsr)),
                         ("Gross charges", money_text(rt.charges))],
            "figure": figures.month_line([(m["month"], _f(m["gross_to_net"])) for m in rt.months], "Gross-to-net %")}


register(Tile(
    key="gross_to_net", title="Gross-to-net yield", section="revenue", order=90,
    definition="NPSR / 835 gross charges × 100 (RCM KPI gross_to_net_yield), by payment month.",
    summary=g2n_summary, rows=_revenue_rows, columns=REVENUE_COLUMNS, filters=RCM_FILTERS))


MIX_COLUMNS = (Column("Payer class", "payer_class"), Column("Charges submitted", "charges"), Column("Share %", "share"))


def mix_summary(ctx: Context) -> dict[str, Any]:
    mix = ctx.__dict__.setdefault("_mix", revenue.payer_mix(ctx.filters))
    if not mix:
        return {"empty": "No claims submitted in this period.", "values": {}, "headline": []}
    return {"values": {"mix": mix},
            "headline": [(r["payer_class"].replace("_", " ").title(), f"{r['share']}%") for r in mix[:3]],
            "figure": figures.mix_pie([(r["payer_class"], _f(r["charges"])) for r in mix])}


def mix_rows(ctx: Context, key: str | None) -> list[dict[str, Any]]:
    mix = ctx.__dict__.setdefault("_mix", revenue.payer_mix(ctx.filters))
    return [r for r in mix if key is None or r["payer_class"] == key]


register(Tile(
    key="payer_mix", title="Payer mix", section="payers", order=100,
    definition="Gross charges of original claims submitted per payer class / all × 100 (RCM KPI payer_mix).",
    summary=mix_summary, rows=mix_rows, columns=MIX_COLUMNS, filters=RCM_FILTERS))


MARGIN_COLUMNS = tuple(Column(h, k) for h, k in (
    ("Payer id", "payer_id"), ("Payer", "payer"), ("Class", "payer_class"), ("Net collected", "net_collected"),
    ("Allocated RCM cost", "rcm_cost"), ("Contribution margin", "margin"), ("Margin %", "margin_pct"),
    ("Gross-to-net %", "gross_to_net"), ("Prior margin %", "prior_margin_pct"),
    ("Prior gross-to-net %", "prior_gross_to_net")))


def margin_summary(ctx: Context) -> dict[str, Any]:
    rows = ctx.margins
    if not rows:
        return {"empty": "No remittances in this period.", "values": {}, "headline": []}
    collected = sum((r.net_collected for r in rows), Decimal(0))
    cost = sum((r.rcm_cost for r in rows), Decimal(0))
    margin = collected - cost
    return {"values": {"net_collected": collected, "rcm_cost": cost, "margin": margin,
                       "margin_pct": revenue.pct(margin, collected)},
            "headline": [("Contribution margin", money_text(margin)),
                         ("Margin %", pct_text(revenue.pct(margin, collected))), ("RCM cost", money_text(cost))],
            "figure": figures.margin_bars([(r.payer, _f(r.margin)) for r in rows if r.payer_id][:12])}


def margin_rows(ctx: Context, key: str | None) -> list[dict[str, Any]]:
    prior = {r.payer_id: r for r in ctx.prior_margins}
    out = []
    for r in ctx.margins:
        p = prior.get(r.payer_id)
        out.append({"payer_id": r.payer_id, "payer": r.payer, "payer_class": r.payer_class,
                    "net_collected": r.net_collected, "rcm_cost": r.rcm_cost, "margin": r.margin,
                    "margin_pct": r.margin_pct, "gross_to_net": r.gross_to_net,
                    "prior_margin_pct": p.margin_pct if p else None, "prior_gross_to_net": p.gross_to_net if p else None})
    return [r for r in out if key is None or str(r["payer_id"]) == key]


register(Tile(
    key="payer_margin", title="Payer contribution margin", section="payers", order=110,
    definition="Net collected (835 payments, reversals netted) − RCM cost allocated by each payer's share of "
               "the facility-month's positive net collected (the cost-to-collect basis).",
    summary=margin_summary, rows=margin_rows, columns=MARGIN_COLUMNS, filters=RCM_FILTERS))


# -- flags -------------------------------------------------------------------------------------------

FLAG_COLUMNS = (Column("Kind", "kind"), Column("Subject", "subject"), Column("Why", "why"), Column("Tile", "tile"),
                Column("Row", "row_key"))


FLAGS_SHOWN = 8  # per kind on the tile; "Rows" (the drill-down and its export) has every flag


def flags_summary(ctx: Context) -> dict[str, Any]:
    fl = ctx.flags
    return {"values": {k: len(v) for k, v in fl.items()},
            "headline": [("Coach", str(len(fl["coach"]))), ("Invest", str(len(fl["invest"]))),
                         ("Adjust", str(len(fl["adjust"])))],
            "groups": [(kind, items[:FLAGS_SHOWN], max(0, len(items) - FLAGS_SHOWN)) for kind, items in fl.items()]}


def flags_rows(ctx: Context, key: str | None) -> list[dict[str, Any]]:
    return [{"kind": fl.kind, "subject": fl.subject, "why": "; ".join(fl.reasons), "tile": fl.tile,
             "row_key": fl.key} for kind, items in ctx.flags.items() for fl in items if key is None or kind == key]


register(Tile(
    key="flags", title="Where to coach, invest or adjust", section="flags", order=5,
    definition="Coach: pace < 90% with coverage ≥ 2.0x. Invest: potential ≥ 1.2x the mean territory's and vacant, "
               "pace < 90% or coverage < 1.0x. Adjust: margin % or gross-to-net yield down ≥ 2 points vs the prior "
               "period.",
    summary=flags_summary, rows=flags_rows, columns=FLAG_COLUMNS, filters=(*SALES_FILTERS, *RCM_FILTERS)))
