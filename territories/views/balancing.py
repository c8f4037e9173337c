"""The workspace's "Balance automatically" section: start the optimizer as a job, see its progress and runs."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, render

from revops.access import CHANGE, allowed, require_access
from revops.jobs import job_live_progress

from .. import balancing, selectors
from ..models import BalanceRun, TerritoryPlan

RESOURCE = "territories"
TEMPLATE = "territories/balance_runs.html"


class BalanceForm(forms.Form):
    territories = forms.IntegerField(min_value=1, max_value=500, label="Territories",
                                     help_text="Leaf territories to balance into (more than today's adds new ones).")
    tolerance_pct = forms.DecimalField(min_value=0, max_value=50, decimal_places=1, initial=Decimal("5"),
                                       label="Tolerance (±% of the mean)")
    weight_potential = forms.FloatField(min_value=0, max_value=100, initial=1.0, label="Weight: potential")
    weight_workload = forms.FloatField(min_value=0, max_value=100, initial=0.0, label="Weight: workload")
    weight_compactness = forms.FloatField(min_value=0, max_value=100, initial=1.0, label="Weight: compactness")
    # About 1/tolerance leaves territories already within the tolerance alone (docs/territories.md).
    weight_disruption = forms.FloatField(min_value=0, max_value=100, initial=20.0, label="Weight: disruption")


def runs_context(request: HttpRequest, plan: TerritoryPlan, form: BalanceForm | None = None,
                 error: str | None = None) -> dict[str, Any]:
    leaves = len(selectors.leaf_territories(plan))
    runs = list(BalanceRun.objects.filter(plan=plan).select_related("job", "created_by")[:5])
    for run in runs:
        if run.job is not None:
            job_live_progress(run.job)
    can_run = plan.is_editable and allowed(getattr(request, "role", None), RESOURCE, CHANGE)
    return {"plan": plan, "runs": runs, "can_run": can_run, "error": error,
            "form": form or BalanceForm(initial={"territories": max(leaves, 1)}),
            "running": any(r.job is not None and not r.job.is_finished for r in runs)}


@require_access(RESOURCE, CHANGE, model=TerritoryPlan)
def balance_runs(request: HttpRequest, pk: int) -> HttpResponse:
    """POST starts a run (a job with a progress bar); the answer is the section with the run on top."""
    plan = get_object_or_404(TerritoryPlan, pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = BalanceForm(request.POST)
    status = 200
    error = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            balancing.balance_start(
                plan=plan, territories=data["territories"], tolerance=data["tolerance_pct"] / 100,
                weight_potential=data["weight_potential"], weight_workload=data["weight_workload"],
                weight_compactness=data["weight_compactness"], weight_disruption=data["weight_disruption"],
                user=request.user)
            form = None
        except ValidationError as exc:
            error, status = " ".join(exc.messages), 400
    else:
        status = 400
    if status == 400 and request.htmx:  # type: ignore[attr-defined]
        status = 200  # htmx 2 does not swap 4xx answers: the form comes back with its errors
    return render(request, TEMPLATE, runs_context(request, plan, form, error), status=status)
