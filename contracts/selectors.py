"""Reads of payer contracts: lists, a contract's versions, underpayment summaries and their claims, reviews.

Underpayment figures read the materialized expected reimbursement (``ClaimExpectation`` /
``LineExpectation``); each number's definition is in docs/contracts.md ("Underpayment variance").
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet

from revops.models import Payer, Program
from revops.tenancy import require_tenant_id

from .models import ClaimExpectation, Contract, ContractReview, ContractVersion, VersionStatus
from .services.reviews import add_quarters

RESOURCE = "contracts"
CLAIM_LEVEL = "(claim level)"  # the by-code row of claim-level differences (case rates, claim adjustments)
GROUPS = ("payer", "program", "code")


def contract_list(*, payer: int | None = None, kind: str = "", q: str = "") -> QuerySet[Contract]:
    rows = Contract.objects.select_related("payer", "program").annotate(
        version_count=Count("versions", distinct=True))
    if payer:
        rows = rows.filter(payer_id=payer)
    if kind:
        rows = rows.filter(kind=kind)
    if q:
        rows = rows.filter(Q(name__icontains=q) | Q(payer__name__icontains=q) | Q(plan_name__icontains=q))
    return rows.prefetch_related(Prefetch("versions", queryset=ContractVersion.objects.order_by("-number")))


def version_in_force(contract: Contract, on: dt.date) -> ContractVersion | None:
    if contract.ends_on is not None and contract.ends_on < on:
        return None
    for v in contract.versions.all():
        if v.status == VersionStatus.PUBLISHED and v.effective_from <= on and (v.effective_to is None
                                                                               or v.effective_to >= on):
            return v
    return None


@dataclass(frozen=True)
class Filters:
    start: dt.date | None = None
    end: dt.date | None = None
    payers: tuple[int, ...] = ()
    programs: tuple[int, ...] = ()
    contract: int | None = None

    def where(self, params: dict[str, Any], alias: str = "e") -> str:
        clauses = [f"{alias}.tenant_id = %(t)s", f"{alias}.status NOT IN ('void', 'superseded')"]
        params["t"] = require_tenant_id()
        if self.start:
            clauses.append(f"{alias}.service_date >= %(start)s")
            params["start"] = self.start
        if self.end:
            clauses.append(f"{alias}.service_date <= %(end)s")
            params["end"] = self.end
        if self.payers:
            clauses.append(f"{alias}.payer_id = ANY(%(payers)s)")
            params["payers"] = list(self.payers)
        if self.programs:
            clauses.append(f"{alias}.program_id = ANY(%(programs)s)")
            params["programs"] = list(self.programs)
        if self.contract:
            clauses.append(f"{alias}.contract_id = %(contract)s")
            params["contract"] = self.contract
        return " AND ".join(clauses)


@dataclass
class VarianceRow:
    key: str
    label: str
    claims: int = 0
    expected: Decimal = Decimal(0)
    paid: Decimal = Decimal(0)
    patient_responsibility: Decimal = Decimal(0)
    variance: Decimal = Decimal(0)
    underpaid_claims: int = 0
    denied_claims: int = 0
    denied_expected: Decimal = Decimal(0)

    @property
    def variance_pct(self) -> Decimal | None:
        return None if not self.expected else (self.variance * 100 / self.expected).quantize(Decimal("0.01"))


@dataclass
class Coverage:
    """How many claims the variance covers and why the others are not in it."""

    total: int = 0
    in_variance: int = 0
    not_adjudicated: int = 0
    denied: int = 0
    no_contract: int = 0
    no_term: int = 0
    charges_no_contract: Decimal = Decimal(0)


@dataclass
class Report:
    group: str
    rows: list[VarianceRow] = field(default_factory=list)
    totals: VarianceRow = field(default_factory=lambda: VarianceRow("", "Total"))
    coverage: Coverage = field(default_factory=Coverage)


PRICED_ADJUDICATED = "e.adjudicated AND e.expected IS NOT NULL"
IN_VARIANCE = PRICED_ADJUDICATED + " AND NOT e.denied"
_V = "(e.expected - e.paid - e.patient_responsibility)"

_CLAIM_GROUP_SQL = """
SELECT {key} AS key, count(*) FILTER (WHERE NOT e.denied), coalesce(sum(e.expected) FILTER (WHERE NOT e.denied), 0),
       coalesce(sum(e.paid) FILTER (WHERE NOT e.denied), 0),
       coalesce(sum(e.patient_responsibility) FILTER (WHERE NOT e.denied), 0),
       coalesce(sum(""" + _V + """) FILTER (WHERE NOT e.denied), 0),
       count(*) FILTER (WHERE NOT e.denied AND """ + _V + """ > 0),
       count(*) FILTER (WHERE e.denied), coalesce(sum(e.expected) FILTER (WHERE e.denied), 0)
