"""Forecasting pages (mounted at ``forecasting/``) and the forecasting API (mounted at ``api/v1/forecasting/``)."""
from . import api, views

api_urlpatterns = api.urlpatterns
page_urlpatterns = views.urlpatterns
