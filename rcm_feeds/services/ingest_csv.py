"""Loading CSV feeds (claim exports, A/R aging snapshots, revenue-cycle costs) row by row, in batches.

The feed's ``column_mapping`` maps our field names to the customer's column headers (matched
case-insensitively, surrounding spaces ignored); a field left out of the mapping is looked for
under its own name, so a file whose headers are our field names needs no mapping at all
(``CSV_FIELDS`` lists them with their defaults). A file whose header lacks a required column, or
that is not UTF-8, is quarantined whole. Otherwise each bad row is quarantined with its line
number (1 = the header; a quoted value spanning lines counts from its first line), the reason
and the row as received, and the good rows load. Money is rounded once, half-up to the cent, as
it is read; dates are YYYY-MM-DD, MM/DD/YYYY or YYYYMMDD.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.core.exceptions import ValidationError

from revops import bulk

from ..models import ArBalance, FeedKind, RcmCost
from ..phi import patient_hasher
from .claims import ClaimInput, ClaimWriter, LineInput
from .context import FileRefused, LoadContext, cents
from .files import file_open
from .quarantine import quarantine_rows
from .resolve import FacilityResolver, PayerResolver, ProgramResolver

BATCH = 5000
QUARANTINE_BATCH = 1000


@dataclass(frozen=True)
class CsvField:
    name: str
    required: bool
    help: str


CSV_FIELDS: dict[str, tuple[CsvField, ...]] = {
    FeedKind.CSV_CLAIMS: (
        CsvField("patient_control_number", True, "The claim's control number (837 CLM01), matched by remittances."),
        CsvField("charge", True, "Total billed charge."),
        CsvField("submitted_on", True, "Date the claim was submitted."),
        CsvField("payer", False, "Payer name (an unknown payer is created with class 'other')."),
        CsvField("payer_id", False, "Payer identifier (as in 835 N1*PR / 837 NM1*PR); matched before the name."),
        CsvField("member_id", False, "Patient member id: stored only as a salted hash, never as given."),
        CsvField("billing_npi", False, "Billing provider NPI (10 digits); picks the facility with that NPI."),
        CsvField("place_of_service", False, "Place of service (or facility type for institutional claims)."),
        CsvField("kind", False, "P professional (default) or I institutional."),
        CsvField("frequency", False, "1 original (default), 7 replacement, 8 void."),
        CsvField("original_payer_claim_number", False,
                 "For a replacement or void: the payer's number of the claim it replaces."),
        CsvField("prior_authorization", False, "Prior authorization number."),
        CsvField("referring_npi", False, "Referring or ordering provider NPI (10 digits): the referral source, "
                                         "matched to an account's NPI for commissions on net collected revenue."),
        CsvField("diagnoses", False, "ICD-10 codes separated by ';' or '|' (principal first)."),
        CsvField("service_from", False, "First date of service."),
        CsvField("service_to", False, "Last date of service."),
        CsvField("procedure_code", False, "HCPCS/CPT code: the claim gets one line with the whole charge."),
        CsvField("modifiers", False, "Procedure modifiers, separated by ':'."),
        CsvField("revenue_code", False, "Revenue code (institutional)."),
        CsvField("units", False, "Units of service."),
        CsvField("program", False, "Program code; else the feed's source program or the program mapping."),
        CsvField("facility", False, "Facility name; else the billing NPI's or the program's facility."),
    ),
    FeedKind.CSV_AR: (
        CsvField("as_of", True, "Date of the snapshot."),
        CsvField("balance", True, "Open balance."),
        CsvField("billed_on", True, "Date the claim was billed (aging starts here)."),
        CsvField("patient_control_number", False, "Claim control number."),
        CsvField("payer", False, "Payer name."),
        CsvField("payer_id", False, "Payer identifier."),
        CsvField("program", False, "Program code; else the feed's source program."),
        CsvField("facility", False, "Facility name; else the program's facility."),
    ),
    FeedKind.CSV_COSTS: (
        CsvField("month", True, "Month of the cost: YYYY-MM (or any date in the month)."),
        CsvField("category", True, "Cost category, e.g. billing staff, clearinghouse fees, collection agency."),
        CsvField("amount", True, "Amount."),
        CsvField("facility", False, "Facility name."),
    ),
}


class RowInvalid(ValueError):
    def __init__(self, message: str, code: str = "bad_row") -> None:
        super().__init__(message)
        self.code = code


# -- mapping -------------------------------------------------------------------------------------

def default_mapping(kind: str) -> dict[str, str]:
    return {f.name: f.name for f in CSV_FIELDS[kind]}


def mapping_errors(kind: str, mapping: dict[str, Any]) -> list[str]:
    """What is wrong with a feed's column mapping (empty when it is fine)."""
    if kind not in CSV_FIELDS:
        return ["Only CSV feeds have a column mapping."] if mapping else []
    if not isinstance(mapping, dict):
        return ["The column mapping must map our field names to your column headers."]
    known = {f.name for f in CSV_FIELDS[kind]}
    errors = [f"{name!r} is not a field of this feed (fields: {', '.join(sorted(known))})"
              for name in mapping if name not in known]
    errors += [f"the header for {name!r} must be text" for name, header in mapping.items()
               if not isinstance(header, str)]
    headers = [h.strip().lower() for h in mapping.values() if isinstance(h, str) and h.strip()]
    if len(headers) != len(set(headers)):
        errors.append("two fields are mapped to the same column header")
    return errors


