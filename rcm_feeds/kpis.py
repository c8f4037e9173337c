"""The RCM KPIs: one definition each, computed set-based in SQL by month and optional dimension.

Each ``KpiDefinition`` names its formula, numerator, denominator, the month a fact counts in
(``basis``) and the published reference value (../shared/domain.md, HFMA MAP Keys where one
exists); docs/kpis.md repeats them and the dashboard shows them on hover. The numbers come from
the monthly aggregates (rcm_feeds.aggregates) or, with ``source="raw"``, from the same facts
computed over the raw tables (the benchmark's baseline and the tests' cross-check).

Rates are percentages and days are days, both rounded half-up (away from zero) once, in SQL:
rates to 2 decimals, days to 1. Money is never rounded here: it is summed ``numeric``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection

from revops.tenancy import require_tenant_id

from .aggregates import DENIAL_FACTS_SQL, FACTS_SQL, RESOLUTION_FACTS_SQL, month_params


@dataclass(frozen=True)
class KpiDefinition:
    key: str
    name: str
    formula: str
    numerator: str
    denominator: str
    basis: str
    unit: str  # "percent" or "days"
    benchmark: str
    reference: Decimal | None = None  # the reference line on charts
    higher_is_better: bool = True
    note: str = ""


KPIS: tuple[KpiDefinition, ...] = (
    KpiDefinition(
        "clean_claim_rate", "Clean claim rate", "clean claims / claims submitted × 100",
        "original claims not rejected at the front end (277CA/999) and never corrected, replaced or voided",
        "original claims submitted (frequency 1, not a repeat of an earlier control number)",
        "month the claim was submitted", "percent", ">= 95%", Decimal("95"),
    ),
    KpiDefinition(
        "first_pass_yield", "First-pass yield", "claims resolved on first submission / claims adjudicated × 100",
        "adjudicated original claims whose first adjudication (earliest non-reversal 835 CLP) raised no denial "
        "(claim or line) and that were never corrected: paid, or moved to patient responsibility",
        "original claims with at least one non-reversal 835 adjudication",
        "month the claim was submitted", "percent", ">= 90% (convention)", Decimal("90"),
    ),
    KpiDefinition(
        "initial_denial_rate", "Initial denial rate (count)", "initially denied claims / claims submitted × 100",
        "original claims whose first adjudication denied the whole claim",
        "original claims submitted", "month the claim was submitted", "percent",
        "5-10% (behavioral health 7-15%)", Decimal("10"), higher_is_better=False,
    ),
    KpiDefinition(
        "initial_denial_rate_dollars", "Initial denial rate ($)", "initially denied charges / charges submitted × 100",
        "charges denied on the first adjudication: the claim's denied charge when the whole claim was denied, "
        "otherwise the charges of its denied lines (line level, the best practice)",
        "charges of original claims submitted", "month the claim was submitted", "percent",
        "5-10% (behavioral health 7-15%)", Decimal("10"), higher_is_better=False,
    ),
    KpiDefinition(
        "denial_overturn_rate", "Denial overturn rate", "initial denials later paid / initial denials × 100",
        "denials (claim or line) now in status overturned", "denials (claim or line)",
        "month of the denial (cohort by denial date; resolution often takes 60-120 days, so recent "
        "cohorts are still maturing)", "percent", "no published standard", None,
    ),
    KpiDefinition(
        "denial_resolution_days", "Median denial resolution time", "median(resolved on - denied on) in days",
        "days from initial denial to final resolution (overturned or written off) of each resolved denial",
        "resolved denials of the cohort", "month of the denial (cohort)", "days", "seed data quotes a 36-day average",
        Decimal("36"), higher_is_better=False,
    ),
    KpiDefinition(
        "net_collection_rate", "Net collection rate", "payments / (charges - contractual adjustments) × 100",
        "835 payments (CLP04), reversals netted", "835 charges (CLP03) minus contractual adjustments (CAS group CO on "
        "claims and lines that were not denied; denial and bad-debt write-offs are not contractual)",
        "month of the remittance's payment date", "percent", ">= 95%", Decimal("95"),
    ),
    KpiDefinition(
        "gross_collection_rate", "Gross collection rate", "payments / charges × 100",
        "835 payments (CLP04), reversals netted", "835 charges (CLP03), reversals netted",
        "month of the remittance's payment date", "percent", "varies with fee schedules (no standard)", None,
    ),
    KpiDefinition(
        "net_days_in_ar", "Net days in A/R", "net A/R / (net patient service revenue of the 3 months ending "
        "this month / days in those 3 months)",
        "open balances of the month's last A/R snapshot",
        "average daily net patient service revenue (NPSR = 835 charges - contractual adjustments), "
        "3-month rolling average",
        "month of the A/R snapshot; revenue by payment month", "days", "30-45 days", Decimal("45"),
        higher_is_better=False,
    ),
    KpiDefinition(
        "ar_over_90_pct", "A/R > 90 days", "A/R older than 90 days / total A/R × 100",
        "balances of the month's last snapshot billed more than 90 days before the snapshot date "
        "(aging starts from the billed date)", "all balances of that snapshot",
        "month of the A/R snapshot", "percent", "< 15%", Decimal("15"), higher_is_better=False,
    ),
    KpiDefinition(
        "cost_to_collect", "Cost to collect", "revenue-cycle cost / cash collected × 100",
        "revenue-cycle cost entries of the month (CSV cost feed)", "835 payments of the month (patient service cash)",
        "month of the cost entry and of the payment", "percent", "2-4% (seed data quotes 2.63% of NPSR)",
        Decimal("4"), higher_is_better=False,
        note="Costs are kept by facility only: with a payer or program filter or breakdown it is not shown.",
    ),
    KpiDefinition(
        "gross_to_net_yield", "Gross-to-net yield", "NPSR / gross charges × 100",
        "net patient service revenue: 835 charges minus contractual adjustments", "835 charges (gross)",
        "month of the remittance's payment date", "percent", "convention (no standard)", None,
    ),
    KpiDefinition(
        "days_to_pay", "Days to pay", "average(first payment date - submitted date)",
        "days from a claim's submission to its first payment (paid > 0, not a reversal)",
        "claims first paid in the month", "month of the first payment", "days",
        "Medicare from day 14; Medicaid 90% in 30 days; commercial per state prompt-pay law", Decimal("30"),
        higher_is_better=False,
    ),
)
KPI_BY_KEY: dict[str, KpiDefinition] = {k.key: k for k in KPIS}

PAYER_MIX = KpiDefinition(
    "payer_mix", "Payer mix", "charges submitted for a payer class / all charges submitted × 100",
    "gross charges of original claims submitted to payers of the class", "gross charges of all original claims "
    "submitted (claims without a payer count as 'unknown')", "month the claim was submitted",
    "percent", "basis: gross charges submitted", None,
)

GROUPS: dict[str, str] = {
    # group key -> SQL expression over the aggregate row (alias g) and its payer (alias p)
    "payer": "g.payer_id::text",
    "payer_class": "coalesce(p.payer_class, 'unknown')",
    "program": "g.program_id::text",
    "facility": "g.facility_id::text",
}


@dataclass(frozen=True)
class KpiFilters:
    start: dt.date
    end: dt.date
    payers: Sequence[int] = ()
    payer_classes: Sequence[str] = ()
    programs: Sequence[int] = ()
    facilities: Sequence[int] = ()

    @property
    def by_payer_or_program(self) -> bool:
        return bool(self.payers or self.payer_classes or self.programs)


@dataclass
class KpiValue:
    value: Decimal | None
    numerator: Decimal | None
    denominator: Decimal | None
    change: Decimal | None = None  # value minus the previous month's value (points for rates, days for days)


@dataclass
class KpiRow:
    month: dt.date
    group: str | None
    values: dict[str, KpiValue] = field(default_factory=dict)


def first_of_month(d: dt.date) -> dt.date:
    return d.replace(day=1)


def add_months(d: dt.date, n: int) -> dt.date:
    m = d.month - 1 + n
    return dt.date(d.year + m // 12, m % 12 + 1, 1)


def _where(filters: KpiFilters, params: dict[str, Any], *, month_from: dt.date) -> str:
    params.update(start=month_from, end=first_of_month(filters.end))
    clauses = ["g.month BETWEEN %(start)s AND %(end)s"]
    if filters.payers:
        clauses.append("g.payer_id = ANY(%(payers)s)")
        params["payers"] = list(filters.payers)
    if filters.payer_classes:
        clauses.append("p.payer_class = ANY(%(payer_classes)s)")
        params["payer_classes"] = list(filters.payer_classes)
    if filters.programs:
        clauses.append("g.program_id = ANY(%(programs)s)")
        params["programs"] = list(filters.programs)
    if filters.facilities:
        clauses.append("g.facility_id = ANY(%(facilities)s)")
        params["facilities"] = list(filters.facilities)
    return " AND ".join(clauses)


def _source(table: str, facts_sql: str, source: str) -> str:
    """The aggregate table, or (raw) the same rows computed from the raw tables on the fly."""
    if source == "aggregate":
        return f"(SELECT * FROM {table} WHERE tenant_id = %(tenant)s)"
    if source == "raw":
        return f"({facts_sql})"
    raise ValueError(f"unknown KPI source {source!r}")


def _pct(num: str, den: str) -> str:
    return f"round(100.0 * ({num}) / nullif({den}, 0), 2)"


# One query per KPI group. Each selects month, grp, then (value, numerator, denominator) triples.
_CLAIM_KPIS_SQL = """
    WITH m AS (
        SELECT g.month, {grp} AS grp,
               sum(claims_submitted) AS claims_submitted, sum(charges_submitted) AS charges_submitted,
               sum(clean_claims) AS clean_claims, sum(claims_adjudicated) AS claims_adjudicated,
               sum(first_pass_claims) AS first_pass_claims, sum(claims_denied_initial) AS claims_denied_initial,
               sum(charges_denied_initial) AS charges_denied_initial, sum(remit_charges) AS remit_charges,
               sum(payments) AS payments, sum(contractual) AS contractual, sum(paid_claims) AS paid_claims,
               sum(days_to_pay_sum) AS days_to_pay_sum, sum(ar_total) AS ar_total, sum(ar_over_90) AS ar_over_90,
               sum(rcm_cost) AS rcm_cost
        FROM {source} g LEFT JOIN revops_payer p ON p.id = g.payer_id
        WHERE {where}
        GROUP BY 1, 2
    ), w AS (
        SELECT m.*,
               sum(remit_charges - contractual) OVER (PARTITION BY grp ORDER BY month
                   RANGE BETWEEN INTERVAL '2 months' PRECEDING AND CURRENT ROW) AS npsr_3m,
               ((month + INTERVAL '1 month')::date - (month - INTERVAL '2 months')::date) AS days_3m
        FROM m
    )
    SELECT month, grp,
        {clean}, clean_claims, claims_submitted,
        {fpy}, first_pass_claims, claims_adjudicated,
        {idr}, claims_denied_initial, claims_submitted,
        {idr_d}, charges_denied_initial, charges_submitted,
        {ncr}, payments, remit_charges - contractual,
        {gcr}, payments, remit_charges,
        CASE WHEN npsr_3m > 0 AND ar_total <> 0 THEN round(ar_total * days_3m / npsr_3m, 1) END,
            ar_total, round(npsr_3m / days_3m, 2),
        CASE WHEN ar_total <> 0 THEN {ar90} END, ar_over_90, CASE WHEN ar_total <> 0 THEN ar_total END,
        {ctc}, rcm_cost, payments,
        {gtn}, remit_charges - contractual, remit_charges,
        round(days_to_pay_sum::numeric / nullif(paid_claims, 0), 1), days_to_pay_sum, paid_claims
    FROM w WHERE month >= %(first)s ORDER BY month, grp
