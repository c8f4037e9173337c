"""REST API of quota management (resource ``quotas``): plans and their lifecycle, allocation, fairness,
reconciliation and attainment; the allocation tree's nodes (overrides, custom bases, bottom-up
submissions, history); seasonality profiles; credited transactions and their bulk upsert.

Every write goes through ``quotas.services`` (audited; a refusal is a 400 with the service's
message). Approving and activating a plan need the approve right (executives and admins); the
other writes the change right (admins, analysts, integrators); everyone with access reads.
Lists and the plan reads export with ``?format=csv|xlsx``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from revops.access import APPROVE, CHANGE
from revops.api.base import ApiViewMixin, CSVRowsParser, query_flag, request_user
from revops.api.serializers import JobSerializer
from revops.models import Account, Person

from . import jobs, selectors, serializers, services
from .models import CreditedTransaction, Quota, QuotaMetric, QuotaPlan, QuotaPlanStatus, SeasonalityProfile

RESOURCE = "quotas"
EDIT_NOTE = ("Only a draft can be changed (400 otherwise): return an approved plan to draft first; an active or "
             "archived plan is kept as it is.")




class PatchOnlyMixin:
    """PATCH without PUT: a plan's or node's fields are changed a few at a time through a service."""

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()  # type: ignore[attr-defined]
        serializer = self.get_serializer(instance, data=request.data, partial=True)  # type: ignore[attr-defined]
        serializer.is_valid(raise_exception=True)
        self.perform_update(serializer)  # type: ignore[attr-defined]
        return Response(serializer.data)


# -- plans -----------------------------------------------------------------------------------------

class PlanFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=QuotaPlanStatus.choices)
    metric = filters.ChoiceFilter(choices=QuotaMetric.choices)

    class Meta:
        model = QuotaPlan
        fields = ["status", "fiscal_year", "metric", "territory_plan"]


@extend_schema_view(
    list=extend_schema(summary="List quota plans", description="Drafts, approved, the active plan per fiscal year "
                       "and metric, and archived ones. `?format=csv|xlsx` exports every row the filters select."),
    retrieve=extend_schema(summary="Read a quota plan"),
    create=extend_schema(
        summary="Create a quota plan (a draft, built and allocated)",
        description="The plan's tree mirrors `territory_plan`'s hierarchy (a company root, then every territory; a "
                    "leaf's rep is the primary covering it on the plan's first day). The fiscal year follows the "
                    "organization's fiscal-year start (FY N ends in calendar year N). Weights not given keep their "
                    "defaults (60% potential, 40% prior year). The answer has the allocation's warnings."),
    partial_update=extend_schema(
        summary="Change a draft's name, target, method weights, seasonality, ramp or outlier band",
        description="A change of a number the allocation uses (target, weights, seasonality, ramp) re-allocates the "
                    "whole plan. `fiscal_year`, `metric`, `custom_metric` and `territory_plan` are fixed. " + EDIT_NOTE),
    destroy=extend_schema(summary="Delete a plan that is not active",
                          responses={204: None, 400: OpenApiResponse(description="The active plan is kept.")}),
)
class PlanViewSet(PatchOnlyMixin, ApiViewMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
                  viewsets.ReadOnlyModelViewSet):
    """Quota plans: a company target for one fiscal year and metric, allocated down a territory hierarchy."""

    access_resource = RESOURCE
    access_actions = {"approve": APPROVE, "activate": APPROVE, "archive": APPROVE, "return_to_draft": CHANGE,
                      "allocate": CHANGE, "attainment_refresh": CHANGE, "recompute": CHANGE}
    queryset = selectors.plans()
    serializer_class = serializers.QuotaPlanSerializer
    filterset_class = PlanFilter
    search_fields = ["name"]
    ordering_fields = ["name", "fiscal_year", "created_at", "id"]

    def perform_create(self, serializer: serializers.QuotaPlanSerializer) -> None:
        data = serializer.validated_data
        with transaction.atomic():
            plan = services.plan_create(**serializers.plan_create_arguments(data), user=request_user(self.request))
        serializer.instance = plan

    def perform_update(self, serializer: serializers.QuotaPlanSerializer) -> None:
        serializer.instance = services.plan_update(plan=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: QuotaPlan) -> None:
        services.plan_delete(plan=instance)

    def _plan_response(self, plan: QuotaPlan) -> Response:
        plan.refresh_from_db()
        return Response(serializers.QuotaPlanSerializer(plan).data)

    @extend_schema(
        summary="Rebuild the tree from the territory plan and re-allocate", request=None,
        responses=serializers.AllocationResultSerializer,
        description="Picks up changes outside the plan: territories added or removed, coverage (reps, new hires' "
                    "ramp), credited transactions (prior-year and trailing-twelve-month bases), and ownership "
                    "changes (relief). Overrides, custom bases and bottom-up submissions of territories that still "
                    "exist are kept. Every level sums to its parent to the cent. " + EDIT_NOTE)
    @action(detail=True, methods=["post"])
    def allocate(self, request: Request, pk: str) -> Response:
        plan = self.get_object()
        summary = services.plan_reallocate(plan=plan)
        return Response(serializers.AllocationResultSerializer(summary).data)

    @extend_schema(summary="Approve a draft (executives and admins)", request=None,
                   responses=serializers.QuotaPlanSerializer,
                   description="Re-allocates once more, then freezes the plan's numbers.")
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        return self._plan_response(services.plan_approve(plan=self.get_object(), user=request_user(request)))

    @extend_schema(summary="Activate an approved plan (executives and admins)", request=None,
                   responses=serializers.QuotaPlanSerializer,
                   description="It becomes the plan attainment is reported against for its fiscal year and metric; "
                               "the previously active one is archived. Attainment is computed at once.")
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str) -> Response:
        return self._plan_response(services.plan_activate(plan=self.get_object(), user=request_user(request)))

    @extend_schema(summary="Archive an approved or active plan (executives and admins)", request=None,
                   responses=serializers.QuotaPlanSerializer,
                   description="For a closed fiscal year: read-only from then on, kept for history and for the "
                               "fairness check's similar-ratio history.")
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str) -> Response:
        return self._plan_response(services.plan_archive(plan=self.get_object()))

    @extend_schema(summary="Send an approved plan (not yet active) back to draft", request=None,
                   responses=serializers.QuotaPlanSerializer)
    @action(detail=True, methods=["post"], url_path="return-to-draft", url_name="return-to-draft")
    def return_to_draft(self, request: Request, pk: str) -> Response:
        return self._plan_response(services.plan_return_to_draft(plan=self.get_object()))

    @extend_schema(
        summary="Recompute a plan in the background (a job)", request=serializers.RecomputeSerializer,
        responses={202: JobSerializer},
        description="What `allocate` and `attainment-refresh` do, as a Celery job with progress (follow it at "
                    "`/api/v1/jobs/{job}/`): a draft's bases, allocation and attainment, or with `attainment_only` "
                    "(the only choice once a plan is approved) its attainment. For plans too big to wait for.")
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser])
    def recompute(self, request: Request, pk: str) -> Response:
        plan = self.get_object()
        body = serializers.RecomputeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = jobs.plan_recompute_start(plan=plan, user=request_user(request),
                                        attainment_only=body.validated_data["attainment_only"])
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Recompute attainment from credited transactions (runs inline)", request=None,
        responses=serializers.AttainmentRefreshSerializer,
        description="Credits the plan metric's transactions of the fiscal year to the leaf whose territory owned "
                    "the account on the transaction date (else the owning rep's leaf; a transaction without an "
                    "account, its person's leaf), and rolls them up. What credits no leaf is counted as "
                    "uncredited. Any plan state.")
    @action(detail=True, methods=["post"], url_path="attainment-refresh", url_name="attainment-refresh")
    def attainment_refresh(self, request: Request, pk: str) -> Response:
        plan = self.get_object()
        summary = services.attainment_refresh(plan=plan)
        return Response(serializers.AttainmentRefreshSerializer(
            {"plan": plan.pk, "attainment_at": plan.attainment_at, **summary}).data)

    @extend_schema(
        summary="Fairness and feasibility checks", responses=serializers.FairnessSerializer,
        description="Quota-to-potential ratio per leaf (quota after ramp and relief / potential); a leaf is "
                    "flagged when its ratio is more than the plan's `outlier_band` from the median, when it has "
                    "quota but no potential, or when its quota exceeds its potential. The Gini coefficient of the "
                    "ratios; for each leaf, the share of last fiscal year's reps at a similar ratio who reached "
                    "quota; warnings when the quotas add to less than the company target or exceed potential. "
                    "`?format=csv|xlsx` exports one row per leaf.")
    @action(detail=True, methods=["get"])
    def fairness(self, request: Request, pk: str) -> Response:
        plan = self.get_object()
        result = selectors.fairness(plan=plan)
        leaves = Quota.objects.filter(plan=plan, is_leaf=True).select_related("person").order_by("code")
        rows = []
        for q in leaves:
            ratio = result.ratios.get(q.pk)
            similar = result.similar.get(q.pk)
            rows.append({
                "quota": q.pk, "code": q.code, "name": q.name, "person": q.person_id,
                "person_name": q.person.full_name if q.person_id else None, "amount": q.amount,
                "potential": q.potential, "ratio": ratio,
                "relative_to_median": ratio / result.median_ratio if ratio is not None and result.median_ratio
                else None,
                "flags": result.flags.get(q.pk, []),
                "similar_attained_share": similar[0] if similar else None,
                "similar_reps": similar[1] if similar else None,
            })
        if self.is_export():
            return Response(serializers.FairnessNodeSerializer(rows, many=True).data)
        data = {"plan": plan.pk, "median_ratio": result.median_ratio, "gini": result.gini, "leaves": result.leaves,
                "flagged": len(result.flags), "outlier_band": plan.outlier_band,
                "prior_plan": result.prior_plan.pk if result.prior_plan else None, "warnings": result.warnings,
                "nodes": rows}
        return Response(serializers.FairnessSerializer(data).data)

    @extend_schema(
        summary="Top-down vs bottom-up per node", responses=serializers.ReconciliationRowSerializer(many=True),
        description="Every node depth-first with its allocated target, the bottom-up number (its own submission, or "
                    "the sum of its children's when every child submitted) and the gap. `?format=csv|xlsx` exports "
                    "the same rows.")
    @action(detail=True, methods=["get"])
    def reconciliation(self, request: Request, pk: str) -> Response:
        plan = self.get_object()
        rows = [{"quota": r["quota"].pk, "parent": r["quota"].parent_id, "code": r["quota"].code,
                 "name": r["quota"].name, "level": r["quota"].level, "depth": r["quota"].depth,
                 "top_down": r["top_down"], "bottom_up": r["bottom_up"], "own_submission": r["own_submission"],
                 "bottom_up_note": r["quota"].bottom_up_note, "gap": r["gap"], "gap_pct": r["gap_pct"]}
                for r in selectors.reconciliation(plan=plan)]
        return Response(serializers.ReconciliationRowSerializer(rows, many=True).data)

    @extend_schema(
        summary="Attainment and pace by node, rep, team or level",
        parameters=[serializers.AttainmentQuerySerializer], responses=serializers.AttainmentSerializer,
        description="Quota (after ramp and relief) and credited actuals for the fiscal year, or one `month`, with "
                    "pace to `as_of`: quota to date counts the elapsed share of the current month by days; actuals "
                    "to date are the credited months up to `as_of`. Actuals are those of the last attainment run "
                    "(`attainment_at`; POST `attainment-refresh` to recompute). `?format=csv|xlsx` exports the rows.")
    @action(detail=True, methods=["get"])
    def attainment(self, request: Request, pk: str) -> Response:
        plan = self.get_object()
        query = serializers.AttainmentQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        month = q.get("month")
        if month is not None:
            month = month.replace(day=1)
            if month not in plan.months:
                raise exceptions.ValidationError({"month": [
                    f"{month:%Y-%m} is not a month of the plan's fiscal year ({plan.effective_from:%Y-%m} to "
                    f"{plan.months[-1]:%Y-%m})."]})
        as_of = q.get("as_of") or timezone.localdate()
        rows = [{"key": r.key, "label": r.label, "level": r.level, "quota": r.quota, "actual": r.actual,
                 "attainment": r.attainment, "quota_to_date": r.quota_to_date, "actual_to_date": r.actual_to_date,
                 "pace": r.pace, "gap": r.gap, "quota_ids": r.quota_ids}
                for r in selectors.attainment(plan=plan, by=q["by"], as_of=as_of, month=month,
                                              quarter=q.get("quarter"))]
        if self.is_export():
            return Response(serializers.AttainmentRowSerializer(rows, many=True).data)
        data = {"plan": plan.pk, "by": q["by"], "as_of": as_of, "month": month, "quarter": q.get("quarter"),
                "attainment_at": plan.attainment_at,
                "rows": rows}
        return Response(serializers.AttainmentSerializer(data).data)

    @extend_schema(summary="Check that every level sums to its parent", responses=serializers.CheckSerializer,
                   description="Every parent's annual target equals its children's, and every month's quota too; "
                               "`problems` names each difference (empty = all good).")
    @action(detail=True, methods=["get"])
    def check(self, request: Request, pk: str) -> Response:
        plan = self.get_object()
        problems = selectors.check_sums(plan=plan)
        return Response(serializers.CheckSerializer({"plan": plan.pk, "ok": not problems, "problems": problems}).data)


# -- nodes -----------------------------------------------------------------------------------------

QUOTA_PATCH_DESCRIPTION = """Change what a manager or analyst may set on a node, each through its service:

