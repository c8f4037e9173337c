"""Scale-out beyond the demo core, loaded entirely through COPY (``revops.bulk``).

``--scale N`` adds ``N - 1`` units on top of the core (scale 1 is the core alone). One unit is:

* Meridian Diagnostics: 5 sales districts of 1 district manager and 10 reps (55 people), with
  an area manager per 4 districts, a regional director per 4 areas and a divisional vice
  president per 4 regions, all under the core VP of Sales: a six-level hierarchy (VP >
  divisional VP > regional director > area manager > district manager > rep). In the demo
  year about 10% of reps are hired, 8% are terminated and 10% move to another district of
  their area on 1 July; every change is an effective-dated reporting line. Plus 8,000
  physician-practice accounts on ZIP codes across the fifty states and DC.
* Riverbend Behavioral Health: 2,000 referral-source accounts within 150 miles of its
  facilities.

So scale 100 is 99 units: 4,950 more reps under 658 more managers and leaders (5,608 people,
about 6,000 reporting lines) and 990,000 more accounts (990,540 with the core).
"""
from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from revops.demo import catalog, geo
from revops.demo.accounts import ACCOUNT_COLUMNS, ACCOUNT_CONFLICT, account_rows
from revops.demo.core import CoreResult, date_between
from revops.demo.loads import Loader
from revops.demo.names import person_name
from revops.models import Account, Person, PersonRole, ReportingLine, Team

DISTRICTS_PER_UNIT = 5
REPS_PER_DISTRICT = 10
FAN_OUT = 4  # districts per area, areas per region, regions per division
MERIDIAN_ACCOUNTS_PER_UNIT = 8_000
RIVERBEND_ACCOUNTS_PER_UNIT = 2_000
RIVERBEND_SCALE_RADIUS_MILES = 150.0
HIRED_IN_YEAR = 0.10
TERMINATED_IN_YEAR = 0.08
MOVED_MID_YEAR = 0.10
ACCOUNT_CHUNK = 100_000

PERSON_COLUMNS = ("employee_id", "first_name", "last_name", "email", "title", "role", "team_id",
                  "hire_date", "termination_date")
LINE_COLUMNS = ("person_id", "manager_id", "valid_from", "valid_to")
TEAM_COLUMNS = ("name", "parent_id")


def units(scale: int) -> int:
    return max(0, scale - 1)


@dataclass
class _Planned:
    employee_id: str
    first_name: str
    last_name: str
    title: str
    role: str
    team: str
    hire_date: date
    manager: str | None  # employee id; None: reports to the core VP
    termination_date: date | None = None
    moved_to: str | None = None  # manager's employee id from 1 July of the demo year


@dataclass
class _Level:
    title: str
    role: str
    team_prefix: str
    hired: tuple[int, int]  # years before the demo year: earliest, latest


_LEVELS = (
    _Level("Divisional Vice President of Sales", PersonRole.EXECUTIVE, "Division", (10, 6)),
    _Level("Regional Sales Director", PersonRole.MANAGER, "Region", (8, 4)),
    _Level("Area Sales Manager", PersonRole.MANAGER, "Area", (6, 2)),
    _Level("District Sales Manager", PersonRole.MANAGER, "District", (5, 2)),
)


