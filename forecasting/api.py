"""REST API of forecasting: stages, opportunities (and their bulk upsert by external id, and history),
periods (and closing one), calls (and submitting one), the roll-up of a manager's organization, forecast
runs and their values, and the accuracy leaderboard and trend.

Resources: ``forecasting`` (everyone in sales reads; admins, analysts and integrators write) and
``forecast_calls`` for calls and the roll-up (reps and executives submit only for the person linked
to their membership and the people under them; admins and analysts on anyone's behalf: a call
outside that reach is a 403 that says why). Every write goes through ``forecasting.services`` (a
refusal is a 400 with the service's message). Lists export with ``?format=csv|xlsx``.
"""
from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework import serializers as drf_serializers
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from revops.access import CHANGE
from revops.api.base import ApiViewMixin, CSVRowsParser, query_flag, request_user
from revops.models import Account, Person, ServiceLine

from . import selectors, serializers, services
from .imports import MAX_ROWS, OpportunityFileError, opportunities_load
from .models import (
    CallKind,
    ForecastCall,
    ForecastCategory,
    ForecastPeriod,
    ForecastRun,
    ForecastValue,
    Opportunity,
    RunStatus,
    Stage,
)
from .views.common import (
    CALLS,
    RESOURCE,
    acting_person,
    default_period,
    readable_people,
    readable_values,
    run_start,
    submission_refusal,
)
from .selectors.pipeline import rollup_rows, team_numbers




# -- stages ----------------------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List pipeline stages", description="In order; won and lost stages close an "
                       "opportunity. `?format=csv|xlsx` exports them."),
    retrieve=extend_schema(summary="Read a stage"),
    create=extend_schema(summary="Add a stage",
                         description="`default_probability` (0-1) is used only until the organization has enough "
                                     "closed history through the stage to learn its conversion rate."),
    update=extend_schema(summary="Replace a stage"),
    partial_update=extend_schema(summary="Change a stage's name, order, won/lost flag or default probability"),
    destroy=extend_schema(summary="Delete a stage no opportunity uses",
                          responses={204: None, 409: OpenApiResponse(description="Opportunities (or their history) "
                                                                                 "still use it.")}),
)
class StageViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """The organization's sales stages."""

    access_resource = RESOURCE
    queryset = Stage.objects.all()
    serializer_class = serializers.StageSerializer
    search_fields = ["name"]
    ordering_fields = ["order", "name", "id"]
    filterset_fields = ["is_won", "is_lost"]


# -- opportunities ---------------------------------------------------------------------------------

class OpportunityFilter(filters.FilterSet):
    owner = filters.ModelChoiceFilter(queryset=Person.objects.all())
    stage = filters.ModelChoiceFilter(queryset=Stage.objects.all())
    account = filters.ModelChoiceFilter(queryset=Account.objects.all())
    service_line = filters.ModelChoiceFilter(queryset=ServiceLine.objects.all())
    category = filters.ChoiceFilter(choices=ForecastCategory.choices)
    state = filters.ChoiceFilter(choices=[("open", "Open"), ("won", "Won"), ("lost", "Lost")], method="filter_state",
                                 label="open, won or lost")
    close_from = filters.DateFilter(field_name="expected_close", lookup_expr="gte",
                                    label="Expected to close on or after this date.")
    close_to = filters.DateFilter(field_name="expected_close", lookup_expr="lte",
                                  label="Expected to close on or before this date.")

    class Meta:
        model = Opportunity
        fields = ["external_id", "owner", "stage", "account", "service_line", "category", "state", "close_from",
                  "close_to"]

    def filter_state(self, queryset: QuerySet[Opportunity], name: str, value: str) -> QuerySet[Opportunity]:
        if value == "open":
            return queryset.filter(is_won=False, is_lost=False)
        return queryset.filter(**{f"is_{value}": True})




