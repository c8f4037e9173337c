"""REST API of the shared data (DRF); every endpoint is tenant-scoped and names its resource.

Route names start with ``api-`` (``api-account-list``, ``api-account-detail``, ...) so they never
collide with the pages' names; object ids are the ``pk`` kwarg.
"""
from django.urls import path
from rest_framework.routers import DefaultRouter

from . import organization, schema, views


class Router(DefaultRouter):
    include_format_suffixes = False  # exports use ?format=csv; one route per endpoint
    root_view_name = "api-root"
    APIRootView = organization.ApiRootView


router = Router()

router.register("people", views.PersonViewSet, basename="api-person")
router.register("teams", views.TeamViewSet, basename="api-team")
router.register("reporting-lines", views.ReportingLineViewSet, basename="api-reportingline")
router.register("service-lines", views.ServiceLineViewSet, basename="api-serviceline")
router.register("facilities", views.FacilityViewSet, basename="api-facility")
router.register("programs", views.ProgramViewSet, basename="api-program")
router.register("payers", views.PayerViewSet, basename="api-payer")
router.register("accounts", views.AccountViewSet, basename="api-account")
router.register("memberships", organization.MembershipViewSet, basename="api-membership")
router.register("api-keys", organization.ApiKeyViewSet, basename="api-apikey")
router.register("audit-events", organization.AuditEventViewSet, basename="api-auditevent")
router.register("jobs", organization.JobViewSet, basename="api-job")

urlpatterns = [
    path("schema/", schema.PublicSchemaView.as_view(), name="api-schema"),
    path("docs/", schema.PublicSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", schema.PublicRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("me/", organization.MeView.as_view(), name="api-me"),
    *router.urls,
]
