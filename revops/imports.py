"""CSV import of accounts and people: validate every row, upsert the good ones in bulk, list the bad.

An upload is saved under ``MEDIA_ROOT/<tenant_id>/imports/`` and loaded by a job
(``revops.tasks.reference_import``). The file is read in chunks; each row is checked in Python
(line number and reason for a bad one), and each chunk of good rows is COPYed into a TEMP
staging table and upserted with ``INSERT ... SELECT ... ON CONFLICT`` on the organization's
natural key (``Account.external_id``, ``Person.employee_id``), so uploading the same file
again updates rows instead of duplicating them. Row-level security refuses COPY into the real
tables, hence the staging table; the INSERT runs through Django's cursor, which sets the
organization for row-level security. Bad rows are written to a CSV next to the upload.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import PurePosixPath
from typing import Any

import zipcodes
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils.text import get_valid_filename

from revops import bulk
from revops.audit import audit_bulk
from revops.jobs import job_create, job_enqueue, job_progress
from revops.models import (
    Account,
    AccountType,
    Job,
    Person,
    PersonRole,
    ReportingLine,
    ServiceLine,
    Team,
)
from revops.models.audit import AuditAction
from revops.tenancy import require_tenant_id

CHUNK_SIZE = 1000
MAX_ERRORS_IN_RESULT = 200
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (not CSV, missing columns)."""


class RowInvalid(ValueError):
    """One row cannot be imported; the message is the reason shown to the user."""


@dataclass(frozen=True)
class ImportColumn:
    name: str
    required: bool
    help: str


@dataclass(frozen=True)
class ImportSpec:
    """What one kind of import reads, how it checks a row and which table it upserts."""

    kind: str
    label: str
    job_kind: str
    model: type
    key: str
    columns: tuple[ImportColumn, ...]
    # Database columns written, in order, after tenant_id; the key is the first of them.
    db_columns: tuple[str, ...]
    clean: Callable[[dict[str, str], ImportContext], dict[str, Any]]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass
class ImportContext:
    """Per-import lookups (the organization's teams and service lines), loaded once."""

    teams: dict[str, int] = field(default_factory=dict)
    service_lines: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls) -> ImportContext:
        ctx = cls()
        for pk, name in Team.objects.values_list("pk", "name"):
            ctx.teams[name.strip().lower()] = pk
        for pk, name, code in ServiceLine.objects.values_list("pk", "name", "code"):
            ctx.service_lines[name.strip().lower()] = pk
            if code:
                ctx.service_lines.setdefault(code.strip().lower(), pk)
        return ctx


# --- value checks -------------------------------------------------------------------------

_TRUE = {"1", "true", "t", "yes", "y"}
_FALSE = {"0", "false", "f", "no", "n"}
_STATE = re.compile(r"^[A-Z]{2}$")


def _text(raw: dict[str, str], name: str, *, max_length: int, required: bool = False) -> str:
    value = (raw.get(name) or "").strip()
    if required and not value:
        raise RowInvalid(f"{name} is required")
    if len(value) > max_length:
        raise RowInvalid(f"{name} is longer than {max_length} characters")
    return value


def _bool(raw: dict[str, str], name: str, *, default: bool) -> bool:
    value = (raw.get(name) or "").strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RowInvalid(f"{name} must be true or false, not {value!r}")


def _choice(raw: dict[str, str], name: str, choices: Any, *, default: str) -> str:
    value = (raw.get(name) or "").strip()
    if not value:
        return default
    wanted = value.lower()
    for key, label in choices.choices:
        if wanted in (key.lower(), str(label).lower()):
            return key
    raise RowInvalid(f"{name} {value!r} is not one of: {', '.join(choices.values)}")


def _date(raw: dict[str, str], name: str, *, required: bool = False) -> dt.date | None:
    value = (raw.get(name) or "").strip()
    if not value:
        if required:
            raise RowInvalid(f"{name} is required")
        return None
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise RowInvalid(f"{name} {value!r} is not a date (use YYYY-MM-DD)")


def _decimal(raw: dict[str, str], name: str, *, low: int, high: int) -> Decimal | None:
    value = (raw.get(name) or "").strip()
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise RowInvalid(f"{name} {value!r} is not a number") from None
    if not number.is_finite() or not low <= number <= high:
        raise RowInvalid(f"{name} {value} is outside {low}..{high}")
    return number.quantize(Decimal("0.000001"))


