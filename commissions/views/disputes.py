"""Dispute pages (mounted at ``commissions/``): the queue, a new dispute on one line, a dispute with its thread
(comments with attachments, swapped in place by htmx), resolve / reject / reopen, and attachment downloads.

Resource ``commission_disputes``: admins, analysts, executives and reps read; admins, analysts and reps open
and comment; admins and analysts resolve or reject. A rep reads and acts only on the disputes and lines of the
person linked to their membership: anyone else's is a 404, like another organization's. A service's refusal
is shown on the page (400) or, for htmx, in the swapped thread (200, so htmx swaps it in).
"""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from revops.access import APPROVE, CHANGE, allowed, require_access
from revops.exports import FORMATS, Column, export_response

from ..models import Dispute, DisputeMessage, DisputeStatus, ManualAdjustment
from ..selectors import disputes as reads
from ..services import disputes as services

RESOURCE = reads.RESOURCE
DETAIL = "commissions/dispute_detail.html"
PAGE_SIZE = 50

QUEUE_COLUMNS = [
    Column("id", "pk"), Column("status", "get_status_display"), Column("period", "period.name"),
    Column("employee_id", "person.employee_id"), Column("person", "person.full_name"),
    Column("subject", "subject"), Column("line_kind", "get_line_kind_display"),
    Column("component", "component.name"), Column("transaction", lambda d: d.transaction and str(d.transaction)),
    Column("transaction_date", "transaction.transaction_date"), Column("amount_disputed", "amount_disputed"),
    Column("opened_by", lambda d: d.opened_by and d.opened_by.get_username()), Column("opened_at", "opened_at"),
    Column("messages", "message_count"), Column("last_message_at", "last_message_at"),
    Column("resolved_by", lambda d: d.resolved_by and d.resolved_by.get_username()),
    Column("resolved_at", "resolved_at"), Column("resolution", "resolution"),
]


# -- forms (input shapes only: the rules are the service's) ------------------------------------------

TEXTAREA = {"rows": 5, "data-submit-on-ctrl-enter": "true"}
ATTACHMENT_HELP = "Optional: PDF, PNG, JPG, CSV, XLSX or TXT, up to 10 MB."
ATTACHMENT_INPUT = forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg,.csv,.xlsx,.txt"})


class DisputeForm(forms.Form):
    subject = forms.CharField(max_length=200, help_text="What looks wrong, in a few words.",
                              widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}))
    body = forms.CharField(label="Details", widget=forms.Textarea(attrs=TEXTAREA),
                           help_text="What you expected and why. Ctrl+Enter sends.")
    attachment = forms.FileField(required=False, help_text=ATTACHMENT_HELP, widget=ATTACHMENT_INPUT)


class _Prefixed(forms.Form):
    """Forms that can share a page get their own element ids (field names stay plain)."""

    id_prefix = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class CommentForm(_Prefixed):
    id_prefix = "comment"

    body = forms.CharField(label="Comment", widget=forms.Textarea(attrs={**TEXTAREA, "rows": 3}),
                           help_text="Ctrl+Enter sends.")
    attachment = forms.FileField(required=False, help_text=ATTACHMENT_HELP, widget=ATTACHMENT_INPUT)


class ResolveForm(_Prefixed):
    id_prefix = "answer"

    resolution = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}),
                                 help_text="The rep reads this: what was found and what happens now.")
    adjustment_amount = forms.CharField(
        required=False, label="Adjustment amount",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "e.g. 125.00"}),
        help_text="Resolve only. Optional: paid (negative: taken back) in the earliest open period as a manual "
                  "adjustment.")


class ReopenForm(_Prefixed):
    id_prefix = "reopen"

    body = forms.CharField(label="Why reopen", widget=forms.Textarea(attrs={**TEXTAREA, "rows": 3}))
    attachment = forms.FileField(required=False, help_text=ATTACHMENT_HELP, widget=ATTACHMENT_INPUT)


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's refusal under the fields it names (else at the top of the form)."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# -- helpers ---------------------------------------------------------------------------------------

def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def export_format(request: HttpRequest) -> str | None:
    fmt = request.GET.get("format")
    return fmt if fmt in FORMATS else None


