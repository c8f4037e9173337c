"""API representations of commission plans, versions, components (with their EKRA flag and compliance sign-off),
plan assignments and credit rules.

Relations are ``PrimaryKeyRelatedField`` over scoped managers: another organization's id reads as "does not
exist" (400). Serializers check shapes; ``commissions.services.plans`` decides (the API calls it) and its
``ValidationError`` becomes a 400 with its message. Rates and tier values are decimal strings ("0.05").
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from revops.models import Person, ServiceLine

from .models import (
    Basis,
    ComplianceSignoff,
    CompPlan,
    CompPlanVersion,
    Component,
    ComponentKind,
    CreditRule,
    CreditRuleKind,
    PlanAssignment,
    RateType,
    TierBasis,
)
from .selectors import plans as reads
from .services import plans as services

MONEY = {"max_digits": 16, "decimal_places": 2}
# A plain string in the schema: several apps have a "status" enum, and drf-spectacular names a choice set shared by
# several components only with an ENUM_NAME_OVERRIDES entry (revops/settings.py).
VERSION_STATUS_HELP = "draft (being built), active (pays on its dates) or retired (no longer pays)."


@extend_schema_field({"type": "string", "format": "decimal", "example": "0.05"})
class DecimalText(serializers.Field):
    """A decimal number kept exactly as typed (no rounding to a fixed number of places): a string or a number in,
    a string out."""

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool):
            self.fail("invalid")
        try:
            value = Decimal(repr(data) if isinstance(data, float) else str(data).strip())
        except (InvalidOperation, ValueError):
            self.fail("invalid")
        if not value.is_finite():
            self.fail("invalid")
        return value

    def to_representation(self, value: Any) -> str:
        return f"{Decimal(str(value)).normalize():f}"

    default_error_messages = {"invalid": "A decimal number is required (e.g. \"0.05\")."}


class CommissionTierSerializer(serializers.Serializer):
    """One row of a rate table: ``from`` and ``rate`` (commission) or ``from`` and ``amount`` (bonus)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is a Python keyword, so the fields are declared here rather than as attributes.
        return {
            "from": DecimalText(help_text="Threshold: percent of quota on the attainment tier basis (100 = 100%), "
                                          "else an amount credited in the period. The first commission tier is 0."),
            "rate": DecimalText(required=False, help_text="Commission tiers: the rate (0.08 = 8%; dollars per unit "
                                                          "on referral and test counts)."),
            "amount": DecimalText(required=False, help_text="Bonus tiers: the amount paid once when reached."),
        }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = set(data) - {"from", "rate", "amount"}
            if unknown:
                raise serializers.ValidationError(f"Unknown keys in a tier: {', '.join(sorted(unknown))}.")
        return super().to_internal_value(data)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {k: f"{Decimal(str(v)).normalize():f}" for k, v in dict(instance).items()}


# -- plans and versions ----------------------------------------------------------------------------

class CommissionVersionBriefSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text=VERSION_STATUS_HELP)

    class Meta:
        model = CompPlanVersion
        fields = ["id", "version", "status", "effective_from", "effective_to"]
        read_only_fields = fields


class CommissionPlanSerializer(serializers.ModelSerializer):
    versions = CommissionVersionBriefSerializer(many=True, read_only=True, help_text="Newest first.")

    class Meta:
        model = CompPlan
        fields = ["id", "name", "description", "created_at", "versions"]
        read_only_fields = ["created_at"]
        extra_kwargs = {"name": {"validators": []}, "description": {"required": False}}
        validators: list[Any] = []  # the service says a name is taken, with the name