def npi_is_valid(npi: str) -> bool:
    """The NPI check digit: Luhn over the 80840 prefix plus the first nine digits."""
    if not re.fullmatch(r"\d{10}", npi):
        return False
    digits = [int(d) for d in "80840" + npi[:9]]
    total = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(npi[9])


@cache
def _zip_index() -> dict[str, dict[str, Any]]:
    return {z["zip_code"]: z for z in zipcodes.list_all()}


def zip_lookup(value: str) -> dict[str, Any] | None:
    """The ZIP code's record (state, city, county, centroid) or None if it is not a real one."""
    return _zip_index().get(value)


def _zip(raw: dict[str, str]) -> str:
    value = (raw.get("zip_code") or "").strip()
    if not value:
        raise RowInvalid("zip_code is required")
    five = value.split("-", 1)[0]
    if five.isdigit() and 3 <= len(five) < 5:
        five = five.zfill(5)  # spreadsheets drop leading zeros (02134 -> 2134)
    if not re.fullmatch(r"\d{5}", five):
        raise RowInvalid(f"zip_code {value!r} is not a 5-digit ZIP code")
    if zip_lookup(five) is None:
        raise RowInvalid(f"zip_code {five} is not a US ZIP code")
    return five


# --- row cleaners -------------------------------------------------------------------------

def clean_account(raw: dict[str, str], ctx: ImportContext) -> dict[str, Any]:
    external_id = _text(raw, "external_id", max_length=64, required=True)
    name = _text(raw, "name", max_length=200, required=True)
    npi = _text(raw, "npi", max_length=10)
    if npi and not npi_is_valid(npi):
        raise RowInvalid(f"npi {npi!r} is not a valid NPI (10 digits with a correct check digit)")
    zip_code = _zip(raw)
    place = zip_lookup(zip_code) or {}
    state = _text(raw, "state", max_length=2).upper()
    if state and not _STATE.match(state):
        raise RowInvalid(f"state {state!r} is not a two-letter code")
    if state and state != place.get("state"):
        raise RowInvalid(f"zip_code {zip_code} is in {place.get('state')}, not {state}")
    service_line_name = _text(raw, "service_line", max_length=120)
    service_line_id = None
    if service_line_name:
        service_line_id = ctx.service_lines.get(service_line_name.lower())
        if service_line_id is None:
            raise RowInvalid(f"service_line {service_line_name!r} does not exist; add it under reference data first")
    latitude = _decimal(raw, "latitude", low=-90, high=90)
    longitude = _decimal(raw, "longitude", low=-180, high=180)
    if (latitude is None) != (longitude is None):
        raise RowInvalid("give both latitude and longitude, or neither")
    if latitude is None:
        latitude = Decimal(place["lat"]).quantize(Decimal("0.000001")) if place.get("lat") else None
        longitude = Decimal(place["long"]).quantize(Decimal("0.000001")) if place.get("long") else None
    county = _text(raw, "county", max_length=80) or (place.get("county") or "").removesuffix(" County")
    return {
        "external_id": external_id,
        "name": name,
        "npi": npi,
        "specialty": _text(raw, "specialty", max_length=120),
        "account_type": _choice(raw, "account_type", AccountType, default=AccountType.PHYSICIAN_PRACTICE),
        "service_line_id": service_line_id,
        "city": _text(raw, "city", max_length=80) or (place.get("city") or "").title()[:80],
        "zip_code": zip_code,
        "county": county[:80],
        "state": state or place.get("state", ""),
        "latitude": latitude,
        "longitude": longitude,
        "is_active": _bool(raw, "is_active", default=True),
    }


def clean_person(raw: dict[str, str], ctx: ImportContext) -> dict[str, Any]:
    email = _text(raw, "email", max_length=254)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise RowInvalid(f"email {email!r} is not an email address") from None
    team_name = _text(raw, "team", max_length=120)
    team_id = None
    if team_name:
        team_id = ctx.teams.get(team_name.lower())
        if team_id is None:
            raise RowInvalid(f"team {team_name!r} does not exist; add it under reference data first")
    hire_date = _date(raw, "hire_date", required=True)
    termination_date = _date(raw, "termination_date")
    if termination_date is not None and hire_date is not None and termination_date < hire_date:
        raise RowInvalid("termination_date is before hire_date")
    return {
        "employee_id": _text(raw, "employee_id", max_length=64, required=True),
        "first_name": _text(raw, "first_name", max_length=80, required=True),
        "last_name": _text(raw, "last_name", max_length=80, required=True),
        "email": email,
        "title": _text(raw, "title", max_length=120),
        "role": _choice(raw, "role", PersonRole, default=PersonRole.REP),
        "team_id": team_id,
        "hire_date": hire_date,
        "termination_date": termination_date,
    }


