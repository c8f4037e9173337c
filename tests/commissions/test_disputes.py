"""Dispute services on the hand-made world of tests/commissions/fixtures.py (March 2026 computed).

The rep user of organization a is linked (membership) to Pat. Pat's March lines, by hand (test_runs.py):
X1 6,000 owner at 5% = 300.00; X2 1,000 split at 5% = 50.00; X3 crosses 100%: 150.00 (tier 1) and
160.00 (tier 2); bonus 1,000.00: earned 1,660.00. Quinn: X2 3,000 split at 5% = 150.00.

A resolution of 125.50 in the open March period makes Pat's March statement: adjustments 125.50,
payout 1,660.00 + 125.50 = 1,785.50. With March locked and April open, the same 125.50 lands in April:
Pat has no April transactions, so April's statement is earned 0.00, adjustments 125.50, payout 125.50.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from commissions.models import (
    CommissionPeriod,
    Dispute,
    DisputeMessage,
    DisputeStatus,
    LineItem,
    ManualAdjustment,
    PeriodStatus,
    Statement,
    Transaction,
)
from commissions.services import disputes, runs
from revops.models import AuditEvent, Membership, Role
from revops.tenancy import tenant_context
from tests.commissions import fixtures

pytestmark = pytest.mark.django_db

D = Decimal
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture
def dw(world: Any, settings: Any, tmp_path: Any) -> Any:
    """March computed in organization a; the rep user is Pat; attachments go to a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path
    with tenant_context(world.a.org):
        cw = fixtures.build()
        cw["march"] = runs.period_ensure(start=fixtures.MAR)
        runs.run_now(period=cw["march"])
        membership = Membership.objects.get(user=world.a.users[Role.REP])
        membership.person = cw["pat"]
        membership.save()
        cw["users"] = world.a.users
        yield cw


def line_of(person: Any, external_id: str, *, tier: int | None = None, kind: str = "commission") -> LineItem:
    txn = Transaction.objects.get(external_id=external_id)
    lines = LineItem.objects.filter(person=person, transaction=txn, kind=kind)
    if tier is not None:
        lines = lines.filter(tier=tier)
    return lines.get()


def open_on_x1(dw: Any, **extra: Any) -> Dispute:
    return disputes.dispute_open(line=line_of(dw["pat"], "X1"), user=dw["users"][Role.REP],
                                 subject="X1 rate", body="I expected 6% on Deal 1.", **extra)


def thread(dispute: Dispute) -> list[tuple[str | None, str]]:
    return [(m.author.username if m.author else None, m.body)
            for m in DisputeMessage.objects.filter(dispute=dispute).order_by("created_at", "id")]


# -- opening ---------------------------------------------------------------------------------------

def test_a_rep_opens_a_dispute_on_their_own_line_and_it_keeps_the_line_key_and_amount(dw):
    line = line_of(dw["pat"], "X1")
    assert line.amount == D("300.00")
    dispute = open_on_x1(dw)
    dispute.refresh_from_db()
    assert (dispute.period_id, dispute.person_id, dispute.transaction.external_id, dispute.component.name,
            dispute.line_kind, dispute.amount_disputed, dispute.status) == (
        dw["march"].pk, dw["pat"].pk, "X1", "Bookings commission", "commission", D("300.00"), DisputeStatus.OPEN)
    assert dispute.opened_by == dw["users"][Role.REP]
    assert thread(dispute) == [("harbor-rep", "I expected 6% on Deal 1.")]

    # A re-run replaces the line rows; the dispute still says what was questioned.
    runs.run_now(period=dw["march"])
    assert not LineItem.objects.filter(pk=line.pk).exists()
    dispute.refresh_from_db()
    assert (dispute.amount_disputed, dispute.transaction.external_id, dispute.line_kind) == (D("300.00"), "X1",
                                                                                              "commission")


def test_a_rep_cannot_open_a_dispute_on_another_reps_line(dw):
    quinn_x2 = line_of(dw["quinn"], "X2")
    with pytest.raises(PermissionDenied):
        disputes.dispute_open(line=quinn_x2, user=dw["users"][Role.REP], subject="Not mine", body="Trying.")
    assert not Dispute.objects.exists()


def test_an_analyst_opens_on_anyones_line_and_an_executive_on_none(dw):
    quinn_x2 = line_of(dw["quinn"], "X2")
    with pytest.raises(PermissionDenied):
        disputes.dispute_open(line=quinn_x2, user=dw["users"][Role.EXECUTIVE], subject="Exec", body="No.")
    dispute = disputes.dispute_open(line=quinn_x2, user=dw["users"][Role.REVOPS_ANALYST], subject="For Quinn",
                                    body="Quinn asked by phone.")
    assert (dispute.person_id, dispute.amount_disputed) == (dw["quinn"].pk, D("150.00"))


