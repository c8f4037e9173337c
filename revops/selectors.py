"""Reads of shared data: memberships, the effective-dated reporting hierarchy, jobs."""
from __future__ import annotations

from datetime import date
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from revops.models import AuditEvent, Job, Membership, Person, ReportingLine
from revops.tenancy import cross_tenant_access, require_tenant_id


def memberships_for_user(*, user: Any) -> list[Membership]:
    """The user's active memberships in every organization (for sign-in and the switcher)."""
    with cross_tenant_access("list the signed-in user's own memberships"):
        return list(
            Membership.objects.unscoped()
            .select_related("tenant")
            .filter(user_id=user.pk, is_active=True)
            .order_by("tenant__name")
        )


def people_active_on(*, on: date) -> QuerySet[Person]:
    return Person.objects.filter(hire_date__lte=on).filter(
        Q(termination_date__isnull=True) | Q(termination_date__gte=on)
    )


def reporting_lines_on(*, on: date) -> QuerySet[ReportingLine]:
    return ReportingLine.objects.filter(valid_from__lte=on).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=on))


def manager_of(*, person: Person, on: date) -> Person | None:
    line = reporting_lines_on(on=on).filter(person=person).select_related("manager").first()
    return line.manager if line else None


def reports_of(*, manager: Person, on: date, direct_only: bool = False) -> list[int]:
    """Ids of the people under ``manager`` on ``on`` (all levels unless ``direct_only``).

    One recursive query over the effective-dated lines; row-level security and the explicit
    tenant predicate keep it inside the active organization.
    """
    tenant_id = require_tenant_id()
    if direct_only:
        return list(reporting_lines_on(on=on).filter(manager=manager).values_list("person_id", flat=True))
    sql = """
        WITH RECURSIVE tree(person_id, depth) AS (
            SELECT person_id, 1 FROM revops_reportingline
             WHERE tenant_id = %(t)s AND manager_id = %(m)s
               AND valid_from <= %(d)s AND (valid_to IS NULL OR valid_to > %(d)s)
            UNION
            SELECT r.person_id, tree.depth + 1 FROM revops_reportingline r
              JOIN tree ON r.manager_id = tree.person_id
             WHERE r.tenant_id = %(t)s AND r.valid_from <= %(d)s
               AND (r.valid_to IS NULL OR r.valid_to > %(d)s) AND tree.depth < 64
        )
        SELECT DISTINCT person_id FROM tree
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"t": tenant_id, "m": manager.pk, "d": on})
        return [row[0] for row in cursor.fetchall()]


def chain_of_command(*, person: Person, on: date) -> list[Person]:
    """The person's managers on ``on``, nearest first (stops at a cycle)."""
    chain: list[Person] = []
    seen = {person.pk}
    current = manager_of(person=person, on=on)
    while current is not None and current.pk not in seen:
        chain.append(current)
        seen.add(current.pk)
        current = manager_of(person=current, on=on)
    return chain


def audit_events(*, model: str | None = None, object_pk: str | None = None) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.select_related("actor_user")
    if model:
        qs = qs.filter(model=model)
    if object_pk:
        qs = qs.filter(object_pk=object_pk)
    return qs


def recent_jobs(*, limit: int = 20) -> QuerySet[Job]:
    return Job.objects.all()[:limit]
