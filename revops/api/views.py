"""Reference-data endpoints (resource ``reference``): people, hierarchy, teams, payers, accounts."""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from revops import selectors, services
from revops.models import (
    Account,
    Facility,
    Payer,
    Person,
    Program,
    ReportingLine,
    ServiceLine,
    Team,
)

from . import filters, serializers
from .base import BULK_UPSERT_DESCRIPTION, ApiViewMixin, UpsertMixin

UNSET: Any = object()


class ReferenceViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """Reference data: readable by every role but reps; admins, analysts and integrators change it."""

    access_resource = "reference"


@extend_schema_view(
    list=extend_schema(summary="List service lines"),
    create=extend_schema(summary="Create a service line"),
)
class ServiceLineViewSet(ReferenceViewSet):
    """Service lines (e.g. toxicology, behavioral health) that teams and accounts belong to."""

    queryset = ServiceLine.objects.all()
    serializer_class = serializers.ServiceLineSerializer
    filterset_class = filters.ServiceLineFilter
    search_fields = ["name", "code"]
    ordering_fields = ["name", "code", "id"]


@extend_schema_view(list=extend_schema(summary="List teams"), create=extend_schema(summary="Create a team"))
class TeamViewSet(ReferenceViewSet):
    """Sales and account teams; a team may sit under a parent team."""

    queryset = Team.objects.all()
    serializer_class = serializers.TeamSerializer
    filterset_class = filters.TeamFilter
    search_fields = ["name"]
    ordering_fields = ["name", "id"]


@extend_schema_view(list=extend_schema(summary="List facilities"), create=extend_schema(summary="Create a facility"))
class FacilityViewSet(ReferenceViewSet):
    """The organization's facilities (campuses, labs)."""

    queryset = Facility.objects.all()
    serializer_class = serializers.FacilitySerializer
    filterset_class = filters.FacilityFilter
    search_fields = ["name", "npi", "zip_code"]
    ordering_fields = ["name", "state", "zip_code", "id"]


@extend_schema_view(
    list=extend_schema(summary="List programs (levels of care)"),
    create=extend_schema(summary="Create a program"),
)
class ProgramViewSet(ReferenceViewSet):
    """Programs: the levels of care the organization offers (PHP, IOP, ...), 42 CFR Part 2 flagged."""

    queryset = Program.objects.all()
    serializer_class = serializers.ProgramSerializer
    filterset_class = filters.ProgramFilter
    search_fields = ["name", "code"]
    ordering_fields = ["name", "code", "level_of_care", "id"]


@extend_schema_view(list=extend_schema(summary="List payers"), create=extend_schema(summary="Create a payer"))
class PayerViewSet(ReferenceViewSet):
    """Payers (health plans) by class: commercial, Medicare, Medicaid, self-pay, ..."""

    queryset = Payer.objects.all()
    serializer_class = serializers.PayerSerializer
    filterset_class = filters.PayerFilter
    search_fields = ["name", "payer_id"]
    ordering_fields = ["name", "payer_class", "id"]


def _key_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.PATH, description=description)


