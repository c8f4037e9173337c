"""Reads of commission periods, runs, statements and line items for the pages and the API.

Statements with thousands of lines stay fast: lines come 200 to a page (the ``(tenant, run, person)``
index), sums by component and by release date are computed in SQL, and the names an explanation needs
are loaded once per page (``names_for``). The payout summary's numbers are defined on ``payout_summary``
(cost, credited amount, cost share) and nowhere else.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum, Value, Window
from django.db.models.functions import Coalesce
from django.utils.functional import cached_property

from revops.models import Role
from revops.tenancy import require_tenant_id

from ..explain import ComponentInfo, Names, TransactionInfo, VersionInfo, line_explanation
from ..models import (
    CommissionPeriod,
    CommissionRun,
    Component,
    CompPlanVersion,
    CreditRule,
    LineItem,
    RunStatus,
    Statement,
    Transaction,
    TransactionSplit,
)

LINES_PER_PAGE = 200
ACTIVE_RUN = (RunStatus.QUEUED, RunStatus.RUNNING)
EARNED_KINDS = ("commission", "bonus", "spiff", "clawback", "cap")
COST_KINDS = (*EARNED_KINDS, "adjustment", "manual")
# Roles that read every statement; the others (reps) only the one of the person linked to their membership.
READ_ALL_STATEMENTS = frozenset({Role.ADMIN, Role.EXECUTIVE, Role.REVOPS_ANALYST})
LINE_FIELDS = ("id", "run_id", "period_id", "person_id", "kind", "component_id", "version_id", "transaction_id",
               "transaction_date", "credit_role", "credit_rule_id", "credit_share", "credited", "attainment_before",
               "attainment_after", "tier", "rate", "amount", "held", "release_on", "source_period_id", "note")
CREDIT_FIELDS = ("credit_total", "credit_parts")
# Credits one person may hold twice for one transaction and rule (from two split reps): parts are ambiguous.
AMBIGUOUS_ROLES = frozenset({"team", "override"})
ZERO = Decimal(0)


# -- periods and runs -------------------------------------------------------------------------------

def active_run(period: CommissionPeriod) -> CommissionRun | None:
    """The queued or running run of ``period`` (at most one), with its job."""
    return (CommissionRun.objects.filter(period=period, status__in=ACTIVE_RUN).select_related("job")
            .order_by("-created_at", "-id").first())


def periods_overview() -> list[CommissionPeriod]:
    """Every period, newest first, with its current run, statement count and payout total, and its
    active run (``active``: queued or running, with the job a progress bar follows)."""
    periods = list(CommissionPeriod.objects.select_related("current_run", "approved_by")
                   .annotate(statement_count=Count("statements"),
                             payout_total=Coalesce(Sum("statements__payout"), ZERO))
                   .order_by("-start"))
    active: dict[int, CommissionRun] = {}
    for run in (CommissionRun.objects.filter(status__in=ACTIVE_RUN).select_related("job")
                .order_by("period_id", "-created_at")):
        active.setdefault(run.period_id, run)
    for period in periods:
        period.active = active.get(period.pk)  # type: ignore[attr-defined]
    return periods


def period_runs(period: CommissionPeriod) -> QuerySet[CommissionRun]:
    return CommissionRun.objects.filter(period=period).select_related("job", "created_by").order_by("-created_at",
                                                                                                   "-id")


@dataclass
class PeriodTotals:
    """What a period's current run found and its statements add up to."""

    run: CommissionRun | None
    totals: dict[str, Any]
    statements: int = 0
    earned: Decimal = ZERO
    adjustments: Decimal = ZERO
    held: Decimal = ZERO
    released: Decimal = ZERO
    draw_paid: Decimal = ZERO
    payout: Decimal = ZERO
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def unowned_transactions(self) -> int:
        return int(self.totals.get("unowned_transactions") or 0)

    @property
    def remittances(self) -> dict[str, int] | None:
        """The run's sync of 835 claim payments (commissions.services.remittances), when it ran one."""
        return self.totals.get("remittances")

    @property
    def unowned_amount(self) -> Decimal:
        return Decimal(str(self.totals.get("unowned_amount") or 0))

    @property
    def unassigned_credits(self) -> int:
        return int(self.totals.get("unassigned_credits") or 0)


def period_totals(period: CommissionPeriod) -> PeriodTotals:
    run = period.current_run
    sums = Statement.objects.filter(period=period).aggregate(
        statements=Count("id"), earned=Coalesce(Sum("earned"), ZERO), adjustments=Coalesce(Sum("adjustments"), ZERO),
        held=Coalesce(Sum("held"), ZERO), released=Coalesce(Sum("released"), ZERO),
        draw_paid=Coalesce(Sum("draw_paid"), ZERO), payout=Coalesce(Sum("payout"), ZERO))
    by_status = dict(Statement.objects.filter(period=period).order_by().values("status").annotate(n=Count("id"))
                     .values_list("status", "n"))
    return PeriodTotals(run=run, totals=dict(run.totals or {}) if run else {}, by_status=by_status, **sums)


