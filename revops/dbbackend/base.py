"""Django's PostgreSQL backend plus the transaction-local RLS settings on every statement.

Before each statement the backend runs ``set_config('app.tenant_id', <active tenant>, true)``
(and ``app.rls_bypass``) in the same transaction. Inside an atomic block that is the block's
transaction; in autocommit mode the statement is wrapped in a short transaction of its own so
the transaction-local value applies to it. The settings are re-sent for every statement
rather than cached, so a rolled-back savepoint or a tenant switch inside one transaction can
never leave a stale organization in force.
"""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.backends.postgresql import base


SET_RLS_SQL = "SELECT set_config('app.tenant_id', %s, true), set_config('app.rls_bypass', %s, true)"


def rls_settings() -> tuple[str, str]:
    # Imported late: revops.tenancy defines models, which need this backend loaded first.
    from revops.tenancy import rls_settings as current

    return current()


def _apply(connection: Any) -> None:
    connection.connection.execute(SET_RLS_SQL, rls_settings(), prepare=False)


# Transaction control that Django sends through the cursor: never precede it with
# set_config (after an error the transaction is aborted until the savepoint is rolled back).
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def rls_execute_wrapper(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    connection = context["connection"]
    if isinstance(sql, str) and sql.lstrip().upper().startswith(TRANSACTION_CONTROL):
        return execute(sql, params, many, context)
    if connection.in_atomic_block or not connection.get_autocommit():
        _apply(connection)
        return execute(sql, params, many, context)
    tenant_id, bypass = rls_settings()
    if not tenant_id and not bypass:
        return execute(sql, params, many, context)
    with transaction.atomic(using=connection.alias):
        _apply(connection)
        return execute(sql, params, many, context)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.execute_wrappers.append(rls_execute_wrapper)

    def apply_rls_settings(self) -> None:
        """For raw psycopg work (COPY) that bypasses execute wrappers: call inside atomic."""
        self.ensure_connection()
        _apply(self)
