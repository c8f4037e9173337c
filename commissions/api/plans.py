"""REST API of the plan builder (resource ``commissions``): plans, versions (activate, retire), components
(compliance sign-off), plan assignments (end) and credit rules.

Every write goes through ``commissions.services.plans`` (audited; a refusal is a 400 with the service's message).
Activating a version, retiring one and recording a sign-off need the approve right (executives and admins); the
other writes the change right (admins, analysts, integrators); everyone with access reads. Lists export with
``?format=csv|xlsx``. A rep acknowledges their plan document on its page (reps have no access to this API).
"""
from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from revops.access import APPROVE, CHANGE
from revops.api.base import ApiViewMixin, request_user
from revops.models import Person

from .. import serializers
from ..models import (
    CompPlan,
    CompPlanVersion,
    Component,
    ComponentKind,
    CreditRule,
    CreditRuleKind,
    PlanAssignment,
    VersionStatus,
)
from ..services import plans as services

RESOURCE = "commissions"
DRAFT_NOTE = "Only a draft version changes (400 otherwise): create a new version, a copy, to change an active one."
REFUSED = OpenApiResponse(description="Refused by the plan rules; the message says why.")


class PlanFilter(filters.FilterSet):
    class Meta:
        model = CompPlan
        fields = ["name"]


@extend_schema_view(
    list=extend_schema(summary="List compensation plans", description="Each with its versions (newest first). "
                       "`?format=csv|xlsx` exports every row the filters select."),
    retrieve=extend_schema(summary="Read a compensation plan"),
    create=extend_schema(summary="Create a compensation plan", description="A name unique in the organization; "
                         "add versions (dates and components) next."),
    update=extend_schema(summary="Rename or describe a plan"),
    partial_update=extend_schema(summary="Rename or describe a plan"),
    destroy=extend_schema(summary="Delete a plan", responses={204: None, 400: REFUSED},
                          description="Only a plan nobody was assigned to and that never had an active version."),
)
class CommissionPlanViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """Compensation plans: effective-dated versions of components, and who is paid under them."""

    access_resource = RESOURCE
    queryset = CompPlan.objects.prefetch_related("versions").order_by("name")
    serializer_class = serializers.CommissionPlanSerializer
    filterset_class = PlanFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "id"]

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.plan_create(**serializer.validated_data)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.plan_update(plan=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: CompPlan) -> None:
        services.plan_delete(plan=instance)


