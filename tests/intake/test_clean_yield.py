"""The payers' clean yield behind "net revenue on paper": program profitability now sums two additive measures of
the RCM monthly aggregates (``clean_paid`` / ``clean_charges``) instead of scanning every claim. The query it
replaced is kept here as the reference (``OLD_YIELDS_SQL``, verbatim from intake.selectors.profitability before
the change); after every step (late 835 paying an old claim and reversing another, a late denial, a corrected
claim) the aggregates are refreshed only over the months the new file touched, as the loader does, and must give
exactly the reference's yields and the hand-computed ones.

World (tests/intake/fixtures.py): payer A's clean claims C1 (paid 600 of 1000) and C5 (700 of 800), C2 denied,
C6 never adjudicated; payer B's C3 (1500 of 2000), C4 denied. So A = 1300/1800, B = 1500/2000, organization
2800/3800.
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection

from intake.selectors.common import current_version
from intake.selectors.profitability import program_profitability
from rcm_feeds.aggregates import aggregates_refresh, months_touched_by_file
from revops.tenancy import require_tenant_id
from tests.rcm_feeds.kpi_fixtures import claim, denial, payment, received_file, remittance

D = Decimal
ON = dt.date(2025, 3, 1)

# The reference: the clean set and yields exactly as program profitability computed them before, over the raw
# tables (every claim of the organization, all history).
OLD_YIELDS_SQL = f"""
    WITH clean AS (
        SELECT c.payer_id, c.charge, p.paid FROM rcm_feeds_claim c
        JOIN (SELECT cp.claim_id, sum(cp.paid) AS paid FROM rcm_feeds_claimpayment cp
              WHERE cp.tenant_id = %(t)s AND cp.claim_id IS NOT NULL GROUP BY cp.claim_id) p ON p.claim_id = c.id
        WHERE c.tenant_id = %(t)s AND {current_version("c")}
          AND NOT EXISTS (SELECT 1 FROM rcm_feeds_denial d WHERE d.tenant_id = %(t)s AND d.claim_id = c.id)
    ), yields AS (
        SELECT GROUPING(payer_id) AS whole, payer_id, sum(paid) / nullif(sum(charge), 0) AS y
        FROM clean GROUP BY GROUPING SETS ((payer_id), ())
    )
    SELECT whole, payer_id, y FROM yields
"""
NEW_YIELDS_SQL = """
    SELECT GROUPING(payer_id) AS whole, payer_id, sum(clean_paid) / nullif(sum(clean_charges), 0) AS y
    FROM rcm_feeds_kpi_monthly WHERE tenant_id = %(t)s GROUP BY GROUPING SETS ((payer_id), ())
