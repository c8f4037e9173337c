"""The RCM API: records, filters, KPIs, denial status updates, exports, tenants and roles."""
from __future__ import annotations

from tests.rcm_feeds.x12util import SAMPLES

from typing import Any

import pytest
import yaml
from django.urls import reverse

from rcm_feeds import aggregates
from rcm_feeds.models import Denial, Feed
from revops.models import Role
from revops.tenancy import tenant_context

from . import kpi_fixtures as fx


@pytest.fixture
def hand(world: Any) -> dict[str, Any]:
    with tenant_context(world.a.org):
        data = fx.hand_fixture(world.a)
        aggregates.aggregates_refresh()
    return data


def test_kpis_by_month_with_the_api_key(world: Any, hand: dict[str, Any]) -> None:
    response = world.a.api().get(reverse("api-rcm-kpi-list"), {"start": "2026-01-01", "end": "2026-03-31"})
    assert response.status_code == 200
    by_month = {row["month"]: row["values"] for row in response.json()}
    assert by_month["2026-01-01"]["clean_claim_rate"]["value"] == "60.00"
    assert by_month["2026-02-01"]["clean_claim_rate"]["change"] == "40.00"
    assert by_month["2026-03-01"]["net_days_in_ar"]["value"] == "31.30"


def test_kpis_grouped_and_filtered(world: Any, hand: dict[str, Any]) -> None:
    api = world.a.api(Role.BILLING_MANAGER)
    rows = api.get(reverse("api-rcm-kpi-list"), {"start": "2026-02-01", "end": "2026-02-28",
                                                 "group_by": "payer_class"}).json()
    ncr = {r["group"]: r["values"]["net_collection_rate"]["value"] for r in rows}
    # Revenue-cycle cost has no payer: it lands in "unknown", which has no collections.
    assert ncr == {"commercial": "100.00", "medicaid": "8.70", "unknown": None}
    rows = api.get(reverse("api-rcm-kpi-list"), {"start": "2026-01-01", "end": "2026-01-31",
                                                 "payer": hand["p2"].pk}).json()
    assert rows[0]["values"]["initial_denial_rate"]["value"] == "50.00"


def test_kpis_need_a_period_and_refuse_other_organizations_payers(world: Any, hand: dict[str, Any]) -> None:
    api = world.a.api()
    assert api.get(reverse("api-rcm-kpi-list")).status_code == 400
    foreign = world.b.objects["payer"].pk
    response = api.get(reverse("api-rcm-kpi-list"), {"start": "2026-01-01", "end": "2026-03-01", "payer": foreign})
    assert response.status_code == 400


def test_payer_mix_and_definitions(world: Any, hand: dict[str, Any]) -> None:
    api = world.a.api()
    mix = api.get(reverse("api-rcm-kpi-payer-mix"), {"start": "2026-01-01", "end": "2026-01-31"}).json()
    assert {r["group"]: r["values"]["payer_mix"]["value"] for r in mix} == {"commercial": "50.00", "medicaid": "50.00"}
    definitions = {d["key"]: d for d in api.get(reverse("api-rcm-kpi-definitions")).json()}
    assert definitions["net_collection_rate"]["reference"] == "95.00"
    assert "payer_mix" in definitions


def test_claims_filter_by_denial_category_and_export_csv(world: Any, hand: dict[str, Any]) -> None:
    api = world.a.api()
    response = api.get(reverse("api-rcm-claim-list"), {"denial_category": "authorization",
                                                       "submitted_from": "2026-01-01"})
    assert [c["patient_control_number"] for c in response.json()["results"]] == [hand["c3"].patient_control_number]
    csv = api.get(reverse("api-rcm-claim-list"), {"format": "csv", "submitted_from": "2026-01-01"})
    assert csv.status_code == 200 and hand["c1"].patient_control_number in csv.content.decode()


def test_remittances_adjustments_runs_quarantine_feeds_list(world: Any, hand: dict[str, Any]) -> None:
    api = world.a.api()
    remits = api.get(reverse("api-rcm-remittance-list"), {"paid_from": "2026-02-01"}).json()["results"]
    assert sorted(r["claim_count"] for r in remits) == [4, 4]
    adjustments = api.get(reverse("api-rcm-adjustment-list"), {"claim": hand["c3"].pk}).json()["results"]
    assert sorted(a["reason_code"] for a in adjustments) == ["197", "45"]
    for name in ("api-rcm-run-list", "api-rcm-quarantine-list", "api-rcm-feed-list"):
        assert api.get(reverse(name)).json()["count"] >= 1


