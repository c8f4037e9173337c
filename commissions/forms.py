"""Forms of the plan-builder pages: they read and check what is typed; ``commissions.services.plans`` decides.

Rates are typed as people say them: a percent of the credited amount for money bases ("5" or "5%"
is 0.05), dollars per unit for referral and test counts ("25" is $25 a referral). A rate table is a
textarea, one tier per line: ``threshold, rate`` (commission) or ``threshold, amount`` (bonus),
thresholds in percent of quota (or amounts on the amount tier basis). A service's
``ValidationError`` is put next to the field it names (``add_service_errors``).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from quotas.forms import MoneyField, ServiceErrorsMixin
from revops.models import Person, ServiceLine

from .models import (
    COUNT_BASES,
    Basis,
    CompPlan,
    CompPlanVersion,
    Component,
    ComponentKind,
    CreditRule,
    CreditRuleKind,
    RateType,
    TierBasis,
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
HUNDRED = Decimal(100)
RATE_HELP = ("Money bases: a percent of the credited amount (5 = 5%). Referral and test counts: dollars per unit "
             "(25 = $25 a referral).")


def plain(value: Decimal | str | None) -> str:
    if value is None or value == "":
        return ""
    return f"{Decimal(value).normalize():f}"


def parse_number(raw: str, label: str) -> Decimal:
    """``"5%"``, ``"$1,250.50"``, ``" 100 "`` -> Decimal; ValidationError naming ``label`` otherwise."""
    text = raw.strip().replace("\u00a0", "").replace(" ", "").rstrip("%").lstrip("$").replace(",", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"{label}: {raw.strip()!r} is not a number.") from None
    if not value.is_finite():
        raise ValidationError(f"{label}: {raw.strip()!r} is not a number.")
    return value


def split_pair(line: str) -> list[str]:
    """One tier line into its two cells: "100, 8" · "100; 8" · "100<TAB>8" · "100 8" · "100,000; 8"."""
    for sep in (";", "\t", "→", "->", "=>"):
        if sep in line:
            return [p for p in (s.strip() for s in line.split(sep)) if p]
    if ", " in line:
        return [p.strip() for p in line.split(", ") if p.strip()]
    if line.count(",") == 1:
        return [p.strip() for p in line.split(",")]
    return line.split()


def to_rate(typed: Decimal, basis: str) -> Decimal:
    """A typed rate to the stored rate: percents become fractions; count bases are already dollars per unit."""
    return typed if basis in COUNT_BASES else typed / HUNDRED


def from_rate(rate: Decimal | str, basis: str) -> str:
    return plain(Decimal(rate) if basis in COUNT_BASES else Decimal(rate) * HUNDRED)


def parse_tiers(text: str, *, kind: str, basis: str) -> list[dict[str, str]]:
    """The tier textarea into the service's [{"from": ..., "rate"|"amount": ...}] (strings of Decimals)."""
    key = "amount" if kind == ComponentKind.BONUS else "rate"
    tiers = []
    for number, line in enumerate((ln for ln in text.splitlines() if ln.strip()), start=1):
        cells = split_pair(line)
        if len(cells) != 2:
            what, example = ("an amount", "100, 1000") if key == "amount" else ("a rate", "100, 8")
            raise ValidationError(f"Line {number} ({line.strip()!r}): write a threshold and {what}, "
                                  f"e.g. \"{example}\".")
        threshold = parse_number(cells[0], f"Line {number} threshold")
        value = parse_number(cells[1], f"Line {number} {key}")
        if key == "rate":
            value = to_rate(value, basis)
        tiers.append({"from": plain(threshold), key: plain(value)})
    return tiers


def tiers_text(tiers: list[dict[str, Any]] | None, *, kind: str, basis: str) -> str:
    key = "amount" if kind == ComponentKind.BONUS else "rate"
    out = []
    for tier in tiers or []:
        value = plain(tier.get(key)) if key == "amount" else from_rate(tier.get(key, 0), basis)
        out.append(f"{plain(tier.get('from'))}, {value}")
    return "\n".join(out)


