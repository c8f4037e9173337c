"""The billing dashboard (resource ``billing_dashboard``): KPI tiles and trends, denials, A/R, days to pay, runs."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_date

from revops.access import require_access
from revops.exports import Column, export_response
from revops.jobs import job_live_progress
from revops.models import Facility, Payer, Program
from revops.tenancy import require_tenant_id

from .. import kpis
from ..models import Denial, DenialCategory, Feed, IngestionRun, QuarantineItem, QuarantineStatus

DASHBOARD = "rcm_feeds/dashboard.html"
SPARK_W, SPARK_H = 120, 32


# -- filters -----------------------------------------------------------------------------------

def _month(value: str | None) -> dt.date | None:
    if not value:
        return None
    parsed = parse_date(value if len(value) > 7 else f"{value}-01")
    return parsed.replace(day=1) if parsed else None


def _ids(request: HttpRequest, name: str) -> list[int]:
    return [int(v) for v in request.GET.getlist(name) if v.isdigit()]


def latest_month() -> dt.date | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(month) FROM rcm_feeds_kpi_monthly WHERE tenant_id = %s AND claims_submitted > 0",
                       [require_tenant_id()])
        return cursor.fetchone()[0]


def dashboard_filters(request: HttpRequest) -> kpis.KpiFilters:
    """The period (default: the 12 months up to the latest month with claims) and payer/program filters."""
    end = _month(request.GET.get("end")) or latest_month() or dt.date.today().replace(day=1)
    start = _month(request.GET.get("start")) or kpis.add_months(end, -11)
    if start > end:
        start, end = end, start
    if kpis.add_months(start, 60) <= end:
        start = kpis.add_months(end, -59)
    return kpis.KpiFilters(start=start, end=end, payers=_ids(request, "payer"), programs=_ids(request, "program"))


def _filter_context(request: HttpRequest, f: kpis.KpiFilters) -> dict[str, Any]:
    return {
        "filters": f,
        "payers": Payer.objects.order_by("name"),
        "programs": Program.objects.order_by("name"),
        "selected_payers": set(f.payers),
        "selected_programs": set(f.programs),
        "query": request.GET.urlencode(),
    }


# -- presentation ------------------------------------------------------------------------------

def _sparkline(values: list[Decimal | None], reference: Decimal | None) -> dict[str, Any] | None:
    """SVG coordinates of a small trend line (gaps skipped) and the reference line, if any."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return None
    ys = [float(v) for _, v in points] + ([float(reference)] if reference is not None else [])
    lo, hi = min(ys), max(ys)
    span = (hi - lo) or 1.0
    step = SPARK_W / max(len(values) - 1, 1)

    def y(v: float) -> float:
        return round(SPARK_H - 2 - (v - lo) / span * (SPARK_H - 4), 1)

    return {
        "points": " ".join(f"{round(i * step, 1)},{y(float(v))}" for i, v in points),
        "reference_y": y(float(reference)) if reference is not None else None,
        "width": SPARK_W, "height": SPARK_H,
    }


def period_months(f: kpis.KpiFilters) -> list[dt.date]:
    """First days of every month of the period, in order."""
    count = (f.end.year - f.start.year) * 12 + f.end.month - f.start.month + 1
    return [kpis.add_months(f.start, i) for i in range(count)]


def kpi_tiles(f: kpis.KpiFilters) -> list[dict[str, Any]]:
    rows = kpis.kpi_series(f)
    months = period_months(f)
    by_month = {r.month: r for r in rows}
    tiles = []
    for d in kpis.KPIS:
        series = [by_month[m].values.get(d.key) if m in by_month else None for m in months]
        latest = next((v for v in reversed(series) if v is not None and v.value is not None), None)
        latest_month = next((m for m, v in zip(reversed(months), reversed(series))
                             if v is not None and v.value is not None), None)
        trend = "flat"
        if latest is not None and latest.change:
            better = (latest.change > 0) == d.higher_is_better
            trend = "better" if better else "worse"
        tiles.append({
            "definition": d, "latest": latest, "month": latest_month, "trend": trend,
            "spark": _sparkline([v.value if v else None for v in series], d.reference),
        })
    return tiles


