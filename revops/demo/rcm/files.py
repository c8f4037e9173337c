"""Writers of the demo's billing files: X12 837P/837I, 277CA and 835 interchanges, A/R and cost CSVs.

Plain Python, amounts in integer cents. Separators are the common ``* : ^ ~`` with a newline after
each segment terminator. Every 835 claim balances (CLP03 - CLP04 = claim and line CAS, SVC02 -
SVC03 = line CAS) and every transaction set too (BPR02 = sum of CLP04 - sum of PLB amounts): the
caller builds the amounts, ``ClaimPayment.segments`` checks them.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .profiles import Service

TERM = "~\n"


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def d8(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def _seg(*elements: str) -> str:
    out = list(elements)
    while out and out[-1] == "":
        out.pop()
    return "*".join(out)


@dataclass(frozen=True)
class Party:
    """A billing provider, payee, submitter or receiver."""

    name: str
    identifier: str  # NPI for providers, ETIN for submitters
    address: str = ""
    city: str = ""
    state: str = ""
    zip_code: str = ""
    tax_id: str = ""


@dataclass(frozen=True)
class PayerRef:
    name: str
    payer_id: str
    payer_class: str


@dataclass(slots=True)
class Patient:
    member_id: str
    last: str
    first: str
    birth: dt.date
    sex: str
    payer: PayerRef


@dataclass(slots=True)
class Line:
    service: Service
    units: int
    start: dt.date
    end: dt.date

    @property
    def charge(self) -> int:
        return self.service.charge * self.units


@dataclass(slots=True)
class Claim:
    """One 837 claim as the billing system sends it."""

    pcn: str
    kind: str  # P or I
    facility_code: str  # place of service (P) or facility type (I)
    billing: Party
    patient: Patient
    lines: list[Line]
    diagnoses: tuple[str, ...]
    submitted: dt.date
    program: str = ""  # program code (A/R rows); the 837 itself does not carry it
    frequency: str = "1"
    original_number: str = ""  # REF*F8: the payer's number of the claim this one replaces
    authorization: str = ""
    referring: tuple[str, str, str] | None = None  # last, first, NPI
    filing: str = "CI"

    @property
    def charge(self) -> int:
        return sum(line.charge for line in self.lines)

    @property
    def service_from(self) -> dt.date:
        return min(line.start for line in self.lines)

    @property
    def service_to(self) -> dt.date:
        return max(line.end for line in self.lines)


def interchange(sets: Sequence[list[str]], *, functional_id: str, version: str, set_id: str, sender: str,
                receiver: str, when: dt.date, time: str, control: int) -> bytes:
    """Wrap transaction set bodies (segments between ST and SE) in ST/SE, GS/GE and ISA/IEA."""
    out = [
        _seg("ISA", "00", " " * 10, "00", " " * 10, "ZZ", sender[:15].ljust(15), "ZZ", receiver[:15].ljust(15),
             when.strftime("%y%m%d"), time, "^", "00501", f"{control:09d}", "0", "P", ":"),
        _seg("GS", functional_id, sender, receiver, d8(when), time, str(control), "X", version),
    ]
    for n, body in enumerate(sets, start=1):
        st = f"{n:04d}"
        out.append(_seg("ST", set_id, st, version) if set_id != "835" else _seg("ST", set_id, st))
        out.extend(body)
        out.append(_seg("SE", str(len(body) + 2), st))
    out += [_seg("GE", str(len(sets)), str(control)), _seg("IEA", "1", f"{control:09d}")]
    return (TERM.join(out) + TERM).encode("ascii")


# -- 837 ---------------------------------------------------------------------------------------

def _claim_837(c: Claim) -> list[str]:
    p = c.patient
    segs = [
        _seg("SBR", "P", "18", f"G{p.member_id[-5:]}", "", "", "", "", "", c.filing),
        _seg("NM1", "IL", "1", p.last.upper(), p.first.upper(), "", "", "", "MI", p.member_id),
        _seg("DMG", "D8", d8(p.birth), p.sex),
        _seg("NM1", "PR", "2", p.payer.name.upper(), "", "", "", "", "PI", p.payer.payer_id),
    ]
    qualifier = "B" if c.kind == "P" else "A"
    segs.append(_seg("CLM", c.pcn, money(c.charge), "", "", f"{c.facility_code}:{qualifier}:{c.frequency}",
                     "Y" if c.kind == "P" else "", "A", "Y", "Y"))
    if c.kind == "I":
        segs.append(_seg("DTP", "434", "RD8", f"{d8(c.service_from)}-{d8(c.service_to)}"))
        segs.append(_seg("CL1", "2", "1", "01"))
    if c.original_number:
        segs.append(_seg("REF", "F8", c.original_number))
    if c.authorization:
        segs.append(_seg("REF", "G1", c.authorization))
    codes = [f"{'ABK' if i == 0 else 'ABF'}:{code}" for i, code in enumerate(c.diagnoses)]
    segs.append(_seg("HI", *codes))
    if c.referring is not None:
        last, first, npi = c.referring
        segs.append(_seg("NM1", "DN", "1", last.upper(), first.upper(), "", "", "", "XX", npi))
    for i, line in enumerate(c.lines, start=1):
        s = line.service
        proc = f"HC:{s.code}:{s.modifier}" if s.modifier else f"HC:{s.code}"
        segs.append(_seg("LX", str(i)))
        if c.kind == "P":
            segs.append(_seg("SV1", proc, money(line.charge), s.unit, str(line.units), "", "", "1"))
        else:
            segs.append(_seg("SV2", s.revenue_code, proc, money(line.charge), s.unit, str(line.units)))
        if line.start == line.end:
            segs.append(_seg("DTP", "472", "D8", d8(line.start)))
        else:
            segs.append(_seg("DTP", "472", "RD8", f"{d8(line.start)}-{d8(line.end)}"))
        segs.append(_seg("REF", "6R", f"{c.pcn}L{i}"))
    return segs


def render_837(providers: Iterable[tuple[Party, list[Claim]]], *, kind: str, submitter: Party, receiver: Party,
               batch: str, when: dt.date, time: str, control: int) -> bytes:
    """One 837P or 837I transaction set: a billing-provider loop per provider, a subscriber per claim."""
    version = "005010X222A1" if kind == "P" else "005010X223A2"
    body = [
        _seg("BHT", "0019", "00", batch, d8(when), time, "CH"),
        _seg("NM1", "41", "2", submitter.name.upper(), "", "", "", "", "46", submitter.identifier),
        _seg("PER", "IC", "BILLING OFFICE", "TE", "6155550142"),
        _seg("NM1", "40", "2", receiver.name.upper(), "", "", "", "", "46", receiver.identifier),
    ]
    hl = 0
    for provider, claims in providers:
        if not claims:
            continue
        hl += 1
        parent = hl
        body += [
            _seg("HL", str(hl), "", "20", "1"),
            _seg("NM1", "85", "2", provider.name.upper(), "", "", "", "", "XX", provider.identifier),
            _seg("N3", provider.address.upper()),
            _seg("N4", provider.city.upper(), provider.state, provider.zip_code),
            _seg("REF", "EI", provider.tax_id),
        ]
        for claim in claims:
            hl += 1
            body.append(_seg("HL", str(hl), str(parent), "22", "0"))
            body.extend(_claim_837(claim))
    return interchange([body], functional_id="HC", version=version, set_id="837", sender=submitter.identifier,
                       receiver=receiver.identifier, when=when, time=time, control=control)


# -- 277CA -------------------------------------------------------------------------------------

@dataclass(slots=True)
class Ack:
    claim: Claim
    status: tuple[str, str, str]  # STC01: category, claim status code, entity
    accepted: bool


def render_277(acks: list[Ack], *, source: Party, submitter: Party, batch: str, when: dt.date, time: str,
               control: int) -> bytes:
    """One 277CA: the clearinghouse's acceptance or rejection of every claim of a submission."""
    accepted = [a for a in acks if a.accepted]
    rejected = [a for a in acks if not a.accepted]
    body = [
        _seg("BHT", "0085", "08", f"ACK{batch}", d8(when), time, "TH"),
        _seg("HL", "1", "", "20", "1"),
        _seg("NM1", "AY", "2", source.name.upper(), "", "", "", "", "46", source.identifier),
        _seg("TRN", "1", f"ACK{batch}"),
        _seg("DTP", "050", "D8", d8(when)),
        _seg("DTP", "009", "D8", d8(when)),
        _seg("HL", "2", "1", "21", "1"),
        _seg("NM1", "41", "2", submitter.name.upper(), "", "", "", "", "46", submitter.identifier),
        _seg("TRN", "2", batch),
        _seg("STC", "A1:19", d8(when), "WQ", money(sum(a.claim.charge for a in acks))),
        _seg("QTY", "90", str(len(accepted))),
        _seg("QTY", "AA", str(len(rejected))),
        _seg("AMT", "YU", money(sum(a.claim.charge for a in accepted))),
        _seg("AMT", "YY", money(sum(a.claim.charge for a in rejected))),
    ]
    hl = 2
    by_provider: dict[str, list[Ack]] = {}
    providers: dict[str, Party] = {}
    for ack in acks:
        by_provider.setdefault(ack.claim.billing.identifier, []).append(ack)
        providers[ack.claim.billing.identifier] = ack.claim.billing
    for npi, group in by_provider.items():
        hl += 1
        parent = hl
        body += [_seg("HL", str(hl), "2", "19", "1"),
                 _seg("NM1", "85", "2", providers[npi].name.upper(), "", "", "", "", "XX", npi)]
        for ack in group:
            c = ack.claim
            hl += 1
            category, code, entity = ack.status
            body += [
                _seg("HL", str(hl), str(parent), "PT"),
                _seg("NM1", "QC", "1", c.patient.last.upper(), c.patient.first.upper(), "", "", "", "MI",
                     c.patient.member_id),
                _seg("TRN", "2", c.pcn),
                _seg("STC", ":".join(p for p in (category, code, entity) if p), d8(when),
                     "WQ" if ack.accepted else "U", money(c.charge)),
                _seg("REF", "D9", f"CH{batch}{hl:05d}"),
                _seg("DTP", "472", "RD8", f"{d8(c.service_from)}-{d8(c.service_to)}"),
            ]
    return interchange([body], functional_id="HN", version="005010X214", set_id="277", sender=source.identifier,
                       receiver=submitter.identifier, when=when, time=time, control=control)


