"""Reference-data API: CRUD with validation, filters, the hierarchy endpoints, tenants and roles."""
from __future__ import annotations

import datetime as dt

import pytest

from revops.models import Account, AuditEvent, Person, ReportingLine, Role, Team
from revops.tenancy import tenant_context

ANALYST = Role.REVOPS_ANALYST

NEW_ACCOUNT = {
    "name": "Midtown Pediatrics",
    "npi": "1245319599",
    "specialty": "Pediatrics",
    "account_type": "physician_practice",
    "zip_code": "10001",
    "state": "NY",
    "county": "New York",
    "city": "New York",
}


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


# --- accounts: CRUD, validation, filters ----------------------------------------------------


def test_account_crud_round_trip_is_audited(world):
    api = world.a.api(ANALYST)
    created = api.post("/api/v1/accounts/", NEW_ACCOUNT, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["state"] == "NY" and created.json()["external_id"] == ""

    assert api.get(f"/api/v1/accounts/{pk}/").json()["name"] == "Midtown Pediatrics"
    patched = api.patch(f"/api/v1/accounts/{pk}/", {"specialty": "Family Medicine"}, format="json")
    assert patched.status_code == 200 and patched.json()["specialty"] == "Family Medicine"

    with tenant_context(world.a.org):
        account = Account.objects.get(pk=pk)
        assert account.tenant_id == world.a.org.pk
        events = list(AuditEvent.objects.filter(model="revops.Account", object_pk=str(pk)).order_by("at", "id"))
    assert [e.action for e in events] == ["create", "update"]
    assert events[1].changed_fields == ["specialty"]
    assert events[0].actor_label == f"harbor-{ANALYST}"

    assert api.delete(f"/api/v1/accounts/{pk}/").status_code == 204
    with tenant_context(world.a.org):
        assert not Account.objects.filter(pk=pk).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"npi": "1245319590"}, "npi"),  # wrong check digit
        ({"zip_code": "00000"}, "zip_code"),  # not a US ZIP code
        ({"zip_code": "1000"}, "zip_code"),
        ({"state": "TN"}, "zip_code"),  # 10001 is in NY
        ({"state": "XX"}, "state"),
        ({"latitude": "40.750000"}, "longitude"),  # one coordinate without the other
        ({"latitude": "91.000000", "longitude": "0"}, "latitude"),
        ({"account_type": "spaceport"}, "account_type"),
        ({"name": ""}, "name"),
    ],
)
def test_account_validation_errors_name_the_field(world, change, field):
    response = world.a.api(ANALYST).post("/api/v1/accounts/", {**NEW_ACCOUNT, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_account_external_id_is_unique_within_the_organization_only(world):
    api = world.a.api(ANALYST)
    clash = api.post("/api/v1/accounts/", {**NEW_ACCOUNT, "external_id": "ACC-1"}, format="json")
    assert clash.status_code == 400 and "external_id" in clash.json()
    # Blank external ids do not clash with each other.
    assert api.post("/api/v1/accounts/", NEW_ACCOUNT, format="json").status_code == 201
    assert api.post("/api/v1/accounts/", {**NEW_ACCOUNT, "name": "Second"}, format="json").status_code == 201
    # b also has an ACC-1; a new one in b's namespace would clash there, not across organizations.
    assert world.b.api(ANALYST).post(
        "/api/v1/accounts/", {**NEW_ACCOUNT, "external_id": "ACC-NEW"}, format="json"
    ).status_code == 201


def test_account_filters_select_the_matching_rows(world):
    api = world.a.api(ANALYST)
    with tenant_context(world.a.org):
        tn = world.a.objects["account"]
        sl = world.a.objects["serviceline"]
    ny = api.post("/api/v1/accounts/", {**NEW_ACCOUNT, "service_line": sl.pk}, format="json").json()
    hospital = api.post("/api/v1/accounts/", {
        **NEW_ACCOUNT, "name": "Brooklyn General", "account_type": "hospital", "zip_code": "11201",
        "county": "Kings", "city": "Brooklyn", "npi": "", "specialty": "Emergency Medicine",
    }, format="json").json()

    def q(query: str) -> set[int]:
        response = api.get(f"/api/v1/accounts/?{query}")
        assert response.status_code == 200, response.json()
        return set(ids(response))

    assert q("state=NY") == {ny["id"], hospital["id"]}
    assert q("state=tn") == {tn.pk}
    assert q("county=kings") == {hospital["id"]}
    assert q("zip_code=10001") == {ny["id"]}
    assert q("zip_code__in=10001,37203") == {ny["id"], tn.pk}
    assert q("zip3=112") == {hospital["id"]}
    assert q("account_type=hospital") == {hospital["id"]}
    assert q("specialty=pediatrics") == {ny["id"]}
    assert q("npi=1234567893") == {tn.pk}
    assert q(f"service_line={sl.pk}") == {ny["id"]}
    assert q("external_id=ACC-1") == {tn.pk}
    assert q("search=brooklyn") == {hospital["id"]}
    names = [r["name"] for r in api.get("/api/v1/accounts/?ordering=-name").json()["results"]]
    assert names == sorted(names, reverse=True)


def test_filter_by_another_organizations_row_is_rejected(world):
    with tenant_context(world.b.org):
        foreign_sl = world.b.objects["serviceline"].pk
    response = world.a.api(ANALYST).get(f"/api/v1/accounts/?service_line={foreign_sl}")
    assert response.status_code == 400
    assert "service_line" in response.json()


# --- tenants and roles ------------------------------------------------------------------------


@pytest.mark.parametrize("collection", ["accounts", "people", "teams", "service-lines", "facilities", "programs",
                                        "payers", "reporting-lines"])
def test_another_organizations_row_is_404_and_left_alone(world, collection):
    model_key = {"accounts": "account", "people": "person", "teams": "team", "service-lines": "serviceline",
                 "facilities": "facility", "programs": "program", "payers": "payer",
                 "reporting-lines": "reportingline"}[collection]
    foreign = world.b.objects[model_key]
    for client in (world.a.api(Role.ADMIN), world.a.api()):
        url = f"/api/v1/{collection}/{foreign.pk}/"
        assert client.get(url).status_code == 404
        assert client.patch(url, {"name": "hijacked"}, format="json").status_code in (404, 405)
        assert client.delete(url).status_code == 404
    with tenant_context(world.b.org):
        assert type(foreign).objects.filter(pk=foreign.pk).exists()
    listed = world.a.api(ANALYST).get(f"/api/v1/{collection}/").json()["results"]
    assert foreign.pk not in [row["id"] for row in listed]


def test_lists_show_only_the_callers_organization(world):
    body = world.a.api(ANALYST).get("/api/v1/accounts/").content
    assert b"Harbor" in body and b"Summit" not in body
    body = world.b.api().get("/api/v1/people/").content
    assert b"summit" in body and b"harbor" not in body


@pytest.mark.parametrize(
    ("payload_key", "url", "body"),
    [
        ("service_line", "/api/v1/accounts/", NEW_ACCOUNT),
        ("team", "/api/v1/people/", {"employee_id": "E9", "first_name": "Al", "last_name": "Lee",
                                     "hire_date": "2024-01-02"}),
        ("facility", "/api/v1/programs/", {"code": "IOP", "name": "Intensive outpatient", "level_of_care": "iop"}),
        ("parent", "/api/v1/teams/", {"name": "West"}),
    ],
)
def test_foreign_key_to_another_organizations_row_is_400_does_not_exist(world, payload_key, url, body):
    target = {"service_line": "serviceline", "team": "team", "facility": "facility", "parent": "team"}[payload_key]
    foreign_pk = world.b.objects[target].pk
    response = world.a.api(ANALYST).post(url, {**body, payload_key: foreign_pk}, format="json")
    assert response.status_code == 400
    assert "does not exist" in response.json()[payload_key][0]
    # The same request with a's own row works, so the field itself is fine.
    own_pk = world.a.objects[target].pk
    assert world.a.api(ANALYST).post(url, {**body, payload_key: own_pk}, format="json").status_code == 201


def test_reporting_line_to_another_organizations_manager_is_rejected(world):
    response = world.a.api(ANALYST).post("/api/v1/reporting-lines/", {
        "person": world.a.objects["person"].pk, "manager": world.b.objects["manager"].pk, "valid_from": "2024-01-01",
    }, format="json")
    assert response.status_code == 400 and "does not exist" in response.json()["manager"][0]


def test_billing_manager_reads_people_but_cannot_write_them(world):
    api = world.a.api(Role.BILLING_MANAGER)
    assert api.get("/api/v1/people/").status_code == 200
    person = world.a.objects["person"]
    assert api.patch(f"/api/v1/people/{person.pk}/", {"title": "VP"}, format="json").status_code == 403
    assert api.post("/api/v1/people/", {"employee_id": "X"}, format="json").status_code == 403
    assert api.post(f"/api/v1/people/{person.pk}/terminate/", {"on": "2024-01-01"}, format="json").status_code == 403
    with tenant_context(world.a.org):
        assert Person.objects.get(pk=person.pk).title == ""


def test_rep_cannot_list_accounts(world):
    assert world.a.api(Role.REP).get("/api/v1/accounts/").status_code == 403
    assert world.a.api(Role.REP).get("/api/v1/accounts/?format=csv").status_code == 403


def test_executive_reads_reference_data_but_cannot_change_it(world):
    api = world.a.api(Role.EXECUTIVE)
    assert api.get("/api/v1/payers/").status_code == 200
    assert api.post("/api/v1/payers/", {"name": "New", "payer_class": "medicaid"}, format="json").status_code == 403


def test_integrator_key_writes_reference_data(world):
    response = world.a.api().post("/api/v1/payers/", {"name": "State Medicaid", "payer_class": "medicaid"}, format="json")
    assert response.status_code == 201
    with tenant_context(world.a.org):
        event = AuditEvent.objects.get(model="revops.Payer", object_pk=str(response.json()["id"]))
    assert event.actor_label == "api-key:harbor CRM sync"
    assert event.actor_api_key_id == world.a.objects["apikey"].pk


def test_anonymous_request_is_401(world):
    from rest_framework.test import APIClient

    response = APIClient().get("/api/v1/accounts/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"


# --- other reference collections -------------------------------------------------------------


def test_names_are_unique_per_organization(world):
    api = world.a.api(ANALYST)
    taken = world.a.objects["payer"].name
    response = api.post("/api/v1/payers/", {"name": taken, "payer_class": "commercial"}, format="json")
    assert response.status_code == 400 and "already has" in response.json()["name"][0]
    # The same name in the other organization is fine.
    ok = world.b.api(ANALYST).post("/api/v1/payers/", {"name": taken, "payer_class": "commercial"}, format="json")
    assert ok.status_code == 201


def test_team_cannot_be_placed_under_its_own_subteam(world):
    api = world.a.api(ANALYST)
    top = world.a.objects["team"]
    child = api.post("/api/v1/teams/", {"name": "East Nashville", "parent": top.pk}, format="json").json()
    response = api.patch(f"/api/v1/teams/{top.pk}/", {"parent": child["id"]}, format="json")
    assert response.status_code == 400 and "parent" in response.json()
    assert api.get(f"/api/v1/teams/?parent={top.pk}").json()["results"][0]["id"] == child["id"]


def test_deleting_a_team_with_subteams_is_409(world):
    api = world.a.api(ANALYST)
    top = world.a.objects["team"]
    api.post("/api/v1/teams/", {"name": "Sub", "parent": top.pk}, format="json")
    response = api.delete(f"/api/v1/teams/{top.pk}/")
    assert response.status_code == 409
    with tenant_context(world.a.org):
        assert Team.objects.filter(pk=top.pk).exists()


def test_program_and_facility_validation(world):
    api = world.a.api(ANALYST)
    bad = api.post("/api/v1/programs/", {"code": "IOP", "name": "IOP", "level_of_care": "iop",
                                         "place_of_service": "5"}, format="json")
    assert bad.status_code == 400 and "place_of_service" in bad.json()
    dup = api.post("/api/v1/programs/", {"code": "PHP", "name": "PHP 2", "level_of_care": "php"}, format="json")
    assert dup.status_code == 400 and "code" in dup.json()
    ok = api.post("/api/v1/facilities/", {"name": "Memphis", "zip_code": "38103", "state": "tn",
                                          "npi": "1234567893"}, format="json")
    assert ok.status_code == 201 and ok.json()["state"] == "TN"
    mismatch = api.post("/api/v1/facilities/", {"name": "X", "zip_code": "38103", "state": "GA"}, format="json")
    assert mismatch.status_code == 400
    assert [p["code"] for p in api.get("/api/v1/programs/?level_of_care=php").json()["results"]] == ["PHP"]


# --- people and the hierarchy ----------------------------------------------------------------


def make_person(employee_id: str, hire: str, **extra) -> Person:
    return Person.objects.create(employee_id=employee_id, first_name=employee_id, last_name="Test",
                                 hire_date=dt.date.fromisoformat(hire), **extra)


def test_people_filters_by_team_role_and_active_on(world):
    api = world.a.api(ANALYST)
    rep, manager, team = world.a.objects["person"], world.a.objects["manager"], world.a.objects["team"]
    with tenant_context(world.a.org):
        leaver = make_person("L1", "2019-01-01", termination_date=dt.date(2020, 6, 30))
        future = make_person("F1", "2030-01-01")

    def q(query: str) -> set[int]:
        return set(ids(api.get(f"/api/v1/people/?{query}")))

    assert q(f"team={team.pk}") == {rep.pk, manager.pk}
    assert q("role=manager") == {manager.pk}
    assert q("active_on=2020-06-30") == {leaver.pk, manager.pk}
    assert q("active_on=2020-07-01") == {manager.pk}
    assert q("active_on=2024-01-01") == {manager.pk, rep.pk}
    assert future.pk in q("")
    assert api.get("/api/v1/people/?active_on=yesterday").status_code == 400


def test_person_termination_before_hire_is_rejected(world):
    response = world.a.api(ANALYST).post("/api/v1/people/", {
        "employee_id": "E2", "first_name": "A", "last_name": "B", "hire_date": "2024-01-10",
        "termination_date": "2024-01-09",
    }, format="json")
    assert response.status_code == 400 and "termination_date" in response.json()


def test_person_user_must_be_a_member_of_the_organization(world):
    body = {"employee_id": "E3", "first_name": "A", "last_name": "B", "hire_date": "2024-01-10"}
    foreign_user = world.b.users[Role.REP].pk
    response = world.a.api(ANALYST).post("/api/v1/people/", {**body, "user": foreign_user}, format="json")
    assert response.status_code == 400 and "user" in response.json()
    own = world.a.users[Role.EXECUTIVE].pk
    assert world.a.api(ANALYST).post("/api/v1/people/", {**body, "user": own}, format="json").status_code == 201


def test_chain_of_command_and_reports_on_a_date(world):
    api = world.a.api(ANALYST)
    rep, manager = world.a.objects["person"], world.a.objects["manager"]
    with tenant_context(world.a.org):
        vp = make_person("VP1", "2018-01-01", role="executive")
        from revops import services

        services.reporting_line_assign(person=manager, manager=vp, valid_from=dt.date(2022, 1, 1))

    chain = api.get(f"/api/v1/people/{rep.pk}/chain-of-command/?on=2023-05-01").json()
    assert chain["manager"]["id"] == manager.pk
    assert [p["id"] for p in chain["chain"]] == [manager.pk, vp.pk]
    before = api.get(f"/api/v1/people/{rep.pk}/chain-of-command/?on=2021-06-01").json()
    assert [p["id"] for p in before["chain"]] == [manager.pk]
    nobody = api.get(f"/api/v1/people/{rep.pk}/chain-of-command/?on=2020-01-01").json()
    assert nobody["manager"] is None and nobody["chain"] == []

    everyone = api.get(f"/api/v1/people/{vp.pk}/reports/?on=2023-05-01").json()
    assert everyone["scope"] == "all" and {p["id"] for p in everyone["reports"]} == {manager.pk, rep.pk}
    direct = api.get(f"/api/v1/people/{vp.pk}/reports/?on=2023-05-01&scope=direct").json()
    assert [p["id"] for p in direct["reports"]] == [manager.pk]
    assert api.get(f"/api/v1/people/{vp.pk}/reports/?on=2021-06-01").json()["reports"] == []
    assert api.get(f"/api/v1/people/{vp.pk}/reports/?scope=sideways").status_code == 400
    assert api.get(f"/api/v1/people/{world.b.objects['manager'].pk}/reports/").status_code == 404


def test_terminate_ends_the_reporting_line_the_day_after(world):
    rep = world.a.objects["person"]
    response = world.a.api(ANALYST).post(f"/api/v1/people/{rep.pk}/terminate/", {"on": "2024-03-31"}, format="json")
    assert response.status_code == 200 and response.json()["termination_date"] == "2024-03-31"
    with tenant_context(world.a.org):
        line = ReportingLine.objects.get(person=rep)
    assert line.valid_to == dt.date(2024, 4, 1)


def test_terminate_before_hire_is_400(world):
    rep = world.a.objects["person"]
    response = world.a.api(ANALYST).post(f"/api/v1/people/{rep.pk}/terminate/", {"on": "2001-01-01"}, format="json")
    assert response.status_code == 400


def test_setting_termination_date_by_update_goes_through_the_service(world):
    rep = world.a.objects["person"]
    response = world.a.api(ANALYST).patch(f"/api/v1/people/{rep.pk}/", {"termination_date": "2024-06-30"},
                                          format="json")
    assert response.status_code == 200 and response.json()["termination_date"] == "2024-06-30"
    with tenant_context(world.a.org):
        assert ReportingLine.objects.get(person=rep).valid_to == dt.date(2024, 7, 1)
    rehired = world.a.api(ANALYST).patch(f"/api/v1/people/{rep.pk}/", {"termination_date": None}, format="json")
    assert rehired.json()["termination_date"] is None


def test_deleting_a_manager_with_reports_is_409(world):
    response = world.a.api(ANALYST).delete(f"/api/v1/people/{world.a.objects['manager'].pk}/")
    assert response.status_code == 409


# --- reporting lines ------------------------------------------------------------------------


def test_reporting_lines_as_of_and_by_person_or_manager(world):
    api = world.a.api(ANALYST)
    line, rep, manager = world.a.objects["reportingline"], world.a.objects["person"], world.a.objects["manager"]
    assert ids(api.get("/api/v1/reporting-lines/?on=2021-02-28")) == []
    assert ids(api.get("/api/v1/reporting-lines/?on=2021-03-01")) == [line.pk]
    assert ids(api.get(f"/api/v1/reporting-lines/?person={rep.pk}")) == [line.pk]
    assert ids(api.get(f"/api/v1/reporting-lines/?manager={rep.pk}")) == []
    row = api.get(f"/api/v1/reporting-lines/?manager={manager.pk}").json()["results"][0]
    assert row["person_name"] == rep.full_name and row["manager_name"] == manager.full_name


def test_assigning_a_new_manager_closes_the_line_in_force(world):
    api = world.a.api(ANALYST)
    rep, old_line = world.a.objects["person"], world.a.objects["reportingline"]
    with tenant_context(world.a.org):
        new_manager = make_person("M2", "2019-01-01", role="manager")
    created = api.post("/api/v1/reporting-lines/", {"person": rep.pk, "manager": new_manager.pk,
                                                    "valid_from": "2024-01-01"}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["valid_to"] is None
    assert api.get(f"/api/v1/reporting-lines/{old_line.pk}/").json()["valid_to"] == "2024-01-01"
    on = api.get(f"/api/v1/reporting-lines/?person={rep.pk}&on=2024-02-01").json()["results"]
    assert [r["manager"] for r in on] == [new_manager.pk]


def test_assignment_that_would_make_a_cycle_is_400(world):
    rep, manager = world.a.objects["person"], world.a.objects["manager"]
    response = world.a.api(ANALYST).post("/api/v1/reporting-lines/", {
        "person": manager.pk, "manager": rep.pk, "valid_from": "2024-01-01"}, format="json")
    assert response.status_code == 400
    self_line = world.a.api(ANALYST).post("/api/v1/reporting-lines/", {
        "person": rep.pk, "manager": rep.pk, "valid_from": "2024-01-01"}, format="json")
    assert self_line.status_code == 400 and "manager" in self_line.json()


def test_assigning_no_manager_ends_the_line_and_answers_204(world):
    rep, line = world.a.objects["person"], world.a.objects["reportingline"]
    response = world.a.api(ANALYST).post("/api/v1/reporting-lines/", {
        "person": rep.pk, "manager": None, "valid_from": "2023-01-01"}, format="json")
    assert response.status_code == 204
    with tenant_context(world.a.org):
        assert ReportingLine.objects.get(pk=line.pk).valid_to == dt.date(2023, 1, 1)


def test_reporting_lines_are_not_edited_in_place(world):
    line = world.a.objects["reportingline"]
    api = world.a.api(ANALYST)
    assert api.patch(f"/api/v1/reporting-lines/{line.pk}/", {"valid_from": "2020-01-01"},
                     format="json").status_code == 405
    assert api.delete(f"/api/v1/reporting-lines/{line.pk}/").status_code == 204


def test_browsable_api_renders_forms_with_only_the_organizations_choices(world):
    api = world.a.api(Role.ADMIN)
    root = api.get("/api/v1/", HTTP_ACCEPT="text/html")
    assert root.status_code == 200 and b"/api/v1/accounts/" in root.content
    page = api.get("/api/v1/people/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert b"Harbor Behavioral East" in page.content and b"Summit" not in page.content
