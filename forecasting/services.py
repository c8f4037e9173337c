"""Writes of forecasting: stages, the opportunity upsert with its history, periods, calls and manager
adjustments, forecast runs, and the close of a period with the scoring of every forecast."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from revops.audit import audit_bulk
from revops.bulk import staging_copy, staging_create, staging_drop
from revops.models import Person
from revops.models.audit import AuditAction
from revops.selectors import reports_of
from revops.tenancy import require_tenant_id

from . import engine, scoring
from .models import (
    CALL_CATEGORIES,
    CallKind,
    ForecastCall,
    ForecastCategory,
    ForecastPeriod,
    ForecastRun,
    ForecastScore,
    ForecastValue,
    Opportunity,
    OpportunityHistory,
    PeriodKind,
    RunKind,
    RunStatus,
    Stage,
)

CENT = Decimal("0.01")
DEFAULT_STAGES = (("Prospecting", "0.05"), ("Qualified", "0.15"), ("Proposal", "0.35"), ("Negotiation", "0.60"),
                  ("Verbal commitment", "0.85"))
DEADLINE_DAYS = 7


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


@transaction.atomic
def stages_install_defaults() -> list[Stage]:
    """The default sales stages (open ones with typed fallback probabilities, then won and lost)."""
    if Stage.objects.exists():
        return list(Stage.objects.all())
    out = [Stage.objects.create(name=name, order=n, default_probability=Decimal(p))
           for n, (name, p) in enumerate(DEFAULT_STAGES, start=1)]
    out.append(Stage.objects.create(name="Closed won", order=90, is_won=True, default_probability=Decimal(1)))
    out.append(Stage.objects.create(name="Closed lost", order=91, is_lost=True))
    return out


OPPORTUNITY_COLUMNS = ["external_id", "name", "account_id", "service_line_id", "owner_id", "stage_id", "amount",
                       "expected_close", "category", "created_on", "changed_on"]


@transaction.atomic
def opportunities_upsert(*, rows: Iterable[Sequence[Any]]) -> dict[str, int]:
    """Insert or update opportunities by external id (tuples in ``OPPORTUNITY_COLUMNS`` order) with COPY.

    ``changed_on`` is the day the row describes (the CRM's last-modified date). A change of stage,
    amount, expected close or category appends a history row from that day; reaching a won or lost
    stage sets ``closed_on`` (and the category to closed). Re-sending the same rows changes nothing.
    """
    tenant_id = require_tenant_id()
    stage = staging_create("forecasting_opportunity", OPPORTUNITY_COLUMNS[:-1])
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {stage} ADD COLUMN changed_on date")
    staged = staging_copy(stage, OPPORTUNITY_COLUMNS, rows)
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT count(*) FROM {stage} s WHERE s.external_id = ''
               OR NOT EXISTS (SELECT 1 FROM revops_person p WHERE p.id = s.owner_id AND p.tenant_id = %(t)s)
               OR NOT EXISTS (SELECT 1 FROM forecasting_stage g WHERE g.id = s.stage_id AND g.tenant_id = %(t)s)
               OR (s.account_id IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM revops_account a WHERE a.id = s.account_id AND a.tenant_id = %(t)s))
               OR (s.service_line_id IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM revops_serviceline l WHERE l.id = s.service_line_id AND l.tenant_id = %(t)s))
        """, {"t": tenant_id})
        if cursor.fetchone()[0]:
            raise ValidationError("Every opportunity needs an external id, and its owner, stage, account and service "
                                  "line must be this organization's.")
        cursor.execute(f"SELECT external_id FROM {stage} GROUP BY external_id HAVING count(*) > 1 LIMIT 1")
        duplicate = cursor.fetchone()
        if duplicate:
            raise ValidationError(f"External id {duplicate[0]!r} appears twice in one upsert.")
        cursor.execute(f"""
            WITH up AS (
                INSERT INTO forecasting_opportunity (tenant_id, external_id, name, account_id, service_line_id,
                    owner_id, stage_id, amount, expected_close, category, created_on, closed_on, is_won, is_lost,
                    updated_at)
                SELECT %(t)s, s.external_id, s.name, s.account_id, s.service_line_id, s.owner_id, s.stage_id, s.amount,
                       s.expected_close,
                       CASE WHEN g.is_won OR g.is_lost THEN 'closed' ELSE s.category END,
                       coalesce(s.created_on, s.changed_on),
                       CASE WHEN g.is_won OR g.is_lost THEN s.changed_on END, g.is_won, g.is_lost, now()
                FROM {stage} s JOIN forecasting_stage g ON g.id = s.stage_id
                ON CONFLICT (tenant_id, external_id) WHERE external_id <> '' DO UPDATE
                   SET name = EXCLUDED.name, account_id = EXCLUDED.account_id,
                       service_line_id = EXCLUDED.service_line_id, owner_id = EXCLUDED.owner_id,
                       stage_id = EXCLUDED.stage_id, amount = EXCLUDED.amount,
                       expected_close = EXCLUDED.expected_close, category = EXCLUDED.category,
                       closed_on = CASE WHEN EXCLUDED.is_won OR EXCLUDED.is_lost
                                        THEN coalesce(forecasting_opportunity.closed_on, EXCLUDED.closed_on) END,
                       is_won = EXCLUDED.is_won, is_lost = EXCLUDED.is_lost, updated_at = now()
                   WHERE (forecasting_opportunity.name, forecasting_opportunity.account_id,
                          forecasting_opportunity.service_line_id, forecasting_opportunity.owner_id,
                          forecasting_opportunity.stage_id, forecasting_opportunity.amount,
                          forecasting_opportunity.expected_close, forecasting_opportunity.category)
                     IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.account_id, EXCLUDED.service_line_id, EXCLUDED.owner_id,
                          EXCLUDED.stage_id, EXCLUDED.amount, EXCLUDED.expected_close, EXCLUDED.category)
                RETURNING id, (xmax = 0) AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
        """, {"t": tenant_id})
        inserted, updated = cursor.fetchone()
        cursor.execute(f"""
            INSERT INTO forecasting_opportunityhistory (tenant_id, opportunity_id, valid_from, stage_id, amount,
                                                       expected_close, category, recorded_at)
            SELECT %(t)s, o.id, s.changed_on, o.stage_id, o.amount, o.expected_close, o.category, now()
            FROM {stage} s
            JOIN forecasting_opportunity o ON o.tenant_id = %(t)s AND o.external_id = s.external_id
            LEFT JOIN LATERAL (
                SELECT h.stage_id, h.amount, h.expected_close, h.category FROM forecasting_opportunityhistory h
                WHERE h.tenant_id = %(t)s AND h.opportunity_id = o.id ORDER BY h.valid_from DESC, h.id DESC LIMIT 1
            ) last ON true
            WHERE last.stage_id IS NULL
               OR (last.stage_id, last.amount, last.expected_close, last.category)
                  IS DISTINCT FROM (o.stage_id, o.amount, o.expected_close, o.category)
        """, {"t": tenant_id})
        history = cursor.rowcount
    staging_drop(stage)
    counts = {"received": staged, "inserted": inserted, "updated": updated,
              "unchanged": staged - inserted - updated, "history": history}
    audit_bulk(model=Opportunity, action=AuditAction.UPDATE, tenant_id=tenant_id, summary=counts)
    return counts


