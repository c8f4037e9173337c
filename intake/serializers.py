"""Serializers of the intake API. Writes go through ``intake.services``; related rows are looked up in the
active organization only (scoped querysets), so another organization's id is "does not exist"."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

from revops.models import LevelOfCare, Payer, Program

from .models import Admission, Authorization, IntakeDecision, IntakeRule, ProgramCost


class AdmissionSerializer(serializers.ModelSerializer):
    program_code = serializers.CharField(source="program.code", read_only=True)
    program_name = serializers.CharField(source="program.name", read_only=True)
    payer_name = serializers.CharField(source="payer.name", read_only=True, default=None)
    facility_name = serializers.CharField(source="facility.name", read_only=True, default=None)
    length_of_stay = serializers.IntegerField(read_only=True, allow_null=True,
                                              help_text="Admitted through discharged, both days counted (empty "
                                                        "while in care).")
    claims = serializers.IntegerField(read_only=True, source="claim_count", default=None,
                                      help_text="Claims linked to the stay.")

    class Meta:
        model = Admission
        fields = ["id", "external_id", "program", "program_code", "program_name", "payer", "payer_name", "plan_name",
                  "facility", "facility_name", "admitted_on", "discharged_on", "expected_los_days", "length_of_stay",
                  "claims", "source", "created_at"]
        read_only_fields = fields


class UpsertResultSerializer(serializers.Serializer):
    mode = serializers.CharField()
    total = serializers.IntegerField()
    failed = serializers.IntegerField()
    loaded = serializers.IntegerField()
    inserted = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    message = serializers.CharField()
    rows = serializers.ListField(child=serializers.DictField(), help_text="Failed rows: index, key, errors.")


class AuthorizationSerializer(serializers.ModelSerializer):
    admission = serializers.PrimaryKeyRelatedField(queryset=Admission.objects.all())
    admission_external_id = serializers.CharField(source="admission.external_id", read_only=True)
    payer = serializers.PrimaryKeyRelatedField(queryset=Payer.objects.all(), required=False, allow_null=True,
                                               help_text="Default: the admission's payer.")
    level_of_care = serializers.ChoiceField(choices=LevelOfCare.choices, required=False, allow_blank=True,
                                            help_text="Default: the admission's program's.")
    units_used = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, default=None)
    units_remaining = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, default=None)
    exhausted = serializers.SerializerMethodField()

    class Meta:
        model = Authorization
        fields = ["id", "auth_number", "admission", "admission_external_id", "payer", "level_of_care", "unit_kind",
                  "units_granted", "units_used", "units_remaining", "exhausted", "starts_on", "ends_on",
                  "next_review_on", "note", "source", "created_at"]
        read_only_fields = ["id", "source", "created_at"]

    def get_exhausted(self, obj: Authorization) -> bool | None:
        used = getattr(obj, "units_used", None)
        return None if used is None else used >= obj.units_granted

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        starts = data.get("starts_on", getattr(self.instance, "starts_on", None))
        ends = data.get("ends_on", getattr(self.instance, "ends_on", None))
        if starts and ends and ends < starts:
            raise serializers.ValidationError({"ends_on": ["The authorization ends before it starts."]})
        return data


class IntakeRuleSerializer(serializers.ModelSerializer):
    payer = serializers.PrimaryKeyRelatedField(queryset=Payer.objects.all())
    payer_name = serializers.CharField(source="payer.name", read_only=True)
    program = serializers.PrimaryKeyRelatedField(queryset=Program.objects.all(), required=False, allow_null=True)
    program_name = serializers.CharField(source="program.name", read_only=True, default=None)

    class Meta:
        model = IntakeRule
        fields = ["id", "payer", "payer_name", "plan_name", "program", "program_name", "level_of_care", "decision",
                  "effective_from", "effective_to", "reason", "created_at"]
        read_only_fields = ["id", "created_at"]


class ProgramCostSerializer(serializers.ModelSerializer):
    program = serializers.PrimaryKeyRelatedField(queryset=Program.objects.all())
    program_code = serializers.CharField(source="program.code", read_only=True)

    class Meta:
        model = ProgramCost
        fields = ["id", "program", "program_code", "month", "category", "amount", "hours", "note"]
        read_only_fields = ["id"]


class IntakeCheckQuerySerializer(serializers.Serializer):
    payer = serializers.PrimaryKeyRelatedField(queryset=Payer.objects.all(), required=False, allow_null=True,
                                               help_text="Payer id (empty: self-pay / unknown: the default applies).")
    plan_name = serializers.CharField(required=False, allow_blank=True, default="")
    program = serializers.PrimaryKeyRelatedField(queryset=Program.objects.all())
    expected_los_days = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=3650)
    on = serializers.DateField(required=False, help_text="Day of the intake (default today).")


class ObservedSerializer(serializers.Serializer):
    level = serializers.CharField(help_text="payer_program, payer, program or organization.")
    label = serializers.CharField()
    admissions = serializers.IntegerField()
    patient_days = serializers.IntegerField()
    net_revenue = serializers.DecimalField(max_digits=16, decimal_places=2)
    claims = serializers.IntegerField()
    adjudicated = serializers.IntegerField()
    denied = serializers.IntegerField()
    per_patient_day = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    denial_rate = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True)


class IntakeCheckSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=IntakeDecision.choices)
    decision_label = serializers.CharField()
    allowed = serializers.BooleanField()
    requires_authorization = serializers.BooleanField()
    rule = serializers.IntegerField(source="rule.pk", allow_null=True, default=None,
                                    help_text="The rule in force (empty: no rule, the default applied).")
    reason = serializers.CharField()
    expected_los_days = serializers.IntegerField(allow_null=True)
    net_revenue_per_patient_day = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    expected_net_revenue = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    revenue_basis = ObservedSerializer(allow_null=True, help_text="The level the revenue estimate used.")
    denial_rate = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True)
    denial_basis = ObservedSerializer(allow_null=True, help_text="The level the denial rate used.")
    samples = serializers.SerializerMethodField(help_text="Every level's sample, for comparison.")

    def get_samples(self, obj: Any) -> list[dict[str, Any]]:
        return [ObservedSerializer(s).data for s in obj.samples.values()]
