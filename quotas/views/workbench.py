"""The quota workbench (resource ``quotas``): the allocation tree with its bases, overrides, ramp and relief,
the fairness checks, the plan's settings, and the tree's export.

An analyst edits a draft in place: an override cell is a small form (Enter submits) that posts to
its own URL and goes through ``services.quota_override_set``; the answer is the status line plus,
out of band, the whole tree, the fairness panel and the header, so parents and siblings re-balance
and the flags update without a reload. A refused override comes back with the service's message
under the cell that caused it. The settings form (target, method weights, seasonality, ramp)
re-allocates the same way. Without htmx the same URLs redirect back to the workbench.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from revops.access import CHANGE, require_access
from revops.exports import Column, export_response

from .. import selectors, services
from ..forms import METHODS, CustomBasisForm, OverrideForm, PlanSettingsForm, ramp_text
from ..models import Quota, QuotaPlan
from .common import RESOURCE, export_format, is_htmx, lifecycle_flags, ratio

WORKBENCH = "quotas/workbench.html"
SECTIONS = ("header", "fairness", "tree", "settings")
ZERO = Decimal(0)


# A tree with more nodes than this opens at the deepest level that fits (a 5,000-rep plan shows its
# regions, areas and districts); the level picker goes deeper, a node's history shows any single node.
MAX_ROWS = 400


def visible_depth(request: HttpRequest, nodes: list[Quota]) -> tuple[int, int]:
    """(levels shown, deepest level) from ``?depth=`` (or the posted ``depth`` of an edit)."""
    deepest = max((q.depth for q in nodes), default=0)
    raw = request.POST.get("depth") or request.GET.get("depth")
    if raw and raw.isdigit():
        return min(int(raw), deepest), deepest
    counts: dict[int, int] = {}
    for q in nodes:
        counts[q.depth] = counts.get(q.depth, 0) + 1
    shown, total = 0, 0
    for d in range(deepest + 1):
        total += counts.get(d, 0)
        if total > MAX_ROWS and d > 0:
            break
        shown = d
    return shown, deepest


def tree_rows(plan: QuotaPlan, fairness: selectors.Fairness, errors: dict[int, tuple[str, str]] | None = None,
              basis_errors: dict[int, tuple[str, str]] | None = None, nodes: list[Quota] | None = None,
              depth: int | None = None) -> list[dict[str, Any]]:
    """One row per node down to ``depth``, depth-first, with its months, ratio and flags (and an edit refused
    on it: what was typed and why)."""
    grid = selectors.month_grid(plan=plan)
    errors, basis_errors = errors or {}, basis_errors or {}
    rows = []
    for q in nodes if nodes is not None else selectors.nodes(plan=plan):
        if depth is not None and q.depth > depth:
            continue
        value, error = errors.get(q.pk, (None, None))
        basis_value, basis_error = basis_errors.get(q.pk, (None, None))
        r = fairness.ratios.get(q.pk) if q.is_leaf else ratio(q.amount, q.potential)
        rows.append({
            "q": q, "indent": q.depth * 1.25, "ratio": r, "flags": fairness.flags.get(q.pk, []),
            "months": grid.get(q.pk, []), "error": error, "basis_error": basis_error,
            "basis_value": basis_value if basis_value is not None else f"{q.custom_basis:f}",
            "value": value if value is not None else (f"{q.override:f}" if q.override is not None else ""),
            "rep": q.person.full_name if q.person else ("Vacant" if q.is_leaf else ""),
        })
    return rows


def fairness_rows(plan: QuotaPlan, fairness: selectors.Fairness, nodes: list[Quota]) -> list[dict[str, Any]]:
    """The leaves with their ratio, its distance from the median, and last year's reps at a similar ratio
    (only the flagged ones, at most ``MAX_ROWS``, when the plan has more leaves than that)."""
    out = []
    leaves = [q for q in nodes if q.is_leaf]
    if len(leaves) > MAX_ROWS:
        leaves = [q for q in leaves if q.pk in fairness.flags][:MAX_ROWS]
    for q in leaves:
        row = {"rep": q.person.full_name if q.person else "Vacant", "flags": fairness.flags.get(q.pk, [])}
        r = fairness.ratios.get(q.pk)
        similar = fairness.similar.get(q.pk)
        out.append({"q": q, "rep": row["rep"], "ratio": r, "flags": row["flags"],
                    "relative_pct": (r / fairness.median_ratio - 1) * 100 if r is not None and fairness.median_ratio
                    else None,
                    "similar_share_pct": similar[0] * 100 if similar else None,
                    "similar_reps": similar[1] if similar else None})
    return out


def workbench_context(request: HttpRequest, plan: QuotaPlan, *, errors: dict[int, tuple[str, str]] | None = None,
                      basis_errors: dict[int, tuple[str, str]] | None = None,
                      settings_form: PlanSettingsForm | None = None) -> dict[str, Any]:
    fairness = selectors.fairness(plan=plan)
    nodes = selectors.nodes(plan=plan)
    depth, deepest = visible_depth(request, nodes)
    rows = tree_rows(plan, fairness, errors, basis_errors, nodes=nodes, depth=depth)
    root = rows[0]["q"] if rows else None
    flags = lifecycle_flags(request, plan)
    leaf_total = root.amount if root else ZERO
    return {
        "plan": plan, "rows": rows, "root": root, "months": plan.months, "fairness": fairness,
        "fairness_rows": fairness_rows(plan, fairness, nodes),
        "depth": depth, "depth_choices": range(deepest + 1), "nodes_total": len(nodes),
        "leaves_total": sum(1 for q in nodes if q.is_leaf),
        "gini_pct": fairness.gini * 100 if fairness.gini is not None else None,
        "flagged": len(fairness.flags), "leaf_total": leaf_total, "target_gap": leaf_total - plan.company_target,
        "sum_problems": selectors.check_sums(plan=plan) if rows else [],
        "weights": [(label, plan.weights[key] * 100) for key, label in METHODS if plan.weights[key] > 0],
        "ramp": ramp_text(plan.ramp_percents), "outlier_pct": plan.outlier_band * 100,
        "settings_form": settings_form or (PlanSettingsForm(plan=plan) if flags["editable"] else None),
        **flags,
    }


@require_access(RESOURCE, model=QuotaPlan)
def workbench(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(QuotaPlan.objects.select_related("territory_plan", "seasonality", "approved_by"), pk=pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return render(request, WORKBENCH, workbench_context(request, plan))


def _edit_response(request: HttpRequest, plan: QuotaPlan, *, message: str | None, error: str | None,
                   errors: dict[int, tuple[str, str]] | None = None,
                   basis_errors: dict[int, tuple[str, str]] | None = None,
                   settings_form: PlanSettingsForm | None = None) -> HttpResponse:
    """htmx: the status line plus every section out of band; otherwise back to the workbench."""
    plan.refresh_from_db()
    if not is_htmx(request):
        if error is None:
            messages.success(request, message or "Saved.")
            return redirect(reverse("quotas_plan", kwargs={"pk": plan.pk}))
        context = workbench_context(request, plan, errors=errors, basis_errors=basis_errors,
                                    settings_form=settings_form)
        context["status_error"] = error
        return render(request, WORKBENCH, context, status=400)
    context = workbench_context(request, plan, errors=errors, basis_errors=basis_errors,
                                    settings_form=settings_form)
    context.update({"status_message": message, "status_error": error, "oob": set(SECTIONS)})
    return render(request, f"{WORKBENCH}#edit-response", context)


@require_access(RESOURCE, CHANGE, model=Quota)
def quota_override(request: HttpRequest, pk: int) -> HttpResponse:
    """Set (or with the Clear button, or an empty cell, release) a node's override; the tree re-balances."""
    quota = get_object_or_404(Quota.objects.select_related("plan", "parent"), pk=pk)
    plan = quota.plan
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = OverrideForm(request.POST)
    raw = (request.POST.get("amount") or "").strip()
    clearing = request.POST.get("action") == "clear"
    if not clearing and not form.is_valid():
        error = " ".join(e for errs in form.errors.values() for e in errs)
        return _edit_response(request, plan, message=None, error=f"{quota.code}: {error}",
                              errors={quota.pk: (raw, error)})
    amount = None if clearing else form.cleaned_data["amount"]
    try:
        services.quota_override_set(quota=quota, amount=amount)
    except ValidationError as exc:
        error = " ".join(exc.messages)
        return _edit_response(request, plan, message=None, error=f"{quota.code}: {error}",
                              errors={quota.pk: (raw, error)})
    if amount is None:
        message = f"{quota.code} {quota.name}: override cleared; it takes its share by the plan's methods again."
    else:
        message = f"{quota.code} {quota.name} fixed at {amount:,.2f}; its siblings re-balanced around it."
    return _edit_response(request, plan, message=message, error=None)


