"""The call page (resource ``forecast_calls``) for reps and managers.

Pick a period (and, for admins, analysts and executives, whose page). A rep sees their pipeline for
the period (open opportunities expected to close in it and what they won in it) and submits commit,
best case and pipeline in one small form (Enter submits; htmx swaps the board in place and the cursor
stays in the field). A manager also sees their team's roll-up: each person's own call, the manager's
adjustment and the team number side by side, drills down into a sub-team, and adjusts a direct
report's number or the whole team's, which never overwrites anyone's own call. Every call's history
is one click away. Whose numbers a user may submit is ``common.submission_refusal``: a refusal is a
403 that says why.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from revops.access import CHANGE, require_access
from revops.models import Person

from .. import selectors, services
from ..forms import CallForm
from ..models import CALL_CATEGORIES, CallKind, ForecastCategory, ForecastPeriod
from ..selectors import pipeline as reads
from .common import (
    CALLS,
    NARROW_READ_ROLES,
    acting_person,
    is_htmx,
    period_from,
    readable_people,
    role_of,
    submission_refusal,
)

PAGE = "forecasting/calls.html"
CATEGORY_VALUES = [c.value for c in CALL_CATEGORIES]


def _chosen_category(raw: Any) -> str:
    return raw if raw in CATEGORY_VALUES else ForecastCategory.COMMIT.value


class NotYours(PermissionDenied):
    """A page of someone outside the user's reach (shown as a 403 with the reason)."""


def _page_person(request: HttpRequest, raw: Any, period: ForecastPeriod | None) -> Person | None:
    """Whose page: ``?person=`` if the request may read it (``NotYours`` otherwise), else the user's own
    person, else (for those who read everyone's) the first top manager."""
    people = readable_people(request, period.start if period else timezone.localdate())
    if raw not in (None, ""):
        person = Person.objects.filter(pk=int(raw)).first() if str(raw).isdigit() else None
        if person is None:
            raise Http404("No such person.")
        if people is not None and person.pk not in people:
            raise NotYours(f"You may open only your own call page and those of the people under you; {person}'s "
                           "is not one of them.")
        return person
    me = acting_person(request)
    if me is not None:
        return me
    if role_of(request) not in NARROW_READ_ROLES and period is not None:
        tops = selectors.top_managers(on=period.start)
        return tops[0] if tops else Person.objects.first()
    return None


def _forbidden(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "forecasting/forbidden.html", {"reason": reason}, status=403)


def bottom_up(node: selectors.RollupNode, category: str) -> Decimal | None:
    """A manager's roll-up before their own team-level number: own call + each report's number as adjusted."""
    parts = [node.own[category].amount] if category in node.own else []
    parts += [n for n in (child.effective(category) for child in node.children) if n is not None]
    return sum(parts, Decimal(0)) if parts else None


