"""Seasonality profiles (resource ``quotas``): the list with a bar chart of their monthly weights, typing a
profile in, editing one, and learning one from the credited history of a metric."""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from revops.access import CHANGE, require_access

from .. import services
from ..forms import MONTH_NAMES, LearnForm, SeasonalityForm
from ..models import QuotaPlan, SeasonalityProfile, fiscal_year_start
from . import figures
from .common import RESOURCE, can_change, current_fiscal_year, start_month


def month_labels(request: HttpRequest) -> list[str]:
    first = start_month(request)
    return [f"{i + 1} · {MONTH_NAMES[(first - 1 + i) % 12]}" for i in range(12)]


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    profiles = list(SeasonalityProfile.objects.order_by("name"))
    used = set(QuotaPlan.objects.filter(seasonality__isnull=False).values_list("seasonality_id", flat=True))
    labels = month_labels(request)
    for p in profiles:
        p.percents = [float(w) * 100 for w in p.weights]  # type: ignore[attr-defined]
        p.in_use = p.pk in used  # type: ignore[attr-defined]
    return {"profiles": profiles, "labels": labels, "can_change": can_change(request),
            "figure": figures.seasonality_figure(profiles, labels) if profiles else None, **extra}


@require_access(RESOURCE)
def seasonality(request: HttpRequest) -> HttpResponse:
    """GET: the profiles; POST: type one in (change right)."""
    form = SeasonalityForm(request.POST or None, start_month=start_month(request), prefix="typed")
    learn = LearnForm(fiscal_year=current_fiscal_year(request), prefix="learn")
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                profile = services.seasonality_save(name=form.cleaned_data["name"].strip(), weights=form.weights())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Seasonality profile {profile.name} saved (weights scaled to add to 100%).")
                return redirect("quotas_seasonality")
        status = 400
    return render(request, "quotas/seasonality.html", _context(request, form=form, learn=learn), status=status)


@require_access(RESOURCE, CHANGE)
def seasonality_learn(request: HttpRequest) -> HttpResponse:
    """Learn a profile from the full fiscal years of credited transactions before the one named."""
    if request.method != "POST":
        return redirect("quotas_seasonality")
    learn = LearnForm(request.POST, prefix="learn")
    if learn.is_valid():
        d = learn.cleaned_data
        try:
            profile = services.seasonality_learn(
                name=d["name"].strip(), metric=learn.metric_code(), years=d["years"],
                fiscal_start=fiscal_year_start(d["fiscal_year"], start_month(request)))
        except ValidationError as exc:
            learn.add_service_errors(exc)
        else:
            messages.success(request, f"Seasonality profile {profile.name} learned ({profile.learned_from}).")
            return redirect("quotas_seasonality")
    form = SeasonalityForm(start_month=start_month(request), prefix="typed")
    return render(request, "quotas/seasonality.html", _context(request, form=form, learn=learn), status=400)


@require_access(RESOURCE, model=SeasonalityProfile)
def seasonality_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """One profile: its chart, and (change right) its name and twelve weights."""
    profile = get_object_or_404(SeasonalityProfile, pk=pk)
    editable = can_change(request)
    form = SeasonalityForm(request.POST or None, start_month=start_month(request), profile=profile)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.seasonality_save(name=form.cleaned_data["name"].strip(), weights=form.weights(),
                                          profile=profile)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Seasonality profile {profile.name} saved. Draft plans that use it "
                                          "pick it up when they are next allocated.")
                return redirect("quotas_seasonality")
        status = 400
    if not editable:
        for field in form.fields.values():
            field.disabled = True
    plans = list(QuotaPlan.objects.filter(seasonality=profile).order_by("-fiscal_year", "name"))
    labels = month_labels(request)
    return render(request, "quotas/seasonality_form.html", {
        "profile": profile, "form": form, "editable": editable, "plans": plans, "labels": labels,
        "figure": figures.seasonality_figure([profile], labels),
    }, status=status)
