"""REST API of the RCM records (resource ``rcm``): claims, remittances, denials, KPIs, feeds, runs, uploads."""
from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from revops.api.base import ApiViewMixin
from revops.models import Facility, Payer, Program

from . import kpis, serializers
from .models import (
    Adjustment,
    Claim,
    Denial,
    DenialCategory,
    DenialStatus,
    Feed,
    FeedKind,
    IngestionRun,
    QuarantineItem,
    QuarantineStatus,
    Remittance,
    RunStatus,
)


class RcmReadViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    access_resource = "rcm"


# -- filters -----------------------------------------------------------------------------------

class ClaimFilter(filters.FilterSet):
    submitted_from = filters.DateFilter(field_name="submitted_on", lookup_expr="gte")
    submitted_to = filters.DateFilter(field_name="submitted_on", lookup_expr="lte")
    payer = filters.ModelChoiceFilter(queryset=Payer.objects.all())
    payer_class = filters.CharFilter(field_name="payer__payer_class")
    program = filters.ModelChoiceFilter(queryset=Program.objects.all())
    facility = filters.ModelChoiceFilter(queryset=Facility.objects.all())
    patient_control_number = filters.CharFilter()
    denied = filters.BooleanFilter(method="filter_denied", label="Has a denial")
    denial_category = filters.ChoiceFilter(field_name="denials__category", choices=DenialCategory.choices,
                                           distinct=True)
    carc = filters.CharFilter(method="filter_carc", label="Has a denial with this CARC")

    class Meta:
        model = Claim
        fields = ["front_end_status", "frequency", "kind", "is_resubmission"]

    def filter_denied(self, qs: QuerySet, name: str, value: bool) -> QuerySet:
        return qs.filter(denials__isnull=False).distinct() if value else qs.filter(denials__isnull=True)

    def filter_carc(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(denials__carc_codes__contains=[value.strip()]).distinct() if value else qs


class RemittanceFilter(filters.FilterSet):
    paid_from = filters.DateFilter(field_name="payment_date", lookup_expr="gte")
    paid_to = filters.DateFilter(field_name="payment_date", lookup_expr="lte")
    payer = filters.ModelChoiceFilter(queryset=Payer.objects.all())

    class Meta:
        model = Remittance
        fields = ["trace_number", "handling_code", "balanced"]


class AdjustmentFilter(filters.FilterSet):
    claim = filters.NumberFilter(field_name="claim_payment__claim")
    remittance = filters.NumberFilter(field_name="claim_payment__remittance")

    class Meta:
        model = Adjustment
        fields = ["group_code", "reason_code", "claim_payment", "service_payment"]


class DenialFilter(filters.FilterSet):
    denied_from = filters.DateFilter(field_name="denied_on", lookup_expr="gte")
    denied_to = filters.DateFilter(field_name="denied_on", lookup_expr="lte")
    payer = filters.ModelChoiceFilter(queryset=Payer.objects.all())
    program = filters.ModelChoiceFilter(queryset=Program.objects.all())
    status = filters.ChoiceFilter(choices=DenialStatus.choices)
    category = filters.ChoiceFilter(choices=DenialCategory.choices)
    carc = filters.CharFilter(method="filter_carc")

    class Meta:
        model = Denial
        fields = ["level", "claim"]

    def filter_carc(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(carc_codes__contains=[value.strip()]) if value else qs


class FeedFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=FeedKind.choices)

    class Meta:
        model = Feed
        fields = ["kind", "is_active"]


class RunFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=RunStatus.choices)
    feed = filters.NumberFilter(field_name="file__feed")

    class Meta:
        model = IngestionRun
        fields = ["status", "file"]


class QuarantineFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=QuarantineStatus.choices)

    class Meta:
        model = QuarantineItem
        fields = ["status", "scope", "reason_code", "run", "file"]


# -- records -----------------------------------------------------------------------------------

@extend_schema_view(list=extend_schema(summary="List claims"), retrieve=extend_schema(summary="Read a claim"))
class ClaimViewSet(RcmReadViewSet):
    """Claims as submitted (837 or CSV). `?format=csv` exports every row the filters select."""

    queryset = Claim.objects.all()
    serializer_class = serializers.ClaimSerializer
    filterset_class = ClaimFilter
    search_fields = ["patient_control_number", "original_payer_claim_number"]
    ordering_fields = ["submitted_on", "charge", "id"]