def _columns(kind: str, mapping: dict[str, str], header: list[str]) -> dict[str, int]:
    """Our field -> column index; refuses the file when a required column is missing."""
    position = {}
    for i, name in enumerate(header):
        position.setdefault(name.strip().lower(), i)
    wanted = {**default_mapping(kind), **{k: v for k, v in mapping.items() if isinstance(v, str) and v.strip()}}
    out = {}
    missing = []
    for f in CSV_FIELDS[kind]:
        index = position.get(wanted[f.name].strip().lower())
        if index is not None:
            out[f.name] = index
        elif f.required:
            missing.append(f"{f.name} (column {wanted[f.name]!r})")
    if missing:
        raise FileRefused("missing_column", "the header has no column for " + ", ".join(missing)
                          + "; map the columns in the feed's settings and run the file again", line=1)
    return out


# -- values --------------------------------------------------------------------------------------

def _text(v: dict[str, str], name: str, limit: int, *, required: bool = False) -> str:
    value = v.get(name, "").strip()
    if required and not value:
        raise RowInvalid(f"{name} is required", "missing_value")
    if len(value) > limit:
        raise RowInvalid(f"{name} {value[:40]!r} is longer than {limit} characters", "value_too_long")
    return value


def _money(v: dict[str, str], name: str, *, required: bool = False) -> Decimal | None:
    value = v.get(name, "").strip()
    if not value:
        if required:
            raise RowInvalid(f"{name} is required", "missing_value")
        return None
    text = value.replace("$", "").replace(",", "").replace(" ", "")
    negative = text.startswith("(") and text.endswith(")")
    try:
        amount = Decimal(text.strip("()"))
    except InvalidOperation:
        raise RowInvalid(f"{name} {value!r} is not an amount", "bad_number") from None
    if not amount.is_finite() or abs(amount) >= Decimal("1e12"):
        raise RowInvalid(f"{name} {value!r} is not an amount", "bad_number")
    return cents(-amount if negative else amount)


def _number(v: dict[str, str], name: str) -> Decimal | None:
    value = v.get(name, "").strip()
    if not value:
        return None
    try:
        number = Decimal(value.replace(",", ""))
    except InvalidOperation:
        raise RowInvalid(f"{name} {value!r} is not a number", "bad_number") from None
    if not number.is_finite() or abs(number) >= Decimal("1e8"):
        raise RowInvalid(f"{name} {value!r} is not a number", "bad_number")
    return number.quantize(Decimal("0.01"))


