"""Template context: the active organization, role and the user's other organizations."""
from typing import Any

from django.http import HttpRequest


def tenancy(request: HttpRequest) -> dict[str, Any]:
    return {
        "current_org": getattr(request, "tenant", None),
        "current_membership": getattr(request, "membership", None),
        "current_role": getattr(request, "role", None),
        "user_memberships": getattr(request, "memberships", []),
    }
