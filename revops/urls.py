"""Root URL configuration: pages, the API (with its OpenAPI schema) and the admin pages."""
from django.urls import include, path

from analytics import urls as analytics_urls
from commissions import urls as commission_urls
from contracts import urls as contract_urls
from forecasting import urls as forecasting_urls
from intake import urls as intake_urls
from rcm_feeds import urls as rcm_urls
from scenarios import urls as scenario_urls
from quotas import urls as quota_urls
from territories import urls as territory_urls

urlpatterns = [
    path("api/v1/rcm/", include(rcm_urls.api_urlpatterns)),
    path("billing/", include(rcm_urls.page_urlpatterns)),
    path("api/v1/territories/", include(territory_urls.api_urlpatterns)),
    path("territories/", include(territory_urls.page_urlpatterns)),
    path("api/v1/quotas/", include(quota_urls.api_urlpatterns)),
    path("quotas/", include(quota_urls.page_urlpatterns)),
    path("api/v1/forecasting/", include(forecasting_urls.api_urlpatterns)),
    path("forecasting/", include(forecasting_urls.page_urlpatterns)),
    path("api/v1/commissions/", include(commission_urls.api_urlpatterns)),
    path("commissions/", include(commission_urls.page_urlpatterns)),
    path("api/v1/contracts/", include(contract_urls.api_urlpatterns)),
    path("contracts/", include(contract_urls.page_urlpatterns)),
    path("api/v1/intake/", include(intake_urls.api_urlpatterns)),
    path("intake/", include(intake_urls.page_urlpatterns)),
    path("api/v1/analytics/", include(analytics_urls.api_urlpatterns)),
    path("executive/", include(analytics_urls.page_urlpatterns)),
    path("api/v1/scenarios/", include(scenario_urls.api_urlpatterns)),
    path("scenarios/", include(scenario_urls.page_urlpatterns)),
    path("api/v1/", include("revops.api.urls")),
    path("", include("revops.views.urls")),
]
