"""Forms of the quota pages: they read and check input; the services decide and write.

Money is typed as people write it ("500,000", "$1,250.50") and kept as a Decimal to the cent.
Method weights are typed as percents that add to 100 and handed to the services as fractions.
A form's ``add_service_errors`` puts a service's ``ValidationError`` next to the field it names
(or on top of the form), so a refusal is shown where the user typed.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from territories.models import PlanStatus, TerritoryPlan

from .models import QuotaMetric, SeasonalityProfile

CENT = Decimal("0.01")
DATE = forms.DateInput(attrs={"type": "date"})
METHODS = (("even", "Even split"), ("potential", "Territory potential"), ("prior_year", "Prior-year actual"),
           ("ttm", "Trailing twelve months"), ("custom", "Custom field"))
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse_money(raw: Any) -> Decimal:
    """``"500,000"``, ``"$1,250.5"``, ``" 12 000 "`` -> Decimal to the cent; ValueError when it is not a number."""
    text = str(raw).strip().replace(",", "").replace(" ", "").replace("\u00a0", "").lstrip("$")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{str(raw).strip()!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{str(raw).strip()!r} is not a number")
    return value.quantize(CENT)


class MoneyField(forms.Field):
    """A money amount (commas and a leading $ allowed), not negative."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off",
                                                           "maxlength": 24}))
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> Decimal | None:
        text = str(value).strip() if value is not None else ""
        if text in self.empty_values:
            return None
        try:
            amount = parse_money(text)
        except ValueError as exc:
            raise ValidationError(f"{exc}: type an amount such as 500000 or 500,000.00.") from None
        if amount < 0:
            raise ValidationError("An amount cannot be negative.")
        if abs(amount) >= Decimal("1e14"):
            raise ValidationError("That amount is too large.")
        return amount


class ServiceErrorsMixin:
    def add_service_errors(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)  # type: ignore[attr-defined]
        else:
            self.add_error(None, exc.messages)  # type: ignore[attr-defined]


def parse_ramp(text: str) -> list[Decimal]:
    """``"25, 50, 75"`` -> [25, 50, 75] (percent of quota in a new hire's 1st, 2nd, ... month)."""
    out = []
    for part in text.replace(";", ",").split(","):
        part = part.strip().rstrip("%").strip()
        if not part:
            continue
        try:
            value = Decimal(part)
        except InvalidOperation:
            raise ValidationError(f"{part!r} is not a percent: write the months' percents like 25, 50, 75.") from None
        if not value.is_finite() or value < 0 or value > 100:
            raise ValidationError(f"{part}% is not between 0 and 100.")
        out.append(value.quantize(CENT))
    if len(out) > 24:
        raise ValidationError("A ramp of more than 24 months is not supported.")
    return out


def plain(value: Decimal) -> str:
    """A Decimal without trailing zeros and never in exponent form: 60.00 -> "60", 12.50 -> "12.5"."""
    return f"{value.normalize():f}"


def ramp_text(percents: list[Decimal] | None) -> str:
    return ", ".join(plain(Decimal(p)) for p in (percents or []))


class WeightsMixin:
    """Five method weights typed as percents (``weight_even`` ... ``weight_custom``) that add to 100."""

    def _weight_fields(self) -> None:
        for key, label in METHODS:
            self.fields[f"weight_{key}"] = forms.DecimalField(  # type: ignore[attr-defined]
                min_value=0, max_value=100, decimal_places=2, initial=0, label=f"{label} %",
                widget=forms.NumberInput(attrs={"step": "any", "min": 0, "max": 100}))

    def clean_weights(self, data: dict[str, Any]) -> None:
        values = [data.get(f"weight_{key}") for key, _ in METHODS]
        if any(v is None for v in values):
            return  # the field errors say what is wrong
        total = sum(values, Decimal(0))
        if total != 100:
            raise ValidationError(f"The method weights add to {total.normalize():f}%; they must add to 100%.")

    def weights(self) -> dict[str, Decimal]:
        data = self.cleaned_data  # type: ignore[attr-defined]
        return {key: (data[f"weight_{key}"] / 100).quantize(Decimal("0.0001")) for key, _ in METHODS}


def weight_initial(plan: Any) -> dict[str, Decimal]:
    return {f"weight_{k}": plain((v * 100).quantize(CENT)) for k, v in plan.weights.items()}


class SeasonalityChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: SeasonalityProfile) -> str:
        return f"{obj.name} ({obj.get_source_display().lower()})"


class TerritoryPlanChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: TerritoryPlan) -> str:
        return f"{obj.name} ({obj.get_status_display().lower()}, from {obj.effective_from:%b %-d, %Y})"


