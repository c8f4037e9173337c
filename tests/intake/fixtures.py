"""A small hand-computed intake world (inside ``tenant_context``): two programs (the world's PHP and an IOP), two
payers, three discharged stays with their claims, lines, payments and denials, two authorizations, four rules
and three months of program costs. Every expected figure in the tests is worked out from these rows by hand
(the numbers are in the comments of the tests).

Stays (all 2025): ADM1 patient X, PHP, payer A, Jan 6-15 (10 days); ADM2 patient Y, PHP, payer B, Jan 20 - Feb 8
(20 days: 12 in January, 8 in February); ADM3 patient Z, IOP, payer A, Feb 3-12 (10 days).
Claims: C1 X PHP A Jan 6-10, 1000, five daily lines of 1 unit, paid 600. C2 X PHP A Jan 13-15, 600, three
daily lines of 2 units, paid 0, claim-level denial 600 (CARC 197, authorization) written off. C3 Y PHP B
Jan 20-31, 2000, paid 1500. C4 Y PHP B Feb 3-8, 1000, paid 500, a line-level denial 400 (CARC 198) open.
C5 Z IOP A Feb 3-12, 800, paid 700. C6 patient W PHP Jan 8, 300, never adjudicated, no admission (unlinked).
"""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from intake import services
from intake.models import Admission, Authorization, IntakeDecision
from rcm_feeds.aggregates import aggregates_refresh
from rcm_feeds.models import Claim, ClaimLine
from rcm_feeds.phi import patient_hash
from revops.models import Payer, Program
from tests.rcm_feeds.kpi_fixtures import denial, line, payment, received_file, remittance

D = Decimal
_seq = itertools.count(1)


def make_claim(*, file: Any, patient: str, program: Any, payer: Any, start: dt.date, days: int, charge: str,
               units: str = "1") -> Claim:
    claim = Claim.objects.create(source_file=file, source_position=next(_seq), patient_control_number=f"IN{next(_seq)}",
                                 payer=payer, program=program, patient_hash=patient_hash(patient), charge=D(charge),
                                 service_from=start, service_to=start + dt.timedelta(days=days - 1),
                                 submitted_on=start + dt.timedelta(days=days + 2))
    per_line = (D(charge) / days).quantize(D("0.01"))
    for n in range(days):
        ClaimLine.objects.create(claim=claim, line_number=n + 1, procedure_code="H0035", charge=per_line,
                                 units=D(units), service_date=start + dt.timedelta(days=n))
    return claim


def admission_row(external_id: str, patient: str, program: Any, payer: Any, admitted: dt.date,
                  discharged: dt.date | None, plan: str = "") -> tuple:
    return (external_id, patient_hash(patient), program.pk, payer.pk if payer else None, plan, None, admitted,
            discharged, None, "test")


