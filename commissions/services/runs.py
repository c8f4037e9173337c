"""Commission runs: compute a period from the current inputs, atomically.

``run_start`` records a run and queues its Celery job; ``run_execute`` (the job body) credits the
period's transactions in SQL, computes lines with the batch engine, adds hold releases, retroactive
adjustments for locked periods and manual adjustments, COPYs every line into the run's own partition
(``line_store``) and rebuilds the statements, all in ONE database transaction that ends by attaching
the partition and making the run the period's current one. A run killed midway rolls back (its
table with it) and leaves the previous run current (docs/commissions.md).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from revops.jobs import job_create, job_enqueue, job_progress
from revops.models import Job
from revops.tenancy import require_tenant_id

from .. import engine
from ..models import (
    Basis,
    CommissionPeriod,
    CommissionRun,
    CompPlanVersion,
    Component,
    ManualAdjustment,
    PeriodStatus,
    RunStatus,
)
from . import crediting, line_store, remittances
from .statements import EARNED, line_sums, statements_rebuild

# Quota plans measure these metrics; a commission basis reads its quota from the matching one.
QUOTA_METRIC = {Basis.BOOKINGS: "bookings", Basis.FIRST_YEAR_REVENUE: "new_account_revenue",
                Basis.REFERRALS: "referrals_converted", Basis.NET_COLLECTED: "net_collected_revenue"}
Progress = Callable[[int, str], None]


# ----------------------------------------------------------------------------------------------
# Periods


@transaction.atomic
def period_ensure(*, start: dt.date, end: dt.date | None = None, name: str = "") -> CommissionPeriod:
    """The period starting on ``start`` (a calendar month unless ``end`` says otherwise)."""
    existing = CommissionPeriod.objects.filter(start=start).first()
    if existing:
        return existing
    if end is None:
        end = (start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    period = CommissionPeriod(start=start, end=end, name=name or start.strftime("%b %Y"))
    period.full_clean()
    period.save()
    return period


@transaction.atomic
def period_approve(*, period: CommissionPeriod, user: Any) -> CommissionPeriod:
    """Lock the period: its current run is final; later changes arrive as adjustments in an open period."""
    period = CommissionPeriod.objects.select_for_update().get(pk=period.pk)
    if period.status != PeriodStatus.OPEN:
        raise ValidationError(f"{period.name} is already {period.get_status_display().lower()}.")
    if period.current_run_id is None:
        raise ValidationError(f"{period.name} has no run to approve: run it first.")
    if period.runs.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).exists():
        raise ValidationError(f"A run of {period.name} is in progress: wait for it to finish.")
    period.status = PeriodStatus.APPROVED
    period.approved_by = user if getattr(user, "pk", None) else None
    period.approved_at = timezone.now()
    period.save(update_fields=["status", "approved_by", "approved_at"])
    return period


@transaction.atomic
def period_mark_paid(*, period: CommissionPeriod) -> CommissionPeriod:
    period = CommissionPeriod.objects.select_for_update().get(pk=period.pk)
    if period.status != PeriodStatus.APPROVED:
        raise ValidationError("Only an approved period is marked paid.")
    period.status = PeriodStatus.PAID
    period.paid_at = timezone.now()
    period.save(update_fields=["status", "paid_at"])
    return period


# ----------------------------------------------------------------------------------------------
# Engine inputs


def _cents(value: Decimal | None) -> int | None:
    return None if value is None else int((Decimal(value) * 100).to_integral_value())


def _micro(value: Any) -> int:
    return int((Decimal(str(value)) * engine.MICRO).to_integral_value())


def _day(value: dt.date | None) -> np.datetime64 | None:
    return None if value is None else np.datetime64(value, "D")


def component_spec(component: Component, service_lines: dict[str, int]) -> engine.ComponentSpec:
    tiers = []
    for tier in component.tiers or []:
        threshold = Decimal(str(tier.get("from", 0)))
        scaled = int((threshold * 100).to_integral_value()) if component.tier_basis == "attainment" else _cents(threshold)
        tiers.append(engine.Tier(threshold=scaled or 0, rate_micro=_micro(tier.get("rate", 0)),
                                 amount_cents=_cents(Decimal(str(tier.get("amount", 0)))) or 0))
    rates = {service_lines[code]: _micro(rate) for code, rate in (component.service_line_rates or {}).items()
             if code in service_lines}
    return engine.ComponentSpec(
        id=component.pk, version_id=component.version_id, kind=component.kind, basis=component.basis_code,
        service_line_id=component.service_line_id or 0, rate_type=component.rate_type,
        rate_micro=_micro(component.rate), tier_basis=component.tier_basis, tiers=tuple(tiers),
        service_line_rates=rates,
        hurdle_centipct=None if component.hurdle_pct is None else int(component.hurdle_pct * 100),
        cap_cents=_cents(component.cap_amount), unit_cents=_cents(component.unit_amount) or 0,
        spiff_start=_day(component.spiff_start), spiff_end=_day(component.spiff_end),
        hold_centipct=int(component.hold_pct * 100), hold_days=component.hold_days,
        clawback_days=component.clawback_days,
    )


def specs_for(version_ids: Iterable[int]) -> tuple[list[engine.ComponentSpec], dict[int, engine.VersionSpec]]:
    from revops.models import ServiceLine

    ids = sorted({int(v) for v in version_ids if v})
    service_lines = dict(ServiceLine.objects.values_list("code", "pk"))
    versions = {v.pk: engine.VersionSpec(id=v.pk, period_cap_cents=_cents(v.period_cap), quota_basis=v.quota_basis)
                for v in CompPlanVersion.objects.filter(pk__in=ids)}
    components = [component_spec(c, service_lines)
                  for c in Component.objects.filter(version_id__in=ids).order_by("version_id", "order", "pk")]
    return components, versions


def quotas_for(*, period: CommissionPeriod, people: Iterable[int]) -> dict[tuple[int, str], int]:
    """Each person's quota for the period on their version's quota basis: the assignment's
    ``quota_amount``, else their leaf quotas' months in the active quota plan of that metric."""
    tenant_id = require_tenant_id()
    people = sorted({int(p) for p in people})
    if not people:
        return {}
    last_day = period.end - dt.timedelta(days=1)
    out: dict[tuple[int, str], int] = {}
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT a.person_id, a.quota_amount, coalesce(v.quota_basis, 'bookings')
            FROM commissions_planassignment a
            LEFT JOIN commissions_compplanversion v ON v.tenant_id = %(t)s AND v.plan_id = a.plan_id
                 AND v.status = 'active' AND v.effective_from <= %(d)s AND (v.effective_to IS NULL OR v.effective_to > %(d)s)
            WHERE a.tenant_id = %(t)s AND a.person_id = ANY(%(p)s)
              AND a.effective_from <= %(d)s AND (a.effective_to IS NULL OR a.effective_to > %(d)s)
        """, {"t": tenant_id, "d": last_day, "p": people})
        missing: dict[str, list[int]] = {}
        for person_id, amount, basis in cursor.fetchall():
            if amount is not None:
                out[(person_id, basis)] = _cents(amount) or 0
            elif basis in QUOTA_METRIC:
                missing.setdefault(QUOTA_METRIC[basis], []).append(person_id)
        for metric, persons in missing.items():
            cursor.execute("""
                SELECT q.person_id, sum(m.amount) FROM quotas_quota q
                JOIN quotas_quotaplan p ON p.id = q.plan_id AND p.tenant_id = %(t)s AND p.status = 'active'
                     AND p.metric = %(m)s
                JOIN quotas_quotamonth m ON m.tenant_id = %(t)s AND m.quota_id = q.id
                     AND m.month >= %(s)s AND m.month < %(e)s
                WHERE q.tenant_id = %(t)s AND q.is_leaf AND q.person_id = ANY(%(p)s)
                GROUP BY q.person_id
            """, {"t": tenant_id, "m": metric, "s": period.start.replace(day=1), "e": period.end, "p": persons})
            basis = next(b for b, m in QUOTA_METRIC.items() if m == metric)
            for person_id, amount in cursor.fetchall():
                if amount:
                    out[(person_id, str(basis))] = _cents(amount) or 0
    return out


def prior_paid_for(*, period: CommissionPeriod, credits: pd.DataFrame) -> pd.DataFrame:
    """What the originals of this period's reversals paid in earlier periods' current runs
    (commission, SPIFF and their retroactive adjustments), per transaction, person and component."""
    tenant_id = require_tenant_id()
    originals = sorted(set(credits.loc[credits["reverses_txn_id"] > 0, "reverses_txn_id"].tolist()))
    if not originals:
        return pd.DataFrame({"txn_id": pd.Series(dtype=np.int64), "person_id": pd.Series(dtype=np.int64),
                             "component_id": pd.Series(dtype=np.int64), "paid_cents": pd.Series(dtype=np.int64)})
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT l.transaction_id, l.person_id, l.component_id, (sum(l.amount) * 100)::bigint
            FROM commissions_lineitem l
            JOIN commissions_commissionperiod p ON p.tenant_id = %(t)s AND p.current_run_id = l.run_id
            WHERE l.tenant_id = %(t)s AND p.start < %(s)s AND l.transaction_id = ANY(%(x)s)
              AND l.component_id IS NOT NULL AND l.kind IN ('commission', 'spiff', 'adjustment')
            GROUP BY 1, 2, 3
        """, {"t": tenant_id, "s": period.start, "x": originals})
        rows = cursor.fetchall()
    return pd.DataFrame(rows, columns=["txn_id", "person_id", "component_id", "paid_cents"]).astype(np.int64)


