"""The demo core of each organization (scale 1): small enough to build through the ORM and services.

Every write goes through the models or ``revops.services`` (so the audit trail records the
seed like any other change), except accounts, which go through ``revops.bulk`` from the
start so the demo and the benchmark load them the same way.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from revops import services
from revops.demo import catalog, geo
from revops.demo.accounts import ACCOUNT_COLUMNS, ACCOUNT_CONFLICT, account_rows
from revops.demo.identifiers import npi_for_index
from revops.demo.loads import Loader
from revops.demo.names import person_name
from revops.models import (
    Account,
    Facility,
    Payer,
    Person,
    PersonRole,
    Program,
    ServiceLine,
    Team,
)

# Facility NPIs count down from the top of the index range; account NPIs count up from 0.
FACILITY_NPI_INDEX = 10**8 - 1


def date_between(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, (end - start).days))


@dataclass
class CoreResult:
    """What the scale-out and the user setup need from the core."""

    service_lines: dict[str, int]
    top: Person
    first_rep: Person
    accounts_loaded: int
    people: list[Person] = field(default_factory=list)


class _People:
    """Creates people with unique employee ids and e-mail addresses, in creation order."""

    def __init__(self, rng: random.Random, *, prefix: str, domain: str) -> None:
        self.rng, self.prefix, self.domain = rng, prefix, domain
        self.created: list[Person] = []
        self._emails: set[str] = set()

    def add(self, *, role: str, title: str, team: Team | None, hire_date: date) -> Person:
        first, last = person_name(self.rng)
        local = f"{first}.{last}".lower()
        email, n = f"{local}@{self.domain}", 1
        while email in self._emails:
            n += 1
            email = f"{local}{n}@{self.domain}"
        self._emails.add(email)
        person = Person.objects.create(
            employee_id=f"{self.prefix}{len(self.created) + 1:04d}", first_name=first, last_name=last,
            email=email, title=title, role=role, team=team, hire_date=hire_date,
        )
        self.created.append(person)
        return person


def _report(person: Person, manager: Person, on: date | None = None) -> None:
    services.reporting_line_assign(person=person, manager=manager,
                                   valid_from=on or max(person.hire_date, manager.hire_date))


def _reference_data(rng: random.Random, *, service_lines: tuple[tuple[str, str], ...],
                    facilities: tuple[catalog.FacilitySpec, ...], payers: tuple[catalog.PayerSpec, ...],
                    npi_offset: int) -> tuple[dict[str, int], dict[str, Facility]]:
    lines = {code: ServiceLine.objects.create(name=name, code=code).pk for name, code in service_lines}
    sites: dict[str, Facility] = {}
    for i, spec in enumerate(facilities):
        where = geo.place(spec.zip_code)
        sites[spec.key] = Facility.objects.create(
            name=spec.name, npi=npi_for_index(FACILITY_NPI_INDEX - i, offset=npi_offset),
            zip_code=where.zip_code, state=where.state,
        )
    used: set[str] = set()
    for spec in payers:
        payer_id = f"{rng.randint(10000, 99999)}"
        while payer_id in used:
            payer_id = f"{rng.randint(10000, 99999)}"
        used.add(payer_id)
        Payer.objects.create(name=spec.name, payer_class=spec.payer_class, payer_id=payer_id)
    return lines, sites


def build_riverbend(rng: random.Random, *, year: int, loader: Loader, npi_offset: int) -> CoreResult:
    """Facilities, programs, payers, a business-development team and referral sources near each site."""
    lines, sites = _reference_data(
        rng, service_lines=catalog.RIVERBEND_SERVICE_LINES, facilities=catalog.RIVERBEND_FACILITIES,
        payers=catalog.RIVERBEND_PAYERS, npi_offset=npi_offset,
    )
    for spec in catalog.RIVERBEND_PROGRAMS:
        Program.objects.create(
            code=spec.code, name=spec.name, level_of_care=spec.level_of_care, facility=sites[spec.facility],
            place_of_service=spec.place_of_service, is_part2=spec.is_part2,
        )
    people = _People(rng, prefix="RB-", domain=catalog.RIVERBEND["email_domain"])
    vp = people.add(role=PersonRole.EXECUTIVE, title="Vice President of Business Development", team=None,
                    hire_date=date_between(rng, date(year - 9, 1, 1), date(year - 6, 12, 31)))
    liaisons: list[Person] = []
    for region_name, facility_keys in catalog.RIVERBEND_REGIONS:
        team = Team.objects.create(name=region_name, service_line_id=lines["AMH"])
        director = people.add(role=PersonRole.MANAGER, title="Regional Director of Business Development",
                              team=team, hire_date=date_between(rng, date(year - 6, 1, 1), date(year - 3, 12, 31)))
        _report(director, vp)
        for key in facility_keys:
            for _ in range(catalog.RIVERBEND_LIAISONS_PER_FACILITY[key]):
                liaison = people.add(
                    role=PersonRole.REP, title=f"Community Liaison, {geo.place(sites[key].zip_code).city}",
                    team=team, hire_date=date_between(rng, date(year - 4, 1, 1), date(year - 1, 10, 31)),
                )
                _report(liaison, director)
                liaisons.append(liaison)

    payer_names = [p.name for p in catalog.RIVERBEND_PAYERS
                   if p.payer_class in ("medicaid_managed", "commercial")]
    loaded = 0
    per_site = catalog.RIVERBEND_ACCOUNTS_PER_FACILITY
    for i, spec in enumerate(catalog.RIVERBEND_FACILITIES):
        loaded += loader.load(Account, columns=ACCOUNT_COLUMNS, on_conflict=ACCOUNT_CONFLICT, rows=account_rows(
            rng, kinds=catalog.RIVERBEND_ACCOUNT_KINDS,
            places=geo.places_near(spec.zip_code, catalog.RIVERBEND_REFERRAL_RADIUS_MILES),
            start=i * per_site, count=per_site, id_prefix="RB-REF-", npi_offset=npi_offset,
            service_lines=lines, payer_names=payer_names,
        ))
    return CoreResult(service_lines=lines, top=vp, first_rep=liaisons[0], accounts_loaded=loaded,
                      people=people.created)


def build_meridian(rng: random.Random, *, year: int, loader: Loader, npi_offset: int) -> CoreResult:
    """Service lines, a VP > regional directors > area managers > reps sales force with a year of changes.

    In ``year``: three reps are hired (February, April, September), one is terminated at the
    end of May, and on 1 July one rep moves to another area manager and one area manager
    moves to another regional director.
    """
    lines, _ = _reference_data(
        rng, service_lines=catalog.MERIDIAN_SERVICE_LINES, facilities=catalog.MERIDIAN_FACILITIES,
        payers=catalog.MERIDIAN_PAYERS, npi_offset=npi_offset,
    )
    people = _People(rng, prefix="MDX-", domain=catalog.MERIDIAN["email_domain"])
    national = Team.objects.create(name="National Sales")
    vp = people.add(role=PersonRole.EXECUTIVE, title="Vice President of Sales", team=national,
                    hire_date=date_between(rng, date(year - 10, 1, 1), date(year - 7, 12, 31)))
    directors: list[Person] = []
    managers: list[Person] = []
    area_teams: list[Team] = []
    reps: list[Person] = []
    for region in catalog.MERIDIAN_REGIONS:
        region_team = Team.objects.create(name=region.name, parent=national)
        director = people.add(role=PersonRole.MANAGER, title="Regional Sales Director", team=region_team,
                              hire_date=date_between(rng, date(year - 7, 1, 1), date(year - 4, 12, 31)))
        _report(director, vp)
        directors.append(director)
        for area in region.areas:
            team = Team.objects.create(name=f"{area.name} Area", parent=region_team)
            manager = people.add(role=PersonRole.MANAGER, title="Area Sales Manager", team=team,
                                 hire_date=date_between(rng, date(year - 5, 1, 1), date(year - 2, 12, 31)))
            _report(manager, director)
            managers.append(manager)
            area_teams.append(team)
            for _ in range(catalog.MERIDIAN_REPS_PER_AREA):
                rep = people.add(role=PersonRole.REP, title="Territory Sales Representative", team=team,
                                 hire_date=date_between(rng, date(year - 4, 1, 1), date(year - 1, 11, 30)))
                _report(rep, manager)
                reps.append(rep)

    overlay = Team.objects.create(name="Molecular Specialists", parent=national, service_line_id=lines["MOL"])
    for director in directors[:2]:
        specialist = people.add(role=PersonRole.OVERLAY, title="Molecular Diagnostics Specialist", team=overlay,
                                hire_date=date_between(rng, date(year - 3, 1, 1), date(year - 1, 6, 30)))
        _report(specialist, director)

    for area_index, hired in ((0, date(year, 2, 3)), (3, date(year, 4, 14)), (5, date(year, 9, 8))):
        rep = people.add(role=PersonRole.REP, title="Territory Sales Representative",
                         team=area_teams[area_index], hire_date=hired)
        _report(rep, managers[area_index])

    # Reps are listed area by area, four per area.
    services.person_terminate(person=reps[9], on=date(year, 5, 30))
    mover = reps[5]
    services.reporting_line_assign(person=mover, manager=managers[0], valid_from=date(year, 7, 1))
    mover.team = area_teams[0]
    mover.save(update_fields=["team"])
    services.reporting_line_assign(person=managers[5], manager=directors[1], valid_from=date(year, 7, 1))

    placed = geo.places_in(tuple(sorted({s for r in catalog.MERIDIAN_REGIONS for a in r.areas for s in a.states})))
    loaded = loader.load(Account, columns=ACCOUNT_COLUMNS, on_conflict=ACCOUNT_CONFLICT, rows=account_rows(
        rng, kinds=catalog.MERIDIAN_ACCOUNT_KINDS, places=placed, start=0, count=catalog.MERIDIAN_CORE_ACCOUNTS,
        id_prefix="MDX-ACC-", npi_offset=npi_offset, service_lines=lines,
    ))
    return CoreResult(service_lines=lines, top=vp, first_rep=reps[0], accounts_loaded=loaded,
                      people=people.created)