def board_context(request: HttpRequest, *, period: ForecastPeriod | None, person: Person | None, category: str,
                  errors: dict[str, tuple[str, str]] | None = None, status_message: str | None = None,
                  status_error: str | None = None) -> dict[str, Any]:
    """Everything under the pickers: the person's own call, their pipeline, their team's roll-up, history.

    ``errors`` maps an input's id to (what was typed, why it was refused)."""
    errors = errors or {}
    context: dict[str, Any] = {
        "period": period, "person": person, "category": category, "category_label": ForecastCategory(category).label,
        "categories": CALL_CATEGORIES, "errors": errors, "status_message": status_message,
        "status_error": status_error, "today": timezone.localdate(),
    }
    if period is None or person is None:
        return context
    refusal = submission_refusal(request, period=period, person=person)
    may_submit = refusal is None and not period.is_closed
    tree = selectors.rollup(period=period, manager=person)
    rows = reads.rollup_rows(tree)
    for row in rows:
        node = row["node"]
        row["own_call"] = node.own.get(category)
        row["adjusted_call"] = node.adjusted.get(category)
        row["team_call"] = node.team_call.get(category)
        row["team"] = row[f"team_{category}"]
        row["effective"] = row[f"effective_{category}"]
        row["input_id"] = f"adjust-{node.person.pk}"
        typed, error = errors.get(row["input_id"], (None, None))
        row["error"] = error
        row["adjust_value"] = typed if typed is not None else (
            f"{row['adjusted_call'].amount:f}" if row["adjusted_call"] else "")
        row["indent"] = 0.5 + row["depth"] * 1.25
        row["query"] = urlencode({"period": period.pk, "person": node.person.pk, "category": category})
    own_inputs = []
    for c in CALL_CATEGORIES:
        call = tree.own.get(c)
        typed, error = errors.get(f"own-{c.value}", (None, None))
        own_inputs.append({"category": c.value, "label": c.label, "call": call, "id": f"own-{c.value}",
                           "value": typed if typed is not None else (f"{call.amount:f}" if call else ""),
                           "error": error})
    team_typed, team_error = errors.get("team-number", (None, None))
    team_call = tree.team_call.get(category)
    context.update({
        "may_submit": may_submit, "refusal": refusal, "tree": tree, "rows": rows[1:], "root": rows[0], "has_team": bool(tree.children),
        "own_inputs": own_inputs, "team_number": tree.team_number(category), "bottom_up": bottom_up(tree, category),
        "team_call": team_call, "team_input": {"id": "team-number", "error": team_error,
                                               "value": team_typed if team_typed is not None else
                                               (f"{team_call.amount:f}" if team_call else "")},
        "pipeline": reads.period_pipeline(period=period, people={person.pk}),
        "opportunities": list(reads.period_opportunities(period=period, people={person.pk})[:200]),
        "team_pipeline": reads.period_pipeline(period=period, people={n.person.pk for _, n in tree.walk()})
        if tree.children else None,
        "history": selectors.call_history(period=period, person=person),
        "is_past_deadline": timezone.localdate() > period.deadline,
        "page_query": urlencode({"period": period.pk, "person": person.pk}),
    })
    return context