# -- periods and calls -----------------------------------------------------------------------------

@transaction.atomic
def period_ensure(*, start: dt.date, kind: str = PeriodKind.MONTH, deadline: dt.date | None = None) -> ForecastPeriod:
    """The month (or quarter) starting on ``start``, created when missing; calls are due
    ``DEADLINE_DAYS`` days into it unless ``deadline`` says otherwise."""
    start = start.replace(day=1)
    if kind == PeriodKind.QUARTER and (start.month - 1) % 3:
        raise ValidationError("A quarter starts in January, April, July or October.")
    end = engine.add_months(start, 3 if kind == PeriodKind.QUARTER else 1)
    period, created = ForecastPeriod.objects.get_or_create(
        kind=kind, start=start, defaults={"end": end, "deadline": deadline or start + dt.timedelta(days=DEADLINE_DAYS)})
    return period


@transaction.atomic
def call_submit(*, period: ForecastPeriod, person: Person, category: str, amount: Decimal, user: Any | None = None,
                kind: str = CallKind.REP, subject: Person | None = None, note: str = "",
                now: dt.datetime | None = None) -> ForecastCall:
    """Record a call. A rep calls their own number; a manager adjusts their team's number (``subject``
    empty) or one report's (``subject``: someone under them on the period's first day). Nothing is
    overwritten: every submission is kept and the latest one counts."""
    if period.is_closed:
        raise ValidationError("The period is closed: its calls are final.")
    if category not in CALL_CATEGORIES:
        raise ValidationError(f"Calls are made for {', '.join(c.label for c in CALL_CATEGORIES)}.")
    amount = money(amount)
    if amount < 0:
        raise ValidationError("A call cannot be negative.")
    if kind == CallKind.MANAGER:
        # A manager adjusts their direct reports' numbers (or the whole team's); a report's own
        # manager adjusts deeper levels, so every adjustment has one place in the roll-up.
        team = set(reports_of(manager=person, on=period.start, direct_only=True))
        if not team:
            raise ValidationError(f"{person} has nobody reporting to them on {period.start:%d %b %Y}.")
        if subject is not None and subject.pk not in team:
            raise ValidationError(f"{subject} does not report directly to {person} on {period.start:%d %b %Y}.")
    elif subject is not None:
        raise ValidationError("A rep's call is for their own number.")
    now = now or timezone.now()
    return ForecastCall.objects.create(
        period=period, person=person, subject=subject, kind=kind, category=category, amount=amount, note=note[:500],
        submitted_by=user if getattr(user, "pk", None) else None, submitted_at=now,
        is_late=now.date() > period.deadline)