def _figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> str:
    base = {"margin": {"l": 48, "r": 16, "t": 8, "b": 64}, "height": 300, "legend": {"orientation": "h"},
            "font": {"family": "system-ui, sans-serif", "size": 12}}
    text = json.dumps({"data": data, "layout": {**base, **layout}}, default=str)
    # Embedded in a <script type="application/json">: no payer name may close the tag.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def pareto_figure(rows: list[dict[str, Any]], label: str) -> str:
    keys = [str(r["key"] or "(none)") for r in rows]
    return _figure(
        [{"type": "bar", "x": keys, "y": [r["denials"] for r in rows], "name": "Denials"},
         {"type": "scatter", "mode": "lines+markers", "x": keys, "y": [r["cumulative_share"] for r in rows],
          "name": "Cumulative %", "yaxis": "y2"}],
        {"xaxis": {"title": {"text": label}, "type": "category"}, "yaxis": {"title": {"text": "Denials"}},
         "yaxis2": {"overlaying": "y", "side": "right", "range": [0, 105], "ticksuffix": "%"},
         "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y2", "y0": 80, "y1": 80,
                     "line": {"dash": "dot", "color": "#999"}}]},
    )


def aging_figure(rows: list[dict[str, Any]]) -> str:
    return _figure(
        [{"type": "bar", "name": label, "x": [r["payer"] for r in rows],
          "y": [r["buckets"][label] for r in rows]} for label, _, _ in kpis.AGING_BUCKETS],
        {"barmode": "stack", "yaxis": {"title": {"text": "Open balance ($)"}}},
    )


def days_to_pay_figure(rows: list[dict[str, Any]]) -> str:
    ref = kpis.KPI_BY_KEY["days_to_pay"].reference
    return _figure(
        [{"type": "bar", "x": [r["payer"] for r in rows], "y": [r["days"] for r in rows], "name": "Days to pay"}],
        {"yaxis": {"title": {"text": "Days"}},
         "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": ref, "y1": ref,
                     "line": {"dash": "dash", "color": "#c0392b"}}],
         "annotations": [{"xref": "paper", "x": 1, "y": ref, "text": f"{ref} days (Medicaid prompt pay)",
                          "showarrow": False, "yanchor": "bottom", "xanchor": "right"}]},
    )


# -- one KPI's trend (the fragment a tile's "Trend" control loads) -------------------------------

TREND_BREAKDOWNS: dict[str, str] = {"payer": "Payer", "payer_class": "Payer class", "program": "Program",
                                    "facility": "Facility"}
TREND_TOP = 8  # lines drawn at most; the CSV export has every group
_GROUP_MODELS: dict[str, tuple[Any, str]] = {"payer": (Payer, "No payer"), "program": (Program, "No program"),
                                             "facility": (Facility, "No facility")}


@dataclass
class TrendLine:
    group: str | None  # the kpi_series group value (an id as text, a payer class) or None overall
    label: str
    values: list[kpis.KpiValue | None]  # one per month of the period
    weight: Decimal  # the KPI's denominator summed over the period: which groups are drawn


def _group_labels(by: str, groups: list[str | None]) -> dict[str | None, str]:
    if by not in _GROUP_MODELS:
        return {g: g or "unknown" for g in groups}  # payer classes are their own labels
    model, nothing = _GROUP_MODELS[by]
    names = dict(model.objects.filter(pk__in=[int(g) for g in groups if g]).values_list("pk", "name"))
    return {g: names.get(int(g), f"#{g}") if g else nothing for g in groups}