_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d")


def _date(v: dict[str, str], name: str, *, required: bool = False) -> dt.date | None:
    value = v.get(name, "").strip()
    if not value:
        if required:
            raise RowInvalid(f"{name} is required", "missing_value")
        return None
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise RowInvalid(f"{name} {value!r} is not a date (use YYYY-MM-DD)", "bad_date")


def _month(v: dict[str, str], name: str) -> dt.date:
    value = v.get(name, "").strip()
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", value) or re.fullmatch(r"(\d{1,2})/(\d{4})", value)
    if match:
        year, month = (int(match[1]), int(match[2])) if len(match[1]) == 4 else (int(match[2]), int(match[1]))
        if 1 <= month <= 12:
            return dt.date(year, month, 1)
        raise RowInvalid(f"{name} {value!r} is not a month", "bad_date")
    day = _date(v, name, required=True)
    assert day is not None
    return day.replace(day=1)


# -- row loaders ---------------------------------------------------------------------------------

class _ClaimsCsv:
    def __init__(self, ctx: LoadContext) -> None:
        self.ctx = ctx
        self.writer = ClaimWriter(ctx)
        self.payers = PayerResolver(ctx)
        self.programs = ProgramResolver(ctx)
        self.facilities = FacilityResolver()
        self.hasher = patient_hasher()

    def add(self, v: dict[str, str], line: int) -> None:
        pcn = _text(v, "patient_control_number", 40, required=True)
        charge = _money(v, "charge", required=True)
        submitted_on = _date(v, "submitted_on", required=True)
        kind = (_text(v, "kind", 1) or "P").upper()
        if kind not in ("P", "I"):
            raise RowInvalid(f"kind {kind!r} is not P (professional) or I (institutional)", "bad_code")
        frequency = _text(v, "frequency", 1) or "1"
        if frequency not in ("1", "7", "8"):
            raise RowInvalid(f"frequency {frequency!r} is not 1 (original), 7 (replacement) or 8 (void)", "bad_code")
        npi = _text(v, "billing_npi", 10)
        if npi and not npi.isdigit():
            raise RowInvalid(f"billing_npi {npi!r} is not 10 digits", "bad_code")
        referring_npi = _text(v, "referring_npi", 10)
        if referring_npi and not (referring_npi.isdigit() and len(referring_npi) == 10):
            raise RowInvalid(f"referring_npi {referring_npi!r} is not 10 digits", "bad_code")
        program_code = _text(v, "program", 32)
        if program_code and not self.programs.known_code(program_code):
            raise RowInvalid(f"program {program_code!r} does not exist; add it under reference data first",
                             "unknown_program")
        facility_name = _text(v, "facility", 160)
        facility_id = self.facilities.named(facility_name)
        if facility_name and facility_id is None:
            raise RowInvalid(f"facility {facility_name!r} does not exist", "unknown_facility")
        diagnoses = [d.strip().replace(".", "") for d in re.split(r"[;|]", v.get("diagnoses", "")) if d.strip()]
        for code in diagnoses:
            if len(code) > 10:
                raise RowInvalid(f"diagnosis {code[:20]!r} is not an ICD-10 code", "bad_code")
        procedure = _text(v, "procedure_code", 12)
        revenue = _text(v, "revenue_code", 4)
        service_from, service_to = _date(v, "service_from"), _date(v, "service_to")
        if service_from and service_to and service_to < service_from:
            raise RowInvalid("service_to is before service_from", "bad_date")
        lines = []
        if procedure or revenue:
            lines.append(LineInput(1, procedure, _text(v, "modifiers", 20), revenue, charge, _number(v, "units"),
                                   service_from))
        facility_code = _text(v, "place_of_service", 4)
        program_id = self.programs.resolve(procedures=[procedure] if procedure else [],
                                           revenue_codes=[revenue] if revenue else [], facility_code=facility_code,
                                           claim_kind=kind, program_code=program_code)
        if facility_id is None:
            facility_id = self.facilities.by_billing_npi(npi)
        if facility_id is None and program_id is not None:
            facility_id = self.programs.facility_of.get(program_id)
        payer_id = self.payers.resolve(payer_id=_text(v, "payer_id", 80), name=_text(v, "payer", 160), line=line,
                                       reference=pcn)
        assert charge is not None and submitted_on is not None
        self.writer.add(ClaimInput(
            source_position=line, patient_control_number=pcn, kind=kind, payer_id=payer_id, program_id=program_id,
            facility_id=facility_id, part2_program_id=self.programs.part2_of(program_id), billing_npi=npi,
            patient_hash=self.hasher(v.get("member_id", "")), charge=charge, facility_code=facility_code,
            frequency=frequency, original_payer_claim_number=_text(v, "original_payer_claim_number", 50),
            prior_authorization=_text(v, "prior_authorization", 50), diagnoses=diagnoses, service_from=service_from,
            service_to=service_to or service_from, submitted_on=submitted_on, lines=lines, line=line,
            referring_npi=referring_npi,
        ))
        self.ctx.counts["rows_loaded"] += 1

    def finish(self) -> None:
        self.writer.flush()


