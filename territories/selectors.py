"""Reads of the territories app: potential, per-territory metrics and balance, plan diffs, ownership.

All set-based (SQL), in the active organization. Definitions (also in docs/territories.md):

- **Payer-adjustment factor** (from RCM, trailing 12 months before the plan starts; claims by
  submission month, remittances by payment month, from ``rcm_feeds_kpi_monthly``), per payer
  class *c* (claims without a payer: class ``unknown``):
  ``mix_c = charges_c / charges``; ``denial_rate_c = initial denied charges_c / charges_c``;
  ``yield_c = payments_c / (adjudicated charges_c - initial denied charges_c)``, clipped to
  [0, 1] (what the class pays per dollar it does not deny);
  ``factor = sum_c mix_c * yield_c * (1 - denial_rate_c)``: expected collections per dollar billed.
- **Potential** of an account, by the plan's basis, from its ``AccountVolume`` of the plan's
  start year (else its latest earlier year): volume; revenue (billed charges); payer-adjusted =
  revenue x factor (revenue when the organization has no RCM data, flagged).
- **Workload**: rep visits a year (``AccountVolume.visits``); accounts are counted apart; the
  **travel proxy** of a territory is the mean great-circle distance in km from its accounts (with
  coordinates) to their centroid (the mean of their coordinates).
- **Balance** over leaf territories: coefficient of variation of potential (population standard
  deviation / mean), max/min ratio, largest deviation from the mean in %.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection

from revops.tenancy import require_tenant_id

from .models import AccountOwnership, PlanStatus, PotentialBasis, Territory, TerritoryPlan

ZERO = Decimal(0)


@dataclass
class PayerAdjustment:
    factor: Decimal | None  # None: no RCM data in the window
    window_start: dt.date
    window_end: dt.date  # exclusive
    by_class: list[dict[str, Any]] = field(default_factory=list)


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def payer_adjustment(*, as_of: dt.date) -> PayerAdjustment:
    end = _month_start(as_of)
    start = end.replace(year=end.year - 1)
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT coalesce(p.payer_class, 'unknown') AS payer_class,
                   sum(k.charges_submitted), sum(k.charges_denied_initial), sum(k.remit_charges), sum(k.payments)
            FROM rcm_feeds_kpi_monthly k LEFT JOIN revops_payer p ON p.id = k.payer_id
            WHERE k.tenant_id = %s AND k.month >= %s AND k.month < %s
            GROUP BY 1 ORDER BY 1
        """, [require_tenant_id(), start, end])
        rows = cursor.fetchall()
    total = sum((r[1] or ZERO) for r in rows)
    out = PayerAdjustment(None, start, end)
    if not rows or total <= 0:
        return out
    factor = ZERO
    for payer_class, charges, denied, adjudicated, payments in rows:
        charges, denied, adjudicated, payments = (charges or ZERO, denied or ZERO, adjudicated or ZERO,
                                                  payments or ZERO)
        if charges <= 0:
            continue
        mix = charges / total
        denial_rate = min(max(denied / charges, ZERO), Decimal(1))
        base = adjudicated - denied
        paid_yield = min(max(payments / base, ZERO), Decimal(1)) if base > 0 else ZERO
        contribution = mix * paid_yield * (1 - denial_rate)
        factor += contribution
        out.by_class.append({"payer_class": payer_class, "mix": mix, "denial_rate": denial_rate,
                             "yield": paid_yield, "contribution": contribution})
    out.factor = factor
    return out


POTENTIAL_SQL = """
    SELECT a.id, a.zip_code, a.state, a.latitude, a.longitude,
           coalesce(v.volume, 0) AS volume, coalesce(v.revenue, 0) AS revenue, coalesce(v.visits, 0) AS visits
    FROM revops_account a
    LEFT JOIN LATERAL (
        SELECT x.volume, x.revenue, x.visits FROM territories_accountvolume x
        WHERE x.tenant_id = %(t)s AND x.account_id = a.id AND x.year <= %(year)s
        ORDER BY x.year DESC LIMIT 1
    ) v ON true
    WHERE a.tenant_id = %(t)s AND a.is_active
"""


