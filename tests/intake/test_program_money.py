"""Program profitability's linked-claims money from the summary ``ProgramClaimMoney`` (per program, service month
and payer), kept current by the RCM aggregate refresh after every load and by every link change.

The query it replaced is kept here as the reference (``OLD_MONEY_SQL``, verbatim from
intake.selectors.profitability before the change, reading the claims). After every step (a late 835 with a
reversal and a late payment, a late denial, a write-off through the denial workflow, a corrected claim, a link
added by a new admission and a link removed by a changed one) the summary is refreshed only as the application
refreshes it, and must give exactly the reference's figures; a full rebuild must give the same rows.

World (tests/intake/fixtures.py), linked: C1, C2 (patient X, PHP, January), C3 (Y, PHP, January), C4 (Y, PHP,
February), C5 (Z, IOP, February); C6 (W, PHP, January) is unlinked.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection, transaction

from intake import services
from intake.models import Admission, ProgramClaimMoney, ProgramClaimMoneyState
from intake.selectors.common import counted_denials
from intake.selectors.profitability import _money_from_summary, program_profitability
from rcm_feeds.aggregates import aggregates_refresh, months_touched_by_file
from rcm_feeds.models import Denial
from rcm_feeds.services.denials import denial_write_off
from revops.tenancy import require_tenant_id
from tests.intake.fixtures import admission_row
from tests.rcm_feeds.kpi_fixtures import claim, denial, payment, received_file, remittance

D = Decimal
ON = dt.date(2025, 3, 1)
START, END_NEXT = dt.date(2025, 1, 1), dt.date(2025, 3, 1)

# The reference: verbatim the statement program profitability ran over the claims before the summary.
_IN_PERIOD = ("SELECT c2.id FROM rcm_feeds_claim c2 WHERE c2.tenant_id = %(t)s "
              "AND c2.service_from >= %(start)s AND c2.service_from < %(end_next)s")
OLD_MONEY_SQL = f"""
        WITH lc AS (
            SELECT a.program_id, date_trunc('month', c.service_from)::date AS month, c.id, c.payer_id, c.charge,
                   (c.frequency <> '8' AND r.original_claim_id IS NULL) AS is_current
            FROM intake_admissionclaim l
            JOIN intake_admission a ON a.id = l.admission_id AND a.tenant_id = %(t)s
            JOIN rcm_feeds_claim c ON c.id = l.claim_id AND c.tenant_id = %(t)s
            LEFT JOIN (SELECT DISTINCT x.original_claim_id FROM rcm_feeds_claim x
                       WHERE x.tenant_id = %(t)s AND x.original_claim_id IS NOT NULL) r ON r.original_claim_id = c.id
            WHERE l.tenant_id = %(t)s
              AND c.service_from >= %(start)s AND c.service_from < %(end_next)s
        ), paid AS (
            SELECT cp.claim_id, sum(cp.paid) AS paid FROM rcm_feeds_claimpayment cp
            WHERE cp.tenant_id = %(t)s AND cp.claim_id IN ({_IN_PERIOD}) GROUP BY cp.claim_id
        ), den AS (
            SELECT d.claim_id, sum(d.denied_charge) AS denied,
                   coalesce(sum(d.denied_charge - d.recovered_amount) FILTER (WHERE d.status = 'written_off'), 0)
                       AS written_off,
                   coalesce(sum(d.denied_charge) FILTER (WHERE d.status <> 'overturned'), 0) AS lost
            FROM ({counted_denials(_IN_PERIOD)}) d GROUP BY d.claim_id
        ), yields AS (
            SELECT GROUPING(payer_id) AS whole, payer_id, sum(clean_paid) / nullif(sum(clean_charges), 0) AS y
            FROM rcm_feeds_kpi_monthly WHERE tenant_id = %(t)s GROUP BY GROUPING SETS ((payer_id), ())
        )
        SELECT lc.program_id, lc.month,
               count(*) FILTER (WHERE lc.is_current) AS claims,
               coalesce(sum(lc.charge) FILTER (WHERE lc.is_current), 0) AS gross_charges,
               coalesce(sum(paid.paid), 0) AS net_after_denials,
               coalesce(sum(den.denied), 0) AS denied, coalesce(sum(den.written_off), 0) AS written_off,
               coalesce(sum(den.lost * coalesce(py.y, org.y, 0)), 0) AS leakage
        FROM lc
        LEFT JOIN paid ON paid.claim_id = lc.id
        LEFT JOIN den ON den.claim_id = lc.id
        LEFT JOIN yields py ON py.whole = 0 AND py.payer_id = lc.payer_id
        LEFT JOIN yields org ON org.whole = 1
        GROUP BY lc.program_id, lc.month
