"""Commission pages (mounted at ``commissions/``) and the commissions API (mounted at ``api/v1/commissions/``).

Page URL names start with ``commissions_``, API names with ``api-commissions-``. Each area appends its routes to
the two lists below."""
from django.urls import path

from . import routes_disputes, routes_runs
from .api import plans as plan_api
from .views import plans as plan_views

page_urlpatterns = [
    path("", plan_views.plans, name="commissions_plans"),
    path("plans/<int:pk>/", plan_views.plan_detail, name="commissions_plan"),
    path("plans/<int:pk>/delete/", plan_views.plan_delete, name="commissions_plan_delete"),
    path("plans/<int:pk>/versions/new/", plan_views.version_new, name="commissions_version_new"),
    path("plans/<int:pk>/assignments/", plan_views.plan_assignments, name="commissions_plan_assignments"),
    path("versions/<int:pk>/", plan_views.version_builder, name="commissions_version"),
    path("versions/<int:pk>/settings/", plan_views.version_settings, name="commissions_version_settings"),
    path("versions/<int:pk>/components/new/", plan_views.component_new, name="commissions_component_new"),
    path("versions/<int:pk>/activate/", plan_views.version_activate, name="commissions_version_activate"),
    path("versions/<int:pk>/retire/", plan_views.version_retire, name="commissions_version_retire"),
    path("versions/<int:pk>/delete/", plan_views.version_delete, name="commissions_version_delete"),
    path("components/<int:pk>/edit/", plan_views.component_edit, name="commissions_component_edit"),
    path("components/<int:pk>/delete/", plan_views.component_delete, name="commissions_component_delete"),
    path("components/<int:pk>/signoff/", plan_views.component_signoff, name="commissions_component_signoff"),
    path("assignments/<int:pk>/end/", plan_views.assignment_end, name="commissions_assignment_end"),
    path("assignments/<int:pk>/delete/", plan_views.assignment_delete, name="commissions_assignment_delete"),
    path("assignments/<int:pk>/document/", plan_views.plan_document, name="commissions_plan_document"),
    path("assignments/<int:pk>/acknowledge/", plan_views.plan_acknowledge, name="commissions_plan_acknowledge"),
    path("my-plan/", plan_views.my_plan, name="commissions_my_plan"),
    path("credit-rules/", plan_views.credit_rules, name="commissions_credit_rules"),
    path("credit-rules/<int:pk>/", plan_views.credit_rule_edit, name="commissions_credit_rule_edit"),
    path("credit-rules/<int:pk>/delete/", plan_views.credit_rule_delete, name="commissions_credit_rule_delete"),
    *routes_runs.PAGE_URLS,
    *routes_disputes.PAGE_URLS,
]

api_urlpatterns = [
    *plan_api.urlpatterns,
    *routes_runs.API_URLS,
    *routes_disputes.API_URLS,
]