def potential_factor(plan: TerritoryPlan) -> tuple[str, Decimal, str]:
    """(column, multiplier, note): the potential is ``column`` x ``multiplier``."""
    if plan.potential_basis == PotentialBasis.VOLUME:
        return "volume", Decimal(1), "Potential is annual volume."
    if plan.potential_basis == PotentialBasis.REVENUE:
        return "revenue", Decimal(1), "Potential is annual billed revenue."
    adj = payer_adjustment(as_of=plan.effective_from)
    if adj.factor is None:
        return "revenue", Decimal(1), ("No RCM data in the 12 months before the plan starts: payer-adjusted potential "
                                       "falls back to billed revenue.")
    return "revenue", adj.factor, (f"Payer-adjusted: billed revenue x {adj.factor:.4f} expected collections per "
                                   f"dollar (payer mix, yield and denial rate {adj.window_start:%b %Y}–"
                                   f"{(adj.window_end - dt.timedelta(days=1)):%b %Y}).")


def _rows(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def account_potentials(*, plan: TerritoryPlan) -> list[dict[str, Any]]:
    """Every active account with its plan territory, volume, revenue, visits and potential."""
    column, multiplier, _ = potential_factor(plan)
    rows = _rows(f"""
        SELECT p.*, pa.territory_id, t.code AS territory_code
        FROM ({POTENTIAL_SQL}) p
        LEFT JOIN territories_planassignment pa ON pa.tenant_id = %(t)s AND pa.plan_id = %(plan)s AND pa.account_id = p.id
        LEFT JOIN territories_territory t ON t.id = pa.territory_id
        ORDER BY p.id
    """, {"t": require_tenant_id(), "plan": plan.pk, "year": plan.effective_from.year})
    for row in rows:
        row["potential"] = (row[column] * multiplier).quantize(Decimal("0.01"))
    return rows


def zip_potentials(*, plan: TerritoryPlan) -> list[dict[str, Any]]:
    """Active accounts grouped by (ZIP, plan territory): accounts, potential, and the sum and count
    of their coordinates (what the map needs, without one row per account)."""
    column, multiplier, _ = potential_factor(plan)
    rows = _rows(f"""
        SELECT p.zip_code, t.code AS territory_code, count(*) AS accounts, sum(p.{column}) AS base,
               coalesce(sum(p.latitude::float8) FILTER (WHERE p.longitude IS NOT NULL), 0) AS lat_sum,
               coalesce(sum(p.longitude::float8) FILTER (WHERE p.latitude IS NOT NULL), 0) AS lon_sum,
               count(*) FILTER (WHERE p.latitude IS NOT NULL AND p.longitude IS NOT NULL) AS located
        FROM ({POTENTIAL_SQL}) p
        LEFT JOIN territories_planassignment pa ON pa.tenant_id = %(t)s AND pa.plan_id = %(plan)s AND pa.account_id = p.id
        LEFT JOIN territories_territory t ON t.id = pa.territory_id
        GROUP BY p.zip_code, t.code
        ORDER BY p.zip_code, t.code
    """, {"t": require_tenant_id(), "plan": plan.pk, "year": plan.effective_from.year})
    for row in rows:
        row["potential"] = (row.pop("base") * multiplier).quantize(Decimal("0.01"))
    return rows


def leaf_territories(plan: TerritoryPlan) -> list[Territory]:
    """The plan's territories without sub-territories (where accounts are balanced), by code."""
    nodes = list(Territory.objects.filter(plan=plan).order_by("code"))
    parents = {t.parent_id for t in nodes if t.parent_id is not None}
    return [t for t in nodes if t.pk not in parents]


@dataclass
class Balance:
    territories: list[dict[str, Any]]
    unassigned: dict[str, Any]
    mean: Decimal
    cv: float | None
    max_min_ratio: float | None
    max_deviation_pct: float | None
    note: str


def balance_stats(values: list[Decimal]) -> tuple[Decimal, float | None, float | None, float | None]:
    """(mean, coefficient of variation, max/min ratio, largest deviation from the mean in %)."""
    if not values:
        return ZERO, None, None, None
    floats = [float(v) for v in values]
    mean = sum(floats) / len(floats)
    if mean <= 0:
        return ZERO, None, None, None
    sd = math.sqrt(sum((v - mean) ** 2 for v in floats) / len(floats))
    low = min(floats)
    return (Decimal(str(round(mean, 2))), sd / mean, (max(floats) / low) if low > 0 else None,
            100 * max(abs(v - mean) for v in floats) / mean)


def plan_balance(*, plan: TerritoryPlan) -> Balance:
    """Per leaf territory: accounts, potential, workload, share and deviation; the unassigned bucket."""
    column, multiplier, note = potential_factor(plan)
    rows = _rows(f"""
        WITH p AS ({POTENTIAL_SQL}),
        placed AS MATERIALIZED (
            SELECT pa.territory_id, p.{column} AS base, p.visits, p.latitude::float8 AS lat, p.longitude::float8 AS lon,
                   avg(p.latitude::float8) OVER w AS clat, avg(p.longitude::float8) OVER w AS clon
            FROM territories_planassignment pa JOIN p ON p.id = pa.account_id
            WHERE pa.tenant_id = %(t)s AND pa.plan_id = %(plan)s
            WINDOW w AS (PARTITION BY pa.territory_id)
        ),
        per AS (
            SELECT territory_id, count(*) AS accounts, sum(base) AS base, sum(visits) AS workload,
                   -- haversine, earth radius 6371 km
                   avg(2 * 6371 * asin(sqrt(power(sin(radians(lat - clat) / 2), 2)
                       + cos(radians(lat)) * cos(radians(clat)) * power(sin(radians(lon - clon) / 2), 2))))
                       AS travel_km
            FROM placed GROUP BY territory_id
        )
        SELECT t.id, t.code, t.name, t.color, t.parent_id, coalesce(per.accounts, 0) AS accounts,
               coalesce(per.base, 0) AS base, coalesce(per.workload, 0) AS workload, per.travel_km
        FROM territories_territory t LEFT JOIN per ON per.territory_id = t.id
        WHERE t.tenant_id = %(t)s AND t.plan_id = %(plan)s
          AND NOT EXISTS (SELECT 1 FROM territories_territory c WHERE c.tenant_id = %(t)s AND c.parent_id = t.id)
        UNION ALL
        SELECT NULL, NULL, 'Unassigned', NULL, NULL, per.accounts, per.base, per.workload, NULL
        FROM per WHERE per.territory_id IS NULL
    """, {"t": require_tenant_id(), "plan": plan.pk, "year": plan.effective_from.year})
    unassigned = {"accounts": 0, "potential": ZERO, "workload": ZERO}
    leaves = []
    for row in rows:
        row["potential"] = (row.pop("base") * multiplier).quantize(Decimal("0.01"))
        if row["id"] is None:
            unassigned = row
        else:
            leaves.append(row)
    leaves.sort(key=lambda r: r["code"])
    mean, cv, ratio, deviation = balance_stats([r["potential"] for r in leaves])
    total = sum((r["potential"] for r in leaves), ZERO)
    from quotas.selectors import leaf_attainment_by_code  # quotas builds on territories, not the reverse

    attainment = leaf_attainment_by_code()
    for row in leaves:
        row["share"] = float(row["potential"] / total) if total > 0 else None
        row["deviation_pct"] = float((row["potential"] - mean) / mean * 100) if mean > 0 else None
        current = attainment.get(row["code"], {})
        row["quota"], row["actual"] = current.get("quota"), current.get("actual")
        row["attainment"] = current.get("attainment")
    return Balance(leaves, unassigned, mean, cv, ratio, deviation, note)


def active_plan() -> TerritoryPlan | None:
    return TerritoryPlan.objects.filter(status=PlanStatus.ACTIVE).first()


def plan_diff(*, plan: TerritoryPlan, against: TerritoryPlan | None = None) -> dict[str, Any]:
    """Accounts whose territory (by code) differs between ``against`` (default: the active plan) and ``plan``,
    with their potential under ``plan``'s basis and the primary reps on ``plan``'s start; per-rep totals."""
    against = against or active_plan()
    if against is None or against.pk == plan.pk:
        return {"against": against, "moves": [], "by_rep": [], "accounts_moved": 0, "potential_moved": ZERO,
                "potential_total": ZERO, "disruption_pct": 0.0}
    column, multiplier, _ = potential_factor(plan)
    on = plan.effective_from
    rep_sql = """
        (SELECT c.person_id FROM territories_coverage c
         WHERE c.tenant_id = %(t)s AND c.territory_id = {t} AND c.role = 'primary' AND c.person_id IS NOT NULL
           AND c.valid_from <= %(on)s AND (c.valid_to IS NULL OR c.valid_to > %(on)s)
         ORDER BY c.valid_from DESC LIMIT 1)
    """
    params = {"t": require_tenant_id(), "plan": plan.pk, "against": against.pk, "on": on, "year": on.year}
    # Only the accounts that move come back to Python; the total is one sum beside them.
    rows = _rows(f"""
        WITH p AS ({POTENTIAL_SQL}),
        d AS (
            SELECT p.id AS account_id, p.{column} AS base, ot.code AS from_code, nt.code AS to_code,
                   {rep_sql.format(t="old.territory_id")} AS from_person_id,
                   {rep_sql.format(t="new.territory_id")} AS to_person_id
            FROM p
            LEFT JOIN territories_planassignment old
                   ON old.tenant_id = %(t)s AND old.plan_id = %(against)s AND old.account_id = p.id
            LEFT JOIN territories_planassignment new
                   ON new.tenant_id = %(t)s AND new.plan_id = %(plan)s AND new.account_id = p.id
            LEFT JOIN territories_territory ot ON ot.id = old.territory_id
            LEFT JOIN territories_territory nt ON nt.id = new.territory_id
        )
        SELECT d.*, a.name AS account FROM d JOIN revops_account a ON a.id = d.account_id
        WHERE d.from_code IS DISTINCT FROM d.to_code OR d.from_person_id IS DISTINCT FROM d.to_person_id
    """, params)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(sum({column}), 0) FROM ({POTENTIAL_SQL}) p", params)
        total = (cursor.fetchone()[0] * multiplier).quantize(Decimal("0.01"))
    from revops.models import Person

    names = {p.pk: str(p) for p in Person.objects.filter(
        pk__in={r["from_person_id"] for r in rows} | {r["to_person_id"] for r in rows})}
    moves = []
    by_rep: dict[Any, dict[str, Any]] = {}
    for row in rows:
        potential = (row["base"] * multiplier).quantize(Decimal("0.01"))
        move = {"account_id": row["account_id"], "account": row["account"], "from": row["from_code"],
                "to": row["to_code"], "from_rep": names.get(row["from_person_id"]),
                "to_rep": names.get(row["to_person_id"]), "potential": potential}
        moves.append(move)
        for key, sign in ((row["from_person_id"], -1), (row["to_person_id"], 1)):
            rep = by_rep.setdefault(key, {"rep": names.get(key, "No rep"), "gained": ZERO, "lost": ZERO,
                                          "accounts_gained": 0, "accounts_lost": 0})
            if sign > 0:
                rep["gained"] += potential
                rep["accounts_gained"] += 1
            else:
                rep["lost"] += potential
                rep["accounts_lost"] += 1
    moved = sum((m["potential"] for m in moves), ZERO)
    for rep in by_rep.values():
        rep["net"] = rep["gained"] - rep["lost"]
    return {"against": against, "moves": sorted(moves, key=lambda m: -m["potential"]),
            "by_rep": sorted(by_rep.values(), key=lambda r: r["net"]), "accounts_moved": len(moves),
            "potential_moved": moved, "potential_total": total,
            "disruption_pct": float(moved / total * 100) if total > 0 else 0.0}


def ownership_on(*, on: dt.date, account_ids: list[int] | None = None) -> list[AccountOwnership]:
    """Who owned each account on ``on`` (territory and rep), from the effective-dated history."""
    qs = AccountOwnership.objects.filter(valid_from__lte=on).exclude(valid_to__lte=on).select_related(
        "territory", "person", "plan")
    if account_ids is not None:
        qs = qs.filter(account_id__in=account_ids)
    return list(qs.order_by("account_id"))


def hierarchy(plan: TerritoryPlan) -> list[tuple[int, Territory]]:
    """The plan's territories depth-first as (depth, territory)."""
    nodes = list(Territory.objects.filter(plan=plan).order_by("code"))
    children: dict[int | None, list[Territory]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    out: list[tuple[int, Territory]] = []

    def walk(parent: int | None, depth: int) -> None:
        for node in children.get(parent, []):
            out.append((depth, node))
            walk(node.pk, depth + 1)

    walk(None, 0)
    return out
