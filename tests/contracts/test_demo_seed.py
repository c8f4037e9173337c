"""The demo's contracts (revops.demo.contracts) on small organizations billed like the demo's: a payer per
class, programs per level of care, claims paid at the demo's payer-class shares."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from contracts.models import ClaimExpectation, Contract, ContractReview
from contracts.selectors import Filters, underpayment_report
from revops.demo.contracts import contracts_seed, payer_share
from revops.demo.rcm import profiles as P
from revops.models import Payer, Program
from revops.tenancy import tenant_context
from tests.contracts import fixtures as f

pytestmark = pytest.mark.django_db
D = Decimal


def _bill(payer, program, service, share: float, day: dt.date, patient: str, units: int = 1, lab: bool = False):
    charge = D(service.charge * units) / 100
    c = f.claim(payer=payer, program=program, patient_hash=patient, lines=[(service.code, charge, units, day)])
    allowed = D(service.fee * units * share if lab else service.charge * units * share) / 100
    allowed = min(allowed, charge).quantize(D("0.01"))
    f.pay(claim=c, paid=str(allowed), lines=[(service.code, str(allowed), "0")], on=day + dt.timedelta(days=30))
    return c


def test_riverbend_contracts_price_the_claims_and_some_payers_underpay(world):
    org = world.a.org
    with tenant_context(org):
        payers = [Payer.objects.create(name=n, payer_class=k) for n, k in (
            ("Kentucky Medicaid", "medicaid"), ("BlueCare Tennessee", "medicaid_managed"), ("Aetna", "commercial"),
            ("Cigna Healthcare", "commercial"), ("Humana Medicare Advantage", "medicare_advantage"))]
        php = world.a.objects["program"]
        res = Program.objects.create(code="KNX-RES", name="Residential", level_of_care="residential")
        iop = Program.objects.create(code="NSH-IOP", name="IOP", level_of_care="iop")
        for month in range(7, 13):
            day = dt.date(2025, month, 6)
            for n, payer in enumerate(payers):
                share = payer_share(payer, lab=False)
                _bill(payer, php, P.PHP, share, day, f"{n:064d}")
                _bill(payer, iop, P.IOP, share, day, f"{n + 10:064d}")
                if payer.payer_class != "medicare_advantage":
                    _bill(payer, res, P.RES, share, day, f"{n + 20:064d}", units=10)
    outcome = contracts_seed(organization=org, seed=7, year=2025)
    # five payers and the test world's own (which billed one claim in 2024)
    assert not outcome.skipped and outcome.contracts == 6 and outcome.single_case == 2
    assert len(outcome.underpaying_payers) == 3 and outcome.versions == 7
    assert outcome.claims["priced"] > 0 and outcome.reviews > 0
    with tenant_context(org):
        sca_payers = set(Contract.objects.filter(kind="single_case").values_list("payer__name", flat=True))
        assert len(sca_payers) == 2
        report = underpayment_report(group="payer", filters=Filters(start=dt.date(2025, 1, 1)))
        variance = {r.label: r.variance_pct for r in report.rows}
        for name, pct in variance.items():
            if name in outcome.underpaying_payers:
                assert pct > D("3"), (name, pct)
            elif name in sca_payers:  # their single-case patients' per diem is 15% above what the payer pays
                assert pct > 0, (name, pct)
            else:
                assert abs(pct) < D("1"), (name, pct)
        assert ClaimExpectation.objects.filter(status="no_contract", service_date__gte=dt.date(2025, 1, 1)).count() == 0
        q3 = ContractReview.objects.filter(quarter_start=dt.date(2025, 7, 1))
        q4 = ContractReview.objects.filter(quarter_start=dt.date(2025, 10, 1))
        assert q3.exists() and all(r.decision and r.decided_by_id for r in q3)
        assert q4.exists() and not any(r.decision for r in q4)
    assert contracts_seed(organization=org, seed=7, year=2025).skipped  # an organization with contracts is kept


def test_meridian_fee_schedules_and_percent_of_charges(world):
    org = world.b.org
    with tenant_context(org):
        payers = [Payer.objects.create(name=n, payer_class=k) for n, k in (
            ("Medicare Part B", "medicare"), ("Texas Medicaid", "medicaid"), ("Aetna", "commercial"),
            ("UnitedHealthcare", "commercial"))]
        for month in range(7, 13):
            for n, payer in enumerate(payers):
                share = payer_share(payer, lab=True)
                for service in (P.CMP, P.CBC, P.DRUG_SCREEN):
                    _bill(payer, None, service, share, dt.date(2025, month, 9), f"{n:064d}", lab=True)
    outcome = contracts_seed(organization=org, seed=7, year=2025)
    assert outcome.contracts == 5 and len(outcome.underpaying_payers) == 2 and outcome.single_case == 0
    with tenant_context(org):
        kinds = {c.payer.payer_class: set(c.versions.get().terms.values_list("kind", flat=True))
                 for c in Contract.objects.select_related("payer")}
        assert kinds["commercial"] == {"percent_of_charges"} and kinds["medicare"] == {"fee_schedule"}
        report = underpayment_report(group="payer", filters=Filters(start=dt.date(2025, 1, 1)))
        for row in report.rows:
            if row.label in outcome.underpaying_payers:
                assert row.variance > 0, row.label
            else:  # fee schedules at the simulator's rates; percent of charges at the share allowed so far
                assert abs(row.variance) < D("1"), (row.label, row.variance)
