"""REST API of commission transactions, periods, runs, line items and statements.

Resource ``commissions`` (admins, executives, analysts and integrators read; admins, analysts and integrators
load transactions and start runs; executives and admins lock periods) and ``commission_statements`` (a rep
reads only the statements of the person linked to their membership, anyone else's is a 404; executives
approve as manager, admins as finance; integrators have no statements). Every write goes through
``commissions.services``; a refusal is a 400 with the service's message. Lists export with ``?format=csv|xlsx``.
"""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from revops.access import APPROVE, CHANGE
from revops.api.base import ApiViewMixin, CSVRowsParser, query_flag, request_user

from ..models import CommissionPeriod, CommissionRun, LineItem, PeriodStatus, RunStatus, Statement, Transaction
from ..selectors import runs as reads
from ..services import runs as run_services
from ..services import statements as statement_services
from ..services import transactions as transaction_services
from . import run_serializers as s

RESOURCE = "commissions"
STATEMENTS = "commission_statements"


def acting_person_id(request: Request) -> int | None:
    """The person linked to the request's membership (None for API keys and unlinked users)."""
    membership = getattr(request, "membership", None)
    return getattr(membership, "person_id", None)


# -- transactions ------------------------------------------------------------------------------------

class TransactionFilter(filters.FilterSet):
    basis = filters.CharFilter()
    external_id = filters.CharFilter()
    date_from = filters.DateFilter(field_name="transaction_date", lookup_expr="gte")
    date_to = filters.DateFilter(field_name="transaction_date", lookup_expr="lte")
    account = filters.NumberFilter(field_name="account_id")
    person = filters.NumberFilter(field_name="person_id")
    source = filters.CharFilter()
    reversals = filters.BooleanFilter(field_name="reverses", lookup_expr="isnull", exclude=True,
                                      label="Only reversals (true) or only originals (false).")

    class Meta:
        model = Transaction
        fields = ["basis", "external_id", "account", "person", "source"]


BULK_DESCRIPTION = f"""Load commission transactions: `{{"rows": [...]}}` (or a bare JSON array, or a `text/csv` body
with a header row), at most {s.BULK_LIMIT:,} rows. Each row is an object: `external_id`, `basis`, `account` (id) or
`account_external_id`, or for a transaction without an account `person` (id) or `person_employee_id`;
`service_line` (code or id), `transaction_date`, `amount` (negative for a reversal), `description`,
`reverses_external_id` (the original's external id, same basis) and `reversal_reason`.

`(basis, external_id)` is the upsert key: re-sending the same rows changes nothing (`unchanged`). Rows that
fail validation are reported by `index` (0-based) with their `errors`. **Default (`partial`)**: the good rows
are loaded (one COPY); **`?all_or_nothing=true`**: nothing is loaded unless every row is good (400). A refusal
of the whole load (a reversal of a transaction not on file) is a 400 and loads nothing.
"""


