"""Dispute pages and API on the hand-made world of tests/commissions/fixtures.py (March 2026 computed in
organization a; the rep user is linked to Pat). Figures by hand (test_runs.py): Pat's X1 line is 6,000 at
5% = 300.00 dated 2026-03-05 under "Bookings commission"; Quinn's X2 split line is 3,000 at 5% = 150.00.

Role matrix (``commission_disputes``): view A, E, R, P; change A, R, P; approve (resolve/reject) A, R.
Billing managers and integrators have no access (403). A rep opens, reads and downloads only Pat's: any
other dispute or line is a 404, like organization b's.
"""
from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from commissions.models import Dispute, DisputeMessage, DisputeStatus, LineItem, ManualAdjustment, Transaction
from commissions.services import disputes, runs
from revops.models import Membership, Role
from revops.tenancy import tenant_context
from tests.commissions import fixtures, sweep_disputes

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.commissions.urls_disputes_only")]

D = Decimal
HTMX = {"HTTP_HX_REQUEST": "true"}
API = "/api/v1/commissions/disputes"
PDF = b"%PDF-1.4\n%%EOF\n"
VIEWERS = (Role.ADMIN, Role.EXECUTIVE, Role.REVOPS_ANALYST, Role.REP)
OUTSIDERS = (Role.BILLING_MANAGER, Role.INTEGRATOR)


@pytest.fixture
def dw(world: Any, settings: Any, tmp_path: Any) -> dict[str, Any]:
    """March computed in a; the rep is Pat; Pat's X1 dispute (with a PDF) and Quinn's X2 dispute exist."""
    settings.MEDIA_ROOT = tmp_path
    with tenant_context(world.a.org):
        cw = fixtures.build()
        cw["march"] = runs.period_ensure(start=fixtures.MAR)
        runs.run_now(period=cw["march"])
        membership = Membership.objects.get(user=world.a.users[Role.REP])
        membership.person = cw["pat"]
        membership.save()
        cw["x1"] = _line(cw["pat"], "X1")
        cw["x3_tier2"] = LineItem.objects.get(person=cw["pat"], transaction__external_id="X3", tier=2)
        cw["quinn_x2"] = _line(cw["quinn"], "X2")
        cw["pats"] = disputes.dispute_open(
            line=cw["x1"], user=world.a.users[Role.REP], subject="X1 rate", body="I expected 6%.",
            attachment=SimpleUploadedFile("offer letter.pdf", PDF, content_type="application/pdf"))
        cw["quinns"] = disputes.dispute_open(line=cw["quinn_x2"], user=world.a.users[Role.REVOPS_ANALYST],
                                             subject="Quinn's split", body="Quinn says 80/20.")
        cw["pats_message"] = DisputeMessage.objects.get(dispute=cw["pats"])
    cw["world"] = world
    return cw


def _line(person: Any, external_id: str) -> LineItem:
    return LineItem.objects.get(person=person, transaction=Transaction.objects.get(external_id=external_id),
                                kind="commission")


def url(name: str, *args: Any) -> str:
    return reverse(name, args=args)


def queue_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-dispute="(\d+)"', html)]


# -- role matrix -----------------------------------------------------------------------------------

def test_the_queue_answers_by_role(dw):
    a = dw["world"].a
    for role in VIEWERS:
        assert a.client(role).get(url("commissions_dispute_list")).status_code == 200, role
    for role in OUTSIDERS:
        assert a.client(role).get(url("commissions_dispute_list")).status_code == 403, role


def test_the_new_dispute_page_answers_by_role(dw):
    a = dw["world"].a
    page = f"{url('commissions_dispute_new')}?line={dw['x3_tier2'].pk}"
    for role in (Role.ADMIN, Role.REVOPS_ANALYST, Role.REP):
        assert a.client(role).get(page).status_code == 200, role
    for role in (Role.EXECUTIVE, Role.BILLING_MANAGER, Role.INTEGRATOR):
        assert a.client(role).get(page).status_code == 403, role


