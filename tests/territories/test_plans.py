"""Territory plans: rule precedence, the unassigned bucket, copies, approval, activation with hold-outs,
potential (payer-adjusted from RCM), balance and diffs — on hand-made fixtures with hand-computed values."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from revops.models import Account, Payer, Person
from revops.tenancy import tenant_context
from territories import selectors, services
from territories.models import AccountOwnership, AccountVolume, PlanAssignment, PlanStatus, RuleKind

pytestmark = pytest.mark.django_db

JAN = dt.date(2025, 1, 1)
JUL = dt.date(2025, 7, 1)


def account(name: str, zip_code: str, state: str, county: str = "", specialty: str = "", npi: str = "",
            account_type: str = "physician_practice", revenue: str = "0", volume: str = "0",
            visits: str = "0") -> Account:
    a = Account.objects.create(name=name, zip_code=zip_code, state=state, county=county, specialty=specialty,
                               npi=npi, account_type=account_type)
    AccountVolume.objects.create(account=a, year=2025, revenue=Decimal(revenue), volume=Decimal(volume),
                                 visits=Decimal(visits))
    return a


@pytest.fixture
def a(world):
    with tenant_context(world.a.org):
        Account.objects.all().update(is_active=False)  # the world's own account stays out of these sums
        yield world.a


def territory_of(plan, acct) -> str | None:
    row = PlanAssignment.objects.select_related("territory").get(plan=plan, account=acct)
    return row.territory.code if row.territory else None


def test_rule_precedence_named_account_then_attributes_then_most_specific_geography(a):
    plan = services.plan_create(name="FY25", effective_from=JAN, potential_basis="revenue")
    region = services.territory_create(plan=plan, code="WEST", name="West", level="region")
    t = {code: services.territory_create(plan=plan, code=code, name=code, parent=region)
         for code in ("STATE", "ZIP3", "ZIP", "COUNTY", "CARDIO", "NPI", "NAMED")}
    denver = account("Denver Heart", "80202", "CO", "Denver County", specialty="Cardiology")
    boulder = account("Boulder Family", "80301", "CO", "Boulder County", specialty="Family Medicine")
    pueblo = account("Pueblo Clinic", "81003", "CO", "Pueblo County")
    aurora = account("Aurora Practice", "80010", "CO", "Arapahoe County")
    named = account("Named Cardiology", "80202", "CO", "Denver County", specialty="Cardiology", npi="1234567893")
    utah = account("Provo Clinic", "84601", "UT", "Utah County")
    services.rule_save(plan=plan, territory=t["STATE"], kind="state", value="co")
    services.rule_save(plan=plan, territory=t["ZIP3"], kind="zip3", value="803")
    services.rule_save(plan=plan, territory=t["ZIP"], kind="zip", value="80202")
    services.rule_save(plan=plan, territory=t["COUNTY"], kind="county", value="co:arapahoe county")
    services.rule_save(plan=plan, territory=t["CARDIO"], kind="specialty", value="cardiology")
    services.rule_save(plan=plan, territory=t["NPI"], kind="npi", value="1234567893")
    counts = services.rule_save(plan=plan, territory=t["NAMED"], kind="account", value=str(named.pk)) and \
        services.plan_assign(plan=plan)
    assert territory_of(plan, denver) == "CARDIO"      # specialty beats ZIP and state
    assert territory_of(plan, boulder) == "ZIP3"       # ZIP3 beats state
    assert territory_of(plan, pueblo) == "STATE"
    assert territory_of(plan, aurora) == "COUNTY"      # county beats state
    assert territory_of(plan, named) == "NAMED"        # named account beats NPI, specialty, ZIP
    assert territory_of(plan, utah) is None            # the unassigned bucket
    assert counts == {"accounts": 6, "assigned": 5, "unassigned": 1}
    # Accounts are only ever assigned to leaves' rules; the region has none.
    balance = selectors.plan_balance(plan=plan)
    assert [r["code"] for r in balance.territories] == sorted(t)
    assert balance.unassigned["accounts"] == 1


def test_rule_values_are_validated(a, world):
    plan = services.plan_create(name="Checks", effective_from=JAN)
    t1 = services.territory_create(plan=plan, code="T1", name="One")
    for kind, value, message in (("zip", "8020", "5-digit"), ("zip3", "80", "first 3 digits"),
                                 ("state", "Colorado", "2-letter"), ("county", "Denver", "ST:County"),
                                 ("npi", "12", "10-digit"), ("account", "999999", "organization's accounts")):
        with pytest.raises(ValidationError, match=message):
            services.rule_save(plan=plan, territory=t1, kind=kind, value=value)
    # Another organization's account id is not one of ours.
    with pytest.raises(ValidationError, match="organization's accounts"):
        services.rule_save(plan=plan, territory=t1, kind="account", value=str(world.b.objects["account"].pk))
    services.rule_save(plan=plan, territory=t1, kind="zip", value="80202")
    with pytest.raises(ValidationError, match="already has"):
        services.rule_save(plan=plan, territory=t1, kind="zip", value="80202")


def test_only_the_active_organizations_accounts_are_assigned(world):
    with tenant_context(world.b.org):
        b_accounts = Account.objects.count()
    with tenant_context(world.a.org):
        plan = services.plan_create(name="Everything TN", effective_from=JAN)
        t1 = services.territory_create(plan=plan, code="TN", name="Tennessee")
        services.rule_save(plan=plan, territory=t1, kind="state", value="TN")
        ids = set(PlanAssignment.objects.filter(plan=plan).values_list("account_id", flat=True))
        assert ids == set(Account.objects.filter(is_active=True).values_list("pk", flat=True))
    assert b_accounts >= 1
    with tenant_context(world.b.org):
        assert not PlanAssignment.objects.exists()


def _two_territory_plan(name: str, rep1: Person, rep2: Person):
    plan = services.plan_create(name=name, effective_from=JAN, potential_basis="revenue")
    t1 = services.territory_create(plan=plan, code="T1", name="North")
    t2 = services.territory_create(plan=plan, code="T2", name="South")
    services.coverage_assign(territory=t1, person=rep1)
    services.coverage_assign(territory=t2, person=rep2)
    return plan, t1, t2


def _people(world) -> tuple[Person, Person]:
    rep1 = world.a.objects["person"]
    rep2 = Person.objects.create(employee_id="R2", first_name="Sue", last_name="Second", role="rep",
                                 hire_date=dt.date(2022, 1, 1))
    return rep1, rep2


def test_approval_flow_and_activation_with_hold_out_writes_effective_dated_history(a, world):
    rep1, rep2 = _people(world)
    north = account("North Clinic", "37201", "TN", revenue="100")
    south = account("South Clinic", "38101", "TN", revenue="300")
    plan, t1, t2 = _two_territory_plan("FY25", rep1, rep2)
    services.rule_save(plan=plan, territory=t1, kind="zip3", value="372")
    services.rule_save(plan=plan, territory=t2, kind="zip3", value="381")
    with pytest.raises(ValidationError, match="approved"):
        services.plan_activate(plan=plan)
    services.plan_propose(plan=plan)
    services.rule_save(plan=plan, territory=t2, kind="zip", value="38102")  # an edit withdraws the proposal
    assert plan.status == PlanStatus.DRAFT
    services.plan_propose(plan=plan)
    services.plan_approve(plan=plan, user=world.a.users["executive"])
    with pytest.raises(ValidationError, match="approved"):
        services.rule_save(plan=plan, territory=t1, kind="zip", value="37202")
    counts = services.plan_activate(plan=plan, on=JAN)
    assert counts == {"accounts": 2, "moved": 0, "held_out": 0, "closed": 0}

    # The next scenario moves North Clinic's ZIP to the south rep, with a 30-day hold-out.
    fy25b = services.plan_copy(plan=plan, name="FY25 H2", effective_from=JUL)
    assert fy25b.status == PlanStatus.DRAFT and fy25b.based_on == plan
    assert {t.code for t in fy25b.territories.all()} == {"T1", "T2"}
    services.plan_update(plan=fy25b, holdout_days=30)
    services.unit_move(plan=fy25b, kind="zip", value="37201", territory=fy25b.territories.get(code="T2"))
    diff = selectors.plan_diff(plan=fy25b)
    assert diff["accounts_moved"] == 1
    assert diff["moves"][0]["account"] == "North Clinic" and diff["moves"][0]["from"] == "T1"
    assert diff["potential_moved"] == Decimal("100.00") and diff["disruption_pct"] == pytest.approx(25.0)
    by_rep = {r["rep"]: r for r in diff["by_rep"]}
    assert by_rep[str(rep1)]["lost"] == Decimal("100.00") and by_rep[str(rep2)]["gained"] == Decimal("100.00")

    services.plan_propose(plan=fy25b)
    services.plan_approve(plan=fy25b, user=world.a.users["admin"])
    counts = services.plan_activate(plan=fy25b, on=JUL)
    assert counts == {"accounts": 2, "moved": 1, "held_out": 1, "closed": 2}
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ARCHIVED and plan.effective_to == JUL

    def owner(acct, day):
        (row,) = selectors.ownership_on(on=day, account_ids=[acct.pk])
        return row.territory.code, row.person_id, row.reason

    assert owner(north, dt.date(2025, 6, 30)) == ("T1", rep1.pk, "activation")
    assert owner(north, JUL) == ("T1", rep1.pk, "holdout")
    assert owner(north, dt.date(2025, 7, 30)) == ("T1", rep1.pk, "holdout")
    assert owner(north, dt.date(2025, 7, 31)) == ("T2", rep2.pk, "activation")
    assert owner(south, dt.date(2025, 6, 30))[:2] == ("T2", rep2.pk)
    assert owner(south, dt.date(2025, 7, 1))[:2] == ("T2", rep2.pk)
    # Exactly one owner per account and day, ever (the exclusion constraint holds the line).
    assert AccountOwnership.objects.filter(account=north).count() == 3
    again = services.plan_copy(plan=fy25b, name="FY25 redo")
    services.plan_propose(plan=again)
    services.plan_approve(plan=again, user=world.a.users["admin"])
    with pytest.raises(ValidationError, match="later date"):
        services.plan_activate(plan=again, on=JUL)  # history already runs from then: no rewriting it


def test_merge_and_split_move_rules_and_coverage(a, world):
    rep1, rep2 = _people(world)
    plan, t1, t2 = _two_territory_plan("Merge", rep1, rep2)
    account("A", "37201", "TN")
    account("B", "38101", "TN")
    r1 = services.rule_save(plan=plan, territory=t1, kind="zip3", value="372")
    services.rule_save(plan=plan, territory=t2, kind="zip3", value="381")
    services.territory_merge(source=t2, target=t1)
    assert set(PlanAssignment.objects.filter(plan=plan).values_list("territory__code", flat=True)) == {"T1"}
    assert t1.coverage.filter(role="primary").get().person == rep1
    assert t1.coverage.filter(role="overlay").get().person == rep2
    new = services.territory_split(territory=t1, code="T3", name="Split", rules=[r1])
    assert new.rules.get() == r1
    assert set(PlanAssignment.objects.filter(plan=plan).values_list("territory__code", flat=True)) == {"T1", "T3"}


def test_payer_adjustment_factor_from_rcm_aggregates_hand_computed(a, world):
    commercial = Payer.objects.create(name="Acme", payer_class="commercial")
    medicaid = Payer.objects.create(name="State Medicaid", payer_class="medicaid")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM rcm_feeds_kpi_monthly WHERE tenant_id = %s", [world.a.org.pk])
        for month, payer, charges, denied, adjudicated, payments in (
            ("2024-03-01", commercial.pk, 600, 60, 600, 324),   # inside the window
            ("2024-12-01", commercial.pk, 200, 20, 200, 108),
            ("2024-06-01", medicaid.pk, 200, 50, 200, 75),
            ("2023-12-01", commercial.pk, 9999, 0, 9999, 9999),  # before the 12 months: ignored
            ("2025-01-01", medicaid.pk, 9999, 0, 9999, 9999),    # the plan's own month: ignored
        ):
            cursor.execute(
                "INSERT INTO rcm_feeds_kpi_monthly (tenant_id, month, payer_id, charges_submitted, "
                "charges_denied_initial, remit_charges, payments) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [world.a.org.pk, month, payer, charges, denied, adjudicated, payments])
    adj = selectors.payer_adjustment(as_of=JAN)
    # commercial: mix 800/1000 = 0.8, denial 80/800 = 0.1, yield 432/(800-80) = 0.6 -> 0.8*0.6*0.9 = 0.432
    # medicaid:   mix 0.2, denial 50/200 = 0.25, yield 75/(200-50) = 0.5 -> 0.2*0.5*0.75 = 0.075
    assert adj.factor == Decimal("0.507")
    assert [c["payer_class"] for c in adj.by_class] == ["commercial", "medicaid"]
    plan = services.plan_create(name="Adjusted", effective_from=JAN)  # payer-adjusted is the default basis
    t1 = services.territory_create(plan=plan, code="T1", name="One")
    t2 = services.territory_create(plan=plan, code="T2", name="Two")
    services.rule_save(plan=plan, territory=t1, kind="zip", value="37201")
    services.rule_save(plan=plan, territory=t2, kind="zip", value="38101")
    account("One", "37201", "TN", revenue="1000", visits="12")
    account("Two", "38101", "TN", revenue="3000", visits="24")
    account("Three", "38101", "TN", revenue="1000", visits="6")
    services.plan_assign(plan=plan)
    balance = selectors.plan_balance(plan=plan)
    by_code = {r["code"]: r for r in balance.territories}
    assert by_code["T1"]["potential"] == Decimal("507.00") and by_code["T2"]["potential"] == Decimal("2028.00")
    assert by_code["T2"]["workload"] == Decimal("30") and by_code["T2"]["accounts"] == 2
    # mean 1267.5; deviations 760.5 -> CV 0.6, max/min 4.0, largest deviation 60%
    assert balance.mean == Decimal("1267.50")
    assert balance.cv == pytest.approx(0.6) and balance.max_min_ratio == pytest.approx(4.0)
    assert balance.max_deviation_pct == pytest.approx(60.0)
    assert "Payer-adjusted" in balance.note
    no_rcm = selectors.payer_adjustment(as_of=dt.date(2030, 1, 1))
    assert no_rcm.factor is None


def test_delete_keeps_history_plans(a, world):
    rep1, rep2 = _people(world)
    plan, t1, _ = _two_territory_plan("Keep", rep1, rep2)
    services.plan_propose(plan=plan)
    services.plan_approve(plan=plan, user=world.a.users["admin"])
    services.plan_activate(plan=plan)
    with pytest.raises(ValidationError, match="kept"):
        services.plan_delete(plan=plan)
    draft = services.plan_copy(plan=plan, name="Scratch")
    services.plan_delete(plan=draft)
    assert not PlanAssignment.objects.filter(plan_id=draft.pk).exists()
    assert RuleKind.ZIP == "zip"


def test_a_draft_a_quota_plan_is_built_on_is_refused_with_the_reason_and_left_whole(a, world):
    from quotas import services as quota_services

    rep1, rep2 = _people(world)
    plan, t1, _ = _two_territory_plan("Base", rep1, rep2)
    quota_services.plan_create(name="FY plan", fiscal_year=2025, territory_plan=plan,
                               company_target=Decimal("120000"))
    from territories.models import Territory

    territories = Territory.objects.filter(plan=plan).count()
    with pytest.raises(ValidationError, match="quota plan “FY plan” uses it"):
        services.plan_delete(plan=plan)
    assert Territory.objects.filter(plan=plan).count() == territories == 2  # nothing half-deleted
    response = world.a.client("admin").post(f"/territories/plans/{plan.pk}/delete/")
    assert response.status_code == 400 and "FY plan" in response.content.decode()


def test_travel_proxy_is_the_mean_distance_to_the_territory_centroid(a):
    plan = services.plan_create(name="Travel", effective_from=JAN, potential_basis="revenue")
    t1 = services.territory_create(plan=plan, code="T1", name="Equator")
    services.rule_save(plan=plan, territory=t1, kind="state", value="TN")
    # Two accounts on the equator 2 degrees of longitude apart: the centroid is halfway, each is one
    # degree of arc (6371 km x pi / 180 = 111.19 km) from it.
    for lon in ("-1", "1"):
        Account.objects.create(name=f"E{lon}", zip_code="37201", state="TN", latitude=Decimal("0"),
                               longitude=Decimal(lon))
    services.plan_assign(plan=plan)
    (row,) = selectors.plan_balance(plan=plan).territories
    assert row["travel_km"] == pytest.approx(111.19, abs=0.01)
