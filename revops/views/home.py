"""The home page: per role, the pages that role uses, the organization's reference data at a glance."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from revops import selectors
from revops.access import CHANGE, VIEW, allowed, require_access
from revops.models import Account, Facility, Payer, Person, Program, Role, Team


@dataclass(frozen=True)
class HomeLink:
    label: str
    url_name: str
    description: str
    resource: str
    action: str = VIEW


MEMBERS = HomeLink("Members", "members", "Invite people, change their role, deactivate a login.", "memberships")
API_KEYS = HomeLink("API keys", "api_keys", "Keys for systems that call the API; create, see last use, revoke.",
                    "api_keys")
REFERENCE = HomeLink("Reference data", "admin:index",
                     "People, reporting lines, teams, service lines, facilities, programs, payers, accounts.",
                     "reference")
REFERENCE_READ = HomeLink("Reference data", "admin:index",
                          "Look up people, teams, facilities, programs, payers and accounts (read only).",
                          "reference")
IMPORT = HomeLink("Import accounts or people", "import_upload",
                  "Upload a CSV; good rows load, problem rows are listed with the reason.", "reference", CHANGE)
AUDIT = HomeLink("Audit log", "audit_log", "Who changed what and when, field by field; export to CSV or Excel.",
                 "audit")
SCHEDULES = HomeLink("Schedules", "schedules", "Recurring work the organization runs, and when it runs next.",
                     "schedules")
JOBS = HomeLink("Jobs", "jobs", "Imports and other long work: progress, results, problems.", "jobs")
PAYERS = HomeLink("Payers", "admin:revops_payer_changelist", "Payers and their class (commercial, Medicaid, ...).",
                  "reference")
PROGRAMS = HomeLink("Programs", "admin:revops_program_changelist",
                    "Levels of care, place of service, 42 CFR Part 2 flags.", "reference")
FACILITIES = HomeLink("Facilities", "admin:revops_facility_changelist", "Sites, their NPI and location.",
                      "reference")

LINKS_BY_ROLE: dict[str, tuple[HomeLink, ...]] = {
    Role.ADMIN: (MEMBERS, API_KEYS, REFERENCE, IMPORT, AUDIT, SCHEDULES, JOBS),
    Role.EXECUTIVE: (REFERENCE_READ, AUDIT, JOBS),
    Role.REVOPS_ANALYST: (REFERENCE, IMPORT, JOBS),
    Role.BILLING_MANAGER: (PAYERS, PROGRAMS, FACILITIES, JOBS, SCHEDULES),
    Role.REP: (),
    Role.INTEGRATOR: (),
}


def links_for(role: str) -> list[dict[str, str]]:
    """The role's links, each also checked against the matrix (never a link to a 403)."""
    return [
        {"label": link.label, "url": reverse(link.url_name), "description": link.description}
        for link in LINKS_BY_ROLE.get(role, ())
        if allowed(role, link.resource, link.action)
    ]


def reference_counts() -> list[dict[str, Any]]:
    counts = [
        ("People", Person, "admin:revops_person_changelist"),
        ("Teams", Team, "admin:revops_team_changelist"),
        ("Accounts", Account, "admin:revops_account_changelist"),
        ("Payers", Payer, "admin:revops_payer_changelist"),
        ("Programs", Program, "admin:revops_program_changelist"),
        ("Facilities", Facility, "admin:revops_facility_changelist"),
    ]
    return [{"label": label, "count": model.objects.count(), "url": reverse(name)} for label, model, name in counts]


def rep_context(person: Person | None, today: dt.date) -> dict[str, Any]:
    if person is None:
        return {"person": None}
    team_mates = []
    if person.team_id:
        team_mates = list(
            selectors.people_active_on(on=today).filter(team_id=person.team_id).exclude(pk=person.pk)
            .select_related("team")
        )
    direct_reports = list(
        Person.objects.filter(pk__in=selectors.reports_of(manager=person, on=today, direct_only=True))
    )
    return {
        "person": Person.objects.select_related("team").get(pk=person.pk),
        "manager": selectors.manager_of(person=person, on=today),
        "team_mates": team_mates,
        "direct_reports": direct_reports,
    }


def api_docs_url() -> str:
    try:
        return reverse("api-docs")
    except NoReverseMatch:
        return "/api/v1/docs/"


@require_access("home")
def home(request: HttpRequest) -> HttpResponse:
    role: str = request.role  # type: ignore[attr-defined]
    today = timezone.localdate()
    context: dict[str, Any] = {"links": links_for(role), "today": today}
    if allowed(role, "reference", VIEW) and role != Role.INTEGRATOR:
        context["counts"] = reference_counts()
        context["can_change_reference"] = allowed(role, "reference", CHANGE)
    if role == Role.REP:
        context.update(rep_context(request.membership.person, today))  # type: ignore[attr-defined]
    if role == Role.INTEGRATOR:
        context["api_docs_url"] = api_docs_url()
        context["api_base_url"] = request.build_absolute_uri("/api/v1/")
    if allowed(role, "jobs", VIEW) and role != Role.REP:
        context["recent_jobs"] = list(selectors.recent_jobs(limit=5))
    return render(request, "revops/home.html", context)
