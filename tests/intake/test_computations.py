"""Hand-computed figures of the intake computations (fixtures in tests/intake/fixtures.py), and slow, obviously
right reference implementations in Python that the set-based SQL must agree with."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest

from intake import services
from intake.models import Admission, AdmissionClaim, Authorization
from intake.selectors.authorizations import authorization_denials, authorizations_with_usage, reviews_due
from intake.selectors.profitability import program_profitability
from intake.selectors.rules import DEFAULT_DECISION, intake_check, rule_in_force, violations
from rcm_feeds.models import Claim, ClaimLine, ClaimPayment, Denial
from rcm_feeds.phi import patient_hash

D = Decimal
ON = dt.date(2025, 3, 1)
pytestmark = pytest.mark.django_db


# -- reference implementations (row by row, in Python) --------------------------------------------

def reference_links() -> dict[int, int]:
    """claim id -> admission id: same hash and program, service dates within the stay, latest admission wins."""
    out = {}
    admissions = list(Admission.objects.order_by("-admitted_on", "-id"))
    for claim in Claim.objects.all():
        if not claim.patient_hash or claim.service_from is None:
            continue
        last = claim.service_to or claim.service_from
        for a in admissions:
            if (a.patient_hash == claim.patient_hash and a.program_id == claim.program_id
                    and a.admitted_on <= claim.service_from and (a.discharged_on is None or last <= a.discharged_on)):
                out[claim.pk] = a.pk
                break
    return out


def is_current(claim: Claim) -> bool:
    return claim.frequency != "8" and not Claim.objects.filter(original_claim=claim).exists()


def reference_units_used(auth: Authorization) -> Decimal:
    claim_ids = AdmissionClaim.objects.filter(admission=auth.admission).values_list("claim_id", flat=True)
    days, units = set(), D(0)
    for claim in Claim.objects.filter(pk__in=claim_ids):
        if not is_current(claim):
            continue
        for ln in ClaimLine.objects.filter(claim=claim):
            day = ln.service_date or claim.service_from
            if auth.starts_on <= day <= auth.ends_on:
                days.add(day)
                units += ln.units if ln.units is not None else D(1)
    return D(len(days)) if auth.unit_kind == "days" else units


def counted(claim: Claim) -> list[Denial]:
    out = []
    for d in Denial.objects.filter(claim=claim):
        has_claim_level = Denial.objects.filter(claim_payment_id=d.claim_payment_id, level="claim").exists()
        if d.level == "claim" or not has_claim_level:
            out.append(d)
    return out


def reference_program_month(program, month: dt.date, as_of: dt.date) -> dict[str, Decimal]:
    """One program's additive measures in one month, claim by claim."""
    nxt = (month + dt.timedelta(days=32)).replace(day=1)
    last_day = nxt - dt.timedelta(days=1)
    out = {k: D(0) for k in ("admissions", "patient_days", "gross", "net", "denied", "leak")}
    for a in Admission.objects.filter(program=program):
        end = a.discharged_on or max(as_of, a.admitted_on)
        if month <= a.admitted_on <= last_day:
            out["admissions"] += 1
        overlap = (min(end, last_day) - max(a.admitted_on, month)).days + 1
        out["patient_days"] += max(0, overlap)
    clean = [c for c in Claim.objects.all() if is_current(c) and ClaimPayment.objects.filter(claim=c).exists()
             and not Denial.objects.filter(claim=c).exists()]

    def yield_of(payer_id):
        mine = [c for c in clean if c.payer_id == payer_id] or clean
        paid = sum(sum(p.paid for p in ClaimPayment.objects.filter(claim=c)) for c in mine)
        return paid / sum(c.charge for c in mine)

    for link in AdmissionClaim.objects.filter(admission__program=program).select_related("claim"):
        c = link.claim
        if not (month <= c.service_from <= last_day):
            continue
        if is_current(c):
            out["gross"] += c.charge
        out["net"] += sum(p.paid for p in ClaimPayment.objects.filter(claim=c))
        for d in counted(c):
            out["denied"] += d.denied_charge
            if d.status != "overturned":
                out["leak"] += d.denied_charge * yield_of(c.payer_id)
    return out


# -- claim links ----------------------------------------------------------------------------------

def test_claims_link_to_the_stay_of_the_same_patient_program_and_dates(intake_world):
    c1, c2, c3, c4, c5, c6 = intake_world["claims"]
    adm = intake_world["adm"]
    links = dict(AdmissionClaim.objects.values_list("claim_id", "admission_id"))
    assert links == {c1.pk: adm["ADM1"].pk, c2.pk: adm["ADM1"].pk, c3.pk: adm["ADM2"].pk, c4.pk: adm["ADM2"].pk,
                     c5.pk: adm["ADM3"].pk}
    assert links == reference_links()
    assert intake_world["link_counts"]["claims_linked"] == 5


