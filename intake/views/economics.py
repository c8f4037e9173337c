"""Program profitability and program costs (resource ``admissions``)."""
from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render

from revops.access import CHANGE, require_access
from revops.exports import Column, export_response

from .. import services
from ..forms import PeriodForm, ProgramCostForm
from ..models import Admission, ProgramCost
from ..selectors.profitability import ProgramProfitability, program_profitability
from .common import ADMISSIONS, can, export_format, is_htmx

COST_COLUMNS = [Column("program_code", "program.code"), Column("program", "program.name"), Column("month", "month"),
                Column("category", "category"), Column("amount", "amount"), Column("hours", "hours"),
                Column("note", "note")]


def profitability_figure(rows: list[ProgramProfitability]) -> str:
    """Margin per patient-day on paper and after denials, by program (the range's totals)."""
    by_program: dict[str, list[Any]] = {}
    for r in rows:
        by_program.setdefault(r.program_name, []).append(r)
    names = sorted(by_program)

    def total(name: str, attr: str) -> float | None:
        rs = by_program[name]
        days = sum(r.patient_days for r in rs)
        if not days:
            return None
        value = sum((getattr(r, attr) for r in rs), 0)
        return round(float(value) / days, 2)

    paper = [total(n, "margin_on_paper") for n in names]
    after = [total(n, "margin_after_denials") for n in names]
    data = [
        {"type": "bar", "name": "Margin per patient-day on paper", "x": names, "y": paper,
         "marker": {"color": "rgba(37,99,235,0.35)"}, "hovertemplate": "%{x}<br>On paper %{y:,.2f}<extra></extra>"},
        {"type": "bar", "name": "After denials", "x": names, "y": after, "marker": {"color": "#0f766e"},
         "hovertemplate": "%{x}<br>After denials %{y:,.2f}<extra></extra>"},
    ]
    layout = {"barmode": "group", "height": 340, "margin": {"l": 72, "r": 16, "t": 32, "b": 110},
              "legend": {"orientation": "h", "y": 1.15}, "yaxis": {"title": {"text": "Margin per patient-day"},
                                                                     "tickformat": ",.0f", "zeroline": True},
              "font": {"family": "system-ui, sans-serif", "size": 12}}
    text = json.dumps({"data": data, "layout": layout})
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


PROFIT_COLUMNS = ["program_code", "program_name", "level_of_care", "period_start", "period_end", "admissions",
                  "discharges", "average_length_of_stay", "patient_days", "claims", "gross_charges", "net_on_paper",
                  "net_after_denials", "leakage", "denied", "written_off", "direct_cost", "ur_cost", "ur_hours",
                  "margin_on_paper", "margin_after_denials", "margin_pct_after_denials",
                  "net_per_patient_day_on_paper", "net_per_patient_day_after_denials", "net_per_admission_on_paper",
                  "net_per_admission_after_denials", "margin_per_patient_day_on_paper",
                  "margin_per_patient_day_after_denials", "margin_per_admission_on_paper",
                  "margin_per_admission_after_denials", "ur_cost_per_admission", "ur_hours_per_admission",
                  "unlinked_claims", "unlinked_charges"]


@require_access(ADMISSIONS)
def profitability(request: HttpRequest) -> HttpResponse:
    """Per program and month/quarter/range, on paper and after denials side by side; ``?format=csv|xlsx``."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    params = request.GET.copy()
    params.pop("format", None)
    form = PeriodForm(params or None)
    v = form.values()
    rows = program_profitability(start=v["start"], end=v["end"], grain=v["grain"],
                                 program_ids=[v["program"].pk] if v["program"] else None)
    if fmt := export_format(request):
        return export_response(rows=[r.as_dict() for r in rows], columns=[Column(c, c) for c in PROFIT_COLUMNS],
                               stem="program profitability", fmt=fmt)
    context = {"form": form, "rows": rows, "figure": profitability_figure(rows) if rows else None,
               "query": params.urlencode(), "v": v, "any_admissions": Admission.objects.exists(),
               "tab": "profitability"}
    return render(request, "intake/profitability.html", context)


def _costs() -> Any:
    return ProgramCost.objects.select_related("program").order_by("-month", "program__name", "category")


@require_access(ADMISSIONS)
def costs(request: HttpRequest) -> HttpResponse:
    """Program costs by month; POST sets one (program, month, category); ``?format=csv|xlsx`` exports."""
    form = ProgramCostForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.program_cost_save(program=d["program"], month=d["month"], category=d["category"],
                                           amount=d["amount"], hours=d.get("hours"), note=d.get("note") or "")
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                return redirect("intake_costs")
        status = 400
    elif request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    qs = _costs()
    if request.GET.get("program"):
        qs = qs.filter(program_id=request.GET["program"]) if request.GET["program"].isdigit() else qs.none()
    if fmt := export_format(request):
        return export_response(rows=qs, columns=COST_COLUMNS, stem="program costs", fmt=fmt)
    page = Paginator(qs, 60).get_page(request.GET.get("page"))
    return render(request, "intake/costs.html", {"form": form, "page": page, "count": page.paginator.count,
                                                 "can_change": can(request, ADMISSIONS), "tab": "costs"},
                  status=status)


@require_access(ADMISSIONS, CHANGE, model=ProgramCost)
def cost_delete(request: HttpRequest, pk: int) -> HttpResponse:
    cost = get_object_or_404(ProgramCost.objects.all(), pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    services.program_cost_delete(cost=cost)
    return HttpResponse("") if is_htmx(request) else redirect("intake_costs")
