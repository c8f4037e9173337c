"""CSV and Excel exports of list endpoints: every filtered row, the serializer's columns, no other tenant."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from revops.models import Account, Role
from revops.tenancy import tenant_context

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def read_csv(response) -> list[dict[str, str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


@pytest.fixture
def accounts(world):
    with tenant_context(world.a.org):
        for i, (zip_code, state, county) in enumerate([("10001", "NY", "New York"), ("11201", "NY", "Kings"),
                                                        ("37201", "TN", "Davidson")]):
            Account.objects.create(name=f"Export {i}, \"quoted\"", zip_code=zip_code, state=state, county=county,
                                   external_id=f"EX-{i}", latitude=Decimal("40.712800"), longitude=Decimal("-74.006000"))
    return world


def test_csv_export_respects_filters_and_is_not_paginated(accounts):
    response = accounts.a.api(Role.REVOPS_ANALYST).get("/api/v1/accounts/?format=csv&state=NY&limit=1&ordering=name")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="api-account-')
    rows = read_csv(response)
    assert [r["external_id"] for r in rows] == ["EX-0", "EX-1"]
    assert rows[0]["name"] == 'Export 0, "quoted"'
    assert list(rows[0]) == ["id", "external_id", "name", "npi", "specialty", "account_type", "service_line", "city",
                             "zip_code", "county", "state", "latitude", "longitude", "is_active"]
    assert rows[0]["latitude"] == "40.712800" and rows[0]["service_line"] == ""


def test_csv_export_of_an_empty_selection_still_has_the_header(world):
    response = world.a.api().get("/api/v1/payers/?format=csv&payer_class=medicaid")
    lines = response.content.decode("utf-8").lstrip("\ufeff").splitlines()
    assert lines == ["id,name,payer_class,payer_id,is_active"]


def test_csv_export_shows_only_the_callers_organization(world):
    body = world.a.api().get("/api/v1/people/?format=csv").content
    assert b"harbor" in body and b"summit" not in body


def test_csv_with_nested_values_writes_json(world):
    rows = read_csv(world.a.api(Role.ADMIN).get("/api/v1/memberships/?format=csv&role=admin"))
    assert len(rows) == 1 and '"username": "harbor-admin"' in rows[0]["user"]


def test_csv_export_of_one_object_and_of_the_audit_trail(world):
    account = world.a.objects["account"]
    rows = read_csv(world.a.api().get(f"/api/v1/accounts/{account.pk}/?format=csv"))
    assert [r["external_id"] for r in rows] == ["ACC-1"]
    trail = read_csv(world.a.api(Role.ADMIN).get("/api/v1/audit-events/?format=csv&model=revops.Account"))
    assert {r["object_pk"] for r in trail} == {str(account.pk)}


def test_xlsx_export_keeps_numbers_and_dates_typed(accounts):
    response = accounts.a.api().get("/api/v1/accounts/?format=xlsx&state=NY&ordering=name")
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:3] == ["id", "external_id", "name"]
    first = dict(zip(header, rows[1], strict=True))
    assert first["external_id"] == "EX-0" and first["latitude"] == pytest.approx(40.7128)
    assert first["zip_code"] == "10001"  # identifiers stay text
    people = load_workbook(io.BytesIO(accounts.a.api().get("/api/v1/people/?format=xlsx").content)).active
    prow = list(people.iter_rows(values_only=True))
    hire = dict(zip(prow[0], prow[1], strict=True))["hire_date"]
    assert isinstance(hire, dt.datetime) and hire.date() == dt.date(2020, 1, 1)


def test_export_is_denied_like_the_list(world):
    assert world.a.api(Role.REP).get("/api/v1/people/?format=csv").status_code == 403
    assert world.a.api(Role.REVOPS_ANALYST).get("/api/v1/audit-events/?format=xlsx").status_code == 403


def test_writes_do_not_answer_in_export_formats(world):
    response = world.a.api().post("/api/v1/payers/", {"name": "X", "payer_class": "medicaid"}, format="json",
                                  HTTP_ACCEPT="text/csv")
    assert response.status_code == 406


def test_text_that_would_run_as_a_formula_is_neutralised(world):
    with tenant_context(world.a.org):
        Account.objects.create(name='=HYPERLINK("http://evil.test","x")', zip_code="37203", state="TN",
                               longitude=Decimal("-86.791600"), latitude=Decimal("36.150400"))
    rows = read_csv(world.a.api().get("/api/v1/accounts/?format=csv&search=HYPERLINK"))
    assert rows[0]["name"] == "'=HYPERLINK(\"http://evil.test\",\"x\")"
    assert rows[0]["longitude"] == "-86.791600"
    sheet = load_workbook(io.BytesIO(world.a.api().get("/api/v1/accounts/?format=xlsx&search=HYPERLINK").content)).active
    header, first = list(sheet.iter_rows(values_only=True))[:2]
    record = dict(zip(header, first, strict=True))
    assert record["name"].startswith("'=") and record["longitude"] == pytest.approx(-86.7916)
