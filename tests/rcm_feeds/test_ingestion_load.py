"""ingestion_load: receive and load a file in the calling process (commands, backfills), no job, no worker."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from django.utils import timezone

from rcm_feeds.aggregates import aggregates_refresh
from rcm_feeds.models import Claim, Denial, FileSource, IngestionRun, ReceivedFile, RunStatus
from rcm_feeds.services import denial_appeal, denial_write_off, feed_save, ingestion_load
from rcm_feeds.services.runs import JOB_KIND
from revops.models import Job
from revops.tenancy import tenant_context

from .ingestutil import clear_rcm, clm, clp, remittance, svc, x835, x837

pytestmark = pytest.mark.django_db
LOADED = (RunStatus.LOADED, RunStatus.LOADED_WITH_WARNINGS)


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RCM_INBOX_ROOT = tmp_path / "inbox"


@pytest.fixture
def a(world):
    with tenant_context(world.a.org):
        clear_rcm()
        yield world.a


def _load(feed, data: bytes, **kwargs):
    return ingestion_load(feed=feed, filename="batch.edi", stream=io.BytesIO(data), source=FileSource.INBOX, **kwargs)


def test_loads_at_once_without_a_job_and_keeps_the_arrival_time(a):
    feed = feed_save(name="Claims", kind="x12_837")
    arrived = timezone.make_aware(dt.datetime(2024, 2, 5, 19, 5))
    run = _load(feed, x837(clm("L1", "120.00"), clm("L2", "80.00")), received_at=arrived)
    # Loaded (with a warning: the test payer is not in reference data, so it was created).
    assert run.status in LOADED and run.job_id is None
    assert not Job.objects.filter(kind=JOB_KIND).exists()
    assert sorted(Claim.objects.values_list("patient_control_number", flat=True)) == ["L1", "L2"]
    assert ReceivedFile.objects.get().received_at == arrived
    assert run.started_at is not None and run.finished_at >= run.started_at


def test_the_same_bytes_again_get_a_duplicate_run_and_keep_their_first_arrival(a):
    feed = feed_save(name="Claims", kind="x12_837")
    data = x837(clm("L1", "120.00"))
    first = timezone.make_aware(dt.datetime(2024, 2, 5, 19, 5))
    _load(feed, data, received_at=first)
    again = _load(feed, data, received_at=timezone.make_aware(dt.datetime(2024, 3, 5, 19, 5)))
    assert again.status == RunStatus.DUPLICATE
    assert Claim.objects.count() == 1
    assert ReceivedFile.objects.get().received_at == first
    assert IngestionRun.objects.count() == 2


def _aggregate_months() -> list[dt.date]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT month FROM rcm_feeds_denial_resolution_monthly ORDER BY 1")
        return [row[0] for row in cursor.fetchall()]


def test_aggregates_are_left_to_the_caller_when_asked(a):
    claims = feed_save(name="Claims", kind="x12_837")
    remits = feed_save(name="ERA", kind="x12_835")
    _load(claims, x837(clm("D1", "200.00", lines=[("H0035", "200.00")])), refresh_aggregates=False)
    denied = x835(remittance([clp("D1", "1", "200.00", "0.00", "CO*197*200.00")], trace="T1", amount="0.00"))
    _load(remits, denied, refresh_aggregates=False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM rcm_feeds_kpi_monthly")
        assert cursor.fetchone()[0] == 0  # nothing refreshed yet
    denial = Denial.objects.get()
    denial_appeal(denial=denial, appealed_on=dt.date(2024, 3, 10), refresh_aggregates=False)
    denial_write_off(denial=denial, written_off_on=dt.date(2024, 4, 2), reason="Appeal upheld",
                     refresh_aggregates=False)
    assert _aggregate_months() == []
    aggregates_refresh()
    assert _aggregate_months() == [dt.date(2024, 3, 1)]  # the resolved denial's cohort month
    assert Denial.objects.get().status == "written_off"


def test_a_line_level_paid_claim_loads_without_a_job_either(a):
    remits = feed_save(name="ERA", kind="x12_835")
    run = _load(remits, x835(remittance([clp("P1", "1", "100.00", "80.00", lines=[
        svc("90837", "100.00", "80.00", "CO*45*20.00")])], trace="T2", amount="80.00")))
    assert run.status in LOADED and run.counts["claim_payments"] == 1
    assert not Job.objects.filter(kind=JOB_KIND).exists()