def _plan_meridian(rng: random.Random, *, scale_units: int, year: int) -> tuple[list[list[str]], list[_Planned]]:
    """Team names per level (parents first) and the people, top-down, with their year of changes."""
    districts = DISTRICTS_PER_UNIT * scale_units
    counts = [districts]
    for _ in range(len(_LEVELS) - 1):
        counts.insert(0, math.ceil(counts[0] / FAN_OUT))
    # Team names encode the path: District 03.2.1.4 is under Area 03.2.1, Region 03.2, Division 03.
    names: list[list[str]] = []
    paths: list[list[str]] = []
    for depth, count in enumerate(counts):
        level_paths = []
        for i in range(count):
            if depth == 0:
                level_paths.append(f"{i + 1:02d}")
            else:
                parent = paths[depth - 1][i // FAN_OUT]
                level_paths.append(f"{parent}.{i % FAN_OUT + 1}")
        paths.append(level_paths)
        names.append([f"{_LEVELS[depth].team_prefix} {p}" for p in level_paths])

    people: list[_Planned] = []
    seq = iter(range(1, 10**7))

    def add(title: str, role: str, team: str, hired: date, manager: str | None) -> _Planned:
        first, last = person_name(rng)
        planned = _Planned(f"MDX-S{next(seq):06d}", first, last, title, role, team, hired, manager)
        people.append(planned)
        return planned

    heads: list[list[_Planned]] = []
    for depth, level in enumerate(_LEVELS):
        row = []
        for i, team in enumerate(names[depth]):
            manager = None if depth == 0 else heads[depth - 1][i // FAN_OUT].employee_id
            earliest, latest = level.hired
            hired = date_between(rng, date(year - earliest, 1, 1), date(year - latest, 12, 31))
            row.append(add(level.title, level.role, team, hired, manager))
        heads.append(row)

    district_heads = heads[-1]
    for i, head in enumerate(district_heads):
        area_first = i - i % FAN_OUT
        siblings = district_heads[area_first: min(area_first + FAN_OUT, len(district_heads))]
        for _ in range(REPS_PER_DISTRICT):
            if rng.random() < HIRED_IN_YEAR:
                hired = date_between(rng, date(year, 1, 6), date(year, 11, 30))
            else:
                hired = date_between(rng, date(year - 5, 1, 1), date(year - 1, 12, 31))
            rep = add("Territory Sales Representative", PersonRole.REP, head.team, hired, head.employee_id)
            earliest_exit = max(hired + timedelta(days=45), date(year, 1, 15))
            if rng.random() < TERMINATED_IN_YEAR and earliest_exit <= date(year, 12, 20):
                rep.termination_date = date_between(rng, earliest_exit, date(year, 12, 20))
            elif len(siblings) > 1 and hired < date(year, 6, 1) and rng.random() < MOVED_MID_YEAR:
                target = rng.choice([s for s in siblings if s is not head])
                rep.moved_to, rep.team = target.employee_id, target.team
    return names, people


def _lines(people: list[_Planned], ids: dict[str, int], hires: dict[str, date], top: int,
           year: int) -> Iterator[tuple[object, ...]]:
    july = date(year, 7, 1)
    for p in people:
        manager = ids[p.manager] if p.manager else top
        start = max(p.hire_date, hires[p.manager] if p.manager else hires[""])
        if p.moved_to:
            yield ids[p.employee_id], manager, start, july
            yield ids[p.employee_id], ids[p.moved_to], max(july, hires[p.moved_to]), None
        else:
            end = p.termination_date + timedelta(days=1) if p.termination_date else None
            yield ids[p.employee_id], manager, start, end


def scale_meridian(rng: random.Random, *, core: CoreResult, scale: int, year: int, loader: Loader,
                   npi_offset: int) -> None:
    n = units(scale)
    if n == 0:
        return
    domain = catalog.MERIDIAN["email_domain"]
    team_names, people = _plan_meridian(rng, scale_units=n, year=year)
    national = Team.objects.get(name="National Sales").pk
    team_ids: dict[str, int] = {}
    parents = [national]
    for depth, level_names in enumerate(team_names):
        rows = [(name, parents[i // FAN_OUT] if depth else national) for i, name in enumerate(level_names)]
        returned = loader.load_returning(Team, columns=TEAM_COLUMNS, rows=rows, returning=("id", "name"))
        by_name = dict((name, pk) for pk, name in returned)
        team_ids.update(by_name)
        parents = [by_name[name] for name in level_names]

    person_rows = [
        (p.employee_id, p.first_name, p.last_name,
         f"{p.first_name[0]}{p.last_name}.{p.employee_id[5:]}@{domain}".lower(), p.title, p.role,
         team_ids[p.team], p.hire_date, p.termination_date)
        for p in people
    ]
    ids = {emp: pk for pk, emp in loader.load_returning(
        Person, columns=PERSON_COLUMNS, rows=person_rows, returning=("id", "employee_id"))}
    hires = {p.employee_id: p.hire_date for p in people}
    hires[""] = core.top.hire_date
    loader.load(ReportingLine, columns=LINE_COLUMNS, rows=list(_lines(people, ids, hires, core.top.pk, year)))

    placed = geo.places()
    total = MERIDIAN_ACCOUNTS_PER_UNIT * n
    _load_accounts(rng, loader, kinds=catalog.MERIDIAN_ACCOUNT_KINDS, places=placed,
                   start=catalog.MERIDIAN_CORE_ACCOUNTS, total=total, id_prefix="MDX-ACC-",
                   npi_offset=npi_offset, service_lines=core.service_lines)


def scale_riverbend(rng: random.Random, *, core: CoreResult, scale: int, year: int, loader: Loader,
                    npi_offset: int) -> None:
    n = units(scale)
    if n == 0:
        return
    nearby: dict[str, geo.Place] = {}
    for spec in catalog.RIVERBEND_FACILITIES:
        for p in geo.places_near(spec.zip_code, RIVERBEND_SCALE_RADIUS_MILES):
            nearby[p.zip_code] = p
    payer_names = [p.name for p in catalog.RIVERBEND_PAYERS if p.payer_class in ("medicaid_managed", "commercial")]
    start = catalog.RIVERBEND_ACCOUNTS_PER_FACILITY * len(catalog.RIVERBEND_FACILITIES)
    _load_accounts(rng, loader, kinds=catalog.RIVERBEND_ACCOUNT_KINDS, places=[nearby[z] for z in sorted(nearby)],
                   start=start, total=RIVERBEND_ACCOUNTS_PER_UNIT * n, id_prefix="RB-REF-",
                   npi_offset=npi_offset, service_lines=core.service_lines, payer_names=payer_names)


def _load_accounts(rng: random.Random, loader: Loader, *, start: int, total: int, **kwargs: object) -> None:
    done = 0
    while done < total:
        count = min(ACCOUNT_CHUNK, total - done)
        loader.load(Account, columns=ACCOUNT_COLUMNS, on_conflict=ACCOUNT_CONFLICT,
                    rows=account_rows(rng, start=start + done, count=count, **kwargs))  # type: ignore[arg-type]
        done += count
