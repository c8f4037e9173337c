"""Demo forecasting for each organization: a pipeline with full stage history from January of the demo
year to today, a forecast period per month with every rep's call and their managers' adjustments,
the weighted-pipeline forecast made at the end of each month, every past month closed and scored, a
time-series forecast from the month after the credited bookings end, and the cash forecast from the
day after the billing history's last claim.

Each rep has a calling habit that persists (sandbaggers call low, optimists high, a few are close);
managers adjust some of their reps' numbers part of the way toward what the pipeline says, so the
accuracy leaderboard has a story: whose number to trust. Deals move through the default stages
(Prospecting, Qualified, Proposal, Negotiation, Verbal commitment) with stage-by-stage odds, so the
conversion rates the forecast learns differ from the typed defaults.

Everything goes through ``forecasting.services`` (COPY upserts of the opportunities, one per state
change, so the history is what an integrator's daily sync would leave). Deterministic for a seed and
year; an organization that already has opportunities is left as it is.
"""
from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass
from decimal import Decimal
from django.db import transaction

from revops.models import Organization, OrganizationKind, Person, PersonRole
from revops.selectors import reporting_lines_on
from revops.tenancy import tenant_context

# Odds of moving on from each open stage (the rest are lost there), and days spent in it.
ADVANCE = (0.70, 0.75, 0.65, 0.80, 0.90)
STAGE_DAYS = ((5, 20), (7, 25), (10, 30), (7, 21), (3, 12))
DEALS_PER_REP_MONTH = 3
SIZE = {OrganizationKind.LAB: 18_000.0, OrganizationKind.BEHAVIORAL_HEALTH: 9_000.0}
CATEGORY_AT = ("pipeline", "pipeline", "pipeline", "best_case", "commit")


@dataclass
class ForecastOutcome:
    opportunities: int = 0
    history: int = 0
    periods: int = 0
    calls: int = 0
    runs: int = 0
    scores: int = 0
    seconds: float = 0.0
    skipped: bool = False


def _month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    out, day = [], first.replace(day=1)
    while day <= last:
        out.append(day)
        day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return out


def _path(rng: random.Random, created: dt.date) -> list[tuple[int, dt.date]]:
    """(stage index 0-4 open, 5 won, 6 lost, date) from creation to the close."""
    steps = [(0, created)]
    day = created
    for index in range(5):
        low, high = STAGE_DAYS[index]
        day = day + dt.timedelta(days=rng.randint(low, high))
        if rng.random() > ADVANCE[index]:
            steps.append((6, day))
            return steps
        steps.append((index + 1 if index < 4 else 5, day))
    return steps