def compute_period(period: CommissionPeriod) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Credits and engine lines of ``period`` from today's inputs (nothing written)."""
    credits, unowned = crediting.credits_and_unowned(start=period.start, end=period.end)
    prior = prior_paid_for(period=period, credits=credits)
    # A clawback may reach a component of an older version than any credit of this period names.
    clawed = set(Component.objects.filter(pk__in=prior["component_id"].unique().tolist())
                 .values_list("version_id", flat=True)) if len(prior) else set()
    components, versions = specs_for(set(credits["version_id"].unique().tolist()) | clawed)
    quotas = quotas_for(period=period, people=credits["person_id"].unique())
    lines = engine.compute_lines(credits=credits, components=components, versions=versions, quotas=quotas,
                                 prior_paid=prior, period_start=np.datetime64(period.start, "D"),
                                 period_end=np.datetime64(period.end, "D"))
    inputs = {"credits": credits, "components": components, "versions": versions, "quotas": quotas,
              "unowned": unowned}
    return credits, lines, inputs


def _digest_frame(frame: pd.DataFrame, *, exclude: Iterable[str] = ()) -> str:
    """SHA-256 of a frame's columns but ``exclude``, buffer by buffer (categoricals as codes and
    categories; hashing millions of rows through ``pandas.util.hash_pandas_object`` took ~5 s a run).
    The same digest as of ``frame.drop(columns=exclude)``, without copying the frame (~1 s at 4.7
    million lines) or each column (hashlib reads the arrays' buffers)."""
    names = [name for name in frame.columns if name not in set(exclude)]
    if len(frame) == 0 or not names:
        return hashlib.sha256(b"empty").hexdigest()
    digest = hashlib.sha256(f"{len(frame)}".encode())
    for name in names:
        series = frame[name]
        digest.update(f"|{name}|{series.dtype}|".encode())
        if isinstance(series.dtype, pd.CategoricalDtype):
            digest.update(repr([str(c) for c in series.cat.categories]).encode())
            digest.update(np.ascontiguousarray(series.cat.codes.to_numpy()))
        elif series.dtype.kind in "biufmM":
            values = np.ascontiguousarray(series.to_numpy())
            digest.update(values.view(np.int64) if values.dtype.kind in "mM" else values)
        else:
            digest.update(pd.util.hash_pandas_object(series, index=False).to_numpy())
    return digest.hexdigest()


