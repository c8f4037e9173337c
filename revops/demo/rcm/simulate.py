"""A demo organization's billing history, simulated claim by claim, as the files and steps that record it.

``History(...).events()`` yields, in the order they happen, the files the organization's feeds
receive (837s, 277CAs, 835s, A/R snapshots, cost entries) and the denial work its billing team
records (appeals, write-offs), over the 18 months ending in December of the demo year. Plain
Python and deterministic: the same inputs, seed and year give the same bytes.

Each claim's whole life is decided when it is submitted (monthly batch on the 5th): the
clearinghouse accepts or rejects it (277CA; a rejected claim is fixed and sent again with the
next batch), the payer pays it on its weekly check run after its days to pay (835), or denies
it with a CARC of its category; a denial is then corrected (frequency-7 replacement with
REF*F8, paid later), appealed and paid (an overturn the ingestion detects), appealed and lost,
written off, or left open. Paid claims may carry denied lines (bundling, medical necessity),
patient cost sharing, Medicare sequestration, and a few are reversed and paid again. The claim's
account sits in the A/R snapshots from its first submission until it is settled. Files are
rendered when everything dated before their delivery has been simulated, so memory holds only
the claims still in flight.
"""
from __future__ import annotations

import calendar
import datetime as dt
import heapq
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from revops.demo.names import person_name

from . import profiles as P
from .files import (
    Ack,
    Claim,
    ClaimPayment,
    Line,
    LinePayment,
    Party,
    Patient,
    PayerRef,
    Remittance,
    render_277,
    render_835,
    render_837,
    render_csv,
    us_date,
)

MONTHS = 18
CYCLE_DAY = 5  # a month's claims go out in one batch on this day, for the services since the last one
PRIORITY = {"837": 0, "277": 1, "835": 2, "file": 2, "action": 3, "ar": 4, "costs": 5}
CLEARINGHOUSE = Party("ClearPoint Health Exchange", "CLEARPOINT")
AR_HEADER = ("Snapshot Date", "Patient Account", "Payer Name", "Payer ID", "Program Code", "Facility", "Bill Date",
             "Open Balance")
COST_HEADER = ("Period", "Cost Center", "Location", "Amount")


@dataclass(frozen=True)
class FileEvent:
    feed: str  # key of a profiles.FeedPlan
    filename: str
    content: bytes
    arrives: dt.date


@dataclass(frozen=True)
class Action:
    """A step of the denial lifecycle the billing team records on ``on``."""

    kind: str  # appeal | write_off
    on: dt.date
    pcn: str
    denied_on: dt.date
    level: str = "claim"  # claim | line
    procedure: str = ""
    reason: str = ""


Event = FileEvent | Action


@dataclass(frozen=True)
class Site:
    key: str
    party: Party
    state: str


@dataclass(frozen=True)
class ProgramSite:
    code: str
    site: Site
    billing: P.ProgramBilling
    place_of_service: str


@dataclass(frozen=True)
class Client:
    """A Meridian account that orders tests: its specialty, state, NPI and an ordering physician."""

    specialty: str
    state: str
    npi: str
    physician: tuple[str, str]


@dataclass
class OrgInputs:
    """What the simulation needs from the organization's reference data."""

    slug: str  # riverbend-bh or meridian-dx
    submitter: Party
    payee: Party  # who the payers pay: the organization (one tax id) under its main NPI
    payers: list[tuple[PayerRef, float]]  # X12-billed payers and their share of volume
    sites: dict[str, Site]
    programs: list[ProgramSite] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)
    # Riverbend's referral sources with an NPI (hospitals, practices, ...): who referred a patient.
    referrers: list[Client] = field(default_factory=list)


