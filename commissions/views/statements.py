"""Statement pages (mounted at ``commissions/``): a person's statement for a period (printable; earnings by
component, attainment, draws and balances, held pay, every line with its explanation and a "Dispute this line"
link), the manager and finance approvals, and "My statements" for reps.

Resource ``commission_statements``: admins, executives and analysts read every statement; a rep reads only the
statements of the person linked to their membership (anyone else's is a 404, as if it did not exist).
Executives approve as the manager, then admins as finance; nobody approves their own.
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from revops.access import APPROVE, CHANGE, VIEW, allowed, require_access
from revops.exports import Column, export_response

from ..models import Statement, StatementStatus
from ..selectors import runs as reads
from ..services import statements as statement_services
from .runs import export_format, url_or_none

RESOURCE = "commission_statements"
LINE_COLUMNS = [
    Column("line_id", "id"), Column("date", "transaction_date"), Column("kind", "kind"),
    Column("transaction", "transaction_external_id"), Column("component", "component_name"),
    Column("plan_version", "version_label"), Column("credit_role", "credit_role"),
    Column("credit_share", "credit_share"),
    Column("credited", "credited"), Column("tier", "tier"), Column("rate", "rate"),
    Column("attainment_before", "attainment_before"), Column("attainment_after", "attainment_after"),
    Column("amount", "amount"), Column("held", "held"), Column("release_on", "release_on"), Column("note", "note"),
    Column("explanation", "explanation"),
]


def acting_person_id(request: HttpRequest) -> int | None:
    """The person linked to the request's membership (None when no person is linked)."""
    return getattr(getattr(request, "membership", None), "person_id", None)


def statement_for(request: HttpRequest, pk: int) -> Statement:
    """The statement ``pk`` if the request may read it, else 404 (another organization's, or, for a rep,
    another person's: the page does not say it exists)."""
    statement = reads.statements_readable(role=getattr(request, "role", None),
                                          person_id=acting_person_id(request)).filter(pk=pk).first()
    if statement is None:
        raise Http404("No such statement.")
    return statement


def approvals(request: HttpRequest, statement: Statement) -> dict[str, Any]:
    """Which approval button the request sees (and why not, when it may approve but not this one)."""
    if not allowed(getattr(request, "role", None), RESOURCE, APPROVE) or statement.run_id is None:
        return {"approve_as": None, "approve_refusal": None}
    as_finance, refusal = reads.statement_approval(role=getattr(request, "role", None),
                                                   person_id=acting_person_id(request), statement=statement)
    if refusal:
        return {"approve_as": None, "approve_refusal": refusal}
    wanted = StatementStatus.MANAGER_APPROVED if as_finance else StatementStatus.DRAFT
    if statement.status != wanted:
        return {"approve_as": None, "approve_refusal": None}
    return {"approve_as": "finance" if as_finance else "manager", "approve_refusal": None}


@require_access(RESOURCE, model=Statement)
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One statement; ``?page=`` pages through its lines 200 at a time, ``?format=csv|xlsx`` exports them all."""
    statement = statement_for(request, pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    own = acting_person_id(request) == statement.person_id
    subject = "you" if own else statement.person.full_name
    if fmt := export_format(request):
        rows = reads.lines_all(run_id=statement.run_id, person_id=statement.person_id, subject=subject) \
            if statement.run_id else []
        return export_response(rows=rows, columns=LINE_COLUMNS,
                               stem=f"statement {statement.period.name} {statement.person.employee_id}", fmt=fmt)
    lines = reads.lines_page(run_id=statement.run_id, person_id=statement.person_id, number=request.GET.get("page"),
                             subject=subject) if statement.run_id else None
    dispute_url = url_or_none("commissions_dispute_new") \
        if allowed(getattr(request, "role", None), "commission_disputes", CHANGE) else None
    context = {
        "statement": statement, "period": statement.period, "own": own, "lines": lines,
        "components": reads.earnings_by_component(statement), "held": reads.held_by_release(statement),
        "dispute_url": dispute_url, "can_read_period": allowed(getattr(request, "role", None), "commissions", VIEW),
        "net": statement.earned + statement.adjustments - statement.held + statement.released,
        **approvals(request, statement),
    }
    return render(request, "commissions/statement.html", context)


@require_access(RESOURCE, APPROVE, model=Statement)
def statement_approve(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve as the manager (executives) or as finance (admins), then back to where the button was."""
    statement = statement_for(request, pk)
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = ""
    if request.method == "POST":
        as_finance, refusal = reads.statement_approval(role=getattr(request, "role", None),
                                                       person_id=acting_person_id(request), statement=statement)
        if refusal:
            messages.error(request, refusal)
        else:
            try:
                statement_services.statement_approve(statement=statement, user=request.user, as_finance=as_finance)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, f"{statement.person.full_name}'s {statement.period.name} statement approved "
                                          f"{'by finance' if as_finance else 'as manager'}.")
    return redirect(target or "commissions_statement", **({} if target else {"pk": statement.pk}))


@require_access(RESOURCE)
def my_statements(request: HttpRequest) -> HttpResponse:
    """The statements of the person linked to the user's membership, newest period first."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    person_id = acting_person_id(request)
    statements = list(reads.statements_of_person(person_id)) if person_id is not None else []
    return render(request, "commissions/statements_my.html",
                  {"statements": statements, "linked": person_id is not None, "tab": "my"})
