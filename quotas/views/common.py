"""Helpers every quota page shares: the role's rights, htmx, export formats, the organization's fiscal year."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest

from revops.access import APPROVE, CHANGE, allowed
from revops.exports import FORMATS

from ..models import QuotaPlan, QuotaPlanStatus
from ..services import fiscal_year_of

RESOURCE = "quotas"


def can_change(request: HttpRequest) -> bool:
    return allowed(getattr(request, "role", None), RESOURCE, CHANGE)


def can_approve(request: HttpRequest) -> bool:
    return allowed(getattr(request, "role", None), RESOURCE, APPROVE)


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def export_format(request: HttpRequest) -> str | None:
    fmt = request.GET.get("format")
    return fmt if fmt in FORMATS else None


def start_month(request: HttpRequest) -> int:
    return getattr(getattr(request, "tenant", None), "fiscal_year_start_month", 1) or 1


def current_fiscal_year(request: HttpRequest) -> int:
    return fiscal_year_of(dt.date.today(), start_month(request))


def ratio(amount: Decimal, potential: Decimal) -> float | None:
    """Quota-to-potential (the definition ``selectors.fairness`` uses for leaves)."""
    return float(amount / potential) if potential > 0 else None


def lifecycle_flags(request: HttpRequest, plan: QuotaPlan) -> dict[str, Any]:
    """Which lifecycle buttons a page shows for this plan and role."""
    change, approve = can_change(request), can_approve(request)
    return {
        "can_change": change,
        "can_approve": approve,
        "editable": change and plan.is_editable,
        "may_approve": approve and plan.status == QuotaPlanStatus.DRAFT,
        "may_activate": approve and plan.status == QuotaPlanStatus.APPROVED,
        "may_return": change and plan.status == QuotaPlanStatus.APPROVED,
        "may_delete": change and plan.status != QuotaPlanStatus.ACTIVE,
        "may_submit_bottom_up": change and plan.status != QuotaPlanStatus.ARCHIVED,
    }
