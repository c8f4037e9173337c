"""API-key authentication for integrators: ``Authorization: Api-Key <prefix>.<secret>``."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions

from revops.models import ApiKey
from revops.tenancy import Actor, activate_tenant, cross_tenant_access, set_actor

KEYWORD = "Api-Key"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class ApiKeyPrincipal:
    """What ``request.user`` is for a request signed with an API key."""

    api_key: ApiKey
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    is_anonymous: bool = False

    @property
    def pk(self) -> None:
        return None

    def get_username(self) -> str:
        return f"api-key:{self.api_key.name}"

    def __str__(self) -> str:
        return self.get_username()


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Any) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(KEYWORD + " "):
            return None
        presented = header[len(KEYWORD) + 1 :].strip()
        prefix, _, secret = presented.partition(".")
        if not prefix or not secret:
            raise exceptions.AuthenticationFailed("Malformed API key.")
        digest = hash_secret(secret)
        with cross_tenant_access("resolve the organization of a presented API key"):
            candidates = list(
                ApiKey.objects.unscoped().select_related("tenant").filter(prefix=prefix, revoked_at__isnull=True)
            )
        key = next((k for k in candidates if hmac.compare_digest(k.key_hash, digest)), None)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        activate_tenant(key.tenant_id)
        set_actor(Actor(api_key_id=key.pk, label=f"api-key:{key.name}"))
        django_request = request._request
        django_request.tenant = key.tenant
        django_request.membership = None
        django_request.role = key.role
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return ApiKeyPrincipal(api_key=key), key

    def authenticate_header(self, request: Any) -> str:
        return KEYWORD
