"""Writes of disputes: a rep's inquiry about one commission line, its thread, and its resolution.

- ``dispute_open``: a rep opens one on a line of their own person (analysts and admins on anyone's). The
  line's key and amount are copied onto the dispute, because a re-run replaces line rows.
- ``dispute_comment``: the thread, with an optional attachment (``ATTACHMENT_TYPES``, at most 10 MB; the
  original file name is kept, the stored name is random). Only while the dispute is open.
- ``dispute_resolve``: analysts and admins answer with a resolution and, when money is owed either way,
  an amount: a ``ManualAdjustment`` in the EARLIEST OPEN period (never a locked one), paid when that
  period is next run (a ``manual`` line, docs/commissions.md "Statements").
- ``dispute_reject``: the answer without money. ``dispute_reopen``: the rep or an analyst asks again with
  a comment; an adjustment already made stays.
Every transition posts a system message (no author) to the thread and is audited (rows saved through the
ORM: ``revops.audit``). Refusals are ``PermissionDenied`` (whose dispute, which role) or
``ValidationError`` (what to do instead).
"""
from __future__ import annotations

import os
import re
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from revops.access import APPROVE, CHANGE, allowed
from revops.tenancy import require_tenant_id

from ..models import (
    CommissionPeriod,
    Dispute,
    DisputeMessage,
    DisputeStatus,
    LineItem,
    ManualAdjustment,
    PeriodStatus,
)
from ..selectors.disputes import RESOURCE, Viewer, open_dispute_for_line, viewer_for

