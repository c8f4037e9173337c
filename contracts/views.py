"""Contract pages (mounted at ``contracts/``): the list, a contract with its versions and terms (htmx term
edits on drafts, fee schedule import, publish), single-case agreements, the underpayment report with its
drill-down and recompute job, a claim's expected reimbursement, and the quarterly reviews with decisions.

Resource ``contracts``: view for admins, executives, analysts, billing; change for admins and analysts;
approve (record a review decision) for admins, executives and analysts.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from revops.access import APPROVE, CHANGE, allowed, require_access
from revops.exports import FORMATS, Column, export_response
from revops.models import Job, Payer, Program

from . import forms as f
from . import selectors as reads
from .models import ClaimExpectation, Contract, ContractReview, ContractTerm, ContractVersion, VersionStatus
from .services import contracts as services
from .services import reviews as review_services
from .services.reimbursement import RECOMPUTE_JOB, expected_recompute_start

RESOURCE = reads.RESOURCE
DETAIL = "contracts/contract_detail.html"


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _fmt(request: HttpRequest) -> str | None:
    fmt = request.GET.get("format")
    return fmt if fmt in FORMATS else None


def _rights(request: HttpRequest) -> dict[str, bool]:
    role = getattr(request, "role", None)
    return {"can_change": allowed(role, RESOURCE, CHANGE), "can_approve": allowed(role, RESOURCE, APPROVE)}


def _errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errs in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errs)
    else:
        form.add_error(None, exc.messages)


def _go(request: HttpRequest, url: str) -> HttpResponse:
    """Redirect, as htmx's client-side redirect for an htmx request (a swapped form must not get a whole page)."""
    return HttpResponseClientRedirect(url) if _is_htmx(request) else redirect(url)


def _post_only(request: HttpRequest) -> HttpResponse | None:
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])


# -- contracts -------------------------------------------------------------------------------------

LIST_COLUMNS = [
    Column("id", "pk"), Column("name", "name"), Column("payer", "payer.name"), Column("kind", "get_kind_display"),
    Column("plan", "plan_name"), Column("program", lambda c: c.program and c.program.name),
    Column("in_force_version", lambda c: getattr(reads.version_in_force(c, dt.date.today()), "number", None)),
    Column("ends_on", "ends_on"), Column("versions", "version_count"),
]


@require_access(RESOURCE)
def contract_list(request: HttpRequest) -> HttpResponse:
    """Contracts with the version in force today; ``?payer=&kind=&q=``; ``?format=csv|xlsx``."""
    payer = request.GET.get("payer", "")
    kind = request.GET.get("kind", "")
    q = request.GET.get("q", "").strip()
    rows = reads.contract_list(payer=int(payer) if payer.isdigit() else None, kind=kind, q=q)
    if fmt := _fmt(request):
        return export_response(rows=rows, columns=LIST_COLUMNS, stem="Payer contracts", fmt=fmt)
    today = dt.date.today()
    items = [(c, reads.version_in_force(c, today)) for c in rows]
    return render(request, "contracts/contract_list.html", {
        "contract_rows": items, "payers": Payer.objects.order_by("name"), "payer": payer, "kind": kind, "q": q,
        "contract_form": f.ContractForm(), "sca_form": f.SingleCaseForm(), "today": today, **_rights(request)})


@require_access(RESOURCE, CHANGE)
def contract_new(request: HttpRequest) -> HttpResponse:
    if (bad := _post_only(request)) is not None:
        return bad
    form = f.ContractForm(request.POST)
    if form.is_valid():
        try:
            contract = services.contract_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(request, f"{contract.name} created: add its terms to draft version 1, then publish.")
            return _go(request, reverse("contracts_detail", kwargs={"pk": contract.pk}))
    return render(request, "contracts/contract_list.html#new-contract", {"contract_form": form, **_rights(request)},
                  status=200 if _is_htmx(request) else 400)