def kpi_trend(f: kpis.KpiFilters, definition: kpis.KpiDefinition, by: str | None) -> dict[str, Any]:
    """One KPI by month over the period, overall or one line per ``by`` group (the largest by volume)."""
    months = period_months(f)
    per_group: dict[str | None, dict[dt.date, kpis.KpiValue]] = {}
    for row in kpis.kpi_series(f, group_by=by):
        value = row.values.get(definition.key)
        if value is not None:
            per_group.setdefault(row.group, {})[row.month] = value
    labels = _group_labels(by, list(per_group)) if by else {None: definition.name}
    lines = [
        TrendLine(group=g, label=labels[g], values=[by_month.get(m) for m in months],
                  weight=sum((abs(v.denominator) for v in by_month.values() if v.denominator is not None), Decimal(0)))
        for g, by_month in per_group.items() if any(v.value is not None for v in by_month.values())
    ]
    lines.sort(key=lambda line: (-line.weight, line.label))
    return {"months": months, "lines": lines[:TREND_TOP], "all_lines": lines, "hidden": max(len(lines) - TREND_TOP, 0)}


def kpi_trend_figure(definition: kpis.KpiDefinition, months: list[dt.date], lines: list[TrendLine]) -> str:
    x = [m.isoformat() for m in months]
    data: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines+markers", "name": line.label, "x": x,
         "y": [v.value if v is not None else None for v in line.values]}
        for line in lines
    ]
    if definition.reference is not None:
        data.append({"type": "scatter", "mode": "lines", "name": f"Benchmark ({definition.benchmark})", "x": x,
                     "y": [definition.reference] * len(x), "line": {"dash": "dash", "color": "#c0392b", "width": 1.5},
                     "hoverinfo": "y+name"})
    percent = definition.unit == "percent"
    return _figure(data, {
        "xaxis": {"type": "date", "tickformat": "%b %Y", "dtick": "M1" if len(x) <= 12 else "M3"},
        "yaxis": {"title": {"text": "Percent" if percent else "Days"}, "ticksuffix": "%" if percent else "",
                  "rangemode": "tozero"},
        "hovermode": "x unified", "showlegend": True,
    })


def _has_data() -> bool:
    return Feed.objects.exists() or Denial.objects.exists() or latest_month() is not None


# -- pages and fragments -----------------------------------------------------------------------

def _kpi_context(f: kpis.KpiFilters) -> dict[str, Any]:
    return {"tiles": kpi_tiles(f), "payer_mix": kpis.payer_mix(f)}


def _denial_context(f: kpis.KpiFilters) -> dict[str, Any]:
    by_category = kpis.denial_pareto(f, by="category")
    by_carc = kpis.denial_pareto(f, by="carc")
    labels = dict(DenialCategory.choices)
    for row in by_category:
        row["label"] = labels.get(row["key"], row["key"])
    return {"pareto_category": by_category, "pareto_carc": by_carc[:20],
            "pareto_category_fig": pareto_figure(by_category, "Category") if by_category else None,
            "pareto_carc_fig": pareto_figure(by_carc[:20], "CARC") if by_carc else None}


def _ar_context(f: kpis.KpiFilters) -> dict[str, Any]:
    aging = kpis.ar_aging_by_payer(f)
    return {"aging": aging, "aging_buckets": [b[0] for b in kpis.AGING_BUCKETS],
            "aging_fig": aging_figure(aging) if aging else None}


def _days_context(f: kpis.KpiFilters) -> dict[str, Any]:
    rows = kpis.days_to_pay_by_payer(f)
    return {"days_to_pay": rows, "days_fig": days_to_pay_figure(rows) if rows else None}


def _runs_context() -> dict[str, Any]:
    runs = list(IngestionRun.objects.select_related("file__feed", "job").annotate(warning_count=Count("warnings"))[:15])
    for run in runs:
        if run.job is not None:
            job_live_progress(run.job)
    quarantine = QuarantineItem.objects.filter(status=QuarantineStatus.OPEN).select_related("file")
    return {"runs": runs, "quarantine": quarantine[:25], "quarantine_count": quarantine.count(),
            "active_runs": any(r.status in ("queued", "running") for r in runs)}


