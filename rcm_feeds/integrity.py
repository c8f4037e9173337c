"""Set-based checks of the links that fact tables keep without a database constraint.

``rcm_feeds.models.fact_tenant`` / ``loader_link`` explain why those keys have no constraint
trigger (bulk-load speed) and what guards them instead. This module is the after-the-fact
guard: for every such link of every RCM model, the active organization's rows whose id points
at no row, or at a row the organization cannot see (another organization's: row-level
security hides it), are counted. ``manage.py rcm_integrity_check`` runs it for every
organization; the ingestion tests run it after each kind of load.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import connection
from psycopg import sql

from revops.tenancy import require_tenant_id


@dataclass(frozen=True)
class Link:
    table: str
    column: str
    parent_table: str
    parent_column: str

    @property
    def label(self) -> str:
        return f"{self.table}.{self.column} -> {self.parent_table}"


def unconstrained_links() -> list[Link]:
    """Every foreign key of an rcm_feeds model declared without a database constraint (tenant excluded)."""
    links = []
    for model in apps.get_app_config("rcm_feeds").get_models():
        for field in model._meta.concrete_fields:
            if not field.is_relation or field.db_constraint or field.column == "tenant_id":
                continue
            related = field.related_model
            links.append(Link(model._meta.db_table, field.column, related._meta.db_table,
                              field.target_field.column))
    return links


def integrity_problems() -> dict[str, int]:
    """``{link label: rows of the active organization with a dangling or foreign id}`` (empty when sound)."""
    tenant_id = require_tenant_id()
    problems: dict[str, int] = {}
    with connection.cursor() as cursor:
        for link in unconstrained_links():
            query = sql.SQL(
                "SELECT count(*) FROM {c} LEFT JOIN {p} ON {p}.{pk} = {c}.{col} "
                "WHERE {c}.tenant_id = %s AND {c}.{col} IS NOT NULL AND {p}.{pk} IS NULL"
            ).format(c=sql.Identifier(link.table), p=sql.Identifier(link.parent_table),
                     pk=sql.Identifier(link.parent_column), col=sql.Identifier(link.column))
            cursor.execute(query.as_string(connection.connection), [tenant_id])
            count = cursor.fetchone()[0]
            if count:
                problems[link.label] = count
    return problems