class VersionFilter(filters.FilterSet):
    plan = filters.ModelChoiceFilter(queryset=CompPlan.objects.all())
    status = filters.ChoiceFilter(choices=VersionStatus.choices)
    in_force_on = filters.DateFilter(method="filter_in_force_on", label="Active and in force on this date")

    class Meta:
        model = CompPlanVersion
        fields = ["plan", "status"]

    def filter_in_force_on(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        return queryset.filter(status=VersionStatus.ACTIVE, effective_from__lte=value).filter(
            Q(effective_to__isnull=True) | Q(effective_to__gt=value))


@extend_schema_view(
    list=extend_schema(summary="List plan versions", description="Filter by `plan`, `status`, or `in_force_on` "
                       "(the active version of each plan on a date). `?format=csv|xlsx` exports them."),
    retrieve=extend_schema(summary="Read a version with its components",
                           responses=serializers.CommissionVersionDetailSerializer),
    create=extend_schema(summary="Create a draft version (optionally a copy)",
                         description="Numbered after the plan's last version. `copy_from` copies a version's "
                                     "components with their tiers and rates, not their compliance sign-offs."),
    update=extend_schema(summary="Change a draft's dates, cap, quota basis or notes", description=DRAFT_NOTE),
    partial_update=extend_schema(summary="Change a draft's dates, cap, quota basis or notes", description=DRAFT_NOTE),
    destroy=extend_schema(summary="Delete a draft version", responses={204: None, 400: REFUSED}),
)
class CommissionVersionViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """Versions of a plan: in force from `effective_from` until `effective_to` (exclusive) once active."""

    access_resource = RESOURCE
    access_actions = {"activate": APPROVE, "retire": APPROVE}
    queryset = CompPlanVersion.objects.select_related("plan", "created_by", "activated_by").annotate(
        component_count=Count("components")).order_by("plan__name", "-version")
    serializer_class = serializers.CommissionPlanVersionSerializer
    filterset_class = VersionFilter
    ordering_fields = ["version", "effective_from", "created_at", "id"]

    def get_serializer_class(self) -> Any:
        if self.action == "retrieve":
            return serializers.CommissionVersionDetailSerializer
        return serializers.CommissionPlanVersionSerializer

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.version_create(**serializer.validated_data, user=request_user(self.request))

    def perform_update(self, serializer: Any) -> None:
        data = {k: v for k, v in serializer.validated_data.items() if k not in ("plan", "copy_from")}
        serializer.instance = services.version_update(version=serializer.instance, **data)

    def perform_destroy(self, instance: CompPlanVersion) -> None:
        services.version_delete(version=instance)

    def _detail(self, version: CompPlanVersion) -> dict[str, Any]:
        fresh = self.get_queryset().get(pk=version.pk)
        return serializers.CommissionVersionDetailSerializer(fresh, context=self.get_serializer_context()).data

    @extend_schema(
        summary="Activate a draft version (executives and admins)", request=None,
        responses={200: serializers.CommissionActivationSerializer, 400: REFUSED},
        description="Refused when the version has no components, or when a component flagged under EKRA "
                    "(18 U.S.C. § 220) and the Anti-Kickback Statute has no compliance sign-off (the message names "
                    "them). The plan's active versions it overlaps are ended on its `effective_from`, or retired "
                    "when they start on or after it; `changes` says which.")
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str) -> Response:
        version = self.get_object()
        changes = services.version_activate(version=version, user=request_user(request))
        return Response({"version": self._detail(version), "changes": changes})

    @extend_schema(summary="Retire an active version (executives and admins)", request=None,
                   responses={200: serializers.CommissionVersionDetailSerializer, 400: REFUSED},
                   description="It stops paying; its plan pays nothing on its dates until another version is active.")
    @action(detail=True, methods=["post"])
    def retire(self, request: Request, pk: str) -> Response:
        version = services.version_retire(version=self.get_object())
        return Response(self._detail(version))


class ComponentFilter(filters.FilterSet):
    version = filters.ModelChoiceFilter(queryset=CompPlanVersion.objects.all())
    plan = filters.ModelChoiceFilter(field_name="version__plan", queryset=CompPlan.objects.all())
    kind = filters.ChoiceFilter(choices=ComponentKind.choices)

    class Meta:
        model = Component
        fields = ["version", "plan", "kind", "basis"]


COMPONENT_RULES = (
    "Per kind (docs/commissions.md): a flat commission needs `rate` (or `service_line_rates`); a tiered one "
    "`tiers` [{from, rate}] ascending from 0; a bonus `tiers` [{from, amount}] on attainment %; a SPIFF "
    "`spiff_start` <= `spiff_end` and a `unit_amount` or `rate`. `hold_pct` is 0-100 (with `hold_days`); a custom "
    "basis needs `custom_basis`. Changing a signed-off component withdraws its sign-off. " + DRAFT_NOTE)


