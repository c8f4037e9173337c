"""REST API of territory design (resource ``territories``): plans and their lifecycle, territories, rules
(with a CSV import), coverage, assignments (the plan's, or the ownership history on a date), balance, diffs.

Every write goes through ``territories.services`` (audited; a refusal is a 400 with the service's
message). Approving and activating a plan need the approve right (executives and admins); the
rest of the writes the change right (admins, analysts, integrators). Lists export with
``?format=csv|xlsx``.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from revops.access import APPROVE, CHANGE
from revops.api.base import ApiViewMixin
from revops.models import Account

from . import selectors, serializers, services
from .imports import RulesFileError, rules_import
from .models import (
    AccountOwnership,
    AssignmentRule,
    Coverage,
    CoverageRole,
    PlanAssignment,
    Territory,
    TerritoryPlan,
)

RESOURCE = "territories"
EDIT_NOTE = ("Only draft and proposed plans can be edited (an edit of a proposed plan sends it back to draft); "
             "an approved, active or archived plan answers 400: copy it to a new scenario.")


def _user(request: Request) -> Any:
    return request.user if request.user.is_authenticated else None


def _count(qs: QuerySet) -> Coalesce:
    return Coalesce(Subquery(qs.values("plan").annotate(n=Count("id")).values("n")[:1],
                             output_field=IntegerField()), Value(0))


def plans_annotated() -> QuerySet[TerritoryPlan]:
    """Plans with their territory count and assigned / unassigned accounts (one subquery each)."""
    return TerritoryPlan.objects.annotate(
        territory_count=_count(Territory.objects.filter(plan=OuterRef("pk"))),
        accounts_assigned=_count(PlanAssignment.objects.filter(plan=OuterRef("pk"), territory__isnull=False)),
        accounts_unassigned=_count(PlanAssignment.objects.filter(plan=OuterRef("pk"), territory__isnull=True)),
    )


# -- plans -----------------------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List territory plans", description="Scenarios (drafts), proposed, approved, the "
                       "active plan and archived ones, with territory and account counts."),
    retrieve=extend_schema(summary="Read a plan"),
    create=extend_schema(summary="Create a plan (a draft)", description="The name is unique in the organization "
                         "(case-insensitive); `effective_to` is exclusive and after `effective_from`."),
    update=extend_schema(summary="Change a plan's settings", description=EDIT_NOTE),
    partial_update=extend_schema(summary="Change some settings of a plan", description=EDIT_NOTE),
    destroy=extend_schema(summary="Delete a draft, proposed or approved plan",
                          responses={204: None, 400: OpenApiResponse(description="Active and archived plans are "
                                                                     "part of the ownership history and are kept.")}),
)
class PlanViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """Territory plans: scenarios with effective dates, approved by an executive or admin, then activated."""

    access_resource = RESOURCE
    access_actions = {"approve": APPROVE, "activate": APPROVE, "propose": CHANGE, "return_to_draft": CHANGE,
                      "copy": CHANGE}  # balance_runs: GET views, POST changes (by method)
    queryset = plans_annotated().select_related("based_on")
    serializer_class = serializers.PlanSerializer
    filterset_fields = ["status", "potential_basis"]
    search_fields = ["name", "description"]
    ordering_fields = ["name", "effective_from", "created_at", "id"]

    def _annotated(self, plan: TerritoryPlan) -> TerritoryPlan:
        return plans_annotated().get(pk=plan.pk)

    def perform_create(self, serializer: serializers.PlanSerializer) -> None:
        plan = services.plan_create(**serializer.validated_data, user=_user(self.request))
        serializer.instance = self._annotated(plan)

    def perform_update(self, serializer: serializers.PlanSerializer) -> None:
        plan = services.plan_update(plan=serializer.instance, **serializer.validated_data)
        serializer.instance = self._annotated(plan)

    def perform_destroy(self, instance: TerritoryPlan) -> None:
        services.plan_delete(plan=instance)

    def _plan_response(self, plan: TerritoryPlan, code: int = status.HTTP_200_OK) -> Response:
        return Response(serializers.PlanSerializer(self._annotated(plan)).data, status=code)

    @extend_schema(summary="Propose a draft for approval", request=None, responses=serializers.PlanSerializer,
                   description="A plan needs at least one territory to be proposed.")
    @action(detail=True, methods=["post"])
    def propose(self, request: Request, pk: str) -> Response:
        return self._plan_response(services.plan_propose(plan=self.get_object()))

    @extend_schema(summary="Send a proposed or approved plan back to draft", request=None,
                   responses=serializers.PlanSerializer)
    @action(detail=True, methods=["post"], url_path="return-to-draft", url_name="return-to-draft")
    def return_to_draft(self, request: Request, pk: str) -> Response:
        return self._plan_response(services.plan_return_to_draft(plan=self.get_object()))

    @extend_schema(summary="Approve a proposed plan (executives and admins)", request=None,
                   responses=serializers.PlanSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        return self._plan_response(services.plan_approve(plan=self.get_object(), user=_user(request)))

    @extend_schema(
        summary="Activate an approved plan (executives and admins)", request=serializers.PlanActivateSerializer,
        responses=serializers.ActivationResultSerializer,
        description="Writes the effective-dated ownership history from `on`: every active account gets the "
                    "territory the plan's rules give it and that territory's primary rep; accounts that move keep "
                    "their old owner for the plan's `holdout_days`. The previously active plan is archived. "
                    "`on` must be later than any ownership history already written.",
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser])
    def activate(self, request: Request, pk: str) -> Response:
        plan = self.get_object()
        body = serializers.PlanActivateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        counts = services.plan_activate(plan=plan, on=body.validated_data.get("on"), user=_user(request))
        return Response(serializers.ActivationResultSerializer({"plan": self._annotated(plan), **counts}).data)

    @extend_schema(summary="Copy a plan to a new scenario (a draft)", request=serializers.PlanCopySerializer,
                   responses={201: serializers.PlanSerializer},
                   description="The copy has the plan's hierarchy, rules and open coverage.")
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser])
    def copy(self, request: Request, pk: str) -> Response:
        plan = self.get_object()
        body = serializers.PlanCopySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        copy = services.plan_copy(plan=plan, name=body.validated_data["name"],
                                  effective_from=body.validated_data.get("effective_from"), user=_user(request))
        return self._plan_response(copy, status.HTTP_201_CREATED)

    @extend_schema(summary="Balance of a plan per leaf territory", responses=serializers.BalanceSerializer,
                   description="Accounts, potential (by the plan's basis), workload (visits a year), share and "
                               "deviation from the mean per leaf territory; the unassigned bucket; CV, max/min ratio "
                               "and largest deviation (docs/territories.md). `?format=csv` exports one row per "
                               "territory and one for the unassigned bucket.")
    @action(detail=True, methods=["get"])
    def balance(self, request: Request, pk: str) -> Response:
        plan = self.get_object()
        balance = selectors.plan_balance(plan=plan)
        if self.is_export():
            rows = [{k: r[k] for k in ("id", "code", "name", "accounts", "potential", "workload", "travel_km", "share",
                                       "deviation_pct", "quota", "actual", "attainment")} for r in balance.territories]
            cents = Decimal("0.01")
            rows.append({"id": None, "code": None, "name": "Unassigned", "accounts": balance.unassigned["accounts"],
                         "potential": Decimal(balance.unassigned["potential"]).quantize(cents),
                         "workload": Decimal(balance.unassigned["workload"]).quantize(cents),
                         "share": None, "deviation_pct": None, "quota": None, "actual": None, "attainment": None})
            return Response(rows)
        data = {"plan": plan.pk, "note": balance.note, "mean": balance.mean, "cv": balance.cv,
                "max_min_ratio": balance.max_min_ratio, "max_deviation_pct": balance.max_deviation_pct,
                "territories": balance.territories,
                "unassigned": {k: balance.unassigned[k] for k in ("accounts", "potential", "workload")}}
        return Response(serializers.BalanceSerializer(data).data)

    @extend_schema(
        summary="Balancing runs of a plan; POST starts one (a job)",
        request=serializers.BalanceStartSerializer,
        responses={200: serializers.BalanceRunSerializer(many=True), 202: serializers.BalanceRunSerializer},
        description="GET lists the plan's optimizer runs (newest first) with the balance before and after. POST "
                    "starts the balancing optimizer on a draft or proposed plan as a Celery job (follow it at "
                    "`/api/v1/jobs/{job}/`): ZIP codes move between the leaf territories so each is within "
                    "`tolerance` of the mean; named accounts, attribute rules and locked ZIPs stay; the answer is "
                    "written into the plan as ZIP rules (docs/territories.md).",
    )
    @action(detail=True, methods=["get", "post"], url_path="balance-runs", url_name="balance-runs",
            parser_classes=[JSONParser, FormParser])
    def balance_runs(self, request: Request, pk: str) -> Response:
        from .balancing import balance_start
        from .models import BalanceRun

        plan = self.get_object()
        if request.method == "GET":
            runs = BalanceRun.objects.filter(plan=plan).select_related("job")
            return Response(serializers.BalanceRunSerializer(runs, many=True).data)
        body = serializers.BalanceStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = balance_start(plan=plan, user=_user(request), **body.validated_data)
        return Response(serializers.BalanceRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="What a plan changes against the active plan (or `against`)",
                   parameters=[serializers.DiffQuerySerializer], responses=serializers.DiffSerializer,
                   description="Accounts whose territory (by code) or primary rep differs, with their potential; "
                               "per rep the potential and accounts gained and lost; disruption = potential moved / "
                               "total potential, in %. `?format=csv` exports the moves (`table=reps`: the per-rep "
                               "totals).")
    @action(detail=True, methods=["get"])
    def diff(self, request: Request, pk: str) -> Response:
        plan = self.get_object()
        query = serializers.DiffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        diff = selectors.plan_diff(plan=plan, against=query.validated_data.get("against"))
        if self.is_export():
            if query.validated_data["table"] == "reps":
                return Response(serializers.RepChangeSerializer(diff["by_rep"], many=True).data)
            return Response(serializers.MoveSerializer(diff["moves"], many=True).data)
        against = diff["against"]
        data = {**diff, "plan": plan.pk, "against": against.pk if against is not None else None}
        return Response(serializers.DiffSerializer(data).data)


# -- territories -----------------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List territories", description="Filter by `plan`; `parent` gives the hierarchy."),
    retrieve=extend_schema(summary="Read a territory"),
    create=extend_schema(summary="Add a territory to a plan", description="Codes are unique per plan. " + EDIT_NOTE),
    update=extend_schema(summary="Change a territory", description=EDIT_NOTE),
    partial_update=extend_schema(summary="Change some fields of a territory", description=EDIT_NOTE),
    destroy=extend_schema(summary="Delete a territory without sub-territories",
                          description="Its rules and coverage go with it; its accounts fall into the unassigned "
                                      "bucket. " + EDIT_NOTE),
)
class TerritoryViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """The hierarchy of a plan (region > area > territory, any depth); accounts are assigned to leaves."""

    access_resource = RESOURCE
    access_actions = {"merge": CHANGE, "split": CHANGE}
    queryset = Territory.objects.select_related("plan")
    serializer_class = serializers.TerritorySerializer
    filterset_fields = ["plan", "parent", "level", "code"]
    search_fields = ["code", "name"]
    ordering_fields = ["code", "name", "id"]

    def perform_create(self, serializer: serializers.TerritorySerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.territory_create(
            plan=data["plan"], code=data["code"], name=data.get("name") or "", parent=data.get("parent"),
            level=data.get("level") or "territory", color=data.get("color") or "")

    def perform_update(self, serializer: serializers.TerritorySerializer) -> None:
        fields = {k: v for k, v in serializer.validated_data.items() if k != "plan"}
        serializer.instance = services.territory_update(territory=serializer.instance, **fields)

    def perform_destroy(self, instance: Territory) -> None:
        services.territory_delete(territory=instance)

    @extend_schema(summary="Merge this territory into another", request=serializers.TerritoryMergeSerializer,
                   responses=serializers.TerritorySerializer,
                   description="Its rules, coverage (a primary rep becomes an overlay) and sub-territories move "
                               "to `into`; this territory is deleted. " + EDIT_NOTE)
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser])
    def merge(self, request: Request, pk: str) -> Response:
        source = self.get_object()
        body = serializers.TerritoryMergeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        target = services.territory_merge(source=source, target=body.validated_data["into"])
        return Response(serializers.TerritorySerializer(target).data)

    @extend_schema(summary="Split a territory: a new sibling takes some of its rules",
                   request=serializers.TerritorySplitSerializer, responses={201: serializers.TerritorySerializer},
                   description=EDIT_NOTE)
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser])
    def split(self, request: Request, pk: str) -> Response:
        territory = self.get_object()
        body = serializers.TerritorySplitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        new = services.territory_split(territory=territory, code=body.validated_data["code"],
                                       name=body.validated_data["name"], rules=body.validated_data["rules"])
        return Response(serializers.TerritorySerializer(new).data, status=status.HTTP_201_CREATED)


# -- rules -----------------------------------------------------------------------------------------

RULES_IMPORT_DESCRIPTION = """Import a CSV of rules into a plan (multipart `file`, or `csv` as text).