@require_access(RESOURCE, CHANGE, model=Quota)
def quota_custom_basis(request: HttpRequest, pk: int) -> HttpResponse:
    """A leaf's custom-field basis (used when the plan gives the custom method a weight); the tree re-allocates."""
    quota = get_object_or_404(Quota.objects.select_related("plan"), pk=pk)
    plan = quota.plan
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = CustomBasisForm(request.POST)
    raw = (request.POST.get("amount") or "").strip()
    if not form.is_valid():
        error = " ".join(e for errs in form.errors.values() for e in errs)
        return _edit_response(request, plan, message=None, error=f"{quota.code}: {error}",
                              basis_errors={quota.pk: (raw, error)})
    try:
        services.quota_custom_basis_set(quota=quota, amount=form.cleaned_data["amount"])
    except ValidationError as exc:
        error = " ".join(exc.messages)
        return _edit_response(request, plan, message=None, error=f"{quota.code}: {error}",
                              basis_errors={quota.pk: (raw, error)})
    return _edit_response(request, plan, message=f"{quota.code} {quota.name}: custom basis "
                                                 f"{form.cleaned_data['amount']:,.2f}; the tree re-allocated.",
                          error=None)


@require_access(RESOURCE, CHANGE, model=QuotaPlan)
def plan_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """A draft's target, method weights, seasonality, ramp and outlier band; a change re-allocates."""
    plan = get_object_or_404(QuotaPlan, pk=pk)
    if request.method != "POST":
        return redirect(reverse("quotas_plan", kwargs={"pk": plan.pk}) + "#qw-settings")
    form = PlanSettingsForm(request.POST, plan=plan)
    if form.is_valid():
        changed = form.changed_fields()
        if not changed:
            return _edit_response(request, plan, message="Nothing changed.", error=None)
        try:
            services.plan_update(plan=plan, **changed)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return _edit_response(request, plan, message=f"Settings of {plan.name} saved and the plan re-allocated.",
                                  error=None)
    plan.refresh_from_db()
    errors = [e for errs in form.errors.values() for e in errs]
    return _edit_response(request, plan, message=None, error="Settings not saved: " + " ".join(errors),
                          settings_form=form)