@require_access(CALLS)
def calls(request: HttpRequest) -> HttpResponse:
    """``?period=<id>&person=<id>&category=commit|best_case|pipeline``."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    period = period_from(request.GET.get("period"))
    try:
        person = _page_person(request, request.GET.get("person"), period)
    except NotYours as exc:
        return _forbidden(request, str(exc))
    category = _chosen_category(request.GET.get("category"))
    context = board_context(request, period=period, person=person, category=category)
    context.update({"periods": list(ForecastPeriod.objects.all()[:36]), "me": acting_person(request),
                    "people": _people_choices(request, period)})
    if is_htmx(request) and request.GET.get("part") == "board":
        return render(request, f"{PAGE}#board", context)
    return render(request, PAGE, context)


def _people_choices(request: HttpRequest, period: ForecastPeriod | None) -> list[Person]:
    """Whose page the picker offers (everyone for those who read everyone's; else the user's reach)."""
    people = readable_people(request, period.start if period else timezone.localdate())
    qs = Person.objects.order_by("last_name", "first_name")
    return list(qs[:2000] if people is None else qs.filter(pk__in=people))


@require_access(CALLS, CHANGE)
def call_submit(request: HttpRequest) -> HttpResponse:
    """Submit a rep's own call (one to three categories) or a manager's adjustment; answers with the board."""
    if request.method != "POST":
        return redirect("forecasting_calls")
    form = CallForm(request.POST)
    category = _chosen_category(request.POST.get("view_category"))
    period_posted = period_from(request.POST.get("period")) if request.POST.get("period") else None
    try:  # the page the form was on (only one the user may read); else the submitted person's
        view_person = _page_person(request, request.POST.get("view_person"), period_posted) \
            if request.POST.get("view_person") else None
    except (NotYours, Http404):
        view_person = None
    input_id = request.POST.get("input_id") or ""
    if not form.is_valid():
        return _answer(request, period=form.cleaned_data.get("period"),
                       person=view_person or form.cleaned_data.get("person"), category=category,
                       error=form.error_text(), errors=_input_errors(request, form, input_id, category), status=400)
    data = form.cleaned_data
    period, person = data["period"], data["person"]
    refusal = submission_refusal(request, period=period, person=person)
    if refusal:
        return _forbidden(request, refusal)
    amounts = form.amounts()
    try:
        with transaction.atomic():
            for c, amount in amounts.items():
                services.call_submit(period=period, person=person, category=c, amount=amount, user=request.user,
                                     kind=data["kind"], subject=data["subject"], note=data["note"])
    except ValidationError as exc:
        error = " ".join(exc.messages)
        errors = {} if input_id == "own" else {input_id: ((request.POST.get(category) or "").strip(), error)}
        return _answer(request, period=period, person=view_person or person, category=category, error=error,
                       errors=errors, status=400)
    return _answer(request, period=period, person=view_person or person, category=category,
                   message=_saved_message(data, amounts, period), status=200)


def _input_errors(request: HttpRequest, form: CallForm, input_id: str, category: str) -> dict[str, tuple[str, str]]:
    """A refused form's reasons under the inputs they are about: the own-call form's three fields, or the one
    adjustment input that submitted."""
    if input_id == "own":
        return {f"own-{c}": ((request.POST.get(c) or "").strip(), " ".join(form.errors[c]))
                for c in CATEGORY_VALUES if c in form.errors}
    if input_id:
        return {input_id: ((request.POST.get(category) or "").strip(), form.error_text())}
    return {}


def _saved_message(data: dict[str, Any], amounts: dict[str, Decimal], period: ForecastPeriod) -> str:
    late = " (late: after the deadline)" if timezone.localdate() > period.deadline else ""
    numbers = ", ".join(f"{ForecastCategory(c).label.lower()} {a:,.2f}" for c, a in amounts.items())
    if data["kind"] == CallKind.MANAGER and data["subject"] is not None:
        return (f"{data['subject']}'s number adjusted to {numbers}{late}; their own call is kept beside it.")
    if data["kind"] == CallKind.MANAGER:
        return f"{data['person']}'s team number set to {numbers}{late}; the roll-up is kept beside it."
    return f"{data['person']}'s call saved: {numbers}{late}."


def _answer(request: HttpRequest, *, period: ForecastPeriod | None, person: Person | None, category: str,
            status: int, message: str | None = None, error: str | None = None,
            errors: dict[str, tuple[str, str]] | None = None) -> HttpResponse:
    """htmx: the board with the status line (200 so htmx swaps a refusal in too); otherwise back to the page,
    or the page with the reason (400)."""
    if not is_htmx(request) and error is None and period is not None and person is not None:
        from django.contrib import messages

        messages.success(request, message or "Saved.")
        query = urlencode({"period": period.pk, "person": person.pk, "category": category})
        return redirect(f"{reverse('forecasting_calls')}?{query}")
    context = board_context(request, period=period, person=person, category=category, errors=errors,
                            status_message=message, status_error=error)
    if is_htmx(request):
        return render(request, f"{PAGE}#board", context)
    context.update({"periods": list(ForecastPeriod.objects.all()[:36]), "me": acting_person(request),
                    "people": _people_choices(request, period)})
    return render(request, PAGE, context, status=status)


@require_access(CALLS)
def call_history(request: HttpRequest) -> HttpResponse:
    """``?period=<id>&person=<id>``: every call the person made or that was made about them (a fragment
    under htmx)."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    period = period_from(request.GET.get("period"))
    try:
        person = _page_person(request, request.GET.get("person"), period)
    except NotYours as exc:
        return _forbidden(request, str(exc))
    history = selectors.call_history(period=period, person=person) if period and person else []
    context = {"period": period, "person": person, "history": history}
    if is_htmx(request):
        return render(request, "forecasting/call_history.html#history", context)
    return render(request, "forecasting/call_history.html", context)
