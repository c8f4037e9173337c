"""REST API of commission disputes (resource ``commission_disputes``, under ``/api/v1/commissions/``).

List, read and open disputes; read and add to a dispute's thread (``messages``, with an optional attachment
as multipart); resolve (with an optional adjustment), reject and reopen. Reps read and act only on the
disputes and lines of the person linked to their membership (anyone else's is a 404, a line not theirs a
400); admins and analysts on all; executives read. Integrator keys have no access. Every write goes through
``commissions.services.disputes`` (audited; a refusal is a 400 with the service's message).
"""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from revops.access import APPROVE
from revops.api.base import ApiViewMixin

from ..models import Dispute, DisputeMessage, DisputeStatus, ManualAdjustment
from ..selectors import disputes as reads
from ..services import disputes as services

RESOURCE = reads.RESOURCE
ATTACHMENT_HELP = (f"Optional, as multipart/form-data: a {services.ATTACHMENT_KINDS} file of at most 10 MB (its "
                   "original name is kept).")


# -- serializers -----------------------------------------------------------------------------------

class DisputeMessageSerializer(serializers.ModelSerializer):
    author_name = serializers.SerializerMethodField()
    is_system = serializers.SerializerMethodField(help_text="Posted by the system on a transition (no author).")
    attachment_url = serializers.SerializerMethodField(help_text="Download link (a signed-in page), or null.")

    class Meta:
        model = DisputeMessage
        fields = ["id", "dispute", "author", "author_name", "is_system", "body", "attachment_name", "attachment_url",
                  "created_at"]
        read_only_fields = fields

    def get_author_name(self, obj: DisputeMessage) -> str | None:
        if obj.author is None:
            return None
        return obj.author.get_full_name() or obj.author.get_username()

    def get_is_system(self, obj: DisputeMessage) -> bool:
        return obj.author_id is None

    def get_attachment_url(self, obj: DisputeMessage) -> str | None:
        if not obj.attachment:
            return None
        try:
            return reverse("commissions_dispute_attachment", kwargs={"pk": obj.pk})
        except NoReverseMatch:
            return None


class DisputeAdjustmentSerializer(serializers.ModelSerializer):
    period_name = serializers.CharField(source="period.name", read_only=True)

    class Meta:
        model = ManualAdjustment
        fields = ["id", "period", "period_name", "person", "amount", "reason", "created_at"]
        read_only_fields = fields


class DisputeSerializer(serializers.ModelSerializer):
    period_name = serializers.CharField(source="period.name", read_only=True)
    person_name = serializers.CharField(source="person.full_name", read_only=True)
    employee_id = serializers.CharField(source="person.employee_id", read_only=True)
    transaction_external_id = serializers.CharField(source="transaction.external_id", read_only=True, default=None)
    transaction_date = serializers.DateField(source="transaction.transaction_date", read_only=True, default=None)
    component_name = serializers.CharField(source="component.name", read_only=True, default=None)
    opened_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    message_count = serializers.IntegerField(read_only=True, required=False)

    class Meta:
        model = Dispute
        fields = ["id", "status", "period", "period_name", "person", "person_name", "employee_id", "line",
                  "transaction", "transaction_external_id", "transaction_date", "component", "component_name",
                  "line_kind", "amount_disputed", "subject", "opened_by", "opened_at", "resolution", "resolved_by",
                  "resolved_at", "message_count"]
        read_only_fields = fields


class DisputeDetailSerializer(DisputeSerializer):
    messages = serializers.SerializerMethodField()
    adjustments = serializers.SerializerMethodField()

    class Meta(DisputeSerializer.Meta):
        fields = [*DisputeSerializer.Meta.fields, "messages", "adjustments"]
        read_only_fields = fields

    @extend_schema_field(DisputeMessageSerializer(many=True))
    def get_messages(self, obj: Dispute) -> list[dict[str, Any]]:
        return DisputeMessageSerializer(reads.dispute_thread(dispute=obj), many=True).data

    @extend_schema_field(DisputeAdjustmentSerializer(many=True))
    def get_adjustments(self, obj: Dispute) -> list[dict[str, Any]]:
        rows = ManualAdjustment.objects.filter(dispute=obj).select_related("period").order_by("created_at", "id")
        return DisputeAdjustmentSerializer(rows, many=True).data


class DisputeCreateSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="The line item questioned (a rep: a line of their own person).")
    subject = serializers.CharField(max_length=200)
    body = serializers.CharField(help_text="What you expected and why (the thread's first message).")
    attachment = serializers.FileField(required=False, allow_null=True, help_text=ATTACHMENT_HELP)


class DisputeCommentSerializer(serializers.Serializer):
    body = serializers.CharField()
    attachment = serializers.FileField(required=False, allow_null=True, help_text=ATTACHMENT_HELP)


class DisputeResolveSerializer(serializers.Serializer):
    resolution = serializers.CharField(help_text="What was found and what happens now (the rep reads it).")
    adjustment_amount = serializers.DecimalField(
        max_digits=16, decimal_places=2, required=False, allow_null=True,
        help_text="Optional, not 0: a manual adjustment of the dispute's person in the earliest open period (never "
                  "a locked one), paid when that period is run. Negative takes an overpayment back.")


class DisputeRejectSerializer(serializers.Serializer):
    resolution = serializers.CharField(help_text="Why the line stands (the rep reads it).")


# -- views -----------------------------------------------------------------------------------------

class DisputeFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=DisputeStatus.choices)

    class Meta:
        model = Dispute
        fields = ["status", "person", "period", "line_kind", "component", "transaction"]


def _viewer(request: Request) -> reads.Viewer:
    return reads.viewer_from_request(request)


@extend_schema_view(
    list=extend_schema(summary="List disputes (open first)",
                       description="Open disputes first (oldest first), then resolved and rejected ones (newest "
                                   "first). Filter by `status`, `person`, `period`. Reps see only their own. "
                                   "`?format=csv|xlsx` exports every row the filters select."),
    retrieve=extend_schema(summary="Read a dispute with its thread and adjustments",
                           responses=DisputeDetailSerializer),
    create=extend_schema(
        summary="Open a dispute about one line", request={"application/json": DisputeCreateSerializer,
                                                          "multipart/form-data": DisputeCreateSerializer},
        responses={201: DisputeDetailSerializer, 400: OpenApiResponse(description="Not a line you may dispute, an "
                                                                                  "open dispute on it already, or a "
                                                                                  "refused attachment.")},
        description="The line's key (period, person, transaction, component, kind) and amount are copied onto the "
                    "dispute: a re-run replaces line rows, the dispute keeps what was questioned. Reps only on "
                    "lines of the person linked to their membership; admins and analysts on anyone's."),
)
class DisputeViewSet(ApiViewMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Disputes (inquiries) about commission lines, their threads and their resolution."""

    access_resource = RESOURCE
    access_actions = {"resolve": APPROVE, "reject": APPROVE}
    queryset = Dispute.objects.all()
    serializer_class = DisputeSerializer
    filterset_class = DisputeFilter
    search_fields = ["subject"]
    ordering_fields = ["opened_at", "resolved_at", "amount_disputed", "id"]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_queryset(self) -> QuerySet[Dispute]:
        return reads.dispute_queue(viewer=_viewer(self.request))

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return DisputeDetailSerializer if self.action == "retrieve" else DisputeSerializer

    def _detail(self, dispute: Dispute, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=dispute.pk)
        return Response(DisputeDetailSerializer(fresh).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = DisputeCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        viewer = _viewer(request)
        line = reads.line_disputable(viewer=viewer, line_id=data["line"])
        if line is None:
            raise serializers.ValidationError({"line": ["No line with this id that you may dispute."]})
        dispute = services.dispute_open(line=line, user=viewer, subject=data["subject"], body=data["body"],
                                        attachment=data.get("attachment"))
        return self._detail(dispute, status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"], summary="Read a dispute's thread", responses=DisputeMessageSerializer(many=True))
    @extend_schema(
        methods=["POST"], summary="Comment on an open dispute",
        request={"application/json": DisputeCommentSerializer, "multipart/form-data": DisputeCommentSerializer},
        responses={201: DisputeMessageSerializer},
        description="Only while the dispute is open (400 otherwise: reopen it with a comment). Reps only on "
                    "their own disputes.")
    @action(detail=True, methods=["get", "post"])
    def messages(self, request: Request, pk: str) -> Response:
        dispute = self.get_object()
        if request.method == "GET":
            return Response(DisputeMessageSerializer(reads.dispute_thread(dispute=dispute), many=True).data)
        body = DisputeCommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        message = services.dispute_comment(dispute=dispute, user=_viewer(request), body=body.validated_data["body"],
                                           attachment=body.validated_data.get("attachment"))
        return Response(DisputeMessageSerializer(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Resolve an open dispute (admins and analysts)", request=DisputeResolveSerializer,
                   responses=DisputeDetailSerializer,
                   description="With `adjustment_amount`, adds a manual adjustment of the dispute's person in the "
                               "earliest open period (reason `Dispute #id: subject`, linked to the dispute) and "
                               "says so in the thread; it is paid when that period is run. 400 when every period "
                               "is locked.")
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser])
    def resolve(self, request: Request, pk: str) -> Response:
        dispute = self.get_object()
        body = DisputeResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.dispute_resolve(dispute=dispute, user=_viewer(request), resolution=body.validated_data["resolution"],
                                 adjustment_amount=body.validated_data.get("adjustment_amount"))
        return self._detail(dispute)

    @extend_schema(summary="Reject an open dispute: the line stands (admins and analysts)",
                   request=DisputeRejectSerializer, responses=DisputeDetailSerializer)
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser])
    def reject(self, request: Request, pk: str) -> Response:
        dispute = self.get_object()
        body = DisputeRejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.dispute_reject(dispute=dispute, user=_viewer(request), resolution=body.validated_data["resolution"])
        return self._detail(dispute)

    @extend_schema(summary="Reopen a resolved or rejected dispute with a comment",
                   request={"application/json": DisputeCommentSerializer,
                            "multipart/form-data": DisputeCommentSerializer},
                   responses=DisputeDetailSerializer,
                   description="The rep (their own) or an admin or analyst. An adjustment already made stays.")
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str) -> Response:
        dispute = self.get_object()
        body = DisputeCommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.dispute_reopen(dispute=dispute, user=_viewer(request), body=body.validated_data["body"],
                                attachment=body.validated_data.get("attachment"))
        return self._detail(dispute)


router = SimpleRouter()
router.include_format_suffixes = False  # exports use ?format=csv
router.register("disputes", DisputeViewSet, basename="api-commissions-dispute")

urlpatterns = router.urls
