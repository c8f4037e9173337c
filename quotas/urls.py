"""Quota pages (mounted at ``quotas/``) and the quotas API (mounted at ``api/v1/quotas/``)."""
from . import api, views

api_urlpatterns = api.urlpatterns
page_urlpatterns = views.urlpatterns
