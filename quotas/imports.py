"""CSV or Excel import into a quota plan's tree: overrides, custom bases and bottom-up numbers by node code.

Columns (a header row first; any order, case-insensitive): ``code`` (required), ``override``,
``custom_basis``, ``bottom_up``, ``note``. An empty cell leaves that value as it is; ``clear``
removes an override or withdraws a bottom-up number. Every row is checked first (unknown code,
not a number, negative, a code twice, overrides that add to more than the parent's target, a
custom basis on a parent, an override or basis on a plan that is not a draft); the good rows are
written and the plan is re-allocated once at the end, not once per row. A parent's target for the
override check is its own override when the same file sets one, else its current annual target
(the allocation scales overrides down to fit, with a warning, if a change higher up shrinks it).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from . import services
from .forms import parse_money
from .models import Quota, QuotaPlan, QuotaPlanStatus

COLUMNS = ("code", "override", "custom_basis", "bottom_up", "note")
MAX_ROWS = 20000
CLEAR = {"clear", "none", "-"}


class QuotaFileError(ValueError):
    """The file as a whole cannot be read (not CSV/XLSX, no header, no code column, too many rows)."""


@dataclass
class Row:
    line: int
    code: str
    raw: dict[str, str]
    errors: list[str] = field(default_factory=list)
    quota: Quota | None = None
    override: Decimal | None = None
    override_set: bool = False  # True: the row sets or clears the override
    custom_basis: Decimal | None = None
    bottom_up: Decimal | None = None
    bottom_up_set: bool = False
    note: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def read_table(*, name: str, content: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line number, {column: text}) for every non-blank row of a CSV or XLSX file; the header is line 1."""
    if name.lower().endswith(".xlsx"):
        rows = _xlsx_rows(content)
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise QuotaFileError("The file is not UTF-8 text (save it as CSV UTF-8, or upload the .xlsx).") from None
        rows = [(n, r) for n, r in enumerate(csv.reader(io.StringIO(text)), start=1)]
    if not rows:
        raise QuotaFileError("The file is empty.")
    (_, header), body = rows[0], rows[1:]
    header = [h.strip().lower().replace(" ", "_") for h in header]
    if "code" not in header:
        raise QuotaFileError(f"The first row must name the columns ({', '.join(COLUMNS)}); 'code' is missing.")
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        raise QuotaFileError(f"Unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}: "
                             f"the columns are {', '.join(COLUMNS)}.")
    out = []
    for line, cells in body:
        values = {h: (cells[i] if i < len(cells) else "").strip() for i, h in enumerate(header) if h}
        if not any(values.values()):
            continue
        out.append((line, values))
        if len(out) > MAX_ROWS:
            raise QuotaFileError(f"At most {MAX_ROWS} rows per file.")
    return out


