"""REST API of intake (mounted at ``api/v1/intake/``): admissions (bulk upsert by external id, claim links),
authorizations with units used, reviews due and authorization denials, intake rules, the intake check, rule
violations, program costs and program profitability.

Resources: ``admissions`` (admissions, authorizations, program costs, profitability) and ``intake_rules``
(rules, the check, violations). Lists export with ``?format=csv|xlsx``.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet
from django.urls import path
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers as drf_serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from revops.access import CHANGE
from revops.api.base import ApiViewMixin, CSVRowsParser, query_flag
from revops.models import Payer, Program

from . import serializers, services
from .imports import (
    KINDS,
    MAX_ROWS,
    AdmissionRowSerializer,
    AuthorizationRowSerializer,
    IntakeFileError,
    ProgramCostRowSerializer,
    load,
)
from .models import Admission, Authorization, IntakeRule, ProgramCost
from .selectors.authorizations import authorization_denials, authorizations_with_usage, reviews_due
from .selectors.profitability import program_profitability
from .selectors.rules import intake_check, violations

ADMISSIONS = "admissions"
RULES = "intake_rules"


def plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Money and rates as decimal strings, like every serializer's ``DecimalField`` (never binary floats)."""
    return [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in r.items()} for r in rows]


def _bulk(request: Request, kind: str) -> Response:
    try:
        result = load(kind=KINDS[kind], data=request.data, all_or_nothing=query_flag(request, "all_or_nothing"))
    except IntakeFileError as exc:
        raise exceptions.ValidationError({"non_field_errors": [str(exc)]}) from None
    refused = result.pop("refused")
    return Response(serializers.UpsertResultSerializer(result).data,
                    status=status.HTTP_400_BAD_REQUEST if refused else status.HTTP_200_OK)


def _bulk_schema(kind: str, row: Any, what: str) -> Any:
    return extend_schema(
        summary=f"Create or update many {what} (JSON array or CSV)",
        request={"application/json": row(many=True),  # the row serializer of the kind
                 "text/csv": {"type": "string", "description": "Header row, then one row per line."}},
        responses={200: serializers.UpsertResultSerializer, 400: serializers.UpsertResultSerializer},
        parameters=[OpenApiParameter("all_or_nothing", OpenApiTypes.BOOL,
                                     description="Load nothing unless every row is good.")],
        description=f"At most {MAX_ROWS:,} rows, matched by `{KINDS[kind].key or 'program, month, category'}`. "
                    "Every row is checked first; failed rows are reported in `rows` by `index` (0-based; in a CSV, "
                    "line = index + 2). Re-sending the same rows changes nothing. Default (`partial`): the good rows "
                    "are loaded; `?all_or_nothing=true`: nothing unless every row is good (400).")


# -- admissions ------------------------------------------------------------------------------------

class AdmissionFilter(filters.FilterSet):
    program = filters.ModelChoiceFilter(queryset=Program.objects.all())
    payer = filters.ModelChoiceFilter(queryset=Payer.objects.all())
    admitted_from = filters.DateFilter(field_name="admitted_on", lookup_expr="gte")
    admitted_to = filters.DateFilter(field_name="admitted_on", lookup_expr="lte")
    in_care = filters.BooleanFilter(field_name="discharged_on", lookup_expr="isnull",
                                    label="true: still in care (no discharge date)")

    class Meta:
        model = Admission
        fields = ["external_id", "program", "payer", "plan_name", "admitted_from", "admitted_to", "in_care"]


