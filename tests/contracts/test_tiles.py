"""The underpayment tile of the executive dashboard (contracts/tiles.py) on the hand-computed data of
tests/contracts/test_underpayment.py: February 2025, the world's payer: expected 635.00, paid 500.00 + patient
responsibility 20.00, underpaid 115.00 (18.11% of expected) on 2 claims; one denied claim left out."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from analytics.filters import Filters
from analytics.tiles import REGISTRY, Context
from tests.contracts.test_underpayment import data  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
D = Decimal


def _ctx(payer_class: str = "") -> Context:
    return Context(Filters(period="2025-02", start=dt.date(2025, 2, 1), end=dt.date(2025, 3, 1),
                           as_of=dt.date(2025, 3, 1), fiscal_year=2025, payer_class=payer_class))


def test_the_tile_shows_the_periods_underpayment_by_payer(data):  # noqa: F811
    tile = REGISTRY["underpayment"]
    out = tile.summary(_ctx())
    assert (out["values"]["underpayment"], out["values"]["expected"], out["values"]["underpayment_pct"]) == (
        D("115.00"), D("635.00"), D("18.11"))
    assert out["values"]["claims"] == 2
    [row] = tile.rows(_ctx(), None)
    assert (row["label"], row["variance"], row["denied_claims"]) == (data["payer"].name, D("115.00"), 1)
    assert tile.rows(_ctx(), str(data["payer"].pk)) == [row]
    other_class = "medicare" if data["payer"].payer_class != "medicare" else "commercial"
    assert "empty" in tile.summary(_ctx(other_class))


def test_a_period_without_priced_claims_is_empty(data):  # noqa: F811
    ctx = Context(Filters(period="2024-02", start=dt.date(2024, 2, 1), end=dt.date(2024, 3, 1),
                          as_of=dt.date(2024, 3, 1), fiscal_year=2024))
    assert REGISTRY["underpayment"].summary(ctx)["empty"].startswith("No claims")
