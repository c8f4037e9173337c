"""Pages of the `scenarios` app (mounted at ``scenarios/``) and its API (mounted at ``api/v1/scenarios/``).

Page URL names start with ``scenarios_``, API names with ``api-scenarios-``."""
from django.urls import path

from . import api, views

page_urlpatterns: list = [
    path("", views.scenario_list, name="scenarios_list"),
    path("new/", views.scenario_new, name="scenarios_new"),
    path("<int:pk>/", views.scenario_detail, name="scenarios_detail"),
    path("<int:pk>/share/", views.scenario_share, name="scenarios_share"),
    path("<int:pk>/recompute/", views.scenario_recompute, name="scenarios_recompute"),
    path("<int:pk>/delete/", views.scenario_delete, name="scenarios_delete"),
]
api_urlpatterns: list = api.urlpatterns
