"""Feeds, uploads and the quarantine queue (resource ``rcm``): who reads them, who changes them.

The Feeds page lists the organization's feeds with their schedule, inbox and last run; the form
creates and edits them through ``feed_save`` (one header input per target field for CSV kinds),
and the buttons poll an inbox now, deactivate or delete a feed (``feed_delete`` refuses one that
received files). Roles that may only view ``rcm`` see the form read-only.
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from revops.access import CHANGE, allowed, require_access
from revops.exports import Column, export_response

from ..forms import FeedForm
from ..models import Feed, IngestionRun, QuarantineItem, QuarantineStatus, RunStatus
from ..serializers import feed_poll_result, feed_settings
from ..services.feeds import feed_delete as delete_feed
from ..services.feeds import feed_inbox_path, feed_save, inbox_poll

FEED_FORM = "rcm_feeds/feed_form.html"


def _can_change(request: HttpRequest) -> bool:
    return allowed(getattr(request, "role", None), "rcm", CHANGE)


def feeds_listed() -> QuerySet[Feed]:
    """Every feed with its file count and its latest run (status, when it finished)."""
    last = IngestionRun.objects.filter(file__feed=OuterRef("pk")).order_by("-id")
    return (Feed.objects.select_related("schedule", "source_program")
            .annotate(file_count=Count("files"), last_run_id=Subquery(last.values("pk")[:1]),
                      last_run_status=Subquery(last.values("status")[:1]),
                      last_run_finished=Subquery(last.values("finished_at")[:1]))
            .order_by("name"))


def _decorate(feed: Feed) -> Feed:
    feed.inbox_path = feed_inbox_path(feed) if feed.inbox_dir else None  # type: ignore[attr-defined]
    status = getattr(feed, "last_run_status", None)
    feed.last_run_label = RunStatus(status).label if status else ""  # type: ignore[attr-defined]
    feed.polled = bool(feed.is_active and feed.inbox_dir)  # type: ignore[attr-defined]
    return feed


FEED_COLUMNS = [
    Column("id", "pk"), Column("name", "name"), Column("kind", "get_kind_display"),
    Column("inbox_dir", "inbox_dir"), Column("inbox_path", "inbox_path"), Column("crontab", "crontab"),
    Column("polled", "polled"), Column("source_program", "source_program.name"),
    Column("strict_validation", "strict_validation"), Column("active", "is_active"), Column("files", "file_count"),
    Column("last_run", "last_run_id"), Column("last_run_status", "last_run_label"),
    Column("last_run_finished", "last_run_finished"),
]


@require_access("rcm")
def feeds(request: HttpRequest) -> HttpResponse:
    """The feeds, their schedules and last runs; ``?format=csv`` exports the table."""
    rows = [_decorate(feed) for feed in feeds_listed()]
    if request.GET.get("format") == "csv":
        return export_response(rows=rows, columns=FEED_COLUMNS, stem="Feeds", fmt="csv")
    return render(request, "rcm_feeds/feeds.html", {"feeds": rows, "can_change": _can_change(request)})


def _form_from_query(request: HttpRequest, feed: Feed | None) -> FeedForm:
    """An unbound form re-drawn for another kind (htmx, when the kind select changes), keeping what was typed."""
    kind = request.GET.get("kind")
    saved = FeedForm(feed=feed, kind=kind)
    initial: dict[str, Any] = dict(saved.initial)
    for name in saved.fields:
        if name in ("strict_validation", "is_active"):
            initial[name] = name in request.GET
        elif name in request.GET:
            initial[name] = request.GET[name]
    return FeedForm(feed=feed, kind=kind, initial=initial)


def _focus_for_redraw(form: FeedForm) -> None:
    """Where focus goes after htmx swaps the form in: the first field in error, else where it was.

    htmx focuses an ``[autofocus]`` element of swapped content when the swap settles, so the name
    field's autofocus (right for the first page load) would pull the cursor away from the field the
    user is typing in after every re-draw. Only the first field in error keeps one.
    """
    for field in form.fields.values():
        field.widget.attrs.pop("autofocus", None)
    first_error = next((name for name in form.fields if name in form.errors), None)
    if first_error is not None:
        form.fields[first_error].widget.attrs["autofocus"] = True


def _feed_form(request: HttpRequest, feed: Feed | None) -> HttpResponse:
    """GET shows the form (read-only without the change right); POST saves through ``feed_save``."""
    can_change = _can_change(request)
    htmx = bool(getattr(request, "htmx", False))
    if request.method == "POST":
        form = FeedForm(request.POST, feed=feed)
        if form.is_valid():
            try:
                saved = feed_save(feed=feed, **form.service_kwargs())
            except ValidationError as exc:
                form.add_service_errors(exc.message_dict)
            else:
                messages.success(request, f"Feed {saved.name} saved.")
                target = reverse("billing_feeds")
                return HttpResponseClientRedirect(target) if htmx else redirect(target)
        # htmx swaps only 2xx answers: the form with its errors is a 200 there, a 400 otherwise.
        status = 200 if htmx else 400
    else:
        if htmx and "kind" in request.GET:
            form = _form_from_query(request, feed)
        else:
            form = FeedForm(feed=feed, kind=request.GET.get("kind"))  # ?kind= preselects a kind
        status = 200
    if not can_change:
        for field in form.fields.values():
            field.disabled = True
    else:
        # Another kind has other mapping fields (or none): htmx re-draws the form for it, keeping what was typed.
        form.fields["kind"].widget.attrs.update({
            "hx-get": request.path, "hx-trigger": "change", "hx-target": "#feed-form", "hx-swap": "outerHTML",
            "hx-include": "#feed-form [name]:not([name=csrfmiddlewaretoken])",
        })
    if htmx:
        _focus_for_redraw(form)
    context = {"form": form, "feed": feed, "can_change": can_change}
    template = f"{FEED_FORM}#feed-form" if htmx else FEED_FORM
    return render(request, template, context, status=status)


@require_access("rcm", CHANGE)
def feed_new(request: HttpRequest) -> HttpResponse:
    return _feed_form(request, None)


@require_access("rcm", model=Feed)
def feed_edit(request: HttpRequest, pk: int) -> HttpResponse:
    feed = get_object_or_404(feeds_listed(), pk=pk)
    return _feed_form(request, _decorate(feed))


@require_access("rcm", CHANGE, model=Feed)
def feed_poll(request: HttpRequest, pk: int) -> HttpResponse:
    """Receive the feed's inbox files now (each then loads as a background run, as on its schedule)."""
    feed = get_object_or_404(Feed, pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    runs = inbox_poll(feed=feed, user=request.user)
    result = feed_poll_result(feed, runs)
    (messages.success if runs else messages.info)(request, result["detail"])
    if request.POST.get("next") == "edit":
        return redirect("billing_feed_edit", pk=feed.pk)
    return redirect("billing_feeds")


@require_access("rcm", CHANGE, model=Feed)
def feed_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate a feed (``active=on`` activates it again): an inactive feed is neither polled nor offered."""
    feed = get_object_or_404(Feed, pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    active = request.POST.get("active") == "on"
    try:
        feed_save(feed=feed, **feed_settings(feed, {"is_active": active}))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Feed {feed.name} {'activated' if active else 'deactivated'}.")
    return redirect("billing_feeds")


@require_access("rcm", CHANGE, model=Feed)
def feed_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then delete a feed that never received a file; the service explains a refusal."""
    feed = get_object_or_404(feeds_listed(), pk=pk)
    error = ""
    if request.method == "POST":
        try:
            delete_feed(feed=feed)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, f"Feed {feed.name} deleted.")
            return redirect("billing_feeds")
    return render(request, "rcm_feeds/feed_delete.html", {"feed": feed, "error": error},
                  status=400 if error else 200)