FROM contracts_claimexpectation e
WHERE {where} AND """ + PRICED_ADJUDICATED + """
GROUP BY 1 ORDER BY 6 DESC, 9 DESC
"""

# By code: line variances, then per claim the rest of the claim's variance as the claim-level row.
_CODE_SQL = """
WITH c AS (SELECT e.claim_id, """ + _V + """ AS variance, e.denied
           FROM contracts_claimexpectation e WHERE {where} AND """ + PRICED_ADJUDICATED + """),
l AS (SELECT l.claim_id, l.code, l.expected, l.paid, l.patient_responsibility,
             l.expected - l.paid - l.patient_responsibility AS variance, c.denied
      FROM contracts_lineexpectation l JOIN c ON c.claim_id = l.claim_id
      WHERE l.tenant_id = %(t)s AND l.expected IS NOT NULL),
rest AS (SELECT c.claim_id, c.variance - coalesce(sum(l.variance), 0) AS variance
         FROM c LEFT JOIN l ON l.claim_id = c.claim_id WHERE NOT c.denied GROUP BY c.claim_id, c.variance)
SELECT l.code, count(DISTINCT l.claim_id) FILTER (WHERE NOT l.denied),
       coalesce(sum(l.expected) FILTER (WHERE NOT l.denied), 0), coalesce(sum(l.paid) FILTER (WHERE NOT l.denied), 0),
       coalesce(sum(l.patient_responsibility) FILTER (WHERE NOT l.denied), 0),
       coalesce(sum(l.variance) FILTER (WHERE NOT l.denied), 0),
       count(DISTINCT l.claim_id) FILTER (WHERE NOT l.denied AND l.variance > 0),
       count(DISTINCT l.claim_id) FILTER (WHERE l.denied), coalesce(sum(l.expected) FILTER (WHERE l.denied), 0)
FROM l GROUP BY l.code
UNION ALL
SELECT %(claim_level)s, count(*) FILTER (WHERE variance <> 0), 0, 0, 0, coalesce(sum(variance), 0),
       count(*) FILTER (WHERE variance > 0), 0, 0
FROM rest HAVING coalesce(sum(abs(variance)), 0) <> 0
ORDER BY 6 DESC, 9 DESC
"""

_COVERAGE_SQL = """
SELECT count(*), count(*) FILTER (WHERE """ + IN_VARIANCE + """),
       count(*) FILTER (WHERE e.expected IS NOT NULL AND NOT e.adjudicated),
       count(*) FILTER (WHERE """ + PRICED_ADJUDICATED + """ AND e.denied),
       count(*) FILTER (WHERE e.status = 'no_contract'), count(*) FILTER (WHERE e.status = 'no_term'),
       coalesce(sum(e.charge) FILTER (WHERE e.status = 'no_contract'), 0)
FROM contracts_claimexpectation e WHERE {where}
"""


def _labels(group: str, keys: list[str]) -> dict[str, str]:
    ids = [int(k) for k in keys if k not in (None, "", "none") and str(k).isdigit()]
    if group == "payer":
        names = dict(Payer.objects.filter(pk__in=ids).values_list("pk", "name"))
    elif group == "program":
        names = dict(Program.objects.filter(pk__in=ids).values_list("pk", "name"))
    else:
        return {k: (k or "(no code)") for k in keys}
    return {k: names.get(int(k), k) if str(k).isdigit() else f"(no {group})" for k in keys}


# The same figures by payer from the payer x service-month summary (``UnderpaymentMonthly``, refreshed by every
# ``expected_recompute`` for the months it recomputes): sums of the per-month sums and counts above.
_MONTHLY_PAYER_SQL = """
SELECT coalesce(m.payer_id::text, 'none') AS key, sum(m.in_variance), sum(m.expected), sum(m.paid),
       sum(m.patient_responsibility), sum(m.variance), sum(m.underpaid_claims), sum(m.denied), sum(m.denied_expected)
