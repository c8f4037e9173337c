"""Integrator API keys (admin): list, create (the full key is shown once), revoke."""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache

from revops import services
from revops.access import require_access
from revops.forms import ApiKeyForm
from revops.models import ApiKey


def _docs_url() -> str:
    try:
        return reverse("api-docs")
    except NoReverseMatch:
        return "/api/v1/docs/"


@require_access("api_keys")
@never_cache
def api_keys(request: HttpRequest) -> HttpResponse:
    """The list, and (POST) creating a key: its full value is in this one response only."""
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        key, raw = services.api_key_create(name=form.cleaned_data["name"], created_by=request.user)
        response = render(request, "revops/api_keys/created.html", {"key": key, "raw_key": raw,
                                                                    "docs_url": _docs_url()})
        response["Cache-Control"] = "no-store"
        return response
    keys = ApiKey.objects.select_related("created_by").order_by("revoked_at", "-created_at")
    return render(request, "revops/api_keys/list.html", {"keys": keys, "form": form, "docs_url": _docs_url()})


@require_access("api_keys", model=ApiKey)
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=pk)
    if request.method == "POST":
        if key.revoked_at is None:
            services.api_key_revoke(api_key=key)
            messages.success(request, f"Revoked {key.name}; requests with it are refused from now on.")
        return redirect("api_keys")
    return render(request, "revops/api_keys/revoke.html", {"key": key})
