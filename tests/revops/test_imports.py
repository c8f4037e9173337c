"""CSV import of accounts and people: row checks, bulk upsert, idempotent re-upload, rejected rows."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from revops import imports
from revops.celery import app as celery_app
from revops.imports import ACCOUNTS, PEOPLE, ImportFileError, npi_is_valid
from revops.jobs import job_create
from revops.models import Account, AuditEvent, Job, JobStatus, Person, ReportingLine
from revops.tasks import reference_import
from revops.tenancy import tenant_context


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def write_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def run_import(tenant, spec, content: bytes, name: str = "upload.csv") -> Job:
    """Upload through the service, then run the job's task body in-process (as a worker would)."""
    with tenant_context(tenant.org):
        upload = SimpleUploadedFile(name, content, content_type="text/csv")
        job = imports.import_start(spec=spec, upload=upload, created_by=tenant.users["admin"])
    reference_import(tenant_id=tenant.org.pk, job_id=job.pk)
    with tenant_context(tenant.org):
        return Job.objects.get(pk=job.pk)


ACCOUNT_HEADER = ["external_id", "name", "zip_code", "npi", "account_type", "service_line", "state"]
ACCOUNT_ROWS = [
    ACCOUNT_HEADER,
    ["A-1", "Lakeside Clinic", "37203", "1234567893", "clinic", "Harbor Behavioral Toxicology", "TN"],  # line 2
    ["A-2", "", "37203", "", "", "", ""],  # 3: no name
    ["A-3", "Nowhere Practice", "99999", "", "", "", ""],  # 4: not a ZIP code
    ["A-4", "Typo NPI", "37203", "1234567890", "", "", ""],  # 5: check digit
    ["A-5", "Wrong State", "37203", "", "", "", "GA"],  # 6: ZIP in TN
    ["A-1", "Lakeside again", "37203", "", "", "", ""],  # 7: duplicate key
    ["A-6", "Back Bay Practice", "2134", "", "Physician practice", "TOX", ""],  # 8: ZIP lost its zero
    ["A-7", "Heart Group", "37203", "", "", "Cardiology", ""],  # 9: unknown service line
    ["", "No Id", "37203", "", "", "", ""],  # 10: no key
]


def test_npi_check_digit():
    assert npi_is_valid("1234567893")
    assert not npi_is_valid("1234567890")
    assert not npi_is_valid("12345")


def test_accounts_import_loads_good_rows_and_reports_bad_ones_by_line(world):
    job = run_import(world.a, ACCOUNTS, write_csv(ACCOUNT_ROWS))
    assert job.status == JobStatus.SUCCEEDED, job.error
    result = job.result
    assert (result["rows"], result["created"], result["updated"], result["error_count"]) == (9, 2, 0, 7)
    reasons = {e["line"]: e["reason"] for e in result["errors"]}
    assert reasons == {
        3: "name is required",
        4: "zip_code 99999 is not a US ZIP code",
        5: "npi '1234567890' is not a valid NPI (10 digits with a correct check digit)",
        6: "zip_code 37203 is in TN, not GA",
        7: "external_id 'A-1' appears again (first on line 2)",
        9: "service_line 'Cardiology' does not exist; add it under reference data first",
        10: "external_id is required",
    }
    with tenant_context(world.a.org):
        lakeside = Account.objects.get(external_id="A-1")
        back_bay = Account.objects.get(external_id="A-6")
        sl = world.a.objects["serviceline"]
        assert Account.objects.count() == 3  # the world's account plus two
    assert (lakeside.city, lakeside.county, lakeside.state, lakeside.account_type) == ("Nashville", "Davidson", "TN", "clinic")
    assert lakeside.service_line_id == sl.pk and lakeside.npi == "1234567893"
    assert lakeside.latitude == Decimal("36.150400") and lakeside.longitude == Decimal("-86.791600")
    assert (back_bay.zip_code, back_bay.state, back_bay.account_type) == ("02134", "MA", "physician_practice")
    assert back_bay.service_line_id == sl.pk


