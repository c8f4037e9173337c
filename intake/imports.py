"""Loading admissions, authorizations and program costs from a JSON array, a CSV body or an uploaded CSV/Excel
file: every row is checked here (a failed row is reported by index, and a file's rows also by line, with the
reason per field), then the good rows are upserted in one COPY by ``intake.services``.

Admissions carry the EHR's ``member_id``: it is hashed on arrival (``rcm_feeds.phi``, the hash claims carry)
and never stored or echoed. References are by natural key: a program by ``program`` (its code), a payer by
``payer`` (its name, case-insensitive), a facility by ``facility`` (its name), an admission by
``admission_external_id``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework import serializers

from rcm_feeds.phi import patient_hasher
from revops.imports import spreadsheet_cells
from revops.models import Facility, LevelOfCare, Payer, Program

from . import services
from .models import Admission, ProgramCostCategory, UnitKind

MAX_ROWS = 20_000


class IntakeFileError(ValueError):
    """The file or body as a whole cannot be read (not CSV/XLSX, no header, unknown columns, too many rows)."""


class MonthField(serializers.DateField):
    """``2026-01`` or any day of the month: the month's first day."""

    def to_internal_value(self, value: Any) -> dt.date:
        if isinstance(value, str) and len(value.strip()) == 7:
            value = value.strip() + "-01"
        return super().to_internal_value(value).replace(day=1)


class AdmissionRowSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=64)
    member_id = serializers.CharField(max_length=80, write_only=True,
                                      help_text="The payer's member id: hashed on arrival, never stored.")
    program = serializers.CharField(max_length=32, help_text="Program code.")
    payer = serializers.CharField(max_length=160, required=False, allow_blank=True, help_text="Payer name.")
    plan_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    facility = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text="Facility name.")
    admitted_on = serializers.DateField()
    discharged_on = serializers.DateField(required=False, allow_null=True)
    expected_los_days = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=3650)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("discharged_on") and data["discharged_on"] < data["admitted_on"]:
            raise serializers.ValidationError({"discharged_on": ["Discharged before admitted."]})
        return data


class AuthorizationRowSerializer(serializers.Serializer):
    auth_number = serializers.CharField(max_length=50)
    admission_external_id = serializers.CharField(max_length=64)
    payer = serializers.CharField(max_length=160, required=False, allow_blank=True,
                                  help_text="Payer name (default: the admission's).")
    level_of_care = serializers.ChoiceField(choices=LevelOfCare.choices, required=False, allow_blank=True,
                                            help_text="Default: the admission's program's.")
    unit_kind = serializers.ChoiceField(choices=UnitKind.choices, default=UnitKind.DAYS)
    units_granted = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    next_review_on = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data["ends_on"] < data["starts_on"]:
            raise serializers.ValidationError({"ends_on": ["Ends before it starts."]})
        return data


class ProgramCostRowSerializer(serializers.Serializer):
    program = serializers.CharField(max_length=32, help_text="Program code.")
    month = MonthField(help_text="YYYY-MM (or any day of the month).")
    category = serializers.ChoiceField(choices=ProgramCostCategory.choices)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    hours = serializers.DecimalField(max_digits=10, decimal_places=2, required=False, allow_null=True, min_value=0)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


@dataclass
class Kind:
    name: str
    serializer: type[serializers.Serializer]
    key: str
    required: tuple[str, ...]
    columns: tuple[str, ...]
    resolve: Callable[[list[tuple[int, dict[str, Any]]]], tuple[list[tuple[Any, ...]], list[dict[str, Any]]]]
    upsert: Callable[..., dict[str, int]]


def _lower_map(pairs: Any) -> dict[str, int]:
    return {str(k).lower(): v for k, v in pairs}