@extend_schema_view(
    list=extend_schema(summary="List accounts", description="Referral sources and customers. `?format=csv` or "
                       "`?format=xlsx` exports every row the filters select."),
    create=extend_schema(summary="Create an account"),
)
class AccountViewSet(UpsertMixin, ReferenceViewSet):
    """Accounts: referral sources and customers on real US ZIP codes; upsert by CRM external id."""

    queryset = Account.objects.all()
    serializer_class = serializers.AccountSerializer
    filterset_class = filters.AccountFilter
    search_fields = ["name", "city", "county", "npi", "external_id", "specialty"]
    ordering_fields = ["name", "state", "county", "zip_code", "city", "account_type", "specialty", "id"]
    upsert_key = "external_id"

    @extend_schema(
        methods=["GET"], summary="Read an account by its external (CRM) id", responses=serializers.AccountSerializer,
        parameters=[_key_parameter("external_id", "The account's id in the CRM it is synced from.")],
    )
    @extend_schema(
        methods=["PUT"], summary="Create or replace an account by external id",
        description="201 when the account was created, 200 when it was updated. The body is a full account; "
                    "its `external_id` may be left out (the URL's is used) but must not differ.",
        request=serializers.AccountSerializer,
        responses={200: serializers.AccountSerializer, 201: serializers.AccountSerializer},
        parameters=[_key_parameter("external_id", "The account's id in the CRM it is synced from.")],
    )
    @extend_schema(
        methods=["PATCH"], summary="Update some fields of an account found by external id",
        request=serializers.AccountSerializer, responses=serializers.AccountSerializer,
        parameters=[_key_parameter("external_id", "The account's id in the CRM it is synced from.")],
    )
    @action(detail=False, methods=["get", "put", "patch"], url_path=r"by-external-id/(?P<external_id>[^/]+)",
            url_name="by-external-id", parser_classes=[JSONParser])
    def by_external_id(self, request: Request, external_id: str) -> Response:
        return self.by_key(request, external_id)

    @extend_schema(
        summary="Create or update many accounts by external id",
        description=BULK_UPSERT_DESCRIPTION.format(key="external_id", slug="external-id", limit=UpsertMixin.bulk_upsert_limit),
        request=serializers.AccountSerializer(many=True),
        responses={200: serializers.BulkUpsertResultSerializer, 400: serializers.BulkUpsertResultSerializer},
        parameters=[OpenApiParameter("all_or_nothing", OpenApiTypes.BOOL, description="Write nothing unless every row is good.")],
    )
    @action(detail=False, methods=["post"], url_path="bulk-upsert", url_name="bulk-upsert", parser_classes=[JSONParser])
    def bulk_upsert(self, request: Request) -> Response:
        return self.upsert_many(request)


@extend_schema_view(
    list=extend_schema(summary="List people", description="Reps, managers and leaders. `active_on` keeps the people "
                       "employed on a date."),
    create=extend_schema(summary="Create a person"),
    update=extend_schema(description="Setting `termination_date` ends the person's reporting lines the day after."),
    partial_update=extend_schema(description="Setting `termination_date` ends the person's reporting lines the day after."),
)
class PersonViewSet(UpsertMixin, ReferenceViewSet):
    """People: reps, managers and leaders; upsert by HRIS employee id; place in the hierarchy by date."""

    queryset = Person.objects.all()
    serializer_class = serializers.PersonSerializer
    filterset_class = filters.PersonFilter
    search_fields = ["first_name", "last_name", "employee_id", "email", "title"]
    ordering_fields = ["last_name", "first_name", "employee_id", "hire_date", "termination_date", "id"]
    upsert_key = "employee_id"

    def save_serializer(self, serializer: Any) -> Person:
        """Save the person; a new or changed termination date goes through ``person_terminate``."""
        termination = serializer.validated_data.pop("termination_date", UNSET)
        with transaction.atomic():
            person: Person = serializer.save()
            if termination is not UNSET and termination != person.termination_date:
                if termination is None:  # rehired: lines ended at termination stay ended
                    person.termination_date = None
                    person.save(update_fields=["termination_date"])
                else:
                    services.person_terminate(person=person, on=termination)
        return person

    @extend_schema(
        methods=["GET"], summary="Read a person by employee (HRIS) id", responses=serializers.PersonSerializer,
        parameters=[_key_parameter("employee_id", "The person's id in the HRIS.")],
    )
    @extend_schema(
        methods=["PUT"], summary="Create or replace a person by employee id",
        description="201 when the person was created, 200 when updated. `employee_id` may be left out of the body "
                    "(the URL's is used) but must not differ. A termination date ends the reporting lines.",
        request=serializers.PersonSerializer,
        responses={200: serializers.PersonSerializer, 201: serializers.PersonSerializer},
        parameters=[_key_parameter("employee_id", "The person's id in the HRIS.")],
    )
    @extend_schema(
        methods=["PATCH"], summary="Update some fields of a person found by employee id",
        request=serializers.PersonSerializer, responses=serializers.PersonSerializer,
        parameters=[_key_parameter("employee_id", "The person's id in the HRIS.")],
    )
    @action(detail=False, methods=["get", "put", "patch"], url_path=r"by-employee-id/(?P<employee_id>[^/]+)",
            url_name="by-employee-id", parser_classes=[JSONParser])
    def by_employee_id(self, request: Request, employee_id: str) -> Response:
        return self.by_key(request, employee_id)

    @extend_schema(
        summary="Create or update many people by employee id",
        description=BULK_UPSERT_DESCRIPTION.format(key="employee_id", slug="employee-id", limit=UpsertMixin.bulk_upsert_limit),
        request=serializers.PersonSerializer(many=True),
        responses={200: serializers.BulkUpsertResultSerializer, 400: serializers.BulkUpsertResultSerializer},
        parameters=[OpenApiParameter("all_or_nothing", OpenApiTypes.BOOL, description="Write nothing unless every row is good.")],
    )
    @action(detail=False, methods=["post"], url_path="bulk-upsert", url_name="bulk-upsert", parser_classes=[JSONParser])
    def bulk_upsert(self, request: Request) -> Response:
        return self.upsert_many(request)

    def _as_of(self, query_serializer: type[serializers.AsOfQuerySerializer]) -> dict[str, Any]:
        query = query_serializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return {**query.validated_data, "on": query.validated_data.get("on") or timezone.localdate()}

    @extend_schema(
        summary="A person's manager and chain of command on a date",
        parameters=[serializers.AsOfQuerySerializer], responses=serializers.ChainOfCommandSerializer,
    )
    @action(detail=True, methods=["get"], url_path="chain-of-command", url_name="chain-of-command")
    def chain_of_command(self, request: Request, pk: str | None = None) -> Response:
        person = self.get_object()
        on = self._as_of(serializers.AsOfQuerySerializer)["on"]
        chain = selectors.chain_of_command(person=person, on=on)
        data = {"person": person, "on": on, "manager": chain[0] if chain else None, "chain": chain}
        return Response(serializers.ChainOfCommandSerializer(data).data)

    @extend_schema(
        summary="The people reporting to a person on a date (direct, or all levels)",
        parameters=[serializers.ReportsQuerySerializer], responses=serializers.ReportsSerializer,
    )
    @action(detail=True, methods=["get"], url_path="reports", url_name="reports")
    def reports(self, request: Request, pk: str | None = None) -> Response:
        person = self.get_object()
        query = self._as_of(serializers.ReportsQuerySerializer)
        scope = query.get("scope") or "all"
        ids = selectors.reports_of(manager=person, on=query["on"], direct_only=scope == "direct")
        people = Person.objects.filter(pk__in=ids).order_by("last_name", "first_name", "pk")
        data = {"person": person, "on": query["on"], "scope": scope, "reports": people}
        return Response(serializers.ReportsSerializer(data).data)

    @extend_schema(
        summary="Terminate a person",
        description="Sets the termination date and ends the person's open reporting lines the day after.",
        request=serializers.TerminateSerializer, responses=serializers.PersonSerializer,
    )
    @action(detail=True, methods=["post"], url_path="terminate", url_name="terminate")
    def terminate(self, request: Request, pk: str | None = None) -> Response:
        person = self.get_object()
        body = serializers.TerminateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        person = services.person_terminate(person=person, on=body.validated_data["on"])
        return Response(serializers.PersonSerializer(person, context=self.get_serializer_context()).data)


