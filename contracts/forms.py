"""Input shapes of the contract pages (the rules are the services')."""
from __future__ import annotations

from typing import Any

from django import forms

from revops.models import Payer, Program

from .models import CaseRateBasis, Recommendation, TermKind

DATE = forms.DateInput(attrs={"type": "date"})


class ContractForm(forms.Form):
    payer = forms.ModelChoiceField(queryset=Payer.objects.order_by("name"))
    name = forms.CharField(max_length=160, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    plan_name = forms.CharField(max_length=120, required=False, label="Plan",
                                help_text="Leave blank for all the payer's plans.")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ContractEditForm(forms.Form):
    name = forms.CharField(max_length=160)
    ends_on = forms.DateField(required=False, widget=DATE, label="Ends on",
                              help_text="Last day in force (termination). Blank: open-ended.")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class SingleCaseForm(forms.Form):
    payer = forms.ModelChoiceField(queryset=Payer.objects.order_by("name"))
    program = forms.ModelChoiceField(queryset=Program.objects.order_by("name"))
    member_id = forms.CharField(max_length=80, label="Member id", widget=forms.TextInput(attrs={"autocomplete": "off"}),
                                help_text="Hashed at once, never stored (the same hash claims carry).")
    starts_on = forms.DateField(widget=DATE)
    ends_on = forms.DateField(widget=DATE)
    kind = forms.ChoiceField(choices=[(TermKind.PER_DIEM, "Per diem (the program's level of care)"),
                                      (TermKind.CASE_RATE, "Case rate"),
                                      (TermKind.PERCENT_OF_CHARGES, "Percent of charges")])
    basis = forms.ChoiceField(choices=[("", "—"), *CaseRateBasis.choices], required=False, label="Case rate basis")
    rate = forms.DecimalField(max_digits=14, decimal_places=4, min_value=0)
    lesser_of_charges = forms.BooleanField(required=False, label="Lesser of charges or per diem")


class TermForm(forms.Form):
    kind = forms.ChoiceField(choices=TermKind.choices)
    code = forms.CharField(max_length=12, required=False, help_text="Fee schedule: CPT/HCPCS code.")
    modifier = forms.CharField(max_length=2, required=False, help_text="Fee schedule: optional modifier.")
    level_of_care = forms.ChoiceField(required=False, label="Level of care",
                                      help_text="Per diem: required. Case rate: blank for every level.")
    basis = forms.ChoiceField(choices=[("", "—"), *CaseRateBasis.choices], required=False, label="Case rate basis")
    rate = forms.DecimalField(max_digits=14, decimal_places=4, min_value=0,
                              help_text="Per unit, per day, per case, or percent (65 = 65%).")
    lesser_of_charges = forms.BooleanField(required=False, label="Lesser of charges or per diem")
    description = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from revops.models.reference import LevelOfCare

        kwargs.setdefault("auto_id", "term_%s")
        super().__init__(*args, **kwargs)
        self.fields["level_of_care"].choices = [("", "—"), *LevelOfCare.choices]


class PublishForm(forms.Form):
    effective_from = forms.DateField(widget=DATE, label="Effective from")


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with a header: code, rate (optional modifier, description).",
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}))


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=Recommendation.choices)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="Why: kept with who and when.")


class GenerateForm(forms.Form):
    quarter_start = forms.DateField(widget=DATE, label="Any day of the quarter")
