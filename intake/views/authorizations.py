"""Authorizations (resource ``admissions``): reviews due this week, every authorization with units used vs
granted, and denials for missing or exhausted authorization linked back to admission and authorization."""
from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.utils import timezone

from revops.access import require_access
from revops.exports import Column, export_response

from ..models import Authorization
from ..selectors.authorizations import authorization_denials, authorizations_with_usage, reviews_due, week_bounds
from .common import ADMISSIONS, can, dict_columns, export_format

AUTH_COLUMNS = [
    Column("auth_number", "auth_number"), Column("admission", "admission.external_id"),
    Column("program", "admission.program.name"), Column("payer", "payer.name"),
    Column("level_of_care", "get_level_of_care_display"), Column("unit_kind", "unit_kind"),
    Column("units_granted", "units_granted"), Column("units_used", "units_used"),
    Column("units_remaining", "units_remaining"), Column("starts_on", "starts_on"), Column("ends_on", "ends_on"),
    Column("next_review_on", "next_review_on"), Column("note", "note"),
]
DENIAL_COLUMNS = ["denial_id", "denied_on", "kind", "carc_codes", "category", "level", "denied_charge", "status",
                  "patient_control_number", "service_from", "service_to", "admission_external_id", "program", "payer",
                  "auth_number", "units_granted", "units_used"]


@require_access(ADMISSIONS)
def authorizations(request: HttpRequest) -> HttpResponse:
    """``?table=due|all|denials&format=csv|xlsx`` exports a table; ``?exhausted=1`` keeps the used-up ones."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    today = timezone.localdate()
    due = reviews_due(today=today)
    qs = authorizations_with_usage().order_by("-starts_on", "-id")
    exhausted = request.GET.get("exhausted") == "1"
    if exhausted:
        qs = qs.filter(units_used__gte=F("units_granted"))
    table = request.GET.get("table", "all")
    if fmt := export_format(request):
        if table == "denials":
            rows = authorization_denials()
            return export_response(rows=rows, columns=dict_columns(rows, DENIAL_COLUMNS),
                                   stem="authorization denials", fmt=fmt)
        return export_response(rows=due if table == "due" else qs, columns=AUTH_COLUMNS,
                               stem="reviews due" if table == "due" else "authorizations", fmt=fmt)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    monday, sunday = week_bounds(today)
    context = {"due": list(due), "page": page, "count": page.paginator.count, "exhausted": exhausted,
               "denials": authorization_denials(limit=50), "monday": monday, "sunday": sunday, "today": today,
               "any": Authorization.objects.exists(), "can_change": can(request, ADMISSIONS),
               "tab": "authorizations"}
    template = "intake/authorizations.html#all" if getattr(request, "htmx", False) else "intake/authorizations.html"
    return render(request, template, context)
