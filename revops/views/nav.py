"""The navigation: each entry names the page and the matrix right it needs, so a role only sees what it may open."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from revops.access import CHANGE, VIEW, allowed


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    resource: str
    action: str = VIEW
    # URL names (or namespace prefixes ending in ":") that highlight this entry.
    section: tuple[str, ...] = ()


NAV: tuple[NavItem, ...] = (
    NavItem("Home", "home", "home", section=("home",)),
    NavItem("Executive", "executive_dashboard", "executive_dashboard", section=("executive_",)),
    NavItem("Reference data", "admin:index", "reference", section=("admin:",)),
    NavItem("Import", "import_upload", "reference", CHANGE, section=("import_",)),
    NavItem("Territories", "territories_plans", "territories", section=("territories_",)),
    NavItem("Quotas", "quotas_plans", "quotas", section=("quotas_",)),
    NavItem("Forecasting", "forecasting_overview", "forecasting", section=("forecasting_",)),
    NavItem("Commissions", "commissions_plans", "commissions", section=("commissions_",)),
    NavItem("My statements", "commissions_my", "commission_statements", section=("commissions_my", "commissions_statement")),
    NavItem("Disputes", "commissions_dispute_list", "commission_disputes", section=("commissions_dispute",)),
    NavItem("Billing", "billing_dashboard", "billing_dashboard", section=("billing_",)),
    NavItem("Intake & programs", "intake_admissions", "admissions", section=("intake_",)),
    NavItem("Contracts", "contracts_list", "contracts", section=("contracts_",)),
    NavItem("Scenarios", "scenarios_list", "scenarios", section=("scenarios_",)),
    NavItem("Jobs", "jobs", "jobs", section=("job",)),
    NavItem("Audit log", "audit_log", "audit", section=("audit_",)),
    NavItem("Members", "members", "memberships", section=("member",)),
    NavItem("API keys", "api_keys", "api_keys", section=("api_key",)),
    NavItem("Schedules", "schedules", "schedules", section=("schedule",)),
)


def nav_for(request: Any) -> list[dict[str, Any]]:
    """The entries the request's role may open, with the current one marked."""
    role = getattr(request, "role", None)
    if role is None:
        return []
    match = getattr(request, "resolver_match", None)
    current = match.view_name if match else ""
    items = []
    for item in NAV:
        if not allowed(role, item.resource, item.action):
            continue
        active = any(current == s or current.startswith(s) for s in item.section)
        items.append({"label": item.label, "url": reverse(item.url_name), "active": active})
    return items