class _ArCsv:
    COLUMNS = ("source_file_id", "source_position", "as_of", "patient_control_number", "payer_id", "program_id",
               "facility_id", "balance", "billed_on")

    def __init__(self, ctx: LoadContext) -> None:
        self.ctx = ctx
        self.payers = PayerResolver(ctx)
        self.programs = ProgramResolver(ctx)
        self.facilities = FacilityResolver()
        self.rows: list[tuple[Any, ...]] = []

    def add(self, v: dict[str, str], line: int) -> None:
        as_of = _date(v, "as_of", required=True)
        balance = _money(v, "balance", required=True)
        billed_on = _date(v, "billed_on", required=True)
        assert as_of is not None and billed_on is not None
        if billed_on > as_of:
            raise RowInvalid(f"billed_on {billed_on} is after the snapshot date as_of {as_of}", "bad_date")
        pcn = _text(v, "patient_control_number", 40)
        program_code = _text(v, "program", 32)
        if program_code and not self.programs.known_code(program_code):
            raise RowInvalid(f"program {program_code!r} does not exist; add it under reference data first",
                             "unknown_program")
        program_id = self.programs.resolve(program_code=program_code)
        facility_name = _text(v, "facility", 160)
        facility_id = self.facilities.named(facility_name)
        if facility_name and facility_id is None:
            raise RowInvalid(f"facility {facility_name!r} does not exist", "unknown_facility")
        if facility_id is None and program_id is not None:
            facility_id = self.programs.facility_of.get(program_id)
        payer_id = self.payers.resolve(payer_id=_text(v, "payer_id", 80), name=_text(v, "payer", 160), line=line,
                                       reference=pcn)
        self.rows.append((self.ctx.file.pk, line, as_of, pcn, payer_id, program_id, facility_id, balance, billed_on))
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.ctx.counts["rows_loaded"] += bulk.copy_insert(ArBalance, columns=self.COLUMNS, rows=self.rows)
            self.ctx.counts["ar_balances"] += len(self.rows)
            self.rows = []

    finish = flush


class _CostsCsv:
    COLUMNS = ("source_file_id", "source_position", "month", "category", "facility_id", "amount")

    def __init__(self, ctx: LoadContext) -> None:
        self.ctx = ctx
        self.facilities = FacilityResolver()
        self.rows: list[tuple[Any, ...]] = []

    def add(self, v: dict[str, str], line: int) -> None:
        month = _month(v, "month")
        category = _text(v, "category", 60, required=True)
        amount = _money(v, "amount", required=True)
        facility_name = _text(v, "facility", 160)
        facility_id = self.facilities.named(facility_name)
        if facility_name and facility_id is None:
            raise RowInvalid(f"facility {facility_name!r} does not exist", "unknown_facility")
        self.rows.append((self.ctx.file.pk, line, month, category, facility_id, amount))
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.ctx.counts["rows_loaded"] += bulk.copy_insert(RcmCost, columns=self.COLUMNS, rows=self.rows)
            self.ctx.counts["rcm_costs"] += len(self.rows)
            self.rows = []

    finish = flush


