"""Loading opportunities from a CRM: rows from a JSON array, a CSV body or an uploaded CSV/Excel file are
checked and resolved here, then upserted by external id with ``services.opportunities_upsert``.

A row names its owner by ``owner`` (person id) or ``owner_employee_id``, its stage by ``stage`` (id)
or ``stage_name``, and optionally its account (``account`` / ``account_external_id``) and service
line (``service_line`` / ``service_line_code``). Every row is checked first; a failed row is reported
by its index (0-based; a file's rows also by line) with the reason per field, and is not loaded. The
good rows are loaded in one COPY (or, all-or-nothing, none unless every row is good). Re-sending the
same rows changes nothing: the upsert counts them as unchanged and records no history.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from revops.imports import spreadsheet_cells
from revops.models import Account, Person, ServiceLine

from . import services
from .models import Stage
from .serializers import OpportunityRowSerializer

COLUMNS = ("external_id", "name", "owner", "owner_employee_id", "stage", "stage_name", "account",
           "account_external_id", "service_line", "service_line_code", "amount", "expected_close", "category",
           "created_on", "changed_on")
MAX_ROWS = 20_000


class OpportunityFileError(ValueError):
    """The file or body as a whole cannot be read (not CSV/XLSX, no header, unknown columns, too many rows)."""




@dataclass
class Table:
    """An uploaded file's rows (blank ones dropped) with the line each came from."""

    records: list[dict[str, str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


def read_table(*, name: str, content: bytes) -> Table:
    """The rows of a CSV (UTF-8) or Excel (.xlsx) file with a header row (line 1)."""
    raw = spreadsheet_cells(name=name, content=content, error=OpportunityFileError)
    if not raw:
        raise OpportunityFileError("The file is empty.")
    header = [h.strip().lower().replace(" ", "_") for h in raw[0]]
    missing = [c for c in ("external_id", "name", "amount", "expected_close") if c not in header]
    if missing:
        raise OpportunityFileError(f"The first row must name the columns; missing: {', '.join(missing)}.")
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        raise OpportunityFileError(f"Unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}: the "
                                   f"columns are {', '.join(COLUMNS)}.")
    table = Table()
    for line, cells in enumerate(raw[1:], start=2):
        values = {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header) if h}
        values = {k: v for k, v in values.items() if v}
        if not values:
            continue
        if "amount" in values:  # people type amounts as they read them: "12,500.00", "$900"
            values["amount"] = values["amount"].replace(",", "").replace("$", "").strip()
        table.records.append(values)
        table.lines.append(line)
        if len(table.records) > MAX_ROWS:
            raise OpportunityFileError(f"At most {MAX_ROWS:,} rows per file.")
    return table


def _lookups(rows: list[dict[str, Any]]) -> dict[str, dict[Any, int]]:
    """Ids by the keys the rows name (one query per kind of key)."""
    def keys(name: str) -> set[Any]:
        return {r[name] for r in rows if r.get(name) not in (None, "")}

    return {
        "owner": dict.fromkeys(Person.objects.filter(pk__in=keys("owner")).values_list("pk", flat=True), 0),
        "owner_employee_id": dict(Person.objects.filter(employee_id__in=keys("owner_employee_id"))
                                  .values_list("employee_id", "pk")),
        "stage": dict.fromkeys(Stage.objects.filter(pk__in=keys("stage")).values_list("pk", flat=True), 0),
        "stage_name": {name.lower(): pk for name, pk in Stage.objects.values_list("name", "pk")},
        "account": dict.fromkeys(Account.objects.filter(pk__in=keys("account")).values_list("pk", flat=True), 0),
        "account_external_id": dict(Account.objects.filter(external_id__in=keys("account_external_id"))
                                    .values_list("external_id", "pk")),
        "service_line": dict.fromkeys(ServiceLine.objects.filter(pk__in=keys("service_line"))
                                      .values_list("pk", flat=True), 0),
        "service_line_code": dict(ServiceLine.objects.filter(code__in=keys("service_line_code"))
                                  .values_list("code", "pk")),
    }


# (id field, key field, what the key is called in a message)
REFERENCES = (("owner", "owner_employee_id", "person", "employee id"), ("stage", "stage_name", "stage", "name"),
              ("account", "account_external_id", "account", "external id"),
              ("service_line", "service_line_code", "service line", "code"))


def opportunity_rows(data: Any, *, today: dt.date | None = None) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    """Check a bulk upsert's rows: (tuples in ``services.OPPORTUNITY_COLUMNS`` order, errors by index).

    Raises ``OpportunityFileError`` when ``data`` is not a list of rows or has too many."""
    if not isinstance(data, list):
        raise OpportunityFileError("Expected a JSON array of objects (or a text/csv body).")
    if len(data) > MAX_ROWS:
        raise OpportunityFileError(f"At most {MAX_ROWS:,} rows per request; got {len(data):,}. Send several "
                                   "requests.")
    today = today or timezone.localdate()
    errors: list[dict[str, Any]] = []
    valid: list[tuple[int, dict[str, Any]]] = []
    for index, row in enumerate(data):
        if not isinstance(row, Mapping):
            errors.append({"index": index, "external_id": None, "errors": {"non_field_errors": ["Expected an "
                                                                                                "object."]}})
            continue
        body = OpportunityRowSerializer(data=row)
        if body.is_valid():
            valid.append((index, dict(body.validated_data)))
        else:
            errors.append({"index": index, "external_id": str(row.get("external_id") or "") or None,
                           "errors": body.errors})
    found = _lookups([r for _, r in valid])
    first: dict[str, int] = {}
    out: list[tuple[Any, ...]] = []
    for index, r in valid:
        problems: dict[str, list[str]] = {}
        ids: dict[str, int | None] = {}
        for by_id, by_key, noun, key_noun in REFERENCES:
            if r.get(by_key):
                wanted = r[by_key].lower() if by_id == "stage" else r[by_key]
                ids[by_id] = found[by_key].get(wanted)
                if ids[by_id] is None:
                    problems[by_key] = [f"No {noun} has {key_noun} {r[by_key]!r}."]
            elif r.get(by_id) is not None:
                ids[by_id] = r[by_id] if r[by_id] in found[by_id] else None
                if ids[by_id] is None:
                    problems[by_id] = [f"No {noun} has id {r[by_id]}."]
            else:
                ids[by_id] = None
        key = r["external_id"].strip()
        if key in first:
            problems["external_id"] = [f"Row {first[key]} of this request has the same external_id."]
        else:
            first[key] = index
        if problems:
            errors.append({"index": index, "external_id": key, "errors": problems})
            continue
        changed_on = r.get("changed_on") or today
        out.append((key, r["name"], ids["account"], ids["service_line"], ids["owner"], ids["stage"], r["amount"],
                    r["expected_close"], r["category"], r.get("created_on"), changed_on))
    errors.sort(key=lambda e: e["index"])
    return out, errors


def opportunities_load(*, data: Any, all_or_nothing: bool = False) -> dict[str, Any]:
    """Check ``data`` and upsert its good rows (or, ``all_or_nothing``, nothing unless every row is good):
    the report the API and the import page show."""
    rows, errors = opportunity_rows(data)
    counts = {"received": 0, "inserted": 0, "updated": 0, "unchanged": 0, "history": 0}
    refused = all_or_nothing and bool(errors)
    if rows and not refused:
        with transaction.atomic():
            counts = services.opportunities_upsert(rows=rows)
    if refused:
        message = f"Nothing was loaded: {len(errors)} of {len(data)} rows failed (all_or_nothing)."
    else:
        message = (f"{counts['inserted']} inserted, {counts['updated']} updated, {counts['unchanged']} unchanged "
                   f"(already stored with the same values: re-sending them changes nothing)"
                   + (f"; {len(errors)} row{'s' if len(errors) != 1 else ''} failed and "
                      f"{'were' if len(errors) != 1 else 'was'} not loaded." if errors else "."))
    return {"mode": "all_or_nothing" if all_or_nothing else "partial", "total": len(data), "failed": len(errors),
            "loaded": counts["received"], "inserted": counts["inserted"], "updated": counts["updated"],
            "unchanged": counts["unchanged"], "history": counts["history"], "message": message, "rows": errors,
            "refused": refused}
