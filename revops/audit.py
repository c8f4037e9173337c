"""The audit trail, built once for every app: register a model and its writes are recorded.

``audited(Model)`` hooks save and delete signals so every create, update and delete through
the ORM becomes an ``AuditEvent`` with the active actor, organization and before/after values.
Bulk writes (``bulk_create``, ``QuerySet.update``, COPY) bypass signals: services that use
them call ``audit_bulk`` with a summary.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.fields.files import FieldFile
from django.db.models.signals import post_delete, post_save, pre_save

from revops.models import AuditEvent
from revops.models.audit import AuditAction
from revops.tenancy import current_actor

AUDITED: set[type[models.Model]] = set()
_suppressed: ContextVar[str | None] = ContextVar("revops_audit_suppressed", default=None)


@contextmanager
def audit_suppressed(reason: str) -> Iterator[None]:
    """Skip per-row audit events: only for deleting a whole organization, whose trail goes too."""
    token = _suppressed.set(reason)
    try:
        yield
    finally:
        _suppressed.reset(token)


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The row's stored values as JSON-safe data (Decimal and dates become strings)."""
    data = {f.attname: f.value_from_object(instance) for f in instance._meta.concrete_fields}
    data.pop("tenant_id", None)
    for key, value in data.items():
        if isinstance(value, FieldFile):  # an uploaded file: its stored name
            data[key] = value.name or ""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _record(
    *, tenant_id: int, action: str, model_label: str, object_pk: Any, object_repr: str,
    before: dict[str, Any] | None, after: dict[str, Any] | None,
) -> AuditEvent | None:
    if _suppressed.get() is not None:
        return None
    changed = sorted(k for k in set(before or {}) | set(after or {}) if (before or {}).get(k) != (after or {}).get(k))
    if action == AuditAction.UPDATE and not changed:
        return None
    actor = current_actor()
    event = AuditEvent(
        tenant_id=tenant_id,
        actor_user_id=actor.user_id,
        actor_api_key_id=actor.api_key_id,
        actor_label=actor.label[:200],
        action=action,
        model=model_label,
        object_pk=str(object_pk),
        object_repr=object_repr[:300],
        before=before,
        after=after,
        changed_fields=changed,
    )
    event.save()
    return event


def _pre_save(sender: type[models.Model], instance: models.Model, raw: bool = False, **_: Any) -> None:
    instance._audit_before = None  # type: ignore[attr-defined]
    if raw or instance.pk is None:
        return
    old = sender._base_manager.filter(pk=instance.pk).first()
    instance._audit_before = snapshot(old) if old is not None else None  # type: ignore[attr-defined]


def _post_save(sender: type[models.Model], instance: models.Model, created: bool, raw: bool = False, **_: Any) -> None:
    if raw:
        return
    before = None if created else getattr(instance, "_audit_before", None)
    _record(
        tenant_id=instance.tenant_id,  # type: ignore[attr-defined]
        action=AuditAction.CREATE if created or before is None else AuditAction.UPDATE,
        model_label=sender._meta.label,
        object_pk=instance.pk,
        object_repr=str(instance),
        before=before,
        after=snapshot(instance),
    )


def _post_delete(sender: type[models.Model], instance: models.Model, **_: Any) -> None:
    _record(
        tenant_id=instance.tenant_id,  # type: ignore[attr-defined]
        action=AuditAction.DELETE,
        model_label=sender._meta.label,
        object_pk=instance.pk,
        object_repr=str(instance),
        before=snapshot(instance),
        after=None,
    )


def audited(model: type[models.Model]) -> type[models.Model]:
    """Record every ORM create/update/delete of ``model`` (usable as a class decorator)."""
    if model in AUDITED:
        return model
    uid = f"audit:{model._meta.label}"
    pre_save.connect(_pre_save, sender=model, dispatch_uid=uid + ":pre")
    post_save.connect(_post_save, sender=model, dispatch_uid=uid + ":post")
    post_delete.connect(_post_delete, sender=model, dispatch_uid=uid + ":delete")
    AUDITED.add(model)
    return model


def audit_bulk(*, model: type[models.Model], action: str, summary: dict[str, Any], tenant_id: int) -> AuditEvent | None:
    """One audit event for a bulk write that bypassed signals (imports, COPY loads)."""
    return _record(
        tenant_id=tenant_id,
        action=action,
        model_label=model._meta.label,
        object_pk="*",
        object_repr=f"bulk {action} of {model._meta.verbose_name_plural}",
        before=None,
        after=summary,
    )
