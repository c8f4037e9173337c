"""Patient identity minimised: member ids become a per-organization salted HMAC, names are never kept.

``patient_hash(member_id)`` is HMAC-SHA256 keyed with ``settings.PHI_HASH_PEPPER`` followed by
the active organization's ``phi_salt``, over the member id with surrounding spaces removed and
letters upper-cased (payers write the same id in either case). The same member id hashes the
same within one organization, so claims and payments of one patient can be joined, and to
something unrelated in another organization, so the hashes cannot be joined across tenants. The
pepper lives only in the environment, so a database dump alone cannot be brute-forced over the
(small) space of member ids.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from django.conf import settings

from revops.models import Organization
from revops.tenancy import require_tenant_id

_CACHE_LIMIT = 50_000  # ids remembered per hasher; cleared when full, so memory stays bounded


def _key(salt: str) -> bytes:
    return (str(settings.PHI_HASH_PEPPER) + salt).encode("utf-8")


def _normalise(member_id: str) -> str:
    return member_id.strip().upper()


def _salt_of_active_organization() -> str:
    tenant_id = require_tenant_id()
    return Organization.objects.values_list("phi_salt", flat=True).get(pk=tenant_id)


def patient_hash(member_id: str, *, salt: str | None = None) -> str:
    """The hex HMAC of ``member_id`` for the active organization ('' for an empty id)."""
    value = _normalise(member_id or "")
    if not value:
        return ""
    key = _key(salt if salt is not None else _salt_of_active_organization())
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def patient_hasher() -> Callable[[str], str]:
    """``patient_hash`` for the active organization, with the salt read once (for bulk loads).

    Agrees with ``patient_hash`` for every input; a bounded cache skips repeat members.
    """
    base = hmac.new(_key(_salt_of_active_organization()), digestmod=hashlib.sha256)
    cache: dict[str, str] = {}

    def hash_member(member_id: str) -> str:
        if not member_id:
            return ""
        found = cache.get(member_id)
        if found is not None:
            return found
        value = _normalise(member_id)
        if not value:
            return ""
        mac = base.copy()
        mac.update(value.encode("utf-8"))
        digest = mac.hexdigest()
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[member_id] = digest
        return digest

    return hash_member