- `override`: fix the node's annual target (null releases it); its siblings re-balance around it so
  that they still add to the parent to the cent, and the whole plan is re-phased. Not on the company
  node; overrides under one parent cannot add to more than the parent's target. Drafts only.
- `custom_basis`: the custom allocation field of a leaf (parents are the sums); re-allocates. Drafts only.
- `bottom_up` (+ `bottom_up_note`): a manager's bottom-up submission (null withdraws it); any state
  but archived. It changes no allocation until accepted (`accept-bottom-up`).

Several fields in one request are applied together or not at all. The answer is the node with its months.
"""


class QuotaFilter(filters.FilterSet):
    plan = filters.ModelChoiceFilter(queryset=QuotaPlan.objects.all())
    parent = filters.ModelChoiceFilter(queryset=Quota.objects.all())
    person = filters.ModelChoiceFilter(queryset=Person.objects.all())

    class Meta:
        model = Quota
        fields = ["plan", "parent", "person", "is_leaf", "level", "depth", "code"]


@extend_schema_view(
    list=extend_schema(summary="List quota nodes", description="Filter by `plan` (and `parent`, `is_leaf`, `level`, "
                       "`person`). Annual figures; a node's months are in its detail. `?format=csv|xlsx` exports "
                       "every row the filters select."),
    retrieve=extend_schema(summary="Read a node with its twelve months",
                           responses=serializers.QuotaDetailSerializer),
    partial_update=extend_schema(summary="Set an override, a custom basis or a bottom-up number",
                                 request=serializers.QuotaUpdateSerializer,
                                 responses=serializers.QuotaDetailSerializer, description=QUOTA_PATCH_DESCRIPTION),
)
class QuotaViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """The nodes of a plan's allocation tree: the company, each territory, each leaf and its rep."""

    access_resource = RESOURCE
    access_actions = {"accept_bottom_up": CHANGE}
    queryset = Quota.objects.select_related("person", "plan").order_by("plan", "depth", "code")
    serializer_class = serializers.QuotaSerializer
    filterset_class = QuotaFilter
    search_fields = ["code", "name"]
    ordering_fields = ["code", "depth", "annual", "amount", "actual", "id"]

    def get_queryset(self) -> QuerySet[Quota]:
        qs = super().get_queryset()
        if self.action == "retrieve":
            qs = qs.prefetch_related("months")
        return qs

    def get_serializer_class(self) -> Any:
        return serializers.QuotaDetailSerializer if self.action == "retrieve" else serializers.QuotaSerializer

    def _detail(self, quota: Quota) -> Response:
        fresh = Quota.objects.select_related("person").prefetch_related("months").get(pk=quota.pk)
        return Response(serializers.QuotaDetailSerializer(fresh).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        quota = self.get_object()
        body = serializers.QuotaUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with transaction.atomic():
            if "custom_basis" in data:
                services.quota_custom_basis_set(quota=quota, amount=data["custom_basis"])
                quota.refresh_from_db()
            if "override" in data:
                services.quota_override_set(quota=quota, amount=data["override"])
                quota.refresh_from_db()
            if "bottom_up" in data or "bottom_up_note" in data:
                services.bottom_up_submit(quota=quota, amount=data.get("bottom_up", quota.bottom_up),
                                          note=data.get("bottom_up_note", quota.bottom_up_note), user=request_user(request))
        return self._detail(quota)

    @extend_schema(summary="Accept a node's bottom-up number as its override", request=None,
                   responses=serializers.QuotaDetailSerializer,
                   description="Reconciliation: the submission becomes the node's fixed target and its siblings "
                               "re-balance around it. " + EDIT_NOTE)
    @action(detail=True, methods=["post"], url_path="accept-bottom-up", url_name="accept-bottom-up")
    def accept_bottom_up(self, request: Request, pk: str) -> Response:
        quota = self.get_object()
        services.bottom_up_accept(quota=quota)
        return self._detail(quota)

    @extend_schema(summary="A node's quota history: months and relief in and out",
                   responses=serializers.QuotaHistorySerializer,
                   description="The node's months (allocated, ramp, relief, amount, actual) and every relief row: "
                               "quota that moved out with accounts that left the node, and in with accounts that "
                               "came, prorated by date. `?format=csv|xlsx` exports the months.")
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: str) -> Response:
        quota = self.get_object()
        history = selectors.quota_history(quota=quota)
        if self.is_export():
            return Response(serializers.QuotaMonthSerializer(history["months"], many=True).data)
        return Response(serializers.QuotaHistorySerializer({"quota": quota, **history}).data)