# -- runs ------------------------------------------------------------------------------------------

def _frame(sql: str, params: dict[str, Any]) -> pd.DataFrame:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])


def conversion_table(*, as_of: dt.date) -> pd.DataFrame:
    """Stage conversion rates and cycle times learned from the history known on ``as_of``."""
    t = require_tenant_id()
    history = _frame("""SELECT opportunity_id, valid_from, stage_id FROM forecasting_opportunityhistory
                        WHERE tenant_id = %(t)s AND valid_from <= %(d)s""", {"t": t, "d": as_of})
    outcomes = _frame("""SELECT id AS opportunity_id, closed_on, is_won, is_lost FROM forecasting_opportunity
                         WHERE tenant_id = %(t)s""", {"t": t})
    stages = _frame("""SELECT id AS stage_id, "order", default_probability::float8 AS default_probability, is_won,
                              is_lost FROM forecasting_stage WHERE tenant_id = %(t)s""", {"t": t})
    if history.empty:
        history = pd.DataFrame(columns=["opportunity_id", "valid_from", "stage_id"])
    return engine.learn_conversion(history, outcomes, stages, as_of=as_of)


def open_pipeline(*, as_of: dt.date) -> pd.DataFrame:
    """Every opportunity as it stood on ``as_of`` that was still open then (from its history)."""
    return _frame("""
        SELECT o.id AS opportunity_id, h.stage_id, h.amount::float8 AS amount, h.expected_close, o.owner_id,
               o.service_line_id
        FROM forecasting_opportunity o
        JOIN LATERAL (
            SELECT stage_id, amount, expected_close FROM forecasting_opportunityhistory h
            WHERE h.tenant_id = %(t)s AND h.opportunity_id = o.id AND h.valid_from <= %(d)s
            ORDER BY h.valid_from DESC, h.id DESC LIMIT 1
        ) h ON true
        JOIN forecasting_stage g ON g.id = h.stage_id AND NOT (g.is_won OR g.is_lost)
        WHERE o.tenant_id = %(t)s
    """, {"t": require_tenant_id(), "d": as_of})