@require_access("billing_dashboard")
def dashboard(request: HttpRequest) -> HttpResponse:
    f = dashboard_filters(request)
    context = {**_filter_context(request, f), "has_data": _has_data(), **_runs_context()}
    if context["has_data"]:
        context.update(_kpi_context(f) | _denial_context(f) | _ar_context(f) | _days_context(f))
    context["definitions"] = kpis.kpi_definitions()
    template = f"{DASHBOARD}#panels" if getattr(request, "htmx", False) else DASHBOARD
    return render(request, template, context)


@require_access("billing_dashboard")
def runs_fragment(request: HttpRequest) -> HttpResponse:
    """Ingestion runs and the quarantine queue; polls while a run is queued or running."""
    return render(request, f"{DASHBOARD}#runs", _runs_context())


def _denials(request: HttpRequest, f: kpis.KpiFilters) -> QuerySet[Denial]:
    qs = Denial.objects.filter(denied_on__gte=f.start, denied_on__lt=kpis.add_months(f.end, 1))
    if f.payers:
        qs = qs.filter(payer__in=f.payers)
    if f.programs:
        qs = qs.filter(program__in=f.programs)
    if category := request.GET.get("category"):
        qs = qs.filter(category=category)
    if carc := request.GET.get("carc"):
        # Pareto by CARC counts a denial under its first code.
        qs = qs.filter(carc_codes__0=carc)
    return qs.select_related("claim", "payer", "program").order_by("-denied_on", "-id")


@require_access("billing_dashboard")
def denial_claims(request: HttpRequest) -> HttpResponse:
    """Drill-down: the denials (and their claims) behind one Pareto bar."""
    f = dashboard_filters(request)
    qs = _denials(request, f)
    context = {"denials": qs[:100], "total": qs.count(), "category": request.GET.get("category", ""),
               "carc": request.GET.get("carc", ""), "query": request.GET.urlencode(),
               "category_label": dict(DenialCategory.choices).get(request.GET.get("category", ""), "")}
    template = "rcm_feeds/denial_claims.html" if getattr(request, "htmx", False) else "rcm_feeds/denial_claims_page.html"
    return render(request, template, context)


@require_access("billing_dashboard")
def kpi_trend_fragment(request: HttpRequest, kpi: str) -> HttpResponse:
    """One KPI by month with its benchmark line, overall or by payer/payer class/program/facility.

    An htmx request gets the fragment the dashboard swaps in under the tiles; a plain request a page
    of its own; ``?format=csv`` the table (every group, not only the ones drawn).
    """
    definition = kpis.KPI_BY_KEY.get(kpi)
    if definition is None:
        raise Http404("No such KPI.")
    f = dashboard_filters(request)
    by = request.GET.get("by") if request.GET.get("by") in TREND_BREAKDOWNS else None
    trend = kpi_trend(f, definition, by)
    if request.GET.get("format") == "csv":
        rows = [{"month": m, "group": line.label, "value": v.value if v else None,
                 "numerator": v.numerator if v else None, "denominator": v.denominator if v else None,
                 "change": v.change if v else None}
                for line in trend["all_lines"] for m, v in zip(trend["months"], line.values)]
        columns = [Column(h, h) for h in ("month", "group", "value", "numerator", "denominator", "change")]
        stem = f"{definition.name} by month" + (f" by {TREND_BREAKDOWNS[by].lower()}" if by else "")
        return export_response(rows=rows, columns=columns, stem=stem, fmt="csv")
    query = request.GET.copy()
    query.pop("format", None)
    lines = trend["lines"]
    context = {
        **trend, "definition": definition, "filters": f, "by": by, "by_label": TREND_BREAKDOWNS.get(by or "", ""),
        "breakdowns": TREND_BREAKDOWNS.items(), "query": query.urlencode(),
        "table": [{"month": m, "cells": [line.values[i] for line in lines]} for i, m in enumerate(trend["months"])],
        "figure": kpi_trend_figure(definition, trend["months"], lines) if lines else None,
    }
    template = "rcm_feeds/kpi_trend.html" if getattr(request, "htmx", False) else "rcm_feeds/kpi_trend_page.html"
    return render(request, template, context)


