"""Plan-builder pages: who may open them, the htmx edits of the version builder (components with tiers, the EKRA
flag, sign-off, activation and its refusal), assignments, the plan document and its acknowledgment, credit
rules, and the CSV/Excel exports of every table."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from commissions.models import ComplianceSignoff, CompPlanVersion, Component, CreditRule, PlanAssignment, VersionStatus
from commissions.services import plans as services
from revops.models import Person, Role
from revops.tenancy import tenant_context

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
D = Decimal
JAN = dt.date(2025, 1, 1)
READERS = (Role.ADMIN, Role.EXECUTIVE, Role.REVOPS_ANALYST, Role.INTEGRATOR)
NOT_READERS = (Role.REP, Role.BILLING_MANAGER)


@pytest.fixture
def built(world):
    """In organization a: plan "AE plan" with a draft v1 (a flat 5% bookings commission), the rep assigned from Jan 1,
    and a second person assigned to nothing; a plan of organization b."""
    with tenant_context(world.b.org):
        services.plan_create(name="Summit plan")
    with tenant_context(world.a.org):
        plan = services.plan_create(name="AE plan", description="Account executives")
        v1 = services.version_create(plan=plan, effective_from=JAN)
        flat = services.component_save(version=v1, name="Bookings", kind="commission", basis="bookings",
                                       rate_type="flat", rate=D("0.05"))
        assignment = services.assignment_save(person=world.a.objects["person"], plan=plan, effective_from=JAN,
                                              quota_amount=D("100000"))
        other = Person.objects.create(employee_id="R2", first_name="Sam", last_name="Second", hire_date=JAN)
        other_assignment = services.assignment_save(person=other, plan=plan, effective_from=JAN)
    return {"plan": plan, "v1": v1, "flat": flat, "assignment": assignment, "other": other_assignment}


def rows(response) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def page_urls(b) -> list[str]:
    return [reverse("commissions_plans"), reverse("commissions_plan", args=[b["plan"].pk]),
            reverse("commissions_plan_assignments", args=[b["plan"].pk]),
            reverse("commissions_version", args=[b["v1"].pk]), reverse("commissions_credit_rules")]


def test_plan_pages_open_for_readers_and_are_forbidden_to_reps_and_billing(world, built):
    for url in page_urls(built):
        for role in READERS:
            response = world.a.client(role).get(url)
            assert response.status_code == 200, (url, role)
            assert b"Summit" not in response.content
        for role in NOT_READERS:
            assert world.a.client(role).get(url).status_code == 403, (url, role)


def test_another_organizations_plan_is_not_found(world, built):
    with tenant_context(world.b.org):
        from commissions.models import CompPlan

        b_plan = CompPlan.objects.get()
    assert world.a.client(Role.ADMIN).get(reverse("commissions_plan", args=[b_plan.pk])).status_code == 404


def test_the_nav_shows_commissions_to_readers_only(world, built):
    home = reverse("home")
    assert b">Commissions<" in world.a.client(Role.REVOPS_ANALYST).get(home).content
    assert b">Commissions<" not in world.a.client(Role.REP).get(home).content


def test_plans_list_empty_state_create_and_export(world):
    client = world.a.client(Role.REVOPS_ANALYST)
    page = client.get(reverse("commissions_plans"))
    assert b"No compensation plans yet" in page.content
    response = client.post(reverse("commissions_plans"), {"name": "SDR plan", "description": "Setters"})
    with tenant_context(world.a.org):
        from commissions.models import CompPlan

        plan = CompPlan.objects.get(name="SDR plan")
    assert response.status_code == 302 and response["Location"] == reverse("commissions_plan", args=[plan.pk])
    duplicate = client.post(reverse("commissions_plans"), {"name": "sdr plan"})
    assert duplicate.status_code == 400 and b"A compensation plan named &#x27;sdr plan&#x27; already exists." in duplicate.content
    assert world.a.client(Role.EXECUTIVE).post(reverse("commissions_plans"), {"name": "X"}).status_code == 403
    exported = rows(client.get(reverse("commissions_plans") + "?format=csv"))
    assert [(r["name"], r["versions"], r["in_force_today"]) for r in exported] == [("SDR plan", "0", "")]
    xlsx = client.get(reverse("commissions_plans") + "?format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[1]][:3] == ["id", "name", "description"] and sheet["B2"].value == "SDR plan"


def test_a_new_version_copies_the_components(world, built):
    client = world.a.client(Role.REVOPS_ANALYST)
    plan, v1 = built["plan"], built["v1"]
    response = client.post(reverse("commissions_version_new", args=[plan.pk]), {
        "copy_from": v1.pk, "effective_from": "2025-07-01", "quota_basis": "bookings"})
    with tenant_context(world.a.org):
        v2 = CompPlanVersion.objects.get(plan=plan, version=2)
        assert list(v2.components.values_list("name", "rate")) == [("Bookings", D("0.05"))]
    assert response["Location"] == reverse("commissions_version", args=[v2.pk])
    bad = client.post(reverse("commissions_version_new", args=[plan.pk]), {
        "effective_from": "2025-07-01", "effective_to": "2025-06-01", "quota_basis": "bookings"})
    assert bad.status_code == 400 and b"must end after it starts" in bad.content
    exported = rows(client.get(reverse("commissions_plan", args=[plan.pk]) + "?format=csv"))
    assert [(r["version"], r["status"], r["components"]) for r in exported] == [("2", "Draft", "1"), ("1", "Draft", "1")]


def test_adding_a_tiered_component_swaps_the_components_in_place(world, built):
    client = world.a.client(Role.REVOPS_ANALYST)
    v1 = built["v1"]
    form = client.get(reverse("commissions_component_new", args=[v1.pk]), **HTMX)
    html = form.content.decode()
    assert form.status_code == 200 and "<html" not in html and 'id="cv-components"' in html
    assert 'id="id_new_tiers"' in html

    response = client.post(reverse("commissions_component_new", args=[v1.pk]), {
        "name": "Accelerated", "kind": "commission", "basis": "bookings", "rate_type": "tiered_marginal",
        "tier_basis": "attainment", "tiers": "0, 5\n100, 8%\n150; 10", "hurdle_pct": "50"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "5% of bookings credited to you; 8% on the part above 100% of quota; 10% on the part above 150% of quota." in html
    assert 'hx-swap-oob="true"' in html and "Accelerated added." in html
    with tenant_context(world.a.org):
        c = Component.objects.get(name="Accelerated")
    assert c.tiers == [{"from": "0", "rate": "0.05"}, {"from": "100", "rate": "0.08"}, {"from": "150", "rate": "0.1"}]
    assert c.hurdle_pct == D("50")

    # The edit form comes back in the component's row, its tiers as typed lines.
    edit = client.get(reverse("commissions_component_edit", args=[c.pk]), **HTMX).content.decode()
    assert f'id="component-{c.pk}" class="editing"' in edit and "0, 5\n100, 8\n150, 10</textarea>" in edit


def test_a_refused_component_keeps_the_form_with_the_reason(world, built):
    client = world.a.client(Role.REVOPS_ANALYST)
    v1 = built["v1"]
    response = client.post(reverse("commissions_component_new", args=[v1.pk]), {
        "name": "Bad tiers", "kind": "commission", "basis": "bookings", "rate_type": "tiered_marginal",
        "tier_basis": "attainment", "tiers": "0, 5\n100, 8\n90, 9"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Tier thresholds go up: tier 3 (90) is not above tier 2 (100)." in html
    assert "The component was not saved: see the form." in html and 'value="Bad tiers"' in html
    garbled = client.post(reverse("commissions_component_new", args=[v1.pk]), {
        "name": "Garbled", "kind": "commission", "basis": "bookings", "rate_type": "tiered_marginal",
        "tier_basis": "attainment", "tiers": "zero five"})
    assert garbled.status_code == 400 and "Line 1 threshold: &#x27;zero&#x27; is not a number." in garbled.content.decode()
    with tenant_context(world.a.org):
        assert not Component.objects.filter(name__in=["Bad tiers", "Garbled"]).exists()


def test_editing_and_removing_a_component(world, built):
    client = world.a.client(Role.REVOPS_ANALYST)
    flat = built["flat"]
    response = client.post(reverse("commissions_component_edit", args=[flat.pk]), {
        "name": "Bookings", "kind": "commission", "basis": "bookings", "rate_type": "flat", "rate": "6.5",
        "tier_basis": "attainment"})
    assert response.status_code == 302
    with tenant_context(world.a.org):
        flat.refresh_from_db()
    assert flat.rate == D("0.065")
    page = client.get(reverse("commissions_version", args=[built["v1"].pk]) + f"?edit={flat.pk}").content.decode()
    assert 'name="rate" value="6.5"' in page
    assert world.a.client(Role.EXECUTIVE).post(reverse("commissions_component_delete", args=[flat.pk])).status_code == 403
    removed = client.post(reverse("commissions_component_delete", args=[flat.pk]), **HTMX)
    assert removed.status_code == 200 and b"No components yet" in removed.content
    with tenant_context(world.a.org):
        assert not Component.objects.filter(pk=flat.pk).exists()


def test_ekra_flag_signoff_and_activation(world, built):
    with tenant_context(world.a.org):
        world.a.org.ekra_covered = True
        world.a.org.save()
        referral = services.component_save(version=built["v1"], name="Referral pay", kind="commission",
                                           basis="referrals", rate_type="flat", rate=D(25))
    v1 = built["v1"]
    url = reverse("commissions_version", args=[v1.pk])
    executive = world.a.client(Role.EXECUTIVE)
    page = executive.get(url).content.decode()
    assert "EKRA / Anti-Kickback flag" in page and "18 U.S.C. § 220" in page
    assert "Compliance sign-off missing for: Referral pay." in page
    assert f'id="signoff-{referral.pk}"' in page  # executives may sign off
    analyst_page = world.a.client(Role.REVOPS_ANALYST).get(url).content.decode()
    assert "Awaiting a compliance sign-off" in analyst_page and f'id="signoff-{referral.pk}"' not in analyst_page

    refused = executive.post(reverse("commissions_version_activate", args=[v1.pk]), **HTMX)
    assert refused.status_code == 200 and 'id="cv-status"' in refused.content.decode()
    assert ("need a compliance sign-off first: Referral pay." in refused.content.decode()
            or "needs a compliance sign-off first: Referral pay." in refused.content.decode())
    assert world.a.client(Role.REVOPS_ANALYST).post(reverse("commissions_version_activate", args=[v1.pk])).status_code == 403
    assert world.a.client(Role.REVOPS_ANALYST).post(reverse("commissions_component_signoff", args=[referral.pk]),
                                                    {"reason": "x"}).status_code == 403

    empty = executive.post(reverse("commissions_component_signoff", args=[referral.pk]), {"reason": " "}, **HTMX)
    assert f'id="signoff-{referral.pk}-error"' in empty.content.decode()
    signed = executive.post(reverse("commissions_component_signoff", args=[referral.pk]),
                            {"reason": "Employees on salary; reviewed by counsel"}, **HTMX)
    assert "Compliance sign-off recorded for Referral pay." in signed.content.decode()
    assert "Signed off by" in signed.content.decode()
    with tenant_context(world.a.org):
        assert ComplianceSignoff.objects.get(component=referral).signed_by == world.a.users[Role.EXECUTIVE]

    activated = executive.post(reverse("commissions_version_activate", args=[v1.pk]), **HTMX)
    assert activated.status_code == 200 and activated["HX-Redirect"] == url
    with tenant_context(world.a.org):
        v1.refresh_from_db()
    assert v1.status == VersionStatus.ACTIVE
    after = executive.get(url).content.decode()
    assert "AE plan v1 is active from Jan 1, 2025." in after and "Add component" not in after

    exported = rows(executive.get(url + "?format=csv"))
    flags = {r["name"]: (r["ekra_flagged"], r["signed_off_by"]) for r in exported}
    assert flags == {"Bookings": ("false", ""), "Referral pay": ("true", world.a.users[Role.EXECUTIVE].username)}


def test_version_settings_only_for_a_draft(world, built):
    client = world.a.client(Role.REVOPS_ANALYST)
    url = reverse("commissions_version_settings", args=[built["v1"].pk])
    response = client.post(url, {"effective_from": "2025-01-01", "period_cap": "12,500", "quota_basis": "bookings"})
    assert response.status_code == 302
    with tenant_context(world.a.org):
        built["v1"].refresh_from_db()
    assert built["v1"].period_cap == D("12500.00")


def test_assignments_page_adds_refuses_overlaps_ends_and_exports(world, built):
    client = world.a.client(Role.REVOPS_ANALYST)
    plan = built["plan"]
    url = reverse("commissions_plan_assignments", args=[plan.pk])
    page = client.get(url).content.decode()
    assert "Ray Rep harbor" in page and "has no active version yet" in page
    overlap = client.post(url, {"person": world.a.objects["person"].pk, "effective_from": "2025-03-01"})
    assert overlap.status_code == 400
    assert "Ray Rep harbor is already on AE plan from Jan 1, 2025 with no end date" in overlap.content.decode()
    ended = client.post(reverse("commissions_assignment_end", args=[built["assignment"].pk]),
                        {"effective_to": "2025-03-01"})
    assert ended.status_code == 302
    added = client.post(url, {"person": world.a.objects["person"].pk, "effective_from": "2025-03-01",
                              "quota_amount": "120,000", "draw_amount": "1500", "draw_until": "2025-06-30"})
    assert added.status_code == 302
    exported = rows(client.get(url + "?format=csv"))
    assert sorted((r["employee_id"], r["effective_from"], r["effective_to"], r["quota_amount"], r["draw_amount"],
                   r["draw_recoverable"]) for r in exported) == [
        ("R1", "2025-01-01", "2025-03-01", "100000.00", "0.00", "true"),
        ("R1", "2025-03-01", "", "120000.00", "1500.00", "false"),
        ("R2", "2025-01-01", "", "", "0.00", "true")]
    assert world.a.client(Role.EXECUTIVE).post(url, {}).status_code == 403


def _activate(world, built):
    with tenant_context(world.a.org):
        services.version_activate(version=built["v1"], user=world.a.users[Role.ADMIN])


def test_a_rep_reads_and_acknowledges_only_their_own_plan_document(world, built):
    _activate(world, built)
    own = reverse("commissions_plan_document", args=[built["assignment"].pk])
    other = reverse("commissions_plan_document", args=[built["other"].pk])
    rep = world.a.client(Role.REP)
    page = rep.get(own).content.decode()
    assert "Compensation plan: AE plan" in page and "5% of bookings credited to you." in page
    assert "Your quota is $100,000.00 of bookings per period." in page
    assert "@media print" in page and 'id="acknowledge-button"' in page
    assert rep.get(other).status_code == 404
    assert rep.post(reverse("commissions_plan_acknowledge", args=[built["other"].pk])).status_code == 404

    response = rep.post(reverse("commissions_plan_acknowledge", args=[built["assignment"].pk]), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and 'id="acknowledgment"' in html
    assert "your acknowledgment is recorded" in html and "(version 1)" in html
    with tenant_context(world.a.org):
        a = PlanAssignment.objects.get(pk=built["assignment"].pk)
    assert a.acknowledged_by == world.a.users[Role.REP] and a.acknowledged_version_id == built["v1"].pk
    again = rep.get(own).content.decode()
    assert 'id="acknowledge-button"' not in again and "Acknowledged by" in again


def test_others_read_any_document_but_cannot_acknowledge_it(world, built):
    _activate(world, built)
    url = reverse("commissions_plan_document", args=[built["assignment"].pk])
    for role in (Role.ADMIN, Role.EXECUTIVE, Role.REVOPS_ANALYST):
        page = world.a.client(role).get(url)
        assert page.status_code == 200 and b'id="acknowledge-button"' not in page.content
        assert b"Only Ray Rep harbor can acknowledge this document" in page.content
    for role in (Role.BILLING_MANAGER, Role.INTEGRATOR):
        assert world.a.client(role).get(url).status_code == 403
    refused = world.a.client(Role.ADMIN).post(reverse("commissions_plan_acknowledge", args=[built["assignment"].pk]))
    assert refused.status_code == 400 and b"Only Ray Rep harbor can acknowledge their own plan document." in refused.content


def test_my_plan_lists_the_reps_own_assignments(world, built):
    page = world.a.client(Role.REP).get(reverse("commissions_my_plan"))
    html = page.content.decode()
    assert page.status_code == 200 and "AE plan" in html
    assert reverse("commissions_plan_document", args=[built["assignment"].pk]) in html
    assert reverse("commissions_plan_document", args=[built["other"].pk]) not in html
    exported = rows(world.a.client(Role.REP).get(reverse("commissions_my_plan") + "?format=csv"))
    assert [r["plan"] for r in exported] == ["AE plan"]
    unlinked = world.a.client(Role.ADMIN).get(reverse("commissions_my_plan")).content.decode()
    assert "not linked to a person" in unlinked


def test_credit_rules_page(world):
    client = world.a.client(Role.REVOPS_ANALYST)
    url = reverse("commissions_credit_rules")
    assert b"No credit rules" in client.get(url).content
    assert client.post(url, {"name": "Skip level", "kind": "manager_override", "level": "2", "share": "5",
                             "is_active": "on"}).status_code == 302
    duplicate = client.post(url, {"name": "Again", "kind": "manager_override", "level": "2", "share": "3"})
    assert duplicate.status_code == 400 and b"Skip level is already the level 2 manager override rule" in duplicate.content
    with tenant_context(world.a.org):
        rule = CreditRule.objects.get()
    assert (rule.share, rule.level, rule.is_active) == (D("0.05"), 2, True)
    page = client.get(url).content.decode()
    assert 'data-col="share">5%' in page
    edit = client.post(reverse("commissions_credit_rule_edit", args=[rule.pk]), {
        "name": "Skip level", "kind": "manager_override", "level": "2", "share": "7.5"})
    assert edit.status_code == 302
    exported = rows(client.get(url + "?format=csv"))
    assert [(r["name"], r["share"], r["active"]) for r in exported] == [("Skip level", "0.075000", "false")]
    assert world.a.client(Role.EXECUTIVE).post(reverse("commissions_credit_rule_delete", args=[rule.pk])).status_code == 403
    assert client.post(reverse("commissions_credit_rule_delete", args=[rule.pk])).status_code == 302
    with tenant_context(world.a.org):
        assert not CreditRule.objects.exists()
