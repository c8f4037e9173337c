"""Tenant scoping: the active organization, the fail-closed manager and the RLS plumbing.

Three layers keep one organization's rows away from another's:

1. ``TenantManager`` adds ``tenant_id = <active tenant>`` to every query. The value is resolved
   when the SQL is compiled, so a queryset evaluated with no active tenant raises
   ``NoActiveTenant`` instead of returning everything (fail-closed).
2. ``revops.dbbackend`` sets the transaction-local settings ``app.tenant_id`` (and
   ``app.rls_bypass`` inside ``cross_tenant_access``) before every statement.
3. Postgres row-level security, ENABLEd and FORCEd on every tenant table by the migrations
   (``EnableRowLevelSecurity``), filters on those settings. The application's role is neither
   superuser nor BYPASSRLS, so even raw SQL sees only the active tenant's rows.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.migrations.operations.base import Operation
from django.db.models.expressions import Expression

logger = logging.getLogger(__name__)

_current_tenant: ContextVar[int | None] = ContextVar("revops_tenant_id", default=None)
_bypass_reason: ContextVar[str | None] = ContextVar("revops_rls_bypass", default=None)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, an API key, or the system (tasks, seeding)."""

    user_id: int | None = None
    api_key_id: int | None = None
    label: str = "system"


_current_actor: ContextVar[Actor] = ContextVar("revops_actor", default=Actor())


class NoActiveTenant(RuntimeError):
    """A tenant-owned table was queried with no active organization."""


class CrossTenantWrite(RuntimeError):
    """A row would be written to, or point at, another organization than the active one."""


def current_tenant_id() -> int | None:
    return _current_tenant.get()


def require_tenant_id() -> int:
    tenant_id = _current_tenant.get()
    if tenant_id is None:
        raise NoActiveTenant(
            "No active organization. Wrap the work in revops.tenancy.tenant_context(...)."
        )
    return tenant_id


def rls_bypass_active() -> bool:
    return _bypass_reason.get() is not None


def _tenant_pk(tenant: Any) -> int:
    pk = getattr(tenant, "pk", tenant)
    if pk is None:
        raise ValueError("tenant has no primary key")
    return int(pk)


@contextmanager
def tenant_context(tenant: Any) -> Iterator[int]:
    """Make ``tenant`` (an Organization or its id) the active organization inside the block."""
    token = _current_tenant.set(_tenant_pk(tenant))
    try:
        yield _current_tenant.get()  # type: ignore[misc]
    finally:
        _current_tenant.reset(token)


@contextmanager
def no_tenant() -> Iterator[None]:
    """Run a block with no active organization (tenant-owned queries then raise)."""
    token = _current_tenant.set(None)
    try:
        yield
    finally:
        _current_tenant.reset(token)


def activate_tenant(tenant: Any) -> None:
    """Set the active organization for the rest of the current request or task.

    Only for code that runs inside a frame that restores the previous value at its end:
    ``TenantMiddleware`` (API-key authentication happens inside the view) and ``TenantTask``.
    """
    _current_tenant.set(_tenant_pk(tenant))


@contextmanager
def cross_tenant_access(reason: str) -> Iterator[None]:
    """The loud escape hatch: lift row-level security for the block and log why.

    Use only for work that is cross-tenant by nature (listing a user's own memberships at
    sign-in, resolving an API key's organization, seeding demo data) and never around code
    that renders rows to a user.
    """
    if not reason.strip():
        raise ValueError("cross_tenant_access needs a reason")
    logger.info("cross-tenant access: %s", reason)
    token = _bypass_reason.set(reason)
    try:
        yield
    finally:
        _bypass_reason.reset(token)


def current_actor() -> Actor:
    return _current_actor.get()


@contextmanager
def actor_context(actor: Actor) -> Iterator[Actor]:
    token = _current_actor.set(actor)
    try:
        yield actor
    finally:
        _current_actor.reset(token)


def set_actor(actor: Actor) -> None:
    """Like ``activate_tenant``: for frames that restore the previous actor (middleware)."""
    _current_actor.set(actor)


def rls_settings() -> tuple[str, str]:
    """The values for ``app.tenant_id`` and ``app.rls_bypass`` in the current context."""
    tenant_id = _current_tenant.get()
    return ("" if tenant_id is None else str(tenant_id), "on" if rls_bypass_active() else "")


class CurrentTenantId(Expression):
    """SQL parameter for the active tenant, read when the query is compiled (fail-closed)."""

    output_field = models.BigIntegerField()

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[int]]:
        return "%s", [require_tenant_id()]


