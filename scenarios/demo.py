"""Demo scenarios: two or three saved what-ifs on an organization's own contracts, intake rules and denials.

``seed(org)`` (after the contracts seeding, which recomputes the expected reimbursement these read): for the
analyst, "exit" the contract whose latest review has the lowest margin (20% of its volume re-captured, shared),
lower the initial denial rate of the payer with the most initial denials by 3 points (shared), and, where there are
intake rules, tighten the busiest allowed-with-authorization rule to not allowed (kept private). Idempotent: an
organization that already has scenarios is left as it is. Computed in the seeding itself (no job: the demo
runs without a worker).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection

from revops.models import Membership, Organization, Role
from revops.tenancy import require_tenant_id, tenant_context

from . import services
from .models import Scenario


@dataclass
class ScenarioOutcome:
    created: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    skipped: bool = False


def _worst_contract() -> Any:
    from contracts.models import Contract, ContractReview

    review = ContractReview.objects.select_related("contract").order_by("-quarter_start", "margin", "id").first()
    return review.contract if review else Contract.objects.order_by("id").first()


def _most_denied_payer() -> int | None:
    with connection.cursor() as cur:
        cur.execute("SELECT payer_id FROM rcm_feeds_denial WHERE tenant_id = %s AND level = 'claim' "
                    "AND payer_id IS NOT NULL GROUP BY payer_id ORDER BY count(*) DESC, payer_id LIMIT 1",
                    [require_tenant_id()])
        row = cur.fetchone()
    return row[0] if row else None


def _busiest_rule() -> Any:
    from intake.models import IntakeDecision, IntakeRule

    with connection.cursor() as cur:
        cur.execute("""SELECT r.id FROM intake_intakerule r JOIN intake_admission a ON a.tenant_id = r.tenant_id
                         AND a.payer_id = r.payer_id AND (r.program_id = a.program_id OR r.program_id IS NULL)
                       WHERE r.tenant_id = %s AND r.decision = %s GROUP BY r.id ORDER BY count(*) DESC, r.id LIMIT 1""",
                    [require_tenant_id(), IntakeDecision.ALLOWED_WITH_AUTHORIZATION])
        row = cur.fetchone()
    return IntakeRule.objects.get(pk=row[0]) if row else None


def seed(org: Organization) -> ScenarioOutcome:
    outcome = ScenarioOutcome()
    with tenant_context(org):
        if Scenario.objects.exists():
            outcome.skipped = True
            return outcome
        members = {m.role: m.user for m in Membership.objects.select_related("user").order_by("pk")}
        analyst = members.get(Role.REVOPS_ANALYST) or members.get(Role.ADMIN)
        wanted: list[dict[str, Any]] = []
        contract = _worst_contract()
        if contract is not None:
            wanted.append({"name": f"Exit {contract.name}", "kind": "exit_contract", "shared": True,
                           "parameters": {"contract_id": contract.pk, "recapture_pct": "20"}})
        payer = _most_denied_payer()
        if payer is not None:
            wanted.append({"name": "Initial denials 3 points lower", "kind": "denial_rate_change", "shared": True,
                           "parameters": {"payer_id": payer, "delta_points": "-3"}})
        rule = _busiest_rule()
        if rule is not None:
            wanted.append({"name": f"Stop admitting {rule.payer.name} to "
                                   f"{rule.program.name if rule.program else rule.get_level_of_care_display()}",
                           "kind": "tighten_intake_rule", "shared": False,
                           "parameters": {"rule_id": rule.pk, "decision": "not_allowed"}})
        for spec in wanted:
            try:
                services.scenario_create(user=analyst, compute_now=True, **spec)
            except ValidationError as exc:  # e.g. a payer whose denial rate is already below 3%
                outcome.refused.append(f"{spec['name']}: {' '.join(exc.messages)}")
            else:
                outcome.created.append(spec["name"])
    return outcome