class CommissionPlanVersionSerializer(serializers.ModelSerializer):
    plan = serializers.PrimaryKeyRelatedField(queryset=CompPlan.objects.all())
    plan_name = serializers.CharField(source="plan.name", read_only=True)
    status = serializers.CharField(read_only=True, help_text=VERSION_STATUS_HELP)
    copy_from = serializers.PrimaryKeyRelatedField(
        queryset=CompPlanVersion.objects.all(), write_only=True, required=False, allow_null=True,
        help_text="Create only: copy this version's components (tiers, rates, every term; not sign-offs), and its "
                  "cap, quota basis and notes unless given.")
    component_count = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    activated_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = CompPlanVersion
        fields = ["id", "plan", "plan_name", "version", "status", "effective_from", "effective_to", "period_cap",
                  "quota_basis", "notes", "copy_from", "component_count", "created_by", "created_at",
                  "activated_by", "activated_at"]
        read_only_fields = ["version", "created_at", "activated_at"]
        extra_kwargs = {
            "effective_to": {"help_text": "Exclusive: the first day the version no longer applies; null: open."},
            "quota_basis": {"required": False},
            "notes": {"required": False},
            "period_cap": {"min_value": Decimal(0)},
        }
        validators: list[Any] = []

    def get_component_count(self, obj: CompPlanVersion) -> int:
        return getattr(obj, "component_count", None) or obj.components.count()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None:
            fixed = sorted(k for k in ("plan", "copy_from") if k in attrs and (
                k == "copy_from" or attrs[k] != getattr(self.instance, k)))
            if fixed:
                raise serializers.ValidationError({k: ["Set when the version is created; it cannot change."]
                                                   for k in fixed})
        return attrs


class ComplianceSignoffSerializer(serializers.ModelSerializer):
    signed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ComplianceSignoff
        fields = ["id", "component", "signed_by", "signed_at", "reason"]
        read_only_fields = fields


class CommissionComponentSerializer(serializers.ModelSerializer):
    version = serializers.PrimaryKeyRelatedField(queryset=CompPlanVersion.objects.all(),
                                                 help_text="A draft version; fixed once created.")
    kind = serializers.ChoiceField(choices=ComponentKind.choices, default=ComponentKind.COMMISSION)
    basis = serializers.ChoiceField(choices=Basis.choices, default=Basis.BOOKINGS)
    rate_type = serializers.ChoiceField(choices=RateType.choices, default=RateType.FLAT)
    tier_basis = serializers.ChoiceField(choices=TierBasis.choices, default=TierBasis.ATTAINMENT)
    service_line = serializers.PrimaryKeyRelatedField(queryset=ServiceLine.objects.all(), required=False,
                                                      allow_null=True)
    rate = DecimalText(required=False, help_text="Flat commission and SPIFF rate: 0.05 = 5% of the credited "
                                                 "amount (dollars per unit on referral and test counts).")
    tiers = CommissionTierSerializer(many=True, required=False,
                                     help_text="Tiered commission: [{from, rate}] ascending, the first from 0. "
                                               "Bonus: [{from, amount}] ascending (attainment %).")
    service_line_rates = serializers.DictField(child=DecimalText(), required=False,
                                               help_text="Flat commission: {service line code: rate} overriding "
                                                         "the rate for that service line.")
    flagged = serializers.SerializerMethodField(help_text="EKRA / Anti-Kickback flag: the organization is "
                                                          "EKRA-covered and the component pays on referrals, tests, "
                                                          "amounts billed or amounts collected.")
    ekra_explanation = serializers.SerializerMethodField(help_text="Why it is flagged and what a sign-off means "
                                                                   "(null when not flagged).")
    signoff = serializers.SerializerMethodField()
    terms = serializers.SerializerMethodField(help_text="The component's terms in plain language.")

    class Meta:
        model = Component
        fields = ["id", "version", "name", "order", "kind", "basis", "custom_basis", "service_line", "rate_type",
                  "rate", "tier_basis", "tiers", "service_line_rates", "hurdle_pct", "cap_amount", "unit_amount",
                  "spiff_start", "spiff_end", "hold_pct", "hold_days", "clawback_days", "flagged",
                  "ekra_explanation", "signoff", "terms"]
        extra_kwargs = {"name": {"validators": []}, "order": {"required": False},
                        "custom_basis": {"required": False}}
        validators: list[Any] = []

    def _org(self) -> Any:
        if "org" not in self.context:
            self.context["org"] = reads.organization()
        return self.context["org"]

    def get_flagged(self, obj: Component) -> bool:
        return services.component_flagged(obj, org=self._org())

    def get_ekra_explanation(self, obj: Component) -> str | None:
        return services.ekra_explanation(obj) if self.get_flagged(obj) else None

    @extend_schema_field(ComplianceSignoffSerializer(allow_null=True))
    def get_signoff(self, obj: Component) -> dict[str, Any] | None:
        signoff = ComplianceSignoff.objects.filter(component=obj).select_related("signed_by").first()
        return ComplianceSignoffSerializer(signoff).data if signoff else None

    def get_terms(self, obj: Component) -> list[str]:
        return reads.component_terms(obj)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None and "version" in attrs and attrs["version"] != self.instance.version:
            raise serializers.ValidationError({"version": ["A component stays in its version; create it in the "
                                                           "other version instead."]})
        return attrs


