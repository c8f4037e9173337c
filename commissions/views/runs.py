"""Commission period, run, payout and transaction pages (mounted at ``commissions/``).

Resource ``commissions``: admins, executives and analysts read (integrators too); admins and analysts open
periods, start runs and load transactions; executives and admins lock (approve) periods and mark them paid.
A run is a Celery job: its page (and the period's) follow it with the shared progress bar and refresh when it
finishes. Tables export with ``?format=csv|xlsx``; the payroll export lists finance-approved statements only.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from rest_framework.exceptions import ValidationError as DRFValidationError

from revops.access import APPROVE, CHANGE, allowed, require_access
from revops.api.base import csv_records
from revops.exports import FORMATS, Column, export_response, stream_csv_response

from ..api.run_serializers import transaction_rows
from ..models import Basis, CommissionPeriod, CommissionRun, LineItem, RunStatus, StatementStatus, Transaction
from ..selectors import runs as reads
from ..services import runs as run_services
from ..services import statements as statement_services
from ..services import transactions as transaction_services

RESOURCE = "commissions"
STATEMENT_COLUMNS = [
    Column("employee_id", "person.employee_id"), Column("last_name", "person.last_name"),
    Column("first_name", "person.first_name"), Column("team", lambda s: s.person.team.name if s.person.team else ""),
    Column("credited", "credited"), Column("quota", "quota"), Column("attainment_pct", "attainment"),
    Column("earned", "earned"), Column("adjustments", "adjustments"), Column("held", "held"),
    Column("released", "released"), Column("draw_paid", "draw_paid"), Column("draw_recovered", "draw_recovered"),
    Column("draw_balance", "draw_balance"), Column("payout", "payout"), Column("status", "get_status_display"),
]
RUN_LINE_COLUMNS = [
    Column("id", "pk"), Column("person_id", "person_id"), Column("kind", "kind"),
    Column("component_id", "component_id"),
    Column("version_id", "version_id"), Column("transaction_id", "transaction_id"),
    Column("transaction_date", "transaction_date"), Column("credit_role", "credit_role"),
    Column("credit_rule_id", "credit_rule_id"), Column("credit_share", "credit_share"), Column("credited", "credited"),
    Column("attainment_before", "attainment_before"), Column("attainment_after", "attainment_after"),
    Column("tier", "tier"), Column("rate", "rate"), Column("amount", "amount"), Column("held", "held"),
    Column("release_on", "release_on"), Column("source_period_id", "source_period_id"), Column("note", "note"),
]
TRANSACTION_COLUMNS = [
    Column("id", "pk"), Column("external_id", "external_id"), Column("basis", "basis"),
    Column("account_id", "account_id"), Column("account", lambda t: t.account.name if t.account_id else ""),
    Column("person_id", "person_id"), Column("person", lambda t: t.person.full_name if t.person_id else ""),
    Column("service_line", lambda t: t.service_line.code if t.service_line_id else ""),
    Column("transaction_date", "transaction_date"), Column("amount", "amount"), Column("description", "description"),
    Column("reverses_id", "reverses_id"), Column("reversal_reason", "reversal_reason"), Column("source", "source"),
]
KIND_ORDER = ("commission", "bonus", "spiff", "clawback", "cap", "adjustment", "manual")
KIND_LABELS = {"commission": "Commission", "bonus": "Bonus", "spiff": "SPIFF", "clawback": "Clawback", "cap": "Cap",
               "adjustment": "Retroactive adjustments", "manual": "Manual adjustments"}
KIND_COLORS = {"commission": "#0f766e", "bonus": "#2563eb", "spiff": "#d97706", "clawback": "#dc2626",
               "cap": "#6b7280", "adjustment": "#7c3aed", "manual": "#db2777"}


def role_of(request: HttpRequest) -> str | None:
    return getattr(request, "role", None)


def can(request: HttpRequest, action: str, resource: str = RESOURCE) -> bool:
    return allowed(role_of(request), resource, action)


def export_format(request: HttpRequest) -> str | None:
    fmt = request.GET.get("format")
    return fmt if fmt in FORMATS and request.method == "GET" else None


def url_or_none(name: str, *args: Any) -> str | None:
    """A route's URL, or None while the route is not installed (pages built by other areas)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def figure_json(data: list[dict[str, Any]], layout: dict[str, Any]) -> str:
    base = {"margin": {"l": 72, "r": 56, "t": 32, "b": 48}, "height": 320, "legend": {"orientation": "h", "y": 1.15},
            "font": {"family": "system-ui, sans-serif", "size": 12}}
    text = json.dumps({"data": data, "layout": {**base, **layout}}, default=str)
    # Embedded in a <script type="application/json">: no text may close the tag.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# -- periods ---------------------------------------------------------------------------------------