@extend_schema_view(list=extend_schema(summary="List remittances (835 payments)"),
                    retrieve=extend_schema(summary="Read a remittance"))
class RemittanceViewSet(RcmReadViewSet):
    """835 transactions: one payment (or notification) each, identified by its TRN trace."""

    queryset = Remittance.objects.annotate(claim_count=Count("claim_payments"))
    serializer_class = serializers.RemittanceSerializer
    filterset_class = RemittanceFilter
    search_fields = ["trace_number", "payer_name"]
    ordering_fields = ["payment_date", "payment_amount", "id"]


@extend_schema_view(list=extend_schema(summary="List adjustments (CAS)"),
                    retrieve=extend_schema(summary="Read an adjustment"))
class AdjustmentViewSet(RcmReadViewSet):
    """CAS reason/amount pairs at claim or line level (group CO, PR, OA, PI; reason = CARC)."""

    queryset = Adjustment.objects.select_related("claim_payment")
    serializer_class = serializers.AdjustmentSerializer
    filterset_class = AdjustmentFilter
    ordering_fields = ["amount", "id"]


@extend_schema_view(list=extend_schema(summary="List denials"), retrieve=extend_schema(summary="Read a denial"))
class DenialViewSet(RcmReadViewSet):
    """Initial denials (claim or line) and their lifecycle: open, appealed, overturned, written off."""

    queryset = Denial.objects.all()
    serializer_class = serializers.DenialSerializer
    filterset_class = DenialFilter
    ordering_fields = ["denied_on", "denied_charge", "id"]
    access_actions = {"appeal": "change", "write_off": "change"}

    @extend_schema(summary="Record an appeal", request=serializers.DenialAppealSerializer,
                   responses=serializers.DenialSerializer)
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser])
    def appeal(self, request: Request, pk: str) -> Response:
        from .services.denials import denial_appeal

        denial = self.get_object()
        body = serializers.DenialAppealSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        denial = denial_appeal(denial=denial, **body.validated_data)
        return Response(serializers.DenialSerializer(denial).data)

    @extend_schema(summary="Write a denial off", request=serializers.DenialWriteOffSerializer,
                   responses=serializers.DenialSerializer)
    @action(detail=True, methods=["post"], url_path="write-off", url_name="write-off",
            parser_classes=[JSONParser, FormParser])
    def write_off(self, request: Request, pk: str) -> Response:
        from .services.denials import denial_write_off

        denial = self.get_object()
        body = serializers.DenialWriteOffSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        denial = denial_write_off(denial=denial, **body.validated_data)
        return Response(serializers.DenialSerializer(denial).data)


FEED_WRITE_DESCRIPTION = (
    "Saved through the same rules as the Feeds page (`rcm_feeds.services.feed_save`): the name is unique, "
    "`inbox_dir` is a plain relative folder no other feed uses, `column_mapping` is for CSV kinds only and "
    "names their fields (docs/rcm_ingestion.md lists them), a feed that received files keeps its kind. The "
    "feed's polling schedule (celery beat) follows `crontab`, `inbox_dir` and `is_active`. A refused value is "
    "a 400 naming the field."
)