@require_access(RESOURCE, CHANGE)
def single_case_new(request: HttpRequest) -> HttpResponse:
    if (bad := _post_only(request)) is not None:
        return bad
    form = f.SingleCaseForm(request.POST)
    if form.is_valid():
        try:
            contract = services.single_case_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(request, f"Single-case agreement {contract.name} in force; the payer's claims are "
                                      "being re-priced.")
            return _go(request, reverse("contracts_detail", kwargs={"pk": contract.pk}))
    return render(request, "contracts/contract_list.html#new-sca", {"sca_form": form, **_rights(request)},
                  status=200 if _is_htmx(request) else 400)


def _detail_context(request: HttpRequest, contract: Contract, version: ContractVersion | None = None,
                    **extra: Any) -> dict[str, Any]:
    versions = list(contract.versions.order_by("-number"))
    if version is None:
        wanted = request.GET.get("version", "")
        version = next((v for v in versions if str(v.pk) == wanted), None) or next(
            (v for v in versions if v.status == VersionStatus.DRAFT), None) or (versions[0] if versions else None)
    edit = f.ContractEditForm(initial={"name": contract.name, "ends_on": contract.ends_on, "notes": contract.notes})
    return {
        "contract": contract, "versions": versions, "version": version,
        "terms": list(version.terms.order_by("kind", "level_of_care", "code", "modifier")) if version else [],
        "in_force": reads.version_in_force(contract, dt.date.today()),
        "has_draft": any(v.status == VersionStatus.DRAFT for v in versions),
        "term_form": extra.pop("term_form", None) or f.TermForm(),
        "publish_form": extra.pop("publish_form", None) or f.PublishForm(),
        "import_form": extra.pop("import_form", None) or f.ImportForm(),
        "edit_form": extra.pop("edit_form", None) or edit,
        **_rights(request), **extra,
    }


