"""The program profitability tile of the executive dashboard (intake/tiles.py) on the hand-computed intake
world (tests/intake/fixtures.py), January-February 2025 as of 1 March:

PHP: admissions 2, collected 2,100.00 (January) + 500.00 (February) = 2,600.00; on paper 2,533.33 + 800.00.
IOP: admission 1, collected 700.00, on paper 700.00.
Net revenue per admission = 3,300.00 / 3 = 1,100.00; lost to denials = (4,033.33 - 3,300.00) / 4,033.33 = 18.2%.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from analytics.filters import Filters
from analytics.tiles import REGISTRY, Context

pytestmark = pytest.mark.django_db
D = Decimal


def _ctx() -> Context:
    return Context(Filters(period="2025-01", start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 1),
                           as_of=dt.date(2025, 3, 1), fiscal_year=2025))


def test_the_tile_sums_the_programs_of_the_period(intake_world):
    tile = REGISTRY["program_profitability"]
    ctx = _ctx()
    out = tile.summary(ctx)
    assert out["values"]["admissions"] == 3
    assert out["values"]["net_after_denials"] == D("3300.00")
    assert out["values"]["net_on_paper"] == D("4033.33")
    assert out["values"]["net_per_admission"] == D("1100.00")
    assert dict(out["headline"])["Lost to denials"] == "18.2%"
    rows = {r["program_code"]: r for r in tile.rows(ctx, None)}
    assert (rows["PHP"]["admissions"], rows["PHP"]["net_after_denials"]) == (2, D("2600.00"))
    assert rows["PHP"]["net_per_admission_after_denials"] == D("1300.00")
    assert [r["program_code"] for r in tile.rows(ctx, str(intake_world["iop"].pk))] == ["IOP"]


def test_the_dashboard_shows_it_to_executives(intake_world, world):
    from django.urls import reverse

    html = world.a.client("executive").get(reverse("executive_dashboard") + "?period=FY2025").content.decode()
    assert 'id="tile-program_profitability"' in html
    drill = world.a.client("executive").get(reverse("executive_drill") + "?tile=program_profitability&period=FY2025")
    assert drill.status_code == 200 and "Intensive outpatient" in drill.content.decode()
