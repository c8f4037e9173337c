"""What-if scenarios: each driver's effect by hand, and base == scenario when nothing changes."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from forecasting import cash, engine, scenarios
from tests.forecasting.test_engine import STAGES, history_and_outcomes

AS_OF = dt.date(2025, 6, 1)


def inputs():
    history, outcomes = history_and_outcomes()
    conversion = engine.learn_conversion(history, outcomes, STAGES, as_of=AS_OF)  # S1 60%, 90 days; S2 50%
    pipeline = pd.DataFrame([
        {"opportunity_id": 6, "stage_id": 1, "amount": 1000.0, "expected_close": dt.date(2025, 7, 20)},
        {"opportunity_id": 8, "stage_id": 2, "amount": 200.0, "expected_close": dt.date(2025, 6, 30)},
    ])
    return pipeline, conversion


def test_win_rate_and_cycle_time_move_the_weighted_pipeline():
    pipeline, conversion = inputs()
    base = scenarios.pipeline_by_month(pipeline, conversion, as_of=AS_OF, horizon=3, scenario=scenarios.Scenario())
    assert base.tolist() == pytest.approx([100.0, 600.0, 0.0])  # June 200 x 50%, July 1,000 x 60%
    better = scenarios.pipeline_by_month(pipeline, conversion, as_of=AS_OF, horizon=3,
                                         scenario=scenarios.Scenario(win_rate_pct=10))
    assert better.tolist() == pytest.approx([110.0, 660.0, 0.0])
    slower = scenarios.pipeline_by_month(pipeline, conversion, as_of=AS_OF, horizon=3,
                                         scenario=scenarios.Scenario(cycle_days=20))
    # 30 June + 20 days = 20 July; 20 July + 20 days = 9 August.
    assert slower.tolist() == pytest.approx([0.0, 100.0, 600.0])
    capped = scenarios.pipeline_by_month(pipeline, conversion, as_of=AS_OF, horizon=3,
                                         scenario=scenarios.Scenario(win_rate_pct=500))
    assert capped.tolist() == pytest.approx([200.0, 1000.0, 0.0])  # rates cap at 100%
    table = scenarios.compare(base=base, scenario=better)
    assert table["change"].tolist() == pytest.approx([10.0, 60.0, 0.0])


def params(denial: float) -> cash.CurveParams:
    return cash.CurveParams("payer", 100, 100, denial, 0.7, 0.5, np.linspace(1, 0, cash.MAX_DAYS + 1), 1000.0)


def test_denial_rate_points_are_added_and_clipped():
    adjusted = cash.adjust_params({"1": params(0.1), "2": params(0.98), "3": None},
                                  cash.Drivers(denial_rate_pts=5))
    assert adjusted["1"].denial_rate == pytest.approx(0.15)
    assert adjusted["2"].denial_rate == 1.0 and adjusted["3"] is None


def test_payer_mix_reweights_classes_and_keeps_each_months_total():
    volume = pd.DataFrame({"payer": ["1", "2", "1"], "month": [dt.date(2025, 7, 1)] * 2 + [dt.date(2025, 8, 1)],
                           "charges": [500.0, 500.0, 300.0], "sd": [0.0, 0.0, 0.0]})
    classes = {"1": "commercial", "2": "medicaid"}
    out = cash.adjust_mix(volume, classes, cash.Drivers(payer_mix=(("commercial", 1.5),)))
    # July: 750 / 500 re-scaled to 1,000 -> 600 / 400; August has only commercial: unchanged 300.
    assert out["charges"].tolist() == pytest.approx([600.0, 400.0, 300.0])
    assert cash.Drivers().is_base and not cash.Drivers(denial_rate_pts=1).is_base


@pytest.mark.django_db
def test_evaluate_on_an_organization_shows_the_base_and_the_scenario(world):
    from forecasting import services
    from revops.tenancy import tenant_context

    with tenant_context(world.a.org):
        stages = {s.name: s for s in services.stages_install_defaults()}
        ray = world.a.objects["person"]
        services.opportunities_upsert(rows=[("S1", "Deal", None, None, ray.pk, stages["Proposal"].pk, 1000,
                                             dt.date(2026, 1, 20), "pipeline", None, dt.date(2025, 12, 1))])
        same = scenarios.evaluate(as_of=dt.date(2026, 1, 1), horizon=2, scenario=scenarios.Scenario())
        assert same["totals"]["bookings_base"] == same["totals"]["bookings_scenario"] == pytest.approx(350.0)
        assert same["totals"]["cash_base"] == same["totals"]["cash_scenario"]
        up = scenarios.evaluate(as_of=dt.date(2026, 1, 1), horizon=2, scenario=scenarios.Scenario(win_rate_pct=20,
                                                                                                 denial_rate_pts=5))
        assert up["totals"]["bookings_scenario"] == pytest.approx(420.0)  # 35% default x 1.2
        assert up["totals"]["cash_scenario"] <= up["totals"]["cash_base"]


@pytest.mark.django_db
def test_the_scenario_page_shows_base_and_scenario_side_by_side(world):
    from django.urls import reverse

    from forecasting import services
    from revops.tenancy import tenant_context

    with tenant_context(world.a.org):
        stages = {s.name: s for s in services.stages_install_defaults()}
        services.opportunities_upsert(rows=[("S1", "Deal", None, None, world.a.objects["person"].pk,
                                             stages["Proposal"].pk, 1000, dt.date(2026, 1, 20), "pipeline", None,
                                             dt.date(2025, 12, 1))])
    url = reverse("forecasting_scenarios")
    page = world.a.client("executive").get(url, {"as_of": "2026-01-01", "horizon": 2, "win_rate_pct": 20})
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-value="bookings-base">350.00<' in html and 'data-value="bookings-scenario">420.00<' in html
    bad = world.a.client("executive").get(url, {"horizon": 40})
    assert bad.status_code == 200 and "errorlist" in bad.content.decode()
    assert world.a.client("billing_manager").get(url).status_code == 403


@pytest.mark.django_db
def test_the_scenario_api_answers_with_both_cases(world):
    from forecasting import services
    from revops.tenancy import tenant_context

    with tenant_context(world.a.org):
        stages = {s.name: s for s in services.stages_install_defaults()}
        services.opportunities_upsert(rows=[("S1", "Deal", None, None, world.a.objects["person"].pk,
                                             stages["Proposal"].pk, 1000, dt.date(2026, 1, 20), "pipeline", None,
                                             dt.date(2025, 12, 1))])
    body = world.a.api("integrator").get("/api/v1/forecasting/scenarios/",
                                         {"as_of": "2026-01-01", "horizon": 2, "cycle_days": 15}).json()
    # 20 January + 15 days = 4 February: the 350 moves a month.
    assert [r["base"] for r in body["bookings"]] == pytest.approx([350.0, 0.0])
    assert [r["scenario"] for r in body["bookings"]] == pytest.approx([0.0, 350.0])
    assert world.a.api("integrator").get("/api/v1/forecasting/scenarios/", {"horizon": 99}).status_code == 400