def test_resolve_and_reject_answer_only_admins_and_analysts(dw):
    a = dw["world"].a
    for role in (Role.EXECUTIVE, Role.REP, Role.BILLING_MANAGER, Role.INTEGRATOR):
        for name in ("commissions_dispute_resolve", "commissions_dispute_reject"):
            response = a.client(role).post(url(name, dw["pats"].pk), {"resolution": "No."})
            assert response.status_code == 403, (role, name)
    response = a.client(Role.REVOPS_ANALYST).post(url("commissions_dispute_reject", dw["pats"].pk),
                                                  {"resolution": "5% is the plan's first tier."})
    assert response.status_code == 302
    with tenant_context(a.org):
        assert Dispute.objects.get(pk=dw["pats"].pk).status == DisputeStatus.REJECTED


# -- what a rep sees -------------------------------------------------------------------------------

def test_a_rep_sees_only_their_own_disputes(dw):
    a = dw["world"].a
    rep = a.client(Role.REP)
    html = rep.get(url("commissions_dispute_list")).content.decode()
    assert queue_ids(html) == [dw["pats"].pk]
    assert "Quinn" not in html
    for name in ("commissions_dispute_detail",):
        assert rep.get(url(name, dw["quinns"].pk)).status_code == 404
    for name in ("commissions_dispute_comment", "commissions_dispute_reopen"):
        assert rep.post(url(name, dw["quinns"].pk), {"body": "Me too."}).status_code == 404
    assert rep.get(f"{url('commissions_dispute_new')}?line={dw['quinn_x2'].pk}").status_code == 404
    assert rep.get(url("commissions_dispute_detail", dw["pats"].pk)).status_code == 200
    analyst = a.client(Role.REVOPS_ANALYST).get(url("commissions_dispute_list")).content.decode()
    assert sorted(queue_ids(analyst)) == sorted([dw["pats"].pk, dw["quinns"].pk])


def test_the_queue_lists_open_disputes_first_and_filters(dw):
    a = dw["world"].a
    with tenant_context(a.org):
        disputes.dispute_reject(dispute=dw["pats"], user=a.users[Role.ADMIN], resolution="Stands.")
        third = disputes.dispute_open(line=dw["x3_tier2"], user=a.users[Role.REP], subject="Tier 2", body="8%?")
    analyst = a.client(Role.REVOPS_ANALYST)
    html = analyst.get(url("commissions_dispute_list")).content.decode()
    # Open first, oldest first (Quinn's, then the tier-2 one), then the rejected one.
    assert queue_ids(html) == [dw["quinns"].pk, third.pk, dw["pats"].pk]
    assert re.search(r'id="open-count">2<', html)
    html = analyst.get(url("commissions_dispute_list") + "?status=rejected").content.decode()
    assert queue_ids(html) == [dw["pats"].pk]
    html = analyst.get(url("commissions_dispute_list") + f"?person={dw['quinn'].pk}").content.decode()
    assert queue_ids(html) == [dw["quinns"].pk]


