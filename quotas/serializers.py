"""API representations of quota plans, nodes and their months, seasonality profiles, credited transactions,
and the reads built on them (fairness, reconciliation, attainment, history).

Relations are ``PrimaryKeyRelatedField`` over scoped managers: another organization's id reads as
"does not exist" (400). Serializers only check shapes; ``quotas.services`` decides (``quotas.api``
calls it) and its ``ValidationError`` becomes a 400.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from territories.models import TerritoryPlan

from .models import (
    CreditedTransaction,
    Quota,
    QuotaMetric,
    QuotaMonth,
    QuotaPlan,
    QuotaPlanStatus,
    QuotaRelief,
    SeasonalityProfile,
    SeasonalitySource,
    TransactionKind,
)

MONEY = {"max_digits": 16, "decimal_places": 2}
WEIGHT_HELP = "Share of the blend (0-1); the weights need not sum to 1, they are normalised."


# -- plans -----------------------------------------------------------------------------------------

class QuotaPlanSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=QuotaPlanStatus.choices, read_only=True)
    metric = serializers.ChoiceField(choices=QuotaMetric.choices, default=QuotaMetric.BOOKINGS)
    territory_plan = serializers.PrimaryKeyRelatedField(
        queryset=TerritoryPlan.objects.all(), help_text="The territory plan whose hierarchy the quotas follow.")
    territory_plan_name = serializers.CharField(source="territory_plan.name", read_only=True)
    seasonality = serializers.PrimaryKeyRelatedField(
        queryset=SeasonalityProfile.objects.all(), allow_null=True, required=False,
        help_text="Monthly phasing profile; empty: flat (1/12 a month).")
    ramp_percents = serializers.ListField(
        child=serializers.DecimalField(max_digits=5, decimal_places=2, min_value=Decimal(0), max_value=Decimal(100)),
        required=False, max_length=24,
        help_text="Percent of quota a new hire carries in their 1st, 2nd, ... month; 100% after. Default 25, 50, 75.")
    weight_even = serializers.DecimalField(max_digits=5, decimal_places=4, min_value=Decimal(0), max_value=Decimal(1),
                                           required=False, help_text=WEIGHT_HELP)
    weight_potential = serializers.DecimalField(max_digits=5, decimal_places=4, min_value=Decimal(0),
                                                max_value=Decimal(1), required=False, help_text=WEIGHT_HELP)
    weight_prior_year = serializers.DecimalField(max_digits=5, decimal_places=4, min_value=Decimal(0),
                                                 max_value=Decimal(1), required=False, help_text=WEIGHT_HELP)
    weight_ttm = serializers.DecimalField(max_digits=5, decimal_places=4, min_value=Decimal(0), max_value=Decimal(1),
                                          required=False, help_text=WEIGHT_HELP)
    weight_custom = serializers.DecimalField(max_digits=5, decimal_places=4, min_value=Decimal(0),
                                             max_value=Decimal(1), required=False, help_text=WEIGHT_HELP)
    allocation_warnings = serializers.ListField(child=serializers.CharField(), read_only=True)
    attainment_summary = serializers.DictField(read_only=True, help_text="Totals of the last attainment run: "
                                               "credited, credited_transactions, uncredited, uncredited_transactions.")

    class Meta:
        model = QuotaPlan
        fields = ["id", "name", "fiscal_year", "metric", "custom_metric", "territory_plan", "territory_plan_name",
                  "status", "company_target", "weight_even", "weight_potential", "weight_prior_year", "weight_ttm",
                  "weight_custom", "seasonality", "ramp_percents", "outlier_band", "effective_from", "effective_to",
                  "allocation_warnings", "attainment_summary", "created_by", "created_at", "allocated_at",
                  "attainment_at", "approved_by", "approved_at", "activated_at"]
        read_only_fields = ["effective_from", "effective_to", "created_by", "created_at", "allocated_at",
                            "attainment_at", "approved_by", "approved_at", "activated_at"]
        extra_kwargs = {
            # Uniqueness per organization is the service's to check (with a clear message).
            "name": {"validators": []},
            "fiscal_year": {"min_value": 2000, "max_value": 2100},
            "company_target": {"min_value": Decimal(0)},
            "outlier_band": {"min_value": Decimal(0), "required": False},
            "custom_metric": {"required": False},
        }
        validators: list[Any] = []  # one active plan per year and metric: the service archives the previous one

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None:
            fixed = sorted(k for k in ("fiscal_year", "metric", "custom_metric", "territory_plan") if k in attrs)
            if fixed:
                raise serializers.ValidationError({k: ["Cannot be changed after the plan is created; create another "
                                                       "plan instead."] for k in fixed})
        return attrs


WEIGHT_FIELDS = ("even", "potential", "prior_year", "ttm", "custom")


def plan_create_arguments(data: dict[str, Any]) -> dict[str, Any]:
    """``services.plan_create`` keywords from a validated plan (weights not given keep the model's defaults)."""
    args = {k: data[k] for k in ("name", "fiscal_year", "territory_plan", "company_target") if k in data}
    for k in ("metric", "custom_metric", "seasonality", "ramp_percents", "outlier_band"):
        if k in data:
            args[k] = data[k]
    if any(f"weight_{k}" in data for k in WEIGHT_FIELDS):
        args["weights"] = {k: data.get(f"weight_{k}", QuotaPlan._meta.get_field(f"weight_{k}").default)
                           for k in WEIGHT_FIELDS}
    return args


class AllocationResultSerializer(serializers.Serializer):
    plan = serializers.IntegerField()
    nodes = serializers.IntegerField(help_text="Nodes of the tree (the company root included).")
    leaves = serializers.IntegerField()
    reliefs = serializers.IntegerField(help_text="Relief rows (account x month) written.")
    target = serializers.DecimalField(**MONEY, help_text="The company target.")
    leaf_total = serializers.DecimalField(**MONEY, help_text="Sum of the leaves' quotas after ramp and relief.")
    warnings = serializers.ListField(child=serializers.CharField())


class RecomputeSerializer(serializers.Serializer):
    attainment_only = serializers.BooleanField(default=False, help_text="Recompute attainment only (any plan); "
                                               "otherwise bases, allocation and attainment (drafts).")


class AttainmentRefreshSerializer(serializers.Serializer):
    plan = serializers.IntegerField()
    attainment_at = serializers.DateTimeField()
    credited = serializers.DecimalField(**MONEY, help_text="Transactions credited to a leaf of the plan.")
    credited_transactions = serializers.IntegerField()
    uncredited = serializers.DecimalField(**MONEY, help_text="Transactions of the plan's metric and year that "
                                          "credit no leaf (unowned accounts, reps outside the plan).")
    uncredited_transactions = serializers.IntegerField()


class FairnessNodeSerializer(serializers.Serializer):
    quota = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    person = serializers.IntegerField(allow_null=True)
    person_name = serializers.CharField(allow_null=True)
    amount = serializers.DecimalField(**MONEY, help_text="Quota after ramp and relief.")
    potential = serializers.DecimalField(**MONEY)
    ratio = serializers.FloatField(allow_null=True, help_text="Quota / potential (empty without potential).")
    relative_to_median = serializers.FloatField(allow_null=True)
    flags = serializers.ListField(child=serializers.CharField())
    similar_attained_share = serializers.FloatField(
        allow_null=True, help_text="Share of last year's reps at a similar ratio who reached quota.")
    similar_reps = serializers.IntegerField(allow_null=True, help_text="How many reps last year had a similar ratio.")


class FairnessSerializer(serializers.Serializer):
    plan = serializers.IntegerField()
    median_ratio = serializers.FloatField(allow_null=True, help_text="Median quota-to-potential ratio of the leaves.")
    gini = serializers.FloatField(allow_null=True, help_text="Gini coefficient of the ratios (0 = perfectly even).")
    leaves = serializers.IntegerField()
    flagged = serializers.IntegerField()
    outlier_band = serializers.DecimalField(max_digits=4, decimal_places=2)
    prior_plan = serializers.IntegerField(allow_null=True, help_text="Last fiscal year's plan of the same metric "
                                          "(the similar-ratio history), if any.")
    warnings = serializers.ListField(child=serializers.CharField())
    nodes = FairnessNodeSerializer(many=True)


class ReconciliationRowSerializer(serializers.Serializer):
    quota = serializers.IntegerField()
    parent = serializers.IntegerField(allow_null=True)
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.CharField()
    depth = serializers.IntegerField()
    top_down = serializers.DecimalField(**MONEY, help_text="The allocated annual target.")
    bottom_up = serializers.DecimalField(**MONEY, allow_null=True, help_text="The node's own submission, or the sum "
                                         "of its children's when every child submitted.")
    own_submission = serializers.BooleanField()
    bottom_up_note = serializers.CharField(allow_blank=True)
    gap = serializers.DecimalField(**MONEY, allow_null=True, help_text="bottom_up - top_down.")
    gap_pct = serializers.FloatField(allow_null=True, help_text="gap / top_down.")


class AttainmentQuerySerializer(serializers.Serializer):
    by = serializers.ChoiceField(choices=["node", "rep", "team", "level"], default="node",
                                 help_text="node: every node; rep: leaves per person (vacancies one row each); "
                                           "team: leaves per the rep's team; level: nodes per hierarchy level.")
    as_of = serializers.DateField(required=False, help_text="Pace to this day (default: today).")
    month = serializers.DateField(required=False, input_formats=["%Y-%m", "%Y-%m-%d"],
                                  help_text="One month (YYYY-MM) of the fiscal year instead of the whole year.")
    quarter = serializers.IntegerField(required=False, min_value=1, max_value=4,
                                       help_text="One fiscal quarter (1-4) instead of the whole year.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("month") and attrs.get("quarter"):
            raise serializers.ValidationError("Ask for a month or a quarter, not both.")
        return attrs


class AttainmentRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    level = serializers.CharField()
    quota = serializers.DecimalField(**MONEY)
    actual = serializers.DecimalField(**MONEY)
    attainment = serializers.FloatField(allow_null=True, help_text="actual / quota.")
    quota_to_date = serializers.DecimalField(**MONEY, help_text="Quota of the elapsed months (the current one by days).")
    actual_to_date = serializers.DecimalField(**MONEY)
    pace = serializers.FloatField(allow_null=True, help_text="actual_to_date / quota_to_date (1.0 = on pace).")
    gap = serializers.DecimalField(**MONEY, help_text="quota - actual.")
    quota_ids = serializers.ListField(child=serializers.IntegerField())


class AttainmentSerializer(serializers.Serializer):
    plan = serializers.IntegerField()
    by = serializers.CharField()
    as_of = serializers.DateField()
    month = serializers.DateField(allow_null=True)
    quarter = serializers.IntegerField(allow_null=True)
    attainment_at = serializers.DateTimeField(allow_null=True, help_text="When actuals were last computed.")
    rows = AttainmentRowSerializer(many=True)


class CheckSerializer(serializers.Serializer):
    plan = serializers.IntegerField()
    ok = serializers.BooleanField(help_text="Every parent equals the sum of its children, the year and every month.")
    problems = serializers.ListField(child=serializers.CharField())


# -- nodes -----------------------------------------------------------------------------------------

class QuotaMonthSerializer(serializers.ModelSerializer):
    class Meta:
        model = QuotaMonth
        fields = ["month", "allocated", "ramp", "relief", "amount", "actual"]
        read_only_fields = fields


class QuotaSerializer(serializers.ModelSerializer):
    person_name = serializers.SerializerMethodField()
    attainment = serializers.SerializerMethodField(help_text="actual / amount (empty when the quota is zero).")

    class Meta:
        model = Quota
        fields = ["id", "plan", "parent", "territory", "code", "name", "level", "depth", "is_leaf", "person",
                  "person_name", "potential", "prior_year", "ttm", "custom_basis", "override", "annual", "amount",
                  "actual", "attainment", "ramp_start", "bottom_up", "bottom_up_note", "bottom_up_by", "bottom_up_at"]
        read_only_fields = fields

    def get_person_name(self, obj: Quota) -> str | None:
        return obj.person.full_name if obj.person_id else None

    def get_attainment(self, obj: Quota) -> float | None:
        return float(obj.actual / obj.amount) if obj.amount > 0 else None


class QuotaDetailSerializer(QuotaSerializer):
    months = QuotaMonthSerializer(many=True, read_only=True)

    class Meta(QuotaSerializer.Meta):
        fields = [*QuotaSerializer.Meta.fields, "months"]
        read_only_fields = fields


QUOTA_EDITABLE = ("override", "custom_basis", "bottom_up", "bottom_up_note")


class QuotaUpdateSerializer(serializers.Serializer):
    override = serializers.DecimalField(**MONEY, min_value=Decimal(0), allow_null=True, required=False,
                                        help_text="A manager's fixed annual target (siblings re-balance around "
                                                  "it); null releases it. Drafts only.")
    custom_basis = serializers.DecimalField(**MONEY, required=False,
                                            help_text="The custom allocation field of a leaf. Drafts only.")
    bottom_up = serializers.DecimalField(**MONEY, min_value=Decimal(0), allow_null=True, required=False,
                                         help_text="The manager's bottom-up number; null withdraws it. Any state "
                                                   "but archived.")
    bottom_up_note = serializers.CharField(max_length=500, allow_blank=True, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(getattr(self, "initial_data", {}) or {}) - set(QUOTA_EDITABLE))
        if unknown:
            raise serializers.ValidationError({k: [f"Cannot be changed here; a node's editable fields are "
                                                   f"{', '.join(QUOTA_EDITABLE)}."] for k in unknown})
        if not attrs:
            raise serializers.ValidationError(f"Send at least one of {', '.join(QUOTA_EDITABLE)}.")
        return attrs


class ReliefSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    from_code = serializers.SerializerMethodField()
    to_code = serializers.SerializerMethodField()

    class Meta:
        model = QuotaRelief
        fields = ["id", "account", "account_name", "from_quota", "from_code", "to_quota", "to_code",
                  "effective_date", "month", "share", "days_fraction", "amount"]
        read_only_fields = fields

    def get_from_code(self, obj: QuotaRelief) -> str | None:
        return obj.from_quota.code if obj.from_quota_id else None

    def get_to_code(self, obj: QuotaRelief) -> str | None:
        return obj.to_quota.code if obj.to_quota_id else None


class QuotaHistorySerializer(serializers.Serializer):
    quota = QuotaSerializer()
    months = QuotaMonthSerializer(many=True)
    relief_out = ReliefSerializer(many=True, help_text="Quota that left this node with accounts moved away.")
    relief_in = ReliefSerializer(many=True, help_text="Quota that came to this node with accounts moved in.")


# -- seasonality -----------------------------------------------------------------------------------

class SeasonalitySerializer(serializers.ModelSerializer):
    source = serializers.ChoiceField(choices=SeasonalitySource.choices, read_only=True)
    weights = serializers.ListField(
        child=serializers.DecimalField(max_digits=12, decimal_places=6, min_value=Decimal(0)),
        min_length=12, max_length=12,
        help_text="Twelve weights in fiscal-month order (month 1 = the first month of the fiscal year), any "
                  "scale (e.g. percents); stored normalised to sum to 1.")

    class Meta:
        model = SeasonalityProfile
        fields = ["id", "name", "source", "weights", "learned_from", "created_at"]
        read_only_fields = ["learned_from", "created_at"]
        extra_kwargs = {"name": {"validators": []}}  # the service says a name is taken, with the name


class SeasonalityLearnSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, help_text="A profile of this name is replaced, else created.")
    metric = serializers.CharField(max_length=40, help_text="A quota metric or a custom metric's code.")
    fiscal_start = serializers.DateField(help_text="First day of the fiscal year to phase; history is the years "
                                                   "before it.")
    years = serializers.IntegerField(min_value=1, max_value=10, default=3)


# -- credited transactions -------------------------------------------------------------------------

class TransactionSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True, default=None)
    person_name = serializers.CharField(source="person.full_name", read_only=True, default=None)

    class Meta:
        model = CreditedTransaction
        fields = ["id", "external_id", "metric", "kind", "account", "account_name", "person", "person_name",
                  "transaction_date", "amount", "description", "created_at"]
        read_only_fields = fields


