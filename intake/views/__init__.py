"""Intake pages (mounted at ``intake/``): admissions, authorizations with reviews due, intake rules and the intake
check, violations, program profitability and program costs, and the CSV/Excel imports."""
from django.urls import path

from .admissions import admission_detail, admissions, admissions_link
from .authorizations import authorizations
from .common import import_page, import_template
from .economics import cost_delete, costs, profitability
from .rules import check, rule_delete, rule_edit, rules, violations_page

urlpatterns = [
    path("", admissions, name="intake_admissions"),
    path("admissions/link-claims/", admissions_link, name="intake_admissions_link"),
    path("admissions/<int:pk>/", admission_detail, name="intake_admission"),
    path("authorizations/", authorizations, name="intake_authorizations"),
    path("rules/", rules, name="intake_rules"),
    path("rules/<int:pk>/", rule_edit, name="intake_rule_edit"),
    path("rules/<int:pk>/delete/", rule_delete, name="intake_rule_delete"),
    path("check/", check, name="intake_check"),
    path("violations/", violations_page, name="intake_violations"),
    path("profitability/", profitability, name="intake_profitability"),
    path("costs/", costs, name="intake_costs"),
    path("costs/<int:pk>/delete/", cost_delete, name="intake_cost_delete"),
    path("import/", import_page, name="intake_import"),
    path("import/template/", import_template, name="intake_import_template"),
]

__all__ = ["urlpatterns"]
