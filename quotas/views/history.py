"""A node's quota history (resource ``quotas``): its months (allocated, ramp, relief, amount, actual) and
the quota that moved in or out with accounts, so both reps of a territory change see the move."""
from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from revops.access import require_access
from revops.exports import Column, export_response

from .. import selectors
from ..models import Quota
from .common import RESOURCE, export_format

MONTH_COLUMNS = [Column("month", "month"), Column("allocated", "allocated"), Column("ramp", "ramp"),
                 Column("relief", "relief"), Column("amount", "amount"), Column("actual", "actual")]


@require_access(RESOURCE, model=Quota)
def quota_history(request: HttpRequest, pk: int) -> HttpResponse:
    """``?format=csv|xlsx`` exports the months."""
    quota = get_object_or_404(Quota.objects.select_related("plan", "parent", "person", "person__team"), pk=pk)
    history = selectors.quota_history(quota=quota)
    if fmt := export_format(request):
        return export_response(rows=history["months"], columns=MONTH_COLUMNS,
                               stem=f"{quota.plan.name} {quota.code} months", fmt=fmt)
    months = history["months"]
    totals = {f: sum((getattr(m, f) for m in months), Decimal(0))
              for f in ("allocated", "ramp", "relief", "amount", "actual")}
    return render(request, "quotas/history.html", {
        "quota": quota, "plan": quota.plan, "months": months, "totals": totals,
        "relief_in": history["relief_in"], "relief_out": history["relief_out"],
        "relief_in_total": sum((r.amount for r in history["relief_in"]), Decimal(0)),
        "relief_out_total": sum((r.amount for r in history["relief_out"]), Decimal(0)),
    })
