"""CSV and Excel renderers: any endpoint's data (a list's every filtered row) as a download."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from rest_framework.renderers import BaseRenderer

EXPORT_FORMATS = ("csv", "xlsx")


FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def _cell(value: Any) -> Any:
    """One value as a spreadsheet cell: nested data as JSON, None as empty.

    Text that a spreadsheet would run as a formula (an account named ``=HYPERLINK(...)`` synced
    from a CRM) is prefixed with an apostrophe, the OWASP "CSV injection" defence; negative
    numbers are left alone.
    """
    if value is None:
        return ""
    if isinstance(value, Mapping | list | tuple):
        value = json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True)
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _is_number(value):
        return "'" + value
    return value


def tabulate(data: Any, columns: Sequence[str] | None) -> tuple[list[str], list[list[Any]]]:
    """Header and rows for ``data``: a list of objects, one object, or a paginated page."""
    if isinstance(data, Mapping) and isinstance(data.get("results"), list):
        data = data["results"]
    records: list[Mapping[str, Any]]
    if isinstance(data, Mapping):
        records = [data]
    elif isinstance(data, Iterable) and not isinstance(data, str | bytes):
        records = [r if isinstance(r, Mapping) else {"value": r} for r in data]
    else:
        records = [{"value": data}]
    header = list(columns or [])
    if not header or (records and not set(records[0]) <= set(header)):
        # Error bodies and other shapes than the serializer's: take the keys as they come.
        header = []
        for record in records:
            header.extend(k for k in record if k not in header)
    return header, [[_cell(r.get(k)) for k in header] for r in records]


def export_fields(renderer_context: Mapping[str, Any] | None) -> dict[str, Any]:
    """Column name -> serializer field, from the view (``export_fields``), in serializer order."""
    view = (renderer_context or {}).get("view")
    fields = getattr(view, "export_fields", None)
    return dict(fields()) if callable(fields) else {}


def set_download_name(renderer_context: Mapping[str, Any] | None, extension: str) -> None:
    context = renderer_context or {}
    response, view = context.get("response"), context.get("view")
    if response is None or response.status_code >= 400:
        return
    name = getattr(view, "export_name", None) or getattr(view, "basename", None) or "export"
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{extension}"'


class CSVRenderer(BaseRenderer):
    """``?format=csv``: RFC 4180 CSV with a header row, UTF-8 with a BOM so Excel reads accents."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Mapping[str, Any] | None = None) -> bytes:
        if data is None:
            return b""
        header, rows = tabulate(data, list(export_fields(renderer_context)))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
        set_download_name(renderer_context, "csv")
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")


class XLSXRenderer(BaseRenderer):
    """``?format=xlsx``: one worksheet, header row first; numbers and dates stay typed."""

    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Mapping[str, Any] | None = None) -> bytes:
        from openpyxl import Workbook

        if data is None:
            return b""
        fields = export_fields(renderer_context)
        header, rows = tabulate(data, list(fields))
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title="export")
        sheet.append(header)
        for row in rows:
            sheet.append([_typed(v, fields.get(k)) for k, v in zip(header, row, strict=True)])
        buffer = io.BytesIO()
        workbook.save(buffer)
        set_download_name(renderer_context, "xlsx")
        return buffer.getvalue()


def _typed(value: Any, field: Any) -> Any:
    """Serialized text back to a number or date where the serializer field says it is one."""
    from rest_framework import serializers

    if not isinstance(value, str) or not value:
        return value
    try:
        if isinstance(field, serializers.DecimalField):
            return Decimal(value)
        if isinstance(field, serializers.DateField):
            return date.fromisoformat(value)
    except (ArithmeticError, ValueError):
        return value
    return value
