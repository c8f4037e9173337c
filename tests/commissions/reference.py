"""A slow, obviously-right commission engine for the tests: one credit at a time, Decimal arithmetic,
plain loops, the rules of docs/commissions.md spelled out. Same inputs and output columns as
``commissions.engine.compute_lines`` (including the choices listed in that module's docstring)."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Context, Decimal

import pandas as pd

from commissions.engine import OUTPUT_COLUMNS, ComponentSpec, VersionSpec

CTX = Context(prec=80)  # far more digits than any amount here: every quotient is exact or rounds cleanly


def rnd(x: Decimal) -> int:
    """Round half away from zero to an integer (ROUND_HALF_UP in Decimal is away from zero)."""
    return int(x.quantize(Decimal(1), rounding=ROUND_HALF_UP, context=CTX))


def div(a: int, b: int) -> Decimal:
    return CTX.divide(Decimal(a), Decimal(b))


def line_amount(credited_cents: int, rate_micro: int) -> int:
    """round(credited x rate)."""
    return rnd(div(credited_cents * rate_micro, 1_000_000))


def boundary(quota: int, centipct: int) -> int:
    """A threshold of t% is round(quota x t / 100) cents."""
    return rnd(div(quota * centipct, 10_000))


def attainment(cum: int, quota: int | None) -> int:
    return -1 if quota is None else rnd(div(cum * 10_000, quota))


def to_date(x) -> dt.date | None:
    return None if x is None or pd.isna(x) else pd.Timestamp(x).date()


def reference_lines(*, credits: pd.DataFrame, components: list[ComponentSpec], versions: dict[int, VersionSpec],
                    quotas: dict[tuple[int, str], int], prior_paid: pd.DataFrame) -> list[dict]:
    credit_rows = []
    for rec in credits.to_dict("records"):
        r = {k: rec[k] for k in ("txn_id", "person_id", "credited_cents", "share_micro", "role", "role_order",
                                 "rule_id", "basis", "service_line_id", "version_id", "reverses_txn_id",
                                 "orig_amount_cents", "amount_cents")}
        r = {k: (v if isinstance(v, str) else int(v)) for k, v in r.items()}
        r["date"] = to_date(rec["date"])
        r["orig_date"] = to_date(rec["orig_date"])
        credit_rows.append(r)
    credit_rows.sort(key=lambda r: (r["person_id"], r["date"], r["txn_id"], r["role_order"], r["rule_id"],
                                    r["credited_cents"], r["share_micro"]))

    # period-to-date cumulative credit per (person, basis); reversals do not count
    running: dict[tuple[int, str], int] = defaultdict(int)
    for r in credit_rows:
        key = (r["person_id"], r["basis"])
        r["before"] = running[key]
        if r["reverses_txn_id"] == 0:
            running[key] += r["credited_cents"]
        r["after"] = running[key]
    final = dict(running)

    def quota_of(person: int, basis: str) -> int | None:
        q = quotas.get((person, basis))
        return q if q is not None and q > 0 else None

    lines: list[dict] = []

    def emit(r: dict | None, **kw) -> None:
        line = {
            "person_id": kw.pop("person_id", r["person_id"] if r else None),
            "txn_id": r["txn_id"] if r else 0, "date": r["date"] if r else None, "role": r["role"] if r else "",
            "rule_id": r["rule_id"] if r else 0, "share_micro": r["share_micro"] if r else 0,
            "held_cents": 0, "release_on": None, "note": "",
        }
        line.update(kw)
        lines.append(line)

    by_id = {c.id: c for c in components}
    ordered_components = sorted(components, key=lambda c: c.id)

    # -- commission and SPIFF lines, one credit at a time --
    for r in credit_rows:
        if r["version_id"] == 0 or r["reverses_txn_id"] != 0:
            continue
        for c in ordered_components:
            if c.kind == "bonus" or c.version_id != r["version_id"] or c.basis != r["basis"]:
                continue
            if c.service_line_id and c.service_line_id != r["service_line_id"]:
                continue
            if c.kind == "spiff":
                spiff_line(r, c, quota_of(r["person_id"], r["basis"]), emit)
            else:
                commission_lines(r, c, quota_of(r["person_id"], r["basis"]), final, emit)

    # -- bonuses: each (person, version) with a credit, each bonus component of the version --
    pairs = sorted({(r["person_id"], r["version_id"]) for r in credit_rows if r["version_id"] != 0})
    for person, version in pairs:
        for c in ordered_components:
            if c.kind != "bonus" or c.version_id != version:
                continue
            f = final.get((person, c.basis), 0)
            q = quota_of(person, c.basis)
            tier = 0
            note = ""
            if c.tier_basis == "attainment" and q is None:
                note = "no_quota"
            else:
                for k, t in enumerate(c.tiers):
                    bound = boundary(q, t.threshold) if c.tier_basis == "attainment" else t.threshold
                    if f >= bound:
                        tier = k + 1
            emit(None, person_id=person, kind="bonus", component_id=c.id, version_id=c.version_id,
                 credited_cents=f, att_before=-1, att_after=attainment(f, q), tier=tier, rate_micro=-1,
                 amount_cents=c.tiers[tier - 1].amount_cents if tier else 0, note=note)

    # -- clawbacks: one per (person, reversal transaction, component the original paid them under) --
    run_txns = {r["txn_id"] for r in credit_rows if r["reverses_txn_id"] == 0}
    earned_now: dict[tuple[int, int], list[dict]] = defaultdict(list)  # this run's lines by (txn, person)
    for ln in lines:  # commission and SPIFF lines so far
        earned_now[(ln["txn_id"], ln["person_id"])].append(ln)
    earlier: dict[tuple[int, int], list[dict]] = defaultdict(list)  # prior_paid rows by (txn, person)
    for pp in prior_paid.to_dict("records"):
        earlier[(int(pp["txn_id"]), int(pp["person_id"]))].append(pp)
    claims: dict[tuple[int, int], list[dict]] = {}
    for r in credit_rows:
        if r["reverses_txn_id"] != 0 and r["version_id"] != 0:
            claims.setdefault((r["person_id"], r["txn_id"]), []).append(r)  # rows arrive in credit order
    for (person, _txn), rs in claims.items():
        first = rs[0]
        orig = first["reverses_txn_id"]
        paid: dict[int, int] = defaultdict(int)
        if orig in run_txns:
            for ln in earned_now[(orig, person)]:
                if ln["kind"] in ("commission", "spiff"):
                    paid[ln["component_id"]] += ln["amount_cents"]
        else:
            for pp in earlier[(orig, person)]:
                paid[int(pp["component_id"])] += int(pp["paid_cents"])
        for comp_id in sorted(paid):
            c = by_id[comp_id]
            if c.clawback_days is None:
                amount, note = 0, "no_clawback"
            elif first["orig_date"] is None or (first["date"] - first["orig_date"]).days > c.clawback_days:
                amount, note = 0, "outside_clawback_window"
            elif first["orig_amount_cents"] == 0:
                amount, note = -paid[comp_id], ""
            else:
                amount = -rnd(div(paid[comp_id] * abs(first["amount_cents"]), abs(first["orig_amount_cents"])))
                note = ""
            emit(first, kind="clawback", component_id=comp_id, version_id=c.version_id,
                 credited_cents=sum(x["credited_cents"] for x in rs), att_before=-1, att_after=-1, tier=0,
                 rate_micro=-1, amount_cents=amount, note=note)

    # -- caps: a component's lines for a person, then a version's --
    comp_total: dict[tuple[int, int], int] = defaultdict(int)
    for ln in lines:
        comp_total[(ln["person_id"], ln["component_id"])] += ln["amount_cents"]
    for (person, comp_id), total in sorted(comp_total.items()):
        c = by_id[comp_id]
        if c.cap_cents is not None and total > c.cap_cents:
            emit(None, person_id=person, kind="cap", component_id=comp_id, version_id=c.version_id, credited_cents=0,
                 att_before=-1, att_after=-1, tier=0, rate_micro=-1, amount_cents=c.cap_cents - total, note="capped")
    version_total: dict[tuple[int, int], int] = defaultdict(int)
    for ln in lines:
        if ln["component_id"] != 0:
            version_total[(ln["person_id"], by_id[ln["component_id"]].version_id)] += ln["amount_cents"]
    for (person, version), total in sorted(version_total.items()):
        v = versions.get(version)
        if v is not None and v.period_cap_cents is not None and total > v.period_cap_cents:
            emit(None, person_id=person, kind="cap", component_id=0, version_id=version, credited_cents=0,
                 att_before=-1, att_after=-1, tier=0, rate_micro=-1, amount_cents=v.period_cap_cents - total,
                 note="capped")

    # -- holds on positive commission and SPIFF lines --
    for ln in lines:
        c = by_id.get(ln["component_id"])
        if ln["kind"] in ("commission", "spiff") and ln["amount_cents"] > 0 and c.hold_centipct:
            held = rnd(div(ln["amount_cents"] * c.hold_centipct, 10_000))
            ln["held_cents"] = held
            if held:
                ln["release_on"] = ln["date"] + dt.timedelta(days=c.hold_days)
    return [{k: ln[k] for k in OUTPUT_COLUMNS} for ln in lines]


def spiff_line(r: dict, c: ComponentSpec, quota: int | None, emit) -> None:
    if c.spiff_start is not None and r["date"] < to_date(c.spiff_start):
        return
    if c.spiff_end is not None and r["date"] > to_date(c.spiff_end):
        return
    # round(unit_amount x share + credited x rate)
    amount = rnd(div(c.unit_cents * r["share_micro"] + r["credited_cents"] * c.rate_micro, 1_000_000))
    emit(r, kind="spiff", component_id=c.id, version_id=c.version_id, credited_cents=r["credited_cents"],
         att_before=attainment(r["before"], quota), att_after=attainment(r["after"], quota), tier=0,
         rate_micro=c.rate_micro, amount_cents=amount)


def commission_lines(r: dict, c: ComponentSpec, quota: int | None, final: dict, emit) -> None:
    on_attainment = c.rate_type != "flat" and c.tier_basis == "attainment"
    needs_quota = on_attainment or c.hurdle_centipct is not None
    note = "no_quota" if needs_quota and quota is None else ""
    hurdle = boundary(quota, c.hurdle_centipct) if quota is not None and c.hurdle_centipct is not None else None

    # the rate table as (lower boundary or None for minus infinity, rate); tier 1 from minus infinity
    if c.rate_type == "flat":
        table = [(None, c.service_line_rates.get(r["service_line_id"], c.rate_micro))]
    elif on_attainment and quota is None:
        table = [(None, c.tiers[0].rate_micro)]  # no attainment: the first tier's rate
    else:
        table = [(None, c.tiers[0].rate_micro)]
        for t in c.tiers[1:]:
            table.append((boundary(quota, t.threshold) if on_attainment else t.threshold, t.rate_micro))

    def common(**kw):
        emit(r, kind="commission", component_id=c.id, version_id=c.version_id, **kw)

    if c.rate_type == "tiered_retro":
        f = final[(r["person_id"], r["basis"])]
        tier = max(k + 1 for k, (lo, _) in enumerate(table) if lo is None or f >= lo)
        rate = table[tier - 1][1]
        line_note = note
        if hurdle is not None and f < hurdle:
            tier, rate, line_note = 0, 0, "below_hurdle"
        common(credited_cents=r["credited_cents"], att_before=attainment(r["before"], quota),
               att_after=attainment(r["after"], quota), tier=tier, rate_micro=rate,
               amount_cents=line_amount(r["credited_cents"], rate), note=line_note)
        return

    # regions of the cumulative line: (lo, hi, tier, rate), None = infinite; below the hurdle pays 0
    regions = []
    for k, (lo, rate) in enumerate(table):
        hi = table[k + 1][0] if k + 1 < len(table) else None
        regions.append([lo, hi, k + 1, rate])
    if hurdle is not None:
        clipped = [[None, hurdle, 0, 0]]
        for lo, hi, tier, rate in regions:
            lo = hurdle if lo is None else max(lo, hurdle)
            hi = None if hi is None else max(hi, hurdle)
            clipped.append([lo, hi, tier, rate])
        regions = clipped
    regions = [g for g in regions if g[0] is None or g[1] is None or g[0] < g[1]]

    def above(x, lo):
        return lo is None or x >= lo

    def under(x, hi):
        return hi is None or x < hi

    def line(pos, end, region):
        tier, rate = region[2], region[3]
        part = end - pos
        common(credited_cents=part, att_before=attainment(pos, quota), att_after=attainment(end, quota), tier=tier,
               rate_micro=rate, amount_cents=line_amount(part, rate), note="below_hurdle" if tier == 0 else note)

    pos, end = r["before"], r["after"]
    if pos == end:  # nothing moves: one line where it stands
        line(pos, pos, next(g for g in regions if above(pos, g[0]) and under(pos, g[1])))
        return
    # walk from before to after, one region at a time
    while pos != end:
        if end > pos:
            g = next(g for g in regions if above(pos, g[0]) and under(pos, g[1]))
            step = end if g[1] is None else min(end, g[1])
        else:
            g = next(g for g in regions if (g[0] is None or pos > g[0]) and (g[1] is None or pos <= g[1]))
            step = end if g[0] is None else max(end, g[0])
        line(pos, step, g)
        pos = step


def reference_payouts(rows: list[dict]) -> list[dict]:
    """Draws, recovery and payout, one person at a time (the doc's "Statements, draws and guarantees")."""
    out = []
    for p in rows:
        net = p["earned_cents"] + p["adjustments_cents"] - p["held_cents"] + p["released_cents"]
        balance = p["balance_cents"]
        draw = p["draw_cents"]
        draw_paid = recovered = 0
        if draw > 0 and net < draw:
            draw_paid = draw - net
            payout = draw
            if p["draw_recoverable"]:
                balance += draw_paid
        elif draw == 0 and net < 0:
            payout = 0
            balance += -net
        else:
            excess = net - draw
            recovered = min(balance, excess)
            payout = net - recovered
            balance -= recovered
        out.append({**p, "draw_paid_cents": draw_paid, "draw_recovered_cents": recovered,
                    "balance_after_cents": balance, "payout_cents": payout})
    return out