def test_an_unlinked_rep_is_told_to_have_their_membership_linked(dw):
    membership = Membership.objects.get(user=dw["users"][Role.REP])
    membership.person = None
    membership.save()
    with pytest.raises(PermissionDenied, match="not linked"):
        open_on_x1(dw)


def test_a_second_open_dispute_on_the_same_line_is_refused_and_subject_and_body_are_required(dw):
    first = open_on_x1(dw)
    with pytest.raises(ValidationError, match=f"#{first.pk}"):
        open_on_x1(dw)
    tier2 = line_of(dw["pat"], "X3", tier=2)
    with pytest.raises(ValidationError) as exc:
        disputes.dispute_open(line=tier2, user=dw["users"][Role.REP], subject="  ", body="")
    assert set(exc.value.message_dict) == {"subject"}
    with pytest.raises(ValidationError) as exc:
        disputes.dispute_open(line=tier2, user=dw["users"][Role.REP], subject="Tier 2", body=" ")
    assert set(exc.value.message_dict) == {"body"}
    # The other X3 line (tier 1, 150.00) is a line of its own.
    other = disputes.dispute_open(line=line_of(dw["pat"], "X3", tier=1), user=dw["users"][Role.REP],
                                  subject="Tier 1", body="Why 5%?")
    assert other.amount_disputed == D("150.00")


# -- attachments -----------------------------------------------------------------------------------

def test_an_attachment_is_kept_under_a_random_name_with_its_original_name_recorded(dw):
    upload = SimpleUploadedFile("Deal 1 contract.pdf", PDF, content_type="application/pdf")
    dispute = open_on_x1(dw, attachment=upload)
    message = DisputeMessage.objects.get(dispute=dispute)
    assert message.attachment_name == "Deal 1 contract.pdf"
    assert message.attachment.name.startswith("commissions/disputes/")
    assert "contract" not in message.attachment.name and message.attachment.name.endswith(".pdf")
    with message.attachment.open("rb") as handle:
        assert handle.read() == PDF
    assert disputes.attachment_content_type(message) == "application/pdf"


@pytest.mark.parametrize("name, content, content_type, complaint", [
    ("payload.exe", b"MZ\x90\x00", "application/octet-stream", "not a file type we keep"),
    ("fake.pdf", b"hello, not a pdf", "application/pdf", "does not look like a PDF"),
    ("image.png", b"\x89PNG\r\n\x1a\n....", "application/pdf", "sent as application/pdf"),
    ("notes.txt", b"text\x00with a NUL", "text/plain", "not a text file"),
    ("empty.csv", b"", "text/csv", "is empty"),
])
def test_attachments_of_other_kinds_or_disguised_are_refused(dw, name, content, content_type, complaint):
    upload = SimpleUploadedFile(name, content, content_type=content_type)
    with pytest.raises(ValidationError, match=complaint):
        open_on_x1(dw, attachment=upload)
    assert not Dispute.objects.exists()


