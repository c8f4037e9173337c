"""Quota pages (mounted at ``quotas/``): plans, the allocation workbench with its htmx edits, import and
export, reconciliation of bottom-up and top-down, attainment, a node's history, seasonality profiles."""
from django.urls import path

from .attainment import attainment, attainment_refresh
from .history import quota_history
from .imports import plan_import, plan_import_template
from .plans import plan_activate, plan_approve, plan_delete, plan_return_to_draft, plans
from .reconcile import bottom_up_accept, bottom_up_submit, reconcile
from .seasonality import seasonality, seasonality_edit, seasonality_learn
from .workbench import plan_export, plan_rebuild, plan_settings, quota_custom_basis, quota_override, workbench

urlpatterns = [
    path("", plans, name="quotas_plans"),
    path("plans/<int:pk>/", workbench, name="quotas_plan"),
    path("plans/<int:pk>/settings/", plan_settings, name="quotas_plan_settings"),
    path("plans/<int:pk>/rebuild/", plan_rebuild, name="quotas_plan_rebuild"),
    path("plans/<int:pk>/export/", plan_export, name="quotas_plan_export"),
    path("plans/<int:pk>/import/", plan_import, name="quotas_plan_import"),
    path("plans/<int:pk>/import/template/", plan_import_template, name="quotas_plan_import_template"),
    path("plans/<int:pk>/approve/", plan_approve, name="quotas_plan_approve"),
    path("plans/<int:pk>/activate/", plan_activate, name="quotas_plan_activate"),
    path("plans/<int:pk>/return-to-draft/", plan_return_to_draft, name="quotas_plan_return"),
    path("plans/<int:pk>/delete/", plan_delete, name="quotas_plan_delete"),
    path("plans/<int:pk>/reconcile/", reconcile, name="quotas_plan_reconcile"),
    path("plans/<int:pk>/attainment/", attainment, name="quotas_plan_attainment"),
    path("plans/<int:pk>/attainment/recompute/", attainment_refresh, name="quotas_plan_attainment_refresh"),
    path("quotas/<int:pk>/override/", quota_override, name="quotas_quota_override"),
    path("quotas/<int:pk>/custom-basis/", quota_custom_basis, name="quotas_quota_custom_basis"),
    path("quotas/<int:pk>/bottom-up/", bottom_up_submit, name="quotas_quota_bottom_up"),
    path("quotas/<int:pk>/accept-bottom-up/", bottom_up_accept, name="quotas_quota_accept"),
    path("quotas/<int:pk>/history/", quota_history, name="quotas_quota_history"),
    path("seasonality/", seasonality, name="quotas_seasonality"),
    path("seasonality/learn/", seasonality_learn, name="quotas_seasonality_learn"),
    path("seasonality/<int:pk>/", seasonality_edit, name="quotas_seasonality_edit"),
]

__all__ = ["urlpatterns"]
