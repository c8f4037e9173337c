"""Quota pages on the hand-made world of tests/quotas/fixtures.py: the plans list and the "New plan" form, the
workbench with its htmx override edits, settings and lifecycle by role, reconciliation, attainment, a node's
history, seasonality, import and export, and the empty states.

The figures, worked out by hand (company target 1,000,000; 60% potential, 40% prior year; flat phasing):

- A1 Front Range: 0.6 x 800,000/1,000,000 + 0.4 x 180,000/200,000 = 0.84 -> 840,000; A2 Utah 0.16 -> 160,000.
- T1 Denver: 0.6 x 400,000/800,000 + 0.4 x 120,000/180,000 = 0.56667 x 840,000 = 476,000.00;
  T2 Boulder 0.43333 x 840,000 = 364,000.00; T3 Provo (A2's only leaf) 160,000.00.
- Overriding T1 at 500,000 leaves 840,000 - 500,000 = 340,000.00 for T2.
- T1's month: 476,000 / 12 = 39,666.67 (Jan-Aug; 39,666.66 Sep-Dec). Account B (potential 100,000 of T1's
  400,000: share 0.25) moves to T2 on Jul 1: relief 39,666.67 x 0.25 = 9,916.67 a month, Jul-Dec.
- T3's Nia was hired Dec 2025: ramp 25/50/75% from Dec, so Jan carries 50% and Feb 75% of 13,333.33:
  -6,666.67 and -3,333.33, 10,000.00 in all. Leaf total 1,000,000 - 10,000 = 990,000.00.
- Actuals in FY2026 (after Recompute): Pat (T1) A 10,000 + B 5,000 (before the move) = 15,000.00;
  Quinn (T2) C 8,000 + B 7,000 (after the move) + a 1,000 referral = 16,000.00; Nia (T3) D 4,000.00;
  account E (in no territory) 500.00 uncredited.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from quotas import services
from quotas.models import Quota, QuotaPlan, QuotaPlanStatus, SeasonalityProfile
from revops.models import Account, AuditEvent, Role
from revops.tenancy import tenant_context
from tests.quotas import fixtures

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
D = Decimal


@pytest.fixture
def qw(world) -> dict[str, Any]:
    """The quota world in organization a (its own account deactivated so the sums stay exact)."""
    with tenant_context(world.a.org):
        Account.objects.all().update(is_active=False)
        w = fixtures.build()
        w["nodes"] = {q.code: q for q in Quota.objects.filter(plan=w["plan"])}
    return w


def node(qw: dict[str, Any], code: str) -> Quota:
    return qw["nodes"][code]


def tree(html: str) -> dict[str, dict[str, str]]:
    """Node code -> {column: text} read from the workbench tree (numbers as printed)."""
    out = {}
    for code, body in re.findall(r'<tr data-code="([^"]+)" class="[^"]*">(.*?)</tr>', html, re.S):
        cells = dict(re.findall(r'data-col="([\w-]+)">\s*(?:<span[^>]*>)?([^<]*)<', body))
        out[code] = {k: v.strip() for k, v in cells.items()}
        value = re.search(r'name="amount" value="([^"]*)"', body)
        if value:
            out[code]["override-input"] = value.group(1)
    return out


def metric(html: str, name: str) -> str:
    return re.search(rf'data-value="{name}">([^<]*)<', html).group(1).strip()


def figure(html: str, element_id: str) -> dict[str, Any]:
    text = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S).group(1)
    return json.loads(text)


def csv_rows(response: Any) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv"), response["Content-Type"]
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def refresh(plan: QuotaPlan, world: Any) -> QuotaPlan:
    with tenant_context(world.a.org):
        return QuotaPlan.objects.get(pk=plan.pk)


# -- the plans list and the "New plan" form ----------------------------------------------------------

def test_no_quota_plans_explains_what_a_plan_is_and_where_to_start(world):
    page = world.a.client(Role.REVOPS_ANALYST).get(reverse("quotas_plans")).content.decode()
    assert "No quota plans yet" in page and "company target" in page
    # Organization a has no territory plan yet: the form would have nothing to allocate on.
    assert "create a territory plan" in page and 'name="company_target"' not in page
    rep_page = world.a.client(Role.REP).get(reverse("quotas_plans")).content.decode()
    assert "No quota plans yet" in rep_page and "New plan" not in rep_page
    assert "An analyst or an admin creates quota plans here." in rep_page


def test_new_plan_form_creates_and_allocates_a_plan_and_refuses_bad_input_in_place(world):
    client = world.a.client(Role.REVOPS_ANALYST)
    with tenant_context(world.a.org):
        Account.objects.all().update(is_active=False)
        w = fixtures.build_territories()
        services.transactions_upsert(rows=fixtures.transaction_rows(w))
    page = client.get(reverse("quotas_plans")).content.decode()
    assert 'id="new-plan-head">New plan' in page and 'value="25, 50, 75"' in page
    data = {"name": "FY26 bookings", "fiscal_year": "2026", "metric": "bookings", "custom_metric": "",
            "territory_plan": w["territory_plan"].pk, "company_target": "1,000,000", "weight_even": "0",
            "weight_potential": "60", "weight_prior_year": "30", "weight_ttm": "0", "weight_custom": "0",
            "seasonality": "", "ramp_percents": "25, 50, 75"}
    bad = client.post(reverse("quotas_plans"), data)
    assert bad.status_code == 400 and "The method weights add to 90%; they must add to 100%." in bad.content.decode()
    custom = client.post(reverse("quotas_plans"), {**data, "weight_prior_year": "40", "metric": "custom"})
    assert custom.status_code == 400 and "A custom metric needs its code" in custom.content.decode()
    not_money = client.post(reverse("quotas_plans"), {**data, "weight_prior_year": "40", "company_target": "lots"})
    assert not_money.status_code == 400 and "&#x27;lots&#x27; is not a number" in not_money.content.decode()
    ok = client.post(reverse("quotas_plans"), {**data, "weight_prior_year": "40"})
    with tenant_context(world.a.org):
        plan = QuotaPlan.objects.get(name="FY26 bookings")
        assert plan.weight_potential == D("0.6") and plan.weight_prior_year == D("0.4")
        assert plan.ramp_percents == [D(25), D(50), D(75)] and plan.effective_from == dt.date(2026, 1, 1)
    assert ok.status_code == 302 and ok["Location"] == reverse("quotas_plan", args=[plan.pk])
    rows = tree(client.get(ok["Location"]).content.decode())
    assert (rows["T1"]["annual"], rows["T2"]["annual"], rows["T3"]["annual"]) == (
        "476,000.00", "364,000.00", "160,000.00")
    taken = client.post(reverse("quotas_plans"), {**data, "weight_prior_year": "40"})
    assert taken.status_code == 400 and "A quota plan named &#x27;FY26 bookings&#x27; already exists." in \
        taken.content.decode()
    # Executives read plans but do not create them.
    assert world.a.client(Role.EXECUTIVE).post(reverse("quotas_plans"), data).status_code == 403


def test_plans_list_shows_target_leaf_total_and_attainment_and_exports(world, qw):
    client = world.a.client(Role.EXECUTIVE)
    page = client.get(reverse("quotas_plans")).content.decode()
    row = re.search(r'<tr data-plan="QW FY2026">(.*?)</tr>', page, re.S).group(1)
    assert "FY2026" in row and "Bookings" in row and "Draft" in row
    assert 'data-col="target">1,000,000.00<' in row and 'data-col="leaf-total">990,000.00<' in row
    assert "not computed" in row
    with tenant_context(world.a.org):
        services.attainment_refresh(plan=qw["plan"])
    row = re.search(r'<tr data-plan="QW FY2026">(.*?)</tr>',
                    client.get(reverse("quotas_plans")).content.decode(), re.S).group(1)
    assert ">3.5%<" in row  # 35,000 credited / 990,000 carried
    (exported,) = csv_rows(client.get(reverse("quotas_plans") + "?format=csv"))
    assert exported["name"] == "QW FY2026" and exported["company_target"] == "1000000.00"
    assert exported["leaf_total"] == "990000.00" and exported["actual"] == "35000.00"
    assert exported["attainment"] == "0.0354" and exported["metric"] == "bookings"
    xlsx = client.get(reverse("quotas_plans") + "?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


# -- the workbench -------------------------------------------------------------------------------------

def test_workbench_shows_the_tree_with_bases_allocation_ramp_relief_flags_and_months(world, qw):
    page = world.a.client(Role.REVOPS_ANALYST).get(reverse("quotas_plan", args=[qw["plan"].pk])).content.decode()
    rows = tree(page)
    assert list(rows) == ["COMPANY", "R1", "A1", "T1", "T2", "A2", "T3"]  # depth-first
    assert rows["COMPANY"]["annual"] == "1,000,000.00" and rows["COMPANY"]["amount"] == "990,000.00"
    assert rows["A1"]["annual"] == "840,000.00" and rows["A2"]["annual"] == "160,000.00"
    t1, t2, t3 = rows["T1"], rows["T2"], rows["T3"]
    assert (t1["potential"], t1["prior-year"], t1["annual"]) == ("400,000.00", "120,000.00", "476,000.00")
    assert (t2["potential"], t2["prior-year"], t2["annual"]) == ("400,000.00", "60,000.00", "364,000.00")
    assert (t3["potential"], t3["prior-year"], t3["annual"]) == ("200,000.00", "20,000.00", "160,000.00")
    # After ramp and relief: T1 476,000 - 6 x 9,916.67 = 416,499.98; T2 364,000 + 59,500.02; T3 - 10,000.
    assert (t1["amount"], t2["amount"], t3["amount"]) == ("416,499.98", "423,500.02", "150,000.00")
    assert (t1["ratio"], t2["ratio"], t3["ratio"]) == ("1.041", "1.059", "0.750")
    assert "exceeds the territory&#x27;s potential 400,000" in t1["flags"]
    assert "28% below the median 1.04" in t3["flags"]  # 0.75 / 1.04125 - 1 = -28%, past the 25% band
    # T3's 160,000 / 12 leaves 4 cents for its first four months: Jan 13,333.34 x 50% = 6,666.67 and
    # Feb 13,333.34 x 75% = 10,000.005 -> 10,000.01 (half up).
    assert (t1["m1"], t1["m7"], t1["m12"], t3["m1"], t3["m2"]) == (
        "39,666.67", "29,750.00", "29,749.99", "6,666.67", "10,000.01")
    assert 'id="show-months"' in page and 'class="num month-col"' in page
    # The override cells are inputs in forms (Enter submits) on every node but the company.
    assert page.count('class="override-form"') == 6 and 'id="override-' + str(node(qw, "T1").pk) + '"' in page
    # The fairness panel: median of (1.04125, 1.05875, 0.75), Gini of the ratios, the warnings.
    assert metric(page, "median-ratio") == "1.041" and metric(page, "gini") == "0.072"
    assert metric(page, "flagged") == "3" and metric(page, "leaf-total") == "990,000.00"
    assert "10,000.00 below the company target of 1,000,000.00" in page
    assert "2 quotas exceed what the territory&#x27;s potential can support." in page
    assert metric(page, "sums") == "every level"
    assert "No FY2025 plan of this metric is active or archived" in page
    assert 'id="settings-form"' in page and "Approve" not in page  # analysts edit, executives approve


def test_fairness_panel_shows_last_years_reps_at_a_similar_ratio(world, qw):
    """FY2025 on the same hierarchy: no 2024 history, so potential alone (T1 400,000, T2 400,000, T3 200,000 of
    1,000,000) and every ratio is 1.0 (band 100-110% of its median); nobody had a rep or a credited sale then, so
    nobody reached quota. FY2026: T1 1.04125 / median 1.04125 and T2 1.05875 / 1.04125 = 1.017 fall in that band
    (0% of 3 reps reached quota); T3 0.75 / 1.04125 = 0.72 falls in a band with nobody last year."""
    user = world.a.users[Role.EXECUTIVE]
    with tenant_context(world.a.org):
        prior = services.plan_create(name="QW FY2025", fiscal_year=2025, territory_plan=qw["territory_plan"],
                                     company_target=D("1000000"))
        services.plan_approve(plan=prior, user=user)
        services.plan_activate(plan=prior, user=user)
    page = world.a.client(Role.EXECUTIVE).get(reverse("quotas_plan", args=[qw["plan"].pk])).content.decode()
    assert "Reached quota last year at a similar ratio" in page and "QW FY2025's reps" in page
    cells = {code: re.findall(r'<td class="num">(.*?)</td>', body)
             for code, body in re.findall(r'<tr data-leaf="(\w+)">(.*?)</tr>', page, re.S)}
    assert cells["T1"][2] == '0% <span class="muted">of 3</span>' and cells["T2"][2] == cells["T1"][2]
    assert cells["T3"][2] == "—"


def test_overriding_a_node_rebalances_its_sibling_in_place(world, qw):
    client = world.a.client(Role.REVOPS_ANALYST)
    t1 = node(qw, "T1")
    response = client.post(reverse("quotas_quota_override", args=[t1.pk]), {"amount": "500,000", "action": "set"},
                           **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "T1 Denver fixed at 500,000.00; its siblings re-balanced around it." in html
    for section in ("qw-tree", "qw-fairness", "qw-header", "qw-settings"):
        assert re.search(rf'id="{section}"[^>]*hx-swap-oob="true"', html), section
    rows = tree(html)
    assert rows["T1"]["annual"] == "500,000.00" and rows["T1"]["override-input"] == "500000.00"
    assert rows["T2"]["annual"] == "340,000.00"  # 840,000 - 500,000
    assert rows["A1"]["annual"] == "840,000.00" and rows["T3"]["annual"] == "160,000.00"
    assert "Clear" in re.search(r'<tr data-code="T1".*?</tr>', html, re.S).group(0)
    with tenant_context(world.a.org):
        assert Quota.objects.get(pk=t1.pk).override == D("500000.00")
        assert AuditEvent.objects.filter(model="quotas.Quota", object_pk=str(t1.pk), action="update",
                                         actor_label__contains="harbor-revops_analyst").exists()
    # Clearing it gives T1 its share by the methods again.
    cleared = client.post(reverse("quotas_quota_override", args=[t1.pk]), {"amount": "500000", "action": "clear"},
                          **HTMX).content.decode()
    assert "override cleared" in cleared
    rows = tree(cleared)
    assert (rows["T1"]["annual"], rows["T2"]["annual"]) == ("476,000.00", "364,000.00")
    assert rows["T1"]["override-input"] == ""


def test_an_override_above_the_parents_target_is_refused_next_to_its_cell(world, qw):
    client = world.a.client(Role.REVOPS_ANALYST)
    t1 = node(qw, "T1")
    html = client.post(reverse("quotas_quota_override", args=[t1.pk]), {"amount": "900000", "action": "set"},
                       **HTMX).content.decode()
    message = "Overrides under Front Range would add to 900,000.00, more than its target of 840,000.00."
    row = re.search(r'<tr data-code="T1".*?</tr>', html, re.S).group(0)
    assert message in row and 'aria-invalid="true"' in row and 'value="900000"' in row  # what was typed stays
    assert f'<p class="bad">T1: {message}</p>' in html
    assert tree(html)["T2"]["annual"] == "364,000.00"
    not_a_number = client.post(reverse("quotas_quota_override", args=[t1.pk]), {"amount": "12k"}, **HTMX)
    assert "&#x27;12k&#x27; is not a number" in re.search(
        r'<tr data-code="T1".*?</tr>', not_a_number.content.decode(), re.S).group(0)
    negative = client.post(reverse("quotas_quota_override", args=[t1.pk]), {"amount": "-5"}, **HTMX)
    assert "An amount cannot be negative." in negative.content.decode()
    with tenant_context(world.a.org):
        assert Quota.objects.get(pk=t1.pk).override is None
    # Without htmx: the whole workbench comes back with the error (400); a good edit redirects.
    plain = client.post(reverse("quotas_quota_override", args=[t1.pk]), {"amount": "900000"})
    assert plain.status_code == 400 and message in plain.content.decode()
    ok = client.post(reverse("quotas_quota_override", args=[t1.pk]), {"amount": "500000"})
    assert ok.status_code == 302 and ok["Location"] == reverse("quotas_plan", args=[qw["plan"].pk])


def test_settings_change_the_target_and_weights_and_reallocate(world, qw):
    client = world.a.client(Role.REVOPS_ANALYST)
    url = reverse("quotas_plan_settings", args=[qw["plan"].pk])
    data = {"name": "QW FY2026", "company_target": "2,000,000", "weight_even": "0", "weight_potential": "60",
            "weight_prior_year": "40", "weight_ttm": "0", "weight_custom": "0", "seasonality": "",
            "ramp_percents": "25, 50, 75", "outlier_band": "25"}
    html = client.post(url, data, **HTMX).content.decode()
    assert "Settings of QW FY2026 saved and the plan re-allocated." in html
    rows = tree(html)
    assert (rows["T1"]["annual"], rows["T2"]["annual"], rows["T3"]["annual"]) == (
        "952,000.00", "728,000.00", "320,000.00")
    assert metric(html, "target") == "2,000,000.00"
    # Even split only: 2,000,000 / 2 areas, then A1's 1,000,000 / 2 territories.
    html = client.post(url, {**data, "weight_even": "100", "weight_potential": "0", "weight_prior_year": "0"},
                       **HTMX).content.decode()
    rows = tree(html)
    assert (rows["T1"]["annual"], rows["T2"]["annual"], rows["T3"]["annual"]) == (
        "500,000.00", "500,000.00", "1,000,000.00")
    bad = client.post(url, {**data, "weight_potential": "70"}, **HTMX).content.decode()
    assert "Settings not saved: The method weights add to 110%; they must add to 100%." in bad
    settings = re.search(r'<section id="qw-settings".*?</section>', bad, re.S).group(0)
    assert "must add to 100%" in settings and 'value="70"' in settings  # the form comes back as typed
    with tenant_context(world.a.org):
        assert QuotaPlan.objects.get(pk=qw["plan"].pk).weight_even == D("1")


def test_custom_basis_cells_appear_when_the_custom_method_has_weight_and_reallocate(world, qw):
    client = world.a.client(Role.REVOPS_ANALYST)
    plan = qw["plan"]
    assert 'class="override-form basis-form"' not in client.get(reverse("quotas_plan", args=[plan.pk])).content.decode()
    client.post(reverse("quotas_plan_settings", args=[plan.pk]), {
        "name": plan.name, "company_target": "1000000", "weight_even": "0", "weight_potential": "0",
        "weight_prior_year": "0", "weight_ttm": "0", "weight_custom": "100", "seasonality": "",
        "ramp_percents": "25, 50, 75", "outlier_band": "25"})
    page = client.get(reverse("quotas_plan", args=[plan.pk])).content.decode()
    assert page.count('class="override-form basis-form"') == 3  # the leaves
    for code, amount in (("T1", "3"), ("T2", "1"), ("T3", "4")):
        html = client.post(reverse("quotas_quota_custom_basis", args=[node(qw, code).pk]), {"amount": amount},
                           **HTMX).content.decode()
    # A1 = T1 + T2 = 4 against A2 = T3 = 4: 500,000 each; T1 3/4 and T2 1/4 of A1's.
    assert "T3 Provo: custom basis 4.00; the tree re-allocated." in html
    rows = tree(html)
    assert (rows["A1"]["annual"], rows["T1"]["annual"], rows["T2"]["annual"], rows["T3"]["annual"]) == (
        "500,000.00", "375,000.00", "125,000.00", "500,000.00")
    refused = client.post(reverse("quotas_quota_custom_basis", args=[node(qw, "A1").pk]), {"amount": "9"},
                          **HTMX).content.decode()
    assert "A1: The custom field is entered on leaf territories; parents are their sums." in refused


def test_executives_read_and_approve_but_do_not_edit_and_analysts_return_to_draft(world, qw):
    plan = qw["plan"]
    executive, analyst, rep = (world.a.client(r) for r in (Role.EXECUTIVE, Role.REVOPS_ANALYST, Role.REP))
    page = executive.get(reverse("quotas_plan", args=[plan.pk])).content.decode()
    assert tree(page)["T1"]["annual"] == "476,000.00"
    assert 'class="override-form"' not in page and 'id="settings-form"' not in page
    assert "you can approve it" in page and ">Approve</button>" in page
    t1 = node(qw, "T1")
    assert executive.post(reverse("quotas_quota_override", args=[t1.pk]), {"amount": "1"}).status_code == 403
    assert executive.post(reverse("quotas_plan_settings", args=[plan.pk]), {}).status_code == 403
    assert analyst.post(reverse("quotas_plan_approve", args=[plan.pk])).status_code == 403
    assert rep.post(reverse("quotas_plan_approve", args=[plan.pk])).status_code == 403
    assert ">Approve</button>" not in rep.get(reverse("quotas_plan", args=[plan.pk])).content.decode()

    approved = executive.post(reverse("quotas_plan_approve", args=[plan.pk]), **HTMX)
    assert approved.status_code == 200 and approved["HX-Redirect"] == reverse("quotas_plan", args=[plan.pk])
    assert refresh(plan, world).status == QuotaPlanStatus.APPROVED
    # An approved plan is fixed: no override cells, even for analysts, and the service's refusal shows.
    page = analyst.get(reverse("quotas_plan", args=[plan.pk])).content.decode()
    assert 'class="override-form"' not in page and "return it to draft to change them" in page
    refused = analyst.post(reverse("quotas_quota_override", args=[t1.pk]), {"amount": "1"}, **HTMX).content.decode()
    assert "only a draft can be changed" in refused
    again = executive.post(reverse("quotas_plan_approve", args=[plan.pk]), **HTMX)
    assert "Only a draft can be approved." in again.content.decode()

    analyst.post(reverse("quotas_plan_return", args=[plan.pk]))
    assert refresh(plan, world).status == QuotaPlanStatus.DRAFT
    executive.post(reverse("quotas_plan_approve", args=[plan.pk]))
    activated = executive.post(reverse("quotas_plan_activate", args=[plan.pk]))
    assert activated.status_code == 302
    plan = refresh(plan, world)
    assert plan.status == QuotaPlanStatus.ACTIVE and plan.attainment_summary["credited"] == "35000.00"
    assert "is the active bookings plan for FY2026" in executive.get(activated["Location"]).content.decode()
    # The active plan cannot be deleted.
    deleted = analyst.post(reverse("quotas_plan_delete", args=[plan.pk]))
    assert deleted.status_code == 400 and "The active plan cannot be deleted" in deleted.content.decode()


def test_a_plan_on_a_territory_plan_without_territories_says_so_and_rebuilds_once_it_has_some(world):
    from territories import services as territory_services

    client = world.a.client(Role.REVOPS_ANALYST)
    with tenant_context(world.a.org):
        territory_plan = territory_services.plan_create(name="Bare", effective_from=fixtures.JAN)
        plan = services.plan_create(name="Bare FY2026", fiscal_year=2026, territory_plan=territory_plan,
                                    company_target=D("1000"))
    page = client.get(reverse("quotas_plan", args=[plan.pk])).content.decode()
    assert "No territories to allocate to" in page and list(tree(page)) == ["COMPANY"]
    with tenant_context(world.a.org):
        territory_services.territory_create(plan=territory_plan, code="T1", name="Only")
    html = client.post(reverse("quotas_plan_rebuild", args=[plan.pk]), **HTMX).content.decode()
    assert "Tree rebuilt from Bare: 2 nodes, 1 leaf; re-allocated." in html
    # No bases at all: every method drops out and the only child takes the whole target.
    assert tree(html)["T1"]["annual"] == "1,000.00" and "No territories to allocate to" not in html
    assert world.a.client(Role.EXECUTIVE).post(reverse("quotas_plan_rebuild", args=[plan.pk])).status_code == 403


def test_a_draft_is_deleted_from_its_confirmation_page(world, qw):
    client = world.a.client(Role.REVOPS_ANALYST)
    url = reverse("quotas_plan_delete", args=[qw["plan"].pk])
    assert "Delete QW FY2026?" in client.get(url).content.decode()
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == reverse("quotas_plans")
    with tenant_context(world.a.org):
        assert not QuotaPlan.objects.exists() and not Quota.objects.exists()


def test_workbench_export_has_the_tree_with_its_months_in_csv_and_excel(world, qw):
    client = world.a.client(Role.EXECUTIVE)
    url = reverse("quotas_plan_export", args=[qw["plan"].pk])
    rows = {r["code"]: r for r in csv_rows(client.get(url + "?format=csv"))}
    assert list(rows) == ["COMPANY", "R1", "A1", "T1", "T2", "A2", "T3"]
    t1 = rows["T1"]
    assert (t1["parent"], t1["rep"], t1["annual"], t1["amount"]) == ("A1", "Pat Prior", "476000.00", "416499.98")
    assert (t1["2026-01"], t1["2026-07"], t1["2026-12"]) == ("39666.67", "29750.00", "29749.99")
    # Fiscal quarters: Q1 = 3 x 39,666.67; Q4 = 3 x (39,666.66 - 9,916.67) = 3 x 29,749.99.
    assert (t1["FQ1"], t1["FQ4"]) == ("119000.01", "89249.97")
    assert rows["T3"]["2026-01"] == "6666.67" and "exceeds the territory's potential" in t1["flags"]
    xlsx = client.get(url + "?format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    t1_row = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == "T1")
    assert float(t1_row[header.index("annual")]) == 476000.0 and float(t1_row[header.index("2026-12")]) == 29749.99


# -- reconciliation ----------------------------------------------------------------------------------

def test_reconcile_shows_the_gap_per_node_and_accepting_bottom_up_rebalances(world, qw):
    client = world.a.client(Role.REVOPS_ANALYST)
    plan, t1, t2 = qw["plan"], node(qw, "T1"), node(qw, "T2")
    url = reverse("quotas_plan_reconcile", args=[plan.pk])
    page = client.get(url).content.decode()
    assert "No bottom-up numbers yet" in page
    assert 'data-col="top-down">476,000.00<' in re.search(r'<tr data-code="T1".*?</tr>', page, re.S).group(0)

    submission = {"amount": "450,000", "note": "Two hospitals closing", "action": "submit"}
    html = client.post(reverse("quotas_quota_bottom_up", args=[t1.pk]), submission, **HTMX).content.decode()
    assert "T1 Denver: bottom-up 450,000.00 recorded." in html
    assert re.search(r'id="qr-table"[^>]*hx-swap-oob="true"', html)
    row = re.search(r'<tr data-code="T1".*?</tr>', html, re.S).group(0)
    # Gap: 450,000 - 476,000 = -26,000; -26,000 / 476,000 = -5.5%.
    assert 'data-col="bottom-up">450,000.00' in row and 'data-col="gap">-26,000.00<' in row
    assert 'data-col="gap-pct">-5.5%<' in row and "Two hospitals closing" in row
    a1 = re.search(r'<tr data-code="A1".*?</tr>', html, re.S).group(0)
    assert 'data-col="bottom-up">—<' in a1  # T2 has not submitted: no sum for A1 yet
    client.post(reverse("quotas_quota_bottom_up", args=[t2.pk]), {"amount": "400000", "note": ""}, **HTMX)
    a1 = re.search(r'<tr data-code="A1".*?</tr>', client.get(url).content.decode(), re.S).group(0)
    # A1: 450,000 + 400,000 = 850,000 against 840,000: +10,000, +1.2%.
    assert "850,000.00" in a1 and "sum of children" in a1 and 'data-col="gap">10,000.00<' in a1
    assert 'data-col="gap-pct">1.2%<' in a1

    bad = client.post(reverse("quotas_quota_bottom_up", args=[t1.pk]), {"amount": "-1", "note": "x"}, **HTMX)
    assert "An amount cannot be negative." in re.search(
        r'<tr data-code="T1".*?</tr>', bad.content.decode(), re.S).group(0)

    accepted = client.post(reverse("quotas_quota_accept", args=[t1.pk]), **HTMX).content.decode()
    assert "T1 Denver: bottom-up 450,000.00 accepted as its quota" in accepted
    with tenant_context(world.a.org):
        q = {x.code: x for x in Quota.objects.filter(plan=plan)}
    assert q["T1"].override == D("450000.00") and q["T1"].annual == D("450000.00")
    assert q["T2"].annual == D("390000.00")  # 840,000 - 450,000
    # Executives read the page; they neither submit nor accept.
    executive = world.a.client(Role.EXECUTIVE)
    page = executive.get(url).content.decode()
    assert "Two hospitals closing" in page and 'name="amount"' not in page and "Accept bottom-up" not in page
    assert executive.post(reverse("quotas_quota_bottom_up", args=[t1.pk]), {"amount": "1"}).status_code == 403
    assert executive.post(reverse("quotas_quota_accept", args=[t1.pk])).status_code == 403


# -- attainment --------------------------------------------------------------------------------------

def test_reps_read_attainment_by_rep_with_pace_and_the_chart_of_the_selected_row(world, qw):
    plan = qw["plan"]
    url = reverse("quotas_plan_attainment", args=[plan.pk])
    rep = world.a.client(Role.REP)
    page = rep.get(url).content.decode()
    assert "Attainment has not been computed for this plan" in page and "Recompute" not in page
    assert rep.post(reverse("quotas_plan_attainment_refresh", args=[plan.pk])).status_code == 403

    analyst = world.a.client(Role.REVOPS_ANALYST)
    done = analyst.post(reverse("quotas_plan_attainment_refresh", args=[plan.pk]), {"query": "by=rep"})
    assert done.status_code == 302 and done["Location"] == url + "?by=rep"
    message = analyst.get(done["Location"]).content.decode()
    assert "Attainment recomputed: 35,000.00 credited from 6 transactions; 500.00 from 1 transaction credited " \
           "nobody" in message

    pat = next(r for r in _attainment_rows(rep.get(url, {"by": "rep", "as_of": "2026-08-16"}).content.decode())
               if r["label"] == "Pat Prior")
    # Quota to date: 6 x 39,666.67 + 29,750.00 + 29,750.00 x 15/31 = 282,145.18; pace 15,000 / that = 5.3%.
    assert (pat["quota"], pat["actual"], pat["attainment"]) == ("416,499.98", "15,000.00", "3.6%")
    assert (pat["quota-to-date"], pat["actual-to-date"], pat["pace"], pat["gap"]) == (
        "282,145.18", "15,000.00", "5.3%", "401,499.98")
    html = rep.get(url, {"by": "rep", "as_of": "2026-08-16", "row": pat["key"]}).content.decode()
    assert 'class="selected"' in html
    fig = figure(html, "fig-attainment")
    quota_line, actual_line, _bars = fig["data"]
    assert quota_line["y"][0] == 39666.67 and quota_line["y"][-1] == pytest.approx(416499.98)
    assert actual_line["y"] == [0.0, 10000.0, 15000.0, 15000.0, 15000.0, 15000.0, 15000.0, 15000.0]  # to August
    page = rep.get(url, {"by": "team", "as_of": "2026-08-16"}).content.decode()
    teams = {r["label"]: r for r in _attainment_rows(page)}
    assert teams["QW Front Range"]["actual"] == "31,000.00" and teams["QW Utah"]["actual"] == "4,000.00"
    company = figure(page, "fig-attainment")["data"][0]
    assert company["y"][-1] == pytest.approx(990000.0)  # no row chosen: the company
    month = rep.get(url, {"by": "node", "month": "2026-02-01", "as_of": "2026-08-16"}, **HTMX).content.decode()
    assert month.startswith('\n<section id="qa-results"') or month.lstrip().startswith('<section id="qa-results"')
    t1 = next(r for r in _attainment_rows(month) if r["label"] == "T1 Denver")
    assert (t1["quota"], t1["actual"]) == ("39,666.67", "10,000.00")
    exported = {r["label"]: r for r in csv_rows(rep.get(url, {"by": "rep", "as_of": "2026-08-16", "format": "csv"}))}
    assert exported["Quinn Quota"]["actual"] == "16000.00" and exported["Nia New"]["quota"] == "150000.00"


def _attainment_rows(html: str) -> list[dict[str, str]]:
    out = []
    for key, body in re.findall(r'<tr data-key="([^"]+)"[^>]*>(.*?)</tr>', html, re.S):
        cells = {k: v.strip() for k, v in re.findall(r'data-col="([\w-]+)">([^<]*)<', body)}
        cells["key"] = key
        cells["label"] = re.search(r'hx-push-url="true">([^<]*)</a>', body).group(1).strip()
        out.append(cells)
    return out


# -- a node's history ----------------------------------------------------------------------------------

def test_history_shows_the_months_and_the_relief_on_both_reps(world, qw):
    rep = world.a.client(Role.REP)
    t1 = rep.get(reverse("quotas_quota_history", args=[node(qw, "T1").pk])).content.decode()
    assert "Pat Prior" in t1 and metric(t1, "annual") == "476,000.00" and metric(t1, "amount") == "416,499.98"
    july = re.search(r'<tr data-month="2026-07">(.*?)</tr>', t1, re.S).group(1)
    assert 'data-col="allocated">39,666.67<' in july and 'data-col="relief">-9,916.67<' in july
    assert 'data-col="amount">29,750.00<' in july
    outs = re.findall(r'<tr data-direction="out">(.*?)</tr>', t1, re.S)
    assert len(outs) == 6 and "QW Bravo Practice" in outs[0] and "Jul 1, 2026" in outs[0] and "T2 Boulder" in outs[0]
    assert "0.2500" in outs[0] and 'data-col="amount">-9,916.67<' in outs[0]
    t2 = rep.get(reverse("quotas_quota_history", args=[node(qw, "T2").pk])).content.decode()
    ins = re.findall(r'<tr data-direction="in">(.*?)</tr>', t2, re.S)
    assert len(ins) == 6 and "QW Bravo Practice" in ins[0] and "T1 Denver" in ins[0]
    assert 'data-col="amount">+9,916.67<' in ins[0] and "Quinn Quota" in t2
    t3 = rep.get(reverse("quotas_quota_history", args=[node(qw, "T3").pk])).content.decode()
    assert 'data-col="ramp">-6,666.67<' in re.search(r'<tr data-month="2026-01">(.*?)</tr>', t3, re.S).group(1)
    assert "ramps from Dec 2025" in t3 and "No account moved into or out of this territory" in t3
    months = csv_rows(rep.get(reverse("quotas_quota_history", args=[node(qw, "T1").pk]) + "?format=csv"))
    assert [m["relief"] for m in months][6:] == ["-9916.67"] * 6


# -- seasonality ---------------------------------------------------------------------------------------

def test_seasonality_profiles_typed_in_edited_and_learned_from_history(world, qw):
    client = world.a.client(Role.REVOPS_ANALYST)
    url = reverse("quotas_seasonality")
    page = client.get(url).content.decode()
    assert "No seasonality profiles yet" in page and "Learn from history" in page
    # 60 + 30 = 90: 1/9 -> 0.111111 and 1/18 -> 0.055556, which add to 1.000002; the largest month
    # (the first of the largest) takes the -0.000002 so that they add to exactly 1.
    weights = {f"typed-m{i}": "10" if i <= 6 else "5" for i in range(1, 13)}
    created = client.post(url, {"typed-name": "Front-loaded", **weights})
    assert created.status_code == 302
    with tenant_context(world.a.org):
        profile = SeasonalityProfile.objects.get(name="Front-loaded")
    assert profile.weights[0] == D("0.111109") and profile.weights[1] == D("0.111111")
    assert profile.weights[11] == D("0.055556")
    assert sum(profile.weights) == 1
    page = client.get(url).content.decode()
    bars = figure(page, "fig-seasonality")["data"]
    assert bars[0]["name"] == "Front-loaded" and bars[0]["y"][1] == 11.111
    assert bars[0]["x"][0] == "1 · Jan"
    bad = client.post(url, {"typed-name": "Nothing", **{k: "0" for k in weights}})
    assert bad.status_code == 400 and "At least one month needs a weight above zero." in bad.content.decode()

    # Learned from FY2025's bookings: Mar 100,000, Jun 20,000, Sep 60,000, Nov 20,000 of 200,000.
    learned = client.post(reverse("quotas_seasonality_learn"), {
        "learn-name": "Bookings history", "learn-metric": "bookings", "learn-custom_metric": "",
        "learn-fiscal_year": "2026", "learn-years": "1"})
    assert learned.status_code == 302
    with tenant_context(world.a.org):
        history = SeasonalityProfile.objects.get(name="Bookings history")
    assert history.weights[2] == D("0.5") and history.weights[5] == D("0.1") and history.weights[8] == D("0.3")
    assert history.source == "learned" and "FY starting Jan 2025" in history.learned_from

    edit = reverse("quotas_seasonality_edit", args=[profile.pk])
    assert 'value="11.111"' in client.get(edit).content.decode()
    saved = client.post(edit, {"name": "Front-loaded", **{f"m{i}": "1" for i in range(1, 13)}})
    assert saved.status_code == 302
    with tenant_context(world.a.org):
        assert SeasonalityProfile.objects.get(pk=profile.pk).weights[11] == D("0.083333")
    rep = world.a.client(Role.REP)
    rep_page = rep.get(edit).content.decode()
    assert "disabled" in rep_page and ">Save</button>" not in rep_page
    assert rep.post(edit, {"name": "x"}).status_code == 403
    assert rep.post(reverse("quotas_seasonality_learn"), {}).status_code == 403
    assert "Type a profile in" not in rep.get(url).content.decode()


# -- import --------------------------------------------------------------------------------------------

def _upload(client: Any, plan: QuotaPlan, name: str, content: bytes) -> Any:
    return client.post(reverse("quotas_plan_import", args=[plan.pk]),
                       {"file": SimpleUploadedFile(name, content)})


def test_import_applies_the_good_rows_once_and_lists_the_bad_ones_by_line(world, qw):
    client = world.a.client(Role.REVOPS_ANALYST)
    plan = qw["plan"]
    text = ("code,override,custom_basis,bottom_up,note\n"
            "T1,\"500,000\",,,\n"          # line 2: applied
            "T9,100,,,\n"                  # line 3: unknown code
            "T2,abc,,,\n"                  # line 4: not a number
            "T3,-5,,,\n"                   # line 5: negative
            "A2,,,150000,Utah is slower\n"  # line 6: a bottom-up number
            "A1,,7,,\n"                    # line 7: custom basis on a parent
            "T1,1,,,\n")                   # line 8: T1 again
    response = _upload(client, plan, "quotas.csv", text.encode())
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 rows applied, 5 failed: 1 override, 0 custom bases, 1 bottom-up number changed; the plan was " \
           "re-allocated." in html
    errors = dict(re.findall(r'<tr data-line="(\d+)">.*?<td>([^<]*)</td></tr>', html, re.S))
    assert errors == {
        "3": "unknown code &#x27;T9&#x27;: not a node of this plan",
        "4": "override &#x27;abc&#x27; is not a number",
        "5": "override -5.00 is negative",
        "7": "custom_basis: entered on leaf territories only (parents are their sums)",
        "8": "code T1 appears again (first on line 2)",
    }
    with tenant_context(world.a.org):
        q = {x.code: x for x in Quota.objects.filter(plan=plan)}
    assert q["T1"].override == D("500000.00") and q["T2"].annual == D("340000.00")
    assert q["A2"].bottom_up == D("150000.00") and q["A2"].bottom_up_note == "Utah is slower"


def test_import_refuses_overrides_above_the_parent_and_reads_excel(world, qw):
    client = world.a.client(Role.REVOPS_ANALYST)
    plan = qw["plan"]
    html = _upload(client, plan, "q.csv", b"code,override\nT1,600000\nT2,300000\n").content.decode()
    assert "0 rows applied, 2 failed" in html
    assert html.count("overrides under A1 Front Range would add to 900,000.00, above its target of 840,000.00") == 2
    book = Workbook()
    sheet = book.active
    sheet.append(["Code", "Override", "Custom basis", "Bottom up", "Note"])
    sheet.append(["T2", 300000, None, None, None])
    sheet.append(["T3", None, 1234.5, None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    html = _upload(client, plan, "q.xlsx", buffer.getvalue()).content.decode()
    assert "2 rows applied, 0 failed: 1 override, 1 custom basis" in html
    with tenant_context(world.a.org):
        q = {x.code: x for x in Quota.objects.filter(plan=plan)}
    assert q["T2"].annual == D("300000.00") and q["T1"].annual == D("540000.00")
    assert q["T3"].custom_basis == D("1234.50")
    not_a_table = _upload(client, plan, "q.csv", b"territory,amount\nT1,5\n")
    assert not_a_table.status_code == 400 and "&#x27;code&#x27; is missing" in not_a_table.content.decode()
    wrong_kind = _upload(client, plan, "q.pdf", b"%PDF")
    assert wrong_kind.status_code == 400 and "Upload a .csv or an .xlsx file." in wrong_kind.content.decode()
    assert world.a.client(Role.EXECUTIVE).get(reverse("quotas_plan_import", args=[plan.pk])).status_code == 403


def test_import_template_lists_the_plans_nodes(world, qw):
    client = world.a.client(Role.REVOPS_ANALYST)
    plan = qw["plan"]
    client.post(reverse("quotas_quota_override", args=[node(qw, "T1").pk]), {"amount": "500000"})
    rows = csv_rows(client.get(reverse("quotas_plan_import_template", args=[plan.pk]) + "?format=csv"))
    assert [r["code"] for r in rows] == ["COMPANY", "R1", "A1", "T1", "T2", "A2", "T3"]
    assert list(rows[0]) == ["code", "override", "custom_basis", "bottom_up", "note"]
    assert rows[3]["override"] == "500000.00" and rows[2]["custom_basis"] == "" and rows[4]["custom_basis"] == "0.00"
    # Sending the template back unchanged changes nothing.
    content = client.get(reverse("quotas_plan_import_template", args=[plan.pk]) + "?format=csv").content
    html = _upload(client, plan, "template.csv", content).content.decode()
    assert "7 rows applied, 0 failed: 0 overrides, 0 custom bases, 0 bottom-up numbers changed." in html


# -- isolation ---------------------------------------------------------------------------------------

def test_another_organizations_plan_and_quota_are_not_found(world, qw):
    other = world.b.client(Role.ADMIN)
    plan, t1 = qw["plan"], node(qw, "T1")
    assert other.get(reverse("quotas_plan", args=[plan.pk])).status_code == 404
    assert other.get(reverse("quotas_plan_attainment", args=[plan.pk])).status_code == 404
    assert other.get(reverse("quotas_quota_history", args=[t1.pk])).status_code == 404
    assert other.post(reverse("quotas_quota_override", args=[t1.pk]), {"amount": "1"}).status_code == 404
    assert "QW FY2026" not in other.get(reverse("quotas_plans")).content.decode()
    with tenant_context(world.a.org):
        assert Quota.objects.get(pk=t1.pk).override is None


def test_a_large_tree_opens_at_the_levels_that_fit_and_edits_keep_the_level(world, qw, monkeypatch):
    import importlib

    workbench_view = importlib.import_module("quotas.views.workbench")

    monkeypatch.setattr(workbench_view, "MAX_ROWS", 3)  # company + region fit; areas would make 4
    client = world.a.client("revops_analyst")
    url = reverse("quotas_plan", args=[qw["plan"].pk])
    html = client.get(url).content.decode()
    assert set(tree(html)) == {"COMPANY", "R1"}
    assert "Showing 2 of 7 nodes" in html
    assert set(tree(client.get(url + "?depth=3").content.decode())) == {"COMPANY", "R1", "A1", "A2", "T1", "T2", "T3"}
    # An override posted from the 3-level view answers with the 3-level tree.
    response = client.post(reverse("quotas_quota_override", args=[node(qw, "A1").pk]),
                           {"amount": "800000", "action": "set", "depth": "2"}, HTTP_HX_REQUEST="true")
    rows = tree(response.content.decode())
    assert set(rows) == {"COMPANY", "R1", "A1", "A2"}
    assert rows["A2"]["annual"] == "200,000.00"