"""


def _yields(sql_text: str) -> dict[object, Decimal | None]:
    """{payer id: yield, "org": the organization's}, payers without a yield left out."""
    with connection.cursor() as cursor:
        cursor.execute(sql_text, {"t": require_tenant_id()})
        out: dict[object, Decimal | None] = {}
        for whole, payer_id, y in cursor.fetchall():
            if whole:
                out["org"] = y
            elif y is not None:
                out[payer_id] = y
        return out


def _agree(world: dict) -> dict[object, Decimal | None]:
    old, new = _yields(OLD_YIELDS_SQL), _yields(NEW_YIELDS_SQL)
    assert new == old
    # same scale too, so the leakage (denied charge x yield) is the same numeric to the last digit
    assert {k: str(v) for k, v in new.items()} == {k: str(v) for k, v in old.items()}
    return new


def _r(*values: Decimal | None) -> tuple:
    """Postgres divides numerics to 20 significant digits here, Python to 28: compare to 15 decimal places."""
    return tuple(None if v is None else v.quantize(D("1e-15"), ROUND_HALF_UP) for v in values)


def _refresh_after(file) -> None:
    aggregates_refresh(months=months_touched_by_file(file.pk))


def _paper(rows, code, month):
    return next(r for r in rows if r.program_code == code and r.period_start == month)


def test_clean_yield_from_the_aggregates_equals_the_old_query_through_late_files(intake_world):
    w = intake_world
    a, b = w["a"].pk, w["b"].pk
    c1, c2, c3, c4, c5, c6 = w["claims"]
    y = _agree(w)
    assert _r(y[a], y[b], y["org"]) == _r(D(1300) / D(1800), D("0.75"), D(2800) / D(3800))

    # A late 835 in April: pays C6 (200 of 300) and reverses C1's 600, then pays it 650. Both claims were
    # submitted in January: the file's touched months must include January for the measures to move.
    f835 = received_file("x12_835")
    remit = remittance(file=f835, payment_date=dt.date(2025, 4, 10))
    payment(remit=remit, claim=c6, charge="300", paid="200", co="100")
    payment(remit=remit, claim=c1, charge="-1000", paid="-600", reversal=True)
    payment(remit=remit, claim=c1, charge="1000", paid="650", co="350")
    assert dt.date(2025, 1, 1) in months_touched_by_file(f835.pk)
    _refresh_after(f835)
    y = _agree(w)
    # A: C1 650/1000 + C5 700/800 + C6 200/300 = 1550/2100
    assert _r(y[a], y[b], y["org"]) == _r(D(1550) / D(2100), D("0.75"), D(3050) / D(4100))

    # A late denial of C5 (adjudicated in March, denied in an April 835): C5 leaves the clean set.
    f835b = received_file("x12_835")
    cp = payment(remit=remittance(file=f835b, payment_date=dt.date(2025, 4, 20)), claim=c5, charge="800", paid="0",
                 denied=True)
    denial(cp=cp, level="claim", charge="800", denied_on=dt.date(2025, 4, 20), category="medical_necessity",
           carc="50")
    _refresh_after(f835b)
    y = _agree(w)
    assert _r(y[a], y[b], y["org"]) == _r(D(850) / D(1300), D("0.75"), D(2350) / D(3300))

    # A corrected claim (frequency 7) replaces C3 in an April 837: C3 is no longer a current version, so payer B
    # has no clean claim left and its denials are valued at the organization's yield.
    f837 = received_file("x12_837")
    claim(file=f837, charge="2000", submitted_on=dt.date(2025, 4, 2), payer=w["b"], program=w["php"], frequency="7",
          original=c3)
    _refresh_after(f837)
    y = _agree(w)
    assert b not in y and _r(y[a], y["org"]) == _r(D(850) / D(1300), D(850) / D(1300))

    # The figures on paper, by hand, with A's (and now the organization's) yield 850/1300:
    # January PHP: collected C1 650 + C2 0 + C3 1500 (C3 replaced but its payments stay) = 2150; C2's 600
    # written off -> 600 x 850/1300 = 392.307... -> on paper 2542.31.
    # February PHP: C4 500 collected, its 400 open line denial -> 261.538... -> 761.54.
    # February IOP: C5 700 collected, the late 800 denial open -> 523.076... -> 1223.08.
    rows = program_profitability(start=dt.date(2025, 1, 1), end=dt.date(2025, 2, 28), as_of=ON)
    jan, feb = _paper(rows, "PHP", dt.date(2025, 1, 1)), _paper(rows, "PHP", dt.date(2025, 2, 1))
    iop = _paper(rows, "IOP", dt.date(2025, 2, 1))
    assert (jan.net_after_denials, jan.net_on_paper) == (D("2150.00"), D("2542.31"))
    assert (feb.net_after_denials, feb.net_on_paper) == (D("500.00"), D("761.54"))
    assert (iop.net_after_denials, iop.net_on_paper, iop.denial_leakage) == (D("700.00"), D("1223.08"), D("523.08"))
    assert _r(jan.leakage, iop.leakage) == _r(D(600) * D(850) / D(1300), D(800) * D(850) / D(1300))


def test_a_full_refresh_and_the_per_file_refreshes_give_the_same_clean_measures(intake_world):
    c1 = intake_world["claims"][0]
    f835 = received_file("x12_835")
    payment(remit=remittance(file=f835, payment_date=dt.date(2025, 5, 3)), claim=c1, charge="1000", paid="25")
    _refresh_after(f835)
    sql_text = ("SELECT month, payer_id, program_id, sum(clean_paid), sum(clean_charges) FROM rcm_feeds_kpi_monthly "
                "WHERE tenant_id = %s GROUP BY 1, 2, 3 HAVING sum(clean_charges) <> 0 ORDER BY 1, 2, 3")
    with connection.cursor() as cursor:
        cursor.execute(sql_text, [require_tenant_id()])
        incremental = cursor.fetchall()
        aggregates_refresh()
        cursor.execute(sql_text, [require_tenant_id()])
        assert cursor.fetchall() == incremental
    # January, payer A, PHP: C1 (600 + 25 of 1000); C6 is not adjudicated, C2 denied.
    a, php = intake_world["a"].pk, intake_world["php"].pk
    assert (dt.date(2025, 1, 1), a, php, D("625.00"), D("1000.00")) in incremental


def test_the_tile_skips_the_unlinked_scan_but_keeps_every_other_figure(intake_world):
    full = program_profitability(start=dt.date(2025, 1, 1), end=dt.date(2025, 2, 28), grain="total", as_of=ON)
    lean = program_profitability(start=dt.date(2025, 1, 1), end=dt.date(2025, 2, 28), grain="total", as_of=ON,
                                 with_unlinked=False)
    assert [r.program_code for r in lean] == [r.program_code for r in full] == ["IOP", "PHP"]
    for f, g in zip(full, lean):
        fd, gd = f.as_dict(), g.as_dict()
        assert {k: v for k, v in fd.items() if not k.startswith("unlinked")} == \
            {k: v for k, v in gd.items() if not k.startswith("unlinked")}
    php_full = next(r for r in full if r.program_code == "PHP")
    assert (php_full.unlinked_claims, php_full.unlinked_charges) == (1, D("300.00"))  # C6
    assert all((r.unlinked_claims, r.unlinked_charges) == (0, D(0)) for r in lean)