def _resolve_admissions(valid: list[tuple[int, dict[str, Any]]]) -> tuple[list[tuple], list[dict]]:
    programs = dict(Program.objects.values_list("code", "pk"))
    payers = _lower_map(Payer.objects.values_list("name", "pk"))
    facilities = _lower_map(Facility.objects.values_list("name", "pk"))
    hasher = patient_hasher()
    out, errors = [], []
    for index, r in valid:
        problems: dict[str, list[str]] = {}
        program = programs.get(r["program"])
        if program is None:
            problems["program"] = [f"No program has code {r['program']!r}."]
        payer = payers.get(r["payer"].lower()) if r.get("payer") else None
        if r.get("payer") and payer is None:
            problems["payer"] = [f"No payer is named {r['payer']!r}."]
        facility = facilities.get(r["facility"].lower()) if r.get("facility") else None
        if r.get("facility") and facility is None:
            problems["facility"] = [f"No facility is named {r['facility']!r}."]
        member = hasher(r["member_id"])
        if not member:
            problems["member_id"] = ["The member id is empty."]
        if problems:
            errors.append({"index": index, "key": r["external_id"], "errors": problems})
            continue
        out.append((r["external_id"].strip(), member, program, payer, r.get("plan_name", ""), facility,
                    r["admitted_on"], r.get("discharged_on"), r.get("expected_los_days"), "import"))
    return out, errors


def _resolve_authorizations(valid: list[tuple[int, dict[str, Any]]]) -> tuple[list[tuple], list[dict]]:
    wanted = {r["admission_external_id"] for _, r in valid}
    admissions = {a["external_id"]: a for a in Admission.objects.filter(external_id__in=wanted)
                  .values("external_id", "pk", "payer_id", "program__level_of_care")}
    payers = _lower_map(Payer.objects.values_list("name", "pk"))
    out, errors = [], []
    for index, r in valid:
        problems: dict[str, list[str]] = {}
        admission = admissions.get(r["admission_external_id"])
        if admission is None:
            problems["admission_external_id"] = [f"No admission has external id {r['admission_external_id']!r}."]
        payer = payers.get(r["payer"].lower()) if r.get("payer") else (admission or {}).get("payer_id")
        if r.get("payer") and payer is None:
            problems["payer"] = [f"No payer is named {r['payer']!r}."]
        if problems:
            errors.append({"index": index, "key": r["auth_number"], "errors": problems})
            continue
        out.append((r["auth_number"].strip(), admission["pk"], payer,
                    r.get("level_of_care") or admission["program__level_of_care"], r["unit_kind"], r["units_granted"],
                    r["starts_on"], r["ends_on"], r.get("next_review_on"), r.get("note", ""), "import"))
    return out, errors


def _resolve_costs(valid: list[tuple[int, dict[str, Any]]]) -> tuple[list[tuple], list[dict]]:
    programs = dict(Program.objects.values_list("code", "pk"))
    out, errors = [], []
    for index, r in valid:
        program = programs.get(r["program"])
        if program is None:
            errors.append({"index": index, "key": f"{r['program']} {r['month']:%Y-%m} {r['category']}",
                           "errors": {"program": [f"No program has code {r['program']!r}."]}})
            continue
        out.append((program, r["month"], r["category"], r["amount"], r.get("hours"), r.get("note", "")))
    return out, errors


KINDS = {
    "admissions": Kind("admissions", AdmissionRowSerializer, "external_id",
                       ("external_id", "member_id", "program", "admitted_on"),
                       ("external_id", "member_id", "program", "payer", "plan_name", "facility", "admitted_on",
                        "discharged_on", "expected_los_days"), _resolve_admissions,
                       lambda rows: services.admissions_upsert(rows=rows)),
    "authorizations": Kind("authorizations", AuthorizationRowSerializer, "auth_number",
                           ("auth_number", "admission_external_id", "units_granted", "starts_on", "ends_on"),
                           ("auth_number", "admission_external_id", "payer", "level_of_care", "unit_kind",
                            "units_granted", "starts_on", "ends_on", "next_review_on", "note"),
                           _resolve_authorizations, lambda rows: services.authorizations_upsert(rows=rows)),
    "program_costs": Kind("program_costs", ProgramCostRowSerializer, "",
                          ("program", "month", "category", "amount"),
                          ("program", "month", "category", "amount", "hours", "note"), _resolve_costs,
                          lambda rows: services.program_costs_upsert(rows=rows)),
}


