"""The contract margin tile of the executive dashboard (contracts/tiles.py): per contract, the latest quarterly
review's net contribution margin and its change vs the quarter before, with the recommendation.

Hand figures. Contract K (tests/contracts/test_reviews.py's ``quarter``, the tenant's commercial payer, PHP per
diem 500): 2025 Q1 net revenue 1,400.00 − direct cost 800.00 − RCM cost 140.00 = margin 460.00 (32.86%),
recommendation renegotiate; 2024 Q4 one unpaid claim and no cost: margin 0.00 (margin % undefined), keep.
Contract M (a Medicaid payer, reviews stored with given figures): 2025 Q1 net revenue 1,000.00, margin −250.00
(−25.00%, exit); 2024 Q4 margin 100.00 (10.00%). So in 2025 Q1: Σ margin 460.00 − 250.00 = 210.00, change
(460.00 − 0.00) + (−250.00 − 100.00) = 110.00; M's margin % fell 35.00 points.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from analytics.filters import Filters
from analytics.tiles import REGISTRY, Context
from contracts.models import ContractReview
from contracts.services import contracts as contract_services
from contracts.services import reviews
from revops.models import Payer, Role
from tests.contracts.test_reviews import quarter  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
D = Decimal
d = dt.date
TILE = "contract_margin"


def _ctx(*, period: str = "FY2025", start: dt.date = d(2025, 1, 1), end: dt.date = d(2026, 1, 1),
         as_of: dt.date = d(2025, 3, 31), payer_class: str = "") -> Context:
    return Context(Filters(period=period, start=start, end=end, as_of=as_of, fiscal_year=end.year - 1 if
                           end.month == 1 else end.year, payer_class=payer_class))


def _stored_review(contract, start: dt.date, **figures) -> ContractReview:
    return ContractReview.objects.create(contract=contract, quarter_start=start, **figures)


@pytest.fixture
def margins(quarter):  # noqa: F811
    reviews.reviews_generate(start=d(2024, 10, 1))
    reviews.reviews_generate(start=d(2025, 1, 1))
    medicaid = Payer.objects.create(name="State Medicaid", payer_class="medicaid")
    m = contract_services.contract_create(payer=medicaid, name="Medicaid PHP")
    _stored_review(m, d(2024, 10, 1), claims=4, net_revenue=D("1000.00"), direct_cost=D("700.00"),
                   rcm_cost=D("200.00"), margin=D("100.00"), recommendation="keep")
    _stored_review(m, d(2025, 1, 1), claims=5, net_revenue=D("1000.00"), direct_cost=D("1050.00"),
                   rcm_cost=D("200.00"), margin=D("-250.00"), recommendation="exit",
                   decision="renegotiate", decision_note="Ask for a rate first.")
    return {"k": quarter, "m": m}


def test_rows_show_each_contracts_latest_review_and_the_change(margins):
    k, m = margins["k"], margins["m"]
    rows = REGISTRY[TILE].rows(_ctx(), None)
    assert [r["key"] for r in rows] == [str(m.pk), str(k.pk)]  # lowest margin first
    mr, kr = rows
    assert (kr["quarter"], kr["net_revenue"], kr["direct_cost"], kr["rcm_cost"], kr["margin"], kr["margin_pct"]) == (
        "2025 Q1", D("1400.00"), D("800.00"), D("140.00"), D("460.00"), D("32.86"))
    assert (kr["previous_quarter"], kr["previous_margin"], kr["margin_change"]) == ("2024 Q4", D("0.00"), D("460.00"))
    assert (kr["previous_margin_pct"], kr["margin_pct_change"]) == (None, None)  # Q4 had no net revenue
    assert (kr["recommendation"], kr["decision"]) == ("Renegotiate", "")
    assert (mr["margin"], mr["margin_pct"], mr["previous_margin"], mr["margin_change"]) == (
        D("-250.00"), D("-25.00"), D("100.00"), D("-350.00"))
    assert (mr["previous_margin_pct"], mr["margin_pct_change"]) == (D("10.00"), D("-35.00"))
    assert (mr["recommendation"], mr["decision"]) == ("Exit", "Renegotiate")
    # One definition: the row is the stored review's figures, as the review page compares them.
    review = ContractReview.objects.get(contract=k, quarter_start=d(2025, 1, 1))
    assert (kr["margin"], kr["margin_pct"], kr["review_id"]) == (review.margin, review.margin_pct, review.pk)
    assert REGISTRY[TILE].rows(_ctx(), str(k.pk)) == [kr]


def test_summary_sums_the_latest_quarter_and_counts_recommendations(margins):
    out = REGISTRY[TILE].summary(_ctx())
    v = out["values"]
    assert (v["quarter"], v["contracts"], v["reviews_in_quarter"], v["compared"]) == ("2025 Q1", 2, 2, 2)
    assert (v["margin"], v["margin_change"]) == (D("210.00"), D("110.00"))
    assert (v["keep"], v["renegotiate"], v["exit"], v["losing_money"]) == (0, 1, 1, 1)
    assert v["lowest"] == {"contract": "Medicaid PHP", "quarter": "2025 Q1", "margin": D("-250.00")}
    assert dict(out["headline"]) == {"Margin 2025 Q1": "210", "Change vs quarter before": "+110",
                                     "Exit / renegotiate": "1 / 1", "Lowest margin": "Medicaid PHP (-250)"}
    assert out["figure"]


def test_the_as_of_date_and_payer_class_choose_the_reviews(margins):
    k = margins["k"]
    # As of the end of 2024 the latest reviews are Q4's, with no review of Q3 to compare with.
    fy24 = _ctx(period="FY2024", start=d(2024, 1, 1), end=d(2025, 1, 1), as_of=d(2024, 12, 31))
    rows = {r["contract"]: r for r in REGISTRY[TILE].rows(fy24, None)}
    assert {name: (r["quarter"], r["margin"], r["margin_change"]) for name, r in rows.items()} == {
        k.name: ("2024 Q4", D("0.00"), None), "Medicaid PHP": ("2024 Q4", D("100.00"), None)}
    assert rows[k.name]["recommendation"] == "Keep"
    summary = REGISTRY[TILE].summary(fy24)["values"]
    assert (summary["margin"], summary["margin_change"], summary["compared"]) == (D("100.00"), None, 0)
    # Payer class narrows by the contract's payer: K's payer is commercial.
    commercial = REGISTRY[TILE].rows(_ctx(payer_class="commercial"), None)
    assert [r["key"] for r in commercial] == [str(k.pk)]
    assert REGISTRY[TILE].summary(_ctx(payer_class="commercial"))["values"]["margin"] == D("460.00")


def test_empty_when_no_review_exists(tenant_a):
    out = REGISTRY[TILE].summary(_ctx())
    assert out["empty"].startswith("No contract review") and out["values"] == {}
    assert REGISTRY[TILE].rows(_ctx(), None) == []


def test_the_page_drill_down_and_csv(margins, tenant_a):
    k = margins["k"]
    client = tenant_a.client(Role.EXECUTIVE)
    params = {"period": "FY2025", "as_of": "2025-03-31"}
    page = client.get(reverse("executive_dashboard"), params).content.decode()
    assert 'data-tile="contract_margin"' in page and "Margin 2025 Q1" in page
    drill = client.get(reverse("executive_drill"), {**params, "tile": TILE}, HTTP_HX_REQUEST="true")
    html = drill.content.decode()
    assert drill.status_code == 200 and 'id="drill-table"' in html and "Medicaid PHP" in html and "-350.00" in html
    export = client.get(reverse("executive_drill"), {**params, "tile": TILE, "format": "csv"})
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert table[0][:4] == ["Contract id", "Contract", "Payer", "Quarter"]
    by_id = {r[0]: r for r in table[1:]}
    assert by_id[str(k.pk)][8] == "460.00" and by_id[str(k.pk)][12] == "460.00"
    # Billing managers read contracts but not the dashboard; reps read neither.
    assert tenant_a.client(Role.REP).get(reverse("executive_drill"), {"tile": TILE}).status_code == 403
    api = tenant_a.api(Role.EXECUTIVE).get(reverse("analytics-tiles"), params).json()
    tile = next(t for t in api["tiles"] if t["key"] == TILE)
    assert D(str(tile["values"]["margin"])) == D("210.00")  # the API's JSON number


def test_not_your_tenant(margins, world):
    from revops.tenancy import tenant_context

    with tenant_context(world.b.org):
        assert REGISTRY[TILE].rows(_ctx(), None) == []
    page = world.b.client(Role.EXECUTIVE).get(reverse("executive_drill"), {"tile": TILE, "period": "FY2025",
                                                                           "as_of": "2025-03-31"})
    assert "Medicaid PHP" not in page.content.decode()
