"""What the dashboard reads instead of recomputing per request (docs/analytics.md, "Performance"): the pipeline
snapshot's rows (``PipelineMonth``) are its payload's figures, an old-format snapshot is recomputed on read, and the
flags tile lists the first flags of each kind with a link to the rest (the drill-down has them all)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.template.loader import render_to_string

from analytics import filters
from analytics.models import PipelineMonth, Snapshot, SnapshotKind
from analytics.selectors import sales
from analytics.selectors.flags import Flag
from analytics.services import snapshot_refresh
from analytics.tiles import FLAGS_SHOWN, REGISTRY, Context
from tests.analytics.test_selectors import AS_OF, _pipeline, parse, quota_world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def _rows() -> dict:
    return {(r.owner_id, r.month): (r.close_cents, r.opportunities, r.landing_cents)
            for r in PipelineMonth.objects.filter(as_of=AS_OF)}


def test_pipeline_rows_are_the_snapshots_figures(quota_world):  # noqa: F811
    pat = quota_world["pat"]
    _pipeline(pat, "1000")
    snapshot = snapshot_refresh(kind=SnapshotKind.PIPELINE, as_of=AS_OF)
    # Open on 16 Aug, 1,000.00 expected to close in October; weighted at the stage's default 50% = 500.00.
    assert snapshot.payload["close"] == [[pat.pk, "2026-10-01", "1000.00", 1]]
    assert snapshot.payload["landing"] == [[pat.pk, "2026-10-01", "500.00"]]
    assert _rows() == {(pat.pk, dt.date(2026, 10, 1)): (100000, 1, 50000)}
    pipe = sales.pipeline_by_owner(parse(period="FY2026", as_of=AS_OF.isoformat()))
    assert (pipe.period_pipeline, pipe.opportunities, pipe.weighted_rest) == (
        {pat.pk: 100000}, {pat.pk: 1}, {pat.pk: 50000})
    # A quarter without October sees none of it; refreshing again replaces the rows, never adds to them.
    assert sales.pipeline_by_owner(parse(period="FY2026-Q3", as_of=AS_OF.isoformat())).period_pipeline == {}
    snapshot_refresh(kind=SnapshotKind.PIPELINE, as_of=AS_OF)
    assert _rows() == {(pat.pk, dt.date(2026, 10, 1)): (100000, 1, 50000)}


def test_a_snapshot_stored_before_the_rows_is_recomputed_on_read(quota_world):  # noqa: F811
    pat = quota_world["pat"]
    _pipeline(pat, "1000")
    Snapshot.objects.create(kind=SnapshotKind.PIPELINE, as_of=AS_OF,
                            payload={"close": [[pat.pk, "2026-10-01", "1000.00", 1]], "landing": [],
                                     "opportunities": 1})
    line = next(x for x in sales.rep_lines(parse(period="FY2026", as_of=AS_OF.isoformat()))
                if x.person_id == pat.pk)
    assert (line.pipeline, line.opportunities, line.weighted) == (D("1000.00"), 1, D("500.00"))
    assert Snapshot.objects.get(kind=SnapshotKind.PIPELINE, as_of=AS_OF).payload["rows"] == 1


def test_the_flags_tile_lists_the_first_flags_and_links_the_rest(tenant_a):
    f = filters.parse({"period": "FY2026", "as_of": "2026-08-16"}, start_month=1, today=dt.date(2026, 11, 22))
    ctx = Context(f)
    coach = [Flag("coach", f"Rep {i:02d}", ["pace 50% (behind: under 90%)"], "attainment", f"p{i}") for i in range(11)]
    ctx.__dict__["flags"] = {"coach": coach, "invest": [], "adjust": []}
    summary = REGISTRY["flags"].summary(ctx)
    assert summary["values"] == {"coach": 11, "invest": 0, "adjust": 0}
    assert summary["groups"] == [("coach", coach[:FLAGS_SHOWN], 11 - FLAGS_SHOWN), ("invest", [], 0),
                                 ("adjust", [], 0)]
    html = render_to_string("analytics/dashboard.html#tiles", {
        "tiles": [{"tile": REGISTRY["flags"], "summary": summary, "ignored": []}], "f": f, "ctx": ctx,
        "query": "period=FY2026"})
    assert "Rep 07" in html and "Rep 08" not in html
    assert 'data-flags-more="coach"' in html and "and 3 more" in html
    assert "tile=flags&amp;key=coach&amp;period=FY2026" in html
    assert "Nothing to invest in this period." in html
    # The drill-down behind "and 3 more" has every coach flag.
    assert [r["subject"] for r in REGISTRY["flags"].rows(ctx, "coach")] == [fl.subject for fl in coach]
