"""Territory pages: plans list and creation, the workspace with its map, balance and htmx edits, the
lifecycle with its roles, the diff against the active plan, the as-of ownership lookup, exports and
the rules CSV import — on a hand-made organization whose numbers are worked out in the comments."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from revops.models import Account, AuditEvent, Person, Role
from revops.tenancy import tenant_context
from territories import services
from territories.models import AccountOwnership, AccountVolume, AssignmentRule, PlanStatus, TerritoryPlan

pytestmark = pytest.mark.django_db

JAN = dt.date(2025, 1, 1)
JUL = dt.date(2025, 7, 1)
HTMX = {"HTTP_HX_REQUEST": "true"}


def make_account(name: str, zip_code: str, revenue: str, lat: str | None = None, lon: str | None = None,
                 visits: str = "10", state: str = "TN") -> Account:
    a = Account.objects.create(name=name, zip_code=zip_code, state=state, latitude=lat and Decimal(lat),
                               longitude=lon and Decimal(lon))
    AccountVolume.objects.create(account=a, year=2025, revenue=Decimal(revenue), volume=Decimal(0),
                                 visits=Decimal(visits))
    return a


@dataclass
class Small:
    """Four accounts of 100 each: ZIP 37201 (two), 37202, 38101; T1 takes ZIP3 372 (300), T2 ZIP 38101 (100)."""

    plan: TerritoryPlan
    t1: Any
    t2: Any
    accounts: dict[str, Account]
    rep1: Person
    rep2: Person


def build_small(world: Any, name: str = "FY25") -> Small:
    """Inside organization a's context: the world's own account is deactivated to keep the sums exact."""
    Account.objects.all().update(is_active=False)
    accounts = {
        "a1": make_account("Music Row Clinic", "37201", "100", "36.160000", "-86.780000"),
        "a2": make_account("Broadway Practice", "37201", "100", "36.180000", "-86.760000"),
        "a3": make_account("Germantown Health", "37202", "100", "36.170000", "-86.790000"),
        "a4": make_account("Memphis Family", "38101", "100", "35.150000", "-90.050000"),
    }
    rep1 = world.a.objects["person"]
    rep2 = Person.objects.create(employee_id="R2", first_name="Sue", last_name="Second", role="rep",
                                 hire_date=dt.date(2022, 1, 1))
    plan = services.plan_create(name=name, effective_from=JAN, potential_basis="revenue")
    t1 = services.territory_create(plan=plan, code="T1", name="Nashville")
    t2 = services.territory_create(plan=plan, code="T2", name="Memphis")
    services.rule_save(plan=plan, territory=t1, kind="zip3", value="372")
    services.rule_save(plan=plan, territory=t2, kind="zip", value="38101")
    services.coverage_assign(territory=t1, person=rep1)
    services.coverage_assign(territory=t2, person=rep2)
    return Small(plan, t1, t2, accounts, rep1, rep2)


@pytest.fixture
def small(world):
    with tenant_context(world.a.org):
        return build_small(world)


def balance_rows(html: str) -> dict[str, tuple[int, Decimal]]:
    """Territory code -> (accounts, potential) read from the balance table ('' is the unassigned bucket)."""
    out = {}
    for code, body in re.findall(r'<tr data-territory="([^"]*)">(.*?)</tr>', html, re.S):
        accounts = re.search(r'data-col="accounts">([\d,]+)<', body).group(1)
        potential = re.search(r'data-col="potential">([\d,.]+)<', body).group(1)
        out[code] = (int(accounts.replace(",", "")), Decimal(potential.replace(",", "")))
    return out


def metric(html: str, name: str) -> str:
    return re.search(rf'data-value="{name}">([^<]*)<', html).group(1).strip()


def figure(html: str, element_id: str) -> dict[str, Any]:
    text = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S).group(1)
    return json.loads(text)


def post_htmx(client: Any, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, data, **HTMX)


# -- the plans list ----------------------------------------------------------------------------------

def test_no_plans_yet_explains_what_a_plan_is_and_offers_to_create_one(world):
    page = world.a.client(Role.REVOPS_ANALYST).get(reverse("territories_plans")).content.decode()
    assert "No territory plans yet" in page and "unassigned bucket" in page
    assert 'id="new-plan-head">Create plan' in page
    rep_page = world.a.client(Role.REP).get(reverse("territories_plans")).content.decode()
    assert "No territory plans yet" in rep_page and "Create plan" not in rep_page


def test_nav_links_the_territory_pages_for_roles_that_may_view_them(world):
    assert 'href="/territories/"' in world.a.client(Role.REP).get(reverse("home")).content.decode()
    assert 'href="/territories/"' not in world.a.client(Role.BILLING_MANAGER).get(reverse("home")).content.decode()


def test_create_plan_refuses_a_bad_range_and_a_taken_name_in_place(world):
    client = world.a.client(Role.REVOPS_ANALYST)
    bad = client.post(reverse("territories_plans"), {"name": "FY26", "effective_from": "2026-01-01",
                                                     "effective_to": "2025-01-01", "potential_basis": "revenue",
                                                     "holdout_days": "0"})
    assert bad.status_code == 400 and "The end must be after the start." in bad.content.decode()
    ok = client.post(reverse("territories_plans"), {"name": "FY26", "effective_from": "2026-01-01",
                                                    "potential_basis": "revenue", "holdout_days": "0"})
    with tenant_context(world.a.org):
        plan = TerritoryPlan.objects.get(name="FY26")
    assert ok.status_code == 302 and ok["Location"] == reverse("territories_plan", args=[plan.pk])
    taken = client.post(reverse("territories_plans"), {"name": "fy26", "effective_from": "2026-01-01",
                                                       "potential_basis": "revenue", "holdout_days": "0"})
    assert taken.status_code == 400 and "Another plan has this name." in taken.content.decode()
    # Executives read plans but do not create them.
    assert world.a.client(Role.EXECUTIVE).post(reverse("territories_plans"), {"name": "X"}).status_code == 403


def test_plans_list_shows_counts_and_cv_and_exports_csv_and_xlsx(world, small):
    client = world.a.client(Role.EXECUTIVE)
    page = client.get(reverse("territories_plans")).content.decode()
    assert "FY25" in page and "Draft (scenario)" in page
    assert "50.0%" in page  # CV: potentials 300 and 100, mean 200, sd 100
    response = client.get(reverse("territories_plans") + "?format=csv")
    assert response["Content-Type"].startswith("text/csv")
    (row,) = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert row["name"] == "FY25" and row["territories"] == "2"
    assert row["accounts_assigned"] == "4" and row["accounts_unassigned"] == "0" and row["cv"] == "0.5"
    xlsx = client.get(reverse("territories_plans") + "?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


# -- the workspace -----------------------------------------------------------------------------------

def test_workspace_shows_map_markers_per_zip_with_mean_centroids_and_the_balance(world, small):
    page = world.a.client(Role.REP).get(reverse("territories_plan", args=[small.plan.pk])).content.decode()
    fig = figure(page, "fig-map")
    assert fig["layout"]["geo"]["scope"] == "usa"
    markers = {c[0]: (lat, lon, c) for trace in fig["data"]
               for lat, lon, c in zip(trace["lat"], trace["lon"], trace["customdata"])}
    assert set(markers) == {"37201", "37202", "38101"}
    lat, lon, data = markers["37201"]
    assert (lat, lon) == (36.17, -86.77)  # the mean of its two accounts
    assert data[1:4] == ["T1", 2, 200.0]
    assert {t["name"] for t in fig["data"]} == {"T1 Nashville", "T2 Memphis"}
    assert balance_rows(page) == {"T1": (3, Decimal("300.00")), "T2": (1, Decimal("100.00")),
                                  "": (0, Decimal("0.00"))}
    assert metric(page, "cv") == "50.0%" and metric(page, "max-min") == "3.00"
    assert metric(page, "unassigned-accounts") == "0"
    balance = figure(page, "fig-balance")
    assert balance["data"][0]["y"] == [300.0, 100.0]
    band, mean_line = balance["layout"]["shapes"]
    assert (band["y0"], band["y1"], mean_line["y0"]) == pytest.approx((190.0, 210.0, 200.0))  # ±5% of 200
    assert "Balance automatically" in page
    assert 'id="move-form"' not in page  # a rep reads the plan, does not edit it


def test_moving_a_zip_with_htmx_updates_map_balance_and_metrics_in_place(world, small):
    client = world.a.client(Role.REVOPS_ANALYST)
    response = post_htmx(client, reverse("territories_plan_move", args=[small.plan.pk]), {
        "move-kind": "zip", "move-value": "37202", "move-territory": small.t2.pk, "tolerance": "10"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "ZIP code 37202 moved to T2." in html
    for section in ("ws-metrics", "ws-map", "ws-balance", "ws-rules", "ws-edit", "ws-structure", "ws-header"):
        assert re.search(rf'id="{section}"[^>]*hx-swap-oob="true"', html), section
    assert balance_rows(html) == {"T1": (2, Decimal("200.00")), "T2": (2, Decimal("200.00")),
                                  "": (0, Decimal("0.00"))}
    assert metric(html, "cv") == "0.0%" and metric(html, "max-min") == "1.00"
    assert "Within ±10.0%" in html  # the tolerance the page had travels with the edit
    markers = {c[0]: c[1] for t in figure(html, "fig-map")["data"] for c in t["customdata"]}
    assert markers["37202"] == "T2"
    with tenant_context(world.a.org):
        rule = AssignmentRule.objects.get(plan=small.plan, kind="zip", value="37202")
        assert rule.territory_id == small.t2.pk
        assert AuditEvent.objects.filter(model="territories.AssignmentRule", object_pk=str(rule.pk),
                                         action="create", actor_label__contains="harbor-revops_analyst").exists()


def test_the_tolerance_control_redraws_the_band_and_the_within_count(world, small):
    html = world.a.client(Role.REP).get(reverse("territories_plan_balance", args=[small.plan.pk]),
                                        {"tolerance": "50"}, **HTMX).content.decode()
    band, mean_line = figure(html, "fig-balance")["layout"]["shapes"]
    assert (band["y0"], band["y1"]) == pytest.approx((100.0, 300.0))  # ±50% of 200
    assert re.search(r'id="ws-metrics"[^>]*hx-swap-oob="true"', html)
    assert "Within ±50.0%" in html and "2 of 2" in html  # deviations are ±50%
    clipped = world.a.client(Role.REP).get(reverse("territories_plan_balance", args=[small.plan.pk]),
                                           {"tolerance": "90"}, **HTMX).content.decode()
    assert "Within ±50.0%" in clipped


def test_an_edit_without_htmx_redirects_back_to_the_workspace(world, small):
    client = world.a.client(Role.ADMIN)
    response = client.post(reverse("territories_plan_move", args=[small.plan.pk]), {
        "move-kind": "zip", "move-value": "37202", "move-territory": small.t2.pk})
    assert response.status_code == 302 and response["Location"] == reverse("territories_plan", args=[small.plan.pk])
    page = client.get(response["Location"]).content.decode()
    assert "ZIP code 37202 moved to T2." in page


def test_a_refused_move_shows_the_service_message_next_to_the_form(world, small):
    client = world.a.client(Role.REVOPS_ANALYST)
    response = post_htmx(client, reverse("territories_plan_move", args=[small.plan.pk]), {
        "move-kind": "zip", "move-value": "3720", "move-territory": small.t2.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Not saved: A ZIP rule takes a 5-digit ZIP code." in html
    assert re.search(r'id="ws-edit"[^>]*hx-swap-oob="true"', html)  # the form, with its error, is re-drawn
    assert not re.search(r'id="ws-map"', html)  # nothing changed: the map stays as it is
    assert 'id="id_move-value_error"' in html and 'value="3720"' in html


def test_edits_are_refused_on_an_approved_plan_with_a_clear_message(world, small):
    with tenant_context(world.a.org):
        services.plan_propose(plan=small.plan)
        services.plan_approve(plan=small.plan, user=world.a.users[Role.EXECUTIVE])
    client = world.a.client(Role.REVOPS_ANALYST)
    page = client.get(reverse("territories_plan", args=[small.plan.pk])).content.decode()
    assert "This plan is approved, so it cannot be edited" in page and 'id="move-form"' not in page
    url = reverse("territories_plan_move", args=[small.plan.pk])
    data = {"move-kind": "zip", "move-value": "37202", "move-territory": small.t2.pk}
    html = post_htmx(client, url, data).content.decode()
    assert "Plan &#x27;FY25&#x27; is approved: copy it to a new scenario to change it." in html
    plain = client.post(url, data)
    assert plain.status_code == 400 and "copy it to a new scenario" in plain.content.decode()
    with tenant_context(world.a.org):
        assert not AssignmentRule.objects.filter(plan=small.plan, value="37202").exists()


def test_split_merge_and_reassign_through_the_workspace(world, small):
    client = world.a.client(Role.REVOPS_ANALYST)
    with tenant_context(world.a.org):
        services.rule_save(plan=small.plan, territory=small.t1, kind="zip", value="37202")
        rule = AssignmentRule.objects.get(plan=small.plan, value="37202")
    html = post_htmx(client, reverse("territories_plan_split", args=[small.plan.pk]), {
        "split-territory": small.t1.pk, "split-code": "T3", "split-name": "Germantown", "split-rules": [rule.pk],
    }).content.decode()
    assert "T1 split: T3 takes 1 rule." in html
    assert balance_rows(html)["T3"] == (1, Decimal("100.00")) and balance_rows(html)["T1"] == (2, Decimal("200.00"))
    with tenant_context(world.a.org):
        t3 = small.plan.territories.get(code="T3")
    html = post_htmx(client, reverse("territories_plan_merge", args=[small.plan.pk]), {
        "merge-source": t3.pk, "merge-target": small.t2.pk}).content.decode()
    assert "T3 merged into T2." in html
    assert balance_rows(html)["T2"] == (2, Decimal("200.00")) and "T3" not in balance_rows(html)
    html = post_htmx(client, reverse("territories_plan_coverage", args=[small.plan.pk]), {
        "coverage-territory": small.t2.pk, "coverage-placeholder": "To be hired: Memphis rep",
        "coverage-role": "primary"}).content.decode()
    assert "To be hired: Memphis rep covers T2 as primary rep from 2025-01-01." in html
    both = post_htmx(client, reverse("territories_plan_coverage", args=[small.plan.pk]), {
        "coverage-territory": small.t2.pk, "coverage-role": "primary"}).content.decode()
    assert "Pick a rep or name a to-be-hired placeholder." in both


def test_rules_add_edit_and_delete(world, small):
    client = world.a.client(Role.ADMIN)
    html = post_htmx(client, reverse("territories_plan_rule_add", args=[small.plan.pk]), {
        "rule-territory": small.t2.pk, "rule-kind": "account", "rule-value": str(small.accounts["a1"].pk),
        "rule-priority": "100"}).content.decode()
    assert f"Rule added: Named account {small.accounts['a1'].pk} → T2." in html
    assert balance_rows(html)["T2"] == (2, Decimal("200.00"))  # the named account beats the ZIP3 rule
    with tenant_context(world.a.org):
        rule = AssignmentRule.objects.get(plan=small.plan, kind="account")
    edited = client.post(reverse("territories_rule_edit", args=[rule.pk]), {
        "territory": small.t1.pk, "kind": "account", "value": str(small.accounts["a1"].pk), "priority": "5"})
    assert edited.status_code == 302
    with tenant_context(world.a.org):
        rule.refresh_from_db()
        assert (rule.territory_id, rule.priority) == (small.t1.pk, 5)
    html = post_htmx(client, reverse("territories_rule_delete", args=[rule.pk]), {}).content.decode()
    assert "Rule deleted: Named account" in html
    with tenant_context(world.a.org):
        assert not AssignmentRule.objects.filter(pk=rule.pk).exists()


def test_plan_without_territories_and_organization_without_accounts_show_what_to_do(world):
    with tenant_context(world.a.org):
        Account.objects.all().update(is_active=False)
        plan = services.plan_create(name="Empty", effective_from=JAN)
    page = world.a.client(Role.REVOPS_ANALYST).get(reverse("territories_plan", args=[plan.pk])).content.decode()
    assert "This plan has no territories yet" in page
    assert "No accounts yet" in page
    assert 'id="territory-form"' in page  # the way to start


# -- lifecycle ---------------------------------------------------------------------------------------

def test_only_executives_and_admins_approve_and_activation_writes_the_history(world, small):
    analyst, executive = world.a.client(Role.REVOPS_ANALYST), world.a.client(Role.EXECUTIVE)
    url = reverse("territories_plan", args=[small.plan.pk])
    refused = post_htmx(analyst, reverse("territories_plan_approve", args=[small.plan.pk]), {})
    assert refused.status_code == 403
    early = post_htmx(executive, reverse("territories_plan_approve", args=[small.plan.pk]), {})
    assert "Only a proposed plan can be approved." in early.content.decode()
    proposed = post_htmx(analyst, reverse("territories_plan_propose", args=[small.plan.pk]), {})
    assert proposed["HX-Redirect"] == url
    page = executive.get(url).content.decode()
    assert "Approve</button>" in page
    approved = post_htmx(executive, reverse("territories_plan_approve", args=[small.plan.pk]), {})
    assert approved["HX-Redirect"] == url
    assert post_htmx(analyst, reverse("territories_plan_activate", args=[small.plan.pk]),
                     {"on": "2025-01-01"}).status_code == 403
    activated = post_htmx(executive, reverse("territories_plan_activate", args=[small.plan.pk]), {"on": "2025-01-01"})
    assert activated["HX-Redirect"] == url
    page = executive.get(url).content.decode()
    assert "Plan FY25 is active from Jan 1, 2025: 4 accounts, 0 moved." in page
    with tenant_context(world.a.org):
        small.plan.refresh_from_db()
        assert small.plan.status == PlanStatus.ACTIVE
        owners = {o.account_id: (o.territory.code, o.person_id) for o in AccountOwnership.objects.all()}
        assert owners == {small.accounts["a1"].pk: ("T1", small.rep1.pk), small.accounts["a2"].pk: ("T1", small.rep1.pk),
                          small.accounts["a3"].pk: ("T1", small.rep1.pk), small.accounts["a4"].pk: ("T2", small.rep2.pk)}


def activate(world: Any, plan: TerritoryPlan, on: dt.date) -> dict[str, int]:
    services.plan_propose(plan=plan)
    services.plan_approve(plan=plan, user=world.a.users[Role.ADMIN])
    return services.plan_activate(plan=plan, on=on)


def scenario_moving_germantown(world: Any, small: Small) -> TerritoryPlan:
    """FY25 active from Jan 1; the July scenario moves ZIP 37202 (Germantown Health, 100) from Ray to Sue."""
    activate(world, small.plan, JAN)
    july = services.plan_copy(plan=small.plan, name="FY25 H2", effective_from=JUL)
    services.plan_update(plan=july, holdout_days=30)
    services.unit_move(plan=july, kind="zip", value="37202", territory=july.territories.get(code="T2"))
    return july


def test_diff_page_shows_moves_per_rep_totals_and_disruption_and_exports_csv(world, small):
    with tenant_context(world.a.org):
        july = scenario_moving_germantown(world, small)
    client = world.a.client(Role.EXECUTIVE)
    page = client.get(reverse("territories_plan_diff", args=[july.pk])).content.decode()
    assert "FY25 H2 against FY25" in page
    assert re.search(r'data-metric="moved"><dt>Accounts moved</dt><dd>1<', page)
    assert re.search(r'data-metric="disruption"><dt>Disruption</dt><dd>25.0%<', page)  # 100 of 400
    assert "Germantown Health" in page and "T1 · Ray Rep harbor" in page and "T2 · Sue Second" in page
    moves = list(csv.DictReader(io.StringIO(client.get(
        reverse("territories_plan_diff", args=[july.pk]) + "?format=csv").content.decode("utf-8-sig"))))
    assert moves == [{"account_id": str(small.accounts["a3"].pk), "account": "Germantown Health",
                      "from_territory": "T1", "from_rep": "Ray Rep harbor", "to_territory": "T2",
                      "to_rep": "Sue Second", "potential": "100.00"}]
    reps = {r["rep"]: r for r in csv.DictReader(io.StringIO(client.get(
        reverse("territories_plan_diff", args=[july.pk]) + "?format=csv&table=reps").content.decode("utf-8-sig")))}
    assert reps["Ray Rep harbor"]["net"] == "-100.00" and reps["Sue Second"]["net"] == "100.00"
    active_page = client.get(reverse("territories_plan_diff", args=[small.plan.pk])).content.decode()
    assert "This is the active plan" in active_page


def test_ownership_lookup_answers_as_of_a_date_with_hold_outs(world, small):
    with tenant_context(world.a.org):
        july = scenario_moving_germantown(world, small)
        activate(world, july, JUL)
    client = world.a.client(Role.REP)
    url = reverse("territories_ownership")

    def owner(day: str) -> str:
        page = client.get(url, {"on": day, "q": "Germantown"}).content.decode()
        (row,) = re.findall(r'<table class="data" id="owners-table">.*?<tbody>(.*?)</tbody>', page, re.S)
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()

    assert owner("2025-06-30").startswith("Germantown Health T1 Nashville Ray Rep harbor FY25 2025-01-01 2025-07-01")
    assert owner("2025-07-15").endswith("Hold-out (kept by the previous owner)")
    assert "T2 Memphis Sue Second FY25 H2 2025-07-31" in owner("2025-07-31")
    before = client.get(url, {"on": "2024-12-31"}).content.decode()
    assert "No owner on Dec 31, 2024" in before
    exported = list(csv.DictReader(io.StringIO(client.get(url, {"on": "2025-07-31", "format": "csv"})
                                               .content.decode("utf-8-sig"))))
    assert {r["account"]: r["territory"] for r in exported} == {
        "Music Row Clinic": "T1", "Broadway Practice": "T1", "Germantown Health": "T2", "Memphis Family": "T2"}


def test_plan_export_assignments_csv(world, small):
    response = world.a.client(Role.REP).get(
        reverse("territories_plan_export", args=[small.plan.pk]) + "?table=assignments&format=csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {r["account"]: (r["territory"], r["rep"], r["potential"]) for r in rows} == {
        "Music Row Clinic": ("T1", "Ray Rep harbor", "100.00"), "Broadway Practice": ("T1", "Ray Rep harbor", "100.00"),
        "Germantown Health": ("T1", "Ray Rep harbor", "100.00"), "Memphis Family": ("T2", "Sue Second", "100.00")}


def test_rules_csv_import_page_reports_the_bad_row_by_line(world, small):
    from django.core.files.uploadedfile import SimpleUploadedFile

    text = "territory,kind,value,priority,locked\nT2,zip,37202,,\nT9,zip,37201,,\nT1,ZIP code,38101,5,yes\n"
    upload = SimpleUploadedFile("rules.csv", text.encode(), content_type="text/csv")
    response = world.a.client(Role.REVOPS_ANALYST).post(
        reverse("territories_plan_rules_import", args=[small.plan.pk]), {"file": upload})
    html = response.content.decode()
    assert response.status_code == 200
    assert "1 created, 1 updated, 1 failed" in html
    (row,) = re.findall(r'<table class="data" id="import-errors">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert re.search(r'<td class="num">3</td><td>T9</td>', row)
    assert "territory &#x27;T9&#x27; is not a territory of this plan" in row
    with tenant_context(world.a.org):
        locked = AssignmentRule.objects.get(plan=small.plan, kind="zip", value="38101")
        assert (locked.territory_id, locked.priority, locked.locked) == (small.t1.pk, 5, True)