def test_admissions_keep_only_the_hash_of_the_member_id(intake_world):
    a = Admission.objects.get(external_id="ADM1")
    assert a.patient_hash == patient_hash("X") and "X" != a.patient_hash and len(a.patient_hash) == 64


def test_re_sending_the_same_admissions_changes_nothing(intake_world):
    rows = [(a.external_id, a.patient_hash, a.program_id, a.payer_id, a.plan_name, None, a.admitted_on,
             a.discharged_on, None, "test") for a in Admission.objects.all()]
    counts = services.admissions_upsert(rows=rows)
    assert (counts["inserted"], counts["updated"], counts["unchanged"]) == (0, 0, 3)


def test_a_shorter_stay_drops_the_claims_outside_it_and_relinking_agrees_with_the_reference(intake_world):
    a = Admission.objects.get(external_id="ADM2")
    services.admissions_upsert(rows=[(a.external_id, a.patient_hash, a.program_id, a.payer_id, "", None,
                                      a.admitted_on, dt.date(2025, 1, 31), None, "test")])
    assert AdmissionClaim.objects.filter(admission=a).count() == 1  # C3 only: C4 (Feb 3-8) is after the stay
    services.admission_claims_link()
    assert dict(AdmissionClaim.objects.values_list("claim_id", "admission_id")) == reference_links()


# -- authorizations -------------------------------------------------------------------------------

def test_units_used_count_distinct_days_or_line_units_within_the_authorization(intake_world):
    used = {a.auth_number: (a.units_used, a.units_remaining) for a in authorizations_with_usage()}
    # AUTH1 (days, Jan 6-12, 5 granted): C1's five days Jan 6-10 -> 5 used, 0 left.
    # AUTH2 (units, Jan 13-20, 4 granted): C2's three lines of 2 units -> 6 used, -2 left.
    assert used == {"AUTH1": (D(5), D(0)), "AUTH2": (D(6), D(-2))}
    for auth in Authorization.objects.all():
        assert dict((k, u) for k, (u, _) in used.items())[auth.auth_number] == reference_units_used(auth)


def test_reviews_due_this_week_and_overdue(intake_world):
    # AUTH1's next review is Friday Jan 10, 2025: due in the week of Monday Jan 6.
    assert [a.auth_number for a in reviews_due(today=dt.date(2025, 1, 7))] == ["AUTH1"]
    # The week after it is overdue only while the authorization still runs (to Jan 12).
    assert [a.auth_number for a in reviews_due(today=dt.date(2025, 1, 12))] == ["AUTH1"]
    assert list(reviews_due(today=dt.date(2025, 1, 13))) == []


def test_authorization_denials_are_linked_to_admission_and_covering_authorization(intake_world):
    rows = {r["patient_control_number"]: r for r in authorization_denials()}
    c2, c4 = intake_world["claims"][1], intake_world["claims"][3]
    assert set(rows) == {c2.patient_control_number, c4.patient_control_number}
    # C2 (CARC 197) was covered by AUTH2, which is used up (6 of 4): exceeded.
    assert (rows[c2.patient_control_number]["auth_number"], rows[c2.patient_control_number]["kind"]) == \
        ("AUTH2", "exceeded")
    assert rows[c2.patient_control_number]["admission_external_id"] == "ADM1"
    # C4 (CARC 198, exceeded by the payer's word) had no authorization covering it.
    assert (rows[c4.patient_control_number]["auth_number"], rows[c4.patient_control_number]["kind"]) == \
        (None, "exceeded")
    assert rows[c4.patient_control_number]["denied_charge"] == D("400.00")


# -- rules and the intake check -------------------------------------------------------------------

def test_the_most_specific_rule_in_force_wins(intake_world):
    a, b, php, iop = intake_world["a"], intake_world["b"], intake_world["php"], intake_world["iop"]
    r1, r2, r3, r4 = intake_world["rules"]
    assert rule_in_force(payer=b, plan_name="", program=php, on=ON) == r1
    assert rule_in_force(payer=a, plan_name="PPO", program=php, on=ON) == r2  # by level of care
    assert rule_in_force(payer=a, plan_name="", program=iop, on=ON) == r3
    assert rule_in_force(payer=a, plan_name="gold", program=iop, on=ON) == r4  # the plan's rule first
    assert rule_in_force(payer=a, plan_name="", program=iop, on=dt.date(2024, 12, 31)) is None  # R3 not yet
    assert rule_in_force(payer=b, plan_name="", program=iop, on=ON) is None