BULK_DESCRIPTION = f"""Create or update opportunities by `external_id` (the CRM's id): a JSON array of objects,
or a `text/csv` body with a header row, at most {MAX_ROWS:,} rows.

Each row names its owner by `owner` (person id) or `owner_employee_id`, its stage by `stage` (id) or
`stage_name`, and optionally its account (`account` or `account_external_id`) and service line
(`service_line` or `service_line_code`). `changed_on` is the day the row describes (the CRM's
last-modified date, default today): a change of stage, amount, expected close or category appends a
history row from that day (from which conversion rates and cycle times are learned); reaching a won
or lost stage closes the opportunity. Every row is checked first; rows that fail are reported in
`rows` by `index` (0-based; in a CSV, line = index + 2) with their `errors`. A repeated `external_id`
fails the later row.

Re-sending the same rows changes nothing (`unchanged`, no history). **Default (`partial`)**: the good
rows are loaded (one COPY), 200 even when some failed. **`?all_or_nothing=true`**: nothing is loaded
unless every row is good (400 with the report).
"""


@extend_schema_view(
    list=extend_schema(summary="List opportunities",
                       description="Filter by `owner`, `stage`, `account`, `service_line`, `category`, `state` "
                                   "(open, won, lost), `external_id` and `close_from`/`close_to` (inclusive). A rep "
                                   "sees their own and their reports' opportunities. `?format=csv|xlsx` exports "
                                   "every row the filters select."),
    retrieve=extend_schema(summary="Read an opportunity"),
)
class OpportunityViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Deals, referral relationships or contracts being won, synced from the CRM."""

    access_resource = RESOURCE
    access_actions = {"bulk_upsert": CHANGE}
    queryset = Opportunity.objects.select_related("owner", "stage", "account", "service_line")
    serializer_class = serializers.OpportunitySerializer
    filterset_class = OpportunityFilter
    search_fields = ["name", "external_id"]
    ordering_fields = ["expected_close", "amount", "name", "updated_at", "id"]

    def get_queryset(self) -> QuerySet[Opportunity]:
        qs = super().get_queryset()
        people = readable_people(self.request, timezone.localdate())
        return qs if people is None else qs.filter(owner_id__in=people)

    @extend_schema(
        summary="Create or update many opportunities by external id (JSON array or CSV)",
        request={"application/json": serializers.OpportunityRowSerializer(many=True),
                 "text/csv": {"type": "string", "description": "Header row, then one opportunity per line."}},
        responses={200: serializers.OpportunityUpsertResultSerializer,
                   400: serializers.OpportunityUpsertResultSerializer},
        parameters=[OpenApiParameter("all_or_nothing", OpenApiTypes.BOOL,
                                     description="Load nothing unless every row is good.")],
        description=BULK_DESCRIPTION,
    )
    @action(detail=False, methods=["post"], url_path="bulk-upsert", url_name="bulk-upsert",
            parser_classes=[JSONParser, CSVRowsParser])
    def bulk_upsert(self, request: Request) -> Response:
        try:
            result = opportunities_load(data=request.data, all_or_nothing=query_flag(request, "all_or_nothing"))
        except OpportunityFileError as exc:
            raise exceptions.ValidationError({"non_field_errors": [str(exc)]}) from None
        refused = result.pop("refused")
        return Response(serializers.OpportunityUpsertResultSerializer(result).data,
                        status=status.HTTP_400_BAD_REQUEST if refused else status.HTTP_200_OK)

    @extend_schema(summary="An opportunity's history", responses=serializers.OpportunityHistorySerializer(many=True),
                   description="What the opportunity looked like from each `valid_from` on (stage, amount, expected "
                               "close, category), oldest first. `?format=csv|xlsx` exports it.")
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: str) -> Response:
        opportunity = self.get_object()
        rows = opportunity.history.select_related("stage").order_by("valid_from", "id")
        return Response(serializers.OpportunityHistorySerializer(rows, many=True).data)


# -- periods ---------------------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List forecast periods", description="Newest first. `?format=csv|xlsx` exports."),
    retrieve=extend_schema(summary="Read a period"),
    create=extend_schema(summary="Open a period (or read the one that exists)",
                         request=serializers.PeriodCreateSerializer,
                         responses={201: serializers.PeriodSerializer, 200: serializers.PeriodSerializer},
                         description="The month (or quarter) starting on the 1st of `start`'s month; calls are due "
                                     "by `deadline` (default the 8th). When the period exists it is returned as it "
                                     "is (200)."),
)
class PeriodViewSet(ApiViewMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Months or quarters that collect calls, and are scored when closed."""

    access_resource = RESOURCE
    access_actions = {"close": CHANGE}
    queryset = ForecastPeriod.objects.all()
    serializer_class = serializers.PeriodSerializer
    filterset_fields = ["kind"]
    ordering_fields = ["start", "id"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = serializers.PeriodCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        start = data["start"].replace(day=1)
        existed = ForecastPeriod.objects.filter(kind=data["kind"], start=start).exists()
        period = services.period_ensure(start=start, kind=data["kind"], deadline=data.get("deadline"))
        return Response(serializers.PeriodSerializer(period).data,
                        status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)

    @extend_schema(summary="Close a period and score every forecast of it", request=None,
                   responses=serializers.PeriodCloseSerializer,
                   description="Scores each rep's latest call per category submitted before the period ended, "
                               "each manager's team number, and every model's forecast of the period's months from "
                               "runs made before it started, against the closed-won bookings. Calls are final "
                               "afterwards. A closed period answers 400.")
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str) -> Response:
        period = self.get_object()
        result = services.period_close(period=period)
        period.refresh_from_db()
        return Response(serializers.PeriodCloseSerializer({"period": period.pk, "closed_at": period.closed_at,
                                                           **result}).data)