ACCOUNTS = ImportSpec(
    kind="accounts",
    label="Accounts",
    job_kind="accounts_import",
    model=Account,
    key="external_id",
    columns=(
        ImportColumn("external_id", True, "Your system's id for the account; a re-upload updates the row with this id."),
        ImportColumn("name", True, "Practice, hospital or referral source name."),
        ImportColumn("zip_code", True, "5-digit US ZIP code; city, county, state and map position are filled from it."),
        ImportColumn("npi", False, "10-digit NPI (the check digit is verified)."),
        ImportColumn("specialty", False, "For example Family Medicine."),
        ImportColumn("account_type", False, "One of: " + ", ".join(AccountType.values) + " (default physician_practice)."),
        ImportColumn("service_line", False, "Name or code of an existing service line."),
        ImportColumn("city", False, "Defaults to the ZIP code's city."),
        ImportColumn("county", False, "Defaults to the ZIP code's county."),
        ImportColumn("state", False, "Two letters; must match the ZIP code."),
        ImportColumn("latitude", False, "Decimal degrees; give with longitude or leave both empty."),
        ImportColumn("longitude", False, "Decimal degrees."),
        ImportColumn("is_active", False, "true or false (default true)."),
    ),
    db_columns=("external_id", "name", "npi", "specialty", "account_type", "service_line_id", "city",
                "zip_code", "county", "state", "latitude", "longitude", "is_active"),
    clean=clean_account,
)

PEOPLE = ImportSpec(
    kind="people",
    label="People",
    job_kind="people_import",
    model=Person,
    key="employee_id",
    columns=(
        ImportColumn("employee_id", True, "HRIS id, unique in the organization; a re-upload updates the person."),
        ImportColumn("first_name", True, ""),
        ImportColumn("last_name", True, ""),
        ImportColumn("hire_date", True, "YYYY-MM-DD."),
        ImportColumn("email", False, ""),
        ImportColumn("title", False, ""),
        ImportColumn("role", False, "One of: " + ", ".join(PersonRole.values) + " (default rep)."),
        ImportColumn("team", False, "Name of an existing team."),
        ImportColumn("termination_date", False, "YYYY-MM-DD, on or after hire_date."),
    ),
    db_columns=("employee_id", "first_name", "last_name", "email", "title", "role", "team_id",
                "hire_date", "termination_date"),
    clean=clean_person,
)

SPECS: dict[str, ImportSpec] = {ACCOUNTS.kind: ACCOUNTS, PEOPLE.kind: PEOPLE}


# --- files --------------------------------------------------------------------------------

def import_dir(tenant_id: int) -> str:
    return f"{tenant_id}/imports"


def template_csv(spec: ImportSpec) -> bytes:
    """An empty file with the columns an import reads (offered as a download)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(spec.column_names)
    return buffer.getvalue().encode("utf-8")


def header_check(spec: ImportSpec, header: list[str]) -> list[str]:
    """The header's column names, cleaned; raises ImportFileError if a required one is missing."""
    names = [(h or "").strip().lower() for h in header]
    missing = [c for c in spec.required if c not in names]
    if missing:
        raise ImportFileError(
            f"The file has no {', '.join(missing)} column{'s' if len(missing) > 1 else ''}. "
            f"The first line must name the columns: {', '.join(spec.column_names)}."
        )
    return names


def _decode_lines(binary: Any) -> Iterator[str]:
    """Text lines of an uploaded file (UTF-8, with or without the BOM Excel writes)."""
    raw = getattr(binary, "file", binary)  # the OS file under Django's File wrapper
    stream = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    try:
        yield from stream
    except UnicodeDecodeError as exc:
        raise ImportFileError("The file is not UTF-8 text; save it from Excel as 'CSV UTF-8'.") from exc
    finally:
        stream.detach()


