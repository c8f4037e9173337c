"""Bulk upsert by natural key (an account's external_id, a person's employee_id) for integrators.

Behaviour, as the endpoint documents it:

1. The body is a JSON array of objects, at most ``limit`` of them; anything else is a 400 for
   the whole request.
2. Every row is validated before anything is written, exactly as a single write would be:
   an existing row with the same key (in the calling organization) is updated with PUT
   semantics (required fields required), a new key creates a row. A row without a key, or with
   a key an earlier row of the same request already used, fails.
3. ``partial`` mode (the default): the rows that validated are written in ONE transaction, each
   in its own savepoint, so a row the database refuses at write time (a uniqueness race) fails
   alone; the failed rows are reported by index with their errors, the others are committed.
   ``all_or_nothing`` mode: if any row fails validation or writing, nothing is written.
4. The answer lists every row: index, key, status (created / updated / failed / not_written),
   id and errors.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from rest_framework import serializers
from rest_framework.serializers import as_serializer_error

CREATED, UPDATED, FAILED, NOT_WRITTEN = "created", "updated", "failed", "not_written"
PARTIAL, ALL_OR_NOTHING = "partial", "all_or_nothing"


@dataclass
class RowResult:
    index: int
    key: str | None
    status: str
    id: int | None = None
    errors: Any = None


class _RollBack(Exception):
    """Raised inside the write transaction to undo it (all-or-nothing mode)."""


def row_with_key(row: Any, key_field: str, key: str) -> dict[str, Any]:
    """A single upsert's body with the key from the URL filled in (a different key is refused)."""
    if not isinstance(row, Mapping):
        raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
    data = dict(row.items())
    given = data.get(key_field)
    if given not in (None, "") and str(given) != key:
        raise serializers.ValidationError({key_field: [f"Does not match the {key_field} in the URL ({key})."]})
    data[key_field] = key
    return data


def bulk_upsert(
    *,
    rows: Any,
    key_field: str,
    queryset: QuerySet,
    make_serializer: Callable[[Model | None, dict[str, Any]], serializers.BaseSerializer],
    save: Callable[[serializers.BaseSerializer], Model],
    mode: str = PARTIAL,
    limit: int = 1000,
) -> dict[str, Any]:
    if not isinstance(rows, list):
        raise serializers.ValidationError({"non_field_errors": ["Expected a JSON array of objects."]})
    if len(rows) > limit:
        raise serializers.ValidationError(
            {"non_field_errors": [f"At most {limit} rows per request; got {len(rows)}. Send several requests."]}
        )
    results: list[RowResult] = []
    first_index_of: dict[str, int] = {}
    keyed: list[tuple[int, str, dict[str, Any]]] = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            results.append(RowResult(index, None, FAILED, errors={"non_field_errors": ["Expected a JSON object."]}))
            continue
        key = str(row.get(key_field) or "").strip()
        if not key:
            results.append(RowResult(index, None, FAILED, errors={key_field: ["Required to upsert a row."]}))
            continue
        if key in first_index_of:
            results.append(RowResult(index, key, FAILED, errors={
                key_field: [f"Row {first_index_of[key]} of this request has the same {key_field}."]
            }))
            continue
        first_index_of[key] = index
        keyed.append((index, key, {**row, key_field: key}))

    existing = {getattr(obj, key_field): obj for obj in queryset.filter(**{f"{key_field}__in": list(first_index_of)})}
    valid: list[tuple[int, str, serializers.BaseSerializer, bool]] = []
    for index, key, data in keyed:
        instance = existing.get(key)
        serializer = make_serializer(instance, data)
        if serializer.is_valid():
            valid.append((index, key, serializer, instance is not None))
        else:
            results.append(RowResult(index, key, FAILED, errors=dict(serializer.errors)))

    written: list[RowResult] = []
    if mode == ALL_OR_NOTHING and results:
        written = [RowResult(i, k, NOT_WRITTEN) for i, k, _, _ in valid]
    else:
        try:
            with transaction.atomic():
                for index, key, serializer, existed in valid:
                    try:
                        with transaction.atomic():
                            obj = save(serializer)
                    except (IntegrityError, DjangoValidationError) as exc:
                        errors = (as_serializer_error(exc) if isinstance(exc, DjangoValidationError)
                                  else {"non_field_errors": ["Conflicts with existing data (a uniqueness or overlap rule)."]})
                        written.append(RowResult(index, key, FAILED, errors=errors))
                        continue
                    written.append(RowResult(index, key, UPDATED if existed else CREATED, id=obj.pk))
                if mode == ALL_OR_NOTHING and any(r.status == FAILED for r in written):
                    raise _RollBack
        except _RollBack:
            written = [r if r.status == FAILED else RowResult(r.index, r.key, NOT_WRITTEN) for r in written]

    results.extend(written)
    results.sort(key=lambda r: r.index)
    return {
        "mode": mode,
        "total": len(rows),
        "created": sum(r.status == CREATED for r in results),
        "updated": sum(r.status == UPDATED for r in results),
        "failed": sum(r.status == FAILED for r in results),
        "rows": [vars(r).copy() for r in results],
    }
