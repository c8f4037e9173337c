"""Build (or rebuild) the demo organizations: core data, users of every role, API keys, scale-out."""
from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connections, transaction

from rcm_feeds.services.files import rcm_root
from revops import services
from revops.demo import catalog, core, scale
from revops.demo.loads import Loader, LoadStat
from revops.demo.rcm import RcmOutcome, rcm_seed
from revops.demo.commissions import CommissionOutcome, commissions_seed
from revops.demo.contracts import ContractOutcome, contracts_seed
from revops.demo.forecasting import ForecastOutcome, forecasting_seed
from revops.demo.intake import IntakeOutcome, intake_seed
from revops.demo.quotas import QuotaOutcome, quotas_seed
from revops.demo.territories import TerritoryOutcome, territories_seed
from revops.models import Account, Membership, Organization, Person, Role
from revops.schedules import schedules_install_defaults
from revops.tenancy import Actor, actor_context, tenant_context
from scenarios.demo import ScenarioOutcome
from scenarios.demo import seed as scenarios_seed

DEMO_PASSWORD = "revops-demo"
SHARED_USERNAME = "demo-both"
# The user who belongs to both organizations holds a different role in each.
SHARED_ROLES = {"riverbend-bh": Role.EXECUTIVE, "meridian-dx": Role.REVOPS_ANALYST}
USER_PREFIX = {"riverbend-bh": "riverbend", "meridian-dx": "meridian"}


@dataclass(frozen=True)
class DemoOrg:
    spec: dict[str, Any]
    npi_offset: int
    build: Callable[..., core.CoreResult]
    scale_out: Callable[..., None]


DEMO_ORGS = (
    DemoOrg(catalog.RIVERBEND, 11, core.build_riverbend, scale.scale_riverbend),
    DemoOrg(catalog.MERIDIAN, 29, core.build_meridian, scale.scale_meridian),
)


@dataclass(frozen=True)
class Login:
    organization: str
    role: str
    username: str
    password: str
    person: str = ""


@dataclass
class OrgOutcome:
    organization: Organization
    created: bool
    api_key: str | None = None
    people: int = 0
    accounts: int = 0
    billing: RcmOutcome | None = None
    intake: IntakeOutcome | None = None
    contracts: ContractOutcome | None = None
    scenarios: ScenarioOutcome | None = None
    territories: TerritoryOutcome | None = None
    quotas: QuotaOutcome | None = None
    forecasting: ForecastOutcome | None = None
    commissions: CommissionOutcome | None = None


@dataclass
class DemoOutcome:
    orgs: list[OrgOutcome] = field(default_factory=list)
    logins: list[Login] = field(default_factory=list)
    loads: list[LoadStat] = field(default_factory=list)


def default_year() -> int:
    """The last complete calendar year: every dated change in the demo is already in the past."""
    return date.today().year - 1


def demo_organizations() -> list[Organization]:
    return list(Organization.objects.filter(slug__in=[o.spec["slug"] for o in DEMO_ORGS]).order_by("slug"))


def demo_reset() -> int:
    """Delete the demo organizations and everything they own (their users stay, for re-use).

    Their received billing files and feed inboxes go too: both live in folders named by the
    organization's id, which a rebuilt organization does not reuse.
    """
    orgs = demo_organizations()
    for org in orgs:
        pk = org.pk
        services.organization_delete(organization=org)
        shutil.rmtree(rcm_root(pk), ignore_errors=True)
        shutil.rmtree(Path(settings.RCM_INBOX_ROOT) / str(pk), ignore_errors=True)
    return len(orgs)


def _user(username: str, email: str, password_hash: str) -> Any:
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=username, defaults={"email": email})
    user.password = password_hash
    user.is_active = True
    user.save(update_fields=["password", "is_active"])
    return user


def _users(demo: DemoOrg, built: core.CoreResult, password_hash: str) -> list[Login]:
    slug, domain = demo.spec["slug"], demo.spec["email_domain"]
    logins = []
    for role in Role.values:
        username = f"{USER_PREFIX[slug]}-{role.replace('_', '-')}"
        user = _user(username, f"{role}@{domain}", password_hash)
        person = built.first_rep if role == Role.REP else None
        services.membership_upsert(user=user, role=role, person=person)
        if person is not None:
            person.user = user
            person.save(update_fields=["user"])
        logins.append(Login(demo.spec["name"], role, username, DEMO_PASSWORD, person.full_name if person else ""))
    shared = _user(SHARED_USERNAME, f"{SHARED_USERNAME}@revops-demo.example", password_hash)
    services.membership_upsert(user=shared, role=SHARED_ROLES[slug])
    logins.append(Login(demo.spec["name"], SHARED_ROLES[slug], SHARED_USERNAME, DEMO_PASSWORD))
    return logins


def _existing_logins(org: Organization) -> list[Login]:
    with tenant_context(org):
        memberships = Membership.objects.select_related("user", "person").order_by("user__username")
        return [Login(org.name, m.role, m.user.username, DEMO_PASSWORD, m.person.full_name if m.person else "")
                for m in memberships]