@extend_schema_view(
    list=extend_schema(summary="List components", description="Filter by `version`, `plan`, `kind`, `basis`. Each "
                       "says whether it is EKRA-flagged and signed off. `?format=csv|xlsx` exports them."),
    retrieve=extend_schema(summary="Read a component"),
    create=extend_schema(summary="Add a component to a draft version", description=COMPONENT_RULES),
    update=extend_schema(summary="Replace a draft's component", description=COMPONENT_RULES),
    partial_update=extend_schema(summary="Change a draft's component", description=COMPONENT_RULES),
    destroy=extend_schema(summary="Remove a component from a draft", responses={204: None, 400: REFUSED}),
)
class CommissionComponentViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """Components of plan versions: commissions on credited amounts, attainment bonuses, SPIFFs."""

    access_resource = RESOURCE
    access_actions = {"signoff": APPROVE}
    queryset = Component.objects.select_related("version__plan", "service_line").order_by("version", "order", "id")
    serializer_class = serializers.CommissionComponentSerializer
    filterset_class = ComponentFilter
    search_fields = ["name"]
    ordering_fields = ["order", "name", "id"]

    def perform_create(self, serializer: Any) -> None:
        data = serializers.service_fields(serializer.validated_data, drop=("version",))
        serializer.instance = services.component_save(version=serializer.validated_data["version"], **data)

    def perform_update(self, serializer: Any) -> None:
        component = serializer.instance
        data = serializers.service_fields(serializer.validated_data, drop=("version",))
        serializer.instance = services.component_save(version=component.version, component=component, **data)

    def perform_destroy(self, instance: Component) -> None:
        services.component_delete(component=instance)

    @extend_schema(
        summary="Record a compliance sign-off on a flagged component (executives and admins)",
        request=serializers.CommissionSignoffRequestSerializer,
        responses={201: serializers.ComplianceSignoffSerializer, 400: REFUSED},
        description="Only for a component flagged under EKRA / the Anti-Kickback Statute (an EKRA-covered "
                    "organization, a component paying on referrals, tests, amounts billed or collected), once. "
                    "Needs a signed-in user (who signs and when are kept) and the reason.")
    @action(detail=True, methods=["post"])
    def signoff(self, request: Request, pk: str) -> Response:
        component = self.get_object()
        body = serializers.CommissionSignoffRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        signoff = services.signoff_record(component=component, user=request_user(request),
                                          reason=body.validated_data["reason"])
        return Response(serializers.ComplianceSignoffSerializer(signoff).data, status=status.HTTP_201_CREATED)


class AssignmentFilter(filters.FilterSet):
    plan = filters.ModelChoiceFilter(queryset=CompPlan.objects.all())
    person = filters.ModelChoiceFilter(queryset=Person.objects.all())
    active_on = filters.DateFilter(method="filter_active_on", label="Assignments in force on this date")

    class Meta:
        model = PlanAssignment
        fields = ["plan", "person"]

    def filter_active_on(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        return queryset.filter(effective_from__lte=value).filter(
            Q(effective_to__isnull=True) | Q(effective_to__gt=value))


ASSIGNMENT_RULES = ("A person is on one plan at a time: dates overlapping another assignment of the person are "
                    "refused (400, naming it). A change of plan, dates, quota or draw clears the acknowledgment.")


@extend_schema_view(
    list=extend_schema(summary="List plan assignments", description="Filter by `plan`, `person`, `active_on`. "
                       "`?format=csv|xlsx` exports them."),
    retrieve=extend_schema(summary="Read a plan assignment"),
    create=extend_schema(summary="Put a person on a plan", description=ASSIGNMENT_RULES),
    update=extend_schema(summary="Replace a plan assignment", description=ASSIGNMENT_RULES),
    partial_update=extend_schema(summary="Change a plan assignment", description=ASSIGNMENT_RULES),
    destroy=extend_schema(summary="Remove an assignment made by mistake (to stop paying, end it instead)"),
)
class PlanAssignmentViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """Who is paid under which plan, when, with what quota and draw; and their acknowledgment."""

    access_resource = RESOURCE
    access_actions = {"end": CHANGE}
    queryset = PlanAssignment.objects.select_related("person", "plan", "acknowledged_by").order_by(
        "person__last_name", "person__first_name", "effective_from")
    serializer_class = serializers.PlanAssignmentSerializer
    filterset_class = AssignmentFilter
    ordering_fields = ["effective_from", "id"]

    def _save(self, serializer: Any, assignment: PlanAssignment | None) -> None:
        data = serializer.validated_data
        current = (lambda k, default=None: data.get(k, getattr(assignment, k) if assignment else default))
        serializer.instance = services.assignment_save(
            person=current("person"), plan=current("plan"), effective_from=current("effective_from"),
            effective_to=current("effective_to"), quota_amount=current("quota_amount"),
            draw_amount=current("draw_amount", 0), draw_recoverable=current("draw_recoverable", True),
            draw_until=current("draw_until"), assignment=assignment)

    def perform_create(self, serializer: Any) -> None:
        self._save(serializer, None)

    def perform_update(self, serializer: Any) -> None:
        self._save(serializer, serializer.instance)

    def perform_destroy(self, instance: PlanAssignment) -> None:
        services.assignment_delete(assignment=instance)

    @extend_schema(summary="End an assignment", request=serializers.CommissionAssignmentEndSerializer,
                   responses={200: serializers.PlanAssignmentSerializer, 400: REFUSED})
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str) -> Response:
        assignment = self.get_object()
        body = serializers.CommissionAssignmentEndSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.assignment_end(assignment=assignment, effective_to=body.validated_data["effective_to"])
        return Response(serializers.PlanAssignmentSerializer(assignment).data)


class CreditRuleFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=CreditRuleKind.choices)

    class Meta:
        model = CreditRule
        fields = ["kind", "basis", "is_active"]


CREDIT_RULES = ("Team credit (every other member of the credited person's team), overlays (covering the owner's "
                "territory) or manager overrides `level` steps up the reporting line each get `share` x the "
                "credited amount; an empty `basis` applies to every basis. One rule per kind, level and basis.")


@extend_schema_view(
    list=extend_schema(summary="List credit rules", description="`?format=csv|xlsx` exports them."),
    retrieve=extend_schema(summary="Read a credit rule"),
    create=extend_schema(summary="Add a credit rule", description=CREDIT_RULES),
    update=extend_schema(summary="Replace a credit rule", description=CREDIT_RULES),
    partial_update=extend_schema(summary="Change a credit rule", description=CREDIT_RULES),
    destroy=extend_schema(summary="Delete a credit rule"),
)
class CreditRuleViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """Credit beyond the owner's: team credit, overlays, manager overrides."""

    access_resource = RESOURCE
    queryset = CreditRule.objects.all()
    serializer_class = serializers.CreditRuleSerializer
    filterset_class = CreditRuleFilter
    search_fields = ["name"]
    ordering_fields = ["kind", "level", "name", "id"]

    def _save(self, serializer: Any, rule: CreditRule | None) -> None:
        data = serializer.validated_data
        current = (lambda k, default=None: data.get(k, getattr(rule, k) if rule else default))
        serializer.instance = services.credit_rule_save(
            name=current("name"), kind=current("kind"), share=current("share"), level=current("level", 1),
            basis=current("basis", ""), is_active=current("is_active", True), rule=rule)

    def perform_create(self, serializer: Any) -> None:
        self._save(serializer, None)

    def perform_update(self, serializer: Any) -> None:
        self._save(serializer, serializer.instance)

    def perform_destroy(self, instance: CreditRule) -> None:
        services.credit_rule_delete(rule=instance)


router = SimpleRouter()
router.include_format_suffixes = False  # exports use ?format=csv
router.register("plans", CommissionPlanViewSet, basename="api-commissions-plan")
router.register("versions", CommissionVersionViewSet, basename="api-commissions-version")
router.register("components", CommissionComponentViewSet, basename="api-commissions-component")
router.register("assignments", PlanAssignmentViewSet, basename="api-commissions-assignment")
router.register("credit-rules", CreditRuleViewSet, basename="api-commissions-credit-rule")

urlpatterns = router.urls
