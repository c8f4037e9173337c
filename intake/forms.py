"""Forms of the intake pages: they read and check input; the services decide and write."""
from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from forecasting.forms import MonthField
from quotas.forms import MoneyField, ServiceErrorsMixin
from revops.models import LevelOfCare, Payer, Program

from .models import IntakeDecision, IntakeRule, ProgramCostCategory, UnitKind

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _programs() -> Any:
    return Program.objects.order_by("name")


def _payers() -> Any:
    return Payer.objects.order_by("name")


class AdmissionFilterForm(forms.Form):
    q = forms.CharField(required=False, label="External id or plan")
    program = forms.ModelChoiceField(queryset=Program.objects.none(), required=False, empty_label="Every program")
    payer = forms.ModelChoiceField(queryset=Payer.objects.none(), required=False, empty_label="Every payer")
    state = forms.ChoiceField(required=False, choices=[("", "In care or discharged"), ("in_care", "In care"),
                                                       ("discharged", "Discharged")], label="Status")
    admitted_from = forms.DateField(required=False, widget=DATE, label="Admitted from")
    admitted_to = forms.DateField(required=False, widget=DATE, label="Admitted to")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = _programs()
        self.fields["payer"].queryset = _payers()

    def values(self) -> dict[str, Any]:
        return self.cleaned_data if self.is_bound and self.is_valid() else {}


class AuthorizationForm(ServiceErrorsMixin, forms.Form):
    auth_number = forms.CharField(max_length=50, label="Auth number")
    unit_kind = forms.ChoiceField(choices=UnitKind.choices, initial=UnitKind.DAYS, label="Granted in")
    units_granted = forms.DecimalField(min_value=0, max_digits=10, decimal_places=2, label="Granted")
    starts_on = forms.DateField(widget=DATE, label="From")
    ends_on = forms.DateField(widget=DATE, label="To")
    next_review_on = forms.DateField(widget=DATE, required=False, label="Next review")
    note = forms.CharField(max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", "The authorization ends before it starts.")
        return data


class IntakeRuleForm(ServiceErrorsMixin, forms.Form):
    payer = forms.ModelChoiceField(queryset=Payer.objects.none())
    plan_name = forms.CharField(max_length=120, required=False, label="Plan", help_text="Empty: every plan.")
    program = forms.ModelChoiceField(queryset=Program.objects.none(), required=False,
                                     empty_label="— by level of care —")
    level_of_care = forms.ChoiceField(choices=[("", "—"), *LevelOfCare.choices], required=False,
                                      label="Level of care", help_text="Used when no program is chosen.")
    decision = forms.ChoiceField(choices=IntakeDecision.choices)
    effective_from = forms.DateField(widget=DATE, label="From")
    effective_to = forms.DateField(widget=DATE, required=False, label="To", help_text="Empty: open-ended.")
    reason = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, rule: IntakeRule | None = None, **kwargs: Any) -> None:
        if rule is not None and "initial" not in kwargs:
            kwargs["initial"] = {"payer": rule.payer_id, "plan_name": rule.plan_name, "program": rule.program_id,
                                 "level_of_care": rule.level_of_care, "decision": rule.decision,
                                 "effective_from": rule.effective_from, "effective_to": rule.effective_to,
                                 "reason": rule.reason}
        super().__init__(*args, **kwargs)
        self.fields["payer"].queryset = _payers()
        self.fields["program"].queryset = _programs()
        if not self.is_bound and rule is None:
            self.initial.setdefault("effective_from", timezone.localdate())

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("program") and not data.get("level_of_care"):
            raise forms.ValidationError("Choose a program or a level of care.")
        return data


class IntakeCheckForm(forms.Form):
    payer = forms.ModelChoiceField(queryset=Payer.objects.none(), required=False, empty_label="— none / self-pay —")
    plan_name = forms.CharField(max_length=120, required=False, label="Plan")
    program = forms.ModelChoiceField(queryset=Program.objects.none())
    expected_los_days = forms.IntegerField(min_value=1, max_value=3650, required=False,
                                           label="Expected length of stay (days)")
    on = forms.DateField(widget=DATE, required=False, label="Intake day", help_text="Default today.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["payer"].queryset = _payers()
        self.fields["program"].queryset = _programs()


class PeriodForm(forms.Form):
    start = MonthField(required=False, label="From")
    end = MonthField(required=False, label="To")
    grain = forms.ChoiceField(choices=[("month", "Month"), ("quarter", "Quarter"), ("total", "Whole range")],
                              required=False, initial="quarter", label="By")
    program = forms.ModelChoiceField(queryset=Program.objects.none(), required=False, empty_label="Every program")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = _programs()

    def values(self) -> dict[str, Any]:
        today = timezone.localdate()
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return {"start": data.get("start") or dt.date(today.year - 1, 1, 1), "end": data.get("end") or today,
                "grain": data.get("grain") or "quarter", "program": data.get("program")}


class ProgramCostForm(ServiceErrorsMixin, forms.Form):
    program = forms.ModelChoiceField(queryset=Program.objects.none())
    month = MonthField()
    category = forms.ChoiceField(choices=ProgramCostCategory.choices)
    amount = MoneyField()
    hours = forms.DecimalField(min_value=0, max_digits=10, decimal_places=2, required=False,
                               help_text="Staff hours behind the cost (utilization review: UR hours).")
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = _programs()


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV (UTF-8) or Excel (.xlsx) with a header row.")
    all_or_nothing = forms.BooleanField(required=False, label="Load nothing unless every row is good")
