"""Pages of the `contracts` app (mounted at ``contracts/``) and its API (mounted at ``api/v1/contracts/``).

Page URL names start with ``contracts_``, API names with ``api-contracts-``."""
from django.urls import path

from . import api, views

page_urlpatterns: list = [
    path("", views.contract_list, name="contracts_list"),
    path("new/", views.contract_new, name="contracts_new"),
    path("single-case/new/", views.single_case_new, name="contracts_single_case_new"),
    path("<int:pk>/", views.contract_detail, name="contracts_detail"),
    path("<int:pk>/edit/", views.contract_edit, name="contracts_edit"),
    path("<int:pk>/versions/new/", views.version_new, name="contracts_version_new"),
    path("versions/<int:pk>/terms/", views.term_add, name="contracts_term_add"),
    path("versions/<int:pk>/publish/", views.version_publish, name="contracts_version_publish"),
    path("versions/<int:pk>/import/", views.version_import, name="contracts_version_import"),
    path("versions/<int:pk>/delete/", views.version_delete, name="contracts_version_delete"),
    path("terms/<int:pk>/delete/", views.term_delete, name="contracts_term_delete"),
    path("underpayments/", views.underpayments, name="contracts_underpayments"),
    path("underpayments/claims/", views.underpayment_claims, name="contracts_underpayment_claims"),
    path("underpayments/recompute/", views.recompute, name="contracts_recompute"),
    path("claims/<int:pk>/", views.claim_expectation, name="contracts_claim"),
    path("reviews/", views.review_list, name="contracts_reviews"),
    path("reviews/generate/", views.review_generate, name="contracts_reviews_generate"),
    path("reviews/<int:pk>/", views.review_detail, name="contracts_review"),
    path("reviews/<int:pk>/decide/", views.review_decide, name="contracts_review_decide"),
    path("reviews/<int:pk>/refresh/", views.review_refresh, name="contracts_review_refresh"),
]
api_urlpatterns: list = api.urlpatterns