class PlanForm(ServiceErrorsMixin, WeightsMixin, forms.Form):
    """A new quota plan: a fiscal year's company target for one metric, on a territory plan's hierarchy."""

    name = forms.CharField(max_length=120)
    fiscal_year = forms.IntegerField(min_value=2000, max_value=2100, label="Fiscal year",
                                     help_text="FY N ends in calendar year N.")
    metric = forms.ChoiceField(choices=QuotaMetric.choices, initial=QuotaMetric.BOOKINGS)
    custom_metric = forms.CharField(max_length=40, required=False, label="Custom metric code",
                                    help_text="Only for a custom metric: the code its transactions carry.")
    territory_plan = TerritoryPlanChoiceField(queryset=TerritoryPlan.objects.none(), label="Territory plan",
                                            help_text="Its hierarchy becomes the allocation tree.")
    company_target = MoneyField(label="Company target")
    seasonality = SeasonalityChoiceField(queryset=SeasonalityProfile.objects.none(), required=False,
                                         empty_label="Flat (1/12 a month)", label="Seasonality")
    ramp_percents = forms.CharField(required=False, initial="25, 50, 75", label="Ramp for new hires (%)",
                                    help_text="Percent of quota carried in a new hire's 1st, 2nd, ... month; "
                                              "100% after. Empty: no ramp.")

    def __init__(self, *args: Any, fiscal_year: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._weight_fields()
        self.fields["weight_potential"].initial = 60
        self.fields["weight_prior_year"].initial = 40
        # Archived plans too: a past fiscal year's quotas sit on the hierarchy in force when it started.
        plans = TerritoryPlan.objects.order_by("-effective_from", "name")
        self.fields["territory_plan"].queryset = plans
        active = next((p for p in plans if p.status == PlanStatus.ACTIVE), None)
        if active is not None:
            self.fields["territory_plan"].initial = active.pk
        self.fields["seasonality"].queryset = SeasonalityProfile.objects.order_by("name")
        if fiscal_year is not None:
            self.fields["fiscal_year"].initial = fiscal_year

    def clean_ramp_percents(self) -> list[Decimal]:
        return parse_ramp(self.cleaned_data.get("ramp_percents") or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("metric") == QuotaMetric.CUSTOM and not (data.get("custom_metric") or "").strip():
            self.add_error("custom_metric", "A custom metric needs its code (what its transactions carry).")
        if data.get("metric") != QuotaMetric.CUSTOM:
            data["custom_metric"] = ""
        if data.get("company_target") is None and "company_target" not in self.errors:
            self.add_error("company_target", "Give the company target.")
        self.clean_weights(data)
        return data

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {"name": d["name"].strip(), "fiscal_year": d["fiscal_year"], "metric": d["metric"],
                "custom_metric": d.get("custom_metric") or "", "territory_plan": d["territory_plan"],
                "company_target": d["company_target"], "weights": self.weights(), "seasonality": d.get("seasonality"),
                "ramp_percents": d["ramp_percents"]}


class PlanSettingsForm(ServiceErrorsMixin, WeightsMixin, forms.Form):
    """What a draft's allocation is computed from: target, method weights, seasonality, ramp, outlier band."""

    name = forms.CharField(max_length=120)
    company_target = MoneyField(label="Company target")
    seasonality = SeasonalityChoiceField(queryset=SeasonalityProfile.objects.none(), required=False,
                                         empty_label="Flat (1/12 a month)", label="Seasonality")
    ramp_percents = forms.CharField(required=False, label="Ramp for new hires (%)",
                                    help_text="e.g. 25, 50, 75; empty: no ramp.")
    outlier_band = forms.DecimalField(min_value=1, max_value=99, decimal_places=2, label="Outlier band %",
                                      help_text="Quota-to-potential ratios this far from the median are flagged.")

    def __init__(self, *args: Any, plan: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {
            "name": plan.name, "company_target": f"{plan.company_target:f}", "seasonality": plan.seasonality_id,
            "ramp_percents": ramp_text(plan.ramp_percents),
            "outlier_band": plain((plan.outlier_band * 100).quantize(CENT)), **weight_initial(plan)})
        super().__init__(*args, **kwargs)
        self._weight_fields()
        self.fields["seasonality"].queryset = SeasonalityProfile.objects.order_by("name")
        self.plan = plan

    def clean_ramp_percents(self) -> list[Decimal]:
        return parse_ramp(self.cleaned_data.get("ramp_percents") or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("company_target") is None and "company_target" not in self.errors:
            self.add_error("company_target", "Give the company target.")
        self.clean_weights(data)
        return data

    def changed_fields(self) -> dict[str, Any]:
        """The plan fields whose value differs from the plan's (so an unchanged save re-allocates nothing)."""
        d, plan = self.cleaned_data, self.plan
        wanted: dict[str, Any] = {"name": d["name"].strip(), "company_target": d["company_target"],
                                  "seasonality": d.get("seasonality"), "ramp_percents": d["ramp_percents"],
                                  "outlier_band": (d["outlier_band"] / 100).quantize(CENT)}
        wanted.update({f"weight_{k}": v for k, v in self.weights().items()})
        current = {key: getattr(plan, key) for key in wanted}
        current["ramp_percents"] = [Decimal(p) for p in (plan.ramp_percents or [])]
        return {k: v for k, v in wanted.items() if v != current[k]}


class OverrideForm(forms.Form):
    """A node's fixed annual target; empty (or the Clear button) releases it."""

    amount = MoneyField(required=False, label="Override")


class CustomBasisForm(forms.Form):
    amount = MoneyField(label="Custom basis")


class BottomUpForm(forms.Form):
    amount = MoneyField(required=False, label="Bottom-up")
    note = forms.CharField(max_length=500, required=False, label="Note")


GROUPING_CHOICES = (("node", "Node"), ("rep", "Rep"), ("team", "Team"), ("level", "Level"))


class AttainmentFilterForm(forms.Form):
    by = forms.ChoiceField(choices=GROUPING_CHOICES, required=False, label="By")
    month = forms.ChoiceField(choices=(), required=False, label="Period")
    as_of = forms.DateField(widget=DATE, required=False, label="Pace as of")
    row = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def __init__(self, *args: Any, months: list[dt.date], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        quarters = [(f"q{q}", f"Q{q} ({months[3 * q - 3]:%b}–{months[3 * q - 1]:%b %Y})") for q in (1, 2, 3, 4)]
        self.fields["month"].choices = ([("", "Whole year")] + quarters
                                        + [(m.isoformat(), f"{m:%b %Y}") for m in months])

    def values(self) -> dict[str, Any]:
        d = self.cleaned_data if self.is_valid() else {}
        period = d.get("month") or ""
        quarter = int(period[1]) if period.startswith("q") else None
        month = dt.date.fromisoformat(period) if period and quarter is None else None
        return {"by": d.get("by") or "node", "month": month, "quarter": quarter, "period": period,
                "as_of": d.get("as_of") or dt.date.today(), "row": d.get("row") or ""}


class SeasonalityForm(ServiceErrorsMixin, forms.Form):
    """Twelve weights in fiscal-month order, any scale (percents are easiest); they are normalised to 1."""

    name = forms.CharField(max_length=120)

    def __init__(self, *args: Any, start_month: int = 1, profile: SeasonalityProfile | None = None,
                 **kwargs: Any) -> None:
        if profile is not None:
            kwargs.setdefault("initial", {"name": profile.name, **{
                f"m{i + 1}": plain((Decimal(w) * 100).quantize(Decimal("0.001")))
                for i, w in enumerate(profile.weights)}})
        super().__init__(*args, **kwargs)
        for i in range(12):
            label = MONTH_NAMES[(start_month - 1 + i) % 12]
            self.fields[f"m{i + 1}"] = forms.DecimalField(
                min_value=0, max_value=10**6, decimal_places=6, label=f"{i + 1} · {label}",
                initial=Decimal("8.333") if profile is None else None,
                widget=forms.NumberInput(attrs={"step": "any", "min": 0}))

    def month_fields(self) -> list[Any]:
        return [self[f"m{i + 1}"] for i in range(12)]

    def weights(self) -> list[Decimal]:
        return [self.cleaned_data[f"m{i + 1}"] for i in range(12)]


class LearnForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120, help_text="A profile of that name is replaced.")
    metric = forms.ChoiceField(choices=QuotaMetric.choices, initial=QuotaMetric.BOOKINGS)
    custom_metric = forms.CharField(max_length=40, required=False, label="Custom metric code")
    fiscal_year = forms.IntegerField(min_value=2000, max_value=2100, label="For fiscal year",
                                     help_text="Learned from the full fiscal years before it.")
    years = forms.IntegerField(min_value=1, max_value=5, initial=3, label="Years of history")

    def __init__(self, *args: Any, fiscal_year: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if fiscal_year is not None:
            self.fields["fiscal_year"].initial = fiscal_year

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("metric") == QuotaMetric.CUSTOM and not (data.get("custom_metric") or "").strip():
            self.add_error("custom_metric", "A custom metric needs its code.")
        return data

    def metric_code(self) -> str:
        d = self.cleaned_data
        return d["custom_metric"].strip() if d["metric"] == QuotaMetric.CUSTOM else d["metric"]


class ImportForm(forms.Form):
    file = forms.FileField(label="CSV or Excel file",
                           help_text="Columns: code, override, custom_basis, bottom_up, note (a header row first).")

    def clean_file(self) -> Any:
        f = self.cleaned_data["file"]
        name = (f.name or "").lower()
        if not name.endswith((".csv", ".txt", ".xlsx")):
            raise ValidationError("Upload a .csv or an .xlsx file.")
        if f.size > 5 * 1024 * 1024:
            raise ValidationError("The file is larger than 5 MB.")
        return f
