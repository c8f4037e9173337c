"""Builders of RCM rows straight through the ORM (inside tenant_context), for KPI, page and API tests."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from rcm_feeds.models import (
    Adjustment,
    ArBalance,
    Claim,
    ClaimPayment,
    Denial,
    Feed,
    ReceivedFile,
    RcmCost,
    Remittance,
    ServicePayment,
)

_seq = itertools.count(1)
D = Decimal


def received_file(kind: str = "x12_835") -> ReceivedFile:
    n = next(_seq)
    feed, _ = Feed.objects.get_or_create(name=f"Test feed {kind}", defaults={"kind": kind})
    return ReceivedFile.objects.create(feed=feed, filename=f"f{n}.txt", sha256=f"{n:064d}", size=1,
                                       storage_path=f"test/{n}", source="upload")


def claim(*, file: ReceivedFile, charge: str | Decimal, submitted_on: dt.date, payer: Any = None,
          program: Any = None, facility: Any = None, front_end_status: str = "accepted", frequency: str = "1",
          original: Claim | None = None, pcn: str | None = None) -> Claim:
    return Claim.objects.create(
        source_file=file, source_position=next(_seq), patient_control_number=pcn or f"PCN{next(_seq)}",
        payer=payer, program=program, facility=facility, charge=D(charge), submitted_on=submitted_on,
        front_end_status=front_end_status, frequency=frequency, original_claim=original,
        is_resubmission=frequency in ("7", "8") or original is not None,
    )


def remittance(*, file: ReceivedFile, payment_date: dt.date, payer: Any = None) -> Remittance:
    n = next(_seq)
    return Remittance.objects.create(source_file=file, source_position=n, payer=payer, trace_number=f"TRN{n}",
                                     handling_code="I", payment_amount=D("0"), payment_date=payment_date)


def payment(*, remit: Remittance, claim: Claim | None, charge: str, paid: str, co: str = "0",
            denied: bool = False, reversal: bool = False, co_reason: str = "45") -> ClaimPayment:
    cp = ClaimPayment.objects.create(
        remittance=remit, claim=claim, source_position=next(_seq),
        patient_control_number=claim.patient_control_number if claim else "UNMATCHED",
        status_code="22" if reversal else ("4" if denied else "1"), charge=D(charge), paid=D(paid),
        contractual_adjustment=D(co), is_reversal=reversal, is_denied=denied,
    )
    if D(co):
        Adjustment.objects.create(claim_payment=cp, group_code="CO", reason_code=co_reason, amount=D(co))
    return cp


def line(*, cp: ClaimPayment, charge: str, paid: str, co: str = "0", denied: bool = False,
         co_reason: str = "45") -> ServicePayment:
    sp = ServicePayment.objects.create(claim_payment=cp, source_position=next(_seq), charge=D(charge), paid=D(paid),
                                       is_denied=denied)
    if D(co):
        Adjustment.objects.create(claim_payment=cp, service_payment=sp, group_code="CO", reason_code=co_reason,
                                  amount=D(co))
    return sp


def denial(*, cp: ClaimPayment, level: str, charge: str, denied_on: dt.date, category: str, carc: str,
           status: str = "open", resolved_on: dt.date | None = None, sp: ServicePayment | None = None) -> Denial:
    return Denial.objects.create(
        claim_payment=cp, service_payment=sp, claim=cp.claim, level=level, payer=cp.claim.payer if cp.claim else None,
        program=cp.claim.program if cp.claim else None, category=category, carc_codes=[carc],
        denied_charge=D(charge), denied_on=denied_on, status=status, resolved_on=resolved_on,
    )


def ar(*, file: ReceivedFile, as_of: dt.date, balance: str, billed_on: dt.date, payer: Any = None) -> ArBalance:
    return ArBalance.objects.create(source_file=file, source_position=next(_seq), as_of=as_of, payer=payer,
                                    balance=D(balance), billed_on=billed_on)


def cost(*, file: ReceivedFile, month: dt.date, amount: str, facility: Any = None) -> RcmCost:
    return RcmCost.objects.create(source_file=file, source_position=next(_seq), month=month, category="staff",
                                  facility=facility, amount=D(amount))


def hand_fixture(tenant: Any) -> dict[str, Any]:
    """The small data set whose KPI values test_kpis.py computes by hand (see the comments there)."""
    from revops.models import Payer

    p1 = tenant.objects["payer"]  # commercial
    p2 = Payer.objects.create(name="State Medicaid", payer_class="medicaid")
    prog, fac = tenant.objects["program"], tenant.objects["facility"]
    f837, f835, far = received_file("x12_837"), received_file("x12_835"), received_file("csv_ar")
    d = dt.date
    common = {"file": f837, "program": prog, "facility": fac}
    c1 = claim(charge="1000", submitted_on=d(2026, 1, 5), payer=p1, **common)
    c2 = claim(charge="500", submitted_on=d(2026, 1, 10), payer=p1, front_end_status="rejected", **common)
    c3 = claim(charge="2000", submitted_on=d(2026, 1, 15), payer=p2, **common)
    c4 = claim(charge="300", submitted_on=d(2026, 1, 20), payer=p2, **common)
    c5 = claim(charge="800", submitted_on=d(2026, 1, 25), payer=p1, **common)
    c5b = claim(charge="800", submitted_on=d(2026, 2, 1), payer=p1, frequency="7", original=c5, **common)
    claim(charge="400", submitted_on=d(2026, 2, 10), payer=p1, **common)

    r1 = remittance(file=f835, payment_date=d(2026, 2, 4), payer=p1)
    payment(remit=r1, claim=c1, charge="1000", paid="800", co="200")
    payment(remit=r1, claim=c2, charge="500", paid="400", co="100")
    cp3 = payment(remit=r1, claim=c3, charge="2000", paid="0", co="2000", denied=True, co_reason="197")
    denial(cp=cp3, level="claim", charge="2000", denied_on=d(2026, 2, 4), category="authorization", carc="197",
           status="overturned", resolved_on=d(2026, 3, 16))
    cp4 = payment(remit=r1, claim=c4, charge="300", paid="200")
    sp41 = line(cp=cp4, charge="100", paid="0", co="100", denied=True, co_reason="50")
    line(cp=cp4, charge="200", paid="200")
    denial(cp=cp4, sp=sp41, level="line", charge="100", denied_on=d(2026, 2, 4), category="medical_necessity",
           carc="50", status="written_off", resolved_on=d(2026, 2, 24))

    r2 = remittance(file=f835, payment_date=d(2026, 3, 16), payer=p1)
    payment(remit=r2, claim=c3, charge="2000", paid="1500", co="500")
    payment(remit=r2, claim=c5b, charge="800", paid="700", co="100")
    payment(remit=r2, claim=c1, charge="-1000", paid="-800", co="-200", reversal=True)
    payment(remit=r2, claim=c1, charge="1000", paid="850", co="150")

    ar(file=far, as_of=d(2026, 1, 15), balance="9999", billed_on=d(2025, 12, 1), payer=p1)  # superseded
    ar(file=far, as_of=d(2026, 1, 31), balance="3000", billed_on=d(2025, 12, 1), payer=p1)
    ar(file=far, as_of=d(2026, 1, 31), balance="1000", billed_on=d(2025, 10, 1), payer=p2)
    ar(file=far, as_of=d(2026, 3, 31), balance="1500", billed_on=d(2026, 1, 5), payer=p1)
    ar(file=far, as_of=d(2026, 3, 31), balance="500", billed_on=d(2025, 12, 20), payer=p2)
    cost(file=received_file("csv_costs"), month=d(2026, 2, 1), amount="70", facility=fac)
    return {"p1": p1, "p2": p2, "c1": c1, "c3": c3, "f835": f835, "r1": r1}


def world_rows(tenant: Any) -> dict[str, Any]:
    """One row of each RCM model the pages and API address by id (for the test world and the sweep)."""
    from rcm_feeds.models import IngestionRun, QuarantineItem

    payer, program, facility = tenant.objects["payer"], tenant.objects["program"], tenant.objects["facility"]
    f837, f835 = received_file("x12_837"), received_file("x12_835")
    c = claim(file=f837, charge="1200", submitted_on=dt.date(2024, 6, 12), payer=payer, program=program,
              facility=facility)
    r = remittance(file=f835, payment_date=dt.date(2024, 7, 9), payer=payer)
    cp = payment(remit=r, claim=c, charge="1200", paid="0", co="1200", denied=True, co_reason="197")
    d = denial(cp=cp, level="claim", charge="1200", denied_on=dt.date(2024, 7, 9), category="authorization",
               carc="197")
    run = IngestionRun.objects.create(file=f835, status="loaded", counts={"claims": 1})
    q = QuarantineItem.objects.create(run=run, file=f835, scope="file", reason_code="bad_isa",
                                      reason="ISA segment is not 106 characters", segment_number=1)
    return {"feed": f835.feed, "receivedfile": f835, "claim": c, "remittance": r, "claimpayment": cp,
            "adjustment": cp.adjustments.get(), "denial": d, "ingestionrun": run, "quarantineitem": q}
