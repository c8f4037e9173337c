"""Demo payer contracts for each organization, consistent with the claims the demo already billed and was paid.

The demo's payers pay a fixed share of each charge (behavioral health) or of a Medicare-like fee (lab), by
payer class (``revops.demo.rcm.profiles``). The contracts state those same amounts as terms, so most payers'
claims come out close to zero variance, and a few payers are set up to underpay:

- Riverbend (behavioral health), per payer that billed claims: a per diem for residential, PHP and withdrawal
  management (Medicaid payers: "lesser of charges or per diem") and a fee schedule for the IOP and outpatient
  codes. Three payers pay less than their contract (the contract rate is 6-12% above what they pay); for one
  of them the rates went up from July 1 (version 2) and the payer kept paying the old ones. Two single-case
  agreements for residential patients of a commercial payer at a higher per diem.
- Meridian (lab): a fee schedule of the lab codes per payer; the commercial payers are on percent of charges
  (the share their payments imply). Two payers underpay.
- Then the expected reimbursement recompute, and reviews of the last two quarters of the demo year (the
  earlier one decided by the analyst, the latest left open).

Deterministic for a seed and year; an organization that already has contracts is left as it is.
"""
from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection, transaction

from revops.models import Membership, Organization, Role
from revops.tenancy import require_tenant_id, tenant_context

CENT = Decimal("0.01")


@dataclass
class ContractOutcome:
    contracts: int = 0
    single_case: int = 0
    versions: int = 0
    terms: int = 0
    claims: dict[str, int] = field(default_factory=dict)
    underpaying_payers: list[str] = field(default_factory=list)
    reviews: int = 0
    seconds: float = 0.0
    skipped: bool = False


def _money(x: float | Decimal) -> Decimal:
    return Decimal(str(x)).quantize(CENT, rounding=ROUND_HALF_UP)


def payer_share(payer: Any, *, lab: bool) -> float:
    """The share of the charge (behavioral health) or of the fee (lab) the demo's simulator has ``payer`` allow:
    its class's range and tweaks, one rate per payer fixed by its name (revops.demo.rcm.simulate ``_terms``)."""
    from dataclasses import replace

    from .rcm import profiles as P

    table = P.LAB_TERMS if lab else P.BH_TERMS
    base = table.get(payer.payer_class) or table["commercial"]
    terms = replace(base, **P.PAYER_TWEAKS.get(payer.name, {}))  # type: ignore[arg-type]
    lo, hi = terms.allowed
    return round(lo + (hi - lo) * random.Random(f"terms:{payer.name}").random(), 3)


def _allowed_share_of_charges() -> dict[int, Decimal]:
    """Per payer: (paid + patient responsibility) / charges over its claims' non-denied 835 payments."""
    with connection.cursor() as cur:
        cur.execute("""
            SELECT c.payer_id, sum(cp.paid + coalesce(cp.patient_responsibility, 0)) / nullif(sum(cp.charge), 0)
            FROM rcm_feeds_claimpayment cp JOIN rcm_feeds_claim c ON c.id = cp.claim_id AND c.tenant_id = %(t)s
            WHERE cp.tenant_id = %(t)s AND NOT cp.is_denied GROUP BY c.payer_id""", {"t": require_tenant_id()})
        return {payer: share for payer, share in cur.fetchall() if share is not None}


def _payers_with_claims() -> list[Any]:
    from revops.models import Payer

    with connection.cursor() as cur:
        cur.execute("SELECT DISTINCT payer_id FROM rcm_feeds_claim WHERE tenant_id = %s AND payer_id IS NOT NULL",
                    [require_tenant_id()])
        ids = [r[0] for r in cur.fetchall()]
    return list(Payer.objects.filter(pk__in=ids).order_by("name"))


