"""What every API view shares: CSV/Excel export, error mapping, and upsert by natural key."""
from __future__ import annotations

import csv
import io
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model, ProtectedError, RestrictedError
from rest_framework import exceptions, status
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer, as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from revops.tenancy import CrossTenantWrite

from . import upsert
from .renderers import EXPORT_FORMATS, CSVRenderer, XLSXRenderer


def csv_records(text: str) -> list[dict[str, str]]:
    """A CSV's rows as dicts by header (headers lower-cased, spaces as underscores; empty cells left out)."""
    return [{k.strip().lower().replace(" ", "_"): v.strip() for k, v in row.items()
             if k and v is not None and v.strip()} for row in csv.DictReader(io.StringIO(text))]


class CSVRowsParser(BaseParser):
    """``text/csv`` body for bulk endpoints: a header row, then one row per object (``csv_records``)."""

    media_type = "text/csv"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> list[dict[str, str]]:
        try:
            return csv_records(stream.read().decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise exceptions.ParseError("The CSV is not UTF-8 text (save it as CSV UTF-8).") from None


def query_flag(request: Request, name: str) -> bool:
    """A boolean query parameter (``1``, ``true``, ``yes``, ``on``)."""
    return str(request.query_params.get(name, "")).lower() in ("1", "true", "yes", "on")


def request_user(request: Request) -> Any:
    """The signed-in user, or None for an API key (services record who acted)."""
    return request.user if request.user.is_authenticated else None


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The change conflicts with existing data."
    default_code = "conflict"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus the Django and database errors a write can end in, as 400/409."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, ProtectedError | RestrictedError):
        blocking = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
        exc = Conflict(
            f"Still referenced by {len(blocking)} other record(s) (e.g. {next(iter(blocking), '')}); "
            "reassign or remove those first."
        )
    elif isinstance(exc, CrossTenantWrite):
        exc = exceptions.ValidationError({"non_field_errors": ["Refers to a record that does not exist."]})
    elif isinstance(exc, IntegrityError):
        exc = Conflict("Conflicts with existing data (a uniqueness or overlap rule); re-read and try again.")
    return exception_handler(exc, context)


class ApiViewMixin:
    """Base of every viewset: export renderers, unpaginated exports, the error mapping."""

    renderer_classes = [*api_settings.DEFAULT_RENDERER_CLASSES, CSVRenderer, XLSXRenderer]
    request: Request
    action: str | None

    def get_exception_handler(self) -> Any:
        return api_exception_handler

    def get_renderers(self) -> list[Any]:
        # Exports are downloads of reads; a write answers in JSON (or the browsable API).
        renderers = super().get_renderers()  # type: ignore[misc]
        if getattr(self.request, "method", "GET") not in ("GET", "HEAD"):
            renderers = [r for r in renderers if r.format not in EXPORT_FORMATS]
        return renderers

    def is_export(self) -> bool:
        renderer = getattr(self.request, "accepted_renderer", None)
        return getattr(renderer, "format", None) in EXPORT_FORMATS

    def paginate_queryset(self, queryset: Any) -> Any:
        # An export is every row the filters select, not one page of them.
        if self.is_export():
            return None
        return super().paginate_queryset(queryset)  # type: ignore[misc]

    def export_fields(self) -> dict[str, Any]:
        """Columns of an export: the serializer's readable fields, for list and detail views."""
        if getattr(self, "action", None) not in ("list", "retrieve"):
            return {}
        serializer = self.get_serializer()  # type: ignore[attr-defined]
        return {name: field for name, field in serializer.fields.items() if not field.write_only}


class UpsertMixin:
    """Create-or-update by a natural key (``upsert_key``) for integrators syncing another system.

    Subclasses route ``upsert_one`` / ``upsert_many`` from their own actions (the URL names the
    key). Every write, single or bulk, goes through ``save_serializer``.
    """

    upsert_key: str = ""
    bulk_upsert_limit = 1000
    request: Request

    def save_serializer(self, serializer: BaseSerializer) -> Model:
        return serializer.save()

    def perform_create(self, serializer: BaseSerializer) -> None:
        self.save_serializer(serializer)

    def perform_update(self, serializer: BaseSerializer) -> None:
        self.save_serializer(serializer)

    def get_by_key(self, key: str) -> Model:
        from django.shortcuts import get_object_or_404

        obj = get_object_or_404(self.get_queryset(), **{self.upsert_key: key})  # type: ignore[attr-defined]
        self.check_object_permissions(self.request, obj)  # type: ignore[attr-defined]
        return obj

    def by_key(self, request: Request, key: str) -> Response:
        """GET reads, PUT creates or replaces, PATCH updates an existing row, by natural key."""
        if request.method in ("GET", "HEAD"):
            return Response(self.get_serializer(self.get_by_key(key)).data)  # type: ignore[attr-defined]
        if request.method == "PATCH":
            instance = self.get_by_key(key)
            data = upsert.row_with_key(request.data, self.upsert_key, key)
            serializer = self.get_serializer(instance, data=data, partial=True)  # type: ignore[attr-defined]
            serializer.is_valid(raise_exception=True)
            with transaction.atomic():
                self.save_serializer(serializer)
            return Response(serializer.data)
        instance = self.get_queryset().filter(**{self.upsert_key: key}).first()  # type: ignore[attr-defined]
        data = upsert.row_with_key(request.data, self.upsert_key, key)
        serializer = self.get_serializer(instance, data=data)  # type: ignore[attr-defined]
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            self.save_serializer(serializer)
        return Response(serializer.data, status=status.HTTP_200_OK if instance else status.HTTP_201_CREATED)

    def upsert_many(self, request: Request) -> Response:
        flag = str(request.query_params.get("all_or_nothing", "")).lower()
        mode = upsert.ALL_OR_NOTHING if flag in ("1", "true", "yes", "on") else upsert.PARTIAL
        result = upsert.bulk_upsert(
            rows=request.data,
            key_field=self.upsert_key,
            queryset=self.get_queryset(),  # type: ignore[attr-defined]
            make_serializer=lambda instance, data: self.get_serializer(instance, data=data),  # type: ignore[attr-defined]
            save=self.save_serializer,
            mode=mode,
            limit=self.bulk_upsert_limit,
        )
        failed = mode == upsert.ALL_OR_NOTHING and result["failed"]
        return Response(result, status=status.HTTP_400_BAD_REQUEST if failed else status.HTTP_200_OK)


BULK_UPSERT_DESCRIPTION = """Create or update many rows in one request, matched by `{key}`.

The body is a JSON array of at most {limit} objects, each a full record as for `PUT
.../by-{slug}/{{{key}}}/` (required fields required). Every row is validated first; a row
without `{key}`, or repeating one an earlier row used, fails.

**Default (`partial`)**: the rows that validate are written in one transaction (each in its own
savepoint, so a row the database refuses at write time fails alone) and committed; rows that
fail are reported by `index` with their `errors`, and nothing is written for them. The status is
200 even when some rows failed: read `failed` and `rows`.

**`?all_or_nothing=true`**: nothing is written unless every row validates and writes; the answer
is then 400 with the same per-row report (`not_written` for the rows that were fine).
"""
