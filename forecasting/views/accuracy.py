"""Accuracy (resource ``forecasting``): the leaderboard of every forecast source (reps' calls, managers'
team numbers, each model) by horizon over closed periods, WAPE, bias and hit rates within 5% and 10%,
and the trend of WAPE per source by period: whose number to trust."""
from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render

from revops.access import require_access
from revops.exports import Column, export_response

from .. import selectors
from ..models import ForecastScore
from . import figures
from .common import RESOURCE, export_format

LEVEL_LABELS = {"rep": "Reps", "team": "Teams (managers)", "company": "Company", "territory": "Territories",
                "service_line": "Service lines", "program": "Programs", "payer": "Payers"}
BOARD_COLUMNS = [Column(name, name) for name in ("source", "horizon", "n", "wape", "bias", "hit5", "hit10", "actual",
                                                 "forecast", "cover80", "cover95")]
MAX_TREND_SOURCES = 8


def _pct(value: Any) -> float | None:
    return None if value is None or value != value else float(value) * 100


def board_rows(level: str | None) -> list[dict[str, Any]]:
    frame = selectors.accuracy_board(level=level)
    rows = []
    for r in frame.to_dict("records"):
        rows.append({**{k: (None if v is None or v != v else v) for k, v in r.items()},
                     "wape_pct": _pct(r.get("wape")), "bias_pct": _pct(r.get("bias")),
                     "hit5_pct": _pct(r.get("hit5")), "hit10_pct": _pct(r.get("hit10")),
                     "cover80_pct": _pct(r.get("cover80")), "cover95_pct": _pct(r.get("cover95"))})
    return rows


def source_levels(level: str | None) -> list[tuple[str, str]]:
    """(source, level) to draw a trend for: the chosen level, else each source's most scored level."""
    qs = ForecastScore.objects.values("source", "level").annotate(n=Count("id")).order_by("source", "-n", "level")
    if level:
        qs = qs.filter(level=level)
    seen: dict[str, str] = {}
    for r in qs:
        seen.setdefault(r["source"], r["level"])
    return list(seen.items())


@require_access(RESOURCE)
def accuracy(request: HttpRequest) -> HttpResponse:
    """``?level=rep|team|company|...``; ``&format=csv|xlsx`` exports the leaderboard."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    levels = list(ForecastScore.objects.values_list("level", flat=True).distinct().order_by("level"))
    level = request.GET.get("level") or None
    if level not in levels:
        level = None
    rows = board_rows(level)
    if fmt := export_format(request):
        return export_response(rows=rows, columns=BOARD_COLUMNS, stem=f"forecast accuracy {level or 'all levels'}",
                               fmt=fmt)
    trends = []
    for source, source_level in source_levels(level)[:MAX_TREND_SOURCES]:
        frame = selectors.accuracy_trend(source=source, level=source_level)
        points = [(r["period__start"], None if r["wape"] is None or r["wape"] != r["wape"] else r["wape"])
                  for r in frame.to_dict("records")]
        trends.append((source if level else f"{source} ({source_level})", points))
    context = {"rows": rows, "levels": [(lv, LEVEL_LABELS.get(lv, lv)) for lv in levels], "level": level,
               "figure": figures.accuracy_trend_figure(trends) if trends else None,
               "periods_scored": ForecastScore.objects.values("period").distinct().count()}
    return render(request, "forecasting/accuracy.html", context)
