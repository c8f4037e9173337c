"""The executive dashboard's period and filters: parsed once from the query string, passed to every tile.

A **period** is a fiscal year (``FY2026``), a fiscal quarter (``FY2026-Q3``) or a calendar month
(``2025-11``) of the organization's fiscal calendar (``Organization.fiscal_year_start_month``).
**As of** (default: today, or the period's last day when it has ended) bounds every "to date" figure:
quota to date and pace, and the RCM months counted (the period's months up to the as-of month).
The **prior period** is the one of the same length just before (the flags compare with it).

Filters: ``region`` (a depth-1 node of the quota tree, by code), ``team`` (``revops.Team`` id),
``service_line`` (the rep's team's service line) narrow the sales tiles; ``payer_class`` narrows the
RCM tiles. A tile that a filter does not apply to says so (``Tile.filters``).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Any

from django.db import connection
from django.utils import timezone

from quotas.models import fiscal_months, fiscal_year_start
from quotas.services import fiscal_year_of
from revops.models import PayerClass
from revops.tenancy import require_tenant_id

_FY = re.compile(r"^FY(\d{4})(?:-Q([1-4]))?$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def add_months(day: dt.date, n: int) -> dt.date:
    m = day.month - 1 + n
    return dt.date(day.year + m // 12, m % 12 + 1, 1)


@dataclass(frozen=True)
class Filters:
    """What every tile reads: the period [start, end), the as-of date and the narrowing filters."""

    period: str
    start: dt.date
    end: dt.date  # exclusive
    as_of: dt.date
    fiscal_year: int
    region: str = ""
    team: int | None = None
    service_line: int | None = None
    payer_class: str = ""

    @property
    def months(self) -> list[dt.date]:
        out, m = [], self.start
        while m < self.end:
            out.append(m)
            m = add_months(m, 1)
        return out

    @property
    def months_to_date(self) -> list[dt.date]:
        """The period's months that have begun by ``as_of`` (what the RCM tiles count)."""
        return [m for m in self.months if m <= self.as_of]

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def label(self) -> str:
        if len(self.months) == 1:
            return self.start.strftime("%B %Y")
        return self.period.replace("-", " ")

    def prior(self) -> Filters:
        """The period of the same length just before, as of the same point in it."""
        n = len(self.months)
        start = add_months(self.start, -n)
        elapsed = (self.as_of - self.start).days
        as_of = min(start + dt.timedelta(days=elapsed), self.start - dt.timedelta(days=1))
        return replace(self, period=f"prior {self.period}", start=start, end=self.start, as_of=as_of)

    def query(self, **overrides: Any) -> dict[str, str]:
        """The filters as query parameters (for links to fragments, drill-downs and exports)."""
        values = {"period": self.period, "as_of": self.as_of.isoformat(), "region": self.region,
                  "team": str(self.team or ""), "service_line": str(self.service_line or ""),
                  "payer_class": self.payer_class}
        values.update({k: str(v) for k, v in overrides.items()})
        return {k: v for k, v in values.items() if v}


def period_bounds(period: str, start_month: int) -> tuple[dt.date, dt.date, int] | None:
    """(start, exclusive end, fiscal year) of ``FY2026``, ``FY2026-Q3`` or ``2025-11``; None if unreadable."""
    if m := _FY.match(period):
        year, quarter = int(m.group(1)), m.group(2)
        first = fiscal_year_start(year, start_month)
        months = fiscal_months(first)
        if quarter:
            q = int(quarter)
            return months[3 * (q - 1)], add_months(months[3 * (q - 1)], 3), year
        return first, add_months(first, 12), year
    if m := _MONTH.match(period):
        year, month = int(m.group(1)), int(m.group(2))
        if 1 <= month <= 12:
            first = dt.date(year, month, 1)
            return first, add_months(first, 1), fiscal_year_of(first, start_month)
    return None


def latest_activity() -> dt.date | None:
    """The latest day the organization has sales or billing activity on: the last credited transaction or
    the last month with claims (the default period is the fiscal year that contains it)."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT greatest((SELECT max(transaction_date) FROM quotas_creditedtransaction WHERE tenant_id = %(t)s),
                            (SELECT max(month) FROM rcm_feeds_kpi_monthly WHERE tenant_id = %(t)s
                                AND claims_submitted > 0))
        """, {"t": require_tenant_id()})
        return cursor.fetchone()[0]


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def parse(params: Any, *, start_month: int, today: dt.date | None = None) -> Filters:
    """Filters from a query string (``request.GET`` or DRF ``query_params``); anything unreadable falls back
    to the default: the fiscal year containing the earlier of today and the latest activity."""
    today = today or timezone.localdate()
    period = (params.get("period") or "").strip()
    bounds = period_bounds(period, start_month) if period else None
    if bounds is None:
        anchor = min(today, latest_activity() or today)
        year = fiscal_year_of(anchor, start_month)
        period = f"FY{year}"
        bounds = period_bounds(period, start_month)
    assert bounds is not None
    start, end, fiscal_year = bounds
    as_of = None
    if raw := params.get("as_of"):
        try:
            as_of = dt.date.fromisoformat(raw)
        except ValueError:
            as_of = None
    if as_of is None:
        as_of = min(today, end - dt.timedelta(days=1))
    as_of = min(max(as_of, start), end - dt.timedelta(days=1))
    payer_class = params.get("payer_class") or ""
    if payer_class not in PayerClass.values:
        payer_class = ""
    region = (params.get("region") or "").strip()[:40]
    return Filters(period=period, start=start, end=end, as_of=as_of, fiscal_year=fiscal_year, region=region,
                   team=_int(params.get("team")), service_line=_int(params.get("service_line")),
                   payer_class=payer_class)


def period_choices(*, start_month: int, around: int) -> list[tuple[str, str]]:
    """Fiscal years, their quarters and months from two years before ``around`` to one after."""
    out: list[tuple[str, str]] = []
    for year in range(around + 1, around - 3, -1):
        out.append((f"FY{year}", f"FY{year}"))
        for q in (1, 2, 3, 4):
            out.append((f"FY{year}-Q{q}", f"FY{year} Q{q}"))
    return out
