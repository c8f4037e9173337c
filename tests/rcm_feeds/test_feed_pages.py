"""The Feeds page: list and export, the form (mapping per kind, errors by their fields), poll, deactivate, delete, roles."""
from __future__ import annotations

import csv
import io
import os
import re
import time
from typing import Any

import pytest
from django.urls import reverse

from rcm_feeds.models import Feed, IngestionRun
from rcm_feeds.services import feed_inbox_path, feed_save
from revops.models import Role, TenantSchedule
from revops.tenancy import tenant_context

from .x12util import SAMPLES

SAMPLE_835 = SAMPLES / "linuxforhealth/835_005010X221A1/managed-care.835"


@pytest.fixture(autouse=True)
def _storage(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RCM_INBOX_ROOT = tmp_path / "inbox"
    settings.RCM_INBOX_SETTLE_SECONDS = 0


def _feed(world: Any, **kwargs: Any) -> Feed:
    values = {"name": "Aetna 835", "kind": "x12_835", "inbox_dir": "aetna-835", **kwargs}
    with tenant_context(world.a.org):
        return feed_save(**values)


def _stored(world: Any, pk: int) -> Feed | None:
    with tenant_context(world.a.org):
        return Feed.objects.select_related("schedule").filter(pk=pk).first()


def _field_group(html: str, name: str) -> str:
    """One field's label, help, errors and input: from its label to the next field's label."""
    match = re.search(rf'<label for="id_{name}".*?(?=<label for=|</fieldset>|</form>)', html, re.S)
    assert match, f"no field group for {name}"
    return match.group(0)


def test_list_shows_kind_schedule_inbox_last_run_and_state(world: Any) -> None:
    polled = _feed(world, crontab="*/5 * * * *")
    html = world.a.client(Role.BILLING_MANAGER).get(reverse("billing_feeds")).content.decode()
    listed = world.a.objects["feed"]  # the world's 835 feed: one loaded run
    assert listed.name in html and "X12 835 remittances" in html
    assert "Loaded" in html and f"run {world.a.objects['ingestionrun'].pk}" in html
    assert "*/5 * * * *" in html and str(feed_inbox_path(polled)) in html
    assert "None (uploads only)" in html  # the world's feed has no inbox
    assert reverse("billing_feed_poll", args=[polled.pk]) in html  # polled feeds get "Poll now"
    assert reverse("billing_feed_new") in html


def test_list_exports_csv(world: Any) -> None:
    polled = _feed(world)
    response = world.a.client(Role.EXECUTIVE).get(reverse("billing_feeds") + "?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))}
    assert rows["Aetna 835"]["inbox_path"] == str(feed_inbox_path(polled))
    assert rows["Aetna 835"]["crontab"] == "*/15 * * * *" and rows["Aetna 835"]["active"] == "true"
    assert rows[world.a.objects["feed"].name]["last_run_status"] == "Loaded"
    assert not any("summit" in name.lower() for name in rows)


def test_form_is_labelled_and_starts_on_the_name(world: Any) -> None:
    client = world.a.client(Role.ADMIN)
    html = client.get(reverse("billing_feed_new")).content.decode()
    assert re.search(r'<input[^>]+name="name"[^>]+autofocus', html)
    for name in ("name", "kind", "inbox_dir", "crontab", "source_program", "is_active"):
        assert f'<label for="id_{name}"' in html, name
    assert '<option value="x12_835" selected>' in html and "map__" not in html  # the first kind: no mapping
    # A CSV kind: one input per target field, required ones marked.
    html = client.get(reverse("billing_feed_new") + "?kind=csv_claims").content.decode()
    assert '<option value="csv_claims" selected>' in html
    assert 'name="map__patient_control_number"' in html and 'name="map__facility"' in html
    group = _field_group(html, "map__charge")
    assert "(required)" in group and 'placeholder="charge"' in group
    assert "(required)" not in _field_group(html, "map__payer")


def test_changing_the_kind_redraws_the_mapping_for_it(world: Any) -> None:
    client = world.a.client(Role.ADMIN)
    url = reverse("billing_feed_new")
    ar = client.get(url, {"kind": "csv_ar", "name": "Typed so far", "map__payer": "Plan"}, HTTP_HX_REQUEST="true")
    html = ar.content.decode()
    assert html.lstrip().startswith('<form id="feed-form"') and "<html" not in html
    fields = set(re.findall(r'name="map__(\w+)"', html))
    assert fields == {"as_of", "balance", "billed_on", "patient_control_number", "payer", "payer_id", "program",
                      "facility"}
    assert 'value="Typed so far"' in html and 'value="Plan"' in html  # kept across the redraw
    x12 = client.get(url, {"kind": "x12_837"}, HTTP_HX_REQUEST="true").content.decode()
    assert "map__" not in x12 and "needs no column mapping" in x12
    assert 'name="strict_validation"' in x12  # pyx12 validation is for X12 kinds only
    assert 'name="strict_validation"' not in html


def test_create_a_csv_feed_with_its_mapping_and_schedule(world: Any) -> None:
    with tenant_context(world.a.org):
        program = world.a.objects["program"]
    response = world.a.client(Role.BILLING_MANAGER).post(reverse("billing_feed_new"), {
        "name": "EHR claim export", "kind": "csv_claims", "inbox_dir": "ehr-claims", "crontab": "0  6 * * *",
        "source_program": program.pk, "is_active": "on",
        "map__patient_control_number": "Claim ID", "map__charge": "Billed Amount", "map__payer": "",
    })
    assert response.status_code == 302 and response["Location"] == reverse("billing_feeds")
    with tenant_context(world.a.org):
        feed = Feed.objects.select_related("schedule").get(name="EHR claim export")
        assert feed.column_mapping == {"patient_control_number": "Claim ID", "charge": "Billed Amount"}
        assert feed.source_program_id == program.pk and feed.crontab == "0 6 * * *"
        assert feed.schedule.enabled and feed.schedule.kwargs == {"feed_id": feed.pk}
        assert (feed_inbox_path(feed) / "processed").is_dir()
    page = world.a.client(Role.BILLING_MANAGER).get(reverse("billing_feeds")).content.decode()
    assert "Feed EHR claim export saved." in page


def test_edit_keeps_mapping_and_fixes_the_kind_of_a_feed_with_files(world: Any) -> None:
    feed = _feed(world, name="Costs", kind="csv_costs", inbox_dir="", column_mapping={"amount": "Total"})
    client = world.a.client(Role.ADMIN)
    url = reverse("billing_feed_edit", args=[feed.pk])
    html = client.get(url).content.decode()
    assert 'value="Total"' in html and 'name="map__month"' in html
    response = client.post(url, {"name": "Costs (GL)", "kind": "csv_costs", "crontab": "*/15 * * * *",
                                 "map__amount": "Amount USD", "is_active": "on"})
    assert response.status_code == 302
    saved = _stored(world, feed.pk)
    assert saved.name == "Costs (GL)" and saved.column_mapping == {"amount": "Amount USD"}
    # The world's 835 feed received files: its kind is shown but cannot be changed.
    world_feed = world.a.objects["feed"]
    html = client.get(reverse("billing_feed_edit", args=[world_feed.pk])).content.decode()
    assert re.search(r'<select name="kind"[^>]*disabled', html) and "has received files" in html


def test_validation_errors_show_next_to_their_fields(world: Any) -> None:
    _feed(world)  # name "Aetna 835", inbox "aetna-835"
    client = world.a.client(Role.BILLING_MANAGER)
    bad = {"name": "Claims", "kind": "csv_claims", "inbox_dir": "../etc", "crontab": "every day",
           "map__charge": "Amount", "map__payer": "amount", "is_active": "on"}
    response = client.post(reverse("billing_feed_new"), bad)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Use five fields" in _field_group(html, "crontab")
    assert "already mapped to this column" in _field_group(html, "map__payer")
    assert 'value="../etc"' in html  # what was typed stays
    # Once the form is fine, the service's own checks land by their fields too.
    response = client.post(reverse("billing_feed_new"), {**bad, "crontab": "*/15 * * * *", "map__payer": ""})
    assert response.status_code == 400
    assert "plain relative folder name" in _field_group(response.content.decode(), "inbox_dir")
    taken = {"kind": "x12_835", "crontab": "*/15 * * * *"}
    response = client.post(reverse("billing_feed_new"), {**taken, "name": "Aetna 835"})
    assert "Another feed has this name." in _field_group(response.content.decode(), "name")
    response = client.post(reverse("billing_feed_new"), {**taken, "name": "Aetna (2)", "inbox_dir": "aetna-835/"})
    assert "Another feed already uses this inbox folder." in _field_group(response.content.decode(), "inbox_dir")
    with tenant_context(world.a.org):
        assert Feed.objects.filter(name="Claims").count() == 0


def test_htmx_post_swaps_the_form_with_errors_or_redirects(world: Any) -> None:
    client = world.a.client(Role.ADMIN)
    response = client.post(reverse("billing_feed_new"), {"name": "", "kind": "x12_835", "crontab": "* * * * *"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200  # htmx swaps only 2xx answers
    html = response.content.decode()
    assert html.lstrip().startswith('<form id="feed-form"') and "This field is required." in _field_group(html, "name")
    response = client.post(reverse("billing_feed_new"), {"name": "999 acks", "kind": "x12_999",
                                                         "crontab": "* * * * *"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Redirect"] == reverse("billing_feeds")


def test_delete_is_refused_for_a_feed_with_files_and_says_why(world: Any) -> None:
    feed = world.a.objects["feed"]
    client = world.a.client(Role.BILLING_MANAGER)
    url = reverse("billing_feed_delete", args=[feed.pk])
    assert "Deactivate instead" in client.get(url).content.decode()
    response = client.post(url)
    assert response.status_code == 400
    assert "has received files, which are kept with their runs: deactivate it instead" in response.content.decode()
    assert _stored(world, feed.pk) is not None


def test_delete_removes_an_unused_feed_and_its_schedule(world: Any) -> None:
    feed = _feed(world)
    schedule_id = feed.schedule_id
    response = world.a.client(Role.ADMIN).post(reverse("billing_feed_delete", args=[feed.pk]))
    assert response.status_code == 302
    assert _stored(world, feed.pk) is None
    with tenant_context(world.a.org):
        assert not TenantSchedule.objects.filter(pk=schedule_id).exists()


def test_poll_now_receives_the_inbox_files(world: Any) -> None:
    feed = _feed(world)
    inbox = feed_inbox_path(feed)
    (inbox / "remit.835").write_bytes(SAMPLE_835.read_bytes())
    old = time.time() - 60
    os.utime(inbox / "remit.835", (old, old))
    client = world.a.client(Role.BILLING_MANAGER)
    response = client.post(reverse("billing_feed_poll", args=[feed.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("billing_feeds")
    assert not (inbox / "remit.835").exists() and (inbox / "processed" / "remit.835").exists()
    with tenant_context(world.a.org):
        run = IngestionRun.objects.get(file__feed=feed)
    assert run.status == "queued"
    page = client.get(reverse("billing_feeds")).content.decode()
    assert f"1 file received from the inbox of Aetna 835: remit.835 (run {run.pk})." in page
    assert client.get(reverse("billing_feed_poll", args=[feed.pk])).status_code == 405


def test_poll_of_a_feed_without_inbox_explains(world: Any) -> None:
    feed = world.a.objects["feed"]
    client = world.a.client(Role.ADMIN)
    response = client.post(reverse("billing_feed_poll", args=[feed.pk]), {"next": "edit"})
    assert response["Location"] == reverse("billing_feed_edit", args=[feed.pk])
    assert "has no inbox folder" in client.get(response["Location"]).content.decode()


def test_deactivate_stops_polling_and_activate_resumes(world: Any) -> None:
    feed = _feed(world)
    client = world.a.client(Role.BILLING_MANAGER)
    assert client.post(reverse("billing_feed_active", args=[feed.pk])).status_code == 302
    saved = _stored(world, feed.pk)
    assert not saved.is_active and not saved.schedule.enabled
    assert "Feed Aetna 835 deactivated." in client.get(reverse("billing_feeds")).content.decode()
    client.post(reverse("billing_feed_active", args=[feed.pk]), {"active": "on"})
    saved = _stored(world, feed.pk)
    assert saved.is_active and saved.schedule.enabled


def test_executive_reads_without_controls_and_may_not_change(world: Any) -> None:
    feed = _feed(world)
    client = world.a.client(Role.EXECUTIVE)
    listing = client.get(reverse("billing_feeds"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "Aetna 835" in html and reverse("billing_feed_new") not in html and "Poll now" not in html
    form = client.get(reverse("billing_feed_edit", args=[feed.pk])).content.decode()
    assert re.search(r'<input[^>]+name="name"[^>]+disabled', form) and "Save</button>" not in form
    assert "can see feeds but not change them" in form
    for name in ("billing_feed_edit", "billing_feed_poll", "billing_feed_active", "billing_feed_delete"):
        assert client.post(reverse(name, args=[feed.pk]), {"name": "x"}).status_code == 403, name
    assert client.get(reverse("billing_feed_new")).status_code == 403
    assert _stored(world, feed.pk).name == "Aetna 835"


def test_roles_follow_the_matrix(world: Any) -> None:
    # rcm view: admin, executive, billing manager, integrator; change: all of them but the executive.
    for role in (Role.REP, Role.REVOPS_ANALYST):
        assert world.a.client(role).get(reverse("billing_feeds")).status_code == 403, role
    response = world.a.client(Role.INTEGRATOR).post(reverse("billing_feed_new"), {
        "name": "Clearinghouse 277CA", "kind": "x12_277ca", "crontab": "*/30 * * * *", "is_active": "on"})
    assert response.status_code == 302
    assert world.a.client(Role.BILLING_MANAGER).get(reverse("billing_feed_new")).status_code == 200


def test_another_organizations_feed_is_not_found(world: Any) -> None:
    feed = world.b.objects["feed"]
    client = world.a.client(Role.ADMIN)
    for name in ("billing_feed_edit", "billing_feed_poll", "billing_feed_active", "billing_feed_delete"):
        assert client.post(reverse(name, args=[feed.pk])).status_code == 404, name
    assert client.get(reverse("billing_feed_edit", args=[feed.pk])).status_code == 404
    with tenant_context(world.b.org):
        assert Feed.objects.get(pk=feed.pk).is_active


def test_dashboard_links_to_the_feeds_page(world: Any) -> None:
    html = world.a.client(Role.EXECUTIVE).get(reverse("billing_dashboard")).content.decode()
    assert f'href="{reverse("billing_feeds")}"' in html