# -- statements -------------------------------------------------------------------------------------

def statements_readable(*, role: str | None, person_id: int | None) -> QuerySet[Statement]:
    """The statements a role reads: all for admins, executives and analysts; for anyone else only the
    statements of the person linked to their membership (none when no person is linked)."""
    statements = Statement.objects.select_related("person", "person__team", "period", "run")
    if role in READ_ALL_STATEMENTS:
        return statements
    if person_id is None:
        return statements.none()
    return statements.filter(person_id=person_id)


def statement_approval(*, role: str | None, person_id: int | None, statement: Statement) -> tuple[bool, str | None]:
    """How the role approves ``statement`` and why it may not: (as_finance, refusal). Executives approve as the
    manager, admins as finance (docs/permissions.md); nobody approves the statement of the person linked to
    their own membership."""
    if role not in (Role.ADMIN, Role.EXECUTIVE):
        return False, "Your role may not approve statements."
    if person_id is not None and person_id == statement.person_id:
        return False, "Nobody approves their own statement."
    return role == Role.ADMIN, None


def statements_of(period: CommissionPeriod) -> QuerySet[Statement]:
    return (Statement.objects.filter(period=period).select_related("person", "person__team")
            .order_by("person__last_name", "person__first_name", "person_id"))


def statements_of_person(person_id: int) -> QuerySet[Statement]:
    return Statement.objects.filter(person_id=person_id).select_related("period", "person").order_by("-period__start")


def earnings_by_component(statement: Statement) -> list[dict[str, Any]]:
    """The statement's lines summed per component and kind in SQL: component, plan version, kind, lines,
    amount, held."""
    if statement.run_id is None:
        return []
    rows = (LineItem.objects.filter(run_id=statement.run_id, person_id=statement.person_id)
            .values("component_id", "version_id", "kind")
            .annotate(lines=Count("id"), amount=Sum("amount"), held=Sum("held"))
            .order_by("component_id", "kind"))
    rows = list(rows)
    components = dict(Component.objects.filter(pk__in={r["component_id"] for r in rows if r["component_id"]})
                      .values_list("pk", "name"))
    versions = _version_labels({r["version_id"] for r in rows if r["version_id"]})
    kind_order = {k: i for i, k in enumerate(("commission", "spiff", "bonus", "clawback", "cap", "release",
                                               "adjustment", "manual"))}
    for r in rows:
        r["component"] = components.get(r["component_id"], "") if r["component_id"] else ""
        r["version"] = versions.get(r["version_id"], VersionInfo("")).label if r["version_id"] else ""
    rows.sort(key=lambda r: (r["component"] == "", r["component"], kind_order.get(r["kind"], 99)))
    return rows


def held_by_release(statement: Statement) -> list[dict[str, Any]]:
    """Held parts of the statement's lines by the day they are paid (SQL sums)."""
    if statement.run_id is None:
        return []
    return list(LineItem.objects.filter(run_id=statement.run_id, person_id=statement.person_id)
                .exclude(held=0).exclude(kind="release").values("release_on")
                .annotate(held=Sum("held"), lines=Count("id")).order_by("release_on"))


# -- lines and their explanations -----------------------------------------------------------------------

def _version_labels(ids: Iterable[int]) -> dict[int, VersionInfo]:
    return {pk: VersionInfo(label=f"{plan} v{number}", period_cap=cap)
            for pk, plan, number, cap in CompPlanVersion.objects.filter(pk__in=set(ids))
            .values_list("pk", "plan__name", "version", "period_cap")}


def names_for(lines: Sequence[dict[str, Any]], *, subject: str = "you") -> Names:
    """The names ``line_explanation`` needs for ``lines`` (dicts of LineItem fields), in five queries."""
    component_ids = {r["component_id"] for r in lines if r.get("component_id")}
    version_ids = {r["version_id"] for r in lines if r.get("version_id")}
    rule_ids = {r["credit_rule_id"] for r in lines if r.get("credit_rule_id")}
    txn_ids = {r["transaction_id"] for r in lines if r.get("transaction_id")}
    period_ids = {r["source_period_id"] for r in lines if r.get("source_period_id")}
    components = {
        c.pk: ComponentInfo(name=c.name, kind=c.kind, basis=c.basis_code, rate_type=c.rate_type,
                            tier_basis=c.tier_basis, tiers=tuple(c.tiers or ()), hurdle_pct=c.hurdle_pct,
                            cap_amount=c.cap_amount, clawback_days=c.clawback_days)
        for c in Component.objects.filter(pk__in=component_ids)
    } if component_ids else {}
    transactions: dict[int, TransactionInfo] = {}
    if txn_ids:
        for t in Transaction.objects.filter(pk__in=txn_ids).values(
                "pk", "external_id", "basis", "amount", "transaction_date", "description", "reversal_reason",
                "reverses__external_id", "reverses__transaction_date"):
            transactions[t["pk"]] = TransactionInfo(
                external_id=t["external_id"], basis=t["basis"], amount=t["amount"], date=t["transaction_date"],
                description=t["description"], reverses=t["reverses__external_id"] or "",
                reverses_date=t["reverses__transaction_date"], reversal_reason=t["reversal_reason"])
    return Names(
        components=components,
        versions=_version_labels(version_ids) if version_ids else {},
        rules=dict(CreditRule.objects.filter(pk__in=rule_ids).values_list("pk", "name")) if rule_ids else {},
        transactions=transactions,
        periods=dict(CommissionPeriod.objects.filter(pk__in=period_ids).values_list("pk", "name"))
        if period_ids else {},
        subject=subject,
    )


