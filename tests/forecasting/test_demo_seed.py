"""The demo's forecasting (revops.demo.forecasting) on the test world: a pipeline with history, monthly
periods with calls and adjustments, month-end forecasts, past months closed and scored, nothing twice."""
from __future__ import annotations

import datetime as dt

import pytest

from forecasting import selectors
from forecasting.models import ForecastCall, ForecastPeriod, ForecastRun, ForecastScore, Opportunity, OpportunityHistory
from revops.demo.forecasting import forecasting_seed
from revops.tenancy import tenant_context

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 15)


def test_demo_forecasting_builds_a_scored_history_and_leaves_an_existing_pipeline_alone(world):
    org = world.a.org
    outcome = forecasting_seed(organization=org, seed=7, year=2025, today=TODAY)
    assert not outcome.skipped
    assert outcome.periods == 15  # January 2025 to March 2026
    with tenant_context(org):
        assert Opportunity.objects.count() == outcome.opportunities > 0
        assert OpportunityHistory.objects.count() == outcome.history > Opportunity.objects.count()
        assert Opportunity.objects.filter(is_won=True).exists() and Opportunity.objects.filter(is_lost=True).exists()
        assert Opportunity.objects.filter(closed_on__isnull=True).exists()  # open pipeline today
        assert not OpportunityHistory.objects.filter(valid_from__gt=TODAY).exists()
        periods = ForecastPeriod.objects.order_by("start")
        assert [p.is_closed for p in periods] == [True] * 14 + [False]
        assert ForecastCall.objects.filter(kind="rep").exists() and ForecastCall.objects.filter(kind="manager").exists()
        assert ForecastRun.objects.filter(kind="pipeline", status="succeeded").count() == 14
        # The world has no credited bookings; its RCM rows give two cash runs: one in the autumn of the demo
        # year, scored when October to December close, and one from the day after the last claim.
        assert ForecastRun.objects.filter(kind="cash").count() == outcome.runs - 14 == 2
        board = selectors.accuracy_board().set_index("source")
        assert {"rep_call:commit", "manager_call:commit", "weighted_pipeline"} <= set(board.index)
        autumn = ForecastRun.objects.get(kind="cash", as_of=dt.date(2025, 9, 30))
        assert autumn.horizon == 3
        # Managers adjust part of the way toward what closed: their commit is the better number.
        assert board.loc["manager_call:commit", "wape"] < board.loc["rep_call:commit", "wape"]
        scores = ForecastScore.objects.count()
    again = forecasting_seed(organization=org, seed=7, year=2025, today=TODAY)
    assert again.skipped
    with tenant_context(org):
        assert ForecastScore.objects.count() == scores
    with tenant_context(world.b.org):
        assert not Opportunity.objects.exists()
