"""Opportunities (resource ``forecasting``): the list with filters and its export, one opportunity with its
history, and the CSV/Excel import that upserts by external id and lists the rows that failed by line.
A rep sees their own and their reports' opportunities."""
from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from revops.access import CHANGE, require_access
from revops.exports import Column, export_response

from ..forms import ImportForm, OpportunityFilterForm
from ..imports import COLUMNS, OpportunityFileError, opportunities_load, read_table
from ..models import Opportunity
from .common import RESOURCE, can_change, export_format, readable_people

EXPORT_COLUMNS = [
    Column("external_id", "external_id"), Column("name", "name"), Column("owner_employee_id", "owner.employee_id"),
    Column("owner", "owner"), Column("stage_name", "stage.name"), Column("account_external_id", "account.external_id"),
    Column("account", "account"), Column("service_line_code", "service_line.code"), Column("amount", "amount"),
    Column("expected_close", "expected_close"), Column("category", "category"), Column("created_on", "created_on"),
    Column("closed_on", "closed_on"), Column("is_won", "is_won"), Column("is_lost", "is_lost"),
]


def visible(request: HttpRequest) -> QuerySet[Opportunity]:
    people = readable_people(request, timezone.localdate())
    qs = Opportunity.objects.select_related("owner", "stage", "account", "service_line")
    return qs if people is None else qs.filter(owner_id__in=people)


def filtered(qs: QuerySet[Opportunity], values: dict[str, Any]) -> QuerySet[Opportunity]:
    if values.get("q"):
        qs = qs.filter(Q(name__icontains=values["q"]) | Q(external_id__iexact=values["q"]))
    for name in ("owner", "stage"):
        if values.get(name):
            qs = qs.filter(**{name: values[name]})
    if values.get("category"):
        qs = qs.filter(category=values["category"])
    state = values.get("state")
    if state == "open":
        qs = qs.filter(is_won=False, is_lost=False)
    elif state in ("won", "lost"):
        qs = qs.filter(**{f"is_{state}": True})
    if values.get("close_from"):
        qs = qs.filter(expected_close__gte=values["close_from"])
    if values.get("close_to"):
        qs = qs.filter(expected_close__lte=values["close_to"])
    return qs


@require_access(RESOURCE)
def opportunities(request: HttpRequest) -> HttpResponse:
    """Filters in the query string; ``&format=csv|xlsx`` exports every row they select (columns an import
    takes back)."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    people = readable_people(request, timezone.localdate())
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("format", None)
    form = OpportunityFilterForm(params or None, people=people)
    qs = filtered(visible(request), form.values()).order_by("expected_close", "name", "id")
    if fmt := export_format(request):
        return export_response(rows=qs, columns=EXPORT_COLUMNS, stem="opportunities", fmt=fmt)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "total": qs.aggregate(amount=Sum("amount"))["amount"],
               "count": page.paginator.count, "query": params.urlencode(), "can_change": can_change(request)}
    template = "forecasting/opportunities.html#results" if getattr(request, "htmx", False) else \
        "forecasting/opportunities.html"
    return render(request, template, context)


@require_access(RESOURCE, model=Opportunity)
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_object_or_404(visible(request), pk=pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    history = opportunity.history.select_related("stage").order_by("valid_from", "id")
    return render(request, "forecasting/opportunity.html", {"o": opportunity, "history": history})


@require_access(RESOURCE, CHANGE)
def opportunities_import(request: HttpRequest) -> HttpResponse:
    """Upload a CSV or Excel file of opportunities; the good rows are upserted by external id, the others listed
    by line with the reason."""
    form = ImportForm(request.POST or None, request.FILES or None)
    result: dict[str, Any] | None = None
    failed: list[dict[str, Any]] = []
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                table = read_table(name=upload.name, content=upload.read())
                result = opportunities_load(data=table.records, all_or_nothing=form.cleaned_data["all_or_nothing"])
            except OpportunityFileError as exc:
                form.add_error("file", str(exc))
            else:
                for row in result["rows"]:
                    record = table.records[row["index"]]
                    failed.append({"line": table.lines[row["index"]], "external_id": row["external_id"] or "",
                                   "name": record.get("name", ""),
                                   "errors": [f"{field}: {' '.join(str(m) for m in msgs)}"
                                              if field != "non_field_errors" else " ".join(str(m) for m in msgs)
                                              for field, msgs in row["errors"].items()]})
        if result is None or result["refused"]:
            status = 400
    return render(request, "forecasting/import.html", {"form": form, "result": result, "failed": failed,
                                                       "columns": COLUMNS}, status=status)


@require_access(RESOURCE)
def opportunities_template(request: HttpRequest) -> HttpResponse:
    """An empty import file: the header row the import takes, ``?format=csv|xlsx``."""
    columns = [Column(name, name) for name in COLUMNS]
    return export_response(rows=[], columns=columns, stem="opportunities import template",
                           fmt=export_format(request) or "csv")
