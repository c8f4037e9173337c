"""What the intake pages share: the role's rights, export and htmx helpers, the import/template pages."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render

from revops.access import CHANGE, allowed, require_access
from revops.exports import FORMATS, Column, export_response

from ..forms import ImportForm
from ..imports import KINDS, IntakeFileError, load, read_table

ADMISSIONS = "admissions"
RULES = "intake_rules"
IMPORT_TITLES = {"admissions": "Import admissions", "authorizations": "Import authorizations",
                 "program_costs": "Import program costs"}
IMPORT_BACK = {"admissions": "intake_admissions", "authorizations": "intake_authorizations",
               "program_costs": "intake_costs"}
IMPORT_HELP = {
    "admissions": "Each row is matched by external_id (the EHR's admission id). member_id is hashed on arrival with "
                  "the same salted hash the claims carry, and never stored. Name the program by its code and the "
                  "payer and facility by name. The claims of the patients imported are linked to their stays.",
    "authorizations": "Each row is matched by auth_number. Name the admission by admission_external_id; the payer "
                      "and level of care default to the admission's. unit_kind is days (distinct service dates) or "
                      "units (claim-line units).",
    "program_costs": "Each row is matched by program (code), month (YYYY-MM) and category (care_staff, facility, "
                     "utilization_review, supplies, other); a known one is replaced. hours: staff hours behind the "
                     "cost (UR hours for utilization_review).",
}


def can(request: Any, resource: str) -> bool:
    return allowed(getattr(request, "role", None), resource, CHANGE)


def export_format(request: HttpRequest) -> str | None:
    fmt = request.GET.get("format")
    return fmt if fmt in FORMATS else None


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def dict_columns(rows: list[dict[str, Any]], names: list[str] | None = None) -> list[Column]:
    names = names or (list(rows[0]) if rows else [])
    return [Column(n, n) for n in names]


def _kind(request: HttpRequest) -> str:
    kind = request.GET.get("kind") or request.POST.get("kind") or "admissions"
    return kind if kind in KINDS else "admissions"


@require_access(ADMISSIONS, CHANGE)
def import_page(request: HttpRequest) -> HttpResponse:
    """Upload a CSV or Excel file of admissions, authorizations or program costs (``?kind=``)."""
    kind = _kind(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    result: dict[str, Any] | None = None
    failed: list[dict[str, Any]] = []
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                table = read_table(kind=KINDS[kind], name=upload.name, content=upload.read())
                result = load(kind=KINDS[kind], data=table.records,
                              all_or_nothing=form.cleaned_data["all_or_nothing"])
            except IntakeFileError as exc:
                form.add_error("file", str(exc))
            else:
                for row in result["rows"]:
                    failed.append({"line": table.lines[row["index"]], "key": row.get("key") or "",
                                   "errors": [f"{f}: {' '.join(str(m) for m in msgs)}" if f != "non_field_errors"
                                              else " ".join(str(m) for m in msgs)
                                              for f, msgs in row["errors"].items()]})
        if result is None or result["refused"]:
            status = 400
    return render(request, "intake/import.html", {
        "form": form, "result": result, "failed": failed, "kind": kind, "title": IMPORT_TITLES[kind],
        "back": IMPORT_BACK[kind], "help": IMPORT_HELP[kind], "columns": KINDS[kind].columns,
        "required": KINDS[kind].required, "tab": IMPORT_BACK[kind].removeprefix("intake_")}, status=status)


@require_access(ADMISSIONS)
def import_template(request: HttpRequest) -> HttpResponse:
    """An empty import file of ``?kind=``: the header row, ``?format=csv|xlsx``."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    kind = _kind(request)
    return export_response(rows=[], columns=[Column(n, n) for n in KINDS[kind].columns],
                           stem=f"{kind} import template", fmt=export_format(request) or "csv")
