"""Property: on any small world and change, the engine agrees with the slow reference (tests/scenarios/reference.py)
to the cent (the engine rounds once; the reference is exact)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios import engine
from tests.scenarios import reference

WINDOW = (dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 3, 1))
cents = st.integers(min_value=0, max_value=500_000).map(lambda c: c / 100)
# Admission days and rule dates from a month before the window to a month after it.
DAYS = st.dates(min_value=dt.date(2024, 12, 1), max_value=dt.date(2025, 4, 30))


@st.composite
def worlds(draw):
    stays = []
    for sid in range(draw(st.integers(0, 4))):
        admitted = draw(DAYS)
        stays.append((1000 + sid, draw(st.sampled_from([1, 2, 3])), draw(st.sampled_from(["", "PPO", "hmo"])),
                      draw(st.sampled_from([10, 11])), draw(st.sampled_from(["php", "iop"])), admitted,
                      WINDOW[0] <= admitted < engine.add_months(WINDOW[-1], 1),
                      float(draw(st.integers(0, 90))), draw(st.booleans())))
    claims = []
    for cid in range(draw(st.integers(1, 12))):
        init_denied = draw(st.booleans())
        claims.append((cid + 1, draw(st.sampled_from([1, 2, 3, None])), draw(st.sampled_from([10, 11, None])),
                       draw(st.sampled_from([100, 101, None])),
                       draw(st.sampled_from([None] + [s[0] for s in stays])), draw(st.sampled_from(WINDOW)),
                       float(draw(st.integers(0, 40))), draw(cents), draw(st.one_of(st.none(), cents)),
                       0.0 if init_denied and draw(st.booleans()) else draw(cents), draw(st.booleans()),
                       init_denied and draw(st.booleans()), init_denied, draw(cents), draw(cents)))
    c = engine.frame(claims, engine.CLAIM_COLUMNS)
    c["expected"] = c["expected"].astype("float64")
    a = engine.frame(stays, engine.ADMISSION_COLUMNS)
    dtp = {p: float(draw(st.integers(0, 120))) for p in draw(st.sets(st.sampled_from([1, 2, 3])))}
    org = draw(st.one_of(st.none(), st.integers(0, 120).map(float)))
    horizon = draw(st.integers(1, 6))
    inp = engine.Inputs(window=WINDOW, horizon=horizon, claims=c, admissions=a,
                        direct_cost_total=float(c["direct_cost"].sum()) + draw(cents),
                        rcm_cost_total=float(c["rcm_cost"].sum()) + draw(cents), days_to_pay=dtp, org_days_to_pay=org)
    effective = engine.add_months(WINDOW[-1], draw(st.integers(1, horizon)))
    kind = draw(st.sampled_from(engine.KINDS))
    if kind == engine.EXIT_CONTRACT:
        ch = engine.Change(kind=kind, effective_month=effective, contract_id=draw(st.sampled_from([100, 101])),
                           recapture_pct=float(draw(st.integers(0, 100))))
    elif kind == engine.TIGHTEN_INTAKE_RULE:
        # Usually aimed at one of the stays (its payer, plan or every plan, program or level of care), so that the
        # rule's effective dates decide; otherwise any target.
        if stays and draw(st.integers(0, 3)):
            stay = draw(st.sampled_from(stays))
            payer, plan = stay[1], draw(st.sampled_from(["", stay[2].upper()]))
            program = draw(st.sampled_from([stay[3], None]))
            level = "" if program else stay[4]
        else:
            payer, plan = draw(st.sampled_from([1, 2, 3])), draw(st.sampled_from(["", "ppo", "HMO"]))
            program = draw(st.sampled_from([10, 11, None]))
            level = "" if program else draw(st.sampled_from(["php", "iop"]))
        ch = engine.Change(kind=kind, effective_month=effective, payer_id=payer, plan_name=plan, program_id=program,
                           level_of_care=level,
                           decision=draw(st.sampled_from([engine.NOT_ALLOWED, engine.ALLOWED_WITH_AUTHORIZATION])),
                           rule_from=draw(st.one_of(st.none(), DAYS)), rule_to=draw(st.one_of(st.none(), DAYS)))
    else:
        ch = engine.Change(kind=kind, effective_month=effective, payer_id=draw(st.sampled_from([1, 2, 3])),
                           delta_points=float(draw(st.integers(-100, 100))),
                           rework_cost_per_denial=draw(st.one_of(st.none(), cents)))
    return inp, ch


def _close(engine_value, exact, tolerance=Decimal("0.011")):
    return abs(Decimal(str(engine_value)) - Decimal(exact.numerator) / Decimal(exact.denominator)) <= tolerance


@settings(max_examples=150, deadline=None)
@given(worlds())
def test_engine_agrees_with_the_reference(world):
    inp, ch = world
    try:
        expected = reference.evaluate(inp, ch)
    except engine.ScenarioError as exc:
        try:
            engine.evaluate(inp, ch)
        except engine.ScenarioError as err:
            assert err.field == exc.field
            return
        raise AssertionError("the reference refused the change, the engine did not")
    result = engine.evaluate(inp, ch)
    for row in result["summary"]:
        if row["key"] == "margin_pct":
            continue
        tolerance = Decimal("0.051") if row["unit"] == "count" else Decimal("0.011")
        assert _close(row["base"], expected["base"][row["key"]], tolerance), row
        assert _close(row["scenario"], expected["scenario"][row["key"]], tolerance), row
    for j, month in enumerate(result["monthly"]):
        assert _close(month["cash_base"], expected["cash_base"][j]), (j, month)
        assert _close(month["cash_scenario"], expected["cash_scenario"][j]), (j, month)
