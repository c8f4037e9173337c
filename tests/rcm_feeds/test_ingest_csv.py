"""CSV feeds: column mapping, good rows load while bad rows are quarantined with their line numbers."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from rcm_feeds.models import ArBalance, Claim, ClaimLine, QuarantineItem, RcmCost, RunStatus
from rcm_feeds.phi import patient_hash
from rcm_feeds.services import feed_save, ingestion_execute, ingestion_rerun
from revops.models import Payer
from revops.tenancy import tenant_context

from .ingestutil import clear_rcm, feed, load

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RCM_INBOX_ROOT = tmp_path / "inbox"


@pytest.fixture
def a(world):
    with tenant_context(world.a.org):
        clear_rcm()
        yield world.a


CLAIM_MAPPING = {"patient_control_number": "Claim #", "charge": "Billed", "submitted_on": "Sent",
                 "payer": "Insurance", "member_id": "Member", "place_of_service": "POS", "procedure_code": "Code",
                 "program": "Program"}
CLAIMS_CSV = (
    "Claim #,Billed,Sent,Insurance,Member,POS,Code,Program\r\n"                          # 1
    "C100,150.00,2024-02-01,Harbor Behavioral Health Plan,M1,52,H0035,PHP\r\n"           # 2 good
    "C101,,2024-02-01,Harbor Behavioral Health Plan,M1,52,H0035,PHP\r\n"                 # 3 no charge
    "C102,90.00,02/30/2024,Harbor Behavioral Health Plan,M2,52,H0035,\r\n"               # 4 no such date
    'C103,"12\r\n3",2024-02-02,Harbor Behavioral Health Plan,M3,52,H0035,\r\n'           # 5-6 not an amount
    'C104,"$1,234.565",02/02/2024,Harbor Behavioral Health Plan,M4,11,90837,\r\n'        # 7 good, rounded
    "C105,50,20240203,New Payer Inc,M5,11,90837,\r\n"                                    # 8 good, new payer
    "C106,20,2024-02-03,Harbor Behavioral Health Plan,M6,52,H0035,NOPE\r\n"              # 9 unknown program
    "\r\n"                                                                               # 10 blank
    "C100,150.00,2024-03-01,Harbor Behavioral Health Plan,M1,52,H0035,PHP\r\n"           # 11 resubmission
).encode()


def test_claims_csv_loads_good_rows_and_quarantines_bad_ones_by_line(a):
    run = load(CLAIMS_CSV, "csv_claims", column_mapping=CLAIM_MAPPING, filename="claims.csv")
    assert run.status == RunStatus.PARTIAL
    assert run.counts["rows_loaded"] == 4 and run.counts["rows_quarantined"] == 4
    items = QuarantineItem.objects.filter(run=run).order_by("line_number")
    assert [(i.line_number, i.reason_code, i.scope) for i in items] == [
        (3, "missing_value", "row"), (4, "bad_date", "row"), (5, "bad_number", "row"), (9, "unknown_program", "row")]
    assert items[0].reason == "line 3: charge is required"
    assert items[0].raw == "C101,,2024-02-01,Harbor Behavioral Health Plan,M1,52,H0035,PHP"
    assert items[2].raw == 'C103,"12\r\n3",2024-02-02,Harbor Behavioral Health Plan,M3,52,H0035,'
    claims = {c.source_position: c for c in Claim.objects.all()}
    assert sorted(claims) == [2, 7, 8, 11]
    assert claims[7].charge == D("1234.57") and claims[7].submitted_on == dt.date(2024, 2, 2)
    assert claims[2].program == a.objects["program"] and claims[2].payer == a.objects["payer"]
    assert claims[2].patient_hash == patient_hash("M1")
    assert claims[8].payer == Payer.objects.get(name="New Payer Inc") and claims[8].payer.payer_class == "other"
    assert claims[11].is_resubmission and claims[11].original_claim == claims[2]
    line = ClaimLine.objects.get(claim=claims[2])
    assert (line.line_number, line.procedure_code, line.charge) == (1, "H0035", D("150.00"))
    assert run.warnings.filter(code="payer_created").count() == 1


def test_headers_match_case_insensitively_and_default_to_our_field_names(a):
    data = b"PATIENT_CONTROL_NUMBER , charge,submitted_on\nX1,10,2024-01-05\n"
    run = load(data, "csv_claims")
    assert run.status == RunStatus.LOADED and Claim.objects.get().patient_control_number == "X1"


def test_referring_npi_is_kept_and_a_malformed_one_quarantines_its_row(a):
    data = (b"patient_control_number,charge,submitted_on,referring_npi\n"
            b"R1,10,2024-01-05,1234567893\n"      # line 2: kept
            b"R2,10,2024-01-05,12345\n"           # line 3: not 10 digits
            b"R3,10,2024-01-05,\n")               # line 4: none
    run = load(data, "csv_claims")
    assert dict(Claim.objects.values_list("patient_control_number", "referring_npi")) == {"R1": "1234567893", "R3": ""}
    item = QuarantineItem.objects.get(run=run)
    assert (item.line_number, item.reason_code) == (3, "bad_code") and "referring_npi" in item.reason


def test_csv_without_a_required_column_is_quarantined_whole_then_rerun_after_the_mapping_is_fixed(a):
    data = b"Claim,Amount,Date\nZ1,10.00,2024-01-05\nZ2,20.00,2024-01-06\n"
    run = load(data, "csv_claims", feed_name="Billing export")
    assert run.status == RunStatus.QUARANTINED and not Claim.objects.exists()
    item = run.quarantine.get()
    assert (item.scope, item.reason_code, item.line_number) == ("file", "missing_column", 1)
    assert "patient_control_number (column 'patient_control_number')" in item.reason
    the_feed = feed("csv_claims", "Billing export")
    feed_save(feed=the_feed, name=the_feed.name, kind="csv_claims",
              column_mapping={"patient_control_number": "Claim", "charge": "Amount", "submitted_on": "Date"})
    rerun = ingestion_execute(run=ingestion_rerun(file=run.file))
    assert rerun.status == RunStatus.LOADED and Claim.objects.count() == 2
    item.refresh_from_db()
    assert item.status == "rerun" and item.rerun == rerun
    with pytest.raises(ValidationError, match="already loaded"):
        ingestion_rerun(file=run.file)


def test_csv_that_is_not_utf8_is_quarantined_whole(a):
    data = "patient_control_number,charge,submitted_on\nÉ1,10,2024-01-05\n".encode("latin-1")
    run = load(data, "csv_claims")
    assert run.status == RunStatus.QUARANTINED
    assert run.quarantine.get().reason_code == "not_utf8" and not Claim.objects.exists()


def test_all_rows_bad_is_quarantined_and_nothing_loaded(a):
    run = load(b"patient_control_number,charge,submitted_on\nA,x,2024-01-01\nB,1,never\n", "csv_claims")
    assert run.status == RunStatus.QUARANTINED and run.quarantine.count() == 2 and not Claim.objects.exists()


def test_ar_snapshot_csv(a):
    data = (
        "as_of,balance,billed_on,patient_control_number,payer,program\n"
        "2024-03-31,1500.00,2024-01-05,C1,Harbor Behavioral Health Plan,PHP\n"
        "2024-03-31,250.50,2024-03-01,C2,Medicaid of Somewhere,\n"
        "2024-03-31,99.00,2024-04-15,C3,Harbor Behavioral Health Plan,\n"     # billed after the snapshot
    ).encode()
    run = load(data, "csv_ar")
    assert run.status == RunStatus.PARTIAL
    rows = {r.patient_control_number: r for r in ArBalance.objects.all()}
    assert set(rows) == {"C1", "C2"}
    assert rows["C1"].balance == D("1500.00") and rows["C1"].program == a.objects["program"]
    assert rows["C1"].facility == a.objects["program"].facility and rows["C1"].source_position == 2
    assert rows["C2"].payer.name == "Medicaid of Somewhere"
    item = run.quarantine.get()
    assert item.line_number == 4 and "after the snapshot" in item.reason


def test_rcm_costs_csv(a):
    data = (
        "Month,Cost type,Amount,Site\n"
        "2024-01,Billing staff,12500.00,Harbor Behavioral Main Campus\n"
        "02/2024,Clearinghouse,\"1,200.4\",\n"
        "2024-03-15,Collections,abc,\n"
        "2024-03,Software,300,Nowhere Campus\n"
    ).encode()
    run = load(data, "csv_costs", column_mapping={"month": "Month", "category": "Cost type", "amount": "Amount",
                                                 "facility": "Site"})
    costs = {c.category: c for c in RcmCost.objects.all()}
    assert set(costs) == {"Billing staff", "Clearinghouse"}
    staff = costs["Billing staff"]
    assert staff.month == dt.date(2024, 1, 1) and staff.facility == a.objects["facility"]
    assert costs["Clearinghouse"].month == dt.date(2024, 2, 1) and costs["Clearinghouse"].amount == D("1200.40")
    assert sorted(run.quarantine.values_list("line_number", "reason_code")) == [(4, "bad_number"),
                                                                                (5, "unknown_facility")]


def test_feed_mapping_is_validated(a):
    with pytest.raises(ValidationError, match="not a field"):
        feed_save(name="Bad mapping", kind="csv_costs", column_mapping={"dollars": "Amount"})
    with pytest.raises(ValidationError, match="same column"):
        feed_save(name="Bad mapping", kind="csv_costs", column_mapping={"amount": "X", "category": "x"})