class PeriodForm(forms.Form):
    month = forms.CharField(label="Month", widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-03"}),
                            help_text="The calendar month the period covers.")

    def clean_month(self) -> dt.date:
        raw = self.cleaned_data["month"].strip()
        match = re.fullmatch(r"(\d{4})-(\d{1,2})", raw)
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ValidationError("Enter a month as YYYY-MM (for example 2026-03).")
        return dt.date(int(match.group(1)), int(match.group(2)), 1)


def _periods_context(request: HttpRequest, form: PeriodForm | None = None) -> dict[str, Any]:
    today = dt.date.today()
    return {
        "periods": reads.periods_overview(),
        "form": form or (PeriodForm(initial={"month": f"{today:%Y-%m}"}) if can(request, CHANGE) else None),
        "can_change": can(request, CHANGE), "can_approve": can(request, APPROVE), "tab": "periods",
    }


@require_access(RESOURCE)
def periods(request: HttpRequest) -> HttpResponse:
    """The periods, newest first, with their current run and payout; POST opens a month's period."""
    if request.method == "POST":
        form = PeriodForm(request.POST)
        if form.is_valid():
            start = form.cleaned_data["month"]
            existing = CommissionPeriod.objects.filter(start=start).first()
            if existing is not None:
                messages.info(request, f"{existing.name} is already open.")
                return redirect("commissions_period", pk=existing.pk)
            try:
                period = run_services.period_ensure(start=start)
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(request, f"{period.name} opened: run it when its transactions are in.")
                return redirect("commissions_periods")
        return render(request, "commissions/periods.html", _periods_context(request, form), status=400)
    return render(request, "commissions/periods.html", _periods_context(request))