def demo_seed(*, seed: int = 42, scale_factor: int = 1, year: int | None = None, reset: bool = False,
              baseline: bool = False, billing: bool = True, territories: bool = True, quotas: bool = True,
              forecasting: bool = True, commissions: bool = True,
              progress: Callable[[str], None] | None = None) -> DemoOutcome:
    """Build the demo organizations from ``seed``; existing ones are kept unless ``reset``.

    The data is a function of (seed, scale_factor, year) alone. ``baseline`` times a raw COPY
    of every bulk-loaded batch next to the real load (for ``bench/seed_scale.py``). ``billing``
    also loads each organization's RCM history (``revops.demo.rcm``) through the ingestion
    path, after its organization is committed; an existing organization gets whatever part of
    that history it lacks, so an interrupted load resumes. ``territories`` then builds each
    organization's territory plans (``revops.demo.territories``: an active plan, a mid-year
    realignment with a hold-out, a balanced draft for next year; after billing, whose RCM
    aggregates the payer-adjusted potential reads). ``quotas`` then builds its quota plans on those
    territory plans (``revops.demo.quotas``; needs ``territories``), and ``forecasting`` its pipeline,
    monthly calls, month-end forecasts and scored past months (``revops.demo.forecasting``), and
    ``commissions`` a year of commission plans, monthly runs, statements and disputes on the quota
    plans' bookings (``revops.demo.commissions``; needs ``quotas``).
    ``progress`` receives its progress lines.
    """
    if scale_factor < 1:
        raise ValueError("scale must be at least 1")
    year = year or default_year()
    if reset:
        demo_reset()
    outcome = DemoOutcome()
    loader = Loader(baseline=baseline)
    password_hash = make_password(DEMO_PASSWORD)  # hashed once: PBKDF2 per user would dominate
    for demo in DEMO_ORGS:
        existing = Organization.objects.filter(slug=demo.spec["slug"]).first()
        if existing is not None:
            outcome.orgs.append(OrgOutcome(existing, created=False))
            outcome.logins.extend(_existing_logins(existing))
            continue
        outcome.orgs.append(_build(demo, seed=seed, scale_factor=scale_factor, year=year, loader=loader,
                                   password_hash=password_hash, logins=outcome.logins))
    outcome.loads = list(loader.stats.values())
    if billing:
        _billing(outcome.orgs, seed=seed, year=year, scale_units=scale.units(scale_factor), progress=progress)
        for org in outcome.orgs:
            if progress:
                progress(f"{org.organization.name}: admissions, authorizations, intake rules, program costs")
            org.intake = intake_seed(organization=org.organization, seed=seed, year=year)
        for org in outcome.orgs:
            if progress:
                progress(f"{org.organization.name}: payer contracts, expected reimbursement, reviews")
            org.contracts = contracts_seed(organization=org.organization, seed=seed, year=year)
            if progress:
                progress(f"{org.organization.name}: what-if scenarios")
            org.scenarios = scenarios_seed(org.organization)
    if territories:
        for org in outcome.orgs:
            if progress:
                progress(f"{org.organization.name}: territory plans")
            org.territories = territories_seed(organization=org.organization, seed=seed, year=year)
    if territories and quotas:
        for org in outcome.orgs:
            if progress:
                progress(f"{org.organization.name}: quota plans")
            org.quotas = quotas_seed(organization=org.organization, seed=seed, year=year, scale=scale_factor)
    if forecasting:
        for org in outcome.orgs:
            if progress:
                progress(f"{org.organization.name}: pipeline and forecasts")
            org.forecasting = forecasting_seed(organization=org.organization, seed=seed, year=year)
    if territories and quotas and commissions:
        for org in outcome.orgs:
            if progress:
                progress(f"{org.organization.name}: commission plans, runs and statements")
            org.commissions = commissions_seed(organization=org.organization, seed=seed, year=year)
    return outcome


def _billing(orgs: list[OrgOutcome], *, seed: int, year: int, scale_units: int,
             progress: Callable[[str], None] | None) -> None:
    """Load the organizations' billing histories side by side, one thread and connection each.

    The histories are independent (their own tenant, rows and files), and a load spends much of
    its time waiting on the database, so two of them overlap well even on two cores.
    """
    def load(org: OrgOutcome) -> RcmOutcome:
        try:
            return rcm_seed(organization=org.organization, seed=seed, year=year, scale_units=scale_units,
                            progress=progress)
        finally:
            connections.close_all()  # this thread's connection

    with ThreadPoolExecutor(max_workers=len(orgs)) as pool:
        for org, result in zip(orgs, list(pool.map(load, orgs))):
            org.billing = result


def _build(demo: DemoOrg, *, seed: int, scale_factor: int, year: int, loader: Loader, password_hash: str,
           logins: list[Login]) -> OrgOutcome:
    spec = demo.spec
    with transaction.atomic(), actor_context(Actor(label="seed_demo")):
        org = services.organization_create(
            name=spec["name"], slug=spec["slug"], kind=spec["kind"], ekra_covered=spec["ekra_covered"],
            fiscal_year_start_month=spec["fiscal_year_start_month"],
        )
        with tenant_context(org):
            # One generator per part, so growing the scale never changes the core.
            built = demo.build(random.Random(f"{seed}:{spec['slug']}:core"), year=year, loader=loader,
                               npi_offset=demo.npi_offset)
            logins.extend(_users(demo, built, password_hash))
            _, raw_key = services.api_key_create(name="Demo integration")
            schedules_install_defaults()
            demo.scale_out(random.Random(f"{seed}:{spec['slug']}:scale"), core=built, scale=scale_factor,
                           year=year, loader=loader, npi_offset=demo.npi_offset)
            return OrgOutcome(org, created=True, api_key=raw_key, people=Person.objects.count(),
                              accounts=Account.objects.count())
