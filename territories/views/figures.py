"""The plotly figures of a plan: the map of its ZIPs and the balance chart of its leaf territories.

Both are built as JSON for ``<script type="application/json">`` and drawn by ``territoriesDraw``
(templates/territories/_head.html). The map is a ``scattergeo`` on plotly's own US geography
(``scope="usa"``, state outlines from the topojson served by this app's static files, no tiles).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from revops.imports import zip_lookup

from ..selectors import Balance
from ..services import PALETTE

UNASSIGNED_COLOR = "#9ca3af"
MARKER_MAX = 28  # px diameter of the largest ZIP marker
ZERO = Decimal(0)


def figure_json(data: list[dict[str, Any]], layout: dict[str, Any]) -> str:
    base = {"margin": {"l": 48, "r": 16, "t": 8, "b": 48}, "height": 320, "legend": {"orientation": "h"},
            "font": {"family": "system-ui, sans-serif", "size": 12}}
    text = json.dumps({"data": data, "layout": {**base, **layout}}, default=str)
    # Embedded in a <script type="application/json">: no territory or account name may close the tag.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def territory_color(territory: dict[str, Any] | Any, index: int) -> str:
    color = territory.get("color") if isinstance(territory, dict) else getattr(territory, "color", "")
    return color or PALETTE[index % len(PALETTE)]


@dataclass
class ZipUnit:
    """One ZIP of the plan: its accounts' centroid and potential, and the territory holding most of it."""

    zip_code: str
    lat: float | None = None
    lon: float | None = None
    accounts: int = 0
    potential: Decimal = ZERO
    by_territory: dict[str | None, Decimal] = field(default_factory=dict)
    _lat_sum: float = 0.0
    _lon_sum: float = 0.0
    _located: int = 0

    @property
    def territory(self) -> str | None:
        """The territory code with the most potential here (most accounts' potential; ties: by code)."""
        if not self.by_territory:
            return None
        return max(self.by_territory.items(), key=lambda kv: (kv[1], kv[0] is not None, kv[0] or ""))[0]

    @property
    def mixed(self) -> bool:
        return len(self.by_territory) > 1


def zip_units(groups: list[dict[str, Any]]) -> list[ZipUnit]:
    """``selectors.zip_potentials`` rows (accounts by ZIP and territory) folded per ZIP; the centroid is
    the mean of the accounts' coordinates, or the ZIP's own centroid when none of them has coordinates."""
    units: dict[str, ZipUnit] = {}
    for row in groups:
        unit = units.setdefault(row["zip_code"], ZipUnit(zip_code=row["zip_code"]))
        unit.accounts += row["accounts"]
        unit.potential += row["potential"]
        code = row.get("territory_code")
        unit.by_territory[code] = unit.by_territory.get(code, ZERO) + row["potential"]
        unit._lat_sum += row["lat_sum"]
        unit._lon_sum += row["lon_sum"]
        unit._located += row["located"]
    for unit in units.values():
        if unit._located:
            unit.lat, unit.lon = unit._lat_sum / unit._located, unit._lon_sum / unit._located
        else:
            place = zip_lookup(unit.zip_code) or {}
            if place.get("lat") and place.get("long"):
                unit.lat, unit.lon = float(place["lat"]), float(place["long"])
    return sorted(units.values(), key=lambda u: u.zip_code)