@require_access(RESOURCE, model=Contract)
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contract = get_object_or_404(Contract.objects.select_related("payer", "program"), pk=pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    context = _detail_context(request, contract)
    if _fmt(request) and context["version"] is not None:
        columns = [Column("kind", "get_kind_display"), Column("code", "code"), Column("modifier", "modifier"),
                   Column("level_of_care", "get_level_of_care_display"), Column("basis", "get_basis_display"),
                   Column("rate", "rate"), Column("lesser_of_charges", "lesser_of_charges"),
                   Column("description", "description")]
        return export_response(rows=context["terms"], columns=columns, fmt=_fmt(request),
                               stem=f"{contract.name} v{context['version'].number} terms")
    return render(request, DETAIL, context)


@require_access(RESOURCE, CHANGE, model=Contract)
def contract_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contract = get_object_or_404(Contract, pk=pk)
    if (bad := _post_only(request)) is not None:
        return bad
    form = f.ContractEditForm(request.POST)
    if form.is_valid():
        try:
            services.contract_update(contract=contract, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(request, "Contract saved.")
            return redirect("contracts_detail", pk=contract.pk)
    return render(request, DETAIL, _detail_context(request, contract, edit_form=form), status=400)


@require_access(RESOURCE, CHANGE, model=Contract)
def version_new(request: HttpRequest, pk: int) -> HttpResponse:
    contract = get_object_or_404(Contract, pk=pk)
    if (bad := _post_only(request)) is not None:
        return bad
    try:
        version = services.version_create(contract=contract, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("contracts_detail", pk=contract.pk)
    messages.success(request, f"Draft version {version.number} started from the latest published terms.")
    return redirect(reverse("contracts_detail", kwargs={"pk": contract.pk}) + f"?version={version.pk}")


def _version(pk: int) -> ContractVersion:
    return get_object_or_404(ContractVersion.objects.select_related("contract", "contract__payer"), pk=pk)


def _back(version: ContractVersion) -> HttpResponse:
    return redirect(reverse("contracts_detail", kwargs={"pk": version.contract_id}) + f"?version={version.pk}")


@require_access(RESOURCE, CHANGE, model=ContractVersion)
def term_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a term to a draft; htmx gets the terms section back (with the form's errors, if any)."""
    version = _version(pk)
    if (bad := _post_only(request)) is not None:
        return bad
    form = f.TermForm(request.POST)
    saved = False
    if form.is_valid():
        try:
            services.term_save(version=version, **form.cleaned_data)
            saved = True
        except ValidationError as exc:
            _errors(form, exc)
    if not _is_htmx(request):
        if saved:
            return _back(version)
        return render(request, DETAIL, _detail_context(request, version.contract, version, term_form=form), status=400)
    return render(request, f"{DETAIL}#terms", _detail_context(
        request, version.contract, version, term_form=None if saved else form,
        terms_status="Term added." if saved else ""))


@require_access(RESOURCE, CHANGE, model=ContractTerm)
def term_delete(request: HttpRequest, pk: int) -> HttpResponse:
    term = get_object_or_404(ContractTerm.objects.select_related("version", "version__contract"), pk=pk)
    if (bad := _post_only(request)) is not None:
        return bad
    version = term.version
    try:
        services.term_delete(term=term)
        note = "Term removed."
    except ValidationError as exc:
        note = " ".join(exc.messages)
    if _is_htmx(request):
        return render(request, f"{DETAIL}#terms", _detail_context(request, version.contract, version,
                                                                  terms_status=note))
    messages.info(request, note)
    return _back(version)


@require_access(RESOURCE, CHANGE, model=ContractVersion)
def version_publish(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(pk)
    if (bad := _post_only(request)) is not None:
        return bad
    form = f.PublishForm(request.POST)
    if form.is_valid():
        try:
            services.version_publish(version=version, effective_from=form.cleaned_data["effective_from"],
                                     user=request.user)
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(request, f"Version {version.number} published from "
                                      f"{form.cleaned_data['effective_from']:%b %-d, %Y}; the payer's claims are being "
                                      "re-priced.")
            return _back(version)
    return render(request, DETAIL, _detail_context(request, version.contract, version, publish_form=form), status=400)


@require_access(RESOURCE, CHANGE, model=ContractVersion)
def version_import(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(pk)
    if (bad := _post_only(request)) is not None:
        return bad
    form = f.ImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            text = form.cleaned_data["file"].read().decode("utf-8-sig")
            result = services.fee_schedule_import(version=version, text=text)
        except UnicodeDecodeError:
            form.add_error("file", "The file is not UTF-8 text (save it as CSV UTF-8).")
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(request, f"Fee schedule imported: {result.created} new rates, {result.updated} changed.")
            return _back(version)
    return render(request, DETAIL, _detail_context(request, version.contract, version, import_form=form), status=400)


@require_access(RESOURCE, CHANGE, model=ContractVersion)
def version_delete(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(pk)
    if (bad := _post_only(request)) is not None:
        return bad
    try:
        services.version_delete(version=version)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back(version)
    messages.success(request, "Draft deleted.")
    return redirect("contracts_detail", pk=version.contract_id)


# -- underpayments ---------------------------------------------------------------------------------

def _report_filters(request: HttpRequest) -> tuple[reads.Filters, dict[str, Any]]:
    def date(name: str) -> dt.date | None:
        try:
            return dt.date.fromisoformat(request.GET.get(name, ""))
        except ValueError:
            return None

    payers = tuple(int(v) for v in request.GET.getlist("payer") if v.isdigit())
    programs = tuple(int(v) for v in request.GET.getlist("program") if v.isdigit())
    contract = request.GET.get("contract", "")
    filters = reads.Filters(start=date("start"), end=date("end"), payers=payers, programs=programs,
                            contract=int(contract) if contract.isdigit() else None)
    query = [(k, v) for k, v in (("start", filters.start), ("end", filters.end), ("contract", filters.contract)) if v]
    query += [("payer", p) for p in payers] + [("program", p) for p in programs]
    return filters, {"query": "&".join(f"{k}={v}" for k, v in query), "filters": filters}


REPORT_COLUMNS = [
    Column("key", "key"), Column("label", "label"), Column("claims", "claims"), Column("expected", "expected"),
    Column("paid", "paid"), Column("patient_responsibility", "patient_responsibility"), Column("variance", "variance"),
    Column("variance_pct", "variance_pct"), Column("underpaid_claims", "underpaid_claims"),
    Column("denied_claims", "denied_claims"), Column("denied_expected", "denied_expected"),
]
CLAIM_COLUMNS = [
    Column("claim_id", "claim_id"), Column("patient_control_number", "claim.patient_control_number"),
    Column("payer", "payer.name"), Column("program", lambda e: e.program and e.program.name),
    Column("contract", lambda e: e.contract and e.contract.name), Column("service_date", "service_date"),
    Column("status", "get_status_display"), Column("charge", "charge"), Column("expected", "expected"),
    Column("paid", "paid"), Column("patient_responsibility", "patient_responsibility"),
    Column("variance", "variance_amount"), Column("denied", "denied"),
    Column("code_expected", lambda e: getattr(e, "code_expected", None)),
    Column("code_paid", lambda e: getattr(e, "code_paid", None)),
    Column("code_variance", lambda e: getattr(e, "code_variance", None)),
]


def _chart(report: reads.Report) -> dict[str, Any]:
    rows = [r for r in report.rows[:12]]
    return {"data": [{"type": "bar", "orientation": "h", "y": [r.label for r in rows][::-1],
                      "x": [float(r.variance) for r in rows][::-1], "name": "Underpayment variance"}],
            "layout": {"height": 60 + 28 * max(len(rows), 1), "margin": {"l": 220, "r": 20, "t": 10, "b": 30},
                       "xaxis": {"title": "Variance ($)"}}}


@require_access(RESOURCE)
def underpayments(request: HttpRequest) -> HttpResponse:
    """Variance by payer / program / code (``?group=``), filters, export, recompute job progress."""
    group = request.GET.get("group", "payer")
    group = group if group in reads.GROUPS else "payer"
    filters, extra = _report_filters(request)
    report = reads.underpayment_report(group=group, filters=filters)
    if fmt := _fmt(request):
        return export_response(rows=[*report.rows, report.totals], columns=REPORT_COLUMNS,
                               stem=f"Underpayment by {group}", fmt=fmt)
    job = None
    if (job_id := request.GET.get("job", "")).isdigit():
        job = Job.objects.filter(pk=int(job_id), kind=RECOMPUTE_JOB).first()
    job = job or Job.objects.filter(kind=RECOMPUTE_JOB).order_by("-pk").first()
    return render(request, "contracts/underpayments.html", {
        "report": report, "group": group, "groups": reads.GROUPS, "job": job,
        "payers": Payer.objects.order_by("name"), "programs": Program.objects.order_by("name"),
        "chart": _chart(report), "claim_level": reads.CLAIM_LEVEL, **extra, **_rights(request)})


@require_access(RESOURCE)
def underpayment_claims(request: HttpRequest) -> HttpResponse:
    """The claims behind a figure (htmx fragment), ``?group=&key=&denied=1``; ``?format=csv|xlsx``."""
    group, key = request.GET.get("group", ""), request.GET.get("key", "")
    denied = request.GET.get("denied") == "1"
    filters, extra = _report_filters(request)
    rows = reads.variance_claims(filters=filters, group=group, key=key, denied=denied)
    if fmt := _fmt(request):
        return export_response(rows=rows, columns=CLAIM_COLUMNS, stem=f"Underpaid claims {group} {key}", fmt=fmt)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    template = "contracts/underpayment_claims.html" if _is_htmx(request) else "contracts/underpayment_claims_page.html"
    return render(request, template, {"page": page, "claims": page.object_list, "group": group, "key": key,
                                      "denied": denied, "is_code": group == "code" and key != reads.CLAIM_LEVEL,
                                      **extra})


@require_access(RESOURCE, CHANGE)
def recompute(request: HttpRequest) -> HttpResponse:
    if (bad := _post_only(request)) is not None:
        return bad
    job = expected_recompute_start(reason="page", user=request.user)
    messages.info(request, "Recompute queued: the progress bar follows it.")
    return redirect(reverse("contracts_underpayments") + f"?job={job.pk}")


@require_access(RESOURCE, model=ClaimExpectation)
def claim_expectation(request: HttpRequest, pk: int) -> HttpResponse:
    e = get_object_or_404(ClaimExpectation.objects.select_related("claim", "payer", "program", "contract",
                                                                  "version"), pk=pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    _, lines = reads.claim_expectation_detail(claim_id=e.claim_id) or (e, [])
    return render(request, "contracts/claim.html", {"e": e, "lines": lines})


# -- reviews ---------------------------------------------------------------------------------------

REVIEW_COLUMNS = [
    Column("id", "pk"), Column("contract", "contract.name"), Column("payer", "contract.payer.name"),
    Column("quarter", "quarter_label"), *[Column(name, name) for name, _, _ in reads.COMPARED],
    Column("recommendation", "get_recommendation_display"), Column("decision", "get_decision_display"),
    Column("decision_note", "decision_note"), Column("decided_by", lambda r: r.decided_by and r.decided_by.username),
    Column("decided_at", "decided_at"), Column("computed_at", "computed_at"),
]


@require_access(RESOURCE)
def review_list(request: HttpRequest) -> HttpResponse:
    quarters = reads.review_quarters()
    raw = request.GET.get("quarter", "")
    try:
        quarter = dt.date.fromisoformat(raw) if raw else (quarters[0] if quarters else None)
    except ValueError:
        quarter = quarters[0] if quarters else None
    rows = reads.review_list(quarter=quarter)
    if fmt := _fmt(request):
        return export_response(rows=rows, columns=REVIEW_COLUMNS, stem="Contract reviews", fmt=fmt)
    today = dt.date.today()
    return render(request, "contracts/reviews.html", {
        "reviews": rows, "quarters": quarters, "quarter": quarter,
        "generate_form": f.GenerateForm(initial={"quarter_start": review_services.add_quarters(
            review_services.quarter_start(today), -1)}), **_rights(request)})


@require_access(RESOURCE, CHANGE)
def review_generate(request: HttpRequest) -> HttpResponse:
    if (bad := _post_only(request)) is not None:
        return bad
    form = f.GenerateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a date in the quarter to review.")
        return redirect("contracts_reviews")
    start = review_services.quarter_start(form.cleaned_data["quarter_start"])
    made = review_services.reviews_generate(start=start)
    messages.success(request, f"{len(made)} reviews for {start.year} Q{(start.month - 1) // 3 + 1} (decided ones "
                              "kept as recorded).")
    return redirect(reverse("contracts_reviews") + f"?quarter={start.isoformat()}")


def _review_context(request: HttpRequest, review: ContractReview, **extra: Any) -> dict[str, Any]:
    previous = reads.previous_review(review)
    return {"review": review, "previous": previous, "rows": reads.review_comparison(review, previous),
            "decision_form": extra.pop("decision_form", None) or f.DecisionForm(
                initial={"decision": review.decision or review.recommendation}), **_rights(request), **extra}


@require_access(RESOURCE, model=ContractReview)
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(reads.review_list(), pk=pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return render(request, "contracts/review_detail.html", _review_context(request, review))


@require_access(RESOURCE, APPROVE, model=ContractReview)
def review_decide(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(reads.review_list(), pk=pk)
    if (bad := _post_only(request)) is not None:
        return bad
    form = f.DecisionForm(request.POST)
    if form.is_valid():
        try:
            review = review_services.review_decide(review=review, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _errors(form, exc)
        else:
            if _is_htmx(request):
                return render(request, "contracts/review_detail.html#decision",
                              _review_context(request, review, decision_status="Decision recorded."))
            messages.success(request, "Decision recorded.")
            return redirect("contracts_review", pk=review.pk)
    context = _review_context(request, review, decision_form=form)
    if _is_htmx(request):
        return render(request, "contracts/review_detail.html#decision", context)
    return render(request, "contracts/review_detail.html", context, status=400)


@require_access(RESOURCE, CHANGE, model=ContractReview)
def review_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(ContractReview, pk=pk)
    if (bad := _post_only(request)) is not None:
        return bad
    try:
        review = review_services.review_refresh(review=review)
        messages.success(request, "Figures recomputed.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("contracts_review", pk=review.pk)
