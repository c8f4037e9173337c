"""Denials: categories from the tenant's table, and open -> appealed -> overturned / written off, by dates."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from rcm_feeds.models import CarcCategory, Claim, ClaimPayment, Denial
from rcm_feeds.services import (
    carc_categories_install_defaults,
    carc_category_save,
    denial_appeal,
    denial_reopen,
    denial_write_off,
)
from rcm_feeds.x12.denials import DEFAULT_CARC_CATEGORIES
from revops.tenancy import tenant_context

from .ingestutil import clear_rcm, clm, clp, load, remittance, svc, x835, x837

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def a(world):
    with tenant_context(world.a.org):
        clear_rcm()
        CarcCategory.objects.all().delete()
        yield world.a


def denied_835(pcn: str = "D1", *, trace: str = "DENY-1", date: str = "20240301", control: int = 1) -> bytes:
    """D1 denied as a whole for missing authorization (CO-197), both lines too."""
    return x835(remittance([clp(pcn, "1", "500.00", "0.00", lines=[
        svc("H0035", "300.00", "0.00", "CO*197*300.00"), svc("90837", "200.00", "0.00", "CO*197*200.00")])],
        trace=trace, amount="0.00", date=date), control=control)


def paid_835(pcn: str = "D1", *, trace: str = "PAY-1", date: str = "20240410", control: int = 2) -> bytes:
    return x835(remittance([clp(pcn, "1", "500.00", "400.00", lines=[
        svc("H0035", "300.00", "240.00", "CO*45*60.00"), svc("90837", "200.00", "160.00", "CO*45*40.00")])],
        trace=trace, amount="400.00", date=date), control=control)


def test_categories_come_from_the_tenants_editable_table_seeded_from_the_defaults(a, world):
    assert not CarcCategory.objects.exists()
    load(denied_835(), "x12_835")
    assert CarcCategory.objects.count() == len(DEFAULT_CARC_CATEGORIES)
    assert set(Denial.objects.values_list("category", flat=True)) == {"authorization"}
    # The organization re-maps 197; later loads use its table. Another organization is untouched.
    carc_category_save(reason_code="197", category="medical_necessity", description="payer treats as necessity")
    with pytest.raises(ValidationError):
        carc_category_save(reason_code="197", category="nonsense")
    load(denied_835("D2", trace="DENY-2", control=3), "x12_835")
    assert set(Denial.objects.filter(claim_payment__patient_control_number="D2").values_list("category", flat=True)) \
        == {"medical_necessity"}
    assert carc_categories_install_defaults() == 0  # not empty: nothing re-seeded
    with tenant_context(world.b.org):
        assert not CarcCategory.objects.exists()


def test_later_remittance_paying_the_claim_overturns_claim_and_line_denials(a):
    load(x837(clm("D1", "500.00", lines=[("H0035", "300.00"), ("90837", "200.00")])), "x12_837")
    load(denied_835(), "x12_835")
    denials = Denial.objects.all()
    assert sorted(denials.values_list("level", flat=True)) == ["claim", "line", "line"]
    assert set(denials.values_list("status", flat=True)) == {"open"}
    assert set(denials.values_list("denied_on", flat=True)) == {dt.date(2024, 3, 1)}
    run = load(paid_835(), "x12_835")
    assert run.counts["denials_overturned"] == 3
    payment = ClaimPayment.objects.get(remittance__trace_number="PAY-1")
    claim_denial = Denial.objects.get(level="claim")
    assert (claim_denial.status, claim_denial.resolved_on, claim_denial.recovered_amount, claim_denial.overturned_by) \
        == ("overturned", dt.date(2024, 4, 10), D("400.00"), payment)
    recovered = dict(Denial.objects.filter(level="line").values_list("service_payment__procedure_code",
                                                                     "recovered_amount"))
    assert recovered == {"H0035": D("240.00"), "90837": D("160.00")}
    assert claim_denial.claim == Claim.objects.get()
    # Resolution time comes from the dates: 40 days.
    assert (claim_denial.resolved_on - claim_denial.denied_on).days == 40


def test_payment_loaded_before_the_denial_file_still_overturns_it(a):
    load(paid_835(), "x12_835")           # paid on 10 April, arrives first
    run = load(denied_835(), "x12_835")   # denied on 1 March, arrives late
    assert run.counts["denials_overturned"] == 3
    assert set(Denial.objects.values_list("status", flat=True)) == {"overturned"}


def test_an_earlier_payment_does_not_overturn_a_later_denial(a):
    load(paid_835(date="20240201"), "x12_835")
    load(denied_835(date="20240301"), "x12_835")
    assert set(Denial.objects.values_list("status", flat=True)) == {"open"}


def test_line_denial_is_overturned_only_by_a_payment_of_that_procedure(a):
    load(x835(remittance([clp("L1", "1", "300.00", "100.00", lines=[
        svc("90837", "100.00", "100.00"), svc("90853", "200.00", "0.00", "CO*50*200.00")])],
        trace="L-1", amount="100.00", date="20240301"), control=1), "x12_835")
    denial = Denial.objects.get()
    assert (denial.level, denial.category, denial.denied_charge) == ("line", "medical_necessity", D("200.00"))
    # A later payment of another procedure on the claim leaves it open...
    load(x835(remittance([clp("L1", "1", "100.00", "80.00", "CO*45*20.00", lines=[
        svc("90837", "100.00", "80.00", "CO*45*20.00")])], trace="L-2", amount="80.00", date="20240320"),
        control=2), "x12_835")
    denial.refresh_from_db()
    assert denial.status == "open"
    # ...the payment of the denied procedure overturns it.
    load(x835(remittance([clp("L1", "1", "200.00", "150.00", "CO*45*50.00", lines=[
        svc("90853", "200.00", "150.00", "CO*45*50.00")])], trace="L-3", amount="150.00", date="20240415"),
        control=3), "x12_835")
    denial.refresh_from_db()
    assert (denial.status, denial.recovered_amount, denial.resolved_on) == ("overturned", D("150.00"),
                                                                            dt.date(2024, 4, 15))


def test_corrected_claim_paid_later_overturns_the_originals_denial(a):
    load(x837(clm("ORIG", "500.00")), "x12_837")
    load(x835(remittance([clp("ORIG", "1", "500.00", "0.00", "CO*16*500.00", payer_claim_number="PCN-1")],
                         trace="D-ORIG", amount="0.00", date="20240301"), control=1), "x12_835")
    load(x837(clm("FIXED", "500.00", frequency="7", f8="PCN-1"), control=2, date="20240305"), "x12_837")
    load(x835(remittance([clp("FIXED", "1", "500.00", "450.00", "CO*45*50.00", payer_claim_number="PCN-2")],
                         trace="P-FIXED", amount="450.00", date="20240402"), control=2), "x12_835")
    denial = Denial.objects.get()
    assert denial.claim.patient_control_number == "ORIG"
    assert (denial.status, denial.recovered_amount, denial.resolved_on) == ("overturned", D("450.00"),
                                                                            dt.date(2024, 4, 2))


def test_appeal_then_payment_keeps_the_appeal_date(a):
    load(denied_835(), "x12_835")
    claim_denial = Denial.objects.get(level="claim")
    denial_appeal(denial=claim_denial, appealed_on=dt.date(2024, 3, 10), note="auth was on file")
    claim_denial.refresh_from_db()
    assert (claim_denial.status, claim_denial.appealed_on) == ("appealed", dt.date(2024, 3, 10))
    load(paid_835(), "x12_835")
    claim_denial.refresh_from_db()
    assert (claim_denial.status, claim_denial.appealed_on, claim_denial.resolved_on) == \
        ("overturned", dt.date(2024, 3, 10), dt.date(2024, 4, 10))
    with pytest.raises(ValidationError):
        denial_write_off(denial=claim_denial, written_off_on=dt.date(2024, 5, 1), reason="too late")


def test_write_off_records_date_and_reason_and_can_be_reopened(a):
    load(denied_835(), "x12_835")
    denial = Denial.objects.get(level="claim")
    with pytest.raises(ValidationError, match="before"):
        denial_write_off(denial=denial, written_off_on=dt.date(2024, 2, 1), reason="timely filing lost")
    with pytest.raises(ValidationError, match="Say why"):
        denial_write_off(denial=denial, written_off_on=dt.date(2024, 5, 1), reason=" ")
    denial = denial_write_off(denial=denial, written_off_on=dt.date(2024, 5, 1), reason="no authorization obtained")
    assert (denial.status, denial.resolved_on, denial.write_off_reason) == \
        ("written_off", dt.date(2024, 5, 1), "no authorization obtained")
    with pytest.raises(ValidationError):
        denial_appeal(denial=denial, appealed_on=dt.date(2024, 5, 2))
    # A written-off denial is closed: a later payment does not reopen it by itself...
    load(paid_835(), "x12_835")
    denial.refresh_from_db()
    assert denial.status == "written_off"
    # ...but a write-off entered by mistake can be reopened.
    denial = denial_reopen(denial=denial)
    assert (denial.status, denial.resolved_on, denial.write_off_reason) == ("open", None, "")


def test_appeal_before_the_denial_is_refused(a):
    load(denied_835(), "x12_835")
    with pytest.raises(ValidationError, match="before the denial date"):
        denial_appeal(denial=Denial.objects.get(level="claim"), appealed_on=dt.date(2024, 2, 28))