class TenantQuerySet(models.QuerySet):
    pass


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    """Default manager of every tenant-owned model: scoped to the active organization."""

    def get_queryset(self) -> TenantQuerySet:
        return super().get_queryset().filter(tenant_id=CurrentTenantId())

    def unscoped(self) -> TenantQuerySet:
        """All organizations' rows as far as the ORM is concerned.

        Row-level security still limits the result to the active tenant unless the caller is
        inside ``cross_tenant_access``; this only drops the ORM filter.
        """
        return super().get_queryset()


class TenantModel(models.Model):
    """Base of every tenant-owned table: a NOT NULL organization key, set from the context."""

    # No single-column index: every tenant table has a unique constraint or index that leads
    # with tenant_id (a test checks), which serves the RLS predicate without a second index
    # to maintain on bulk loads.
    tenant = models.ForeignKey(
        "revops.Organization", on_delete=models.CASCADE, related_name="+", editable=False, db_index=False
    )

    objects = TenantManager()

    class Meta:
        abstract = True
        # The base manager (related-object access, deletion cascades) stays a plain manager:
        # row-level security limits it to the active organization.

    def save(self, *args: Any, **kwargs: Any) -> None:
        active = current_tenant_id()
        if self.tenant_id is None:
            self.tenant_id = require_tenant_id()
        elif active is not None and self.tenant_id != active:
            raise CrossTenantWrite(
                f"{type(self).__name__} belongs to organization {self.tenant_id}, "
                f"the active organization is {active}"
            )
        self.check_same_tenant_relations()
        super().save(*args, **kwargs)

    def check_same_tenant_relations(self) -> None:
        """Every foreign key to another tenant-owned row must stay inside this organization."""
        for field in self._meta.concrete_fields:
            if not field.is_relation or field.name == "tenant":
                continue
            related_model = field.related_model
            if not (isinstance(related_model, type) and issubclass(related_model, TenantModel)):
                continue
            value = getattr(self, field.attname)
            if value is None:
                continue
            cached = field.get_cached_value(self, default=None)
            if cached is not None:
                if cached.tenant_id != self.tenant_id:
                    raise CrossTenantWrite(
                        f"{type(self).__name__}.{field.name} points at another organization's row"
                    )
                continue
            target = related_model._base_manager.filter(
                pk=value, tenant_id=self.tenant_id
            )
            if not target.exists():
                raise CrossTenantWrite(
                    f"{type(self).__name__}.{field.name}={value} is not a row of this organization"
                )


def tenant_models() -> list[type[TenantModel]]:
    from django.apps import apps

    return [
        m for m in apps.get_models() if issubclass(m, TenantModel) and not m._meta.proxy
    ]


# Each setting is read in a scalar sub-select, which Postgres evaluates once per statement (an
# InitPlan) instead of once per row: on a sequential scan of 2 million rows the per-row form
# spent two thirds of the query calling current_setting() (272 ms against 95 ms; the same
# test on the INSERT of 376,000 staged rows: 1.16 s against 0.91 s). Same rows either way.
RLS_PREDICATE = (
    "((SELECT current_setting('app.rls_bypass', true) = 'on')"
    " OR tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::bigint))"
)


def rls_sql(table: str) -> list[str]:
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"',
        f'CREATE POLICY tenant_isolation ON "{table}" USING {RLS_PREDICATE} '
        f"WITH CHECK {RLS_PREDICATE}",
    ]


class EnableRowLevelSecurity(Operation):
    """Migration operation: ENABLE + FORCE row-level security with the tenant policy."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__qualname__, [self.model_name], {})

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def _table(self, app_label: str, state: Any) -> str:
        return state.apps.get_model(app_label, self.model_name)._meta.db_table

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        for statement in rls_sql(self._table(app_label, to_state)):
            schema_editor.execute(statement)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        table = self._table(app_label, from_state)
        schema_editor.execute(f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"')
        schema_editor.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
        schema_editor.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')

    def describe(self) -> str:
        return f"Enable and force row-level security on {self.model_name}"

    @property
    def migration_name_fragment(self) -> str:
        return f"rls_{self.model_name.lower()}"


def each_organization_with_rows(table: str, action: Any) -> int:
    """Call ``action()`` inside the tenant context of every organization that has a row in ``table``, in id
    order: a data migration's backfill of a summary (``table`` is a trusted table name, not user input).
    Returns how many organizations it ran for."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM revops_organization ORDER BY id")
        organizations = [row[0] for row in cursor.fetchall()]
    done = 0
    for organization in organizations:
        with tenant_context(organization):
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE tenant_id = %s)", [organization])
                if not cursor.fetchone()[0]:
                    continue
            action()
            done += 1
    return done
