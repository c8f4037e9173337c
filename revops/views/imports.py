"""CSV import of accounts and people (roles that may change reference data)."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from revops import imports
from revops.access import CHANGE, require_access
from revops.forms import ImportForm
from revops.models import Job


@require_access("reference", CHANGE)
def import_upload(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        spec = imports.SPECS[form.cleaned_data["kind"]]
        job = imports.import_start(spec=spec, upload=form.cleaned_data["file"], created_by=request.user)
        messages.success(request, f"{spec.label} file received; it is loading now.")
        return redirect("job_detail", pk=job.pk)
    recent = Job.objects.filter(kind__in=[s.job_kind for s in imports.SPECS.values()])[:5]
    return render(request, "revops/imports/upload.html", {
        "form": form, "specs": list(imports.SPECS.values()), "recent": recent,
    })


@require_access("reference", CHANGE)
@require_GET
def import_template(request: HttpRequest) -> HttpResponse:
    """An empty CSV with the columns of ``?kind=accounts`` or ``?kind=people``."""
    spec = imports.SPECS.get(request.GET.get("kind", "accounts"))
    if spec is None:
        raise Http404("Unknown import kind.")
    response = HttpResponse(imports.template_csv(spec), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{spec.kind}-template.csv"'
    return response
