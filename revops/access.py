"""The permission matrix, and the one place that enforces it for pages and the API alike.

A request acts in one organization with one role (a membership, or an API key that carries
the integrator role). Each page and endpoint names the resource it touches; the HTTP method
says whether it views or changes it. ``allowed`` answers from ``MATRIX``; ``MatrixPermission``
(DRF) and ``require_access`` / ``AccessRequiredMixin`` (pages) both call it. Rows of another
organization are never found (404) because every queryset is tenant-scoped; a role without
the right gets 403. ``docs/permissions.md`` is this table in prose.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.permissions import BasePermission

from revops.models import Role

A, E, R, B, P, I = (
    Role.ADMIN,
    Role.EXECUTIVE,
    Role.REVOPS_ANALYST,
    Role.BILLING_MANAGER,
    Role.REP,
    Role.INTEGRATOR,
)

VIEW = "view"
CHANGE = "change"
APPROVE = "approve"

# resource -> action -> roles. Pillar resources are listed here as the apps land.
MATRIX: dict[str, dict[str, frozenset[str]]] = {
    # Signed-in pages every member sees (home, profile, organization switcher).
    "home": {VIEW: frozenset({A, E, R, B, P, I})},
    # People, teams, reporting lines, service lines, facilities, programs, payers, accounts.
    "reference": {VIEW: frozenset({A, E, R, B, I}), CHANGE: frozenset({A, R, I})},
    # Users and their roles in the organization; organization settings.
    "memberships": {VIEW: frozenset({A}), CHANGE: frozenset({A})},
    "api_keys": {VIEW: frozenset({A}), CHANGE: frozenset({A})},
    "audit": {VIEW: frozenset({A, E})},
    # Long-running work: everyone sees progress of the organization's jobs; starting a job is
    # checked against the resource the job works on.
    "jobs": {VIEW: frozenset({A, E, R, B, P, I})},
    "schedules": {VIEW: frozenset({A, R, B}), CHANGE: frozenset({A})},
    # RCM records (claims, remittances, denials, feeds, runs, quarantine) and file uploads.
    "rcm": {VIEW: frozenset({A, E, B, I}), CHANGE: frozenset({A, B, I})},
    # The billing dashboard: billing leadership works it, executives read it.
    "billing_dashboard": {VIEW: frozenset({A, B, E})},
    # Territory plans: analysts design them (integrators sync rules and assignments), executives
    # and admins approve and activate them, reps see the map of their organization's plans.
    "territories": {VIEW: frozenset({A, E, R, P, I}), CHANGE: frozenset({A, R, I}), APPROVE: frozenset({A, E})},
    # Quota plans: analysts allocate and edit them (integrators feed credited transactions and
    # custom metrics), executives read and approve/activate, reps read their organization's quotas.
    "quotas": {VIEW: frozenset({A, E, R, P, I}), CHANGE: frozenset({A, R, I}), APPROVE: frozenset({A, E})},
    # Forecasting: analysts and integrators keep the pipeline, periods and runs; everyone in sales reads.
    "forecasting": {VIEW: frozenset({A, E, R, P, I}), CHANGE: frozenset({A, R, I})},
    # Forecast calls: reps submit their own number, managers (executives or reps with reports) adjust
    # their team's; analysts and admins may enter calls on someone's behalf. Whose number a user may
    # submit is checked against the person linked to their membership.
    "forecast_calls": {VIEW: frozenset({A, E, R, P}), CHANGE: frozenset({A, E, R, P})},
    # Commission plans, crediting rules, assignments, transactions, periods and runs: analysts build
    # and run them (integrators feed transactions), executives read and approve (lock) periods and
    # activate plan versions; admins also record compliance sign-offs.
    "commissions": {VIEW: frozenset({A, E, R, I}), CHANGE: frozenset({A, R, I}), APPROVE: frozenset({A, E})},
    # Statements: a rep sees only their own (the person linked to their membership); managers
    # (executives) approve their team's, then admins approve as finance; analysts read all.
    "commission_statements": {VIEW: frozenset({A, E, R, P}), APPROVE: frozenset({A, E})},
    # Disputes: a rep opens and comments on disputes about their own lines; analysts and admins
    # resolve them (with a reason and, when needed, an adjustment).
    "commission_disputes": {VIEW: frozenset({A, E, R, P}), CHANGE: frozenset({A, R, P}), APPROVE: frozenset({A, R})},
    # The executive command center: executives and admins browse it (separate from the billing dashboard).
    "executive_dashboard": {VIEW: frozenset({A, E})},
    # What-if scenarios: analysts and executives build, save and share them.
    "scenarios": {VIEW: frozenset({A, E, R}), CHANGE: frozenset({A, E, R})},
    # Payer contracts and their terms, expected reimbursement, underpayments and quarterly reviews:
    # analysts keep them (integrators sync contracts), billing reads them; approve = record a review decision.
    "contracts": {VIEW: frozenset({A, E, R, B, I}), CHANGE: frozenset({A, R, I}), APPROVE: frozenset({A, E, R})},
    # Intake rules (which payer plans qualify for which programs) and the intake check: RevOps decides.
    "intake_rules": {VIEW: frozenset({A, E, R, B, I}), CHANGE: frozenset({A, R, I})},
    # Admissions, authorizations, program costs and program profitability: utilization review and
    # billing staff keep admissions and authorizations (integrators feed them), analysts the costs.
    "admissions": {VIEW: frozenset({A, E, R, B, I}), CHANGE: frozenset({A, R, B, I})},
}

ACTIONS = (VIEW, CHANGE, APPROVE)

RESOURCE_DESCRIPTIONS: dict[str, str] = {
    "home": "Home page, profile, organization switcher, `GET /api/v1/me/`",
    "reference": "People, teams, reporting lines, service lines, facilities, programs, payers, accounts (pages under /manage/, API)",
    "memberships": "Users of the organization and their roles",
    "api_keys": "Integrator API keys (create: shown once; revoke)",
    "audit": "Audit trail of planning-data changes (read-only for everyone)",
    "jobs": "Long-running jobs and their progress",
    "schedules": "Per-organization schedules of recurring jobs",
    "rcm": "RCM records: claims, remittances, adjustments, denials (status updates), feeds, ingestion runs, "
           "quarantine, file uploads, KPIs (API under /api/v1/rcm/)",
    "billing_dashboard": "The billing dashboard (/billing/): KPIs, denials, A/R, days to pay, ingestion runs",
    "territories": "Territory plans, hierarchy, assignment rules, coverage, potential, balancing runs, plan diffs "
                   "(pages under /territories/, API under /api/v1/territories/); approve = approve and activate a plan",
    "forecasting": "Opportunities and their history, stages, forecast periods, forecast runs (weighted pipeline, "
                   "time series, cash), accuracy (pages under /forecasting/, API under /api/v1/forecasting/)",
    "forecast_calls": "Forecast calls: a rep's own number per category, a manager's adjustment of their team's "
                      "(only for the person linked to the user and their reports, unless an admin or analyst)",
    "quotas": "Quota plans, allocation, overrides, bottom-up submissions, seasonality, credited transactions, "
              "attainment (pages under /quotas/, API under /api/v1/quotas/); approve = approve and activate a plan",
    "commissions": "Compensation plans, versions, components, compliance sign-offs, crediting rules, assignments, "
                   "transactions and splits, periods, runs, line items, payroll export (pages under /commissions/, API "
                   "under /api/v1/commissions/); approve = activate a plan version, lock (approve) a period",
    "commission_statements": "Commission statements: a rep sees only their own; approve = manager then finance "
                             "approval (executives approve as manager, admins as finance)",
    "commission_disputes": "Disputes (inquiries) on statement lines: reps open and comment on their own; approve = "
                           "resolve or reject with a reason and an optional adjustment",
    "executive_dashboard": "The executive command center (/executive/): attainment, forecast vs quota, coverage, "
                           "leaderboards, payer and program economics, flags; every tile drills down",
    "scenarios": "What-if scenarios (exit a contract, tighten an intake rule, change a payer's denial rate) "
                 "against the base case; saved and shared within the organization",
    "contracts": "Payer contracts and effective-dated terms, expected reimbursement per claim, underpayment "
                 "variance, quarterly contract reviews (pages under /contracts/, API under /api/v1/contracts/); "
                 "approve = record a review's decision",
    "intake_rules": "Intake rules by payer plan and program, the intake check, rule violations "
                    "(pages under /intake/, API under /api/v1/intake/)",
    "admissions": "Admissions, authorizations and units used, reviews due, program direct costs, program "
                  "profitability (pages under /intake/, API under /api/v1/intake/)",
}


def matrix_markdown() -> str:
    """The matrix as the Markdown table in docs/permissions.md (a test keeps them equal)."""
    roles = [r for r in Role]
    header = "| resource | action | " + " | ".join(r.label for r in roles) + " |"
    rule = "|---|---|" + "---|" * len(roles)
    lines = [header, rule]
    for resource, actions in MATRIX.items():
        for action in ACTIONS:
            if action not in actions:
                continue
            marks = " | ".join("yes" if r.value in actions[action] else "-" for r in roles)
            lines.append(f"| `{resource}` | {action} | {marks} |")
    lines.append("")
    lines.extend(f"- `{resource}`: {RESOURCE_DESCRIPTIONS.get(resource, '')}" for resource in MATRIX)
    return "\n".join(lines)


def allowed(role: str | None, resource: str, action: str) -> bool:
    if role is None:
        return False
    try:
        roles = MATRIX[resource].get(action, frozenset())
    except KeyError as exc:
        raise KeyError(f"resource {resource!r} is not in the permission matrix") from exc
    return role in roles


def action_for_method(method: str) -> str:
    return VIEW if method.upper() in ("GET", "HEAD", "OPTIONS") else CHANGE


def request_role(request: Any) -> str | None:
    """The role the request acts with in its active organization (None when it has none)."""
    return getattr(request, "role", None)


def check(request: Any, resource: str, action: str | None = None) -> None:
    action = action or action_for_method(request.method)
    if not allowed(request_role(request), resource, action):
        raise PermissionDenied(f"Your role may not {action} {resource}.")


class MatrixPermission(BasePermission):
    """DRF permission: the view's ``access_resource`` (and optional per-action overrides)."""

    message = "Your role does not allow this."

    def has_permission(self, request: Any, view: Any) -> bool:
        resource = getattr(view, "access_resource", None)
        if resource is None:
            return False  # fail closed: an endpoint must say what it touches
        if getattr(request, "tenant", None) is None:
            return False
        action = getattr(view, "access_actions", {}).get(getattr(view, "action", None))
        return allowed(request_role(request), resource, action or action_for_method(request.method))


def require_access(
    resource: str, action: str | None = None, model: type | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator for function page views: signed in, a member of the active organization, role allowed.

    ``model`` names the tenant-owned model a ``<pk>`` in the URL refers to; the isolation sweep
    (tests/test_isolation_sweep.py) uses it to try another organization's row.
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            from django.contrib.auth.views import redirect_to_login

            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if getattr(request, "tenant", None) is None:
                from django.shortcuts import redirect

                return redirect("no_organization")
            check(request, resource, action)
            return view(request, *args, **kwargs)

        wrapped.access_resource = resource  # type: ignore[attr-defined]
        wrapped.access_action = action  # type: ignore[attr-defined]
        wrapped.access_model = model  # type: ignore[attr-defined]
        return wrapped

    return decorator


class AccessRequiredMixin:
    """The same check for class-based page views: set ``access_resource`` (and ``access_action``)."""

    access_resource: str = ""
    access_action: str | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return require_access(self.access_resource, self.access_action)(super().dispatch)(  # type: ignore[misc]
            request, *args, **kwargs
        )