@extend_schema_view(
    list=extend_schema(summary="List feeds"),
    retrieve=extend_schema(summary="Read a feed"),
    create=extend_schema(summary="Add a feed", description=FEED_WRITE_DESCRIPTION),
    update=extend_schema(summary="Change a feed", description=FEED_WRITE_DESCRIPTION
                         + " Settings left out keep their current value."),
    partial_update=extend_schema(summary="Change some settings of a feed", description=FEED_WRITE_DESCRIPTION),
    destroy=extend_schema(
        summary="Delete a feed", responses={204: None, 400: OpenApiResponse(description="The feed received files.")},
        description="Only a feed that never received a file: one that did keeps its files and runs, so the answer "
                    "is a 400 and the feed stays; deactivate it (`is_active: false`) instead.",
    ),
)
class FeedViewSet(ApiViewMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin,
                  viewsets.ReadOnlyModelViewSet):
    """The organization's sources of files (835, 837, CSV, acknowledgments) and their schedules."""

    access_resource = "rcm"
    access_actions = {"poll": "change"}
    queryset = Feed.objects.select_related("source_program")
    serializer_class = serializers.FeedSerializer
    filterset_class = FeedFilter
    search_fields = ["name"]
    ordering_fields = ["name", "id"]

    def perform_create(self, serializer: serializers.FeedSerializer) -> None:
        from .services.feeds import feed_save

        serializer.instance = feed_save(**serializers.feed_settings(None, serializer.validated_data))

    def perform_update(self, serializer: serializers.FeedSerializer) -> None:
        from .services.feeds import feed_save

        feed = serializer.instance
        serializer.instance = feed_save(feed=feed, **serializers.feed_settings(feed, serializer.validated_data))

    def perform_destroy(self, instance: Feed) -> None:
        from .services.feeds import feed_delete

        feed_delete(feed=instance)

    @extend_schema(
        summary="Poll a feed's inbox now", request=None, responses=serializers.FeedPollResultSerializer,
        description="Receives the settled files of the feed's inbox folder at once, as its schedule would: each "
                    "starts an ingestion run (loaded in the background; follow `runs[].job` at `/api/v1/jobs/{id}/`) "
                    "and is moved to `processed/`. An inactive feed or one without an inbox receives nothing; "
                    "`detail` says why.",
    )
    @action(detail=True, methods=["post"])
    def poll(self, request: Request, pk: str) -> Response:
        from .services.feeds import inbox_poll

        feed = self.get_object()
        runs = inbox_poll(feed=feed, user=_user(request))
        runs = list(IngestionRun.objects.select_related("file").annotate(warning_count=Count("warnings"))
                    .filter(pk__in=[run.pk for run in runs]).order_by("pk"))
        return Response(serializers.FeedPollResultSerializer(serializers.feed_poll_result(feed, runs)).data)


@extend_schema_view(list=extend_schema(summary="List ingestion runs"),
                    retrieve=extend_schema(summary="Read an ingestion run"))
class IngestionRunViewSet(RcmReadViewSet):
    """One attempt to load one file: status, counts, message."""

    queryset = IngestionRun.objects.select_related("file").annotate(warning_count=Count("warnings"))
    serializer_class = serializers.IngestionRunSerializer
    filterset_class = RunFilter
    ordering_fields = ["id", "started_at", "finished_at"]


@extend_schema_view(list=extend_schema(summary="List quarantined files and rows"),
                    retrieve=extend_schema(summary="Read a quarantine item"))
class QuarantineViewSet(RcmReadViewSet):
    """Files that could not be parsed and CSV rows that were refused, with the reason and where."""

    queryset = QuarantineItem.objects.select_related("file")
    serializer_class = serializers.QuarantineItemSerializer
    filterset_class = QuarantineFilter
    ordering_fields = ["id", "created_at"]
    access_actions = {"fix": "change", "discard": "change"}

    @extend_schema(summary="Fix a quarantined item and load it again", request=serializers.QuarantineFixSerializer,
                   responses={202: serializers.IngestionRunSerializer},
                   description="The corrected CSV row, or the corrected text of a whole quarantined file. Answers "
                               "the new ingestion run.")
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser])
    def fix(self, request: Request, pk: str) -> Response:
        from .services.quarantine import quarantine_fix

        item = self.get_object()
        body = serializers.QuarantineFixSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = quarantine_fix(item=item, fixed_raw=body.validated_data["fixed_raw"], user=_user(request))
        run = IngestionRun.objects.select_related("file").annotate(warning_count=Count("warnings")).get(pk=run.pk)
        return Response(serializers.IngestionRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Discard a quarantined item", request=serializers.QuarantineDiscardSerializer,
                   responses=serializers.QuarantineItemSerializer)
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser])
    def discard(self, request: Request, pk: str) -> Response:
        from .services.quarantine import quarantine_discard

        item = self.get_object()
        body = serializers.QuarantineDiscardSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = quarantine_discard(item=item, user=_user(request), note=body.validated_data["note"])
        return Response(serializers.QuarantineItemSerializer(item).data)


def _user(request: Request) -> Any:
    return request.user if request.user.is_authenticated else None


# -- KPIs --------------------------------------------------------------------------------------

