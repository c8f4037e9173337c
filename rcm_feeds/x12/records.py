"""Plain records the X12 parsers yield: 835 remittances and 837 claims, money in Decimal.

Every record carries ``segment`` (1-based ordinal of its first segment in the file), ``offset``
(byte offset of that segment) and ``line``, so a loader can point at it. No patient names are
kept anywhere; member ids are kept raw so the caller can hash them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from .envelope import TransactionSet
from .errors import X12Warning

ZERO = Decimal(0)


@dataclass(slots=True)
class Adjustment:
    """One CAS reason/amount/quantity triplet (835 claim or line level)."""

    group: str  # CO contractual, PR patient responsibility, OA other, PI payer initiated, CR
    reason: str  # CARC
    amount: Decimal
    quantity: Decimal | None
    segment: int
    offset: int
    line: int


@dataclass(slots=True)
class ServicePayment:
    """An 835 SVC service line (loop 2110)."""

    segment: int
    offset: int
    line: int
    qualifier: str  # SVC01-1: HC (HCPCS/CPT), NU (revenue code), N4 (NDC), ...
    code: str  # SVC01-2
    modifiers: tuple[str, ...]
    charge: Decimal  # SVC02
    paid: Decimal  # SVC03
    revenue_code: str  # SVC04
    units: Decimal | None  # SVC05 units paid
    original_code: str = ""  # SVC06-2 when the payer adjudicated a different code
    service_date: dt.date | None = None  # DTM*472
    service_from: dt.date | None = None  # DTM*150
    service_to: dt.date | None = None  # DTM*151
    control_number: str = ""  # REF*6R, the 837 line item control number
    allowed: Decimal | None = None  # AMT*B6
    adjustments: list[Adjustment] = field(default_factory=list)
    remark_codes: list[str] = field(default_factory=list)  # LQ*HE RARCs


@dataclass(slots=True)
class Remittance:
    """One 835 transaction set: the payment (BPR), its trace (TRN), payer and payee."""

    transaction: TransactionSet
    segment: int
    offset: int
    line: int
    handling_code: str = ""  # BPR01: I payment + advice, H notification only, C, D, P, U, X
    payment_amount: Decimal = ZERO  # BPR02
    credit_debit: str = ""  # BPR03: C credit, D debit
    payment_method: str = ""  # BPR04: ACH, CHK, BOP, FWT, NON
    payment_date: dt.date | None = None  # BPR16
    trace_number: str = ""  # TRN02: check or EFT trace, matches the deposit
    trace_originator: str = ""  # TRN03: payer's id (1 + EIN)
    trace_supplemental: str = ""  # TRN04
    production_date: dt.date | None = None  # DTM*405
    payer_name: str = ""  # N1*PR N102
    payer_id_qualifier: str = ""  # N1*PR N103
    payer_id: str = ""  # N1*PR N104, else REF*2U
    payee_name: str = ""  # N1*PE N102
    payee_id_qualifier: str = ""  # N1*PE N103: XX NPI, FI tax id
    payee_id: str = ""  # N1*PE N104
    payee_npi: str = ""  # N104 when N103 is XX
    payee_tax_id: str = ""  # N104 when FI, else REF*TJ
    payment_position: tuple[int, int, int] = (0, 0, 0)  # BPR's (segment, offset, line)
    warnings: list[X12Warning] = field(default_factory=list)

    @property
    def is_notification_only(self) -> bool:
        return self.handling_code == "H"


@dataclass(slots=True)
class ClaimPayment:
    """One 835 CLP claim (loop 2100) with its adjustments and service lines."""

    remittance: Remittance
    segment: int
    offset: int
    line: int
    patient_control_number: str  # CLP01 = the 837's CLM01
    status: str  # CLP02: 1/2/3 processed as primary/secondary/tertiary, 4 denied, 22 reversal
    charge: Decimal  # CLP03
    paid: Decimal  # CLP04
    patient_responsibility: Decimal | None  # CLP05
    filing_indicator: str  # CLP06: MC Medicaid, MA/MB Medicare, CI commercial, HM HMO, ...
    payer_claim_number: str  # CLP07
    facility_type: str  # CLP08
    frequency: str  # CLP09
    patient_id_qualifier: str = ""  # NM1*QC NM108
    patient_member_id: str = ""  # NM1*QC NM109: hash before storing
    insured_member_id: str = ""  # NM1*IL NM109 when the insured is not the patient
    statement_from: dt.date | None = None  # DTM*232
    statement_to: dt.date | None = None  # DTM*233
    received_date: dt.date | None = None  # DTM*050
    coverage_expiration: dt.date | None = None  # DTM*036
    adjustments: list[Adjustment] = field(default_factory=list)  # claim-level CAS
    remark_codes: list[str] = field(default_factory=list)  # MOA/MIA claim payment remark codes
    lines: list[ServicePayment] = field(default_factory=list)
    warnings: list[X12Warning] = field(default_factory=list)

    @property
    def is_reversal(self) -> bool:
        """CLP02 22: the payer takes back an earlier payment (amounts negated)."""
        return self.status == "22"

    def all_adjustments(self) -> list[Adjustment]:
        out = list(self.adjustments)
        for svc in self.lines:
            out.extend(svc.adjustments)
        return out


@dataclass(slots=True)
class ProviderAdjustment:
    """One PLB reason/amount pair: money withheld (positive) or added (negative) at payee level."""

    provider_id: str  # PLB01
    fiscal_period_date: dt.date | None  # PLB02
    reason: str  # PLB03-1: WO overpayment recovery, L6 interest, FB forward balance, CV, ...
    reference: str  # PLB03-2
    amount: Decimal
    segment: int
    offset: int
    line: int


@dataclass(slots=True)
class RemittanceEnd:
    """Closes a Remittance (at its SE): totals streamed past and the provider adjustments."""

    remittance: Remittance
    segment: int
    offset: int
    line: int
    claim_count: int
    total_charge: Decimal
    total_paid: Decimal  # sum of CLP04
    provider_adjustments: list[ProviderAdjustment]
    warnings: list[X12Warning] = field(default_factory=list)

    @property
    def provider_adjustment_total(self) -> Decimal:
        return sum((p.amount for p in self.provider_adjustments), ZERO)


# -- 837 ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class ClaimBatch:
    """One 837 transaction set: professional (P) or institutional (I), submitter and receiver."""

    transaction: TransactionSet
    kind: str  # "P" (005010X222) or "I" (005010X223)
    segment: int
    offset: int
    line: int
    reference: str = ""  # BHT03
    created: dt.date | None = None  # BHT04
    purpose: str = ""  # BHT02: 00 original, 18 reissue
    claim_type: str = ""  # BHT06: CH chargeable, RP reporting (encounters)
    submitter_name: str = ""  # NM1*41
    submitter_id: str = ""
    receiver_name: str = ""  # NM1*40
    receiver_id: str = ""
    warnings: list[X12Warning] = field(default_factory=list)


@dataclass(slots=True)
class BillingProvider:
    """HL level 20 (loop 2010AA)."""

    segment: int
    name: str = ""  # an organisation or practitioner, not a patient
    npi: str = ""
    tax_id: str = ""  # REF*EI / REF*SY


@dataclass(slots=True)
class Subscriber:
    """HL level 22: who is insured and by which payer (loops 2000B, 2010BA, 2010BB)."""

    segment: int
    billing_provider: BillingProvider
    payer_responsibility: str = ""  # SBR01: P primary, S secondary, T tertiary, ...
    relationship: str = ""  # SBR02: 18 self
    group_number: str = ""  # SBR03
    filing_indicator: str = ""  # SBR09: MB, MC, CI, HM, BL, ...
    member_id: str = ""  # NM1*IL NM109: hash before storing
    payer_name: str = ""  # NM1*PR
    payer_id: str = ""


@dataclass(slots=True)
class OtherPayer:
    """Loop 2320/2330B: another payer on the claim (coordination of benefits)."""

    segment: int
    payer_responsibility: str  # SBR01
    filing_indicator: str  # SBR09
    payer_name: str = ""
    payer_id: str = ""
    paid: Decimal | None = None  # AMT*D


@dataclass(slots=True)
class ServiceLine:
    """An 837 service line: SV1 (professional) or SV2 (institutional), loop 2400."""

    segment: int
    offset: int
    line: int
    number: str  # LX01
    qualifier: str  # SV101-1 / SV202-1
    code: str  # procedure (HCPCS/CPT); empty on an SV2 with a revenue code only
    modifiers: tuple[str, ...]
    revenue_code: str  # SV201 (837I)
    charge: Decimal  # SV102 / SV203
    unit_basis: str  # SV103 / SV204: UN units, MJ minutes, DA days
    units: Decimal | None  # SV104 / SV205
    place_of_service: str = ""  # SV105 (837P), when it differs from the claim's
    service_from: dt.date | None = None  # DTP*472
    service_to: dt.date | None = None
    control_number: str = ""  # REF*6R, echoed on the 835


@dataclass(slots=True)
class Claim:
    """One 837 CLM (loop 2300) with the subscriber, payer and billing provider above it."""

    batch: ClaimBatch
    subscriber: Subscriber
    segment: int
    offset: int
    line: int
    control_number: str  # CLM01 = the 835's CLP01
    charge: Decimal  # CLM02
    facility_code: str  # CLM05-1: place of service (837P) or facility type code (837I)
    facility_qualifier: str  # CLM05-2: B place of service, A UB facility type
    frequency: str  # CLM05-3: 1 original, 7 replacement, 8 void
    patient_is_subscriber: bool = True  # no HL level 23 (patient) under the subscriber
    original_claim_number: str = ""  # REF*F8: the payer's number of the claim this replaces
    prior_authorization: str = ""  # REF*G1
    referring_npi: str = ""  # NM1*DN (claim, else line) or NM1*DK (line) with XX: the referral source
    codes: list[tuple[str, ...]] = field(default_factory=list)  # HI composites, in order
    statement_from: dt.date | None = None  # DTP*434 (837I)
    statement_to: dt.date | None = None
    admission_date: dt.date | None = None  # DTP*435 (837I)
    service_from: dt.date | None = None  # claim-level DTP*472
    service_to: dt.date | None = None
    admission_type: str = ""  # CL1-01 (837I)
    admission_source: str = ""  # CL1-02
    patient_status: str = ""  # CL1-03
    other_payers: list[OtherPayer] = field(default_factory=list)
    lines: list[ServiceLine] = field(default_factory=list)
    warnings: list[X12Warning] = field(default_factory=list)

    @property
    def billing_provider(self) -> BillingProvider:
        return self.subscriber.billing_provider

    @property
    def is_replacement(self) -> bool:
        return self.frequency == "7"

    @property
    def is_void(self) -> bool:
        return self.frequency == "8"

    @property
    def diagnoses(self) -> list[str]:
        """ICD codes in order (principal first): ABK/BK, ABF/BF, ABJ/BJ, APR/PR, ABN/BN."""
        return [c[1] for c in self.codes if c[0] in DIAGNOSIS_QUALIFIERS and len(c) > 1]

    @property
    def first_service_date(self) -> dt.date | None:
        """The earliest of DTP*472, DTP*434 and the lines' dates (one pass, no lists built)."""
        first = self.service_from
        day = self.statement_from
        if day is not None and (first is None or day < first):
            first = day
        for ln in self.lines:
            day = ln.service_from
            if day is not None and (first is None or day < first):
                first = day
        return first

    @property
    def last_service_date(self) -> dt.date | None:
        """The latest of DTP*472, DTP*434 and the lines' end dates."""
        last = self.service_to
        day = self.statement_to
        if day is not None and (last is None or day > last):
            last = day
        for ln in self.lines:
            day = ln.service_to
            if day is not None and (last is None or day > last):
                last = day
        return last


DIAGNOSIS_QUALIFIERS = frozenset({"ABK", "BK", "ABF", "BF", "ABJ", "BJ", "APR", "PR", "ABN", "BN"})
