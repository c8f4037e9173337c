"""Revenue reads of the executive dashboard, from the RCM monthly aggregates (``rcm_feeds_kpi_monthly``) and
the people on the payroll: gross-to-net yield, payer mix, net revenue per encounter, revenue per FTE and
payer contribution margin.

Definitions (docs/analytics.md repeats them; the RCM ones are rcm_feeds/kpis.py's, docs/kpis.md):
- **Net revenue** = net patient service revenue (NPSR): 835 charges − contractual adjustments, by payment
  month: the numerator of the KPI ``gross_to_net_yield``.
- **Net revenue per encounter** = NPSR / claims first paid in the period (the denominator of the KPI
  ``days_to_pay``); both counted by payment month.
- **FTE** = Σ over ``revops.Person`` rows of the days they were employed (hire date to termination date)
  within the window / the window's days; the window is the period's months up to the as-of month.
  **Revenue per FTE** = NPSR of the same months / FTE.
- **Net collected** = 835 payments (CLP04), reversals netted, by payment month (the numerator of the KPI
  ``net_collection_rate``).
- **Payer contribution margin** = net collected − allocated RCM cost. Revenue-cycle cost is kept by facility
  and month (the cost feed), so each facility-month's cost is allocated to the payers in proportion to their
  positive net collected there that month: the cost-to-collect basis (cost / cash collected). Cost of a
  facility-month where no payer collected anything stays **unallocated** (shown as its own row). Contracts
  will refine this with direct cost per contract.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection

from rcm_feeds import kpis
from revops.tenancy import require_tenant_id

from ..filters import Filters, add_months

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def pct(num: Decimal | None, den: Decimal | None) -> Decimal | None:
    """A percentage as the KPIs round it: half-up to 2 decimals; None for a zero denominator."""
    if num is None or not den:
        return None
    return (HUNDRED * num / den).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def kpi_filters(f: Filters) -> kpis.KpiFilters | None:
    months = f.months_to_date
    if not months:
        return None
    return kpis.KpiFilters(start=months[0], end=months[-1], payer_classes=[f.payer_class] if f.payer_class else [])


@dataclass
class RevenueTotals:
    npsr: Decimal
    charges: Decimal
    payments: Decimal
    paid_claims: Decimal
    months: list[dict[str, Any]]

    @property
    def gross_to_net(self) -> Decimal | None:
        """The KPI ``gross_to_net_yield`` over the whole period: NPSR / 835 charges × 100."""
        return pct(self.npsr, self.charges)

    @property
    def per_encounter(self) -> Decimal | None:
        return (self.npsr / self.paid_claims).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) \
            if self.paid_claims else None


def revenue_totals(f: Filters) -> RevenueTotals:
    """NPSR, charges, payments and claims first paid per month (``kpis.kpi_series``) and over the period."""
    kf = kpi_filters(f)
    if kf is None:
        return RevenueTotals(ZERO, ZERO, ZERO, ZERO, [])
    months = []
    totals = {"npsr": ZERO, "charges": ZERO, "payments": ZERO, "paid_claims": ZERO}
    for row in kpis.kpi_series(kf):
        g2n, dtp, ncr = (row.values.get(k) for k in ("gross_to_net_yield", "days_to_pay", "net_collection_rate"))
        month = {"month": row.month, "npsr": g2n.numerator or ZERO if g2n else ZERO,
                 "charges": g2n.denominator or ZERO if g2n else ZERO,
                 "payments": ncr.numerator or ZERO if ncr else ZERO,
                 "paid_claims": dtp.denominator or ZERO if dtp else ZERO,
                 "gross_to_net": g2n.value if g2n else None}
        months.append(month)
        for key in totals:
            totals[key] += month[key]
    return RevenueTotals(months=months, **totals)


def fte_window(f: Filters) -> tuple[dt.date, dt.date] | None:
    months = f.months_to_date
    return (months[0], add_months(months[-1], 1)) if months else None


_FTE_SQL = """
    SELECT id, first_name || ' ' || last_name, role, team_id, hire_date, termination_date,
           greatest(0, least(coalesce(termination_date + 1, %(end)s), %(end)s) - greatest(hire_date, %(start)s))
    FROM revops_person
    WHERE tenant_id = %(t)s AND hire_date < %(end)s AND (termination_date IS NULL OR termination_date >= %(start)s)
    ORDER BY last_name, first_name
