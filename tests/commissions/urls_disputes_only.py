"""Test URLconf until the lead wires disputes into commissions/urls.py: the project's routes plus the dispute
pages under ``commissions/`` and the dispute API under ``api/v1/commissions/``."""
from django.urls import include, path

from commissions.routes_disputes import API_URLS, PAGE_URLS
from revops.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("api/v1/commissions/", include(API_URLS)),
    path("commissions/", include(PAGE_URLS)),
    *project_urlpatterns,
]
