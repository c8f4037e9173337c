"""The engine on the hand-computed world of tests/scenarios/frames.py: every expected figure is worked out in the
comments from the rows listed there."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from scenarios import engine
from tests.scenarios.frames import APR, FEB, MAR, MAY, inputs

D = Decimal


def summary(result):
    return {r["key"]: (r["base"], r["scenario"], r["delta"]) for r in result["summary"]}


def cash(result, part):
    return [r[f"cash_{part}"] for r in result["monthly"]]


def test_base_case_of_the_window():
    result = engine.evaluate(inputs(), engine.Change(kind=engine.DENIAL_RATE_CHANGE, effective_month=MAR, payer_id=2,
                                                     delta_points=0.0))
    s = summary(result)
    # 4 claims, 2 stays admitted, 20 + 10 patient-days, c2 denied; expected 900 + 900; paid 800 + 0 + 400 + 600.
    assert [s[k][0] for k in ("claims", "admissions", "patient_days", "claims_denied")] == [4, 2, 30, 1]
    assert s["expected"][0] == D("1800.00") and s["net_revenue"][0] == D("1800.00")
    # margin = 1800 - 1000 - 100 = 700, 38.89% of revenue
    assert (s["direct_cost"][0], s["rcm_cost"][0], s["margin"][0]) == (D("1000.00"), D("100.00"), D("700.00"))
    assert s["margin_pct"][0] == D("38.89")
    # Base cash. Payer 1's lag 30 days = 1 month (all a month later); payer 2's 15 days = half that month, half
    # the next. Run-off: payer 2's February 600 -> half (300) in March. Run-rate per month: payer 1 800/2 = 400,
    # payer 2 1000/2 = 500. March: 300 + 250 (payer 2's March, first half) = 550; April: 400 (payer 1's March)
    # + 250 + 250 = 900; May the same 900.
    assert cash(result, "base") == [D("550.00"), D("900.00"), D("900.00")]
    assert [r["month"] for r in result["monthly"]] == [MAR, APR, MAY]


def test_exit_contract_without_recapture():
    result = engine.evaluate(inputs(), engine.Change(kind=engine.EXIT_CONTRACT, effective_month=MAR, contract_id=100))
    s = summary(result)
    # c1 and c2 leave with stay 1000 (20 patient-days): 2 claims, 1 stay, 10 days, no denial left, nothing
    # expected; revenue 1800 - 800 = 1000; direct 1000 - 600 = 400; RCM 100 - 40 = 60; margin 540 (-160).
    assert [s[k][1] for k in ("claims", "admissions", "patient_days", "claims_denied")] == [2, 1, 10, 0]
    assert (s["expected"][1], s["net_revenue"][1], s["direct_cost"][1], s["rcm_cost"][1]) == (
        D("0.00"), D("1000.00"), D("400.00"), D("60.00"))
    assert s["margin"] == (D("700.00"), D("540.00"), D("-160.00"))
    # By month from March: claims 2 -> 1, revenue 900 -> 500, margin 350 -> 270.
    march = result["monthly"][0]
    assert (march["claims_delta"], march["net_revenue_delta"], march["margin_delta"]) == (-1, D("-400.00"),
                                                                                          D("-80.00"))
    # Cash: the A/R runs off (nothing of payer 1's falls in the horizon anyway); payer 1's run-rate 400 stops from
    # March, which would have arrived in April and May.
    assert cash(result, "scenario") == [D("550.00"), D("500.00"), D("500.00")]
    assert cash(result, "delta") == [D("0.00"), D("-400.00"), D("-400.00")]
    assert result["totals"]["cash_delta"] == D("-800.00")


def test_exit_contract_with_half_recaptured():
    result = engine.evaluate(inputs(), engine.Change(kind=engine.EXIT_CONTRACT, effective_month=MAR, contract_id=100,
                                                     recapture_pct=50.0))
    s = summary(result)
    # Half the volume stays: claims 4 - 1 = 3, stays 2 - 0.5 = 1.5, days 30 - 10 = 20, denied 1 - 0.5 = 0.5.
    assert [s[k][1] for k in ("claims", "admissions", "patient_days", "claims_denied")] == [
        3, D("1.5"), 20, D("0.5")]
    # Re-captured at the other payers' paid per claim in program 10 (c3: 400): 0.5 x 2 x 400 = 400.
    # revenue 1800 - 800 + 400 = 1400; direct 1000 - 300 = 700; RCM 100 - 20 = 80; margin 620.
    assert (s["net_revenue"][1], s["direct_cost"][1], s["rcm_cost"][1], s["margin"][1]) == (
        D("1400.00"), D("700.00"), D("80.00"), D("620.00"))
    # Re-captured cash 200 a month at the organization's 24 days (0.8 month): 40 the same month, 160 the next.
    assert cash(result, "scenario") == [D("590.00"), D("700.00"), D("700.00")]


def test_tighten_intake_rule_refuses_unauthorized_stays():
    change = engine.Change(kind=engine.TIGHTEN_INTAKE_RULE, effective_month=APR, payer_id=1, plan_name="ppo",
                           program_id=10, decision=engine.ALLOWED_WITH_AUTHORIZATION)
    result = engine.evaluate(inputs(), change)
    s = summary(result)
    # Stay 1000 had no authorization on its admission day: it and its claims c1, c2 leave (as the exit above).
    assert s["margin"] == (D("700.00"), D("540.00"), D("-160.00"))
    assert result["assumptions"][0] == {"label": "Admissions refused", "value": 1}
    # From April only: March unchanged; April loses nothing yet (March's payer-1 volume still arrives then); May -400.
    assert cash(result, "delta") == [D("0.00"), D("0.00"), D("-400.00")]
    assert result["monthly"][0]["margin_delta"] == D("0.00") and result["monthly"][1]["margin_delta"] == D("-80.00")


def test_tighten_intake_rule_not_allowed_and_authorization_already_there():
    not_allowed = engine.evaluate(inputs(), engine.Change(kind=engine.TIGHTEN_INTAKE_RULE, effective_month=MAR,
                                                          payer_id=2, program_id=10, decision=engine.NOT_ALLOWED))
    s = summary(not_allowed)
    # Stay 1001 refused with c3: claims 3, stays 1, days 20, revenue 1400, direct 850, RCM 80, margin 470.
    assert [s[k][1] for k in ("claims", "admissions", "patient_days")] == [3, 1, 20]
    assert (s["net_revenue"][1], s["direct_cost"][1], s["rcm_cost"][1], s["margin"][1]) == (
        D("1400.00"), D("850.00"), D("80.00"), D("470.00"))
    authorized = engine.evaluate(inputs(), engine.Change(kind=engine.TIGHTEN_INTAKE_RULE, effective_month=MAR,
                                                         payer_id=2, program_id=10,
                                                         decision=engine.ALLOWED_WITH_AUTHORIZATION))
    assert all(r["delta"] in (0, D("0.00")) for r in authorized["summary"])  # stay 1001 was authorized


def _with_a_february_stay():
    """The world plus stay 1002 (payer 1, plan "PPO", program 10, admitted Feb 10, 6 patient-days, no
    authorization) and its claim c5 (payer 1, program 10, no contract, Feb: charge 700, paid 300; direct 100,
    RCM 20). Totals: direct 1100, RCM 120. Base: 5 claims, 3 stays, 36 days, revenue 2100, margin 880."""
    return inputs(extra_claims=[(5, 1, 10, None, 1002, FEB, 0.0, 700.0, None, 300.0, True, False, False, 100.0, 20.0)],
                  extra_admissions=[(1002, 1, "PPO", 10, "php", dt.date(2025, 2, 10), True, 6.0, False)],
                  direct_cost_total=1100.0, rcm_cost_total=120.0)


def test_tighten_intake_rule_only_within_its_effective_dates():
    inp = _with_a_february_stay()

    def change(**dates):
        return engine.Change(kind=engine.TIGHTEN_INTAKE_RULE, effective_month=MAR, payer_id=1, program_id=10,
                             decision=engine.NOT_ALLOWED, **dates)

    # In force from February 1: stay 1000 (admitted January 5) is outside the rule's dates and keeps its base
    # figures; only stay 1002 and c5 leave: claims 4, stays 2, days 30, revenue 2100 - 300 = 1800, direct
    # 1100 - 100 = 1000, RCM 120 - 20 = 100, margin 700 (-180).
    february = engine.evaluate(inp, change(rule_from=FEB))
    s = summary(february)
    assert s["margin"][0] == D("880.00")
    assert [s[k][1] for k in ("claims", "admissions", "patient_days", "claims_denied")] == [4, 2, 30, 1]
    assert (s["net_revenue"][1], s["direct_cost"][1], s["rcm_cost"][1], s["margin"]) == (
        D("1800.00"), D("1000.00"), D("100.00"), (D("880.00"), D("700.00"), D("-180.00")))
    # c5's 300 / 2 = 150 a month of payer 1 (30 days: a month later) stops from March: April and May.
    assert cash(february, "delta") == [D("0.00"), D("-150.00"), D("-150.00")]
    notes = {a["label"]: a["value"] for a in february["assumptions"]}
    assert notes["Admissions refused"] == 1
    assert notes["Rule in force (admission days in the window)"] == "2025-02-01 to 2025-02-28"
    assert notes["Admissions outside the rule's dates (kept as in the base case)"] == 1
    # Ending January 31: stay 1000 with c1, c2 leave, stay 1002 stays: revenue 2100 - 800 = 1300, direct
    # 1100 - 600 = 500, RCM 120 - 40 = 80, margin 720 (-160).
    assert summary(engine.evaluate(inp, change(rule_to=dt.date(2025, 1, 31))))["margin"][2] == D("-160.00")
    # No dates (open-ended): both stays, c1, c2, c5: revenue 1000, direct 400, RCM 60, margin 540 (-340).
    assert summary(engine.evaluate(inp, change()))["margin"][2] == D("-340.00")
    # A rule in force only after the window changes nothing.
    later = engine.evaluate(inp, change(rule_from=dt.date(2025, 6, 1)))
    assert all(r["delta"] in (0, D("0.00")) for r in later["summary"])
    assert {a["label"]: a["value"] for a in later["assumptions"]}[
        "Rule in force (admission days in the window)"] == "not in force in the window"


def test_denial_rate_falls_for_a_payer():
    result = engine.evaluate(inputs(), engine.Change(kind=engine.DENIAL_RATE_CHANGE, effective_month=MAR, payer_id=1,
                                                     delta_points=-50.0))
    s = summary(result)
    # Payer 1: 2 claims, 1 initially denied (50%). -50 points: 1 claim moves, worth the paid per paid claim (c1:
    # 800) less what denied claims recovered (0): +800; one rework saved at payer 1's RCM cost per claim (20).
    assert s["net_revenue"] == (D("1800.00"), D("2600.00"), D("800.00"))
    assert s["rcm_cost"][1] == D("80.00") and s["margin"][2] == D("820.00")
    assert s["claims"][2] == 0 and s["claims_denied"][1] == 0
    # +400 a month from March at payer 1's 30 days: April and May.
    assert cash(result, "delta") == [D("0.00"), D("400.00"), D("400.00")]
    assert result["monthly"][0]["margin_delta"] == D("410.00")


@pytest.mark.parametrize("delta", [-60.0, 60.0])
def test_denial_rate_cannot_leave_0_to_100(delta):
    with pytest.raises(engine.ScenarioError) as err:
        engine.evaluate(inputs(), engine.Change(kind=engine.DENIAL_RATE_CHANGE, effective_month=MAR, payer_id=1,
                                                delta_points=delta))
    assert err.value.field == "delta_points"


def test_effective_month_must_be_in_the_horizon():
    with pytest.raises(engine.ScenarioError):
        engine.evaluate(inputs(), engine.Change(kind=engine.EXIT_CONTRACT, effective_month=MAY.replace(month=7),
                                                contract_id=100))


def test_lag_weights():
    assert engine.lag_weights(0) == {0: 1.0}
    assert engine.lag_weights(45) == {1: 0.5, 2: 0.5}
    assert engine.lag_weights(30) == {1: 1.0}
