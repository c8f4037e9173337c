"""CSV import of a plan's assignment rules: every row checked, the good ones saved, the bad ones reported by line.

Columns: ``territory`` (code), ``kind`` (``zip``, ``zip3``, ``state``, ... or its label), ``value``,
optional ``priority`` (default 100) and ``locked`` (true/false). A row whose kind and value the plan
already has re-points that rule (an upsert), so importing the same file twice changes nothing.
Each row goes through ``services.rule_save`` in its own savepoint; the plan's assignments are
evaluated once at the end. ``all_or_nothing`` writes nothing unless every row is good.
"""
from __future__ import annotations

import csv
import io
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from . import services
from .models import AssignmentRule, RuleKind, Territory, TerritoryPlan

COLUMNS = ("territory", "kind", "value", "priority", "locked")
REQUIRED = ("territory", "kind", "value")
MAX_ROWS = 5000
CREATED, UPDATED, FAILED, NOT_WRITTEN = "created", "updated", "failed", "not_written"

_TRUE = {"1", "true", "t", "yes", "y"}
_FALSE = {"", "0", "false", "f", "no", "n"}


class RulesFileError(ValueError):
    """The file as a whole cannot be read (no header, missing columns, too many rows)."""


class _RollBack(Exception):
    pass


def _kind(raw: str) -> str:
    wanted = raw.strip().lower()
    for key, label in RuleKind.choices:
        if wanted in (key, str(label).lower()):
            return key
    raise ValidationError(f"kind {raw.strip()!r} is not one of: {', '.join(RuleKind.values)}")


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{field}: {m}" if field != "__all__" else m for field, ms in exc.message_dict.items() for m in ms]
    return list(exc.messages)


def rules_import(*, plan: TerritoryPlan, text: str, all_or_nothing: bool = False) -> dict[str, Any]:
    if not plan.is_editable:
        raise ValidationError(f"Plan {plan.name!r} is {plan.get_status_display().lower()}: copy it to a new "
                              "scenario to change it.")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise RulesFileError(f"The first line must name the columns {', '.join(COLUMNS)} "
                             f"(priority and locked may be left out); missing: {', '.join(missing)}.")
    reader.fieldnames = header
    territories = {t.code.lower(): t for t in Territory.objects.filter(plan=plan)}
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    with transaction.atomic():
        for raw in reader:
            line = reader.line_num
            if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
                continue  # blank lines are not rows
            if len(rows) >= MAX_ROWS:
                raise RulesFileError(f"At most {MAX_ROWS} rules per file.")
            row: dict[str, Any] = {"line": line, "status": FAILED, "id": None,
                                   "territory": (raw.get("territory") or "").strip(),
                                   "kind": (raw.get("kind") or "").strip(), "value": (raw.get("value") or "").strip(),
                                   "errors": []}
            rows.append(row)
            try:
                territory = territories.get(row["territory"].lower())
                if territory is None:
                    raise ValidationError(f"territory {row['territory']!r} is not a territory of this plan")
                kind = _kind(row["kind"])
                value = services.rule_value_normalise(kind, row["value"])  # the rule's own check and normal form
                row["kind"], row["value"] = kind, value
                if (kind, value.lower()) in seen:
                    raise ValidationError(f"{kind} {value} appears again (first on line {seen[(kind, value.lower())]})")
                seen[(kind, value.lower())] = line
                priority_text = (raw.get("priority") or "").strip()
                try:
                    priority = int(priority_text) if priority_text else 100
                except ValueError:
                    raise ValidationError(f"priority {priority_text!r} is not a whole number") from None
                locked_text = (raw.get("locked") or "").strip().lower()
                if locked_text not in _TRUE | _FALSE:
                    raise ValidationError(f"locked must be true or false, not {locked_text!r}")
                existing = AssignmentRule.objects.filter(plan=plan, kind=kind, value__iexact=value).first()
                with transaction.atomic():
                    rule = services.rule_save(plan=plan, territory=territory, kind=kind, value=value,
                                              priority=priority, locked=locked_text in _TRUE, rule=existing,
                                              reassign=False)
                row["status"], row["id"] = (UPDATED if existing else CREATED), rule.pk
            except ValidationError as exc:
                row["errors"] = _messages(exc)
        failed = [r for r in rows if r["status"] == FAILED]
        try:
            with transaction.atomic():
                if all_or_nothing and failed:
                    raise _RollBack
                counts = services.plan_assign(plan=plan)
        except _RollBack:
            transaction.set_rollback(True)
            counts = None
            for r in rows:
                if r["status"] != FAILED:
                    r["status"], r["id"] = NOT_WRITTEN, None
    return {
        "plan": plan.pk,
        "mode": "all_or_nothing" if all_or_nothing else "partial",
        "total": len(rows),
        "created": sum(r["status"] == CREATED for r in rows),
        "updated": sum(r["status"] == UPDATED for r in rows),
        "failed": len(failed),
        "assignments": counts,
        "rows": rows,
    }