@extend_schema_view(
    list=extend_schema(
        summary="List reporting lines",
        description="Effective-dated: `person` reports to `manager` from `valid_from` until `valid_to` "
                    "(exclusive; open when null). `?on=YYYY-MM-DD` keeps the lines in force that day.",
    ),
    destroy=extend_schema(summary="Delete a reporting line entered by mistake",
                          description="To change a manager, assign a new line instead: history stays."),
)
class ReportingLineViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Lines are history: they are assigned (which closes the line in force) or deleted, not edited."""

    access_resource = "reference"
    queryset = ReportingLine.objects.select_related("person", "manager")
    serializer_class = serializers.ReportingLineSerializer
    filterset_class = filters.ReportingLineFilter
    search_fields = ["person__last_name", "person__first_name", "person__employee_id", "manager__last_name"]
    ordering_fields = ["valid_from", "valid_to", "person__last_name", "id"]

    @extend_schema(
        summary="Assign a manager from a date",
        description="From `valid_from` on, `person` reports to `manager` (services.reporting_line_assign): the line "
                    "in force that day is closed, later (planned) lines are kept, and a manager who reports to "
                    "the person is refused (the hierarchy stays a tree). `manager: null` ends the person's line "
                    "at `valid_from` and answers 204.",
        responses={201: serializers.ReportingLineSerializer, 204: OpenApiResponse(description="Line ended; none created.")},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        line = services.reporting_line_assign(
            person=serializer.validated_data["person"],
            manager=serializer.validated_data["manager"],
            valid_from=serializer.validated_data["valid_from"],
        )
        if line is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(self.get_serializer(line).data, status=status.HTTP_201_CREATED)