def build(tenant: Any) -> dict[str, Any]:
    php = tenant.objects["program"]
    iop = Program.objects.create(code="IOP", name="Intensive outpatient", level_of_care="iop",
                                 facility=tenant.objects["facility"], place_of_service="53")
    a = tenant.objects["payer"]
    b = Payer.objects.create(name="Second Payer", payer_class="commercial", payer_id="B2")
    f837, f835 = received_file("x12_837"), received_file("x12_835")
    c1 = make_claim(file=f837, patient="X", program=php, payer=a, start=dt.date(2025, 1, 6), days=5, charge="1000")
    c2 = make_claim(file=f837, patient="X", program=php, payer=a, start=dt.date(2025, 1, 13), days=3, charge="600",
                    units="2")
    c3 = make_claim(file=f837, patient="Y", program=php, payer=b, start=dt.date(2025, 1, 20), days=12, charge="2000")
    c4 = make_claim(file=f837, patient="Y", program=php, payer=b, start=dt.date(2025, 2, 3), days=6, charge="1000")
    c5 = make_claim(file=f837, patient="Z", program=iop, payer=a, start=dt.date(2025, 2, 3), days=10, charge="800")
    c6 = make_claim(file=f837, patient="W", program=php, payer=a, start=dt.date(2025, 1, 8), days=1, charge="300")
    remit = remittance(file=f835, payment_date=dt.date(2025, 3, 1))
    payment(remit=remit, claim=c1, charge="1000", paid="600", co="400")
    p2 = payment(remit=remit, claim=c2, charge="600", paid="0", denied=True)
    denial(cp=p2, level="claim", charge="600", denied_on=dt.date(2025, 3, 1), category="authorization", carc="197",
           status="written_off", resolved_on=dt.date(2025, 4, 1))
    payment(remit=remit, claim=c3, charge="2000", paid="1500", co="500")
    p4 = payment(remit=remit, claim=c4, charge="1000", paid="500", co="100")
    sp = line(cp=p4, charge="400", paid="0", denied=True)
    denial(cp=p4, sp=sp, level="line", charge="400", denied_on=dt.date(2025, 3, 1), category="authorization",
           carc="198")
    payment(remit=remit, claim=c5, charge="800", paid="700", co="100")
    counts = services.admissions_upsert(rows=[
        admission_row("ADM1", "X", php, a, dt.date(2025, 1, 6), dt.date(2025, 1, 15)),
        admission_row("ADM2", "Y", php, b, dt.date(2025, 1, 20), dt.date(2025, 2, 8)),
        admission_row("ADM3", "Z", iop, a, dt.date(2025, 2, 3), dt.date(2025, 2, 12)),
    ])
    adm = {a_.external_id: a_ for a_ in Admission.objects.all()}
    auth1 = services.authorization_save(admission=adm["ADM1"], auth_number="AUTH1", units_granted=D("5"),
                                        starts_on=dt.date(2025, 1, 6), ends_on=dt.date(2025, 1, 12), unit_kind="days",
                                        next_review_on=dt.date(2025, 1, 10))
    auth2 = services.authorization_save(admission=adm["ADM1"], auth_number="AUTH2", units_granted=D("4"),
                                        starts_on=dt.date(2025, 1, 13), ends_on=dt.date(2025, 1, 20), unit_kind="units")
    r1 = services.intake_rule_save(payer=b, program=php, decision=IntakeDecision.NOT_ALLOWED,
                                   effective_from=dt.date(2025, 1, 1), reason="Out of network")
    r2 = services.intake_rule_save(payer=a, level_of_care="php", decision=IntakeDecision.ALLOWED_WITH_AUTHORIZATION,
                                   effective_from=dt.date(2024, 1, 1))
    r3 = services.intake_rule_save(payer=a, level_of_care="iop", decision=IntakeDecision.ALLOWED_WITH_AUTHORIZATION,
                                   effective_from=dt.date(2025, 1, 1))
    r4 = services.intake_rule_save(payer=a, plan_name="Gold", program=iop, decision=IntakeDecision.ALLOWED,
                                   effective_from=dt.date(2025, 1, 1))
    costs = services.program_costs_upsert(rows=[
        (php.pk, dt.date(2025, 1, 1), "care_staff", D("1500"), None, ""),
        (php.pk, dt.date(2025, 1, 1), "utilization_review", D("200"), D("4"), ""),
        (php.pk, dt.date(2025, 2, 1), "care_staff", D("500"), None, ""),
        (iop.pk, dt.date(2025, 2, 1), "care_staff", D("400"), None, ""),
    ])
    # The loader refreshes the RCM aggregates after every file (program profitability reads the payers' clean
    # yield from them); these rows were written with the ORM, so refresh once as the loads would have.
    aggregates_refresh()
    return {"php": php, "iop": iop, "a": a, "b": b, "claims": [c1, c2, c3, c4, c5, c6], "adm": adm,
            "auth1": auth1, "auth2": auth2, "rules": [r1, r2, r3, r4], "link_counts": counts, "cost_counts": costs,
            "authorizations": Authorization.objects.all()}