def inputs_digest(inputs: dict[str, Any]) -> str:
    digest = hashlib.sha256(_digest_frame(inputs["credits"]).encode())
    digest.update(repr(sorted((c.id, repr(c)) for c in inputs["components"])).encode())
    digest.update(repr(sorted(inputs["versions"].items())).encode())
    digest.update(repr(sorted(inputs["quotas"].items())).encode())
    return digest.hexdigest()


# ----------------------------------------------------------------------------------------------
# Lines beyond the engine's: releases, retroactive adjustments, manual adjustments


def _empty_lines() -> pd.DataFrame:
    return pd.DataFrame({
        "person_id": pd.Series(dtype=np.int64), "kind": pd.Series(dtype=object),
        "component_id": pd.Series(dtype=np.int64), "version_id": pd.Series(dtype=np.int64),
        "txn_id": pd.Series(dtype=np.int64), "amount_cents": pd.Series(dtype=np.int64),
        "source_period_id": pd.Series(dtype=np.int64), "note": pd.Series(dtype=object),
    })


def releases_for(*, period: CommissionPeriod, own: pd.DataFrame) -> pd.DataFrame:
    """Held pay due in this period: held parts of earlier periods' current lines (and of this run's)
    whose ``release_on`` falls in [start, end)."""
    tenant_id = require_tenant_id()
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT l.person_id, coalesce(l.component_id, 0), coalesce(l.version_id, 0), coalesce(l.transaction_id, 0),
                   (l.held * 100)::bigint, l.period_id, l.transaction_date
            FROM commissions_lineitem l
            JOIN commissions_commissionperiod p ON p.tenant_id = %(t)s AND p.current_run_id = l.run_id
            WHERE l.tenant_id = %(t)s AND p.start < %(s)s AND l.held <> 0
              AND l.release_on >= %(s)s AND l.release_on < %(e)s
        """, {"t": tenant_id, "s": period.start, "e": period.end})
        rows = cursor.fetchall()
    earlier = pd.DataFrame(rows, columns=["person_id", "component_id", "version_id", "txn_id", "amount_cents",
                                          "source_period_id", "date"])
    mine = own.loc[(own["held_cents"] != 0) & (own["release_on"] < np.datetime64(period.end, "D"))]
    same = pd.DataFrame({"person_id": mine["person_id"], "component_id": mine["component_id"],
                         "version_id": mine["version_id"], "txn_id": mine["txn_id"],
                         "amount_cents": mine["held_cents"], "source_period_id": period.pk, "date": mine["date"]})
    out = pd.concat([earlier, same], ignore_index=True)
    out["kind"] = "release"
    out["note"] = "held_released"
    return out


def _locked_lines(period: CommissionPeriod) -> pd.DataFrame:
    """What a locked period paid in earnings: its own current run's earning lines plus adjustments for
    it written in other locked periods' runs, per (person, component, transaction, kind)."""
    tenant_id = require_tenant_id()
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT l.person_id, coalesce(l.component_id, 0), coalesce(l.version_id, 0), coalesce(l.transaction_id, 0),
                   CASE WHEN l.kind = 'adjustment' THEN split_part(l.note, ':', 1) ELSE l.kind END,
                   (sum(l.amount) * 100)::bigint
            FROM commissions_lineitem l
            JOIN commissions_commissionperiod p ON p.tenant_id = %(t)s AND p.current_run_id = l.run_id
            WHERE l.tenant_id = %(t)s AND p.status <> 'open'
              AND ((l.period_id = %(p)s AND l.kind = ANY(%(earned)s))
                   OR (l.kind = 'adjustment' AND l.source_period_id = %(p)s))
            GROUP BY 1, 2, 3, 4, 5
        """, {"t": tenant_id, "p": period.pk, "earned": list(EARNED)})
        rows = cursor.fetchall()
    return pd.DataFrame(rows, columns=["person_id", "component_id", "version_id", "txn_id", "kind", "amount_cents"])


def adjustments_for(*, period: CommissionPeriod, progress: Progress | None = None) -> pd.DataFrame:
    """Retroactive adjustments: every locked period before ``period`` recomputed with today's inputs,
    minus what it paid, per person, component, transaction and kind; written in ``period`` (only the
    earliest open period carries them, so two open periods never book the same change twice)."""
    earliest_open = CommissionPeriod.objects.filter(status=PeriodStatus.OPEN).order_by("start").first()
    if earliest_open is None or earliest_open.pk != period.pk:
        return _empty_lines()
    keys = ["person_id", "component_id", "version_id", "txn_id", "kind"]
    found = []
    locked = list(CommissionPeriod.objects.filter(start__lt=period.start).exclude(status=PeriodStatus.OPEN)
                  .exclude(current_run=None).order_by("start"))
    for number, old in enumerate(locked, start=1):
        if progress:
            progress(number, f"Rechecking locked period {old.name} for retroactive changes")
        _credits, lines, _inputs = compute_period(old)
        now = (lines.groupby(keys, observed=True, sort=False)["amount_cents"].sum().reset_index()
               if not lines.empty else pd.DataFrame(columns=[*keys, "amount_cents"]))
        paid = _locked_lines(old)
        now = now.astype({"kind": str})
        merged = now.merge(paid, on=keys, how="outer", suffixes=("_now", "_paid")).fillna(
            {"amount_cents_now": 0, "amount_cents_paid": 0})
        merged["amount_cents"] = (merged["amount_cents_now"] - merged["amount_cents_paid"]).astype(np.int64)
        diff = merged.loc[merged["amount_cents"] != 0, [*keys, "amount_cents"]].copy()
        if diff.empty:
            continue
        diff["note"] = diff["kind"] + ":" + old.name
        diff["kind"] = "adjustment"
        diff["source_period_id"] = old.pk
        found.append(diff)
    if not found:
        return _empty_lines()
    return pd.concat(found, ignore_index=True)


def manual_lines_for(period: CommissionPeriod) -> pd.DataFrame:
    rows = list(ManualAdjustment.objects.filter(period=period).values_list("person_id", "amount", "reason", "pk"))
    return pd.DataFrame({
        "person_id": [r[0] for r in rows], "kind": "manual",
        "amount_cents": [_cents(r[1]) for r in rows], "note": [f"#{r[3]}: {r[2]}"[:300] for r in rows],
        "source_period_id": period.pk,
    })


# ----------------------------------------------------------------------------------------------
# Writing


# Frame columns -> line columns. The frames use integers and sentinels (0 = no id, -1 = not applicable,
# NaN where a frame lacks the column); ``line_columns`` turns them into values and NULLs.
#   (frame column, line column, kind, scale, default, NULL when)
LINE_MAP = [
    ("person_id", "person_id", "int8", 0, 0, None),
    ("kind", "kind", "text", 0, "", None),
    ("component_id", "component_id", "int8", 0, 0, "zero"),
    ("version_id", "version_id", "int8", 0, 0, "zero"),
    ("txn_id", "transaction_id", "int8", 0, 0, "zero"),
    ("date", "transaction_date", "date", 0, None, "nat"),
    ("role", "credit_role", "text", 0, "", None),
    ("rule_id", "credit_rule_id", "int8", 0, 0, "zero"),
    ("share_micro", "credit_share", "numeric", 6, -1, "negative"),
    ("credited_cents", "credited", "numeric", 2, 0, None),
    ("att_before", "attainment_before", "numeric", 2, -1, "negative"),
    ("att_after", "attainment_after", "numeric", 2, -1, "negative"),
    ("tier", "tier", "int2", 0, 0, "zero"),
    ("rate_micro", "rate", "numeric", 6, -1, "negative"),
    ("amount_cents", "amount", "numeric", 2, 0, None),
    ("held_cents", "held", "numeric", 2, 0, None),
    ("release_on", "release_on", "date", 0, None, "nat"),
    ("source_period_id", "source_period_id", "int8", 0, 0, "zero"),
    ("note", "note", "text", 0, "", None),
]
TEXT_COLUMNS = ("kind", "role", "note")


def _text_codes(series: pd.Series | None, n: int, default: str) -> tuple[np.ndarray, list[str]]:
    if series is None:
        return np.zeros(n, dtype=np.int64), [default]
    if isinstance(series.dtype, pd.CategoricalDtype):
        labels = [str(c) for c in series.cat.categories] + [default]
        codes = series.cat.codes.to_numpy().astype(np.int64)
        return np.where(codes < 0, len(labels) - 1, codes), labels
    codes, uniques = pd.factorize(series.fillna(default).astype(str))
    return codes.astype(np.int64), [str(u) for u in uniques]


def line_columns(lines: pd.DataFrame, first_id: int) -> list[line_store.Column]:
    """The lines as binary COPY columns of ``commissions_lineitem`` (ids from ``first_id`` on, in frame
    order; tenant, run and period come from the partition's defaults)."""
    n = len(lines)
    out = [line_store.Column("id", "int8", np.arange(first_id, first_id + n, dtype=np.int64))]
    for source, target, kind, scale, default, null_when in LINE_MAP:
        series = lines[source] if source in lines else None
        if kind == "text":
            codes, labels = _text_codes(series, n, default)
            out.append(line_store.Column(target, "text", codes, labels=labels))
            continue
        if kind == "date":
            if series is None:
                days = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
            elif series.dtype.kind == "M":
                days = series.to_numpy().astype("datetime64[D]")
            else:
                days = pd.to_datetime(series).to_numpy(dtype="datetime64[D]")
            null = np.isnat(days)
            out.append(line_store.Column(target, "date", np.where(null, 0, days.view(np.int64)), null=null))
            continue
        values = _integers(series, n, default)
        null = None
        if null_when == "zero":
            null = values == 0  # the values there are 0 already
        elif null_when == "negative":
            null = values < 0
            values = np.where(null, 0, values)
        out.append(line_store.Column(target, kind, values, null=null, scale=scale))
    return out


def _integers(series: pd.Series | None, n: int, default: int) -> np.ndarray:
    """A frame column as int64, ``default`` where it is missing: the column's own buffer when it is int64
    already (no copy: ``fillna`` copied each of millions of rows)."""
    if series is None:
        return np.full(n, default, dtype=np.int64)
    values = series.to_numpy()
    if values.dtype.kind == "f" or values.dtype == object:
        return series.fillna(default).to_numpy(dtype=np.int64)
    return values.astype(np.int64, copy=False)


def lines_concat(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """The run's line frames as one, its text columns categorical (cheap to hash, sum and encode)."""
    frames = [f for f in frames if not f.empty]
    if not frames:
        return _empty_lines()
    if len(frames) > 1:
        for column in TEXT_COLUMNS:
            labels: dict[str, None] = {}
            for frame in frames:
                if column in frame:
                    values = frame[column].cat.categories if isinstance(frame[column].dtype, pd.CategoricalDtype) \
                        else frame[column].dropna().astype(str).unique()
                    labels.update(dict.fromkeys(str(v) for v in values))
            categories = list(labels)
            for number, frame in enumerate(frames):
                if column not in frame:
                    continue
                if isinstance(frame[column].dtype, pd.CategoricalDtype):
                    recoded = frame[column].cat.set_categories(categories)
                else:
                    recoded = pd.Categorical(frame[column].astype(object).where(frame[column].notna(), None),
                                             categories=categories)
                frames[number] = frame.assign(**{column: recoded})
    return pd.concat(frames, ignore_index=True)


def lines_write(*, run: CommissionRun, period: CommissionPeriod, lines: pd.DataFrame) -> int:
    """COPY the lines into the run's own table (``line_store``): attached by ``line_store.partition_attach``
    at the end of the run's transaction."""
    require_tenant_id()
    if lines.empty:
        return 0
    first = line_store.line_ids_reserve(len(lines))
    return line_store.partition_load(run_id=run.pk, period_id=period.pk, columns=line_columns(lines, first))


# ----------------------------------------------------------------------------------------------
# Runs


@transaction.atomic
def run_start(*, period: CommissionPeriod, user: Any | None = None, enqueue: bool = True) -> CommissionRun:
    """Record a run of an open period and queue its job (after commit)."""
    period = CommissionPeriod.objects.select_for_update().get(pk=period.pk)
    if period.is_locked:
        raise ValidationError(f"{period.name} is locked: changes to it are computed as adjustments in an open "
                              f"period.")
    _interrupted_runs_fail(period)
    if period.runs.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).exists():
        raise ValidationError(f"A run of {period.name} is already queued or running.")
    job = job_create(kind="commission_run", label=f"Commission run {period.name}", total=6, created_by=user,
                     params={"period": period.pk})
    run = CommissionRun(period=period, job=job, created_by=user if getattr(user, "pk", None) else None)
    run.save()
    job.params = {"period": period.pk, "run": run.pk}
    job.save(update_fields=["params"])
    if enqueue:
        from ..tasks import run_task

        job_enqueue(job=job, task=run_task, run_id=run.pk)
    return run


RUN_LOCK = 7401  # advisory lock class of commission runs; the second key is the period id


def _interrupted_runs_fail(period: CommissionPeriod) -> None:
    """A run marked running whose transaction no longer holds the period's lock was killed (its
    worker died): say so, so a new run may start. Queued runs older than an hour never started."""
    running = list(period.runs.filter(status=RunStatus.RUNNING).values_list("pk", flat=True))
    if running:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [RUN_LOCK, period.pk])
            free = cursor.fetchone()[0]
        if free:
            period.runs.filter(pk__in=running).update(
                status=RunStatus.FAILED, finished_at=timezone.now(),
                error="Interrupted: the worker stopped before the run committed; the previous result stands.")
    stale = timezone.now() - dt.timedelta(hours=1)
    period.runs.filter(status=RunStatus.QUEUED, created_at__lt=stale).update(
        status=RunStatus.FAILED, finished_at=timezone.now(), error="Never started (queued for over an hour).")


