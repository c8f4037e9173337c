"""Synthetic but realistic 835 and 837 interchanges, streamed to a file, for benchmarks and tests.

Deterministic for a seed. Amounts balance exactly (the writer knows every total it wrote), and
about one claim line in eight is denied with a behavioral-health-typical CARC, so parsers,
balancing and denial rules can be checked against the returned ``SynthTotals``.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, BinaryIO

from .envelope import Separators

STANDARD = Separators("*", ":", "^", "~")
_DENIALS = (("CO", "197", "N54"), ("CO", "50", "N115"), ("CO", "29", ""), ("CO", "16", "M127"),
            ("CO", "18", ""), ("CO", "109", "N418"), ("CO", "27", ""), ("CO", "97", "M15"))
# Behavioral-health lines: (qualifier:code, revenue code, modifier, charge per unit in cents)
_SERVICES = (("H0035", "0912", "HF", 42500), ("S9480", "0905", "", 31000),
             ("H0015", "0906", "HF", 27500), ("90837", "0900", "", 21000),
             ("90834", "0900", "", 15500), ("H2036", "1001", "", 12000),
             ("H0018", "1002", "", 65000), ("90853", "0915", "HQ", 6500))


@dataclass
class SynthTotals:
    """What the writer put in the file, for checking a parser against."""

    transactions: int = 0
    claims: int = 0
    lines: int = 0
    total_charge: Decimal = Decimal(0)
    total_paid: Decimal = Decimal(0)
    plb_total: Decimal = Decimal(0)
    payment_total: Decimal = Decimal(0)  # sum of BPR02
    denied_claims: int = 0
    denied_lines: int = 0
    reversals: int = 0
    denied_line_carcs: dict[str, int] = field(default_factory=dict)


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


class _Writer:
    """Joins segments with the chosen separators and counts them for SE/GE/IEA."""

    def __init__(self, out: BinaryIO, seps: Separators, newline: bool) -> None:
        self.out = out
        self.e, self.c = seps.element, seps.component
        self.end = seps.segment + ("\n" if newline else "")
        self.rep = seps.repetition or "^"
        self.count = 0
        self.buf: list[str] = []

    def seg(self, *elements: str) -> None:
        self.buf.append(self.e.join(elements) + self.end)
        self.count += 1
        if len(self.buf) >= 4096:
            self.flush()

    def comp(self, *parts: str) -> str:
        return self.c.join(parts)

    def flush(self) -> None:
        self.out.write("".join(self.buf).encode("ascii"))
        self.buf.clear()

    def isa(self, control: int, functional_id: str, version: str) -> None:
        self.seg("ISA", "00", " " * 10, "00", " " * 10, "ZZ", "SYNTHPAYER".ljust(15), "ZZ",
                 "SYNTHPROVIDER".ljust(15), "240115", "1200", self.rep, "00501",
                 f"{control:09d}", "0", "P", self.c)
        self.seg("GS", functional_id, "SYNTHPAYER", "SYNTHPROVIDER", "20240115", "1200", "1", "X",
                 version)

    def close_interchange(self, control: int, transactions: int) -> None:
        self.seg("GE", str(transactions), "1")
        self.seg("IEA", "1", f"{control:09d}")
        self.flush()


def _date(rng: random.Random) -> str:
    return f"2024{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"


def _claim_835(rng: random.Random,
               number: int) -> tuple[list[tuple[str, ...]], int, int, dict[str, Any]]:
    """One claim's segments (as element tuples), its charge, paid and denial facts."""
    lines = []
    denied_lines: list[str] = []
    n_lines = rng.choice((1, 1, 2, 2, 3, 4))
    whole_denial = rng.random() < 0.05
    reversal = not whole_denial and rng.random() < 0.01
    for _ in range(n_lines):
        code, rev, mod, unit = rng.choice(_SERVICES)
        units = rng.randint(1, 4)
        charge = unit * units
        if whole_denial or rng.random() < 0.08:
            group, carc, rarc = rng.choice(_DENIALS)
            lines.append((code, rev, mod, units, charge, 0, [(group, carc, charge)], rarc))
            denied_lines.append(carc)
            continue
        allowed = charge * rng.randint(55, 90) // 100
        coins = allowed * rng.choice((0, 0, 10, 20)) // 100
        deductible = min(allowed - coins, rng.choice((0, 0, 0, 2500)))
        paid = allowed - coins - deductible
        cas = [("CO", "45", charge - allowed)]
        if coins:
            cas.append(("PR", "2", coins))
        if deductible:
            cas.append(("PR", "1", deductible))
        lines.append((code, rev, mod, units, charge, paid, cas, ""))
    charge = sum(ln[4] for ln in lines)
    paid = sum(ln[5] for ln in lines)
    # Medicare-style sequestration on some paid claims: a claim-level CAS below the lines.
    sequestration = paid * 2 // 100 if paid and rng.random() < 0.2 else 0
    paid -= sequestration
    patient = sum(a[2] for ln in lines for a in ln[6] if a[0] == "PR")
    sign = -1 if reversal else 1
    status = "22" if reversal else "1"
    segs: list[tuple[str, ...]] = [
        ("CLP", f"PCN{number:08d}", status, _money(sign * charge), _money(sign * paid),
         _money(sign * patient) if patient else "", "12", f"PCLM{number:010d}", "11", "1"),
        *([("CAS", "CO", "253", _money(sign * sequestration))] if sequestration else []),
        ("NM1", "QC", "1", "SYNTHETIC", "PATIENT", "", "", "", "MI", f"MBR{number % 50000:07d}"),
        ("NM1", "82", "1", "CLINICIAN", "SYNTH", "", "", "", "XX", "1234567893"),
        ("DTM", "232", _date(rng)), ("DTM", "233", _date(rng)), ("DTM", "050", _date(rng)),
    ]
    for i, (code, rev, mod, units, lcharge, lpaid, cas, rarc) in enumerate(lines, start=1):
        proc = (code, mod) if mod else (code,)
        segs.append(("SVC", "HC", *proc, _money(sign * lcharge), _money(sign * lpaid), rev,
                     str(units)))
        segs.append(("DTM", "472", _date(rng)))
        triplets: list[str] = []
        groups: dict[str, list[str]] = {}
        for group, reason, amount in cas:
            groups.setdefault(group, []).extend((reason, _money(sign * amount), ""))
        for group, triplets in groups.items():
            segs.append(("CAS", group, *_trim(triplets)))
        segs.append(("REF", "6R", f"L{number:08d}{i:02d}"))
        if lpaid:
            segs.append(("AMT", "B6", _money(sign * (lcharge - cas[0][2]))))
        if rarc:
            segs.append(("LQ", "HE", rarc))
    facts = {"denied_claim": not reversal and (whole_denial or (paid == 0 and charge > 0)),
             "denied_lines": [] if reversal else denied_lines, "reversal": reversal,
             "lines": n_lines}
    return segs, sign * charge, sign * paid, facts


