"""What-if scenarios (resource ``forecasting``): change win rate, cycle time, denial rate or payer mix
and see bookings and cash by month next to the base case (``forecasting.scenarios``)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.utils import timezone

from revops.access import require_access
from revops.models import PayerClass

from .. import scenarios
from .common import RESOURCE
from .figures import scenario_figure


class ScenarioForm(forms.Form):
    as_of = forms.DateField(required=False, label="As of", widget=forms.DateInput(attrs={"type": "date"}))
    horizon = forms.IntegerField(min_value=1, max_value=12, initial=6, required=False, label="Months")
    win_rate_pct = forms.FloatField(min_value=-90, max_value=200, initial=0, required=False,
                                    label="Win rate change (%)", help_text="e.g. 10 = every stage converts 10% more")
    cycle_days = forms.IntegerField(min_value=-180, max_value=365, initial=0, required=False,
                                    label="Cycle time change (days)", help_text="positive: deals close later")
    denial_rate_pts = forms.FloatField(min_value=-100, max_value=100, initial=0, required=False,
                                       label="Denial rate change (points)", help_text="e.g. -3 = three points fewer denials")
    mix_class = forms.ChoiceField(choices=[("", "—")] + list(PayerClass.choices), required=False,
                                  label="Payer class to re-weight")
    mix_factor = forms.FloatField(min_value=0, max_value=10, initial=1, required=False, label="Its share × ")

    def scenario(self) -> tuple[dt.date, int, scenarios.Scenario]:
        d = self.cleaned_data if self.is_valid() else {}
        mix = {d["mix_class"]: float(d.get("mix_factor") or 1)} if d.get("mix_class") else {}
        return (d.get("as_of") or timezone.localdate(), d.get("horizon") or 6,
                scenarios.Scenario(win_rate_pct=d.get("win_rate_pct") or 0, cycle_days=d.get("cycle_days") or 0,
                                   denial_rate_pts=d.get("denial_rate_pts") or 0, payer_mix=mix))


def _rows(frame: Any) -> list[dict[str, Any]]:
    return [{"month": month, "base": r["base"], "scenario": r["scenario"], "change": r["change"]}
            for month, r in frame.iterrows()]


@require_access(RESOURCE)
def scenario_page(request: HttpRequest) -> HttpResponse:
    """``GET`` with the drivers as query parameters (so a scenario is a link that can be shared)."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    form = ScenarioForm(request.GET or None)
    as_of, horizon, scenario = form.scenario()
    result = scenarios.evaluate(as_of=as_of, horizon=horizon, scenario=scenario) if form.is_bound and form.is_valid() \
        else scenarios.evaluate(as_of=as_of, horizon=horizon, scenario=scenarios.Scenario())
    bookings, cash = _rows(result["bookings"]), _rows(result["cash"])
    return render(request, "forecasting/scenarios.html", {
        "form": form, "as_of": as_of, "horizon": horizon, "scenario": scenario,
        "bookings": bookings, "cash": cash, "totals": result["totals"],
        "figure": scenario_figure(bookings=bookings, cash=cash) if bookings or cash else None,
        "changed": form.is_bound and form.is_valid() and scenario != scenarios.Scenario(),
    })