EXPORTS: dict[str, str] = {
    "kpis": "KPIs by month", "payer_mix": "Payer mix", "pareto_category": "Denials by category",
    "pareto_carc": "Denials by CARC", "ar_aging": "A/R aging by payer", "days_to_pay": "Days to pay by payer",
    "denials": "Denials", "runs": "Ingestion runs", "quarantine": "Quarantine queue",
}


@require_access("billing_dashboard")
def export(request: HttpRequest) -> HttpResponse:
    """Every table of the dashboard as CSV (``?table=...`` with the dashboard's filters)."""
    table = request.GET.get("table", "")
    if table not in EXPORTS:
        raise Http404("No such table.")
    f = dashboard_filters(request)
    rows: Any
    if table == "kpis":
        rows = []
        for r in kpis.kpi_series(f):
            for key, v in r.values.items():
                rows.append({"month": r.month, "kpi": kpis.KPI_BY_KEY[key].name, "value": v.value,
                             "numerator": v.numerator, "denominator": v.denominator, "change": v.change})
        columns = [Column(h, h) for h in ("month", "kpi", "value", "numerator", "denominator", "change")]
    elif table == "payer_mix":
        rows = [{"month": r.month, "payer_class": r.group, "share": r.values["payer_mix"].value,
                 "charges": r.values["payer_mix"].numerator} for r in kpis.payer_mix(f)]
        columns = [Column(h, h) for h in ("month", "payer_class", "share", "charges")]
    elif table in ("pareto_category", "pareto_carc"):
        rows = kpis.denial_pareto(f, by=table.split("_")[1])
        columns = [Column(h, h) for h in ("key", "denials", "denied_charge", "overturned", "share", "cumulative_share")]
    elif table == "ar_aging":
        rows = kpis.ar_aging_by_payer(f)
        columns = [Column("payer", "payer"), Column("as_of", "as_of"),
                   *[Column(label, lambda r, label=label: r["buckets"][label]) for label, _, _ in kpis.AGING_BUCKETS],
                   Column("total", "total")]
    elif table == "days_to_pay":
        rows = kpis.days_to_pay_by_payer(f)
        columns = [Column(h, h) for h in ("payer", "payer_class", "days", "claims")]
    elif table == "denials":
        rows = _denials(request, f)
        columns = [Column("denied_on", "denied_on"), Column("claim", "claim.patient_control_number"),
                   Column("payer", "payer.name"), Column("program", "program.name"), Column("level", "level"),
                   Column("category", "get_category_display"), Column("carc", lambda d: " ".join(d.carc_codes)),
                   Column("denied_charge", "denied_charge"), Column("status", "get_status_display"),
                   Column("resolved_on", "resolved_on")]
    elif table == "runs":
        rows = IngestionRun.objects.select_related("file__feed")[:1000]
        columns = [Column("run", "pk"), Column("feed", "file.feed.name"), Column("file", "file.filename"),
                   Column("status", "get_status_display"), Column("started_at", "started_at"),
                   Column("finished_at", "finished_at"), Column("message", "message")]
    else:
        rows = QuarantineItem.objects.filter(status=QuarantineStatus.OPEN).select_related("file")
        columns = [Column("item", "pk"), Column("file", "file.filename"), Column("scope", "scope"),
                   Column("reason_code", "reason_code"), Column("reason", "reason"),
                   Column("segment", "segment_number"), Column("line", "line_number")]
    return export_response(rows=rows, columns=columns, stem=EXPORTS[table], fmt="csv")