"""
_CLAIM_KPI_KEYS = (
    "clean_claim_rate", "first_pass_yield", "initial_denial_rate", "initial_denial_rate_dollars",
    "net_collection_rate", "gross_collection_rate", "net_days_in_ar", "ar_over_90_pct", "cost_to_collect",
    "gross_to_net_yield", "days_to_pay",
)
_DENIAL_KPIS_SQL = """
    SELECT g.month, {grp} AS grp, {otr}, sum(overturned), sum(denials)
    FROM {source} g LEFT JOIN revops_payer p ON p.id = g.payer_id
    WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2
"""
# Exact median of a histogram: the mean of the values at positions floor((n+1)/2) and floor(n/2)+1.
_RESOLUTION_SQL = """
    WITH h AS (
        SELECT g.month, {grp} AS grp, g.days, sum(g.resolved) AS n
        FROM {source} g LEFT JOIN revops_payer p ON p.id = g.payer_id
        WHERE {where} GROUP BY 1, 2, 3
    ), c AS (
        SELECT h.*, sum(n) OVER (PARTITION BY month, grp ORDER BY days) AS cum,
               sum(n) OVER (PARTITION BY month, grp) AS total FROM h
    )
    SELECT month, grp,
           round((min(days) FILTER (WHERE cum >= floor((total + 1) / 2))
                  + min(days) FILTER (WHERE cum >= floor(total / 2) + 1)) / 2.0, 1),
           NULL, max(total)
    FROM c GROUP BY 1, 2 ORDER BY 1, 2
