"""Writes of the analytics app: the materialized snapshots the dashboard reads (pipeline as of a date,
territory balance), computed with the pillars' own selectors and stored per organization and date."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from .models import PipelineMonth, Snapshot, SnapshotKind


def _month_key(value: Any) -> str:
    return (value if isinstance(value, dt.date) else value.date()).replace(day=1).isoformat()


def pipeline_payload(*, as_of: dt.date) -> dict[str, Any]:
    """The pipeline as it stood on ``as_of`` (``forecasting.services.open_pipeline``: each opportunity's
    history row in force that day, open stages only), weighted by the conversion rates learned from the
    history known that day (``conversion_table`` + ``engine.weighted_pipeline``: the forecasting app's
    weighted-pipeline definition). Per owner and month: ``close`` (amount by expected-close month: the
    period pipeline) and ``landing`` (weighted amount by the month it is expected to land)."""
    from forecasting import engine, services as fc_services
    from forecasting.models import Opportunity

    if not Opportunity.objects.exists():
        return {"close": [], "landing": [], "opportunities": 0}
    pipeline = fc_services.open_pipeline(as_of=as_of)
    if pipeline.empty:
        return {"close": [], "landing": [], "opportunities": 0}
    conversion = fc_services.conversion_table(as_of=as_of)
    weighted = engine.weighted_pipeline(pipeline, conversion, as_of=as_of)
    weighted["close_month"] = pd.to_datetime(weighted["expected_close"]).dt.to_period("M").dt.to_timestamp().dt.date
    close = weighted.groupby(["owner_id", "close_month"])["amount"].agg(total="sum", n="count").reset_index()
    landing = weighted.groupby(["owner_id", "month"])["expected"].sum().reset_index()
    return {
        "opportunities": int(len(weighted)),
        "close": [[int(r.owner_id), _month_key(r.close_month), str(Decimal(str(r.total)).quantize(Decimal("0.01"))),
                   int(r.n)] for r in close.itertuples()],
        "landing": [[int(r.owner_id), _month_key(r.month), str(Decimal(str(r.expected)).quantize(Decimal("0.01")))]
                    for r in landing.itertuples()],
    }


def territory_balance_payload(*, as_of: dt.date) -> dict[str, Any]:
    """``territories.selectors.plan_balance`` of the active plan (potential, share, deviation, attainment per
    leaf territory; CV, max/min, largest deviation), with each leaf's primary coverage on ``as_of``."""
    from territories.models import Coverage
    from territories.selectors import active_plan, plan_balance

    plan = active_plan()
    if plan is None:
        return {}
    balance = plan_balance(plan=plan)
    primary: dict[int, str] = {}
    vacant: set[int] = set()
    for territory_id, person, placeholder in (
            Coverage.objects.filter(territory__plan=plan, role="primary", valid_from__lte=as_of)
            .exclude(valid_to__lte=as_of).values_list("territory_id", "person__last_name", "placeholder")):
        primary[territory_id] = person or placeholder
        if person is None:
            vacant.add(territory_id)

    def num(v: Any) -> Any:
        return None if v is None else float(v) if isinstance(v, float) else str(v) if isinstance(v, Decimal) else v

    leaves = [{"id": r["id"], "code": r["code"], "name": r["name"], "accounts": r["accounts"],
               "potential": num(r["potential"]), "workload": num(r["workload"]), "share": r["share"],
               "deviation_pct": r["deviation_pct"], "quota": num(r["quota"]), "actual": num(r["actual"]),
               "attainment": r["attainment"], "primary": primary.get(r["id"], ""),
               "vacant": r["id"] in vacant or r["id"] not in primary} for r in balance.territories]
    return {"plan_id": plan.pk, "plan": plan.name, "mean": num(balance.mean), "cv": balance.cv,
            "max_min": balance.max_min_ratio, "largest_deviation": balance.max_deviation_pct, "note": balance.note,
            "unassigned": {"accounts": balance.unassigned.get("accounts", 0),
                           "potential": num(balance.unassigned.get("potential", Decimal(0)))},
            "leaves": leaves}


PAYLOADS = {SnapshotKind.PIPELINE: pipeline_payload, SnapshotKind.TERRITORY_BALANCE: territory_balance_payload}


def _cents(amount: str) -> int:
    return int(Decimal(amount).scaleb(2))


def pipeline_rows_write(*, as_of: dt.date, payload: dict[str, Any]) -> int:
    """Replace the ``PipelineMonth`` rows of ``as_of`` with the payload's (per owner and month: the period
    pipeline by expected-close month, its opportunities, the weighted amount landing that month)."""
    from revops.bulk import copy_insert

    rows: dict[tuple[int, str], list[int]] = {}
    for owner, month, amount, count in payload.get("close", []):
        rows.setdefault((owner, month), [0, 0, 0])[0:2] = [_cents(amount), int(count)]
    for owner, month, amount in payload.get("landing", []):
        rows.setdefault((owner, month), [0, 0, 0])[2] = _cents(amount)
    PipelineMonth.objects.filter(as_of=as_of).delete()
    if not rows:
        return 0
    written = copy_insert(PipelineMonth, columns=["as_of", "owner_id", "month", "close_cents", "opportunities",
                                                  "landing_cents"],
                          rows=[(as_of, owner, dt.date.fromisoformat(month), *v) for (owner, month), v in rows.items()],
                          trusted=["owner_id"])
    with connection.cursor() as cursor:  # never analysed (a new install): planned as empty otherwise
        cursor.execute("SELECT reltuples < 0 FROM pg_class WHERE oid = 'analytics_pipelinemonth'::regclass")
        if cursor.fetchone()[0]:
            cursor.execute("ANALYZE analytics_pipelinemonth")
    return written


# Snapshots of a date written before the rows table existed (no "rows" marker) are recomputed on read.
PIPELINE_ROWS_MARKER = "rows"


@transaction.atomic
def snapshot_refresh(*, kind: str, as_of: dt.date) -> Snapshot:
    """Compute one snapshot and store it (replacing the one of the same kind and date); the pipeline's rows
    are also written to ``PipelineMonth``, which the dashboard sums."""
    payload = PAYLOADS[SnapshotKind(kind)](as_of=as_of)
    if kind == SnapshotKind.PIPELINE:
        payload[PIPELINE_ROWS_MARKER] = pipeline_rows_write(as_of=as_of, payload=payload)
    snapshot, _ = Snapshot.objects.update_or_create(kind=kind, as_of=as_of,
                                                    defaults={"payload": payload, "computed_at": timezone.now()})
    return snapshot


def snapshots_refresh(*, as_of: dt.date | None = None) -> list[Snapshot]:
    """Every kind for ``as_of`` (today): what the nightly job runs."""
    as_of = as_of or timezone.localdate()
    return [snapshot_refresh(kind=kind, as_of=as_of) for kind in SnapshotKind.values]
