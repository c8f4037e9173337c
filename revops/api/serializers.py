"""Serializers of the REST API: reference data, memberships, API keys, audit events, jobs.

Every relation to a tenant-owned row is a ``PrimaryKeyRelatedField`` over the model's scoped
manager, so the pk of another organization's row is answered exactly like a pk that does not
exist ("object does not exist", 400) and is never linked. Users are limited to the members of
the active organization the same way.
"""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Model
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from revops.jobs import job_live_progress
from revops.models import (
    Account,
    ApiKey,
    AuditEvent,
    Facility,
    Job,
    Membership,
    Organization,
    Payer,
    Person,
    Program,
    ReportingLine,
    Role,
    ServiceLine,
    Team,
)
from revops.models.audit import AuditAction

from . import validators

User = get_user_model()


def organization_users() -> Any:
    """Users with a membership in the active organization (resolved when the query runs)."""
    return User.objects.filter(pk__in=Membership.objects.values("user_id"))


def unique_in_organization(model: type[Model], field: str) -> UniqueValidator:
    return UniqueValidator(
        queryset=model.objects.all(),  # type: ignore[attr-defined]
        message=f"This organization already has a {model._meta.verbose_name} with this {field.replace('_', ' ')}.",
    )


class TenantModelSerializer(serializers.ModelSerializer):
    # No docstring on purpose: drf-spectacular would show it as every subclass's description.

    def current(self, attrs: dict[str, Any], name: str) -> Any:
        """The value from the input, or on a (partial) update the stored one."""
        if name in attrs:
            return attrs[name]
        return getattr(self.instance, name, None)


# --- reference data -------------------------------------------------------------------------


class ServiceLineSerializer(TenantModelSerializer):
    name = serializers.CharField(max_length=120, validators=[unique_in_organization(ServiceLine, "name")])

    class Meta:
        model = ServiceLine
        fields = ["id", "name", "code"]


