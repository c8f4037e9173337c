"""Plan-builder pages (mounted at ``commissions/``): plans, versions and their components (htmx edits in place),
EKRA flags and compliance sign-offs, activation, assignments, credit rules, and the plan document a rep reads and
acknowledges.

Resource ``commissions`` (analysts and admins build, executives read; activating a version and recording a
sign-off need the approve right). The plan document uses ``commission_statements``: a rep opens only their own
(anyone else's is a 404), admins, analysts and executives any. Every table exports with ``?format=csv|xlsx``.
A service's refusal is shown in place (htmx) or on the page (400).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

from revops.access import APPROVE, CHANGE, VIEW, allowed, require_access
from revops.exports import FORMATS, Column, export_response
from revops.models import Person, Role

from ..forms import (
    AssignmentEndForm,
    AssignmentForm,
    ComponentForm,
    CreditRuleForm,
    PlanForm,
    SignoffForm,
    VersionForm,
)
from ..models import CompPlan, CompPlanVersion, Component, CreditRule, PlanAssignment, VersionStatus
from ..selectors import plans as reads
from ..services import plans as services

RESOURCE = "commissions"
DOCUMENTS = "commission_statements"
VERSION_PAGE = "commissions/plan_version.html"
READ_ANY_DOCUMENT = {Role.ADMIN, Role.EXECUTIVE, Role.REVOPS_ANALYST}


def can_change(request: HttpRequest) -> bool:
    return allowed(getattr(request, "role", None), RESOURCE, CHANGE)


def can_approve(request: HttpRequest) -> bool:
    return allowed(getattr(request, "role", None), RESOURCE, APPROVE)


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def export_format(request: HttpRequest) -> str | None:
    fmt = request.GET.get("format")
    return fmt if fmt in FORMATS and request.method == "GET" else None


def refusal(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _date(value: Any) -> str:
    return f"{value:%b %-d, %Y}" if value else ""


# -- plans -----------------------------------------------------------------------------------------

PLAN_COLUMNS = [
    Column("id", "pk"), Column("name", "name"), Column("description", "description"),
    Column("versions", "version_count"), Column("active_versions", "active_count"), Column("drafts", "draft_count"),
    Column("in_force_today", lambda p: f"v{p.in_force.version}" if p.in_force else ""),
    Column("people_on_plan_today", "current_assignment_count"), Column("assignments", "assignment_count"),
    Column("created_at", "created_at"),
]


@require_access(RESOURCE)
def plans(request: HttpRequest) -> HttpResponse:
    """GET: the plans (``?format=csv|xlsx`` exports them); POST: create a plan (change right)."""
    form = PlanForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                plan = services.plan_create(**form.service_kwargs())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Plan {plan.name} created. Add its first version: the dates it is in "
                                          "force and the components it pays.")
                return redirect("commissions_plan", pk=plan.pk)
        status = 400
    rows = reads.plans()
    if fmt := export_format(request):
        return export_response(rows=rows, columns=PLAN_COLUMNS, stem="Compensation plans", fmt=fmt)
    return render(request, "commissions/plans.html", {
        "plans": rows, "form": form, "can_change": can_change(request),
        "ekra_covered": reads.organization().ekra_covered}, status=status)


VERSION_COLUMNS = [
    Column("id", "pk"), Column("plan", "plan.name"), Column("version", "version"),
    Column("status", "get_status_display"), Column("effective_from", "effective_from"),
    Column("effective_to", "effective_to"), Column("components", "component_count"),
    Column("period_cap", "period_cap"), Column("quota_basis", "quota_basis"), Column("notes", "notes"),
    Column("created_by", lambda v: v.created_by.get_username() if v.created_by else ""),
    Column("created_at", "created_at"),
    Column("activated_by", lambda v: v.activated_by.get_username() if v.activated_by else ""),
    Column("activated_at", "activated_at"),
]


def _plan_context(request: HttpRequest, plan: CompPlan, **extra: Any) -> dict[str, Any]:
    today = timezone.localdate()
    versions = list(reads.plan_versions(plan))
    return {
        "plan": plan, "versions": versions, "in_force": reads.version_in_force(plan, today),
        "can_change": can_change(request), "can_approve": can_approve(request),
        "assignment_count": PlanAssignment.objects.filter(plan=plan).count(),
        "plan_form": extra.pop("plan_form", None) or PlanForm(initial={"name": plan.name,
                                                                        "description": plan.description}),
        "version_form": extra.pop("version_form", None) or VersionForm(plan=plan, initial={
            "effective_from": _next_start(versions, today), "quota_basis": versions[0].quota_basis if versions
            else "bookings"}),
        **extra,
    }


def _next_start(versions: list[CompPlanVersion], today: dt.date) -> dt.date:
    """A sensible first day for a new version: the first of next month."""
    return (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


@require_access(RESOURCE, model=CompPlan)
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the plan and its versions (``?format=`` exports the versions); POST: rename or describe it."""
    plan = get_object_or_404(CompPlan, pk=pk)
    if request.method == "POST":
        form = PlanForm(request.POST)
        if form.is_valid():
            try:
                services.plan_update(plan=plan, **form.service_kwargs())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Plan {plan.name} saved.")
                return redirect("commissions_plan", pk=plan.pk)
        plan.refresh_from_db()
        return render(request, "commissions/plan_detail.html", _plan_context(request, plan, plan_form=form),
                      status=400)
    if fmt := export_format(request):
        return export_response(rows=reads.plan_versions(plan).select_related("plan"), columns=VERSION_COLUMNS,
                               stem=f"{plan.name} versions", fmt=fmt)
    return render(request, "commissions/plan_detail.html", _plan_context(request, plan))


