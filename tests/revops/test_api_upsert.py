"""Upserts by natural key: accounts by external_id, people by employee_id, one at a time and in bulk."""
from __future__ import annotations

import datetime as dt

from revops.models import Account, Person, ReportingLine, Role
from revops.tenancy import tenant_context

ACCOUNT = {"name": "Lakeside Clinic", "zip_code": "37203", "state": "TN", "account_type": "clinic"}
PERSON = {"first_name": "Tess", "last_name": "Rivera", "hire_date": "2023-02-01", "role": "rep"}


def accounts_of(tenant) -> dict[str, Account]:
    with tenant_context(tenant.org):
        return {a.external_id: a for a in Account.objects.all()}


# --- one row ---------------------------------------------------------------------------------


def test_put_by_external_id_creates_then_updates(world):
    api = world.a.api()
    created = api.put("/api/v1/accounts/by-external-id/CRM-77/", ACCOUNT, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["external_id"] == "CRM-77"
    updated = api.put("/api/v1/accounts/by-external-id/CRM-77/", {**ACCOUNT, "name": "Lakeside Clinic North"},
                      format="json")
    assert updated.status_code == 200
    assert updated.json()["id"] == created.json()["id"]
    assert accounts_of(world.a)["CRM-77"].name == "Lakeside Clinic North"
    assert api.get("/api/v1/accounts/by-external-id/CRM-77/").json()["name"] == "Lakeside Clinic North"


def test_put_by_external_id_validates_like_any_write(world):
    api = world.a.api()
    missing = api.put("/api/v1/accounts/by-external-id/CRM-78/", {"name": "No ZIP"}, format="json")
    assert missing.status_code == 400 and {"zip_code", "state"} <= set(missing.json())
    mismatch = api.put("/api/v1/accounts/by-external-id/CRM-78/", {**ACCOUNT, "external_id": "OTHER"}, format="json")
    assert mismatch.status_code == 400 and "external_id" in mismatch.json()
    not_object = api.put("/api/v1/accounts/by-external-id/CRM-78/", [ACCOUNT], format="json")
    assert not_object.status_code == 400
    assert "CRM-78" not in accounts_of(world.a)


def test_patch_by_external_id_updates_existing_only(world):
    api = world.a.api()
    response = api.patch("/api/v1/accounts/by-external-id/ACC-1/", {"specialty": "Addiction Medicine"}, format="json")
    assert response.status_code == 200 and response.json()["specialty"] == "Addiction Medicine"
    assert api.patch("/api/v1/accounts/by-external-id/NOPE/", {"specialty": "x"}, format="json").status_code == 404


def test_by_external_id_never_reaches_another_organization(world):
    with tenant_context(world.b.org):
        Account.objects.create(name="Summit Only", zip_code="37203", state="TN", external_id="SUMMIT-ONLY")
    for client in (world.a.api(), world.a.api(Role.ADMIN)):
        assert client.get("/api/v1/accounts/by-external-id/SUMMIT-ONLY/").status_code == 404
        assert client.patch("/api/v1/accounts/by-external-id/SUMMIT-ONLY/", {"name": "x"},
                            format="json").status_code == 404
    # Both organizations use ACC-1: each caller reaches its own row.
    assert world.a.api().get("/api/v1/accounts/by-external-id/ACC-1/").json()["id"] == world.a.objects["account"].pk
    assert world.b.api().get("/api/v1/accounts/by-external-id/ACC-1/").json()["id"] == world.b.objects["account"].pk
    # PUT with a key only b uses creates a's own row; b's is untouched.
    created = world.a.api().put("/api/v1/accounts/by-external-id/SUMMIT-ONLY/", ACCOUNT, format="json")
    assert created.status_code == 201
    assert accounts_of(world.b)["SUMMIT-ONLY"].name == "Summit Only"
    assert accounts_of(world.a)["SUMMIT-ONLY"].name == "Lakeside Clinic"


def test_upsert_by_key_respects_roles(world):
    assert world.a.api(Role.BILLING_MANAGER).put("/api/v1/accounts/by-external-id/X/", ACCOUNT,
                                                 format="json").status_code == 403
    assert world.a.api(Role.BILLING_MANAGER).get("/api/v1/accounts/by-external-id/ACC-1/").status_code == 200
    assert world.a.api(Role.REP).get("/api/v1/accounts/by-external-id/ACC-1/").status_code == 403


def test_put_person_by_employee_id_with_termination_ends_reporting_lines(world):
    api = world.a.api()
    created = api.put("/api/v1/people/by-employee-id/HR-1/", PERSON, format="json")
    assert created.status_code == 201 and created.json()["employee_id"] == "HR-1"
    rep = world.a.objects["person"]
    synced = api.put("/api/v1/people/by-employee-id/R1/", {
        "first_name": "Ray", "last_name": rep.last_name, "hire_date": "2021-03-01", "termination_date": "2024-05-31",
    }, format="json")
    assert synced.status_code == 200 and synced.json()["id"] == rep.pk
    with tenant_context(world.a.org):
        assert ReportingLine.objects.get(person=rep).valid_to == dt.date(2024, 6, 1)
    assert api.get("/api/v1/people/by-employee-id/nobody/").status_code == 404


# --- bulk ----------------------------------------------------------------------------------


def test_bulk_upsert_writes_good_rows_and_reports_bad_ones_by_index(world):
    rows = [
        {**ACCOUNT, "external_id": "B-1"},                         # 0 new
        {**ACCOUNT, "external_id": "ACC-1", "name": "Renamed"},    # 1 existing
        {**ACCOUNT, "external_id": "B-2", "zip_code": "99999x"},   # 2 invalid ZIP
        {**ACCOUNT, "name": "No key"},                             # 3 no external_id
        {**ACCOUNT, "external_id": "B-1", "name": "Again"},        # 4 repeats row 0
        "not an object",                                           # 5
        {**ACCOUNT, "external_id": "B-3", "service_line": world.b.objects["serviceline"].pk},  # 6 foreign FK
    ]
    response = world.a.api().post("/api/v1/accounts/bulk-upsert/", rows, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["mode"], body["total"], body["created"], body["updated"], body["failed"]) == ("partial", 7, 1, 1, 5)
    by_index = {r["index"]: r for r in body["rows"]}
    assert [r["index"] for r in body["rows"]] == list(range(7))
    assert by_index[0]["status"] == "created" and by_index[0]["key"] == "B-1"
    assert by_index[1]["status"] == "updated" and by_index[1]["id"] == world.a.objects["account"].pk
    assert "zip_code" in by_index[2]["errors"]
    assert "external_id" in by_index[3]["errors"]
    assert "Row 0" in by_index[4]["errors"]["external_id"][0]
    assert by_index[5]["status"] == "failed"
    assert "does not exist" in by_index[6]["errors"]["service_line"][0]

    stored = accounts_of(world.a)
    assert set(stored) == {"ACC-1", "B-1"}
    assert stored["ACC-1"].name == "Renamed" and stored["B-1"].name == "Lakeside Clinic"
    assert by_index[0]["id"] == stored["B-1"].pk
    assert accounts_of(world.b)["ACC-1"].name == "Summit Labs Family Practice"


def test_bulk_upsert_all_or_nothing_writes_nothing_when_a_row_fails(world):
    rows = [{**ACCOUNT, "external_id": "C-1"}, {**ACCOUNT, "external_id": "C-2", "state": "ZZ"}]
    response = world.a.api().post("/api/v1/accounts/bulk-upsert/?all_or_nothing=true", rows, format="json")
    assert response.status_code == 400
    assert [r["status"] for r in response.json()["rows"]] == ["not_written", "failed"]
    assert set(accounts_of(world.a)) == {"ACC-1"}

    good = [{**ACCOUNT, "external_id": "C-1"}, {**ACCOUNT, "external_id": "C-2"}]
    ok = world.a.api().post("/api/v1/accounts/bulk-upsert/?all_or_nothing=true", good, format="json")
    assert ok.status_code == 200 and ok.json()["created"] == 2
    assert set(accounts_of(world.a)) == {"ACC-1", "C-1", "C-2"}


def test_bulk_upsert_rejects_a_body_that_is_not_a_list_or_too_long(world, monkeypatch):
    api = world.a.api()
    assert api.post("/api/v1/accounts/bulk-upsert/", {"rows": []}, format="json").status_code == 400
    from revops.api.views import AccountViewSet

    monkeypatch.setattr(AccountViewSet, "bulk_upsert_limit", 2)
    too_many = [{**ACCOUNT, "external_id": f"L-{i}"} for i in range(3)]
    response = api.post("/api/v1/accounts/bulk-upsert/", too_many, format="json")
    assert response.status_code == 400 and "At most 2 rows" in response.json()["non_field_errors"][0]
    assert set(accounts_of(world.a)) == {"ACC-1"}


def test_bulk_upsert_people_by_employee_id(world):
    rows = [
        {**PERSON, "employee_id": "HR-10"},
        {**PERSON, "employee_id": "HR-11", "hire_date": "not a date"},
        {**PERSON, "employee_id": "R1", "first_name": "Raymond", "last_name": "Rep harbor", "hire_date": "2021-03-01"},
        {**PERSON, "employee_id": "HR-12", "team": world.a.objects["team"].pk, "termination_date": "2023-12-31"},
    ]
    response = world.a.api().post("/api/v1/people/bulk-upsert/", rows, format="json")
    assert response.status_code == 200
    statuses = [r["status"] for r in response.json()["rows"]]
    assert statuses == ["created", "failed", "updated", "created"]
    with tenant_context(world.a.org):
        people = {p.employee_id: p for p in Person.objects.all()}
    assert set(people) == {"M1", "R1", "HR-10", "HR-12"}
    assert people["R1"].first_name == "Raymond"
    assert people["HR-12"].termination_date == dt.date(2023, 12, 31)


def test_bulk_upsert_needs_the_change_right(world):
    response = world.a.api(Role.EXECUTIVE).post("/api/v1/people/bulk-upsert/", [PERSON], format="json")
    assert response.status_code == 403
