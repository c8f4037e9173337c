"""Billing pages (mounted at ``billing/``) and the RCM API (mounted at ``api/v1/rcm/``)."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, views

router = SimpleRouter()
router.include_format_suffixes = False  # exports use ?format=csv
router.register("claims", api.ClaimViewSet, basename="api-rcm-claim")
router.register("remittances", api.RemittanceViewSet, basename="api-rcm-remittance")
router.register("adjustments", api.AdjustmentViewSet, basename="api-rcm-adjustment")
router.register("denials", api.DenialViewSet, basename="api-rcm-denial")
router.register("kpis", api.KpiViewSet, basename="api-rcm-kpi")
router.register("feeds", api.FeedViewSet, basename="api-rcm-feed")
router.register("runs", api.IngestionRunViewSet, basename="api-rcm-run")
router.register("quarantine", api.QuarantineViewSet, basename="api-rcm-quarantine")
router.register("files", api.FileUploadViewSet, basename="api-rcm-file")

api_urlpatterns = router.urls

page_urlpatterns = [
    path("", views.dashboard, name="billing_dashboard"),
    path("runs/", views.runs_fragment, name="billing_runs"),
    path("denials/", views.denial_claims, name="billing_denial_claims"),
    path("kpi/<slug:kpi>/", views.kpi_trend_fragment, name="billing_kpi_trend"),
    path("export.csv", views.export, name="billing_export"),
    path("upload/", views.upload, name="billing_upload"),
    path("feeds/", views.feeds, name="billing_feeds"),
    path("feeds/new/", views.feed_new, name="billing_feed_new"),
    path("feeds/<int:pk>/", views.feed_edit, name="billing_feed_edit"),
    path("feeds/<int:pk>/poll/", views.feed_poll, name="billing_feed_poll"),
    path("feeds/<int:pk>/active/", views.feed_active, name="billing_feed_active"),
    path("feeds/<int:pk>/delete/", views.feed_delete, name="billing_feed_delete"),
    path("quarantine/<int:pk>/fix/", views.quarantine_fix, name="billing_quarantine_fix"),
    path("quarantine/<int:pk>/discard/", views.quarantine_discard, name="billing_quarantine_discard"),
]
