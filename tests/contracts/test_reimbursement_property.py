"""Property: for random contracts, versions, single-case agreements, admissions, claims and payments, the
set-based recompute agrees claim by claim and line by line with the slow per-claim reference."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.services import contracts as svc
from contracts.services.reimbursement import expected_recompute
from revops.models import Payer, Program
from tests.contracts import fixtures as f
from tests.contracts.test_reimbursement import agrees_with_reference

pytestmark = pytest.mark.django_db

PATIENTS = [f.PATIENT_A, f.PATIENT_B, "c" * 64]
CODES = ["H0035", "S9480", "90837", "90834", "80053"]
LEVELS = ["php", "iop", "residential"]
START = dt.date(2025, 1, 1)

money = st.decimals(min_value=Decimal("0"), max_value=Decimal("2000"), places=2)
rate = st.decimals(min_value=Decimal("0"), max_value=Decimal("900"), places=4)
day = st.integers(min_value=0, max_value=120).map(lambda n: START + dt.timedelta(days=n))

term_st = st.one_of(
    st.fixed_dictionaries({"kind": st.just("fee_schedule"), "code": st.sampled_from(CODES),
                           "modifier": st.sampled_from(["", "HO"]), "rate": rate}),
    st.fixed_dictionaries({"kind": st.just("per_diem"), "level_of_care": st.sampled_from(LEVELS), "rate": rate,
                           "lesser_of_charges": st.booleans()}),
    st.fixed_dictionaries({"kind": st.just("case_rate"), "basis": st.sampled_from(["per_claim", "per_admission"]),
                           "level_of_care": st.sampled_from(["", *LEVELS]), "rate": rate}),
    st.fixed_dictionaries({"kind": st.just("percent_of_charges"),
                           "rate": st.decimals(min_value=Decimal("0"), max_value=Decimal("150"), places=2)}),
)
contract_st = st.fixed_dictionaries({
    "plan": st.sampled_from(["", "", "HMO"]), "payer": st.integers(0, 1), "start": day,
    "terms": st.lists(term_st, min_size=1, max_size=5),
    "revision": st.one_of(st.none(), st.tuples(st.integers(1, 90), st.lists(term_st, min_size=1, max_size=3))),
})
line_st = st.tuples(st.sampled_from(CODES), money, st.sampled_from([None, Decimal("1"), Decimal("2"), Decimal("7")]),
                    st.integers(0, 3), st.sampled_from(["", "HO", "GT:HO"]))
claim_st = st.fixed_dictionaries({
    "payer": st.integers(0, 1), "program": st.integers(0, 2), "patient": st.integers(0, 2), "start": day,
    "lines": st.lists(line_st, min_size=1, max_size=4),
    "payments": st.lists(st.tuples(money, money, st.booleans()), max_size=2),
})


def _add_terms(version, terms) -> None:
    seen = set()
    for t in terms:
        key = (t["kind"], t.get("code", ""), t.get("modifier", ""), t.get("level_of_care", ""), t.get("basis", ""))
        if key in seen or (t["kind"] == "percent_of_charges" and any(k[0] == t["kind"] for k in seen)):
            continue
        seen.add(key)
        svc.term_save(version=version, **t)


class Rollback(Exception):
    pass


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(contracts=st.lists(contract_st, max_size=3), claims=st.lists(claim_st, min_size=1, max_size=6),
       admissions=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2), day, st.sampled_from(["", "HMO", "PPO"])),
                           max_size=3),
       sca=st.one_of(st.none(), st.tuples(st.integers(0, 2), st.integers(0, 2), day, term_st)))
def test_set_based_recompute_agrees_with_the_reference(tenant_a, contracts, claims, admissions, sca):
    try:
        with transaction.atomic():
            payers = [tenant_a.objects["payer"], Payer.objects.create(name="Second", payer_class="medicaid")]
            programs = [tenant_a.objects["program"],
                        Program.objects.create(code="IOP", name="IOP", level_of_care="iop"),
                        Program.objects.create(code="RES", name="RES", level_of_care="residential")]
            for i, spec in enumerate(contracts):
                payer = payers[spec["payer"]]
                try:
                    k = svc.contract_create(payer=payer, name=f"K{i}", plan_name=spec["plan"])
                    version = k.versions.get()
                    _add_terms(version, spec["terms"])
                    svc.version_publish(version=version, effective_from=spec["start"])
                    if spec["revision"]:
                        later, terms = spec["revision"]
                        v2 = svc.version_create(contract=k)
                        _add_terms(v2, terms)
                        svc.version_publish(version=v2, effective_from=spec["start"] + dt.timedelta(days=later))
                except Exception:  # an overlapping contract for the same payer and plan is refused: skip it
                    continue
            for patient, program, admitted, plan in admissions:
                f.admission(program=programs[program], payer=payers[0], plan=plan, admitted=admitted,
                            patient_hash=PATIENTS[patient])
            if sca is not None:
                patient, program, starts, t = sca
                if t["kind"] != "fee_schedule":
                    svc.single_case_create(payer=payers[0], program=programs[program], patient_hash=PATIENTS[patient],
                                           starts_on=starts, ends_on=starts + dt.timedelta(days=30), kind=t["kind"],
                                           rate=t["rate"], basis=t.get("basis", ""),
                                           lesser_of_charges=t.get("lesser_of_charges", False))
            for spec in claims:
                lines = [(code, charge, units, spec["start"] + dt.timedelta(days=offset), mods)
                         for code, charge, units, offset, mods in spec["lines"]]
                c = f.claim(payer=payers[spec["payer"]], program=programs[spec["program"]],
                            patient_hash=PATIENTS[spec["patient"]], lines=lines, service_from=spec["start"])
                for paid, pr, denied in spec["payments"]:
                    f.pay(claim=c, paid=str(paid), pr=str(pr), denied=denied)
            expected_recompute()
            agrees_with_reference()
            raise Rollback
    except Rollback:
        pass
