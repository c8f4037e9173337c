"""Crediting in SQL: who each transaction of a period credits, under which plan version.

Turns a period's transactions into credits (docs/commissions.md, "Crediting"): splits, else the
person named on the transaction, else the account's owner on the date; then team credit, overlays
and manager overrides from the active credit rules; then the plan version each credited person is
paid under on that date. The transactions stream out with ``COPY (SELECT ...) TO STDOUT``; the
rest is pandas merges with date-range filters, no Python loop per row. (One SQL query doing the
same was 5x slower at a million transactions; it lives on in tests/commissions/sql_crediting.py
as the reference the tests compare this with.)
"""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection

from revops.tenancy import require_tenant_id

from ..models import CreditRule, CreditRuleKind

CREDIT_COLUMNS = ["txn_id", "person_id", "date", "credited_cents", "share_micro", "role", "role_order", "rule_id",
                  "basis", "service_line_id", "version_id", "reverses_txn_id", "orig_date", "orig_amount_cents",
                  "amount_cents", "credit_date"]


def _active_on(alias: str, date: str) -> str:
    return f"{alias}.valid_from <= {date} AND ({alias}.valid_to IS NULL OR {alias}.valid_to > {date})"


def copy_frame(query: str, params: dict[str, Any]) -> pd.DataFrame:
    """Run ``query`` through ``COPY (...) TO STDOUT`` (CSV with header) and read it with pandas.

    Call inside ``transaction.atomic``: the row-level security settings are applied to the raw
    connection first. Parameters are bound by Django's cursor into the query text."""
    with connection.cursor() as cursor:
        bound = cursor.mogrify(query, params)
    bound = bound.decode() if isinstance(bound, bytes) else bound
    connection.apply_rls_settings()
    buffer = io.BytesIO()
    with connection.connection.cursor() as raw, raw.copy(f"COPY ({bound}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    return pd.read_csv(buffer, keep_default_na=True)


_FAR = np.datetime64("2200-01-01", "ns")  # "open" (datetime64[ns] ends in 2262)


def _frame(query: str, params: dict[str, Any], columns: list[str]) -> pd.DataFrame:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return pd.DataFrame(cursor.fetchall(), columns=columns)


def _ns(values: pd.Series) -> np.ndarray:
    return pd.to_datetime(values).to_numpy(dtype="datetime64[ns]")


def _active(frame: pd.DataFrame, date: str, start: str, end: str) -> pd.DataFrame:
    """Rows of a merge whose [start, end) range (end empty = open) contains ``date``."""
    d = frame[date].to_numpy()
    ends = frame[end].to_numpy()
    ends = np.where(np.isnat(ends), _FAR, ends)
    return frame[(frame[start].to_numpy() <= d) & (d < ends)]


def credits_for(*, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The credits of transactions dated in [start, end), typed for the engine (see ``credits_and_unowned``)."""
    return credits_and_unowned(start=start, end=end)[0]


def credits_and_unowned(*, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The credits of transactions dated in [start, end), typed for the engine, and what ``uncredited``
    reports for the period, counted from the same frames (no second pass over the transactions).

    Set-based in pandas: the period's transactions stream out with ``COPY``; ownership, reporting
    lines, coverage, teams, assignments and versions are small tables joined to them with merges
    and date-range filters (the same rules as the SQL reference in tests/commissions/sql_crediting.py)."""
    from ..engine import round_div

    tenant_id = require_tenant_id()
    params = {"t": tenant_id, "s": start, "e": end}
    txn = copy_frame("""
        SELECT id AS txn_id, basis, coalesce(account_id, 0) AS account_id, coalesce(person_id, 0) AS named_person,
               coalesce(service_line_id, 0) AS service_line_id, transaction_date AS date,
               (amount * 100)::bigint AS amount_cents, coalesce(reverses_id, 0) AS reverses_txn_id
        FROM commissions_transaction
        WHERE tenant_id = %(t)s AND transaction_date >= %(s)s AND transaction_date < %(e)s
    """, params)
    if txn.empty:
        return typed_credits(pd.DataFrame(columns=CREDIT_COLUMNS)), {"unowned_transactions": 0, "unowned_amount": "0"}
    # In id order: a sequential scan of a large table may start where another scan of it stopped
    # (Postgres's synchronized scans), and the credits' order, hence the inputs digest, must not vary.
    order = np.argsort(txn["txn_id"].to_numpy(), kind="stable")
    if (order != np.arange(len(order))).any():
        txn = txn.take(order).reset_index(drop=True)
    txn["date"] = _ns(txn["date"])
    # Reversals are credited like their originals: the original's people, date and splits.
    originals = _frame("""
        SELECT o.id, o.transaction_date, (o.amount * 100)::bigint FROM commissions_transaction o
        WHERE o.tenant_id = %(t)s AND o.id IN (
            SELECT reverses_id FROM commissions_transaction
            WHERE tenant_id = %(t)s AND transaction_date >= %(s)s AND transaction_date < %(e)s
              AND reverses_id IS NOT NULL)
    """, params, ["reverses_txn_id", "orig_date", "orig_amount_cents"])
    originals["orig_date"] = _ns(originals["orig_date"]) if len(originals) else originals["orig_date"]
    txn = txn.merge(originals.astype({"reverses_txn_id": np.int64}), on="reverses_txn_id", how="left")
    txn["orig_amount_cents"] = pd.to_numeric(txn["orig_amount_cents"]).fillna(0).astype(np.int64)
    txn["orig_date"] = pd.to_datetime(txn["orig_date"]).astype("datetime64[ns]")
    txn["credit_date"] = txn["orig_date"].where(txn["reverses_txn_id"] > 0, txn["date"])
    txn["credit_txn"] = np.where(txn["reverses_txn_id"] > 0, txn["reverses_txn_id"], txn["txn_id"])
    first_day = txn["credit_date"].min()

    # The splits of the credited transactions: read by the transaction index over the period's id range
    # (plus the originals of reversals) and kept when their transaction is one of ours. Asking the
    # server for ``transaction_id IN (the period's transactions)`` scanned and sorted those a second
    # time (~1 s at a million). Ordered by transaction and split id: the credits' row order, hence the
    # inputs digest, does not depend on the plan.
    credit_txn = txn["credit_txn"].to_numpy()
    plain = credit_txn[txn["reverses_txn_id"].to_numpy() == 0]
    splits = _frame("""
        SELECT sp.transaction_id, sp.person_id, (sp.share * 1000000)::bigint FROM commissions_transactionsplit sp
        WHERE sp.tenant_id = %(t)s AND (sp.transaction_id BETWEEN %(lo)s AND %(hi)s OR sp.transaction_id = ANY(%(o)s))
        ORDER BY sp.transaction_id, sp.id
    """, {**params, "lo": int(plain.min()) if len(plain) else 0, "hi": int(plain.max()) if len(plain) else -1,
          "o": sorted(set(credit_txn[txn["reverses_txn_id"].to_numpy() > 0].tolist()))},
        ["credit_txn", "person_id", "share_micro"])
    splits = splits[splits["credit_txn"].isin(credit_txn)].reset_index(drop=True)
    split = txn["credit_txn"].isin(splits["credit_txn"])
    keep = ["txn_id", "credit_date", "amount_cents"]
    parts = []
    if split.any():
        part = txn.loc[split, keep + ["credit_txn"]].merge(splits, on="credit_txn")
        part["credited_cents"] = round_div(part["amount_cents"].to_numpy() * part["share_micro"].to_numpy(), 1_000_000)
        part["role"], part["territory_id"] = "split", 0
        parts.append(part)
    direct = ~split & (txn["named_person"] > 0)
    if direct.any():
        part = txn.loc[direct, keep + ["named_person"]].rename(columns={"named_person": "person_id"})
        part["share_micro"], part["credited_cents"] = 1_000_000, part["amount_cents"]
        part["role"], part["territory_id"] = "direct", 0
        parts.append(part)
    nobody = (~split & (txn["named_person"] == 0)).to_numpy()  # unowned unless an owner is found below
    owned = ~split & (txn["named_person"] == 0) & (txn["account_id"] > 0)
    if owned.any():
        ownership = _frame("""
            SELECT account_id, person_id, coalesce(territory_id, 0), valid_from, valid_to
            FROM territories_accountownership
            WHERE tenant_id = %(t)s AND person_id IS NOT NULL AND valid_from < %(e)s
              AND (valid_to IS NULL OR valid_to > %(f)s)
        """, {**params, "f": first_day.date()}, ["account_id", "person_id", "territory_id", "valid_from", "valid_to"])
        ownership["valid_from"], ownership["valid_to"] = _ns(ownership["valid_from"]), _ns(ownership["valid_to"])
        part = _active(txn.loc[owned, keep + ["account_id"]].merge(ownership, on="account_id"),
                       "credit_date", "valid_from", "valid_to")
        part = part.drop(columns=["account_id", "valid_from", "valid_to"])
        part["share_micro"], part["credited_cents"] = 1_000_000, part["amount_cents"]
        part["role"] = "owner"
        parts.append(part)
        nobody &= ~txn["txn_id"].isin(part["txn_id"]).to_numpy()
    columns = ["txn_id", "credit_date", "person_id", "role", "share_micro", "credited_cents", "territory_id"]
    primary = (pd.concat([p[columns] for p in parts], ignore_index=True) if parts
               else pd.DataFrame({c: pd.Series(dtype=np.int64) for c in columns}))
    primary["role_order"], primary["rule_id"] = 1, 0
    primary = primary.merge(txn[["txn_id", "basis"]], on="txn_id")

    rules = list(CreditRule.objects.filter(is_active=True).values_list("pk", "kind", "level", "share", "basis"))
    extra = []

    def add(part: pd.DataFrame, rule: tuple, role: str, order: int) -> None:
        rule_id, _kind, _level, share, basis = rule
        if basis:
            part = part[part["basis"] == basis]
        if part.empty:
            return
        micro = int(share * 1_000_000)
        part = part.assign(role=role, role_order=order, rule_id=rule_id, share_micro=micro,
                           credited_cents=round_div(part["credited_cents"].to_numpy() * micro, 1_000_000),
                           territory_id=0)
        extra.append(part)

    team_rules = [r for r in rules if r[1] == CreditRuleKind.TEAM]
    if team_rules:
        people = _frame("""SELECT id, team_id, hire_date, termination_date FROM revops_person
                           WHERE tenant_id = %(t)s AND team_id IS NOT NULL""", params,
                        ["person_id", "team_id", "hire_date", "termination_date"])
        people["hire_date"], people["termination_date"] = _ns(people["hire_date"]), _ns(people["termination_date"])
        with_team = primary.merge(people[["person_id", "team_id"]], on="person_id")
        mates = with_team.merge(people.rename(columns={"person_id": "mate"}), on="team_id")
        mates = _active(mates[mates["mate"] != mates["person_id"]], "credit_date", "hire_date", "termination_date")
        mates = mates.drop(columns=["person_id", "team_id", "hire_date", "termination_date"]).rename(
            columns={"mate": "person_id"})
        for rule in team_rules:
            add(mates, rule, "team", 2)
    overlay_rules = [r for r in rules if r[1] == CreditRuleKind.OVERLAY]
    if overlay_rules and (primary["territory_id"] > 0).any():
        coverage = _frame("""SELECT territory_id, person_id, valid_from, valid_to FROM territories_coverage
                             WHERE tenant_id = %(t)s AND role = 'overlay' AND person_id IS NOT NULL""", params,
                          ["territory_id", "overlay", "valid_from", "valid_to"])
        coverage["valid_from"], coverage["valid_to"] = _ns(coverage["valid_from"]), _ns(coverage["valid_to"])
        over = _active(primary[primary["territory_id"] > 0].merge(coverage, on="territory_id"),
                       "credit_date", "valid_from", "valid_to")
        over = over.drop(columns=["person_id", "valid_from", "valid_to"]).rename(columns={"overlay": "person_id"})
        for rule in overlay_rules:
            add(over, rule, "overlay", 3)
    override_rules = [r for r in rules if r[1] == CreditRuleKind.MANAGER_OVERRIDE]
    if override_rules:
        lines = _frame("""SELECT person_id, manager_id, valid_from, valid_to FROM revops_reportingline
                          WHERE tenant_id = %(t)s""", params, ["person_id", "manager_id", "valid_from", "valid_to"])
        lines["valid_from"], lines["valid_to"] = _ns(lines["valid_from"]), _ns(lines["valid_to"])
        chain = primary
        for level in range(1, max(r[2] for r in override_rules) + 1):
            chain = _active(chain.merge(lines, on="person_id"), "credit_date", "valid_from", "valid_to")
            chain = chain.drop(columns=["person_id", "valid_from", "valid_to"]).rename(
                columns={"manager_id": "person_id"})
            for rule in (r for r in override_rules if r[2] == level):
                add(chain, rule, "override", 4 + level)

    credit = pd.concat([primary, *extra], ignore_index=True)
    # The plan version each credited person is paid under on the credit date.
    versions = _frame("""
        SELECT a.person_id, v.id, greatest(a.effective_from, v.effective_from),
               least(coalesce(a.effective_to, DATE '2200-01-01'), coalesce(v.effective_to, DATE '2200-01-01'))
        FROM commissions_planassignment a
        JOIN commissions_compplanversion v ON v.tenant_id = %(t)s AND v.plan_id = a.plan_id AND v.status = 'active'
        WHERE a.tenant_id = %(t)s
    """, params, ["person_id", "version_id", "valid_from", "valid_to"])
    versions["valid_from"], versions["valid_to"] = _ns(versions["valid_from"]), _ns(versions["valid_to"])
    credit["row"] = np.arange(len(credit))
    found = _active(credit[["row", "person_id", "credit_date"]].merge(versions, on="person_id"),
                    "credit_date", "valid_from", "valid_to")
    version = np.zeros(len(credit), dtype=np.int64)
    version[found["row"].to_numpy()] = found["version_id"].to_numpy()
    credit["version_id"] = version
    # The transaction's own columns, taken by position (every credit has its transaction; a merge on
    # txn_id copied every column of three million credits: ~12 s of a million-transaction run).
    at = pd.Index(txn["txn_id"].to_numpy()).get_indexer(credit["txn_id"].to_numpy())
    out = credit.drop(columns=["territory_id", "row"])
    for column in ("basis", "service_line_id", "date", "reverses_txn_id", "orig_date", "orig_amount_cents",
                   "amount_cents"):
        out[column] = txn[column].to_numpy()[at]
    # What ``uncredited`` counts, from the frames above: no split, nobody named, no owner on the credit
    # date. Where its SQL could see otherwise (a reversal whose original is not on file, a credit date on
    # or after the period's end that the ownership read above leaves out), ask it.
    credit_dates = txn["credit_date"].to_numpy()
    if np.isnat(credit_dates).any() or (credit_dates >= np.datetime64(end, "ns")).any():
        unowned = uncredited(start=start, end=end)
    else:
        count = int(nobody.sum())
        cents = int(txn["amount_cents"].to_numpy()[nobody].sum())
        unowned = {"unowned_transactions": count,
                   "unowned_amount": str(Decimal(cents).scaleb(-2)) if count else "0"}
    return typed_credits(out), unowned


def typed_credits(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        frame = pd.DataFrame({c: pd.Series(dtype="object") for c in CREDIT_COLUMNS})
    for column in ("txn_id", "person_id", "credited_cents", "share_micro", "role_order", "rule_id",
                   "service_line_id", "version_id", "reverses_txn_id", "orig_amount_cents", "amount_cents"):
        frame[column] = frame[column].astype(np.int64)
    for column in ("date", "orig_date", "credit_date"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    frame["role"] = frame["role"].astype(str).astype("category")
    frame["basis"] = frame["basis"].astype(str).astype("category")
    return frame[CREDIT_COLUMNS]


def uncredited(*, start: dt.date, end: dt.date) -> dict[str, Any]:
    """What a period's run cannot pay, so it is shown rather than dropped: transactions nobody owned,
    and credits of people with no plan assignment or no active version on the date."""
    tenant_id = require_tenant_id()
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT count(*), coalesce(sum(t.amount), 0) FROM commissions_transaction t
            LEFT JOIN commissions_transaction o ON o.tenant_id = %(t)s AND o.id = t.reverses_id
            WHERE t.tenant_id = %(t)s AND t.transaction_date >= %(s)s AND t.transaction_date < %(e)s
              AND t.person_id IS NULL
              AND NOT EXISTS (SELECT 1 FROM commissions_transactionsplit sp
                              WHERE sp.tenant_id = %(t)s AND sp.transaction_id = coalesce(o.id, t.id))
              AND NOT EXISTS (SELECT 1 FROM territories_accountownership w
                              WHERE w.tenant_id = %(t)s AND w.account_id = t.account_id AND w.person_id IS NOT NULL
                                AND {_active_on('w', 'coalesce(o.transaction_date, t.transaction_date)')})
        """, {"t": tenant_id, "s": start, "e": end})
        count, amount = cursor.fetchone()
    return {"unowned_transactions": count, "unowned_amount": str(amount)}