def test_denial_appeal_then_write_off(world: Any, hand: dict[str, Any]) -> None:
    with tenant_context(world.a.org):
        denial = Denial.objects.get(claim_payment__claim=world.a.objects["claim"])
    api = world.a.api(Role.BILLING_MANAGER)
    url = reverse("api-rcm-denial-appeal", kwargs={"pk": denial.pk})
    response = api.post(url, {"appealed_on": "2024-07-20", "note": "Auth on file"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "appealed"
    bad = api.post(reverse("api-rcm-denial-write-off", kwargs={"pk": denial.pk}),
                   {"written_off_on": "2024-07-01", "reason": "x"}, format="json")
    assert bad.status_code == 400  # before the denial and the appeal
    done = api.post(reverse("api-rcm-denial-write-off", kwargs={"pk": denial.pk}),
                    {"written_off_on": "2024-09-01", "reason": "Timely filing limit passed"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "written_off"
    listed = api.get(reverse("api-rcm-denial-list"), {"status": "written_off"}).json()["results"]
    assert denial.pk in [d["id"] for d in listed]  # with the hand fixture's written-off line denial
    assert {d["status"] for d in listed} == {"written_off"}


def test_denial_status_update_roles_and_tenants(world: Any, hand: dict[str, Any]) -> None:
    with tenant_context(world.a.org):
        denial = Denial.objects.get(claim_payment__claim=world.a.objects["claim"])
    url = reverse("api-rcm-denial-appeal", kwargs={"pk": denial.pk})
    body = {"appealed_on": "2024-07-20"}
    assert world.a.api(Role.EXECUTIVE).post(url, body, format="json").status_code == 403
    assert world.a.api(Role.REP).get(reverse("api-rcm-denial-list")).status_code == 403
    assert world.b.api().post(url, body, format="json").status_code == 404
    assert world.b.api().get(reverse("api-rcm-claim-detail", kwargs={"pk": hand["c1"].pk})).status_code == 404


SAMPLE_835 = str(SAMPLES / "linuxforhealth/835_005010X221A1/managed-care.835")


def test_file_upload_answers_run_and_job_then_duplicate(world: Any) -> None:
    feed = world.a.objects["feed"]
    api = world.a.api()
    with open(SAMPLE_835, "rb") as fh:
        first = api.post(reverse("api-rcm-file-list"), {"feed": feed.pk, "file": fh}, format="multipart")
    assert first.status_code == 202, first.content
    body = first.json()
    assert body["duplicate"] is False and body["run"] and body["job"]
    with open(SAMPLE_835, "rb") as fh:
        again = api.post(reverse("api-rcm-file-list"), {"feed": feed.pk, "file": fh}, format="multipart")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["file"] == body["file"]


def test_file_upload_refuses_another_organizations_feed_and_read_only_roles(world: Any) -> None:
    with open(SAMPLE_835, "rb") as fh:
        foreign = world.a.api().post(reverse("api-rcm-file-list"), {"feed": world.b.objects["feed"].pk, "file": fh},
                                     format="multipart")
    assert foreign.status_code == 400
    with open(SAMPLE_835, "rb") as fh:
        exec_ = world.a.api(Role.EXECUTIVE).post(reverse("api-rcm-file-list"),
                                                 {"feed": world.a.objects["feed"].pk, "file": fh}, format="multipart")
    assert exec_.status_code == 403


def test_quarantine_discard_through_the_api(world: Any) -> None:
    item = world.a.objects["quarantineitem"]
    api = world.a.api(Role.BILLING_MANAGER)
    response = api.post(reverse("api-rcm-quarantine-discard", kwargs={"pk": item.pk}), {"note": "test file"},
                        format="json")
    assert response.status_code == 200 and response.json()["status"] == "discarded"
    assert world.b.api().post(reverse("api-rcm-quarantine-discard", kwargs={"pk": item.pk}), {},
                              format="json").status_code == 404


# -- feeds: written through feed_save, polled on demand ------------------------------------------

@pytest.fixture
def inbox(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RCM_INBOX_ROOT = tmp_path / "inbox"
    settings.RCM_INBOX_SETTLE_SECONDS = 0
    return tmp_path / "inbox"


def test_feed_create_update_and_schedule(world: Any, inbox: Any) -> None:
    api = world.a.api(Role.BILLING_MANAGER)
    body = {"name": "EHR claims", "kind": "csv_claims", "inbox_dir": "ehr", "crontab": "0 6 * * *",
            "column_mapping": {"charge": "Billed", "patient_control_number": "Claim ID"},
            "source_program": world.a.objects["program"].pk}
    created = api.post(reverse("api-rcm-feed-list"), body, format="json")
    assert created.status_code == 201, created.content
    feed = created.json()
    assert feed["column_mapping"] == body["column_mapping"] and feed["is_active"] is True
    assert feed["crontab"] == "0 6 * * *" and feed["source_program"] == world.a.objects["program"].pk
    url = reverse("api-rcm-feed-detail", kwargs={"pk": feed["id"]})
    patched = api.patch(url, {"is_active": False}, format="json")
    assert patched.status_code == 200 and patched.json()["is_active"] is False
    assert patched.json()["column_mapping"] == body["column_mapping"]  # untouched settings stay
    with tenant_context(world.a.org):
        saved = Feed.objects.select_related("schedule").get(pk=feed["id"])
        assert not saved.schedule.enabled and saved.schedule.kwargs == {"feed_id": feed["id"]}
    replaced = api.put(url, {"name": "EHR claims v2", "kind": "csv_claims", "column_mapping": {}}, format="json")
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["name"] == "EHR claims v2" and replaced.json()["column_mapping"] == {}
    assert replaced.json()["inbox_dir"] == "ehr"


def test_feed_validation_errors_are_400s_by_field(world: Any, inbox: Any) -> None:
    api = world.a.api()
    url = reverse("api-rcm-feed-list")
    taken = world.a.objects["feed"].name
    cases = [
        ({"name": taken, "kind": "x12_835"}, "name", "Another feed has this name."),
        ({"name": "Remits", "kind": "x12_835", "column_mapping": {"charge": "Amount"}}, "column_mapping",
         "Only CSV feeds have a column mapping."),
        ({"name": "Costs", "kind": "csv_costs", "column_mapping": {"amount": "A", "category": "a"}},
         "column_mapping", "two fields are mapped to the same column header"),
        ({"name": "Costs", "kind": "csv_costs", "column_mapping": {"dollars": "A"}}, "column_mapping",
         "'dollars' is not a field of this feed"),
        ({"name": "Remits", "kind": "x12_835", "inbox_dir": "../other-org"}, "inbox_dir", "plain relative folder"),
        ({"name": "Remits", "kind": "x12_835", "crontab": "hourly"}, "crontab", "Use five fields"),
        ({"name": "Remits", "kind": "x12_836"}, "kind", "not a valid choice"),
        ({"name": "Remits", "kind": "x12_835", "source_program": world.b.objects["program"].pk}, "source_program",
         "does not exist"),
    ]
    for body, field, message in cases:
        response = api.post(url, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert message in " ".join(map(str, response.json()[field])), (body, response.json())
    with tenant_context(world.a.org):
        assert not Feed.objects.filter(name__in=["Remits", "Costs"]).exists()
    # A feed that received files keeps its kind.
    response = api.patch(reverse("api-rcm-feed-detail", kwargs={"pk": world.a.objects["feed"].pk}),
                         {"kind": "x12_837"}, format="json")
    assert response.status_code == 400 and "cannot change its kind" in str(response.json()["kind"])


def test_feed_delete_refused_while_it_has_files(world: Any, inbox: Any) -> None:
    api = world.a.api(Role.ADMIN)
    feed = world.a.objects["feed"]
    response = api.delete(reverse("api-rcm-feed-detail", kwargs={"pk": feed.pk}))
    assert response.status_code == 400
    assert "deactivate it instead" in str(response.json())
    with tenant_context(world.a.org):
        assert Feed.objects.filter(pk=feed.pk).exists()
    new = api.post(reverse("api-rcm-feed-list"), {"name": "Spare", "kind": "x12_999"}, format="json").json()
    assert api.delete(reverse("api-rcm-feed-detail", kwargs={"pk": new["id"]})).status_code == 204
    with tenant_context(world.a.org):
        assert not Feed.objects.filter(pk=new["id"]).exists()


def test_feed_poll_receives_inbox_files(world: Any, inbox: Any) -> None:
    api = world.a.api()
    feed = api.post(reverse("api-rcm-feed-list"), {"name": "Payer 835", "kind": "x12_835", "inbox_dir": "p835"},
                    format="json").json()
    folder = inbox / str(world.a.org.pk) / "p835"
    (folder / "remit.835").write_bytes(open(SAMPLE_835, "rb").read())
    (folder / "half.835.part").write_bytes(b"ISA")  # still being written: left alone
    url = reverse("api-rcm-feed-poll", kwargs={"pk": feed["id"]})
    response = api.post(url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["feed"] == feed["id"] and body["received"] == 1
    assert [(r["filename"], r["status"]) for r in body["runs"]] == [("remit.835", "queued")]
    assert body["runs"][0]["job"] and "remit.835" in body["detail"]
    assert (folder / "processed" / "remit.835").exists() and (folder / "half.835.part").exists()
    again = api.post(url).json()
    assert again["received"] == 0 and again["detail"] == "No new files in the inbox of Payer 835."
    no_inbox = api.post(reverse("api-rcm-feed-poll", kwargs={"pk": world.a.objects["feed"].pk})).json()
    assert no_inbox["received"] == 0 and "has no inbox folder" in no_inbox["detail"]


def test_feed_writes_follow_the_matrix_and_stay_in_the_tenant(world: Any, inbox: Any) -> None:
    feed = world.a.objects["feed"]
    detail = reverse("api-rcm-feed-detail", kwargs={"pk": feed.pk})
    poll = reverse("api-rcm-feed-poll", kwargs={"pk": feed.pk})
    executive = world.a.api(Role.EXECUTIVE)
    assert executive.get(detail).status_code == 200
    assert executive.patch(detail, {"is_active": False}, format="json").status_code == 403
    assert executive.post(poll).status_code == 403
    assert executive.post(reverse("api-rcm-feed-list"), {"name": "X", "kind": "x12_835"},
                          format="json").status_code == 403
    assert world.a.api(Role.REP).get(detail).status_code == 403
    # Integrators (API keys) may change RCM data, feeds included.
    created = world.a.api().post(reverse("api-rcm-feed-list"), {"name": "From the CRM", "kind": "x12_837"},
                                 format="json")
    assert created.status_code == 201
    other = world.b.api()
    assert other.patch(detail, {"name": "taken over"}, format="json").status_code == 404
    assert other.post(poll).status_code == 404
    assert other.delete(detail).status_code == 404
    with tenant_context(world.a.org):
        assert Feed.objects.get(pk=feed.pk).name == feed.name and Feed.objects.get(pk=feed.pk).is_active


def test_feed_writes_are_in_the_openapi_schema(tmp_path: Any) -> None:
    from django.core.management import call_command

    path = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    schema = yaml.safe_load(path.read_text())
    feeds, feed = schema["paths"]["/api/v1/rcm/feeds/"], schema["paths"]["/api/v1/rcm/feeds/{id}/"]
    assert {"get", "post"} <= set(feeds) and {"get", "put", "patch", "delete"} <= set(feed)
    assert "feed_save" in feeds["post"]["description"]
    assert "400" in feed["delete"]["responses"] and "204" in feed["delete"]["responses"]
    poll = schema["paths"]["/api/v1/rcm/feeds/{id}/poll/"]["post"]
    assert poll["summary"] == "Poll a feed's inbox now" and "requestBody" not in poll
    result = poll["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][result]["properties"]) == {"feed", "received", "runs", "detail"}
    writable = schema["components"]["schemas"]["FeedRequest"]["properties"]
    assert {"name", "kind", "inbox_dir", "crontab", "column_mapping", "source_program", "is_active"} <= set(writable)
