"""Routes of commission periods, runs, statements, payouts and transactions: ``PAGE_URLS`` are mounted at
``commissions/`` and ``API_URLS`` at ``api/v1/commissions/`` (commissions/urls.py includes both)."""
from django.urls import path

from .api import runs as api
from .views import runs as run_views
from .views import statements as statement_views

PAGE_URLS = [
    path("periods/", run_views.periods, name="commissions_periods"),
    path("periods/<int:pk>/", run_views.period_detail, name="commissions_period"),
    path("periods/<int:pk>/run/", run_views.period_run, name="commissions_period_run"),
    path("periods/<int:pk>/approve/", run_views.period_approve, name="commissions_period_approve"),
    path("periods/<int:pk>/paid/", run_views.period_mark_paid, name="commissions_period_paid"),
    path("periods/<int:pk>/payroll/", run_views.period_payroll, name="commissions_period_payroll"),
    path("runs/<int:pk>/", run_views.run_detail, name="commissions_run"),
    path("statements/<int:pk>/", statement_views.statement_detail, name="commissions_statement"),
    path("statements/<int:pk>/approve/", statement_views.statement_approve, name="commissions_statement_approve"),
    path("my/", statement_views.my_statements, name="commissions_my"),
    path("payouts/", run_views.payouts, name="commissions_payouts"),
    path("transactions/", run_views.transactions, name="commissions_transactions"),
    path("transactions/import/", run_views.transactions_import, name="commissions_transactions_import"),
]

API_URLS = list(api.urlpatterns)
