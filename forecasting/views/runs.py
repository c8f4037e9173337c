"""Forecast runs (resource ``forecasting``): the list, "Run weighted pipeline" (and time series and cash
when this installation has them), and a run's page with its forecast against actuals and the 80%/95%
intervals per level and key. A run still working shows its job's progress and refreshes when done."""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import urlencode

from revops.access import CHANGE, require_access
from revops.exports import Column, export_response

from ..forms import RunStartForm
from ..models import ForecastRun, ForecastValue, RunKind, RunStatus, Stage
from ..selectors import pipeline as reads
from . import figures
from .common import RESOURCE, can_change, export_format, is_htmx, optional_run_starters, readable_values
from .common import run_start as start_run

VALUE_COLUMNS = [Column(name, name) for name in ("level", "key", "label", "model", "month", "point", "lo80", "hi80",
                                                 "lo95", "hi95")]


def available_kinds() -> list[str]:
    return [RunKind.PIPELINE.value, *optional_run_starters()]


def _runs_context(request: HttpRequest, form: RunStartForm | None = None) -> dict[str, Any]:
    runs = (ForecastRun.objects.select_related("job", "created_by").annotate(values_count=Count("values"))
            .order_by("-created_at", "-id"))
    kinds = available_kinds()
    return {"page": Paginator(runs, 25).get_page(request.GET.get("page")), "can_change": can_change(request),
            "form": form or (RunStartForm(kinds=kinds, initial={"as_of": timezone.localdate()})
                             if can_change(request) else None),
            "kinds": [(k, RunKind(k).label) for k in kinds],
            "missing_kinds": [RunKind(k).label for k in RunKind.values if k not in kinds]}


@require_access(RESOURCE)
def runs(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return render(request, "forecasting/runs.html", _runs_context(request))


@require_access(RESOURCE, CHANGE)
def run_start(request: HttpRequest) -> HttpResponse:
    """Start a run of the kind the form names; the weighted pipeline runs at once, the others as jobs."""
    if request.method != "POST":
        return redirect("forecasting_runs")
    form = RunStartForm(request.POST, kinds=available_kinds())
    if form.is_valid():
        data = form.cleaned_data
        try:
            run = start_run(kind=data["kind"], as_of=data["as_of"] or timezone.localdate(), horizon=data["horizon"],
                        user=request.user)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            label = RunKind(run.kind).label
            if run.status == RunStatus.SUCCEEDED:
                messages.success(request, f"{label} run as of {run.as_of:%d %b %Y} done.")
            else:
                messages.info(request, f"{label} run as of {run.as_of:%d %b %Y} started; this page follows it.")
            return redirect("forecasting_run", pk=run.pk)
    return render(request, "forecasting/runs.html", _runs_context(request, form), status=400)


def _series_choices(request: HttpRequest, run: ForecastRun) -> list[dict[str, Any]]:
    rows = (readable_values(request, ForecastValue.objects.filter(run=run)).values("level", "key", "label")
            .distinct().order_by("level", "key"))
    order = {"company": 0, "territory": 1, "service_line": 2, "program": 3, "payer": 4, "rep": 5}
    out = [{"level": r["level"], "key": r["key"], "label": reads.series_label(r["level"], r["key"], r["label"])}
           for r in rows]
    return sorted(out, key=lambda r: (order.get(r["level"], 9), r["level"], r["label"]))


@require_access(RESOURCE, model=ForecastRun)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """``?level=&key=`` (or ``?series=level|key``) picks the series (default the company); ``?format=csv|xlsx`` exports the run's values."""
    run = get_object_or_404(ForecastRun.objects.select_related("job", "created_by"), pk=pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    if fmt := export_format(request):
        values = readable_values(request, ForecastValue.objects.filter(run=run)).order_by("level", "key", "model",
                                                                                          "month")
        return export_response(rows=values, columns=VALUE_COLUMNS, stem=f"forecast run {run.pk} values", fmt=fmt)
    choices = _series_choices(request, run)
    level, key = request.GET.get("level"), request.GET.get("key")
    if request.GET.get("series"):
        level, _, key = request.GET["series"].partition("|")
    chosen = next((c for c in choices if c["level"] == level and c["key"] == key), None) or \
        next((c for c in choices if c["level"] == "company"), None) or (choices[0] if choices else None)
    context: dict[str, Any] = {"run": run, "choices": choices, "chosen": chosen,
                               "finished": run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)}
    if chosen is not None:
        series = reads.run_series(run=run, level=chosen["level"], key=chosen["key"])
        months = sorted({v.month for values in series.values() for v in values})
        actual = ({v.month: v.point for v in series["actual"]} if "actual" in series
                  else reads.run_actuals(run=run, level=chosen["level"], key=chosen["key"], months=months))
        table = []
        for model, values in sorted(series.items()):
            if model == "actual":
                continue
            for v in values:
                table.append({"v": v, "actual": actual.get(v.month) if actual else None})
        context.update({"figure": figures.run_figure(series=series, actual=actual, label=chosen["label"]),
                        "table": table, "has_actual": bool(actual),
                        "has_intervals": any(r["v"].lo80 is not None for r in table)})
    conversion = run.summary.get("conversion") if isinstance(run.summary, dict) else None
    if conversion:
        names = dict(Stage.objects.values_list("pk", "name"))
        context["conversion"] = [{**c, "stage": names.get(c["stage_id"], c["stage_id"]),
                                  "rate_pct": c["rate"] * 100} for c in conversion]
    context["export_query"] = urlencode({"format": "csv"})
    if is_htmx(request):
        return render(request, "forecasting/run.html#run-body", context)
    return render(request, "forecasting/run.html", context)
