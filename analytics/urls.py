"""Pages and API of the `analytics` app (mounted in revops/urls.py)."""
from django.urls import path  # noqa: F401

page_urlpatterns: list = []
api_urlpatterns: list = []
