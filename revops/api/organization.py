"""Endpoints about the organization itself: members, API keys, the audit trail, jobs, and "me"."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, routers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from revops import selectors, services
from revops.access import ACTIONS, MATRIX, allowed
from revops.authentication import ApiKeyPrincipal
from revops.models import ApiKey, AuditEvent, Job, Membership

from . import filters, serializers
from .base import ApiViewMixin


@extend_schema_view(
    list=extend_schema(summary="List the organization's members and their roles"),
    update=extend_schema(summary="Change a member's role, person record or activity"),
    partial_update=extend_schema(summary="Change a member's role, person record or activity"),
)
class MembershipViewSet(
    ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    """Members are invited from the pages; here an admin reads them and changes role or activity.

    Deactivating (``is_active: false``) removes the user's access to this organization; the
    organization always keeps at least one active admin.
    """

    access_resource = "memberships"
    queryset = Membership.objects.select_related("user")
    serializer_class = serializers.MembershipSerializer
    filterset_class = filters.MembershipFilter
    search_fields = ["user__username", "user__email", "user__first_name", "user__last_name"]
    ordering_fields = ["created_at", "role", "user__username", "id"]

    def perform_update(self, serializer: serializers.MembershipSerializer) -> None:
        membership: Membership = serializer.instance
        data = serializer.validated_data
        serializer.instance = services.membership_upsert(
            user=membership.user,
            role=data.get("role", membership.role),
            person=data.get("person", membership.person),
            is_active=data.get("is_active", membership.is_active),
        )


@extend_schema_view(
    list=extend_schema(summary="List the organization's API keys", description="Hashes are never shown."),
)
class ApiKeyViewSet(
    ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Integrator API keys (admins only): created once with the full key shown, revoked, never shown again."""

    access_resource = "api_keys"
    queryset = ApiKey.objects.select_related("created_by")
    serializer_class = serializers.ApiKeySerializer
    filterset_class = filters.ApiKeyFilter
    search_fields = ["name", "prefix"]
    ordering_fields = ["created_at", "last_used_at", "name", "id"]

    @extend_schema(
        summary="Create an API key",
        description="The answer carries the full key (`key`) once; only its hash is stored. Send it as "
                    "`Authorization: Api-Key <key>`. Keys act with the integrator role.",
        request=serializers.ApiKeySerializer,
        responses={201: serializers.ApiKeyCreatedSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        creator = request.user if isinstance(request.user, get_user_model()) else None
        key, raw = services.api_key_create(name=serializer.validated_data["name"], created_by=creator)
        key.raw_key = raw  # type: ignore[attr-defined]
        response = Response(serializers.ApiKeyCreatedSerializer(key).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(summary="Revoke an API key", request=None, responses=serializers.ApiKeySerializer)
    @action(detail=True, methods=["post"], url_path="revoke", url_name="revoke")
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        key = services.api_key_revoke(api_key=self.get_object())
        return Response(self.get_serializer(key).data)


@extend_schema_view(
    list=extend_schema(
        summary="The audit trail",
        description="Every create, update and delete of planning data: who (user or API key), when, before and "
                    "after. Filter by `model` (e.g. `revops.Account`) and `object_pk` for one record's history.",
    ),
)
class AuditEventViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """The organization's audit trail (admins and executives), newest first."""

    access_resource = "audit"
    queryset = AuditEvent.objects.all()
    serializer_class = serializers.AuditEventSerializer
    filterset_class = filters.AuditEventFilter
    search_fields = ["object_repr", "actor_label"]
    ordering_fields = ["at", "id"]
    ordering = ["-at", "-id"]

    def get_queryset(self) -> Any:
        return selectors.audit_events()


@extend_schema_view(
    list=extend_schema(summary="The organization's jobs", description="Running jobs show their live progress."),
    retrieve=extend_schema(summary="A job, with live progress", description="Poll this while `is_finished` is false."),
)
class JobViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Long-running work (imports, recalculations) and its progress; every role may follow it."""

    access_resource = "jobs"
    queryset = Job.objects.select_related("created_by")
    serializer_class = serializers.JobSerializer
    filterset_class = filters.JobFilter
    search_fields = ["label", "kind"]
    ordering_fields = ["created_at", "finished_at", "status", "id"]


def permissions_of(role: str | None) -> dict[str, list[str]]:
    """The permission-matrix entries for ``role``: resource -> allowed actions."""
    granted = {resource: [a for a in ACTIONS if allowed(role, resource, a)] for resource in MATRIX}
    return {resource: actions for resource, actions in granted.items() if actions}


class MeView(ApiViewMixin, APIView):
    """Who is calling: the user or API key, the organization, the role and what it may do."""

    access_resource = "home"

    @extend_schema(summary="Who is calling", responses=serializers.MeSerializer)
    def get(self, request: Request) -> Response:
        user = request.user
        if isinstance(user, ApiKeyPrincipal):
            principal = {"type": "api_key", "id": user.api_key.pk, "name": user.api_key.name, "email": ""}
            memberships: list[dict[str, Any]] = []
        else:
            principal = {"type": "user", "id": user.pk, "name": user.get_username(), "email": user.email}
            memberships = [{"organization": m.tenant, "role": m.role} for m in getattr(request, "memberships", [])]
        data = {
            "principal": principal,
            "organization": request.tenant,
            "role": request.role,
            "permissions": permissions_of(request.role),
            "memberships": memberships,
        }
        return Response(serializers.MeSerializer(data).data)


class ApiRootView(routers.APIRootView):
    """The API's index in the browsable API: links to every collection."""

    access_resource = "home"
