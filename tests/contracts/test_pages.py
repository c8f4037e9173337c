"""Contract pages: build and publish a contract through the forms (htmx term edits), the underpayment report
with its drill-down and export, reviews and decisions; another organization's rows are 404, roles 403."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from contracts.models import Contract, ContractReview, ContractTerm
from contracts.services.reimbursement import expected_recompute
from contracts.services.reviews import reviews_generate
from revops.tenancy import tenant_context
from tests.contracts import fixtures as f

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_analyst_builds_and_publishes_a_contract(world):
    a = world.a
    client = a.client("revops_analyst")
    response = client.post(reverse("contracts_new"), {"payer": a.objects["payer"].pk, "name": "Harbor PPO 2025",
                                                      "plan_name": ""}, **HTMX)
    assert response.status_code == 200 and "HX-Redirect" in response
    with tenant_context(a.org):
        contract = Contract.objects.get(name="Harbor PPO 2025")
        version = contract.versions.get()
    fragment = client.post(reverse("contracts_term_add", args=[version.pk]),
                           {"kind": "per_diem", "level_of_care": "php", "rate": "525", "lesser_of_charges": "on"},
                           **HTMX)
    assert fragment.status_code == 200 and b'id="terms"' in fragment.content and b"Term added." in fragment.content
    bad = client.post(reverse("contracts_term_add", args=[version.pk]), {"kind": "per_diem", "rate": "1"}, **HTMX)
    assert b"needs a level of care" in bad.content
    response = client.post(reverse("contracts_version_publish", args=[version.pk]), {"effective_from": "2025-01-01"})
    assert response.status_code == 302
    page = client.get(reverse("contracts_detail", args=[contract.pk]))
    assert b"Lesser of charges or per diem." in page.content and b"Published" in page.content
    assert client.get(reverse("contracts_list")).status_code == 200
    # published terms are history: a term cannot be added any more
    with tenant_context(a.org):
        term = ContractTerm.objects.get(version=version)
    client.post(reverse("contracts_term_delete", args=[term.pk]), **HTMX)
    with tenant_context(a.org):
        assert ContractTerm.objects.filter(pk=term.pk).exists()
    csv = client.get(reverse("contracts_list") + "?format=csv")
    assert csv.status_code == 200 and b"Harbor PPO 2025" in csv.content


def test_fee_schedule_import_page(world):
    a = world.a
    with tenant_context(a.org):
        from contracts.services import contracts as svc

        contract = svc.contract_create(payer=a.objects["payer"], name="Lab schedule")
        version = contract.versions.get()
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = a.client("revops_analyst")
    upload = SimpleUploadedFile("fees.csv", b"code,modifier,rate,description\n80053,,10.56,CMP\n85025,,7.77,CBC\n")
    response = client.post(reverse("contracts_version_import", args=[version.pk]), {"file": upload})
    assert response.status_code == 302
    with tenant_context(a.org):
        assert dict(ContractTerm.objects.filter(version=version).values_list("code", "rate")) == {
            "80053": Decimal("10.5600"), "85025": Decimal("7.7700")}
    bad = SimpleUploadedFile("fees.csv", b"code,rate\n80053,abc\n")
    response = client.post(reverse("contracts_version_import", args=[version.pk]), {"file": bad})
    assert response.status_code == 400 and b"line 2" in response.content


def _priced_world(tenant):
    with tenant_context(tenant.org):
        payer, php = tenant.objects["payer"], tenant.objects["program"]
        contract, _ = f.contract(payer=payer, name="Sweep-free contract",
                                 terms=[{"kind": "per_diem", "level_of_care": "php", "rate": "500"}])
        c = f.claim(payer=payer, program=php, lines=[("H0035", "650", 1, dt.date(2025, 2, 4))])
        f.pay(claim=c, paid="400", lines=[("H0035", "400", "0")])
        expected_recompute()
        [review] = reviews_generate(start=dt.date(2025, 1, 1), contract_ids=[contract.pk])
        return contract, c, review


def test_underpayment_report_drills_down_and_exports(world):
    contract, claim, _ = _priced_world(world.a)
    client = world.a.client("billing_manager")
    page = client.get(reverse("contracts_underpayments") + "?group=payer&start=2025-01-01")
    assert page.status_code == 200 and b"100.00" in page.content and b"no contract in force" in page.content
    payer = world.a.objects["payer"].pk
    drill = client.get(reverse("contracts_underpayment_claims") + f"?group=payer&key={payer}&start=2025-01-01", **HTMX)
    assert drill.status_code == 200 and claim.patient_control_number.encode() in drill.content
    assert b"<html" not in drill.content
    csv = client.get(reverse("contracts_underpayments") + "?group=code&start=2025-01-01&format=csv")
    assert b"H0035" in csv.content
    code = client.get(reverse("contracts_underpayment_claims") + "?group=code&key=H0035&start=2025-01-01")
    assert code.status_code == 200 and b"H0035 variance" in code.content
    # billing may read but not start a recompute
    assert client.post(reverse("contracts_recompute")).status_code == 403
    assert world.a.client("rep").get(reverse("contracts_underpayments")).status_code == 403


def test_review_decision_and_roles(world):
    _, _, review = _priced_world(world.a)
    url = reverse("contracts_review_decide", args=[review.pk])
    assert world.a.client("billing_manager").post(url, {"decision": "keep", "note": "x"}).status_code == 403
    response = world.a.client("executive").post(url, {"decision": "renegotiate", "note": "Per diem below cost."},
                                                 **HTMX)
    assert response.status_code == 200 and b"Decision recorded." in response.content
    with tenant_context(world.a.org):
        review = ContractReview.objects.get(pk=review.pk)
    assert (review.decision, review.decided_by) == ("renegotiate", world.a.users["executive"])
    page = world.a.client("revops_analyst").get(reverse("contracts_review", args=[review.pk]))
    assert b"Per diem below cost." in page.content and b"Underpayment" in page.content
    assert world.a.client("revops_analyst").get(reverse("contracts_reviews")).status_code == 200


def test_another_organizations_rows_are_404(world):
    contract, claim, review = _priced_world(world.b)
    client = world.a.client("admin")
    assert client.get(reverse("contracts_detail", args=[contract.pk])).status_code == 404
    assert client.get(reverse("contracts_review", args=[review.pk])).status_code == 404
    assert client.post(reverse("contracts_review_decide", args=[review.pk]),
                       {"decision": "exit", "note": "x"}).status_code == 404
    with tenant_context(world.b.org):
        from contracts.models import ClaimExpectation

        e = ClaimExpectation.objects.get(claim=claim)
    assert client.get(reverse("contracts_claim", args=[e.pk])).status_code == 404
    page = client.get(reverse("contracts_underpayments"))
    assert b"Summit" not in page.content
