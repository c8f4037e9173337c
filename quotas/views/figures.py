"""The plotly figures of the quota pages, as JSON for ``<script type="application/json">`` drawn by
``quotasDraw`` (templates/quotas/_head.html): attainment against quota over the fiscal year, and
seasonality profiles' monthly weights."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

QUOTA_COLOR = "#6b7280"
ACTUAL_COLOR = "#0f766e"
PALETTE = ["#0f766e", "#2563eb", "#d97706", "#7c3aed", "#dc2626", "#0891b2", "#65a30d", "#db2777"]


def figure_json(data: list[dict[str, Any]], layout: dict[str, Any]) -> str:
    base = {"margin": {"l": 64, "r": 16, "t": 8, "b": 48}, "height": 300, "legend": {"orientation": "h"},
            "font": {"family": "system-ui, sans-serif", "size": 12}}
    text = json.dumps({"data": data, "layout": {**base, **layout}}, default=str)
    # Embedded in a <script type="application/json">: no name may close the tag.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def cumulative(values: list[Decimal]) -> list[float]:
    out, total = [], Decimal(0)
    for v in values:
        total += v
        out.append(float(total))
    return out


def attainment_figure(*, months: list[dt.date], quota: list[Decimal], actual: list[Decimal], label: str,
                      as_of: dt.date) -> str:
    """Cumulative quota and cumulative actual by fiscal month; actual stops at the month of ``as_of``."""
    x = [m.strftime("%b %Y") for m in months]
    shown = [j for j, m in enumerate(months) if m <= as_of]
    actual_cum = cumulative(actual)
    return figure_json([
        {"type": "scatter", "mode": "lines+markers", "name": "Quota (cumulative)", "x": x, "y": cumulative(quota),
         "line": {"color": QUOTA_COLOR, "dash": "dash"},
         "hovertemplate": "%{x}<br>Quota to date %{y:,.2f}<extra></extra>"},
        {"type": "scatter", "mode": "lines+markers", "name": "Actual (cumulative)", "x": [x[j] for j in shown],
         "y": [actual_cum[j] for j in shown], "line": {"color": ACTUAL_COLOR, "width": 3},
         "hovertemplate": "%{x}<br>Actual to date %{y:,.2f}<extra></extra>"},
        {"type": "bar", "name": "Actual in the month", "x": [x[j] for j in shown],
         "y": [float(actual[j]) for j in shown],
         "marker": {"color": ACTUAL_COLOR, "opacity": 0.25},
         "hovertemplate": "%{x}<br>Actual %{y:,.2f}<extra></extra>"},
    ], {"xaxis": {"type": "category", "title": {"text": "Fiscal month"}},
        "yaxis": {"title": {"text": label}, "rangemode": "tozero", "tickformat": ",.0f"},
        "legend": {"orientation": "h", "y": 1.12}, "margin": {"l": 72, "r": 16, "t": 32, "b": 48}})


def seasonality_figure(profiles: list[Any], month_labels: list[str]) -> str:
    """One bar per fiscal month for each profile (its weight in percent)."""
    data = []
    for i, p in enumerate(profiles):
        data.append({"type": "bar", "name": p.name, "x": month_labels,
                     "y": [round(float(w) * 100, 3) for w in p.weights],
                     "marker": {"color": PALETTE[i % len(PALETTE)]},
                     "hovertemplate": f"{p.name}<br>%{{x}}: %{{y:.2f}}%<extra></extra>"})
    return figure_json(data, {"barmode": "group", "height": 240, "xaxis": {"type": "category"},
                              "yaxis": {"title": {"text": "% of the year"}, "rangemode": "tozero"},
                              "showlegend": len(profiles) > 1})