def _publish(contract: Any, *, terms: list[dict[str, Any]], fee_rows: list[tuple[str, Decimal]], start: dt.date,
             version: Any = None) -> int:
    from contracts.services import contracts as services

    version = version or contract.versions.get()
    for term in terms:
        services.term_save(version=version, **term)
    if fee_rows:
        text = "code,rate\n" + "\n".join(f"{code},{rate}" for code, rate in fee_rows)
        services.fee_schedule_import(version=version, text=text)
    services.version_publish(version=version, effective_from=start, recompute=False)
    return len(terms) + len(fee_rows)


def _riverbend(rng: random.Random, year: int, payers: list[Any], outcome: ContractOutcome) -> None:
    from contracts.services import contracts as services

    from .rcm import profiles as P

    start, july = dt.date(year - 1, 1, 1), dt.date(year, 7, 1)
    under = set(rng.sample([p.name for p in payers if p.payer_class in ("commercial", "medicaid_managed",
                                                                        "medicare_advantage")], 3))
    raised = sorted(under)[0]
    day_services = {"php": P.PHP, "residential": P.RES, "detox": P.DETOX}
    fee_services = [P.IOP, P.PSYCHOTHERAPY_60, P.PSYCHOTHERAPY_45, P.PSYCHOTHERAPY_30, P.INTAKE, P.INTAKE_MEDICAL,
                    P.EM_VISIT, P.PSYCHOTHERAPY_ADDON, P.GROUP, P.FAMILY, P.INTERACTIVE_COMPLEXITY]
    for payer in payers:
        share = payer_share(payer, lab=False)
        uplift = 1 + rng.uniform(0.06, 0.12) if payer.name in under and payer.name != raised else 1.0
        lesser = payer.payer_class == "medicaid"

        def terms_for(factor: float) -> tuple[list[dict[str, Any]], list[tuple[str, Decimal]]]:
            terms = [{"kind": "per_diem", "level_of_care": loc, "rate": _money(s.charge / 100 * share * factor),
                      "lesser_of_charges": lesser, "description": f"{s.code} per day"}
                     for loc, s in day_services.items()]
            fees = [(s.code, _money(s.charge / 100 * share * factor)) for s in fee_services]
            return terms, fees

        contract = services.contract_create(payer=payer, name=f"{payer.name} behavioral health agreement",
                                            notes="Per diems for residential, PHP and withdrawal management; "
                                                  "fee schedule for IOP and outpatient codes.")
        terms, fees = terms_for(uplift)
        outcome.terms += _publish(contract, terms=terms, fee_rows=fees, start=start)
        outcome.contracts += 1
        outcome.versions += 1
        if payer.name == raised:  # rates up 8% from July; the payer kept paying the old ones
            version = services.version_create(contract=contract, note="Rate increase from July 1")
            from contracts.models import ContractTerm

            for term in ContractTerm.objects.filter(version=version):
                term.rate = _money(term.rate * Decimal("1.08"))
                term.save(update_fields=["rate"])
            services.version_publish(version=version, effective_from=july, recompute=False)
            outcome.versions += 1
        if payer.name in under:
            outcome.underpaying_payers.append(payer.name)
    # Two single-case agreements: residential patients of a commercial payer, at a higher per diem.
    with connection.cursor() as cur:
        cur.execute("""
            SELECT c.payer_id, c.program_id, c.patient_hash, min(coalesce(c.service_from, c.submitted_on)),
                   max(coalesce(c.service_to, c.service_from, c.submitted_on))
            FROM rcm_feeds_claim c JOIN revops_program pg ON pg.id = c.program_id
            JOIN revops_payer p ON p.id = c.payer_id
            WHERE c.tenant_id = %s AND pg.level_of_care = 'residential' AND p.payer_class = 'commercial'
              AND c.patient_hash <> ''
            GROUP BY 1, 2, 3 ORDER BY count(*) DESC, 3 LIMIT 2""", [require_tenant_id()])
        rows = cur.fetchall()
    from revops.models import Payer, Program

    for payer_id, program_id, patient, first, last in rows:
        payer, program = Payer.objects.get(pk=payer_id), Program.objects.get(pk=program_id)
        rate = _money(P.RES.charge / 100 * payer_share(payer, lab=False) * 1.15)
        services.single_case_create(payer=payer, program=program, patient_hash=patient, starts_on=first,
                                    ends_on=last, kind="per_diem", rate=rate, recompute=False,
                                    notes="Out-of-network residential stay agreed case by case.")
        outcome.single_case += 1