def forecasting_seed(*, organization: Organization, seed: int, year: int,
                     today: dt.date | None = None) -> ForecastOutcome:
    from forecasting import services
    from forecasting.models import CallKind, ForecastCall, Opportunity

    outcome = ForecastOutcome()
    started = time.monotonic()
    today = today or dt.date.today()
    rng = random.Random(f"{seed}:{organization.slug}:forecasting")
    with tenant_context(organization), transaction.atomic():
        if Opportunity.objects.exists():
            outcome.skipped = True
            return outcome
        stages = services.stages_install_defaults()
        open_stages = [s for s in stages if not s.is_won and not s.is_lost]
        won = next(s for s in stages if s.is_won)
        lost = next(s for s in stages if s.is_lost)
        by_index = {**{k: s for k, s in enumerate(open_stages)}, 5: won, 6: lost}
        reps = list(Person.objects.filter(role=PersonRole.REP).order_by("employee_id"))
        months = _month_starts(dt.date(year, 1, 1), today)
        size = SIZE.get(organization.kind, 12_000.0)
        habit = {r.pk: rng.choice((0.75, 0.85, 0.95, 1.0, 1.05, 1.2)) for r in reps}
        # Generate every deal's path; states by step index so each upsert is one day's sync of them.
        deals: list[tuple[str, Person, float, dt.date, list[tuple[int, dt.date]]]] = []
        for month in months[:-1] if len(months) > 1 else months:
            for rep in reps:
                if rep.hire_date > month or (rep.termination_date and rep.termination_date < month):
                    continue
                for _ in range(DEALS_PER_REP_MONTH):
                    created = month + dt.timedelta(days=rng.randint(0, 27))
                    if created > today:
                        continue
                    amount = round(size * rng.lognormvariate(0, 0.5), -2)
                    deals.append((f"DEMO-{len(deals) + 1:06d}", rep, amount, created, _path(rng, created)))
        for step in range(7):
            rows = []
            for ext, rep, amount, created, path in deals:
                if step >= len(path) or path[step][1] > today:
                    continue
                index, day = path[step]
                close_estimate = created + dt.timedelta(days=75)
                category = CATEGORY_AT[index] if index < 5 else "closed"
                rows.append((ext, f"{rep.last_name} deal {ext[-6:]}", None, None, rep.pk, by_index[index].pk,
                             Decimal(str(amount)), max(close_estimate, day), category, created, day))
            if rows:
                counts = services.opportunities_upsert(rows=rows)
                outcome.history += counts["history"]
        outcome.opportunities = len(deals)
        won_in: dict[tuple[int, dt.date], float] = {}
        for _, rep, amount, _, path in deals:
            index, day = path[-1]
            if index == 5 and day <= today:
                key = (rep.pk, day.replace(day=1))
                won_in[key] = won_in.get(key, 0.0) + amount
        # A statistical and a cash forecast made in the autumn, so closing the months after them scores the
        # models too (their accuracy and how often the actuals fell inside their intervals).
        from forecasting.cash_data import cash_run
        from forecasting.runs import timeseries_run
        from quotas.models import CreditedTransaction
        from rcm_feeds.models import Claim

        autumn = dt.date(year, 10, 1)
        if autumn < today and CreditedTransaction.objects.filter(metric="bookings", transaction_date__lt=autumn).exists():
            timeseries_run(as_of=autumn, horizon=3)
            outcome.runs += 1
        if autumn < today and Claim.objects.filter(submitted_on__lt=autumn).exists():
            cash_run(as_of=autumn - dt.timedelta(days=1), horizon=3)
            outcome.runs += 1
        # Periods, calls, the month-end pipeline forecast, and the close of every past month.
        for month in months:
            period = services.period_ensure(start=month)
            outcome.periods += 1
            as_of = month - dt.timedelta(days=1)
            if as_of >= dt.date(year, 1, 1):
                services.pipeline_run(as_of=as_of, horizon=3)
                outcome.runs += 1
            current = month == today.replace(day=1)
            submitted = dt.datetime.combine(month + dt.timedelta(days=rng.randint(1, 9)), dt.time(9),
                                            tzinfo=dt.timezone.utc)
            boss_of = dict(reporting_lines_on(on=month).values_list("person_id", "manager_id"))
            late = submitted.date() > period.deadline
            calls: list[ForecastCall] = []
            for rep in reps:
                if rep.hire_date > month or (rep.termination_date and rep.termination_date < month):
                    continue
                if current and rng.random() < 0.5:
                    continue  # half the reps have not called the current month yet
                truth = won_in.get((rep.pk, month), 0.0)
                commit = max(0.0, round(truth * habit[rep.pk] * rng.uniform(0.85, 1.15) + rng.uniform(-2000, 2000), -2))
                # Bulk-created: the same rows services.call_submit writes (reps call their own number;
                # a manager adjusts a direct report), without a query per call.
                for category, factor in (("commit", 1.0), ("best_case", 1.35), ("pipeline", 1.9)):
                    calls.append(ForecastCall(tenant_id=organization.pk, period=period, person=rep, kind=CallKind.REP,
                                              category=category, amount=services.money(commit * factor),
                                              submitted_at=submitted, is_late=late))
                boss = boss_of.get(rep.pk)
                if boss is not None and rng.random() < 0.4:
                    adjusted = max(round((commit + truth) / 2, -2), 0.0)
                    calls.append(ForecastCall(tenant_id=organization.pk, period=period, person_id=boss, subject=rep,
                                              kind=CallKind.MANAGER, category="commit", amount=services.money(adjusted),
                                              submitted_at=submitted, is_late=late,
                                              note="Adjusted to what the pipeline supports"))
            ForecastCall.objects.bulk_create(calls)
            outcome.calls += len(calls)
            if month < today.replace(day=1):
                outcome.scores += services.period_close(period=period)["scores"]
        # A statistical forecast from the month after the credited bookings end (the demo's quota
        # history), and the cash forecast from the day after the last claim of the billing history.
        from django.db.models import Max

        last = CreditedTransaction.objects.filter(metric="bookings").aggregate(d=Max("transaction_date"))["d"]
        if last is not None:
            timeseries_run(as_of=dt.date(last.year + last.month // 12, last.month % 12 + 1, 1), horizon=6)
            outcome.runs += 1
        last_claim = Claim.objects.aggregate(d=Max("submitted_on"))["d"]
        if last_claim is not None:
            cash_run(as_of=last_claim + dt.timedelta(days=1), horizon=6)
            outcome.runs += 1
    outcome.seconds = time.monotonic() - started
    return outcome