def _int(raw: Any) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


def rights(request: HttpRequest, viewer: reads.Viewer, dispute: Dispute | None = None) -> dict[str, bool]:
    """What the page offers this viewer (the services check the same again)."""
    role = getattr(request, "role", None)
    change = allowed(role, RESOURCE, CHANGE)
    approve = allowed(role, RESOURCE, APPROVE)
    own = dispute is None or not viewer.own_only or viewer.owns(dispute.person_id)
    is_open = dispute is not None and dispute.status == DisputeStatus.OPEN
    return {"can_change": change, "can_approve": approve,
            "may_comment": change and own and is_open, "may_resolve": approve and is_open,
            "may_reopen": change and own and dispute is not None and not is_open}


def rate_text(rate: Any) -> str:
    """A rate as typed in the plan (0.05, 10), without the stored trailing zeros."""
    if rate is None:
        return ""
    return format(rate.normalize(), "f")


def _visible_dispute(request: HttpRequest, pk: int) -> tuple[reads.Viewer, Dispute]:
    viewer = reads.viewer_from_request(request)
    return viewer, get_object_or_404(reads.disputes_visible(viewer=viewer), pk=pk)


def detail_context(request: HttpRequest, viewer: reads.Viewer, dispute: Dispute, **forms_: Any) -> dict[str, Any]:
    line = None
    if dispute.line_id:
        line = reads.line_disputable(viewer=viewer, line_id=dispute.line_id)
    return {
        "dispute": dispute, "thread": list(reads.dispute_thread(dispute=dispute)), "line": line,
        "line_rate": rate_text(line.rate) if line is not None else "",
        "adjustments": list(ManualAdjustment.objects.filter(dispute=dispute).select_related("period")
                            .order_by("created_at", "id")),
        "comment_form": forms_.get("comment_form") or CommentForm(),
        "resolve_form": forms_.get("resolve_form") or ResolveForm(),
        "reopen_form": forms_.get("reopen_form") or ReopenForm(),
        "thread_status": forms_.get("thread_status"),
        **rights(request, viewer, dispute),
    }


# -- pages -----------------------------------------------------------------------------------------