# -- upload, quarantine ----------------------------------------------------------------------------

def _open_items() -> QuerySet[QuarantineItem]:
    return QuarantineItem.objects.select_related("file__feed", "run")


@require_access("rcm", CHANGE)
def upload(request: HttpRequest) -> HttpResponse:
    """Upload a file to a feed: stored once, then loaded by a background run (progress on the dashboard)."""
    from ..services.runs import ingestion_submit

    feeds = Feed.objects.filter(is_active=True).order_by("name")
    error = ""
    if request.method == "POST":
        feed = feeds.filter(pk=request.POST.get("feed") or 0).first() if (request.POST.get("feed") or "").isdigit() else None
        upload_file = request.FILES.get("file")
        if feed is None:
            error = "Choose the feed the file belongs to."
        elif upload_file is None:
            error = "Choose a file to upload."
        else:
            try:
                run = ingestion_submit(feed=feed, filename=upload_file.name, stream=upload_file, source="upload",
                                       user=request.user)
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                if run.status == "duplicate":
                    messages.info(request, run.message)
                else:
                    messages.success(request, f"{upload_file.name} received; run {run.pk} is loading it.")
                return redirect(reverse("billing_dashboard") + "#runs")
    return render(request, "rcm_feeds/upload.html", {"feeds": feeds, "error": error},
                  status=400 if error else 200)


@require_access("rcm", CHANGE, model=QuarantineItem)
def quarantine_fix(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct a quarantined CSV row (or a whole file's text) and load it again."""
    from ..services.quarantine import quarantine_fix as fix

    item = get_object_or_404(_open_items(), pk=pk)
    error = ""
    if request.method == "POST":
        fixed = request.POST.get("fixed_raw", "")
        if item.status != QuarantineStatus.OPEN:
            error = "This item is already closed."
        elif not fixed.strip():
            error = "Enter the corrected row."
        else:
            try:
                run = fix(item=item, fixed_raw=fixed, user=request.user)
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                messages.success(request, f"Quarantine item {item.pk} fixed; run {run.pk}: {run.get_status_display()}.")
                return redirect(reverse("billing_dashboard") + "#runs")
    return render(request, "rcm_feeds/quarantine_item.html", {"item": item, "error": error, "mode": "fix"},
                  status=400 if error else 200)


@require_access("rcm", CHANGE, model=QuarantineItem)
def quarantine_discard(request: HttpRequest, pk: int) -> HttpResponse:
    """Close a quarantined item without loading anything."""
    from ..services.quarantine import quarantine_discard as discard

    item = get_object_or_404(_open_items(), pk=pk)
    error = ""
    if request.method == "POST":
        try:
            discard(item=item, user=request.user, note=request.POST.get("note", ""))
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, f"Quarantine item {item.pk} discarded.")
            return redirect(reverse("billing_dashboard") + "#runs")
    return render(request, "rcm_feeds/quarantine_item.html", {"item": item, "error": error, "mode": "discard"},
                  status=400 if error else 200)