def parse_line_rates(text: str, *, basis: str) -> dict[str, str]:
    out = {}
    for number, line in enumerate((ln for ln in text.splitlines() if ln.strip()), start=1):
        cells = split_pair(line)
        if len(cells) != 2:
            raise ValidationError(f"Line {number} ({line.strip()!r}): write a service line code and a rate, e.g. "
                                  "\"TOX, 6\".")
        out[cells[0].upper()] = plain(to_rate(parse_number(cells[1], f"Rate of {cells[0]}"), basis))
    return out


class PlanForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                  help_text="Who the plan is for and what it rewards (shown on plan documents).")

    def service_kwargs(self) -> dict[str, Any]:
        return {"name": self.cleaned_data["name"], "description": self.cleaned_data.get("description") or ""}


class VersionForm(ServiceErrorsMixin, forms.Form):
    """A new version (optionally a copy of one) or a draft's settings."""

    effective_from = forms.DateField(widget=DATE, label="In force from")
    effective_to = forms.DateField(widget=DATE, required=False, label="Until (exclusive)",
                                   help_text="The first day it no longer applies; empty: until another version "
                                             "replaces it.")
    copy_from = forms.ModelChoiceField(queryset=CompPlanVersion.objects.none(), required=False,
                                       empty_label="Start empty", label="Copy components from",
                                       help_text="Copies every component with its tiers and rates (not sign-offs).")
    period_cap = MoneyField(required=False, label="Period cap",
                            help_text="The most a person earns under this version in one period; empty: no cap.")
    quota_basis = forms.CharField(max_length=40, initial=Basis.BOOKINGS, label="Quota measures",
                                  help_text="The basis attainment is measured on: bookings, first_year_revenue, "
                                            "net_collected_revenue, referrals, tests, billed_amount, or a custom "
                                            "metric's code.")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, plan: CompPlan | None = None, version: CompPlanVersion | None = None,
                 **kwargs: Any) -> None:
        if version is not None:
            kwargs.setdefault("initial", {
                "effective_from": version.effective_from, "effective_to": version.effective_to,
                "period_cap": plain(version.period_cap), "quota_basis": version.quota_basis, "notes": version.notes})
        super().__init__(*args, **kwargs)
        if plan is not None and version is None:
            versions = CompPlanVersion.objects.filter(plan=plan).order_by("-version")
            self.fields["copy_from"].queryset = versions
            self.fields["copy_from"].label_from_instance = (
                lambda v: f"v{v.version} ({v.get_status_display().lower()}, from {v.effective_from:%b %-d, %Y})")
            latest = versions.first()
            if latest is not None and not self.is_bound:
                self.initial.setdefault("copy_from", latest.pk)
        else:
            del self.fields["copy_from"]

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        out = {"effective_from": d["effective_from"], "effective_to": d.get("effective_to"),
               "period_cap": d.get("period_cap"), "quota_basis": (d.get("quota_basis") or "").strip(),
               "notes": d.get("notes") or ""}
        if "copy_from" in self.fields:
            out["copy_from"] = d.get("copy_from")
        return out


class ComponentForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=ComponentKind.choices, initial=ComponentKind.COMMISSION)
    basis = forms.ChoiceField(choices=Basis.choices, initial=Basis.BOOKINGS, label="Pays on")
    custom_basis = forms.CharField(max_length=40, required=False, label="Custom metric code",
                                   help_text="Only for a custom basis.")
    service_line = forms.ModelChoiceField(queryset=ServiceLine.objects.none(), required=False,
                                          empty_label="Every service line", label="Service line")
    rate_type = forms.ChoiceField(choices=RateType.choices, initial=RateType.FLAT, label="Rate")
    rate = forms.CharField(required=False, max_length=24, label="Flat rate (or SPIFF rate)", help_text=RATE_HELP,
                           widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
    tier_basis = forms.ChoiceField(choices=TierBasis.choices, initial=TierBasis.ATTAINMENT, label="Tiers measure")
    tiers = forms.CharField(required=False, label="Tiers (one per line: threshold, rate)",
                            widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
                            help_text="Commission: \"threshold, rate\", the first from 0, e.g. \"0, 5\" then "
                                      "\"100, 8\" (8% above 100% of quota). Bonus: \"attainment %, amount\", e.g. "
                                      "\"100, 1000\".")
    service_line_rates = forms.CharField(required=False, label="Rates by service line (code, rate per line)",
                                         widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
                                         help_text="Flat commissions only, e.g. \"TOX, 6\": overrides the flat rate "
                                                   "for that service line.")
    unit_amount = MoneyField(required=False, label="SPIFF amount per transaction")
    spiff_start = forms.DateField(widget=DATE, required=False, label="SPIFF from")
    spiff_end = forms.DateField(widget=DATE, required=False, label="SPIFF through (inclusive)")
    hurdle_pct = forms.DecimalField(required=False, min_value=0, max_value=1000, decimal_places=2,
                                    label="Hurdle (% of quota)", help_text="No pay on credit below this attainment.",
                                    widget=forms.NumberInput(attrs={"step": "any", "min": 0}))
    cap_amount = MoneyField(required=False, label="Cap per period")
    hold_pct = forms.DecimalField(required=False, min_value=0, max_value=100, decimal_places=2,
                                  label="Hold (% of each payment)",
                                  widget=forms.NumberInput(attrs={"step": "any", "min": 0, "max": 100}))
    hold_days = forms.IntegerField(required=False, min_value=0, max_value=3650, label="Held for (days)")
    clawback_days = forms.IntegerField(required=False, min_value=0, max_value=3650, label="Clawback window (days)",
                                       help_text="A reversal within this many days of the original takes its pay back.")
    order = forms.IntegerField(required=False, min_value=0, max_value=999, label="Order")

    def __init__(self, *args: Any, component: Component | None = None, **kwargs: Any) -> None:
        if component is not None:
            basis = component.basis
            kwargs.setdefault("initial", {
                "name": component.name, "kind": component.kind, "basis": basis, "custom_basis": component.custom_basis,
                "service_line": component.service_line_id, "rate_type": component.rate_type,
                "rate": from_rate(component.rate, basis) if component.rate else "",
                "tier_basis": component.tier_basis,
                "tiers": tiers_text(component.tiers, kind=component.kind, basis=basis),
                "service_line_rates": "\n".join(f"{code}, {from_rate(r, basis)}"
                                                for code, r in sorted((component.service_line_rates or {}).items())),
                "unit_amount": plain(component.unit_amount) if component.unit_amount else "",
                "spiff_start": component.spiff_start, "spiff_end": component.spiff_end,
                "hurdle_pct": plain(component.hurdle_pct), "cap_amount": plain(component.cap_amount),
                "hold_pct": plain(component.hold_pct) if component.hold_pct else "",
                "hold_days": component.hold_days or None, "clawback_days": component.clawback_days,
                "order": component.order})
        self.slug = f"c{component.pk}" if component is not None else "new"
        kwargs.setdefault("auto_id", f"id_{self.slug}_%s")  # an edit form and the add form share the page
        super().__init__(*args, **kwargs)
        self.fields["service_line"].queryset = ServiceLine.objects.order_by("name")
        self.fields["name"].widget.attrs["autofocus"] = True  # the form opens in place: the cursor goes to it
        self.component = component

    def clean(self) -> dict[str, Any]:
        d = super().clean()
        basis, kind = d.get("basis") or Basis.BOOKINGS, d.get("kind") or ComponentKind.COMMISSION
        raw_rate = (d.get("rate") or "").strip()
        try:
            d["rate_value"] = to_rate(parse_number(raw_rate, "Rate"), basis) if raw_rate else Decimal(0)
        except ValidationError as exc:
            self.add_error("rate", exc)
        try:
            d["tier_list"] = parse_tiers(d.get("tiers") or "", kind=kind, basis=basis)
        except ValidationError as exc:
            self.add_error("tiers", exc)
        try:
            d["line_rates"] = parse_line_rates(d.get("service_line_rates") or "", basis=basis)
        except ValidationError as exc:
            self.add_error("service_line_rates", exc)
        return d

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        out = {"name": d["name"], "kind": d["kind"], "basis": d["basis"], "custom_basis": d.get("custom_basis") or "",
               "service_line": d.get("service_line"), "rate_type": d["rate_type"], "rate": d["rate_value"],
               "tier_basis": d["tier_basis"], "tiers": d["tier_list"], "service_line_rates": d["line_rates"],
               "unit_amount": d.get("unit_amount") or Decimal(0), "spiff_start": d.get("spiff_start"),
               "spiff_end": d.get("spiff_end"), "hurdle_pct": d.get("hurdle_pct"), "cap_amount": d.get("cap_amount"),
               "hold_pct": d.get("hold_pct") or Decimal(0), "hold_days": d.get("hold_days") or 0,
               "clawback_days": d.get("clawback_days")}
        if d.get("order") is not None:
            out["order"] = d["order"]
        return out

    def add_service_errors(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                # Tier errors in the service name "tiers"; the service's rate errors concern the typed rate.
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, exc.messages)


class SignoffForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, label="Reason",
                             help_text="What was reviewed and why the component is acceptable.")


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Person) -> str:
        return f"{obj.full_name} ({obj.employee_id})"


