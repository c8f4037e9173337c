"""Plain-language explanations of line items: exact sentences for every kind and note, by hand from the line's
fields, and on the real March run of tests/commissions/fixtures.py (Pat's X3 crosses 100% of quota)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from commissions.explain import ComponentInfo, Names, TransactionInfo, VersionInfo, line_explanation, money, share_text
from commissions.models import LineItem
from commissions.selectors import runs as reads
from commissions.services import runs
from revops.tenancy import tenant_context
from tests.commissions import fixtures

D = Decimal
TIERED = ComponentInfo(name="Bookings commission", rate_type="tiered_marginal",
                       tiers=({"from": "0", "rate": "0.05"}, {"from": "100", "rate": "0.08"}), clawback_days=90)
NAMES = Names(
    components={1: TIERED,
                2: ComponentInfo(name="Quota bonus", kind="bonus", tiers=({"from": "100", "amount": "1000"},)),
                3: ComponentInfo(name="Team override"), 4: ComponentInfo(name="Referral fee", basis="referrals"),
                5: ComponentInfo(name="Q1 push", kind="spiff"),
                6: ComponentInfo(name="Hurdled", rate_type="tiered_marginal", hurdle_pct=D("50"),
                                 tiers=({"from": "0", "rate": "0.05"},)),
                7: ComponentInfo(name="Capped commission", cap_amount=D("500")),
                8: ComponentInfo(name="Amount tiers", rate_type="tiered_marginal", tier_basis="amount",
                                 tiers=({"from": "0", "rate": "0.02"}, {"from": "50000", "rate": "0.03"},
                                        {"from": "100000", "rate": "0.04"}))},
    versions={10: VersionInfo("AE v1"), 11: VersionInfo("Leader v2", period_cap=D("2000"))},
    rules={20: "Director override"},
    transactions={
        100: TransactionInfo("X3", "bookings", D("5000"), dt.date(2026, 3, 20), "Deal 3"),
        101: TransactionInfo("X2", "bookings", D("4000"), dt.date(2026, 3, 10)),
        102: TransactionInfo("X1-R", "bookings", D("-3000"), dt.date(2026, 4, 2), reverses="X1",
                             reverses_date=dt.date(2026, 3, 5), reversal_reason="cancellation"),
        103: TransactionInfo("REF-7", "referrals", D("3"), dt.date(2026, 3, 12)),
    },
    periods={50: "Feb 2026", 51: "Mar 2026"},
)


def line(**fields) -> dict:
    base = {"kind": "commission", "component_id": 1, "version_id": 10, "transaction_id": 100,
            "transaction_date": dt.date(2026, 3, 20), "credit_role": "owner", "credit_rule_id": None,
            "credit_share": D("1"), "credited": D("2000.00"), "attainment_before": D("100.00"),
            "attainment_after": D("120.00"), "tier": 2, "rate": D("0.080000"), "amount": D("160.00"),
            "held": D("0"), "release_on": None, "source_period_id": None, "note": ""}
    base.update(fields)
    return base


def test_a_tier_crossing_line_names_the_whole_credit_the_tier_and_the_attainment():
    text = line_explanation(line(credit_total=D("5000.00")), NAMES)
    assert text == ("Deal X3 on 20 Mar 2026 credited to you as account owner (100%): $5,000.00. Bookings commission "
                    "(AE v1), tier 2 (above 100% of quota) at 8.0000% on $2,000.00 → $160.00. "
                    "Attainment 100.00% → 120.00%.")
    first = line_explanation(line(credit_total=D("5000.00"), tier=1, rate=D("0.05"), credited=D("3000.00"),
                                  amount=D("150.00"), attainment_before=D("70"), attainment_after=D("100")), NAMES)
    assert first == ("Deal X3 on 20 Mar 2026 credited to you as account owner (100%): $5,000.00. Bookings commission "
                     "(AE v1), tier 1 (up to 100% of quota) at 5.0000% on $3,000.00 → $150.00. "
                     "Attainment 70.00% → 100.00%.")
    # Without credit_total the line's own credited amount is the credit; credit_total None leaves it unsaid.
    assert line_explanation(line(), NAMES).startswith("Deal X3 on 20 Mar 2026 credited to you as account owner "
                                                      "(100%): $2,000.00. ")
    assert line_explanation(line(credit_total=None), NAMES).startswith(
        "Deal X3 on 20 Mar 2026 credited to you as account owner (100%). Bookings commission")


def test_a_manager_override_names_its_rule_and_share_and_a_flat_rate_has_no_tier():
    text = line_explanation(line(component_id=3, version_id=11, transaction_id=101, credit_role="override",
                                 credit_rule_id=20, credit_share=D("0.5"), credited=D("1500.00"), tier=1,
                                 rate=D("0.02"), amount=D("30.00"), attainment_before=None, attainment_after=None),
                            Names(**{**NAMES.__dict__, "subject": "Dee Director"}))
    assert text == ("Deal X2 on 10 Mar 2026 credited to Dee Director as manager override (Director override) (50%): "
                    "$1,500.00. Team override (Leader v2) at 2.0000% on $1,500.00 → $30.00.")


def test_a_split_with_a_held_part_says_when_it_is_paid():
    text = line_explanation(line(transaction_id=101, credit_role="split", credit_share=D("0.25"), credited=D("1000"),
                                 tier=1, rate=D("0.05"), amount=D("50.00"), attainment_before=D("60"),
                                 attainment_after=D("70"), held=D("10.00"), release_on=dt.date(2026, 4, 9)), NAMES)
    assert text == ("Deal X2 on 10 Mar 2026 credited to you by split (25%): $1,000.00. Bookings commission (AE v1), "
                    "tier 1 (up to 100% of quota) at 5.0000% on $1,000.00 → $50.00. Attainment 60.00% → 70.00%. "
                    "$10.00 of it is held and paid on 9 Apr 2026.")


def test_below_the_hurdle_pays_nothing_and_says_why():
    text = line_explanation(line(component_id=6, tier=None, rate=D("0"), credited=D("2000"), amount=D("0"),
                                 attainment_before=D("0"), attainment_after=D("20"), note="below_hurdle",
                                 credit_total=D("5000")), NAMES)
    assert text == ("Deal X3 on 20 Mar 2026 credited to you as account owner (100%): $5,000.00. Hurdled (AE v1): "
                    "the part of $2,000.00 below the hurdle of 50% of quota pays nothing → $0.00. "
                    "Attainment 0.00% → 20.00%.")


def test_amount_tiers_and_count_bases_read_as_money_bands_and_units():
    middle = line_explanation(line(component_id=8, tier=2, rate=D("0.03"), credited=D("5000"), amount=D("150.00"),
                                   attainment_before=None, attainment_after=None), NAMES)
    assert middle == ("Deal X3 on 20 Mar 2026 credited to you as account owner (100%): $5,000.00. Amount tiers "
                      "(AE v1), tier 2 ($50,000.00 to $100,000.00 credited) at 3.0000% on $5,000.00 → $150.00.")
    referrals = line_explanation(line(component_id=4, transaction_id=103, credit_role="direct", credited=D("3"),
                                      tier=1, rate=D("25"), amount=D("75.00"), attainment_before=None,
                                      attainment_after=None, transaction_date=dt.date(2026, 3, 12)), NAMES)
    assert referrals == ("Transaction REF-7 on 12 Mar 2026 credited to you as the person named on it (100%): "
                         "3 referrals. Referral fee (AE v1) at $25.00 each on 3 referrals → $75.00.")


def test_bonus_lines_say_the_tier_reached_or_why_there_is_none():
    reached = line_explanation(line(kind="bonus", component_id=2, transaction_id=None, credit_role="",
                                    credit_share=D("0"), credited=D("12000"), attainment_before=None,
                                    attainment_after=D("120.00"), tier=1, rate=None, amount=D("1000.00")), NAMES)
    assert reached == "Quota bonus (AE v1): attainment bonus; final attainment 120.00% reached tier 1 (from 100% of " \
                      "quota) → $1,000.00."
    short = line_explanation(line(kind="bonus", component_id=2, transaction_id=None, credit_role="", tier=None,
                                  rate=None, attainment_before=None, attainment_after=D("30.00"), amount=D("0")), NAMES)
    assert short == "Quota bonus (AE v1): attainment bonus; final attainment 30.00% reached no bonus tier → $0.00."
    no_quota = line_explanation(line(kind="bonus", component_id=2, transaction_id=None, credit_role="", tier=None,
                                     rate=None, attainment_after=None, amount=D("0"), note="no_quota"), NAMES)
    assert no_quota == ("Quota bonus (AE v1): attainment bonus. You had no quota for the period, so there is no "
                        "attainment to pay a bonus on → $0.00.")


def test_clawbacks_inside_and_outside_the_window_and_without_clawback():
    base = {"kind": "clawback", "transaction_id": 102, "transaction_date": dt.date(2026, 4, 2), "tier": None,
            "rate": None, "credited": D("-3000"), "attainment_before": None, "attainment_after": None}
    inside = line_explanation(line(**base, amount=D("-150.00")), NAMES)
    assert inside == ("Deal X1-R on 2 Apr 2026 is a reversal of -$3,000.00 of X1 (5 Mar 2026): deal cancelled. "
                      "Bookings commission (AE v1) claws back what the original paid you, in proportion to the "
                      "reversed amount → -$150.00.")
    outside = line_explanation(line(**base, amount=D("0"), note="outside_clawback_window"), NAMES)
    assert outside.endswith("It came after Bookings commission (AE v1)'s 90-day clawback window: nothing is clawed "
                            "back → $0.00.")
    none = line_explanation(line(**base, component_id=3, version_id=11, amount=D("0"), note="no_clawback"), NAMES)
    assert none.endswith("Team override (Leader v2) has no clawback: nothing is clawed back → $0.00.")


def test_caps_releases_adjustments_and_manual_lines():
    cap = line_explanation(line(kind="cap", component_id=7, transaction_id=None, credit_role="", amount=D("-40.00"),
                                note="capped"), NAMES)
    assert cap == "Capped: Capped commission (AE v1) pays at most $500.00 a period; this line brings it down by $40.00."
    version_cap = line_explanation(line(kind="cap", component_id=None, version_id=11, transaction_id=None,
                                        credit_role="", amount=D("-12.50"), note="capped"), NAMES)
    assert version_cap == ("Capped: Leader v2 pays at most $2,000.00 a period over all its components; this line "
                           "brings it down by $12.50.")
    release = line_explanation(line(kind="release", credit_role="", amount=D("10.00"), source_period_id=50,
                                    note="held_released", transaction_date=dt.date(2026, 3, 20)), NAMES)
    assert release == ("Held pay released: $10.00 held from deal X3 on 20 Mar 2026 under Bookings commission (AE v1), "
                       "earned in Feb 2026.")
    adjustment = line_explanation(line(kind="adjustment", credit_role="", amount=D("80.00"), source_period_id=51,
                                       note="commission:Mar 2026", transaction_date=None), NAMES)
    assert adjustment == ("Retroactive adjustment: belongs to Mar 2026, which is locked. Recomputed with today's "
                          "inputs, its commission on deal X3 on 20 Mar 2026 under Bookings commission (AE v1) pays "
                          "$80.00 more than was paid → $80.00.")
    manual = line_explanation(line(kind="manual", component_id=None, version_id=None, transaction_id=None,
                                   credit_role="", amount=D("-25.00"), note="#4: Duplicate deal credited twice"), NAMES)
    assert manual == "Manual adjustment: Duplicate deal credited twice → -$25.00."


def test_missing_names_are_said_by_id_not_guessed():
    text = line_explanation(line(component_id=999, version_id=998, transaction_id=997, credited=D("10"),
                                 amount=D("0.50"), rate=D("0.05"), tier=1), Names())
    assert text == ("Transaction #997 on 20 Mar 2026 credited to you as account owner (100%): $10.00. component #999 "
                    "(plan version #998) at 5.0000% on $10.00 → $0.50. Attainment 100.00% → 120.00%.")


def test_formatting_helpers():
    assert money(D("-1234.5")) == "-$1,234.50"
    assert share_text(D("0.333333")) == "33.3333%"
    assert share_text(D("1.000000")) == "100%"


@pytest.mark.django_db
def test_the_march_run_explains_pats_lines_from_the_database(world):
    with tenant_context(world.a.org):
        cw = fixtures.build()
        march = runs.period_ensure(start=fixtures.MAR)
        run = runs.run_now(period=march)
        rows = reads.lines_all(run_id=run.pk, person_id=cw["pat"].pk)
        by_line = {(r["transaction_external_id"], r["kind"], r["tier"]): r["explanation"] for r in rows}
        assert by_line[("X3", "commission", 2)] == (
            "Deal X3 on 20 Mar 2026 credited to you as account owner (100%): $5,000.00. Bookings commission (AE v1), "
            "tier 2 (above 100% of quota) at 8.0000% on $2,000.00 → $160.00. Attainment 100.00% → 120.00%.")
        assert by_line[("X3", "commission", 1)] == (
            "Deal X3 on 20 Mar 2026 credited to you as account owner (100%): $5,000.00. Bookings commission (AE v1), "
            "tier 1 (up to 100% of quota) at 5.0000% on $3,000.00 → $150.00. Attainment 70.00% → 100.00%.")
        assert by_line[("X2", "commission", 1)] == (
            "Deal X2 on 10 Mar 2026 credited to you by split (25%): $1,000.00. Bookings commission (AE v1), tier 1 "
            "(up to 100% of quota) at 5.0000% on $1,000.00 → $50.00. Attainment 60.00% → 70.00%.")
        assert by_line[("", "bonus", 1)] == (
            "Quota bonus (AE v1): attainment bonus; final attainment 120.00% reached tier 1 (from 100% of quota) → "
            "$1,000.00.")
        assert sum(r["amount"] for r in rows) == D("1660.00")
        # Mo overrides Quinn's 3,000 and Pat's 1,000 of X2 separately: each line keeps its own credit.
        mo = reads.lines_all(run_id=run.pk, person_id=cw["mo"].pk, subject="Mo Manager")
        x2 = sorted(r["explanation"] for r in mo if r["transaction_external_id"] == "X2")
        assert x2 == [
            "Deal X2 on 10 Mar 2026 credited to Mo Manager as manager override (Manager override) (100%): $1,000.00. "
            "Team override (Leader v1) at 2.0000% on $1,000.00 → $20.00.",
            "Deal X2 on 10 Mar 2026 credited to Mo Manager as manager override (Manager override) (100%): $3,000.00. "
            "Team override (Leader v1) at 2.0000% on $3,000.00 → $60.00.",
        ]
        assert LineItem.objects.filter(run=run).count() == len(reads.lines_all(run_id=run.pk))
