"""Quota plans (resource ``quotas``): the list with its "New plan" form, deleting, and the lifecycle.

Approve and activate need the approve right (executives and admins); return to draft and delete
the change right. A service that refuses (only a draft can be approved, the active plan cannot be
deleted) answers with its message in place (htmx) or as a flash message on the workbench.
"""
from __future__ import annotations

from collections.abc import Callable
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from revops.access import APPROVE, CHANGE, require_access
from revops.exports import Column, export_response
from territories.models import TerritoryPlan

from .. import selectors, services
from ..forms import PlanForm
from ..models import Quota, QuotaPlan
from .common import RESOURCE, can_change, current_fiscal_year, export_format, is_htmx

PLAN_COLUMNS = [
    Column("id", "pk"), Column("name", "name"), Column("fiscal_year", "fiscal_year"),
    Column("metric", "metric_code"), Column("status", "get_status_display"),
    Column("territory_plan", "territory_plan.name"), Column("company_target", "company_target"),
    Column("leaf_total", "leaf_total"), Column("actual", "actual_total"), Column("attainment", "attainment"),
    Column("effective_from", "effective_from"), Column("effective_to", "effective_to"),
    Column("approved_at", "approved_at"), Column("activated_at", "activated_at"),
]


def plans_listed() -> list[QuotaPlan]:
    """Every plan with its leaf total (the company node's amount after ramp and relief) and attainment."""
    plans = list(selectors.plans())
    roots = {r["plan_id"]: r for r in Quota.objects.filter(parent__isnull=True).values("plan_id", "amount", "actual")}
    for plan in plans:
        root = roots.get(plan.pk, {})
        plan.leaf_total = root.get("amount")  # type: ignore[attr-defined]
        plan.actual_total = root.get("actual") if plan.attainment_at else None  # type: ignore[attr-defined]
        attained = None
        if plan.attainment_at and root.get("amount"):
            attained = round(float(root["actual"] / root["amount"]), 4)
        plan.attainment = attained  # type: ignore[attr-defined]
        plan.attainment_pct = attained * 100 if attained is not None else None  # type: ignore[attr-defined]
    return plans


@require_access(RESOURCE)
def plans(request: HttpRequest) -> HttpResponse:
    """GET: the plans (``?format=csv|xlsx`` exports them); POST: create a plan (change right)."""
    form = PlanForm(request.POST or None, fiscal_year=current_fiscal_year(request))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                plan = services.plan_create(**form.service_kwargs(), user=request.user)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Plan {plan.name} created and allocated: review the tree, override "
                                          "where managers know better, then have it approved.")
                return redirect("quotas_plan", pk=plan.pk)
        status = 400
    rows = plans_listed()
    if (fmt := export_format(request)) and request.method == "GET":
        return export_response(rows=rows, columns=PLAN_COLUMNS, stem="Quota plans", fmt=fmt)
    return render(request, "quotas/plans.html", {
        "plans": rows, "form": form, "can_change": can_change(request),
        "has_territory_plans": TerritoryPlan.objects.exists(),
    }, status=status)


@require_access(RESOURCE, CHANGE, model=QuotaPlan)
def plan_delete(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(QuotaPlan, pk=pk)
    error = ""
    if request.method == "POST":
        try:
            services.plan_delete(plan=plan)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, f"Quota plan {plan.name} deleted.")
            return redirect("quotas_plans")
    return render(request, "quotas/plan_delete.html", {"plan": plan, "error": error}, status=400 if error else 200)


# -- lifecycle -------------------------------------------------------------------------------------

def _lifecycle(request: HttpRequest, plan: QuotaPlan, step: Callable[[], str]) -> HttpResponse:
    """Run one lifecycle step (a function returning the success message); refusals are shown in place."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    target = reverse("quotas_plan", kwargs={"pk": plan.pk})
    try:
        message = step()
    except ValidationError as exc:
        error = " ".join(exc.messages)
        if is_htmx(request):
            return render(request, "quotas/workbench.html#status", {"status_error": error, "plan": plan})
        messages.error(request, error)
        return redirect(target)
    messages.success(request, message)
    return HttpResponseClientRedirect(target) if is_htmx(request) else redirect(target)


@require_access(RESOURCE, APPROVE, model=QuotaPlan)
def plan_approve(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(QuotaPlan, pk=pk)

    def step() -> str:
        services.plan_approve(plan=plan, user=request.user)
        return f"Plan {plan.name} approved: its quotas are fixed. Activate it to report attainment against it."

    return _lifecycle(request, plan, step)


@require_access(RESOURCE, APPROVE, model=QuotaPlan)
def plan_activate(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(QuotaPlan, pk=pk)

    def step() -> str:
        services.plan_activate(plan=plan, user=request.user)
        return (f"Plan {plan.name} is the active {plan.get_metric_display().lower()} plan for FY{plan.fiscal_year}; "
                "attainment was computed.")

    return _lifecycle(request, plan, step)


@require_access(RESOURCE, CHANGE, model=QuotaPlan)
def plan_return_to_draft(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(QuotaPlan, pk=pk)

    def step() -> str:
        services.plan_return_to_draft(plan=plan)
        return f"Plan {plan.name} is a draft again."

    return _lifecycle(request, plan, step)
