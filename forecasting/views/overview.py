"""The forecasting overview (resource ``forecasting``): the period's pipeline by stage and category, the
weighted pipeline beside the calls and the quota, coverage per team, and (for analysts) opening and
closing periods."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from revops.access import CHANGE, require_access

from .. import engine, services
from ..forms import PeriodOpenForm
from ..models import ForecastCall, ForecastPeriod, ForecastRun, ForecastValue, RunKind, RunStatus
from ..selectors import pipeline as reads
from . import figures
from .common import RESOURCE, can_change, can_submit_calls, period_from

PAGE = "forecasting/overview.html"


def _latest_pipeline_forecast(period: ForecastPeriod) -> tuple[ForecastRun | None, Decimal | None]:
    """The latest successful weighted-pipeline run (by as-of day) with a company forecast for the period's
    months, and that forecast."""
    months = [m for m in (engine.add_months(period.start, k) for k in range(3)) if m < period.end]
    runs = ForecastRun.objects.filter(kind=RunKind.PIPELINE, status=RunStatus.SUCCEEDED).order_by("-as_of", "-id")
    for run in runs[:20]:
        total = (ForecastValue.objects.filter(run=run, level="company", month__in=months)
                 .aggregate(t=Sum("point"))["t"])
        if total is not None:
            return run, total
    return None, None


def overview_context(request: HttpRequest, period: ForecastPeriod | None,
                     form: PeriodOpenForm | None = None) -> dict[str, Any]:
    rates = reads.conversion_rates()
    stages = reads.pipeline_by_stage(rates=rates)
    context: dict[str, Any] = {
        "period": period, "periods": list(ForecastPeriod.objects.all()[:36]), "stages": stages,
        "stage_totals": {"count": sum(r.count for r in stages), "amount": sum((r.amount for r in stages), Decimal(0)),
                         "weighted": sum((r.weighted for r in stages), Decimal(0))},
        "stage_figure": figures.stage_figure(stages) if any(r.count for r in stages) else None,
        "can_change": can_change(request), "can_submit": can_submit_calls(request),
        "open_form": form or (PeriodOpenForm() if can_change(request) else None),
    }
    if period is not None:
        pipeline = reads.period_pipeline(period=period, rates=rates)
        calls, trees = reads.company_calls(period=period)
        quota = reads.period_quota(period=period)
        run, run_total = _latest_pipeline_forecast(period)
        submitted = ForecastCall.objects.filter(period=period)
        context.update({
            "pipeline": pipeline, "calls": calls, "quota": quota, "run": run, "run_total": run_total,
            "remaining": (quota.quota - quota.actual) if quota else None,
            "coverage": reads.coverage_by_team(period=period, trees=trees, quota=quota, rates=rates),
            "company_coverage": reads.coverage(pipeline=pipeline["amount"], quota=quota.quota if quota else None,
                                               actual=quota.actual if quota else None, commit=calls["commit"]),
            "calls_count": submitted.count(), "late_count": submitted.filter(is_late=True).count(),
            "callers": submitted.values("person").distinct().count(),
        })
    return context


@require_access(RESOURCE)
def overview(request: HttpRequest) -> HttpResponse:
    """``?period=<id>`` (default: the open period containing today)."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    period = period_from(request.GET.get("period"))
    return render(request, PAGE, overview_context(request, period))


@require_access(RESOURCE, CHANGE)
def period_open(request: HttpRequest) -> HttpResponse:
    """Open the month (or quarter) the form names; an existing one is simply shown."""
    if request.method != "POST":
        return redirect("forecasting_overview")
    form = PeriodOpenForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        existed = ForecastPeriod.objects.filter(kind=data["kind"], start=data["start"]).exists()
        try:
            period = services.period_ensure(start=data["start"], kind=data["kind"], deadline=data["deadline"])
        except ValidationError as exc:
            form.add_error("start", exc.messages)
        else:
            messages.success(request, f"{period} {'was already open' if existed else 'is open'}: calls are due by "
                                      f"{period.deadline:%d %b %Y}.")
            return redirect(f"{reverse('forecasting_overview')}?period={period.pk}")
    return render(request, PAGE, overview_context(request, period_from(None), form), status=400)


@require_access(RESOURCE, CHANGE, model=ForecastPeriod)
def period_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Close a period: its calls become final and every forecast of it is scored."""
    period = get_object_or_404(ForecastPeriod, pk=pk)
    target = f"{reverse('forecasting_overview')}?period={period.pk}"
    if request.method != "POST":
        return redirect(target)
    try:
        result = services.period_close(period=period)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{period} closed: {result['scores']} forecasts scored against "
                                  f"{result['bookings']:,} of bookings. See the accuracy page.")
    return redirect(target)
