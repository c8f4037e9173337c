"""REST API of what-if scenarios (resource ``scenarios``, under ``/api/v1/scenarios/``).

List (mine and shared), create (validated per kind and computed at once), read with the stored result,
delete and share (the author or an admin; anyone else gets 404), recompute, and one result table at a time
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

    class Meta:
        model = Scenario
        fields = ["id", "name", "kind", "description", "parameters", "window_end", "window_months", "horizon_months",
                  "effective_month", "shared", "created_by", "created_at", "computed_at", "inputs_digest", "url"]
        read_only_fields = fields

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


class ScenarioRecomputeSerializer(serializers.Serializer):
    changed = serializers.BooleanField(help_text="Whether the data behind the result changed since last time.")
    scenario = SavedScenarioDetailSerializer()


@extend_schema_view(
    list=extend_schema(summary="My scenarios and the shared ones",
                       description="Filter by `kind`, `shared`. `?format=csv|xlsx` exports."),
    retrieve=extend_schema(summary="A scenario with its stored result", responses=SavedScenarioDetailSerializer),
    create=extend_schema(summary="Create a scenario (computed at once)", request=SavedScenarioCreateSerializer,
                         responses={201: SavedScenarioDetailSerializer},
                         description="400 names the parameter that does not fit (a contract, rule or payer of "
                                     "another organization is not found; a denial rate cannot fall below 0)."),
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
        return Response(SavedScenarioDetailSerializer(scenario, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)

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

    @extend_schema(summary="Recompute from today's data", request=None, responses=ScenarioRecomputeSerializer)
    @action(detail=True, methods=["post"])
    def recompute(self, request: Request, pk: str) -> Response:
        scenario, changed = services.scenario_recompute(scenario=self.get_object())
        return Response({"changed": changed,
                         "scenario": SavedScenarioDetailSerializer(scenario, context={"request": request}).data})

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