@extend_schema_view(
    list=extend_schema(summary="List admissions", description="Filter by `program`, `payer`, `plan_name`, "
                       "`external_id`, `admitted_from`/`admitted_to`, `in_care`. Member ids are never returned (only "
                       "their hash is kept, and not exposed). `?format=csv|xlsx` exports."),
    retrieve=extend_schema(summary="Read an admission"),
)
class AdmissionViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Stays in a program, synced from the EHR by external id."""

    access_resource = ADMISSIONS
    access_actions = {"bulk_upsert": CHANGE, "link_claims": CHANGE}
    queryset = Admission.objects.select_related("program", "payer", "facility").annotate(
        claim_count=Count("claim_links"))
    serializer_class = serializers.AdmissionSerializer
    filterset_class = AdmissionFilter
    search_fields = ["external_id", "plan_name"]
    ordering_fields = ["admitted_on", "discharged_on", "id"]

    @_bulk_schema("admissions", AdmissionRowSerializer, "admissions")
    @action(detail=False, methods=["post"], url_path="bulk-upsert", url_name="bulk-upsert",
            parser_classes=[JSONParser, CSVRowsParser])
    def bulk_upsert(self, request: Request) -> Response:
        """``member_id`` is hashed on arrival and never stored; the claims of the patients named are re-linked."""
        return _bulk(request, "admissions")

    @extend_schema(summary="Re-link every admission to its claims", request=None,
                   responses={200: {"type": "object", "properties": {"claims_linked": {"type": "integer"}}}},
                   description="Set-based: a claim of the same patient hash and program whose service dates fall in "
                               "the stay. Run after loading claims.")
    @action(detail=False, methods=["post"], url_path="link-claims", url_name="link-claims")
    def link_claims(self, request: Request) -> Response:
        return Response({"claims_linked": services.admission_claims_link()})

    @extend_schema(summary="An admission's claims, authorizations and authorization denials",
                   responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def claims(self, request: Request, pk: str) -> Response:
        admission = self.get_object()
        claims = list(admission.claim_links.select_related("claim").values(
            "claim_id", "claim__patient_control_number", "claim__service_from", "claim__service_to", "claim__charge",
            "claim__frequency"))
        auths = serializers.AuthorizationSerializer(
            authorizations_with_usage(admission.authorizations.all()), many=True).data
        return Response({"claims": plain(claims), "authorizations": auths,
                         "authorization_denials": plain(authorization_denials(admission=admission))})


# -- authorizations --------------------------------------------------------------------------------

class AuthorizationFilter(filters.FilterSet):
    admission = filters.ModelChoiceFilter(queryset=Admission.objects.all())
    payer = filters.ModelChoiceFilter(queryset=Payer.objects.all())
    active_on = filters.DateFilter(method="filter_active_on", label="In force on this day.")

    class Meta:
        model = Authorization
        fields = ["auth_number", "admission", "payer", "level_of_care", "unit_kind", "active_on"]

    def filter_active_on(self, qs: QuerySet[Authorization], name: str, value: dt.date) -> QuerySet[Authorization]:
        return qs.filter(starts_on__lte=value, ends_on__gte=value)


@extend_schema_view(
    list=extend_schema(summary="List authorizations with units used",
                       description="`units_used`: distinct service dates (days) or claim-line units (units) of the "
                                   "admission's linked claims within the authorization's dates. `?format=csv|xlsx`."),
    retrieve=extend_schema(summary="Read an authorization"),
    create=extend_schema(summary="Add an authorization"),
    update=extend_schema(summary="Replace an authorization"),
    partial_update=extend_schema(summary="Change an authorization (e.g. after a concurrent review)"),
    destroy=extend_schema(summary="Delete an authorization"),
)
class AuthorizationViewSet(ApiViewMixin, viewsets.ModelViewSet):
    access_resource = ADMISSIONS
    access_actions = {"bulk_upsert": CHANGE}
    queryset = Authorization.objects.all()
    serializer_class = serializers.AuthorizationSerializer
    filterset_class = AuthorizationFilter
    search_fields = ["auth_number", "admission__external_id"]
    ordering_fields = ["starts_on", "ends_on", "next_review_on", "id"]

    def get_queryset(self) -> QuerySet[Authorization]:
        return authorizations_with_usage(super().get_queryset())

    def _save(self, serializer: Any, instance: Authorization | None) -> None:
        data = {**({} if instance is None else {
            "admission": instance.admission, "payer": instance.payer, "level_of_care": instance.level_of_care,
            "auth_number": instance.auth_number, "unit_kind": instance.unit_kind,
            "units_granted": instance.units_granted, "starts_on": instance.starts_on, "ends_on": instance.ends_on,
            "next_review_on": instance.next_review_on, "note": instance.note}), **serializer.validated_data}
        for required in ("auth_number", "units_granted", "starts_on", "ends_on"):
            if data.get(required) in (None, ""):
                raise exceptions.ValidationError({required: ["This field is required."]})
        serializer.instance = services.authorization_save(
            admission=data["admission"], auth_number=data["auth_number"], units_granted=data["units_granted"],
            starts_on=data["starts_on"], ends_on=data["ends_on"], unit_kind=data.get("unit_kind") or "days",
            level_of_care=data.get("level_of_care") or "", payer=data.get("payer"),
            next_review_on=data.get("next_review_on"), note=data.get("note") or "", source="api",
            authorization=instance)
        serializer.instance = authorizations_with_usage().get(pk=serializer.instance.pk)

    def perform_create(self, serializer: Any) -> None:
        self._save(serializer, None)

    def perform_update(self, serializer: Any) -> None:
        self._save(serializer, serializer.instance)

    @_bulk_schema("authorizations", AuthorizationRowSerializer, "authorizations")
    @action(detail=False, methods=["post"], url_path="bulk-upsert", url_name="bulk-upsert",
            parser_classes=[JSONParser, CSVRowsParser])
    def bulk_upsert(self, request: Request) -> Response:
        return _bulk(request, "authorizations")

    @extend_schema(summary="Reviews due this week (and overdue)",
                   parameters=[OpenApiParameter("today", OpenApiTypes.DATE, description="Default today.")],
                   description="Next review in the week (Monday-Sunday) of `today`, or past while the authorization "
                               "still runs. `?format=csv|xlsx`.")
    @action(detail=False, methods=["get"], url_path="reviews-due", url_name="reviews-due")
    def reviews_due(self, request: Request) -> Response:
        today = _date_param(request, "today") or timezone.localdate()
        return Response(self.get_serializer(reviews_due(today=today), many=True).data)

    @extend_schema(summary="Denials for missing or exhausted authorization, linked to admission and authorization",
                   responses={200: OpenApiTypes.OBJECT},
                   description="Counted denials of linked claims in category `authorization` or with CARC 15, 62, "
                               "197, 198; `kind` is `exceeded` (CARC 198, or the covering authorization is used up) "
                               "or `absent`. `?format=csv|xlsx`.")
    @action(detail=False, methods=["get"])
    def denials(self, request: Request) -> Response:
        return Response(plain(authorization_denials()))


def _date_param(request: Request, name: str) -> dt.date | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise exceptions.ValidationError({name: ["Expected a date, YYYY-MM-DD."]}) from None


# -- intake rules, the check, violations -----------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List intake rules", description="`?format=csv|xlsx` exports."),
    retrieve=extend_schema(summary="Read an intake rule"),
    create=extend_schema(summary="Add an intake rule",
                         description="Name a `program`, or else a `level_of_care`; empty `plan_name` = every plan. "
                                     "Two rules for the same payer, plan and target may not overlap in time."),
    update=extend_schema(summary="Replace an intake rule"),
    partial_update=extend_schema(summary="Change an intake rule"),
    destroy=extend_schema(summary="Delete an intake rule"),
)
class IntakeRuleViewSet(ApiViewMixin, viewsets.ModelViewSet):
    access_resource = RULES
    queryset = IntakeRule.objects.select_related("payer", "program")
    serializer_class = serializers.IntakeRuleSerializer
    filterset_fields = ["payer", "program", "level_of_care", "decision"]
    ordering_fields = ["effective_from", "id"]

    def _save(self, serializer: Any) -> None:
        instance = serializer.instance
        data = {k: getattr(instance, k) for k in ("payer", "plan_name", "program", "level_of_care", "decision",
                                                   "effective_from", "effective_to", "reason")} if instance else {}
        data.update(serializer.validated_data)
        for required in ("payer", "decision", "effective_from"):
            if data.get(required) in (None, ""):
                raise exceptions.ValidationError({required: ["This field is required."]})
        serializer.instance = services.intake_rule_save(
            payer=data["payer"], decision=data["decision"], effective_from=data["effective_from"],
            program=data.get("program"), level_of_care=data.get("level_of_care") or "",
            plan_name=data.get("plan_name") or "", effective_to=data.get("effective_to"),
            reason=data.get("reason") or "", rule=instance)

    def perform_create(self, serializer: Any) -> None:
        self._save(serializer)

    def perform_update(self, serializer: Any) -> None:
        self._save(serializer)

    def perform_destroy(self, instance: IntakeRule) -> None:
        services.intake_rule_delete(rule=instance)


class IntakeCheckView(ApiViewMixin, APIView):
    access_resource = RULES

    @extend_schema(summary="Intake check: allowed or not, why, expected net revenue and denial risk",
                   parameters=[serializers.IntakeCheckQuerySerializer], responses=serializers.IntakeCheckSerializer,
                   description="The rule in force for the payer, plan and program on `on` (or the default: allowed "
                               "with authorization), the organization's observed net revenue per patient-day and "
                               "denial rate at the first level with enough data (payer x program, payer, program, "
                               "organization), and expected net revenue = per patient-day x `expected_los_days`.")
    def get(self, request: Request) -> Response:
        query = serializers.IntakeCheckQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        result = intake_check(payer=q.get("payer"), program=q["program"], plan_name=q.get("plan_name") or "",
                              expected_los_days=q.get("expected_los_days"), on=q.get("on") or timezone.localdate())
        return Response(serializers.IntakeCheckSerializer(result).data)


class ViolationsView(ApiViewMixin, APIView):
    access_resource = RULES

    @extend_schema(summary="Admissions that broke the intake rule in force, and what they cost",
                   parameters=[OpenApiParameter("start", OpenApiTypes.DATE), OpenApiParameter("end", OpenApiTypes.DATE),
                               OpenApiParameter("program", OpenApiTypes.INT),
                               OpenApiParameter("payer", OpenApiTypes.INT)],
                   responses={200: OpenApiTypes.OBJECT},
                   description="`violation`: `not_allowed`, or `no_authorization` (allowed with authorization, and "
                               "no authorization of the admission covers its admission day). `denied` and "
                               "`written_off` are the dollars of the counted denials of its claims. `?format=csv`.")
    def get(self, request: Request) -> Response:
        return Response(plain(violations(start=_date_param(request, "start"), end=_date_param(request, "end"),
                                         program_id=_int_param(request, "program"),
                                         payer_id=_int_param(request, "payer"))))


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise exceptions.ValidationError({name: ["Expected an id."]}) from None


# -- program costs and profitability ---------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List program costs", description="`?format=csv|xlsx` exports."),
    retrieve=extend_schema(summary="Read a program cost"),
    create=extend_schema(summary="Set a program's cost of a category in a month (replaces what was there)"),
    update=extend_schema(summary="Replace a program cost"),
    partial_update=extend_schema(summary="Change a program cost"),
    destroy=extend_schema(summary="Delete a program cost"),
)
class ProgramCostViewSet(ApiViewMixin, viewsets.ModelViewSet):
    access_resource = ADMISSIONS
    access_actions = {"bulk_upsert": CHANGE}
    queryset = ProgramCost.objects.select_related("program")
    serializer_class = serializers.ProgramCostSerializer
    filterset_fields = ["program", "month", "category"]
    ordering_fields = ["month", "amount", "id"]

    @_bulk_schema("program_costs", ProgramCostRowSerializer, "program costs")
    @action(detail=False, methods=["post"], url_path="bulk-upsert", url_name="bulk-upsert",
            parser_classes=[JSONParser, CSVRowsParser])
    def bulk_upsert(self, request: Request) -> Response:
        return _bulk(request, "program_costs")


class ProfitabilityQuerySerializer(drf_serializers.Serializer):
    start = drf_serializers.DateField(required=False, help_text="Default: January 1 of last year.")
    end = drf_serializers.DateField(required=False, help_text="Default: the end of this month.")
    grain = drf_serializers.ChoiceField(choices=["month", "quarter", "total"], default="month")
    program = drf_serializers.PrimaryKeyRelatedField(queryset=Program.objects.all(), required=False, allow_null=True)


class ProfitabilityView(ApiViewMixin, APIView):
    access_resource = ADMISSIONS

    @extend_schema(summary="Program profitability per program and month, quarter or range",
                   parameters=[ProfitabilityQuerySerializer], responses={200: OpenApiTypes.OBJECT},
                   description="Admissions, patient-days, length of stay, gross charges, net revenue on paper and "
                               "after denials, direct and UR cost, margin per patient-day and per admission "
                               "(definitions in docs/intake.md). `?format=csv|xlsx`.")
    def get(self, request: Request) -> Response:
        query = ProfitabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        today = timezone.localdate()
        rows = program_profitability(start=q.get("start") or dt.date(today.year - 1, 1, 1), end=q.get("end") or today,
                                     grain=q["grain"], program_ids=[q["program"].pk] if q.get("program") else None)
        return Response(plain([r.as_dict() for r in rows]))


router = SimpleRouter()
router.register("admissions", AdmissionViewSet, basename="api-intake-admission")
router.register("authorizations", AuthorizationViewSet, basename="api-intake-authorization")
router.register("rules", IntakeRuleViewSet, basename="api-intake-rule")
router.register("program-costs", ProgramCostViewSet, basename="api-intake-program-cost")

api_urlpatterns = [
    path("check/", IntakeCheckView.as_view(), name="api-intake-check"),
    path("violations/", ViolationsView.as_view(), name="api-intake-violations"),
    path("profitability/", ProfitabilityView.as_view(), name="api-intake-profitability"),
    *router.urls,
]