"""


def _run(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _dec(v: Any) -> Decimal | None:
    return None if v is None else Decimal(v)


def kpi_series(
    filters: KpiFilters, *, group_by: str | None = None, source: str = "aggregate"
) -> list[KpiRow]:
    """Every KPI (payer mix aside) per month of the period, overall or per ``group_by`` value."""
    if group_by is not None and group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {sorted(GROUPS)}")
    tenant_id = require_tenant_id()
    grp = GROUPS[group_by] if group_by else "NULL::text"
    first = first_of_month(filters.start)
    base = {"tenant": tenant_id, "first": first, **month_params(tenant_id, None)}
    rows: dict[tuple[dt.date, str | None], KpiRow] = {}

    def put(result: list[tuple[Any, ...]], keys: Sequence[str]) -> None:
        for month, group, *triples in result:
            row = rows.setdefault((month, group), KpiRow(month=month, group=group))
            for i, key in enumerate(keys):
                value, num, den = triples[3 * i: 3 * i + 3]
                row.values[key] = KpiValue(_dec(value), _dec(num), _dec(den))

    # Revenue of the two months before the period feeds the rolling average of days in A/R.
    params = dict(base)
    where = _where(filters, params, month_from=add_months(first, -2))
    cost_hidden = filters.by_payer_or_program or group_by in ("payer", "payer_class", "program")
    sql = _CLAIM_KPIS_SQL.format(
        grp=grp, source=_source("rcm_feeds_kpi_monthly", FACTS_SQL, source), where=where,
        clean=_pct("clean_claims", "claims_submitted"), fpy=_pct("first_pass_claims", "claims_adjudicated"),
        idr=_pct("claims_denied_initial", "claims_submitted"),
        idr_d=_pct("charges_denied_initial", "charges_submitted"),
        ncr=_pct("payments", "remit_charges - contractual"), gcr=_pct("payments", "remit_charges"),
        ar90=_pct("ar_over_90", "ar_total"),
        ctc="NULL::numeric" if cost_hidden else f"CASE WHEN rcm_cost <> 0 THEN {_pct('rcm_cost', 'payments')} END",
        gtn=_pct("remit_charges - contractual", "remit_charges"),
    )
    put(_run(sql, params), _CLAIM_KPI_KEYS)

    params = dict(base)
    where = _where(filters, params, month_from=first)
    sql = _DENIAL_KPIS_SQL.format(grp=grp, source=_source("rcm_feeds_denial_monthly", DENIAL_FACTS_SQL, source),
                                  where=where, otr=_pct("sum(overturned)", "sum(denials)"))
    put(_run(sql, params), ("denial_overturn_rate",))
    sql = _RESOLUTION_SQL.format(
        grp=grp, source=_source("rcm_feeds_denial_resolution_monthly", RESOLUTION_FACTS_SQL, source), where=where)
    put(_run(sql, params), ("denial_resolution_days",))

    ordered = sorted(rows.values(), key=lambda r: (r.month, r.group or ""))
    _fill_changes(ordered)
    return ordered


def _fill_changes(rows: list[KpiRow]) -> None:
    """Period-over-period change: this month's value minus the previous calendar month's, per group."""
    by_key = {(r.month, r.group): r for r in rows}
    for row in rows:
        previous = by_key.get((add_months(row.month, -1), row.group))
        for key, value in row.values.items():
            before = previous.values.get(key) if previous else None
            if value.value is not None and before is not None and before.value is not None:
                value.change = value.value - before.value


_PAYER_MIX_SQL = """
    SELECT month, grp, round(100.0 * charges / nullif(sum(charges) OVER (PARTITION BY month), 0), 2), charges,
           sum(charges) OVER (PARTITION BY month)
    FROM (
        SELECT g.month, coalesce(p.payer_class, 'unknown') AS grp, sum(g.charges_submitted) AS charges
        FROM {source} g LEFT JOIN revops_payer p ON p.id = g.payer_id
        WHERE {where} AND g.claims_submitted > 0 GROUP BY 1, 2
    ) s ORDER BY month, grp