# -- 835 ---------------------------------------------------------------------------------------

@dataclass(slots=True)
class LinePayment:
    line: Line
    paid: int
    adjustments: list[tuple[str, str, int]]  # (group, CARC, amount)
    remark: str = ""
    allowed: int | None = None


@dataclass(slots=True)
class ClaimPayment:
    """One CLP: the payer's adjudication of a claim (or the reversal of an earlier one)."""

    claim: Claim
    status: str  # 1 processed as primary, 4 denied (patient not recognised), 22 reversal
    payer_number: str
    charge: int
    paid: int
    patient_share: int
    adjustments: list[tuple[str, str, int]] = field(default_factory=list)  # claim level
    remark: str = ""  # MOA remark (claim level)
    lines: list[LinePayment] = field(default_factory=list)
    received: dt.date | None = None

    def negated(self, payer_number: str | None = None) -> ClaimPayment:
        """The reversal (CLP02 22) of this payment: every amount negated."""
        return ClaimPayment(
            self.claim, "22", payer_number or self.payer_number, -self.charge, -self.paid, -self.patient_share,
            [(g, r, -a) for g, r, a in self.adjustments], self.remark,
            [LinePayment(lp.line, -lp.paid, [(g, r, -a) for g, r, a in lp.adjustments], lp.remark,
                         -lp.allowed if lp.allowed is not None else None) for lp in self.lines],
            self.received)

    def segments(self) -> list[str]:
        c = self.claim
        claim_cas = sum(a for _, _, a in self.adjustments)
        lines_cas = 0
        for lp in self.lines:
            line_cas = sum(a for _, _, a in lp.adjustments)
            sign = -1 if self.status == "22" else 1
            if sign * lp.line.charge - lp.paid != line_cas:
                raise ValueError(f"{c.pcn} line {lp.line.service.code} does not balance")
            lines_cas += line_cas
        if self.charge - self.paid != claim_cas + lines_cas:
            raise ValueError(f"{c.pcn} does not balance")
        segs = [_seg("CLP", c.pcn, self.status, money(self.charge), money(self.paid),
                     money(self.patient_share) if self.patient_share else "", c.filing, self.payer_number,
                     c.facility_code, c.frequency)]
        segs += _cas(self.adjustments)
        if self.remark:
            segs.append(_seg("MOA", "", "", self.remark))
        p = c.patient
        segs.append(_seg("NM1", "QC", "1", p.last.upper(), p.first.upper(), "", "", "", "MI", p.member_id))
        if c.kind == "I":
            segs += [_seg("DTM", "232", d8(c.service_from)), _seg("DTM", "233", d8(c.service_to))]
        if self.received is not None:
            segs.append(_seg("DTM", "050", d8(self.received)))
        sign = -1 if self.status == "22" else 1
        for i, lp in enumerate(self.lines, start=1):
            s = lp.line.service
            proc = f"HC:{s.code}:{s.modifier}" if s.modifier else f"HC:{s.code}"
            segs.append(_seg("SVC", proc, money(sign * lp.line.charge), money(lp.paid), s.revenue_code,
                             str(lp.line.units)))
            if lp.line.start == lp.line.end:
                segs.append(_seg("DTM", "472", d8(lp.line.start)))
            else:
                segs += [_seg("DTM", "150", d8(lp.line.start)), _seg("DTM", "151", d8(lp.line.end))]
            segs += _cas(lp.adjustments)
            segs.append(_seg("REF", "6R", f"{c.pcn}L{i}"))
            if lp.allowed is not None and lp.paid:
                segs.append(_seg("AMT", "B6", money(lp.allowed)))
            if lp.remark:
                segs.append(_seg("LQ", "HE", lp.remark))
        return segs


