"""Helpers every territory page shares: the role's rights, htmx, the balance tolerance, export formats."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from revops.access import APPROVE, CHANGE, allowed
from revops.exports import FORMATS

RESOURCE = "territories"
DEFAULT_TOLERANCE = 0.05  # ±5% of the mean: the balance target


def can_change(request: HttpRequest) -> bool:
    return allowed(getattr(request, "role", None), RESOURCE, CHANGE)


def can_approve(request: HttpRequest) -> bool:
    return allowed(getattr(request, "role", None), RESOURCE, APPROVE)


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def tolerance_from(data: Any) -> float:
    """``tolerance`` in percent (``?tolerance=5``) as a fraction, clipped to 0.5–50%."""
    try:
        value = float(data.get("tolerance") or DEFAULT_TOLERANCE * 100)
    except (TypeError, ValueError):
        value = DEFAULT_TOLERANCE * 100
    return min(max(value, 0.5), 50.0) / 100


def export_format(request: HttpRequest) -> str | None:
    fmt = request.GET.get("format")
    return fmt if fmt in FORMATS else None