"""
FIELDS = ("claims", "gross_charges", "net_after_denials", "denied", "written_off", "leakage")


def _params() -> dict:
    return {"t": require_tenant_id(), "start": START, "end_next": END_NEXT}


def _reference() -> dict:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(OLD_MONEY_SQL, _params())
        names = [c.name for c in cursor.description]
        return {(r["program_id"], r["month"]): {k: r[k] for k in FIELDS}
                for r in (dict(zip(names, row)) for row in cursor.fetchall())}


def _summary() -> dict:
    return {(r["program_id"], r["month"]): {k: r[k] for k in FIELDS} for r in _money_from_summary(_params(), "")}


def _agree() -> dict:
    """The summary's figures equal the reference's, to the last digit of the leakage; returns them."""
    assert ProgramClaimMoneyState.objects.exists()
    ref, new = _reference(), _summary()
    assert new == ref
    for key, values in ref.items():
        assert str(new[key]["leakage"].normalize()) == str(values["leakage"].normalize())
    return new


def _summary_rows() -> list[tuple]:
    return sorted(ProgramClaimMoney.objects.values_list("program_id", "month", "payer_id", "claims", "gross_charges",
                                                        "net_after_denials", "denied", "written_off", "lost"),
                  key=lambda r: (r[0], r[1], r[2] or 0))


def _refresh_after(file) -> None:
    aggregates_refresh(months=months_touched_by_file(file.pk))


def _rebuilt_equals_incremental() -> None:
    incremental = _summary_rows()
    services.program_money_refresh(months=None)
    assert _summary_rows() == incremental


def test_summary_money_equals_the_old_query_through_late_files_and_link_changes(intake_world):
    w = intake_world
    php, iop = w["php"].pk, w["iop"].pk
    c1, c2, c3, c4, c5, c6 = w["claims"]
    jan, feb = dt.date(2025, 1, 1), dt.date(2025, 2, 1)
    money = _agree()
    # By hand: January PHP = C1 (1000, paid 600), C2 (600, denied and written off), C3 (2000, paid 1500).
    assert {k: money[(php, jan)][k] for k in FIELDS[:5]} == {
        "claims": 3, "gross_charges": D("3600"), "net_after_denials": D("2100"), "denied": D("600"),
        "written_off": D("600")}

    # A late 835 in April: reverses C1's 600 and pays it 650 (a late payment), and pays the unlinked C6 200.
    f835 = received_file("x12_835")
    remit = remittance(file=f835, payment_date=dt.date(2025, 4, 10))
    payment(remit=remit, claim=c6, charge="300", paid="200", co="100")
    payment(remit=remit, claim=c1, charge="-1000", paid="-600", reversal=True)
    payment(remit=remit, claim=c1, charge="1000", paid="650", co="350")
    _refresh_after(f835)
    money = _agree()
    assert money[(php, jan)]["net_after_denials"] == D("2150")  # 650 + 0 + 1500

    # A late denial of C5 (IOP, February) in another April 835.
    f835b = received_file("x12_835")
    cp = payment(remit=remittance(file=f835b, payment_date=dt.date(2025, 4, 20)), claim=c5, charge="800", paid="0",
                 denied=True)
    denial(cp=cp, level="claim", charge="800", denied_on=dt.date(2025, 4, 20), category="medical_necessity",
           carc="50")
    _refresh_after(f835b)
    money = _agree()
    assert (money[(iop, feb)]["denied"], money[(iop, feb)]["net_after_denials"]) == (D("800"), D("700"))

    # The denial workflow writes off C4's open 400 line denial: it refreshes only the denial's month (March).
    line_denial = Denial.objects.get(claim=c4)
    denial_write_off(denial=line_denial, written_off_on=dt.date(2025, 4, 30), reason="Timely filing lapsed")
    money = _agree()
    assert money[(php, feb)]["written_off"] == D("400")

    # A corrected claim replaces C3 (an April 837): C3 is no longer a current version, its payments stay.
    f837 = received_file("x12_837")
    claim(file=f837, charge="2000", submitted_on=dt.date(2025, 4, 2), payer=w["b"], program=w["php"], frequency="7",
          original=c3)
    _refresh_after(f837)
    money = _agree()
    assert {k: money[(php, jan)][k] for k in FIELDS[:3]} == {
        "claims": 2, "gross_charges": D("1600"), "net_after_denials": D("2150")}

    # A link added after the loads: patient W's admission links C6 (300, paid 200 above) to PHP in January.
    services.admissions_upsert(rows=[admission_row("ADM4", "W", w["php"], w["a"], dt.date(2025, 1, 8),
                                                   dt.date(2025, 1, 9))])
    money = _agree()
    assert {k: money[(php, jan)][k] for k in FIELDS[:3]} == {
        "claims": 3, "gross_charges": D("1900"), "net_after_denials": D("2350")}

    # A link removed: ADM3 now starts after C5's first service date, so C5 leaves IOP (no linked claim left).
    services.admissions_upsert(rows=[admission_row("ADM3", "Z", w["iop"], w["a"], dt.date(2025, 2, 5),
                                                   dt.date(2025, 2, 12))])
    money = _agree()
    assert (iop, feb) not in money
    _rebuilt_equals_incremental()

    # The tile's figures, by hand: January PHP on paper = 2350 collected + C2's lost 600 at payer A's clean yield.
    # A's clean claims now: C1 650/1000, C6 200/300 (C5 denied) -> 850/1300; 600 x 850/1300 = 392.307... -> 392.31.
    rows = program_profitability(start=START, end=dt.date(2025, 2, 28), as_of=ON, with_unlinked=False)
    php_jan = next(r for r in rows if r.program_code == "PHP" and r.period_start == jan)
    assert (php_jan.net_after_denials, php_jan.denial_leakage, php_jan.net_on_paper) == (
        D("2350"), D("392.31"), D("2742.31"))


def test_the_summary_is_read_only_once_built_and_gives_the_same_profitability(intake_world):
    built = program_profitability(start=START, end=dt.date(2025, 2, 28), as_of=ON)
    # An organization whose summary is not built (claims that predate it) is read from the claims.
    ProgramClaimMoney.objects.all().delete()
    ProgramClaimMoneyState.objects.all().delete()
    from_claims = program_profitability(start=START, end=dt.date(2025, 2, 28), as_of=ON)
    assert [r.as_dict() for r in from_claims] == [r.as_dict() for r in built]
    # Its first refresh, whatever months it names, builds every month.
    services.program_money_refresh(months=[dt.date(2030, 1, 1)])
    assert ProgramClaimMoneyState.objects.count() == 1
    assert set(ProgramClaimMoney.objects.values_list("month", flat=True)) == {dt.date(2025, 1, 1),
                                                                             dt.date(2025, 2, 1)}
    again = program_profitability(start=START, end=dt.date(2025, 2, 28), as_of=ON)
    assert [r.as_dict() for r in again] == [r.as_dict() for r in built]


def test_moving_an_admission_to_another_program_without_relinking_moves_its_money(intake_world):
    w = intake_world
    feb = dt.date(2025, 2, 1)
    services.admissions_upsert(rows=[admission_row("ADM3", "Z", w["php"], w["a"], dt.date(2025, 2, 3),
                                                   dt.date(2025, 2, 12))], link_claims=False)
    assert Admission.objects.get(external_id="ADM3").program_id == w["php"].pk
    money = _agree()
    # C5 (800, paid 700) is now PHP's: February PHP = C4 (1000, paid 500) + C5.
    assert {k: money[(w["php"].pk, feb)][k] for k in FIELDS[:3]} == {
        "claims": 2, "gross_charges": D("1800"), "net_after_denials": D("1200")}
    assert (w["iop"].pk, feb) not in money