def upload_check(spec: ImportSpec, upload: Any) -> None:
    """Quick check at upload time: size, UTF-8, and the header names the required columns."""
    if upload.size > MAX_UPLOAD_BYTES:
        raise ImportFileError(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    upload.seek(0)
    first = upload.read(64 * 1024)
    upload.seek(0)
    first_line = first.split(b"\n", 1)[0]
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError("The file is not UTF-8 text; save it from Excel as 'CSV UTF-8'.") from None
    header = next(csv.reader(io.StringIO(text)), None)
    if not header or not any(h.strip() for h in header):
        raise ImportFileError("The file is empty.")
    header_check(spec, header)


@transaction.atomic
def import_start(*, spec: ImportSpec, upload: Any, created_by: Any) -> Job:
    """Save the upload under the organization's import folder and queue the job that loads it."""
    from revops.tasks import reference_import

    tenant_id = require_tenant_id()
    upload_check(spec, upload)
    original = get_valid_filename(PurePosixPath(upload.name or "upload.csv").name) or "upload.csv"
    stored = default_storage.save(f"{import_dir(tenant_id)}/{uuid.uuid4().hex}-{original}", upload)
    job = job_create(
        kind=spec.job_kind,
        label=f"{spec.label} import: {original}",
        params={"kind": spec.kind, "path": stored, "filename": original},
        created_by=created_by,
    )
    job_enqueue(job=job, task=reference_import)
    return job


def stored_path_ok(path: str, tenant_id: int) -> bool:
    """A stored path from job params lies inside this organization's import folder."""
    parts = PurePosixPath(path).parts
    return len(parts) == 3 and parts[:2] == (str(tenant_id), "imports") and ".." not in parts


# --- loading ------------------------------------------------------------------------------

@dataclass
class ImportOutcome:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0


def _upsert_sql(spec: ImportSpec, stage: str) -> str:
    table = spec.model._meta.db_table
    cols = ", ".join(spec.db_columns)
    updates = [c for c in spec.db_columns if c != spec.key]
    set_clause = ", ".join(f"{c} = EXCLUDED.{c}" for c in updates)
    old = ", ".join(f"t.{c}" for c in updates)
    new = ", ".join(f"EXCLUDED.{c}" for c in updates)
    conflict = f"(tenant_id, {spec.key})"
    if spec.model is Account:
        conflict += " WHERE NOT (external_id = '')"  # the partial unique index's predicate
    return (
        f"INSERT INTO {table} AS t (tenant_id, {cols}) "
        f"SELECT %s, {cols} FROM {stage} "
        f"ON CONFLICT {conflict} DO UPDATE SET {set_clause} "
        f"WHERE ({old}) IS DISTINCT FROM ({new}) "
        "RETURNING (xmax = 0) AS inserted"
    )


def _load_chunk(spec: ImportSpec, rows: list[dict[str, Any]], tenant_id: int) -> tuple[int, int]:
    """Upsert one chunk of clean rows through a revops.bulk staging table; returns (created, updated)."""
    table = spec.model._meta.db_table
    with transaction.atomic():
        stage = bulk.staging_create(table, spec.db_columns)
        bulk.staging_copy(stage, spec.db_columns, ([row[c] for c in spec.db_columns] for row in rows))
        with connection.cursor() as cursor:
            cursor.execute(_upsert_sql(spec, stage), [tenant_id])
            results = [r[0] for r in cursor.fetchall()]
        bulk.staging_drop(stage)
    created = sum(1 for inserted in results if inserted)
    return created, len(results) - created


def _count_data_lines(path: str) -> int:
    with default_storage.open(path, "rb") as binary:
        return max(0, sum(1 for _ in csv.reader(_decode_lines(binary))) - 1)


def import_run(job: Job) -> dict[str, Any]:
    """The job body: load the job's uploaded file and return the outcome for ``job.result``."""
    tenant_id = require_tenant_id()
    spec = SPECS[job.params["kind"]]
    path = job.params["path"]
    if not stored_path_ok(path, tenant_id):
        raise ImportFileError("The upload is not in this organization's import folder.")
    total = _count_data_lines(path)
    job_progress(job_id=job.pk, done=0, total=total, message=f"Checking {total} rows")
    ctx = ImportContext.load()
    outcome = ImportOutcome()
    seen: dict[str, int] = {}
    terminated: dict[str, dt.date] = {}
    bad_rows: list[tuple[int, str, dict[str, str]]] = []
    header: list[str] = []

    def flush(chunk: list[dict[str, Any]]) -> None:
        if chunk:
            created, updated = _load_chunk(spec, chunk, tenant_id)
            outcome.created += created
            outcome.updated += updated
            outcome.unchanged += len(chunk) - created - updated
        job_progress(
            job_id=job.pk, done=outcome.rows, total=total,
            message=f"{outcome.rows} of {total} rows read, {outcome.error_count} with problems",
        )

    with default_storage.open(path, "rb") as binary:
        reader = csv.reader(_decode_lines(binary))
        try:
            header = header_check(spec, next(reader))
        except StopIteration:
            raise ImportFileError("The file is empty.") from None
        chunk: list[dict[str, Any]] = []
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue  # blank lines (trailing newlines from spreadsheets) are not rows
            outcome.rows += 1
            raw = {name: (values[i] if i < len(values) else "") for i, name in enumerate(header) if name}
            try:
                if len(values) > len(header):
                    raise RowInvalid(f"the row has {len(values)} values but the header names {len(header)} columns")
                clean = spec.clean(raw, ctx)
                key = clean[spec.key]
                if key in seen:
                    raise RowInvalid(f"{spec.key} {key!r} appears again (first on line {seen[key]})")
                seen[key] = line
            except RowInvalid as exc:
                outcome.error_count += 1
                bad_rows.append((line, str(exc), raw))
                if len(outcome.errors) < MAX_ERRORS_IN_RESULT:
                    outcome.errors.append({"line": line, "reason": str(exc), "key": raw.get(spec.key, "")})
                continue
            chunk.append(clean)
            if clean.get("termination_date"):
                terminated[key] = clean["termination_date"]
            if len(chunk) >= CHUNK_SIZE:
                flush(chunk)
                chunk = []
        flush(chunk)

    if spec is PEOPLE:
        _end_reporting_lines_of_terminated(terminated)
    errors_path = ""
    if bad_rows:
        errors_path = _save_bad_rows(path, header, bad_rows)
    loaded = outcome.created + outcome.updated
    if loaded:
        audit_bulk(
            model=spec.model, action=AuditAction.UPDATE if outcome.updated else AuditAction.CREATE,
            tenant_id=tenant_id,
            summary={"file": job.params.get("filename", ""), "job": job.pk, "created": outcome.created,
                     "updated": outcome.updated, "unchanged": outcome.unchanged, "rejected": outcome.error_count},
        )
    return {
        "kind": spec.kind,
        "filename": job.params.get("filename", ""),
        "rows": outcome.rows,
        "created": outcome.created,
        "updated": outcome.updated,
        "unchanged": outcome.unchanged,
        "error_count": outcome.error_count,
        "errors": outcome.errors,
        "errors_path": errors_path,
    }


def _end_reporting_lines_of_terminated(terminated: dict[str, dt.date]) -> None:
    """Imported termination dates end the people's open reporting lines, as person_terminate does."""
    if not terminated:
        return
    from revops.services import person_terminate

    open_lines = ReportingLine.objects.filter(person__employee_id__in=list(terminated), valid_to__isnull=True)
    people = Person.objects.filter(pk__in=open_lines.values("person_id"))
    for person in people:
        person_terminate(person=person, on=terminated[person.employee_id])


def _save_bad_rows(path: str, header: list[str], bad_rows: list[tuple[int, str, dict[str, str]]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = [h for h in header if h]
    writer.writerow(["line", "reason", *columns])
    for line, reason, raw in bad_rows:
        writer.writerow([line, reason, *(raw.get(c, "") for c in columns)])
    name = PurePosixPath(path).name.removesuffix(".csv") + ".errors.csv"
    return default_storage.save(f"{PurePosixPath(path).parent}/{name}", ContentFile(("\ufeff" + buffer.getvalue()).encode("utf-8")))


def bad_rows_csv(job: Job) -> bytes:
    """The rejected rows of an import job as CSV (line, reason, the row as uploaded)."""
    result = job.result or {}
    path = result.get("errors_path") or ""
    if path and stored_path_ok(path, job.tenant_id) and default_storage.exists(path):
        with default_storage.open(path, "rb") as f:
            return f.read()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["line", "reason", "key"])
    for error in result.get("errors", []):
        writer.writerow([error.get("line"), error.get("reason"), error.get("key", "")])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# -- uploaded tables (the pillars' CSV / Excel imports) ------------------------------------------------

def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value).strip()


def spreadsheet_cells(*, name: str, content: bytes, error: type[Exception]) -> list[list[str]]:
    """The cells of an uploaded table as text, row by row from line 1: the first sheet of an Excel workbook
    (``name`` ends in .xlsx), else UTF-8 CSV. A file that is neither raises ``error`` with what to do."""
    if name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception:  # openpyxl raises several kinds for a file that is not a workbook
            raise error("The file is not an Excel workbook (.xlsx).") from None
        raw = [[_cell(c) for c in row] for row in book.worksheets[0].iter_rows(values_only=True)]
        book.close()
        return raw
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise error("The file is not UTF-8 text (save it as CSV UTF-8, or upload the .xlsx).") from None
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
