"""Scenario rows for the isolation sweep (tests/test_isolation_sweep.py): a shared scenario by the
organization's admin (tighten the world payer's PHP intake to not allowed, on the world claim's month).

Wiring: ``SWEEP_OBJECTS.update({model: scenarios_sweep.sweep_object for model in scenarios_sweep.MODELS})``
(``from tests.scenarios import sweep as scenarios_sweep``). Rows are made once per organization inside its
``tenant_context`` and kept as ``sweep:<model>``.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from contracts.services.reimbursement import expected_recompute
from revops.models import Role
from scenarios import services

MODELS = ("scenario",)


def scenario_objects(tenant: Any) -> dict[str, Any]:
    """Make the rows in the active organization (``tenant``'s); returns ``{model name: row}``."""
    claim = tenant.objects["claim"]
    expected_recompute(claim_ids=[claim.pk])
    scenario = services.scenario_create(
        name="Sweep scenario", kind="tighten_intake_rule", window_end=dt.date(2024, 6, 1), window_months=1,
        horizon_months=1, shared=True, user=tenant.users[Role.ADMIN], compute_now=True,
        parameters={"payer_id": tenant.objects["payer"].pk, "program_id": tenant.objects["program"].pk,
                    "decision": "not_allowed"})
    return {"scenario": scenario}


def sweep_object(tenant: Any, name: str) -> Any:
    """``SWEEP_OBJECTS``' signature: makes the rows once per organization, keeps them as ``sweep:<model>``."""
    made = scenario_objects(tenant)
    tenant.objects.update({f"sweep:{k}": v for k, v in made.items()})
    return made[name]
