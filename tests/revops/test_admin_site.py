"""The reference-data admin at /manage/: matrix permissions, tenant scoping, no LogEntry, exports."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from revops.models import Account, Person, ReportingLine, Role, Team
from revops.tenancy import tenant_context

VIEWERS = [Role.ADMIN, Role.EXECUTIVE, Role.REVOPS_ANALYST, Role.BILLING_MANAGER, Role.INTEGRATOR]
EDITORS = [Role.ADMIN, Role.REVOPS_ANALYST, Role.INTEGRATOR]


def person_form(**overrides):
    data = {
        "first_name": "Nia", "last_name": "New", "employee_id": "N1", "email": "", "title": "", "role": "rep",
        "team": "", "hire_date": "2024-01-02", "termination_date": "", "user": "",
        "reporting_lines-TOTAL_FORMS": "0", "reporting_lines-INITIAL_FORMS": "0",
        "reporting_lines-MIN_NUM_FORMS": "0", "reporting_lines-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("role", VIEWERS)
def test_roles_that_view_reference_data_open_the_index(world, role):
    response = world.a.client(role).get(reverse("admin:index"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Harbor Behavioral · Reference data" in body
    assert "Recent actions" not in body
    assert reverse("admin:revops_person_changelist") in body


def test_rep_gets_403_and_anonymous_goes_to_our_login(world):
    assert world.a.client("rep").get(reverse("admin:index")).status_code == 403
    assert world.a.client("rep").get(reverse("admin:revops_person_changelist")).status_code == 403
    response = Client().get(reverse("admin:revops_person_changelist"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login") + "?next=/manage/")
    login = Client().get(reverse("admin:login"))
    assert login["Location"].startswith(reverse("login"))


def test_lists_show_only_the_active_organizations_rows(world):
    client = world.a.client("executive")
    for model in ("person", "team", "account", "payer", "program", "facility", "serviceline", "reportingline"):
        response = client.get(reverse(f"admin:revops_{model}_changelist"))
        assert response.status_code == 200, model
        assert b"summit" not in response.content.lower(), model
    people = client.get(reverse("admin:revops_person_changelist")).content.decode()
    assert "Rep harbor" in people and "Mona Manager harbor" in people  # manager today column


def test_another_organizations_person_is_404_for_every_view(world):
    client = world.a.client("admin")
    foreign = world.b.objects["person"]
    for name in ("change", "delete", "history"):
        assert client.get(reverse(f"admin:revops_person_{name}", args=[foreign.pk])).status_code == 404, name
    assert client.post(reverse("admin:revops_person_change", args=[foreign.pk]),
                       person_form(first_name="Hijacked")).status_code == 404
    assert client.post(reverse("admin:revops_person_delete", args=[foreign.pk]), {"post": "yes"}).status_code == 404
    with tenant_context(world.b.org):
        assert Person.objects.get(pk=foreign.pk).first_name == "Ray"


def test_foreign_key_choices_are_scoped(world):
    client = world.a.client("admin")
    add = client.get(reverse("admin:revops_person_add")).content.decode()
    assert "harbor-rep" in add and "summit" not in add.lower()  # the login select: members only
    url = reverse("admin:autocomplete") + "?app_label=revops&model_name=person&field_name=team&term="
    teams = client.get(url).json()["results"]
    assert [t["text"] for t in teams] == ["Harbor Behavioral East"]
    managers = client.get(reverse("admin:autocomplete") + "?app_label=revops&model_name=reportingline"
                          "&field_name=manager&term=Manager").json()["results"]
    assert [m["text"] for m in managers] == ["Mona Manager harbor"]
    assert client.get(reverse("admin:autocomplete")).status_code == 400
    # A foreign team id posted anyway is not a valid choice.
    response = client.post(reverse("admin:revops_person_add"), person_form(team=world.b.objects["team"].pk))
    assert response.status_code == 200 and b"Select a valid choice" in response.content


def test_changes_are_audited_and_never_written_to_logentry(world):
    client = world.a.client("revops_analyst")
    response = client.post(reverse("admin:revops_person_add"), person_form(team=world.a.objects["team"].pk))
    assert response.status_code == 302
    with tenant_context(world.a.org):
        nia = Person.objects.get(employee_id="N1")
    client.post(reverse("admin:revops_person_change", args=[nia.pk]), person_form(title="Senior rep"))
    client.post(reverse("admin:revops_person_delete", args=[nia.pk]), {"post": "yes"})
    assert LogEntry.objects.count() == 0
    history = client.get(reverse("admin:revops_person_history", args=[world.a.objects["person"].pk]))
    assert history.status_code == 200 and b"Ray" in history.content
    with tenant_context(world.a.org):
        assert not Person.objects.filter(employee_id="N1").exists()
    audit = world.a.client("admin").get(reverse("audit_log") + "?model=revops.Person").content.decode()
    assert "Senior rep" in audit and "Deleted" in audit


def test_read_only_roles_look_but_cannot_change(world):
    client = world.a.client("executive")
    person = world.a.objects["person"]
    changelist = client.get(reverse("admin:revops_person_changelist")).content.decode()
    assert reverse("admin:revops_person_add") not in changelist
    change = client.get(reverse("admin:revops_person_change", args=[person.pk]))
    assert change.status_code == 200 and b'name="first_name"' not in change.content
    add = client.get(reverse("admin:revops_person_add"))
    assert add.status_code == 302 and add["Location"] == reverse("admin:revops_person_changelist")
    delete = client.get(reverse("admin:revops_person_delete", args=[person.pk]))
    assert delete.status_code == 302
    assert client.post(reverse("admin:revops_person_change", args=[person.pk]), person_form()).status_code == 403
    assert client.post(reverse("admin:revops_person_delete", args=[person.pk]), {"post": "yes"}).status_code == 403
    with tenant_context(world.a.org):
        assert Person.objects.filter(pk=person.pk).exists()


def test_adding_a_reporting_line_goes_through_the_service(world):
    client = world.a.client("admin")
    with tenant_context(world.a.org):
        director = Person.objects.create(employee_id="D1", first_name="Dee", last_name="Director",
                                         hire_date=dt.date(2019, 1, 1))
    rep, manager = world.a.objects["person"], world.a.objects["manager"]
    response = client.post(reverse("admin:revops_reportingline_add"),
                           {"person": rep.pk, "manager": director.pk, "valid_from": "2024-01-01"})
    assert response.status_code == 302
    with tenant_context(world.a.org):
        lines = list(ReportingLine.objects.filter(person=rep).order_by("valid_from"))
    assert [(l.manager_id, l.valid_from, l.valid_to) for l in lines] == [
        (manager.pk, dt.date(2021, 3, 1), dt.date(2024, 1, 1)),
        (director.pk, dt.date(2024, 1, 1), None),
    ]
    # A cycle is refused with the service's reason, and nothing is written.
    cycle = client.post(reverse("admin:revops_reportingline_add"),
                        {"person": manager.pk, "manager": rep.pk, "valid_from": "2022-01-01"})
    assert cycle.status_code == 200 and b"would make a cycle" in cycle.content
    with tenant_context(world.a.org):
        assert ReportingLine.objects.filter(person=manager).count() == 0


def test_ending_a_line_may_not_overlap_the_next(world):
    client = world.a.client("admin")
    with tenant_context(world.a.org):
        line = world.a.objects["reportingline"]
        other = Person.objects.create(employee_id="D2", first_name="Dan", last_name="Other", hire_date=dt.date(2019, 1, 1))
    client.post(reverse("admin:revops_reportingline_add"),
                {"person": line.person_id, "manager": other.pk, "valid_from": "2024-01-01"})
    response = client.post(reverse("admin:revops_reportingline_change", args=[line.pk]), {"valid_to": "2025-01-01"})
    assert response.status_code == 200 and b"would overlap" in response.content
    ok = client.post(reverse("admin:revops_reportingline_change", args=[line.pk]), {"valid_to": "2023-06-30"})
    assert ok.status_code == 302


def test_terminating_a_person_ends_their_reporting_line(world):
    client = world.a.client("admin")
    rep = world.a.objects["person"]
    data = person_form(first_name="Ray", last_name="Rep harbor", employee_id="R1", team=world.a.objects["team"].pk,
                       hire_date="2021-03-01", termination_date="2024-05-31", user=world.a.users["rep"].pk)
    data.update({"reporting_lines-TOTAL_FORMS": "1", "reporting_lines-INITIAL_FORMS": "1",
                 "reporting_lines-0-id": world.a.objects["reportingline"].pk, "reporting_lines-0-person": rep.pk})
    response = client.post(reverse("admin:revops_person_change", args=[rep.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(world.a.org):
        assert ReportingLine.objects.get(person=rep).valid_to == dt.date(2024, 6, 1)


def test_account_form_checks_npi_and_zip(world):
    response = world.a.client("admin").post(reverse("admin:revops_account_add"), {
        "name": "Bad", "external_id": "B-1", "account_type": "clinic", "npi": "1234567890", "is_active": "on",
        "zip_code": "37203", "state": "GA",
    })
    assert response.status_code == 200
    assert b"Not a valid NPI" in response.content and b"ZIP code 37203 is in TN" in response.content


def test_export_action_downloads_the_selected_rows(world):
    client = world.a.client("admin")
    with tenant_context(world.a.org):
        extra = Account.objects.create(name="Second Clinic", external_id="ACC-2", zip_code="37203", state="TN")
    response = client.post(reverse("admin:revops_account_changelist"), {
        "action": "export_csv", "_selected_action": [extra.pk], "index": "0",
    })
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["external_id", "name"]
    assert [r[1] for r in rows[1:]] == ["Second Clinic"]
    xlsx = client.post(reverse("admin:revops_account_changelist"), {
        "action": "export_xlsx", "select_across": "1", "_selected_action": [extra.pk], "index": "0",
    })
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sorted(r[1].value for r in list(sheet.iter_rows())[1:]) == ["Harbor Behavioral Family Practice", "Second Clinic"]


def test_export_link_follows_the_lists_filters_for_read_only_roles(world):
    client = world.a.client("billing_manager")
    with tenant_context(world.a.org):
        Account.objects.create(name="Second Clinic", external_id="ACC-2", zip_code="37203", state="TN")
    changelist = client.get(reverse("admin:revops_account_changelist") + "?q=second").content.decode()
    export_url = reverse("admin:revops_account_export")
    assert f'{export_url}?q=second&amp;format=csv' in changelist
    response = client.get(export_url + "?q=second&format=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == ["Second Clinic"]
    people = client.get(reverse("admin:revops_person_export") + "?format=xlsx")
    sheet = load_workbook(io.BytesIO(people.content)).active
    header = [c.value for c in next(sheet.iter_rows())]
    assert header[:3] == ["employee_id", "first_name", "last_name"]
    assert client.post(export_url).status_code == 403  # POST is a change


def test_team_list_counts_people(world):
    with tenant_context(world.a.org):
        Team.objects.create(name="Harbor West")
    body = world.a.client("admin").get(reverse("admin:revops_team_changelist")).content.decode()
    assert "Harbor West" in body and "Harbor Behavioral East" in body
