"""A small hand-computed database world for the scenario service, pages and API (inside ``tenant_context``).

Window January-February 2025 (two months), horizon March-May. PHP (day-based) program of the test world.
- c1 payer A (the world's payer, under contract "A PPO": PHP per diem 500), patient X, Jan 6 and 7 (one day each,
  500 each), submitted Jan 6; paid 800 on Feb 5 (30 days to pay).
- c2 payer A, patient X, Feb 3 (one day, 500), submitted Feb 3; denied at the claim level on Mar 5 (CARC 197).
- c3 payer B (no contract), patient Y, Jan 10 and 11 (300 each), submitted Jan 10; paid 400 on Jan 25 (15 days).
- Stays: X payer A plan "PPO" Jan 6 - Feb 3 (26 + 3 = 29 patient-days), no authorization; Y payer B Jan 10-11
  (2 days), authorized from Jan 10.
- Program costs: PHP January 1000, February 600. RCM cost: January 30, February 20.

Derived (docs/contracts.md, docs/scenarios.md): expected c1 1000, c2 500, c3 none. Units: c1 2 days, c2 1,
c3 2; direct cost c1 1000 x 2/4 = 500, c3 500, c2 600. RCM: January 30 / 2 claims = 15 each (c1, c3), February
20 (c2). Base: 3 claims, 2 stays, 31 patient-days, 1 denied, expected 1500, revenue 1200, direct 1600, RCM 50,
margin -450. Days to pay (KPI): payer A 30, payer B 15, organization 22.5.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from contracts.services.reimbursement import expected_recompute
from intake import services as intake_services
from intake.models import Admission
from rcm_feeds.aggregates import aggregates_refresh
from rcm_feeds.phi import patient_hash
from revops.models import Payer
from tests.contracts import fixtures as cf
from tests.rcm_feeds.kpi_fixtures import cost, denial, received_file

D = Decimal
JAN, FEB, MAR = dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 3, 1)


def build(tenant: Any) -> dict[str, Any]:
    php, a = tenant.objects["program"], tenant.objects["payer"]
    b = Payer.objects.create(name="Bluegrass Mutual", payer_class="commercial", payer_id="B2")
    x, y = patient_hash("MEMBER-X"), patient_hash("MEMBER-Y")
    contract, _ = cf.contract(payer=a, name="A PPO", terms=[{"kind": "per_diem", "level_of_care": "php",
                                                              "rate": "500"}])
    c1 = cf.claim(payer=a, program=php, patient_hash=x, submitted_on=dt.date(2025, 1, 6),
                  lines=[("H0035", "500", 1, dt.date(2025, 1, 6)), ("H0035", "500", 1, dt.date(2025, 1, 7))])
    c2 = cf.claim(payer=a, program=php, patient_hash=x, submitted_on=dt.date(2025, 2, 3),
                  lines=[("H0035", "500", 1, dt.date(2025, 2, 3))])
    c3 = cf.claim(payer=b, program=php, patient_hash=y, submitted_on=dt.date(2025, 1, 10),
                  lines=[("H0035", "300", 1, dt.date(2025, 1, 10)), ("H0035", "300", 1, dt.date(2025, 1, 11))])
    cf.pay(claim=c1, paid="800", on=dt.date(2025, 2, 5))
    cp2 = cf.pay(claim=c2, paid="0", on=dt.date(2025, 3, 5), denied=True)
    denial(cp=cp2, level="claim", charge="500", denied_on=dt.date(2025, 3, 5), category="authorization", carc="197")
    cf.pay(claim=c3, paid="400", on=dt.date(2025, 1, 25))
    intake_services.admissions_upsert(rows=[
        ("ADM-X", x, php.pk, a.pk, "PPO", None, dt.date(2025, 1, 6), dt.date(2025, 2, 3), None, "test"),
        ("ADM-Y", y, php.pk, b.pk, "", None, dt.date(2025, 1, 10), dt.date(2025, 1, 11), None, "test"),
    ])
    stays = {s.external_id: s for s in Admission.objects.all()}
    intake_services.authorization_save(admission=stays["ADM-Y"], auth_number="AUTH-Y", units_granted=D("2"),
                                       starts_on=dt.date(2025, 1, 10), ends_on=dt.date(2025, 1, 11), unit_kind="days")
    intake_services.program_costs_upsert(rows=[(php.pk, JAN, "care_staff", D("1000"), None, ""),
                                               (php.pk, FEB, "care_staff", D("600"), None, "")])
    costs = received_file("csv_costs")
    cost(file=costs, month=JAN, amount="30", facility=tenant.objects["facility"])
    cost(file=costs, month=FEB, amount="20", facility=tenant.objects["facility"])
    expected_recompute()
    aggregates_refresh()
    return {"a": a, "b": b, "php": php, "contract": contract, "claims": [c1, c2, c3], "stays": stays}