def test_an_attachment_over_10_mb_is_refused_and_one_of_exactly_10_mb_is_kept(dw):
    limit = 10 * 1024 * 1024
    too_big = SimpleUploadedFile("big.txt", b"a" * (limit + 1), content_type="text/plain")
    with pytest.raises(ValidationError, match="limit is 10 MB"):
        open_on_x1(dw, attachment=too_big)
    just = SimpleUploadedFile("just.csv", b"a," * (limit // 2), content_type="text/csv")
    dispute = open_on_x1(dw, attachment=just)
    assert DisputeMessage.objects.get(dispute=dispute).attachment.size == limit


# -- thread ----------------------------------------------------------------------------------------

def test_the_thread_is_kept_and_a_closed_dispute_takes_no_comments_until_reopened(dw):
    rep, analyst = dw["users"][Role.REP], dw["users"][Role.REVOPS_ANALYST]
    dispute = open_on_x1(dw)
    disputes.dispute_comment(dispute=dispute, user=analyst, body="Looking at the rate table.")
    disputes.dispute_comment(dispute=dispute, user=rep, body="Thanks.",
                             attachment=SimpleUploadedFile("calc.csv", b"deal,rate\nX1,0.06\n",
                                                           content_type="text/csv"))
    disputes.dispute_reject(dispute=dispute, user=analyst, resolution="5% is the plan's first tier.")
    with pytest.raises(ValidationError, match="rejected: reopen it"):
        disputes.dispute_comment(dispute=dispute, user=rep, body="One more thing.")
    with pytest.raises(ValidationError, match="already rejected"):
        disputes.dispute_resolve(dispute=dispute, user=analyst, resolution="Again.")
    disputes.dispute_reopen(dispute=dispute, user=rep, body="My offer letter says 6%.")
    dispute.refresh_from_db()
    assert (dispute.status, dispute.resolution, dispute.resolved_by, dispute.resolved_at) == ("open", "", None, None)
    disputes.dispute_comment(dispute=dispute, user=analyst, body="Checking the offer letter.")
    assert thread(dispute) == [
        ("harbor-rep", "I expected 6% on Deal 1."),
        ("harbor-revops_analyst", "Looking at the rate table."),
        ("harbor-rep", "Thanks."),
        (None, "Rejected by harbor-revops_analyst: 5% is the plan's first tier."),
        (None, "Reopened by harbor-rep (it was rejected)."),
        ("harbor-rep", "My offer letter says 6%."),
        ("harbor-revops_analyst", "Checking the offer letter."),
    ]
    assert DisputeMessage.objects.get(dispute=dispute, body="Thanks.").attachment_name == "calc.csv"


def test_a_rep_cannot_comment_on_or_reopen_another_reps_dispute(dw):
    analyst = dw["users"][Role.REVOPS_ANALYST]
    quinns = disputes.dispute_open(line=line_of(dw["quinn"], "X2"), user=analyst, subject="Quinn's", body="Split?")
    with pytest.raises(PermissionDenied):
        disputes.dispute_comment(dispute=quinns, user=dw["users"][Role.REP], body="Me too.")
    disputes.dispute_reject(dispute=quinns, user=analyst, resolution="The split is 75/25 as signed.")
    with pytest.raises(PermissionDenied):
        disputes.dispute_reopen(dispute=quinns, user=dw["users"][Role.REP], body="Reopen.")
    with pytest.raises(PermissionDenied):
        disputes.dispute_comment(dispute=quinns, user=dw["users"][Role.EXECUTIVE], body="Exec note.")
    assert len(thread(quinns)) == 2


# -- resolving -------------------------------------------------------------------------------------

def test_only_admins_and_analysts_resolve_and_a_resolution_is_required(dw):
    dispute = open_on_x1(dw)
    for role in (Role.REP, Role.EXECUTIVE, Role.BILLING_MANAGER):
        with pytest.raises(PermissionDenied):
            disputes.dispute_resolve(dispute=dispute, user=dw["users"][role], resolution="Fine.")
        with pytest.raises(PermissionDenied):
            disputes.dispute_reject(dispute=dispute, user=dw["users"][role], resolution="No.")
    with pytest.raises(ValidationError) as exc:
        disputes.dispute_resolve(dispute=dispute, user=dw["users"][Role.ADMIN], resolution="  ",
                                 adjustment_amount="10")
    assert set(exc.value.message_dict) == {"resolution"}
    for bad, complaint in (("0", "changes nothing"), ("12.345", "two decimal places"), ("abc", "not an amount")):
        with pytest.raises(ValidationError, match=complaint):
            disputes.dispute_resolve(dispute=dispute, user=dw["users"][Role.ADMIN], resolution="Ok",
                                     adjustment_amount=bad)
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.OPEN
    assert not ManualAdjustment.objects.exists()


def test_the_adjustment_lands_in_the_earliest_open_period_never_a_locked_one(dw):
    analyst = dw["users"][Role.REVOPS_ANALYST]
    march = dw["march"]
    runs.period_approve(period=march, user=dw["users"][Role.EXECUTIVE])
    april = runs.period_ensure(start=fixtures.APR)
    may = runs.period_ensure(start=fixtures.APR.replace(month=5))
    dispute = open_on_x1(dw)
    disputes.dispute_resolve(dispute=dispute, user=analyst, resolution="The offer letter says 6%: +1% of 6,000 "
                             "plus interest.", adjustment_amount="125.50")
    adjustment = ManualAdjustment.objects.get()
    assert (adjustment.period, adjustment.person, adjustment.amount, adjustment.dispute, adjustment.created_by) == (
        april, dw["pat"], D("125.50"), dispute, analyst)
    assert adjustment.reason == f"Dispute #{dispute.pk}: X1 rate"
    assert adjustment.period != march and adjustment.period != may
    dispute.refresh_from_db()
    assert (dispute.status, dispute.resolved_by) == (DisputeStatus.RESOLVED, analyst)
    assert dispute.resolution.startswith("The offer letter says 6%")
    assert thread(dispute)[-1] == (None, (
        "Resolved by harbor-revops_analyst: The offer letter says 6%: +1% of 6,000 plus interest.\n"
        f"Adjustment of 125.50 added to Apr 2026 (manual adjustment #{adjustment.pk}); it is paid when Apr 2026 "
        "is run."))


def test_with_every_period_locked_an_amount_is_refused_and_nothing_is_written(dw):
    analyst = dw["users"][Role.REVOPS_ANALYST]
    runs.period_approve(period=dw["march"], user=dw["users"][Role.EXECUTIVE])
    assert not CommissionPeriod.objects.filter(status=PeriodStatus.OPEN).exists()
    dispute = open_on_x1(dw)
    with pytest.raises(ValidationError, match="Every commission period is locked"):
        disputes.dispute_resolve(dispute=dispute, user=analyst, resolution="Owed.", adjustment_amount=D("20.00"))
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.OPEN and not ManualAdjustment.objects.exists()
    assert len(thread(dispute)) == 1
    # Without an amount it resolves (nothing to pay).
    disputes.dispute_resolve(dispute=dispute, user=analyst, resolution="Explained on a call.")
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.RESOLVED
    assert thread(dispute)[-1] == (None, "Resolved by harbor-revops_analyst: Explained on a call.")


def test_transitions_are_audited(dw):
    analyst = dw["users"][Role.REVOPS_ANALYST]
    before = AuditEvent.objects.count()
    dispute = open_on_x1(dw)
    disputes.dispute_resolve(dispute=dispute, user=analyst, resolution="Owed.", adjustment_amount="-5.00")
    events = list(AuditEvent.objects.order_by("pk")[before:].values_list("model", "action", "changed_fields"))
    models = [(m, a) for m, a, _ in events]
    assert models.count(("commissions.Dispute", "create")) == 1
    assert ("commissions.DisputeMessage", "create") in models  # each message (and its attachment name) too
    assert models.count(("commissions.ManualAdjustment", "create")) == 1
    update = next(f for m, a, f in events if (m, a) == ("commissions.Dispute", "update"))
    assert {"status", "resolution", "resolved_by_id", "resolved_at"} <= set(update)
    assert ManualAdjustment.objects.get().amount == D("-5.00")


# -- end to end ------------------------------------------------------------------------------------

def test_a_resolved_adjustment_is_paid_when_the_open_period_is_run_again(dw):
    analyst = dw["users"][Role.REVOPS_ANALYST]
    march = dw["march"]
    pat = Statement.objects.get(period=march, person=dw["pat"])
    assert (pat.earned, pat.adjustments, pat.payout) == (D("1660.00"), D("0.00"), D("1660.00"))
    dispute = open_on_x1(dw)
    disputes.dispute_resolve(dispute=dispute, user=analyst, resolution="Owed 125.50.", adjustment_amount="125.50")
    adjustment = ManualAdjustment.objects.get(dispute=dispute)
    assert adjustment.period == march  # March is the earliest open period
    runs.run_now(period=march)
    march.refresh_from_db()
    manual = LineItem.objects.get(run=march.current_run, kind="manual")
    assert (manual.person, manual.amount, manual.note) == (
        dw["pat"], D("125.50"), f"#{adjustment.pk}: Dispute #{dispute.pk}: X1 rate")
    pat.refresh_from_db()
    assert (pat.earned, pat.adjustments, pat.payout) == (D("1660.00"), D("125.50"), D("1785.50"))


def test_with_march_locked_the_adjustment_is_paid_in_april(dw):
    analyst = dw["users"][Role.REVOPS_ANALYST]
    runs.period_approve(period=dw["march"], user=dw["users"][Role.EXECUTIVE])
    april = runs.period_ensure(start=fixtures.APR)
    dispute = open_on_x1(dw)
    disputes.dispute_resolve(dispute=dispute, user=analyst, resolution="Owed 125.50.", adjustment_amount="125.50")
    runs.run_now(period=april)
    april.refresh_from_db()
    manual = LineItem.objects.filter(run=april.current_run, kind="manual")
    assert [(m.person_id, m.amount) for m in manual] == [(dw["pat"].pk, D("125.50"))]
    pat = Statement.objects.get(period=april, person=dw["pat"])
    assert (pat.earned, pat.adjustments, pat.payout) == (D("0.00"), D("125.50"), D("125.50"))
    # March, locked, is untouched.
    assert Statement.objects.get(period=dw["march"], person=dw["pat"]).payout == D("1660.00")
