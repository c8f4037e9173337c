"""Jobs: the organization's long-running work, a live progress fragment, import results."""
from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, render

from revops.access import VIEW, allowed, require_access
from revops.imports import SPECS, bad_rows_csv
from revops.jobs import job_live_progress
from revops.exports import CSV_CONTENT_TYPE
from revops.models import Job

# htmx stops polling when a response has this status (django-htmx: HttpResponseStopPolling).
STOP_POLLING = 286
IMPORT_JOB_KINDS = frozenset(spec.job_kind for spec in SPECS.values())


@require_access("jobs")
def jobs(request: HttpRequest) -> HttpResponse:
    page = Paginator(Job.objects.select_related("created_by"), 25).get_page(request.GET.get("page"))
    for job in page.object_list:
        job_live_progress(job)
    return render(request, "revops/jobs/list.html", {"page": page})


@require_access("jobs", model=Job)
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = job_live_progress(get_object_or_404(Job.objects.select_related("created_by"), pk=pk))
    is_import = job.kind in IMPORT_JOB_KINDS
    context = {
        "job": job,
        "is_import": is_import,
        # Rejected rows repeat uploaded reference data: shown to roles that may view it.
        "show_rows": is_import and allowed(request.role, "reference", VIEW),  # type: ignore[attr-defined]
        "result": job.result or {},
        # The first line of the error; the traceback under it is for the logs, not the page.
        "error_summary": (job.error or "").strip().splitlines()[0] if job.error.strip() else "",
    }
    template = "revops/jobs/detail.html#result" if request.htmx else "revops/jobs/detail.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@require_access("jobs", model=Job)
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress fragment; answers 286 (stop polling) once the job has finished."""
    job = job_live_progress(get_object_or_404(Job, pk=pk))
    response = render(request, "revops/jobs/progress.html", {"job": job})
    if job.is_finished:
        response.status_code = STOP_POLLING
        response["HX-Trigger"] = "job-finished"
    return response


@require_access("reference", VIEW, model=Job)
def job_errors_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """An import job's rejected rows (line, reason, the row as uploaded) as CSV."""
    job = get_object_or_404(Job, pk=pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    response = HttpResponse(bad_rows_csv(job), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="job-{job.pk}-rejected-rows.csv"'
    response["Cache-Control"] = "no-store"
    return response