# -- seasonality -----------------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List seasonality profiles"),
    retrieve=extend_schema(summary="Read a seasonality profile"),
    create=extend_schema(summary="Type in a seasonality profile",
                         description="Twelve weights in fiscal-month order, any scale; stored normalised to sum to 1 "
                                     "(six decimals, the largest month takes the rounding)."),
    update=extend_schema(summary="Replace a profile's name and weights",
                         description="Plans using it phase by the new weights the next time they are allocated."),
    partial_update=extend_schema(summary="Change a profile's name or weights",
                                 description="Plans using it phase by the new weights the next time they are "
                                             "allocated."),
    destroy=extend_schema(summary="Delete a profile no plan uses",
                          responses={204: None, 409: OpenApiResponse(description="A plan still uses it.")}),
)
class SeasonalityViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """Monthly phasing profiles: typed in, or learned from credited transactions."""

    access_resource = RESOURCE
    access_actions = {"learn": CHANGE}
    queryset = SeasonalityProfile.objects.all()
    serializer_class = serializers.SeasonalitySerializer
    filterset_fields = ["source"]
    search_fields = ["name"]
    ordering_fields = ["name", "created_at", "id"]

    def perform_create(self, serializer: serializers.SeasonalitySerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.seasonality_save(name=data["name"], weights=data["weights"])

    def perform_update(self, serializer: serializers.SeasonalitySerializer) -> None:
        profile: SeasonalityProfile = serializer.instance
        data = serializer.validated_data
        serializer.instance = services.seasonality_save(name=data.get("name", profile.name),
                                                        weights=data.get("weights", profile.weights), profile=profile)

    @extend_schema(
        summary="Learn a profile from credited transactions", request=serializers.SeasonalityLearnSerializer,
        responses={200: serializers.SeasonalitySerializer, 201: serializers.SeasonalitySerializer},
        description="Each fiscal month's share of its year's credited total of `metric`, averaged over the `years` "
                    "full fiscal years before `fiscal_start` that have any (flat when none has). A profile named "
                    "`name` is replaced (200), else created (201).")
    @action(detail=False, methods=["post"], parser_classes=[JSONParser])
    def learn(self, request: Request) -> Response:
        body = serializers.SeasonalityLearnSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        existed = SeasonalityProfile.objects.filter(name=body.validated_data["name"]).exists()
        profile = services.seasonality_learn(**body.validated_data)
        return Response(serializers.SeasonalitySerializer(profile).data,
                        status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)


# -- credited transactions -------------------------------------------------------------------------

class TransactionFilter(filters.FilterSet):
    metric = filters.CharFilter()
    kind = filters.CharFilter()
    external_id = filters.CharFilter()
    account = filters.ModelChoiceFilter(queryset=Account.objects.all())
    person = filters.ModelChoiceFilter(queryset=Person.objects.all())
    date_from = filters.DateFilter(field_name="transaction_date", lookup_expr="gte", label="On or after this date.")
    date_to = filters.DateFilter(field_name="transaction_date", lookup_expr="lte", label="On or before this date.")

    class Meta:
        model = CreditedTransaction
        fields = ["metric", "kind", "external_id", "account", "person", "date_from", "date_to"]




TRANSACTION_COLUMNS = ["external_id", "metric", "kind", "account", "account_external_id", "person",
                       "person_employee_id", "transaction_date", "amount", "description"]
BULK_LIMIT = 20_000

BULK_DESCRIPTION = f"""Load credited transactions: a JSON array of objects, or a `text/csv` body with a header row
(columns `{"`, `".join(TRANSACTION_COLUMNS)}`), at most {BULK_LIMIT:,} rows.

Each row names what it credits: `account` (id) or `account_external_id`; or, for a transaction
without an account, `person` (id) or `person_employee_id`. Every row is validated first; rows that
fail are reported in `rows` by `index` (0-based; in a CSV, line = index + 2) with their `errors`.
A repeated `metric` + `external_id` in one request fails the later row.

`(metric, external_id)` is the upsert key: a row whose key is stored replaces that transaction
(`updated`), or, when nothing differs, changes nothing (`unchanged`), so re-sending the same rows is
harmless. A row without an `external_id` is inserted every time it is sent.

**Default (`partial`)**: the good rows are loaded (one COPY) and the answer is 200 even when some
failed. **`?all_or_nothing=true`**: nothing is loaded unless every row is good (400 with the report).
When rows changed, the attainment of the active plans of the metrics they carry is recomputed by a
job after commit (see `/api/v1/jobs/`); for other plans POST `plans/{{id}}/attainment-refresh/`.
"""


def _resolve(rows: list[dict[str, Any]]) -> tuple[dict[str, int], dict[str, int]]:
    """Account ids by external id and person ids by employee id, for the keys the rows name."""
    account_keys = {r["account_external_id"] for r in rows if r.get("account_external_id")}
    person_keys = {r["person_employee_id"] for r in rows if r.get("person_employee_id")}
    accounts = dict(Account.objects.filter(external_id__in=account_keys).values_list("external_id", "pk"))
    people = dict(Person.objects.filter(employee_id__in=person_keys).values_list("employee_id", "pk"))
    return accounts, people


def transaction_rows(data: Any) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    """Validate a bulk upsert's rows: (tuples in ``services.TXN_COLUMNS`` order, errors by index)."""
    if not isinstance(data, list):
        raise exceptions.ValidationError({"non_field_errors": ["Expected a JSON array of objects (or a text/csv "
                                                               "body)."]})
    if len(data) > BULK_LIMIT:
        raise exceptions.ValidationError({"non_field_errors": [
            f"At most {BULK_LIMIT:,} rows per request; got {len(data):,}. Send several requests."]})
    errors: list[dict[str, Any]] = []
    valid: list[tuple[int, dict[str, Any]]] = []
    for index, row in enumerate(data):
        if not isinstance(row, Mapping):
            errors.append({"index": index, "external_id": None, "errors": {"non_field_errors": ["Expected an "
                                                                                                "object."]}})
            continue
        body = serializers.TransactionRowSerializer(data=row)
        if body.is_valid():
            valid.append((index, dict(body.validated_data)))
        else:
            errors.append({"index": index, "external_id": row.get("external_id") or None, "errors": body.errors})
    rows = [r for _, r in valid]
    accounts, people = _resolve(rows)
    known_accounts = set(Account.objects.filter(pk__in={r["account"] for r in rows if r.get("account") is not None})
                         .values_list("pk", flat=True))
    known_people = set(Person.objects.filter(pk__in={r["person"] for r in rows if r.get("person") is not None})
                       .values_list("pk", flat=True))
    first: dict[tuple[str, str], int] = {}
    out: list[tuple[Any, ...]] = []
    for index, r in valid:
        problems: dict[str, list[str]] = {}
        account_id = r.get("account")
        if r.get("account_external_id"):
            account_id = accounts.get(r["account_external_id"])
            if account_id is None:
                problems["account_external_id"] = [f"No account has external id {r['account_external_id']!r}."]
        elif account_id is not None and account_id not in known_accounts:
            problems["account"] = [f"No account has id {account_id}."]
        person_id = r.get("person")
        if r.get("person_employee_id"):
            person_id = people.get(r["person_employee_id"])
            if person_id is None:
                problems["person_employee_id"] = [f"No person has employee id {r['person_employee_id']!r}."]
        elif person_id is not None and person_id not in known_people:
            problems["person"] = [f"No person has id {person_id}."]
        key = (r["metric"], r["external_id"].strip())
        if key[1] and key in first:
            problems["external_id"] = [f"Row {first[key]} of this request has the same metric and external_id."]
        elif key[1]:
            first[key] = index
        if problems:
            errors.append({"index": index, "external_id": key[1] or None, "errors": problems})
            continue
        out.append((key[1], r["metric"], r["kind"], account_id, person_id, r["transaction_date"], r["amount"],
                    r.get("description", "")))
    errors.sort(key=lambda e: e["index"])
    return out, errors


@extend_schema_view(
    list=extend_schema(summary="List credited transactions",
                       description="Deals, revenue, collections, referrals and custom metrics that count toward "
                                   "quotas. Filter by `metric`, `kind`, `account`, `person`, `external_id` and "
                                   "`date_from`/`date_to` (inclusive). `?format=csv|xlsx` exports every row the "
                                   "filters select."),
    retrieve=extend_schema(summary="Read a credited transaction"),
)
class TransactionViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Credited transactions: what attainment is measured from (fed by integrators)."""

    access_resource = RESOURCE
    access_actions = {"bulk_upsert": CHANGE}
    queryset = CreditedTransaction.objects.select_related("account", "person")
    serializer_class = serializers.TransactionSerializer
    filterset_class = TransactionFilter
    search_fields = ["external_id", "description"]
    ordering_fields = ["transaction_date", "amount", "id"]

    @extend_schema(
        summary="Create or update many credited transactions (JSON array or CSV)",
        request={"application/json": serializers.TransactionRowSerializer(many=True),
                 "text/csv": {"type": "string", "description": "Header row, then one transaction per line."}},
        responses={200: serializers.TransactionUpsertResultSerializer,
                   400: serializers.TransactionUpsertResultSerializer},
        parameters=[OpenApiParameter("all_or_nothing", OpenApiTypes.BOOL,
                                     description="Load nothing unless every row is good.")],
        description=BULK_DESCRIPTION,
    )
    @action(detail=False, methods=["post"], url_path="bulk-upsert", url_name="bulk-upsert",
            parser_classes=[JSONParser, CSVRowsParser])
    def bulk_upsert(self, request: Request) -> Response:
        strict = query_flag(request, "all_or_nothing")
        rows, errors = transaction_rows(request.data)
        counts = {"received": 0, "inserted": 0, "updated": 0, "unchanged": 0}
        refused = strict and bool(errors)
        if rows and not refused:
            counts = services.transactions_upsert(rows=rows)
        if refused:
            message = f"Nothing was loaded: {len(errors)} of {len(request.data)} rows failed (all_or_nothing)."
        else:
            message = (f"{counts['inserted']} inserted, {counts['updated']} updated, {counts['unchanged']} unchanged "
                       f"(already stored with the same values: re-sending them changes nothing)"
                       + (f"; {len(errors)} rows failed and were not loaded." if errors else "."))
        result = {"mode": "all_or_nothing" if strict else "partial", "total": len(request.data),
                  "failed": len(errors), "loaded": counts["received"], "inserted": counts["inserted"],
                  "updated": counts["updated"], "unchanged": counts["unchanged"], "message": message, "rows": errors}
        return Response(serializers.TransactionUpsertResultSerializer(result).data,
                        status=status.HTTP_400_BAD_REQUEST if refused else status.HTTP_200_OK)


router = SimpleRouter()
router.include_format_suffixes = False  # exports use ?format=csv
router.register("plans", PlanViewSet, basename="api-quotas-plan")
router.register("quotas", QuotaViewSet, basename="api-quotas-quota")
router.register("seasonality", SeasonalityViewSet, basename="api-quotas-seasonality")
router.register("transactions", TransactionViewSet, basename="api-quotas-transaction")

urlpatterns = router.urls
