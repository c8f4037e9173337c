"""Admissions (resource ``admissions``): the list with filters and export, one admission with its claims,
authorizations (add one) and authorization denials, and re-linking claims to stays."""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from revops.access import CHANGE, require_access
from revops.exports import Column, export_response

from .. import services
from ..forms import AdmissionFilterForm, AuthorizationForm
from ..models import Admission
from ..selectors.authorizations import authorization_denials, authorizations_with_usage
from .common import ADMISSIONS, can, export_format

EXPORT_COLUMNS = [
    Column("external_id", "external_id"), Column("program_code", "program.code"), Column("program", "program.name"),
    Column("payer", "payer.name"), Column("plan_name", "plan_name"), Column("facility", "facility.name"),
    Column("admitted_on", "admitted_on"), Column("discharged_on", "discharged_on"),
    Column("length_of_stay", "length_of_stay"),
    Column("expected_los_days", "expected_los_days"), Column("claims", "claim_count"),
    Column("authorizations", "auth_count"), Column("source", "source"),
]


def filtered(values: dict[str, Any]) -> QuerySet[Admission]:
    qs = Admission.objects.select_related("program", "payer", "facility").annotate(
        claim_count=Count("claim_links", distinct=True), auth_count=Count("authorizations", distinct=True))
    if values.get("q"):
        qs = qs.filter(Q(external_id__icontains=values["q"]) | Q(plan_name__iexact=values["q"]))
    for name in ("program", "payer"):
        if values.get(name):
            qs = qs.filter(**{name: values[name]})
    if values.get("state") == "in_care":
        qs = qs.filter(discharged_on__isnull=True)
    elif values.get("state") == "discharged":
        qs = qs.filter(discharged_on__isnull=False)
    if values.get("admitted_from"):
        qs = qs.filter(admitted_on__gte=values["admitted_from"])
    if values.get("admitted_to"):
        qs = qs.filter(admitted_on__lte=values["admitted_to"])
    return qs.order_by("-admitted_on", "-id")


@require_access(ADMISSIONS)
def admissions(request: HttpRequest) -> HttpResponse:
    """Filters in the query string; ``&format=csv|xlsx`` exports every row they select."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("format", None)
    form = AdmissionFilterForm(params or None)
    qs = filtered(form.values())
    if fmt := export_format(request):
        return export_response(rows=qs, columns=EXPORT_COLUMNS, stem="admissions", fmt=fmt)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "count": page.paginator.count, "query": params.urlencode(),
               "can_change": can(request, ADMISSIONS), "any": Admission.objects.exists(), "tab": "admissions"}
    template = "intake/admissions.html#results" if getattr(request, "htmx", False) else "intake/admissions.html"
    return render(request, template, context)


@require_access(ADMISSIONS, CHANGE)
def admissions_link(request: HttpRequest) -> HttpResponse:
    """Re-link every admission to its claims (after new claims were loaded)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    linked = services.admission_claims_link()
    messages.success(request, f"{linked} claim{'s' if linked != 1 else ''} linked to admissions.")
    return redirect("intake_admissions")


@require_access(ADMISSIONS, model=Admission)
def admission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One stay: its claims, authorizations with units used (POST adds one), authorization denials."""
    admission = get_object_or_404(Admission.objects.select_related("program", "payer", "facility"), pk=pk)
    form = AuthorizationForm(request.POST or None, initial={"starts_on": admission.admitted_on,
                                                           "ends_on": admission.discharged_on})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.authorization_save(admission=admission, auth_number=d["auth_number"],
                                            units_granted=d["units_granted"], starts_on=d["starts_on"],
                                            ends_on=d["ends_on"], unit_kind=d["unit_kind"],
                                            next_review_on=d.get("next_review_on"), note=d.get("note") or "")
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Authorization {d['auth_number']} added.")
                return redirect("intake_admission", pk=admission.pk)
        status = 400
    elif request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    claims = (admission.claim_links.select_related("claim", "claim__payer")
              .order_by("claim__service_from", "claim_id"))
    context = {"a": admission, "claims": [link.claim for link in claims],
               "authorizations": authorizations_with_usage(admission.authorizations.all()).order_by("starts_on"),
               "denials": authorization_denials(admission=admission), "form": form,
               "can_change": can(request, ADMISSIONS), "today": timezone.localdate(), "tab": "admissions"}
    return render(request, "intake/admission.html", context, status=status)
