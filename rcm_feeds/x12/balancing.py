"""Money balancing checks on 835 claims, lines and payments (and 837 claim totals), in Decimal.

Each check returns warnings with the position of the segment that does not balance; nothing
here raises: an 835 that does not balance still loads, with a visible warning per claim.
"""
from __future__ import annotations

from .errors import X12Warning
from .records import ZERO, Claim, ClaimPayment, RemittanceEnd


def check_claim(claim: ClaimPayment) -> list[X12Warning]:
    """SVC02 - SVC03 = line CAS for every line; CLP03 - CLP04 = claim CAS + all line CAS."""
    out: list[X12Warning] = []
    total = ZERO
    for adj in claim.adjustments:
        total += adj.amount
    for svc in claim.lines:
        line_total = ZERO
        for adj in svc.adjustments:
            line_total += adj.amount
        if svc.charge - svc.paid != line_total:
            out.append(X12Warning(
                "line_unbalanced",
                f"claim {claim.patient_control_number} line {svc.qualifier}:{svc.code}: SVC02 "
                f"{svc.charge} - SVC03 {svc.paid} = {svc.charge - svc.paid} but its CAS add up to "
                f"{line_total}",
                svc.segment, svc.offset, svc.line))
        total += line_total
    if claim.charge - claim.paid != total:
        out.append(X12Warning(
            "claim_unbalanced",
            f"claim {claim.patient_control_number}: CLP03 {claim.charge} - CLP04 {claim.paid} = "
            f"{claim.charge - claim.paid} but the claim and line CAS add up to {total}",
            claim.segment, claim.offset, claim.line))
    return out


def check_remittance(end: RemittanceEnd) -> list[X12Warning]:
    """BPR02 = sum(CLP04) - sum(PLB amounts)."""
    remit = end.remittance
    plb = end.provider_adjustment_total
    expected = end.total_paid - plb
    if remit.payment_amount == expected:
        return []
    return [X12Warning(
        "payment_unbalanced",
        f"BPR02 {remit.payment_amount} but the claims paid {end.total_paid} (CLP04) less provider "
        f"adjustments {plb} (PLB) = {expected}",
        *remit.payment_position)]


def check_claim_837(claim: Claim) -> list[X12Warning]:
    """CLM02 = sum of the line charges (SV102 / SV203)."""
    if not claim.lines:
        return []
    total = ZERO
    for ln in claim.lines:
        total += ln.charge
    if total == claim.charge:
        return []
    return [X12Warning(
        "claim_charge_mismatch",
        f"claim {claim.control_number}: CLM02 {claim.charge} but its lines charge {total}",
        claim.segment, claim.offset, claim.line)]