def run_execute(*, run_id: int, job: Job | None = None, checkpoint: Callable[[str], None] | None = None,
                cleanup: bool = True) -> dict[str, Any]:
    """Compute and write run ``run_id`` in one transaction (see the module docstring).

    ``checkpoint(stage)`` is called between stages (tests use it to kill a run midway)."""
    def progress(done: int, message: str) -> None:
        if job is not None:
            job_progress(job_id=job.pk, done=done, total=6, message=message)
        if checkpoint is not None:
            checkpoint(message)

    CommissionRun.objects.filter(pk=run_id).update(status=RunStatus.RUNNING)
    try:
        with transaction.atomic():
            result = _run_in_transaction(run_id, progress)
    except BaseException as exc:  # a killed worker (KeyboardInterrupt, SystemExit) too
        CommissionRun.objects.filter(pk=run_id).update(status=RunStatus.FAILED, finished_at=timezone.now(),
                                                       error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    if cleanup:
        run_housekeeping(run_id=run_id)
    return result


def run_housekeeping(*, run_id: int) -> int:
    """After a run's commit: planner statistics for its partition, and the superseded lines removed."""
    if line_store.partitions_of([run_id]):
        line_store.partition_analyze(run_id=run_id)
    return superseded_lines_delete()


def superseded_lines_delete() -> int:
    """Remove the lines of runs that are no longer any period's current run (superseded or failed): drop
    their partitions (lines written before partitions: DELETE from the legacy one). Safe at any time:
    nothing reads them. Dropping a partition locks the parent table briefly; if that lock is not granted
    within two seconds (long readers), the drop is left to the next run's cleanup. Returns the lines removed."""
    tenant_id = require_tenant_id()
    stale = list(CommissionRun.objects.filter(status__in=[RunStatus.SUPERSEDED, RunStatus.FAILED])
                 .values_list("pk", flat=True))
    if not stale:
        return 0
    removed = 0
    own = line_store.partitions_of(stale)
    for run_id in own:
        name = line_store.partition_name(run_id)
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
                cursor.execute(f'SELECT count(*) FROM "{name}"')
                count = cursor.fetchone()[0]
                # Disputes naming these lines keep their copy of the line; the reference goes (SET_NULL).
                cursor.execute(f'UPDATE commissions_dispute SET line_id = NULL WHERE tenant_id = %s AND line_id IN '
                               f'(SELECT id FROM "{name}")', [tenant_id])
                cursor.execute(f'DROP TABLE "{name}"')
            removed += count
        except OperationalError:  # lock_timeout: readers hold the parent; the next cleanup drops it
            continue
    legacy = [r for r in stale if r not in set(own)]
    if legacy:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE commissions_dispute SET line_id = NULL WHERE tenant_id = %s AND line_id IN "
                           "(SELECT id FROM commissions_lineitem WHERE tenant_id = %s AND run_id = ANY(%s))",
                           [tenant_id, tenant_id, legacy])
            cursor.execute("DELETE FROM commissions_lineitem WHERE tenant_id = %s AND run_id = ANY(%s)",
                           [tenant_id, legacy])
            removed += cursor.rowcount
    return removed


