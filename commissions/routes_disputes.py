"""Routes of disputes, for ``commissions/urls.py`` to include: ``PAGE_URLS`` under ``commissions/`` and
``API_URLS`` under ``api/v1/commissions/`` (page names ``commissions_dispute_*``, API names
``api-commissions-dispute-*``)."""
from django.urls import path

from .api import disputes as api
from .views import disputes as views

PAGE_URLS = [
    path("disputes/", views.dispute_list, name="commissions_dispute_list"),
    path("disputes/new/", views.dispute_new, name="commissions_dispute_new"),
    path("disputes/<int:pk>/", views.dispute_detail, name="commissions_dispute_detail"),
    path("disputes/<int:pk>/comment/", views.dispute_comment, name="commissions_dispute_comment"),
    path("disputes/<int:pk>/resolve/", views.dispute_resolve, name="commissions_dispute_resolve"),
    path("disputes/<int:pk>/reject/", views.dispute_reject, name="commissions_dispute_reject"),
    path("disputes/<int:pk>/reopen/", views.dispute_reopen, name="commissions_dispute_reopen"),
    path("disputes/attachments/<int:pk>/", views.dispute_attachment, name="commissions_dispute_attachment"),
]

API_URLS = api.urlpatterns

__all__ = ["API_URLS", "PAGE_URLS"]
