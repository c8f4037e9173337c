"""Forms of the forecasting pages: they read and check input; the services decide and write.

Money is typed as people write it ("500,000", "$1,250.50") and kept as a Decimal to the cent (the
quota pages' ``MoneyField``).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from quotas.forms import MoneyField, ServiceErrorsMixin
from revops.models import Person

from .models import CALL_CATEGORIES, CallKind, ForecastCategory, ForecastPeriod, PeriodKind, RunKind, Stage

DATE = forms.DateInput(attrs={"type": "date"})


class MonthField(forms.DateField):
    """``2026-01`` (an ``<input type=month>``) or any day of the month: the month's first day."""

    input_formats = ["%Y-%m", "%Y-%m-%d"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "month"}, format="%Y-%m"))
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> dt.date | None:
        day = super().to_python(value)
        return day.replace(day=1) if day else None


class PeriodOpenForm(forms.Form):
    start = MonthField(label="Month", help_text="A quarter starts in January, April, July or October.")
    kind = forms.ChoiceField(choices=PeriodKind.choices, initial=PeriodKind.MONTH, label="Period")
    deadline = forms.DateField(required=False, widget=DATE, label="Calls due by",
                               help_text="Empty: the 8th of the first month. Later calls are marked late.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("start", timezone.localdate().replace(day=1))


class CallForm(ServiceErrorsMixin, forms.Form):
    """One submission: ``person``'s number for one or more categories (a rep's own call), or a manager's
    adjustment of a report's (``subject``) or the team's number."""

    period = forms.ModelChoiceField(queryset=ForecastPeriod.objects.none())
    person = forms.ModelChoiceField(queryset=Person.objects.none())
    kind = forms.ChoiceField(choices=CallKind.choices, initial=CallKind.REP)
    subject = forms.ModelChoiceField(queryset=Person.objects.none(), required=False)
    note = forms.CharField(max_length=500, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period"].queryset = ForecastPeriod.objects.all()
        self.fields["person"].queryset = Person.objects.all()
        self.fields["subject"].queryset = Person.objects.all()
        for c in CALL_CATEGORIES:
            self.fields[c.value] = MoneyField(required=False, label=c.label)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        if not self.amounts():
            raise ValidationError("Type at least one number (commit, best case or pipeline).")
        if data.get("kind") == CallKind.REP and data.get("subject") is not None:
            raise ValidationError("A rep's call is for their own number.")
        return data

    def amounts(self) -> dict[str, Decimal]:
        return {c.value: self.cleaned_data[c.value] for c in CALL_CATEGORIES
                if self.cleaned_data.get(c.value) is not None}

    def error_text(self) -> str:
        return " ".join(e for errs in self.errors.values() for e in errs)


class RunStartForm(forms.Form):
    kind = forms.ChoiceField(choices=RunKind.choices, initial=RunKind.PIPELINE)
    as_of = forms.DateField(widget=DATE, required=False, label="As of",
                            help_text="Forecast from what was known on this day (default today).")
    horizon = forms.IntegerField(min_value=1, max_value=24, initial=6, label="Months ahead")

    def __init__(self, *args: Any, kinds: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kinds is not None:
            self.fields["kind"].choices = [(k, RunKind(k).label) for k in kinds]


STATES = [("", "Any"), ("open", "Open"), ("won", "Won"), ("lost", "Lost")]


class OpportunityFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", widget=forms.TextInput(attrs={"type": "search",
                                                                                       "placeholder": "Name or id"}))
    owner = forms.ModelChoiceField(queryset=Person.objects.none(), required=False, empty_label="Anyone")
    stage = forms.ModelChoiceField(queryset=Stage.objects.none(), required=False, empty_label="Any stage")
    category = forms.ChoiceField(choices=[("", "Any"), *ForecastCategory.choices], required=False)
    state = forms.ChoiceField(choices=STATES, required=False, initial="open")
    close_from = forms.DateField(required=False, widget=DATE, label="Closing from")
    close_to = forms.DateField(required=False, widget=DATE, label="to")

    def __init__(self, *args: Any, people: set[int] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owners = Person.objects.all()
        self.fields["owner"].queryset = owners if people is None else owners.filter(pk__in=people)
        self.fields["stage"].queryset = Stage.objects.all()

    def values(self) -> dict[str, Any]:
        if not self.is_bound:
            return {"state": "open"}
        return self.cleaned_data if self.is_valid() else {}


class ImportForm(forms.Form):
    file = forms.FileField(label="CSV or Excel file", help_text="A header row, then one opportunity per row.")
    all_or_nothing = forms.BooleanField(required=False, label="Load nothing unless every row is good")
