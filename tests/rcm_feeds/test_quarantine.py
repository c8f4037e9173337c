"""Quarantined rows and files can be fixed and re-run, or discarded; nothing is lost, nothing loads twice."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from rcm_feeds.models import Claim, ClaimPayment, IngestionRun, QuarantineItem, RunStatus
from rcm_feeds.services import ingestion_execute, quarantine_discard, quarantine_fix, quarantine_fix_file
from revops.tenancy import tenant_context

from .ingestutil import clear_rcm, load, sample

pytestmark = pytest.mark.django_db

CSV = (b"patient_control_number,charge,submitted_on\n"
       b"Q1,10.00,2024-01-05\n"
       b"Q2,ten,2024-01-05\n"           # line 3
       b"Q3,30.00,2024-13-01\n")        # line 4


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def a(world):
    with tenant_context(world.a.org):
        clear_rcm()
        yield world.a


def _items(run: IngestionRun) -> dict[int, QuarantineItem]:
    return {i.line_number: i for i in run.quarantine.all()}


def test_fixed_row_is_loaded_by_a_new_run_at_its_line(a):
    run = load(CSV, "csv_claims")
    items = _items(run)
    assert run.status == RunStatus.PARTIAL and sorted(items) == [3, 4]
    fix = quarantine_fix(item=items[3], fixed_raw="Q2,20.00,2024-01-05", user=a.users["billing_manager"])
    assert fix.status == RunStatus.LOADED and fix.file_id == run.file_id and fix.pk != run.pk
    assert fix.counts["rows_loaded"] == 1 and "Line 3 fixed" in fix.message
    claim = Claim.objects.get(patient_control_number="Q2")
    assert claim.charge == Decimal("20.00") and claim.source_position == 3 and claim.source_file_id == run.file_id
    item = QuarantineItem.objects.get(pk=items[3].pk)
    assert (item.status, item.fixed_raw, item.rerun, item.resolved_by) == \
        ("rerun", "Q2,20.00,2024-01-05", fix, a.users["billing_manager"])
    assert item.resolved_at is not None
    with pytest.raises(ValidationError, match="already fixed and re-run"):
        quarantine_fix(item=item, fixed_raw="Q2,20.00,2024-01-05")
    assert Claim.objects.filter(patient_control_number="Q2").count() == 1


def test_a_fix_that_is_still_wrong_is_refused_and_the_item_stays_open(a):
    run = load(CSV, "csv_claims")
    item = _items(run)[4]
    runs_before = IngestionRun.objects.count()
    with pytest.raises(ValidationError, match="line 4: submitted_on '2024-02-31' is not a date"):
        quarantine_fix(item=item, fixed_raw="Q3,30.00,2024-02-31")
    with pytest.raises(ValidationError, match="exactly one row"):
        quarantine_fix(item=item, fixed_raw="Q3,30.00,2024-02-01\nQ4,1,2024-02-01")
    item.refresh_from_db()
    assert item.status == "open" and not Claim.objects.filter(patient_control_number="Q3").exists()
    assert IngestionRun.objects.count() == runs_before


def test_discarded_item_is_closed_without_loading(a):
    run = load(CSV, "csv_claims")
    item = quarantine_discard(item=_items(run)[4], user=a.users["admin"], note="duplicate of Q1")
    assert (item.status, item.fixed_raw, item.resolved_by) == ("discarded", "duplicate of Q1", a.users["admin"])
    assert not Claim.objects.filter(patient_control_number="Q3").exists()
    with pytest.raises(ValidationError):
        quarantine_discard(item=item)


TERTIARY = "linuxforhealth/835_005010X221A1/tertiary-payment.835"


def test_quarantined_x12_file_is_fixed_by_a_corrected_file(a):
    run = load(sample(TERTIARY), "x12_835")
    item = run.quarantine.get()
    assert item.reason_code == "composite_missing"
    text = sample(TERTIARY).read_text()
    with pytest.raises(ValidationError, match="same file"):
        quarantine_fix(item=item, fixed_raw=text)
    corrected = text.replace("SVC*HC*24599.00*1766.50*187.50**1", "SVC*HC:24599*1766.50*187.50**1")
    queued = quarantine_fix(item=item, fixed_raw=corrected, user=a.users["billing_manager"])
    assert queued.status == RunStatus.QUEUED and queued.file_id != run.file_id and queued.job_id
    done = ingestion_execute(run=queued)
    assert done.status in (RunStatus.LOADED, RunStatus.LOADED_WITH_WARNINGS)
    payment = ClaimPayment.objects.get()
    assert (payment.patient_control_number, payment.paid) == ("0001000054", Decimal("187.50"))
    item.refresh_from_db()
    assert item.status == "rerun" and item.rerun == queued and "Corrected file" in item.fixed_raw


def test_corrected_file_can_be_uploaded_as_a_stream(a):
    run = load(sample(TERTIARY), "x12_835")
    corrected = sample(TERTIARY).read_bytes().replace(b"SVC*HC*24599.00", b"SVC*HC:24599")
    queued = quarantine_fix_file(item=run.quarantine.get(), filename="tertiary-fixed.835",
                                 stream=io.BytesIO(corrected))
    assert queued.file.filename == "tertiary-fixed.835"
    assert ingestion_execute(run=queued).status != RunStatus.QUARANTINED
    with pytest.raises(ValidationError, match="not by a file"):
        csv_run = load(CSV, "csv_claims")
        quarantine_fix_file(item=csv_run.quarantine.first(), filename="x.csv", stream=io.BytesIO(b"x"))