def lines_queryset(*, run_id: int, person_id: int | None = None) -> QuerySet[LineItem]:
    """Lines of a run (of one person), in statement order: by transaction date (undated last), then as written.

    For one person, ``credit_total`` and ``credit_parts`` tell the whole credit a line is part of: a credit
    crossing a tier boundary (or a hurdle) is written as one line per tier with the same transaction, role,
    rule, component and kind (window sums in SQL). A whole run's lines (millions) skip the windows: each line
    then says its own credited amount."""
    lines = LineItem.objects.filter(run_id=run_id)
    order = (F("transaction_date").asc(nulls_last=True), "id")
    if person_id is None:
        return lines.annotate(credit_total=F("credited"), credit_parts=Value(1)).order_by(*order)
    partition = [F("person_id"), F("transaction_id"), F("credit_role"), F("credit_rule_id"), F("component_id"),
                 F("kind")]
    return lines.filter(person_id=person_id).annotate(
        credit_total=Window(Sum("credited"), partition_by=partition),
        credit_parts=Window(Count("id"), partition_by=partition),
    ).order_by(*order)


def explained(rows: Sequence[dict[str, Any]], *, subject: str = "you") -> list[dict[str, Any]]:
    """``rows`` (LineItem values) with ``explanation`` and the names of their transaction, component and plan
    version. The credit a line is part of is its own credited amount when it is the only part (or its component
    pays a flat rate with no hurdle: one line per credit), the parts' sum when they are the tiers of one credit,
    and left unsaid when it cannot be told (``lines_queryset``)."""
    names = names_for(rows, subject=subject)
    # A split transaction may give one person two team or override credits under one rule (from two split
    # reps): their parts cannot be told apart.
    ambiguous = {r["transaction_id"] for r in rows if (r.get("credit_parts") or 1) > 1
                 and r.get("credit_role") in AMBIGUOUS_ROLES and r.get("transaction_id")}
    split = set(TransactionSplit.objects.filter(transaction_id__in=ambiguous).values_list("transaction_id", flat=True)
                .distinct()) if ambiguous else set()
    out = []
    for row in rows:
        row = dict(row)
        parts = row.pop("credit_parts", 1) or 1
        component = names.components.get(row.get("component_id"))
        one_line_per_credit = component is not None and component.rate_type == "flat" and component.hurdle_pct is None
        if parts == 1 or one_line_per_credit or row.get("credit_total") is None:
            row["credit_total"] = row.get("credited")
        elif row.get("transaction_id") in split and row.get("credit_role") in AMBIGUOUS_ROLES:
            row["credit_total"] = None
        row["explanation"] = line_explanation(row, names)
        txn = names.transactions.get(row.get("transaction_id"))
        row["transaction_external_id"] = txn.external_id if txn else ""
        row["component_name"] = component.name if component else ""
        version = names.versions.get(row.get("version_id"))
        row["version_label"] = version.label if version else ""
        out.append(row)
    return out


def lines_count(*, run_id: int, person_id: int | None = None, kind: str | None = None) -> int:
    """How many lines ``lines_queryset`` has (of ``kind``), counted on the plain rows (no window over them)."""
    lines = LineItem.objects.filter(run_id=run_id)
    if person_id is not None:
        lines = lines.filter(person_id=person_id)
    return (lines.filter(kind=kind) if kind else lines).count()


