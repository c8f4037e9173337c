"""API representations of commission transactions, splits, periods, runs, line items (with their plain-language
explanation) and statements, and the row validation shared by the bulk upsert and the transactions page's import.

Serializers only check shapes and resolve references (ids, external ids, employee ids, service-line codes)
within the organization; ``commissions.services`` decides, and its ``ValidationError`` becomes a 400.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from revops.api.serializers import JobSerializer
from revops.models import Account, Person, ServiceLine

from ..models import (
    MONEY,
    Basis,
    CommissionPeriod,
    CommissionRun,
    LineItem,
    ReversalReason,
    Statement,
    Transaction,
    TransactionSplit,
)

BULK_LIMIT = 10_000
TRANSACTION_ROW_FIELDS = ["external_id", "basis", "account", "account_external_id", "person", "person_employee_id",
                          "service_line", "transaction_date", "amount", "description", "reverses_external_id",
                          "reversal_reason"]


# -- transactions ----------------------------------------------------------------------------------

class CommissionSplitSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.full_name", read_only=True)

    class Meta:
        model = TransactionSplit
        fields = ["person", "person_name", "share"]
        read_only_fields = fields


class CommissionTransactionSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True, allow_null=True)
    person_name = serializers.CharField(source="person.full_name", read_only=True, allow_null=True)
    service_line_code = serializers.CharField(source="service_line.code", read_only=True, allow_null=True)
    reverses_external_id = serializers.CharField(source="reverses.external_id", read_only=True, allow_null=True)
    splits = CommissionSplitSerializer(many=True, read_only=True)

    class Meta:
        model = Transaction
        fields = ["id", "external_id", "basis", "account", "account_name", "person", "person_name", "service_line",
                  "service_line_code", "transaction_date", "amount", "description", "reverses",
                  "reverses_external_id", "reversal_reason", "source", "splits", "created_at"]
        read_only_fields = fields


class CommissionTransactionRowSerializer(serializers.Serializer):
    """One transaction of a bulk upsert (a JSON object or a CSV line); references are resolved afterwards."""

    external_id = serializers.CharField(max_length=80, help_text="The source system's id: with `basis`, the upsert "
                                        "key (re-sending the same row changes nothing).")
    basis = serializers.CharField(max_length=40, help_text="bookings, first_year_revenue, net_collected_revenue, "
                                  "referrals, tests, billed_amount, or a custom metric's code.")
    account = serializers.IntegerField(required=False, allow_null=True, help_text="Account id (credits its owner "
                                       "on the transaction date).")
    account_external_id = serializers.CharField(required=False, allow_blank=True, help_text="Or the account's "
                                                "external id.")
    person = serializers.IntegerField(required=False, allow_null=True, help_text="Person id: credited directly "
                                      "when there is no account.")
    person_employee_id = serializers.CharField(required=False, allow_blank=True, help_text="Or the person's "
                                               "employee id.")
    service_line = serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                         help_text="Service line code (or id).")
    transaction_date = serializers.DateField()
    amount = serializers.DecimalField(**MONEY, help_text="Money, or a count on the referral and test bases; "
                                      "negative for a reversal.")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    reverses_external_id = serializers.CharField(max_length=80, required=False, allow_blank=True, allow_null=True,
                                                 help_text="A reversal: the external id of the original (same "
                                                           "basis), on file or in the same request.")
    reversal_reason = serializers.ChoiceField(choices=ReversalReason.choices, required=False, allow_blank=True,
                                              default="")

    def validate_basis(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("This field may not be blank.")
        return value

    def validate_external_id(self, value: str) -> str:
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
        if attrs.get("reversal_reason") and not attrs.get("reverses_external_id"):
            errors["reversal_reason"] = ["Only a reversal (with reverses_external_id) has a reversal reason."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


def transaction_rows(data: Any) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    """Validate and resolve bulk-upsert rows: (tuples in ``services.transactions.TXN_COLUMNS`` order, errors by
    0-based ``index``). Accounts, people and service lines are looked up in this organization only."""
    if isinstance(data, Mapping) and "rows" in data:
        data = data["rows"]
    if not isinstance(data, list):
        raise serializers.ValidationError({"rows": ['Expected {"rows": [...]} with one object per transaction.']})
    if len(data) > BULK_LIMIT:
        raise serializers.ValidationError({"rows": [f"At most {BULK_LIMIT:,} rows per request; got {len(data):,}."]})
    errors: list[dict[str, Any]] = []
    valid: list[tuple[int, dict[str, Any]]] = []
    for index, row in enumerate(data):
        if not isinstance(row, Mapping):
            errors.append({"index": index, "external_id": None,
                           "errors": {"non_field_errors": ["Expected an object."]}})
            continue
        body = CommissionTransactionRowSerializer(data=row)
        if body.is_valid():
            valid.append((index, dict(body.validated_data)))
        else:
            errors.append({"index": index, "external_id": row.get("external_id") or None, "errors": body.errors})
    rows = [r for _, r in valid]
    accounts = dict(Account.objects.filter(external_id__in={r["account_external_id"] for r in rows
                                                           if r.get("account_external_id")})
                    .values_list("external_id", "pk"))
    people = dict(Person.objects.filter(employee_id__in={r["person_employee_id"] for r in rows
                                                         if r.get("person_employee_id")})
                  .values_list("employee_id", "pk"))
    known_accounts = set(Account.objects.filter(pk__in={r["account"] for r in rows if r.get("account") is not None})
                         .values_list("pk", flat=True))
    known_people = set(Person.objects.filter(pk__in={r["person"] for r in rows if r.get("person") is not None})
                       .values_list("pk", flat=True))
    service_lines = {code: pk for code, pk in ServiceLine.objects.values_list("code", "pk")}
    service_line_ids = set(service_lines.values())
    first: dict[tuple[str, str], int] = {}
    out: list[tuple[Any, ...]] = []
    for index, r in valid:
        problems: dict[str, list[str]] = {}
        account_id = r.get("account")
        if r.get("account_external_id"):
            account_id = accounts.get(r["account_external_id"])
            if account_id is None:
                problems["account_external_id"] = [f"No account has external id {r['account_external_id']!r}."]
        elif account_id is not None and account_id not in known_accounts:
            problems["account"] = [f"No account has id {account_id}."]
        person_id = r.get("person")
        if r.get("person_employee_id"):
            person_id = people.get(r["person_employee_id"])
            if person_id is None:
                problems["person_employee_id"] = [f"No person has employee id {r['person_employee_id']!r}."]
        elif person_id is not None and person_id not in known_people:
            problems["person"] = [f"No person has id {person_id}."]
        service_line_id = None
        raw_line = (r.get("service_line") or "").strip()
        if raw_line:
            if raw_line in service_lines:
                service_line_id = service_lines[raw_line]
            elif raw_line.isdigit() and int(raw_line) in service_line_ids:
                service_line_id = int(raw_line)
            else:
                problems["service_line"] = [f"No service line has code (or id) {raw_line!r}."]
        key = (r["basis"], r["external_id"])
        if key in first:
            problems["external_id"] = [f"Row {first[key]} of this request has the same basis and external_id."]
        else:
            first[key] = index
        if problems:
            errors.append({"index": index, "external_id": r["external_id"], "errors": problems})
            continue
        out.append((r["external_id"], r["basis"], account_id, person_id, service_line_id, r["transaction_date"],
                    r["amount"], r.get("description", ""), (r.get("reverses_external_id") or "").strip() or None,
                    r.get("reversal_reason") or "", ""))
    errors.sort(key=lambda e: e["index"])
    return out, errors


class CommissionRowErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="0-based position in `rows` (in a CSV, line = index + 2).")
    external_id = serializers.CharField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class CommissionTransactionUpsertRequestSerializer(serializers.Serializer):
    rows = CommissionTransactionRowSerializer(many=True)


class CommissionTransactionUpsertResultSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["partial", "all_or_nothing"])
    total = serializers.IntegerField()
    failed = serializers.IntegerField()
    loaded = serializers.IntegerField()
    inserted = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    reversals_linked = serializers.IntegerField()
    message = serializers.CharField()
    rows = CommissionRowErrorSerializer(many=True, help_text="The rows that failed, with their errors.")


class CommissionSplitRowSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=80)
    basis = serializers.CharField(max_length=40, default=Basis.BOOKINGS)
    person = serializers.IntegerField(required=False, allow_null=True)
    person_employee_id = serializers.CharField(required=False, allow_blank=True)
    share = serializers.DecimalField(max_digits=7, decimal_places=6, min_value=Decimal("0.000001"),
                                     max_value=Decimal(1), help_text="0-1; a transaction's shares add up to 1.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("person") is None) == (not attrs.get("person_employee_id")):
            raise serializers.ValidationError({"person": ["Give person (id) or person_employee_id, one of them."]})
        return attrs


class CommissionSplitsRequestSerializer(serializers.Serializer):
    rows = CommissionSplitRowSerializer(many=True, allow_empty=False)


def split_rows(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """``services.transactions.SPLIT_COLUMNS`` tuples; people resolved in this organization (400 otherwise)."""
    people = dict(Person.objects.filter(employee_id__in={r["person_employee_id"] for r in rows
                                                         if r.get("person_employee_id")})
                  .values_list("employee_id", "pk"))
    known = set(Person.objects.filter(pk__in={r["person"] for r in rows if r.get("person") is not None})
                .values_list("pk", flat=True))
    out, problems = [], {}
    for index, r in enumerate(rows):
        person = people.get(r["person_employee_id"]) if r.get("person_employee_id") else r.get("person")
        if person is None or (not r.get("person_employee_id") and person not in known):
            problems[str(index)] = ["No such person in this organization."]
            continue
        out.append((r["external_id"], r["basis"], person, r["share"]))
    if problems:
        raise serializers.ValidationError({"rows": problems})
    return out


class CommissionSplitsResultSerializer(serializers.Serializer):
    transactions = serializers.IntegerField()
    splits_removed = serializers.IntegerField()
    splits_written = serializers.IntegerField()


# -- periods and runs ------------------------------------------------------------------------------

class CommissionRunSerializer(serializers.ModelSerializer):
    job = JobSerializer(read_only=True, allow_null=True)
    period_name = serializers.CharField(source="period.name", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)
    is_current = serializers.SerializerMethodField()

    class Meta:
        model = CommissionRun
        fields = ["id", "period", "period_name", "status", "is_current", "job", "created_by", "created_at",
                  "finished_at", "inputs_digest", "results_digest", "totals", "error"]
        read_only_fields = fields

    def get_is_current(self, run: CommissionRun) -> bool:
        return run.period.current_run_id == run.pk


class CommissionPeriodSerializer(serializers.ModelSerializer):
    approved_by = serializers.CharField(source="approved_by.username", read_only=True, allow_null=True)
    start = serializers.DateField(help_text="First day (a month's first day for a monthly period).")
    end = serializers.DateField(required=False, help_text="Exclusive; default the next month's first day.")
    name = serializers.CharField(max_length=40, required=False, allow_blank=True, default="",
                                 help_text="Default: the month (\"Mar 2026\").")

    class Meta:
        model = CommissionPeriod
        fields = ["id", "name", "start", "end", "status", "current_run", "approved_by", "approved_at", "paid_at"]
        read_only_fields = ["id", "status", "current_run", "approved_by", "approved_at", "paid_at"]


# -- lines and statements ----------------------------------------------------------------------------

class CommissionLineSerializer(serializers.Serializer):
    """A line item (dict from ``selectors.runs.explained``) with its plain-language explanation."""

    id = serializers.IntegerField()
    run = serializers.IntegerField(source="run_id")
    period = serializers.IntegerField(source="period_id")
    person = serializers.IntegerField(source="person_id")
    kind = serializers.ChoiceField(choices=LineItem._meta.get_field("kind").choices)
    component = serializers.IntegerField(source="component_id", allow_null=True)
    component_name = serializers.CharField()
    version = serializers.IntegerField(source="version_id", allow_null=True)
    version_label = serializers.CharField()
    transaction = serializers.IntegerField(source="transaction_id", allow_null=True)
    transaction_external_id = serializers.CharField()
    transaction_date = serializers.DateField(allow_null=True)
    credit_role = serializers.CharField()
    credit_rule = serializers.IntegerField(source="credit_rule_id", allow_null=True)
    credit_share = serializers.DecimalField(max_digits=7, decimal_places=6, allow_null=True)
    credited = serializers.DecimalField(**MONEY)
    attainment_before = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True)
    attainment_after = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True)
    tier = serializers.IntegerField(allow_null=True)
    rate = serializers.DecimalField(max_digits=12, decimal_places=6, allow_null=True)
    amount = serializers.DecimalField(**MONEY)
    held = serializers.DecimalField(**MONEY)
    release_on = serializers.DateField(allow_null=True)
    source_period = serializers.IntegerField(source="source_period_id", allow_null=True)
    note = serializers.CharField()
    explanation = serializers.CharField(help_text="The line in plain language (commissions.explain).")


class CommissionStatementSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.full_name", read_only=True)
    employee_id = serializers.CharField(source="person.employee_id", read_only=True)
    period_name = serializers.CharField(source="period.name", read_only=True)
    manager_approved_by = serializers.CharField(source="manager_approved_by.username", read_only=True,
                                                allow_null=True)
    finance_approved_by = serializers.CharField(source="finance_approved_by.username", read_only=True,
                                                allow_null=True)

    class Meta:
        model = Statement
        fields = ["id", "period", "period_name", "person", "person_name", "employee_id", "run", "credited", "quota",
                  "attainment", "earned", "adjustments", "held", "released", "draw_paid", "draw_recovered",
                  "draw_balance", "payout", "status", "manager_approved_by", "manager_approved_at",
                  "finance_approved_by", "finance_approved_at"]
        read_only_fields = fields


class CommissionPayrollRowSerializer(serializers.Serializer):
    employee_id = serializers.CharField()
    last_name = serializers.CharField()
    first_name = serializers.CharField()
    period = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    earned = serializers.DecimalField(**MONEY)
    adjustments = serializers.DecimalField(**MONEY)
    held = serializers.DecimalField(**MONEY)
    released = serializers.DecimalField(**MONEY)
    draw_paid = serializers.DecimalField(**MONEY)
    draw_recovered = serializers.DecimalField(**MONEY)
    payout = serializers.DecimalField(**MONEY)
    approved_by_finance_at = serializers.CharField()