# -- calls -----------------------------------------------------------------------------------------

class CallFilter(filters.FilterSet):
    period = filters.ModelChoiceFilter(queryset=ForecastPeriod.objects.all())
    person = filters.ModelChoiceFilter(queryset=Person.objects.all(), label="Whose number (the rep, or the "
                                       "manager adjusting).")
    subject = filters.ModelChoiceFilter(queryset=Person.objects.all(), label="The report a manager adjusted.")
    kind = filters.ChoiceFilter(choices=CallKind.choices)
    category = filters.ChoiceFilter(choices=serializers.CALL_CATEGORY_CHOICES)
    latest = filters.BooleanFilter(method="filter_latest", label="Only the current call per period, person, subject, "
                                   "kind and category (the latest submission).")

    class Meta:
        model = ForecastCall
        fields = ["period", "person", "subject", "kind", "category", "is_late", "latest"]

    def filter_latest(self, queryset: QuerySet[ForecastCall], name: str, value: bool) -> QuerySet[ForecastCall]:
        if not value:
            return queryset
        keys = ("period_id", "person_id", "subject_id", "kind", "category")
        latest = ForecastCall.objects.order_by(*keys, "-submitted_at", "-id").distinct(*keys).values("id")
        return queryset.filter(id__in=latest)


SUBMIT_DESCRIPTION = """Record a call: a rep's own number for a category (`kind` `rep`), or a manager's
adjusted number (`kind` `manager`) for one report (`subject`) or, without `subject`, for their whole
team. Nothing is overwritten: every submission is kept and the latest counts; a manager's adjustment
sits beside the rep's own call. A call after the period's deadline is marked late; a closed period
refuses calls (400).

**Whose calls you may submit**: admins and analysts on anyone's behalf. Reps and executives only for
the person linked to their membership and the people under them on the period's first day, otherwise
403 with the reason (an unlinked user is told to have their membership linked to their person)."""