# Dispute, DisputeMessage and ManualAdjustment are audited (commissions/apps.py): every write here is
# an audit event with who, when, before and after.

ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
# extension -> (content types a browser may announce, the first bytes of such a file, the type served back)
ATTACHMENT_TYPES: dict[str, tuple[frozenset[str], tuple[bytes, ...], str]] = {
    ".pdf": (frozenset({"application/pdf", "application/x-pdf"}), (b"%PDF-",), "application/pdf"),
    ".png": (frozenset({"image/png"}), (b"\x89PNG\r\n\x1a\n",), "image/png"),
    ".jpg": (frozenset({"image/jpeg", "image/pjpeg"}), (b"\xff\xd8\xff",), "image/jpeg"),
    ".jpeg": (frozenset({"image/jpeg", "image/pjpeg"}), (b"\xff\xd8\xff",), "image/jpeg"),
    ".csv": (frozenset({"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"}), (), "text/csv"),
    ".xlsx": (frozenset({"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/zip"}),
              (b"PK\x03\x04",), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".txt": (frozenset({"text/plain"}), (), "text/plain"),
}
ATTACHMENT_KINDS = "PDF, PNG, JPG, CSV, XLSX or TXT"
# Browsers and clients that do not know a file's type send these; the extension and content decide then.
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
MONEY_LIMIT = Decimal("1e14")  # numeric(16, 2)


# -- checks ----------------------------------------------------------------------------------------

def _viewer(user: Any) -> Viewer:
    return user if isinstance(user, Viewer) else viewer_for(user)


def _require(viewer: Viewer, action: str, what: str) -> None:
    if not allowed(viewer.role, RESOURCE, action):
        raise PermissionDenied(f"Your role may not {what}.")


def _require_own(viewer: Viewer, person_id: int, what: str) -> None:
    """A rep acts only for the person linked to their membership."""
    if not viewer.own_only:
        return
    if viewer.person_id is None:
        raise PermissionDenied(f"Your membership is not linked to a person, so there is nothing of yours to {what}: "
                               "ask an admin to link your user to your person record (Members page).")
    if not viewer.owns(person_id):
        raise PermissionDenied(f"You may {what} only on your own commission lines.")


def _text(value: Any, field: str, message: str, *, limit: int | None = None) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if not text:
        raise ValidationError({field: [message]})
    if limit is not None and len(text) > limit:
        raise ValidationError({field: [f"Keep it to {limit} characters (this is {len(text)})."]})
    return text


def _amount(value: Any) -> Decimal | None:
    """An adjustment amount in dollars and cents (None or empty: no adjustment)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).strip().replace(",", "").replace("$", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError({"adjustment_amount": [f"{value!r} is not an amount: type dollars and cents, e.g. "
                                                     "125.00 (negative to take back an overpayment)."]}) from None
    if not amount.is_finite():
        raise ValidationError({"adjustment_amount": ["Type an amount in dollars and cents."]})
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({"adjustment_amount": ["An amount has at most two decimal places (cents)."]})
    if amount == 0:
        raise ValidationError({"adjustment_amount": ["An adjustment of 0.00 changes nothing: leave the amount empty "
                                                     "to resolve without one."]})
    if abs(amount) >= MONEY_LIMIT:
        raise ValidationError({"adjustment_amount": ["That amount is too large."]})
    return amount.quantize(Decimal("0.01"))


def attachment_check(upload: UploadedFile | None) -> tuple[str, str] | None:
    """(original name, extension) of an acceptable attachment; None when there is none; else ValidationError."""
    if upload is None:
        return None
    name = os.path.basename((upload.name or "").replace("\\", "/"))
    name = re.sub(r"[\x00-\x1f\x7f\"]", "", name).strip()[:200] or "attachment"
    ext = os.path.splitext(name)[1].lower()
    if ext not in ATTACHMENT_TYPES:
        raise ValidationError({"attachment": [f"{name} is not a file type we keep: attach a {ATTACHMENT_KINDS} file."]})
    size = upload.size or 0
    if size > ATTACHMENT_MAX_BYTES:
        raise ValidationError({"attachment": [f"{name} is {size / 1024 / 1024:.1f} MB; the limit is 10 MB."]})
    if size == 0:
        raise ValidationError({"attachment": [f"{name} is empty."]})
    types, signatures, _served = ATTACHMENT_TYPES[ext]
    announced = (getattr(upload, "content_type", "") or "").split(";")[0].strip().lower()
    if announced not in GENERIC_TYPES and announced not in types:
        raise ValidationError({"attachment": [f"{name} was sent as {announced}, which is not a {ext[1:].upper()} "
                                              "file."]})
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    if signatures and not head.startswith(signatures):
        raise ValidationError({"attachment": [f"{name} does not look like a {ext[1:].upper()} file (its content does "
                                              "not match its extension)."]})
    if not signatures and b"\x00" in head:
        raise ValidationError({"attachment": [f"{name} is not a text file."]})
    return name, ext


def attachment_content_type(message: DisputeMessage) -> str:
    ext = os.path.splitext(message.attachment_name or message.attachment.name)[1].lower()
    return ATTACHMENT_TYPES.get(ext, (frozenset(), (), "application/octet-stream"))[2]


def _locked(dispute: Dispute) -> Dispute:
    return Dispute.objects.select_for_update().get(pk=dispute.pk)


def _who(user: Any) -> str:
    if user is None:
        return "the system"
    return (user.get_full_name() or user.get_username()) if hasattr(user, "get_username") else str(user)


def _message(*, dispute: Dispute, author: Any, body: str, attachment: UploadedFile | None = None,
             checked: tuple[str, str] | None = None) -> DisputeMessage:
    message = DisputeMessage(dispute=dispute, author=author if getattr(author, "pk", None) else None, body=body)
    if attachment is not None and checked is not None:
        original, ext = checked
        message.attachment_name = original
        # A random stored name: the original is shown and sent back on download, never used as a path.
        message.attachment.save(f"{require_tenant_id()}-{secrets.token_hex(12)}{ext}", attachment, save=False)
    message.save()
    return message


def _system_message(dispute: Dispute, body: str) -> DisputeMessage:
    return _message(dispute=dispute, author=None, body=body)


# -- transitions -----------------------------------------------------------------------------------

@transaction.atomic
def dispute_open(*, line: LineItem, user: Any, subject: str, body: str,
                 attachment: UploadedFile | None = None) -> Dispute:
    """Open a dispute about ``line``: a rep only on their own person's lines; analysts and admins on anyone's."""
    viewer = _viewer(user)
    _require(viewer, CHANGE, "open disputes")
    _require_own(viewer, line.person_id, "open a dispute")
    subject = _text(subject, "subject", "Give the dispute a subject (what looks wrong, in a few words).", limit=200)
    body = _text(body, "body", "Say what you expected and why: the analyst answers from this.")
    checked = attachment_check(attachment)
    existing = open_dispute_for_line(line=line)
    if existing is not None:
        raise ValidationError(f"Dispute #{existing.pk} about this line is still open: add to its thread instead.")
    dispute = Dispute.objects.create(
        period_id=line.period_id, person_id=line.person_id, line=line, transaction_id=line.transaction_id,
        component_id=line.component_id, line_kind=line.kind, amount_disputed=line.amount, subject=subject,
        status=DisputeStatus.OPEN, opened_by=viewer.user if getattr(viewer.user, "pk", None) else None,
        opened_at=timezone.now())
    _message(dispute=dispute, author=viewer.user, body=body, attachment=attachment, checked=checked)
    return dispute


@transaction.atomic
def dispute_comment(*, dispute: Dispute, user: Any, body: str,
                    attachment: UploadedFile | None = None) -> DisputeMessage:
    """Add to an open dispute's thread (a rep only on their own disputes)."""
    viewer = _viewer(user)
    _require(viewer, CHANGE, "comment on disputes")
    _require_own(viewer, dispute.person_id, "comment")
    body = _text(body, "body", "Write a comment.")
    checked = attachment_check(attachment)
    dispute = _locked(dispute)
    if dispute.status != DisputeStatus.OPEN:
        raise ValidationError(f"This dispute is {dispute.get_status_display().lower()}: reopen it with a comment to "
                              "ask again.")
    return _message(dispute=dispute, author=viewer.user, body=body, attachment=attachment, checked=checked)


def earliest_open_period() -> CommissionPeriod | None:
    """The earliest open period, locked for this transaction (approving it waits until we commit).

    Each candidate is re-checked after its lock: a period approved meanwhile is skipped, never used."""
    for pk in CommissionPeriod.objects.filter(status=PeriodStatus.OPEN).order_by("start").values_list("pk",
                                                                                                       flat=True):
        period = CommissionPeriod.objects.select_for_update().filter(pk=pk, status=PeriodStatus.OPEN).first()
        if period is not None:
            return period
    return None


@transaction.atomic
def dispute_resolve(*, dispute: Dispute, user: Any, resolution: str,
                    adjustment_amount: Decimal | str | None = None) -> Dispute:
    """Resolve with a resolution the rep reads and, optionally, an amount owed (negative: taken back).

    The amount becomes a ``ManualAdjustment`` of the dispute's person in the earliest open period, with the
    reason "Dispute #id: subject"; it is paid when that period is (re-)run."""
    viewer = _viewer(user)
    _require(viewer, APPROVE, "resolve disputes")
    resolution = _text(resolution, "resolution", "Say how the dispute was resolved: the rep reads it.")
    amount = _amount(adjustment_amount)
    dispute = _locked(dispute)
    if dispute.status != DisputeStatus.OPEN:
        raise ValidationError(f"This dispute is already {dispute.get_status_display().lower()}.")
    adjustment = None
    if amount is not None:
        period = earliest_open_period()
        if period is None:
            raise ValidationError({"adjustment_amount": [
                "Every commission period is locked, so there is none to carry the adjustment: open the next period "
                "(Runs page) and resolve again."]})
        adjustment = ManualAdjustment.objects.create(
            period=period, person_id=dispute.person_id, amount=amount,
            reason=f"Dispute #{dispute.pk}: {dispute.subject}"[:300], dispute=dispute,
            created_by=viewer.user if getattr(viewer.user, "pk", None) else None)
    dispute.status = DisputeStatus.RESOLVED
    dispute.resolution = resolution
    dispute.resolved_by = viewer.user if getattr(viewer.user, "pk", None) else None
    dispute.resolved_at = timezone.now()
    dispute.save()
    text = f"Resolved by {_who(viewer.user)}: {resolution}"
    if adjustment is not None:
        text += (f"\nAdjustment of {adjustment.amount:,.2f} added to {adjustment.period.name} (manual adjustment "
                 f"#{adjustment.pk}); it is paid when {adjustment.period.name} is run.")
    _system_message(dispute, text)
    return dispute


@transaction.atomic
def dispute_reject(*, dispute: Dispute, user: Any, resolution: str) -> Dispute:
    """Answer that the line stands (no money changes), with the reason the rep reads."""
    viewer = _viewer(user)
    _require(viewer, APPROVE, "reject disputes")
    resolution = _text(resolution, "resolution", "Say why the line stands: the rep reads it.")
    dispute = _locked(dispute)
    if dispute.status != DisputeStatus.OPEN:
        raise ValidationError(f"This dispute is already {dispute.get_status_display().lower()}.")
    dispute.status = DisputeStatus.REJECTED
    dispute.resolution = resolution
    dispute.resolved_by = viewer.user if getattr(viewer.user, "pk", None) else None
    dispute.resolved_at = timezone.now()
    dispute.save()
    _system_message(dispute, f"Rejected by {_who(viewer.user)}: {resolution}")
    return dispute


@transaction.atomic
def dispute_reopen(*, dispute: Dispute, user: Any, body: str,
                   attachment: UploadedFile | None = None) -> Dispute:
    """Reopen a resolved or rejected dispute with a comment (the rep on their own, or an analyst or admin).
    The earlier resolution stays in the thread; an adjustment already made stays too."""
    viewer = _viewer(user)
    _require(viewer, CHANGE, "reopen disputes")
    _require_own(viewer, dispute.person_id, "reopen a dispute")
    body = _text(body, "body", "Say why you are reopening it.")
    checked = attachment_check(attachment)
    dispute = _locked(dispute)
    if dispute.status == DisputeStatus.OPEN:
        raise ValidationError("This dispute is already open: add a comment instead.")
    previous = dispute.get_status_display().lower()
    dispute.status = DisputeStatus.OPEN
    dispute.resolution = ""
    dispute.resolved_by = None
    dispute.resolved_at = None
    dispute.save()
    _system_message(dispute, f"Reopened by {_who(viewer.user)} (it was {previous}).")
    _message(dispute=dispute, author=viewer.user, body=body, attachment=attachment, checked=checked)
    return dispute
