"""Territory plans (resource ``territories``): the list, creating, copying, settings, deleting, and the lifecycle.

Lifecycle buttons post here: propose and return to draft need the change right; approve and
activate the approve right (executives and admins). A service that refuses (a draft cannot be
approved, history already runs past the date) answers with its message in place (htmx) or as a
flash message on the plan.
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from revops.access import APPROVE, CHANGE, require_access
from revops.exports import Column, export_response

from .. import selectors, services
from ..forms import ActivateForm, CopyForm, PlanForm
from ..models import PlanStatus, TerritoryPlan
from .common import RESOURCE, can_approve, can_change, export_format, is_htmx

PLAN_COLUMNS = [
    Column("id", "pk"), Column("name", "name"), Column("status", "get_status_display"),
    Column("effective_from", "effective_from"), Column("effective_to", "effective_to"),
    Column("potential_basis", "get_potential_basis_display"), Column("holdout_days", "holdout_days"),
    Column("territories", "territory_count"), Column("accounts_assigned", "assigned"),
    Column("accounts_unassigned", "unassigned"), Column("cv", "cv"), Column("based_on", "based_on.name"),
    Column("approved_at", "approved_at"), Column("activated_at", "activated_at"),
]


def plans_listed() -> list[TerritoryPlan]:
    """Every plan with its territory count, assigned and unassigned accounts and CV of potential."""
    plans = list(TerritoryPlan.objects.select_related("based_on").annotate(
        territory_count=Count("territories", distinct=True),
    ).order_by("-effective_from", "name"))
    from ..models import PlanAssignment

    counts = {row["plan"]: row for row in PlanAssignment.objects.values("plan").annotate(
        assigned=Count("id", filter=Q(territory__isnull=False)), unassigned=Count("id", filter=Q(territory__isnull=True)))}
    for plan in plans:
        row = counts.get(plan.pk, {})
        plan.assigned = row.get("assigned", 0)  # type: ignore[attr-defined]
        plan.unassigned = row.get("unassigned", 0)  # type: ignore[attr-defined]
        cv = selectors.plan_balance(plan=plan).cv if plan.territory_count else None  # type: ignore[attr-defined]
        plan.cv = round(cv, 4) if cv is not None else None  # type: ignore[attr-defined]
        plan.cv_pct = cv * 100 if cv is not None else None  # type: ignore[attr-defined]
    return plans


@require_access(RESOURCE)
def plans(request: HttpRequest) -> HttpResponse:
    """GET: the plans (``?format=csv|xlsx`` exports them); POST: create a plan (change right)."""
    form = PlanForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                plan = services.plan_create(**form.service_kwargs(), user=request.user)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Plan {plan.name} created: add its territories and rules.")
                return redirect("territories_plan", pk=plan.pk)
        status = 400
    rows = plans_listed()
    if (fmt := export_format(request)) and request.method == "GET":
        return export_response(rows=rows, columns=PLAN_COLUMNS, stem="Territory plans", fmt=fmt)
    active = next((p for p in rows if p.status == PlanStatus.ACTIVE), None)
    return render(request, "territories/plans.html", {
        "plans": rows, "form": form, "can_change": can_change(request), "active": active,
    }, status=status)


@require_access(RESOURCE, CHANGE, model=TerritoryPlan)
def plan_copy(request: HttpRequest, pk: int) -> HttpResponse:
    """A new draft with the plan's hierarchy, rules and open coverage: the start of another scenario."""
    plan = get_object_or_404(TerritoryPlan, pk=pk)
    form = CopyForm(request.POST or None, initial={"name": f"{plan.name} (copy)"})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                copy = services.plan_copy(plan=plan, name=form.cleaned_data["name"],
                                          effective_from=form.cleaned_data.get("effective_from"), user=request.user)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Scenario {copy.name} created from {plan.name}.")
                return redirect("territories_plan", pk=copy.pk)
        status = 400
    return render(request, "territories/plan_copy.html", {"plan": plan, "form": form}, status=status)


