"""Statements: each person's pay for a period from its current run, draws and balances, approvals,
and the payroll export of approved payouts (docs/commissions.md, "Statements, draws and guarantees")."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from revops.tenancy import require_tenant_id

from .. import engine
from ..models import CommissionPeriod, CommissionRun, PeriodStatus, Statement, StatementStatus

EARNED = ("commission", "bonus", "spiff", "clawback", "cap")
ADJUSTED = ("adjustment", "manual")


def _sums(lines: pd.DataFrame) -> pd.DataFrame:
    """Per person: earned, adjustments, held and released cents of a run's lines (in memory: the run
    has them as a frame, and re-reading millions of rows from the table cost 24 s a run)."""
    columns = ["person_id", "earned_cents", "adjustments_cents", "held_cents", "released_cents"]
    if lines.empty:
        return pd.DataFrame({c: pd.Series(dtype=np.int64) for c in columns})
    kind = lines["kind"].astype("category")  # hashed once per category, not per line
    amount = lines["amount_cents"].to_numpy(dtype=np.int64)
    held = lines["held_cents"].fillna(0).to_numpy(dtype=np.int64) if "held_cents" in lines else np.zeros(len(lines),
                                                                                                        np.int64)
    release = kind.isin(["release"]).to_numpy()
    frame = pd.DataFrame({
        "person_id": lines["person_id"].to_numpy(dtype=np.int64),
        "earned_cents": np.where(kind.isin(EARNED).to_numpy(), amount, 0),
        "adjustments_cents": np.where(kind.isin(ADJUSTED).to_numpy(), amount, 0),
        "held_cents": np.where(release, 0, held),
        "released_cents": np.where(release, amount, 0),
    })
    return frame.groupby("person_id", sort=True).sum().reset_index()[columns]


def line_sums(lines: pd.DataFrame) -> pd.DataFrame:
    """``_sums`` of a run's lines, for ``statements_rebuild(sums=...)``: a run computes them in a thread
    while its COPY runs on the server."""
    return _sums(lines)


def _people_frame(period: CommissionPeriod, run: CommissionRun, inputs: dict[str, Any],
                  lines: pd.DataFrame, sums: pd.DataFrame | None = None) -> pd.DataFrame:
    tenant_id = require_tenant_id()
    sums = _sums(lines) if sums is None else sums
    with connection.cursor() as cursor:
        # Draws: the assignment in force on the period's last day; a draw applies while draw_until is open.
        cursor.execute("""
            SELECT a.person_id, (a.draw_amount * 100)::bigint, a.draw_recoverable
            FROM commissions_planassignment a
            WHERE a.tenant_id = %(t)s AND a.draw_amount > 0
              AND a.effective_from < %(e)s AND (a.effective_to IS NULL OR a.effective_to >= %(e)s)
              AND (a.draw_until IS NULL OR a.draw_until >= %(s)s)
        """, {"t": tenant_id, "s": period.start, "e": period.end})
        draws = pd.DataFrame(cursor.fetchall(), columns=["person_id", "draw_cents", "draw_recoverable"])
        # The recoverable balance carried in: each person's latest earlier statement.
        cursor.execute("""
            SELECT DISTINCT ON (s.person_id) s.person_id, (s.draw_balance * 100)::bigint
            FROM commissions_statement s JOIN commissions_commissionperiod p ON p.id = s.period_id
            WHERE s.tenant_id = %(t)s AND p.start < %(s)s
            ORDER BY s.person_id, p.start DESC
        """, {"t": tenant_id, "s": period.start})
        balances = pd.DataFrame(cursor.fetchall(), columns=["person_id", "balance_cents"])
    people = sums.merge(draws, on="person_id", how="outer").merge(balances, on="person_id", how="left")
    with pd.option_context("future.no_silent_downcasting", True):  # the casts below set the dtypes
        people = people.infer_objects().fillna({"earned_cents": 0, "adjustments_cents": 0, "held_cents": 0,
                                                "released_cents": 0, "draw_cents": 0, "draw_recoverable": True,
                                                "balance_cents": 0})
    for column in ("person_id", "earned_cents", "adjustments_cents", "held_cents", "released_cents", "draw_cents",
                   "balance_cents"):
        people[column] = people[column].astype(np.int64)
    people["draw_recoverable"] = people["draw_recoverable"].astype(bool)
    # Credited on the quota basis, and the quota (attainment on the statement).
    quotas = {person: (basis, cents) for (person, basis), cents in inputs.get("quotas", {}).items()}
    credits = inputs.get("credits")
    credited: dict[int, int] = {}
    if credits is not None and not credits.empty:
        mine = credits.loc[credits["reverses_txn_id"] == 0]
        by = mine.groupby(["person_id", "basis"], observed=True)["credited_cents"].sum()
        for (person, basis), cents in by.items():
            # On the quota's basis when the person has a quota; otherwise everything credited.
            want = quotas.get(int(person), (None, None))[0]
            if want is None or want == basis:
                credited[int(person)] = credited.get(int(person), 0) + int(cents)
    people["credited_cents"] = people["person_id"].map(credited).fillna(0).astype(np.int64)
    people["quota_cents"] = people["person_id"].map({p: q[1] for p, q in quotas.items()})
    return people


@transaction.atomic
def statements_rebuild(*, period: CommissionPeriod, run: CommissionRun, inputs: dict[str, Any],
                       lines: pd.DataFrame, sums: pd.DataFrame | None = None) -> dict[str, Any]:
    """Recompute every statement of ``period`` from ``run`` (whose ``lines`` are the frame it wrote). A statement whose payout changes loses
    its approvals; people with no line any more keep a zero statement (so a paid number never vanishes).
    ``sums``: ``line_sums(lines)`` if the caller has them already."""
    tenant_id = require_tenant_id()
    people = _people_frame(period, run, inputs, lines, sums)
    paid = engine.payouts(people=people) if not people.empty else people
    existing = {s.person_id: s for s in Statement.objects.filter(period=period)}
    seen = set()
    to_create, to_update = [], []
    def money(cents: Any) -> Decimal:
        return Decimal(int(cents)) / 100

    for row in paid.itertuples(index=False):
        person = int(row.person_id)
        seen.add(person)
        quota = None if pd.isna(row.quota_cents) else money(row.quota_cents)
        attainment = None
        if quota:
            attainment = (Decimal(int(row.credited_cents)) / Decimal(int(row.quota_cents)) * 100).quantize(Decimal("0.01"))
        values = {
            "run": run, "credited": money(row.credited_cents), "quota": quota, "attainment": attainment,
            "earned": money(row.earned_cents), "adjustments": money(row.adjustments_cents), "held": money(row.held_cents),
            "released": money(row.released_cents), "draw_paid": money(row.draw_paid_cents),
            "draw_recovered": money(row.draw_recovered_cents), "draw_balance": money(row.balance_after_cents),
            "payout": money(row.payout_cents),
        }
        statement = existing.get(person)
        if statement is None:
            to_create.append(Statement(tenant_id=tenant_id, period=period, person_id=person, **values))
            continue
        changed = statement.payout != values["payout"]
        for key, value in values.items():
            setattr(statement, key, value)
        if changed:
            _withdraw(statement)
        to_update.append(statement)
    for person, statement in existing.items():
        if person in seen:
            continue
        changed = statement.payout != 0
        for key in ("credited", "earned", "adjustments", "held", "released", "draw_paid", "draw_recovered", "payout"):
            setattr(statement, key, Decimal(0))
        statement.run = run
        if changed:
            _withdraw(statement)
        to_update.append(statement)
    Statement.objects.bulk_create(to_create, batch_size=2000)
    _update_rows(to_update)
    total = sum((money(c) for c in paid["payout_cents"]), Decimal(0)) if not paid.empty else Decimal(0)
    return {"count": len(to_create) + len(to_update), "payout": str(total)}


# The statement columns a run rewrites, with their SQL types (for ``_update_rows``).
UPDATED = [("run_id", "bigint"), ("credited", "numeric"), ("quota", "numeric"), ("attainment", "numeric"),
           ("earned", "numeric"), ("adjustments", "numeric"), ("held", "numeric"), ("released", "numeric"),
           ("draw_paid", "numeric"), ("draw_recovered", "numeric"), ("draw_balance", "numeric"),
           ("payout", "numeric"), ("status", "text"), ("manager_approved_by_id", "integer"),
           ("manager_approved_at", "timestamptz"), ("finance_approved_by_id", "integer"),
           ("finance_approved_at", "timestamptz")]


def _update_rows(statements: list[Statement], batch: int = 1000) -> None:
    """One ``UPDATE ... FROM (VALUES ...)`` per ``batch`` statements (Django's ``bulk_update`` builds a
    CASE per field and row: 19 s for 2,220 statements)."""
    tenant_id = require_tenant_id()
    names = ", ".join(name for name, _t in UPDATED)
    assign = ", ".join(f"{name} = v.{name}::{kind}" for name, kind in UPDATED)
    for start in range(0, len(statements), batch):
        chunk = statements[start:start + batch]
        row = "(" + ", ".join(["%s"] * (len(UPDATED) + 1)) + ")"
        params: list[Any] = []
        for statement in chunk:
            params.append(statement.pk)
            params.extend(getattr(statement, name) for name, _t in UPDATED)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE commissions_statement s SET {assign} "
                f"FROM (VALUES {', '.join([row] * len(chunk))}) AS v(id, {names}) "
                f"WHERE s.tenant_id = %s AND s.id = v.id::bigint", [*params, tenant_id])


def _withdraw(statement: Statement) -> None:
    statement.status = StatementStatus.DRAFT
    statement.manager_approved_by = statement.manager_approved_at = None
    statement.finance_approved_by = statement.finance_approved_at = None


@transaction.atomic
def statement_approve(*, statement: Statement, user: Any, as_finance: bool) -> Statement:
    """Manager approval first, then finance (docs/permissions.md: executives approve as manager,
    admins as finance)."""
    statement = Statement.objects.select_for_update().get(pk=statement.pk)
    if statement.run_id is None:
        raise ValidationError("This statement has no run yet.")
    now = timezone.now()
    if as_finance:
        if statement.status != StatementStatus.MANAGER_APPROVED:
            raise ValidationError("Finance approves a statement after the manager has.")
        statement.status = StatementStatus.FINANCE_APPROVED
        statement.finance_approved_by, statement.finance_approved_at = user, now
    else:
        if statement.status != StatementStatus.DRAFT:
            raise ValidationError("The manager has already approved this statement.")
        statement.status = StatementStatus.MANAGER_APPROVED
        statement.manager_approved_by, statement.manager_approved_at = user, now
    statement.save()
    return statement


PAYROLL_COLUMNS = ["employee_id", "last_name", "first_name", "period", "period_start", "period_end", "earned",
                   "adjustments", "held", "released", "draw_paid", "draw_recovered", "payout", "approved_by_finance_at"]


def payroll_rows(*, period: CommissionPeriod) -> list[list[Any]]:
    """Approved payouts of a period for payroll: finance-approved statements only."""
    if period.status == PeriodStatus.OPEN:
        raise ValidationError(f"{period.name} is not approved yet: payroll exports locked periods only.")
    rows = []
    for s in (Statement.objects.filter(period=period, status=StatementStatus.FINANCE_APPROVED)
              .select_related("person").order_by("person__employee_id")):
        rows.append([s.person.employee_id, s.person.last_name, s.person.first_name, period.name, period.start,
                     period.end, s.earned, s.adjustments, s.held, s.released, s.draw_paid, s.draw_recovered, s.payout,
                     s.finance_approved_at.isoformat() if s.finance_approved_at else ""])
    return rows