"""


def payer_mix(filters: KpiFilters, *, source: str = "aggregate") -> list[KpiRow]:
    """Share of gross charges submitted by payer class, per month (values keyed ``payer_mix``)."""
    tenant_id = require_tenant_id()
    params: dict[str, Any] = {"tenant": tenant_id, **month_params(tenant_id, None)}
    where = _where(filters, params, month_from=first_of_month(filters.start))
    sql = _PAYER_MIX_SQL.format(source=_source("rcm_feeds_kpi_monthly", FACTS_SQL, source), where=where)
    rows = [KpiRow(month=m, group=g, values={"payer_mix": KpiValue(_dec(v), _dec(n), _dec(d))})
            for m, g, v, n, d in _run(sql, params)]
    _fill_changes(rows)
    return rows


_PARETO_SQL = """
    SELECT {key} AS key, sum(denials) AS denials, sum(denied_charge) AS denied_charge, sum(overturned) AS overturned
    FROM (SELECT * FROM rcm_feeds_denial_monthly WHERE tenant_id = %(tenant)s) g
    LEFT JOIN revops_payer p ON p.id = g.payer_id
    WHERE {where} GROUP BY 1 ORDER BY 2 DESC, 1
"""


def denial_pareto(filters: KpiFilters, *, by: str = "category") -> list[dict[str, Any]]:
    """Denials of the period by category or first CARC, largest first, with the cumulative share."""
    if by not in ("category", "carc"):
        raise ValueError("by must be 'category' or 'carc'")
    params: dict[str, Any] = {"tenant": require_tenant_id()}
    where = _where(filters, params, month_from=first_of_month(filters.start))
    result = _run(_PARETO_SQL.format(key=f"g.{by}", where=where), params)
    total = sum(r[1] for r in result) or 1
    out, running = [], 0
    for key, denials, charge, overturned in result:
        running += denials
        out.append({"key": key, "denials": denials, "denied_charge": charge, "overturned": overturned,
                    "share": round(Decimal(100 * denials) / total, 2),
                    "cumulative_share": round(Decimal(100 * running) / total, 2)})
    return out


def kpi_definitions() -> list[KpiDefinition]:
    return [*KPIS, PAYER_MIX]


AGING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("91-120", 91, 120), ("over 120", 121, None),
)
_AGING_SQL = """
    WITH snap AS (SELECT max(as_of) AS as_of FROM rcm_feeds_arbalance
                  WHERE tenant_id = %(tenant)s AND as_of < %(until)s)
    SELECT g.payer_id, coalesce(p.name, 'No payer') AS payer, {buckets}, sum(g.balance) AS total, snap.as_of
    FROM rcm_feeds_arbalance g JOIN snap ON g.as_of = snap.as_of LEFT JOIN revops_payer p ON p.id = g.payer_id
    WHERE g.tenant_id = %(tenant)s {extra}
    GROUP BY g.payer_id, p.name, snap.as_of ORDER BY total DESC, payer
