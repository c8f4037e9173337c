"""Bottom-up against top-down (resource ``quotas``): one page per plan, a submission form per node.

A manager's bottom-up number is recorded with ``services.bottom_up_submit`` (any plan but an
archived one); "Accept bottom-up" makes it the node's override (``services.bottom_up_accept``,
drafts only), after which its siblings re-balance top-down. Each post answers with the status
line and the table out of band (htmx), or redirects back to the page.
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from revops.access import CHANGE, require_access
from revops.exports import Column, export_response

from .. import selectors, services
from ..forms import BottomUpForm
from ..models import Quota, QuotaPlan
from .common import RESOURCE, export_format, is_htmx, lifecycle_flags

PAGE = "quotas/reconcile.html"


def reconcile_context(request: HttpRequest, plan: QuotaPlan,
                      errors: dict[int, tuple[str, str, str]] | None = None) -> dict[str, Any]:
    errors = errors or {}
    rows = selectors.reconciliation(plan=plan)
    for row in rows:
        q = row["quota"]
        row["indent"] = q.depth * 1.25
        row["gap_pct_100"] = row["gap_pct"] * 100 if row["gap_pct"] is not None else None
        amount, note, error = errors.get(q.pk, (None, None, None))
        row["amount_value"] = amount if amount is not None else (f"{q.bottom_up:f}" if q.bottom_up is not None else "")
        row["note_value"] = note if note is not None else q.bottom_up_note
        row["error"] = error
    submitted = [r for r in rows if r["own_submission"]]
    root = rows[0] if rows else None
    return {"plan": plan, "rows": rows, "submitted": len(submitted), "root": root, **lifecycle_flags(request, plan)}


@require_access(RESOURCE, model=QuotaPlan)
def reconcile(request: HttpRequest, pk: int) -> HttpResponse:
    """``?format=csv|xlsx`` exports the table."""
    plan = get_object_or_404(QuotaPlan, pk=pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    context = reconcile_context(request, plan)
    if fmt := export_format(request):
        columns = [Column("code", "quota.code"), Column("name", "quota.name"), Column("level", "quota.level"),
                   Column("top_down", "top_down"), Column("bottom_up", "bottom_up"),
                   Column("own_submission", "own_submission"), Column("gap", "gap"),
                   Column("gap_pct", lambda r: round(r["gap_pct"], 4) if r["gap_pct"] is not None else None),
                   Column("note", "quota.bottom_up_note")]
        return export_response(rows=context["rows"], columns=columns, stem=f"{plan.name} reconciliation", fmt=fmt)
    return render(request, PAGE, context)


def _response(request: HttpRequest, plan: QuotaPlan, *, message: str | None, error: str | None,
              errors: dict[int, tuple[str, str, str]] | None = None) -> HttpResponse:
    plan.refresh_from_db()
    if not is_htmx(request):
        if error is None:
            messages.success(request, message or "Saved.")
            return redirect(reverse("quotas_plan_reconcile", kwargs={"pk": plan.pk}))
        context = reconcile_context(request, plan, errors)
        context["status_error"] = error
        return render(request, PAGE, context, status=400)
    context = reconcile_context(request, plan, errors)
    context.update({"status_message": message, "status_error": error, "oob": True})
    return render(request, f"{PAGE}#response", context)


@require_access(RESOURCE, CHANGE, model=Quota)
def bottom_up_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """A node's bottom-up number and note; the Withdraw button (or an empty amount) removes it."""
    quota = get_object_or_404(Quota.objects.select_related("plan"), pk=pk)
    plan = quota.plan
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = BottomUpForm(request.POST)
    raw_amount, raw_note = (request.POST.get("amount") or "").strip(), request.POST.get("note") or ""
    withdraw = request.POST.get("action") == "withdraw"
    if not withdraw and not form.is_valid():
        error = " ".join(e for errs in form.errors.values() for e in errs)
        return _response(request, plan, message=None, error=f"{quota.code}: {error}",
                         errors={quota.pk: (raw_amount, raw_note, error)})
    amount = None if withdraw else form.cleaned_data["amount"]
    note = "" if withdraw else form.cleaned_data["note"]
    try:
        services.bottom_up_submit(quota=quota, amount=amount, note=note, user=request.user)
    except ValidationError as exc:
        error = " ".join(exc.messages)
        return _response(request, plan, message=None, error=f"{quota.code}: {error}",
                         errors={quota.pk: (raw_amount, raw_note, error)})
    message = (f"{quota.code} {quota.name}: bottom-up withdrawn." if amount is None
               else f"{quota.code} {quota.name}: bottom-up {amount:,.2f} recorded.")
    return _response(request, plan, message=message, error=None)


@require_access(RESOURCE, CHANGE, model=Quota)
def bottom_up_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """Take the node's bottom-up number as its override; the rest of the tree re-balances."""
    quota = get_object_or_404(Quota.objects.select_related("plan", "parent"), pk=pk)
    plan = quota.plan
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.bottom_up_accept(quota=quota)
    except ValidationError as exc:
        error = " ".join(exc.messages)
        return _response(request, plan, message=None, error=f"{quota.code}: {error}",
                         errors={quota.pk: (None, None, error)})  # type: ignore[dict-item]
    return _response(request, plan, message=f"{quota.code} {quota.name}: bottom-up {quota.bottom_up:,.2f} accepted "
                                            "as its quota; the other nodes re-balanced.", error=None)
