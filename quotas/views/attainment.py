"""Attainment (resource ``quotas``): quota, credited actuals, attainment and pace by node, rep, team or
level, for the year or one month, with a chart of cumulative quota against cumulative actual for the
selected row (or the company). Reps read it; analysts recompute it from the credited transactions.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from revops.access import CHANGE, require_access
from revops.exports import Column, export_response

from .. import selectors, services
from ..forms import AttainmentFilterForm
from ..models import Quota, QuotaPlan
from . import figures
from .common import RESOURCE, can_change, export_format, is_htmx

PAGE = "quotas/attainment.html"
ATTAINMENT_COLUMNS = [
    Column("key", "key"), Column("label", "label"), Column("level", "level"), Column("quota", "quota"),
    Column("actual", "actual"),
    Column("attainment", lambda r: round(r.attainment, 4) if r.attainment is not None else None),
    Column("quota_to_date", "quota_to_date"), Column("actual_to_date", "actual_to_date"),
    Column("pace", lambda r: round(r.pace, 4) if r.pace is not None else None), Column("gap", "gap"),
]


def _series(plan: QuotaPlan, quota_ids: list[int]) -> tuple[list[Decimal], list[Decimal]]:
    grid = selectors.month_grid(plan=plan)
    quota, actual = [Decimal(0)] * 12, [Decimal(0)] * 12
    for pk in quota_ids:
        for j, m in enumerate(grid.get(pk, [])[:12]):
            quota[j] += m.amount
            actual[j] += m.actual
    return quota, actual


@require_access(RESOURCE, model=QuotaPlan)
def attainment(request: HttpRequest, pk: int) -> HttpResponse:
    """``?by=node|rep|team|level&month=YYYY-MM-01&as_of=YYYY-MM-DD&row=KEY``; ``&format=csv|xlsx`` exports the table."""
    plan = get_object_or_404(QuotaPlan.objects.select_related("territory_plan"), pk=pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    form = AttainmentFilterForm(request.GET or None, months=plan.months)
    chosen = form.values()
    rows = selectors.attainment(plan=plan, by=chosen["by"], as_of=chosen["as_of"], month=chosen["month"],
                                quarter=chosen["quarter"])
    if fmt := export_format(request):
        period = (chosen["month"].strftime("%Y-%m") if chosen["month"]
                  else f"Q{chosen['quarter']}" if chosen["quarter"] else "year")
        return export_response(rows=rows, columns=ATTAINMENT_COLUMNS,
                               stem=f"{plan.name} attainment by {chosen['by']} {period}", fmt=fmt)
    selected = next((r for r in rows if r.key == chosen["row"]), None)
    if selected is not None:
        quota_ids, label = selected.quota_ids, selected.label
    else:
        root = Quota.objects.filter(plan=plan, parent__isnull=True).values_list("pk", flat=True).first()
        quota_ids, label = ([root] if root else []), "Company"
    quota, actual = _series(plan, quota_ids)
    base_query = {"by": chosen["by"], "as_of": chosen["as_of"].isoformat(),
                  **({"month": chosen["period"]} if chosen["period"] else {})}
    for r in rows:
        r.attainment_pct = r.attainment * 100 if r.attainment is not None else None  # type: ignore[attr-defined]
        r.pace_pct = r.pace * 100 if r.pace is not None else None  # type: ignore[attr-defined]
        r.query = urlencode({**base_query, "row": r.key})  # type: ignore[attr-defined]
    totals = None
    if chosen["by"] in ("rep", "team"):
        totals = {"quota": sum((r.quota for r in rows), Decimal(0)),
                  "actual": sum((r.actual for r in rows), Decimal(0))}
    context: dict[str, Any] = {
        "plan": plan, "form": form, "rows": rows, "chosen": chosen, "selected": selected, "chart_label": label,
        "figure": figures.attainment_figure(months=plan.months, quota=quota, actual=actual, label=label,
                                            as_of=chosen["as_of"]) if quota_ids else None,
        "export_query": urlencode(base_query), "company_query": urlencode(base_query), "totals": totals,
        "summary": plan.attainment_summary or {}, "can_recompute": can_change(request),
    }
    if is_htmx(request):
        return render(request, f"{PAGE}#results", context)
    return render(request, PAGE, context)


@require_access(RESOURCE, CHANGE, model=QuotaPlan)
def attainment_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    """Credit the fiscal year's transactions to the plan's leaves again and roll them up."""
    plan = get_object_or_404(QuotaPlan, pk=pk)
    target = reverse("quotas_plan_attainment", kwargs={"pk": plan.pk})
    if request.method != "POST":
        return redirect(target)
    try:
        summary = services.attainment_refresh(plan=plan)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        uncredited = Decimal(summary["uncredited"])
        note = (f"; {uncredited:,.2f} from {summary['uncredited_transactions']} transaction"
                f"{'s' if summary['uncredited_transactions'] != 1 else ''} credited nobody (accounts no territory "
                "owned, reps outside the plan)") if summary["uncredited_transactions"] else ""
        messages.success(request, f"Attainment recomputed: {Decimal(summary['credited']):,.2f} credited from "
                                  f"{summary['credited_transactions']} transactions{note}.")
    query = request.POST.get("query", "")
    return redirect(f"{target}?{query}" if query and "//" not in query else target)