class TeamSerializer(TenantModelSerializer):
    name = serializers.CharField(max_length=120, validators=[unique_in_organization(Team, "name")])
    parent = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), allow_null=True, required=False)
    service_line = serializers.PrimaryKeyRelatedField(
        queryset=ServiceLine.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = Team
        fields = ["id", "name", "parent", "service_line"]

    def validate_parent(self, parent: Team | None) -> Team | None:
        if parent is None or self.instance is None:
            return parent
        seen: set[int] = set()
        node: Team | None = parent
        while node is not None and node.pk not in seen:
            if node.pk == self.instance.pk:
                raise serializers.ValidationError("A team cannot sit under itself or one of its sub-teams.")
            seen.add(node.pk)
            node = node.parent
        return parent


class PersonSerializer(TenantModelSerializer):
    employee_id = serializers.CharField(
        max_length=64, validators=[unique_in_organization(Person, "employee_id")],
        help_text="The HRIS id; unique within the organization.",
    )
    full_name = serializers.CharField(read_only=True)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), allow_null=True, required=False)
    user = serializers.PrimaryKeyRelatedField(
        queryset=organization_users(), allow_null=True, required=False,
        help_text="The login of this person; must be a member of the organization.",
    )
    termination_date = serializers.DateField(
        allow_null=True, required=False,
        help_text="Setting it ends the person's reporting lines the day after (services.person_terminate).",
    )

    class Meta:
        model = Person
        fields = [
            "id", "employee_id", "first_name", "last_name", "full_name", "email", "title", "role",
            "team", "hire_date", "termination_date", "user",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        hire, termination = self.current(attrs, "hire_date"), self.current(attrs, "termination_date")
        if hire and termination and termination < hire:
            raise serializers.ValidationError({"termination_date": "The termination date is before the hire date."})
        return attrs


class PersonBriefSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(read_only=True)

    class Meta:
        model = Person
        fields = ["id", "employee_id", "full_name", "title", "role", "team"]
        read_only_fields = fields


class ReportingLineSerializer(TenantModelSerializer):
    person = serializers.PrimaryKeyRelatedField(queryset=Person.objects.all())
    manager = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.all(), allow_null=True,
        help_text="null ends the person's current line at valid_from (reports to nobody from then).",
    )
    person_name = serializers.CharField(source="person.full_name", read_only=True)
    manager_name = serializers.CharField(source="manager.full_name", read_only=True)

    class Meta:
        model = ReportingLine
        fields = ["id", "person", "person_name", "manager", "manager_name", "valid_from", "valid_to"]
        read_only_fields = ["valid_to"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("manager") is not None and attrs["manager"].pk == attrs["person"].pk:
            raise serializers.ValidationError({"manager": "A person cannot report to themselves."})
        return attrs


class FacilitySerializer(TenantModelSerializer):
    name = serializers.CharField(max_length=160, validators=[unique_in_organization(Facility, "name")])
    npi = serializers.CharField(max_length=10, allow_blank=True, required=False, validators=[validators.validate_npi])
    zip_code = serializers.CharField(max_length=5, allow_blank=True, required=False)
    state = serializers.CharField(max_length=2, allow_blank=True, required=False)

    class Meta:
        model = Facility
        fields = ["id", "name", "npi", "zip_code", "state"]

    def validate_zip_code(self, value: str) -> str:
        return validators.validate_zip_code(value)

    def validate_state(self, value: str) -> str:
        return validators.validate_state(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        validators.check_zip_in_state(self.current(attrs, "zip_code"), self.current(attrs, "state"))
        return attrs


class ProgramSerializer(TenantModelSerializer):
    code = serializers.CharField(max_length=32, validators=[unique_in_organization(Program, "code")])
    facility = serializers.PrimaryKeyRelatedField(queryset=Facility.objects.all(), allow_null=True, required=False)
    place_of_service = serializers.CharField(
        max_length=2, allow_blank=True, required=False, validators=[validators.validate_place_of_service],
        help_text="CMS place-of-service code, e.g. 52 for PHP.",
    )

    class Meta:
        model = Program
        fields = ["id", "code", "name", "level_of_care", "facility", "place_of_service", "is_part2", "is_active"]


class PayerSerializer(TenantModelSerializer):
    name = serializers.CharField(max_length=160, validators=[unique_in_organization(Payer, "name")])

    class Meta:
        model = Payer
        fields = ["id", "name", "payer_class", "payer_id", "is_active"]


class AccountSerializer(TenantModelSerializer):
    external_id = serializers.CharField(
        max_length=64, allow_blank=True, required=False,
        help_text="The id in the CRM the account is synced from; unique within the organization when set.",
    )
    npi = serializers.CharField(max_length=10, allow_blank=True, required=False, validators=[validators.validate_npi])
    service_line = serializers.PrimaryKeyRelatedField(
        queryset=ServiceLine.objects.all(), allow_null=True, required=False
    )
    zip_code = serializers.CharField(max_length=5, help_text="A real 5-digit US ZIP code.")
    state = serializers.CharField(max_length=2, help_text="USPS code; must be the ZIP code's state.")
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True, required=False,
                                        min_value=-90, max_value=90)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True, required=False,
                                         min_value=-180, max_value=180)

    class Meta:
        model = Account
        fields = [
            "id", "external_id", "name", "npi", "specialty", "account_type", "service_line", "city",
            "zip_code", "county", "state", "latitude", "longitude", "is_active",
        ]

    def validate_external_id(self, value: str) -> str:
        value = value.strip()
        if value:
            clash = Account.objects.filter(external_id=value)
            if self.instance is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise serializers.ValidationError("This organization already has an account with this external id.")
        return value

    def validate_zip_code(self, value: str) -> str:
        value = validators.validate_zip_code(value)
        if not value:
            raise serializers.ValidationError("This field may not be blank.")
        return value

    def validate_state(self, value: str) -> str:
        value = validators.validate_state(value)
        if not value:
            raise serializers.ValidationError("This field may not be blank.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        validators.check_zip_in_state(self.current(attrs, "zip_code"), self.current(attrs, "state"))
        if (self.current(attrs, "latitude") is None) != (self.current(attrs, "longitude") is None):
            raise serializers.ValidationError({"longitude": "Give both latitude and longitude, or neither."})
        return attrs


# --- people's place in the hierarchy -------------------------------------------------------


class AsOfQuerySerializer(serializers.Serializer):
    on = serializers.DateField(required=False, help_text="The date to answer for (YYYY-MM-DD); today if omitted.")


class ReportsQuerySerializer(AsOfQuerySerializer):
    scope = serializers.ChoiceField(
        choices=[("direct", "Direct reports"), ("all", "Everyone underneath, all levels")], default="all",
        required=False,
    )


class ChainOfCommandSerializer(serializers.Serializer):
    person = PersonBriefSerializer()
    on = serializers.DateField()
    manager = PersonBriefSerializer(allow_null=True)
    chain = PersonBriefSerializer(many=True, help_text="The person's managers on the date, nearest first.")


class ReportsSerializer(serializers.Serializer):
    person = PersonBriefSerializer()
    on = serializers.DateField()
    scope = serializers.ChoiceField(choices=["direct", "all"])
    reports = PersonBriefSerializer(many=True)


class TerminateSerializer(serializers.Serializer):
    on = serializers.DateField(help_text="Last day of employment; reporting lines end the day after.")


# --- upserts by natural key ------------------------------------------------------------------


class BulkUpsertRowSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the row in the request array (0-based).")
    key = serializers.CharField(allow_null=True, help_text="The row's external_id / employee_id.")
    status = serializers.ChoiceField(choices=["created", "updated", "failed", "not_written"])
    id = serializers.IntegerField(allow_null=True)
    errors = serializers.JSONField(allow_null=True, help_text="Field -> messages, as a single-object write reports them.")


class BulkUpsertResultSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["partial", "all_or_nothing"])
    total = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    failed = serializers.IntegerField()
    rows = BulkUpsertRowSerializer(many=True)


