"""REST API of the executive command center (resource ``executive_dashboard``: admins and executives).

Every number on the dashboard comes from the tile registry (``analytics.tiles``), so the API and the page
cannot disagree: ``tiles/`` answers each tile's named values for the period and filters, ``rows/?tile=``
the rows behind a tile (the drill-down; ``?format=csv|xlsx`` exports them), ``flags/`` the coach / invest /
adjust flags with the row each one points at.
"""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions
from rest_framework import serializers as drf
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from django.urls import path

from revops.api.base import ApiViewMixin

from .tiles import REGISTRY, tiles_for
from .views import RESOURCE, context_of

FILTER_PARAMETERS = [
    OpenApiParameter("period", str, description="`FY2026` (fiscal year), `FY2026-Q3` (fiscal quarter) or `2025-11` "
                                                "(month); default: the fiscal year of the latest activity."),
    OpenApiParameter("as_of", str, description="YYYY-MM-DD: bounds every to-date figure (default: today, or the "
                                               "period's last day when it has ended)."),
    OpenApiParameter("by", str, enum=["region", "team", "rep"], description="Grouping of attainment rows."),
    OpenApiParameter("region", str, description="Code of a first-level node of the quota tree."),
    OpenApiParameter("team", int), OpenApiParameter("service_line", int),
    OpenApiParameter("payer_class", str, description="Narrows the RCM tiles."),
]


def _filters_out(ctx: Any) -> dict[str, Any]:
    f = ctx.filters
    return {"period": f.period, "start": f.start, "end": f.end, "as_of": f.as_of, "region": f.region,
            "team": f.team, "service_line": f.service_line, "payer_class": f.payer_class, "by": ctx.by}


TileSerializer = inline_serializer("ExecutiveTile", many=True, fields={
    "key": drf.CharField(), "title": drf.CharField(), "section": drf.CharField(), "definition": drf.CharField(),
    "filters": drf.ListField(child=drf.CharField()), "empty": drf.CharField(allow_null=True),
    "values": drf.DictField(help_text="The tile's named numbers (money as decimal strings, ratios as floats)."),
})


class TilesView(ApiViewMixin, APIView):
    """Every dashboard tile's numbers for a period and filters."""

    access_resource = RESOURCE

    @extend_schema(summary="Executive dashboard: every tile's numbers", parameters=FILTER_PARAMETERS,
                   responses=inline_serializer("ExecutiveTiles", fields={
                       "filters": drf.DictField(), "tiles": TileSerializer}),
                   description="Attainment and pace, forecast vs quota and coverage, leaderboard, territory balance, "
                               "forecast accuracy, commission cost %, net revenue per encounter, revenue per FTE, "
                               "gross-to-net yield, payer mix, payer contribution margin and the flag counts; each "
                               "with its one-line definition (docs/analytics.md has them all).")
    def get(self, request: Request) -> Response:
        ctx = context_of(request)
        out = []
        for tile in tiles_for(getattr(request, "role", None)):
            summary = tile.summary(ctx)
            out.append({"key": tile.key, "title": tile.title, "section": tile.section, "definition": tile.definition,
                        "filters": list(tile.filters), "empty": summary.get("empty"),
                        "values": summary.get("values", {})})
        return Response({"filters": _filters_out(ctx), "tiles": out})


class RowsView(ApiViewMixin, APIView):
    """The rows behind one tile (its drill-down)."""

    access_resource = RESOURCE

    @extend_schema(summary="Rows behind one tile", parameters=[
        OpenApiParameter("tile", str, required=True, enum=sorted(REGISTRY)),
        OpenApiParameter("key", str, description="One row's key (a flag's link target)."), *FILTER_PARAMETERS],
        responses=inline_serializer("ExecutiveRows", fields={"tile": drf.CharField(), "filters": drf.DictField(),
                                                              "columns": drf.ListField(child=drf.CharField()),
                                                              "rows": drf.ListField(child=drf.DictField())}))
    def get(self, request: Request) -> Response:
        tile = REGISTRY.get(request.query_params.get("tile", ""))
        if tile is None or tile not in tiles_for(getattr(request, "role", None)):
            raise exceptions.NotFound("No such tile.")
        ctx = context_of(request)
        rows = tile.rows(ctx, request.query_params.get("key") or None)
        return Response({"tile": tile.key, "filters": _filters_out(ctx), "columns": [c.header for c in tile.columns],
                         "rows": [{c.header: c.get(r) for c in tile.columns} for r in rows]})


class FlagsView(ApiViewMixin, APIView):
    """Where to coach, invest or adjust."""

    access_resource = RESOURCE

    @extend_schema(summary="Coach, invest and adjust flags", parameters=FILTER_PARAMETERS,
                   responses=inline_serializer("ExecutiveFlags", fields={
                       "filters": drf.DictField(), "flags": drf.ListField(child=drf.DictField())}),
                   description="Coach: a rep with pace < 90% and pipeline coverage >= 2.0x. Invest: a leaf territory "
                               "with potential >= 1.2x the mean and vacant, pace < 90% or its rep's coverage < 1.0x. "
                               "Adjust: a payer whose margin % or gross-to-net yield fell >= 2 points against the "
                               "prior period. `tile` and `key` name the rows each flag points at (`rows/`).")
    def get(self, request: Request) -> Response:
        ctx = context_of(request)
        flags = [{"kind": fl.kind, "subject": fl.subject, "reasons": fl.reasons, "tile": fl.tile, "key": fl.key,
                  "values": fl.values} for items in ctx.flags.values() for fl in items]
        return Response({"filters": _filters_out(ctx), "flags": flags})


urlpatterns = [
    path("tiles/", TilesView.as_view(), name="analytics-tiles"),
    path("rows/", RowsView.as_view(), name="analytics-rows"),
    path("flags/", FlagsView.as_view(), name="analytics-flags"),
]