def _xlsx_rows(content: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises several kinds for a file that is not a workbook
        raise QuotaFileError("The file is not an Excel workbook (.xlsx).") from None
    sheet = book.worksheets[0]
    rows = []
    for n, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
        rows.append((n, ["" if c is None else (f"{c:f}" if isinstance(c, Decimal) else str(c)) for c in cells]))
    book.close()
    return rows


def _amount(text: str, what: str) -> Decimal:
    try:
        value = parse_money(text)
    except ValueError:
        raise ValidationError(f"{what} {text!r} is not a number") from None
    if value < 0:
        raise ValidationError(f"{what} {value:,.2f} is negative")
    return value


def _check_row(row: Row, plan: QuotaPlan, nodes: dict[str, Quota]) -> None:
    raw = row.raw
    quota = nodes.get(row.code.lower())
    if quota is None:
        raise ValidationError(f"unknown code {row.code!r}: not a node of this plan")
    row.quota = quota
    errors: list[str] = []
    text = raw.get("override", "")
    if text:
        if quota.parent_id is None:
            errors.append("override: the company node is the plan's target (change the company target instead)")
        elif text.lower() in CLEAR:
            row.override_set = True
        else:
            try:
                row.override, row.override_set = _amount(text, "override"), True
            except ValidationError as exc:
                errors.extend(exc.messages)
    text = raw.get("custom_basis", "")
    if text:
        if not quota.is_leaf:
            errors.append("custom_basis: entered on leaf territories only (parents are their sums)")
        else:
            try:
                row.custom_basis = _amount(text, "custom_basis")
            except ValidationError as exc:
                errors.extend(exc.messages)
    if not plan.is_editable:
        # A file taken from the template of an approved plan repeats its values: only a change is refused.
        if row.override_set and row.override != quota.override:
            errors.append(f"override: the plan is {plan.get_status_display().lower()}; only a draft's overrides "
                          "change")
        if row.custom_basis is not None and row.custom_basis != quota.custom_basis:
            errors.append(f"custom_basis: the plan is {plan.get_status_display().lower()}; only a draft's custom "
                          "bases change")
    text = raw.get("bottom_up", "")
    if text:
        if plan.status == QuotaPlanStatus.ARCHIVED:
            errors.append("bottom_up: the plan is archived")
        elif text.lower() in CLEAR:
            row.bottom_up_set = True
        else:
            try:
                row.bottom_up, row.bottom_up_set = _amount(text, "bottom_up"), True
            except ValidationError as exc:
                errors.extend(exc.messages)
    if raw.get("note"):
        row.note = raw["note"][:500]
        if not row.bottom_up_set and quota.bottom_up is None:
            errors.append("note: a note goes with a bottom-up number, and this node has none")
    if errors:
        raise ValidationError(errors)


def _check_overrides(rows: list[Row], nodes: dict[str, Quota]) -> None:
    """Overrides under each parent (this file's, and the ones it leaves in place) must fit its target."""
    by_id = {q.pk: q for q in nodes.values()}
    new_override = {r.quota.pk: r.override for r in rows if r.ok and r.override_set and r.quota}
    parents = {r.quota.parent_id for r in rows if r.ok and r.override is not None and r.quota}
    for parent_id in parents:
        parent = by_id[parent_id]
        target = new_override.get(parent_id)
        target = parent.annual if target is None else target
        children = [q for q in by_id.values() if q.parent_id == parent_id]
        fixed = Decimal(0)
        for child in children:
            value = new_override[child.pk] if child.pk in new_override else child.override
            fixed += value or Decimal(0)
        if fixed > target:
            for r in rows:
                if r.ok and r.quota and r.quota.parent_id == parent_id and r.override is not None:
                    r.errors.append(f"overrides under {parent.code} {parent.name} would add to {fixed:,.2f}, "
                                    f"above its target of {target:,.2f}")


@transaction.atomic
def quota_import(*, plan: QuotaPlan, table: list[tuple[int, dict[str, str]]],
                 user: Any | None = None) -> dict[str, Any]:
    """Check every row, write the good ones, re-allocate once. Returns counts and the rows with their errors."""
    if plan.status == QuotaPlanStatus.ARCHIVED:
        raise ValidationError("The plan is archived: nothing can be imported into it.")
    nodes = {q.code.lower(): q for q in Quota.objects.filter(plan=plan)}
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for line, raw in table:
        row = Row(line=line, code=raw.get("code", ""), raw=raw)
        rows.append(row)
        if not row.code:
            row.errors.append("code is empty")
            continue
        if row.code.lower() in seen:
            row.errors.append(f"code {row.code} appears again (first on line {seen[row.code.lower()]})")
            continue
        seen[row.code.lower()] = line
        try:
            _check_row(row, plan, nodes)
        except ValidationError as exc:
            row.errors.extend(exc.messages)
    _check_overrides(rows, nodes)
    good = [r for r in rows if r.ok]
    overrides = bases = bottom_ups = 0
    for r in good:
        q = r.quota
        assert q is not None
        changed = []
        if r.override_set and q.override != r.override:
            q.override = r.override
            changed.append("override")
            overrides += 1
        if r.custom_basis is not None and q.custom_basis != r.custom_basis:
            q.custom_basis = r.custom_basis
            changed.append("custom_basis")
            bases += 1
        if changed:
            q.save(update_fields=changed)
        note_changed = r.note is not None and r.note != q.bottom_up_note
        if r.bottom_up_set and (r.bottom_up != q.bottom_up or note_changed):
            note = r.note if r.note is not None else q.bottom_up_note
            services.bottom_up_submit(quota=q, amount=r.bottom_up, note=note, user=user)
            bottom_ups += 1
        elif not r.bottom_up_set and note_changed:
            q.bottom_up_note = r.note
            q.save(update_fields=["bottom_up_note"])
    summary = None
    if bases:
        services.bases_refresh(plan=plan)
    if overrides or bases:
        summary = services.plan_allocate(plan=plan)
    return {"total": len(rows), "applied": len(good), "failed": len(rows) - len(good), "overrides": overrides,
            "custom_bases": bases, "bottom_ups": bottom_ups, "allocated": summary is not None,
            "rows": [{"line": r.line, "code": r.code, "errors": r.errors, **{c: r.raw.get(c, "") for c in COLUMNS[1:]}}
                     for r in rows]}
