"""Writes of shared data: organizations, memberships, API keys, the reporting hierarchy."""
from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from revops import selectors
from revops.authentication import hash_secret
from revops.models import ApiKey, Membership, Organization, Person, ReportingLine, Role
from revops.tenancy import cross_tenant_access, require_tenant_id, tenant_context


@transaction.atomic
def organization_create(*, name: str, kind: str, slug: str | None = None, ekra_covered: bool = False,
                        fiscal_year_start_month: int = 1, admin_user: Any | None = None) -> Organization:
    org = Organization.objects.create(
        name=name,
        slug=slug or slugify(name)[:60],
        kind=kind,
        ekra_covered=ekra_covered,
        fiscal_year_start_month=fiscal_year_start_month,
    )
    if admin_user is not None:
        with tenant_context(org):
            membership_upsert(user=admin_user, role=Role.ADMIN)
    return org


def organization_delete(*, organization: Organization) -> None:
    """Delete an organization and everything it owns (its audit trail included).

    Each tenant table is emptied with one DELETE: foreign keys are checked at commit
    (Django makes them DEFERRABLE INITIALLY DEFERRED), so PROTECT between the organization's
    own rows (reporting lines, team parents) cannot block it, and a million accounts are not
    loaded into Python to send signals that would only audit rows about to vanish. Its
    schedules' beat entries live in global tables and are deleted explicitly.
    """
    from django_celery_beat.models import PeriodicTask

    from revops.audit import audit_suppressed
    from revops.models import TenantSchedule
    from revops.tenancy import tenant_models

    with transaction.atomic(), cross_tenant_access(f"delete organization {organization.pk}"), \
            tenant_context(organization), audit_suppressed("organization deleted"):
        beat_ids = list(TenantSchedule.objects.exclude(periodic_task=None).values_list("periodic_task_id", flat=True))
        PeriodicTask.objects.filter(pk__in=beat_ids).delete()
        with connection.cursor() as cursor:
            for model in tenant_models():
                cursor.execute(f'DELETE FROM "{model._meta.db_table}" WHERE tenant_id = %s', [organization.pk])
        organization.delete()


@transaction.atomic
def membership_upsert(*, user: Any, role: str, person: Person | None = None, is_active: bool = True) -> Membership:
    """Give ``user`` ``role`` in the active organization (creating the membership if needed)."""
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    membership = Membership.objects.filter(user=user).first()
    if membership is None:
        membership = Membership(user=user)
    membership.role = role
    membership.person = person
    membership.is_active = is_active
    membership.save()
    return membership


@transaction.atomic
def user_invite(*, username: str, email: str, role: str, password: str | None = None,
                first_name: str = "", last_name: str = "") -> Membership:
    """Create (or reuse) a login and give it a role in the active organization."""
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username, defaults={"email": email, "first_name": first_name, "last_name": last_name}
    )
    if created:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    return membership_upsert(user=user, role=role)


def api_key_create(*, name: str, created_by: Any | None = None) -> tuple[ApiKey, str]:
    """Create an integrator key for the active organization; the full key is returned once."""
    require_tenant_id()
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(name=name, prefix=prefix, key_hash=hash_secret(secret), created_by=created_by)
    key.save()
    return key, f"{prefix}.{secret}"


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


@transaction.atomic
def reporting_line_assign(*, person: Person, manager: Person | None, valid_from: date) -> ReportingLine | None:
    """From ``valid_from`` on, ``person`` reports to ``manager`` (None: to nobody).

    The line in force that day is closed at ``valid_from``; later lines are left alone, so a
    future-dated change can be planned ahead. A manager who (on that date) reports, directly
    or not, to ``person`` is refused: the hierarchy stays a tree.
    """
    if manager is not None:
        if manager.pk == person.pk:
            raise ValidationError("A person cannot report to themselves.")
        if manager.pk in selectors.reports_of(manager=person, on=valid_from):
            raise ValidationError(f"{manager} reports to {person} on {valid_from}; that would make a cycle.")
    lines = ReportingLine.objects.select_for_update().filter(person=person)
    current = selectors.reporting_lines_on(on=valid_from).filter(person=person).first()
    if current is not None:
        if current.valid_from == valid_from:
            current.delete()
        else:
            current.valid_to = valid_from
            current.save(update_fields=["valid_to"])
    if manager is None:
        return None
    following = lines.filter(valid_from__gt=valid_from).order_by("valid_from").first()
    line = ReportingLine(
        person=person,
        manager=manager,
        valid_from=valid_from,
        valid_to=following.valid_from if following else None,
    )
    line.full_clean(exclude=["tenant"])
    line.save()
    return line


def person_terminate(*, person: Person, on: date) -> Person:
    """Set the termination date and end the person's reporting lines the day after."""
    with transaction.atomic():
        person.termination_date = on
        person.full_clean(exclude=["tenant"])
        person.save()
        day_after = on + timedelta(days=1)
        for line in ReportingLine.objects.filter(person=person, valid_to__isnull=True, valid_from__lt=day_after):
            line.valid_to = day_after
            line.save(update_fields=["valid_to"])
    return person
