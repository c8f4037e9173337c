"""Root URL configuration: pages, the API (with its OpenAPI schema) and the admin pages."""
from django.urls import include, path

urlpatterns = [
    path("api/v1/", include("revops.api.urls")),
    path("", include("revops.views.urls")),
]