"""


def payroll(f: Filters) -> dict[str, Any]:
    """The people on the payroll in the window, each with their days employed in it, and the FTE."""
    window = fte_window(f)
    if window is None:
        return {"start": None, "end": None, "days": 0, "fte": ZERO, "people": []}
    start, end = window
    with connection.cursor() as cursor:
        cursor.execute(_FTE_SQL, {"t": require_tenant_id(), "start": start, "end": end})
        people = [{"id": pk, "name": name, "role": role, "team_id": team, "hire_date": hired,
                   "termination_date": left, "days": days} for pk, name, role, team, hired, left, days in
                  cursor.fetchall()]
    days = (end - start).days
    fte = (Decimal(sum(p["days"] for p in people)) / Decimal(days)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return {"start": start, "end": end, "days": days, "fte": fte, "people": people}


def revenue_per_fte(npsr: Decimal, fte: Decimal) -> Decimal | None:
    return (npsr / fte).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if fte else None


def payer_mix(f: Filters) -> list[dict[str, Any]]:
    """The KPI ``payer_mix`` over the whole period: gross charges submitted per payer class / all (by month
    from ``kpis.payer_mix``, summed)."""
    kf = kpi_filters(f)
    if kf is None:
        return []
    by_class: dict[str, Decimal] = {}
    for row in kpis.payer_mix(kf):
        value = row.values["payer_mix"]
        by_class[row.group or "unknown"] = by_class.get(row.group or "unknown", ZERO) + (value.numerator or ZERO)
    total = sum(by_class.values(), ZERO)
    return sorted(({"payer_class": k, "charges": v, "share": pct(v, total)} for k, v in by_class.items()),
                  key=lambda r: (-r["charges"], r["payer_class"]))


_MARGIN_SQL = """
    WITH g AS (
        SELECT g.month, g.payer_id, g.facility_id, sum(g.payments) AS payments, sum(g.remit_charges) AS charges,
               sum(g.contractual) AS contractual, sum(g.rcm_cost) AS cost
        FROM rcm_feeds_kpi_monthly g
        WHERE g.tenant_id = %(t)s AND g.month = ANY(%(months)s)
        GROUP BY 1, 2, 3
    ), fac AS (
        SELECT month, facility_id, sum(cost) AS cost,
               sum(greatest(payments, 0)) FILTER (WHERE payer_id IS NOT NULL) AS weight
        FROM g GROUP BY 1, 2
    ), alloc AS (
        SELECT g.payer_id, g.payments, g.charges, g.contractual,
               CASE WHEN fac.weight > 0 THEN fac.cost * greatest(g.payments, 0) / fac.weight ELSE 0 END AS cost
        FROM g JOIN fac ON fac.month = g.month AND fac.facility_id IS NOT DISTINCT FROM g.facility_id
        WHERE g.payer_id IS NOT NULL
    )
    SELECT a.payer_id, p.name, p.payer_class, sum(a.payments), sum(a.charges), sum(a.contractual),
           round(sum(a.cost), 2)
    FROM alloc a JOIN revops_payer p ON p.id = a.payer_id
    WHERE (%(payer_class)s = '' OR p.payer_class = %(payer_class)s)
    GROUP BY a.payer_id, p.name, p.payer_class
    UNION ALL
    SELECT NULL, 'Unallocated RCM cost', NULL, 0, 0, 0, round(coalesce(sum(cost), 0), 2)
    FROM fac WHERE coalesce(weight, 0) = 0 AND cost <> 0 AND %(payer_class)s = ''
"""


@dataclass
class PayerMargin:
    payer_id: int | None
    payer: str
    payer_class: str | None
    net_collected: Decimal
    charges: Decimal
    contractual: Decimal
    rcm_cost: Decimal

    @property
    def margin(self) -> Decimal:
        """Payer contribution margin: net collected − allocated RCM cost."""
        return self.net_collected - self.rcm_cost

    @property
    def margin_pct(self) -> Decimal | None:
        return pct(self.margin, self.net_collected)

    @property
    def gross_to_net(self) -> Decimal | None:
        """The KPI ``gross_to_net_yield`` for this payer over the period."""
        return pct(self.charges - self.contractual, self.charges)


def payer_margins(f: Filters) -> list[PayerMargin]:
    """Per payer over the period's months to date, largest margin first; an unallocated-cost row last."""
    months = f.months_to_date
    if not months:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_MARGIN_SQL, {"t": require_tenant_id(), "months": months, "payer_class": f.payer_class})
        rows = [PayerMargin(pid, name, cls, Decimal(paid), Decimal(ch), Decimal(co), Decimal(cost))
                for pid, name, cls, paid, ch, co, cost in cursor.fetchall()]
    rows = [r for r in rows if r.payer_id is not None or r.rcm_cost]
    return sorted(rows, key=lambda r: (r.payer_id is None, -r.margin, r.payer))
