"""Scenario pages (mounted at ``scenarios/``): the list (mine and shared), the form, a scenario's base vs
scenario tables with the cash chart (and its computation's progress bar while the job runs: the page body is
fetched again with htmx when the job finishes), share / recompute / delete, and CSV/Excel of every table.

Resource ``scenarios`` (view and change: admins, executives, analysts). A private scenario is 404 to everyone but
its author; sharing and deleting are for the author (and admins): for anyone else the scenario is not found.
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from revops.access import CHANGE, allowed, require_access
from revops.exports import FORMATS, Column, export_response
from revops.jobs import job_live_progress
from revops.models import JobStatus

from . import selectors as reads
from . import services
from .forms import ERROR_FIELDS, ScenarioForm
from .models import Scenario, ScenarioKind

RESOURCE = reads.RESOURCE
TABLES = ("summary", "monthly", "assumptions")


def _fmt(request: HttpRequest) -> str | None:
    fmt = request.GET.get("format")
    return fmt if fmt in FORMATS else None


def _visible(request: HttpRequest, pk: int) -> Scenario:
    return get_object_or_404(reads.visible_scenarios(user=request.user).select_related("job"), pk=pk)


def _managed(request: HttpRequest, pk: int) -> Scenario:
    """A scenario the user may share or delete (their own; any visible one for an admin), else 404."""
    scenario = _visible(request, pk)
    if not reads.may_manage(scenario=scenario, user=request.user, role=getattr(request, "role", None)):
        from django.http import Http404

        raise Http404("No scenario of yours with this id.")
    return scenario


def _post_only(request: HttpRequest) -> HttpResponse | None:
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])


def _headline(s: Scenario, key: str) -> Any:
    for row in (s.result or {}).get("summary", []):
        if row["key"] == key:
            return row["delta"]
    return None


LIST_COLUMNS = [
    Column("id", "pk"), Column("name", "name"), Column("kind", "get_kind_display"), Column("change", "description"),
    Column("window_end", "window_end"), Column("window_months", "window_months"),
    Column("effective_month", "effective_month"), Column("horizon_months", "horizon_months"),
    Column("shared", "shared"), Column("author", lambda s: s.created_by and s.created_by.username),
    Column("created_at", "created_at"), Column("computed_at", "computed_at"),
    Column("status", lambda s: reads.scenario_status(s)), Column("refused_because", "error"),
    Column("net_revenue_delta", lambda s: _headline(s, "net_revenue")),
    Column("margin_delta", lambda s: _headline(s, "margin")),
    Column("cash_delta_horizon", lambda s: (s.result or {}).get("totals", {}).get("cash_delta")),
]


@require_access(RESOURCE)
def scenario_list(request: HttpRequest) -> HttpResponse:
    """My scenarios and the shared ones; ``?format=csv|xlsx``."""
    rows = list(reads.visible_scenarios(user=request.user))
    if fmt := _fmt(request):
        return export_response(rows=rows, columns=LIST_COLUMNS, stem="Scenarios", fmt=fmt)
    for s in rows:
        s.status = reads.scenario_status(s)
        s.margin_delta, s.cash_delta = _headline(s, "margin"), (s.result or {}).get("totals", {}).get("cash_delta")
    return render(request, "scenarios/list.html", {
        "mine": [s for s in rows if s.created_by_id == request.user.pk],
        "shared": [s for s in rows if s.created_by_id != request.user.pk],
        "kinds": ScenarioKind.choices, "can_change": allowed(getattr(request, "role", None), RESOURCE, CHANGE)})


def _form_errors(form: ScenarioForm, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    kind = form.cleaned_data.get("kind")
    for name, errs in exc.message_dict.items():
        candidates = ERROR_FIELDS.get(name, (name,))
        if name == "payer_id" and kind == ScenarioKind.TIGHTEN_INTAKE_RULE:
            candidates = ("intake_payer_id",)
        field = next((c for c in candidates if c in form.fields), None)
        form.add_error(field, errs)


@require_access(RESOURCE, CHANGE)
def scenario_new(request: HttpRequest) -> HttpResponse:
    """The form (GET, ``?kind=`` preselects); POST validates, computes and saves, then shows the scenario."""
    if request.method == "POST":
        form = ScenarioForm(request.POST)
        if form.is_valid():
            try:
                scenario = services.scenario_create(user=request.user, **form.service_arguments())
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, f"Scenario “{scenario.name}” saved; it is being computed.")
                return redirect("scenarios_detail", pk=scenario.pk)
        status = 400
    else:
        kind = request.GET.get("kind", "")
        form = ScenarioForm(initial={"kind": kind if kind in ScenarioKind.values else ScenarioKind.EXIT_CONTRACT})
        status = 200
    return render(request, "scenarios/new.html", {"form": form, "default_window_end": services.default_window_end()},
                  status=status)


SUMMARY_COLUMNS = [Column("figure", "label"), Column("unit", "unit"), Column("base", "base"),
                   Column("scenario", "scenario"), Column("change", "delta")]
MONTHLY_COLUMNS = [Column("month", "month")] + [
    Column(f"{key}_{part}", f"{key}_{part}") for key in ("claims", "patient_days", "net_revenue", "margin", "cash")
    for part in ("base", "scenario", "delta")]
ASSUMPTION_COLUMNS = [Column("assumption", "label"), Column("value", "value")]


def _chart(result: dict[str, Any]) -> dict[str, Any]:
    months = [r["month"][:7] for r in result.get("monthly", [])]

    def series(key: str) -> list[float]:
        return [float(r[key]) for r in result.get("monthly", [])]

    return {"data": [
        {"type": "scatter", "mode": "lines+markers", "name": "Base case", "x": months, "y": series("cash_base")},
        {"type": "scatter", "mode": "lines+markers", "name": "Scenario", "x": months, "y": series("cash_scenario"),
         "line": {"dash": "dash"}},
        {"type": "bar", "name": "Change", "x": months, "y": series("cash_delta"), "opacity": 0.45},
    ], "layout": {"height": 340, "margin": {"l": 70, "r": 20, "t": 10, "b": 40}, "yaxis": {"title": "Cash ($)"},
                  "legend": {"orientation": "h"}}}


@require_access(RESOURCE, model=Scenario)
def scenario_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Base vs scenario; ``?table=summary|monthly|assumptions&format=csv|xlsx`` exports a table."""
    scenario = _visible(request, pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    result = scenario.result or {}
    if fmt := _fmt(request):
        table = request.GET.get("table", "summary")
        table = table if table in TABLES else "summary"
        columns = {"summary": SUMMARY_COLUMNS, "monthly": MONTHLY_COLUMNS, "assumptions": ASSUMPTION_COLUMNS}[table]
        return export_response(rows=result.get(table, []), columns=columns, stem=f"{scenario.name} {table}", fmt=fmt)
    role = getattr(request, "role", None)
    job = job_live_progress(scenario.job) if scenario.job is not None else None
    template = "scenarios/detail.html#scenario-body" if getattr(request, "htmx", False) else "scenarios/detail.html"
    return render(request, template, {
        "scenario": scenario, "result": result, "chart": _chart(result), "job": job,
        "computing": job is not None and not job.is_finished,
        # After a recompute: whether the data changed since the computation before it (None: nothing to say).
        "recompute_changed": (job.result or {}).get("changed") if job and job.status == JobStatus.SUCCEEDED else None,
        "share_url": request.build_absolute_uri(reverse("scenarios_detail", kwargs={"pk": scenario.pk})),
        "can_manage": reads.may_manage(scenario=scenario, user=request.user, role=role),
        "can_recompute": reads.may_recompute(scenario=scenario, user=request.user, role=role)})


@require_access(RESOURCE, CHANGE, model=Scenario)
def scenario_share(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = _managed(request, pk)
    if (bad := _post_only(request)) is not None:
        return bad
    shared = request.POST.get("shared", "1" if not scenario.shared else "0") in ("1", "true", "on")
    services.scenario_share(scenario=scenario, shared=shared)
    messages.success(request, "Shared: everyone who may view scenarios can open its link." if shared
                     else "Private again: only you can open it.")
    return redirect("scenarios_detail", pk=scenario.pk)


@require_access(RESOURCE, CHANGE, model=Scenario)
def scenario_recompute(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = _visible(request, pk)
    if (bad := _post_only(request)) is not None:
        return bad
    try:
        services.scenario_recompute_start(scenario=scenario, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Recomputing from today's data; the figures below are replaced when it finishes.")
    return redirect("scenarios_detail", pk=scenario.pk)


@require_access(RESOURCE, CHANGE, model=Scenario)
def scenario_delete(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = _managed(request, pk)
    if (bad := _post_only(request)) is not None:
        return bad
    name = scenario.name
    services.scenario_delete(scenario=scenario)
    messages.success(request, f"Scenario “{name}” deleted.")
    return redirect("scenarios_list")
