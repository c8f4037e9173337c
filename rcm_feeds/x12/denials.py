"""Denial detection on 835 claims and lines, and the default CARC -> denial category table."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from .records import ZERO, Adjustment, ClaimPayment, ServicePayment

CATEGORIES: dict[str, str] = {
    "eligibility": "Eligibility",
    "authorization": "Authorization",
    "medical_necessity": "Medical necessity",
    "timely_filing": "Timely filing",
    "duplicate": "Duplicate",
    "bundling": "Bundling",
    "missing_information": "Missing information",
    "wrong_payer": "Wrong payer / coordination of benefits",
    "other": "Other",
}

# The default mapping a tenant starts with (the lead loads it into an editable table).
# Code -> (category, short description of the published CARC text).
DEFAULT_CARC_CATEGORIES: dict[str, tuple[str, str]] = {
    "26": ("eligibility", "Expenses incurred prior to coverage"),
    "27": ("eligibility", "Expenses incurred after coverage terminated"),
    "31": ("eligibility", "Patient cannot be identified as our insured"),
    "177": ("eligibility", "Patient has not met the required eligibility requirements"),
    "15": ("authorization", "Authorization number missing, invalid or not for this service"),
    "197": ("authorization", "Precertification/authorization/notification absent"),
    "198": ("authorization", "Precertification/authorization exceeded"),
    "50": ("medical_necessity", "Not deemed a medical necessity by the payer"),
    "29": ("timely_filing", "The time limit for filing has expired"),
    "18": ("duplicate", "Exact duplicate claim/service"),
    "97": ("bundling", "Included in the payment for another service already adjudicated"),
    "234": ("bundling", "This procedure is not paid separately"),
    "16": ("missing_information", "Claim/service lacks information needed for adjudication"),
    "251": ("missing_information", "Attachment/other documentation was absent or incomplete"),
    "252": ("missing_information", "An attachment/other documentation is required"),
    "22": ("wrong_payer", "May be covered by another payer per coordination of benefits"),
    "23": ("wrong_payer", "Impact of prior payer(s) adjudication"),
    "109": ("wrong_payer", "Not covered by this payer/contractor: send to the correct payer"),
}


@dataclass(frozen=True, slots=True)
class DenialRule:
    """Which adjustments do not make a zero payment a denial (domain.md: PR, and OA-23)."""

    benign_groups: frozenset[str] = frozenset({"PR"})
    benign_codes: frozenset[tuple[str, str]] = frozenset({("OA", "23")})

    def is_benign(self, adj: Adjustment) -> bool:
        return adj.group in self.benign_groups or (adj.group, adj.reason) in self.benign_codes


DEFAULT_RULE = DenialRule()


@dataclass(slots=True)
class Denial:
    """A denied claim (``line`` None) or service line, with the codes behind it."""

    claim: ClaimPayment
    service: ServicePayment | None  # the denied line; None for a whole-claim denial
    amount: Decimal  # what was denied: CLP03 or SVC02
    reasons: list[Adjustment]  # the non-benign adjustments, by CARC as in carcs, then file order
    carcs: list[str]  # their reason codes, largest total first, each once
    rarcs: list[str]  # remark codes: MOA/MIA (claim) or LQ*HE (line)
    category: str  # of the first CARC; eligibility for CLP02 4 without any CARC
    segment: int
    offset: int
    line: int

    @property
    def level(self) -> str:
        return "claim" if self.service is None else "line"


def _denying(adjustments: list[Adjustment], rule: DenialRule) -> list[Adjustment]:
    groups, codes = rule.benign_groups, rule.benign_codes
    return [a for a in adjustments
            if a.amount and a.group not in groups and (a.group, a.reason) not in codes]


def _ranked_codes(reasons: list[Adjustment]) -> list[str]:
    if len(reasons) == 1:
        return [reasons[0].reason]
    totals: dict[str, Decimal] = {}
    for adj in reasons:
        totals[adj.reason] = totals.get(adj.reason, ZERO) + adj.amount
    return sorted(totals, key=lambda code: -abs(totals[code]))


def category_of(carcs: list[str], categories: Mapping[str, tuple[str, str] | str]) -> str:
    for code in carcs:
        entry = categories.get(code)
        if entry is not None:
            return entry if isinstance(entry, str) else entry[0]
    return "other"


def claim_denials(claim: ClaimPayment, *, rule: DenialRule = DEFAULT_RULE,
                  categories: Mapping[str, tuple[str, str] | str] = DEFAULT_CARC_CATEGORIES,
                  ) -> list[Denial]:
    """The claim's denial (if any) first, then each denied line.

    A claim is denied when CLP02 is 4, or CLP03 > 0 and CLP04 = 0 and some adjustment (claim or
    line CAS, amount not zero) is not benign under ``rule``. A line is denied when SVC02 > 0 and
    SVC03 = 0 and some of its own adjustments are not benign. A claim can be denied as a whole
    and line by line; the caller chooses the level it counts.
    """
    out: list[Denial] = []
    denied_status = claim.status == "4"
    if denied_status or (claim.charge > ZERO and not claim.paid):
        reasons = _denying(claim.all_adjustments(), rule)
        if denied_status or reasons:
            carcs = _ranked_codes(reasons)
            rarcs = list(claim.remark_codes)
            for svc in claim.lines:
                rarcs.extend(code for code in svc.remark_codes if code not in rarcs)
            category = category_of(carcs, categories) if carcs else "eligibility"
            out.append(Denial(claim, None, claim.charge, _by_size(reasons, carcs), carcs, rarcs,
                              category, claim.segment, claim.offset, claim.line))
    for svc in claim.lines:
        if not svc.paid and svc.charge > ZERO:
            line_reasons = _denying(svc.adjustments, rule)
            if line_reasons:
                carcs = _ranked_codes(line_reasons)
                out.append(Denial(claim, svc, svc.charge, _by_size(line_reasons, carcs), carcs,
                                  list(svc.remark_codes), category_of(carcs, categories),
                                  svc.segment, svc.offset, svc.line))
    return out


def _by_size(reasons: list[Adjustment], carcs: list[str]) -> list[Adjustment]:
    if len(carcs) == 1:
        return reasons
    rank = {code: i for i, code in enumerate(carcs)}
    return sorted(reasons, key=lambda a: rank[a.reason])