@require_access(RESOURCE, CHANGE, model=CompPlan)
def plan_delete(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(CompPlan, pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.plan_delete(plan=plan)
    except ValidationError as exc:
        messages.error(request, refusal(exc))
        return redirect("commissions_plan", pk=plan.pk)
    messages.success(request, f"Plan {plan.name} deleted.")
    return redirect("commissions_plans")


@require_access(RESOURCE, CHANGE, model=CompPlan)
def version_new(request: HttpRequest, pk: int) -> HttpResponse:
    """A new draft version of the plan, empty or a copy of one of its versions."""
    plan = get_object_or_404(CompPlan, pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = VersionForm(request.POST, plan=plan)
    if form.is_valid():
        try:
            version = services.version_create(plan=plan, user=request.user, **form.service_kwargs())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            copied = form.cleaned_data.get("copy_from")
            messages.success(request, f"{version} created as a draft" + (
                f", with v{copied.version}'s {version.components.count()} components." if copied else
                ". Add its components."))
            return redirect("commissions_version", pk=version.pk)
    return render(request, "commissions/plan_detail.html", _plan_context(request, plan, version_form=form,
                                                                         open_new_version=True), status=400)


# -- the version builder ---------------------------------------------------------------------------

def _component_tiers(component: Component) -> str:
    return "; ".join(f"{t.get('from')}: {t.get('rate', t.get('amount'))}" for t in component.tiers or [])


COMPONENT_COLUMNS = [
    Column("id", lambda r: r.component.pk), Column("order", lambda r: r.component.order),
    Column("name", lambda r: r.component.name), Column("kind", lambda r: r.component.get_kind_display()),
    Column("basis", lambda r: r.component.basis_code),
    Column("service_line", lambda r: r.component.service_line.code if r.component.service_line else ""),
    Column("rate_type", lambda r: r.component.rate_type), Column("rate", lambda r: r.component.rate),
    Column("tier_basis", lambda r: r.component.tier_basis), Column("tiers", lambda r: _component_tiers(r.component)),
    Column("service_line_rates", lambda r: r.component.service_line_rates or ""),
    Column("hurdle_pct", lambda r: r.component.hurdle_pct), Column("cap_amount", lambda r: r.component.cap_amount),
    Column("unit_amount", lambda r: r.component.unit_amount), Column("spiff_start", lambda r: r.component.spiff_start),
    Column("spiff_end", lambda r: r.component.spiff_end), Column("hold_pct", lambda r: r.component.hold_pct),
    Column("hold_days", lambda r: r.component.hold_days), Column("clawback_days", lambda r: r.component.clawback_days),
    Column("terms", lambda r: " ".join(r.terms)), Column("ekra_flagged", lambda r: r.flagged),
    Column("signed_off_by", lambda r: r.signoff.signed_by.get_username() if r.signoff else ""),
    Column("signed_off_at", lambda r: r.signoff.signed_at if r.signoff else None),
    Column("signoff_reason", lambda r: r.signoff.reason if r.signoff else ""),
]


def version_context(request: HttpRequest, version: CompPlanVersion, *, editing: int | None = None,
                    adding: bool = False, form: ComponentForm | None = None,
                    signoff_errors: dict[int, tuple[str, str]] | None = None,
                    settings_form: VersionForm | None = None, **extra: Any) -> dict[str, Any]:
    detail = reads.version_detail(version)
    for row in detail.rows:
        row.explanation = services.ekra_explanation(row.component) if row.flagged else ""  # type: ignore[attr-defined]
        row.signoff_raw, row.signoff_error = (signoff_errors or {}).get(  # type: ignore[attr-defined]
            row.component.pk, ("", ""))
    draft = version.status == VersionStatus.DRAFT
    change, approve = can_change(request), can_approve(request)
    editable = change and draft
    if editable and form is None:
        if editing is not None:
            component = next((r.component for r in detail.rows if r.component.pk == editing), None)
            form = ComponentForm(component=component) if component is not None else None
            editing = editing if component is not None else None
        elif adding:
            form = ComponentForm()
    return {
        "version": version, "plan": version.plan, "detail": detail, "rows": detail.rows,
        "draft": draft, "can_change": change, "can_approve": approve, "editable": editable,
        "may_activate": approve and draft, "may_retire": approve and version.status == VersionStatus.ACTIVE,
        "editing": editing if editable else None, "adding": adding and editable and editing is None,
        "form": form if editable else None,
        "settings_form": settings_form or (VersionForm(version=version) if editable else None),
        "other_versions": list(CompPlanVersion.objects.filter(plan_id=version.plan_id).exclude(pk=version.pk)
                               .order_by("-version")),
        **extra,
    }


def _focus_first_error(form: ComponentForm) -> ComponentForm:
    """After a refused save, the cursor goes to the first field in error, not back to Name: htmx focuses an
    ``[autofocus]`` element of swapped content when the swap settles."""
    for field in form.fields.values():
        field.widget.attrs.pop("autofocus", None)
    first_error = next((name for name in form.fields if name in form.errors), None)
    if first_error is not None:
        form.fields[first_error].widget.attrs["autofocus"] = True
    return form


def _version(pk: int) -> CompPlanVersion:
    return get_object_or_404(CompPlanVersion.objects.select_related("plan", "created_by", "activated_by"), pk=pk)


def _components_response(request: HttpRequest, version: CompPlanVersion, *, message: str | None = None,
                         error: str | None = None, status: int = 200, **kwargs: Any) -> HttpResponse:
    """htmx: the components section (and the status line out of band); otherwise the page, or back to it."""
    if not is_htmx(request):
        if error is None and kwargs.get("form") is None and not kwargs.get("signoff_errors"):
            messages.success(request, message or "Saved.")
            return redirect("commissions_version", pk=version.pk)
        context = version_context(request, version, status_error=error, **kwargs)
        return render(request, VERSION_PAGE, context, status=400)
    # After a save, keyboard users continue from "Add component" (the form they were in is gone).
    refocus = error is None and kwargs.get("form") is None
    context = version_context(request, version, status_message=message, status_error=error, oob=True,
                              refocus=refocus, **kwargs)
    return render(request, f"{VERSION_PAGE}#components-response", context, status=status)


@require_access(RESOURCE, model=CompPlanVersion)
def version_builder(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the version, its components with their EKRA flags and sign-offs, and (drafts) the forms to build it.
    ``?add=1`` / ``?edit=<component>`` open a form without JavaScript; ``?format=`` exports the components."""
    version = _version(pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    if fmt := export_format(request):
        return export_response(rows=reads.version_detail(version).rows, columns=COMPONENT_COLUMNS,
                               stem=f"{version} components", fmt=fmt)
    editing = request.GET.get("edit")
    return render(request, VERSION_PAGE, version_context(
        request, version, editing=int(editing) if editing and editing.isdigit() else None,
        adding=request.GET.get("add") == "1"))


@require_access(RESOURCE, CHANGE, model=CompPlanVersion)
def version_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """A draft's dates, period cap, quota basis and notes."""
    version = _version(pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = VersionForm(request.POST, version=version)
    if form.is_valid():
        try:
            services.version_update(version=version, **form.service_kwargs())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"{version} saved.")
            return redirect("commissions_version", pk=version.pk)
    version.refresh_from_db()
    return render(request, VERSION_PAGE, version_context(request, version, settings_form=form), status=400)


@require_access(RESOURCE, CHANGE, model=CompPlanVersion)
def component_new(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the add form in place (htmx) or on the page; POST: add the component."""
    version = _version(pk)
    if request.method == "GET":
        if is_htmx(request):
            return render(request, f"{VERSION_PAGE}#components", version_context(request, version, adding=True))
        return redirect(reverse("commissions_version", kwargs={"pk": version.pk}) + "?add=1#component-form")
    form = ComponentForm(request.POST)
    if form.is_valid():
        try:
            component = services.component_save(version=version, **form.service_kwargs())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return _components_response(request, version, message=_saved_message(component, version, created=True))
    return _components_response(request, version, error="The component was not saved: see the form.",
                                form=_focus_first_error(form), adding=True)


def _saved_message(component: Component, version: CompPlanVersion, *, created: bool) -> str:
    text = f"{component.name} {'added' if created else 'saved'}."
    if services.component_flagged(component):
        text += " It is flagged for EKRA / Anti-Kickback review: it needs a compliance sign-off before the version " \
                "activates."
    if getattr(component, "signoff_withdrawn", False):
        text += " Its compliance sign-off was withdrawn because its terms changed; it needs a new one."
    return text


@require_access(RESOURCE, CHANGE, model=Component)
def component_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the component's form in place of its row (htmx) or on the page; POST: save it."""
    component = get_object_or_404(Component.objects.select_related("version__plan"), pk=pk)
    version = component.version
    if request.method == "GET":
        if is_htmx(request):
            return render(request, f"{VERSION_PAGE}#components",
                          version_context(request, version, editing=component.pk))
        return redirect(reverse("commissions_version", kwargs={"pk": version.pk})
                        + f"?edit={component.pk}#component-{component.pk}")
    form = ComponentForm(request.POST, component=component)
    if form.is_valid():
        try:
            component = services.component_save(version=version, component=component, **form.service_kwargs())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return _components_response(request, version, message=_saved_message(component, version, created=False))
    return _components_response(request, version, error=f"{component.name} was not saved: see the form.",
                                form=_focus_first_error(form), editing=component.pk)


@require_access(RESOURCE, CHANGE, model=Component)
def component_delete(request: HttpRequest, pk: int) -> HttpResponse:
    component = get_object_or_404(Component.objects.select_related("version__plan"), pk=pk)
    version = component.version
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.component_delete(component=component)
    except ValidationError as exc:
        return _components_response(request, version, error=refusal(exc))
    return _components_response(request, version, message=f"{component.name} removed.")


@require_access(RESOURCE, APPROVE, model=Component)
def component_signoff(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a compliance sign-off (with its reason) on a flagged component (approve right)."""
    component = get_object_or_404(Component.objects.select_related("version__plan"), pk=pk)
    version = component.version
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = SignoffForm(request.POST)
    raw = request.POST.get("reason", "")
    if not form.is_valid():
        error = "A sign-off needs the reason: what was reviewed and why the component is acceptable."
        return _components_response(request, version, error=f"{component.name}: {error}",
                                    signoff_errors={component.pk: (raw, error)})
    try:
        services.signoff_record(component=component, user=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        return _components_response(request, version, error=f"{component.name}: {refusal(exc)}",
                                    signoff_errors={component.pk: (raw, refusal(exc))})
    return _components_response(request, version, message=f"Compliance sign-off recorded for {component.name}.")


def _lifecycle(request: HttpRequest, version: CompPlanVersion, step: Any) -> HttpResponse:
    """Run one lifecycle step (returning the success message); a refusal is shown in the status line."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    target = reverse("commissions_version", kwargs={"pk": version.pk})
    try:
        message = step()
    except ValidationError as exc:
        if is_htmx(request):
            return render(request, f"{VERSION_PAGE}#status", {"status_error": refusal(exc)})
        messages.error(request, refusal(exc))
        return redirect(target)
    messages.success(request, message)
    return HttpResponseClientRedirect(target) if is_htmx(request) else redirect(target)


@require_access(RESOURCE, APPROVE, model=CompPlanVersion)
def version_activate(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(pk)

    def step() -> str:
        changes = services.version_activate(version=version, user=request.user)
        return " ".join([f"{version} is active from {_date(version.effective_from)}."] + changes)

    return _lifecycle(request, version, step)


@require_access(RESOURCE, APPROVE, model=CompPlanVersion)
def version_retire(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(pk)

    def step() -> str:
        services.version_retire(version=version)
        return f"{version} retired: it no longer pays."

    return _lifecycle(request, version, step)


@require_access(RESOURCE, CHANGE, model=CompPlanVersion)
def version_delete(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.version_delete(version=version)
    except ValidationError as exc:
        messages.error(request, refusal(exc))
        return redirect("commissions_version", pk=version.pk)
    messages.success(request, f"Draft {version} deleted.")
    target = reverse("commissions_plan", kwargs={"pk": version.plan_id})
    return HttpResponseClientRedirect(target) if is_htmx(request) else redirect(target)


# -- assignments -----------------------------------------------------------------------------------

ASSIGNMENT_COLUMNS = [
    Column("id", "pk"), Column("person", "person.full_name"), Column("employee_id", "person.employee_id"),
    Column("plan", "plan.name"), Column("effective_from", "effective_from"), Column("effective_to", "effective_to"),
    Column("quota_amount", "quota_amount"), Column("draw_amount", "draw_amount"),
    Column("draw_recoverable", "draw_recoverable"), Column("draw_until", "draw_until"),
    Column("acknowledged_at", "acknowledged_at"),
    Column("acknowledged_by", lambda a: a.acknowledged_by.get_username() if a.acknowledged_by else ""),
    Column("acknowledged_version", lambda a: f"v{a.acknowledged_version.version}" if a.acknowledged_version else ""),
]


def _assignment_rows(plan: CompPlan) -> list[PlanAssignment]:
    today = timezone.localdate()
    active = list(CompPlanVersion.objects.filter(plan=plan, status=VersionStatus.ACTIVE))
    rows = list(reads.assignments(plan=plan))
    for a in rows:
        a.current = reads.assignment_is_current(a, today)  # type: ignore[attr-defined]
        shown = reads.document_version(a, today=today, active_versions=active)
        a.ack_current = bool(a.acknowledged_at and shown is not None  # type: ignore[attr-defined]
                             and a.acknowledged_version_id == shown.pk)
    return rows


@require_access(RESOURCE, model=CompPlan)
def plan_assignments(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: who is on the plan (``?format=`` exports them); POST: assign a person (change right)."""
    plan = get_object_or_404(CompPlan, pk=pk)
    form = AssignmentForm(request.POST or None, initial={"effective_from": timezone.localdate().replace(day=1)})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                assignment = services.assignment_save(plan=plan, **form.service_kwargs())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"{assignment.person} is on {plan.name} from "
                                          f"{_date(assignment.effective_from)}. Share the plan document with them "
                                          "to acknowledge.")
                return redirect("commissions_plan_assignments", pk=plan.pk)
        status = 400
    if fmt := export_format(request):
        return export_response(rows=reads.assignments(plan=plan), columns=ASSIGNMENT_COLUMNS,
                               stem=f"{plan.name} assignments", fmt=fmt)
    return render(request, "commissions/plan_assignments.html", {
        "plan": plan, "assignments": _assignment_rows(plan), "form": form, "can_change": can_change(request),
        "end_form": AssignmentEndForm(), "has_people": Person.objects.exists(),
        "has_active_version": plan.versions.filter(status=VersionStatus.ACTIVE).exists()}, status=status)


@require_access(RESOURCE, CHANGE, model=PlanAssignment)
def assignment_end(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = get_object_or_404(PlanAssignment.objects.select_related("person", "plan"), pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = AssignmentEndForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{assignment.person}: give the first day they are off the plan.")
    else:
        try:
            services.assignment_end(assignment=assignment, effective_to=form.cleaned_data["effective_to"])
        except ValidationError as exc:
            messages.error(request, f"{assignment.person}: {refusal(exc)}")
        else:
            messages.success(request, f"{assignment.person} is off {assignment.plan.name} from "
                                      f"{_date(assignment.effective_to)}.")
    return redirect("commissions_plan_assignments", pk=assignment.plan_id)


@require_access(RESOURCE, CHANGE, model=PlanAssignment)
def assignment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = get_object_or_404(PlanAssignment.objects.select_related("person", "plan"), pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    services.assignment_delete(assignment=assignment)
    messages.success(request, f"The assignment of {assignment.person} to {assignment.plan.name} was removed.")
    return redirect("commissions_plan_assignments", pk=assignment.plan_id)


# -- the plan document -----------------------------------------------------------------------------

def own_person_ids(request: HttpRequest) -> set[int]:
    """The people the signed-in user is: their membership's person and any person linked to their user."""
    ids = set(Person.objects.filter(user_id=request.user.pk).values_list("pk", flat=True))
    person_id = getattr(getattr(request, "membership", None), "person_id", None)
    if person_id is not None:
        ids.add(person_id)
    return ids


def _readable_assignment(request: HttpRequest, pk: int) -> PlanAssignment:
    """The assignment if the request may read its document: a rep only their own (404 otherwise)."""
    assignment = get_object_or_404(PlanAssignment.objects.select_related(
        "person", "plan", "acknowledged_by", "acknowledged_version"), pk=pk)
    if getattr(request, "role", None) not in READ_ANY_DOCUMENT and assignment.person_id not in own_person_ids(request):
        raise Http404("No such plan document.")
    return assignment


def _document_context(request: HttpRequest, assignment: PlanAssignment, **extra: Any) -> dict[str, Any]:
    document = reads.plan_document(assignment)
    mine = assignment.person_id in own_person_ids(request)
    return {"doc": document, "assignment": assignment, "is_mine": mine,
            "may_acknowledge": mine and document.version is not None and not document.acknowledged_current,
            "can_read_plans": allowed(getattr(request, "role", None), RESOURCE, VIEW), **extra}


@require_access(DOCUMENTS, model=PlanAssignment)
def plan_document(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable plan document of one assignment."""
    assignment = _readable_assignment(request, pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return render(request, "commissions/plan_document.html", _document_context(request, assignment))


@require_access(DOCUMENTS, VIEW, model=PlanAssignment)
def plan_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """"I acknowledge": only the person on the assignment (the service checks the user link)."""
    assignment = _readable_assignment(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.assignment_acknowledge(assignment=assignment, user=request.user)
    except ValidationError as exc:
        if is_htmx(request):
            return render(request, "commissions/plan_document.html#acknowledgment",
                          _document_context(request, assignment, ack_error=refusal(exc)))
        return render(request, "commissions/plan_document.html",
                      _document_context(request, assignment, ack_error=refusal(exc)), status=400)
    assignment.refresh_from_db()
    if is_htmx(request):
        return render(request, "commissions/plan_document.html#acknowledgment",
                      _document_context(request, assignment, ack_message="Thank you: your acknowledgment is recorded."))
    messages.success(request, "Thank you: your acknowledgment is recorded.")
    return redirect("commissions_plan_document", pk=assignment.pk)


MY_COLUMNS = [
    Column("plan", "plan.name"), Column("effective_from", "effective_from"), Column("effective_to", "effective_to"),
    Column("quota_amount", "quota_amount"), Column("draw_amount", "draw_amount"),
    Column("acknowledged_at", "acknowledged_at"),
]


@require_access(DOCUMENTS)
def my_plan(request: HttpRequest) -> HttpResponse:
    """The signed-in person's plan assignments, each with its plan document."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    ids = own_person_ids(request)
    rows = list(reads.assignments(person_ids=ids)) if ids else []
    if fmt := export_format(request):
        return export_response(rows=rows, columns=MY_COLUMNS, stem="My compensation plans", fmt=fmt)
    today = timezone.localdate()
    for a in rows:
        a.current = reads.assignment_is_current(a, today)  # type: ignore[attr-defined]
    return render(request, "commissions/plans_mine.html", {
        "assignments": rows, "linked": bool(ids), "can_read_plans": allowed(getattr(request, "role", None),
                                                                               RESOURCE, VIEW)})


# -- credit rules ----------------------------------------------------------------------------------

RULE_COLUMNS = [
    Column("id", "pk"), Column("name", "name"), Column("kind", "get_kind_display"), Column("level", "level"),
    Column("share", "share"), Column("basis", lambda r: r.basis or "every basis"), Column("active", "is_active"),
]


@require_access(RESOURCE)
def credit_rules(request: HttpRequest) -> HttpResponse:
    """GET: team credit, overlays and manager overrides (``?format=`` exports them); POST: add one."""
    form = CreditRuleForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                rule = services.credit_rule_save(**form.service_kwargs())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Credit rule {rule.name} added.")
                return redirect("commissions_credit_rules")
        status = 400
    if fmt := export_format(request):
        return export_response(rows=reads.credit_rules(), columns=RULE_COLUMNS, stem="Credit rules", fmt=fmt)
    rules = list(reads.credit_rules())
    for rule in rules:
        rule.share_pct = f"{(rule.share * 100).normalize():f}"  # type: ignore[attr-defined]
    return render(request, "commissions/credit_rules.html", {
        "rules": rules, "form": form, "can_change": can_change(request)}, status=status)


@require_access(RESOURCE, model=CreditRule)
def credit_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(CreditRule, pk=pk)
    form = CreditRuleForm(request.POST or None, rule=rule)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.credit_rule_save(rule=rule, **form.service_kwargs())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Credit rule {rule.name} saved.")
                return redirect("commissions_credit_rules")
        status = 400
    return render(request, "commissions/credit_rules_edit.html", {"rule": rule, "form": form,
                                                                  "can_change": can_change(request)}, status=status)


@require_access(RESOURCE, CHANGE, model=CreditRule)
def credit_rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(CreditRule, pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    services.credit_rule_delete(rule=rule)
    messages.success(request, f"Credit rule {rule.name} deleted.")
    return redirect("commissions_credit_rules")