def _meridian(rng: random.Random, year: int, payers: list[Any], outcome: ContractOutcome) -> None:
    from contracts.services import contracts as services

    from .rcm import profiles as P

    start = dt.date(year - 1, 1, 1)
    labs = sorted({s.code: s for s in vars(P).values() if isinstance(s, P.Service) and s.fee}.values(),
                  key=lambda s: s.code)
    under = set(rng.sample([p.name for p in payers if p.payer_class != "medicare"], 2))
    observed = _allowed_share_of_charges()
    for payer in payers:
        share = payer_share(payer, lab=True)
        uplift = 1 + rng.uniform(0.07, 0.12) if payer.name in under else 1.0
        contract = services.contract_create(payer=payer, name=f"{payer.name} laboratory agreement")
        if payer.payer_class == "commercial":
            # Percent of charges: the share of its charges this payer has allowed on its claims so far.
            pct = observed.get(payer.pk, Decimal("0.3")) * 100 * Decimal(str(uplift))
            outcome.terms += _publish(contract, terms=[{"kind": "percent_of_charges", "rate": _money(pct)}],
                                      fee_rows=[], start=start)
        else:
            fees = [(s.code, _money(s.fee / 100 * share * uplift)) for s in labs]
            outcome.terms += _publish(contract, terms=[], fee_rows=fees, start=start)
        outcome.contracts += 1
        outcome.versions += 1
        if payer.name in under:
            outcome.underpaying_payers.append(payer.name)


def contracts_seed(*, organization: Organization, seed: int, year: int) -> ContractOutcome:
    from contracts.models import Contract, ContractReview, Recommendation
    from contracts.services.reimbursement import expected_recompute
    from contracts.services.reviews import reviews_generate

    outcome = ContractOutcome()
    started = time.perf_counter()
    rng = random.Random(f"{seed}:{organization.slug}:contracts")
    with tenant_context(organization):
        if Contract.objects.exists():
            outcome.skipped = True
            return outcome
        memberships = {m.role: m for m in Membership.objects.select_related("user").order_by("pk")}
        analyst = (memberships.get(Role.REVOPS_ANALYST) or memberships[Role.ADMIN]).user
        with transaction.atomic():
            payers = _payers_with_claims()
            if organization.kind == "lab":
                _meridian(rng, year, payers, outcome)
            else:
                _riverbend(rng, year, payers, outcome)
            counts = expected_recompute()
            outcome.claims = {k.removeprefix("status_"): v for k, v in counts.items() if k.startswith("status_")}
            q3, q4 = dt.date(year, 7, 1), dt.date(year, 10, 1)
            reviews_generate(start=q3)
            for review in ContractReview.objects.filter(quarter_start=q3).order_by("contract__name"):
                decision = review.recommendation
                if decision == Recommendation.EXIT and rng.random() < 0.5:
                    decision = Recommendation.RENEGOTIATE  # the analyst overrules: volume is strategic
                from contracts.services.reviews import review_decide

                note = {"keep": "Performing to contract; keep.",
                        "renegotiate": "Raise the variance with the payer's provider relations at the next meeting.",
                        "exit": "Margin negative after cost: give notice."}[decision]
                review_decide(review=review, decision=decision, note=note, user=analyst)
            reviews_generate(start=q4)
            outcome.reviews = ContractReview.objects.count()
    outcome.seconds = round(time.perf_counter() - started, 2)
    return outcome
