"""API representations of RCM records, KPI rows and the write requests (feeds, denial status, file upload)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from revops.forms import _crontab_check
from revops.models import Facility, Payer, Program

from .kpis import GROUPS
from .models import (
    Adjustment,
    Claim,
    Denial,
    Feed,
    IngestionRun,
    QuarantineItem,
    Remittance,
)


class ClaimSerializer(serializers.ModelSerializer):
    class Meta:
        model = Claim
        fields = [
            "id", "patient_control_number", "kind", "payer", "program", "facility", "part2_program", "billing_npi",
            "referring_npi",
            "charge", "facility_code", "frequency", "original_claim", "original_payer_claim_number",
            "prior_authorization", "diagnoses", "service_from", "service_to", "submitted_on", "front_end_status",
            "front_end_codes", "is_resubmission", "source_file", "source_position",
        ]
        read_only_fields = fields


class RemittanceSerializer(serializers.ModelSerializer):
    claim_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Remittance
        fields = [
            "id", "payer", "payer_name", "payer_identifier", "trace_number", "trace_originator", "handling_code",
            "payment_method", "payment_amount", "payment_date", "production_date", "payee_npi",
            "provider_adjustment_total", "balanced", "claim_count", "source_file",
        ]
        read_only_fields = fields


class AdjustmentSerializer(serializers.ModelSerializer):
    claim = serializers.IntegerField(source="claim_payment.claim_id", read_only=True, allow_null=True)

    class Meta:
        model = Adjustment
        fields = ["id", "claim_payment", "service_payment", "claim", "group_code", "reason_code", "amount", "quantity"]
        read_only_fields = fields


class DenialSerializer(serializers.ModelSerializer):
    class Meta:
        model = Denial
        fields = [
            "id", "claim", "claim_payment", "service_payment", "level", "payer", "program", "category",
            "carc_codes", "rarc_codes", "denied_charge", "denied_on", "status", "appealed_on", "resolved_on",
            "recovered_amount", "overturned_by", "write_off_reason", "note",
        ]
        read_only_fields = fields


class DenialAppealSerializer(serializers.Serializer):
    appealed_on = serializers.DateField(help_text="The day the appeal was filed.")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class DenialWriteOffSerializer(serializers.Serializer):
    written_off_on = serializers.DateField(help_text="The day the balance was written off.")
    reason = serializers.CharField(help_text="Why the denial is not pursued further.")


class FeedSerializer(serializers.ModelSerializer):
    """A feed as read and as written (writes go through ``rcm_feeds.services.feed_save``)."""

    column_mapping = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False,
        help_text="CSV feeds only: our field name -> your column header (case-insensitive). A field left out is "
                  "looked for under its own name. X12 feeds take none.",
    )
    source_program = serializers.PrimaryKeyRelatedField(
        queryset=Program.objects.all(), required=False, allow_null=True,
        help_text="Program every file comes from (a 42 CFR Part 2 program tags all its rows as Part 2 data).",
    )

    class Meta:
        model = Feed
        fields = ["id", "name", "kind", "inbox_dir", "crontab", "column_mapping", "source_program",
                  "strict_validation", "is_active", "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {
            "crontab": {"help_text": "When the inbox is polled: five cron fields, UTC (default every 15 minutes)."},
            "inbox_dir": {"help_text": "Folder polled for new files: a plain relative name such as 'payer-835', "
                                       "under RCM_INBOX_ROOT/<organization id>/. Empty: uploads only."},
            "is_active": {"help_text": "An inactive feed is not polled and refuses uploads from the page."},
        }
        # The unique name is checked by feed_save (a 400 on `name`), not by a serializer validator.
        validators: list[Any] = []

    def validate_crontab(self, value: str) -> str:
        expression = " ".join(value.split())
        try:
            _crontab_check(expression)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return expression


FEED_SETTINGS = ("name", "kind", "inbox_dir", "crontab", "column_mapping", "source_program", "strict_validation",
                 "is_active")


def feed_settings(feed: Feed | None, changes: dict[str, Any]) -> dict[str, Any]:
    """``feed_save`` keywords: the feed's current settings (none for a new feed) overlaid with ``changes``."""
    current = {name: getattr(feed, name) for name in FEED_SETTINGS} if feed is not None else {}
    return {**current, **changes}


