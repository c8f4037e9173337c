"""Builders for contract tests (inside tenant_context): claims with lines, payments with service lines,
admissions, and published contracts in one call."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from contracts.models import Contract, ContractTerm, ContractVersion
from contracts.services import contracts as svc
from intake.models import Admission
from rcm_feeds.models import Adjustment, Claim, ClaimLine, ClaimPayment, Remittance, ServicePayment
from tests.rcm_feeds.kpi_fixtures import received_file

D = Decimal
_seq = itertools.count(1)
PATIENT_A = "a" * 64
PATIENT_B = "b" * 64


def claim(*, payer: Any, program: Any = None, lines: list[tuple], service_from: dt.date | None = None,
          submitted_on: dt.date | None = None, patient_hash: str = PATIENT_A, frequency: str = "1",
          original: Claim | None = None, file: Any = None) -> Claim:
    """``lines``: (code, charge, units, service_date[, modifiers]) tuples."""
    first_day = service_from or min((ln[3] for ln in lines if ln[3]), default=None) or dt.date(2025, 1, 1)
    total = sum((D(str(ln[1])) for ln in lines), D(0))
    c = Claim.objects.create(
        source_file=file or received_file("x12_837"), source_position=next(_seq),
        patient_control_number=f"P{next(_seq)}",
        payer=payer, program=program, patient_hash=patient_hash, charge=total, service_from=first_day,
        submitted_on=submitted_on or first_day + dt.timedelta(days=5), frequency=frequency, original_claim=original,
        is_resubmission=original is not None)
    for i, ln in enumerate(lines, start=1):
        ClaimLine.objects.create(claim=c, line_number=i, procedure_code=ln[0], charge=D(str(ln[1])),
                                 units=None if ln[2] is None else D(str(ln[2])), service_date=ln[3],
                                 modifiers=ln[4] if len(ln) > 4 else "")
    return c


def pay(*, claim: Claim, paid: str, pr: str = "0", on: dt.date = dt.date(2025, 3, 1), denied: bool = False,
        reversal: bool = False, lines: list[tuple[str, str, str]] | None = None) -> ClaimPayment:
    """A claim payment; ``lines``: (code, paid, patient responsibility) service lines in claim-line order."""
    n = next(_seq)
    remit = Remittance.objects.create(source_file=received_file("x12_835"), source_position=n,
                                      payer=claim.payer, trace_number=f"T{n}", handling_code="I",
                                      payment_amount=D(paid), payment_date=on)
    cp = ClaimPayment.objects.create(remittance=remit, claim=claim, source_position=n,
                                     patient_control_number=claim.patient_control_number,
                                     status_code="22" if reversal else ("4" if denied else "1"), charge=claim.charge,
                                     paid=D(paid), patient_responsibility=D(pr), is_reversal=reversal,
                                     is_denied=denied)
    for i, (code, line_paid, line_pr) in enumerate(lines or [], start=1):
        sp = ServicePayment.objects.create(claim_payment=cp, source_position=n * 100 + i, procedure_code=code,
                                           charge=D(0), paid=D(line_paid))
        if D(line_pr):
            Adjustment.objects.create(claim_payment=cp, service_payment=sp, group_code="PR", reason_code="2",
                                      amount=D(line_pr))
    return cp


def admission(*, program: Any, payer: Any, plan: str, admitted: dt.date, discharged: dt.date | None = None,
              patient_hash: str = PATIENT_A) -> Admission:
    return Admission.objects.create(external_id=f"ADM{next(_seq)}", patient_hash=patient_hash, program=program,
                                    payer=payer, plan_name=plan, admitted_on=admitted, discharged_on=discharged)


def contract(*, payer: Any, terms: list[dict[str, Any]], effective_from: dt.date = dt.date(2024, 1, 1),
             plan_name: str = "", name: str | None = None) -> tuple[Contract, ContractVersion]:
    """A published contract with ``terms`` (keyword dicts for ``term_save``)."""
    k = svc.contract_create(payer=payer, name=name or f"Contract {next(_seq)}", plan_name=plan_name)
    version = k.versions.get()
    for t in terms:
        svc.term_save(version=version, **t)
    svc.version_publish(version=version, effective_from=effective_from)
    return k, version


def term(version: ContractVersion, **filters: Any) -> ContractTerm:
    return ContractTerm.objects.get(version=version, **filters)
