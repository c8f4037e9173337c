"""The plan builder's services and reads: validation per component kind, copying versions, the EKRA guardrail
(activation refused without a sign-off in a covered organization), ending the previous version, assignment
overlaps, acknowledgment by the rep only, credit rules, the audit trail and the plan document's wording."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from commissions.models import ComplianceSignoff, CompPlanVersion, Component, PlanAssignment, VersionStatus
from commissions.selectors import plans as reads
from commissions.services import plans as services
from revops.models import AuditEvent, Person, Role

pytestmark = pytest.mark.django_db

D = Decimal
JAN = dt.date(2025, 1, 1)
JUL = dt.date(2025, 7, 1)


def message(exc: pytest.ExceptionInfo) -> str:
    return " ".join(exc.value.messages)


@pytest.fixture
def plan(tenant_a):
    return services.plan_create(name="AE plan", description="Account executives")


@pytest.fixture
def draft(plan):
    return services.version_create(plan=plan, effective_from=JAN)


def covered(tenant) -> None:
    tenant.org.ekra_covered = True
    tenant.org.save()


def commission(version, **fields) -> Component:
    values = {"name": "Bookings", "kind": "commission", "basis": "bookings", "rate_type": "flat", "rate": D("0.05")}
    values.update(fields)
    return services.component_save(version=version, **values)


# -- plans and versions ----------------------------------------------------------------------------

def test_plan_names_are_unique_in_the_organization(plan):
    with pytest.raises(ValidationError) as exc:
        services.plan_create(name="ae PLAN")
    assert message(exc) == "A compensation plan named 'ae PLAN' already exists."


def test_versions_are_numbered_and_need_a_valid_range(plan, draft):
    assert draft.version == 1 and draft.status == VersionStatus.DRAFT
    assert services.version_create(plan=plan, effective_from=JUL).version == 2
    with pytest.raises(ValidationError) as exc:
        services.version_create(plan=plan, effective_from=JUL, effective_to=JUL)
    assert "must end after it starts" in message(exc)


def test_a_copy_takes_components_with_their_tiers_but_not_signoffs(tenant_a, plan, draft):
    covered(tenant_a)
    tiers = [{"from": "0", "rate": "0.05"}, {"from": "100", "rate": "0.08"}]
    commission(draft, rate_type="tiered_marginal", tiers=tiers, hurdle_pct=D("50"), clawback_days=90)
    referral = commission(draft, name="Referrals", basis="referrals", rate=D("25"))
    services.signoff_record(component=referral, user=tenant_a.users[Role.ADMIN], reason="Counsel reviewed")
    services.version_update(version=draft, period_cap=D("20000"), notes="FY25")

    copy = services.version_create(plan=plan, effective_from=JUL, copy_from=draft)

    assert copy.version == 2 and copy.period_cap == D("20000") and copy.notes == "FY25"
    copied = {c.name: c for c in copy.components.all()}
    assert set(copied) == {"Bookings", "Referrals"}
    assert copied["Bookings"].tiers == tiers
    assert copied["Bookings"].hurdle_pct == D("50") and copied["Bookings"].clawback_days == 90
    assert copied["Referrals"].rate == D("25")
    assert not ComplianceSignoff.objects.filter(component__version=copy).exists()
    assert ComplianceSignoff.objects.filter(component__version=draft).count() == 1


def test_only_a_draft_changes(tenant_a, draft):
    commission(draft)
    services.version_activate(version=draft, user=tenant_a.users[Role.EXECUTIVE])
    with pytest.raises(ValidationError) as exc:
        services.version_update(version=draft, notes="late edit")
    assert message(exc).startswith("AE plan v1 is active: only a draft changes.")
    with pytest.raises(ValidationError):
        commission(draft, name="Another")
    with pytest.raises(ValidationError):
        services.component_delete(component=draft.components.get())


# -- component validation --------------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "expected"), [
    ({"rate": D(0)}, "A flat commission needs a rate above 0 (or per-service-line rates)."),
    ({"rate_type": "tiered_marginal", "tiers": []}, "Give at least one tier: a threshold and a rate per row."),
    ({"rate_type": "tiered_marginal", "tiers": [{"from": "10", "rate": "0.05"}]},
     "The first tier starts from 0 (it is the rate below the next threshold); it starts from 10."),
    ({"rate_type": "tiered_retro", "tiers": [{"from": "0", "rate": "0.05"}, {"from": "100", "rate": "0.08"},
                                              {"from": "100.00", "rate": "0.1"}]},
     "Tier thresholds go up: tier 3 (100) is not above tier 2 (100)."),
    ({"rate_type": "tiered_marginal", "tiers": [{"from": "0", "rate": "-0.01"}]}, "Tier 1: a rate cannot be negative."),
    ({"rate_type": "tiered_marginal", "tiers": [{"from": "0", "rate": "abc"}]}, "Tier 1 rate: 'abc' is not a number."),
    ({"rate_type": "tiered_marginal", "tiers": [{"from": "0", "rate": "0.0000001"}]},
     "Tier 1 rate: 0.0000001 has more than 6 decimal places."),
    ({"kind": "bonus", "tiers": [{"from": "100", "rate": "0.1"}]},
     'Tier 1 needs "from" (the threshold) and "amount".'),
    ({"kind": "spiff", "rate": D(0), "unit_amount": D(50), "spiff_start": JUL, "spiff_end": dt.date(2025, 6, 30)},
     "The SPIFF ends (Jun 30, 2025) before it starts (Jul 1, 2025)."),
    ({"kind": "spiff", "rate": D(0), "spiff_start": JAN, "spiff_end": JUL},
     "A SPIFF pays an amount per transaction, a rate, or both: give one above 0."),
    ({"hold_pct": D("100.01"), "hold_days": 30}, "Hold % is between 0 and 100."),
    ({"hold_pct": D(20)}, "A hold needs the number of days the held part waits."),
    ({"basis": "custom"}, "A custom basis needs the metric's code (what its transactions carry)."),
    ({"service_line_rates": {"NOPE": "0.05"}}, "There is no service line with the code 'NOPE'."),
    ({"name": "  "}, "A component needs a name."),
])
def test_components_are_checked_per_kind(draft, fields, expected):
    with pytest.raises(ValidationError) as exc:
        commission(draft, **fields)
    assert message(exc) == expected
    assert not draft.components.exists()


def test_tiers_are_stored_as_decimal_strings_and_unused_fields_cleared(draft):
    c = commission(draft, rate_type="tiered_marginal", rate=D("0.07"),
                   tiers=[{"from": 0, "rate": "0.050"}, {"from": "100.0", "rate": D("0.08")}],
                   spiff_start=JAN, custom_basis="ignored")
    c.refresh_from_db()
    assert c.tiers == [{"from": "0", "rate": "0.05"}, {"from": "100", "rate": "0.08"}]
    assert c.rate == 0 and c.spiff_start is None and c.custom_basis == ""
    bonus = commission(draft, name="Bonus", kind="bonus", tiers=[{"from": "100", "amount": "1000"},
                                                                  {"from": "120", "amount": "2500.50"}])
    assert bonus.tiers == [{"from": "100", "amount": "1000"}, {"from": "120", "amount": "2500.5"}]
    assert bonus.tier_basis == "attainment"
    with pytest.raises(ValidationError) as exc:
        commission(draft, name="bonus")
    assert message(exc) == "AE plan v1 already has a component named 'bonus'."


def test_service_line_rates_take_the_place_of_a_flat_rate(tenant_a, draft):
    c = commission(draft, rate=D(0), service_line_rates={"TOX": "0.060"})
    assert c.service_line_rates == {"TOX": "0.06"}


# -- the EKRA guardrail ----------------------------------------------------------------------------

def test_flag_needs_a_covered_organization_and_an_ekra_basis(tenant_a, draft):
    referrals = commission(draft, name="Referrals", basis="referrals", rate=D(25))
    bookings = commission(draft)
    assert not services.component_flagged(referrals)  # organization a is not covered yet
    covered(tenant_a)
    assert services.component_flagged(referrals)
    assert not services.component_flagged(bookings)
    for basis in ("tests", "billed_amount", "net_collected_revenue"):
        referrals.basis = basis
        assert services.component_flagged(referrals), basis


def test_the_explanation_cites_both_laws_and_says_what_a_signoff_means(tenant_a, draft):
    covered(tenant_a)
    c = commission(draft, name="Referral pay", basis="referrals", rate=D(25))
    text = services.ekra_explanation(c)
    assert "Referral pay pays on the number of patient referrals." in text
    assert "18 U.S.C. § 220" in text and "Anti-Kickback Statute" in text
    assert "will not activate until" in text and "compliance sign-off" in text


def test_activation_is_refused_until_each_flagged_component_is_signed_off(tenant_a, draft):
    covered(tenant_a)
    executive, admin = tenant_a.users[Role.EXECUTIVE], tenant_a.users[Role.ADMIN]
    commission(draft)
    tests = commission(draft, name="Tests run", basis="tests", rate=D(4))
    collected = commission(draft, name="Collections", basis="net_collected_revenue", rate=D("0.02"))

    with pytest.raises(ValidationError) as exc:
        services.version_activate(version=draft, user=executive)
    assert message(exc) == ("AE plan v1 cannot be activated: 2 components flagged under EKRA (18 U.S.C. § 220) and "
                            "the Anti-Kickback Statute need a compliance sign-off first: Tests run, Collections.")
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT

    with pytest.raises(ValidationError) as exc:
        services.signoff_record(component=tests, user=admin, reason="   ")
    assert "needs the reason" in message(exc)
    services.signoff_record(component=tests, user=admin, reason="Salaried employees; counsel memo 2025-01")
    with pytest.raises(ValidationError) as exc:
        services.version_activate(version=draft, user=executive)
    assert message(exc).endswith("1 component flagged under EKRA (18 U.S.C. § 220) and the Anti-Kickback Statute "
                                 "needs a compliance sign-off first: Collections.")

    signoff = services.signoff_record(component=collected, user=admin, reason="Reviewed by compliance")
    assert signoff.signed_by == admin and signoff.signed_at is not None
    with pytest.raises(ValidationError) as exc:
        services.signoff_record(component=collected, user=admin, reason="again")
    assert "was already signed off by" in message(exc)

    assert services.version_activate(version=draft, user=executive) == []
    draft.refresh_from_db()
    assert draft.status == VersionStatus.ACTIVE and draft.activated_by == executive and draft.activated_at


def test_a_signoff_is_only_for_a_flagged_component(tenant_a, draft):
    c = commission(draft, name="Referrals", basis="referrals", rate=D(25))
    with pytest.raises(ValidationError) as exc:
        services.signoff_record(component=c, user=tenant_a.users[Role.ADMIN], reason="ok")
    assert message(exc) == ("Referrals is not flagged (it pays on referral count, and the organization is not "
                            "EKRA-covered), so it needs no compliance sign-off.")


def test_changing_a_signed_off_component_withdraws_its_signoff(tenant_a, draft):
    covered(tenant_a)
    c = commission(draft, name="Referrals", basis="referrals", rate=D(25))
    services.signoff_record(component=c, user=tenant_a.users[Role.ADMIN], reason="Reviewed")
    same = services.component_save(version=draft, component=c, rate=D(25))
    assert not same.signoff_withdrawn and ComplianceSignoff.objects.filter(component=c).exists()
    changed = services.component_save(version=draft, component=c, rate=D(30))
    assert changed.signoff_withdrawn and not ComplianceSignoff.objects.filter(component=c).exists()
    assert services.missing_signoffs(draft) == [c]


def test_an_empty_version_does_not_activate(tenant_a, draft):
    with pytest.raises(ValidationError) as exc:
        services.version_activate(version=draft, user=tenant_a.users[Role.ADMIN])
    assert message(exc) == ("AE plan v1 has no components, so it would pay nothing. Add at least one component "
                            "before activating it.")


def test_activation_ends_the_previous_version_or_retires_what_it_covers(tenant_a, plan, draft):
    user = tenant_a.users[Role.EXECUTIVE]
    commission(draft)
    services.version_activate(version=draft, user=user)
    v2 = services.version_create(plan=plan, effective_from=JUL, copy_from=draft)

    assert services.version_activate(version=v2, user=user) == ["v1 now ends on Jul 1, 2025."]
    draft.refresh_from_db()
    assert (draft.status, draft.effective_from, draft.effective_to) == (VersionStatus.ACTIVE, JAN, JUL)

    # v3 from the same day as v2: nothing of v2 is left, so it is retired; v1 keeps Jan-Jun.
    v3 = services.version_create(plan=plan, effective_from=JUL, copy_from=v2)
    changes = services.version_activate(version=v3, user=user)
    assert changes == ["v2 was retired: v3 covers all of its dates from Jul 1, 2025."]
    v2.refresh_from_db()
    assert v2.status == VersionStatus.RETIRED
    active = list(CompPlanVersion.objects.filter(plan=plan, status="active").order_by("version")
                  .values_list("version", "effective_from", "effective_to"))
    assert active == [(1, JAN, JUL), (3, JUL, None)]

    services.version_retire(version=v3)
    v3.refresh_from_db()
    assert v3.status == VersionStatus.RETIRED
    with pytest.raises(ValidationError):
        services.version_retire(version=v3)


# -- assignments -----------------------------------------------------------------------------------

def test_an_overlapping_assignment_is_refused_with_the_other_one_named(tenant_a, plan):
    rep = tenant_a.objects["person"]
    other = services.plan_create(name="SDR plan")
    services.assignment_save(person=rep, plan=plan, effective_from=JAN, effective_to=JUL, quota_amount=D("100000"))
    with pytest.raises(ValidationError) as exc:
        services.assignment_save(person=rep, plan=other, effective_from=dt.date(2025, 6, 1))
    assert message(exc) == ("Ray Rep harbor is already on AE plan from Jan 1, 2025 until Jul 1, 2025; a person is on "
                            "one plan at a time. End that assignment first, or start this one after it ends.")
    # Back to back is fine (the end date is exclusive).
    later = services.assignment_save(person=rep, plan=other, effective_from=JUL, draw_amount=D("2000"),
                                     draw_recoverable=False, draw_until=dt.date(2025, 9, 30))
    assert PlanAssignment.objects.filter(person=rep).count() == 2
    with pytest.raises(ValidationError) as exc:
        services.assignment_end(assignment=later, effective_to=JUL)
    assert "must end after it starts" in message(exc)
    services.assignment_end(assignment=later, effective_to=dt.date(2026, 1, 1))
    later.refresh_from_db()
    assert later.effective_to == dt.date(2026, 1, 1)


def test_only_the_rep_acknowledges_their_own_plan_document(tenant_a, plan, draft):
    rep = tenant_a.objects["person"]
    assignment = services.assignment_save(person=rep, plan=plan, effective_from=JAN)
    with pytest.raises(ValidationError) as exc:
        services.assignment_acknowledge(assignment=assignment, user=tenant_a.users[Role.REP])
    assert message(exc) == "AE plan has no active version yet, so there is no plan document to acknowledge."

    commission(draft)
    services.version_activate(version=draft, user=tenant_a.users[Role.ADMIN])
    with pytest.raises(ValidationError) as exc:
        services.assignment_acknowledge(assignment=assignment, user=tenant_a.users[Role.ADMIN])
    assert message(exc) == "Only Ray Rep harbor can acknowledge their own plan document."

    services.assignment_acknowledge(assignment=assignment, user=tenant_a.users[Role.REP], today=dt.date(2025, 3, 1))
    assignment.refresh_from_db()
    assert assignment.acknowledged_by == tenant_a.users[Role.REP]
    assert assignment.acknowledged_version == draft and assignment.acknowledged_at is not None
    with pytest.raises(ValidationError) as exc:
        services.assignment_acknowledge(assignment=assignment, user=tenant_a.users[Role.REP])
    assert message(exc).startswith("You already acknowledged AE plan v1 on ")

    # A change of terms asks for a new acknowledgment.
    services.assignment_save(person=rep, plan=plan, effective_from=JAN, quota_amount=D("90000"), assignment=assignment)
    assignment.refresh_from_db()
    assert assignment.acknowledged_at is None and assignment.acknowledged_version is None


def test_the_document_shows_the_version_in_force(tenant_a, plan, draft):
    user = tenant_a.users[Role.ADMIN]
    commission(draft)
    services.version_activate(version=draft, user=user)
    v2 = services.version_create(plan=plan, effective_from=JUL, copy_from=draft)
    services.version_activate(version=v2, user=user)
    a = services.assignment_save(person=tenant_a.objects["person"], plan=plan, effective_from=JAN)
    assert reads.document_version(a, today=dt.date(2025, 3, 1)) == draft
    assert reads.document_version(a, today=dt.date(2025, 8, 1)) == v2
    future = PlanAssignment(plan=plan, effective_from=dt.date(2025, 9, 1))
    assert reads.document_version(future, today=dt.date(2025, 3, 1)) == v2  # not started: its first day


# -- credit rules ----------------------------------------------------------------------------------

def test_credit_rules_are_one_per_kind_level_and_basis(tenant_a):
    rule = services.credit_rule_save(name="Team 10%", kind="team", share=D("0.1"), level=3)
    assert rule.level == 1  # only manager overrides have levels
    with pytest.raises(ValidationError) as exc:
        services.credit_rule_save(name="Team again", kind="team", share=D("0.2"))
    assert message(exc) == "Team 10% is already the team credit rule for every basis; change that rule instead."
    services.credit_rule_save(name="Team on referrals", kind="team", share=D("0.2"), basis="referrals")
    override = services.credit_rule_save(name="Skip-level", kind="manager_override", share=D("0.05"), level=2)
    assert override.level == 2
    with pytest.raises(ValidationError) as exc:
        services.credit_rule_save(name="Too much", kind="overlay", share=D("1.5"))
    assert "at most 1" in message(exc)
    with pytest.raises(ValidationError):
        services.credit_rule_save(name="Too far", kind="manager_override", share=D("0.05"), level=6)
    services.credit_rule_delete(rule=rule)
    assert not type(rule).objects.filter(pk=rule.pk).exists()


def test_plan_builder_writes_are_audited(tenant_a, plan, draft):
    covered(tenant_a)
    c = commission(draft, basis="tests", rate=D(3))
    services.signoff_record(component=c, user=tenant_a.users[Role.ADMIN], reason="Reviewed")
    services.credit_rule_save(name="Overlay", kind="overlay", share=D("0.1"))
    services.assignment_save(person=tenant_a.objects["person"], plan=plan, effective_from=JAN)
    models = set(AuditEvent.objects.values_list("model", flat=True))
    assert {"commissions.CompPlan", "commissions.CompPlanVersion", "commissions.Component",
            "commissions.ComplianceSignoff", "commissions.CreditRule", "commissions.PlanAssignment"} <= models


# -- the plan document's wording -------------------------------------------------------------------

def test_terms_in_plain_language(tenant_a, draft):
    marginal = commission(draft, rate_type="tiered_marginal", hurdle_pct=D("50"), cap_amount=D("10000"),
                          hold_pct=D("20"), hold_days=90, clawback_days=120,
                          tiers=[{"from": "0", "rate": "0.05"}, {"from": "100", "rate": "0.08"}])
    assert reads.component_terms(marginal) == [
        "5% of bookings credited to you; 8% on the part above 100% of quota.",
        "Nothing is paid on credit below 50% of quota.",
        "Pays at most $10,000.00 in a period.",
        "20% of each payment is held back and paid 90 days after the transaction date.",
        "If a transaction is reversed (cancelled, claim reversed or denied) within 120 days, what it paid you is "
        "taken back.",
    ]
    retro = commission(draft, name="Retro", rate_type="tiered_retro", tier_basis="amount",
                       tiers=[{"from": "0", "rate": "0.04"}, {"from": "250000", "rate": "0.055"}])
    assert reads.component_terms(retro) == [
        "4% of bookings credited to you; once the period reaches $250,000.00 credited in the period, 5.5% on "
        "everything credited in the period (the tier reached by the end of the period sets one rate for all of it)."]
    per_unit = commission(draft, name="Referrals", basis="referrals", rate=D(25))
    assert reads.component_terms(per_unit) == ["$25.00 per referral credited to you."]
    bonus = commission(draft, name="Bonus", kind="bonus", tiers=[{"from": "100", "amount": "1000"},
                                                                  {"from": "120", "amount": "2500"}])
    assert reads.component_terms(bonus) == [
        "A one-time bonus when your attainment for the period reaches 100% of quota: $1,000.00; 120% of quota: "
        "$2,500.00 (only the highest tier reached pays)."]
    spiff = commission(draft, name="Q1 SPIFF", kind="spiff", rate=D("0.02"), unit_amount=D(50), spiff_start=JAN,
                       spiff_end=dt.date(2025, 3, 31))
    assert reads.component_terms(spiff) == [
        "SPIFF for bookings dated Jan 1, 2025 to Mar 31, 2025: $50.00 per qualifying bookings transaction plus 2% of "
        "its credited amount."]


def test_plan_document_data(tenant_a, plan, draft):
    commission(draft, rate_type="tiered_marginal", tiers=[{"from": "0", "rate": "0.05"}, {"from": "100", "rate": "0.08"}])
    services.version_update(version=draft, period_cap=D("15000"))
    services.version_activate(version=draft, user=tenant_a.users[Role.ADMIN])
    rep = Person.objects.get(employee_id="R1")
    a = services.assignment_save(person=rep, plan=plan, effective_from=JAN, effective_to=dt.date(2026, 1, 1),
                                 quota_amount=D("120000"), draw_amount=D("2000"), draw_until=dt.date(2025, 6, 30))
    doc = reads.plan_document(a, today=dt.date(2025, 2, 1))
    assert doc.version == draft and doc.person == rep
    assert doc.dates_text == "From Jan 1, 2025 until Dec 31, 2025"
    assert doc.quota_text == "Your quota is $120,000.00 of bookings per period."
    assert doc.cap_text == "You earn at most $15,000.00 in a period under this plan, all components together."
    assert doc.draw_text.startswith("Recoverable draw of $2,000.00 a period until Jun 30, 2025: ")
    assert [c.terms[0] for c in doc.components] == ["5% of bookings credited to you; 8% on the part above 100% of quota."]
    assert doc.acknowledged_current is False