@require_access(RESOURCE, CHANGE, model=QuotaPlan)
def plan_rebuild(request: HttpRequest, pk: int) -> HttpResponse:
    """Rebuild a draft's tree from its territory plan (territories, reps, bases) and allocate again."""
    plan = get_object_or_404(QuotaPlan, pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        summary = services.plan_reallocate(plan=plan)
    except ValidationError as exc:
        return _edit_response(request, plan, message=None, error=" ".join(exc.messages))
    leaves = summary["leaves"]
    return _edit_response(request, plan, message=f"Tree rebuilt from {plan.territory_plan.name}: {summary['nodes']} "
                                                 f"nodes, {leaves} lea{'f' if leaves == 1 else 'ves'}; re-allocated.",
                          error=None)


# -- export ----------------------------------------------------------------------------------------

@require_access(RESOURCE, model=QuotaPlan)
def plan_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The tree with its bases, allocation, flags and the twelve months: ``?format=csv|xlsx``."""
    plan = get_object_or_404(QuotaPlan, pk=pk)
    fairness = selectors.fairness(plan=plan)
    rows = tree_rows(plan, fairness)
    codes = {r["q"].pk: r["q"].code for r in rows}
    columns = [
        Column("code", "q.code"), Column("name", "q.name"), Column("level", "q.level"), Column("depth", "q.depth"),
        Column("parent", lambda r: codes.get(r["q"].parent_id, "")), Column("rep", "rep"),
        Column("potential", "q.potential"), Column("prior_year", "q.prior_year"), Column("ttm", "q.ttm"),
        Column("custom_basis", "q.custom_basis"), Column("override", "q.override"), Column("annual", "q.annual"),
        Column("amount", "q.amount"), Column("actual", "q.actual"),
        Column("quota_to_potential", lambda r: round(r["ratio"], 4) if r["ratio"] is not None else None),
        Column("flags", lambda r: "; ".join(r["flags"])), Column("bottom_up", "q.bottom_up"),
    ]
    for j, month in enumerate(plan.months):
        columns.append(Column(month.strftime("%Y-%m"),
                              lambda r, j=j: r["months"][j].amount if len(r["months"]) > j else None))
    for quarter in (1, 2, 3, 4):  # fiscal quarter roll-ups of the months
        columns.append(Column(f"FQ{quarter}", lambda r, q=quarter: sum(
            (m.amount for m in r["months"][3 * q - 3:3 * q]), Decimal(0)) if r["months"] else None))
    return export_response(rows=rows, columns=columns, stem=f"{plan.name} quotas",
                           fmt=export_format(request) or "csv")