class CountedPaginator(Paginator):
    """A paginator told its count (``lines_count``) instead of counting the annotated query."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


@dataclass
class LinePage:
    page: Page
    rows: list[dict[str, Any]]


def lines_page(*, run_id: int, person_id: int | None = None, number: Any = 1, per_page: int = LINES_PER_PAGE,
               subject: str = "you") -> LinePage:
    """One page of a run's (person's) lines with their explanations."""
    values = lines_queryset(run_id=run_id, person_id=person_id).values(*LINE_FIELDS, *CREDIT_FIELDS)
    page = CountedPaginator(values, per_page, count=lines_count(run_id=run_id, person_id=person_id)).get_page(number)
    return LinePage(page=page, rows=explained(list(page.object_list), subject=subject))


def lines_all(*, run_id: int, person_id: int | None = None, subject: str = "you") -> list[dict[str, Any]]:
    """Every line of a run (of one person) with its explanation, for a statement's export."""
    values = lines_queryset(run_id=run_id, person_id=person_id).values(*LINE_FIELDS, *CREDIT_FIELDS)
    return explained(list(values), subject=subject)


# -- payout summary ---------------------------------------------------------------------------------

@dataclass
class PeriodPayout:
    period: CommissionPeriod
    people: int = 0
    earned: Decimal = ZERO
    adjustments: Decimal = ZERO
    draw_paid: Decimal = ZERO
    payout: Decimal = ZERO
    credited: Decimal = ZERO
    by_kind: dict[str, Decimal] = field(default_factory=dict)
    by_team: dict[str, Decimal] = field(default_factory=dict)

    @property
    def cost(self) -> Decimal:
        """Commission cost: what the period's lines pay (earned + adjustments), before holds and draws."""
        return self.earned + self.adjustments

    @property
    def cost_pct(self) -> Decimal | None:
        """Cost as a percent of the credited amount, to 0.01 (None when nothing was credited)."""
        if not self.credited:
            return None
        return (self.cost / self.credited * 100).quantize(Decimal("0.01"))


def _credited_by_period(period_ids: Sequence[int]) -> dict[int, Decimal]:
    """The credited amount of each period: the amounts of the period's money transactions (referral and test
    counts left out) that credited someone paid under a plan in its current run, each transaction once
    (reversals net)."""
    if not period_ids:
        return {}
    tenant_id = require_tenant_id()
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT x.period_id, coalesce(sum(t.amount), 0)
            FROM (SELECT DISTINCT l.period_id, l.transaction_id
                  FROM commissions_lineitem l
                  JOIN commissions_commissionperiod p ON p.tenant_id = %(t)s AND p.current_run_id = l.run_id
                  WHERE l.tenant_id = %(t)s AND p.id = ANY(%(p)s) AND l.transaction_id IS NOT NULL
                    AND l.credit_role IN ('owner', 'direct', 'split')
                    AND l.kind IN ('commission', 'spiff', 'clawback')) x
            JOIN commissions_transaction t ON t.tenant_id = %(t)s AND t.id = x.transaction_id
            WHERE t.basis NOT IN ('referrals', 'tests')
            GROUP BY x.period_id
        """, {"t": tenant_id, "p": list(period_ids)})
        return {pk: Decimal(total) for pk, total in cursor.fetchall()}


def payout_summary(*, periods: Sequence[CommissionPeriod] | None = None) -> list[PeriodPayout]:
    """Per period (oldest first) with a current run: people paid, earned, adjustments, draws paid and payout
    (sums of the statements); the current run's lines by kind; payout by the person's team; and the
    commission cost (earned + adjustments) as a percent of the credited amount (``_credited_by_period``)."""
    if periods is None:
        periods = list(CommissionPeriod.objects.exclude(current_run=None).order_by("start"))
    by_id = {p.pk: PeriodPayout(period=p) for p in periods}
    if not by_id:
        return []
    for row in (Statement.objects.filter(period_id__in=by_id).values("period_id")
                .annotate(people=Count("id", filter=~Q(payout=0) | ~Q(earned=0)), earned=Sum("earned"),
                          adjustments=Sum("adjustments"), draw_paid=Sum("draw_paid"), payout=Sum("payout"))):
        summary = by_id[row["period_id"]]
        summary.people = row["people"]
        summary.earned, summary.adjustments = row["earned"] or ZERO, row["adjustments"] or ZERO
        summary.draw_paid, summary.payout = row["draw_paid"] or ZERO, row["payout"] or ZERO
    runs = [p.current_run_id for p in periods if p.current_run_id]
    for row in (LineItem.objects.filter(run_id__in=runs, kind__in=COST_KINDS).values("period_id", "kind")
                .annotate(amount=Sum("amount")).order_by()):
        by_id[row["period_id"]].by_kind[row["kind"]] = row["amount"] or ZERO
    for row in (Statement.objects.filter(period_id__in=by_id).values("period_id", "person__team__name")
                .annotate(payout=Sum("payout")).order_by("person__team__name")):
        team = row["person__team__name"] or "No team"
        by_id[row["period_id"]].by_team[team] = row["payout"] or ZERO
    for pk, credited in _credited_by_period(list(by_id)).items():
        by_id[pk].credited = credited
    return [by_id[p.pk] for p in periods]
