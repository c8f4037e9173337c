"""Import overrides, custom bases and bottom-up numbers into a plan from a CSV or Excel file (resource ``quotas``).

The page lists the rows that failed by line with the reason; the good rows are applied and the
plan re-allocated once (``quotas.imports``). The template download is the plan's own tree, one row
per node with its current values, so the easiest file to fill in is the one the plan hands out.
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from revops.access import CHANGE, require_access
from revops.exports import Column, export_response

from .. import selectors
from ..forms import ImportForm
from ..imports import COLUMNS, QuotaFileError, quota_import, read_table
from ..models import QuotaPlan
from .common import RESOURCE, export_format, lifecycle_flags


@require_access(RESOURCE, CHANGE, model=QuotaPlan)
def plan_import(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(QuotaPlan, pk=pk)
    form = ImportForm(request.POST or None, request.FILES or None)
    result: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                table = read_table(name=upload.name, content=upload.read())
                result = quota_import(plan=plan, table=table, user=request.user)
            except QuotaFileError as exc:
                form.add_error("file", str(exc))
            except ValidationError as exc:
                form.add_error(None, exc.messages)
        if result is None:
            status = 400
        plan.refresh_from_db()
    return render(request, "quotas/import.html", {
        "plan": plan, "form": form, "result": result, "columns": COLUMNS,
        "failed_rows": [r for r in result["rows"] if r["errors"]] if result else [],
        **lifecycle_flags(request, plan),
    }, status=status)


@require_access(RESOURCE, model=QuotaPlan)
def plan_import_template(request: HttpRequest, pk: int) -> HttpResponse:
    """The plan's nodes with their current override, custom basis and bottom-up: ``?format=csv|xlsx``."""
    plan = get_object_or_404(QuotaPlan, pk=pk)
    rows = selectors.nodes(plan=plan)
    columns = [Column("code", "code"), Column("override", "override"),
               Column("custom_basis", lambda q: q.custom_basis if q.is_leaf else None),
               Column("bottom_up", "bottom_up"), Column("note", "bottom_up_note")]
    return export_response(rows=rows, columns=columns, stem=f"{plan.name} import template",
                           fmt=export_format(request) or "csv")