@require_access(RESOURCE, model=CommissionPeriod)
def period_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Runs history, totals, what could not be paid, the statements (``?format=csv|xlsx``) and the actions."""
    period = get_object_or_404(CommissionPeriod.objects.select_related("current_run", "approved_by"), pk=pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    statements = reads.statements_of(period)
    if fmt := export_format(request):
        return export_response(rows=statements, columns=STATEMENT_COLUMNS, stem=f"statements {period.name}", fmt=fmt)
    active = reads.active_run(period)
    totals = reads.period_totals(period)
    context = {
        "period": period, "totals": totals,
        "status_counts": [(StatementStatus(k).label, n) for k, n in sorted(totals.by_status.items())],
        "runs": reads.period_runs(period)[:50],
        "statements": statements, "active": active, "tab": "periods",
        "can_change": can(request, CHANGE), "can_approve": can(request, APPROVE),
        "can_approve_statements": can(request, APPROVE, "commission_statements"),
        "is_admin": role_of(request) == "admin",
    }
    return render(request, "commissions/period_detail.html", context)


@require_access(RESOURCE, CHANGE, model=CommissionPeriod)
def period_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Start a run of an open period (a job); its page follows the progress bar."""
    period = get_object_or_404(CommissionPeriod, pk=pk)
    if request.method != "POST":
        return redirect("commissions_period", pk=period.pk)
    try:
        run = run_services.run_start(period=period, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("commissions_period", pk=period.pk)
    messages.info(request, f"Run #{run.pk} of {period.name} started; this page follows it.")
    return redirect("commissions_run", pk=run.pk)


@require_access(RESOURCE, APPROVE, model=CommissionPeriod)
def period_approve(request: HttpRequest, pk: int) -> HttpResponse:
    """Lock the period: its current run is final (later changes become adjustments in an open period)."""
    period = get_object_or_404(CommissionPeriod, pk=pk)
    if request.method == "POST":
        try:
            run_services.period_approve(period=period, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{period.name} is approved and locked.")
    return redirect("commissions_period", pk=period.pk)


@require_access(RESOURCE, APPROVE, model=CommissionPeriod)
def period_mark_paid(request: HttpRequest, pk: int) -> HttpResponse:
    period = get_object_or_404(CommissionPeriod, pk=pk)
    if request.method == "POST":
        try:
            run_services.period_mark_paid(period=period)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{period.name} is marked paid.")
    return redirect("commissions_period", pk=period.pk)


@require_access(RESOURCE, model=CommissionPeriod)
def period_payroll(request: HttpRequest, pk: int) -> HttpResponse:
    """The payroll file of a locked period: its finance-approved statements (CSV, or ``?format=xlsx``)."""
    period = get_object_or_404(CommissionPeriod, pk=pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    try:
        rows = statement_services.payroll_rows(period=period)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("commissions_period", pk=period.pk)
    columns = [Column(name, lambda r, i=i: r[i]) for i, name in enumerate(statement_services.PAYROLL_COLUMNS)]
    return export_response(rows=rows, columns=columns, stem=f"payroll {period.name}",
                           fmt=request.GET.get("format") if request.GET.get("format") in FORMATS else "csv")


# -- runs ------------------------------------------------------------------------------------------

@require_access(RESOURCE, model=CommissionRun)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A run: status and progress, totals, digests; ``?format=csv`` streams its lines."""
    run = get_object_or_404(CommissionRun.objects.select_related("period", "job", "created_by"), pk=pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    if request.GET.get("format") == "csv":
        return stream_csv_response(queryset=LineItem.objects.filter(run=run), columns=RUN_LINE_COLUMNS,
                                   stem=f"commission run {run.pk} lines")
    finished = run.status not in (RunStatus.QUEUED, RunStatus.RUNNING)
    totals = run.totals or {}
    # A run executed in-process (demo seeding, run_now) never touched its job: no bar for it.
    show_progress = run.job is not None and (not finished or run.job.is_finished)
    context = {"run": run, "period": run.period, "finished": finished, "totals": totals, "tab": "periods",
               "show_progress": show_progress,
               "is_current": run.period.current_run_id == run.pk,
               "statements": reads.statements_of(run.period) if run.period.current_run_id == run.pk else None}
    return render(request, "commissions/run_detail.html", context)


# -- payout summary ----------------------------------------------------------------------------------

def payout_rows(summaries: list[reads.PeriodPayout], teams: list[str]) -> list[dict[str, Any]]:
    rows = []
    for p in summaries:
        row: dict[str, Any] = {"period": p.period.name, "start": p.period.start,
                               "status": p.period.get_status_display(), "people": p.people}
        for kind in KIND_ORDER:
            row[kind] = p.by_kind.get(kind, Decimal(0))
        row.update({"earned": p.earned, "adjustments_total": p.adjustments, "cost": p.cost, "draw_paid": p.draw_paid,
                    "payout": p.payout, "credited": p.credited, "cost_pct": p.cost_pct})
        for team in teams:
            row[f"team: {team}"] = p.by_team.get(team, Decimal(0))
        rows.append(row)
    return rows


def payout_figure(summaries: list[reads.PeriodPayout]) -> str:
    x = [p.period.name for p in summaries]
    data: list[dict[str, Any]] = []
    for kind in KIND_ORDER:
        values = [float(p.by_kind.get(kind, 0)) for p in summaries]
        if not any(values):
            continue
        data.append({"type": "bar", "name": KIND_LABELS[kind], "x": x, "y": values,
                     "marker": {"color": KIND_COLORS[kind]},
                     "hovertemplate": f"%{{x}}<br>{KIND_LABELS[kind]} %{{y:,.2f}}<extra></extra>"})
    data.append({"type": "scatter", "mode": "lines+markers", "name": "Payout", "x": x,
                 "y": [float(p.payout) for p in summaries], "line": {"color": "#111827", "width": 3},
                 "hovertemplate": "%{x}<br>Payout %{y:,.2f}<extra></extra>"})
    data.append({"type": "scatter", "mode": "lines+markers", "name": "Cost % of credited", "x": x, "yaxis": "y2",
                 "y": [float(p.cost_pct) if p.cost_pct is not None else None for p in summaries],
                 "line": {"color": "#d97706", "dash": "dot"},
                 "hovertemplate": "%{x}<br>Cost %{y:.2f}% of credited<extra></extra>"})
    # Explicit ranges: with one period, plotly's autorange leaves the payout and cost markers on the frame.
    highs = [max(float(p.payout), sum(float(v) for v in p.by_kind.values() if v > 0)) for p in summaries]
    lows = [sum(float(v) for v in p.by_kind.values() if v < 0) for p in summaries]
    costs = [float(p.cost_pct) for p in summaries if p.cost_pct is not None]
    return figure_json(data, {"barmode": "relative", "xaxis": {"type": "category"},
                              "yaxis": {"title": {"text": "Amount"}, "tickformat": ",.0f",
                                        "range": [min(lows, default=0) * 1.15, max(highs, default=0) * 1.15 or 1]},
                              "yaxis2": {"title": {"text": "% of credited"}, "overlaying": "y", "side": "right",
                                         "range": [0, max(costs, default=0) * 1.25 or 1], "showgrid": False,
                                         "ticksuffix": "%"}})


@require_access(RESOURCE)
def payouts(request: HttpRequest) -> HttpResponse:
    """Payout summary per period: by component kind, by team, and commission cost as % of credited."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    summaries = reads.payout_summary()
    teams = sorted({team for p in summaries for team in p.by_team})
    rows = payout_rows(summaries, teams)
    if fmt := export_format(request):
        columns = [Column(key, lambda r, key=key: r[key]) for key in (rows[0] if rows else {"period": ""})]
        return export_response(rows=rows, columns=columns, stem="commission payouts", fmt=fmt)
    kinds = [k for k in KIND_ORDER if any(p.by_kind.get(k) for p in summaries)]
    table = [{"summary": p, "kinds": [p.by_kind.get(k, Decimal(0)) for k in kinds],
              "teams": [p.by_team.get(t, Decimal(0)) for t in teams]} for p in summaries]
    context = {"summaries": summaries, "table": table, "kinds": [(k, KIND_LABELS[k]) for k in kinds], "teams": teams,
               "figure": payout_figure(summaries) if summaries else None, "tab": "payouts"}
    return render(request, "commissions/payouts.html", context)


# -- transactions ------------------------------------------------------------------------------------

class TransactionFilterForm(forms.Form):
    basis = forms.ChoiceField(required=False)
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    q = forms.CharField(required=False, label="External id or description")

    def __init__(self, *args: Any, bases: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(Basis.choices)
        self.fields["basis"].choices = [("", "Every basis")] + [(b, labels.get(b, b)) for b in bases]


class TransactionImportForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="Header row: external_id, basis, account (id) or "
                           "account_external_id, person (id) or person_employee_id, service_line, transaction_date "
                           "(YYYY-MM-DD), amount, description, reverses_external_id, reversal_reason.")


def _filtered_transactions(form: TransactionFilterForm) -> QuerySet[Transaction]:
    qs = Transaction.objects.select_related("account", "person", "service_line", "reverses")
    if not form.is_valid():
        return qs
    data = form.cleaned_data
    if data.get("basis"):
        qs = qs.filter(basis=data["basis"])
    if data.get("date_from"):
        qs = qs.filter(transaction_date__gte=data["date_from"])
    if data.get("date_to"):
        qs = qs.filter(transaction_date__lte=data["date_to"])
    if data.get("q"):
        qs = qs.filter(Q(external_id__icontains=data["q"]) | Q(description__icontains=data["q"]))
    return qs


def _transactions_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    bases = sorted(set(Basis.values) | set(Transaction.objects.order_by().values_list("basis", flat=True).distinct()))
    form = TransactionFilterForm(request.GET or None, bases=bases)
    qs = _filtered_transactions(form).order_by("-transaction_date", "-id")
    query = request.GET.copy()
    query.pop("page", None)
    return {"filter_form": form, "page": Paginator(qs, 100).get_page(request.GET.get("page")),
            "import_form": extra.pop("import_form", None)
            or (TransactionImportForm() if can(request, CHANGE) else None),
            "can_change": can(request, CHANGE), "query": query.urlencode(), "tab": "transactions", **extra}


@require_access(RESOURCE)
def transactions(request: HttpRequest) -> HttpResponse:
    """Transactions with filters by basis and date (``?format=csv`` streams what the filters select)."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    if request.GET.get("format") == "csv":
        bases = sorted(set(Basis.values) | set(Transaction.objects.values_list("basis", flat=True).distinct()))
        form = TransactionFilterForm(request.GET, bases=bases)
        return stream_csv_response(queryset=_filtered_transactions(form), columns=TRANSACTION_COLUMNS,
                                   stem="commission transactions")
    return render(request, "commissions/transactions.html", _transactions_context(request))


@require_access(RESOURCE, CHANGE)
def transactions_import(request: HttpRequest) -> HttpResponse:
    """Load a CSV of transactions: every line is checked first; with any error nothing is loaded and each
    failing line is listed with its reasons."""
    if request.method != "POST":
        return redirect("commissions_transactions")
    form = TransactionImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "commissions/transactions.html",
                      _transactions_context(request, import_form=form), status=400)
    try:
        records = csv_records(form.cleaned_data["file"].read().decode("utf-8-sig"))
    except UnicodeDecodeError:
        form.add_error("file", "The file is not UTF-8 text (save it as CSV UTF-8).")
        return render(request, "commissions/transactions.html",
                      _transactions_context(request, import_form=form), status=400)
    try:
        rows, errors = transaction_rows(records)
    except DRFValidationError as exc:  # the file's shape (too many rows)
        form.add_error("file", " ".join(str(m) for msgs in exc.detail.values() for m in msgs))
        return render(request, "commissions/transactions.html",
                      _transactions_context(request, import_form=form), status=400)
    if not records:
        form.add_error("file", "The file has no rows under its header.")
    if errors or not records:
        line_errors = [{"line": e["index"] + 2, "external_id": e["external_id"] or "",
                        "messages": [f"{field}: {' '.join(str(m) for m in msgs)}"
                                     for field, msgs in e["errors"].items()]}
                       for e in errors]
        return render(request, "commissions/transactions.html",
                      _transactions_context(request, import_form=form, line_errors=line_errors,
                                            line_count=len(records)), status=400)
    try:
        counts = transaction_services.transactions_upsert(rows=rows, source="import")
    except ValidationError as exc:
        form.add_error("file", exc.messages)
        return render(request, "commissions/transactions.html",
                      _transactions_context(request, import_form=form), status=400)
    messages.success(request, f"{counts['received']} lines: {counts['inserted']} inserted, {counts['updated']} "
                              f"updated, {counts['unchanged']} unchanged.")
    return redirect("commissions_transactions")


