"""The executive command center (resource ``executive_dashboard``): every registered tile with its chart, the
period and filter controls (htmx swaps the tiles), each tile's rows in a drill-down with CSV/Excel export."""
from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render

from revops.access import require_access
from revops.exports import FORMATS, export_response
from revops.models import PayerClass, ServiceLine, Team

from . import filters as filters_mod
from .selectors import sales
from .tiles import REGISTRY, Context, tiles_for

RESOURCE = "executive_dashboard"
TEMPLATE = "analytics/dashboard.html"
DRILL_ROWS = 200  # shown in the drill-down; the export has every row


def context_of(request: Any) -> Context:
    org = request.tenant
    params = getattr(request, "query_params", None) or request.GET
    return Context(filters_mod.parse(params, start_month=org.fiscal_year_start_month), by=params.get("by") or "rep")


def _page_context(request: HttpRequest, ctx: Context) -> dict[str, Any]:
    f = ctx.filters
    tiles = []
    for tile in tiles_for(getattr(request, "role", None)):
        summary = tile.summary(ctx)
        ignored = [name for name in ("region", "team", "service_line", "payer_class")
                   if getattr(f, name) and name not in tile.filters]
        tiles.append({"tile": tile, "summary": summary, "ignored": ignored})
    regions = sales.region_choices(ctx.leaves.plan)
    return {"ctx": ctx, "f": f, "tiles": tiles, "query": urlencode(f.query(by=ctx.by)),
            "periods": filters_mod.period_choices(start_month=request.tenant.fiscal_year_start_month,
                                                  around=f.fiscal_year),
            "regions": regions, "teams": Team.objects.order_by("name"), "service_lines": ServiceLine.objects.order_by("name"),
            "payer_classes": PayerClass.choices, "groupings": [("region", "Region"), ("team", "Team"), ("rep", "Rep")]}


def cell(value: Any) -> str:
    """A drill-down cell: ratios to 4 decimals, money to the cent with separators, nothing as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return str(value)


@require_access(RESOURCE)
def dashboard(request: HttpRequest) -> HttpResponse:
    """``?period=FY2026|FY2026-Q3|2025-11&as_of=&region=&team=&service_line=&payer_class=&by=region|team|rep``;
    an htmx request gets the tiles only."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    ctx = context_of(request)
    template = f"{TEMPLATE}#tiles" if getattr(request, "htmx", False) else TEMPLATE
    return render(request, template, _page_context(request, ctx))


@require_access(RESOURCE)
def drill(request: HttpRequest) -> HttpResponse:
    """The rows behind one tile (``?tile=<key>``, optionally ``&key=<row key>``), with the dashboard's filters;
    ``&format=csv|xlsx`` downloads them."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    tile = REGISTRY.get(request.GET.get("tile", ""))
    if tile is None or tile not in tiles_for(getattr(request, "role", None)):
        raise Http404("No such tile")
    ctx = context_of(request)
    key = request.GET.get("key") or None
    rows = tile.rows(ctx, key)
    fmt = request.GET.get("format")
    if fmt in FORMATS:
        return export_response(rows=rows, columns=list(tile.columns), stem=f"{tile.title} {ctx.filters.period}",
                               fmt=fmt)
    table = [[cell(col.get(r)) for col in tile.columns] for r in rows[:DRILL_ROWS]]
    context = {"tile": tile, "rows": rows, "table": table, "total": len(rows), "columns": tile.columns, "key": key, "f": ctx.filters, "ctx": ctx,
               "query": urlencode(ctx.filters.query(by=ctx.by, tile=tile.key, **({"key": key} if key else {}))),
               "back": urlencode(ctx.filters.query(by=ctx.by))}
    template = "analytics/drill.html#drill" if getattr(request, "htmx", False) else "analytics/drill.html"
    return render(request, template, context)
