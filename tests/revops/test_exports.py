"""CSV and Excel downloads: headers, values, spreadsheet-formula safety, tenant scope when streaming."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from revops.exports import (
    Column,
    columns_for_model,
    csv_bytes,
    export_response,
    stream_csv_response,
    xlsx_bytes,
)
from revops.models import Account, Person
from revops.tenancy import NoActiveTenant, tenant_context


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


ROWS = [
    {"name": "Alpha", "amount": Decimal("12.50"), "when": dt.date(2024, 1, 31), "ok": True, "note": "=HYPERLINK(1)"},
    {"name": "Beta", "amount": None, "when": None, "ok": False, "note": "+1 555 0100"},
]
COLUMNS = [Column("Name", "name"), Column("Amount", "amount"), Column("When", "when"), Column("OK", "ok"),
           Column("Note", "note"), Column("Upper", lambda r: r["name"].upper())]


def test_csv_has_header_values_and_neutralised_formulas():
    rows = read_csv(csv_bytes(ROWS, COLUMNS))
    assert rows[0] == ["Name", "Amount", "When", "OK", "Note", "Upper"]
    assert rows[1] == ["Alpha", "12.50", "2024-01-31", "true", "'=HYPERLINK(1)", "ALPHA"]
    assert rows[2] == ["Beta", "", "", "false", "'+1 555 0100", "BETA"]


def test_xlsx_keeps_types_and_stores_formula_text_as_text():
    book = load_workbook(io.BytesIO(xlsx_bytes(ROWS, COLUMNS, sheet_title="Things")))
    sheet = book["Things"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["Name", "Amount", "When", "OK", "Note", "Upper"]
    assert values[1][0] == "Alpha"
    assert Decimal(str(values[1][1])) == Decimal("12.50")
    assert values[1][2].date() == dt.date(2024, 1, 31)
    assert values[1][3] is True
    assert sheet.cell(row=2, column=5).data_type == "s"
    assert values[1][4] == "=HYPERLINK(1)"
    assert values[2][1] is None


def test_columns_for_model_reads_choices_as_labels_and_relations_by_name(tenant_a):
    columns = columns_for_model(Person)
    headers = [c.header for c in columns]
    assert "tenant" not in headers and "id" in headers
    person = Person.objects.select_related("team").get(employee_id="R1")
    values = {c.header: c.get(person) for c in columns}
    assert values["role"] == "Rep"
    assert values["team"] == person.team


def test_export_response_is_an_attachment_of_the_active_organizations_rows(world):
    with tenant_context(world.a.org):
        response = export_response(rows=Account.objects.all(), columns=[Column("name", "name")], stem="accounts", fmt="csv")
    assert response["Content-Disposition"].startswith('attachment; filename="accounts-')
    assert read_csv(response.content) == [["name"], ["Harbor Behavioral Family Practice"]]
    with tenant_context(world.a.org):
        xlsx = export_response(rows=Account.objects.all(), columns=[Column("name", "name")], stem="accounts", fmt="xlsx")
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    with pytest.raises(ValueError):
        export_response(rows=[], columns=[], stem="x", fmt="pdf")


def test_streamed_csv_reenters_the_organization_after_the_request_context_is_gone(world):
    with tenant_context(world.a.org):
        for i in range(5):
            Account.objects.create(name=f"Clinic {i}", zip_code="37203", state="TN")
        response = stream_csv_response(queryset=Account.objects.all(), columns=[Column("name", "name")],
                                       stem="accounts", chunk_size=2)
    # Like a WSGI server iterating the body after TenantMiddleware reset the context.
    with pytest.raises(NoActiveTenant):
        list(Account.objects.all())
    rows = read_csv(b"".join(response.streaming_content))
    assert rows[0] == ["name"]
    names = [r[0] for r in rows[1:]]
    assert sorted(names) == sorted(["Harbor Behavioral Family Practice"] + [f"Clinic {i}" for i in range(5)])
    assert not any("Summit" in n for n in names)
