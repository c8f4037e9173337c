"""The tiny hand-computed world of the engine tests (no database): two months of window, three of horizon.

Claims (window 2025-01..02; days from service to submission 0 everywhere):
  c1 payer 1, program 10, contract 100, stay 1000, Jan: charge 1000, expected 900, paid 800; direct 300, RCM 20
  c2 payer 1, program 10, contract 100, stay 1000, Feb: charge 1000, expected 900, paid 0, initially denied and
     still denied; direct 300, RCM 20
  c3 payer 2, program 10, no contract, stay 1001, Jan: charge 500, paid 400; direct 150, RCM 20
  c4 payer 2, program 11, no contract, no stay, Feb: charge 600, paid 600; direct 200, RCM 20
Stays: 1000 payer 1 plan "PPO" program 10 (php), admitted Jan 5, 20 patient-days, no authorization on its
       admission day; 1001 payer 2 program 10 (php), admitted Jan 12, 10 patient-days, authorized.
Totals: direct cost 1000 (950 allocated), RCM cost 100 (80 allocated). Days to pay: payer 1 30, payer 2 15,
organization 24.
"""
from __future__ import annotations

import datetime as dt

from scenarios import engine

JAN, FEB, MAR, APR, MAY = (dt.date(2025, m, 1) for m in (1, 2, 3, 4, 5))


CLAIM_ROWS = [
    (1, 1, 10, 100, 1000, JAN, 0.0, 1000.0, 900.0, 800.0, True, False, False, 300.0, 20.0),
    (2, 1, 10, 100, 1000, FEB, 0.0, 1000.0, 900.0, 0.0, True, True, True, 300.0, 20.0),
    (3, 2, 10, None, 1001, JAN, 0.0, 500.0, None, 400.0, True, False, False, 150.0, 20.0),
    (4, 2, 11, None, None, FEB, 0.0, 600.0, None, 600.0, True, False, False, 200.0, 20.0),
]
ADMISSION_ROWS = [
    (1000, 1, "PPO", 10, "php", dt.date(2025, 1, 5), True, 20.0, False),
    (1001, 2, "", 10, "php", dt.date(2025, 1, 12), True, 10.0, True),
]


def inputs(*, extra_claims=(), extra_admissions=(), **overrides) -> engine.Inputs:
    claims = engine.frame([*CLAIM_ROWS, *extra_claims], engine.CLAIM_COLUMNS)
    claims["expected"] = claims["expected"].astype("float64")
    admissions = engine.frame([*ADMISSION_ROWS, *extra_admissions], engine.ADMISSION_COLUMNS)
    values = dict(window=(JAN, FEB), horizon=3, claims=claims, admissions=admissions, direct_cost_total=1000.0,
                  rcm_cost_total=100.0, days_to_pay={1: 30.0, 2: 15.0}, org_days_to_pay=24.0)
    values.update(overrides)
    return engine.Inputs(**values)