@extend_schema_view(
    list=extend_schema(summary="List calls",
                       description="Filter by `period`, `person`, `subject`, `kind`, `category`, `is_late`; "
                                   "`latest=true` keeps only the current call of each. Reps see their own and their "
                                   "reports' calls. `?format=csv|xlsx` exports every row the filters select."),
    retrieve=extend_schema(summary="Read a call"),
    create=extend_schema(summary="Submit a call or a manager's adjustment", request=serializers.CallSubmitSerializer,
                         responses={201: serializers.CallSerializer,
                                    403: OpenApiResponse(description="Not yours to submit.")},
                         description=SUBMIT_DESCRIPTION),
)
class CallViewSet(ApiViewMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Every submission of a period's calls, reps' and managers'."""

    access_resource = CALLS
    queryset = ForecastCall.objects.select_related("person", "subject", "submitted_by")
    serializer_class = serializers.CallSerializer
    filterset_class = CallFilter
    ordering_fields = ["submitted_at", "amount", "id"]
    ordering = ["-submitted_at", "-id"]

    def get_queryset(self) -> QuerySet[ForecastCall]:
        qs = super().get_queryset()
        people = readable_people(self.request, timezone.localdate())
        return qs if people is None else qs.filter(person_id__in=people)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = serializers.CallSubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        refusal = submission_refusal(request, period=data["period"], person=data["person"])
        if refusal:
            raise exceptions.PermissionDenied(refusal)
        call = services.call_submit(period=data["period"], person=data["person"], category=data["category"],
                                    amount=data["amount"], user=request_user(request), kind=data["kind"],
                                    subject=data.get("subject"), note=data.get("note", ""))
        return Response(serializers.CallSerializer(call).data, status=status.HTTP_201_CREATED)


class RollupViewSet(ApiViewMixin, viewsets.GenericViewSet):
    """A manager's organization on the period's first day with every call in it."""

    access_resource = CALLS
    serializer_class = serializers.RollupNodeSerializer
    filter_backends: list[Any] = []
    pagination_class = None

    def export_fields(self) -> dict[str, Any]:
        return dict(serializers.RollupNodeSerializer().fields)

    @extend_schema(
        summary="The roll-up of a manager's calls", parameters=[serializers.RollupQuerySerializer],
        responses=serializers.RollupSerializer,
        description="Depth-first, one node per person under `manager`: their own latest call, their manager's "
                    "adjustment of it, their own team-level call, their team number (the team call if made, else "
                    "own call + each report's number as adjusted) and what counts upward (the adjustment if any), "
                    "for commit, best case and pipeline. Nothing overwrites anything. Reps may roll up only "
                    "themselves and the people under them (403 otherwise). `?format=csv|xlsx` exports the nodes.")
    def list(self, request: Request) -> Response:
        query = serializers.RollupQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        if "period" in q:
            period = ForecastPeriod.objects.filter(pk=q["period"]).first()
            if period is None:
                raise exceptions.NotFound("No such period.")
        else:
            period = default_period()
            if period is None:
                raise exceptions.ValidationError({"period": ["No forecast period yet: open one first."]})
        if "manager" in q:
            manager = Person.objects.filter(pk=q["manager"]).first()
            if manager is None:
                raise exceptions.NotFound("No such person.")
        else:
            people = readable_people(request, period.start)
            tops = selectors.top_managers(on=period.start) if people is None else []
            manager = acting_person(request) or (tops[0] if tops else None)
            if manager is None:
                raise exceptions.ValidationError({"manager": ["Give the manager (person id) to roll up."]})
        people = readable_people(request, period.start)
        if people is not None and manager.pk not in people:
            raise exceptions.PermissionDenied(f"You may roll up only yourself and the people under you; {manager} "
                                              "is not one of them.")
        tree = selectors.rollup(period=period, manager=manager)
        nodes = rollup_rows(tree)
        if self.is_export():
            return Response(serializers.RollupNodeSerializer(nodes, many=True).data)
        return Response(serializers.RollupSerializer({"period": period.pk, "manager": manager.pk,
                                                      "team": team_numbers(tree), "nodes": nodes}).data)


# -- runs ------------------------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List forecast runs", description="Newest first; filter by `kind` and `status`. "
                       "`?format=csv|xlsx` exports."),
    retrieve=extend_schema(summary="Read a run (with its summary: for the weighted pipeline, the learned "
                                   "conversion table)"),
    create=extend_schema(summary="Start a run", request=serializers.RunCreateSerializer,
                         responses={201: serializers.RunSerializer, 202: serializers.RunSerializer},
                         description="`pipeline`: the weighted pipeline as of `as_of` by month for `horizon` months, "
                                     "per company, rep and service line, computed at once (201). `time_series` and "
                                     "`cash` start a job (202; follow `job` at `/api/v1/jobs/{id}/`) when this "
                                     "installation has them, else 400."),
)
class RunViewSet(ApiViewMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Forecast runs: weighted pipeline, time series and cash."""

    access_resource = RESOURCE
    queryset = (ForecastRun.objects.select_related("job").annotate(values_count=Count("values"))
                .order_by("-created_at", "-id"))
    serializer_class = serializers.RunSerializer
    filterset_fields = ["kind", "status"]
    ordering_fields = ["created_at", "as_of", "id"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = serializers.RunCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        run = run_start(kind=data["kind"], as_of=data.get("as_of") or timezone.localdate(), horizon=data["horizon"],
                        user=request_user(request))
        run = self.get_queryset().get(pk=run.pk)
        done = run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)
        return Response(serializers.RunSerializer(run).data,
                        status=status.HTTP_201_CREATED if done else status.HTTP_202_ACCEPTED)

    @extend_schema(summary="A run's forecast values", parameters=[serializers.ValueQuerySerializer],
                   responses=serializers.ValueSerializer(many=True),
                   description="Point forecasts and 80%/95% intervals (when the model gives them) per level, key, "
                               "model and month; filter by `level`, `key`, `model`. A rep sees the rep-level "
                               "series of themselves and their reports only. Paginated (`limit`, `offset`); "
                               "`?format=csv|xlsx` exports every value the filters select.")
    @action(detail=True, methods=["get"], filter_backends=[])
    def values(self, request: Request, pk: str) -> Response:
        run = self.get_object()
        query = serializers.ValueQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        qs = readable_values(request, ForecastValue.objects.filter(run=run)).order_by("level", "key", "model", "month")
        for name in ("level", "key", "model"):
            if query.validated_data.get(name):
                qs = qs.filter(**{name: query.validated_data[name]})
        page = self.paginate_queryset(qs)
        if page is not None:
            return self.get_paginated_response(serializers.ValueSerializer(page, many=True).data)
        return Response(serializers.ValueSerializer(qs, many=True).data)

    def export_fields(self) -> dict[str, Any]:
        if self.action == "values":
            return dict(serializers.ValueSerializer().fields)
        return super().export_fields()


# -- accuracy --------------------------------------------------------------------------------------

def _records(frame: Any, columns: list[str]) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict("records"):
        out.append({k: (None if _missing(row.get(k)) else row.get(k)) for k in columns})
    return out


def _missing(value: Any) -> bool:
    try:
        return value is None or value != value  # NaN is not equal to itself
    except (TypeError, ValueError):
        return False


ACCURACY_COLUMNS = ["source", "horizon", "n", "wape", "bias", "hit5", "hit10", "actual", "forecast", "cover80",
                    "cover95"]


class AccuracyViewSet(ApiViewMixin, viewsets.GenericViewSet):
    """How past forecasts of closed periods compared with what happened."""

    access_resource = RESOURCE
    serializer_class = serializers.AccuracyRowSerializer
    filter_backends: list[Any] = []
    pagination_class = None

    def export_fields(self) -> dict[str, Any]:
        if self.action == "trend":
            return dict(serializers.AccuracyTrendRowSerializer().fields)
        return dict(serializers.AccuracyRowSerializer().fields)

    @extend_schema(summary="Accuracy leaderboard by source and horizon", parameters=[serializers.AccuracyQuerySerializer],
                   responses=serializers.AccuracyRowSerializer(many=True),
                   description="Over every closed period's scores (or one `level`'s, or one `source`'s): WAPE = "
                               "sum |actual - forecast| / sum |actual|; bias = sum (forecast - actual) / sum actual "
                               "(positive: over-forecast); hit5/hit10 = share of forecasts within 5%/10% of the "
                               "actual. Best WAPE first. `?format=csv|xlsx` exports.")
    def list(self, request: Request) -> Response:
        query = serializers.AccuracyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        frame = selectors.accuracy_board(level=q.get("level") or None,
                                         sources=[q["source"]] if q.get("source") else None)
        return Response(serializers.AccuracyRowSerializer(_records(frame, ACCURACY_COLUMNS), many=True).data)

    @extend_schema(summary="Accuracy of one source by closed period", parameters=[serializers.AccuracyTrendQuerySerializer],
                   responses=serializers.AccuracyTrendRowSerializer(many=True),
                   description="WAPE, bias and hit rates of `source` at `level` per closed period, oldest first: whose "
                               "number to trust, over time. `?format=csv|xlsx` exports.")
    @action(detail=False, methods=["get"])
    def trend(self, request: Request) -> Response:
        query = serializers.AccuracyTrendQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        frame = selectors.accuracy_trend(source=q["source"], level=q["level"]).rename(
            columns={"period__start": "period_start"})
        columns = ["period_start", "n", "wape", "bias", "hit5", "hit10", "actual", "forecast"]
        return Response(serializers.AccuracyTrendRowSerializer(_records(frame, columns), many=True).data)


router = SimpleRouter()
router.include_format_suffixes = False  # exports use ?format=csv
class ScenarioQuerySerializer(drf_serializers.Serializer):
    as_of = drf_serializers.DateField(required=False, help_text="Default: today.")
    horizon = drf_serializers.IntegerField(required=False, min_value=1, max_value=12, default=6)
    win_rate_pct = drf_serializers.FloatField(required=False, default=0, min_value=-90, max_value=200)
    cycle_days = drf_serializers.IntegerField(required=False, default=0, min_value=-180, max_value=365)
    denial_rate_pts = drf_serializers.FloatField(required=False, default=0, min_value=-100, max_value=100)
    mix_class = drf_serializers.CharField(required=False, allow_blank=True, default="",
                                          help_text="A payer class whose share of forecast volume is re-weighted.")
    mix_factor = drf_serializers.FloatField(required=False, default=1, min_value=0, max_value=10)


class ScenarioMonthSerializer(drf_serializers.Serializer):
    month = drf_serializers.DateField()
    base = drf_serializers.FloatField()
    scenario = drf_serializers.FloatField()
    change = drf_serializers.FloatField()


class ScenarioSerializer(drf_serializers.Serializer):
    as_of = drf_serializers.DateField()
    horizon = drf_serializers.IntegerField()
    bookings = ScenarioMonthSerializer(many=True)
    cash = ScenarioMonthSerializer(many=True)
    totals = drf_serializers.DictField(child=drf_serializers.FloatField())


class ScenarioViewSet(ApiViewMixin, viewsets.GenericViewSet):
    """What-if on the forecast drivers next to the base case (docs/forecasting.md, "Scenarios")."""

    access_resource = RESOURCE
    serializer_class = ScenarioSerializer
    filter_backends: list[Any] = []
    pagination_class = None

    @extend_schema(summary="Bookings and cash by month, base case and scenario", parameters=[ScenarioQuerySerializer],
                   responses=ScenarioSerializer,
                   description="Win rate (every stage's conversion x (1 + pct/100), capped at 100%), cycle time (open "
                               "deals close N days later), denial rate (+N points on every payer) and payer mix (a "
                               "payer class's share of forecast volume x factor) change the weighted pipeline and the "
                               "cash forecast; both are recomputed from the same inputs with and without the change.")
    def list(self, request: Request) -> Response:
        from . import scenarios

        query = ScenarioQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        as_of = q.get("as_of") or timezone.localdate()
        scenario = scenarios.Scenario(win_rate_pct=q["win_rate_pct"], cycle_days=q["cycle_days"],
                                      denial_rate_pts=q["denial_rate_pts"],
                                      payer_mix={q["mix_class"]: q["mix_factor"]} if q["mix_class"] else {})
        result = scenarios.evaluate(as_of=as_of, horizon=q["horizon"], scenario=scenario)
        rows = {name: [{"month": m, **{k: float(v) for k, v in r.items()}} for m, r in result[name].iterrows()]
                for name in ("bookings", "cash")}
        return Response(ScenarioSerializer({"as_of": as_of, "horizon": q["horizon"], **rows,
                                            "totals": result["totals"]}).data)


router.register("stages", StageViewSet, basename="api-forecasting-stage")
router.register("opportunities", OpportunityViewSet, basename="api-forecasting-opportunity")
router.register("periods", PeriodViewSet, basename="api-forecasting-period")
router.register("calls", CallViewSet, basename="api-forecasting-call")
router.register("rollup", RollupViewSet, basename="api-forecasting-rollup")
router.register("runs", RunViewSet, basename="api-forecasting-run")
router.register("accuracy", AccuracyViewSet, basename="api-forecasting-accuracy")
router.register("scenarios", ScenarioViewSet, basename="api-forecasting-scenario")

urlpatterns = router.urls