Columns (header on line 1): `territory` (code in the plan), `kind` (`account`, `npi`, `service_line`,
`account_type`, `specialty`, `zip`, `zip3`, `county`, `state`, or their labels), `value`, optional
`priority` (default 100) and `locked` (true/false). A kind and value the plan already has re-points
that rule, so importing the same file again changes nothing.

Every row is checked as a single rule would be; `rows` reports each by its `line` in the file with
its `status` (created / updated / failed / not_written) and `errors`. **Default**: the good rows
are saved and the answer is 200 even when some failed. **`?all_or_nothing=true`**: nothing is
saved unless every row is good (400 with the same report). A file that cannot be read as a whole
(missing columns) is a 400 with `detail`.
"""


@extend_schema_view(
    list=extend_schema(summary="List assignment rules", description="Filter by `plan`, `territory`, `kind`."),
    retrieve=extend_schema(summary="Read a rule"),
    create=extend_schema(summary="Add a rule", description="Precedence: named account, NPI, service line, "
                         "account type, specialty, ZIP, ZIP3, county, state; lower `priority` wins within a kind. "
                         + EDIT_NOTE),
    update=extend_schema(summary="Change a rule", description=EDIT_NOTE),
    partial_update=extend_schema(summary="Change some fields of a rule", description=EDIT_NOTE),
    destroy=extend_schema(summary="Delete a rule", description=EDIT_NOTE),
)
class RuleViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """Assignment rules: which accounts each territory gets (the plan's assignments follow at once)."""

    access_resource = RESOURCE
    access_actions = {"bulk": CHANGE}
    queryset = AssignmentRule.objects.select_related("territory")
    serializer_class = serializers.RuleSerializer
    filterset_fields = ["plan", "territory", "kind", "locked"]
    search_fields = ["value"]
    ordering_fields = ["kind", "priority", "value", "id"]

    def perform_create(self, serializer: serializers.RuleSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.rule_save(
            plan=data["plan"], territory=data["territory"], kind=data["kind"], value=data["value"],
            priority=data.get("priority", 100), locked=data.get("locked", False))

    def perform_update(self, serializer: serializers.RuleSerializer) -> None:
        rule: AssignmentRule = serializer.instance
        data = serializer.validated_data
        serializer.instance = services.rule_save(
            plan=rule.plan, territory=data.get("territory", rule.territory), kind=data.get("kind", rule.kind),
            value=data.get("value", rule.value), priority=data.get("priority", rule.priority),
            locked=data.get("locked", rule.locked), rule=rule)

    def perform_destroy(self, instance: AssignmentRule) -> None:
        services.rule_delete(rule=instance)

    @extend_schema(
        summary="Import rules from CSV (row-level errors)", request=serializers.RuleImportSerializer,
        responses={200: serializers.RuleImportResultSerializer, 400: serializers.RuleImportResultSerializer},
        parameters=[OpenApiParameter("all_or_nothing", OpenApiTypes.BOOL, description="Save nothing unless every "
                                     "row is good.")],
        description=RULES_IMPORT_DESCRIPTION,
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser, JSONParser])
    def bulk(self, request: Request) -> Response:
        body = serializers.RuleImportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data.get("file")
        try:
            text = upload.read().decode("utf-8-sig") if upload else body.validated_data["csv"]
        except UnicodeDecodeError:
            raise exceptions.ValidationError({"file": ["The file is not UTF-8 text (save it as CSV UTF-8)."]}) from None
        flag = str(request.query_params.get("all_or_nothing", "")).lower() in ("1", "true", "yes", "on")
        try:
            result = rules_import(plan=body.validated_data["plan"], text=text, all_or_nothing=flag)
        except RulesFileError as exc:
            raise exceptions.ValidationError({"detail": str(exc)}) from None
        failed = flag and result["failed"]
        return Response(serializers.RuleImportResultSerializer(result).data,
                        status=status.HTTP_400_BAD_REQUEST if failed else status.HTTP_200_OK)


# -- coverage --------------------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List coverage", description="Who covers each territory, effective-dated: a person "
                       "or a to-be-hired placeholder, as primary rep or overlay. Filter by `territory`, `plan`, "
                       "`person`, `role`."),
    retrieve=extend_schema(summary="Read a coverage row"),
    create=extend_schema(summary="Assign a rep (or a to-be-hired placeholder) to a territory",
                         description="Give `person` or `placeholder`. A new primary ends the territory's open primary "
                                     "coverage on `valid_from` (or replaces it when it starts that day or later). "
                                     + EDIT_NOTE),
)
class CoverageViewSet(ApiViewMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Coverage of territories by reps and overlay roles."""

    access_resource = RESOURCE
    queryset = Coverage.objects.select_related("territory", "person")
    serializer_class = serializers.CoverageSerializer
    filterset_fields = {"territory": ["exact"], "territory__plan": ["exact"], "person": ["exact"], "role": ["exact"]}
    ordering_fields = ["valid_from", "id"]

    def perform_create(self, serializer: serializers.CoverageSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.coverage_assign(
            territory=data["territory"], person=data.get("person"), placeholder=data.get("placeholder") or "",
            role=data.get("role", CoverageRole.PRIMARY), valid_from=data.get("valid_from"))


# -- assignments -----------------------------------------------------------------------------------

@extend_schema_view(list=extend_schema(
    summary="Account assignments of a plan, or owners on a date",
    parameters=[serializers.AssignmentQuerySerializer],
    description="Without `as_of`: where the plan's rules put every active account (`plan`, default the active "
                "plan; `territory` empty = the unassigned bucket) with the territory's current primary rep. With "
                "`as_of=YYYY-MM-DD`: the effective-dated ownership history on that day (which territory and rep "
                "owned each account, hold-outs included), optionally only rows written by `plan`.",
))
class AssignmentViewSet(ApiViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Which territory and rep each account belongs to."""

    access_resource = RESOURCE
    queryset = PlanAssignment.objects.all()
    serializer_class = serializers.AssignmentSerializer
    filter_backends: list[Any] = []

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = serializers.AssignmentQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        qs, convert = self._history(q) if q.get("as_of") else self._plan(q)
        page = self.paginate_queryset(qs)
        rows = convert(list(page if page is not None else qs))
        data = self.get_serializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @staticmethod
    def _names(account_ids: list[int]) -> dict[int, str]:
        return dict(Account.objects.filter(pk__in=account_ids).values_list("pk", "name"))

    def _history(self, q: dict[str, Any]) -> tuple[QuerySet, Any]:
        qs = AccountOwnership.objects.filter(valid_from__lte=q["as_of"]).exclude(valid_to__lte=q["as_of"])
        for name in ("plan", "territory"):
            if q.get(name) is not None:
                qs = qs.filter(**{name: q[name]})
        if q.get("account") is not None:
            qs = qs.filter(account_id=q["account"])

        def convert(rows: list[AccountOwnership]) -> list[dict[str, Any]]:
            names = self._names([r.account_id for r in rows])
            return [{"account": r.account_id, "account_name": names.get(r.account_id, ""), "plan": r.plan_id,
                     "territory": r.territory_id, "territory_code": r.territory.code if r.territory else None,
                     "rep": r.person_id, "rep_name": str(r.person) if r.person else None, "source": "history",
                     "rule": None, "valid_from": r.valid_from, "valid_to": r.valid_to, "reason": r.reason}
                    for r in rows]

        return qs.select_related("territory", "person").order_by("account_id", "valid_from"), convert

    def _plan(self, q: dict[str, Any]) -> tuple[QuerySet, Any]:
        plan = q.get("plan") or selectors.active_plan()
        if plan is None:
            raise exceptions.ValidationError({"plan": ["No plan is active: name one with `plan`."]})
        qs = PlanAssignment.objects.filter(plan=plan)
        if q.get("territory") is not None:
            qs = qs.filter(territory=q["territory"])
        if q.get("account") is not None:
            qs = qs.filter(account_id=q["account"])
        reps = {c.territory_id: c for c in Coverage.objects.filter(
            territory__plan=plan, role=CoverageRole.PRIMARY, valid_to__isnull=True).select_related("person")}

        def convert(rows: list[PlanAssignment]) -> list[dict[str, Any]]:
            out = []
            for a in rows:
                cov = reps.get(a.territory_id)
                out.append({"account": a.account_id, "account_name": a.account.name, "plan": plan.pk,
                            "territory": a.territory_id, "territory_code": a.territory.code if a.territory else None,
                            "rep": cov.person_id if cov else None,
                            "rep_name": (str(cov.person) if cov.person else cov.placeholder) if cov else None,
                            "source": "plan", "rule": a.rule_id, "valid_from": None, "valid_to": None,
                            "reason": None})
            return out

        return qs.select_related("account", "territory").order_by("account_id"), convert
