"""Intake rules, the intake check and rule violations (resource ``intake_rules``). Rules are added and edited in
place with htmx (each row swaps to its form and back)."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from revops.access import CHANGE, require_access
from revops.exports import Column, export_response

from .. import services
from ..forms import IntakeCheckForm, IntakeRuleForm
from ..models import IntakeRule
from ..selectors.rules import DEFAULT_DECISION, DEFAULT_REASON, MIN_ADJUDICATED_CLAIMS, MIN_PATIENT_DAYS, \
    intake_check, violations
from .common import RULES, can, dict_columns, export_format, is_htmx

RULE_COLUMNS = [
    Column("id", "id"), Column("payer", "payer.name"), Column("plan_name", "plan_name"),
    Column("program", "program.name"), Column("level_of_care", "level_of_care"),
    Column("decision", "get_decision_display"), Column("effective_from", "effective_from"),
    Column("effective_to", "effective_to"), Column("reason", "reason"),
]
VIOLATION_COLUMNS = ["external_id", "admitted_on", "discharged_on", "payer", "plan_name", "program", "violation",
                     "rule_id", "rule_reason", "claims", "net_collected", "denied", "written_off"]


def _save(form: IntakeRuleForm, rule: IntakeRule | None) -> IntakeRule | None:
    if not form.is_valid():
        return None
    d = form.cleaned_data
    try:
        return services.intake_rule_save(payer=d["payer"], plan_name=d.get("plan_name") or "", program=d.get("program"),
                                         level_of_care=d.get("level_of_care") or "", decision=d["decision"],
                                         effective_from=d["effective_from"], effective_to=d.get("effective_to"),
                                         reason=d.get("reason") or "", rule=rule)
    except ValidationError as exc:
        form.add_service_errors(exc)
        return None


def _rules() -> Any:
    return IntakeRule.objects.select_related("payer", "program")


@require_access(RULES)
def rules(request: HttpRequest) -> HttpResponse:
    """The rules (``?format=csv|xlsx`` exports them); POST adds one (htmx: the new row, or the form with errors)."""
    form = IntakeRuleForm(request.POST or None)
    if request.method == "POST":
        rule = _save(form, None)
        if rule is not None:
            if is_htmx(request):
                return render(request, "intake/rules.html#table", {"rules": _rules(), "can_change": True,
                                                                    "form": IntakeRuleForm(), "added": rule.pk})
            return redirect("intake_rules")
        template = "intake/rules.html#new_form" if is_htmx(request) else "intake/rules.html"
        return render(request, template, {"rules": _rules(), "form": form, "can_change": True, "tab": "rules"},
                      status=400 if not is_htmx(request) else 200)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    if fmt := export_format(request):
        return export_response(rows=_rules(), columns=RULE_COLUMNS, stem="intake rules", fmt=fmt)
    return render(request, "intake/rules.html", {"rules": _rules(), "form": form, "can_change": can(request, RULES),
                                                 "default_decision": DEFAULT_DECISION.label,
                                                 "default_reason": DEFAULT_REASON, "tab": "rules"})


@require_access(RULES, model=IntakeRule)
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the row's edit form (htmx) or the row (``?cancel=1``); POST: save and answer with the row."""
    rule = get_object_or_404(_rules(), pk=pk)
    if request.method == "GET":
        if request.GET.get("cancel"):
            return render(request, "intake/rules.html#row", {"r": rule, "can_change": can(request, RULES)})
        return render(request, "intake/rules.html#edit_row", {"r": rule, "form": IntakeRuleForm(rule=rule)})
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    form = IntakeRuleForm(request.POST, rule=rule)
    saved = _save(form, rule)
    if saved is None:
        return render(request, "intake/rules.html#edit_row", {"r": rule, "form": form},
                      status=200 if is_htmx(request) else 400)
    saved = _rules().get(pk=saved.pk)
    if is_htmx(request):
        return render(request, "intake/rules.html#row", {"r": saved, "can_change": True})
    return redirect("intake_rules")


@require_access(RULES, CHANGE, model=IntakeRule)
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(IntakeRule.objects.all(), pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    services.intake_rule_delete(rule=rule)
    return HttpResponse("") if is_htmx(request) else redirect("intake_rules")


@require_access(RULES)
def check(request: HttpRequest) -> HttpResponse:
    """The intake check, GET with parameters (payer, plan_name, program, expected_los_days, on)."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    form = IntakeCheckForm(request.GET or None)
    result = None
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        result = intake_check(payer=d.get("payer"), program=d["program"], plan_name=d.get("plan_name") or "",
                              expected_los_days=d.get("expected_los_days"), on=d.get("on") or timezone.localdate())
    context = {"form": form, "result": result, "min_days": MIN_PATIENT_DAYS, "min_claims": MIN_ADJUDICATED_CLAIMS,
               "tab": "check"}
    template = "intake/check.html#result" if getattr(request, "htmx", False) else "intake/check.html"
    return render(request, template, context)


@require_access(RULES)
def violations_page(request: HttpRequest) -> HttpResponse:
    """Admissions that broke the rule in force on their admission day and what they cost; ``?format=csv|xlsx``."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    rows = violations()
    if fmt := export_format(request):
        return export_response(rows=rows, columns=dict_columns(rows, VIOLATION_COLUMNS), stem="intake violations",
                               fmt=fmt)
    totals = {k: sum((r[k] for r in rows), 0) for k in ("claims", "net_collected", "denied", "written_off")}
    return render(request, "intake/violations.html", {"rows": rows, "totals": totals, "tab": "violations",
                                                      "any_rules": IntakeRule.objects.exists()})
