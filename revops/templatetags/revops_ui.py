"""Template helpers of the shared pages: the role's navigation and matrix checks."""
from __future__ import annotations

from typing import Any

from django import template

from revops.access import VIEW, allowed

register = template.Library()


@register.filter
def may(role: str | None, right: str) -> bool:
    """``{% if current_role|may:"audit" %}`` or ``current_role|may:"reference:change"``."""
    resource, _, action = right.partition(":")
    return allowed(role, resource, action or VIEW)


@register.simple_tag(takes_context=True)
def nav_items(context: Any) -> list[dict[str, Any]]:
    from revops.views.nav import nav_for

    request = context.get("request")
    return nav_for(request) if request is not None else []


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None