class CommissionVersionDetailSerializer(CommissionPlanVersionSerializer):
    components = CommissionComponentSerializer(many=True, read_only=True)
    missing_signoffs = serializers.SerializerMethodField(help_text="Ids of flagged components without a "
                                                                   "compliance sign-off (activation is refused "
                                                                   "while any remain).")

    class Meta(CommissionPlanVersionSerializer.Meta):
        fields = [*CommissionPlanVersionSerializer.Meta.fields, "components", "missing_signoffs"]

    def get_missing_signoffs(self, obj: CompPlanVersion) -> list[int]:
        return [c.pk for c in services.missing_signoffs(obj)]


class CommissionSignoffRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=4000, help_text="What was reviewed and why the component is "
                                                              "acceptable.")


class CommissionActivationSerializer(serializers.Serializer):
    version = CommissionVersionDetailSerializer()
    changes = serializers.ListField(child=serializers.CharField(), help_text="What happened to the plan's "
                                                                            "previously active versions.")


# -- assignments and credit rules ------------------------------------------------------------------

class PlanAssignmentSerializer(serializers.ModelSerializer):
    person = serializers.PrimaryKeyRelatedField(queryset=Person.objects.all())
    person_name = serializers.CharField(source="person.full_name", read_only=True)
    plan = serializers.PrimaryKeyRelatedField(queryset=CompPlan.objects.all())
    plan_name = serializers.CharField(source="plan.name", read_only=True)
    acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = PlanAssignment
        fields = ["id", "person", "person_name", "plan", "plan_name", "effective_from", "effective_to",
                  "quota_amount", "draw_amount", "draw_recoverable", "draw_until", "acknowledged_at",
                  "acknowledged_by", "acknowledged_version"]
        read_only_fields = ["acknowledged_at", "acknowledged_version"]
        extra_kwargs = {
            "effective_to": {"help_text": "Exclusive: the first day the person is off the plan; null: open."},
            "quota_amount": {"min_value": Decimal(0)},
            "draw_amount": {"min_value": Decimal(0), "required": False},
            "draw_recoverable": {"required": False},
        }
        validators: list[Any] = []  # overlaps are the service's to refuse, with the other assignment named


class CommissionAssignmentEndSerializer(serializers.Serializer):
    effective_to = serializers.DateField(help_text="The first day the person is no longer on the plan.")


class CreditRuleSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=CreditRuleKind.choices)
    share = DecimalText(help_text="Fraction of the credited amount each credited person gets (0.1 = 10%).")

    class Meta:
        model = CreditRule
        fields = ["id", "name", "kind", "level", "share", "basis", "is_active"]
        extra_kwargs = {"basis": {"required": False, "help_text": "Empty: every basis; else a basis or a custom "
                                                                  "metric's code."},
                        "level": {"required": False}, "is_active": {"required": False}}
        validators: list[Any] = []


def service_fields(data: dict[str, Any], *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """Validated data as service keywords (tiers as plain dicts)."""
    out = {k: v for k, v in data.items() if k not in drop}
    if "tiers" in out:
        out["tiers"] = [dict(t) for t in out["tiers"]]
    return out

