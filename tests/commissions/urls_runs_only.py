"""The project's URLs plus the commission run routes, for tests that run before commissions/urls.py includes
``commissions.routes_runs`` (harmless after: the same names reverse to the same paths)."""
from django.urls import include, path

from commissions import routes_runs
from revops import urls as project_urls

urlpatterns = [
    path("commissions/", include(routes_runs.PAGE_URLS)),
    path("api/v1/commissions/", include(routes_runs.API_URLS)),
    *project_urls.urlpatterns,
]