def map_figure(units: list[ZipUnit], territories: list[dict[str, Any]]) -> str:
    """One trace per territory (its colour, in the legend) and one for the unassigned bucket."""
    located = [u for u in units if u.lat is not None]
    top = max((float(u.potential) for u in located), default=0.0)
    sizeref = (2.0 * top / MARKER_MAX ** 2) if top > 0 else 1.0
    names = {t["code"]: t for t in territories}
    colors = {t["code"]: territory_color(t, i) for i, t in enumerate(territories)}
    groups: dict[str | None, list[ZipUnit]] = {}
    for unit in located:
        groups.setdefault(unit.territory, []).append(unit)
    order = [t["code"] for t in territories if t["code"] in groups] + [c for c in groups if c not in names]
    data = []
    for code in order:
        members = groups[code]
        label = "Unassigned" if code is None else f"{code} {names[code]['name']}" if code in names else code
        data.append({
            "type": "scattergeo", "mode": "markers", "name": label,
            "lat": [round(u.lat, 5) for u in members], "lon": [round(u.lon, 5) for u in members],
            "customdata": [[u.zip_code, code or "Unassigned", u.accounts, float(u.potential),
                            " (shared)" if u.mixed else ""] for u in members],
            "hovertemplate": "ZIP %{customdata[0]}<br>Territory %{customdata[1]}%{customdata[4]}<br>"
                             "%{customdata[2]} accounts<br>Potential %{customdata[3]:,.0f}<extra></extra>",
            "marker": {"size": [float(u.potential) for u in members], "sizemode": "area", "sizeref": sizeref,
                       "sizemin": 4, "color": UNASSIGNED_COLOR if code is None else colors.get(code, UNASSIGNED_COLOR),
                       "line": {"width": 0.5, "color": "#ffffff"}, "opacity": 0.85},
        })
    return figure_json(data, {
        "geo": {"scope": "usa", "projection": {"type": "albers usa"}, "showland": True, "landcolor": "#f3f4f6",
                "showsubunits": True, "subunitcolor": "#9ca3af", "showlakes": False, "bgcolor": "rgba(0,0,0,0)"},
        "height": 420, "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "showlegend": True,
        "legend": {"orientation": "h", "y": -0.02},
    })


def _band(mean: float, tolerance: float, color: str) -> list[dict[str, Any]]:
    return [
        {"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": mean * (1 - tolerance),
         "y1": mean * (1 + tolerance), "fillcolor": color, "opacity": 0.12, "line": {"width": 0}, "layer": "below"},
        {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": mean, "y1": mean,
         "line": {"dash": "dash", "color": "#374151", "width": 1.5}},
    ]


def balance_figure(balance: Balance, tolerance: float) -> str:
    """Potential per leaf territory with the mean and the ±tolerance band; workload behind a toggle."""
    rows = balance.territories
    codes = [r["code"] for r in rows]
    colors = [territory_color(r, i) for i, r in enumerate(rows)]
    potential = [float(r["potential"]) for r in rows]
    workload = [float(r["workload"]) for r in rows]
    mean_p = sum(potential) / len(potential) if potential else 0.0
    mean_w = sum(workload) / len(workload) if workload else 0.0
    pct = round(tolerance * 100, 1)
    shapes_p, shapes_w = _band(mean_p, tolerance, "#16a34a"), _band(mean_w, tolerance, "#16a34a")
    return figure_json(
        [{"type": "bar", "name": "Potential", "x": codes, "y": potential, "marker": {"color": colors},
          "customdata": [[r["name"], r["accounts"], r["deviation_pct"]] for r in rows],
          "hovertemplate": "%{x} %{customdata[0]}<br>Potential %{y:,.0f}<br>%{customdata[1]} accounts<br>"
                           "%{customdata[2]:+.1f}% from the mean<extra></extra>"},
         {"type": "bar", "name": "Workload (visits a year)", "x": codes, "y": workload, "visible": False,
          "marker": {"color": colors}, "hovertemplate": "%{x}<br>%{y:,.0f} visits a year<extra></extra>"}],
        {"xaxis": {"type": "category", "title": {"text": "Territory"}},
         "yaxis": {"title": {"text": "Potential"}, "rangemode": "tozero"},
         "shapes": shapes_p, "showlegend": False,
         "annotations": [{"xref": "paper", "x": 1, "y": mean_p, "yref": "y", "text": f"mean ±{pct}%",
                          "showarrow": False, "xanchor": "right", "yanchor": "bottom"}] if rows else [],
         "updatemenus": [{
             "type": "buttons", "direction": "right", "x": 0, "y": 1.15, "xanchor": "left", "yanchor": "bottom",
             "showactive": True, "buttons": [
                 {"label": "Potential", "method": "update",
                  "args": [{"visible": [True, False]},
                           {"shapes": shapes_p, "yaxis.title.text": "Potential",
                            "annotations[0].y": mean_p}]},
                 {"label": "Workload", "method": "update",
                  "args": [{"visible": [False, True]},
                           {"shapes": shapes_w, "yaxis.title.text": "Visits a year",
                            "annotations[0].y": mean_w}]},
             ]}],
         "margin": {"l": 64, "r": 16, "t": 40, "b": 48}},
    )


def within_tolerance(balance: Balance, tolerance: float) -> int:
    return sum(1 for r in balance.territories
               if r["deviation_pct"] is not None and abs(r["deviation_pct"]) <= tolerance * 100 + 1e-9)
