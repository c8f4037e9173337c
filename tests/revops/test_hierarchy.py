"""The effective-dated reporting hierarchy: one manager per person and date, no cycles."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from revops import selectors, services
from revops.models import Person, ReportingLine
from revops.tenancy import tenant_context

D = dt.date


def make(employee_id: str, role: str = "rep") -> Person:
    return Person.objects.create(employee_id=employee_id, first_name=employee_id, last_name="Test",
                                 role=role, hire_date=D(2020, 1, 1))


@pytest.fixture
def people(world):
    with tenant_context(world.a.org):
        yield {k: make(k, "manager" if k != "rep" else "rep") for k in ("vp", "dir1", "dir2", "mgr", "rep")}


def test_manager_change_mid_year_closes_the_old_line(people):
    p = people
    services.reporting_line_assign(person=p["rep"], manager=p["dir1"], valid_from=D(2025, 1, 1))
    services.reporting_line_assign(person=p["rep"], manager=p["dir2"], valid_from=D(2025, 7, 1))
    assert selectors.manager_of(person=p["rep"], on=D(2025, 6, 30)) == p["dir1"]
    assert selectors.manager_of(person=p["rep"], on=D(2025, 7, 1)) == p["dir2"]
    assert selectors.manager_of(person=p["rep"], on=D(2024, 12, 31)) is None
    lines = list(ReportingLine.objects.filter(person=p["rep"]).order_by("valid_from").values_list("valid_from", "valid_to"))
    assert lines == [(D(2025, 1, 1), D(2025, 7, 1)), (D(2025, 7, 1), None)]


def test_a_change_dated_before_a_planned_one_ends_where_the_plan_starts(people):
    p = people
    services.reporting_line_assign(person=p["rep"], manager=p["dir1"], valid_from=D(2025, 1, 1))
    services.reporting_line_assign(person=p["rep"], manager=p["dir2"], valid_from=D(2026, 1, 1))
    line = services.reporting_line_assign(person=p["rep"], manager=p["mgr"], valid_from=D(2025, 6, 1))
    assert (line.valid_from, line.valid_to) == (D(2025, 6, 1), D(2026, 1, 1))
    assert selectors.manager_of(person=p["rep"], on=D(2026, 2, 1)) == p["dir2"]


def test_reports_of_walks_all_levels_on_the_date(people):
    p = people
    on = D(2025, 3, 1)
    services.reporting_line_assign(person=p["dir1"], manager=p["vp"], valid_from=D(2025, 1, 1))
    services.reporting_line_assign(person=p["mgr"], manager=p["dir1"], valid_from=D(2025, 1, 1))
    services.reporting_line_assign(person=p["rep"], manager=p["mgr"], valid_from=D(2025, 1, 1))
    services.reporting_line_assign(person=p["dir2"], manager=p["vp"], valid_from=D(2025, 6, 1))
    assert set(selectors.reports_of(manager=p["vp"], on=on)) == {p["dir1"].pk, p["mgr"].pk, p["rep"].pk}
    assert selectors.reports_of(manager=p["vp"], on=on, direct_only=True) == [p["dir1"].pk]
    assert set(selectors.reports_of(manager=p["vp"], on=D(2025, 6, 1))) == {p["dir1"].pk, p["dir2"].pk, p["mgr"].pk, p["rep"].pk}
    assert selectors.chain_of_command(person=p["rep"], on=on) == [p["mgr"], p["dir1"], p["vp"]]


def test_cycles_are_refused(people):
    p = people
    services.reporting_line_assign(person=p["mgr"], manager=p["vp"], valid_from=D(2025, 1, 1))
    services.reporting_line_assign(person=p["rep"], manager=p["mgr"], valid_from=D(2025, 1, 1))
    with pytest.raises(ValidationError, match="cycle"):
        services.reporting_line_assign(person=p["vp"], manager=p["rep"], valid_from=D(2025, 2, 1))
    with pytest.raises(ValidationError):
        services.reporting_line_assign(person=p["vp"], manager=p["vp"], valid_from=D(2025, 2, 1))


def test_overlapping_lines_are_refused_by_the_database(people):
    p = people
    ReportingLine.objects.create(person=p["rep"], manager=p["dir1"], valid_from=D(2025, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        ReportingLine.objects.create(person=p["rep"], manager=p["dir2"], valid_from=D(2025, 3, 1), valid_to=D(2025, 4, 1))


def test_termination_ends_reporting_lines(people):
    p = people
    services.reporting_line_assign(person=p["rep"], manager=p["mgr"], valid_from=D(2025, 1, 1))
    services.person_terminate(person=p["rep"], on=D(2025, 8, 15))
    assert selectors.manager_of(person=p["rep"], on=D(2025, 8, 15)) == p["mgr"]
    assert selectors.manager_of(person=p["rep"], on=D(2025, 8, 16)) is None
    assert not selectors.people_active_on(on=D(2025, 8, 16)).filter(pk=p["rep"].pk).exists()
    assert selectors.people_active_on(on=D(2025, 8, 15)).filter(pk=p["rep"].pk).exists()
