"""Forecasting services on hand-made data: the opportunity upsert and its history, calls and manager
adjustments rolled up the reporting hierarchy, the weighted-pipeline run, and period close scoring."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from forecasting import selectors, services
from forecasting.models import CallKind, ForecastScore, ForecastValue, Opportunity, OpportunityHistory, Stage
from revops import services as revops_services
from revops.models import Person
from revops.tenancy import tenant_context

pytestmark = pytest.mark.django_db
D = Decimal
JAN = dt.date(2026, 1, 1)


@pytest.fixture
def org(world):
    """Vera (VP) > Mona (manager, from the world) > Ray (rep, from the world) and Rita (rep)."""
    with tenant_context(world.a.org):
        services.stages_install_defaults()
        mona = world.a.objects["manager"]
        ray = world.a.objects["person"]
        vera = Person.objects.create(employee_id="V1", first_name="Vera", last_name="VP", role="manager",
                                     hire_date=dt.date(2018, 1, 1))
        rita = Person.objects.create(employee_id="R2", first_name="Rita", last_name="Rep", role="rep",
                                     hire_date=dt.date(2022, 1, 1))
        revops_services.reporting_line_assign(person=mona, manager=vera, valid_from=dt.date(2020, 1, 1))
        revops_services.reporting_line_assign(person=rita, manager=mona, valid_from=dt.date(2022, 1, 1))
        yield {"vera": vera, "mona": mona, "ray": ray, "rita": rita, "world": world.a,
               "stages": {s.name: s for s in Stage.objects.all()}}


def opp_row(ext, owner, stage, amount, close, changed, category="pipeline"):
    return (ext, f"Deal {ext}", None, None, owner.pk, stage.pk, D(amount), close, category, None, changed)


def test_upsert_records_history_only_when_something_tracked_changes(org):
    s, ray = org["stages"], org["ray"]
    rows = [opp_row("O1", ray, s["Prospecting"], "1000", dt.date(2026, 3, 31), dt.date(2026, 1, 5))]
    assert services.opportunities_upsert(rows=rows) == {"received": 1, "inserted": 1, "updated": 0, "unchanged": 0,
                                                        "history": 1}
    assert services.opportunities_upsert(rows=rows)["unchanged"] == 1
    assert OpportunityHistory.objects.count() == 1
    moved = [opp_row("O1", ray, s["Proposal"], "1200", dt.date(2026, 3, 31), dt.date(2026, 2, 1))]
    assert services.opportunities_upsert(rows=moved)["history"] == 1
    won = [opp_row("O1", ray, s["Closed won"], "1200", dt.date(2026, 3, 31), dt.date(2026, 3, 20))]
    services.opportunities_upsert(rows=won)
    o = Opportunity.objects.get(external_id="O1")
    assert (o.is_won, o.closed_on, o.category) == (True, dt.date(2026, 3, 20), "closed")
    assert [h.stage.name for h in OpportunityHistory.objects.filter(opportunity=o).order_by("valid_from")] == [
        "Prospecting", "Proposal", "Closed won"]
    with pytest.raises(ValidationError, match="twice"):
        services.opportunities_upsert(rows=rows + rows)


def test_upsert_refuses_another_organizations_owner(org, world):
    s = org["stages"]
    foreign = world.b.objects["person"]
    with pytest.raises(ValidationError, match="this organization's"):
        services.opportunities_upsert(rows=[opp_row("X", foreign, s["Prospecting"], "1", JAN, JAN)])


def test_rollup_keeps_rep_calls_and_manager_adjustments_side_by_side(org):
    period = services.period_ensure(start=JAN)
    ray, rita, mona, vera = org["ray"], org["rita"], org["mona"], org["vera"]
    services.call_submit(period=period, person=ray, category="commit", amount=D("100"))
    services.call_submit(period=period, person=ray, category="commit", amount=D("120"))  # latest counts
    services.call_submit(period=period, person=rita, category="commit", amount=D("80"))
    # Mona trims Ray to 90 without touching Ray's call; her team commit = 90 + 80 = 170.
    services.call_submit(period=period, person=mona, kind=CallKind.MANAGER, subject=ray, category="commit",
                         amount=D("90"))
    tree = selectors.rollup(period=period, manager=vera)
    mona_node = tree.children[0]
    ray_node = next(c for c in mona_node.children if c.person == ray)
    assert ray_node.own["commit"].amount == D("120") and ray_node.effective("commit") == D("90")
    assert mona_node.team_number("commit") == D("170")
    assert tree.team_number("commit") == D("170")
    # Vera overrides Mona's whole team at 150; Mona's own team number stays 170 on her page.
    services.call_submit(period=period, person=vera, kind=CallKind.MANAGER, subject=mona, category="commit",
                         amount=D("150"))
    tree = selectors.rollup(period=period, manager=vera)
    assert tree.team_number("commit") == D("150") and tree.children[0].team_number("commit") == D("170")
    # A team-level number replaces the roll-up for the manager's own total.
    services.call_submit(period=period, person=mona, kind=CallKind.MANAGER, category="best_case", amount=D("300"))
    assert selectors.rollup(period=period, manager=mona).team_number("best_case") == D("300")
    assert len(selectors.call_history(period=period, person=ray)) == 3  # two own calls, one adjustment


def test_calls_are_checked(org):
    period = services.period_ensure(start=JAN)
    with pytest.raises(ValidationError, match="nobody reporting"):
        services.call_submit(period=period, person=org["ray"], kind=CallKind.MANAGER, category="commit", amount=1)
    with pytest.raises(ValidationError, match="does not report"):
        services.call_submit(period=period, person=org["mona"], kind=CallKind.MANAGER, subject=org["vera"],
                             category="commit", amount=1)
    with pytest.raises(ValidationError, match="negative"):
        services.call_submit(period=period, person=org["ray"], category="commit", amount=-1)
    late = services.call_submit(period=period, person=org["ray"], category="commit", amount=1,
                                now=dt.datetime(2026, 1, 9, 12, tzinfo=dt.timezone.utc))
    assert late.is_late  # due on 8 January


def test_pipeline_run_and_period_close_score_calls_and_models(org):
    s, ray, rita, mona = org["stages"], org["ray"], org["rita"], org["mona"]
    # History: five deals passed Proposal by December and closed: 3 won -> Proposal converts at 60%.
    rows = []
    for n, won in enumerate([True, True, True, False, False]):
        rows.append(opp_row(f"H{n}", rita, s["Proposal"], "100", dt.date(2025, 11, 30), dt.date(2025, 10, 1)))
    services.opportunities_upsert(rows=rows)
    services.opportunities_upsert(rows=[opp_row(f"H{n}", rita, s["Closed won" if won else "Closed lost"], "100",
                                                dt.date(2025, 11, 30), dt.date(2025, 11, 15))
                                        for n, won in enumerate([True, True, True, False, False])])
    # Open on 31 December: Ray's 1,000 in Proposal closing in January -> 600 weighted.
    services.opportunities_upsert(rows=[opp_row("P1", ray, s["Proposal"], "1000", dt.date(2026, 1, 25),
                                                dt.date(2025, 12, 1))])
    run = services.pipeline_run(as_of=dt.date(2025, 12, 31), horizon=3)
    values = {(v.level, v.key, v.month): v.point for v in ForecastValue.objects.filter(run=run)}
    assert values[("company", "all", JAN)] == D("600.00")
    assert values[("rep", str(ray.pk), JAN)] == D("600.00")
    assert run.summary["conversion"][2]["rate"] == 0.6 and run.summary["conversion"][2]["source"] == "history"
    # January: Ray calls 700, Mona adjusts him to 500 and Rita calls 0; Ray wins 800 on 20 January.
    period = services.period_ensure(start=JAN)
    on_time = dt.datetime(2026, 1, 5, 9, tzinfo=dt.timezone.utc)
    services.call_submit(period=period, person=ray, category="commit", amount=D("700"), now=on_time)
    services.call_submit(period=period, person=rita, category="commit", amount=D("0"), now=on_time)
    services.call_submit(period=period, person=mona, kind=CallKind.MANAGER, subject=ray, category="commit",
                         amount=D("500"), now=on_time)
    # Submitted after the month ended: kept, but not what is scored.
    services.call_submit(period=period, person=ray, category="commit", amount=D("800"))
    services.opportunities_upsert(rows=[opp_row("P1", ray, s["Closed won"], "800", dt.date(2026, 1, 25),
                                                dt.date(2026, 1, 20))])
    result = services.period_close(period=period)
    scores = {(x.source, x.level, x.key): x for x in ForecastScore.objects.filter(period=period)}
    assert scores[("rep_call:commit", "rep", str(ray.pk))].forecast == D("700")
    assert scores[("rep_call:commit", "rep", str(ray.pk))].actual == D("800")
    assert scores[("manager_call:commit", "team", str(mona.pk))].forecast == D("500")
    assert scores[("manager_call:commit", "team", str(mona.pk))].actual == D("800")
    model = scores[("weighted_pipeline", "company", "all")]
    assert (model.forecast, model.actual, model.horizon) == (D("600.00"), D("800"), 1)
    assert result["bookings"] == 800
    board = selectors.accuracy_board().set_index("source")
    assert board.loc["rep_call:commit", "wape"] == pytest.approx((100 + 0) / 800)  # Ray 700 vs 800, Rita 0 vs 0
    assert board.loc["manager_call:commit", "wape"] == pytest.approx(300 / 800)
    assert board.loc["weighted_pipeline", "bias"] == pytest.approx(-0.25)  # 600 against 800
    with pytest.raises(ValidationError, match="closed"):
        services.call_submit(period=period, person=ray, category="commit", amount=1)