def test_reuploading_the_same_rows_updates_instead_of_duplicating(world):
    content = write_csv(ACCOUNT_ROWS)
    run_import(world.a, ACCOUNTS, content)
    again = run_import(world.a, ACCOUNTS, content, name="again.csv")
    assert (again.result["created"], again.result["updated"], again.result["unchanged"]) == (0, 0, 2)
    changed = [ACCOUNT_HEADER, ["A-1", "Lakeside Family Clinic", "37203", "", "", "", ""],
               ["ACC-1", "Harbor Family Practice (renamed)", "37203", "", "", "", ""]]
    third = run_import(world.a, ACCOUNTS, write_csv(changed))
    assert (third.result["created"], third.result["updated"]) == (0, 2)
    with tenant_context(world.a.org):
        assert Account.objects.count() == 3
        assert Account.objects.get(external_id="A-1").name == "Lakeside Family Clinic"
        assert Account.objects.get(external_id="ACC-1").name == "Harbor Family Practice (renamed)"
        bulk = AuditEvent.objects.filter(model="revops.Account", object_pk="*").order_by("-id").first()
    assert bulk.after["updated"] == 2 and bulk.after["job"] == third.pk
    # Organization b's account with the same external id is untouched.
    with tenant_context(world.b.org):
        assert Account.objects.get(external_id="ACC-1").name == "Summit Labs Family Practice"
        assert Account.objects.count() == 1


def test_people_import_upserts_by_employee_id_and_terminations_end_reporting_lines(world):
    rows = [
        ["employee_id", "first_name", "last_name", "hire_date", "email", "title", "role", "team", "termination_date"],
        ["R1", "Ray", "Rep harbor", "2021-03-01", "ray@harbor.test", "Senior rep", "rep", "Harbor Behavioral East", "2024-06-30"],
        ["P-9", "Pat", "Newhire", "03/15/2024", "", "", "Overlay specialist", "harbor behavioral east", ""],
        ["P-10", "Bad", "Date", "2024-13-01", "", "", "", "", ""],
        ["P-11", "Early", "Exit", "2024-05-01", "", "", "", "", "2024-04-01"],
        ["P-12", "No", "Team", "2024-05-01", "", "", "", "West", ""],
        ["P-13", "Bad", "Email", "2024-05-01", "not-an-email", "", "", "", ""],
        ["P-14", "Wrong", "Role", "2024-05-01", "", "", "janitor", "", ""],
    ]
    job = run_import(world.a, PEOPLE, write_csv(rows))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.result["created"], job.result["updated"], job.result["error_count"]) == (1, 1, 5)
    reasons = {e["line"]: e["reason"] for e in job.result["errors"]}
    assert reasons[4] == "hire_date '2024-13-01' is not a date (use YYYY-MM-DD)"
    assert reasons[5] == "termination_date is before hire_date"
    assert reasons[6].startswith("team 'West' does not exist")
    assert reasons[7] == "email 'not-an-email' is not an email address"
    assert reasons[8].startswith("role 'janitor' is not one of")
    with tenant_context(world.a.org):
        ray = Person.objects.get(employee_id="R1")
        pat = Person.objects.get(employee_id="P-9")
        line = ReportingLine.objects.get(person=ray)
    assert (ray.title, ray.termination_date) == ("Senior rep", dt.date(2024, 6, 30))
    assert ray.user_id == world.a.users["rep"].pk  # columns the import does not read are kept
    assert line.valid_to == dt.date(2024, 7, 1)
    assert (pat.hire_date, pat.role, pat.team_id) == (dt.date(2024, 3, 15), "overlay", world.a.objects["team"].pk)


def test_rejected_rows_download_has_line_reason_and_the_row_as_uploaded(world):
    job = run_import(world.a, ACCOUNTS, write_csv(ACCOUNT_ROWS))
    response = world.a.client("revops_analyst").get(reverse("job_errors_csv", args=[job.pk]))
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["line", "reason", *ACCOUNT_HEADER]
    assert rows[1] == ["3", "name is required", "A-2", "", "37203", "", "", "", ""]
    assert len(rows) == 1 + 7
    # The file sits in organization a's import folder.
    assert job.result["errors_path"].startswith(f"{world.a.org.pk}/imports/")
    # A role that may not view reference data cannot download it.
    assert world.a.client("rep").get(reverse("job_errors_csv", args=[job.pk])).status_code == 403


def test_file_without_a_required_column_is_refused_at_upload(world):
    with tenant_context(world.a.org):
        upload = SimpleUploadedFile("x.csv", write_csv([["name", "zip_code"], ["A", "37203"]]))
        with pytest.raises(ImportFileError, match="no external_id column"):
            imports.import_start(spec=ACCOUNTS, upload=upload, created_by=None)
        assert not Job.objects.filter(kind="accounts_import", params__kind="accounts").exists()