# --- the organization: memberships, API keys, audit, jobs ------------------------------------


class UserBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name"]
        read_only_fields = fields


class MembershipSerializer(TenantModelSerializer):
    user = UserBriefSerializer(read_only=True)
    person = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.all(), allow_null=True, required=False,
        help_text="The member's own person record (a rep's statements and attainment are read through it).",
    )

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "person", "is_active", "created_at"]
        read_only_fields = ["created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        membership = self.instance
        if membership is not None and membership.role == Role.ADMIN and membership.is_active:
            stays_admin = self.current(attrs, "role") == Role.ADMIN and self.current(attrs, "is_active")
            others = Membership.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk=membership.pk)
            if not stays_admin and not others.exists():
                raise serializers.ValidationError("The organization must keep at least one active admin.")
        return attrs


class ApiKeySerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "role", "created_by", "created_at", "last_used_at", "revoked_at", "is_active"]
        read_only_fields = ["prefix", "role", "created_at", "last_used_at", "revoked_at"]


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(
        source="raw_key", read_only=True,
        help_text="The full key, `<prefix>.<secret>`. Shown only in this response: store it now.",
    )

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class AuditEventSerializer(serializers.ModelSerializer):
    actor_username = serializers.CharField(source="actor_user.username", read_only=True, allow_null=True)
    action = serializers.ChoiceField(choices=AuditAction.choices, read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id", "at", "action", "model", "object_pk", "object_repr", "actor_label", "actor_user",
            "actor_username", "actor_api_key", "changed_fields", "before", "after",
        ]
        read_only_fields = fields


class JobSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True, allow_null=True)
    is_finished = serializers.BooleanField(read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)
    error = serializers.SerializerMethodField(help_text="What went wrong (the exception), for failed jobs.")

    class Meta:
        model = Job
        fields = [
            "id", "kind", "label", "status", "progress_done", "progress_total", "percent", "message",
            "is_finished", "params", "result", "error", "created_by", "created_at", "started_at", "finished_at",
        ]
        read_only_fields = fields

    def get_error(self, job: Job) -> str:
        # The stored error carries a traceback for operators; the API shows its first line.
        return job.error.split("\n", 1)[0]

    def to_representation(self, job: Job) -> dict[str, Any]:
        return super().to_representation(job_live_progress(job))


# --- who is calling -------------------------------------------------------------------------


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "kind", "ekra_covered", "fiscal_year_start_month"]
        read_only_fields = fields


class PrincipalSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["user", "api_key"])
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="Username, or the API key's name.")
    email = serializers.CharField(allow_blank=True, required=False)


class MembershipChoiceSerializer(serializers.Serializer):
    organization = OrganizationSerializer()
    role = serializers.ChoiceField(choices=Role.choices)


class MeSerializer(serializers.Serializer):
    principal = PrincipalSerializer()
    organization = OrganizationSerializer()
    role = serializers.ChoiceField(choices=Role.choices)
    permissions = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Resource -> the actions (view, change, approve) this role may take on it.",
    )
    memberships = MembershipChoiceSerializer(
        many=True, help_text="Every organization the user belongs to (empty for API keys)."
    )

