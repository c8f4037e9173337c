"""The intake pages and API: they render the hand-computed world, import and upsert by natural key (member ids
hashed, never echoed), edit rules with htmx, export CSV, and answer 403 to roles the matrix refuses and 404 for
another organization's rows."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from intake.models import Admission, Authorization, IntakeRule, ProgramCost
from rcm_feeds.phi import patient_hash
from revops.models import Role
from revops.tenancy import tenant_context
from tests.intake import sweep

pytestmark = pytest.mark.django_db


@pytest.fixture
def a(world, intake_world):
    return world.a


def test_pages_render_with_data(a, intake_world):
    c = a.client(Role.REVOPS_ANALYST)
    adm = intake_world["adm"]["ADM1"]
    for url, text in [("/intake/", "ADM2"), (f"/intake/admissions/{adm.pk}/", "AUTH2"),
                      ("/intake/authorizations/", "AUTH1"), ("/intake/rules/", "Out of network"),
                      ("/intake/violations/", "ADM3"), ("/intake/profitability/?start=2025-01&end=2025-03&grain=month",
                                                         "Partial hospitalization"),
                      ("/intake/costs/", "1,500.00"), ("/intake/check/", "Choose a payer")]:
        response = c.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode(), url


def test_admission_list_filters_and_exports(a, intake_world):
    c = a.client(Role.BILLING_MANAGER)
    body = c.get(f"/intake/?program={intake_world['iop'].pk}").content.decode()
    assert "ADM3" in body and "ADM1" not in body
    csv = c.get("/intake/?format=csv").content.decode()
    assert csv.lstrip("\ufeff").splitlines()[0].startswith("external_id,program_code") and "ADM2" in csv
    assert patient_hash("X") not in csv


def test_check_page_and_api_answer_the_same(a, intake_world):
    params = f"payer={intake_world['a'].pk}&program={intake_world['php'].pk}&expected_los_days=14&on=2025-03-01"
    page = a.client(Role.EXECUTIVE).get(f"/intake/check/?{params}").content.decode()
    assert "Allowed with authorization" in page and "Rule #" in page
    api = a.api().get(f"/api/v1/intake/check/?{params}").json()
    assert api["decision"] == "allowed_with_authorization" and api["rule"] == intake_world["rules"][1].pk
    # Default thresholds (30 patient-days) skip payer x program (10) and payer (20): the program level answers.
    assert api["revenue_basis"]["level"] == "program" and api["net_revenue_per_patient_day"] == "86.67"
    assert api["expected_net_revenue"] == "1213.38"
    assert [s["level"] for s in api["samples"]] == ["payer_program", "payer", "program", "organization"]


def test_admissions_bulk_upsert_hashes_member_ids_and_links_claims(a, intake_world):
    body = ("external_id,member_id,program,payer,admitted_on,discharged_on\n"
            "NEW1,w,PHP,harbor behavioral health plan,2025-01-08,2025-01-08\n"
            "NEW2,Q-SECRET-77,NOPE,,2025-01-01,\n")
    response = a.api().post("/api/v1/intake/admissions/bulk-upsert/", body, content_type="text/csv")
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["inserted"], data["failed"]) == (1, 1) and data["rows"][0]["errors"]["program"]
    assert "Q-SECRET-77" not in response.content.decode()  # a member id is never echoed, not even in errors
    with tenant_context(a.org):
        new = Admission.objects.get(external_id="NEW1")
        assert new.patient_hash == patient_hash("W") and new.claim_links.count() == 1  # C6 (member ids: upper-cased)
    listed = a.api().get("/api/v1/intake/admissions/?external_id=NEW1").json()["results"][0]
    assert "patient_hash" not in listed and "member_id" not in listed and listed["claims"] == 1


def test_import_page_reports_bad_lines(a, intake_world):
    content = (b"auth_number,admission_external_id,units_granted,starts_on,ends_on,next_review_on\n"
               b"AUTH9,ADM3,10,2025-02-03,2025-02-12,2025-02-07\n"
               b"AUTH10,NOPE,10,2025-02-03,2025-02-12,\n")
    response = a.client(Role.BILLING_MANAGER).post("/intake/import/", {
        "kind": "authorizations", "file": SimpleUploadedFile("auths.csv", content, content_type="text/csv")})
    body = response.content.decode()
    assert response.status_code == 200 and "1 inserted" in body and 'data-line="3"' in body
    with tenant_context(a.org):
        auth = Authorization.objects.get(auth_number="AUTH9")
        assert (auth.level_of_care, auth.payer_id) == ("iop", intake_world["a"].pk)  # the admission's


def test_authorization_api_create_reports_units_used(a, intake_world):
    adm = intake_world["adm"]["ADM3"]
    response = a.api(Role.BILLING_MANAGER).post("/api/v1/intake/authorizations/", {
        "admission": adm.pk, "auth_number": "AUTH-IOP", "units_granted": "8", "starts_on": "2025-02-03",
        "ends_on": "2025-02-12"}, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["units_used"], response.json()["exhausted"]) == ("10.00", True)
    due = a.api().get("/api/v1/intake/authorizations/reviews-due/?today=2025-01-08").json()
    assert [r["auth_number"] for r in due] == ["AUTH1"]
    assert len(a.api().get("/api/v1/intake/authorizations/denials/").json()) == 2


def test_rules_are_added_edited_and_deleted_with_htmx(a, intake_world):
    c = a.client(Role.REVOPS_ANALYST)
    headers = {"HTTP_HX_REQUEST": "true"}
    response = c.post("/intake/rules/", {"payer": intake_world["b"].pk, "program": intake_world["iop"].pk,
                                         "decision": "not_allowed", "effective_from": "2025-01-01",
                                         "reason": "No IOP contract"}, **headers)
    assert response.status_code == 200 and "No IOP contract" in response.content.decode()
    with tenant_context(a.org):
        rule = IntakeRule.objects.get(reason="No IOP contract")
    clash = c.post("/intake/rules/", {"payer": intake_world["b"].pk, "program": intake_world["iop"].pk,
                                      "decision": "allowed", "effective_from": "2025-06-01"}, **headers)
    assert "overlapping dates" in clash.content.decode()
    form = c.get(f"/intake/rules/{rule.pk}/", **headers).content.decode()
    assert "Edit rule" in form
    saved = c.post(f"/intake/rules/{rule.pk}/", {"payer": intake_world["b"].pk, "program": intake_world["iop"].pk,
                                                 "decision": "allowed", "effective_from": "2025-01-01",
                                                 "reason": "Contract signed"}, **headers)
    assert "Contract signed" in saved.content.decode() and f'id="rule-{rule.pk}"' in saved.content.decode()
    assert c.post(f"/intake/rules/{rule.pk}/delete/", **headers).status_code == 200
    with tenant_context(a.org):
        assert not IntakeRule.objects.filter(pk=rule.pk).exists()


def test_violations_and_profitability_export(a, intake_world):
    c = a.client(Role.EXECUTIVE)
    csv = c.get("/intake/violations/?format=csv").content.decode().lstrip("\ufeff").splitlines()
    assert csv[0].startswith("external_id,admitted_on") and len(csv) == 3
    rows = a.api().get("/api/v1/intake/profitability/?start=2025-01-01&end=2025-01-31&grain=month").json()
    php = next(r for r in rows if r["program_code"] == "PHP")
    assert (php["net_on_paper"], php["net_after_denials"], php["margin_after_denials"]) == \
        ("2533.33", "2100.00", "400.00")
    assert "margin_per_patient_day_on_paper" in c.get("/intake/profitability/?format=csv").content.decode()


def test_program_costs_page_and_bulk_upsert(a, intake_world):
    c = a.client(Role.BILLING_MANAGER)
    response = c.post("/intake/costs/", {"program": intake_world["iop"].pk, "month": "2025-03",
                                         "category": "facility", "amount": "$1,250.50", "hours": ""})
    assert response.status_code == 302
    result = a.api().post("/api/v1/intake/program-costs/bulk-upsert/", [
        {"program": "IOP", "month": "2025-03", "category": "facility", "amount": "1300"},
        {"program": "IOP", "month": "2025-03-15", "category": "utilization_review", "amount": "85", "hours": "2"},
    ], format="json").json()
    assert (result["inserted"], result["updated"]) == (1, 1)
    with tenant_context(a.org):
        assert ProgramCost.objects.get(program=intake_world["iop"], month=dt.date(2025, 3, 1),
                                       category="facility").amount == Decimal("1300.00")


def test_roles_the_matrix_refuses_get_403(a, intake_world):
    assert a.client(Role.REP).get("/intake/").status_code == 403
    assert a.client(Role.REP).get("/intake/rules/").status_code == 403
    assert a.client(Role.EXECUTIVE).post("/intake/rules/", {}).status_code == 403
    assert a.client(Role.BILLING_MANAGER).post("/intake/rules/", {}).status_code == 403  # reads rules only
    assert a.api(Role.EXECUTIVE).post("/api/v1/intake/admissions/link-claims/").status_code == 403
    assert a.api(Role.BILLING_MANAGER).post("/api/v1/intake/admissions/link-claims/").json()["claims_linked"] == 5


def test_another_organizations_rows_are_404(world, intake_world):
    adm = intake_world["adm"]["ADM1"]
    rule = intake_world["rules"][0]
    b = world.b
    assert b.client(Role.ADMIN).get(f"/intake/admissions/{adm.pk}/").status_code == 404
    assert b.client(Role.ADMIN).post(f"/intake/rules/{rule.pk}/delete/").status_code == 404
    assert b.api().get(f"/api/v1/intake/admissions/{adm.pk}/").status_code == 404
    assert b.api().get("/api/v1/intake/admissions/").json()["count"] == 0
    assert b.client(Role.ADMIN).get("/intake/profitability/").content.decode().count("Harbor") == 0


def test_empty_states_for_an_organization_without_admissions(world):
    body = world.b.client(Role.ADMIN).get("/intake/").content.decode()
    assert "No admissions yet" in body
    assert "No admissions, so no program economics" in world.b.client(Role.ADMIN).get("/intake/profitability/") \
        .content.decode()


def test_sweep_factory_makes_one_row_of_each_model(world):
    with tenant_context(world.b.org):
        made = {name: sweep.sweep_object(world.b, name) for name in ("admission",)}
        assert made["admission"].external_id == "SWEEP-ADM-1"
        assert {k.removeprefix("sweep:") for k in world.b.objects if k.startswith("sweep:")} == set(sweep.MODELS)
        assert world.b.objects["sweep:authorization"].admission == made["admission"]
