"""Shared fixtures: two organizations unlike each other, each with a user of every role."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from revops import jobs, schedules, services
from revops.middleware import SESSION_ORG_KEY
from revops.models import (
    Account,
    AuditEvent,
    Facility,
    Organization,
    Payer,
    Person,
    Program,
    ReportingLine,
    Role,
    ServiceLine,
    Team,
    TenantSchedule,
)
from revops.tenancy import tenant_context

PASSWORD = "correct-horse-battery-staple"


@dataclass
class Tenant:
    """One organization of the test world, with a user per role and a row of each kind."""

    org: Organization
    users: dict[str, Any] = field(default_factory=dict)
    objects: dict[str, Any] = field(default_factory=dict)
    api_key: str = ""

    _clients: dict[tuple[str, str | None], Any] = field(default_factory=dict)

    def client(self, role: str) -> Client:
        """A browser-like client signed in as this organization's user of ``role`` (one per role)."""
        if ("page", role) in self._clients:
            return self._clients[("page", role)]
        c = self._clients[("page", role)] = Client()
        c.force_login(self.users[role])
        session = c.session
        session[SESSION_ORG_KEY] = self.org.pk
        session.save()
        return c

    def api(self, role: str | None = None) -> APIClient:
        """An API client: signed in with a session as ``role``, or with the org's API key."""
        if ("api", role) in self._clients:
            return self._clients[("api", role)]
        c = self._clients[("api", role)] = APIClient()
        if role is None:
            c.credentials(HTTP_AUTHORIZATION=f"Api-Key {self.api_key}")
        else:
            c.force_login(self.users[role])
            session = c.session
            session[SESSION_ORG_KEY] = self.org.pk
            session.save()
        return c


def build_tenant(name: str, slug: str, kind: str) -> Tenant:
    User = get_user_model()
    org = services.organization_create(name=name, kind=kind, slug=slug)
    tenant = Tenant(org=org)
    with tenant_context(org):
        for role in Role.values:
            user = User.objects.create_user(username=f"{slug}-{role}", password=PASSWORD, email=f"{role}@{slug}.test")
            services.membership_upsert(user=user, role=role)
            tenant.users[role] = user
        sl = ServiceLine.objects.create(name=f"{name} Toxicology", code="TOX")
        team = Team.objects.create(name=f"{name} East", service_line=sl)
        manager = Person.objects.create(employee_id="M1", first_name="Mona", last_name=f"Manager {slug}",
                                        role="manager", team=team, hire_date=dt.date(2020, 1, 1))
        rep = Person.objects.create(employee_id="R1", first_name="Ray", last_name=f"Rep {slug}",
                                    role="rep", team=team, hire_date=dt.date(2021, 3, 1),
                                    user=tenant.users[Role.REP])
        line = services.reporting_line_assign(person=rep, manager=manager, valid_from=dt.date(2021, 3, 1))
        facility = Facility.objects.create(name=f"{name} Main Campus", zip_code="37203", state="TN")
        program = Program.objects.create(code="PHP", name="Partial hospitalization", level_of_care="php",
                                         facility=facility, place_of_service="52")
        payer = Payer.objects.create(name=f"{name} Health Plan", payer_class="commercial", payer_id="12345")
        account = Account.objects.create(name=f"{name} Family Practice", npi="1234567893", specialty="Family Medicine",
                                         account_type="physician_practice", zip_code="37203", county="Davidson",
                                         state="TN", city="Nashville", external_id="ACC-1")
        membership = tenant.users[Role.REP].memberships.get()
        membership.person = rep
        membership.save()
        key, raw = services.api_key_create(name=f"{slug} CRM sync")
        tenant.api_key = raw
        job = jobs.job_create(kind="accounts_import", label=f"{name} accounts import", total=10)
        schedules.schedules_install_defaults()
        tenant.objects.update(
            serviceline=sl, team=team, person=rep, manager=manager, reportingline=line, facility=facility,
            program=program, payer=payer, account=account, apikey=key, membership=membership, job=job,
            tenantschedule=TenantSchedule.objects.get(name="Prune old jobs"), auditevent=AuditEvent.objects.order_by("pk").first(),
        )
        from tests.rcm_feeds.kpi_fixtures import world_rows  # RCM rows the sweep addresses by id

        tenant.objects.update(world_rows(tenant))
    return tenant


@pytest.fixture(scope="session", autouse=True)
def _files_in_tmp(tmp_path_factory: Any) -> None:
    """Stored files and feed inboxes go to this run's temporary directory (one per pytest-xdist worker),
    not the checkout's var/: two workers' organizations share ids, so their inbox paths would meet."""
    from django.conf import settings as django_settings

    root = tmp_path_factory.mktemp("files")
    django_settings.MEDIA_ROOT = root / "media"
    django_settings.RCM_INBOX_ROOT = root / "inbox"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class World:
    a: Tenant
    b: Tenant


@pytest.fixture
def world(db: Any) -> World:
    """Two organizations: a behavioral-health network (a) and a lab sales organization (b)."""
    return World(
        a=build_tenant("Harbor Behavioral", "harbor", "behavioral_health"),
        b=build_tenant("Summit Labs", "summit", "lab"),
    )


@pytest.fixture
def tenant_a(world: World) -> Any:
    with tenant_context(world.a.org):
        yield world.a
