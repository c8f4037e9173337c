"""Forms of the shared pages: members, API keys, schedules, the audit-log filter, imports."""
from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from celery.schedules import crontab as celery_crontab
from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from revops.audit import AUDITED
from revops.imports import SPECS, ImportFileError, upload_check
from revops.models import AuditEvent, Membership, Person, Role, TenantSchedule
from revops.models.audit import AuditAction
from revops.schedules import SCHEDULABLE_TASKS


class InviteForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="What they type to sign in.")
    email = forms.EmailField()
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    role = forms.ChoiceField(choices=Role.choices)
    password = forms.CharField(
        label="Temporary password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Give it to them in person or by phone. Not needed if the username already has a login.",
    )

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        get_user_model().username_validator(username)
        if Membership.objects.filter(user__username=username).exists():
            raise ValidationError("This user is already a member; change their role on the members page.")
        return username

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        username = cleaned.get("username")
        if not username:
            return cleaned
        User = get_user_model()
        self.existing_login = User.objects.filter(username=username).exists()
        password = cleaned.get("password") or ""
        if not self.existing_login:
            if not password:
                self.add_error("password", "A new login needs a temporary password.")
            else:
                candidate = User(username=username, email=cleaned.get("email", ""),
                                 first_name=cleaned.get("first_name", ""), last_name=cleaned.get("last_name", ""))
                try:
                    password_validation.validate_password(password, user=candidate)
                except ValidationError as exc:
                    self.add_error("password", exc)
        return cleaned


class MembershipForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    person = forms.ModelChoiceField(
        queryset=Person.objects.none(),
        required=False,
        label="Person record",
        help_text="Links a rep's login to their person record (their statements, attainment and team).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = Person.objects.order_by("last_name", "first_name")


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=120, help_text="Which system uses the key, e.g. 'Salesforce nightly sync'."
    )


def _crontab_check(expression: str) -> None:
    parts = expression.split()
    if len(parts) != 5:
        raise ValidationError("Use five fields: minute hour day-of-month month day-of-week.")
    minute, hour, day_of_month, month_of_year, day_of_week = parts
    try:
        celery_crontab(minute=minute, hour=hour, day_of_month=day_of_month,
                       month_of_year=month_of_year, day_of_week=day_of_week)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"Not a valid schedule: {exc}") from None


class ScheduleForm(forms.Form):
    name = forms.CharField(max_length=120)
    task = forms.ChoiceField(choices=[])
    crontab = forms.CharField(
        max_length=100, label="When (cron, UTC)",
        help_text="minute hour day-of-month month day-of-week; '17 3 * * *' is 03:17 UTC every day.",
    )
    enabled = forms.BooleanField(required=False, initial=True)
    kwargs = forms.JSONField(
        required=False, label="Arguments (JSON)", initial=dict,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='Optional, e.g. {"older_than_days": 30}.',
    )

    def __init__(self, *args: Any, instance: TenantSchedule | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {"name": instance.name, "task": instance.task, "crontab": instance.crontab,
                                 "enabled": instance.enabled, "kwargs": instance.kwargs}
        super().__init__(*args, **kwargs)
        self.fields["task"].choices = [(name, label) for name, label in SCHEDULABLE_TASKS.items()]

    def clean_crontab(self) -> str:
        expression = " ".join(self.cleaned_data["crontab"].split())
        _crontab_check(expression)
        return expression

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = TenantSchedule.objects.filter(name=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError("Another schedule has this name.")
        return name

    def clean_kwargs(self) -> dict[str, Any]:
        value = self.cleaned_data.get("kwargs") or {}
        if not isinstance(value, dict):
            raise ValidationError("Give an object, e.g. {} or {\"older_than_days\": 30}.")
        if "tenant_id" in value:
            raise ValidationError("tenant_id is set by the system.")
        return value


def audited_model_choices() -> list[tuple[str, str]]:
    models = sorted(AUDITED, key=lambda m: str(m._meta.verbose_name))
    return [(m._meta.label, str(m._meta.verbose_name).capitalize()) for m in models]


class AuditEventFilter(django_filters.FilterSet):
    """The audit-log page's filters: model, action, actor, object, date range."""

    model = django_filters.ChoiceFilter(choices=audited_model_choices, empty_label="Any record type",
                                        label="Record type")
    action = django_filters.ChoiceFilter(choices=AuditAction.choices, empty_label="Any action")
    actor = django_filters.CharFilter(field_name="actor_label", lookup_expr="icontains", label="Actor")
    object_pk = django_filters.CharFilter(field_name="object_pk", label="Record id")
    date_from = django_filters.DateFilter(method="filter_from", label="From",
                                          widget=forms.DateInput(attrs={"type": "date"}))
    date_to = django_filters.DateFilter(method="filter_to", label="To (inclusive)",
                                        widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    def filter_from(self, queryset: QuerySet, name: str, value: dt.date) -> QuerySet:
        start = timezone.make_aware(dt.datetime.combine(value, dt.time.min))
        return queryset.filter(at__gte=start)

    def filter_to(self, queryset: QuerySet, name: str, value: dt.date) -> QuerySet:
        end = timezone.make_aware(dt.datetime.combine(value + dt.timedelta(days=1), dt.time.min))
        return queryset.filter(at__lt=end)


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[(spec.kind, spec.label) for spec in SPECS.values()], widget=forms.RadioSelect,
        label="What the file holds", initial="accounts",
    )
    file = forms.FileField(label="CSV file", widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        upload, kind = cleaned.get("file"), cleaned.get("kind")
        if upload is None or kind is None:
            return cleaned
        if not upload.name.lower().endswith(".csv"):
            self.add_error("file", "Upload a .csv file (in Excel: File > Save As > CSV UTF-8).")
            return cleaned
        try:
            upload_check(SPECS[kind], upload)
        except ImportFileError as exc:
            self.add_error("file", str(exc))
        return cleaned