@dataclass
class Table:
    records: list[dict[str, str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


def read_table(*, kind: Kind, name: str, content: bytes) -> Table:
    """The rows of a CSV (UTF-8) or Excel (.xlsx) file with a header row (line 1)."""
    raw = spreadsheet_cells(name=name, content=content, error=IntakeFileError)
    if not raw:
        raise IntakeFileError("The file is empty.")
    header = [h.strip().lower().replace(" ", "_") for h in raw[0]]
    missing = [c for c in kind.required if c not in header]
    if missing:
        raise IntakeFileError(f"The first row must name the columns; missing: {', '.join(missing)}.")
    unknown = [h for h in header if h and h not in kind.columns]
    if unknown:
        raise IntakeFileError(f"Unknown columns {', '.join(unknown)}: the columns are {', '.join(kind.columns)}.")
    table = Table()
    for line, cells in enumerate(raw[1:], start=2):
        values = {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header) if h}
        values = {k: v for k, v in values.items() if v}
        if not values:
            continue
        for money in ("amount", "units_granted", "hours"):
            if money in values:
                values[money] = values[money].replace(",", "").replace("$", "").strip()
        table.records.append(values)
        table.lines.append(line)
        if len(table.records) > MAX_ROWS:
            raise IntakeFileError(f"At most {MAX_ROWS:,} rows per file.")
    return table


def load(*, kind: Kind, data: Any, all_or_nothing: bool = False) -> dict[str, Any]:
    """Check ``data`` (a list of objects) and upsert the good rows (or, ``all_or_nothing``, nothing unless every
    row is good): the report the API and the import pages show."""
    if not isinstance(data, list):
        raise IntakeFileError("Expected a JSON array of objects (or a text/csv body).")
    if len(data) > MAX_ROWS:
        raise IntakeFileError(f"At most {MAX_ROWS:,} rows per request; got {len(data):,}.")
    errors: list[dict[str, Any]] = []
    valid: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(data):
        if not isinstance(row, Mapping):
            errors.append({"index": index, "key": None, "errors": {"non_field_errors": ["Expected an object."]}})
            continue
        body = kind.serializer(data=row)
        if not body.is_valid():
            errors.append({"index": index, "key": str(row.get(kind.key) or "") or None if kind.key else None,
                           "errors": body.errors})
            continue
        values = dict(body.validated_data)
        if kind.key:
            key = str(values[kind.key]).strip()
            if key in seen:
                errors.append({"index": index, "key": key,
                               "errors": {kind.key: [f"Row {seen[key]} of this request has the same {kind.key}."]}})
                continue
            seen[key] = index
        valid.append((index, values))
    rows, problems = kind.resolve(valid)
    errors = sorted(errors + problems, key=lambda e: e["index"])
    counts = {"received": 0, "inserted": 0, "updated": 0, "unchanged": 0}
    refused = all_or_nothing and bool(errors)
    if rows and not refused:
        try:
            with transaction.atomic():
                counts = kind.upsert(rows)
        except ValidationError as exc:
            return {"mode": "all_or_nothing" if all_or_nothing else "partial", "total": len(data),
                    "failed": len(data), "loaded": 0, "inserted": 0, "updated": 0, "unchanged": 0,
                    "message": " ".join(exc.messages), "rows": errors, "refused": True}
    if refused:
        message = f"Nothing was loaded: {len(errors)} of {len(data)} rows failed (all_or_nothing)."
    else:
        message = (f"{counts['inserted']} inserted, {counts['updated']} updated, {counts['unchanged']} unchanged"
                   + (f"; {len(errors)} row{'s' if len(errors) != 1 else ''} failed and "
                      f"{'were' if len(errors) != 1 else 'was'} not loaded." if errors else "."))
    return {"mode": "all_or_nothing" if all_or_nothing else "partial", "total": len(data), "failed": len(errors),
            "loaded": counts["received"], "inserted": counts["inserted"], "updated": counts["updated"],
            "unchanged": counts["unchanged"], "message": message, "rows": errors, "refused": refused}