@require_access(RESOURCE, CHANGE, model=TerritoryPlan)
def plan_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """Name, dates, potential basis and hold-out of a draft or proposed plan."""
    plan = get_object_or_404(TerritoryPlan, pk=pk)
    initial = {f: getattr(plan, f) for f in PlanForm.base_fields}
    form = PlanForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.plan_update(plan=plan, **form.service_kwargs())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Plan {plan.name} saved.")
                return redirect("territories_plan", pk=plan.pk)
        status = 400
    if not plan.is_editable:
        for field in form.fields.values():
            field.disabled = True
    return render(request, "territories/plan_settings.html", {"plan": plan, "form": form}, status=status)


@require_access(RESOURCE, CHANGE, model=TerritoryPlan)
def plan_delete(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(TerritoryPlan, pk=pk)
    error = ""
    if request.method == "POST":
        try:
            services.plan_delete(plan=plan)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, f"Plan {plan.name} deleted.")
            return redirect("territories_plans")
    return render(request, "territories/plan_delete.html", {"plan": plan, "error": error},
                  status=400 if error else 200)


# -- lifecycle -------------------------------------------------------------------------------------

def _lifecycle(request: HttpRequest, plan: TerritoryPlan, step: Any) -> HttpResponse:
    """Run one lifecycle step (a function returning the success message); refusals are shown in place."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    target = reverse("territories_plan", kwargs={"pk": plan.pk})
    try:
        message = step()
    except ValidationError as exc:
        error = " ".join(exc.messages)
        if is_htmx(request):
            return render(request, "territories/workspace.html#status",
                          {"status_error": error, "plan": plan})
        messages.error(request, error)
        return redirect(target)
    messages.success(request, message)
    return HttpResponseClientRedirect(target) if is_htmx(request) else redirect(target)


@require_access(RESOURCE, CHANGE, model=TerritoryPlan)
def plan_propose(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(TerritoryPlan, pk=pk)

    def step() -> str:
        services.plan_propose(plan=plan)
        return f"Plan {plan.name} proposed: an executive or an admin can approve it now."

    return _lifecycle(request, plan, step)


@require_access(RESOURCE, CHANGE, model=TerritoryPlan)
def plan_return_to_draft(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(TerritoryPlan, pk=pk)

    def step() -> str:
        services.plan_return_to_draft(plan=plan)
        return f"Plan {plan.name} is a draft again."

    return _lifecycle(request, plan, step)


@require_access(RESOURCE, APPROVE, model=TerritoryPlan)
def plan_approve(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(TerritoryPlan, pk=pk)

    def step() -> str:
        services.plan_approve(plan=plan, user=request.user)
        return f"Plan {plan.name} approved: activate it on the date it takes effect."

    return _lifecycle(request, plan, step)


@require_access(RESOURCE, APPROVE, model=TerritoryPlan)
def plan_activate(request: HttpRequest, pk: int) -> HttpResponse:
    """Make an approved plan the active one from a date; the message gives the ownership counts."""
    plan = get_object_or_404(TerritoryPlan, pk=pk)
    form = ActivateForm(request.POST or None)

    def step() -> str:
        if not form.is_valid():
            raise ValidationError("Give the date the plan takes effect.")
        on = form.cleaned_data["on"]
        counts = services.plan_activate(plan=plan, on=on, user=request.user)
        held = f", {counts['held_out']} held out by their old owner for {plan.holdout_days} days" \
            if counts["held_out"] else ""
        return (f"Plan {plan.name} is active from {on:%b} {on.day}, {on.year}: {counts['accounts']} accounts, "
                f"{counts['moved']} moved{held}.")

    return _lifecycle(request, plan, step)


def lifecycle_flags(request: HttpRequest, plan: TerritoryPlan) -> dict[str, bool]:
    """Which lifecycle buttons the page shows for this plan and role."""
    change, approve = can_change(request), can_approve(request)
    return {
        "may_propose": change and plan.status == PlanStatus.DRAFT,
        "may_return": change and plan.status in (PlanStatus.PROPOSED, PlanStatus.APPROVED),
        "may_approve": approve and plan.status == PlanStatus.PROPOSED,
        "may_activate": approve and plan.status == PlanStatus.APPROVED,
        "may_copy": change,
        "may_delete": change and plan.status not in (PlanStatus.ACTIVE, PlanStatus.ARCHIVED),
        "may_edit_settings": change and plan.is_editable,
    }
