"""Members page (admin): list, invite, change role and person link, deactivate and reactivate."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from revops.models import Membership, Role
from revops.tenancy import tenant_context
from tests.conftest import PASSWORD

NOT_ADMIN = [r for r in Role.values if r != Role.ADMIN]


def membership_of(tenant, username):
    with tenant_context(tenant.org):
        return Membership.objects.select_related("person").get(user__username=username)


def test_admin_sees_the_members_of_their_organization_only(world):
    response = world.a.client("admin").get(reverse("members"))
    assert response.status_code == 200
    body = response.content.decode()
    for role in Role.values:
        assert f"harbor-{role}" in body
    assert "summit" not in body.lower()


@pytest.mark.parametrize("role", NOT_ADMIN)
@pytest.mark.parametrize("name", ["members", "member_invite"])
def test_other_roles_get_403(world, role, name):
    client = world.a.client(role)
    assert client.get(reverse(name)).status_code == 403
    assert client.post(reverse(name)).status_code == 403


def test_invite_creates_a_login_with_the_temporary_password(world):
    client = world.a.client("admin")
    assert client.get(reverse("member_invite")).status_code == 200
    response = client.post(reverse("member_invite"), {
        "username": "nina", "email": "nina@harbor.test", "first_name": "Nina", "last_name": "Analyst",
        "role": Role.REVOPS_ANALYST, "password": "Temporary-Passw0rd!",
    })
    assert response.status_code == 302 and response["Location"] == reverse("members")
    membership = membership_of(world.a, "nina")
    assert membership.role == Role.REVOPS_ANALYST and membership.is_active
    signed_in = Client()
    login = signed_in.post(reverse("login"), {"username": "nina", "password": "Temporary-Passw0rd!"})
    assert login.status_code == 302 and login["Location"] == reverse("home")
    follow = client.get(reverse("members")).content.decode()
    assert "Invited nina as RevOps analyst" in follow


def test_invite_refuses_weak_or_missing_passwords_and_existing_members(world):
    client = world.a.client("admin")
    weak = client.post(reverse("member_invite"), {"username": "weak", "email": "w@harbor.test", "role": "rep",
                                                  "password": "123"})
    assert weak.status_code == 200 and b"too short" in weak.content
    missing = client.post(reverse("member_invite"), {"username": "nopw", "email": "n@harbor.test", "role": "rep"})
    assert b"A new login needs a temporary password" in missing.content
    taken = client.post(reverse("member_invite"), {"username": "harbor-rep", "email": "r@harbor.test", "role": "admin",
                                                   "password": "Temporary-Passw0rd!"})
    assert b"already a member" in taken.content
    assert membership_of(world.a, "harbor-rep").role == Role.REP
    assert not get_user_model().objects.filter(username__in=["weak", "nopw"]).exists()


def test_inviting_an_existing_login_adds_the_organization_and_keeps_its_password(world):
    response = world.a.client("admin").post(reverse("member_invite"), {
        "username": "summit-executive", "email": "x@harbor.test", "role": Role.EXECUTIVE, "password": "",
    })
    assert response.status_code == 302
    user = get_user_model().objects.get(username="summit-executive")
    assert user.check_password(PASSWORD)
    assert membership_of(world.a, "summit-executive").role == Role.EXECUTIVE
    assert membership_of(world.b, "summit-executive").role == Role.EXECUTIVE  # unchanged in b


def test_change_role_and_link_a_person(world):
    client = world.a.client("admin")
    membership = membership_of(world.a, "harbor-billing_manager")
    url = reverse("member_edit", args=[membership.pk])
    page = client.get(url).content.decode()
    assert "Mona Manager harbor" in page and "summit" not in page.lower()
    manager = world.a.objects["manager"]
    response = client.post(url, {"role": Role.EXECUTIVE, "person": manager.pk})
    assert response.status_code == 302
    membership = membership_of(world.a, "harbor-billing_manager")
    assert membership.role == Role.EXECUTIVE and membership.person_id == manager.pk


def test_person_choices_are_this_organizations_people(world):
    client = world.a.client("admin")
    membership = membership_of(world.a, "harbor-executive")
    foreign_person = world.b.objects["person"]
    response = client.post(reverse("member_edit", args=[membership.pk]), {"role": Role.EXECUTIVE,
                                                                          "person": foreign_person.pk})
    assert response.status_code == 200 and b"Select a valid choice" in response.content
    assert membership_of(world.a, "harbor-executive").person_id is None


def test_admin_cannot_demote_or_deactivate_themselves(world):
    client = world.a.client("admin")
    own = membership_of(world.a, "harbor-admin")
    response = client.post(reverse("member_edit", args=[own.pk]), {"role": Role.REP})
    assert response.status_code == 200 and b"cannot take the admin role from yourself" in response.content
    client.post(reverse("member_set_active", args=[own.pk]), {"active": "0"})
    assert membership_of(world.a, "harbor-admin").is_active


def test_deactivate_then_reactivate(world):
    client = world.a.client("admin")
    rep = membership_of(world.a, "harbor-rep")
    url = reverse("member_set_active", args=[rep.pk])
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 400  # must say which
    assert client.post(url, {"active": "0"}).status_code == 302
    rep = membership_of(world.a, "harbor-rep")
    assert not rep.is_active and rep.person_id == world.a.objects["person"].pk  # link kept
    # The deactivated user no longer reaches the organization.
    assert world.a.client("rep").get(reverse("home"))["Location"] == reverse("no_organization")
    edit = client.get(reverse("member_edit", args=[rep.pk])).content.decode()
    assert "Reactivate" in edit
    client.post(url, {"active": "1"})
    assert membership_of(world.a, "harbor-rep").is_active


def test_another_organizations_membership_is_404(world):
    client = world.a.client("admin")
    foreign = membership_of(world.b, "summit-rep")
    assert client.get(reverse("member_edit", args=[foreign.pk])).status_code == 404
    assert client.post(reverse("member_edit", args=[foreign.pk]), {"role": "admin"}).status_code == 404
    assert client.post(reverse("member_set_active", args=[foreign.pk]), {"active": "0"}).status_code == 404
    foreign = membership_of(world.b, "summit-rep")
    assert foreign.role == Role.REP and foreign.is_active
