"""Per-request tenancy: the signed-in user's active organization, role and audit actor."""
from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from revops import selectors
from revops.tenancy import Actor, _current_actor, _current_tenant, activate_tenant, set_actor

SESSION_ORG_KEY = "active_organization_id"


class TenantMiddleware:
    """Resolves ``request.tenant``, ``request.membership`` and ``request.role``.

    Session users act in the organization they last switched to (a membership is required;
    without one nothing tenant-owned is visible). API-key requests are resolved later by
    ``ApiKeyAuthentication``. Whatever is activated during the request is reset at its end.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant_token = _current_tenant.set(None)
        actor_token = _current_actor.set(Actor())
        request.tenant = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        request.role = None  # type: ignore[attr-defined]
        try:
            user = request.user
            if user.is_authenticated:
                memberships = selectors.memberships_for_user(user=user)
                request.memberships = memberships  # type: ignore[attr-defined]
                wanted = request.session.get(SESSION_ORG_KEY)
                membership = next((m for m in memberships if m.tenant_id == wanted), None)
                if membership is None and memberships:
                    membership = memberships[0]
                    request.session[SESSION_ORG_KEY] = membership.tenant_id
                if membership is not None:
                    request.tenant = membership.tenant  # type: ignore[attr-defined]
                    request.membership = membership  # type: ignore[attr-defined]
                    request.role = membership.role  # type: ignore[attr-defined]
                    activate_tenant(membership.tenant_id)
                set_actor(Actor(user_id=user.pk, label=user.get_username()))
            return self.get_response(request)
        finally:
            _current_tenant.reset(tenant_token)
            _current_actor.reset(actor_token)