@dataclass(slots=True)
class _Interval:
    """An open A/R balance: from the first submission until the account is settled."""

    opened: dt.date
    closed: dt.date | None
    balance: int
    billed_on: dt.date
    pcn: str
    payer: PayerRef | None
    program: str
    facility: str


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: dt.date, n: int) -> dt.date:
    m = day.month - 1 + n
    return dt.date(day.year + m // 12, m % 12 + 1, 1)


def _month_factor(month: dt.date, index: int, lab: bool) -> float:
    """Volume of a month against the first: the organizations grow 1.2% a month, and labs see more
    requisitions in winter (respiratory season)."""
    winter = 1.12 if lab and month.month in (12, 1, 2) else 1.0
    return (1 + 0.012 * index) * winter


def mean_month_factor(year: int, lab: bool) -> float:
    """The average of ``_month_factor`` over a history: claims per month times this is the mean."""
    first = dt.date(year - 1, 7, 1)
    return sum(_month_factor(add_months(first, i), i, lab) for i in range(MONTHS)) / MONTHS


def final_filename(year: int, stream: str) -> str:
    """The name of the last file of a history: present means the whole history was loaded."""
    return _costs_name(dt.date(year, 12, 31), stream)


def first_batch_ending(year: int, stream: str) -> str:
    """How the names of a history's first files end: its first claim batches, the first files it loads."""
    return f"_{dt.date(year - 1, 7, CYCLE_DAY):%Y%m%d}{_suffix(stream)}.edi"


def _costs_name(day: dt.date, stream: str) -> str:
    return f"rcm_costs_{day:%Y-%m}{_suffix(stream)}.csv"


def _suffix(stream: str) -> str:
    return "" if stream == "core" else f"_{stream}"


class History:
    """The billing history of one organization, for one stream (``core`` demo data or a ``bench`` batch)."""

    def __init__(self, inputs: OrgInputs, *, seed: int, year: int, stream: str = "core", volume: float = 1.0,
                 actions: bool = True) -> None:
        self.inputs = inputs
        self.lab = inputs.slug == "meridian-dx"
        self.rng = random.Random(f"{seed}:{inputs.slug}:rcm:{stream}")
        self.stream, self.volume, self.emit_actions = stream, volume, actions
        self.first = dt.date(year - 1, 7, 1)
        self.months = [add_months(self.first, i) for i in range(MONTHS)]
        self.end = dt.date(year, 12, 31)
        self.prefix = ("MD" if self.lab else "RB") + ("" if stream == "core" else "B")
        self.control = 1 if stream == "core" else 500_001
        self.payer_numbers = 0
        self.heap: list[tuple[dt.date, int, int, Any]] = []
        self.seq = 0
        self.done: set[Any] = set()
        self.claims_837: dict[tuple[str, dt.date], list[Claim]] = {}
        self.acks: dict[dt.date, list[Ack]] = {}
        self.remits: dict[tuple[dt.date, str], dict[tuple[str, dt.date], Remittance]] = {}  # by file, payer and day
        self.open_ar: list[_Interval] = []
        self.cash: dict[tuple[dt.date, str], int] = {}
        self.terms = {payer.name: self._terms(payer) for payer, _ in inputs.payers}
        self.pools: dict[str, list[Patient]] = {}
        self.programs = {p.code: p for p in inputs.programs}
        for month in self.months:
            self._schedule(month_end(month), "ar", month_end(month))
            self._schedule(month_end(month), "costs", month_end(month))
        # Files that arrive late: one program's 837 export, one payer's ERAs for half a month.
        self.late_837 = ("837:ASH-OP", self._cycle(self.months[6])) if not self.lab and stream == "core" else None
        self.late_era = ("Cigna Healthcare", dt.date(year, 4, 15)) if self.lab and stream == "core" else None
        self.resend_era = dt.date(year, 6, 15) if self.lab and stream == "core" else None

    # -- reference behaviour -------------------------------------------------------------------

    def _terms(self, payer: PayerRef) -> P.Terms:
        base = (P.LAB_TERMS if self.lab else P.BH_TERMS)[payer.payer_class]
        terms = replace(base, **P.PAYER_TWEAKS.get(payer.name, {}))  # type: ignore[arg-type]
        # One contract rate and check-run weekday per payer, fixed by its name.
        pick = random.Random(f"terms:{payer.name}")
        lo, hi = terms.allowed
        rate = round(lo + (hi - lo) * pick.random(), 3)
        return replace(terms, allowed=(rate, rate), payment_weekday=(terms.payment_weekday + pick.randrange(2)) % 5)

    def _cycle(self, month: dt.date) -> dt.date:
        return month.replace(day=CYCLE_DAY)

    def _next_cycle(self, after: dt.date) -> dt.date:
        cycle = self._cycle(after.replace(day=1))
        return cycle if cycle >= after else self._cycle(add_months(after.replace(day=1), 1))

    def _pay_date(self, payer: PayerRef, earliest: dt.date) -> dt.date:
        """The payer's first check run on or after ``earliest``."""
        terms = self.terms[payer.name]
        day = earliest + dt.timedelta(days=(terms.payment_weekday - earliest.weekday()) % 7)
        if terms.check_weeks == 2 and (day.toordinal() // 7) % 2 != len(payer.name) % 2:
            day += dt.timedelta(days=7)
        return day

    def _days_to_pay(self, payer: PayerRef) -> int:
        lo, mode, hi = self.terms[payer.name].days_to_pay
        return max(8, round(self.rng.triangular(lo, hi, mode)))

    def _weighted(self, options: Sequence[tuple[Any, float]]) -> Any:
        return self.rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]

    # -- the timeline ----------------------------------------------------------------------------

    def _schedule(self, on: dt.date, kind: str, key: Any) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (on, PRIORITY[kind], self.seq, (kind, key)))

    def _action(self, action: Action) -> None:
        if self.emit_actions and action.on <= self.end:
            self.seq += 1
            heapq.heappush(self.heap, (action.on, PRIORITY["action"], self.seq, ("action", action)))

    def events(self) -> Iterator[Event]:
        for i, month in enumerate(self.months):
            self._simulate(month, i)
            following = self._cycle(self.months[i + 1]) if i + 1 < MONTHS else self.end + dt.timedelta(days=1)
            yield from self._flush(before=following)

    def _flush(self, *, before: dt.date) -> Iterator[Event]:
        while self.heap and self.heap[0][0] < before:
            on, _, _, (kind, key) = heapq.heappop(self.heap)
            if on > self.end:
                continue
            if kind == "action":
                yield key
                continue
            self.done.add((kind, key))
            event = getattr(self, f"_render_{kind}")(key, on)
            if event is not None:
                yield event

    def _next_control(self) -> int:
        self.control += 1
        return self.control

    # -- claims ------------------------------------------------------------------------------------

    def _simulate(self, month: dt.date, index: int) -> None:
        cycle = self._cycle(month)
        growth = _month_factor(month, index, self.lab)
        if self.lab:
            n = round(P.MERIDIAN_CLAIMS_PER_MONTH * self.volume * growth * self.rng.uniform(0.93, 1.07))
            for seq in range(1, n + 1):
                claim, feed = self._lab_claim(month, cycle, seq)
                self._first_submission(claim, feed, cycle)
            return
        seq = 0
        for program in self.inputs.programs:
            billing = program.billing
            n = round(billing.claims_per_month * self.volume * growth * self.rng.uniform(0.9, 1.1))
            pool = self._pool(program, n)
            for _ in range(n):
                seq += 1
                claim = self._bh_claim(program, self.rng.choice(pool), month, cycle, seq)
                self._first_submission(claim, f"837:{program.code}", cycle)

    def _pcn(self, month: dt.date, seq: int) -> str:
        return f"{self.prefix}{month:%y%m}{seq:0{6 if self.stream != 'core' else 4}d}"

    def _patient(self, payers: list[tuple[PayerRef, float]], *, ages: tuple[int, int], year: int) -> Patient:
        rng = self.rng
        payer = self._weighted(payers)
        first, last = person_name(rng)
        birth = dt.date(year - rng.randint(*ages), rng.randint(1, 12), rng.randint(1, 28))
        member = f"{payer.payer_id[:2]}{rng.randrange(10**8, 10**9)}"
        return Patient(member, last, first, birth, rng.choice("FM"), payer)

    def _pool(self, program: ProgramSite, n: int) -> list[Patient]:
        """The program's patients this month: about a third are new each month."""
        recipe = program.billing.recipe
        excluded = P.NOT_FOR_RECIPE.get(recipe, ())
        payers = [(payer, share) for payer, share in self.inputs.payers
                  if program.site.state in P.RIVERBEND_PAYER_STATES.get(payer.name, (program.site.state,))
                  and payer.payer_class not in excluded]
        size = max(6, round(n * (0.6 if recipe in ("php", "iop", "res") else 0.9)))
        pool = self.pools.setdefault(program.code, [])
        pool[:] = [p for p in pool if self.rng.random() > 0.35][:size]
        while len(pool) < size:
            pool.append(self._patient(payers, ages=(18, 72), year=self.first.year))
        return pool

    def _window(self, month: dt.date) -> list[dt.date]:
        """The weekdays whose services the batch of ``month`` bills: since the previous batch."""
        start, end = self._cycle(add_months(month, -1)), self._cycle(month)
        return [start + dt.timedelta(days=d) for d in range((end - start).days)
                if (start + dt.timedelta(days=d)).weekday() < 5]

    def _bh_claim(self, program: ProgramSite, patient: Patient, month: dt.date, cycle: dt.date, seq: int) -> Claim:
        rng, billing = self.rng, program.billing
        recipe = billing.recipe
        days = self._window(month)
        lines: list[Line] = []
        if recipe == "php":
            for day in sorted(rng.sample(days, rng.randint(3, 8))):
                lines.append(Line(P.PHP, 1, day, day))
        elif recipe == "iop":
            for day in sorted(rng.sample(days, rng.randint(2, 5))):
                lines.append(Line(P.IOP, 1, day, day))
        elif recipe in ("res", "detox"):
            service = P.RES if recipe == "res" else P.DETOX
            stay = rng.randint(7, 20) if recipe == "res" else rng.randint(3, 7)
            start = rng.choice(days[:len(days) - stay // 2])  # the stay may run up to the batch
            end = min(start + dt.timedelta(days=stay - 1), cycle - dt.timedelta(days=1))
            lines.append(Line(service, (end - start).days + 1, start, end))
        else:
            visit = self._weighted(P.OP_VISITS)
            day = rng.choice(days)
            lines += [Line(service, 1, day, day) for service in visit]
        diagnoses = tuple(rng.sample(P.BH_DIAGNOSES[recipe], rng.randint(1, 2)))
        auth = f"AU{rng.randrange(10**7, 10**8)}" if recipe != "op" else ""
        if billing.kind == "I":
            filing = "MA" if patient.payer.payer_class == "medicare" else P.FILING_INDICATOR[patient.payer.payer_class]
            facility_code = billing.facility_type
        else:
            filing, facility_code = P.FILING_INDICATOR[patient.payer.payer_class], program.place_of_service
        return Claim(self._pcn(month, seq), billing.kind, facility_code, program.site.party, patient, lines, diagnoses,
                     cycle, program=program.code, authorization=auth, filing=filing, referring=self._referrer(patient))

    def _referrer(self, patient: Patient) -> tuple[str, str, str] | None:
        """The account that referred ``patient`` (NM1*DN), from the member id alone: a generator of its
        own, so the claim stream's draws are the same with or without referral sources."""
        if not self.inputs.referrers:
            return None
        source = random.Random(f"referrer:{patient.member_id}").choice(self.inputs.referrers)
        return (source.physician[0], source.physician[1], source.npi)

    def _lab_claim(self, month: dt.date, cycle: dt.date, seq: int) -> tuple[Claim, str]:
        rng = self.rng
        client = rng.choice(self.inputs.clients)
        order = P.ORDERS[self._weighted(P.ORDERS_BY_SPECIALTY[client.specialty])]
        patient = self._patient(self.inputs.payers, ages=(18, 86), year=month.year)
        day = rng.choice(self._window(month))
        tests = list(order.tests) + [service for service, p in order.extras if rng.random() < p]
        lines = [Line(service, rng.randint(*order.units) if i == 0 else 1, day, day) for i, service in enumerate(tests)]
        site = self.inputs.sites["dal" if client.state in ("TX", "OK", "LA") else "tpa"]
        diagnoses = tuple(rng.sample(order.diagnoses, min(len(order.diagnoses), rng.randint(1, 3))))
        claim = Claim(self._pcn(month, seq), "P", "81", site.party, patient, lines, diagnoses, cycle,
                      referring=(client.physician[0], client.physician[1], client.npi),
                      filing=P.FILING_INDICATOR[patient.payer.payer_class])
        return claim, "837"

    # -- a claim's life ----------------------------------------------------------------------------

    def _factor(self, claim: Claim) -> float:
        """How much likelier than the payer's average this claim is to be denied."""
        if self.lab:
            codes = {line.service.code for line in claim.lines}
            return 1.9 if "81226" in codes else 1.35 if codes & {"G0481", "G0482"} else 1.0
        recipe = self.programs[claim.program].billing.recipe
        return {"res": 1.25, "php": 1.15, "detox": 1.2, "iop": 1.0, "op": 0.75}[recipe]

    def _expected(self, claim: Claim) -> int:
        return sum(self._allowed(claim, line) for line in claim.lines)

    def _allowed(self, claim: Claim, line: Line, factor: float = 1.0) -> int:
        rate = self.terms[claim.patient.payer.name].allowed[0] * factor
        if self.lab:
            return min(line.charge, round(line.service.fee * line.units * rate))
        return round(line.charge * rate)

    def _first_submission(self, claim: Claim, feed: str, cycle: dt.date) -> None:
        settled = self._submit(claim, feed, cycle, may_reject=True)
        site = claim.billing.name
        self.open_ar.append(_Interval(cycle, settled, self._expected(claim), cycle, claim.pcn, claim.patient.payer,
                                      claim.program, site))

    def _queue_837(self, claim: Claim, feed: str, cycle: dt.date) -> None:
        key = (feed, cycle)
        assert ("837", key) not in self.done, f"837 {key} already sent"
        bucket = self.claims_837.get(key)
        if bucket is None:
            bucket = self.claims_837[key] = []
            late = self.late_837 is not None and key == self.late_837
            self._schedule(cycle + dt.timedelta(days=40 if late else 0), "837", key)
        bucket.append(claim)

    def _acknowledge(self, claim: Claim, cycle: dt.date, status: tuple[str, str, str], accepted: bool) -> None:
        on = cycle + dt.timedelta(days=1)
        assert ("277", on) not in self.done
        if on not in self.acks:
            self.acks[on] = []
            self._schedule(on, "277", on)
        self.acks[on].append(Ack(claim, status, accepted))

    def _submit(self, claim: Claim, feed: str, cycle: dt.date, *, may_reject: bool) -> dt.date | None:
        """Send the claim with the batch of ``cycle``; returns the day its account is settled (None: open)."""
        if cycle > self.end:
            return None
        self._queue_837(claim, feed, cycle)
        rate = 0.04 if self.lab else self.programs[claim.program].billing.reject_rate
        if may_reject and self.rng.random() < rate:
            self._acknowledge(claim, cycle, self.rng.choice(P.REJECTIONS), False)
            fixed = replace(claim, lines=list(claim.lines), submitted=self._next_cycle(cycle + dt.timedelta(days=1)))
            return self._submit(fixed, feed, fixed.submitted, may_reject=False)
        self._acknowledge(claim, cycle, P.ACCEPTED, True)
        return self._adjudicate(claim, feed)

    def _remittance(self, payer: PayerRef, paid_on: dt.date) -> tuple[Remittance, dt.date]:
        """The transaction set the payer pays the organization with on ``paid_on``, and the day its file arrives."""
        period_end = paid_on.replace(day=15) if paid_on.day <= 15 else month_end(paid_on)
        group, arrives = "main", period_end
        if self.late_era is not None and (payer.name, period_end) == self.late_era:
            group, arrives = "late", period_end + dt.timedelta(days=26)
        key = (period_end, group)
        assert ("835", key) not in self.done, f"835 {key} already sent"
        if key not in self.remits:
            self.remits[key] = {}
            self._schedule(arrives, "835", key)
        ts_key = (payer.name, paid_on)
        remit = self.remits[key].get(ts_key)
        if remit is None:
            trace = f"{payer.payer_id}{paid_on:%y%m%d}{0 if self.stream == 'core' else 9}"
            remit = self.remits[key][ts_key] = Remittance(payer, self.inputs.payee, paid_on, trace,
                                                          f"{payer.payer_id:0>9}"[-9:])
        return remit, arrives

    def _payer_number(self, payer: PayerRef, on: dt.date) -> str:
        self.payer_numbers += 1
        return f"{payer.payer_id[-3:]}{on:%y%j}{self.payer_numbers:07d}{'' if self.stream == 'core' else 'B'}"

    def _adjudicate(self, claim: Claim, feed: str) -> dt.date | None:
        payer = claim.patient.payer
        terms = self.terms[payer.name]
        paid_on = self._pay_date(payer, claim.submitted + dt.timedelta(days=self._days_to_pay(payer)))
        if paid_on > self.end:
            return None
        remit, arrives = self._remittance(payer, paid_on)
        received = claim.submitted + dt.timedelta(days=2)
        if claim.frequency == "1" and self.rng.random() < terms.denial_rate * self._factor(claim):
            return self._deny(claim, feed, remit, arrives, received, terms)
        payment = self._pay(claim, terms, paid_on, received, line_denials=claim.frequency == "1")
        remit.add(payment)
        self._collected(paid_on, claim, payment.paid)
        if payer.payer_class.startswith("medicaid") and (paid_on - claim.submitted).days > 30 and payment.paid:
            remit.add_interest(max(100, payment.paid // 400))  # state prompt-pay interest
        if payment.patient_share:
            statement = paid_on + dt.timedelta(days=3)
            closed = paid_on + dt.timedelta(days=self.rng.choice((18, 30, 45, 60, 95, 150)))
            self.open_ar.append(_Interval(statement, closed, payment.patient_share, statement, claim.pcn, None,
                                          claim.program, claim.billing.name))
        denied_lines = [lp for lp in payment.lines if lp.paid == 0 and lp.adjustments
                        and lp.adjustments[0][0] == "CO" and lp.adjustments[0][1] != "45"]
        if denied_lines:
            self._line_denial_work(claim, paid_on, arrives, denied_lines)
        elif claim.frequency == "1" and self.rng.random() < 0.006:
            self._reverse(claim, payment, terms, paid_on)
        return paid_on

    def _pay(self, claim: Claim, terms: P.Terms, paid_on: dt.date, received: dt.date, *, line_denials: bool,
             factor: float = 1.0) -> ClaimPayment:
        rng = self.rng
        cost_share = terms.coinsurance > 0 and rng.random() < terms.cost_share_rate
        deductible = (rng.choice((5000, 10000, 25000)) if cost_share and paid_on.month <= 3 and rng.random() < 0.5
                      else 0)
        lines = []
        for i, line in enumerate(claim.lines):
            if line_denials and i > 0 and rng.random() < terms.line_denial_rate:
                _, carc, rarc = self._weighted([((c, r, rr), w) for c, r, rr, w in P.LINE_DENIALS])
                lines.append(LinePayment(line, 0, [("CO", carc, line.charge)], rarc))
                continue
            allowed = self._allowed(claim, line, factor)
            patient = 0
            if deductible:
                patient = min(deductible, allowed * 4 // 5)  # the plan still pays part of each service
                deductible -= patient
                adjustments = [("CO", "45", line.charge - allowed), ("PR", "1", patient)]
            else:
                adjustments = [("CO", "45", line.charge - allowed)]
            if cost_share and allowed > patient:
                coins = round((allowed - patient) * terms.coinsurance)
                adjustments.append(("PR", "2", coins))
                patient += coins
            lines.append(LinePayment(line, allowed - patient, adjustments, allowed=allowed))
        paid = sum(lp.paid for lp in lines)
        share = sum(a for lp in lines for g, _, a in lp.adjustments if g == "PR")
        claim_adjustments = []
        if terms.sequestration and paid:
            cut = round(paid * 0.02)
            claim_adjustments.append(("CO", "253", cut))
            paid -= cut
        return ClaimPayment(claim, "1", self._payer_number(claim.patient.payer, paid_on), claim.charge, paid, share,
                            claim_adjustments, "", lines, received)

    def _collected(self, on: dt.date, claim: Claim, amount: int) -> None:
        key = (on.replace(day=1), claim.billing.name)
        self.cash[key] = self.cash.get(key, 0) + amount

    def _reverse(self, claim: Claim, payment: ClaimPayment, terms: P.Terms, paid_on: dt.date) -> None:
        """The payer takes the payment back (CLP02 22) and pays the claim again at a corrected rate."""
        payer = claim.patient.payer
        on = self._pay_date(payer, paid_on + dt.timedelta(days=self.rng.randint(30, 90)))
        if on > self.end:
            return
        remit, _ = self._remittance(payer, on)
        again = self._pay(claim, replace(terms, coinsurance=0.0), on, payment.received or on, line_denials=False,
                          factor=1.04)
        remit.add(payment.negated())
        remit.add(again)
        self._collected(on, claim, again.paid - payment.paid)

    def _deny(self, claim: Claim, feed: str, remit: Remittance, arrives: dt.date, received: dt.date,
              terms: P.Terms) -> dt.date | None:
        rng = self.rng
        category = self._weighted(terms.denial_mix)
        carc, rarc = self._weighted([((c, r), w) for c, r, w in P.DENIAL_CODES[category]])
        if carc in ("197", "15"):
            claim.authorization = ""  # sent without the authorization the payer wanted
        payer = claim.patient.payer
        paid_on = remit.paid_on
        number = self._payer_number(payer, paid_on)
        remit.add(ClaimPayment(claim, "4" if carc == "31" else "1", number, claim.charge, 0, 0,
                               [("CO", carc, claim.charge)], rarc, [], received))
        notice = max(paid_on, arrives)  # the billing team sees the denial when its ERA arrives
        fate = self._weighted(P.FATES[category])
        denial = Action("appeal", notice, claim.pcn, paid_on)
        if fate == "corrected":
            # A replacement claim (frequency 7) naming the denied one by the payer's claim number.
            cycle = self._next_cycle(notice + dt.timedelta(days=rng.randint(4, 20)))
            corrected = replace(claim, lines=list(claim.lines), submitted=cycle, frequency="7", original_number=number)
            if carc in ("197", "15"):
                corrected.authorization = f"AU{rng.randrange(10**7, 10**8)}"
            return self._submit(corrected, feed, cycle, may_reject=False)
        if fate in ("appeal_won", "appeal_lost"):
            appealed = notice + dt.timedelta(days=rng.randint(5, 21))
            if appealed > self.end:
                return None
            self._action(replace(denial, on=appealed, reason=f"Appeal sent with records ({category})"))
            if fate == "appeal_lost":
                closed = appealed + dt.timedelta(days=rng.randint(21, 60))
                self._action(replace(denial, kind="write_off", on=closed, reason=P.WRITE_OFF_REASONS["appeal_lost"]))
                return closed if closed <= self.end else None
            paid_on = self._pay_date(payer, appealed + dt.timedelta(days=rng.randint(14, 45)))
            if paid_on > self.end:
                return None
            remit, _ = self._remittance(payer, paid_on)
            payment = self._pay(claim, terms, paid_on, received, line_denials=False)
            remit.add(payment)
            self._collected(paid_on, claim, payment.paid)
            return paid_on
        if fate == "write_off":
            closed = notice + dt.timedelta(days=rng.randint(10, 45))
            self._action(replace(denial, kind="write_off", on=closed, reason=P.WRITE_OFF_REASONS[category]))
            return closed if closed <= self.end else None
        return None

    def _line_denial_work(self, claim: Claim, paid_on: dt.date, arrives: dt.date,
                          denied: list[LinePayment]) -> None:
        notice = max(paid_on, arrives)
        for code in dict.fromkeys(lp.line.service.code for lp in denied):
            carc = next(lp.adjustments[0][1] for lp in denied if lp.line.service.code == code)
            bundled = carc in ("97", "234")
            if self.rng.random() < (0.6 if bundled else 0.25):
                reason = P.WRITE_OFF_REASONS["bundling" if bundled else "medical_necessity"]
                self._action(Action("write_off", notice + dt.timedelta(days=self.rng.randint(10, 45)), claim.pcn,
                                    paid_on, "line", code, reason))

    # -- rendering -------------------------------------------------------------------------------

    def _time(self) -> str:
        return f"{self.rng.randint(6, 21):02d}{self.rng.randint(0, 59):02d}"

    def _render_837(self, key: tuple[str, dt.date], on: dt.date) -> FileEvent:
        feed, cycle = key
        claims = self.claims_837.pop(key)
        providers: dict[str, tuple[Party, list[Claim]]] = {}
        for claim in claims:
            providers.setdefault(claim.billing.identifier, (claim.billing, []))[1].append(claim)
        kind = claims[0].kind
        program = feed.split(":", 1)[1].lower() if ":" in feed else ""
        batch = f"{self.prefix}{cycle:%y%m%d}{len(claims):04d}"
        content = render_837(providers.values(), kind=kind, submitter=self.inputs.submitter, receiver=CLEARINGHOUSE,
                             batch=batch, when=cycle, time=self._time(), control=self._next_control())
        name = "_".join(p for p in (self.inputs.slug.split("-")[0], program, f"837{kind}", f"{cycle:%Y%m%d}") if p)
        return FileEvent(feed, f"{name}{_suffix(self.stream)}.edi", content, on)

    def _render_277(self, on: dt.date, _: dt.date) -> FileEvent:
        acks = self.acks.pop(on)
        content = render_277(acks, source=CLEARINGHOUSE, submitter=self.inputs.submitter,
                             batch=f"{self.prefix}{on:%y%m%d}", when=on, time=self._time(),
                             control=self._next_control())
        return FileEvent("277", f"277CA_{on:%Y%m%d}{_suffix(self.stream)}.edi", content, on)

    def _render_835(self, key: tuple[dt.date, str], on: dt.date) -> FileEvent:
        period_end, group = key
        remits = sorted(self.remits.pop(key).values(), key=lambda r: (r.paid_on, r.payer.name))
        for remit in remits:
            if remit.paid and self.rng.random() < 0.03:  # recovery of an old overpayment
                amount = min(remit.paid // 4, self.rng.randint(2500, 15000))
                remit.provider_adjustments.append(("WO", f"OVP{self.rng.randrange(10**6, 10**7)}", amount))
        receiver = self.inputs.submitter.identifier
        content = render_835(remits, sender=CLEARINGHOUSE.identifier, receiver=receiver, when=on, time=self._time(),
                             control=self._next_control())
        name = f"ERA_{period_end:%Y%m%d}{'_' + group if group != 'main' else ''}{_suffix(self.stream)}.835"
        if self.resend_era is not None and period_end == self.resend_era and remits:
            # The clearinghouse sends one payment again in a file of its own: the same TRN trace.
            again = render_835(remits[:1], sender=CLEARINGHOUSE.identifier, receiver=receiver, when=on,
                               time=self._time(), control=self._next_control())
            resent = FileEvent("835", f"ERA_{period_end:%Y%m%d}_resent.835", again, on + dt.timedelta(days=9))
            self._schedule(resent.arrives, "file", resent)
        return FileEvent("835", name, content, on)

    def _render_file(self, event: FileEvent, on: dt.date) -> FileEvent:
        return event

    def _render_ar(self, as_of: dt.date, on: dt.date) -> FileEvent:
        rows = []
        keep = []
        for iv in self.open_ar:
            if iv.opened <= as_of and (iv.closed is None or iv.closed > as_of):
                name, payer_id = (iv.payer.name, iv.payer.payer_id) if iv.payer else ("Self-pay", "")
                rows.append((us_date(as_of), iv.pcn, name, payer_id, iv.program, iv.facility, us_date(iv.billed_on),
                             f"{iv.balance / 100:.2f}"))
            if iv.closed is None or iv.closed > as_of:
                keep.append(iv)
        self.open_ar = keep
        if not self.lab and self.stream == "core" and as_of == month_end(self.months[14]):
            # The billing system exported a program revops does not know yet and a row billed after
            # the snapshot: both are quarantined with their reason, the rest loads.
            rows.append((us_date(as_of), f"RB{as_of:%y%m}9901", "BlueCare Tennessee", "", "NSH-ADOL",
                         "Riverbend Nashville Campus", us_date(as_of - dt.timedelta(days=20)), "1840.00"))
            rows.append((us_date(as_of), f"RB{as_of:%y%m}9902", "Aetna", "", "NSH-OP", "Riverbend Nashville Campus",
                         us_date(as_of + dt.timedelta(days=2)), "165.00"))
        header = AR_HEADER if not self.lab else tuple(h for h in AR_HEADER if h != "Program Code")
        if self.lab:
            rows = [row[:4] + row[5:] for row in rows]
        content = render_csv(header, rows)
        return FileEvent("ar", f"ar_aging_{as_of:%Y%m%d}{_suffix(self.stream)}.csv", content, on)

    def _render_costs(self, last_day: dt.date, on: dt.date) -> FileEvent:
        plan = P.MERIDIAN_COSTS if self.lab else P.RIVERBEND_COSTS
        month = last_day.replace(day=1)
        sites = sorted({s.party.name for s in self.inputs.sites.values()
                        if self.lab or any(p.site.key == s.key for p in self.inputs.programs)})
        cash = {site: self.cash.pop((month, site), 0) for site in sites}
        total = max(round(plan.floor * self.volume), round(sum(cash.values()) * self.rng.uniform(*plan.rate)))
        weights = {site: cash[site] or 1 for site in sites}
        rows = []
        for site in sites:
            share = total * weights[site] / sum(weights.values())
            for category, part in plan.categories:
                rows.append((f"{month:%Y-%m}", category, site, f"{round(share * part) / 100:.2f}"))
        return FileEvent("costs", _costs_name(last_day, self.stream), render_csv(COST_HEADER, rows), on)