@transaction.atomic
def pipeline_run(*, as_of: dt.date, horizon: int = 6, user: Any | None = None) -> ForecastRun:
    """The weighted pipeline as of ``as_of`` by month for ``horizon`` months, per company, rep and service
    line (model ``weighted_pipeline``), with the learned conversion table kept in the run's summary."""
    run = ForecastRun.objects.create(kind=RunKind.PIPELINE, status=RunStatus.RUNNING, as_of=as_of, horizon=horizon,
                                     created_by=user if getattr(user, "pk", None) else None)
    conversion = conversion_table(as_of=as_of)
    pipeline = open_pipeline(as_of=as_of)
    first = engine.month_start(as_of)
    months = [engine.add_months(first, k) for k in range(horizon)]
    values: list[tuple[Any, ...]] = []
    if not pipeline.empty:
        weighted = engine.weighted_pipeline(pipeline, conversion, as_of=as_of)
        weighted = weighted[weighted["month"].isin(months)]
        weighted["company"] = "all"
        for level, column in (("company", "company"), ("rep", "owner_id"), ("service_line", "service_line_id")):
            grouped = weighted.groupby([column, "month"], dropna=False)["expected"].sum()
            for (key, month), total in grouped.items():
                key = "none" if pd.isna(key) else str(int(key)) if level != "company" else "all"
                values.append((run.pk, level, key, "weighted_pipeline", month, money(total)))
    if values:
        cols = ["run_id", "level", "key", "model", "month", "point"]
        stage = staging_create("forecasting_forecastvalue", cols)
        staging_copy(stage, cols, values)
        with connection.cursor() as cursor:
            cursor.execute(f"""INSERT INTO forecasting_forecastvalue (tenant_id, {', '.join(cols)}, label)
                               SELECT %s, {', '.join(cols)}, '' FROM {stage}""", [require_tenant_id()])
        staging_drop(stage)
    run.status = RunStatus.SUCCEEDED
    run.summary = {
        "open_opportunities": int(len(pipeline)), "values": len(values),
        "conversion": [{"stage_id": int(r.stage_id), "rate": float(r.rate), "passed": int(r.passed),
                        "won": int(r.won), "source": r.source,
                        "cycle_days": None if pd.isna(r.cycle_days) else float(r.cycle_days)}
                       for r in conversion.itertuples()],
    }
    run.save(update_fields=["status", "summary"])
    return run


# -- closing a period ------------------------------------------------------------------------------

def bookings_by_owner(*, start: dt.date, end: dt.date) -> dict[int, Decimal]:
    """Closed-won amounts with a close date in [start, end), by owner: the actual calls are scored on."""
    t = require_tenant_id()
    with connection.cursor() as cursor:
        cursor.execute("""SELECT owner_id, sum(amount) FROM forecasting_opportunity
                          WHERE tenant_id = %s AND is_won AND closed_on >= %s AND closed_on < %s GROUP BY owner_id""",
                       [t, start, end])
        return {owner: total for owner, total in cursor.fetchall()}


