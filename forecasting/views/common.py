"""What the forecasting pages and the API share: the role's rights, whose calls a user may read and submit,
the period a page opens on, starting a run of any kind this installation has, htmx and export helpers.

Whose calls (resource ``forecast_calls``): admins and analysts read and submit anyone's (on their
behalf). Executives read everyone's. Reps read (calls and pipeline alike), and reps and executives
submit, only for the person linked to their membership and, when they manage people, everyone under
them on the period's first day. A submission outside that reach is refused with a 403 that says why.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from revops.access import CHANGE, allowed
from revops.exports import FORMATS
from revops.models import Person, Role
from revops.selectors import reports_of

from .. import services
from ..models import ForecastPeriod, ForecastRun, ForecastValue, RunKind

RESOURCE = "forecasting"
CALLS = "forecast_calls"
ON_BEHALF_ROLES = frozenset({Role.ADMIN, Role.REVOPS_ANALYST})
# Reps read only their own and their reports' pipeline and calls; every other role that may read reads all.
NARROW_READ_ROLES = frozenset({Role.REP})
NOT_LINKED = ("Your membership is not linked to a person, so there is no number of yours to submit: ask an admin to "
              "link your user to your person record (Members page).")


def role_of(request: Any) -> str | None:
    return getattr(request, "role", None)


def can_change(request: Any) -> bool:
    return allowed(role_of(request), RESOURCE, CHANGE)


def can_submit_calls(request: Any) -> bool:
    return allowed(role_of(request), CALLS, CHANGE)


def acting_person(request: Any) -> Person | None:
    """The person linked to the request's membership (None for API keys and unlinked users)."""
    membership = getattr(request, "membership", None)
    person_id = getattr(membership, "person_id", None)
    if person_id is None:
        return None
    return Person.objects.filter(pk=person_id).first()


def reach(person: Person | None, on: dt.date) -> set[int]:
    """``person`` and everyone under them on ``on``."""
    if person is None:
        return set()
    return {person.pk, *reports_of(manager=person, on=on)}


def readable_people(request: Any, on: dt.date) -> set[int] | None:
    """Whose calls and pipeline the request reads: None for everyone, else a set of person ids."""
    if role_of(request) not in NARROW_READ_ROLES:
        return None
    return reach(acting_person(request), on)


def readable_values(request: Any, values: QuerySet[ForecastValue]) -> QuerySet[ForecastValue]:
    """A run's values the request may read: a rep sees the rep-level series of their reach only."""
    people = readable_people(request, timezone.localdate())
    if people is None:
        return values
    return values.filter(~Q(level="rep") | Q(key__in=[str(p) for p in people]))


def submission_refusal(request: Any, *, period: ForecastPeriod, person: Person) -> str | None:
    """Why the request may not submit a call for ``person`` in ``period`` (None: it may)."""
    if not can_submit_calls(request):
        return "Your role may not submit forecast calls."
    if role_of(request) in ON_BEHALF_ROLES:
        return None
    me = acting_person(request)
    if me is None:
        return NOT_LINKED
    if person.pk in reach(me, period.start):
        return None
    return (f"You may submit calls only for yourself ({me}) and the people under you on "
            f"{period.start:%d %b %Y}; {person} is not one of them.")


def default_period() -> ForecastPeriod | None:
    """The open period containing today (a month before a quarter), else the latest open one, else the latest."""
    today = timezone.localdate()
    periods = ForecastPeriod.objects.all()
    current = (periods.filter(start__lte=today, end__gt=today, closed_at__isnull=True)
               .order_by("kind", "-start").first())  # "month" sorts before "quarter": months first
    return current or periods.filter(closed_at__isnull=True).order_by("-start").first() or periods.first()


def period_from(raw: Any) -> ForecastPeriod | None:
    """The period a ``?period=`` names (None when it names none of this organization's)."""
    if raw in (None, ""):
        return default_period()
    try:
        return ForecastPeriod.objects.filter(pk=int(raw)).first()
    except (TypeError, ValueError):
        return None


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def export_format(request: HttpRequest) -> str | None:
    fmt = request.GET.get("format")
    return fmt if fmt in FORMATS else None


# -- runs ------------------------------------------------------------------------------------------

def optional_run_starters() -> dict[str, Callable[..., ForecastRun]]:
    """The run kinds beyond the weighted pipeline that this installation has: the time-series run
    (``forecasting.runs.timeseries_run_start``, a job) and the cash forecast (``forecasting.cash.cash_run``).
    Imported here, not at the top, so the pages work in an installation without them."""
    starters: dict[str, Callable[..., ForecastRun]] = {}
    try:
        from forecasting.runs import timeseries_run_start
    except ImportError:
        pass
    else:
        starters[RunKind.TIME_SERIES.value] = timeseries_run_start
    try:
        from forecasting.cash import cash_run  # type: ignore[attr-defined]
    except ImportError:
        pass
    else:
        starters[RunKind.CASH.value] = cash_run
    return starters


def run_start(*, kind: str, as_of: dt.date, horizon: int, user: Any) -> ForecastRun:
    """Start a run of ``kind`` as of ``as_of``: the weighted pipeline at once, the others through their
    modules (the time series as a job that runs after the commit)."""
    if kind == RunKind.PIPELINE:
        from ..models import Opportunity

        if not Opportunity.objects.exists():
            raise ValidationError("There are no opportunities yet: the weighted pipeline has nothing to weigh. "
                                  "Sync them through the API or import a file first.")
        return services.pipeline_run(as_of=as_of, horizon=horizon, user=user)
    starter = optional_run_starters().get(kind)
    if starter is None:
        raise ValidationError({"kind": [f"{RunKind(kind).label} runs are not available in this installation yet."]})
    with transaction.atomic():
        return starter(as_of=as_of, horizon=horizon, user=user)
