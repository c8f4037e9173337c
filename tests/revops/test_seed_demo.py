"""seed_demo: two unlike organizations, users of every role, real geography, a sound hierarchy, determinism,
and each organization's billing (RCM) history loaded through the ingestion path."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections import Counter
from typing import Any

import pytest
import zipcodes
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.models import F, Max, Min
from django.test import override_settings
from django_celery_beat.models import PeriodicTask

from rcm_feeds import kpis
from rcm_feeds import models as rcm
from rcm_feeds.services.runs import JOB_KIND
from revops import selectors
from revops.authentication import hash_secret
from revops.demo import catalog, scale
from revops.demo.rcm import profiles, rcm_seed
from revops.demo.services import DEMO_PASSWORD, SHARED_USERNAME, demo_organizations, demo_reset, demo_seed
from revops.models import (
    Account,
    ApiKey,
    Facility,
    Job,
    Membership,
    Organization,
    Payer,
    Person,
    Program,
    ReportingLine,
    Role,
    ServiceLine,
    Team,
    TenantSchedule,
)
from revops.tenancy import tenant_context

YEAR = 2024
MD5 = "django.contrib.auth.hashers.MD5PasswordHasher"
SCALE = 2  # the core plus one scale unit, so the COPY scale-out path is covered too
PILLARS = {"quotas": False, "forecasting": False, "commissions": False}  # what the module builds besides the core


def _delete_demo_users() -> None:
    get_user_model().objects.filter(username__regex=r"^(riverbend-|meridian-|demo-both$)").delete()


@pytest.fixture(scope="module")
def demo(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any) -> Any:
    """The demo built once for the module (committed); removed again at the end.

    The organizations at SCALE, and their billing history at demo size: what ``seed_demo`` loads,
    without the benchmark batch of billing data a scale unit adds (its generator is tested in
    test_demo_rcm.py; loading it here would double the module's time).
    """
    files = tmp_path_factory.mktemp("seed_demo")
    # The same fast hasher the function-scoped conftest fixture sets, so passwords verify in tests.
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=[MD5], MEDIA_ROOT=files / "media",
                                                         RCM_INBOX_ROOT=files / "inbox"):
        # Quotas, forecasts and commissions are left out: nothing here reads them, and each has its own demo
        # test (tests/<pillar>/test_demo_seed.py); at SCALE they were ~60% of the module's time.
        outcome = demo_seed(seed=42, scale_factor=SCALE, year=YEAR, billing=False, **PILLARS)
        for org in outcome.orgs:
            org.billing = rcm_seed(organization=org.organization, seed=42, year=YEAR)
        try:
            yield outcome
        finally:
            demo_reset()
            _delete_demo_users()


@pytest.fixture
def orgs(demo: Any, db: Any) -> dict[str, Organization]:
    return {o.slug: o for o in demo_organizations()}


def luhn_valid(digits: str) -> bool:
    """Textbook Luhn, independent of revops.demo.identifiers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def fingerprint(org: Organization) -> str:
    """A digest of the organization's data by natural keys (database ids differ run to run)."""
    h = hashlib.sha256()
    with tenant_context(org):
        parts = [
            Account.objects.order_by("external_id").values_list(
                "external_id", "name", "npi", "specialty", "account_type", "service_line__code", "zip_code",
                "city", "county", "state", "latitude", "longitude", "is_active"),
            Person.objects.order_by("employee_id").values_list(
                "employee_id", "first_name", "last_name", "email", "title", "role", "team__name", "hire_date",
                "termination_date"),
            ReportingLine.objects.order_by("person__employee_id", "valid_from").values_list(
                "person__employee_id", "manager__employee_id", "valid_from", "valid_to"),
            Team.objects.order_by("name").values_list("name", "parent__name", "service_line__code"),
            Payer.objects.order_by("name").values_list("name", "payer_class", "payer_id"),
            Facility.objects.order_by("name").values_list("name", "npi", "zip_code", "state"),
            Program.objects.order_by("code").values_list("code", "name", "level_of_care", "facility__name",
                                                         "place_of_service", "is_part2"),
        ]
        for rows in parts:
            for row in rows:
                h.update(repr(row).encode())
    return h.hexdigest()


# --- what each organization holds (counts checked by hand against revops/demo/catalog.py)


def test_two_unlike_organizations(orgs):
    bh, lab = orgs["riverbend-bh"], orgs["meridian-dx"]
    assert (bh.name, bh.kind, bh.fiscal_year_start_month) == ("Riverbend Behavioral Health", "behavioral_health", 7)
    assert (lab.name, lab.kind, lab.fiscal_year_start_month) == ("Meridian Diagnostics", "lab", 1)
    assert lab.ekra_covered and bh.ekra_covered  # a lab, and a substance-use treatment provider


def test_behavioral_health_network_contents(orgs):
    with tenant_context(orgs["riverbend-bh"]):
        assert Facility.objects.count() == 6
        assert {(f.state) for f in Facility.objects.all()} == {"TN", "KY", "NC", "GA"}
        programs = {p.code: p for p in Program.objects.all()}
        assert len(programs) == 11
        assert Counter(p.level_of_care for p in programs.values()) == {
            "php": 3, "iop": 3, "op": 3, "residential": 1, "detox": 1}
        assert [c for c, p in programs.items() if p.is_part2] == ["LOU-WM"]
        assert programs["LOU-WM"].level_of_care == "detox"
        pos = {p.level_of_care: set() for p in programs.values()}
        for p in programs.values():
            pos[p.level_of_care].add(p.place_of_service)
        assert pos == {"php": {"52"}, "iop": {"53"}, "op": {"11"}, "residential": {"56"}, "detox": {"55"}}
        classes = Counter(Payer.objects.values_list("payer_class", flat=True))
        assert classes == {"medicaid": 3, "medicaid_managed": 7, "commercial": 6, "medicare": 1,
                           "medicare_advantage": 1, "other": 1, "self_pay": 1}
        assert Counter(Person.objects.values_list("role", flat=True)) == {"executive": 1, "manager": 2, "rep": 10}
        assert Account.objects.count() == 180 + scale.RIVERBEND_ACCOUNTS_PER_UNIT
        types = Counter(Account.objects.values_list("account_type", flat=True))
        assert {"hospital", "physician_practice", "community_org", "clinic"} <= set(types)
        assert Account.objects.filter(specialty="Emergency Medicine").exists()
        assert set(Account.objects.values_list("state", flat=True)) <= {"TN", "KY", "NC", "GA", "VA", "SC", "AL",
                                                                       "IN", "OH", "WV", "MS", "IL", "MO", "AR"}


def test_lab_sales_organization_contents(orgs):
    with tenant_context(orgs["meridian-dx"]):
        assert sorted(ServiceLine.objects.values_list("code", flat=True)) == ["MOL", "PATH", "TOX"]
        assert Payer.objects.count() == 13
        core = Person.objects.exclude(employee_id__startswith="MDX-S")
        assert Counter(core.values_list("role", flat=True)) == {"executive": 1, "manager": 9, "rep": 27, "overlay": 2}
        assert Counter(core.values_list("title", flat=True)) == {
            "Vice President of Sales": 1, "Regional Sales Director": 3, "Area Sales Manager": 6,
            "Territory Sales Representative": 27, "Molecular Diagnostics Specialist": 2}
        # One scale unit: 5 districts of a manager and 10 reps, 2 area managers, 1 director, 1 divisional VP.
        added = Person.objects.filter(employee_id__startswith="MDX-S")
        assert Counter(added.values_list("title", flat=True)) == {
            "Territory Sales Representative": 50, "District Sales Manager": 5, "Area Sales Manager": 2,
            "Regional Sales Director": 1, "Divisional Vice President of Sales": 1}
        assert Team.objects.count() == 11 + 9
        assert Account.objects.count() == 360 + scale.MERIDIAN_ACCOUNTS_PER_UNIT
        assert Account.objects.filter(service_line__isnull=True).count() == 0
        assert len(set(Account.objects.values_list("state", flat=True))) >= 40  # nationwide at scale


def test_lab_year_of_changes(orgs):
    with tenant_context(orgs["meridian-dx"]):
        core = Person.objects.exclude(employee_id__startswith="MDX-S")
        hired = core.filter(hire_date__year=YEAR).order_by("hire_date")
        assert [p.hire_date for p in hired] == [dt.date(YEAR, 2, 3), dt.date(YEAR, 4, 14), dt.date(YEAR, 9, 8)]
        terminated = core.get(termination_date__isnull=False)
        assert terminated.termination_date == dt.date(YEAR, 5, 30)
        assert selectors.manager_of(person=terminated, on=dt.date(YEAR, 5, 30)) is not None
        assert selectors.manager_of(person=terminated, on=dt.date(YEAR, 5, 31)) is None
        june, july = dt.date(YEAR, 6, 30), dt.date(YEAR, 7, 1)
        changed = [p for p in core if selectors.manager_of(person=p, on=june) != selectors.manager_of(person=p, on=july)]
        assert {p.title for p in changed} == {"Territory Sales Representative", "Area Sales Manager"}
        assert len(changed) == 2


def test_every_role_has_a_demo_user_and_the_rep_is_a_person(orgs):
    for slug, org in orgs.items():
        with tenant_context(org):
            memberships = Membership.objects.select_related("user", "person")
            own = {m.role: m for m in memberships if m.user.username != SHARED_USERNAME}
            assert set(own) == set(Role.values), slug
            assert len(memberships) == len(Role.values) + 1
            rep = own[Role.REP]
            assert rep.person is not None and rep.person.user_id == rep.user_id
            assert rep.person.role == "rep"


def test_one_user_belongs_to_both_organizations_with_different_roles(orgs):
    user = get_user_model().objects.get(username=SHARED_USERNAME)
    memberships = selectors.memberships_for_user(user=user)
    assert {(m.tenant.slug, m.role) for m in memberships} == {
        ("riverbend-bh", "executive"), ("meridian-dx", "revops_analyst")}


def test_printed_logins_work(demo, db):
    assert len(demo.logins) == 2 * (len(Role.values) + 1)
    users = {u.username: u for u in get_user_model().objects.filter(username__in=[l.username for l in demo.logins])}
    for login in demo.logins:
        assert login.password == DEMO_PASSWORD
        assert users[login.username].is_active and users[login.username].check_password(login.password)


def test_each_organization_has_an_api_key_and_default_schedules(demo, orgs):
    keys = {o.organization.slug: o.api_key for o in demo.orgs}
    for slug, org in orgs.items():
        with tenant_context(org):
            key = ApiKey.objects.get()
            prefix, secret = keys[slug].split(".", 1)
            assert key.prefix == prefix and key.key_hash == hash_secret(secret)
            schedules = TenantSchedule.objects.exclude(task="rcm_feeds.tasks.feeds_poll").order_by("name")
            assert list(schedules.values_list("name", flat=True)) == ["Prune old jobs", "Refresh the executive dashboard"]


# --- real geography and valid identifiers


def test_every_account_sits_on_a_real_zip_with_its_city_county_and_point(orgs):
    real = {z["zip_code"]: z for z in zipcodes.list_all()}
    for org in orgs.values():
        with tenant_context(org):
            rows = Account.objects.values_list("zip_code", "city", "county", "state", "latitude", "longitude")
            for zip_code, city, county, state, lat, lon in rows.iterator():
                z = real[zip_code]
                assert (city, county, state) == (z["city"], z["county"], z["state"])
                assert abs(float(lat) - float(z["lat"])) < 1e-6 and abs(float(lon) - float(z["long"])) < 1e-6
            for facility in Facility.objects.all():
                assert real[facility.zip_code]["state"] == facility.state


def test_npis_pass_the_luhn_check_and_are_unique(orgs):
    for org in orgs.values():
        with tenant_context(org):
            npis = [n for n in Account.objects.values_list("npi", flat=True) if n]
            npis += list(Facility.objects.values_list("npi", flat=True))
            assert npis
            assert all(len(n) == 10 and n[0] in "12" and luhn_valid("80840" + n) for n in npis)
            assert len(set(npis)) == len(npis)


# --- the effective-dated hierarchy


def _depth_and_check(managers: dict[int, int], person: int) -> int:
    seen, depth = {person}, 1
    while person in managers:
        person = managers[person]
        assert person not in seen, "cycle in the reporting lines"
        seen.add(person)
        depth += 1
    return depth


@pytest.mark.parametrize("on", [dt.date(YEAR, 1, 1), dt.date(YEAR, 5, 31), dt.date(YEAR, 6, 30),
                                dt.date(YEAR, 7, 1), dt.date(YEAR, 12, 31), dt.date(YEAR + 1, 3, 1)])
def test_hierarchy_is_a_tree_with_one_manager_per_person_on_each_date(orgs, on):
    for slug, org in orgs.items():
        with tenant_context(org):
            active = set(selectors.people_active_on(on=on).values_list("pk", flat=True))
            lines = list(selectors.reporting_lines_on(on=on).values_list("person_id", "manager_id"))
            per_person = Counter(p for p, _ in lines)
            assert max(per_person.values()) == 1
            managers = dict(lines)
            assert set(managers) <= active and set(managers.values()) <= active
            tops = active - set(managers)
            assert len(tops) == 1, (slug, on)  # everyone else reports to someone
            depths = {p: _depth_and_check(managers, p) for p in active}
            if slug == "meridian-dx":
                assert max(depths.values()) == 6  # VP > divisional VP > director > area > district > rep
            else:
                assert max(depths.values()) == 3


def test_scale_100_plan_is_about_five_thousand_people_in_six_levels():
    import random

    from revops.demo.scale import _plan_meridian

    teams, people = _plan_meridian(random.Random("42:meridian-dx:scale"), scale_units=99, year=YEAR)
    assert [len(level) for level in teams] == [8, 31, 124, 495]  # divisions, regions, areas, districts
    assert Counter(p.title for p in people) == {
        "Divisional Vice President of Sales": 8, "Regional Sales Director": 31, "Area Sales Manager": 124,
        "District Sales Manager": 495, "Territory Sales Representative": 4950}
    by_id = {p.employee_id: p for p in people}
    seen: set[str] = set()
    for p in people:  # managers are planned before their reports, so loading in order is safe
        assert p.manager is None or p.manager in seen
        seen.add(p.employee_id)
    movers = [p for p in people if p.moved_to]
    terminated = [p for p in people if p.termination_date]
    assert 0.05 < len(movers) / 4950 < 0.15 and 0.04 < len(terminated) / 4950 < 0.12
    assert not {p.employee_id for p in movers} & {p.employee_id for p in terminated}
    for p in movers:  # to another district of the same area
        old, new = by_id[p.manager], by_id[p.moved_to]
        assert old is not new and old.manager == new.manager


# --- tenancy


def test_organizations_never_see_each_other(orgs):
    bh, lab = orgs["riverbend-bh"], orgs["meridian-dx"]
    for org, other in ((bh, lab), (lab, bh)):
        with tenant_context(org):
            for model in (Account, Person, ReportingLine, Team, Payer, Facility, ServiceLine, Membership, ApiKey):
                assert set(model.objects.unscoped().values_list("tenant_id", flat=True)) == {org.pk}, model
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM revops_account WHERE tenant_id = %s", [other.pk])
                assert cursor.fetchone()[0] == 0


# --- billing (RCM) history, loaded through the ingestion path

RCM_MODELS = (rcm.Feed, rcm.ReceivedFile, rcm.IngestionRun, rcm.IngestionWarning, rcm.QuarantineItem, rcm.Claim,
              rcm.ClaimLine, rcm.Remittance, rcm.ClaimPayment, rcm.ServicePayment, rcm.Adjustment,
              rcm.ProviderAdjustment, rcm.Denial, rcm.Acknowledgment, rcm.ArBalance, rcm.RcmCost, rcm.CarcCategory)
AGGREGATES = ("rcm_feeds_kpi_monthly", "rcm_feeds_denial_monthly", "rcm_feeds_denial_resolution_monthly")
SETTLED = ("loaded", "loaded_with_warnings", "partial", "duplicate")


def rcm_rows(org: Organization) -> dict[str, int]:
    """Rows of every RCM table (and the KPI aggregates) the organization holds."""
    with tenant_context(org):
        counts = {model.__name__: model.objects.count() for model in RCM_MODELS}
        with connection.cursor() as cursor:
            for table in AGGREGATES:
                cursor.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", [org.pk])
                counts[table] = cursor.fetchone()[0]
    return counts


def test_each_organization_has_feeds_polled_on_a_schedule(orgs):
    for slug, org in orgs.items():
        with tenant_context(org):
            feeds = list(rcm.Feed.objects.select_related("schedule"))
            kinds = Counter(f.kind for f in feeds)
            assert kinds == ({"x12_837": 11, "x12_835": 1, "x12_277ca": 1, "csv_ar": 1, "csv_costs": 1}
                             if slug == "riverbend-bh" else
                             {"x12_837": 1, "x12_835": 1, "x12_277ca": 1, "csv_ar": 1, "csv_costs": 1})
            for feed in feeds:
                assert feed.inbox_dir and feed.schedule.enabled and feed.schedule.crontab == feed.crontab
                assert feed.schedule.task == "rcm_feeds.tasks.feeds_poll"
            assert rcm.Feed.objects.get(kind="csv_ar").column_mapping["as_of"] == "Snapshot Date"


def test_each_organization_has_eighteen_months_of_claims_payments_and_denial_work(demo, orgs):
    for slug, org in orgs.items():
        with tenant_context(org):
            claims = rcm.Claim.objects.all()
            assert 2_500 < claims.count() < 6_000, slug
            assert claims.aggregate(first=Min("submitted_on"), last=Max("submitted_on")) == {
                "first": dt.date(YEAR - 1, 7, 5), "last": dt.date(YEAR, 12, 5)}
            assert rcm.ClaimLine.objects.count() > 2.5 * claims.count()
            # Loaded in the command's own process: every run settled, no job left for a worker.
            assert set(rcm.IngestionRun.objects.values_list("status", flat=True)) <= set(SETTLED)
            assert not Job.objects.filter(kind=JOB_KIND).exists()
            assert not rcm.Remittance.objects.filter(balanced=False).exists()
            assert rcm.ClaimPayment.objects.filter(claim__isnull=True).count() == 0  # every payment found its claim
            # Denials of many kinds, at claim and line level, in every state of their lifecycle.
            denials = rcm.Denial.objects.all()
            assert {"authorization", "medical_necessity", "eligibility", "missing_information", "timely_filing",
                    "duplicate", "wrong_payer", "bundling"} <= set(denials.values_list("category", flat=True))
            assert {"claim", "line"} == set(denials.values_list("level", flat=True))
            states = Counter(denials.values_list("status", flat=True))
            assert min(states[s] for s in ("open", "appealed", "overturned", "written_off")) > 0, states
            for denial in denials.filter(status="overturned"):
                assert denial.overturned_by_id and denial.resolved_on > denial.denied_on
                assert denial.recovered_amount > 0
            assert denials.filter(status="overturned", appealed_on__isnull=False).exists()  # appealed, then paid
            assert not denials.filter(status="written_off", write_off_reason="").exists()
            # Front-end rejections, corrected claims, reversals.
            assert claims.filter(front_end_status="rejected").count() > 0.02 * claims.count()
            corrected = claims.filter(frequency="7")
            assert corrected.exists() and not corrected.filter(original_claim__isnull=True).exists()
            reversals = rcm.ClaimPayment.objects.filter(is_reversal=True)
            assert reversals.exists() and reversals.count() == rcm.ClaimPayment.objects.filter(
                reversed_by__isnull=False).count()
            # A/R snapshots and cost entries, monthly.
            assert rcm.ArBalance.objects.values("as_of").distinct().count() == 18
            assert rcm.ArBalance.objects.aggregate(last=Max("as_of"))["last"] == dt.date(YEAR, 12, 31)
            assert rcm.RcmCost.objects.values("month").distinct().count() == 18
        billing = next(o.billing for o in demo.orgs if o.organization.slug == slug)
        assert billing.appeals > 0 and billing.write_offs > 0 and billing.files_loaded == billing.rows["files"]


def test_late_repeated_and_bad_files_are_handled_as_ingestion_handles_them(orgs):
    with tenant_context(orgs["riverbend-bh"]):
        # One program's 837 arrived after the payer had paid its claims: linked when it loaded.
        assert rcm.IngestionWarning.objects.filter(code="ack_unmatched").exists()
        partial = rcm.IngestionRun.objects.get(status="partial")  # an A/R snapshot with two bad rows
        assert sorted(partial.quarantine.values_list("reason_code", flat=True)) == ["bad_date", "unknown_program"]
    with tenant_context(orgs["meridian-dx"]):
        # An ERA sent twice: the second file is recognised by its TRN trace and loads nothing.
        duplicate = rcm.IngestionRun.objects.get(status="duplicate")
        assert "resent" in duplicate.file.filename


def test_riverbend_claims_belong_to_their_programs_and_part2_claims_are_tagged(orgs):
    with tenant_context(orgs["riverbend-bh"]):
        detox = Program.objects.get(code="LOU-WM")
        assert detox.is_part2
        claims = rcm.Claim.objects.all()
        assert not claims.exclude(program=F("source_file__feed__source_program")).exists()
        institutional = {"NSH-PHP", "KNX-PHP", "DEC-PHP", "KNX-RES", "LOU-WM"}
        for code, kind in claims.values_list("program__code", "kind").distinct():
            assert kind == ("I" if code in institutional else "P"), code
        part2 = claims.filter(part2_program__isnull=False)
        assert part2.exists() and set(part2.values_list("part2_program", flat=True)) == {detox.pk}
        assert part2.count() == claims.filter(program=detox).count()
        payments = rcm.ClaimPayment.objects.filter(claim__program=detox)
        assert payments.exists() and not payments.exclude(part2_program=detox).exists()
        assert not rcm.ClaimPayment.objects.exclude(claim__program=detox).filter(part2_program__isnull=False).exists()
        names = {p.name for p in catalog.RIVERBEND_PAYERS}
        assert set(claims.values_list("payer__name", flat=True)) <= names


def test_meridian_bills_lab_tests_from_its_laboratories(orgs):
    with tenant_context(orgs["meridian-dx"]):
        claims = rcm.Claim.objects.all()
        assert set(claims.values_list("facility_code", flat=True)) == {"81"}
        assert set(claims.values_list("facility__name", flat=True)) == {f.name for f in catalog.MERIDIAN_FACILITIES}
        codes = set(rcm.ClaimLine.objects.values_list("procedure_code", flat=True))
        assert {"80053", "85025", "87491", "0240U", "81003"} <= codes
        assert not claims.filter(program__isnull=False).exists()
        assert set(claims.values_list("payer__payer_class", flat=True)) <= {
            "medicare", "medicare_advantage", "commercial", "medicaid", "medicaid_managed"}


def test_kpis_have_values_for_the_latest_month_and_every_kpi_over_the_year(orgs):
    december = dt.date(YEAR, 12, 1)
    for slug, org in orgs.items():
        with tenant_context(org):
            (row,) = kpis.kpi_series(kpis.KpiFilters(start=december, end=december))
            assert row.month == december
            for key in ("clean_claim_rate", "first_pass_yield", "initial_denial_rate", "net_collection_rate",
                        "gross_collection_rate", "net_days_in_ar", "ar_over_90_pct", "cost_to_collect",
                        "gross_to_net_yield", "days_to_pay", "denial_overturn_rate"):
                assert row.values[key].value is not None, (slug, key)
            year = kpis.KpiFilters(start=dt.date(YEAR, 1, 1), end=december)
            rows = kpis.kpi_series(year)
            assert len(rows) == 12
            for definition in kpis.KPIS:
                assert all(r.values[definition.key].value is not None for r in rows[:10]), (slug, definition.key)
            for r in rows[:10]:  # months whose claims the payers have adjudicated
                v = {k: x.value for k, x in r.values.items()}
                assert 85 <= v["clean_claim_rate"] <= 100 and 3 <= v["initial_denial_rate"] <= 20
                assert 20 <= v["net_days_in_ar"] <= 70 and 1 <= v["cost_to_collect"] <= 6
                assert 20 <= v["days_to_pay"] <= 50
            # The aggregates were refreshed after the last load: they give what the raw tables give.
            raw = kpis.kpi_series(year, source="raw")
            assert [{k: x.value for k, x in r.values.items()} for r in rows] == [
                {k: x.value for k, x in r.values.items()} for r in raw]
            assert len({d["payer"] for d in kpis.days_to_pay_by_payer(year)}) > 8
            assert {d["key"] for d in kpis.denial_pareto(year)} >= {"authorization", "medical_necessity"}


def test_billing_rows_stay_in_their_organization(orgs):
    bh, lab = orgs["riverbend-bh"], orgs["meridian-dx"]
    for org, other, prefix in ((bh, lab, "RB"), (lab, bh, "MD")):
        with tenant_context(org):
            for model in RCM_MODELS:  # (Meridian's files all loaded whole: it has no quarantine item)
                tenants = set(model.objects.unscoped().values_list("tenant_id", flat=True))
                assert tenants == {org.pk} or (tenants == set() and model is rcm.QuarantineItem), model
            pcns = rcm.Claim.objects.values_list("patient_control_number", flat=True)
            assert all(pcn.startswith(prefix) for pcn in pcns)
            assert not rcm.ArBalance.objects.exclude(patient_control_number__startswith=prefix).exists()
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM rcm_feeds_claim WHERE tenant_id = %s", [other.pk])
                assert cursor.fetchone()[0] == 0


def test_seeding_the_billing_history_again_adds_no_rows(orgs):
    before = {slug: rcm_rows(org) for slug, org in orgs.items()}
    for org in orgs.values():
        again = rcm_seed(organization=org, seed=42, year=YEAR)
        assert (again.files_loaded, again.appeals, again.write_offs) == (0, 0, 0)
        assert again.notes == ["core: loaded whole before"]
    out = io.StringIO()
    call_command("seed_demo", "--seed", "42", "--year", str(YEAR), "--no-quotas", "--no-forecasting", "--no-commissions",
                 stdout=out)
    assert out.getvalue().count("(nothing new to load)") == 2
    assert {slug: rcm_rows(org) for slug, org in orgs.items()} == before


def test_an_interrupted_billing_history_is_resumed_where_it_stopped(orgs):
    """Files already received are recognised by their content and skipped; the rest load."""
    org = orgs["meridian-dx"]
    complete = rcm_rows(org)
    with tenant_context(org):
        last = rcm.ReceivedFile.objects.order_by("-received_at", "-pk").first()
        name = last.filename
        # Take the history's last file out again (runs, rows and all), as if the load had stopped before it.
        rcm.RcmCost.objects.filter(source_file=last).delete()
        rcm.IngestionRun.objects.filter(file=last).delete()
        last.delete()
    again = rcm_seed(organization=org, seed=42, year=YEAR)
    assert again.files_loaded == 1 and again.files_skipped == complete["ReceivedFile"] - 1
    assert rcm_rows(org)["RcmCost"] == complete["RcmCost"]
    with tenant_context(org):
        assert rcm.ReceivedFile.objects.filter(filename=name).exists()


# --- determinism, idempotency, reset


def test_each_organization_has_territory_plans_with_history_and_a_balanced_draft(orgs):
    from territories import selectors as territory_selectors
    from territories.models import AccountOwnership, BalanceRun, TerritoryPlan

    for org in orgs.values():
        with tenant_context(org):
            plans = {p.name: p.status for p in TerritoryPlan.objects.all()}
            assert plans == {f"{YEAR} territories": "archived", f"{YEAR} H2 realignment": "active",
                             f"{YEAR + 1} balanced scenario": "draft"}
            draft = TerritoryPlan.objects.get(status="draft")
            run = BalanceRun.objects.get(plan=draft)
            assert run.status == "applied" and run.after["tolerance_met"] is True
            assert run.after["cv"] < run.before["cv"]
            assert territory_selectors.plan_balance(plan=draft).unassigned["accounts"] == 0
            active = Account.objects.filter(is_active=True).count()
            assert len(territory_selectors.ownership_on(on=dt.date(YEAR, 3, 1))) == active
            assert AccountOwnership.objects.filter(reason="holdout").exists()


def test_running_again_changes_nothing(demo, orgs):
    before = {slug: fingerprint(org) for slug, org in orgs.items()}
    users = get_user_model().objects.count()
    again = demo_seed(seed=42, scale_factor=SCALE, year=YEAR, billing=False, **PILLARS)
    assert [o.created for o in again.orgs] == [False, False]
    assert {o.slug: fingerprint(o) for o in demo_organizations()} == before
    assert get_user_model().objects.count() == users
    assert sorted((l.organization, l.username) for l in again.logins) == sorted(
        (l.organization, l.username) for l in demo.logins)


def test_same_seed_same_data_and_another_seed_other_data(orgs):
    before = {slug: fingerprint(org) for slug, org in orgs.items()}
    beat_entries = PeriodicTask.objects.count()
    # The rebuilds make only what the fingerprint compares (the organizations' core data); building the pillars
    # on top again (territories, quotas, forecasts) tripled the module's time and compared nothing more.
    # The rebuild tests run last: the tests above read the full demo the module fixture built.
    light = {"billing": False, "territories": False, "quotas": False, "forecasting": False, "commissions": False}
    rebuilt = demo_seed(seed=42, scale_factor=SCALE, year=YEAR, reset=True, **light)
    assert [o.created for o in rebuilt.orgs] == [True, True]
    assert {o.slug: fingerprint(o) for o in demo_organizations()} == before
    # Reset left no orphaned beat entries: the billing feeds' polling schedules went with their organizations.
    assert PeriodicTask.objects.count() == beat_entries - sum(
        len(profiles.feeds_for(slug, {p.code: p.name for p in catalog.RIVERBEND_PROGRAMS})) for slug in before)
    assert not PeriodicTask.objects.filter(task="rcm_feeds.tasks.feeds_poll").exists()
    demo_seed(seed=7, scale_factor=SCALE, year=YEAR, reset=True, **light)
    other = {o.slug: fingerprint(o) for o in demo_organizations()}
    assert all(other[slug] != before[slug] for slug in before)


def test_command_prints_logins_and_leaves_existing_organizations(orgs):
    out = io.StringIO()
    call_command("seed_demo", "--seed", "42", "--year", str(YEAR), "--no-billing", "--no-quotas", "--no-forecasting",
                 "--no-commissions", stdout=out)
    text = out.getvalue()
    assert "exists: left as it is" in text
    assert "API key" not in text
    for username in ("riverbend-admin", "meridian-billing-manager", "meridian-rep", SHARED_USERNAME):
        assert username in text
    assert DEMO_PASSWORD in text


def test_command_reset_rebuilds_and_shows_each_api_key_once(orgs):
    out = io.StringIO()
    call_command("seed_demo", "--reset", "--year", str(YEAR), "--no-billing", "--no-territories", "--no-quotas",
                 "--no-forecasting", "--no-commissions", stdout=out)
    text = out.getvalue()
    assert text.count("API key (shown once)") == 2
    assert "Created Riverbend Behavioral Health" in text and "Created Meridian Diagnostics" in text
