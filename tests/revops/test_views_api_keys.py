"""API keys page (admin): list, create shows the full key once, revoke with confirmation."""
from __future__ import annotations

import re

import pytest
from django.urls import reverse

from revops.authentication import hash_secret
from revops.models import ApiKey, Role
from revops.tenancy import tenant_context


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.ADMIN])
def test_other_roles_get_403(world, role):
    client = world.a.client(role)
    key = world.a.objects["apikey"]
    assert client.get(reverse("api_keys")).status_code == 403
    assert client.post(reverse("api_keys"), {"name": "x"}).status_code == 403
    assert client.post(reverse("api_key_revoke", args=[key.pk])).status_code == 403
    with tenant_context(world.a.org):
        assert ApiKey.objects.get(pk=key.pk).revoked_at is None


def test_list_shows_prefix_dates_and_status_never_the_secret(world):
    response = world.a.client("admin").get(reverse("api_keys"))
    assert response.status_code == 200
    body = response.content.decode()
    key = world.a.objects["apikey"]
    assert key.name in body and key.prefix in body and "Never" in body
    assert world.a.api_key.split(".")[1] not in body
    assert "summit" not in body.lower()


def test_empty_state_when_no_keys(world):
    with tenant_context(world.a.org):
        ApiKey.objects.all().delete()
    body = world.a.client("admin").get(reverse("api_keys")).content.decode()
    assert "No API keys yet" in body


def test_create_shows_the_full_key_once_and_it_authenticates(world):
    client = world.a.client("admin")
    response = client.post(reverse("api_keys"), {"name": "Salesforce sync"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw = re.search(r'<code id="new-api-key">([^<]+)</code>', response.content.decode()).group(1)
    prefix, secret = raw.split(".")
    with tenant_context(world.a.org):
        key = ApiKey.objects.get(prefix=prefix)
    assert key.name == "Salesforce sync" and key.key_hash == hash_secret(secret)
    assert key.created_by == world.a.users["admin"]
    assert b'data-copy-target="new-api-key"' in response.content
    # Never again: the list shows the prefix only.
    again = client.get(reverse("api_keys")).content.decode()
    assert prefix in again and secret not in again


def test_create_needs_a_name(world):
    response = world.a.client("admin").post(reverse("api_keys"), {"name": ""})
    assert response.status_code == 200 and b"This field is required" in response.content


def test_revoke_asks_then_revokes(world):
    client = world.a.client("admin")
    key = world.a.objects["apikey"]
    url = reverse("api_key_revoke", args=[key.pk])
    confirm = client.get(url)
    assert confirm.status_code == 200 and b"Revoke key" in confirm.content
    with tenant_context(world.a.org):
        assert ApiKey.objects.get(pk=key.pk).revoked_at is None  # GET changes nothing
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == reverse("api_keys")
    with tenant_context(world.a.org):
        assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    assert "Revoked" in client.get(reverse("api_keys")).content.decode()


def test_another_organizations_key_is_404_and_stays_active(world):
    client = world.a.client("admin")
    foreign = world.b.objects["apikey"]
    assert client.get(reverse("api_key_revoke", args=[foreign.pk])).status_code == 404
    assert client.post(reverse("api_key_revoke", args=[foreign.pk])).status_code == 404
    with tenant_context(world.b.org):
        assert ApiKey.objects.get(pk=foreign.pk).revoked_at is None
