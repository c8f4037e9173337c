"""X12 ingestion through the real path (receive -> run -> load), figures hand-computed from the files."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from rcm_feeds.models import (
    Acknowledgment,
    Adjustment,
    Claim,
    ClaimLine,
    ClaimPayment,
    Denial,
    IngestionWarning,
    ProviderAdjustment,
    QuarantineItem,
    Remittance,
    RunStatus,
    ServicePayment,
)
from rcm_feeds.phi import patient_hash
from rcm_feeds.services import program_mapping_save
from rcm_feeds.selectors import claim_payments_effective
from revops.models import Payer, PayerClass, Program
from revops.tenancy import tenant_context

from .ingestutil import SAMPLES, clear_rcm, clm, clp, load, remittance, sample, svc, total, x835, x837

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RCM_INBOX_ROOT = tmp_path / "inbox"


@pytest.fixture
def a(world):
    with tenant_context(world.a.org):
        clear_rcm()
        yield world.a


D = Decimal

# Every sample file and the feed kind it is sent to; the tests below fix each outcome.
SAMPLE_KINDS = {
    "edi-835-parser/blue_cross_nc_sample.txt": "x12_835",
    "edi-835-parser/emedny_sample.txt": "x12_835",
    "edi-835-parser/united_healthcare_legacy_sample.txt": "x12_835",
    "imsweb/x12_277CA_accepted.txt": "x12_277ca",
    "imsweb/x12_277CA_rejected.txt": "x12_277ca",
    "imsweb/x12_999_accepted.txt": "x12_999",
    "imsweb/x12_999_rejected.txt": "x12_999",
    "imsweb/x12_many_claims.txt": "x12_837",
    "imsweb/x12_valid.txt": "x12_837",
    "imsweb/x223-test.txt": "x12_837",
    **{f"linuxforhealth/835_005010X221A1/{name}.835": "x12_835"
       for name in ("cob-contractural-adjustment", "managed-care", "medicare-part-a", "secondary-payment",
                    "tertiary-payment")},
}
# 837 samples: claims, lines, total CLM02, kind (hand-counted from the CLM/SV1/SV2 segments).
SAMPLE_837 = {
    "837_005010X222A2/demo.ambulance.example5.837": (1, 4, "766.50", "P"),
    "837_005010X222A2/demo.autoaccident.837": (1, 2, "185.00", "P"),
    "837_005010X222A2/demo.cob.2ndary.example4.837": (1, 1, "145.50", "P"),
    "837_005010X222A2/demo.cob.example3.A.837": (1, 3, "79.04", "P"),
    "837_005010X222A2/demo.cob.example3.B.837": (1, 3, "79.04", "P"),
    "837_005010X222A2/demo.cob.example3.C.837": (1, 3, "79.04", "P"),
    "837_005010X222A2/demo.cob.example4.837": (1, 1, "120.00", "P"),
    "837_005010X222A2/demo.drug.example10.1.837": (1, 2, "103.37", "P"),
    "837_005010X222A2/demo.drug.example10.2.837": (1, 6, "2232.93", "P"),
    "837_005010X222A2/demo.drug.example10.3.837": (1, 6, "2232.93", "P"),
    "837_005010X222A2/demo.example1.837": (1, 4, "100.00", "P"),
    "837_005010X222A2/demo.example11.837": (1, 2, "28.75", "P"),
    "837_005010X222A2/demo.example12.837": (1, 1, "252.71", "P"),
    "837_005010X222A2/demo.example2.837": (1, 4, "100.00", "P"),
    "837_005010X222A2/demo.example6.837": (1, 1, "145.50", "P"),
    "837_005010X222A2/demo.example7.837": (1, 2, "520.24", "P"),
    "837_005010X222A2/demo.example8.837": (1, 1, "75.00", "P"),
    "837_005010X222A2/demo.example9.837": (1, 1, "827.00", "P"),
    "837_005010X223A3/institutional-claim.837i": (1, 2, "89.93", "I"),
    "837_005010X223A3/out-of-network-repriced-claim.837i": (1, 1, "14.84", "I"),
    "837_005010X223A3/ppo-repriced-claim.837i": (1, 2, "237.50", "I"),
    "837_005010X223A3/two-claims-single-provider.837i": (2, 3, "139.95", "I"),
}


def test_every_sample_file_has_an_ingestion_test():
    files = sorted(str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*")
                   if p.is_file() and p.name not in ("README.md", "LICENSE"))
    covered = set(SAMPLE_KINDS) | {f"linuxforhealth/{name}" for name in SAMPLE_837}
    assert files == sorted(covered)


# -- refused files: quarantined whole, nothing loaded ------------------------------------------------

@pytest.mark.parametrize(("relative", "code", "segment", "line", "offset", "raw"), [
    ("edi-835-parser/blue_cross_nc_sample.txt", "missing_isa", 1, 1, 0, "ST*835*1234~"),
    ("linuxforhealth/835_005010X221A1/tertiary-payment.835", "composite_missing", 20, 20, 614,
     "SVC*HC*24599.00*1766.50*187.50**1~"),
    ("imsweb/x12_999_accepted.txt", "control_number", 10, 10, 282, "IEA*1*000000001~"),
    ("imsweb/x12_many_claims.txt", "hierarchy", 27, 27, 887, "HL*2*3*22*1~"),
    ("imsweb/x12_valid.txt", "hierarchy", 27, 27, 887, "HL*2*3*22*1~"),
    ("imsweb/x223-test.txt", "line_break_in_segment", 32, 31, 960, " \nOI***Y***Y~"),
])
def test_refused_sample_is_quarantined_whole_with_reason_and_position(a, relative, code, segment, line, offset, raw):
    payers_before = Payer.objects.count()
    run = load(sample(relative), SAMPLE_KINDS[relative])
    assert run.status == RunStatus.QUARANTINED
    item = QuarantineItem.objects.get(run=run)
    assert (item.scope, item.reason_code, item.segment_number, item.line_number, item.byte_offset) == \
        ("file", code, segment, line, offset)
    assert item.raw == raw and item.status == "open"
    assert item.reason in run.message
    # Nothing of the file stays: no rows, and not even the payer the header named.
    for model in (Remittance, ClaimPayment, Claim, Acknowledgment, Denial):
        assert not model.objects.exists(), model
    assert Payer.objects.count() == payers_before


# -- 835 samples ---------------------------------------------------------------------------------------

def test_emedny_835_loads_claims_payments_and_claim_and_line_denials(a):
    run = load(sample("edi-835-parser/emedny_sample.txt"), "x12_835")
    assert run.status == RunStatus.LOADED_WITH_WARNINGS  # the unknown payer NYSDOH was created
    assert [w.code for w in run.warnings.all()] == ["payer_created"]
    remit = Remittance.objects.get()
    assert (remit.payment_amount, remit.trace_number, remit.trace_originator, remit.handling_code) == \
        (D("45.75"), "10100000000", "1000000000", "I")
    assert remit.payment_date == dt.date(2010, 1, 1) and remit.balanced
    assert remit.payer.name == "NYSDOH" and remit.payer.payer_class == PayerClass.OTHER
    payments = ClaimPayment.objects.order_by("source_position")
    assert [(p.status_code, p.charge, p.paid, p.contractual_adjustment, p.is_denied) for p in payments] == [
        ("1", D("34.25"), D("34.25"), D("0"), False),
        ("2", D("34.00"), D("0"), D("34.00"), True),
        ("2", D("34.25"), D("11.50"), D("22.75"), False),
    ]
    assert total(payments, "paid") == remit.payment_amount
    assert ServicePayment.objects.count() == 10 and Adjustment.objects.count() == 4
    assert ServicePayment.objects.filter(is_denied=True).count() == 4
    denials = Denial.objects.order_by("claim_payment__source_position", "level", "service_payment__source_position")
    assert [(d.level, d.category, d.carc_codes, d.rarc_codes, d.denied_charge) for d in denials] == [
        ("claim", "timely_filing", ["29"], [], D("34.00")),
        ("line", "timely_filing", ["29"], [], D("12.00")),
        ("line", "timely_filing", ["29"], [], D("22.00")),
        ("line", "missing_information", ["251"], ["N206"], D("2.75")),
        ("line", "missing_information", ["251"], ["N206"], D("20.00")),
    ]
    assert {d.denied_on for d in denials} == {dt.date(2010, 1, 1)} and {d.status for d in denials} == {"open"}
    assert {d.payer_id for d in denials} == {remit.payer_id}
    # Claim 3 was paid in the same remittance that denied claim 2: not an overturn.
    assert run.counts["denials"] == 5 and run.counts["denials_claim_level"] == 1


def test_member_ids_are_hashed_and_patient_names_never_stored(a):
    load(sample("edi-835-parser/emedny_sample.txt"), "x12_835")
    assert list(ClaimPayment.objects.order_by("source_position").values_list("patient_hash", flat=True)) == [
        patient_hash("LL99999L"), patient_hash("LL88888L"), patient_hash("LL77777L")]
    with connection.cursor() as cursor:
        for table in ("rcm_feeds_claimpayment", "rcm_feeds_remittance", "rcm_feeds_servicepayment",
                      "rcm_feeds_denial", "rcm_feeds_ingestionwarning"):
            cursor.execute(f"SELECT count(*) FROM {table} t WHERE t::text ILIKE %s OR t::text ILIKE %s",
                           ["%SUBMITTED LAST%", "%LL99999L%"])
            assert cursor.fetchone()[0] == 0, table


def test_united_healthcare_835_with_gt_component_separator(a):
    run = load(sample("edi-835-parser/united_healthcare_legacy_sample.txt"), "x12_835")
    remit = Remittance.objects.get()
    assert remit.payment_amount == D("349.99") and remit.production_date == dt.date(2021, 2, 1)
    assert remit.payer.payer_id == "87726" and remit.balanced
    payments = ClaimPayment.objects.all()
    assert total(payments, "charge") == D("1157.52") and total(payments, "paid") == D("349.99")
    assert total(payments, "patient_responsibility") == D("220.39")
    assert total(payments, "contractual_adjustment") == D("587.14")  # CO-45: 67.50 + 79.60 + 255.72 + 184.32
    assert ServicePayment.objects.count() == 5 and Adjustment.objects.count() == 7
    assert list(ServicePayment.objects.order_by("source_position").values_list("procedure_code", "modifiers"))[0] == \
        ("B4152", "")
    denial = Denial.objects.get()
    assert (denial.level, denial.carc_codes, denial.category, denial.denied_charge) == \
        ("line", ["45"], "other", D("184.86"))
    assert run.counts["claim_payments"] == 2


@pytest.mark.parametrize(("name", "payments", "charge", "paid", "contractual", "lines", "adjustments", "warnings"), [
    ("managed-care", 2, "2000.00", "945.00", "155.00", 2, 5, ["payer_created", "bad_date"]),
    ("medicare-part-a", 2, "226366.97", "149998.73", "76368.24", 0, 2, ["payer_created"]),
    ("secondary-payment", 2, "11075.14", "1222.00", "85.00", 2, 5,
     ["payer_created", "component_separator", "component_separator"]),
    ("cob-contractural-adjustment", 1, "541.00", "34.00", "0.00", 1, 2, ["payer_created", "component_separator"]),
])
def test_linuxforhealth_835s_balance_and_load(a, name, payments, charge, paid, contractual, lines, adjustments,
                                              warnings):
    run = load(sample(f"linuxforhealth/835_005010X221A1/{name}.835"), "x12_835")
    rows = ClaimPayment.objects.all()
    assert rows.count() == payments
    assert (total(rows, "charge"), total(rows, "paid"), total(rows, "contractual_adjustment")) == \
        (D(charge), D(paid), D(contractual))
    assert ServicePayment.objects.count() == lines and Adjustment.objects.count() == adjustments
    assert not Denial.objects.exists()
    assert sorted(w.code for w in run.warnings.all()) == sorted(warnings)
    remit = Remittance.objects.get()
    assert remit.balanced and all(rows.values_list("balanced", flat=True))
    assert remit.payment_amount == total(rows, "paid") - remit.provider_adjustment_total


def test_medicare_part_a_keeps_the_negative_plb(a):
    load(sample("linuxforhealth/835_005010X221A1/medicare-part-a.835"), "x12_835")
    plb = ProviderAdjustment.objects.get()
    assert (plb.reason_code, plb.reference, plb.amount, plb.fiscal_period_date) == \
        ("CV", "CP", D("-1.27"), dt.date(2002, 12, 31))
    remit = Remittance.objects.get()
    assert remit.provider_adjustment_total == D("-1.27") and remit.payment_amount == D("150000.00")
    assert remit.handling_code == "C"


def test_managed_care_bad_payment_date_falls_back_for_the_denial_date(a):
    run = load(sample("linuxforhealth/835_005010X221A1/managed-care.835"), "x12_835")
    remit = Remittance.objects.get()
    assert remit.payment_date is None
    warning = run.warnings.get(code="bad_date")
    assert "BPR16" in warning.message and warning.segment_number is not None


# -- 837 samples -----------------------------------------------------------------------------------------

def test_every_837_sample_loads_its_claims_and_identical_bytes_are_a_duplicate(a):
    for relative, (claims, lines, charge, kind) in SAMPLE_837.items():
        before = set(Claim.objects.values_list("pk", flat=True))
        run = load(sample(f"linuxforhealth/{relative}"), "x12_837")
        if relative.endswith("demo.example6.837"):
            # The same bytes as demo.cob.2ndary.example4.837, loaded just before.
            assert run.status == RunStatus.DUPLICATE and "Already loaded — no change" in run.message
            assert set(Claim.objects.values_list("pk", flat=True)) == before
            continue
        assert run.status in (RunStatus.LOADED, RunStatus.LOADED_WITH_WARNINGS), relative
        new = Claim.objects.exclude(pk__in=before)
        assert new.count() == claims, relative
        assert ClaimLine.objects.filter(claim__in=new).count() == lines, relative
        assert total(new, "charge") == D(charge), relative
        assert set(new.values_list("kind", flat=True)) == {kind}, relative
        # Line charges add up to the claim charge (CLM02 = sum SV102/SV203 in every sample).
        for claim in new:
            assert total(claim.lines.all(), "charge") == claim.charge, relative


def test_837_claim_fields_payer_and_hashed_subscriber(a):
    load(sample("linuxforhealth/837_005010X222A2/demo.autoaccident.837"), "x12_837")
    claim = Claim.objects.get()
    assert (claim.patient_control_number, claim.charge, claim.facility_code, claim.frequency, claim.kind) == \
        ("900000032", D("185.00"), "11", "1", "P")
    assert claim.payer.name == "HEISMAN INSURANCE COMPANY" and claim.payer.payer_id == "999888777"
    assert len(claim.patient_hash) == 64 and not claim.is_resubmission
    assert claim.transaction_reference.count("/") == 1
    assert claim.submitted_on is not None and claim.diagnoses


def test_837i_institutional_lines_keep_revenue_codes(a):
    load(sample("linuxforhealth/837_005010X223A3/two-claims-single-provider.837i"), "x12_837")
    assert Claim.objects.filter(kind="I").count() == 2
    assert all(ClaimLine.objects.values_list("revenue_code", flat=True))


# -- money that does not balance, duplicates -----------------------------------------------------------

def test_unbalanced_835_loads_with_a_warning_per_claim(a):
    data = x835(remittance([
        clp("UB1", "1", "100.00", "60.00", "CO*45*30.00"),               # 100 - 60 = 40, CAS say 30
        clp("UB2", "1", "80.00", "80.00"),                               # balances
        clp("UB3", "1", "50.00", "20.00", lines=[svc("90837", "50.00", "20.00", "CO*45*25.00")]),  # line and claim
    ], trace="UNBAL1", amount="160.00"))
    run = load(data, "x12_835")
    assert run.status == RunStatus.LOADED_WITH_WARNINGS
    codes = sorted((w.code, w.claim_reference) for w in run.warnings.exclude(code="payer_created"))
    assert codes == [("claim_unbalanced", "UB1"), ("claim_unbalanced", "UB3"), ("line_unbalanced", "UB3")]
    assert all(w.segment_number and w.line_number and w.byte_offset is not None
               for w in run.warnings.exclude(code="payer_created"))
    balanced = dict(ClaimPayment.objects.values_list("patient_control_number", "balanced"))
    assert balanced == {"UB1": False, "UB2": True, "UB3": False}
    assert not ServicePayment.objects.get().balanced
    assert not Remittance.objects.get().balanced
    assert total(ClaimPayment.objects.all(), "paid") == D("160.00")  # loaded all the same


def test_payment_that_does_not_match_the_claims_is_a_remittance_warning(a):
    run = load(x835(remittance([clp("P1", "1", "100.00", "100.00")], trace="BPRX", amount="90.00")), "x12_835")
    assert run.warnings.filter(code="payment_unbalanced").count() == 1
    assert not Remittance.objects.get().balanced and ClaimPayment.objects.get().balanced


def test_loading_the_same_file_again_is_a_no_op_that_says_so(a):
    first = load(sample("edi-835-parser/emedny_sample.txt"), "x12_835")
    again = load(sample("edi-835-parser/emedny_sample.txt"), "x12_835", filename="renamed.txt")
    assert again.status == RunStatus.DUPLICATE and again.file_id == first.file_id
    assert again.message.startswith("Already loaded — no change") and again.job_id is None
    assert ClaimPayment.objects.count() == 3 and Denial.objects.count() == 5
    # Running a settled run again does nothing either.
    from rcm_feeds.services import ingestion_execute
    assert ingestion_execute(run=first).status == first.status
    assert ClaimPayment.objects.count() == 3


def test_repeated_trn_in_a_new_file_is_skipped_with_a_warning(a):
    payment = [clp("T1", "1", "120.00", "100.00", "CO*45*20.00")]
    load(x835(remittance(payment, trace="TRACE-1", amount="100.00"), control=1), "x12_835")
    mixed = x835(remittance(payment, trace="TRACE-1", amount="100.00"),
                 remittance([clp("T2", "1", "50.00", "50.00")], trace="TRACE-2", amount="50.00"), control=2)
    run = load(mixed, "x12_835")
    assert run.status == RunStatus.LOADED_WITH_WARNINGS
    warning = run.warnings.get(code="duplicate_trace")
    assert "TRACE-1" in warning.message and "skipped" in warning.message and warning.segment_number == 3
    assert run.counts["transactions_duplicate"] == 1 and run.counts["claim_payments_skipped"] == 1
    assert sorted(ClaimPayment.objects.values_list("patient_control_number", flat=True)) == ["T1", "T2"]
    # A third file holding only the repeated trace changes nothing and says so.
    only_repeat = load(x835(remittance(payment, trace="TRACE-1", amount="100.00"), control=3), "x12_835")
    assert only_repeat.status == RunStatus.DUPLICATE and "already loaded" in only_repeat.message
    assert ClaimPayment.objects.count() == 2


def test_same_trace_number_for_another_amount_is_not_a_duplicate(a):
    load(x835(remittance([clp("A1", "1", "10.00", "10.00")], trace="T-9", amount="10.00"), control=1), "x12_835")
    run = load(x835(remittance([clp("A2", "1", "20.00", "20.00")], trace="T-9", amount="20.00"), control=2), "x12_835")
    assert not run.warnings.filter(code="duplicate_trace").exists() and Remittance.objects.count() == 2


def test_a_file_of_another_kind_is_refused_for_the_feed(a):
    run = load(sample("edi-835-parser/emedny_sample.txt"), "x12_837")
    assert run.status == RunStatus.QUARANTINED
    item = run.quarantine.get()
    assert item.reason_code == "wrong_kind" and "835 remittances" in item.reason


# -- matching remittances to claims; corrections; reversals ---------------------------------------------

def test_remittance_matches_claims_by_control_number_and_the_payers_own_claim(a):
    load(x837(clm("M1", "100.00"), clm("M2", "80.00")), "x12_837")
    # M2 also sent, later, to another payer (coordination of benefits).
    load(x837(clm("M2", "80.00", payer=("OTHER PLAN", "OTH01")), control=2, date="20240205"), "x12_837")
    load(x835(remittance([clp("M1", "1", "100.00", "90.00", "CO*45*10.00"), clp("M2", "2", "80.00", "0.00",
                                                                                 "OA*23*80.00"),
                          clp("NOPE", "1", "5.00", "5.00")], trace="MATCH", amount="90.00")), "x12_835")
    acme = Payer.objects.get(payer_id="ACME01")
    m2_acme = Claim.objects.get(patient_control_number="M2", payer=acme)
    assert not Claim.objects.filter(is_resubmission=True).exists()  # another payer: not a resubmission
    matched = dict(ClaimPayment.objects.values_list("patient_control_number", "claim_id"))
    assert matched == {"M1": Claim.objects.get(patient_control_number="M1").pk, "M2": m2_acme.pk, "NOPE": None}


def test_late_837_links_the_payments_and_denials_that_came_first(a):
    load(x835(remittance([clp("LATE1", "1", "100.00", "0.00", "CO*197*100.00")], trace="EARLY", amount="0.00")),
         "x12_835")
    denial = Denial.objects.get()
    assert denial.claim_id is None
    run = load(x837(clm("LATE1", "100.00")), "x12_837")
    claim = Claim.objects.get()
    denial.refresh_from_db()
    assert ClaimPayment.objects.get().claim_id == claim.pk and denial.claim_id == claim.pk
    assert run.counts["payments_linked_late"] == 1


def test_corrected_claim_links_to_the_original_by_payer_claim_number(a):
    load(x837(clm("ORIG1", "100.00")), "x12_837")
    load(x835(remittance([clp("ORIG1", "1", "100.00", "0.00", "CO*16*100.00", payer_claim_number="PAYER-77")],
                         trace="DEN1", amount="0.00")), "x12_835")
    load(x837(clm("NEWPCN", "100.00", frequency="7", f8="PAYER-77"), control=2, date="20240310"), "x12_837")
    original = Claim.objects.get(patient_control_number="ORIG1")
    corrected = Claim.objects.get(patient_control_number="NEWPCN")
    assert corrected.original_claim == original and corrected.is_resubmission
    assert (corrected.frequency, corrected.original_payer_claim_number) == ("7", "PAYER-77")


def test_void_and_repeat_link_by_control_number_to_the_root(a):
    load(x837(clm("REP1", "100.00")), "x12_837")
    load(x837(clm("REP1", "100.00"), control=2, date="20240210"), "x12_837")                   # plain repeat
    run = load(x837(clm("REP1", "100.00", frequency="8"), control=3, date="20240220"), "x12_837")  # void
    first, repeat, void = Claim.objects.order_by("id")
    assert first.original_claim is None and not first.is_resubmission
    assert repeat.original_claim == first and repeat.is_resubmission
    assert void.original_claim == first and void.is_resubmission and void.frequency == "8"
    assert run.counts["resubmissions"] == 1


def test_repeat_inside_one_file_links_to_the_first(a):
    load(x837(clm("SAME", "10.00"), clm("SAME", "10.00")), "x12_837")
    first, second = Claim.objects.order_by("source_position")
    assert second.original_claim == first and second.is_resubmission and not first.is_resubmission


def test_replacement_without_a_known_original_is_a_warning(a):
    run = load(x837(clm("LOST", "10.00", frequency="7", f8="NOWHERE")), "x12_837")
    assert run.warnings.filter(code="original_claim_not_found", claim_reference="LOST").exists()
    assert Claim.objects.get().is_resubmission


def test_reversal_nets_out_the_original_payment(a):
    load(x835(remittance([clp("REV1", "1", "200.00", "150.00", "CO*45*50.00", payer_claim_number="PCN-9")],
                         trace="PAY-1", amount="150.00", date="20240301"), control=1), "x12_835")
    run = load(x835(remittance([
        clp("REV1", "22", "-200.00", "-150.00", "CO*45*-50.00", payer_claim_number="PCN-9"),
        clp("REV1", "1", "200.00", "160.00", "CO*45*40.00", payer_claim_number="PCN-9"),
    ], trace="PAY-2", amount="10.00", date="20240315"), control=2), "x12_835")
    original, reversal, readjudication = ClaimPayment.objects.order_by("id")
    assert reversal.is_reversal and original.reversed_by == reversal
    assert readjudication.reversed_by is None and run.counts["reversals_linked"] == 1
    rows = ClaimPayment.objects.filter(patient_control_number="REV1")
    assert total(rows, "paid") == D("160.00") and total(rows, "contractual_adjustment") == D("40.00")
    assert list(claim_payments_effective().values_list("pk", flat=True)) == [readjudication.pk]
    assert not Denial.objects.exists()


def test_reversal_of_a_payment_never_loaded_is_kept_with_a_warning(a):
    run = load(x835(remittance([clp("GHOST", "22", "-50.00", "-50.00")], trace="REV-ONLY", amount="-50.00")),
               "x12_835")
    assert run.warnings.filter(code="reversal_unmatched", claim_reference="GHOST").exists()
    assert ClaimPayment.objects.get().is_reversal


# -- programs, Part 2, payers ---------------------------------------------------------------------------

def test_program_from_mapping_and_part2_tag_from_the_program(a):
    program = a.objects["program"]
    residential = Program.objects.create(code="RES", name="Residential SUD", level_of_care="residential",
                                         is_part2=True)
    program_mapping_save(kind="procedure", code="h0018", program=residential)
    load(x837(clm("P1", "100.00", code="H0018", pos="55"), clm("P2", "100.00", code="90837", pos="52"),
              clm("P3", "100.00", code="90837", pos="11")), "x12_837")
    by_pcn = {c.patient_control_number: c for c in Claim.objects.all()}
    assert by_pcn["P1"].program == residential and by_pcn["P1"].part2_program == residential
    assert by_pcn["P2"].program == program and by_pcn["P2"].part2_program is None  # POS 52 = the PHP program
    assert by_pcn["P2"].facility == program.facility
    assert by_pcn["P3"].program is None


def test_feed_from_a_part2_program_tags_every_row(a):
    otp = Program.objects.create(code="OTP", name="Opioid treatment", level_of_care="otp", is_part2=True)
    load(x837(clm("OTP1", "100.00", pos="58")), "x12_837", feed_name="OTP claims", source_program=otp)
    load(x835(remittance([clp("OTP1", "1", "100.00", "0.00", "CO*50*100.00")], trace="OTP-R", amount="0.00")),
         "x12_835", feed_name="OTP remits", source_program=otp)
    claim = Claim.objects.get()
    assert claim.program == otp and claim.part2_program == otp
    payment = ClaimPayment.objects.get()
    assert payment.part2_program == otp and payment.claim == claim
    assert Denial.objects.get().program == otp


def test_known_payer_is_matched_by_payer_id_then_name(a):
    payer = a.objects["payer"]  # payer_id 12345
    load(x835(remittance([clp("K1", "1", "10.00", "10.00")], trace="K", amount="10.00",
                         payer=("Another Name", "12345"))), "x12_835")
    run = load(x837(clm("K2", "10.00", payer=(payer.name.upper(), "ZZZ"))), "x12_837")
    assert Remittance.objects.get().payer == payer and Claim.objects.get().payer == payer
    assert not run.warnings.filter(code="payer_created").exists()


# -- 277CA / 999 ----------------------------------------------------------------------------------------

def test_277ca_rejection_marks_the_claim_rejected_with_its_codes(a):
    load(x837(clm("3920394930203", "199.14")), "x12_837")
    run = load(sample("imsweb/x12_277CA_rejected.txt"), "x12_277ca")
    assert run.status == RunStatus.LOADED
    ack = Acknowledgment.objects.get()
    assert (ack.kind, ack.reference, ack.accepted, ack.rejected, ack.codes) == \
        ("277ca", "3920394930203", False, True, "A7:562:85")
    assert ack.acknowledged_on == dt.date(2011, 3, 11)
    claim = Claim.objects.get()
    assert ack.claim == claim and (claim.front_end_status, claim.front_end_codes) == ("rejected", "A7:562:85")


def test_277ca_before_its_claim_is_linked_when_the_837_arrives(a):
    run = load(sample("imsweb/x12_277CA_accepted.txt"), "x12_277ca")
    assert run.warnings.filter(code="ack_unmatched").exists()
    load(x837(clm("5781", "125.00")), "x12_837")
    claim = Claim.objects.get()
    assert Acknowledgment.objects.get().claim == claim and claim.front_end_status == "accepted"


def test_999_rejection_rejects_the_claims_of_that_transaction_set(a):
    # The 999 rejects set 0028 of group 28: an 837 with those control numbers, and another one.
    load(x837(clm("S1", "10.00"), clm("S2", "20.00"), group="28", first_set=28), "x12_837")
    load(x837(clm("S3", "30.00"), group="29", control=2), "x12_837")
    run = load(sample("imsweb/x12_999_rejected.txt"), "x12_999")
    assert run.counts["claims_rejected_front_end"] == 2
    ack = Acknowledgment.objects.get()
    assert (ack.kind, ack.reference, ack.accepted, ack.rejected) == ("999", "0028", False, True)
    assert "IK5 R" in ack.codes and "IK3 NM at 17" in ack.codes
    status = dict(Claim.objects.values_list("patient_control_number", "front_end_status"))
    assert status == {"S1": "rejected", "S2": "rejected", "S3": ""}


# -- one transaction ---------------------------------------------------------------------------------------

def test_a_file_that_fails_late_leaves_nothing_behind(a):
    good = remittance([clp("F1", "1", "10.00", "10.00")], trace="FINE", amount="10.00")
    data = x835(good).replace(b"IEA*1*000000001", b"IEA*1*000000002")  # refused at the very last segment
    run = load(data, "x12_835")
    assert run.status == RunStatus.QUARANTINED and run.quarantine.get().reason_code == "control_number"
    assert not Remittance.objects.exists() and not ClaimPayment.objects.exists()
    assert not IngestionWarning.objects.exists()


def test_strict_feed_refuses_a_recovered_separator_and_what_pyx12_rejects(a):
    pytest.importorskip("pyx12")
    run = load(sample("linuxforhealth/835_005010X221A1/secondary-payment.835"), "x12_835", feed_name="strict",
               strict_validation=True)
    item = run.quarantine.get()
    assert run.status == RunStatus.QUARANTINED and item.reason_code in ("pyx12", "component_separator")
    # emedny passes pyx12 and the engine's strict mode.
    ok = load(sample("edi-835-parser/emedny_sample.txt"), "x12_835", feed_name="strict")
    assert ok.status == RunStatus.LOADED_WITH_WARNINGS and ClaimPayment.objects.count() == 3
    # managed-care: pyx12 refuses BPR16 20002316, which the engine only warns about.
    bad_date = load(sample("linuxforhealth/835_005010X221A1/managed-care.835"), "x12_835", feed_name="strict")
    refusal = bad_date.quarantine.get()
    assert refusal.reason_code == "pyx12" and "BPR16" in refusal.reason and refusal.line_number == 4