"""


def ar_aging_by_payer(filters: KpiFilters) -> list[dict[str, Any]]:
    """Open A/R of the last snapshot taken by the end of the period, by payer and aging bucket (from billed date)."""
    params: dict[str, Any] = {"tenant": require_tenant_id(), "until": add_months(first_of_month(filters.end), 1)}
    buckets = ", ".join(
        f"sum(g.balance) FILTER (WHERE g.as_of - g.billed_on >= {lo}"
        + (f" AND g.as_of - g.billed_on <= {hi})" if hi is not None else ")")
        for _, lo, hi in AGING_BUCKETS
    )
    extra = []
    for key, column in (("payers", "g.payer_id"), ("payer_classes", "p.payer_class"), ("programs", "g.program_id"),
                        ("facilities", "g.facility_id")):
        values = getattr(filters, key)
        if values:
            extra.append(f"AND {column} = ANY(%({key})s)")
            params[key] = list(values)
    rows = []
    for payer_id, payer, *amounts, total, as_of in _run(_AGING_SQL.format(buckets=buckets, extra=" ".join(extra)), params):
        rows.append({"payer_id": payer_id, "payer": payer, "as_of": as_of, "total": total,
                     "buckets": {label: amount or Decimal("0") for (label, _, _), amount in zip(AGING_BUCKETS, amounts)}})
    return rows


_DAYS_TO_PAY_SQL = """
    SELECT g.payer_id, coalesce(max(p.name), 'No payer'), max(p.payer_class),
           round(sum(g.days_to_pay_sum)::numeric / nullif(sum(g.paid_claims), 0), 1), sum(g.paid_claims)
    FROM (SELECT * FROM rcm_feeds_kpi_monthly WHERE tenant_id = %(tenant)s) g
    LEFT JOIN revops_payer p ON p.id = g.payer_id
    WHERE {where} GROUP BY g.payer_id HAVING sum(g.paid_claims) > 0 ORDER BY 4 DESC, 2
"""


def days_to_pay_by_payer(filters: KpiFilters) -> list[dict[str, Any]]:
    """Average days from submission to first payment over the period, per payer (definition: ``days_to_pay``)."""
    params: dict[str, Any] = {"tenant": require_tenant_id()}
    where = _where(filters, params, month_from=first_of_month(filters.start))
    return [{"payer_id": pid, "payer": name, "payer_class": cls, "days": days, "claims": n}
            for pid, name, cls, days, n in _run(_DAYS_TO_PAY_SQL.format(where=where), params)]
