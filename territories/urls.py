"""Territory pages (mounted at ``territories/``) and the territories API (mounted at ``api/v1/territories/``)."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, views

router = SimpleRouter()
router.include_format_suffixes = False  # exports use ?format=csv
router.register("plans", api.PlanViewSet, basename="api-territories-plan")
router.register("territories", api.TerritoryViewSet, basename="api-territories-territory")
router.register("rules", api.RuleViewSet, basename="api-territories-rule")
router.register("coverage", api.CoverageViewSet, basename="api-territories-coverage")
router.register("assignments", api.AssignmentViewSet, basename="api-territories-assignment")

api_urlpatterns = router.urls

page_urlpatterns = [
    path("", views.plans, name="territories_plans"),
    path("ownership/", views.ownership, name="territories_ownership"),
    path("plans/<int:pk>/", views.workspace, name="territories_plan"),
    path("plans/<int:pk>/balance/", views.balance_fragment, name="territories_plan_balance"),
    path("plans/<int:pk>/balance-runs/", views.balance_runs, name="territories_plan_balance_run"),
    path("plans/<int:pk>/export/", views.plan_export, name="territories_plan_export"),
    path("plans/<int:pk>/diff/", views.plan_diff, name="territories_plan_diff"),
    path("plans/<int:pk>/settings/", views.plan_settings, name="territories_plan_settings"),
    path("plans/<int:pk>/copy/", views.plan_copy, name="territories_plan_copy"),
    path("plans/<int:pk>/delete/", views.plan_delete, name="territories_plan_delete"),
    path("plans/<int:pk>/propose/", views.plan_propose, name="territories_plan_propose"),
    path("plans/<int:pk>/return-to-draft/", views.plan_return_to_draft, name="territories_plan_return"),
    path("plans/<int:pk>/approve/", views.plan_approve, name="territories_plan_approve"),
    path("plans/<int:pk>/activate/", views.plan_activate, name="territories_plan_activate"),
    path("plans/<int:pk>/move/", views.edit_move, name="territories_plan_move"),
    path("plans/<int:pk>/split/", views.edit_split, name="territories_plan_split"),
    path("plans/<int:pk>/merge/", views.edit_merge, name="territories_plan_merge"),
    path("plans/<int:pk>/coverage/", views.edit_coverage, name="territories_plan_coverage"),
    path("plans/<int:pk>/territories/", views.edit_territory_add, name="territories_plan_territory_add"),
    path("plans/<int:pk>/rules/", views.edit_rule_add, name="territories_plan_rule_add"),
    path("plans/<int:pk>/rules/import/", views.rules_import, name="territories_plan_rules_import"),
    path("rules/<int:pk>/", views.rule_edit, name="territories_rule_edit"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="territories_rule_delete"),
]
