"""The audit log (admin, executive): filter, field-by-field differences, pagination, export."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from revops import selectors
from revops.access import require_access
from revops.exports import Column, export_response, stream_csv_response
from revops.forms import AuditEventFilter
from revops.models import AuditEvent
from revops.models.audit import AuditAction

PAGE_SIZE = 50
# Stored for the record but never displayed or exported in the clear.
MASKED_FIELDS = frozenset({"key_hash", "phi_salt", "password"})
HIDDEN_ON_CREATE = frozenset({"id"})


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str
    after: str


def _shown(field: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    if field in MASKED_FIELDS:
        return "(hidden)"
    if isinstance(value, (dict, list)):
        return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True)
    return str(value)


def event_changes(event: AuditEvent) -> list[FieldChange]:
    """What the event changed, one row per field (all set fields for a create or delete)."""
    before, after = event.before or {}, event.after or {}
    if event.action == AuditAction.UPDATE and event.object_pk != "*":
        fields = list(event.changed_fields)
    else:
        fields = [f for f in {**before, **after} if f not in HIDDEN_ON_CREATE
                  and (before.get(f) not in (None, "") or after.get(f) not in (None, ""))]
    return [FieldChange(f, _shown(f, before.get(f)), _shown(f, after.get(f))) for f in fields]


def _filtered(request: HttpRequest) -> AuditEventFilter:
    return AuditEventFilter(request.GET or None, queryset=selectors.audit_events())


@require_access("audit")
def audit_log(request: HttpRequest) -> HttpResponse:
    filterset = _filtered(request)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"event": event, "changes": event_changes(event)} for event in page.object_list]
    filtered = any(value for key, value in request.GET.items() if key != "page")
    context = {"filter": filterset, "page": page, "rows": rows, "filtered": filtered}
    template = "revops/audit/list.html#results" if request.htmx else "revops/audit/list.html"  # type: ignore[attr-defined]
    return render(request, template, context)


def _changes_text(event: AuditEvent) -> str:
    return "; ".join(f"{c.field}: {c.before or '-'} -> {c.after or '-'}" for c in event_changes(event))


EXPORT_COLUMNS = [
    Column("When (UTC)", "at"),
    Column("Actor", "actor_label"),
    Column("Action", "get_action_display"),
    Column("Record type", "model"),
    Column("Record id", "object_pk"),
    Column("Record", "object_repr"),
    Column("Changed fields", lambda e: ", ".join(e.changed_fields)),
    Column("Changes", _changes_text),
]


@require_access("audit")
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    """The filtered log as CSV (streamed: it can be long) or Excel."""
    queryset = _filtered(request).qs
    if request.GET.get("format") == "xlsx":
        return export_response(rows=queryset, columns=EXPORT_COLUMNS, stem="audit-log", fmt="xlsx")
    return stream_csv_response(queryset=queryset, columns=EXPORT_COLUMNS, stem="audit-log")
