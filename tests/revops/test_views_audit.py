"""The audit-log page: roles, filters, field differences, pagination, htmx fragment, exports."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from revops.models import AuditEvent, Payer, Role
from revops.tenancy import Actor, actor_context, tenant_context


@pytest.fixture
def renamed_payer(world):
    with tenant_context(world.a.org), actor_context(Actor(user_id=world.a.users["admin"].pk, label="harbor-admin")):
        payer = Payer.objects.get()
        payer.name = "Harbor Renamed Plan"
        payer.payer_id = "99999"
        payer.save()
    return payer


@pytest.mark.parametrize("role", [Role.ADMIN, Role.EXECUTIVE])
def test_admin_and_executive_see_the_log(world, role):
    response = world.a.client(role).get(reverse("audit_log"))
    assert response.status_code == 200
    assert b"Harbor Behavioral Health Plan" in response.content
    assert b"summit" not in response.content.lower()


@pytest.mark.parametrize("role", [Role.REVOPS_ANALYST, Role.BILLING_MANAGER, Role.REP, Role.INTEGRATOR])
def test_other_roles_get_403(world, role):
    client = world.a.client(role)
    assert client.get(reverse("audit_log")).status_code == 403
    assert client.get(reverse("audit_export")).status_code == 403


def test_update_shows_each_changed_field_before_and_after(world, renamed_payer):
    body = world.a.client("admin").get(reverse("audit_log") + "?model=revops.Payer&action=update").content.decode()
    assert "1 change matching the filters<" in body
    assert '<th scope="row">name</th>' in body and '<th scope="row">payer_id</th>' in body
    assert "Harbor Behavioral Health Plan" in body and "Harbor Renamed Plan" in body
    assert "12345" in body and "99999" in body
    assert '<th scope="row">payer_class</th>' not in body  # unchanged fields are not listed


def test_filters_by_actor_and_dates(world, renamed_payer):
    client = world.a.client("admin")
    by_actor = client.get(reverse("audit_log") + "?actor=harbor-adm").content.decode()
    assert "Harbor Renamed Plan" in by_actor and "1 change matching the filters<" in by_actor
    today = timezone.now().date()
    future = client.get(reverse("audit_log") + f"?date_from={today + dt.timedelta(days=1)}").content.decode()
    assert "No changes match these filters" in future
    todays = client.get(reverse("audit_log") + f"?date_from={today}&date_to={today}").content.decode()
    assert "Harbor Renamed Plan" in todays


def test_api_key_hashes_are_never_shown(world):
    body = world.a.client("admin").get(reverse("audit_log") + "?model=revops.ApiKey").content.decode()
    key = world.a.objects["apikey"]
    with tenant_context(world.a.org):
        key.refresh_from_db()
    assert key.key_hash not in body and "(hidden)" in body


def test_htmx_request_gets_only_the_results_fragment(world):
    response = world.a.client("admin").get(reverse("audit_log"), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="audit-results"')
    assert "<html" not in body


def test_pagination(world):
    with tenant_context(world.a.org):
        for i in range(60):
            Payer.objects.create(name=f"Plan {i:02}", payer_class="commercial")
    client = world.a.client("admin")
    first = client.get(reverse("audit_log") + "?model=revops.Payer").content.decode()
    assert "Page 1 of 2" in first and "Plan 59" in first and "Plan 00" not in first
    second = client.get(reverse("audit_log") + "?model=revops.Payer&page=2").content.decode()
    assert "Plan 00" in second


def test_empty_state(world):
    with tenant_context(world.a.org):
        AuditEvent.objects.all().delete()
    body = world.a.client("executive").get(reverse("audit_log")).content.decode()
    assert "Nothing recorded yet" in body


def test_csv_export_follows_the_filters(world, renamed_payer):
    response = world.a.client("executive").get(reverse("audit_export") + "?model=revops.Payer&format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["When (UTC)", "Actor", "Action", "Record type", "Record id", "Record", "Changed fields", "Changes"]
    assert {r[3] for r in rows[1:]} == {"revops.Payer"}
    update = next(r for r in rows[1:] if r[2] == "Updated")
    assert update[1] == "harbor-admin"
    assert update[6] == "name, payer_id"
    assert "name: Harbor Behavioral Health Plan -> Harbor Renamed Plan" in update[7]


def test_excel_export(world, renamed_payer):
    response = world.a.client("admin").get(reverse("audit_export") + "?model=revops.Payer&action=update&format=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "When (UTC)"
    assert [v[5] for v in values[1:]] == ["Harbor Renamed Plan"]