def _run_in_transaction(run_id: int, progress: Progress) -> dict[str, Any]:

    run = CommissionRun.objects.select_related("period").get(pk=run_id)
    period = CommissionPeriod.objects.select_for_update().get(pk=run.period_id)
    if period.is_locked:
        raise ValidationError(f"{period.name} was locked before the run started.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [RUN_LOCK, period.pk])
    collected = remittances.remittances_sync(before=period.end) if remittances.collected_in_use() else None
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_nestloop = off")
    progress(0, "Crediting transactions (owners, splits, team, overlays, overrides)")
    credits, lines, inputs = compute_period(period)
    progress(1, f"Computed {len(lines):,} lines from {len(credits):,} credits")
    releases = releases_for(period=period, own=lines)
    progress(2, "Retroactive changes to locked periods")
    adjustments = adjustments_for(period=period)
    manual = manual_lines_for(period)
    everything = lines_concat([lines, releases, adjustments, manual]) if not lines.empty or any(
        not f.empty for f in (releases, adjustments, manual)) else lines
    progress(3, f"Writing {len(everything):,} lines")
    # The digests and the statements' per-person sums are computed in a thread while the COPY waits on
    # the server (hashlib, numpy and pandas' group sums release the GIL); the pool's exit waits for it
    # whatever happens.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="run-digests") as pool:
        digests = pool.submit(lambda: (inputs_digest(inputs), _digest_frame(everything, exclude=("note",))))
        sums = pool.submit(line_sums, everything)
        written = lines_write(run=run, period=period, lines=everything)
        inputs_hash, results_hash = digests.result()
        person_sums = sums.result()
    progress(4, "Statements, draws and balances")
    statements = statements_rebuild(period=period, run=run, inputs=inputs, lines=everything, sums=person_sums)
    progress(5, "Making the run current")
    previous = period.current_run_id
    if previous:
        # A superseded run keeps its record (totals, digests); its partition is dropped after the commit
        # (``superseded_lines_delete``): its lines are no longer read. Disputes keep their own copy of
        # the line they question.
        CommissionRun.objects.filter(pk=previous).update(status=RunStatus.SUPERSEDED)
    totals = {
        "credits": len(credits), "lines": written, "people": int(everything["person_id"].nunique()) if written else 0,
        "earned": str(Decimal(int(lines["amount_cents"].sum()) if not lines.empty else 0) / 100),
        "adjustments": str(Decimal(int(adjustments["amount_cents"].sum()) if not adjustments.empty else 0) / 100),
        "payout": statements["payout"], "statements": statements["count"],
        **inputs["unowned"],  # counted by crediting (``crediting.uncredited`` in one SQL query: the same)
        "unassigned_credits": int((credits["version_id"] == 0).sum()) if not credits.empty else 0,
    }
    if collected is not None:
        totals["remittances"] = collected
    CommissionRun.objects.filter(pk=run.pk).update(
        status=RunStatus.SUCCEEDED, finished_at=timezone.now(), inputs_digest=inputs_hash, results_digest=results_hash,
        totals=totals)
    if written:
        line_store.partition_attach(run_id=run.pk)  # last: it holds a lock on the parent until the commit
    CommissionPeriod.objects.filter(pk=period.pk).update(current_run=run)
    progress(6, "Done")
    return {"run": run.pk, **totals}


def run_now(*, period: CommissionPeriod, user: Any | None = None) -> CommissionRun:
    """Start and execute a run in this process (demo seeding, tests, benchmarks)."""
    from revops.jobs import run_job

    run = run_start(period=period, user=user, enqueue=False)
    run_job(run.job_id, lambda job: run_execute(run_id=run.pk, job=job))
    run.refresh_from_db()
    return run

