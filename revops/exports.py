"""CSV and Excel downloads of rows or querysets (admin actions, the audit log, import errors).

Downloads are built while the request's organization is still active: ``export_response``
materialises the rows inside the view, and ``stream_csv_response`` re-enters the
organization in its generator, because a streaming body is iterated after
``TenantMiddleware`` has reset the tenant context (the scoped manager would then raise).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from revops.tenancy import require_tenant_id, tenant_context

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")

# A cell that starts with one of these is run as a formula by spreadsheet programs (CSV
# injection); such text is prefixed with an apostrophe in CSV and typed as text in Excel.
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """One exported column: a header and how to read the value from a row.

    ``value`` is an attribute path (``"team.name"``; dict rows are read by key) or a function
    of the row. ``get_<field>_display`` style callables are called.
    """

    header: str
    value: str | Callable[[Any], Any]

    def get(self, row: Any) -> Any:
        if callable(self.value):
            return self.value(row)
        current = row
        for part in self.value.split("."):
            if current is None:
                return None
            current = current.get(part) if isinstance(current, dict) else getattr(current, part, None)
            if callable(current) and not isinstance(current, models.Model):
                current = current()
        return current


def columns_for_model(model: type[models.Model], *, exclude: Iterable[str] = ("tenant",)) -> list[Column]:
    """Every concrete field of ``model`` except ``exclude``; choices as labels, relations by name."""
    skip = set(exclude)
    columns: list[Column] = []
    for field in model._meta.concrete_fields:
        if field.name in skip:
            continue
        header = field.name if field.name == "id" else str(field.verbose_name)
        if field.is_relation:
            columns.append(Column(header, field.name))
        elif field.choices:
            columns.append(Column(header, f"get_{field.name}_display"))
        else:
            columns.append(Column(header, field.attname))
    return columns


def related_fields(model: type[models.Model], columns: Sequence[Column]) -> list[str]:
    """Foreign keys the columns read, for ``select_related`` (one query instead of one per row)."""
    names = {c.value.split(".")[0] for c in columns if isinstance(c.value, str)}
    return [
        f.name for f in model._meta.concrete_fields
        if f.is_relation and f.many_to_one and f.name in names and f.name != "tenant"
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True)
    return value


def csv_cell(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(dt.timezone.utc)
        return value.isoformat()
    if isinstance(value, (dt.date, Decimal, int, float)):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_TRIGGERS) else text


def xlsx_value(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        # Excel has no time zones: write UTC wall time (the header says so).
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if value is None or isinstance(value, (bool, int, float, Decimal, dt.date, dt.time)):
        return value
    return str(value)


def table(rows: Iterable[Any], columns: Sequence[Column]) -> Iterator[list[Any]]:
    for row in rows:
        yield [column.get(row) for column in columns]


def csv_bytes(rows: Iterable[Any], columns: Sequence[Column]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([c.header for c in columns])
    for values in table(rows, columns):
        writer.writerow([csv_cell(v) for v in values])
    # A byte-order mark so Excel opens the file as UTF-8.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(rows: Iterable[Any], columns: Sequence[Column], *, sheet_title: str = "Export") -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31] or "Export")
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for values in table(rows, columns):
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=xlsx_value(value))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def export_filename(stem: str, fmt: str) -> str:
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    return f"{slugify(stem) or 'export'}-{stamp}.{fmt}"


def _attachment(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def export_response(*, rows: Iterable[Any], columns: Sequence[Column], stem: str, fmt: str) -> HttpResponse:
    """A CSV or XLSX download of ``rows`` (evaluated now, inside the active organization)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if isinstance(rows, models.QuerySet):
        rows = rows.select_related(*related_fields(rows.model, columns))
    if fmt == "csv":
        response = HttpResponse(csv_bytes(rows, columns), content_type=CSV_CONTENT_TYPE)
    else:
        response = HttpResponse(xlsx_bytes(rows, columns, sheet_title=stem), content_type=XLSX_CONTENT_TYPE)
    return _attachment(response, export_filename(stem, fmt))


class _Echo:
    def write(self, value: str) -> str:
        return value


def stream_csv_response(
    *, queryset: models.QuerySet, columns: Sequence[Column], stem: str, chunk_size: int = 2000
) -> StreamingHttpResponse:
    """A CSV download of a large queryset, read in primary-key order one chunk at a time.

    The generator runs after the middleware reset the tenant context, so it re-enters the
    organization that was active when the response was built; each chunk is its own query
    (keyset pagination), so no cursor has to outlive a transaction.
    """
    tenant_id = require_tenant_id()
    queryset = queryset.select_related(*related_fields(queryset.model, columns)).order_by("pk")
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff" + writer.writerow([c.header for c in columns])
        last_pk: Any = None
        with tenant_context(tenant_id):
            while True:
                chunk = queryset if last_pk is None else queryset.filter(pk__gt=last_pk)
                batch = list(chunk[:chunk_size])
                if not batch:
                    return
                for row in batch:
                    yield writer.writerow([csv_cell(column.get(row)) for column in columns])
                last_pk = batch[-1].pk

    response = StreamingHttpResponse(lines(), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{export_filename(stem, "csv")}"'
    response["Cache-Control"] = "no-store"
    return response