@pytest.mark.parametrize("min_days, level, per_day, expected", [
    (10, "payer_program", D("60.00"), D("840.00")),   # ADM1: 600 / 10 days; x 14
    (15, "payer", D("65.00"), D("910.00")),           # ADM1 + ADM3: 1300 / 20
    (25, "program", D("86.67"), D("1213.38")),        # ADM1 + ADM2: 2600 / 30 = 86.666..
    (35, "organization", D("82.50"), D("1155.00")),   # all: 3300 / 40
])
def test_intake_check_revenue_falls_back_level_by_level(intake_world, min_days, level, per_day, expected):
    result = intake_check(payer=intake_world["a"], program=intake_world["php"], expected_los_days=14, on=ON,
                          min_patient_days=min_days, min_adjudicated_claims=1)
    assert result.revenue_basis.level == level
    assert (result.net_revenue_per_patient_day, result.expected_net_revenue) == (per_day, expected)
    assert result.decision == "allowed_with_authorization" and result.allowed and result.requires_authorization
    assert "Rule #" in result.reason


@pytest.mark.parametrize("min_claims, level, rate", [
    (2, "payer_program", D("0.5000")),  # C2 of C1, C2
    (3, "payer", D("0.3333")),          # C2 of C1, C2, C5
    (4, "program", D("0.5000")),        # C2, C4 of C1-C4
    (5, "organization", D("0.4000")),   # C2, C4 of five
])
def test_intake_check_denial_risk_falls_back_level_by_level(intake_world, min_claims, level, rate):
    result = intake_check(payer=intake_world["a"], program=intake_world["php"], on=ON, min_patient_days=1,
                          min_adjudicated_claims=min_claims)
    assert (result.denial_basis.level, result.denial_rate) == (level, rate)


def test_intake_check_without_enough_history_or_rule(intake_world):
    result = intake_check(payer=intake_world["b"], program=intake_world["iop"], expected_los_days=7, on=ON,
                          min_patient_days=1000, min_adjudicated_claims=1000)
    assert result.rule is None and result.decision == DEFAULT_DECISION and result.reason.startswith("No rule")
    assert result.revenue_basis is None and result.expected_net_revenue is None and result.denial_rate is None
    not_allowed = intake_check(payer=intake_world["b"], program=intake_world["php"], on=ON)
    assert not not_allowed.allowed and "Out of network" in not_allowed.reason


def test_intake_check_payer_level_for_a_pair_never_seen(intake_world):
    # Payer B never had an IOP stay: B's own history (ADM2: 2000 / 20 days) answers.
    result = intake_check(payer=intake_world["b"], program=intake_world["iop"], expected_los_days=3, on=ON,
                          min_patient_days=15, min_adjudicated_claims=1)
    assert (result.revenue_basis.level, result.net_revenue_per_patient_day, result.expected_net_revenue) == \
        ("payer", D("100.00"), D("300.00"))


# -- violations -----------------------------------------------------------------------------------

def test_violations_and_what_they_cost(intake_world):
    rows = {r["external_id"]: r for r in violations()}
    # ADM2: payer B in PHP is not allowed (R1); its claims C3, C4: 2000 collected, 400 denied (open, not written off).
    # ADM3: IOP at payer A needs an authorization (R3) and has none. ADM1 is covered by AUTH1 from its first day.
    assert set(rows) == {"ADM2", "ADM3"}
    assert (rows["ADM2"]["violation"], rows["ADM2"]["claims"], rows["ADM2"]["net_collected"], rows["ADM2"]["denied"],
            rows["ADM2"]["written_off"]) == ("not_allowed", 2, D("2000.00"), D("400.00"), D("0"))
    assert (rows["ADM3"]["violation"], rows["ADM3"]["net_collected"], rows["ADM3"]["denied"]) == \
        ("no_authorization", D("700.00"), D("0"))


def test_a_written_off_denial_counts_in_the_violation_cost(intake_world):
    Authorization.objects.filter(auth_number="AUTH1").delete()  # ADM1 now lacks an authorization on day one
    row = {r["external_id"]: r for r in violations()}["ADM1"]
    assert (row["violation"], row["denied"], row["written_off"]) == ("no_authorization", D("600.00"), D("600.00"))


# -- program profitability -------------------------------------------------------------------------

def _row(rows, code, month):
    return next(r for r in rows if r.program_code == code and r.period_start == month)


