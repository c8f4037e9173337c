"""The slow, obviously-right expected reimbursement: one claim at a time, in Python, from the rules in
docs/contracts.md. The tests compare ``contracts.services.reimbursement.expected_recompute`` with it."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from contracts.models import Contract, ContractTerm, ContractVersion
from intake.models import Admission
from rcm_feeds.models import Claim, ClaimLine, ClaimPayment
from revops.models import Program

CENT = Decimal("0.01")


def cents(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def service_date(claim: Claim) -> dt.date:
    return claim.service_from or claim.submitted_on


def admission_of(claim: Claim) -> Admission | None:
    if not claim.patient_hash or claim.program_id is None:
        return None
    day = service_date(claim)
    found = [a for a in Admission.objects.filter(patient_hash=claim.patient_hash, program_id=claim.program_id)
             if a.admitted_on <= day and (a.discharged_on is None or a.discharged_on >= day)]
    found.sort(key=lambda a: (a.admitted_on, a.id), reverse=True)
    return found[0] if found else None


def contract_in_force(claim: Claim, plan: str) -> tuple[Contract, ContractVersion, str] | None:
    day = service_date(claim)
    candidates = []
    for contract in Contract.objects.filter(payer_id=claim.payer_id):
        if contract.ends_on is not None and contract.ends_on < day:
            continue
        if contract.kind == "single_case":
            if contract.patient_hash != claim.patient_hash or contract.program_id != claim.program_id:
                continue
            rank, source = 0, "single_case"
        elif contract.plan_name:
            if contract.plan_name != plan:
                continue
            rank, source = 1, "plan"
        else:
            rank, source = 2, "payer"
        for v in contract.versions.filter(status="published"):
            if v.effective_from <= day and (v.effective_to is None or v.effective_to >= day):
                candidates.append(((rank, -v.effective_from.toordinal(), -contract.id), contract, v, source))
    if not candidates:
        return None
    candidates.sort(key=lambda c: c[0])
    _, contract, version, source = candidates[0]
    return contract, version, source


def superseded(claim: Claim) -> bool:
    return Claim.objects.filter(original_claim_id=claim.id).exists()


def code_of(line: Any) -> str:
    return line.procedure_code or line.revenue_code


def case_rate_pays(claim: Claim, term: ContractTerm, admission: Admission | None) -> bool:
    if term.basis == "per_claim" or admission is None:
        return True
    key = (service_date(claim), claim.id)
    for other in Claim.objects.filter(patient_hash=admission.patient_hash, program_id=claim.program_id,
                                      payer_id=claim.payer_id).exclude(frequency="8"):
        day = service_date(other)
        if day >= admission.admitted_on and (day, other.id) < key and not superseded(other):
            return False
    return True


def price_lines(claim: Claim, version: ContractVersion, admission: Admission | None) -> dict[int, tuple[Any, Decimal]]:
    """line id -> (term or None, expected or None)."""
    terms = list(version.terms.all())
    loc = Program.objects.get(pk=claim.program_id).level_of_care if claim.program_id else None
    lines = list(ClaimLine.objects.filter(claim=claim).order_by("line_number", "id"))
    out: dict[int, tuple[Any, Decimal | None]] = {}
    cases = sorted([t for t in terms if t.kind == "case_rate" and t.level_of_care in ("", loc)],
                   key=lambda t: (t.level_of_care == "", t.id))
    if cases:
        term = cases[0]
        pays = case_rate_pays(claim, term, admission)
        for i, line in enumerate(lines):
            out[line.id] = (term, cents(term.rate) if i == 0 and pays else Decimal("0"))
        return out
    diems = [t for t in terms if t.kind == "per_diem" and loc is not None and t.level_of_care == loc]
    if diems:
        term = diems[0]
        by_day: dict[dt.date, list[Any]] = defaultdict(list)
        for line in lines:
            by_day[line.service_date or service_date(claim)].append(line)
        for day_lines in by_day.values():
            qty = [(line.units if line.units is not None else Decimal(1)) for line in day_lines]
            days = max(qty)
            charge = sum((line.charge for line in day_lines), Decimal(0))
            amount = term.rate * days
            if term.lesser_of_charges:
                amount = min(amount, charge)
            order = sorted(zip(day_lines, qty), key=lambda lq: (-lq[1], -lq[0].charge, lq[0].line_number, lq[0].id))
            for j, (line, _) in enumerate(order):
                out[line.id] = (term, cents(amount) if j == 0 else Decimal("0"))
        return out
    percent = sorted([t for t in terms if t.kind == "percent_of_charges"], key=lambda t: t.id)
    for line in lines:
        mods = line.modifiers.split(":") if line.modifiers else []
        fees = sorted([t for t in terms if t.kind == "fee_schedule" and t.code == code_of(line)
                       and (t.modifier == "" or t.modifier in mods)], key=lambda t: (t.modifier == "", t.id))
        qty = line.units if line.units is not None else Decimal(1)
        if fees:
            out[line.id] = (fees[0], cents(fees[0].rate * qty))
        elif percent:
            out[line.id] = (percent[0], cents(line.charge * percent[0].rate / 100))
        else:
            out[line.id] = (None, None)
    return out


def reference_expectations() -> dict[int, dict[str, Any]]:
    """claim id -> {status, expected, contract, source, paid, patient_responsibility, adjudicated, denied, lines}."""
    result: dict[int, dict[str, Any]] = {}
    for claim in Claim.objects.order_by("id"):
        payments = list(ClaimPayment.objects.filter(claim=claim))
        paid = sum((p.paid for p in payments), Decimal(0))
        row: dict[str, Any] = {
            "paid": paid, "patient_responsibility": sum((p.patient_responsibility or Decimal(0) for p in payments),
                                                        Decimal(0)),
            "adjudicated": any(not p.is_reversal for p in payments),
            "denied": any(p.is_denied and not p.is_reversal for p in payments) and paid <= 0,
            "contract": None, "source": "", "expected": None, "lines": {},
        }
        admission = admission_of(claim)
        found = contract_in_force(claim, admission.plan_name if admission else "")
        if found:
            row["contract"], version, row["source"] = found[0].id, found[1], found[2]
        if claim.frequency == "8":
            row["status"] = "void"
        elif superseded(claim):
            row["status"] = "superseded"
        elif not found:
            row["status"] = "no_contract"
            row["lines"] = {line.id: None for line in ClaimLine.objects.filter(claim=claim)}
        else:
            priced = price_lines(claim, version, admission)
            row["lines"] = {k: v[1] for k, v in priced.items()}
            n, ok = len(priced), sum(1 for v in priced.values() if v[0] is not None)
            row["status"] = "no_term" if ok == 0 else "partial" if ok < n else "priced"
            if ok:
                row["expected"] = sum((v[1] for v in priced.values() if v[1] is not None), Decimal(0))
        result[claim.id] = row
    return result
