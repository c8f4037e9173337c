"""Pages of the `intake` app (mounted at ``intake/``) and its API (mounted at ``api/v1/intake/``)."""
from . import api, views

page_urlpatterns = views.urlpatterns
api_urlpatterns = api.api_urlpatterns