def feed_poll_result(feed: Feed, runs: Sequence[IngestionRun]) -> dict[str, Any]:
    """What polling ``feed``'s inbox did, in words for the page and the API alike."""
    if runs:
        names = ", ".join(f"{run.file.filename} (run {run.pk})" for run in runs)
        detail = f"{len(runs)} file{'s' if len(runs) != 1 else ''} received from the inbox of {feed.name}: {names}."
    elif not feed.is_active:
        detail = f"{feed.name} is inactive: its inbox is not polled. Activate it first."
    elif not feed.inbox_dir:
        detail = f"{feed.name} has no inbox folder: its files arrive by upload or through the API."
    else:
        detail = f"No new files in the inbox of {feed.name}."
    return {"feed": feed.pk, "received": len(runs), "runs": list(runs), "detail": detail}


class IngestionRunSerializer(serializers.ModelSerializer):
    feed = serializers.IntegerField(source="file.feed_id", read_only=True)
    filename = serializers.CharField(source="file.filename", read_only=True)
    warning_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = IngestionRun
        fields = ["id", "file", "feed", "filename", "job", "status", "started_at", "finished_at", "counts",
                  "message", "warning_count"]
        read_only_fields = fields


class QuarantineItemSerializer(serializers.ModelSerializer):
    filename = serializers.CharField(source="file.filename", read_only=True)

    class Meta:
        model = QuarantineItem
        fields = ["id", "run", "file", "filename", "scope", "reason_code", "reason", "segment_number", "line_number",
                  "byte_offset", "raw", "status", "fixed_raw", "resolved_at", "created_at"]
        read_only_fields = fields


class FeedPollResultSerializer(serializers.Serializer):
    feed = serializers.IntegerField(help_text="Id of the feed polled.")
    received = serializers.IntegerField(help_text="Files taken from the inbox (each moved to processed/).")
    runs = IngestionRunSerializer(many=True, help_text="The runs started for them (duplicates settle at once).")
    detail = serializers.CharField()


class QuarantineFixSerializer(serializers.Serializer):
    fixed_raw = serializers.CharField(trim_whitespace=False,
                                      help_text="The corrected CSV row, or the corrected text of the whole file.")


class QuarantineDiscardSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", help_text="Why it is discarded.")


class FileUploadSerializer(serializers.Serializer):
    feed = serializers.PrimaryKeyRelatedField(queryset=Feed.objects.all(), help_text="The feed the file belongs to.")
    file = serializers.FileField(help_text="The file as exported (X12 or CSV).")


class FileUploadResultSerializer(serializers.Serializer):
    file = serializers.IntegerField(help_text="Id of the received file.")
    run = serializers.IntegerField(allow_null=True, help_text="Id of the ingestion run (null: already loaded).")
    job = serializers.IntegerField(allow_null=True, help_text="Id of the job whose progress `/api/v1/jobs/{id}/` shows.")
    duplicate = serializers.BooleanField(help_text="True when these exact bytes were received before.")
    detail = serializers.CharField()


class KpiQuerySerializer(serializers.Serializer):
    start = serializers.DateField(help_text="First month of the period (any day in it).")
    end = serializers.DateField(help_text="Last month of the period (any day in it).")
    group_by = serializers.ChoiceField(choices=sorted(GROUPS), required=False, allow_null=True, default=None)
    payer = serializers.PrimaryKeyRelatedField(queryset=Payer.objects.all(), many=True, required=False)
    payer_class = serializers.ListField(child=serializers.CharField(), required=False)
    program = serializers.PrimaryKeyRelatedField(queryset=Program.objects.all(), many=True, required=False)
    facility = serializers.PrimaryKeyRelatedField(queryset=Facility.objects.all(), many=True, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": "The period ends before it starts."})
        if (attrs["end"].year - attrs["start"].year) * 12 + attrs["end"].month - attrs["start"].month > 60:
            raise serializers.ValidationError({"end": "At most 60 months at a time."})
        return attrs


class KpiValueSerializer(serializers.Serializer):
    value = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    numerator = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    denominator = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    change = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True,
                                      help_text="Value minus the previous month's value.")


class KpiRowSerializer(serializers.Serializer):
    month = serializers.DateField()
    group = serializers.CharField(allow_null=True, help_text="Value of `group_by` (an id or a payer class).")
    values = serializers.DictField(child=KpiValueSerializer(), help_text="KPI key -> value.")


class KpiDefinitionSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    formula = serializers.CharField()
    numerator = serializers.CharField()
    denominator = serializers.CharField()
    basis = serializers.CharField()
    unit = serializers.CharField()
    benchmark = serializers.CharField()
    reference = serializers.DecimalField(max_digits=8, decimal_places=2, allow_null=True)
    higher_is_better = serializers.BooleanField()
    note = serializers.CharField()