FROM contracts_underpaymentmonthly m WHERE {where}
GROUP BY 1 HAVING sum(m.in_variance) + sum(m.denied) > 0 ORDER BY 6 DESC, 9 DESC, 1
"""
_MONTHLY_COVERAGE_SQL = """
SELECT coalesce(sum(m.total), 0), coalesce(sum(m.in_variance), 0), coalesce(sum(m.not_adjudicated), 0),
       coalesce(sum(m.denied), 0), coalesce(sum(m.no_contract), 0), coalesce(sum(m.no_term), 0),
       coalesce(sum(m.charges_no_contract), 0)
FROM contracts_underpaymentmonthly m WHERE {where}
"""


def _monthly_where(filters: Filters, params: dict[str, Any]) -> str | None:
    """The summary's predicate for ``filters`` when the summary can answer them exactly (whole months, payers
    only, the organization's summary built), else None."""
    if filters.programs or filters.contract:
        return None
    if filters.start and filters.start.day != 1:
        return None
    if filters.end and (filters.end + dt.timedelta(days=1)).day != 1:
        return None
    params["t"] = require_tenant_id()
    with connection.cursor() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM contracts_underpaymentmonthlystate WHERE tenant_id = %s)",
                    [params["t"]])
        if not cur.fetchone()[0]:
            return None  # not built yet (expectations that predate it): read the expectations
    clauses = ["m.tenant_id = %(t)s"]
    if filters.start:
        clauses.append("m.month >= %(start)s")
        params["start"] = filters.start
    if filters.end:
        clauses.append("m.month <= %(end)s")
        params["end"] = filters.end
    if filters.payers:
        clauses.append("m.payer_id = ANY(%(payers)s)")
        params["payers"] = list(filters.payers)
    return " AND ".join(clauses)


def underpayment_report(*, group: str, filters: Filters) -> Report:
    """Variance by payer, program or code over the claims in ``filters`` (see docs/contracts.md). By payer over
    whole months, from the payer x month summary (the same figures: tests/contracts/test_underpayment_monthly.py)."""
    if group not in GROUPS:
        raise ValueError(f"group must be one of {GROUPS}")
    params: dict[str, Any] = {"claim_level": CLAIM_LEVEL}
    monthly = _monthly_where(filters, params) if group == "payer" else None
    if monthly is not None:
        sql, coverage_sql = _MONTHLY_PAYER_SQL.format(where=monthly), _MONTHLY_COVERAGE_SQL.format(where=monthly)
    else:
        where = filters.where(params)
        coverage_sql = _COVERAGE_SQL.format(where=where)
        if group == "code":
            sql = _CODE_SQL.format(where=where)
        else:
            key = "coalesce(e.payer_id::text, 'none')" if group == "payer" else "coalesce(e.program_id::text, 'none')"
            sql = _CLAIM_GROUP_SQL.format(key=key, where=where)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        raw = cur.fetchall()
        cur.execute(coverage_sql, params)
        cov = cur.fetchone()
    labels = _labels(group, [r[0] for r in raw])
    report = Report(group=group, coverage=Coverage(*cov))
    for key, claims, exp, paid, pr, var, under, denied, denied_exp in raw:
        row = VarianceRow(key=key, label=labels.get(key, key), claims=claims, expected=exp, paid=paid,
                          patient_responsibility=pr, variance=var, underpaid_claims=under, denied_claims=denied,
                          denied_expected=denied_exp)
        report.rows.append(row)
        for name in ("expected", "paid", "patient_responsibility", "variance", "denied_expected"):
            setattr(report.totals, name, getattr(report.totals, name) + getattr(row, name))
    # A claim has lines of several codes: the totals' claim counts are the coverage's.
    report.totals.claims, report.totals.denied_claims = report.coverage.in_variance, report.coverage.denied
    if group != "code":
        report.totals.underpaid_claims = sum(r.underpaid_claims for r in report.rows)
    return report