def _trim(triplets: list[str]) -> list[str]:
    while triplets and not triplets[-1]:
        triplets = triplets[:-1]
    return triplets


def write_835(out: BinaryIO, claims: int, *, seed: int = 0, separators: Separators = STANDARD,
              newline: bool = True, claims_per_transaction: int | None = None) -> SynthTotals:
    """Write an 835 interchange with ``claims`` claims; each transaction set closes with PLBs."""
    w = _Writer(out, separators, newline)
    totals = SynthTotals()
    per = claims_per_transaction or max(claims, 1)
    n_sets = max(1, -(-claims // per))
    w.isa(1, "HP", "005010X221A1")
    number = 0
    for t in range(n_sets):
        count = min(per, claims - t * per)
        # Two passes with the same generator: the first sums what BPR02 must say.
        paid = charge = 0
        rng = random.Random(f"{seed}-835-{t}")
        for i in range(count):
            _, c, p, _ = _claim_835(rng, number + i)
            charge += c
            paid += p
        plb = [("WO", f"OVP{t:05d}", 2500 + (t % 7) * 100), ("L6", "INTEREST", -(137 + t % 11))]
        plb_sum = sum(a for _, _, a in plb)
        payment = paid - plb_sum
        w.count = 0
        control = f"{t + 1:04d}"
        w.seg("ST", "835", control)
        w.seg("BPR", "I", _money(payment), "C", "ACH", "CCP", "01", "011000015", "DA", "123456",
              "1512345678", "", "01", "021000021", "DA", "654321", "20240115")
        w.seg("TRN", "1", f"EFT{seed:04d}{t:08d}", "1512345678")
        w.seg("DTM", "405", "20240112")
        w.seg("N1", "PR", "SYNTHETIC HEALTH PLAN", "XV", "SYNTH01")
        w.seg("N3", "1 PAYER WAY")
        w.seg("N4", "HARTFORD", "CT", "06101")
        w.seg("PER", "BL", "PROVIDER SERVICES", "TE", "8005550100")
        w.seg("N1", "PE", "HARBOR BEHAVIORAL HEALTH", "XX", "1234567893")
        w.seg("REF", "TJ", "123456789")
        w.seg("LX", "1")
        rng = random.Random(f"{seed}-835-{t}")
        for i in range(count):
            segs, c, p, facts = _claim_835(rng, number + i)
            for s in segs:
                w.seg(*(_compose(w, s)))
            totals.lines += facts["lines"]
            totals.denied_claims += facts["denied_claim"]
            totals.reversals += facts["reversal"]
            for carc in facts["denied_lines"]:
                totals.denied_lines += 1
                totals.denied_line_carcs[carc] = totals.denied_line_carcs.get(carc, 0) + 1
        w.seg("PLB", "1234567893", "20241231", *(x for reason, ref, amount in plb
                                                  for x in (w.comp(reason, ref), _money(amount))))
        w.seg("SE", str(w.count + 1), control)
        number += count
        totals.transactions += 1
        totals.claims += count
        totals.total_charge += Decimal(charge) / 100
        totals.total_paid += Decimal(paid) / 100
        totals.plb_total += Decimal(plb_sum) / 100
        totals.payment_total += Decimal(payment) / 100
    w.close_interchange(1, n_sets)
    return totals


def _compose(w: _Writer, s: tuple[str, ...]) -> tuple[str, ...]:
    """Join the SVC procedure parts with the component separator (the tuples keep them apart)."""
    if s[0] != "SVC":
        return s
    n = len(s) - 5  # qualifier + code (+ modifier) before the four trailing elements
    return ("SVC", w.comp(*s[1:1 + n]), *s[1 + n:])


def write_837(out: BinaryIO, claims: int, *, kind: str = "P", seed: int = 0,
              separators: Separators = STANDARD, newline: bool = True) -> SynthTotals:
    """Write an 837P or 837I interchange: one billing provider, 1-3 claims per subscriber."""
    w = _Writer(out, separators, newline)
    totals = SynthTotals(transactions=1)
    rng = random.Random(f"{seed}-837{kind}")
    version = "005010X222A1" if kind == "P" else "005010X223A2"
    w.isa(2, "HC", version)
    w.count = 0
    w.seg("ST", "837", "0001", version)
    w.seg("BHT", "0019", "00", f"BATCH{seed:06d}", "20240115", "1200", "CH")
    w.seg("NM1", "41", "2", "HARBOR BEHAVIORAL HEALTH", "", "", "", "", "46", "SUBMIT01")
    w.seg("PER", "IC", "BILLING OFFICE", "TE", "8005550199")
    w.seg("NM1", "40", "2", "SYNTHETIC CLEARINGHOUSE", "", "", "", "", "46", "RECV01")
    w.seg("HL", "1", "", "20", "1")
    w.seg("NM1", "85", "2", "HARBOR BEHAVIORAL HEALTH", "", "", "", "", "XX", "1234567893")
    w.seg("N3", "10 HARBOR ROAD")
    w.seg("N4", "PORTLAND", "ME", "04101")
    w.seg("REF", "EI", "123456789")
    hl = 1
    made = 0
    while made < claims:
        hl += 1
        dependent = rng.random() < 0.2
        w.seg("HL", str(hl), "1", "22", "1" if dependent else "0")
        w.seg("SBR", "P", "" if dependent else "18", f"GRP{rng.randint(1, 999):03d}", "", "", "",
              "", "", rng.choice(("CI", "MC", "MB", "HM", "BL")))
        w.seg("NM1", "IL", "1", "SYNTHETIC", "MEMBER", "", "", "", "MI", f"MBR{hl:08d}")
        w.seg("NM1", "PR", "2", "SYNTHETIC HEALTH PLAN", "", "", "", "", "PI", "SYNTH01")
        if dependent:
            hl += 1
            w.seg("HL", str(hl), str(hl - 1), "23", "0")
            w.seg("PAT", "19")
            w.seg("NM1", "QC", "1", "SYNTHETIC", "DEPENDENT")
        for _ in range(min(rng.choice((1, 1, 2, 3)), claims - made)):
            _claim_837(w, rng, made, kind, totals)
            made += 1
    w.seg("SE", str(w.count + 1), "0001")
    w.close_interchange(2, 1)
    totals.claims = claims
    return totals


def _claim_837(w: _Writer, rng: random.Random, number: int, kind: str,
               totals: SynthTotals) -> None:
    lines = [rng.choice(_SERVICES) + (rng.randint(1, 4),) for _ in range(rng.choice((1, 2, 2, 3)))]
    charge = sum(unit * units for _, _, _, unit, units in lines)
    frequency = "7" if rng.random() < 0.03 else "1"
    facility = w.comp("52", "B", frequency) if kind == "P" else w.comp("89", "A", frequency)
    w.seg("CLM", f"PCN{number:08d}", _money(charge), "", "", facility, "Y", "A", "Y", "Y")
    start = _date(rng)
    if kind == "I":
        w.seg("DTP", "434", "RD8", f"{start}-{start}")
        w.seg("CL1", "2", "1", "01")
    if frequency == "7":
        w.seg("REF", "F8", f"PCLM{number:010d}")
    w.seg("REF", "G1", f"AUTH{number % 9973:05d}")
    w.seg("HI", w.comp("ABK", "F329"), w.comp("ABF", "F1020"))
    for i, (code, rev, mod, unit, units) in enumerate(lines, start=1):
        w.seg("LX", str(i))
        proc = w.comp("HC", code, mod) if mod else w.comp("HC", code)
        if kind == "P":
            w.seg("SV1", proc, _money(unit * units), "UN", str(units), "", "", "1")
        else:
            w.seg("SV2", rev, proc, _money(unit * units), "UN", str(units))
        w.seg("DTP", "472", "D8", start)
        w.seg("REF", "6R", f"L{number:08d}{i:02d}")
    totals.lines += len(lines)
    totals.total_charge += Decimal(charge) / 100


def iter_sample_separators() -> Iterator[Separators]:
    """Separator sets seen in the wild, for tests: standard, UHC's '>', pipes, control chars."""
    yield STANDARD
    yield Separators("*", ">", "^", "~")
    yield Separators("|", "^", "{", "~")
    yield Separators("\x1d", "\x1f", "\x1e", "\x1c")
