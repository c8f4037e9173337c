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

import pandas as pd
from django.core.files.uploadedfile import SimpleUploadedFile

from commissions.models import CommissionRun, DisputeMessage, LineItem, LineKind, RunStatus
from commissions.services import disputes, line_store, runs

MODELS = ("dispute", "disputemessage")
SWEEP_PERIOD = dt.date(2031, 12, 1)


def commission_dispute_objects(tenant: Any, *, with_attachment: bool = True) -> dict[str, Any]:
    """Make (in the active organization, ``tenant``'s) a line of the rep's and a dispute about it with one
    message; returns ``{"dispute": ..., "disputemessage": ...}``."""
    rep_user = tenant.users["rep"]
    person = tenant.objects["person"]
    period = runs.period_ensure(start=SWEEP_PERIOD)
    run = CommissionRun.objects.create(period=period, status=RunStatus.SUCCEEDED)
    # Lines are written the one way runs write them: into the run's own partition, then attached.
    runs.lines_write(run=run, period=period, lines=pd.DataFrame({
        "person_id": [person.pk], "kind": [LineKind.COMMISSION.value], "date": [pd.Timestamp(SWEEP_PERIOD)],
        "credited_cents": [100_000], "rate_micro": [50_000], "amount_cents": [5_000]}))
    line_store.partition_attach(run_id=run.pk)
    line = LineItem.objects.get(run=run)
    assert (line.credited, line.rate, line.amount) == (Decimal("1000.00"), Decimal("0.050000"), Decimal("50.00"))
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
