"""Pages and API of the `analytics` app (mounted in revops/urls.py at /executive/ and /api/v1/analytics/)."""
from django.urls import path

from . import api, views

page_urlpatterns: list = [
    path("", views.dashboard, name="executive_dashboard"),
    path("drill/", views.drill, name="executive_drill"),
]
api_urlpatterns: list = api.urlpatterns
