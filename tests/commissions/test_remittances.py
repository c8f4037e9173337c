"""Net collected revenue from 835 remittances (commissions.services.remittances), end to end: 837 claims
naming their referral source, 835 payments, a commission run that syncs them and pays on them.

The world is tests/commissions/fixtures.py plus, on the AE plan, a 2% "Collected kicker" on net collected
revenue with a 90-day clawback. Accounts A (territory T1: Pat) and C (T2: Quinn) get NPIs.

March 2026 remittance (paid 2026-03-12), by hand:
- N1 refers from A, paid 1,000.00 -> Pat 2% = 20.00;  N2 refers from C, paid 400.00 -> Quinn 8.00;
- N3 names no referral source (300.00), N4 an NPI that is no account's (50.00): unattributed;
- N5 refers from A and is denied (paid 0.00): nothing.
Pat's March: 1,660.00 (fixtures) + 20.00 = 1,680.00. Quinn: 150.00 + 8.00 = 158.00 earned against the
$500 recoverable draw: draw paid 342.00, balance 342.00, payout 500.00.

April 2026 remittance (paid 2026-04-10): N1 reversed (CLP02 22, -1,000.00) and paid again at 900.00:
Pat's April: clawback -20.00 (inside 90 days of the original) and 18.00 on the new payment.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from commissions.models import Basis, Component, LineItem, ReversalReason, Statement, Transaction
from commissions.services import remittances, runs
from revops.models import Account
from revops.tenancy import tenant_context
from tests.commissions import fixtures
from tests.rcm_feeds.ingestutil import clear_rcm, clm, clp, load, remittance, x835, x837

pytestmark = pytest.mark.django_db
D = Decimal
NPI_A, NPI_C, NPI_NOBODY = "1000000004", "1000000012", "1999999992"


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RCM_INBOX_ROOT = tmp_path / "inbox"


@pytest.fixture
def cw(world):
    with tenant_context(world.a.org):
        clear_rcm()
        made = fixtures.build()
        Account.objects.filter(pk=made["accounts"]["A"].pk).update(npi=NPI_A)
        Account.objects.filter(pk=made["accounts"]["C"].pk).update(npi=NPI_C)
        Component.objects.create(version=made["ae"], order=5, name="Collected kicker", kind="commission",
                                 basis=Basis.NET_COLLECTED, rate=D("0.02"), clawback_days=90)
        load(x837(clm("N1", "1200.00", referring=NPI_A, date="20260302"),
                  clm("N2", "500.00", referring=NPI_C, date="20260302"),
                  clm("N3", "300.00", date="20260302"),
                  clm("N4", "60.00", referring=NPI_NOBODY, date="20260302"),
                  clm("N5", "80.00", referring=NPI_A, date="20260302"), date="20260304"), "x12_837")
        load(x835(remittance([
            clp("N1", "1", "1200.00", "1000.00", "CO*45*200.00", payer_claim_number="P-N1"),
            clp("N2", "1", "500.00", "400.00", "CO*45*100.00", payer_claim_number="P-N2"),
            clp("N3", "1", "300.00", "300.00", payer_claim_number="P-N3"),
            clp("N4", "1", "60.00", "50.00", "CO*45*10.00", payer_claim_number="P-N4"),
            clp("N5", "4", "80.00", "0.00", "CO*50*80.00", payer_claim_number="P-N5"),
        ], trace="MAR-EFT", amount="1750.00", date="20260312"), control=1, date="20260312"), "x12_835")
        yield made


def _april_reversal() -> None:
    load(x835(remittance([
        clp("N1", "22", "-1200.00", "-1000.00", "CO*45*-200.00", payer_claim_number="P-N1"),
        clp("N1", "1", "1200.00", "900.00", "CO*45*300.00", payer_claim_number="P-N1"),
    ], trace="APR-EFT", amount="-100.00", date="20260410"), control=2, date="20260410"), "x12_835")


def test_sync_attributes_payments_by_referral_source_and_counts_the_rest(cw):
    counts = remittances.remittances_sync()
    assert counts == {"payments": 5, "attributed": 2, "no_referral_source": 1, "unknown_referral_source": 1,
                      "nothing_paid": 1, "inserted": 2, "updated": 0, "unchanged": 0}
    rows = {t.account_id: (t.basis, t.transaction_date, t.amount, t.source)
            for t in Transaction.objects.filter(source=remittances.SOURCE)}
    assert rows == {
        cw["accounts"]["A"].pk: ("net_collected_revenue", dt.date(2026, 3, 12), D("1000.00"), "rcm_835"),
        cw["accounts"]["C"].pk: ("net_collected_revenue", dt.date(2026, 3, 12), D("400.00"), "rcm_835"),
    }


def test_a_second_sync_changes_nothing(cw):
    remittances.remittances_sync()
    again = remittances.remittances_sync()
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert Transaction.objects.filter(source=remittances.SOURCE).count() == 2


def test_sync_before_a_date_leaves_later_payments_out(cw):
    assert remittances.remittances_sync(before=dt.date(2026, 3, 12))["payments"] == 0
    assert remittances.remittances_sync(before=dt.date(2026, 3, 13))["attributed"] == 2


def test_reversal_links_to_the_original_with_the_claim_reversal_reason(cw):
    _april_reversal()
    remittances.remittances_sync()
    original = Transaction.objects.get(source=remittances.SOURCE, amount=D("1000.00"))
    reversal = Transaction.objects.get(source=remittances.SOURCE, amount=D("-1000.00"))
    again = Transaction.objects.get(source=remittances.SOURCE, amount=D("900.00"))
    assert reversal.reverses == original and reversal.reversal_reason == ReversalReason.CLAIM_REVERSAL
    assert again.reverses is None and reversal.transaction_date == dt.date(2026, 4, 10)


def test_the_run_syncs_and_pays_the_collected_kicker(cw):
    march = runs.period_ensure(start=fixtures.MAR)
    run = runs.run_now(period=march)
    assert run.totals["remittances"]["attributed"] == 2
    kicker = {(line.person.first_name, line.amount)
              for line in LineItem.objects.filter(run=run, component__name="Collected kicker").select_related("person")}
    assert kicker == {("Pat", D("20.00")), ("Quinn", D("8.00"))}
    got = {s.person.first_name: (s.earned, s.draw_paid, s.draw_balance, s.payout)
           for s in Statement.objects.filter(period=march).select_related("person")}
    assert got["Pat"] == (D("1680.00"), D(0), D(0), D("1680.00"))
    assert got["Quinn"] == (D("158.00"), D("342.00"), D("342.00"), D("500.00"))


def test_a_reversal_after_the_period_claws_back_in_the_next(cw):
    runs.run_now(period=runs.period_ensure(start=fixtures.MAR))
    _april_reversal()
    april = runs.period_ensure(start=fixtures.APR)
    run = runs.run_now(period=april)
    pat = cw["pat"]
    lines = sorted((line.kind, line.amount) for line in LineItem.objects.filter(
        run=run, person=pat, component__name="Collected kicker"))
    assert lines == [("clawback", D("-20.00")), ("commission", D("18.00"))]


def test_the_period_page_says_how_many_payments_were_credited(cw, world):
    from django.urls import reverse

    march = runs.period_ensure(start=fixtures.MAR)
    runs.run_now(period=march)
    client = world.a.client("revops_analyst")
    response = client.get(reverse("commissions_period", args=[march.pk]))
    text = " ".join(response.content.decode().split())
    assert "Net collected revenue from 835 remittances: 2 of 5 claim payments credited" in text
    assert "1 without a referral source on the claim, 1 whose referring NPI is no account's, 1 that paid nothing" in text


def test_a_malformed_referral_npi_is_a_warning_not_a_silent_drop(world, settings, tmp_path):
    with tenant_context(world.a.org):
        clear_rcm()
        run = load(x837(clm("BADNPI", "100.00", referring="12345", date="20260302"), date="20260304"), "x12_837")
        from rcm_feeds.models import Claim

        assert Claim.objects.get(patient_control_number="BADNPI").referring_npi == ""
        warning = run.warnings.get(code="referring_npi_invalid")
        assert warning.claim_reference == "BADNPI" and "'12345' is not 10 digits" in warning.message
