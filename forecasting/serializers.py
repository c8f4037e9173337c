"""API representations of forecasting: stages, opportunities and their history, the bulk-upsert row and its
report, periods, calls and their submission, the roll-up of a manager's organization, runs and their
values, and the accuracy leaderboard and trend.

Relations are ``PrimaryKeyRelatedField`` over scoped managers: another organization's id reads as "does
not exist" (400). Serializers only check shapes; ``forecasting.services`` decides (``forecasting.api``
calls it) and its ``ValidationError`` becomes a 400.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from revops.models import Person

from .models import (
    CALL_CATEGORIES,
    CallKind,
    ForecastCall,
    ForecastCategory,
    ForecastPeriod,
    ForecastRun,
    ForecastValue,
    Opportunity,
    OpportunityHistory,
    PeriodKind,
    RunKind,
    RunStatus,
    Stage,
)

MONEY = {"max_digits": 16, "decimal_places": 2}
CALL_CATEGORY_CHOICES = [(c.value, c.label) for c in CALL_CATEGORIES]
# Categories a CRM may send for an open opportunity; "closed" is set when a won or lost stage is reached.
ROW_CATEGORY_CHOICES = [(c.value, c.label) for c in ForecastCategory if c != ForecastCategory.CLOSED]


def one_of(choices: Any) -> str:
    return "One of " + ", ".join(f"`{value}`" for value, _ in choices) + "."


def coded(choices: Any, text: str = "") -> serializers.CharField:
    """A read-only coded value documented by its values in prose: each choice set is an enum in the schema
    once, on the request that takes it, so the same field name (kind, status, category) on several models
    never collides in the generated enum names."""
    return serializers.CharField(read_only=True, help_text=(text + " " if text else "") + one_of(choices))


# -- stages ----------------------------------------------------------------------------------------

class StageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = ["id", "name", "order", "is_won", "is_lost", "default_probability"]
        extra_kwargs = {
            "name": {"validators": []},  # unique per organization: checked below with a clear message
            "default_probability": {"min_value": Decimal(0), "max_value": Decimal(1), "required": False},
        }

    def validate_name(self, value: str) -> str:
        value = value.strip()
        taken = Stage.objects.filter(name__iexact=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(f"A stage named {value!r} already exists.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        won = attrs.get("is_won", getattr(self.instance, "is_won", False))
        lost = attrs.get("is_lost", getattr(self.instance, "is_lost", False))
        if won and lost:
            raise serializers.ValidationError({"is_lost": ["A stage is won or lost, not both."]})
        return attrs


# -- opportunities ---------------------------------------------------------------------------------

class OpportunitySerializer(serializers.ModelSerializer):
    category = coded(ForecastCategory.choices, "Forecast category (`closed` once won or lost).")
    owner_name = serializers.CharField(source="owner.full_name", read_only=True)
    owner_employee_id = serializers.CharField(source="owner.employee_id", read_only=True)
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True, default=None)
    service_line_name = serializers.CharField(source="service_line.name", read_only=True, default=None)

    class Meta:
        model = Opportunity
        fields = ["id", "external_id", "name", "account", "account_name", "service_line", "service_line_name",
                  "owner", "owner_name", "owner_employee_id", "stage", "stage_name", "amount", "expected_close",
                  "category", "created_on", "closed_on", "is_won", "is_lost", "updated_at"]
        read_only_fields = fields


class OpportunityHistorySerializer(serializers.ModelSerializer):
    category = coded(ForecastCategory.choices)
    stage_name = serializers.CharField(source="stage.name", read_only=True)

    class Meta:
        model = OpportunityHistory
        fields = ["id", "valid_from", "stage", "stage_name", "amount", "expected_close", "category", "recorded_at"]
        read_only_fields = fields


class OpportunityRowSerializer(serializers.Serializer):
    """One row of a bulk upsert as sent (JSON object or CSV line); ids and keys are resolved by
    ``forecasting.imports``."""

    external_id = serializers.CharField(max_length=80, help_text="The CRM's id: the upsert key.")
    name = serializers.CharField(max_length=200)
    owner = serializers.IntegerField(required=False, allow_null=True, help_text="Owner's person id.")
    owner_employee_id = serializers.CharField(required=False, allow_blank=True,
                                              help_text="Or the owner's employee id.")
    stage = serializers.IntegerField(required=False, allow_null=True, help_text="Stage id.")
    stage_name = serializers.CharField(required=False, allow_blank=True,
                                       help_text="Or the stage's name (case-insensitive).")
    account = serializers.IntegerField(required=False, allow_null=True, help_text="Account id.")
    account_external_id = serializers.CharField(required=False, allow_blank=True,
                                                help_text="Or the account's CRM external id.")
    service_line = serializers.IntegerField(required=False, allow_null=True, help_text="Service line id.")
    service_line_code = serializers.CharField(required=False, allow_blank=True,
                                              help_text="Or the service line's code.")
    amount = serializers.DecimalField(**MONEY, min_value=Decimal(0))
    expected_close = serializers.DateField()
    category = serializers.ChoiceField(choices=ROW_CATEGORY_CHOICES, default=ForecastCategory.PIPELINE,
                                       help_text="Forecast category while open; a won or lost stage sets "
                                                 "`closed`.")
    created_on = serializers.DateField(required=False, allow_null=True,
                                       help_text="When the opportunity was opened (default: changed_on).")
    changed_on = serializers.DateField(required=False, allow_null=True,
                                       help_text="The day the row describes (the CRM's last-modified date; default "
                                                 "today): a change of stage, amount, close date or category is "
                                                 "recorded in the history from this day.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        pairs = (("owner", "owner_employee_id", True), ("stage", "stage_name", True),
                 ("account", "account_external_id", False), ("service_line", "service_line_code", False))
        for by_id, by_key, required in pairs:
            given_id, given_key = attrs.get(by_id) is not None, bool(attrs.get(by_key))
            if given_id and given_key:
                errors[by_key] = [f"Give {by_id} or {by_key}, not both."]
            elif required and not given_id and not given_key:
                errors[by_id] = [f"Required: give {by_id} (id) or {by_key}."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class RowErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the row in the request (0-based; in a CSV, line "
                                     "index + 2).")
    external_id = serializers.CharField(allow_null=True)
    errors = serializers.JSONField(help_text="Field -> messages.")


class OpportunityUpsertResultSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["partial", "all_or_nothing"])
    total = serializers.IntegerField(help_text="Rows in the request.")
    failed = serializers.IntegerField(help_text="Rows refused (see `rows`); nothing of them was written.")
    loaded = serializers.IntegerField(help_text="Rows passed to the load (0 when all_or_nothing refused).")
    inserted = serializers.IntegerField()
    updated = serializers.IntegerField(help_text="Rows whose external id existed with other values.")
    unchanged = serializers.IntegerField(help_text="Rows whose external id existed with the same values.")
    history = serializers.IntegerField(help_text="History rows appended (a new opportunity, or a change of stage, "
                                       "amount, expected close or category).")
    message = serializers.CharField()
    rows = RowErrorSerializer(many=True, help_text="The failed rows only.")


# -- periods ---------------------------------------------------------------------------------------

class PeriodSerializer(serializers.ModelSerializer):
    kind = coded(PeriodKind.choices)
    is_closed = serializers.BooleanField(read_only=True)
    label = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = ForecastPeriod
        fields = ["id", "label", "kind", "start", "end", "deadline", "closed_at", "is_closed"]
        read_only_fields = fields


class PeriodCreateSerializer(serializers.Serializer):
    start = serializers.DateField(help_text="Any day of the month (or of the quarter's first month): the period "
                                  "starts on the 1st.")
    kind = serializers.ChoiceField(choices=PeriodKind.choices, default=PeriodKind.MONTH)
    deadline = serializers.DateField(required=False, allow_null=True,
                                     help_text="Calls are due by this day (default: the 8th of the first month); "
                                               "later submissions are marked late.")


class PeriodCloseSerializer(serializers.Serializer):
    period = serializers.IntegerField()
    closed_at = serializers.DateTimeField()
    scores = serializers.IntegerField(help_text="Forecasts scored (rep calls, managers' team numbers, models).")
    bookings = serializers.IntegerField(help_text="Closed-won amount of the period (whole units), the actual.")


# -- calls -----------------------------------------------------------------------------------------

class CallSerializer(serializers.ModelSerializer):
    kind = coded(CallKind.choices, "`rep`: a rep's own call; `manager`: a manager's adjusted number.")
    category = coded(CALL_CATEGORY_CHOICES)
    person_name = serializers.CharField(source="person.full_name", read_only=True)
    subject_name = serializers.CharField(source="subject.full_name", read_only=True, default=None)
    submitted_by_name = serializers.CharField(source="submitted_by.username", read_only=True, default=None)

    class Meta:
        model = ForecastCall
        fields = ["id", "period", "person", "person_name", "subject", "subject_name", "kind", "category", "amount",
                  "note", "submitted_by", "submitted_by_name", "submitted_at", "is_late"]
        read_only_fields = fields


class CallSubmitSerializer(serializers.Serializer):
    period = serializers.PrimaryKeyRelatedField(queryset=ForecastPeriod.objects.all())
    person = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.all(),
        help_text="Whose number: the rep (kind `rep`), or the manager adjusting (kind `manager`).")
    kind = serializers.ChoiceField(choices=CallKind.choices, default=CallKind.REP)
    subject = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.all(), required=False, allow_null=True,
        help_text="For kind `manager`: the report whose number is adjusted (someone under `person` on the "
                  "period's first day); empty adjusts the whole team's number.")
    category = serializers.ChoiceField(choices=CALL_CATEGORY_CHOICES)
    amount = serializers.DecimalField(**MONEY, min_value=Decimal(0))
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


# -- roll-up ---------------------------------------------------------------------------------------

def _rollup_node_serializer() -> type[serializers.Serializer]:
    """One person of the roll-up, depth-first, with five numbers per call category (flat, so it exports)."""
    attrs: dict[str, Any] = {
        "person": serializers.IntegerField(),
        "name": serializers.CharField(),
        "employee_id": serializers.CharField(),
        "depth": serializers.IntegerField(help_text="0 for the manager asked about, 1 for their direct reports..."),
        "manager": serializers.IntegerField(allow_null=True, help_text="The node above in this roll-up."),
        "has_reports": serializers.BooleanField(),
    }
    for c in CALL_CATEGORIES:
        label = c.label.lower()
        attrs[f"own_{c.value}"] = serializers.DecimalField(
            **MONEY, allow_null=True, help_text=f"The person's own latest {label} call.")
        attrs[f"adjusted_{c.value}"] = serializers.DecimalField(
            **MONEY, allow_null=True, help_text=f"Their manager's latest adjustment of their {label} number.")
        attrs[f"team_call_{c.value}"] = serializers.DecimalField(
            **MONEY, allow_null=True, help_text=f"Their own team-level {label} number (as a manager).")
        attrs[f"team_{c.value}"] = serializers.DecimalField(
            **MONEY, allow_null=True, help_text=f"Their {label} number before anyone above adjusts it: the team "
                                                "call if made, else own call + each report's number as adjusted.")
        attrs[f"effective_{c.value}"] = serializers.DecimalField(
            **MONEY, allow_null=True, help_text=f"What counts in their manager's {label} roll-up: the adjustment "
                                                "if any, else the team number.")
    return type("RollupNodeSerializer", (serializers.Serializer,), attrs)


RollupNodeSerializer = _rollup_node_serializer()


class RollupQuerySerializer(serializers.Serializer):
    period = serializers.IntegerField(required=False, help_text="Period id (default: the open period containing "
                                      "today, else the latest).")
    manager = serializers.IntegerField(required=False, help_text="Person id whose organization to roll up "
                                       "(default: the person linked to your membership, else the first top "
                                       "manager).")


class RollupSerializer(serializers.Serializer):
    period = serializers.IntegerField()
    manager = serializers.IntegerField()
    team = serializers.DictField(child=serializers.DecimalField(**MONEY, allow_null=True),
                                 help_text="The manager's team number per category (None: nobody called).")
    nodes = RollupNodeSerializer(many=True)


# -- runs ------------------------------------------------------------------------------------------

class RunSerializer(serializers.ModelSerializer):
    kind = coded(RunKind.choices)
    status = coded(RunStatus.choices)
    values_count = serializers.IntegerField(read_only=True, default=None)
    job_status = serializers.CharField(source="job.status", read_only=True, default=None)
    job_percent = serializers.IntegerField(source="job.percent", read_only=True, default=None)

    class Meta:
        model = ForecastRun
        fields = ["id", "kind", "status", "job", "job_status", "job_percent", "as_of", "horizon", "params", "summary",
                  "values_count", "created_by", "created_at"]
        read_only_fields = fields


class RunCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RunKind.choices, default=RunKind.PIPELINE,
                                   help_text="`pipeline` runs inline; `time_series` and `cash` start a job when "
                                             "this installation has them.")
    as_of = serializers.DateField(required=False, help_text="Forecast from what was known on this day "
                                  "(default: today).")
    horizon = serializers.IntegerField(min_value=1, max_value=24, default=6, help_text="Months ahead.")


class ValueSerializer(serializers.ModelSerializer):
    class Meta:
        model = ForecastValue
        fields = ["id", "level", "key", "label", "model", "month", "point", "lo80", "hi80", "lo95", "hi95"]
        read_only_fields = fields


class ValueQuerySerializer(serializers.Serializer):
    level = serializers.CharField(required=False, help_text="company, rep, service_line, territory, program, payer")
    key = serializers.CharField(required=False, help_text="The level's key (a person id for rep, `all` for company).")
    model = serializers.CharField(required=False, help_text="e.g. weighted_pipeline, ets, seasonal_naive.")


# -- accuracy --------------------------------------------------------------------------------------

class AccuracyQuerySerializer(serializers.Serializer):
    level = serializers.CharField(required=False, help_text="rep, team, company, territory...: only scores of this "
                                  "level (default: all).")
    source = serializers.CharField(required=False, help_text="Only this source (`rep_call:commit`, "
                                   "`manager_call:commit`, `weighted_pipeline`, a model).")


class AccuracyRowSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="rep_call:<category>, manager_call:<category>, or a model.")
    horizon = serializers.IntegerField(help_text="Months between the forecast and the period.")
    n = serializers.IntegerField(help_text="Forecasts scored.")
    wape = serializers.FloatField(allow_null=True, help_text="sum |actual - forecast| / sum |actual|.")
    bias = serializers.FloatField(allow_null=True, help_text="sum (forecast - actual) / sum actual (positive: "
                                  "over-forecast).")
    hit5 = serializers.FloatField(allow_null=True, help_text="Share of forecasts within 5% of the actual.")
    hit10 = serializers.FloatField(allow_null=True, help_text="Share of forecasts within 10% of the actual.")
    actual = serializers.FloatField()
    forecast = serializers.FloatField()
    cover80 = serializers.FloatField(allow_null=True, help_text="Share of forecasts with an 80% interval whose "
                                     "actual fell inside it (calibrated: about 0.8); null without intervals.")
    cover95 = serializers.FloatField(allow_null=True, help_text="The same for the 95% interval.")


class AccuracyTrendQuerySerializer(serializers.Serializer):
    source = serializers.CharField(help_text="The source to follow, e.g. `rep_call:commit`.")
    level = serializers.CharField(required=False, default="rep", help_text="Level of the scores (default rep).")


class AccuracyTrendRowSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    n = serializers.IntegerField()
    wape = serializers.FloatField(allow_null=True)
    bias = serializers.FloatField(allow_null=True)
    hit5 = serializers.FloatField(allow_null=True)
    hit10 = serializers.FloatField(allow_null=True)
    actual = serializers.FloatField()
    forecast = serializers.FloatField()
