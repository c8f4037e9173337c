"""The scenario form: one page for the three kinds (each kind's fields in its own fieldset), plain selects so
every choice is reachable from the keyboard."""
from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from contracts.models import Contract
from intake.models import IntakeDecision, IntakeRule
from revops.models import LevelOfCare, Payer, Program

from .models import ScenarioKind


class MonthField(forms.CharField):
    """``YYYY-MM`` (an ``<input type="month">``) or a full date; the month's first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})

    def to_python(self, value: Any) -> dt.date | None:  # type: ignore[override]
        value = super().to_python(value)
        if not value:
            return None
        try:
            return dt.date.fromisoformat(value if len(value) > 7 else f"{value}-01").replace(day=1)
        except ValueError:
            raise forms.ValidationError("Enter a month as YYYY-MM.") from None


TIGHTER = [(IntakeDecision.NOT_ALLOWED.value, IntakeDecision.NOT_ALLOWED.label),
           (IntakeDecision.ALLOWED_WITH_AUTHORIZATION.value, "Allowed with authorization only")]


class ScenarioForm(forms.Form):
    name = forms.CharField(max_length=160)
    kind = forms.ChoiceField(choices=ScenarioKind.choices, widget=forms.RadioSelect)
    # exit a contract
    contract_id = forms.ModelChoiceField(queryset=Contract.objects.select_related("payer").order_by("name"),
                                         required=False, label="Contract")
    recapture_pct = forms.DecimalField(required=False, min_value=0, max_value=100, decimal_places=2,
                                       label="Volume re-captured by other payers (%)", initial=0)
    # tighten an intake rule
    rule_id = forms.ModelChoiceField(queryset=IntakeRule.objects.select_related("payer", "program"),
                                     required=False, label="Intake rule",
                                     empty_label="(none: choose payer and program)")
    intake_payer_id = forms.ModelChoiceField(queryset=Payer.objects.order_by("name"), required=False, label="Payer")
    plan_name = forms.CharField(max_length=120, required=False, label="Plan (blank: every plan)")
    program_id = forms.ModelChoiceField(queryset=Program.objects.order_by("name"), required=False, label="Program")
    level_of_care = forms.ChoiceField(choices=[("", "---------"), *LevelOfCare.choices], required=False,
                                      label="or level of care")
    rule_effective_from = forms.DateField(required=False, label="In force for admissions from (blank: open)",
                                          widget=forms.DateInput(attrs={"type": "date"}))
    rule_effective_to = forms.DateField(required=False, label="to (blank: open)",
                                        widget=forms.DateInput(attrs={"type": "date"}))
    decision = forms.ChoiceField(choices=TIGHTER, required=False, label="Tighter decision")
    # denial rate
    payer_id = forms.ModelChoiceField(queryset=Payer.objects.order_by("name"), required=False, label="Payer")
    delta_points = forms.DecimalField(required=False, min_value=-100, max_value=100, decimal_places=2,
                                      label="Change of the initial denial rate (points; -3 = three points lower)")
    rework_cost_per_denial = forms.DecimalField(required=False, min_value=0, decimal_places=2,
                                                label="Rework cost per denial (blank: the payer's RCM cost per claim)")
    # window and horizon
    window_end = MonthField(required=False, label="Base window ends with (blank: last complete month with claims)")
    window_months = forms.IntegerField(min_value=1, max_value=24, initial=12, label="Window (months)")
    horizon_months = forms.IntegerField(min_value=1, max_value=36, initial=12, label="Cash horizon (months)")
    effective_month = MonthField(required=False, label="Takes effect (blank: the month after the window)")
    shared = forms.BooleanField(required=False, label="Share with everyone who may view scenarios")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def service_arguments(self) -> dict[str, Any]:
        d = self.cleaned_data
        kind = d["kind"]
        if kind == ScenarioKind.EXIT_CONTRACT:
            params = {"contract_id": d["contract_id"].pk if d["contract_id"] else None,
                      "recapture_pct": d["recapture_pct"]}
        elif kind == ScenarioKind.TIGHTEN_INTAKE_RULE:
            params = {"rule_id": d["rule_id"].pk if d["rule_id"] else None,
                      "payer_id": d["intake_payer_id"].pk if d["intake_payer_id"] else None,
                      "plan_name": d["plan_name"], "program_id": d["program_id"].pk if d["program_id"] else None,
                      "level_of_care": d["level_of_care"], "decision": d["decision"],
                      "effective_from": d["rule_effective_from"], "effective_to": d["rule_effective_to"]}
        else:
            params = {"payer_id": d["payer_id"].pk if d["payer_id"] else None, "delta_points": d["delta_points"],
                      "rework_cost_per_denial": d["rework_cost_per_denial"]}
        return {"name": d["name"], "kind": kind, "parameters": params, "window_end": d["window_end"],
                "window_months": d["window_months"], "horizon_months": d["horizon_months"],
                "effective_month": d["effective_month"], "shared": d["shared"], "description": d["description"]}


# Form field of each service error key (services name parameters as the API does).
ERROR_FIELDS = {"payer_id": ("payer_id", "intake_payer_id"), "effective_from": ("rule_effective_from",),
                "effective_to": ("rule_effective_to",)}
