"""API authentication and the organization endpoints: API keys, memberships and "me"."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from revops import services
from revops.access import MATRIX
from revops.models import ApiKey, Membership, Role
from revops.tenancy import tenant_context


def key_client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def stored_key(tenant, pk: int) -> ApiKey:
    with tenant_context(tenant.org):
        return ApiKey.objects.get(pk=pk)


# --- authentication with an API key ------------------------------------------------------


def test_valid_key_authenticates_in_its_organization_and_records_last_use(world):
    key = world.a.objects["apikey"]
    assert stored_key(world.a, key.pk).last_used_at is None
    response = world.a.api().get("/api/v1/accounts/")
    assert response.status_code == 200
    assert [a["name"] for a in response.json()["results"]] == ["Harbor Behavioral Family Practice"]
    assert stored_key(world.a, key.pk).last_used_at is not None


def test_last_used_is_refreshed_once_a_minute_at_most(world):
    key = world.a.objects["apikey"]
    long_ago = timezone.now() - timedelta(hours=2)
    with tenant_context(world.a.org):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=long_ago)
    world.a.api().get("/api/v1/me/")
    first = stored_key(world.a, key.pk).last_used_at
    assert first > long_ago
    world.a.api().get("/api/v1/me/")
    assert stored_key(world.a, key.pk).last_used_at == first


def test_wrong_secret_is_401(world):
    prefix = world.a.api_key.split(".")[0]
    response = key_client(f"{prefix}.not-the-secret").get("/api/v1/accounts/")
    assert response.status_code == 401
    assert stored_key(world.a, world.a.objects["apikey"].pk).last_used_at is None


def test_malformed_and_unknown_keys_are_401(world):
    for raw in ("no-dot-here", "unknownprefix.secret", "."):
        assert key_client(raw).get("/api/v1/accounts/").status_code == 401


def test_revoked_key_is_401(world):
    with tenant_context(world.a.org):
        services.api_key_revoke(api_key=ApiKey.objects.get(pk=world.a.objects["apikey"].pk))
    response = world.a.api().get("/api/v1/accounts/")
    assert response.status_code == 401


def test_key_acts_only_in_its_own_organization(world):
    body = world.b.api().get("/api/v1/accounts/").json()
    assert [a["name"] for a in body["results"]] == ["Summit Labs Family Practice"]
    assert world.b.api().get(f"/api/v1/accounts/{world.a.objects['account'].pk}/").status_code == 404


def test_key_has_the_integrator_role_and_no_more(world):
    api = world.a.api()
    assert api.get("/api/v1/memberships/").status_code == 403
    assert api.get("/api/v1/api-keys/").status_code == 403
    assert api.post("/api/v1/api-keys/", {"name": "escalate"}, format="json").status_code == 403
    assert api.get("/api/v1/audit-events/").status_code == 403
    assert api.get("/api/v1/jobs/").status_code == 200


# --- managing API keys ---------------------------------------------------------------------


def test_admin_creates_a_key_shown_once_that_then_works(world):
    admin = world.a.api(Role.ADMIN)
    response = admin.post("/api/v1/api-keys/", {"name": "HRIS nightly"}, format="json")
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    raw = body["key"]
    assert raw.startswith(body["prefix"] + ".") and body["role"] == "integrator"
    assert body["created_by"] == "harbor-admin" and body["is_active"] is True
    assert "key_hash" not in body

    listed = admin.get("/api/v1/api-keys/").json()["results"]
    assert {k["name"] for k in listed} == {"harbor CRM sync", "HRIS nightly"}
    secret = raw.split(".", 1)[1]
    assert all("key" not in k and "key_hash" not in k for k in listed)
    detail = admin.get(f"/api/v1/api-keys/{body['id']}/")
    assert secret.encode() not in detail.content
    assert stored_key(world.a, body["id"]).key_hash.encode() not in detail.content

    assert key_client(raw).get("/api/v1/me/").json()["principal"]["name"] == "HRIS nightly"


def test_admin_revokes_a_key(world):
    admin = world.a.api(Role.ADMIN)
    key = world.a.objects["apikey"]
    response = admin.post(f"/api/v1/api-keys/{key.pk}/revoke/")
    assert response.status_code == 200
    assert response.json()["is_active"] is False and response.json()["revoked_at"]
    assert world.a.api().get("/api/v1/me/").status_code == 401
    assert [k["id"] for k in admin.get("/api/v1/api-keys/?is_active=false").json()["results"]] == [key.pk]
    assert admin.get("/api/v1/api-keys/?is_active=true").json()["results"] == []


def test_keys_of_another_organization_are_404_and_others_roles_403(world):
    foreign = world.b.objects["apikey"]
    assert world.a.api(Role.ADMIN).post(f"/api/v1/api-keys/{foreign.pk}/revoke/").status_code == 404
    assert stored_key(world.b, foreign.pk).revoked_at is None
    assert world.a.api(Role.REVOPS_ANALYST).get("/api/v1/api-keys/").status_code == 403
    assert world.a.api(Role.EXECUTIVE).post("/api/v1/api-keys/", {"name": "x"}, format="json").status_code == 403


# --- memberships ------------------------------------------------------------------------------


def test_admin_lists_members_of_the_organization_only(world):
    response = world.a.api(Role.ADMIN).get("/api/v1/memberships/")
    assert response.status_code == 200
    usernames = {m["user"]["username"] for m in response.json()["results"]}
    assert usernames == {f"harbor-{role}" for role in Role.values}
    reps = world.a.api(Role.ADMIN).get("/api/v1/memberships/?role=rep").json()["results"]
    assert [m["person"] for m in reps] == [world.a.objects["person"].pk]


def test_admin_changes_a_role_through_the_service(world):
    membership = world.a.objects["membership"]
    response = world.a.api(Role.ADMIN).patch(f"/api/v1/memberships/{membership.pk}/",
                                             {"role": Role.REVOPS_ANALYST}, format="json")
    assert response.status_code == 200 and response.json()["role"] == Role.REVOPS_ANALYST
    assert response.json()["person"] == world.a.objects["person"].pk  # kept
    # The user now acts as an analyst.
    assert world.a.api(Role.REP).get("/api/v1/me/").json()["role"] == Role.REVOPS_ANALYST


def test_deactivated_member_loses_access(world):
    membership = world.a.objects["membership"]
    response = world.a.api(Role.ADMIN).patch(f"/api/v1/memberships/{membership.pk}/", {"is_active": False},
                                             format="json")
    assert response.status_code == 200
    assert world.a.api(Role.REP).get("/api/v1/me/").status_code == 403


def test_the_last_active_admin_cannot_be_demoted(world):
    with tenant_context(world.a.org):
        admin_membership = Membership.objects.get(user=world.a.users[Role.ADMIN])
    api = world.a.api(Role.ADMIN)
    for change in ({"role": Role.EXECUTIVE}, {"is_active": False}):
        response = api.patch(f"/api/v1/memberships/{admin_membership.pk}/", change, format="json")
        assert response.status_code == 400
    with tenant_context(world.a.org):
        assert Membership.objects.get(pk=admin_membership.pk).role == Role.ADMIN


def test_membership_person_must_be_of_the_organization(world):
    membership = world.a.objects["membership"]
    response = world.a.api(Role.ADMIN).patch(f"/api/v1/memberships/{membership.pk}/",
                                             {"person": world.b.objects["person"].pk}, format="json")
    assert response.status_code == 400 and "does not exist" in response.json()["person"][0]


def test_memberships_are_admin_only_and_tenant_scoped(world):
    assert world.a.api(Role.EXECUTIVE).get("/api/v1/memberships/").status_code == 403
    foreign = world.b.objects["membership"]
    assert world.a.api(Role.ADMIN).patch(f"/api/v1/memberships/{foreign.pk}/", {"role": "admin"},
                                         format="json").status_code == 404
    with tenant_context(world.b.org):
        assert Membership.objects.get(pk=foreign.pk).role == Role.REP


# --- me ------------------------------------------------------------------------------------


def test_me_for_a_signed_in_user(world):
    response = world.a.api(Role.BILLING_MANAGER).get("/api/v1/me/")
    assert response.status_code == 200
    body = response.json()
    assert body["principal"] == {"type": "user", "id": world.a.users[Role.BILLING_MANAGER].pk,
                                 "name": "harbor-billing_manager", "email": "billing_manager@harbor.test"}
    assert body["organization"]["slug"] == "harbor" and body["role"] == Role.BILLING_MANAGER
    assert body["permissions"]["reference"] == ["view"]
    assert "memberships" not in body["permissions"]
    expected = {r for r, actions in MATRIX.items() if any(Role.BILLING_MANAGER in roles for roles in actions.values())}
    assert set(body["permissions"]) == expected
    assert [m["organization"]["slug"] for m in body["memberships"]] == ["harbor"]


def test_me_for_an_api_key(world):
    body = world.b.api().get("/api/v1/me/").json()
    assert body["principal"]["type"] == "api_key" and body["principal"]["name"] == "summit CRM sync"
    assert body["organization"]["slug"] == "summit" and body["role"] == Role.INTEGRATOR
    assert body["permissions"]["reference"] == ["view", "change"]
    assert body["memberships"] == []


def test_me_lists_every_organization_of_a_user_in_several(world):
    user = world.a.users[Role.EXECUTIVE]
    with tenant_context(world.b.org):
        services.membership_upsert(user=user, role=Role.REVOPS_ANALYST)
    body = world.a.api(Role.EXECUTIVE).get("/api/v1/me/").json()
    assert body["organization"]["slug"] == "harbor" and body["role"] == Role.EXECUTIVE
    assert {(m["organization"]["slug"], m["role"]) for m in body["memberships"]} == {
        ("harbor", Role.EXECUTIVE), ("summit", Role.REVOPS_ANALYST)}
