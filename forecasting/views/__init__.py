"""Forecasting pages (mounted at ``forecasting/``): the overview (pipeline, calls against quota, coverage per
team, periods), the call page for reps and managers with its htmx edits and history, runs with their
charts, the accuracy leaderboard and trend, and opportunities with their export and import."""
from django.urls import path

from .accuracy import accuracy
from .calls import call_history, call_submit, calls
from .opportunities import opportunities, opportunities_import, opportunities_template, opportunity_detail
from .overview import overview, period_close, period_open
from .runs import run_detail, run_start, runs
from .scenarios import scenario_page

urlpatterns = [
    path("", overview, name="forecasting_overview"),
    path("periods/open/", period_open, name="forecasting_period_open"),
    path("periods/<int:pk>/close/", period_close, name="forecasting_period_close"),
    path("calls/", calls, name="forecasting_calls"),
    path("calls/submit/", call_submit, name="forecasting_call_submit"),
    path("calls/history/", call_history, name="forecasting_call_history"),
    path("runs/", runs, name="forecasting_runs"),
    path("runs/start/", run_start, name="forecasting_run_start"),
    path("runs/<int:pk>/", run_detail, name="forecasting_run"),
    path("accuracy/", accuracy, name="forecasting_accuracy"),
    path("scenarios/", scenario_page, name="forecasting_scenarios"),
    path("opportunities/", opportunities, name="forecasting_opportunities"),
    path("opportunities/import/", opportunities_import, name="forecasting_opportunities_import"),
    path("opportunities/import/template/", opportunities_template, name="forecasting_opportunities_template"),
    path("opportunities/<int:pk>/", opportunity_detail, name="forecasting_opportunity"),
]

__all__ = ["urlpatterns"]
