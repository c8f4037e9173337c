"""The home page: per-role links, the rep's own record, the integrator's API how-to, empty states."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from revops.models import Account, Membership, Person, Role
from revops.tenancy import tenant_context

EXPECTED_LINKS = {
    Role.ADMIN: ["members", "api_keys", "admin:index", "import_upload", "audit_log", "schedules", "jobs"],
    Role.EXECUTIVE: ["admin:index", "audit_log", "jobs"],
    Role.REVOPS_ANALYST: ["admin:index", "import_upload", "jobs"],
    Role.BILLING_MANAGER: ["admin:revops_payer_changelist", "admin:revops_program_changelist",
                           "admin:revops_facility_changelist", "jobs", "schedules"],
}
NOT_LINKED = {
    Role.EXECUTIVE: ["members", "api_keys", "import_upload"],
    Role.REVOPS_ANALYST: ["members", "api_keys", "audit_log"],
    Role.BILLING_MANAGER: ["members", "audit_log", "import_upload"],
    Role.REP: ["members", "audit_log", "admin:index", "import_upload"],
    Role.INTEGRATOR: ["members", "audit_log", "api_keys"],
}


@pytest.mark.parametrize("role", Role.values)
def test_home_shows_org_name_and_role(world, role):
    response = world.a.client(role).get(reverse("home"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>Harbor Behavioral</h1>" in body
    assert Role(role).label.lower() in body


@pytest.mark.parametrize("role", list(EXPECTED_LINKS))
def test_home_links_what_the_role_uses(world, role):
    body = world.a.client(role).get(reverse("home")).content.decode()
    for name in EXPECTED_LINKS[role]:
        assert f'class="card" href="{reverse(name)}"' in body, name


@pytest.mark.parametrize("role", list(NOT_LINKED))
def test_home_and_navigation_never_link_pages_the_role_cannot_open(world, role):
    body = world.a.client(role).get(reverse("home")).content.decode()
    for name in NOT_LINKED[role]:
        assert f'href="{reverse(name)}"' not in body, name


@pytest.mark.parametrize("role", Role.values)
def test_home_is_read_only(world, role):
    assert world.a.client(role).post(reverse("home")).status_code == 403


def test_rep_sees_own_record_manager_today_and_team(world):
    with tenant_context(world.a.org):
        Person.objects.create(employee_id="R2", first_name="Rita", last_name="Teammate", team=world.a.objects["team"],
                              hire_date=dt.date(2022, 1, 1))
        Person.objects.create(employee_id="R3", first_name="Gone", last_name="Already", team=world.a.objects["team"],
                              hire_date=dt.date(2020, 1, 1), termination_date=dt.date(2021, 1, 1))
    body = world.a.client("rep").get(reverse("home")).content.decode()
    assert "Ray Rep harbor" in body and "R1" in body
    assert "Mona Manager harbor" in body  # manager today
    assert "Harbor Behavioral East" in body
    assert "Rita Teammate" in body
    assert "Gone Already" not in body  # not on the team today


def test_rep_without_a_person_link_is_told_what_to_ask_for(world):
    with tenant_context(world.a.org):
        Membership.objects.filter(user=world.a.users["rep"]).update(person=None)
    body = world.a.client("rep").get(reverse("home")).content.decode()
    assert "not linked to a person record yet" in body


def test_integrator_sees_api_docs_and_how_to_authenticate(world):
    body = world.a.client("integrator").get(reverse("home")).content.decode()
    assert 'href="/api/v1/docs/"' in body
    assert "Authorization: Api-Key" in body


def test_empty_reference_data_explains_the_next_step(world):
    with tenant_context(world.a.org):
        Account.objects.all().delete()
    analyst = world.a.client("revops_analyst").get(reverse("home")).content.decode()
    assert "No accounts yet" in analyst and reverse("import_upload") in analyst
    executive = world.a.client("executive").get(reverse("home")).content.decode()
    assert "No accounts yet" in executive and "ask them" in executive


def test_navigation_marks_the_current_page(world):
    body = world.a.client("admin").get(reverse("members")).content.decode()
    assert f'<a href="{reverse("members")}" aria-current="page">Members</a>' in body
    assert 'href="#main"' in body  # skip link
