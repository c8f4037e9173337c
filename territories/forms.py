"""Forms of the territory pages: they read and check input; the services decide and write.

A form's ``add_service_errors`` puts a service's ``ValidationError`` next to the field it names
(or on top of the form), so a refusal is shown where the user typed.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from revops.models import Person

from .models import AssignmentRule, CoverageRole, PotentialBasis, RuleKind, Territory, TerritoryPlan

DATE = forms.DateInput(attrs={"type": "date"})


class ServiceErrorsMixin:
    def add_service_errors(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)  # type: ignore[attr-defined]
        else:
            self.add_error(None, exc.messages)  # type: ignore[attr-defined]


class PlanForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120)
    effective_from = forms.DateField(widget=DATE, label="Effective from")
    effective_to = forms.DateField(widget=DATE, required=False, label="Effective to",
                                   help_text="Exclusive; leave empty for open-ended.")
    potential_basis = forms.ChoiceField(choices=PotentialBasis.choices, initial=PotentialBasis.PAYER_ADJUSTED,
                                        label="Potential basis")
    holdout_days = forms.IntegerField(min_value=0, max_value=365, initial=0, label="Hold-out days",
                                      help_text="Accounts moved by activation stay with their old owner this long.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class CopyForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120, label="Name of the new scenario")
    effective_from = forms.DateField(widget=DATE, required=False, label="Effective from",
                                     help_text="Leave empty to keep the plan's dates.")


class ActivateForm(ServiceErrorsMixin, forms.Form):
    on = forms.DateField(widget=DATE, label="Activate on")


def _territories(plan: TerritoryPlan, *, leaves_only: bool = False) -> Any:
    qs = Territory.objects.filter(plan=plan).order_by("code")
    if leaves_only:
        qs = qs.filter(children__isnull=True)
    return qs


class TerritoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Territory) -> str:
        return f"{obj.code} · {obj.name}"


class MoveForm(ServiceErrorsMixin, forms.Form):
    """Move a ZIP (or a named account, a ZIP3, a county...) to a territory: its rule is created or re-pointed."""

    kind = forms.ChoiceField(choices=RuleKind.choices, initial=RuleKind.ZIP, label="What")
    value = forms.CharField(max_length=120, label="Value", help_text="A 5-digit ZIP, an account id, ...")
    territory = TerritoryChoiceField(queryset=Territory.objects.none(), label="To territory")

    def __init__(self, *args: Any, plan: TerritoryPlan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["territory"].queryset = _territories(plan, leaves_only=True)


class RuleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: AssignmentRule) -> str:
        return f"{obj.territory.code}: {obj.get_kind_display()} {obj.value}"


class SplitForm(ServiceErrorsMixin, forms.Form):
    territory = TerritoryChoiceField(queryset=Territory.objects.none(), label="Split territory")
    code = forms.CharField(max_length=40, label="New code")
    name = forms.CharField(max_length=120, label="New name")
    rules = RuleChoiceField(queryset=AssignmentRule.objects.none(), widget=forms.CheckboxSelectMultiple,
                            label="Rules that move to the new territory")

    def __init__(self, *args: Any, plan: TerritoryPlan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["territory"].queryset = _territories(plan)
        self.fields["rules"].queryset = (AssignmentRule.objects.filter(plan=plan).select_related("territory")
                                         .order_by("territory__code", "kind", "value"))


class MergeForm(ServiceErrorsMixin, forms.Form):
    source = TerritoryChoiceField(queryset=Territory.objects.none(), label="Merge")
    target = TerritoryChoiceField(queryset=Territory.objects.none(), label="Into")

    def __init__(self, *args: Any, plan: TerritoryPlan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = _territories(plan)
        self.fields["target"].queryset = _territories(plan)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("source") and data.get("source") == data.get("target"):
            raise ValidationError("Pick two different territories.")
        return data


class CoverageForm(ServiceErrorsMixin, forms.Form):
    territory = TerritoryChoiceField(queryset=Territory.objects.none(), label="Territory")
    person = forms.ModelChoiceField(queryset=Person.objects.none(), required=False, label="Rep",
                                    empty_label="— nobody yet —")
    placeholder = forms.CharField(max_length=80, required=False, label="Or to be hired",
                                  help_text="e.g. 'To be hired: Rep, Denver'")
    role = forms.ChoiceField(choices=CoverageRole.choices, initial=CoverageRole.PRIMARY)
    valid_from = forms.DateField(widget=DATE, required=False, label="From",
                                 help_text="Leave empty for the plan's start.")

    def __init__(self, *args: Any, plan: TerritoryPlan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["territory"].queryset = _territories(plan)
        self.fields["person"].queryset = Person.objects.filter(termination_date__isnull=True).order_by(
            "last_name", "first_name")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("person") and not (data.get("placeholder") or "").strip():
            raise ValidationError("Pick a rep or name a to-be-hired placeholder.")
        if data.get("person") and (data.get("placeholder") or "").strip():
            raise ValidationError("Pick a rep or a placeholder, not both.")
        return data


class RuleForm(ServiceErrorsMixin, forms.Form):
    territory = TerritoryChoiceField(queryset=Territory.objects.none(), label="Territory")
    kind = forms.ChoiceField(choices=RuleKind.choices, initial=RuleKind.ZIP)
    value = forms.CharField(max_length=120)
    priority = forms.IntegerField(initial=100, help_text="Lower wins among rules of the same kind.")
    locked = forms.BooleanField(required=False, help_text="The balancing optimizer leaves it in place.")

    def __init__(self, *args: Any, plan: TerritoryPlan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["territory"].queryset = _territories(plan)


class TerritoryForm(ServiceErrorsMixin, forms.Form):
    code = forms.CharField(max_length=40, help_text="e.g. W-03")
    name = forms.CharField(max_length=120)
    parent = TerritoryChoiceField(queryset=Territory.objects.none(), required=False, empty_label="— top level —")
    level = forms.CharField(max_length=40, initial="territory", help_text="region, area, territory, ...")

    def __init__(self, *args: Any, plan: TerritoryPlan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = _territories(plan)


class OwnershipForm(forms.Form):
    on = forms.DateField(widget=DATE, required=False, label="As of")
    q = forms.CharField(required=False, max_length=120, label="Account",
                        help_text="Name, NPI or external id (part of it).")

    def as_of(self) -> dt.date:
        return (self.cleaned_data.get("on") if self.is_valid() else None) or dt.date.today()


class RulesImportForm(forms.Form):
    file = forms.FileField(label="Rules CSV", help_text="Columns: territory, kind, value, priority, locked.")
