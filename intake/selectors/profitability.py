"""Program profitability per program and month (or quarter, or the whole range), set-based.

Definitions (docs/intake.md has them with examples):
- **admissions**: stays admitted in the period; **discharges** and their **length of stay** (admitted through
  discharged, both days counted): average length of stay = sum of LOS / discharges.
- **patient-days**: calendar days of stays inside the period (a stay still in care counts through ``as_of``).
- Money comes from the claims **linked to the program's admissions** whose first service date is in the period:
  **gross charges** of their current versions; **net revenue after denials** = payments (reversals net out);
  **denied** = counted denials' charges; **written off** = denied - recovered of those written off;
  **net revenue on paper** = after denials + every counted denial not overturned valued at its payer's clean
  yield (payments / charges of the organization's claims adjudicated and never denied; the organization's when
  the payer has none): what the claims would have collected had none been denied. The yields are sums of the
  RCM monthly aggregates' ``clean_paid`` / ``clean_charges`` (rcm_feeds.aggregates), not a scan of every claim.
  The linked claims' sums come from the summary ``ProgramClaimMoney`` (per program, service month and payer,
  refreshed by every RCM load and every link change: intake.services.program_money_refresh), or from the claims
  while an organization's summary is not built.
- **direct cost** = ``ProgramCost`` of the period's months; **UR cost / hours** its utilization-review part.
- margin = net revenue - direct cost (on paper and after denials); per patient-day and per admission divide by
  the period's patient-days and admissions. Money is rounded half-up to the cent once, on the final figure.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from django.db import connection, transaction

from revops.models import Program
from revops.tenancy import require_tenant_id

from .common import counted_denials, current_version, rows

CENT = Decimal("0.01")
ZERO = Decimal("0")
Grain = Literal["month", "quarter", "total"]
ADDITIVE = ("admissions", "discharges", "los_days", "patient_days", "claims", "gross_charges", "net_after_denials",
            "denied", "written_off", "leakage", "direct_cost", "ur_cost", "ur_hours", "unlinked_claims",
            "unlinked_charges")


def _money(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(CENT, ROUND_HALF_UP)


def _div(num: Decimal | int | None, den: Decimal | int | None) -> Decimal | None:
    if num is None or not den:
        return None
    return _money(Decimal(num) / Decimal(den))


@dataclass
class ProgramProfitability:
    """One program in one period (``period_start`` .. ``period_end`` inclusive). Additive measures first, then
    the derived ones as properties."""

    program_id: int
    program_code: str
    program_name: str
    level_of_care: str
    period_start: dt.date
    period_end: dt.date
    admissions: int = 0
    discharges: int = 0
    los_days: int = 0
    patient_days: int = 0
    claims: int = 0
    gross_charges: Decimal = ZERO
    net_after_denials: Decimal = ZERO
    denied: Decimal = ZERO
    written_off: Decimal = ZERO
    leakage: Decimal = ZERO  # unrounded: lost denials at the payer's clean yield
    direct_cost: Decimal = ZERO
    ur_cost: Decimal = ZERO
    ur_hours: Decimal = ZERO
    unlinked_claims: int = 0
    unlinked_charges: Decimal = ZERO
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def net_on_paper(self) -> Decimal:
        return _money(self.net_after_denials + self.leakage)  # type: ignore[return-value]

    @property
    def denial_leakage(self) -> Decimal:
        return _money(self.leakage)  # type: ignore[return-value]

    @property
    def average_length_of_stay(self) -> Decimal | None:
        return _div(self.los_days, self.discharges)

    @property
    def margin_on_paper(self) -> Decimal:
        return self.net_on_paper - self.direct_cost

    @property
    def margin_after_denials(self) -> Decimal:
        return self.net_after_denials - self.direct_cost

    @property
    def margin_pct_after_denials(self) -> Decimal | None:
        if not self.net_after_denials:
            return None
        return (self.margin_after_denials / self.net_after_denials * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)

    net_per_patient_day_on_paper = property(lambda self: _div(self.net_after_denials + self.leakage,
                                                              self.patient_days))
    net_per_patient_day_after_denials = property(lambda self: _div(self.net_after_denials, self.patient_days))
    net_per_admission_on_paper = property(lambda self: _div(self.net_after_denials + self.leakage, self.admissions))
    net_per_admission_after_denials = property(lambda self: _div(self.net_after_denials, self.admissions))
    margin_per_patient_day_on_paper = property(lambda self: _div(self.net_after_denials + self.leakage
                                                                 - self.direct_cost, self.patient_days))
    margin_per_patient_day_after_denials = property(lambda self: _div(self.margin_after_denials, self.patient_days))
    margin_per_admission_on_paper = property(lambda self: _div(self.net_after_denials + self.leakage
                                                               - self.direct_cost, self.admissions))
    margin_per_admission_after_denials = property(lambda self: _div(self.margin_after_denials, self.admissions))
    direct_cost_per_patient_day = property(lambda self: _div(self.direct_cost, self.patient_days))
    ur_cost_per_admission = property(lambda self: _div(self.ur_cost, self.admissions))
    ur_hours_per_admission = property(lambda self: _div(self.ur_hours, self.admissions))

    DERIVED = ("net_on_paper", "denial_leakage", "average_length_of_stay", "margin_on_paper", "margin_after_denials",
               "margin_pct_after_denials", "net_per_patient_day_on_paper", "net_per_patient_day_after_denials",
               "net_per_admission_on_paper", "net_per_admission_after_denials", "margin_per_patient_day_on_paper",
               "margin_per_patient_day_after_denials", "margin_per_admission_on_paper",
               "margin_per_admission_after_denials", "direct_cost_per_patient_day", "ur_cost_per_admission",
               "ur_hours_per_admission")

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {k: getattr(self, k) for k in (
            "program_id", "program_code", "program_name", "level_of_care", "period_start", "period_end", *ADDITIVE)}
        out["leakage"] = self.denial_leakage
        out.update({k: getattr(self, k) for k in self.DERIVED})
        return out


def month_start(d: dt.date) -> dt.date:
    return d.replace(day=1)


def next_month(d: dt.date) -> dt.date:
    return (d.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _period_of(month: dt.date, grain: Grain, start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    if grain == "month":
        return month, next_month(month) - dt.timedelta(days=1)
    if grain == "quarter":
        first = month.replace(month=(month.month - 1) // 3 * 3 + 1)
        last = next_month(first.replace(month=first.month + 2)) - dt.timedelta(days=1)
        return first, last
    return start, end


def _monthly(*, start: dt.date, end: dt.date, program_ids: Sequence[int] | None, as_of: dt.date,
             with_unlinked: bool = True) -> dict:
    """Additive measures by (program id, month) for the months from ``start``'s to ``end``'s (without the
    unlinked claims' two when ``with_unlinked`` is false)."""
    params = {"t": require_tenant_id(), "start": month_start(start), "end_next": next_month(end), "as_of": as_of,
              "programs": list(program_ids) if program_ids is not None else None}
    only = "AND {col} = ANY(%(programs)s)" if program_ids is not None else ""
    census = rows(f"""
        WITH months AS (
            SELECT generate_series(%(start)s::date, %(end_next)s::date - 1, interval '1 month')::date AS month
        ), adm AS (
            SELECT a.program_id, a.admitted_on, a.discharged_on,
                   coalesce(a.discharged_on, greatest(%(as_of)s::date, a.admitted_on)) AS last_day
            FROM intake_admission a
            WHERE a.tenant_id = %(t)s {only.format(col="a.program_id")}
              AND a.admitted_on < %(end_next)s
              AND coalesce(a.discharged_on, greatest(%(as_of)s::date, a.admitted_on)) >= %(start)s
        )
        SELECT a.program_id, m.month,
               count(*) FILTER (WHERE a.admitted_on >= m.month AND a.admitted_on < (m.month + interval '1 month'))
                   AS admissions,
               count(*) FILTER (WHERE a.discharged_on >= m.month AND a.discharged_on < (m.month + interval '1 month'))
                   AS discharges,
               coalesce(sum(a.discharged_on - a.admitted_on + 1)
                   FILTER (WHERE a.discharged_on >= m.month AND a.discharged_on < (m.month + interval '1 month')), 0)
                   AS los_days,
               sum(greatest(0, least(a.last_day, (m.month + interval '1 month' - interval '1 day')::date)
                               - greatest(a.admitted_on, m.month) + 1)) AS patient_days
        FROM adm a JOIN months m ON a.admitted_on < (m.month + interval '1 month') AND a.last_day >= m.month
        GROUP BY a.program_id, m.month
    """, params)
    money = (_money_from_summary if _summary_built(params["t"]) else _money_from_claims)(params, only)
    unlinked = [] if not with_unlinked else rows(f"""
        SELECT c.program_id, date_trunc('month', c.service_from)::date AS month, count(*) AS unlinked_claims,
               sum(c.charge) AS unlinked_charges
        FROM rcm_feeds_claim c
        WHERE c.tenant_id = %(t)s AND c.program_id IS NOT NULL {only.format(col="c.program_id")}
          AND c.service_from >= %(start)s AND c.service_from < %(end_next)s AND {current_version("c")}
          AND NOT EXISTS (SELECT 1 FROM intake_admissionclaim l WHERE l.tenant_id = %(t)s AND l.claim_id = c.id)
        GROUP BY 1, 2
    """, params)
    costs = rows(f"""
        SELECT pc.program_id, pc.month, sum(pc.amount) AS direct_cost,
               coalesce(sum(pc.amount) FILTER (WHERE pc.category = 'utilization_review'), 0) AS ur_cost,
               coalesce(sum(pc.hours) FILTER (WHERE pc.category = 'utilization_review'), 0) AS ur_hours
        FROM intake_programcost pc
        WHERE pc.tenant_id = %(t)s {only.format(col="pc.program_id")}
          AND pc.month >= %(start)s AND pc.month < %(end_next)s
        GROUP BY 1, 2
    """, params)
    merged: dict[tuple[int, dt.date], dict[str, object]] = {}
    for source in (census, money, unlinked, costs):
        for r in source:
            merged.setdefault((r.pop("program_id"), r.pop("month")), {}).update(r)
    return merged


_YIELDS = """
    -- The payer's clean yield, all history, from the RCM monthly aggregates' additive clean measures
    -- (rcm_feeds.aggregates: payments and charges of current, adjudicated, never-denied claims).
    SELECT GROUPING(payer_id) AS whole, payer_id, sum(clean_paid) / nullif(sum(clean_charges), 0) AS y
    FROM rcm_feeds_kpi_monthly WHERE tenant_id = %(t)s GROUP BY GROUPING SETS ((payer_id), ())
"""


def _summary_built(tenant_id: int) -> bool:
    """Whether the organization's ``ProgramClaimMoney`` holds its whole history (built by the migration or its
    first refresh). Until then the money is computed from the claims: never a stale or empty summary."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM intake_programclaimmoneystate WHERE tenant_id = %s)", [tenant_id])
        return bool(cursor.fetchone()[0])


def linked_claim_money_sql(*, claims_where: str, in_period: str) -> str:
    """The one definition of the linked claims' money, per (program, service month, payer): the claims linked to
    the program's admissions whose first service date is in the month, their current versions' count and charges,
    payments (reversals net out) and counted denials (denied, written off = denied - recovered of those written
    off, lost = not overturned). ``intake.services.program_money_refresh`` stores it in ``ProgramClaimMoney``;
    ``_money_from_claims`` reads it directly for an organization whose summary is not built yet.

    ``claims_where``: SQL on the linked claim ``c`` and admission ``a`` (the months wanted); ``in_period``: a
    SELECT of claim ids whose payments and denials are counted (a superset of the linked claims wanted: a claim
    payment's denials are all its claim's, so counting over more claims counts the linked ones the same)."""
    return f"""
        WITH lc AS (
            SELECT a.program_id, date_trunc('month', c.service_from)::date AS month, c.id, c.payer_id, c.charge,
                   (c.frequency <> '8' AND r.original_claim_id IS NULL) AS is_current
            FROM intake_admissionclaim l
            JOIN intake_admission a ON a.id = l.admission_id AND a.tenant_id = %(t)s
            JOIN rcm_feeds_claim c ON c.id = l.claim_id AND c.tenant_id = %(t)s
            -- a current version (common.current_version): not a void, and no claim names it as its original
            LEFT JOIN (SELECT DISTINCT x.original_claim_id FROM rcm_feeds_claim x
                       WHERE x.tenant_id = %(t)s AND x.original_claim_id IS NOT NULL) r ON r.original_claim_id = c.id
            WHERE l.tenant_id = %(t)s AND {claims_where}
        ), paid AS (
            SELECT cp.claim_id, sum(cp.paid) AS paid FROM rcm_feeds_claimpayment cp
            WHERE cp.tenant_id = %(t)s AND cp.claim_id IN ({in_period}) GROUP BY cp.claim_id
        ), den AS (
            SELECT d.claim_id, sum(d.denied_charge) AS denied,
                   coalesce(sum(d.denied_charge - d.recovered_amount) FILTER (WHERE d.status = 'written_off'), 0)
                       AS written_off,
                   coalesce(sum(d.denied_charge) FILTER (WHERE d.status <> 'overturned'), 0) AS lost
            FROM ({counted_denials(in_period)}) d GROUP BY d.claim_id
        )
        SELECT lc.program_id, lc.month, lc.payer_id,
               count(*) FILTER (WHERE lc.is_current) AS claims,
               coalesce(sum(lc.charge) FILTER (WHERE lc.is_current), 0) AS gross_charges,
               coalesce(sum(paid.paid), 0) AS net_after_denials,
               coalesce(sum(den.denied), 0) AS denied, coalesce(sum(den.written_off), 0) AS written_off,
               coalesce(sum(den.lost), 0) AS lost
        FROM lc LEFT JOIN paid ON paid.claim_id = lc.id LEFT JOIN den ON den.claim_id = lc.id
        GROUP BY lc.program_id, lc.month, lc.payer_id
    """


def _money_by_program(source: str, params: dict, only: str) -> list[dict]:
    """The linked claims' money by (program, month) from per-(program, month, payer) rows (``source``: the
    summary table or ``linked_claim_money_sql``), each program-month-payer's lost denials valued at the payer's
    clean yield (the organization's when the payer has none). Numeric products and sums are exact, so this is
    the per-claim sum of lost x yield, regrouped."""
    return rows(f"""
        WITH yields AS ({_YIELDS})
        SELECT m.program_id, m.month, sum(m.claims) AS claims, sum(m.gross_charges) AS gross_charges,
               sum(m.net_after_denials) AS net_after_denials, sum(m.denied) AS denied,
               sum(m.written_off) AS written_off, sum(m.lost * coalesce(py.y, org.y, 0)) AS leakage
        FROM {source} m
        LEFT JOIN yields py ON py.whole = 0 AND py.payer_id = m.payer_id
        LEFT JOIN yields org ON org.whole = 1
        WHERE m.month >= %(start)s AND m.month < %(end_next)s {only.format(col="m.program_id")}
        GROUP BY m.program_id, m.month
    """, params)


def _money_from_summary(params: dict, only: str) -> list[dict]:
    """From ``ProgramClaimMoney`` (intake.services.program_money_refresh keeps it current)."""
    return _money_by_program("(SELECT * FROM intake_programclaimmoney WHERE tenant_id = %(t)s)", params, only)


def _money_from_claims(params: dict, only: str) -> list[dict]:
    """Computed from the claims (an organization whose summary is not built yet): the same figures."""
    # Set-based: the linked claims of the period, their payments and counted denials are hash-joined over the
    # period's claims (not probed claim by claim from a materialized list, which at 200,000 linked claims cost
    # seconds), and JIT is off: the planner's estimates of these joins made it compile for seconds.
    in_period = ("SELECT c2.id FROM rcm_feeds_claim c2 WHERE c2.tenant_id = %(t)s "
                 "AND c2.service_from >= %(start)s AND c2.service_from < %(end_next)s")
    claims_where = ("c.service_from >= %(start)s AND c.service_from < %(end_next)s "
                    + only.format(col="a.program_id"))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        return _money_by_program(f"({linked_claim_money_sql(claims_where=claims_where, in_period=in_period)})",
                                 params, only)


def program_profitability(*, start: dt.date, end: dt.date, grain: Grain = "month",
                          program_ids: Sequence[int] | None = None, as_of: dt.date | None = None,
                          include_empty: bool = False, with_unlinked: bool = True) -> list[ProgramProfitability]:
    """Program profitability of the active organization for the months from ``start``'s to ``end``'s, one row
    per program and ``grain`` (month, calendar quarter, or ``total``: the whole range), ordered by period then
    program name. ``program_ids`` limits the programs; ``as_of`` (default today) ends the stays still in care;
    ``include_empty`` keeps program-periods with no activity at all. ``with_unlinked=False`` leaves the unlinked
    claims/charges (a data-quality figure, not in the money) at 0 and skips their scan of every current claim of
    the period; a program-period whose only activity is unlinked claims then has no row."""
    as_of = as_of or dt.date.today()
    start, end = month_start(start), next_month(end) - dt.timedelta(days=1)
    programs = Program.objects.order_by("name")
    if program_ids is not None:
        programs = programs.filter(pk__in=program_ids)
    info = {p.pk: p for p in programs}
    merged = _monthly(start=start, end=end, program_ids=program_ids, as_of=as_of, with_unlinked=with_unlinked)
    out: dict[tuple[int, dt.date], ProgramProfitability] = {}
    month = start
    while month <= end:
        for pk, program in info.items():
            values = merged.get((pk, month))
            if values is None and not include_empty:
                continue
            p_start, p_end = _period_of(month, grain, start, end)
            row = out.get((pk, p_start))
            if row is None:
                row = out[(pk, p_start)] = ProgramProfitability(
                    program_id=pk, program_code=program.code, program_name=program.name,
                    level_of_care=program.level_of_care, period_start=p_start, period_end=p_end)
            for name, value in (values or {}).items():
                if value is not None:
                    setattr(row, name, getattr(row, name) + value)
        month = next_month(month)
    return sorted(out.values(), key=lambda r: (r.period_start, r.program_name, r.program_id))
