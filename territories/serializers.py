"""API representations of plans, territories, rules, coverage, assignments, balance and diffs.

Relations are ``PrimaryKeyRelatedField`` over scoped managers: another organization's id reads as
"does not exist" (400). Serializers only check shapes; the services decide (``territories.api``
calls them) and their ``ValidationError`` becomes a 400 naming the field.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from revops.models import Person

from .models import (
    AssignmentRule,
    Coverage,
    CoverageRole,
    OwnershipReason,
    PlanStatus,
    PotentialBasis,
    RuleKind,
    Territory,
    TerritoryPlan,
)


class _StaysInPlan:
    """A territory or a rule keeps its plan: an update naming another plan is refused."""

    instance: Any

    def validate_plan(self, plan: TerritoryPlan) -> TerritoryPlan:
        if self.instance is not None and plan.pk != self.instance.plan_id:
            raise serializers.ValidationError("Cannot move to another plan; copy the plan instead.")
        return plan


class PlanSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=PlanStatus.choices, read_only=True)
    potential_basis = serializers.ChoiceField(choices=PotentialBasis.choices, default=PotentialBasis.PAYER_ADJUSTED)
    territory_count = serializers.IntegerField(read_only=True)
    accounts_assigned = serializers.IntegerField(read_only=True)
    accounts_unassigned = serializers.IntegerField(read_only=True)

    class Meta:
        model = TerritoryPlan
        fields = ["id", "name", "description", "status", "effective_from", "effective_to", "potential_basis",
                  "holdout_days", "based_on", "territory_count", "accounts_assigned", "accounts_unassigned",
                  "created_at", "proposed_at", "approved_by", "approved_at", "activated_at"]
        read_only_fields = ["based_on", "created_at", "proposed_at", "approved_by", "approved_at", "activated_at"]
        # Uniqueness (case-insensitive, per organization) is the service's to check.
        extra_kwargs = {"name": {"validators": []}}


class PlanCopySerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    effective_from = serializers.DateField(required=False, allow_null=True,
                                           help_text="Start of the new scenario; empty keeps the plan's dates.")


class PlanActivateSerializer(serializers.Serializer):
    on = serializers.DateField(required=False, allow_null=True,
                               help_text="The day the plan takes effect; empty: its effective_from.")


class ActivationResultSerializer(serializers.Serializer):
    plan = PlanSerializer()
    accounts = serializers.IntegerField(help_text="Ownership rows opened (one per active account).")
    moved = serializers.IntegerField(help_text="Accounts whose territory (by code) or primary rep changed.")
    held_out = serializers.IntegerField(help_text="Moved accounts kept by their old owner for the hold-out.")
    closed = serializers.IntegerField(help_text="Open ownership rows ended on the activation day.")


class TerritorySerializer(_StaysInPlan, serializers.ModelSerializer):
    plan = serializers.PrimaryKeyRelatedField(queryset=TerritoryPlan.objects.all())
    parent = serializers.PrimaryKeyRelatedField(queryset=Territory.objects.all(), allow_null=True, required=False)
    is_leaf = serializers.SerializerMethodField()

    class Meta:
        model = Territory
        fields = ["id", "plan", "parent", "code", "name", "level", "color", "is_leaf"]
        extra_kwargs = {"name": {"required": False}, "color": {"required": False}, "level": {"required": False}}
        validators: list[Any] = []  # the service checks codes per plan

    def get_is_leaf(self, obj: Territory) -> bool:
        return not obj.children.exists()


class TerritoryMergeSerializer(serializers.Serializer):
    into = serializers.PrimaryKeyRelatedField(queryset=Territory.objects.all(),
                                              help_text="The territory that takes this one's rules and coverage.")


class TerritorySplitSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=120)
    rules = serializers.PrimaryKeyRelatedField(queryset=AssignmentRule.objects.all(), many=True,
                                               help_text="Rules of this territory that move to the new one.")


class RuleSerializer(_StaysInPlan, serializers.ModelSerializer):
    plan = serializers.PrimaryKeyRelatedField(queryset=TerritoryPlan.objects.all())
    territory = serializers.PrimaryKeyRelatedField(queryset=Territory.objects.all())
    territory_code = serializers.CharField(source="territory.code", read_only=True)
    kind = serializers.ChoiceField(choices=RuleKind.choices)

    class Meta:
        model = AssignmentRule
        fields = ["id", "plan", "territory", "territory_code", "kind", "value", "priority", "locked", "created_at"]
        read_only_fields = ["created_at"]
        validators: list[Any] = []  # one rule per kind and value: the service says so with a clear message


class RuleImportSerializer(serializers.Serializer):
    plan = serializers.PrimaryKeyRelatedField(queryset=TerritoryPlan.objects.all())
    file = serializers.FileField(required=False, help_text="CSV: territory, kind, value[, priority, locked].")
    csv = serializers.CharField(required=False, trim_whitespace=False, help_text="The CSV as text, instead of a file.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("file")) == bool(attrs.get("csv")):
            raise serializers.ValidationError("Send the rules as `file` (multipart) or as `csv` text, one of them.")
        return attrs


class RuleImportRowSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="Line of the file (the header is line 1).")
    status = serializers.CharField(help_text="created, updated, failed or not_written.")
    id = serializers.IntegerField(allow_null=True)
    territory = serializers.CharField()
    kind = serializers.CharField()
    value = serializers.CharField()
    errors = serializers.ListField(child=serializers.CharField())


class AssignmentCountsSerializer(serializers.Serializer):
    accounts = serializers.IntegerField()
    assigned = serializers.IntegerField()
    unassigned = serializers.IntegerField()


class RuleImportResultSerializer(serializers.Serializer):
    plan = serializers.IntegerField()
    mode = serializers.ChoiceField(choices=["partial", "all_or_nothing"])
    total = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    failed = serializers.IntegerField()
    assignments = AssignmentCountsSerializer(allow_null=True, help_text="The plan's assignment after the import.")
    rows = RuleImportRowSerializer(many=True)


class CoverageSerializer(serializers.ModelSerializer):
    territory = serializers.PrimaryKeyRelatedField(queryset=Territory.objects.all())
    person = serializers.PrimaryKeyRelatedField(queryset=Person.objects.all(), allow_null=True, required=False)
    plan = serializers.IntegerField(source="territory.plan_id", read_only=True)
    territory_code = serializers.CharField(source="territory.code", read_only=True)
    role = serializers.ChoiceField(choices=CoverageRole.choices, default=CoverageRole.PRIMARY)
    valid_from = serializers.DateField(required=False, allow_null=True,
                                       help_text="Empty: the plan's start. An open primary coverage ends that day.")

    class Meta:
        model = Coverage
        fields = ["id", "plan", "territory", "territory_code", "person", "placeholder", "role", "valid_from",
                  "valid_to"]
        read_only_fields = ["valid_to"]
        extra_kwargs = {"placeholder": {"required": False}}


class AssignmentQuerySerializer(serializers.Serializer):
    plan = serializers.PrimaryKeyRelatedField(queryset=TerritoryPlan.objects.all(), required=False)
    as_of = serializers.DateField(required=False)
    territory = serializers.PrimaryKeyRelatedField(queryset=Territory.objects.all(), required=False)
    account = serializers.IntegerField(required=False)


class AssignmentSerializer(serializers.Serializer):
    account = serializers.IntegerField()
    account_name = serializers.CharField()
    plan = serializers.IntegerField()
    territory = serializers.IntegerField(allow_null=True)
    territory_code = serializers.CharField(allow_null=True)
    rep = serializers.IntegerField(allow_null=True, help_text="The territory's primary rep (person id).")
    rep_name = serializers.CharField(allow_null=True)
    source = serializers.ChoiceField(choices=["plan", "history"],
                                     help_text="`plan`: the plan's rules; `history`: ownership on `as_of`.")
    rule = serializers.IntegerField(allow_null=True, help_text="The rule that decided (plan source).")
    valid_from = serializers.DateField(allow_null=True)
    valid_to = serializers.DateField(allow_null=True)
    reason = serializers.ChoiceField(choices=OwnershipReason.choices, allow_null=True)


class BalanceTerritorySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    accounts = serializers.IntegerField()
    potential = serializers.DecimalField(max_digits=18, decimal_places=2)
    workload = serializers.DecimalField(max_digits=18, decimal_places=2)
    travel_km = serializers.FloatField(allow_null=True, help_text="Mean km from the accounts to their centroid.")
    share = serializers.FloatField(allow_null=True)
    deviation_pct = serializers.FloatField(allow_null=True)
    quota = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True,
                                     help_text="This year's quota from the active quota plan (territory code).")
    actual = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True)
    attainment = serializers.FloatField(allow_null=True, help_text="Current attainment: actual / quota.")


class UnassignedSerializer(serializers.Serializer):
    accounts = serializers.IntegerField()
    potential = serializers.DecimalField(max_digits=18, decimal_places=2)
    workload = serializers.DecimalField(max_digits=18, decimal_places=2)


class BalanceSerializer(serializers.Serializer):
    plan = serializers.IntegerField()
    note = serializers.CharField(help_text="How potential is computed for this plan.")
    mean = serializers.DecimalField(max_digits=18, decimal_places=2)
    cv = serializers.FloatField(allow_null=True, help_text="Coefficient of variation of potential over leaves.")
    max_min_ratio = serializers.FloatField(allow_null=True)
    max_deviation_pct = serializers.FloatField(allow_null=True)
    territories = BalanceTerritorySerializer(many=True)
    unassigned = UnassignedSerializer()


class MoveSerializer(serializers.Serializer):
    account_id = serializers.IntegerField()
    account = serializers.CharField()
    from_territory = serializers.CharField(source="from", allow_null=True)
    from_rep = serializers.CharField(allow_null=True)
    to_territory = serializers.CharField(source="to", allow_null=True)
    to_rep = serializers.CharField(allow_null=True)
    potential = serializers.DecimalField(max_digits=18, decimal_places=2)


class RepChangeSerializer(serializers.Serializer):
    rep = serializers.CharField()
    accounts_gained = serializers.IntegerField()
    gained = serializers.DecimalField(max_digits=18, decimal_places=2)
    accounts_lost = serializers.IntegerField()
    lost = serializers.DecimalField(max_digits=18, decimal_places=2)
    net = serializers.DecimalField(max_digits=18, decimal_places=2)


class DiffSerializer(serializers.Serializer):
    plan = serializers.IntegerField()
    against = serializers.IntegerField(allow_null=True, help_text="The plan compared with (default: the active one).")
    accounts_moved = serializers.IntegerField()
    potential_moved = serializers.DecimalField(max_digits=18, decimal_places=2)
    potential_total = serializers.DecimalField(max_digits=18, decimal_places=2)
    disruption_pct = serializers.FloatField()
    moves = MoveSerializer(many=True)
    by_rep = RepChangeSerializer(many=True)


class DiffQuerySerializer(serializers.Serializer):
    against = serializers.PrimaryKeyRelatedField(queryset=TerritoryPlan.objects.all(), required=False)
    table = serializers.ChoiceField(choices=["moves", "reps"], default="moves")


class BalanceRunSerializer(serializers.ModelSerializer):
    job_status = serializers.CharField(source="job.status", read_only=True, default=None)

    class Meta:
        from .models import BalanceRun

        model = BalanceRun
        fields = ["id", "plan", "job", "job_status", "status", "territories", "tolerance", "weight_potential",
                  "weight_workload", "weight_compactness", "weight_disruption", "before", "after", "zips_moved",
                  "message", "created_at"]
        read_only_fields = fields


class BalanceStartSerializer(serializers.Serializer):
    territories = serializers.IntegerField(min_value=1, max_value=500, required=False,
                                           help_text="Leaf territories to balance into (default: the plan's).")
    tolerance = serializers.DecimalField(max_digits=5, decimal_places=4, min_value=Decimal("0"), max_value=Decimal("0.5"),
                                         default=Decimal("0.05"),
                                         help_text="Each territory within this share of the mean (0.05 = ±5%).")
    weight_potential = serializers.FloatField(min_value=0, max_value=100, default=1.0)
    weight_workload = serializers.FloatField(min_value=0, max_value=100, default=0.0)
    weight_compactness = serializers.FloatField(min_value=0, max_value=100, default=1.0)
    weight_disruption = serializers.FloatField(min_value=0, max_value=100, default=20.0)
