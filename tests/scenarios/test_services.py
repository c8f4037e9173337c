"""The scenario service on the database world of tests/scenarios/fixtures.py (hand-computed figures in its
docstring and below), validation, and agreement with the other apps' definitions of the same numbers."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from contracts.services.reviews import reviews_generate
from intake.selectors import program_profitability
from revops.models import Role
from revops.tenancy import tenant_context
from scenarios import selectors, services
from tests.scenarios.fixtures import FEB, JAN, MAR

pytestmark = pytest.mark.django_db
D = Decimal


def create(kind, parameters, **kw):
    """Computed in the call (the job path is tests/scenarios/test_jobs.py)."""
    return services.scenario_create(name=f"t {kind}", kind=kind, parameters=parameters, window_end=FEB,
                                    window_months=2, horizon_months=3, compute_now=True, **kw)


def summary(s):
    return {r["key"]: (r["base"], r["scenario"], r["delta"]) for r in s.result["summary"]}


def test_exit_contract_on_the_database_world(scenario_world, tenant_a):
    s = create("exit_contract", {"contract_id": scenario_world["contract"].pk})
    f = summary(s)
    assert f["claims"] == ("3", "1", "-2") and f["admissions"] == ("2", "1", "-1")
    assert f["patient_days"] == ("31", "2", "-29") and f["claims_denied"] == ("1", "0", "-1")
    assert f["expected"] == ("1500.00", "0.00", "-1500.00")
    assert f["net_revenue"] == ("1200.00", "400.00", "-800.00")
    # direct 1600 - (500 + 600) = 500; RCM 50 - (15 + 20) = 15; margin 400 - 500 - 15 = -115
    assert f["direct_cost"] == ("1600.00", "500.00", "-1100.00") and f["rcm_cost"] == ("50.00", "15.00", "-35.00")
    assert f["margin"] == ("-450.00", "-115.00", "335.00")
    # Cash: payer A (30 days: a month later) 400 a month, payer B (15 days: half now, half next month) 200.
    # Base March 100, April 400 + 100 + 100, May the same; exit stops payer A's new volume from March.
    assert [r["cash_base"] for r in s.result["monthly"]] == ["100.00", "600.00", "600.00"]
    assert [r["cash_delta"] for r in s.result["monthly"]] == ["0.00", "-400.00", "-400.00"]
    assert s.result["notes"] == {"claims_without_expectation": 0}
    assert s.effective_month == MAR and s.created_by is None and len(s.inputs_digest) == 64


def test_denial_rate_change_on_the_database_world(scenario_world, tenant_a):
    s = create("denial_rate_change", {"payer_id": scenario_world["a"].pk, "delta_points": "-50"})
    f = summary(s)
    # payer A: 2 claims, c2 initially denied (50%); 1 claim moves at 800 (c1's paid) - 0 recovered = +800;
    # one rework saved at payer A's RCM cost per claim (15 + 20) / 2 = 17.50; margin -450 + 817.50 = 367.50.
    assert f["net_revenue"] == ("1200.00", "2000.00", "800.00")
    assert f["rcm_cost"] == ("50.00", "32.50", "-17.50") and f["margin"][1] == "367.50"
    assert s.result["denial_kpi"] == {"claims_submitted": 2, "initially_denied": 1, "rate": "50.00"}
    assert [r["cash_delta"] for r in s.result["monthly"]] == ["0.00", "400.00", "400.00"]


def test_tighten_intake_rule_on_the_database_world(scenario_world, tenant_a):
    a, b, php = scenario_world["a"], scenario_world["b"], scenario_world["php"]
    refused = create("tighten_intake_rule", {"payer_id": a.pk, "plan_name": "ppo", "program_id": php.pk,
                                             "decision": "allowed_with_authorization"})
    # Stay X had no authorization on its admission day: it and c1, c2 leave, exactly as the exit above.
    assert summary(refused)["margin"] == ("-450.00", "-115.00", "335.00")
    kept = create("tighten_intake_rule", {"payer_id": b.pk, "level_of_care": "php",
                                          "decision": "allowed_with_authorization"})
    assert all(r["delta"] in ("0", "0.00") for r in kept.result["summary"])  # stay Y was authorized


def test_tightened_rule_keeps_admissions_outside_its_effective_dates(scenario_world, tenant_a):
    from intake import services as intake_services

    a, php = scenario_world["a"], scenario_world["php"]
    # Two rules of payer A in PHP, one after the other: to January 31, and from February 1 (open-ended).
    january = intake_services.intake_rule_save(payer=a, program=php, decision="allowed", plan_name="PPO",
                                               effective_from=dt.date(2024, 1, 1), effective_to=dt.date(2025, 1, 31))
    february = intake_services.intake_rule_save(payer=a, program=php, decision="allowed_with_authorization",
                                                plan_name="PPO", effective_from=FEB)
    # Stay X (admitted January 6, no authorization) is under the January rule: tightened, X and c1, c2 leave as
    # in the exit above (margin -450 -> -115).
    s = create("tighten_intake_rule", {"rule_id": january.pk, "decision": "allowed_with_authorization"})
    assert s.parameters["effective_from"] == "2024-01-01" and s.parameters["effective_to"] == "2025-01-31"
    assert summary(s)["margin"] == ("-450.00", "-115.00", "335.00")
    assert "(admissions from 2024-01-01 to 2025-01-31)" in s.description
    # The February rule is in force for February only; X was admitted in January and keeps its base figures.
    s = create("tighten_intake_rule", {"rule_id": february.pk, "decision": "not_allowed"})
    assert all(r["delta"] in ("0", "0.00") for r in s.result["summary"])
    notes = {r["label"]: r["value"] for r in s.result["assumptions"]}
    assert notes["Rule in force (admission days in the window)"] == "2025-02-01 to 2025-02-28"
    assert notes["Admissions outside the rule's dates (kept as in the base case)"] == 1
    # Without a rule, dates may be given directly; the end may not come before the start.
    s = create("tighten_intake_rule", {"payer_id": a.pk, "program_id": php.pk, "decision": "not_allowed",
                                       "effective_to": "2025-01-06"})
    assert summary(s)["margin"][2] == "335.00"
    with pytest.raises(ValidationError) as err:
        create("tighten_intake_rule", {"payer_id": a.pk, "program_id": php.pk, "decision": "not_allowed",
                                       "effective_from": "2025-02-01", "effective_to": "2025-01-01"})
    assert "effective_to" in err.value.message_dict


def test_allocation_agrees_with_the_contract_review_and_patient_days_with_program_profitability(scenario_world,
                                                                                               tenant_a):
    inp, _ = selectors.scenario_inputs(window=(JAN, FEB), horizon=3)
    [review] = reviews_generate(start=JAN, contract_ids=[scenario_world["contract"].pk])
    mine = inp.claims.loc[inp.claims["contract_id"] == scenario_world["contract"].pk]
    assert D(str(round(mine["direct_cost"].sum(), 2))) == review.direct_cost == D("1100.00")
    assert D(str(round(mine["rcm_cost"].sum(), 2))) == review.rcm_cost == D("35.00")
    rows = program_profitability(start=JAN, end=FEB, grain="total", as_of=dt.date(2025, 2, 28))
    assert inp.admissions["patient_days"].sum() == sum(r.patient_days for r in rows) == 31
    assert sum(r.admissions for r in rows) == 2


def test_recompute_reports_whether_the_data_changed(scenario_world, tenant_a):
    s = create("exit_contract", {"contract_id": scenario_world["contract"].pk})
    s, changed = services.scenario_recompute(scenario=s)
    assert changed is False
    from intake.models import ProgramCost

    ProgramCost.objects.filter(month=FEB).update(amount=D("700"))
    s, changed = services.scenario_recompute(scenario=s)
    assert changed is True and summary(s)["direct_cost"][0] == "1700.00"


@pytest.mark.parametrize("kind,parameters,field", [
    ("exit_contract", {"contract_id": 999999}, "contract_id"),
    ("exit_contract", {}, "contract_id"),
    ("exit_contract", {"contract_id": "x"}, "contract_id"),
    ("denial_rate_change", {"payer_id": None, "delta_points": "-3"}, "payer_id"),
    ("denial_rate_change", {"payer_id": "A", "delta_points": "0"}, "delta_points"),
    ("denial_rate_change", {"payer_id": "A", "delta_points": "abc"}, "delta_points"),
    ("denial_rate_change", {"payer_id": "A", "delta_points": "-150"}, "delta_points"),
    ("denial_rate_change", {"payer_id": "A", "delta_points": "-60"}, "delta_points"),  # below 0% (50% now)
    ("tighten_intake_rule", {"payer_id": "A", "program_id": "PHP", "decision": "allowed"}, "decision"),
    ("tighten_intake_rule", {"payer_id": "A", "decision": "not_allowed"}, "program_id"),
    ("nonsense", {}, "kind"),
])
def test_bad_parameters_are_refused_with_the_field_named(scenario_world, tenant_a, kind, parameters, field):
    ids = {"A": scenario_world["a"].pk, "PHP": scenario_world["php"].pk}
    parameters = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in parameters.items()}
    with pytest.raises(ValidationError) as err:
        create(kind, parameters)
    assert field in err.value.message_dict


def test_another_organizations_contract_is_not_found(world):
    with tenant_context(world.b.org):
        from tests.contracts import fixtures as cf

        foreign, _ = cf.contract(payer=world.b.objects["payer"], terms=[{"kind": "per_diem", "level_of_care": "php",
                                                                         "rate": "1"}])
    with tenant_context(world.a.org), pytest.raises(ValidationError) as err:
        create("exit_contract", {"contract_id": foreign.pk})
    assert err.value.message_dict == {"contract_id": ["No such contract."]}


def test_window_and_effective_month_are_checked(scenario_world, tenant_a):
    with pytest.raises(ValidationError) as err:
        create("exit_contract", {"contract_id": scenario_world["contract"].pk}, effective_month=FEB)
    assert "effective_month" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.scenario_create(name="x", kind="exit_contract", window_end=dt.date(2020, 1, 1), compute_now=True,
                                 parameters={"contract_id": scenario_world["contract"].pk})
    assert "window_end" in err.value.message_dict  # no claims then


def test_default_window_is_the_last_complete_month_with_claims(scenario_world, tenant_a):
    assert selectors.last_complete_month(today=dt.date(2025, 6, 15)) == FEB
    assert selectors.last_complete_month(today=dt.date(2025, 2, 10)) == JAN  # February is not complete


def test_visibility_private_to_the_author_until_shared(scenario_world, tenant_a):
    author, other = tenant_a.users[Role.REVOPS_ANALYST], tenant_a.users[Role.EXECUTIVE]
    s = create("exit_contract", {"contract_id": scenario_world["contract"].pk}, user=author)
    assert list(selectors.visible_scenarios(user=author)) == [s]
    assert list(selectors.visible_scenarios(user=other)) == []
    services.scenario_share(scenario=s, shared=True)
    assert list(selectors.visible_scenarios(user=other)) == [s]
    assert selectors.may_manage(scenario=s, user=author, role=Role.REVOPS_ANALYST)
    assert not selectors.may_manage(scenario=s, user=other, role=Role.EXECUTIVE)
    assert selectors.may_manage(scenario=s, user=other, role=Role.ADMIN)