@transaction.atomic
def period_close(*, period: ForecastPeriod) -> dict[str, int]:
    """Close a period and score every forecast of it against what happened.

    Scored: each rep's latest call per category submitted before the period ended (source
    ``rep_call:<category>``, level rep); each manager's team number per category (their latest
    team-level adjustment if any, else the roll-up with their per-report adjustments; source
    ``manager_call:<category>``, level team) against their whole team's bookings; and each model's
    forecast values for the period's months from runs made before the period started (source the
    model, by level and key, horizon = months from the run's month to the period's): pipeline models
    against the bookings, time-series and cash runs as ``forecasting.scoring`` says.
    """
    from .selectors import PeriodCalls, rollup  # selectors read calls; the scoring writes

    if period.is_closed:
        raise ValidationError("The period is already closed.")
    actual = bookings_by_owner(start=period.start, end=period.end)
    scores: list[ForecastScore] = []
    people = {p.pk: p for p in Person.objects.all()}
    seen_reps: set[int] = set()
    for call in (ForecastCall.objects.filter(period=period, kind=CallKind.REP, submitted_at__date__lt=period.end)
                 .order_by("person_id", "category", "-submitted_at", "-id")):
        if (call.person_id, call.category) in seen_reps:
            continue
        seen_reps.add((call.person_id, call.category))  # type: ignore[arg-type]
        scores.append(ForecastScore(period=period, source=f"rep_call:{call.category}", level="rep",
                                    key=str(call.person_id), label=str(people.get(call.person_id, "")),
                                    forecast=call.amount, actual=actual.get(call.person_id, Decimal(0))))
    managers = set(ForecastCall.objects.filter(period=period, kind=CallKind.MANAGER).values_list("person_id", flat=True))
    loaded = PeriodCalls.load(period) if managers else None
    for manager_id in managers:
        manager = people[manager_id]
        tree = rollup(period=period, manager=manager, loaded=loaded)
        team = [node.person.pk for _, node in tree.walk()]  # the manager and everyone under them
        team_actual = sum((actual.get(p, Decimal(0)) for p in team), Decimal(0))
        for category in CALL_CATEGORIES:
            number = tree.team_number(category)
            if number is None:
                continue
            scores.append(ForecastScore(period=period, source=f"manager_call:{category}", level="team",
                                        key=str(manager_id), label=f"{manager} (team)", forecast=number,
                                        actual=team_actual))
    months = [m for m in (engine.add_months(period.start, k) for k in range(3)) if m < period.end]
    # The pipeline models forecast closed-won bookings; time-series and cash runs are scored below
    # against their own actuals (forecasting.scoring).
    values = (ForecastValue.objects.filter(run__as_of__lt=period.start, run__status=RunStatus.SUCCEEDED,
                                           run__kind=RunKind.PIPELINE, month__in=months).select_related("run"))
    totals: dict[tuple[str, str, str, int], Decimal] = {}
    for v in values:
        horizon = (period.start.year - v.run.as_of.year) * 12 + period.start.month - v.run.as_of.month
        k = (v.model, v.level, v.key, horizon)
        totals[k] = totals.get(k, Decimal(0)) + v.point
    for (model, level, key, horizon), forecast in totals.items():
        if level == "rep":
            truth = actual.get(int(key), Decimal(0)) if key.isdigit() else Decimal(0)
        elif level == "company":
            truth = sum(actual.values(), Decimal(0))
        else:
            continue  # other levels are scored by the time-series backtests
        scores.append(ForecastScore(period=period, source=model, level=level, key=key, horizon=horizon,
                                    forecast=forecast, actual=truth))
    # Keep one score per (source, level, key, horizon): the latest run wins.
    unique: dict[tuple[str, str, str, int], ForecastScore] = {}
    for s in scores:
        unique[(s.source, s.level, s.key, s.horizon)] = s
    # Time-series runs against the same series' actual months, cash runs against the 835 payments.
    unique.update(scoring.timeseries_scores(period, months))
    unique.update(scoring.cash_scores(period, months))
    tenant_id = require_tenant_id()
    for score in unique.values():
        score.tenant_id = tenant_id  # bulk_create skips save(), which fills it
    ForecastScore.objects.filter(period=period).delete()
    ForecastScore.objects.bulk_create(unique.values())
    period.closed_at = timezone.now()
    period.save(update_fields=["closed_at"])
    return {"scores": len(unique), "bookings": int(sum(actual.values(), Decimal(0)))}


def category_label(category: str) -> str:
    return ForecastCategory(category).label