def variance_claims(*, filters: Filters, group: str = "", key: str = "",
                    denied: bool = False) -> QuerySet[ClaimExpectation]:
    """The claims behind one figure of ``underpayment_report`` (``group``/``key`` of its row), largest first;
    ``denied``: the denied claims behind its "denied" figures instead.

    For a code, each claim also carries ``code_expected``/``code_paid``/``code_variance`` of that code's lines.
    """
    from django.db.models import DecimalField, ExpressionWrapper, F, OuterRef, Subquery, Sum

    from .models import LineExpectation

    rows = ClaimExpectation.objects.filter(adjudicated=True, expected__isnull=False, denied=denied).exclude(
        status__in=["void", "superseded"])
    if filters.start:
        rows = rows.filter(service_date__gte=filters.start)
    if filters.end:
        rows = rows.filter(service_date__lte=filters.end)
    if filters.payers:
        rows = rows.filter(payer_id__in=filters.payers)
    if filters.programs:
        rows = rows.filter(program_id__in=filters.programs)
    if filters.contract:
        rows = rows.filter(contract_id=filters.contract)
    money = DecimalField(max_digits=14, decimal_places=2)
    rows = rows.annotate(variance_amount=ExpressionWrapper(F("expected") - F("paid") - F("patient_responsibility"),
                                                           output_field=money))
    if group == "payer":
        rows = rows.filter(payer_id=int(key)) if key.isdigit() else rows.filter(payer_id__isnull=True)
    elif group == "program":
        rows = rows.filter(program_id=int(key)) if key.isdigit() else rows.filter(program_id__isnull=True)
    elif group == "code" and key != CLAIM_LEVEL:
        lines = LineExpectation.objects.filter(claim_id=OuterRef("claim_id"), code=key, expected__isnull=False)

        def line_sum(expr: Any) -> Subquery:
            return Subquery(lines.values("claim_id").annotate(s=Sum(expr)).values("s")[:1], output_field=money)

        rows = rows.filter(claim_id__in=LineExpectation.objects.filter(code=key, expected__isnull=False)
                           .values("claim_id"))
        rows = rows.annotate(code_expected=line_sum(F("expected")), code_paid=line_sum(F("paid")),
                             code_variance=line_sum(F("expected") - F("paid") - F("patient_responsibility")))
    return rows.select_related("claim", "payer", "program", "contract").order_by("-variance_amount", "claim_id")


def claim_expectation_detail(*, claim_id: int) -> tuple[ClaimExpectation, list[Any]] | None:
    e = ClaimExpectation.objects.select_related("claim", "payer", "program", "contract", "version").filter(
        claim_id=claim_id).first()
    if e is None:
        return None
    from .models import LineExpectation

    return e, list(LineExpectation.objects.filter(claim_id=claim_id).select_related("term").order_by("line_number"))


# -- reviews ---------------------------------------------------------------------------------------

def review_list(*, quarter: dt.date | None = None, contract: int | None = None) -> QuerySet[ContractReview]:
    rows = ContractReview.objects.select_related("contract", "contract__payer", "decided_by")
    if quarter:
        rows = rows.filter(quarter_start=quarter)
    if contract:
        rows = rows.filter(contract_id=contract)
    return rows.order_by("-quarter_start", "contract__name")


def review_quarters() -> list[dt.date]:
    return list(ContractReview.objects.order_by("-quarter_start").values_list("quarter_start", flat=True).distinct())


def previous_review(review: ContractReview) -> ContractReview | None:
    return ContractReview.objects.filter(contract_id=review.contract_id,
                                         quarter_start=add_quarters(review.quarter_start, -1)).first()


COMPARED = (
    ("claims", "Claims", "int"), ("volume_change", "Volume change vs quarter before (%)", "pct"),
    ("charges", "Charges", "money"), ("expected", "Expected reimbursement", "money"),
    ("net_revenue", "Net revenue (paid)", "money"), ("direct_cost", "Direct cost (allocated)", "money"),
    ("rcm_cost", "RCM cost (allocated)", "money"), ("margin", "Net contribution margin", "money"),
    ("margin_pct", "Margin % of net revenue", "pct"), ("underpayment", "Underpayment variance", "money"),
    ("underpayment_pct", "Underpayment % of expected", "pct"), ("denial_rate", "Denial rate (%)", "pct"),
    ("days_to_pay", "Days to pay", "days"), ("appeals", "Appeals on its denials", "int"),
    ("appeals_won", "Appeals won", "int"),
)


def review_comparison(review: ContractReview, previous: ContractReview | None) -> list[dict[str, Any]]:
    """Rows of (figure, this quarter, last quarter, change) for the side-by-side view."""
    out = []
    for name, label, unit in COMPARED:
        now = getattr(review, name)
        before = getattr(previous, name) if previous is not None else None
        change = now - before if now is not None and before is not None else None
        out.append({"name": name, "label": label, "unit": unit, "now": now, "before": before, "change": change})
    return out
