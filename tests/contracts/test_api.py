"""Contracts API: contracts, versions and terms, single-case agreements, expected reimbursement, underpayment
summaries, reviews and decisions; roles (integrator may change, not approve) and other organizations (404)."""
from __future__ import annotations

import datetime as dt

import pytest

from contracts.models import ClaimExpectation
from contracts.services.reimbursement import expected_recompute
from revops.tenancy import tenant_context
from tests.contracts import fixtures as f

pytestmark = pytest.mark.django_db
BASE = "/api/v1/contracts/"


def test_contract_lifecycle_through_the_api(world):
    a = world.a
    api = a.api()  # integrator key
    r = api.post(BASE + "contracts/", {"name": "API contract", "payer": a.objects["payer"].pk}, format="json")
    assert r.status_code == 201, r.content
    contract = r.json()
    version = contract["versions"][0]["id"]
    r = api.post(BASE + f"versions/{version}/terms/", {"kind": "fee_schedule", "code": "90837", "rate": "120"},
                 format="json")
    assert r.status_code == 201, r.content
    r = api.post(BASE + f"versions/{version}/fee-schedule/", {"csv": "code,rate\n90834,95\n90837,121\n"},
                 format="json")
    assert r.json() == {"created": 1, "updated": 1}
    r = api.post(BASE + f"versions/{version}/publish/", {"effective_from": "2025-01-01"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "published"
    term = r.json()["terms"][0]["id"]
    assert api.patch(BASE + f"terms/{term}/", {"rate": "1"}, format="json").status_code == 400  # history
    r = api.post(BASE + f"contracts/{contract['id']}/versions/", {}, format="json")
    assert r.status_code == 201 and r.json()["number"] == 2 and len(r.json()["terms"]) == 2
    r = api.post(BASE + "single-case/", {"payer": a.objects["payer"].pk, "program": a.objects["program"].pk,
                                         "member_id": "M123", "starts_on": "2025-03-01", "ends_on": "2025-03-31",
                                         "kind": "per_diem", "rate": "800"}, format="json")
    assert r.status_code == 201 and r.json()["kind"] == "single_case"
    assert api.post(BASE + "expected/recompute/").status_code == 202


def test_expected_underpayments_and_reviews(world):
    a = world.a
    with tenant_context(a.org):
        payer, php = a.objects["payer"], a.objects["program"]
        contract, _ = f.contract(payer=payer, terms=[{"kind": "per_diem", "level_of_care": "php", "rate": "500"}])
        c = f.claim(payer=payer, program=php, lines=[("H0035", "650", 1, dt.date(2025, 2, 4))])
        f.pay(claim=c, paid="400", lines=[("H0035", "400", "0")])
        expected_recompute()
        e = ClaimExpectation.objects.get(claim=c)
    api = a.api("billing_manager")
    r = api.get(BASE + f"expected/{e.pk}/")
    assert r.json()["expected"] == "500.00" and r.json()["variance"] == "100.00" and len(r.json()["lines"]) == 1
    assert api.get(BASE + "expected/?status=no_contract").status_code == 200
    r = api.get(BASE + "underpayments/?group=payer&start=2025-01-01")
    assert r.json()["totals"]["variance"] == "100.00" and r.json()["coverage"]["in_variance"] == 1
    r = api.get(BASE + f"underpayments/claims/?group=payer&key={payer.pk}&start=2025-01-01")
    assert [x["claim"] for x in r.json()] == [c.pk]
    assert api.get(BASE + "underpayments/?group=nope").status_code == 400
    analyst = a.api("revops_analyst")
    r = analyst.post(BASE + "reviews/generate/", {"quarter_start": "2025-02-01"}, format="json")
    assert r.status_code == 201
    review = next(x for x in r.json() if x["contract"] == contract.pk)
    assert review["underpayment"] == "100.00" and review["recommendation"] == "renegotiate"
    assert a.api().post(BASE + f"reviews/{review['id']}/decision/", {"decision": "keep", "note": "x"},
                        format="json").status_code == 403  # integrators do not approve
    r = analyst.post(BASE + f"reviews/{review['id']}/decision/", {"decision": "keep", "note": "Volume matters."},
                     format="json")
    assert r.status_code == 200 and r.json()["decided_by"] == a.users["revops_analyst"].username
    assert analyst.get(BASE + f"reviews/{review['id']}/").json()["previous"] is None
    # another organization's review is not found
    assert world.b.api("admin").get(BASE + f"reviews/{review['id']}/").status_code == 404
    assert world.b.api("admin").get(BASE + f"expected/{e.pk}/").status_code == 404