def kpi_filters(data: dict[str, Any]) -> kpis.KpiFilters:
    return kpis.KpiFilters(
        start=data["start"], end=data["end"],
        payers=[p.pk for p in data.get("payer", [])], payer_classes=data.get("payer_class", []),
        programs=[p.pk for p in data.get("program", [])], facilities=[f.pk for f in data.get("facility", [])],
    )


KPI_PARAMETERS = [
    OpenApiParameter("start", str, required=True, description="First month (YYYY-MM-DD, any day of it)."),
    OpenApiParameter("end", str, required=True, description="Last month (YYYY-MM-DD, any day of it)."),
    OpenApiParameter("group_by", str, enum=sorted(kpis.GROUPS), description="Break down by this dimension."),
    OpenApiParameter("payer", int, many=True, description="Only these payers (repeatable)."),
    OpenApiParameter("payer_class", str, many=True, description="Only these payer classes (repeatable)."),
    OpenApiParameter("program", int, many=True, description="Only these programs (repeatable)."),
    OpenApiParameter("facility", int, many=True, description="Only these facilities (repeatable)."),
]


def _query_dict(request: Request) -> dict[str, Any]:
    q = request.query_params
    data: dict[str, Any] = {k: q.get(k) for k in ("start", "end", "group_by") if q.get(k)}
    for many in ("payer", "payer_class", "program", "facility"):
        if q.getlist(many):
            data[many] = q.getlist(many)
    return data


class KpiViewSet(ApiViewMixin, viewsets.ViewSet):
    """The RCM KPIs by month (docs/kpis.md has every definition; `definitions/` answers them too)."""

    access_resource = "rcm"

    @extend_schema(summary="KPIs by month", parameters=KPI_PARAMETERS, responses=serializers.KpiRowSerializer(many=True),
                   description="Every KPI per month of the period, overall or per `group_by` value, with the change "
                               "from the previous month. Rates are percentages, times are days.")
    def list(self, request: Request) -> Response:
        query = serializers.KpiQuerySerializer(data=_query_dict(request))
        query.is_valid(raise_exception=True)
        rows = kpis.kpi_series(kpi_filters(query.validated_data), group_by=query.validated_data["group_by"])
        return Response(serializers.KpiRowSerializer(rows, many=True).data)

    @extend_schema(summary="Payer mix by month", parameters=KPI_PARAMETERS[:2] + KPI_PARAMETERS[3:],
                   responses=serializers.KpiRowSerializer(many=True),
                   description="Share of gross charges submitted by payer class (`group`), per month.")
    @action(detail=False, methods=["get"], url_path="payer-mix", url_name="payer-mix")
    def payer_mix(self, request: Request) -> Response:
        query = serializers.KpiQuerySerializer(data=_query_dict(request))
        query.is_valid(raise_exception=True)
        return Response(serializers.KpiRowSerializer(kpis.payer_mix(kpi_filters(query.validated_data)), many=True).data)

    @extend_schema(summary="KPI definitions", responses=serializers.KpiDefinitionSerializer(many=True))
    @action(detail=False, methods=["get"])
    def definitions(self, request: Request) -> Response:
        return Response(serializers.KpiDefinitionSerializer(kpis.kpi_definitions(), many=True).data)


# -- upload ------------------------------------------------------------------------------------

class FileUploadViewSet(ApiViewMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Upload a file to a feed: stored once (content hash), then loaded by a background run."""

    access_resource = "rcm"
    serializer_class = serializers.FileUploadSerializer
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(summary="Upload a file to a feed", request=serializers.FileUploadSerializer,
                   responses={202: serializers.FileUploadResultSerializer, 200: serializers.FileUploadResultSerializer},
                   description="Multipart form with `feed` (id) and `file`. 202 with the run and job ids when the file "
                               "is new; 200 with `duplicate: true` when the same bytes were received before.")
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from .services.runs import ingestion_submit

        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        run = ingestion_submit(feed=body.validated_data["feed"], filename=upload.name, stream=upload,
                               source="api", user=request.user if request.user.is_authenticated else None)
        duplicate = run.status == RunStatus.DUPLICATE
        result = {"file": run.file_id, "run": run.pk, "job": run.job_id, "duplicate": duplicate,
                  "detail": run.message or "Received; loading in the background."}
        code = status.HTTP_200_OK if duplicate else status.HTTP_202_ACCEPTED
        return Response(serializers.FileUploadResultSerializer(result).data, status=code)