class AssignmentForm(ServiceErrorsMixin, forms.Form):
    person = PersonChoiceField(queryset=Person.objects.none())
    effective_from = forms.DateField(widget=DATE, label="From")
    effective_to = forms.DateField(widget=DATE, required=False, label="Until (exclusive)",
                                   help_text="The first day the person is off the plan; empty: open-ended.")
    quota_amount = MoneyField(required=False, label="Quota per period",
                              help_text="Empty: the person's quota in the active quota plan.")
    draw_amount = MoneyField(required=False, label="Draw or guarantee per period")
    draw_recoverable = forms.BooleanField(required=False, initial=True, label="Recoverable draw",
                                          help_text="Unticked: a guarantee (not paid back).")
    draw_until = forms.DateField(widget=DATE, required=False, label="Draw until",
                                 help_text="Last day the draw applies (a new hire's guarantee ends here).")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = Person.objects.order_by("last_name", "first_name")

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {"person": d["person"], "effective_from": d["effective_from"], "effective_to": d.get("effective_to"),
                "quota_amount": d.get("quota_amount"), "draw_amount": d.get("draw_amount") or Decimal(0),
                "draw_recoverable": bool(d.get("draw_recoverable")), "draw_until": d.get("draw_until")}


class AssignmentEndForm(forms.Form):
    effective_to = forms.DateField(widget=DATE, label="Off the plan from")


BASIS_HINT = "Empty: every basis. Else a basis (bookings, referrals, …) or a custom metric's code."


class CreditRuleForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=CreditRuleKind.choices)
    level = forms.IntegerField(min_value=1, max_value=5, initial=1, required=False,
                               help_text="Manager overrides: 1 = the direct manager, 2 = their manager, …")
    share = forms.CharField(max_length=12, label="Share (%)",
                            help_text="Percent of the credited amount each of them gets (10 = 10%).",
                            widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
    basis = forms.CharField(max_length=40, required=False, help_text=BASIS_HINT)
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args: Any, rule: CreditRule | None = None, **kwargs: Any) -> None:
        if rule is not None:
            kwargs.setdefault("initial", {"name": rule.name, "kind": rule.kind, "level": rule.level,
                                          "share": plain(rule.share * HUNDRED), "basis": rule.basis,
                                          "is_active": rule.is_active})
        super().__init__(*args, **kwargs)

    def clean_share(self) -> Decimal:
        return parse_number(self.cleaned_data["share"], "Share") / HUNDRED

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {"name": d["name"], "kind": d["kind"], "level": d.get("level") or 1, "share": d["share"],
                "basis": (d.get("basis") or "").strip(), "is_active": bool(d.get("is_active"))}