def test_a_job_whose_file_is_outside_the_organizations_folder_fails(world):
    with tenant_context(world.a.org):
        job = job_create(kind="accounts_import", params={"kind": "accounts", "path": f"{world.b.org.pk}/imports/x.csv"})
    with pytest.raises(ImportFileError):
        reference_import(tenant_id=world.a.org.pk, job_id=job.pk)
    with tenant_context(world.a.org):
        job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "import folder" in job.error


def test_upload_page_saves_the_file_runs_the_job_and_shows_the_result(world, media, django_capture_on_commit_callbacks):
    client = world.a.client("revops_analyst")
    assert client.get(reverse("import_upload")).status_code == 200
    upload = SimpleUploadedFile("accounts.csv", "\ufeff".encode() + write_csv(ACCOUNT_ROWS[:3]), content_type="text/csv")
    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("import_upload"), {"kind": "accounts", "file": upload})
    finally:
        celery_app.conf.task_always_eager = False
    assert response.status_code == 302
    with tenant_context(world.a.org):
        job = Job.objects.get(kind="accounts_import", params__filename="accounts.csv")
    assert response["Location"] == reverse("job_detail", args=[job.pk])
    assert job.status == JobStatus.SUCCEEDED and job.result["created"] == 1 and job.result["error_count"] == 1
    assert job.celery_task_id
    stored = media / job.params["path"]
    assert stored.exists() and stored.parent == media / str(world.a.org.pk) / "imports"
    page = client.get(response["Location"])
    assert b"Rejected rows" in page.content and b"name is required" in page.content


def test_upload_page_shows_what_is_wrong_with_a_file(world):
    client = world.a.client("admin")
    bad = SimpleUploadedFile("people.csv", write_csv([["first_name"], ["A"]]))
    response = client.post(reverse("import_upload"), {"kind": "people", "file": bad})
    assert response.status_code == 200
    assert b"The file has no employee_id, last_name, hire_date columns" in response.content
    not_csv = SimpleUploadedFile("people.xlsx", b"PK\x03\x04")
    response = client.post(reverse("import_upload"), {"kind": "people", "file": not_csv})
    assert b"Upload a .csv file" in response.content


@pytest.mark.parametrize("role,status", [("admin", 200), ("revops_analyst", 200), ("integrator", 200),
                                         ("executive", 403), ("billing_manager", 403), ("rep", 403)])
def test_only_roles_that_change_reference_data_may_import(world, role, status):
    assert world.a.client(role).get(reverse("import_upload")).status_code == status


def test_template_download_names_the_columns(world):
    response = world.a.client("admin").get(reverse("import_template") + "?kind=people")
    assert response.status_code == 200
    assert response.content.decode().strip() == ",".join(PEOPLE.column_names)


class _UploadError(ValueError):
    pass


def test_spreadsheet_cells_reads_csv_and_the_first_sheet_of_a_workbook():
    import datetime as dt
    import io
    from decimal import Decimal

    from openpyxl import Workbook

    from revops.imports import spreadsheet_cells

    csv_bytes = "\ufeffname, amount\r\n Ann ,12.50\r\n".encode()
    assert spreadsheet_cells(name="x.csv", content=csv_bytes, error=_UploadError) == [["name", "amount"],
                                                                                       ["Ann", "12.50"]]
    book = Workbook()
    book.active.append(["name", "when", "amount", "empty"])
    book.active.append(["Bo", dt.datetime(2026, 3, 1, 9, 30), Decimal("1E+1"), None])
    buffer = io.BytesIO()
    book.save(buffer)
    assert spreadsheet_cells(name="X.XLSX", content=buffer.getvalue(), error=_UploadError) == [
        ["name", "when", "amount", "empty"], ["Bo", "2026-03-01", "10", ""]]
    with pytest.raises(_UploadError, match="not an Excel workbook"):
        spreadsheet_cells(name="x.xlsx", content=b"not a zip", error=_UploadError)
    with pytest.raises(_UploadError, match="not UTF-8"):
        spreadsheet_cells(name="x.csv", content="é".encode("latin-1"), error=_UploadError)
