"""Intake rows for the isolation sweep (tests/test_isolation_sweep.py): an admission of the world's program and
payer (member id hashed as on arrival), an authorization of it, an intake rule and a program cost, made once per
organization inside its ``tenant_context``.

Wiring: ``**{model: intake_sweep.sweep_object for model in intake_sweep.MODELS}`` in ``SWEEP_OBJECTS``
(``from tests.intake import sweep as intake_sweep``).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from intake import services
from intake.models import Admission, IntakeDecision, ProgramCost
from rcm_feeds.phi import patient_hash

MODELS = ("admission", "authorization", "intakerule", "programcost")


def intake_objects(tenant: Any) -> dict[str, Any]:
    """Make (in the active organization, ``tenant``'s) one row of each intake model the URLs address by pk."""
    program, payer = tenant.objects["program"], tenant.objects["payer"]
    services.admissions_upsert(rows=[("SWEEP-ADM-1", patient_hash("SWEEP-MEMBER-1"), program.pk, payer.pk, "PPO",
                                      None, dt.date(2030, 1, 6), dt.date(2030, 1, 20), 14, "test")])
    admission = Admission.objects.get(external_id="SWEEP-ADM-1")
    authorization = services.authorization_save(admission=admission, auth_number="SWEEP-AUTH-1",
                                                units_granted=Decimal("10"), starts_on=dt.date(2030, 1, 6),
                                                ends_on=dt.date(2030, 1, 15), next_review_on=dt.date(2030, 1, 13))
    rule = services.intake_rule_save(payer=payer, program=program, decision=IntakeDecision.ALLOWED_WITH_AUTHORIZATION,
                                     effective_from=dt.date(2030, 1, 1), reason="Sweep rule")
    cost = services.program_cost_save(program=program, month=dt.date(2030, 1, 1), category="care_staff",
                                      amount=Decimal("1000.00"))
    assert isinstance(cost, ProgramCost)
    return {"admission": admission, "authorization": authorization, "intakerule": rule, "programcost": cost}


def sweep_object(tenant: Any, name: str) -> Any:
    """``SWEEP_OBJECTS``' signature: makes the rows once per organization, keeps them as ``sweep:<model>``."""
    made = intake_objects(tenant)
    tenant.objects.update({f"sweep:{k}": v for k, v in made.items()})
    return made[name]
