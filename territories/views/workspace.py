"""The plan workspace (resource ``territories``): map, balance, metrics, hierarchy, coverage, rules, and editing.

Edits (move a ZIP or an account, split, merge, reassign a rep, add a territory or a rule, delete
a rule) post to their own URL and go through one service each (audited). An htmx edit answers
with the status line and, out of band, every section it changed (map, balance chart, metrics,
hierarchy, rules, the edit forms), so the page updates in place; a refused edit answers with the
service's message and the form it came from, errors next to the fields. Without htmx the same
URLs redirect back to the workspace.
"""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from revops.access import CHANGE, require_access
from revops.exports import Column, export_response
from revops.models import Account

from .. import selectors, services
from ..forms import CoverageForm, MergeForm, MoveForm, RuleForm, SplitForm, TerritoryForm
from ..models import AssignmentRule, Coverage, CoverageRole, RuleKind, TerritoryPlan
from .balancing import runs_context
from . import figures
from .common import RESOURCE, can_change, export_format, is_htmx, tolerance_from
from .plans import lifecycle_flags

WORKSPACE = "territories/workspace.html"
SECTIONS = ("header", "metrics", "map", "balance", "edit", "structure", "rules")
ZERO = Decimal(0)

# Edit name -> (form class, the section its form lives in).
EDIT_FORMS: dict[str, tuple[type[django_forms.Form], str]] = {
    "move": (MoveForm, "edit"), "split": (SplitForm, "edit"), "merge": (MergeForm, "edit"),
    "coverage": (CoverageForm, "edit"), "territory": (TerritoryForm, "structure"), "rule": (RuleForm, "rules"),
}


def _forms(plan: TerritoryPlan, bound: dict[str, django_forms.Form] | None = None) -> dict[str, django_forms.Form]:
    out = {name: cls(plan=plan, prefix=name) for name, (cls, _) in EDIT_FORMS.items()}  # type: ignore[call-arg]
    out.update(bound or {})
    return out


def workspace_context(request: HttpRequest, plan: TerritoryPlan, *, tolerance: float,
                      bound: dict[str, django_forms.Form] | None = None) -> dict[str, Any]:
    """Everything the workspace and its fragments show, from the selectors."""
    balance = selectors.plan_balance(plan=plan)
    groups = selectors.zip_potentials(plan=plan)
    accounts_total = sum(g["accounts"] for g in groups)
    tree = selectors.hierarchy(plan)
    colors = {t.code: figures.territory_color(t, i) for i, t in enumerate(sorted((t for _, t in tree),
                                                                                   key=lambda t: t.code))}
    for row in balance.territories:
        row["color"] = colors.get(row["code"], figures.UNASSIGNED_COLOR)
        row["within"] = row["deviation_pct"] is not None and abs(row["deviation_pct"]) <= tolerance * 100 + 1e-9
    by_id = {row["id"]: row for row in balance.territories}
    coverage = list(Coverage.objects.filter(territory__plan=plan).select_related("person", "territory")
                    .order_by("territory__code", "role", "valid_from"))
    primary = {c.territory_id: c for c in coverage if c.role == CoverageRole.PRIMARY and c.valid_to is None}
    rules = list(AssignmentRule.objects.filter(plan=plan).select_related("territory")
                 .order_by("territory__code", "kind", "priority", "value"))
    named = dict(Account.objects.filter(pk__in=[int(r.value) for r in rules if r.kind == RuleKind.ACCOUNT
                                                and r.value.isdigit()]).values_list("pk", "name"))
    rule_counts: dict[int, int] = {}
    for rule in rules:
        rule.account_name = named.get(int(rule.value)) if rule.kind == RuleKind.ACCOUNT else None  # type: ignore[attr-defined]
        rule_counts[rule.territory_id] = rule_counts.get(rule.territory_id, 0) + 1
    nodes = [{"depth": depth, "territory": t, "color": colors.get(t.code), "leaf": t.pk in by_id,
              "stats": by_id.get(t.pk), "primary": primary.get(t.pk), "rules": rule_counts.get(t.pk, 0),
              "indent": depth * 1.25} for depth, t in tree]
    units = figures.zip_units(groups)
    territories = [{"code": t.code, "name": t.name, "color": colors.get(t.code)} for _, t in tree]
    leaves_accounts = sum(r["accounts"] for r in balance.territories)
    total_potential = sum((r["potential"] for r in balance.territories), ZERO) + balance.unassigned["potential"]
    on_branches = accounts_total - leaves_accounts - balance.unassigned["accounts"]
    editable = plan.is_editable and can_change(request)
    return {
        "plan": plan, "balance": balance, "tolerance": tolerance, "tolerance_pct": round(tolerance * 100, 1),
        "within": figures.within_tolerance(balance, tolerance),
        "cv_pct": balance.cv * 100 if balance.cv is not None else None, "accounts_total": accounts_total,
        "accounts_assigned": leaves_accounts, "total_potential": total_potential, "on_branches": on_branches,
        "nodes": nodes, "coverage": coverage, "rules": rules, "zip_count": len(units),
        "has_territories": bool(tree), "has_accounts": bool(groups),
        "map_figure": figures.map_figure(units, territories) if units else None,
        "balance_figure": figures.balance_figure(balance, tolerance) if balance.territories else None,
        "editable": editable, "can_change": can_change(request), "forms": _forms(plan, bound) if editable else {},
        "kinds": RuleKind.choices, **lifecycle_flags(request, plan),
    }


