"""The plotly figures of the forecasting pages, as JSON for ``<script type="application/json">`` drawn by
``forecastDraw`` (templates/forecasting/_head.html): a run's forecast against actuals with its 80% and
95% intervals, the accuracy trend per source, and the open pipeline by stage."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

ACTUAL_COLOR = "#111827"
PALETTE = ["#0f766e", "#2563eb", "#d97706", "#7c3aed", "#dc2626", "#0891b2", "#65a30d", "#db2777"]


def figure_json(data: list[dict[str, Any]], layout: dict[str, Any]) -> str:
    base = {"margin": {"l": 72, "r": 16, "t": 32, "b": 48}, "height": 320, "legend": {"orientation": "h", "y": 1.15},
            "font": {"family": "system-ui, sans-serif", "size": 12}}
    text = json.dumps({"data": data, "layout": {**base, **layout}}, default=str)
    # Embedded in a <script type="application/json">: no text may close the tag.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _month_ticks(count: int) -> str:
    """One tick a month for a year or less, else every quarter or half year (plotly's dtick)."""
    return "M1" if count <= 12 else "M3" if count <= 36 else "M6"


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def run_figure(*, series: dict[str, list[Any]], actual: dict[dt.date, Decimal] | None, label: str) -> str:
    """Each model's point forecast by month with its 95% and 80% bands (when it has them), and the actual."""
    data: list[dict[str, Any]] = []
    for i, (model, values) in enumerate(sorted(series.items())):
        if model == "actual":
            continue
        color = PALETTE[i % len(PALETTE)]
        x = [v.month.isoformat() for v in values]
        for band, alpha in (("95", 0.12), ("80", 0.22)):
            lo = [_num(getattr(v, f"lo{band}")) for v in values]
            hi = [_num(getattr(v, f"hi{band}")) for v in values]
            if all(y is None for y in lo) or all(y is None for y in hi):
                continue
            data.append({"type": "scatter", "mode": "lines", "x": x, "y": lo, "line": {"width": 0},
                         "showlegend": False, "hoverinfo": "skip", "legendgroup": model})
            data.append({"type": "scatter", "mode": "lines", "x": x, "y": hi, "line": {"width": 0}, "fill": "tonexty",
                         "fillcolor": _rgba(color, alpha), "name": f"{model} {band}% interval", "legendgroup": model,
                         "hovertemplate": f"%{{x|%b %Y}}<br>{model} {band}% high %{{y:,.2f}}<extra></extra>"})
        data.append({"type": "scatter", "mode": "lines+markers", "name": model, "x": x,
                     "y": [_num(v.point) for v in values], "line": {"color": color, "width": 2.5},
                     "legendgroup": model, "hovertemplate": f"%{{x|%b %Y}}<br>{model} %{{y:,.2f}}<extra></extra>"})
    if actual:
        shown = sorted(actual)
        data.append({"type": "scatter", "mode": "lines+markers", "name": "Actual",
                     "x": [m.isoformat() for m in shown], "y": [float(actual[m]) for m in shown],
                     "line": {"color": ACTUAL_COLOR, "width": 3, "dash": "dot"},
                     "hovertemplate": "%{x|%b %Y}<br>Actual %{y:,.2f}<extra></extra>"})
    months = {v.month for values in series.values() for v in values} | set(actual or {})
    return figure_json(data, {"xaxis": {"type": "date", "tickformat": "%b %Y", "dtick": _month_ticks(len(months)),
                                        "title": {"text": "Month"}},
                              "yaxis": {"title": {"text": label}, "rangemode": "tozero", "tickformat": ",.0f"}})


def accuracy_trend_figure(trends: list[tuple[str, list[tuple[dt.date, float | None]]]]) -> str:
    """WAPE per closed period, one line per source."""
    data = []
    for i, (source, points) in enumerate(trends):
        data.append({"type": "scatter", "mode": "lines+markers", "name": source,
                     "x": [p.isoformat() for p, _ in points],
                     "y": [None if w is None else round(w * 100, 2) for _, w in points],
                     "line": {"color": PALETTE[i % len(PALETTE)]},
                     "hovertemplate": f"{source}<br>%{{x|%b %Y}}: WAPE %{{y:.1f}}%<extra></extra>"})
    periods = {p for _, points in trends for p, _ in points}
    return figure_json(data, {"xaxis": {"type": "date", "tickformat": "%b %Y", "dtick": _month_ticks(len(periods)),
                                        "title": {"text": "Period"}},
                              "yaxis": {"title": {"text": "WAPE %"}, "rangemode": "tozero"}})


def stage_figure(rows: list[Any]) -> str:
    """Open pipeline and its weighted amount by stage."""
    x = [r.stage.name for r in rows]
    return figure_json([
        {"type": "bar", "name": "Open amount", "x": x, "y": [float(r.amount) for r in rows],
         "marker": {"color": _rgba(PALETTE[1], 0.35)}, "hovertemplate": "%{x}<br>Open %{y:,.2f}<extra></extra>"},
        {"type": "bar", "name": "Weighted", "x": x, "y": [float(r.weighted) for r in rows],
         "marker": {"color": PALETTE[0]}, "hovertemplate": "%{x}<br>Weighted %{y:,.2f}<extra></extra>"},
    ], {"barmode": "overlay", "height": 260, "xaxis": {"type": "category"},
        "yaxis": {"rangemode": "tozero", "tickformat": ",.0f"}})


def scenario_figure(*, bookings: list[dict[str, Any]], cash: list[dict[str, Any]]) -> str:
    """Bookings and cash by month, base and scenario side by side (grouped bars): the change at a glance."""
    data: list[dict[str, Any]] = []
    for name, rows, color, axis in (("Bookings", bookings, PALETTE[0], "y"), ("Cash", cash, PALETTE[1], "y2")):
        x = [r["month"].isoformat() for r in rows]
        for case, alpha in (("base", 0.45), ("scenario", 1.0)):
            data.append({"type": "bar", "name": f"{name}, {case}", "x": x, "y": [float(r[case]) for r in rows],
                         "marker": {"color": _rgba(color, alpha)}, "xaxis": "x" if axis == "y" else "x2",
                         "yaxis": axis, "offsetgroup": case,
                         "hovertemplate": f"%{{x|%b %Y}}<br>{name}, {case} %{{y:,.2f}}<extra></extra>"})
    months = {r["month"] for r in bookings} | {r["month"] for r in cash}
    axis = {"type": "date", "tickformat": "%b %Y", "dtick": _month_ticks(len(months))}
    return figure_json(data, {
        "barmode": "group", "grid": {"rows": 1, "columns": 2, "pattern": "independent"}, "height": 340,
        "xaxis": {**axis, "title": {"text": "Bookings (weighted pipeline)"}},
        "xaxis2": {**axis, "title": {"text": "Cash (expected collections)"}},
        "yaxis": {"rangemode": "tozero", "tickformat": ",.0f"}, "yaxis2": {"rangemode": "tozero", "tickformat": ",.0f"},
    })
