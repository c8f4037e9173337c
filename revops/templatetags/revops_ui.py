"""Template helpers of the shared pages: the role's navigation, matrix checks and number formatting."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
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


@register.filter
def num(value: Any) -> Any:
    """A number with thousands separators and the decimal places it came with: ``"2233150.13"`` ->
    ``2,233,150.13``, ``2137`` -> ``2,137``. Anything that is not a number (None, "", text) is returned as is."""
    if value is None or isinstance(value, bool):
        return value
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return value
    if not d.is_finite():
        return value
    exponent = d.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return f"{d:,.{places}f}"
