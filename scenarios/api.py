"""REST API of what-if scenarios (resource ``scenarios``, under ``/api/v1/scenarios/``).

List (mine and shared), create (validated per kind, then computed by a background job: 202 with the job's id),
read with the stored result, delete and share (the author or an admin; anyone else gets 404), recompute (another
job, 202), and one result table at a time
(``results/?table=summary|monthly|assumptions``, exportable with ``?format=csv|xlsx``). The same visibility as the
pages: a private scenario is 404 to everyone but its author.
"""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from revops.access import CHANGE, VIEW
from revops.api.base import ApiViewMixin, request_user

from . import selectors as reads
from . import services
from .models import Scenario, ScenarioKind

RESOURCE = reads.RESOURCE
TABLES = ("summary", "monthly", "assumptions")


class SavedScenarioSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    url = serializers.SerializerMethodField(help_text="The share link (the scenario's page).")
    status = serializers.SerializerMethodField(help_text=(
        "computing (its job is queued or running), computed, refused (the latest computation was refused: see "
        "`error`; any earlier result stays), not_computed."))
    job_id = serializers.IntegerField(read_only=True, allow_null=True,
                                      help_text="The latest computation's job (GET /api/v1/jobs/{id}/).")

    class Meta:
        model = Scenario
        fields = ["id", "name", "kind", "description", "parameters", "window_end", "window_months", "horizon_months",
                  "effective_month", "shared", "created_by", "created_at", "status", "job_id", "error",
                  "computed_at", "inputs_digest", "url"]
        read_only_fields = fields

    def get_status(self, obj: Scenario) -> str:
        return reads.scenario_status(obj)

    def get_url(self, obj: Scenario) -> str:
        from django.urls import reverse

        path = reverse("scenarios_detail", kwargs={"pk": obj.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class SavedScenarioDetailSerializer(SavedScenarioSerializer):
    result = serializers.JSONField(read_only=True, help_text="Window figures (summary), months of the horizon "
                                                             "(monthly), assumptions; money as decimal strings.")

    class Meta(SavedScenarioSerializer.Meta):
        fields = [*SavedScenarioSerializer.Meta.fields, "result"]
        read_only_fields = fields


class SavedScenarioCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=160)
    kind = serializers.ChoiceField(choices=ScenarioKind.choices)
    parameters = serializers.JSONField(help_text=(
        "exit_contract: {contract_id, recapture_pct (0-100, default 0)}; tighten_intake_rule: {rule_id} or "
        "{payer_id, plan_name, program_id | level_of_care}, with decision (not_allowed | "
        "allowed_with_authorization); denial_rate_change: {payer_id, delta_points (-3 = three points lower), "
        "rework_cost_per_denial (optional)}."))
    window_end = serializers.DateField(required=False, allow_null=True, default=None,
                                       help_text="Any day of the window's last month (default: the last complete "
                                                 "month with claims).")
    window_months = serializers.IntegerField(required=False, default=12, min_value=1, max_value=services.MAX_WINDOW)
    horizon_months = serializers.IntegerField(required=False, default=12, min_value=1,
                                              max_value=services.MAX_HORIZON)
    effective_month = serializers.DateField(required=False, allow_null=True, default=None,
                                            help_text="Any day of the month the change takes effect (default: the "
                                                      "month after the window).")
    shared = serializers.BooleanField(required=False, default=False)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class ScenarioShareSerializer(serializers.Serializer):
    shared = serializers.BooleanField()


class ScenarioQueuedSerializer(serializers.Serializer):
    job_id = serializers.IntegerField(help_text="The computation's job: follow it at `job_url` (status, progress; "
                                                "its `result` says `changed` for a recompute).")
    job_url = serializers.CharField(help_text="GET /api/v1/jobs/{job_id}/.")
    scenario = SavedScenarioSerializer(help_text="The scenario; GET it (or its `results/`) once the job has "
                                                 "succeeded.")


def _queued(request: Request, scenario: Scenario, job: Any) -> Response:
    from django.urls import reverse

    return Response({"job_id": job.pk,
                     "job_url": request.build_absolute_uri(reverse("api-job-detail", kwargs={"pk": job.pk})),
                     "scenario": SavedScenarioSerializer(scenario, context={"request": request}).data},
                    status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(summary="My scenarios and the shared ones",
                       description="Filter by `kind`, `shared`. `?format=csv|xlsx` exports."),
    retrieve=extend_schema(summary="A scenario with its stored result", responses=SavedScenarioDetailSerializer),
    create=extend_schema(summary="Create a scenario (computed by a background job)",
                         request=SavedScenarioCreateSerializer, responses={202: ScenarioQueuedSerializer},
                         description="Validates the parameters and saves the scenario, then computes it in a job: "
                                     "202 with the job's id. Follow `job_url` (or the scenario's `status`) until "
                                     "the job has succeeded, then read the scenario. 400 names the parameter that "
                                     "does not fit (a contract, rule or payer of another organization is not "
                                     "found). A change the data refuses (a denial rate that would fall below 0, "
                                     "no claims in the window) fails the job; the scenario's `status` is then "
                                     "`refused` with the reason in `error`."),
    destroy=extend_schema(summary="Delete a scenario (its author or an admin)"),
)
class ScenarioViewSet(ApiViewMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
                      viewsets.ReadOnlyModelViewSet):
    """What-if scenarios against the base case (docs/scenarios.md)."""

    access_resource = RESOURCE
    access_actions = {"results": VIEW, "recompute": CHANGE, "share": CHANGE}
    queryset = Scenario.objects.all()
    serializer_class = SavedScenarioSerializer
    filterset_fields = ["kind", "shared"]
    export_name = "scenarios"

    def get_queryset(self) -> QuerySet[Scenario]:
        return reads.visible_scenarios(user=request_user(self.request))

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return SavedScenarioDetailSerializer if self.action == "retrieve" else SavedScenarioSerializer

    def _managed(self) -> Scenario:
        scenario = self.get_object()
        if not reads.may_manage(scenario=scenario, user=request_user(self.request),
                                role=getattr(self.request, "role", None)):
            raise Http404
        return scenario

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = SavedScenarioCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        scenario = services.scenario_create(user=request_user(request), **body.validated_data)
        return _queued(request, scenario, scenario.job)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.scenario_delete(scenario=self._managed())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Share or make private (its author or an admin)", request=ScenarioShareSerializer,
                   responses=SavedScenarioSerializer)
    @action(detail=True, methods=["post"])
    def share(self, request: Request, pk: str) -> Response:
        scenario = self._managed()
        body = ScenarioShareSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        scenario = services.scenario_share(scenario=scenario, shared=body.validated_data["shared"])
        return Response(SavedScenarioSerializer(scenario, context={"request": request}).data)

    @extend_schema(summary="Recompute from today's data (a background job)", request=None,
                   responses={202: ScenarioQueuedSerializer},
                   description="202 with the job's id; while a computation of the scenario is queued or running, "
                               "that job (no second one). The job's `result.changed` says whether the data behind "
                               "the figures changed since the previous computation. 400 when the scenario's "
                               "contract no longer exists.")
    @action(detail=True, methods=["post"])
    def recompute(self, request: Request, pk: str) -> Response:
        scenario = self.get_object()
        job = services.scenario_recompute_start(scenario=scenario, user=request_user(request))
        scenario.job = job
        return _queued(request, scenario, job)

    @extend_schema(summary="One table of the stored result",
                   parameters=[OpenApiParameter("table", str, enum=list(TABLES),
                                                description="summary (window figures: base, scenario, change), "
                                                            "monthly (the horizon), assumptions")],
                   responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str) -> Response:
        scenario = self.get_object()
        table = request.query_params.get("table", "summary")
        if table not in TABLES:
            raise serializers.ValidationError({"table": f"One of {', '.join(TABLES)}."})
        return Response((scenario.result or {}).get(table, []))


router = SimpleRouter()
router.include_format_suffixes = False  # exports use ?format=csv
router.register("", ScenarioViewSet, basename="api-scenarios-scenario")

urlpatterns = [*router.urls]