@require_access(RESOURCE, model=TerritoryPlan)
def workspace(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(TerritoryPlan.objects.select_related("based_on", "approved_by"), pk=pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    context = workspace_context(request, plan, tolerance=tolerance_from(request.GET))
    context["optimizer"] = runs_context(request, plan)
    return render(request, WORKSPACE, context)


@require_access(RESOURCE, model=TerritoryPlan)
def balance_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    """The balance section alone (the tolerance control re-draws it with another band)."""
    plan = get_object_or_404(TerritoryPlan, pk=pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    context = workspace_context(request, plan, tolerance=tolerance_from(request.GET))
    return render(request, f"{WORKSPACE}#balance-and-metrics", context)


# -- edits -----------------------------------------------------------------------------------------

def _apply_move(plan: TerritoryPlan, data: dict[str, Any], request: HttpRequest) -> str:
    rule = services.unit_move(plan=plan, kind=data["kind"], value=data["value"], territory=data["territory"])
    what = RuleKind(rule.kind).label
    if rule.kind == RuleKind.ACCOUNT:
        account = Account.objects.filter(pk=int(rule.value)).first()
        what = f"Account {account.name if account else rule.value}"
        return f"{what} moved to {data['territory'].code}."
    return f"{what} {rule.value} moved to {data['territory'].code}."


def _apply_split(plan: TerritoryPlan, data: dict[str, Any], request: HttpRequest) -> str:
    new = services.territory_split(territory=data["territory"], code=data["code"], name=data["name"],
                                   rules=list(data["rules"]))
    n = len(data["rules"])
    return f"{data['territory'].code} split: {new.code} takes {n} rule{'s' if n != 1 else ''}."


def _apply_merge(plan: TerritoryPlan, data: dict[str, Any], request: HttpRequest) -> str:
    source_code = data["source"].code
    services.territory_merge(source=data["source"], target=data["target"])
    return f"{source_code} merged into {data['target'].code}."


def _apply_coverage(plan: TerritoryPlan, data: dict[str, Any], request: HttpRequest) -> str:
    cov = services.coverage_assign(territory=data["territory"], person=data.get("person"),
                                   placeholder=data.get("placeholder") or "", role=data["role"],
                                   valid_from=data.get("valid_from"))
    who = str(cov.person) if cov.person else cov.placeholder
    return f"{who} covers {data['territory'].code} as {cov.get_role_display().lower()} from {cov.valid_from}."


def _apply_territory(plan: TerritoryPlan, data: dict[str, Any], request: HttpRequest) -> str:
    t = services.territory_create(plan=plan, code=data["code"], name=data["name"], parent=data.get("parent"),
                                  level=data.get("level") or "territory")
    return f"Territory {t.code} added."


def _apply_rule(plan: TerritoryPlan, data: dict[str, Any], request: HttpRequest) -> str:
    rule = services.rule_save(plan=plan, territory=data["territory"], kind=data["kind"], value=data["value"],
                              priority=data["priority"], locked=data["locked"])
    return f"Rule added: {rule.get_kind_display()} {rule.value} → {rule.territory.code}."


APPLY: dict[str, Callable[[TerritoryPlan, dict[str, Any], HttpRequest], str]] = {
    "move": _apply_move, "split": _apply_split, "merge": _apply_merge, "coverage": _apply_coverage,
    "territory": _apply_territory, "rule": _apply_rule,
}


def _edit_response(request: HttpRequest, plan: TerritoryPlan, *, message: str | None, error: str | None,
                   bound: dict[str, django_forms.Form] | None = None, section: str | None = None) -> HttpResponse:
    """htmx: the status line plus the changed sections out of band; otherwise back to the workspace."""
    plan.refresh_from_db()  # an edit of a proposed plan sends it back to draft
    target = reverse("territories_plan", kwargs={"pk": plan.pk})
    if not is_htmx(request):
        if error is None:
            messages.success(request, message or "Saved.")
            return redirect(target)
        context = workspace_context(request, plan, tolerance=tolerance_from(request.POST), bound=bound)
        context["status_error"] = error
        return render(request, WORKSPACE, context, status=400)
    context = workspace_context(request, plan, tolerance=tolerance_from(request.POST), bound=bound)
    context.update({"status_message": message, "status_error": error,
                    "oob": {section} if error and section else set(SECTIONS)})
    return render(request, f"{WORKSPACE}#edit-response", context)


def _edit(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    plan = get_object_or_404(TerritoryPlan, pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form_class, section = EDIT_FORMS[name]
    form = form_class(request.POST, plan=plan, prefix=name)  # type: ignore[call-arg]
    message = error = None
    if form.is_valid():
        try:
            message = APPLY[name](plan, form.cleaned_data, request)
        except ValidationError as exc:
            form.add_service_errors(exc)  # type: ignore[attr-defined]
    if message is None:
        errors = [e for errs in form.errors.values() for e in errs]
        error = "Not saved: " + (" ".join(errors) if errors else "check the form.")
        return _edit_response(request, plan, message=None, error=error, bound={name: form}, section=section)
    return _edit_response(request, plan, message=message, error=None)


@require_access(RESOURCE, CHANGE, model=TerritoryPlan)
def edit_move(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, pk, "move")


@require_access(RESOURCE, CHANGE, model=TerritoryPlan)
def edit_split(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, pk, "split")


@require_access(RESOURCE, CHANGE, model=TerritoryPlan)
def edit_merge(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, pk, "merge")


@require_access(RESOURCE, CHANGE, model=TerritoryPlan)
def edit_coverage(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, pk, "coverage")


@require_access(RESOURCE, CHANGE, model=TerritoryPlan)
def edit_territory_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, pk, "territory")


@require_access(RESOURCE, CHANGE, model=TerritoryPlan)
def edit_rule_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, pk, "rule")


@require_access(RESOURCE, CHANGE, model=AssignmentRule)
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change one rule (its territory, kind, value, priority, lock) on a page of its own."""
    rule = get_object_or_404(AssignmentRule.objects.select_related("plan", "territory"), pk=pk)
    plan = rule.plan
    initial = {"territory": rule.territory, "kind": rule.kind, "value": rule.value, "priority": rule.priority,
               "locked": rule.locked}
    form = RuleForm(request.POST or None, plan=plan, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.rule_save(plan=plan, territory=data["territory"], kind=data["kind"], value=data["value"],
                                   priority=data["priority"], locked=data["locked"], rule=rule)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Rule saved: {rule.get_kind_display()} {rule.value} → {rule.territory.code}.")
                return redirect(reverse("territories_plan", kwargs={"pk": plan.pk}) + "#ws-rules")
        status = 400
    if not plan.is_editable:
        for field in form.fields.values():
            field.disabled = True
    return render(request, "territories/rule_form.html", {"rule": rule, "plan": plan, "form": form},
                  status=status)


@require_access(RESOURCE, CHANGE, model=AssignmentRule)
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AssignmentRule.objects.select_related("plan", "territory"), pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    plan, label = rule.plan, f"{rule.get_kind_display()} {rule.value} → {rule.territory.code}"
    try:
        services.rule_delete(rule=rule)
    except ValidationError as exc:
        return _edit_response(request, plan, message=None, error=" ".join(exc.messages), section="rules")
    return _edit_response(request, plan, message=f"Rule deleted: {label}.", error=None)


# -- exports ---------------------------------------------------------------------------------------

EXPORT_TABLES = {"assignments": "Assignments", "balance": "Balance", "rules": "Rules", "coverage": "Coverage"}


@require_access(RESOURCE, model=TerritoryPlan)
def plan_export(request: HttpRequest, pk: int) -> HttpResponse:
    """A plan as CSV or Excel: ``?table=assignments|balance|rules|coverage&format=csv|xlsx``."""
    plan = get_object_or_404(TerritoryPlan, pk=pk)
    table = request.GET.get("table", "assignments")
    if table not in EXPORT_TABLES:
        raise Http404("No such table.")
    fmt = export_format(request) or "csv"
    rows: Any
    if table == "assignments":
        rows = selectors.account_potentials(plan=plan)
        names = dict(Account.objects.filter(pk__in=[r["id"] for r in rows]).values_list("pk", "name"))
        reps = {c.territory_id: c for c in Coverage.objects.filter(
            territory__plan=plan, role=CoverageRole.PRIMARY, valid_to__isnull=True).select_related("person")}
        for row in rows:
            cov = reps.get(row["territory_id"])
            row["account"] = names.get(row["id"], "")
            row["rep"] = (str(cov.person) if cov.person else cov.placeholder) if cov else ""
        columns = [Column("account_id", "id"), Column("account", "account"), Column("zip_code", "zip_code"),
                   Column("state", "state"), Column("territory", "territory_code"), Column("rep", "rep"),
                   Column("volume", "volume"), Column("revenue", "revenue"), Column("visits", "visits"),
                   Column("potential", "potential")]
    elif table == "balance":
        balance = selectors.plan_balance(plan=plan)
        rows = [*balance.territories, {**balance.unassigned, "code": "", "name": "Unassigned"}]
        columns = [Column(h, h) for h in ("code", "name", "accounts", "potential", "workload", "share",
                                          "deviation_pct", "quota", "actual", "attainment")]
    elif table == "rules":
        rows = AssignmentRule.objects.filter(plan=plan).select_related("territory").order_by("kind", "priority", "id")
        columns = [Column("territory", "territory.code"), Column("kind", "kind"), Column("value", "value"),
                   Column("priority", "priority"), Column("locked", "locked")]
    else:
        rows = Coverage.objects.filter(territory__plan=plan).select_related("territory", "person")
        columns = [Column("territory", "territory.code"), Column("person", "person"),
                   Column("placeholder", "placeholder"), Column("role", "get_role_display"),
                   Column("valid_from", "valid_from"), Column("valid_to", "valid_to")]
    return export_response(rows=rows, columns=columns, stem=f"{plan.name} {EXPORT_TABLES[table]}", fmt=fmt)


@require_access(RESOURCE, CHANGE, model=TerritoryPlan)
def rules_import(request: HttpRequest, pk: int) -> HttpResponse:
    """Upload a CSV of rules (territory, kind, value, priority, locked): the rows that fail are listed by line."""
    from ..forms import RulesImportForm
    from ..imports import RulesFileError
    from ..imports import rules_import as import_rules

    plan = get_object_or_404(TerritoryPlan, pk=pk)
    form = RulesImportForm(request.POST or None, request.FILES or None)
    result = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                text = form.cleaned_data["file"].read().decode("utf-8-sig")
                result = import_rules(plan=plan, text=text)
            except UnicodeDecodeError:
                form.add_error("file", "The file is not UTF-8 text (save it as CSV UTF-8).")
            except RulesFileError as exc:
                form.add_error("file", str(exc))
            except ValidationError as exc:
                form.add_error(None, exc.messages)
        if result is None:
            status = 400
    return render(request, "territories/rules_import.html", {"plan": plan, "form": form, "result": result},
                  status=status)
