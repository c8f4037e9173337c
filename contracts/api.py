"""REST API of payer contracts (resource ``contracts``, under ``/api/v1/contracts/``).

Contracts and their versions and terms (drafts are edited, published versions are history), fee schedule
CSV import, single-case agreements, expected reimbursement per claim (with its lines) and its recompute job,
underpayment summaries by payer / program / code with the claims behind each figure, and quarterly reviews
with their decisions (``approve``). Every write goes through ``contracts.services`` (a refusal is a 400).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.urls import path
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from revops.access import APPROVE
from revops.api.base import ApiViewMixin, CSVRowsParser, request_user
from revops.models import Payer, Program

from . import selectors as reads
from .models import (
    ClaimExpectation,
    Contract,
    ContractReview,
    ContractTerm,
    ContractVersion,
    LineExpectation,
    Recommendation,
    TermKind,
)
from .services import contracts as services
from .services import reviews as review_services
from .services.reimbursement import expected_recompute_start

RESOURCE = reads.RESOURCE


# -- serializers -----------------------------------------------------------------------------------

class TermSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContractTerm
        fields = ["id", "version", "kind", "code", "modifier", "level_of_care", "basis", "rate", "lesser_of_charges",
                  "description"]
        read_only_fields = ["id", "version"]


class VersionSerializer(serializers.ModelSerializer):
    terms = TermSerializer(many=True, read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    published_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ContractVersion
        fields = ["id", "contract", "number", "status", "effective_from", "effective_to", "note", "created_at",
                  "created_by", "published_at", "published_by", "terms"]
        read_only_fields = fields


class ContractSerializer(serializers.ModelSerializer):
    payer = serializers.PrimaryKeyRelatedField(queryset=Payer.objects.all())
    payer_name = serializers.CharField(source="payer.name", read_only=True)
    versions = serializers.SerializerMethodField()

    class Meta:
        model = Contract
        fields = ["id", "name", "payer", "payer_name", "kind", "plan_name", "patient_hash", "program", "ends_on",
                  "notes", "created_at", "versions"]
        read_only_fields = ["id", "kind", "patient_hash", "program", "created_at", "versions", "payer_name"]

    def get_versions(self, obj: Contract) -> list[dict[str, Any]]:
        return [{"id": v.id, "number": v.number, "status": v.status, "effective_from": v.effective_from,
                 "effective_to": v.effective_to} for v in obj.versions.all()]


class ContractUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=160)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    ends_on = serializers.DateField(required=False, allow_null=True, default=None,
                                    help_text="Last day in force (termination); null: open-ended.")


class PublishSerializer(serializers.Serializer):
    effective_from = serializers.DateField(help_text="After the previous version's start; it ends the day before.")


class NewVersionSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class TermInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TermKind.choices)
    code = serializers.CharField(required=False, allow_blank=True, default="")
    modifier = serializers.CharField(required=False, allow_blank=True, default="")
    level_of_care = serializers.CharField(required=False, allow_blank=True, default="")
    basis = serializers.CharField(required=False, allow_blank=True, default="")
    rate = serializers.DecimalField(max_digits=14, decimal_places=4,
                                    help_text="Per unit, per day, per case, or a percent (65 = 65%).")
    lesser_of_charges = serializers.BooleanField(required=False, default=False)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class FeeScheduleImportSerializer(serializers.Serializer):
    csv = serializers.CharField(help_text="CSV text with a header: code, rate (optional modifier, description).")


class SingleCaseSerializer(serializers.Serializer):
    payer = serializers.PrimaryKeyRelatedField(queryset=Payer.objects.all())
    program = serializers.PrimaryKeyRelatedField(queryset=Program.objects.all())
    member_id = serializers.CharField(required=False, allow_blank=True, default="", write_only=True,
                                      help_text="Hashed at once (never stored); or give patient_hash.")
    patient_hash = serializers.CharField(required=False, allow_blank=True, default="")
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    kind = serializers.ChoiceField(choices=[(k, v) for k, v in TermKind.choices if k != TermKind.FEE_SCHEDULE])
    rate = serializers.DecimalField(max_digits=14, decimal_places=4)
    basis = serializers.CharField(required=False, allow_blank=True, default="")
    lesser_of_charges = serializers.BooleanField(required=False, default=False)
    name = serializers.CharField(required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class LineExpectationSerializer(serializers.ModelSerializer):
    class Meta:
        model = LineExpectation
        fields = ["claim_line", "line_number", "code", "service_date", "units", "charge", "term", "term_kind",
                  "expected", "paid", "patient_responsibility", "matched"]
        read_only_fields = fields


class ClaimExpectationSerializer(serializers.ModelSerializer):
    patient_control_number = serializers.CharField(source="claim.patient_control_number", read_only=True)
    variance = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, allow_null=True,
                                        help_text="expected - (paid + patient responsibility); null when not "
                                                  "priced or not adjudicated.")

    class Meta:
        model = ClaimExpectation
        fields = ["id", "claim", "patient_control_number", "payer", "program", "service_date", "submitted_on",
                  "plan_name", "admission", "contract", "version", "source", "status", "charge", "expected", "paid",
                  "patient_responsibility", "variance", "adjudicated", "denied", "lines_total", "lines_priced",
                  "computed_at"]
        read_only_fields = fields


class ClaimExpectationDetailSerializer(ClaimExpectationSerializer):
    lines = serializers.SerializerMethodField()

    class Meta(ClaimExpectationSerializer.Meta):
        fields = [*ClaimExpectationSerializer.Meta.fields, "lines"]
        read_only_fields = fields

    @extend_schema_field(LineExpectationSerializer(many=True))
    def get_lines(self, obj: ClaimExpectation) -> list[dict[str, Any]]:
        rows = LineExpectation.objects.filter(claim_id=obj.claim_id).order_by("line_number")
        return LineExpectationSerializer(rows, many=True).data


class ReviewSerializer(serializers.ModelSerializer):
    contract_name = serializers.CharField(source="contract.name", read_only=True)
    quarter = serializers.CharField(source="quarter_label", read_only=True)
    margin_pct = serializers.DecimalField(max_digits=9, decimal_places=2, read_only=True, allow_null=True)
    underpayment_pct = serializers.DecimalField(max_digits=9, decimal_places=2, read_only=True, allow_null=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ContractReview
        fields = ["id", "contract", "contract_name", "quarter_start", "quarter", "computed_at", "claims",
                  "previous_claims", "volume_change", "charges", "expected", "net_revenue", "direct_cost", "rcm_cost",
                  "margin", "margin_pct", "underpayment", "underpayment_pct", "claims_adjudicated", "claims_denied",
                  "denial_rate", "days_to_pay", "appeals", "appeals_won", "recommendation", "reasons", "decision",
                  "decision_note", "decided_by", "decided_at"]
        read_only_fields = fields


class ReviewDetailSerializer(ReviewSerializer):
    previous = serializers.SerializerMethodField(help_text="Last quarter's review of the contract, if any.")

    class Meta(ReviewSerializer.Meta):
        fields = [*ReviewSerializer.Meta.fields, "previous"]
        read_only_fields = fields

    def get_previous(self, obj: ContractReview) -> dict[str, Any] | None:
        prev = reads.previous_review(obj)
        return ReviewSerializer(prev).data if prev is not None else None


class GenerateReviewsSerializer(serializers.Serializer):
    quarter_start = serializers.DateField(help_text="Any day of the quarter to review.")


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Recommendation.choices)
    note = serializers.CharField(help_text="Why (required; kept with who decided and when).")


class RecomputeJobSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    status = serializers.CharField()


# -- viewsets --------------------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List contracts", description="Filter by `payer`, `kind`. `?format=csv|xlsx` exports."),
    retrieve=extend_schema(summary="Read a contract with its versions"),
    create=extend_schema(summary="Create a payer contract (with an empty draft version 1)",
                         request=ContractSerializer, responses={201: ContractSerializer}),
    partial_update=extend_schema(summary="Rename, annotate or end a contract", request=ContractUpdateSerializer),
    update=extend_schema(summary="Rename, annotate or end a contract", request=ContractUpdateSerializer),
)
class ContractViewSet(ApiViewMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Payer contracts (all plans or one plan) and single-case agreements."""

    access_resource = RESOURCE
    queryset = Contract.objects.all()
    serializer_class = ContractSerializer
    filterset_fields = ["payer", "kind"]

    def get_queryset(self) -> QuerySet[Contract]:
        return reads.contract_list()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = ContractSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        contract = services.contract_create(payer=data["payer"], name=data["name"],
                                            plan_name=data.get("plan_name", ""), notes=data.get("notes", ""),
                                            user=request_user(request))
        return Response(ContractSerializer(self.get_queryset().get(pk=contract.pk)).data,
                        status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        contract = self.get_object()
        body = ContractUpdateSerializer(data={"name": contract.name, "notes": contract.notes,
                                              "ends_on": contract.ends_on, **request.data})
        body.is_valid(raise_exception=True)
        services.contract_update(contract=contract, user=request_user(request), **body.validated_data)
        return Response(ContractSerializer(self.get_queryset().get(pk=contract.pk)).data)

    @extend_schema(summary="Start a new draft version (a copy of the latest published terms)",
                   request=NewVersionSerializer, responses={201: VersionSerializer})
    @action(detail=True, methods=["post"], url_path="versions")
    def new_version(self, request: Request, pk: str) -> Response:
        contract = self.get_object()
        body = NewVersionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = services.version_create(contract=contract, note=body.validated_data["note"],
                                          user=request_user(request))
        return Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    retrieve=extend_schema(summary="Read a version with its terms"),
    list=extend_schema(summary="List versions", description="Filter by `contract`, `status`."),
    destroy=extend_schema(summary="Delete a draft version"),
)
class VersionViewSet(ApiViewMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Effective-dated term versions: drafts are edited, published versions are history."""

    access_resource = RESOURCE
    queryset = ContractVersion.objects.all()
    serializer_class = VersionSerializer
    filterset_fields = ["contract", "status"]

    def get_queryset(self) -> QuerySet[ContractVersion]:
        return ContractVersion.objects.select_related("contract").prefetch_related("terms").order_by(
            "contract_id", "-number")

    def perform_destroy(self, instance: ContractVersion) -> None:
        services.version_delete(version=instance)

    @extend_schema(summary="Publish a draft from a date", request=PublishSerializer, responses=VersionSerializer,
                   description="The previous version ends the day before; the payer's claims are re-priced by a "
                               "recompute job. 400 when the draft has no terms, the date is not after the previous "
                               "version's start, or another contract for the same payer and plan is in force.")
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str) -> Response:
        version = self.get_object()
        body = PublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = services.version_publish(version=version, effective_from=body.validated_data["effective_from"],
                                           user=request_user(request))
        return Response(VersionSerializer(self.get_queryset().get(pk=version.pk)).data)

    @extend_schema(summary="Add a term to a draft", request=TermInputSerializer, responses={201: TermSerializer})
    @action(detail=True, methods=["post"])
    def terms(self, request: Request, pk: str) -> Response:
        version = self.get_object()
        body = TermInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        term = services.term_save(version=version, **body.validated_data)
        return Response(TermSerializer(term).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Import a fee schedule CSV into a draft",
                   request={"application/json": FeeScheduleImportSerializer, "text/csv": OpenApiTypes.STR},
                   responses={200: OpenApiTypes.OBJECT},
                   description="Columns code, rate (optional modifier, description). All or nothing: a bad row "
                               "refuses the file with the line named. Existing codes get the new rate.")
    @action(detail=True, methods=["post"], url_path="fee-schedule",
            parser_classes=[JSONParser, FormParser, CSVRowsParser])
    def fee_schedule(self, request: Request, pk: str) -> Response:
        version = self.get_object()
        if isinstance(request.data, list):  # text/csv body, already split into rows
            rows = request.data
            text = "code,modifier,rate,description\n" + "\n".join(
                ",".join(str(r.get(c, "")).replace(",", " ") for c in services.FEE_SCHEDULE_COLUMNS) for r in rows)
        else:
            body = FeeScheduleImportSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            text = body.validated_data["csv"]
        result = services.fee_schedule_import(version=version, text=text)
        return Response({"created": result.created, "updated": result.updated})


@extend_schema_view(
    retrieve=extend_schema(summary="Read a term"),
    list=extend_schema(summary="List terms", description="Filter by `version`, `kind`, `code`."),
    partial_update=extend_schema(summary="Change a term of a draft", request=TermInputSerializer),
    update=extend_schema(summary="Change a term of a draft", request=TermInputSerializer),
    destroy=extend_schema(summary="Remove a term from a draft"),
)
class TermViewSet(ApiViewMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    access_resource = RESOURCE
    queryset = ContractTerm.objects.all()
    serializer_class = TermSerializer
    filterset_fields = ["version", "kind", "code"]

    def get_queryset(self) -> QuerySet[ContractTerm]:
        return ContractTerm.objects.select_related("version").order_by("version_id", "kind", "code")

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        term = self.get_object()
        current = TermSerializer(term).data
        body = TermInputSerializer(data={**{k: current[k] for k in TermInputSerializer().fields}, **request.data})
        body.is_valid(raise_exception=True)
        term = services.term_save(version=term.version, term=term, **body.validated_data)
        return Response(TermSerializer(term).data)

    def perform_destroy(self, instance: ContractTerm) -> None:
        services.term_delete(term=instance)


class SingleCaseView(ApiViewMixin, APIView):
    access_resource = RESOURCE

    @extend_schema(summary="Create a single-case agreement", request=SingleCaseSerializer,
                   responses={201: ContractSerializer},
                   description="One patient (member id, hashed at once, or the patient hash as on claims), one "
                               "program, dates and one term (per diem for the program's level of care, case rate or "
                               "percent of charges). Published at once; outranks the payer's contracts.")
    def post(self, request: Request) -> Response:
        body = SingleCaseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        contract = services.single_case_create(user=request_user(request), **body.validated_data)
        return Response(ContractSerializer(reads.contract_list().get(pk=contract.pk)).data,
                        status=status.HTTP_201_CREATED)


class ExpectationFilter(filters.FilterSet):
    service_from = filters.DateFilter(field_name="service_date", lookup_expr="gte")
    service_to = filters.DateFilter(field_name="service_date", lookup_expr="lte")

    class Meta:
        model = ClaimExpectation
        fields = ["payer", "program", "contract", "status", "source", "claim", "adjudicated", "denied"]


@extend_schema_view(
    list=extend_schema(summary="Expected reimbursement per claim",
                       description="Filter by `payer`, `program`, `contract`, `status` (priced, partial, no_term, "
                                   "no_contract, superseded, void), `claim`, `service_from`/`service_to`. "
                                   "`?format=csv|xlsx` exports every row."),
    retrieve=extend_schema(summary="A claim's expected reimbursement with its lines",
                           responses=ClaimExpectationDetailSerializer),
)
class ExpectationViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """The materialized expected reimbursement of every claim (see docs/contracts.md)."""

    access_resource = RESOURCE
    queryset = ClaimExpectation.objects.all()
    serializer_class = ClaimExpectationSerializer
    filterset_class = ExpectationFilter

    def get_queryset(self) -> QuerySet[ClaimExpectation]:
        return ClaimExpectation.objects.select_related("claim").order_by("-service_date", "-claim_id")

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return ClaimExpectationDetailSerializer if self.action == "retrieve" else ClaimExpectationSerializer

    @extend_schema(summary="Recompute expected reimbursement (a job)", request=None,
                   parameters=[OpenApiParameter("payer", int, many=True, description="Only these payers' claims")],
                   responses={202: RecomputeJobSerializer})
    @action(detail=False, methods=["post"])
    def recompute(self, request: Request) -> Response:
        payers = [int(p) for p in request.query_params.getlist("payer") if p.isdigit()] or None
        job = expected_recompute_start(payer_ids=payers, reason="API", user=request_user(request))
        return Response({"job": job.pk, "status": job.status}, status=status.HTTP_202_ACCEPTED)


def _filters(request: Request) -> reads.Filters:
    def date(name: str) -> dt.date | None:
        raw = request.query_params.get(name)
        try:
            return dt.date.fromisoformat(raw) if raw else None
        except ValueError:
            raise serializers.ValidationError({name: "Use YYYY-MM-DD."}) from None

    def ids(name: str) -> tuple[int, ...]:
        return tuple(int(v) for v in request.query_params.getlist(name) if v.isdigit())

    contract = request.query_params.get("contract", "")
    return reads.Filters(start=date("start"), end=date("end"), payers=ids("payer"), programs=ids("program"),
                         contract=int(contract) if contract.isdigit() else None)


FILTER_PARAMS = [
    OpenApiParameter("start", OpenApiTypes.DATE, description="Service dates from"),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Service dates to (inclusive)"),
    OpenApiParameter("payer", int, many=True), OpenApiParameter("program", int, many=True),
    OpenApiParameter("contract", int),
]


class UnderpaymentView(ApiViewMixin, APIView):
    access_resource = RESOURCE

    @extend_schema(summary="Underpayment variance by payer, program or code",
                   parameters=[OpenApiParameter("group", str, enum=list(reads.GROUPS)), *FILTER_PARAMS],
                   responses={200: OpenApiTypes.OBJECT},
                   description="variance = expected - (paid + patient responsibility) over adjudicated, priced, "
                               "not denied claims; denied claims' expected amounts separately; coverage says how many "
                               "claims are not in the figures and why. See docs/contracts.md.")
    def get(self, request: Request) -> Response:
        group = request.query_params.get("group", "payer")
        if group not in reads.GROUPS:
            raise serializers.ValidationError({"group": f"One of {', '.join(reads.GROUPS)}."})
        report = reads.underpayment_report(group=group, filters=_filters(request))

        def money(v: Any) -> str | None:  # money as decimal strings, like every DRF DecimalField
            return None if v is None else f"{v:.2f}"

        def row(r: reads.VarianceRow) -> dict[str, Any]:
            return {"key": r.key, "label": r.label, "claims": r.claims, "expected": money(r.expected),
                    "paid": money(r.paid), "patient_responsibility": money(r.patient_responsibility),
                    "variance": money(r.variance), "variance_pct": money(r.variance_pct),
                    "underpaid_claims": r.underpaid_claims, "denied_claims": r.denied_claims,
                    "denied_expected": money(r.denied_expected)}

        coverage = {**vars(report.coverage), "charges_no_contract": money(report.coverage.charges_no_contract)}
        return Response({"group": group, "rows": [row(r) for r in report.rows], "totals": row(report.totals),
                         "coverage": coverage})


class UnderpaymentClaimsView(ApiViewMixin, APIView):
    access_resource = RESOURCE

    @extend_schema(summary="The claims behind an underpayment figure",
                   parameters=[OpenApiParameter("group", str, enum=list(reads.GROUPS)),
                               OpenApiParameter("key", str, description="The row's key (payer/program id or code)"),
                               OpenApiParameter("denied", bool, description="The denied claims instead"),
                               *FILTER_PARAMS],
                   responses=ClaimExpectationSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = reads.variance_claims(filters=_filters(request), group=request.query_params.get("group", ""),
                                     key=request.query_params.get("key", ""),
                                     denied=request.query_params.get("denied", "") in ("1", "true"))[:1000]
        return Response(ClaimExpectationSerializer(rows, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="List quarterly reviews", description="Filter by `contract`, `quarter_start`."),
    retrieve=extend_schema(summary="A review with last quarter's beside it", responses=ReviewDetailSerializer),
)
class ReviewViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Quarterly contract reviews: figures, recommendation with reasons, decision."""

    access_resource = RESOURCE
    access_actions = {"decision": APPROVE}
    queryset = ContractReview.objects.all()
    serializer_class = ReviewSerializer
    filterset_fields = ["contract", "quarter_start", "recommendation", "decision"]

    def get_queryset(self) -> QuerySet[ContractReview]:
        return reads.review_list()

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return ReviewDetailSerializer if self.action == "retrieve" else ReviewSerializer

    @extend_schema(summary="Review every contract in force in a quarter", request=GenerateReviewsSerializer,
                   responses={201: ReviewSerializer(many=True)},
                   description="Creates the quarter's reviews, or refreshes the undecided ones (decided reviews are "
                               "frozen records). Reads the expected reimbursement as last recomputed.")
    @action(detail=False, methods=["post"])
    def generate(self, request: Request) -> Response:
        body = GenerateReviewsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        made = review_services.reviews_generate(start=body.validated_data["quarter_start"])
        return Response(ReviewSerializer(made, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Recompute an undecided review", request=None, responses=ReviewSerializer)
    @action(detail=True, methods=["post"])
    def refresh(self, request: Request, pk: str) -> Response:
        review = review_services.review_refresh(review=self.get_object())
        return Response(ReviewSerializer(review).data)

    @extend_schema(summary="Record the decision (keep, renegotiate, exit) with a note", request=DecisionSerializer,
                   responses=ReviewSerializer)
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser])
    def decision(self, request: Request, pk: str) -> Response:
        review = self.get_object()
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        review = review_services.review_decide(review=review, decision=body.validated_data["decision"],
                                               note=body.validated_data["note"], user=request_user(request))
        return Response(ReviewSerializer(review).data)


router = SimpleRouter()
router.include_format_suffixes = False  # exports use ?format=csv
router.register("contracts", ContractViewSet, basename="api-contracts-contract")
router.register("versions", VersionViewSet, basename="api-contracts-version")
router.register("terms", TermViewSet, basename="api-contracts-term")
router.register("expected", ExpectationViewSet, basename="api-contracts-expected")
router.register("reviews", ReviewViewSet, basename="api-contracts-review")

urlpatterns = [
    *router.urls,
    path("single-case/", SingleCaseView.as_view(), name="api-contracts-single-case"),
    path("underpayments/", UnderpaymentView.as_view(), name="api-contracts-underpayments"),
    path("underpayments/claims/", UnderpaymentClaimsView.as_view(), name="api-contracts-underpayment-claims"),
]