def test_the_queue_exports_csv_and_excel_with_only_what_the_viewer_reads(dw):
    a = dw["world"].a
    response = a.client(Role.REVOPS_ANALYST).get(url("commissions_dispute_list") + "?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {(r["person"], r["amount_disputed"], r["status"]) for r in rows} == {
        ("Pat Seller", "300.00", "Open"), ("Quinn Closer", "150.00", "Open")}
    response = a.client(Role.REP).get(url("commissions_dispute_list") + "?format=xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    header = list(values[0])
    assert [row[header.index("subject")] for row in values[1:]] == ["X1 rate"]
    assert [row[header.index("amount_disputed")] for row in values[1:]] == [D("300.00")]


def test_an_empty_queue_says_how_disputes_arrive(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    html = world.a.client(Role.REVOPS_ANALYST).get(url("commissions_dispute_list")).content.decode()
    assert 'id="no-disputes"' in html and "Reps open a dispute from a line" in html
    html = world.a.client(Role.REP).get(url("commissions_dispute_list")).content.decode()
    assert 'id="no-disputes"' in html and "Dispute this line" in html
    assert "Export CSV" not in html


# -- opening, thread, answers ----------------------------------------------------------------------

def test_the_new_dispute_page_shows_the_line_and_opens_the_dispute(dw):
    a = dw["world"].a
    rep = a.client(Role.REP)
    line = dw["x3_tier2"]
    page = rep.get(f"{url('commissions_dispute_new')}?line={line.pk}").content.decode()
    assert re.search(r'data-col="amount"><strong>160.00<', page)
    assert re.search(r'data-col="date">Mar 20, 2026<', page)
    assert "Bookings commission" in page and "autofocus" in page
    response = rep.post(url("commissions_dispute_new"), {
        "line": line.pk, "subject": "Tier 2 rate", "body": "The accelerator should be 10%.",
        "attachment": SimpleUploadedFile("plan.txt", b"accelerator 10%", content_type="text/plain")})
    assert response.status_code == 302
    with tenant_context(a.org):
        dispute = Dispute.objects.get(subject="Tier 2 rate")
        assert (dispute.amount_disputed, dispute.person_id, dispute.line_kind) == (D("160.00"), dw["pat"].pk,
                                                                                  "commission")
        assert DisputeMessage.objects.get(dispute=dispute).attachment_name == "plan.txt"
    assert response["Location"] == url("commissions_dispute_detail", dispute.pk)
    # A second dispute on the same line is refused on the page (400) with the reason.
    again = rep.post(url("commissions_dispute_new"), {"line": line.pk, "subject": "Again", "body": "Again."})
    assert again.status_code == 400 and f"Dispute #{dispute.pk} about this line is still open" in again.content.decode()
    # Without a line, the page says where to start.
    assert 'id="no-line"' in rep.get(url("commissions_dispute_new")).content.decode()


def test_a_comment_by_htmx_swaps_the_thread(dw):
    a = dw["world"].a
    rep = a.client(Role.REP)
    response = rep.post(url("commissions_dispute_comment", dw["pats"].pk), {"body": "Any news?"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="panel" id="thread"') and "<html" not in html
    assert "Any news?" in html and "Comment added." in html
    # An empty comment is refused in place (200 so htmx swaps it in); without htmx the page is a 400.
    refused = rep.post(url("commissions_dispute_comment", dw["pats"].pk), {"body": " "}, **HTMX)
    assert refused.status_code == 200 and "errorlist" in refused.content.decode()
    assert rep.post(url("commissions_dispute_comment", dw["pats"].pk), {"body": ""}).status_code == 400
    with tenant_context(a.org):
        assert list(DisputeMessage.objects.filter(dispute=dw["pats"]).values_list("body", flat=True)) == [
            "I expected 6%.", "Any news?"]


def test_resolving_with_an_amount_on_the_page_adds_the_adjustment_and_closes_the_thread(dw):
    a = dw["world"].a
    analyst = a.client(Role.REVOPS_ANALYST)
    detail = analyst.get(url("commissions_dispute_detail", dw["pats"].pk)).content.decode()
    assert 'id="answer"' in detail and 'data-col="amount-disputed"><strong>300.00<' in detail
    assert 'data-col="amount-now">300.00' in detail
    response = analyst.post(url("commissions_dispute_resolve", dw["pats"].pk),
                            {"resolution": "Offer letter: 6%.", "adjustment_amount": "60.00"})
    assert response.status_code == 302
    with tenant_context(a.org):
        adjustment = ManualAdjustment.objects.get(dispute=dw["pats"])
        assert (adjustment.period, adjustment.amount, adjustment.person) == (dw["march"], D("60.00"), dw["pat"])
    rep_view = a.client(Role.REP).get(url("commissions_dispute_detail", dw["pats"].pk)).content.decode()
    assert 'id="closed-note"' in rep_view and 'id="comment-form"' not in rep_view and 'id="answer"' not in rep_view
    assert "Adjustment of 60.00 added to Mar 2026" in rep_view and 'data-adjustment="' in rep_view
    assert 'id="reopen"' in rep_view
    # The rep's comment on the closed dispute is refused; reopening with a comment works.
    refused = a.client(Role.REP).post(url("commissions_dispute_comment", dw["pats"].pk), {"body": "More"})
    assert refused.status_code == 400
    assert "This dispute is resolved: reopen it with a comment to ask again." in refused.content.decode()
    # Answering it again is refused with the reason as a message on the page.
    again = analyst.post(url("commissions_dispute_reject", dw["pats"].pk), {"resolution": "No."}, follow=True)
    assert "This dispute is already resolved." in again.content.decode()
    reopened = a.client(Role.REP).post(url("commissions_dispute_reopen", dw["pats"].pk), {"body": "Still short."})
    assert reopened.status_code == 302
    with tenant_context(a.org):
        assert Dispute.objects.get(pk=dw["pats"].pk).status == DisputeStatus.OPEN


def test_reject_with_an_amount_and_resolve_without_a_reason_are_refused_on_the_page(dw):
    analyst = dw["world"].a.client(Role.REVOPS_ANALYST)
    response = analyst.post(url("commissions_dispute_reject", dw["pats"].pk),
                            {"resolution": "Stands.", "adjustment_amount": "5"})
    assert response.status_code == 400 and "A rejected dispute pays nothing" in response.content.decode()
    response = analyst.post(url("commissions_dispute_resolve", dw["pats"].pk), {"resolution": "",
                                                                                 "adjustment_amount": "5"})
    assert response.status_code == 400
    response = analyst.post(url("commissions_dispute_resolve", dw["pats"].pk), {"resolution": "Ok",
                                                                                 "adjustment_amount": "1.234"})
    assert response.status_code == 400 and "two decimal places" in response.content.decode()
    with tenant_context(dw["world"].a.org):
        assert Dispute.objects.get(pk=dw["pats"].pk).status == DisputeStatus.OPEN
        assert not ManualAdjustment.objects.exists()


# -- attachments -----------------------------------------------------------------------------------

def test_attachment_downloads_check_whose_dispute_it_is(dw):
    world = dw["world"]
    link = url("commissions_dispute_attachment", dw["pats_message"].pk)
    for role in (Role.REP, Role.REVOPS_ANALYST, Role.ADMIN, Role.EXECUTIVE):
        response = world.a.client(role).get(link)
        assert response.status_code == 200, role
        assert b"".join(response.streaming_content) == PDF
        assert response["Content-Type"] == "application/pdf"
        assert 'filename="offer letter.pdf"' in response["Content-Disposition"]
    assert world.a.client(Role.BILLING_MANAGER).get(link).status_code == 403
    # Quinn's dispute, with an attachment: not Pat's, so the rep gets a 404.
    with tenant_context(world.a.org):
        message = disputes.dispute_comment(
            dispute=dw["quinns"], user=world.a.users[Role.REVOPS_ANALYST], body="Signed split sheet.",
            attachment=SimpleUploadedFile("split.csv", b"quinn,0.75\npat,0.25\n", content_type="text/csv"))
    quinn_link = url("commissions_dispute_attachment", message.pk)
    assert world.a.client(Role.REP).get(quinn_link).status_code == 404
    assert world.a.client(Role.REVOPS_ANALYST).get(quinn_link).status_code == 200
    # Organization b's users never reach a's attachment.
    for role in (Role.ADMIN, Role.REVOPS_ANALYST, Role.REP):
        assert world.b.client(role).get(link).status_code == 404
    # A message without an attachment has nothing to download.
    with tenant_context(world.a.org):
        plain = DisputeMessage.objects.get(dispute=dw["quinns"], body="Quinn says 80/20.")
    assert world.a.client(Role.ADMIN).get(url("commissions_dispute_attachment", plain.pk)).status_code == 404


# -- other organizations ---------------------------------------------------------------------------

@pytest.fixture
def b_dispute(dw: dict[str, Any]) -> Any:
    world = dw["world"]
    with tenant_context(world.b.org):
        return sweep_disputes.commission_dispute_objects(world.b)


def test_organization_bs_dispute_is_404_on_every_page(dw, b_dispute):
    a = dw["world"].a
    pk, message_pk = b_dispute["dispute"].pk, b_dispute["disputemessage"].pk
    for role in (Role.ADMIN, Role.REVOPS_ANALYST):
        client = a.client(role)
        assert client.get(url("commissions_dispute_detail", pk)).status_code == 404
        for name in ("commissions_dispute_comment", "commissions_dispute_resolve", "commissions_dispute_reject",
                     "commissions_dispute_reopen"):
            assert client.post(url(name, pk), {"body": "x", "resolution": "x"}).status_code == 404, name
        assert client.get(url("commissions_dispute_attachment", message_pk)).status_code == 404
        assert "Sweep dispute" not in client.get(url("commissions_dispute_list")).content.decode()
    with tenant_context(dw["world"].b.org):
        assert Dispute.objects.get(pk=pk).status == DisputeStatus.OPEN
        assert DisputeMessage.objects.filter(dispute_id=pk).count() == 1


# -- API -------------------------------------------------------------------------------------------

def test_api_roles_list_and_create(dw):
    a = dw["world"].a
    for role in VIEWERS:
        assert a.api(role).get(f"{API}/").status_code == 200, role
    assert a.api(Role.BILLING_MANAGER).get(f"{API}/").status_code == 403
    assert a.api().get(f"{API}/").status_code == 403  # integrator key
    body = {"line": dw["x3_tier2"].pk, "subject": "Tier 2", "body": "8% or 10%?"}
    assert a.api(Role.EXECUTIVE).post(f"{API}/", body, format="json").status_code == 403
    response = a.api(Role.REP).post(f"{API}/", body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["amount_disputed"], created["line_kind"], created["transaction_external_id"],
            created["component_name"], created["status"]) == ("160.00", "commission", "X3", "Bookings commission",
                                                             "open")
    assert [(m["author_name"], m["body"]) for m in created["messages"]] == [("harbor-rep", "8% or 10%?")]
    # Another rep's line is not one the rep may dispute.
    response = a.api(Role.REP).post(f"{API}/", {**body, "line": dw["quinn_x2"].pk}, format="json")
    assert response.status_code == 400 and "line" in response.json()
    # The rep lists only their own (open first).
    listed = a.api(Role.REP).get(f"{API}/").json()["results"]
    assert sorted(d["id"] for d in listed) == sorted([dw["pats"].pk, created["id"]])
    everyone = a.api(Role.ADMIN).get(f"{API}/?person={dw['quinn'].pk}").json()["results"]
    assert [d["id"] for d in everyone] == [dw["quinns"].pk]


def test_api_create_with_an_attachment_as_multipart(dw):
    rep = dw["world"].a.api(Role.REP)
    upload = SimpleUploadedFile("calc.csv", b"deal,rate\nX3,0.10\n", content_type="text/csv")
    response = rep.post(f"{API}/", {"line": dw["x3_tier2"].pk, "subject": "Tier 2", "body": "See file.",
                                    "attachment": upload}, format="multipart")
    assert response.status_code == 201, response.content
    message = response.json()["messages"][0]
    assert message["attachment_name"] == "calc.csv"
    assert message["attachment_url"] == url("commissions_dispute_attachment", message["id"])


def test_api_thread_resolve_and_reject(dw):
    a = dw["world"].a
    pk = dw["pats"].pk
    comment = a.api(Role.REP).post(f"{API}/{pk}/messages/", {"body": "Any news?"}, format="json")
    assert comment.status_code == 201 and comment.json()["body"] == "Any news?"
    assert [m["body"] for m in a.api(Role.EXECUTIVE).get(f"{API}/{pk}/messages/").json()] == [
        "I expected 6%.", "Any news?"]
    assert a.api(Role.EXECUTIVE).post(f"{API}/{pk}/messages/", {"body": "x"}, format="json").status_code == 403
    assert a.api(Role.REP).post(f"{API}/{pk}/resolve/", {"resolution": "Mine"}, format="json").status_code == 403
    assert a.api(Role.REP).get(f"{API}/{dw['quinns'].pk}/").status_code == 404
    assert a.api(Role.REP).post(f"{API}/{dw['quinns'].pk}/messages/", {"body": "x"}, format="json").status_code == 404

    # March is open: the adjustment lands in March, the earliest open period.
    response = a.api(Role.REVOPS_ANALYST).post(f"{API}/{pk}/resolve/", {"resolution": "Owed 1% of 6,000.",
                                                                       "adjustment_amount": "60.00"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "resolved" and body["resolved_by"] == "harbor-revops_analyst"
    assert [(x["period_name"], x["amount"], x["reason"]) for x in body["adjustments"]] == [
        ("Mar 2026", "60.00", f"Dispute #{pk}: X1 rate")]
    assert body["messages"][-1]["is_system"] is True
    assert "Adjustment of 60.00 added to Mar 2026" in body["messages"][-1]["body"]
    closed = a.api(Role.REP).post(f"{API}/{pk}/messages/", {"body": "More"}, format="json")
    assert closed.status_code == 400
    reopened = a.api(Role.REP).post(f"{API}/{pk}/reopen/", {"body": "Still short."}, format="json")
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"

    rejected = a.api(Role.ADMIN).post(f"{API}/{dw['quinns'].pk}/reject/", {"resolution": "Split as signed."},
                                      format="json")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert a.api(Role.ADMIN).post(f"{API}/{dw['quinns'].pk}/reject/", {"resolution": "Again"},
                                  format="json").status_code == 400


def test_api_organization_bs_dispute_is_404_for_organization_a(dw, b_dispute):
    a = dw["world"].a
    pk = b_dispute["dispute"].pk
    for role in (Role.ADMIN, Role.REVOPS_ANALYST, Role.EXECUTIVE, Role.REP):
        assert a.api(role).get(f"{API}/{pk}/").status_code == 404, role
        assert a.api(role).get(f"{API}/{pk}/messages/").status_code == 404, role
        assert pk not in [d["id"] for d in a.api(role).get(f"{API}/").json()["results"]]
    admin = a.api(Role.ADMIN)
    assert admin.post(f"{API}/{pk}/resolve/", {"resolution": "x", "adjustment_amount": "5"},
                      format="json").status_code == 404
    assert admin.post(f"{API}/{pk}/reject/", {"resolution": "x"}, format="json").status_code == 404
    assert admin.post(f"{API}/{pk}/messages/", {"body": "x"}, format="json").status_code == 404
    # Nor can a open a dispute on b's line.
    line_id = b_dispute["dispute"].line_id
    assert admin.post(f"{API}/", {"line": line_id, "subject": "x", "body": "x"}, format="json").status_code == 400
    with tenant_context(dw["world"].b.org):
        assert Dispute.objects.get(pk=pk).status == DisputeStatus.OPEN
        assert not ManualAdjustment.objects.exists()


def test_the_openapi_schema_documents_the_dispute_endpoints(dw):
    response = dw["world"].a.api(Role.ADMIN).get("/api/v1/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    for path in ("/api/v1/commissions/disputes/", "/api/v1/commissions/disputes/{id}/resolve/",
                 "/api/v1/commissions/disputes/{id}/messages/"):
        assert path in text