class TransactionRowSerializer(serializers.Serializer):
    """One row of a bulk upsert, as sent (JSON object or CSV line); who it credits is resolved by the API."""

    external_id = serializers.CharField(max_length=80, required=False, allow_blank=True, default="",
                                        help_text="The source system's id: the upsert key with `metric`. A row "
                                                  "without one is inserted every time it is sent.")
    metric = serializers.CharField(max_length=40, help_text="A quota metric (bookings, new_account_revenue, "
                                   "referrals_converted, net_collected_revenue) or a custom metric's code.")
    kind = serializers.ChoiceField(choices=TransactionKind.choices, default=TransactionKind.DEAL)
    account = serializers.IntegerField(required=False, allow_null=True, help_text="Account id.")
    account_external_id = serializers.CharField(required=False, allow_blank=True,
                                                help_text="Or the account's CRM external id.")
    person = serializers.IntegerField(required=False, allow_null=True, help_text="Person id (credited directly "
                                      "when there is no account).")
    person_employee_id = serializers.CharField(required=False, allow_blank=True, help_text="Or the person's "
                                               "employee id.")
    transaction_date = serializers.DateField()
    amount = serializers.DecimalField(**MONEY, help_text="Negative for a reversal.")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate_metric(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("This field may not be blank.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        for by_id, by_key in (("account", "account_external_id"), ("person", "person_employee_id")):
            if attrs.get(by_id) is not None and attrs.get(by_key):
                errors[by_key] = [f"Give {by_id} or {by_key}, not both."]
        if not errors and attrs.get("account") is None and not attrs.get("account_external_id") \
                and attrs.get("person") is None and not attrs.get("person_employee_id"):
            errors["account"] = ["Give the account (account or account_external_id) or, for a transaction without "
                                 "an account, the person (person or person_employee_id)."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class TransactionRowErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the row in the request (0-based; in a CSV, line "
                                     "index + 2).")
    external_id = serializers.CharField(allow_null=True)
    errors = serializers.JSONField(help_text="Field -> messages.")


class TransactionUpsertResultSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["partial", "all_or_nothing"])
    total = serializers.IntegerField(help_text="Rows in the request.")
    failed = serializers.IntegerField(help_text="Rows refused (see `rows`); nothing of them was written.")
    loaded = serializers.IntegerField(help_text="Rows passed to the load (0 when all_or_nothing refused).")
    inserted = serializers.IntegerField()
    updated = serializers.IntegerField(help_text="Rows whose external id existed with other values.")
    unchanged = serializers.IntegerField(help_text="Rows whose external id existed with the same values.")
    message = serializers.CharField()
    rows = TransactionRowErrorSerializer(many=True, help_text="The failed rows only.")
