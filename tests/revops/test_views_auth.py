"""Sign-in, sign-out, lockout, the organization switcher and the no-organization page."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from revops import services
from revops.middleware import SESSION_ORG_KEY
from revops.models import Role
from revops.tenancy import tenant_context
from tests.conftest import PASSWORD


def test_login_page_renders_the_standard_fields(db):
    response = Client().get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content and b'name="password"' in response.content
    assert b"csrfmiddlewaretoken" in response.content


def test_signing_in_lands_on_home_in_the_users_organization(world):
    client = Client()
    response = client.post(reverse("login"), {"username": "harbor-admin", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert b"Harbor Behavioral" in home.content


def test_wrong_password_shows_an_error(world):
    response = Client().post(reverse("login"), {"username": "harbor-admin", "password": "nope"})
    assert response.status_code == 200
    assert b"errorlist" in response.content


def test_repeated_failures_lock_the_username_out(world, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "harbor-rep", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "harbor-rep", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content


def test_logout_is_post_only_and_ends_the_session(world):
    client = world.a.client("admin")
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.get(reverse("home"))["Location"].startswith(reverse("login"))


def test_anonymous_home_redirects_to_login(db):
    response = Client().get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_user_without_membership_sees_what_to_do(db):
    user = get_user_model().objects.create_user(username="drifter", password=PASSWORD)
    client = Client()
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("no_organization")
    page = client.get(reverse("no_organization"))
    assert page.status_code == 200
    assert b"not an active member of any organization" in page.content
    assert b"drifter" in page.content


def test_no_organization_page_sends_members_home(world):
    response = world.a.client("executive").get(reverse("no_organization"))
    assert response.status_code == 302 and response["Location"] == reverse("home")


@pytest.fixture
def two_org_user(world):
    user = get_user_model().objects.create_user(username="consultant", password=PASSWORD)
    with tenant_context(world.a.org):
        services.membership_upsert(user=user, role=Role.EXECUTIVE)
    with tenant_context(world.b.org):
        services.membership_upsert(user=user, role=Role.REVOPS_ANALYST)
    return user


def test_switcher_lists_the_users_organizations_and_switches(world, two_org_user):
    client = Client()
    client.force_login(two_org_user)
    session = client.session
    session[SESSION_ORG_KEY] = world.a.org.pk
    session.save()
    home = client.get(reverse("home"))
    assert b'name="organization"' in home.content
    assert b"Harbor Behavioral" in home.content and b"Summit Labs" in home.content
    response = client.post(reverse("switch_organization"), {"organization": world.b.org.pk})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.session[SESSION_ORG_KEY] == world.b.org.pk
    home = client.get(reverse("home"))
    assert b"RevOps analyst" in home.content and b"<h1>Summit Labs</h1>" in home.content


def test_switching_to_an_organization_you_are_not_in_is_404(world):
    client = world.a.client("admin")
    assert client.post(reverse("switch_organization"), {"organization": world.b.org.pk}).status_code == 404
    assert client.post(reverse("switch_organization"), {"organization": "x"}).status_code == 404
    assert client.session[SESSION_ORG_KEY] == world.a.org.pk
    assert client.get(reverse("switch_organization")).status_code == 405


def test_single_organization_users_see_the_name_not_a_switcher(world):
    home = world.a.client("rep").get(reverse("home"))
    assert b'name="organization"' not in home.content
    assert b'class="org-name">Harbor Behavioral<' in home.content


def test_password_change_keeps_the_user_signed_in(world):
    client = world.a.client("rep")
    assert client.get(reverse("password_change")).status_code == 200
    response = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": "a-much-better-secret-42", "new_password2": "a-much-better-secret-42",
    })
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    world.a.users["rep"].refresh_from_db()
    assert world.a.users["rep"].check_password("a-much-better-secret-42")