_ROW_LOADERS = {FeedKind.CSV_CLAIMS: _ClaimsCsv, FeedKind.CSV_AR: _ArCsv, FeedKind.CSV_COSTS: _CostsCsv}


# -- files ---------------------------------------------------------------------------------------

class _Tap:
    """Line iterator for csv.reader that remembers the raw lines of the current record."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.buffer: list[str] = []

    def __iter__(self) -> _Tap:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.buffer.append(line)
        return line

    def take(self) -> str:
        raw = "".join(self.buffer).rstrip("\r\n")
        self.buffer.clear()
        return raw


def _values(row: list[str], columns: dict[str, int]) -> dict[str, str]:
    n = len(row)
    return {name: row[i] if i < n else "" for name, i in columns.items()}


def load_csv(ctx: LoadContext, stream: IO[bytes]) -> None:
    """Load the good rows of a CSV file and quarantine the bad ones (raises FileRefused for the file)."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    tap = _Tap(iter(text))
    reader = csv.reader(tap)
    line = 0
    try:
        try:
            header = next(reader)
        except StopIteration:
            raise FileRefused("empty", "the file is empty: the first line must name the columns", line=1) from None
        tap.take()
        columns = _columns(ctx.feed.kind, ctx.feed.column_mapping or {}, header)
        loader = _ROW_LOADERS[ctx.feed.kind](ctx)
        bad: list[tuple[int, str, str, str]] = []
        tell = getattr(stream, "tell", None)
        for row in reader:
            line = reader.line_num - len(tap.buffer) + 1
            raw = tap.take()
            if not any(cell.strip() for cell in row):
                continue
            try:
                loader.add(_values(row, columns), line)
            except RowInvalid as exc:
                bad.append((line, exc.code, f"line {line}: {exc}", raw))
                if len(bad) >= QUARANTINE_BATCH:
                    quarantine_rows(ctx, bad)
                    bad = []
            if tell is not None:
                ctx.progress(tell(), f"{line:,} lines read")
        loader.finish()
        quarantine_rows(ctx, bad)
    except UnicodeDecodeError as exc:
        raise FileRefused("not_utf8", f"the file is not UTF-8 text after line {line} (byte value "
                                      f"0x{exc.object[exc.start]:02x}); save it as 'CSV UTF-8'",
                           line=line + 1) from None
    except csv.Error as exc:
        raise FileRefused("bad_csv", f"the file is not readable CSV: {exc}", line=reader.line_num) from None
    finally:
        text.detach()


def load_fixed_row(ctx: LoadContext, *, line_number: int, raw: str) -> None:
    """Parse one corrected row with the file's header and load it at ``line_number``.

    Raises ValidationError with the reason when the row is still wrong (nothing is loaded).
    """
    with file_open(ctx.file) as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        try:
            header = next(csv.reader(text), [])
        finally:
            text.detach()
    try:
        columns = _columns(ctx.feed.kind, ctx.feed.column_mapping or {}, header)
    except FileRefused as exc:
        raise ValidationError(exc.reason) from None
    rows = [row for row in csv.reader(io.StringIO(raw.strip("\r\n"))) if any(cell.strip() for cell in row)]
    if len(rows) != 1:
        raise ValidationError("Give exactly one row, in the file's column order.")
    loader = _ROW_LOADERS[ctx.feed.kind](ctx)
    try:
        loader.add(_values(rows[0], columns), line_number)
    except RowInvalid as exc:
        raise ValidationError(f"line {line_number}: {exc}") from None
    loader.finish()