@require_access(RESOURCE)
def dispute_list(request: HttpRequest) -> HttpResponse:
    """The queue: open first; ``?status=&person=&period=`` filter; ``?format=csv|xlsx`` exports every row."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    viewer = reads.viewer_from_request(request)
    status = request.GET.get("status", "")
    status = status if status in DisputeStatus.values else ""
    person, period = _int(request.GET.get("person")), _int(request.GET.get("period"))
    queue = reads.dispute_queue(viewer=viewer, status=status, person=person, period=period)
    if fmt := export_format(request):
        return export_response(rows=queue, columns=QUEUE_COLUMNS, stem="Commission disputes", fmt=fmt)
    page = Paginator(queue, PAGE_SIZE).get_page(request.GET.get("page"))
    query = {k: v for k, v in (("status", status), ("person", person or ""), ("period", period or "")) if v}
    return render(request, "commissions/disputes.html", {
        "page": page, "disputes": page.object_list, "counts": reads.dispute_counts(viewer=viewer),
        "filters": reads.filter_choices(viewer=viewer), "status": status, "person": person, "period": period,
        "filtered": bool(query), "query": "&".join(f"{k}={v}" for k, v in query.items()),
        "own_only": viewer.own_only, "unlinked": viewer.own_only and viewer.person_id is None,
        **rights(request, viewer),
    })


@require_access(RESOURCE, CHANGE)
def dispute_new(request: HttpRequest) -> HttpResponse:
    """``?line=<line id>``: the line being disputed and the form (subject, details, attachment)."""
    viewer = reads.viewer_from_request(request)
    raw = request.POST.get("line") if request.method == "POST" else request.GET.get("line")
    if raw in (None, ""):
        return render(request, "commissions/dispute_new.html", {
            "line": None, "unlinked": viewer.own_only and viewer.person_id is None})
    line = reads.line_disputable(viewer=viewer, line_id=raw)
    if line is None:
        raise Http404("No such line of yours.")
    existing = reads.open_dispute_for_line(line=line)
    form = DisputeForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                dispute = services.dispute_open(line=line, user=viewer, subject=data["subject"], body=data["body"],
                                                attachment=data.get("attachment"))
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Dispute #{dispute.pk} opened: an analyst answers in its thread.")
                return redirect("commissions_dispute_detail", pk=dispute.pk)
        status = 400
    elif request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(request, "commissions/dispute_new.html", {
        "line": line, "line_rate": rate_text(line.rate), "line_share": rate_text(line.credit_share), "form": form,
        "existing": existing}, status=status)


@require_access(RESOURCE, model=Dispute)
def dispute_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer, dispute = _visible_dispute(request, pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return render(request, DETAIL, detail_context(request, viewer, dispute))


@require_access(RESOURCE, CHANGE, model=Dispute)
def dispute_comment(request: HttpRequest, pk: int) -> HttpResponse:
    """Add to the thread; htmx gets the thread back (with the comment, or the reason it was refused)."""
    viewer, dispute = _visible_dispute(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = CommentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.dispute_comment(dispute=dispute, user=viewer, body=form.cleaned_data["body"],
                                     attachment=form.cleaned_data.get("attachment"))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if is_htmx(request):
                return render(request, f"{DETAIL}#thread",
                              detail_context(request, viewer, dispute, thread_status="Comment added."))
            messages.success(request, "Comment added.")
            return redirect(reverse("commissions_dispute_detail", kwargs={"pk": dispute.pk}) + "#thread")
    context = detail_context(request, viewer, dispute, comment_form=form)
    if is_htmx(request):
        return render(request, f"{DETAIL}#thread", context)
    return render(request, DETAIL, context, status=400)


def _answer(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    viewer, dispute = _visible_dispute(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form: forms.Form = ReopenForm(request.POST, request.FILES) if step == "reopen" else ResolveForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if step == "resolve":
                services.dispute_resolve(dispute=dispute, user=viewer, resolution=data["resolution"],
                                         adjustment_amount=data.get("adjustment_amount") or None)
                message = f"Dispute #{dispute.pk} resolved."
            elif step == "reject":
                if (data.get("adjustment_amount") or "").strip():
                    raise ValidationError({"adjustment_amount": [
                        "A rejected dispute pays nothing: clear the amount, or resolve with it instead."]})
                services.dispute_reject(dispute=dispute, user=viewer, resolution=data["resolution"])
                message = f"Dispute #{dispute.pk} rejected."
            else:
                services.dispute_reopen(dispute=dispute, user=viewer, body=data["body"],
                                        attachment=data.get("attachment"))
                message = f"Dispute #{dispute.pk} reopened."
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):
                # About the dispute's state (already answered, already open): its form is no longer shown.
                messages.error(request, " ".join(exc.messages))
                return redirect("commissions_dispute_detail", pk=dispute.pk)
            add_service_errors(form, exc)
        else:
            messages.success(request, message)
            return redirect("commissions_dispute_detail", pk=dispute.pk)
    dispute.refresh_from_db()
    key = "reopen_form" if step == "reopen" else "resolve_form"
    return render(request, DETAIL, detail_context(request, viewer, dispute, **{key: form}), status=400)


@require_access(RESOURCE, APPROVE, model=Dispute)
def dispute_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    return _answer(request, pk, "resolve")


@require_access(RESOURCE, APPROVE, model=Dispute)
def dispute_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _answer(request, pk, "reject")


@require_access(RESOURCE, CHANGE, model=Dispute)
def dispute_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    return _answer(request, pk, "reopen")


@require_access(RESOURCE, model=DisputeMessage)
def dispute_attachment(request: HttpRequest, pk: int) -> HttpResponse:
    """A message's attachment under its original name (a rep: only on their own disputes)."""
    message = reads.message_visible(viewer=reads.viewer_from_request(request), pk=pk)
    if message is None or not message.attachment:
        raise Http404("No such attachment.")
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    try:
        handle = message.attachment.open("rb")
    except FileNotFoundError:
        raise Http404("The attachment's file is missing.") from None
    response = FileResponse(handle, as_attachment=True, filename=message.attachment_name or "attachment",
                            content_type=services.attachment_content_type(message))
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
