"""Query-string filters of the list endpoints (django-filter); model choices are tenant-scoped."""
from __future__ import annotations

from datetime import date

from django.db.models import QuerySet
from django_filters import rest_framework as filters

from revops import selectors
from revops.models import (
    Account,
    AccountType,
    ApiKey,
    AuditEvent,
    Facility,
    Job,
    JobStatus,
    LevelOfCare,
    Membership,
    Payer,
    PayerClass,
    Person,
    PersonRole,
    Program,
    ReportingLine,
    Role,
    ServiceLine,
    Team,
)
from revops.models.audit import AuditAction


class StateFilter(filters.CharFilter):
    """USPS state code, any case; compared exactly (upper case, as stored) so the index serves it."""

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        return super().filter(qs, value.strip().upper() if value else value)


class ServiceLineFilter(filters.FilterSet):
    code = filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = ServiceLine
        fields = ["code"]


class TeamFilter(filters.FilterSet):
    parent = filters.ModelChoiceFilter(queryset=Team.objects.all())
    service_line = filters.ModelChoiceFilter(queryset=ServiceLine.objects.all())

    class Meta:
        model = Team
        fields = ["parent", "service_line"]


class PersonFilter(filters.FilterSet):
    team = filters.ModelChoiceFilter(queryset=Team.objects.all())
    role = filters.ChoiceFilter(choices=PersonRole.choices)
    employee_id = filters.CharFilter()
    active_on = filters.DateFilter(method="filter_active_on", label="Employed on this date (YYYY-MM-DD)")

    class Meta:
        model = Person
        fields = ["team", "role", "employee_id", "active_on"]

    def filter_active_on(self, queryset: QuerySet[Person], name: str, value: date) -> QuerySet[Person]:
        return queryset & selectors.people_active_on(on=value)


class ReportingLineFilter(filters.FilterSet):
    person = filters.ModelChoiceFilter(queryset=Person.objects.all())
    manager = filters.ModelChoiceFilter(queryset=Person.objects.all())
    on = filters.DateFilter(method="filter_on", label="Lines in force on this date (YYYY-MM-DD)")

    class Meta:
        model = ReportingLine
        fields = ["person", "manager", "on"]

    def filter_on(self, queryset: QuerySet[ReportingLine], name: str, value: date) -> QuerySet[ReportingLine]:
        return queryset & selectors.reporting_lines_on(on=value)


class FacilityFilter(filters.FilterSet):
    state = StateFilter()
    zip_code = filters.CharFilter()
    npi = filters.CharFilter()

    class Meta:
        model = Facility
        fields = ["state", "zip_code", "npi"]


class ProgramFilter(filters.FilterSet):
    level_of_care = filters.ChoiceFilter(choices=LevelOfCare.choices)
    facility = filters.ModelChoiceFilter(queryset=Facility.objects.all())

    class Meta:
        model = Program
        fields = ["level_of_care", "facility", "is_part2", "is_active"]


class PayerFilter(filters.FilterSet):
    payer_class = filters.ChoiceFilter(choices=PayerClass.choices)
    payer_id = filters.CharFilter()

    class Meta:
        model = Payer
        fields = ["payer_class", "payer_id", "is_active"]


class CharInFilter(filters.BaseInFilter, filters.CharFilter):
    pass


class AccountFilter(filters.FilterSet):
    external_id = filters.CharFilter()
    state = StateFilter()
    county = filters.CharFilter(lookup_expr="iexact")
    city = filters.CharFilter(lookup_expr="iexact")
    zip_code = filters.CharFilter()
    zip_code__in = CharInFilter(field_name="zip_code", label="Any of these ZIP codes (comma-separated)")
    zip3 = filters.CharFilter(field_name="zip_code", lookup_expr="startswith", label="ZIP3 prefix")
    account_type = filters.ChoiceFilter(choices=AccountType.choices)
    specialty = filters.CharFilter(lookup_expr="iexact")
    npi = filters.CharFilter()
    service_line = filters.ModelChoiceFilter(queryset=ServiceLine.objects.all())

    class Meta:
        model = Account
        fields = [
            "external_id", "state", "county", "city", "zip_code", "zip_code__in", "zip3", "account_type",
            "specialty", "npi", "service_line", "is_active",
        ]


class MembershipFilter(filters.FilterSet):
    role = filters.ChoiceFilter(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["role", "is_active"]


class ApiKeyFilter(filters.FilterSet):
    is_active = filters.BooleanFilter(field_name="revoked_at", lookup_expr="isnull", label="Not revoked")

    class Meta:
        model = ApiKey
        fields = ["is_active"]


class AuditEventFilter(filters.FilterSet):
    model = filters.CharFilter(label="app_label.ModelName as recorded, e.g. revops.Account")
    object_pk = filters.CharFilter()
    action = filters.ChoiceFilter(choices=AuditAction.choices)
    actor = filters.CharFilter(field_name="actor_label", lookup_expr="icontains",
                               label="Who acted: username or api-key:<name> (substring)")
    actor_user = filters.NumberFilter()
    actor_api_key = filters.NumberFilter()
    since = filters.DateTimeFilter(field_name="at", lookup_expr="gte", label="At or after (ISO 8601 date or time)")
    until = filters.DateTimeFilter(field_name="at", lookup_expr="lt", label="Before (ISO 8601 date or time)")

    class Meta:
        model = AuditEvent
        fields = ["model", "object_pk", "action", "actor", "actor_user", "actor_api_key", "since", "until"]


class JobFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=JobStatus.choices)
    kind = filters.CharFilter()

    class Meta:
        model = Job
        fields = ["status", "kind"]