def test_program_profitability_by_month_hand_computed(intake_world):
    rows = program_profitability(start=dt.date(2025, 1, 1), end=dt.date(2025, 2, 28), as_of=ON)
    jan = _row(rows, "PHP", dt.date(2025, 1, 1))
    # Admissions ADM1, ADM2; patient-days 10 + 12; claims C1-C3: gross 3600, collected 2100; C2's 600 written off
    # and valued at payer A's clean yield 1300/1800 -> 433.33 leakage; cost 1500 + 200 UR (4 hours).
    assert (jan.admissions, jan.discharges, jan.patient_days, jan.claims) == (2, 1, 22, 3)
    assert (jan.gross_charges, jan.net_after_denials, jan.denied, jan.written_off) == \
        (D("3600.00"), D("2100.00"), D("600.00"), D("600.00"))
    assert (jan.net_on_paper, jan.denial_leakage, jan.direct_cost) == (D("2533.33"), D("433.33"), D("1700.00"))
    assert (jan.margin_on_paper, jan.margin_after_denials) == (D("833.33"), D("400.00"))
    assert (jan.margin_per_patient_day_on_paper, jan.margin_per_patient_day_after_denials) == (D("37.88"), D("18.18"))
    assert (jan.net_per_admission_on_paper, jan.net_per_admission_after_denials) == (D("1266.67"), D("1050.00"))
    assert (jan.average_length_of_stay, jan.ur_cost_per_admission, jan.ur_hours_per_admission) == \
        (D("10.00"), D("100.00"), D("2.00"))
    assert (jan.unlinked_claims, jan.unlinked_charges) == (1, D("300.00"))  # C6
    feb = _row(rows, "PHP", dt.date(2025, 2, 1))
    # C4: 500 collected, 400 line denial open at payer B's clean yield 0.75 -> 300.
    assert (feb.admissions, feb.discharges, feb.patient_days, feb.net_after_denials, feb.net_on_paper) == \
        (0, 1, 8, D("500.00"), D("800.00"))
    assert feb.net_per_admission_after_denials is None  # no admission in February
    iop = _row(rows, "IOP", dt.date(2025, 2, 1))
    assert (iop.admissions, iop.patient_days, iop.net_after_denials, iop.net_on_paper, iop.margin_after_denials) == \
        (1, 10, D("700.00"), D("700.00"), D("300.00"))


def test_program_profitability_by_quarter_adds_months_then_divides(intake_world):
    q1 = _row(program_profitability(start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 31), grain="quarter", as_of=ON),
              "PHP", dt.date(2025, 1, 1))
    assert q1.period_end == dt.date(2025, 3, 31)
    assert (q1.admissions, q1.discharges, q1.patient_days, q1.average_length_of_stay) == (2, 2, 30, D("15.00"))
    assert (q1.net_after_denials, q1.net_on_paper, q1.direct_cost) == (D("2600.00"), D("3333.33"), D("2200.00"))
    assert (q1.margin_per_patient_day_after_denials, q1.margin_per_patient_day_on_paper) == (D("13.33"), D("37.78"))


def test_program_profitability_agrees_with_the_reference(intake_world):
    rows = program_profitability(start=dt.date(2025, 1, 1), end=dt.date(2025, 2, 28), as_of=ON, include_empty=True)
    for r in rows:
        program = intake_world["php"] if r.program_code == "PHP" else intake_world["iop"]
        ref = reference_program_month(program, r.period_start, ON)
        assert (r.admissions, r.patient_days) == (ref["admissions"], ref["patient_days"])
        assert (r.gross_charges, r.net_after_denials, r.denied) == (ref["gross"], ref["net"], ref["denied"])
        assert r.net_on_paper == (ref["net"] + ref["leak"]).quantize(D("0.01"), ROUND_HALF_UP)


def test_a_stay_in_care_counts_patient_days_through_as_of(intake_world):
    services.admissions_upsert(rows=[("ADM4", patient_hash("V"), intake_world["php"].pk, None, "", None,
                                      dt.date(2025, 2, 25), None, 30, "test")])
    feb = _row(program_profitability(start=dt.date(2025, 2, 1), end=dt.date(2025, 3, 31), as_of=dt.date(2025, 3, 5)),
               "PHP", dt.date(2025, 2, 1))
    mar = _row(program_profitability(start=dt.date(2025, 2, 1), end=dt.date(2025, 3, 31), as_of=dt.date(2025, 3, 5)),
               "PHP", dt.date(2025, 3, 1))
    assert (feb.admissions, feb.patient_days) == (1, 8 + 4)  # ADM2's 8 + Feb 25-28
    assert mar.patient_days == 5  # March 1-5
