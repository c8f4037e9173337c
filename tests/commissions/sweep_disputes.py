"""Dispute rows for the isolation sweep (tests/test_isolation_sweep.py): one open dispute of the world's rep
(the person linked to the rep's membership, so the rep's requests are let through) on a line of a
December 2031 run, with a first message that carries a small text attachment.

Wiring: ``SWEEP_OBJECTS.update({model: sweep_disputes.sweep_object for model in sweep_disputes.MODELS})``,
or call ``commission_dispute_objects(tenant)`` inside ``tenant_context(tenant.org)``. The attachment is
written to MEDIA_ROOT (point it at a temporary directory in tests).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from commissions.models import CommissionRun, DisputeMessage, LineItem, LineKind, RunStatus
from commissions.services import disputes, runs

MODELS = ("dispute", "disputemessage")
SWEEP_PERIOD = dt.date(2031, 12, 1)


def commission_dispute_objects(tenant: Any, *, with_attachment: bool = True) -> dict[str, Any]:
    """Make (in the active organization, ``tenant``'s) a line of the rep's and a dispute about it with one
    message; returns ``{"dispute": ..., "disputemessage": ...}``."""
    rep_user = tenant.users["rep"]
    person = tenant.objects["person"]
    period = runs.period_ensure(start=SWEEP_PERIOD)
    run = CommissionRun.objects.create(period=period, status=RunStatus.SUCCEEDED)
    line = LineItem.objects.create(run=run, period=period, person=person, kind=LineKind.COMMISSION,
                                   transaction_date=SWEEP_PERIOD, credited=Decimal("1000.00"), rate=Decimal("0.05"),
                                   amount=Decimal("50.00"))
    attachment = SimpleUploadedFile("sweep-note.txt", b"Sweep attachment\n", content_type="text/plain") \
        if with_attachment else None
    dispute = disputes.dispute_open(line=line, user=rep_user, subject="Sweep dispute", body="Rate looks low.",
                                    attachment=attachment)
    message = DisputeMessage.objects.filter(dispute=dispute).order_by("pk").first()
    return {"dispute": dispute, "disputemessage": message}


def sweep_object(tenant: Any, name: str) -> Any:
    """``SWEEP_OBJECTS``' signature: makes the rows once per organization, keeps them as ``sweep:<model>``."""
    made = commission_dispute_objects(tenant)
    tenant.objects.update({f"sweep:{k}": v for k, v in made.items()})
    return made[name]
