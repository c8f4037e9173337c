"""What a plan changes against the active one, and who owned an account on a date (resource ``territories``)."""
from __future__ import annotations

from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from revops.access import require_access
from revops.exports import Column, export_response
from revops.models import Account

from .. import selectors
from ..forms import OwnershipForm
from ..models import AccountOwnership, TerritoryPlan
from .common import RESOURCE, export_format

MOVE_COLUMNS = [Column("account_id", "account_id"), Column("account", "account"), Column("from_territory", "from"),
                Column("from_rep", "from_rep"), Column("to_territory", "to"), Column("to_rep", "to_rep"),
                Column("potential", "potential")]
REP_COLUMNS = [Column("rep", "rep"), Column("accounts_gained", "accounts_gained"), Column("gained", "gained"),
               Column("accounts_lost", "accounts_lost"), Column("lost", "lost"), Column("net", "net")]
MOVES_SHOWN = 500
OWNERS_SHOWN = 500


@require_access(RESOURCE, model=TerritoryPlan)
def plan_diff(request: HttpRequest, pk: int) -> HttpResponse:
    """Accounts the plan moves against the active plan, per-rep gains and losses, disruption;
    ``?format=csv&table=moves|reps`` exports them."""
    plan = get_object_or_404(TerritoryPlan, pk=pk)
    diff = selectors.plan_diff(plan=plan)
    if fmt := export_format(request):
        table = request.GET.get("table", "moves")
        if table not in ("moves", "reps"):
            raise Http404("No such table.")
        rows, columns = (diff["moves"], MOVE_COLUMNS) if table == "moves" else (diff["by_rep"], REP_COLUMNS)
        return export_response(rows=rows, columns=columns, stem=f"{plan.name} diff {table}", fmt=fmt)
    return render(request, "territories/diff.html", {
        "plan": plan, "diff": diff, "moves": diff["moves"][:MOVES_SHOWN],
        "moves_hidden": max(len(diff["moves"]) - MOVES_SHOWN, 0),
    })


@require_access(RESOURCE)
def ownership(request: HttpRequest) -> HttpResponse:
    """Territory and rep of each account on a date, from the effective-dated history; ``?format=csv`` exports."""
    form = OwnershipForm(request.GET or None)
    on = form.as_of()
    query = (form.cleaned_data.get("q") or "").strip() if form.is_valid() else ""
    account_ids = None
    if query:
        account_ids = list(Account.objects.filter(
            Q(name__icontains=query) | Q(npi__startswith=query) | Q(external_id__icontains=query)
        ).values_list("pk", flat=True)[:5000])
    rows = selectors.ownership_on(on=on, account_ids=account_ids)
    names = dict(Account.objects.filter(pk__in=[r.account_id for r in rows]).values_list("pk", "name"))
    for row in rows:
        row.account_name = names.get(row.account_id, "")  # type: ignore[attr-defined]
    if fmt := export_format(request):
        columns = [Column("account_id", "account_id"), Column("account", "account_name"),
                   Column("territory", lambda r: r.territory.code if r.territory else ""),
                   Column("rep", "person"), Column("plan", "plan.name"), Column("valid_from", "valid_from"),
                   Column("valid_to", "valid_to"), Column("reason", "get_reason_display")]
        return export_response(rows=rows, columns=columns, stem=f"Account owners {on.isoformat()}", fmt=fmt)
    has_history = bool(rows) or AccountOwnership.objects.exists()
    return render(request, "territories/ownership.html", {
        "form": form, "on": on, "query": query, "rows": rows[:OWNERS_SHOWN], "total": len(rows),
        "hidden": max(len(rows) - OWNERS_SHOWN, 0), "has_history": has_history,
        "export_query": request.GET.urlencode(),
    })