@extend_schema_view(
    list=extend_schema(summary="List commission transactions",
                       description="Filter by `basis`, `external_id`, `account`, `person`, `source`, `reversals` and "
                                   "`date_from`/`date_to` (inclusive). `?format=csv|xlsx` exports every row the "
                                   "filters select."),
    retrieve=extend_schema(summary="Read a transaction with its splits"),
)
class TransactionViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Commission transactions (what pays) and their splits, fed by integrators."""

    access_resource = RESOURCE
    access_actions = {"bulk_upsert": CHANGE, "splits": CHANGE}
    queryset = (Transaction.objects.select_related("account", "person", "service_line", "reverses")
                .prefetch_related("splits__person").order_by("-transaction_date", "-id"))
    serializer_class = s.CommissionTransactionSerializer
    filterset_class = TransactionFilter
    search_fields = ["external_id", "description"]
    ordering_fields = ["transaction_date", "amount", "id", "external_id"]

    @extend_schema(
        summary="Create or update many transactions", description=BULK_DESCRIPTION,
        request={"application/json": s.CommissionTransactionUpsertRequestSerializer,
                 "text/csv": {"type": "string", "description": "Header row, then one transaction per line."}},
        responses={200: s.CommissionTransactionUpsertResultSerializer,
                   400: s.CommissionTransactionUpsertResultSerializer},
        parameters=[OpenApiParameter("all_or_nothing", OpenApiTypes.BOOL,
                                     description="Load nothing unless every row is good.")],
    )
    @action(detail=False, methods=["post"], url_path="bulk-upsert", url_name="bulk-upsert",
            parser_classes=[JSONParser, CSVRowsParser])
    def bulk_upsert(self, request: Request) -> Response:
        strict = query_flag(request, "all_or_nothing")
        rows, errors = s.transaction_rows(request.data)
        total = len(rows) + len(errors)
        counts = {"received": 0, "inserted": 0, "updated": 0, "unchanged": 0, "reversals_linked": 0}
        refused = strict and bool(errors)
        if rows and not refused:
            counts = transaction_services.transactions_upsert(rows=rows, source="api")
        if refused:
            message = f"Nothing was loaded: {len(errors)} of {total} rows failed (all_or_nothing)."
        else:
            message = (f"{counts['inserted']} inserted, {counts['updated']} updated, {counts['unchanged']} unchanged"
                       + (f"; {len(errors)} rows failed and were not loaded." if errors else "."))
        result = {"mode": "all_or_nothing" if strict else "partial", "total": total, "failed": len(errors),
                  "loaded": counts["received"], "inserted": counts["inserted"], "updated": counts["updated"],
                  "unchanged": counts["unchanged"], "reversals_linked": counts.get("reversals_linked", 0),
                  "message": message, "rows": errors}
        return Response(s.CommissionTransactionUpsertResultSerializer(result).data,
                        status=status.HTTP_400_BAD_REQUEST if refused else status.HTTP_200_OK)

    @extend_schema(
        summary="Replace the splits of transactions", request=s.CommissionSplitsRequestSerializer,
        responses=s.CommissionSplitsResultSerializer,
        description="`{\"rows\": [{\"external_id\", \"basis\", \"person\" (id) or \"person_employee_id\", "
                    "\"share\"}]}`. Each named transaction's splits are replaced by the rows naming it; its shares "
                    "must add up to exactly 1. Splits replace owner crediting (docs/commissions.md).")
    @action(detail=False, methods=["post"], url_path="splits", url_name="splits")
    def splits(self, request: Request) -> Response:
        body = s.CommissionSplitsRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        counts = transaction_services.splits_replace(rows=s.split_rows(body.validated_data["rows"]))
        return Response(s.CommissionSplitsResultSerializer(counts).data)


# -- periods and runs ------------------------------------------------------------------------------

class PeriodFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=PeriodStatus.choices)

    class Meta:
        model = CommissionPeriod
        fields = ["status"]


@extend_schema_view(
    list=extend_schema(summary="List commission periods"),
    retrieve=extend_schema(summary="Read a period"),
    create=extend_schema(summary="Open a period (idempotent)",
                         description="The period starting on `start` (a calendar month unless `end` says "
                                     "otherwise). When one starts on that day it is returned as it is (200)."),
)
class PeriodViewSet(ApiViewMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Commission periods: run them, lock (approve) them, mark them paid, export their payroll."""

    access_resource = RESOURCE
    access_actions = {"approve": APPROVE, "mark_paid": APPROVE}
    queryset = CommissionPeriod.objects.select_related("approved_by").order_by("-start")
    serializer_class = s.CommissionPeriodSerializer
    filterset_class = PeriodFilter
    ordering_fields = ["start", "id"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.CommissionPeriodSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        existed = CommissionPeriod.objects.filter(start=data["start"]).exists()
        period = run_services.period_ensure(start=data["start"], end=data.get("end"), name=data.get("name") or "")
        return Response(s.CommissionPeriodSerializer(period).data,
                        status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)

    @extend_schema(summary="Approve (lock) a period (executives and admins)", request=None,
                   responses=s.CommissionPeriodSerializer,
                   description="Its current run becomes final; later changes to its inputs arrive as adjustment "
                               "lines in the earliest open period.")
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        period = run_services.period_approve(period=self.get_object(), user=request_user(request))
        return Response(s.CommissionPeriodSerializer(period).data)

    @extend_schema(summary="Mark an approved period paid (executives and admins)", request=None,
                   responses=s.CommissionPeriodSerializer)
    @action(detail=True, methods=["post"], url_path="mark-paid", url_name="mark-paid")
    def mark_paid(self, request: Request, pk: str) -> Response:
        period = run_services.period_mark_paid(period=self.get_object())
        return Response(s.CommissionPeriodSerializer(period).data)

    @extend_schema(
        methods=["GET"], summary="The period's runs, newest first", responses=s.CommissionRunSerializer(many=True))
    @extend_schema(
        methods=["POST"], summary="Start a run of an open period (a job)", request=None,
        responses={202: s.CommissionRunSerializer,
                   400: OpenApiResponse(description="Locked, or a run is already queued or running.")},
        description="Queues a Celery job that computes the period from today's inputs in one transaction; follow it "
                    "at `/api/v1/jobs/{job.id}/` or `runs/{id}/`. The run becomes the period's current one when it "
                    "commits.")
    @action(detail=True, methods=["get", "post"])
    def runs(self, request: Request, pk: str) -> Response:
        period = self.get_object()
        if request.method == "POST":
            run = run_services.run_start(period=period, user=request_user(request))
            run = CommissionRun.objects.select_related("job", "period", "created_by").get(pk=run.pk)
            return Response(s.CommissionRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
        runs = reads.period_runs(period).select_related("period")
        return Response(s.CommissionRunSerializer(runs, many=True).data)

    @extend_schema(summary="Payroll rows of finance-approved statements",
                   responses=s.CommissionPayrollRowSerializer(many=True),
                   description="Only for an approved (locked) or paid period. `?format=csv|xlsx` downloads it.")
    @action(detail=True, methods=["get"])
    def payroll(self, request: Request, pk: str) -> Response:
        period = self.get_object()
        rows = statement_services.payroll_rows(period=period)
        data = [dict(zip(statement_services.PAYROLL_COLUMNS, row, strict=True)) for row in rows]
        return Response(s.CommissionPayrollRowSerializer(data, many=True).data)


class RunFilter(filters.FilterSet):
    period = filters.NumberFilter(field_name="period_id")
    status = filters.ChoiceFilter(choices=RunStatus.choices)

    class Meta:
        model = CommissionRun
        fields = ["period", "status"]


@extend_schema_view(list=extend_schema(summary="List commission runs"), retrieve=extend_schema(summary="Read a run"))
class RunViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Runs of commission periods: status, job, totals and digests of inputs and results."""

    access_resource = RESOURCE
    queryset = CommissionRun.objects.select_related("job", "period", "created_by").order_by("-created_at", "-id")
    serializer_class = s.CommissionRunSerializer
    filterset_class = RunFilter
    ordering_fields = ["created_at", "id"]


# -- lines -------------------------------------------------------------------------------------------

class LinePagination(LimitOffsetPagination):
    """Offsets over line items, counted on the plain rows (``known_count``) rather than the windowed query."""

    known_count: int | None = None

    def get_count(self, queryset: Any) -> int:
        return self.known_count if self.known_count is not None else super().get_count(queryset)


class ExplainedLinesMixin:
    """Lists of line items as explained dicts: the page is read first, then explained in a few queries."""

    request: Request
    pagination_class = LinePagination

    def explained_response(self, lines: QuerySet[LineItem], *, subject: str, count: int) -> Response:
        values = lines.values(*reads.LINE_FIELDS, *reads.CREDIT_FIELDS)
        self.paginator.known_count = count  # type: ignore[attr-defined]
        page = self.paginate_queryset(values)  # type: ignore[attr-defined]
        rows = reads.explained(list(page if page is not None else values), subject=subject)
        data = s.CommissionLineSerializer(rows, many=True).data
        if page is not None:
            return self.get_paginated_response(data)  # type: ignore[attr-defined]
        return Response(data)


@extend_schema_view(list=extend_schema(
    summary="List line items with their explanations",
    parameters=[OpenApiParameter("run", OpenApiTypes.INT, description="A run's lines."),
                OpenApiParameter("period", OpenApiTypes.INT, description="The lines of the period's current run."),
                OpenApiParameter("person", OpenApiTypes.INT, description="One person's lines."),
                OpenApiParameter("kind", OpenApiTypes.STR, description="commission, bonus, spiff, clawback, cap, "
                                 "release, adjustment, manual.")],
    responses=s.CommissionLineSerializer(many=True),
    description="Every amount traced: transaction, credit (role, rule, share), component and plan version, tier and "
                "rate, attainment before and after, held part, notes, and `explanation` in plain language. Give "
                "`run` or `period`. `?format=csv|xlsx` exports every selected line."))
class LineViewSet(ApiViewMixin, ExplainedLinesMixin, viewsets.GenericViewSet):
    access_resource = RESOURCE
    queryset = LineItem.objects.all()
    serializer_class = s.CommissionLineSerializer
    filter_backends: list[Any] = []

    def list(self, request: Request) -> Response:
        params = request.query_params
        try:
            run_id = int(params["run"]) if params.get("run") else None
            period_id = int(params["period"]) if params.get("period") else None
            person_id = int(params["person"]) if params.get("person") else None
        except ValueError:
            raise exceptions.ValidationError({"run": ["run, period and person are ids."]}) from None
        if run_id is None and period_id is None:
            raise exceptions.ValidationError({"run": ["Give run (a run's id) or period (its current run's lines)."]})
        if run_id is not None:
            run = get_object_or_404(CommissionRun, pk=run_id)
        else:
            period = get_object_or_404(CommissionPeriod, pk=period_id)
            if period.current_run_id is None:
                return Response([] if self.is_export() else {"count": 0, "next": None, "previous": None,
                                                              "results": []})
            run = period.current_run
        lines = reads.lines_queryset(run_id=run.pk, person_id=person_id)
        count = reads.lines_count(run_id=run.pk, person_id=person_id, kind=params.get("kind") or None)
        if params.get("kind"):
            lines = lines.filter(kind=params["kind"])
        return self.explained_response(lines, subject="the person", count=count)


# -- statements --------------------------------------------------------------------------------------

class StatementFilter(filters.FilterSet):
    period = filters.NumberFilter(field_name="period_id")
    person = filters.NumberFilter(field_name="person_id")
    status = filters.CharFilter()

    class Meta:
        model = Statement
        fields = ["period", "person", "status"]


@extend_schema_view(
    list=extend_schema(summary="List statements", description="A rep sees only their own (the person linked to "
                       "their membership). Filter by `period`, `person`, `status`. `?format=csv|xlsx` exports."),
    retrieve=extend_schema(summary="Read a statement"),
)
class StatementViewSet(ApiViewMixin, ExplainedLinesMixin, viewsets.ReadOnlyModelViewSet):
    """Each person's pay for a period, from its current run: earned, adjustments, holds, draws, payout."""

    access_resource = STATEMENTS
    access_actions = {"approve": APPROVE}
    queryset = Statement.objects.select_related("person", "period", "manager_approved_by", "finance_approved_by")
    serializer_class = s.CommissionStatementSerializer
    filterset_class = StatementFilter
    ordering_fields = ["period__start", "payout", "id"]

    def get_queryset(self) -> QuerySet[Statement]:
        readable = reads.statements_readable(role=getattr(self.request, "role", None),
                                             person_id=acting_person_id(self.request))
        return readable.select_related("manager_approved_by", "finance_approved_by").order_by("-period__start",
                                                                                              "person__last_name")

    @extend_schema(summary="The statement's lines with explanations", responses=s.CommissionLineSerializer(many=True),
                   description="Paginated (`limit`/`offset`); `?format=csv|xlsx` exports all of them.")
    @action(detail=True, methods=["get"])
    def lines(self, request: Request, pk: str) -> Response:
        statement = self.get_object()
        if statement.run_id is None:
            return Response([] if self.is_export() else {"count": 0, "next": None, "previous": None, "results": []})
        person = acting_person_id(request)
        subject = "you" if person == statement.person_id else statement.person.full_name
        return self.explained_response(reads.lines_queryset(run_id=statement.run_id, person_id=statement.person_id),
                                       subject=subject,
                                       count=reads.lines_count(run_id=statement.run_id, person_id=statement.person_id))

    @extend_schema(summary="Approve a statement (executives as manager, then admins as finance)", request=None,
                   responses={200: s.CommissionStatementSerializer,
                              400: OpenApiResponse(description="Out of order, or the approver's own.")})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        statement = self.get_object()
        as_finance, refusal = reads.statement_approval(role=getattr(request, "role", None),
                                                       person_id=acting_person_id(request), statement=statement)
        if refusal:
            raise exceptions.ValidationError({"non_field_errors": [refusal]})
        statement = statement_services.statement_approve(statement=statement, user=request_user(request),
                                                         as_finance=as_finance)
        return Response(s.CommissionStatementSerializer(self.get_queryset().get(pk=statement.pk)).data)


router = SimpleRouter()
router.include_format_suffixes = False  # exports use ?format=csv
router.register("transactions", TransactionViewSet, basename="api-commissions-transaction")
router.register("periods", PeriodViewSet, basename="api-commissions-period")
router.register("runs", RunViewSet, basename="api-commissions-run")
router.register("lines", LineViewSet, basename="api-commissions-line")
router.register("statements", StatementViewSet, basename="api-commissions-statement")

urlpatterns = router.urls

__all__ = ["urlpatterns"]
