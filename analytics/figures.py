"""Plotly figures of the executive dashboard, as JSON for ``<script type="application/json">`` drawn by
``revops/js/figures.js`` (plotly served locally, as on the forecasting pages)."""
from __future__ import annotations

import datetime as dt

from forecasting.views.figures import PALETTE, figure_json

SMALL = {"height": 240, "margin": {"l": 56, "r": 12, "t": 16, "b": 64}}


def attainment_bars(groups: list[tuple[str, float | None, float | None]]) -> str | None:
    if not groups:
        return None
    names = [g[0] for g in groups]
    data = [
        {"type": "bar", "name": "Attainment", "x": names, "y": [None if g[1] is None else g[1] * 100 for g in groups],
         "marker": {"color": PALETTE[0]}, "hovertemplate": "%{x}<br>attainment %{y:.1f}%<extra></extra>"},
        {"type": "scatter", "mode": "markers", "name": "Pace", "x": names,
         "y": [None if g[2] is None else g[2] * 100 for g in groups], "marker": {"color": PALETTE[2], "size": 9},
         "hovertemplate": "%{x}<br>pace %{y:.1f}%<extra></extra>"},
    ]
    return figure_json(data, {**SMALL, "yaxis": {"ticksuffix": "%"},
                              "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 100, "y1": 100,
                                          "line": {"dash": "dash", "color": "#6b7280"}}]})


def forecast_bars(groups: list[tuple[str, float | None, float | None, float | None]]) -> str | None:
    if not groups:
        return None
    names = [g[0] for g in groups]
    data = [
        {"type": "bar", "name": "Actual to date", "x": names, "y": [g[2] for g in groups], "marker": {"color": PALETTE[0]}},
        {"type": "bar", "name": "Weighted pipeline", "x": names, "y": [g[3] for g in groups],
         "marker": {"color": PALETTE[1]}},
        {"type": "scatter", "mode": "markers", "name": "Quota", "x": names, "y": [g[1] for g in groups],
         "marker": {"color": "#111827", "symbol": "line-ew-open", "size": 24, "line": {"width": 3}}},
    ]
    return figure_json(data, {**SMALL, "barmode": "stack"})


def balance_bars(leaves: list[tuple[str, float | None]], mean: float | None) -> str | None:
    if not leaves:
        return None
    layout = {**SMALL}
    if mean is not None:
        layout["shapes"] = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": mean, "y1": mean,
                             "line": {"dash": "dash", "color": "#6b7280"}}]
    return figure_json([{"type": "bar", "name": "Potential", "x": [c for c, _ in leaves], "y": [v for _, v in leaves],
                         "marker": {"color": PALETTE[3]}}], layout)


def accuracy_lines(trends: list[dict]) -> str | None:
    if not trends:
        return None
    data = []
    for i, t in enumerate(trends):
        data.append({"type": "scatter", "mode": "lines+markers", "name": t["source"],
                     "x": [p["period"].isoformat() if isinstance(p["period"], dt.date) else str(p["period"])
                           for p in t["points"]],
                     "y": [None if p["wape"] is None else p["wape"] * 100 for p in t["points"]],
                     "line": {"color": PALETTE[i % len(PALETTE)]}})
    return figure_json(data, {**SMALL, "yaxis": {"ticksuffix": "%", "title": "WAPE"}})


def commission_bars(periods: list[tuple[str, float | None]]) -> str | None:
    if not periods:
        return None
    return figure_json([{"type": "bar", "name": "Cost %", "x": [p for p, _ in periods], "y": [v for _, v in periods],
                         "marker": {"color": PALETTE[4]}}], {**SMALL, "yaxis": {"ticksuffix": "%"}})


def month_line(points: list[tuple[dt.date, float | None]], name: str) -> str | None:
    if not points:
        return None
    return figure_json([{"type": "scatter", "mode": "lines+markers", "name": name,
                         "x": [m.isoformat() for m, _ in points], "y": [v for _, v in points],
                         "line": {"color": PALETTE[0]}}], {**SMALL, "showlegend": False})


def mix_pie(classes: list[tuple[str, float | None]]) -> str | None:
    if not classes:
        return None
    return figure_json([{"type": "pie", "labels": [c.replace("_", " ") for c, _ in classes],
                         "values": [v for _, v in classes], "hole": 0.45, "sort": False,
                         "marker": {"colors": PALETTE}}], {**SMALL, "showlegend": True})


def margin_bars(payers: list[tuple[str, float | None]]) -> str | None:
    if not payers:
        return None
    return figure_json([{"type": "bar", "orientation": "h", "name": "Margin", "y": [p for p, _ in payers][::-1],
                         "x": [v for _, v in payers][::-1], "marker": {"color": PALETTE[6]}}],
                       {**SMALL, "height": 300, "margin": {"l": 180, "r": 12, "t": 16, "b": 32}})
