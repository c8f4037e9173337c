"""Contract rows for the isolation sweep (tests/test_isolation_sweep.py): a payer-wide contract of the world's
payer with a published version (a PHP per diem) and a draft version 2 with one term, the expected
reimbursement of the world's claim, and a 2024 Q2 review of the contract.

Wiring: ``SWEEP_OBJECTS.update({model: contracts_sweep.sweep_object for model in contracts_sweep.MODELS})``
(``from tests.contracts import sweep as contracts_sweep``). Rows are made once per organization inside its
``tenant_context`` and kept as ``sweep:<model>``.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from contracts.models import ClaimExpectation, ContractTerm
from contracts.services import contracts as services
from contracts.services.reimbursement import expected_recompute
from contracts.services.reviews import reviews_generate

MODELS = ("contract", "contractversion", "contractterm", "claimexpectation", "contractreview")


def contract_objects(tenant: Any) -> dict[str, Any]:
    """Make the rows in the active organization (``tenant``'s); returns ``{model name: row}``."""
    contract = services.contract_create(payer=tenant.objects["payer"], name="Sweep contract")
    v1 = contract.versions.get()
    services.term_save(version=v1, kind="per_diem", level_of_care="php", rate="500")
    services.version_publish(version=v1, effective_from=dt.date(2024, 1, 1))
    draft = services.version_create(contract=contract)
    term = ContractTerm.objects.get(version=draft)
    claim = tenant.objects["claim"]
    expected_recompute(claim_ids=[claim.pk])
    [review] = reviews_generate(start=dt.date(2024, 4, 1), contract_ids=[contract.pk])
    return {"contract": contract, "contractversion": draft, "contractterm": term,
            "claimexpectation": ClaimExpectation.objects.get(claim=claim), "contractreview": review}


def sweep_object(tenant: Any, name: str) -> Any:
    """``SWEEP_OBJECTS``' signature: makes the rows once per organization, keeps them as ``sweep:<model>``."""
    made = contract_objects(tenant)
    tenant.objects.update({f"sweep:{k}": v for k, v in made.items()})
    return made[name]