def _cas(adjustments: list[tuple[str, str, int]]) -> list[str]:
    """CAS segments: one per group, up to six reason/amount pairs each."""
    groups: dict[str, list[str]] = {}
    for group, reason, amount in adjustments:
        if amount:
            groups.setdefault(group, []).extend((reason, money(amount), ""))
    out = []
    for group, triplets in groups.items():
        for start in range(0, len(triplets), 18):
            out.append(_seg("CAS", group, *triplets[start:start + 18]))
    return out


@dataclass(slots=True)
class Remittance:
    """One 835 transaction set being filled: a payer's payment to one payee on one date."""

    payer: PayerRef
    payee: Party
    paid_on: dt.date
    trace: str
    payer_tax_id: str
    segments: list[str] = field(default_factory=list)
    paid: int = 0
    claims: int = 0
    provider_adjustments: list[tuple[str, str, int]] = field(default_factory=list)  # (reason, reference, amount)

    def add(self, payment: ClaimPayment) -> None:
        self.segments += payment.segments()
        self.paid += payment.paid
        self.claims += 1

    def body(self) -> list[str]:
        amount = self.paid - sum(a for _, _, a in self.provider_adjustments)
        if amount < 0:
            raise ValueError(f"remittance {self.trace} would pay {amount}")
        p = self.payer
        if amount:
            bpr = _seg("BPR", "I", money(amount), "C", "ACH", "CCP", "01", "061000104", "DA", "4410019876",
                       f"1{self.payer_tax_id}", "", "01", "064000017", "DA", "100245338", d8(self.paid_on))
        else:
            bpr = _seg("BPR", "H", "0.00", "C", "NON", "", "", "", "", "", "", "", "", "", "", "", d8(self.paid_on))
        body = [
            bpr,
            _seg("TRN", "1", self.trace, f"1{self.payer_tax_id}"),
            _seg("DTM", "405", d8(self.paid_on)),
            _seg("N1", "PR", p.name.upper(), "XV", p.payer_id),
            _seg("N3", "PO BOX 1400"),
            _seg("N4", "NASHVILLE" if p.payer_class.startswith("medicaid") else "LOUISVILLE", "TN", "37202"),
            _seg("PER", "BL", "PROVIDER SERVICES", "TE", "8005550100"),
            _seg("N1", "PE", self.payee.name.upper(), "XX", self.payee.identifier),
            _seg("REF", "TJ", self.payee.tax_id),
            _seg("LX", "1"),
            *self.segments,
        ]
        if self.provider_adjustments:
            fiscal = dt.date(self.paid_on.year, 12, 31)
            pairs = [x for reason, ref, amount in self.provider_adjustments
                     for x in (f"{reason}:{ref}" if ref else reason, money(amount))]
            for start in range(0, len(pairs), 12):  # a PLB holds six adjustments
                body.append(_seg("PLB", self.payee.identifier, d8(fiscal), *pairs[start:start + 12]))
        return body

    def add_interest(self, amount: int) -> None:
        """Prompt-pay interest the payer adds (PLB L6, a negative adjustment: it raises the payment)."""
        for i, (reason, ref, value) in enumerate(self.provider_adjustments):
            if reason == "L6":
                self.provider_adjustments[i] = (reason, ref, value - amount)
                return
        self.provider_adjustments.append(("L6", "", -amount))


def render_835(remittances: Sequence[Remittance], *, sender: str, receiver: str, when: dt.date, time: str,
               control: int) -> bytes:
    return interchange([r.body() for r in remittances], functional_id="HP", version="005010X221A1", set_id="835",
                       sender=sender, receiver=receiver, when=when, time=time, control=control)


# -- CSV ---------------------------------------------------------------------------------------

def render_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def us_date(day: dt.date) -> str:
    """MM/DD/YYYY, as billing-system exports write dates."""
    return day.strftime("%m/%d/%Y")
