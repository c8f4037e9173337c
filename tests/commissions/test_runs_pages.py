"""Commission period, run, statement, payout and transaction pages on the March run of
tests/commissions/fixtures.py (worked out by hand in tests/commissions/test_runs.py):

Pat earned 1,660.00 (300 + 50 + 150 + 160 commission, 1,000 bonus); Quinn 150.00 commission, draw paid 350.00,
payout 500.00; Olive 110.00; Mo 300.00; Dee 150.00. Payout 2,720.00; cost (earned) 2,370.00 on 15,000.00 credited
(X1 6,000 + X2 4,000 + X3 5,000) = 15.80%. Teams: CW West (Pat, Quinn) 2,160.00, CW Leaders (Mo) 300.00, no team
(Olive, Dee) 260.00.
"""
from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import NoReverseMatch, reverse

from commissions.models import (
    CommissionPeriod,
    CommissionRun,
    LineItem,
    PeriodStatus,
    RunStatus,
    Statement,
    StatementStatus,
    Transaction,
)
from commissions.services import runs
from commissions.tasks import run_task
from revops.models import Role
from revops.tenancy import tenant_context
from tests.commissions import fixtures

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.commissions.urls_runs_only")]
D = Decimal


def march(tenant) -> dict:
    """The fixture world, its March run, and the tenant's rep user linked to Pat."""
    with tenant_context(tenant.org):
        cw = fixtures.build()
        period = runs.period_ensure(start=fixtures.MAR)
        run = runs.run_now(period=period)
        membership = tenant.users[Role.REP].memberships.get()
        membership.person = cw["pat"]
        membership.save()
        statements = {s.person.first_name: s for s in Statement.objects.filter(period=period).select_related("person")}
    return {**cw, "period": period, "run": run, "statements": statements}


def text(response) -> str:
    return response.content.decode()


def cell(html: str, row_attr: str, row_value: str, col: str) -> str:
    """The text of ``<td data-col=col>`` in the ``<tr row_attr="row_value">`` row."""
    row = re.search(rf'<tr {row_attr}="{re.escape(row_value)}"[^>]*>(.*?)</tr>', html, re.S)
    assert row, f"no row {row_attr}={row_value}"
    value = re.search(rf'data-col="{col}">(.*?)</t[dh]>', row.group(1), re.S)
    assert value, f"no {col} in row {row_value}"
    return re.sub(r"<[^>]+>", "", value.group(1)).strip()


def test_periods_pages_per_role_and_the_period_shows_the_hand_computed_statements(world):
    cw = march(world.a)
    period_url = reverse("commissions_period", args=[cw["period"].pk])
    for role in (Role.ADMIN, Role.EXECUTIVE, Role.REVOPS_ANALYST, Role.INTEGRATOR):
        assert world.a.client(role).get(reverse("commissions_periods")).status_code == 200, role
        assert world.a.client(role).get(period_url).status_code == 200, role
    for role in (Role.REP, Role.BILLING_MANAGER):
        assert world.a.client(role).get(reverse("commissions_periods")).status_code == 403, role
        assert world.a.client(role).get(period_url).status_code == 403, role

    html = text(world.a.client(Role.REVOPS_ANALYST).get(period_url))
    expected = {"Pat Seller": ("1,660.00", "0.00", "1,660.00"), "Quinn Closer": ("150.00", "350.00", "500.00"),
                "Olive Overlay": ("110.00", "0.00", "110.00"), "Mo Manager": ("300.00", "0.00", "300.00"),
                "Dee Director": ("150.00", "0.00", "150.00")}
    for name, (earned, draw, payout) in expected.items():
        assert (cell(html, "data-person", name, "earned"), cell(html, "data-person", name, "draw_paid"),
                cell(html, "data-person", name, "payout")) == (earned, draw, payout)
    assert re.search(r'data-col="payout">2,720.00<', html)
    assert re.search(r'data-col="earned">2,370.00<', html)
    assert "Everything credited:" in html and "0 transactions nobody owned on the date" in html
    assert f'href="{reverse("commissions_run", args=[cw["run"].pk])}"' in html
    assert "Approve and lock" not in html  # analysts run periods, executives and admins lock them
    assert "Approve and lock" in text(world.a.client(Role.EXECUTIVE).get(period_url))

    # The statements export has the same numbers.
    export = world.a.client(Role.REVOPS_ANALYST).get(period_url + "?format=csv")
    rows = {r["first_name"]: r for r in csv.DictReader(io.StringIO(export.content.decode("utf-8-sig")))}
    assert (rows["Pat"]["earned"], rows["Quinn"]["draw_paid"], rows["Quinn"]["payout"]) == ("1660.00", "350.00",
                                                                                          "500.00")
    xlsx = world.a.client(Role.REVOPS_ANALYST).get(period_url + "?format=xlsx")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")

    # Another organization's period is not found.
    with tenant_context(world.b.org):
        b_period = runs.period_ensure(start=fixtures.MAR)
    assert world.a.client(Role.REVOPS_ANALYST).get(
        reverse("commissions_period", args=[b_period.pk])).status_code == 404


def test_a_rep_reads_only_their_own_statement_with_every_line_explained(world):
    cw = march(world.a)
    pat, quinn = cw["statements"]["Pat"], cw["statements"]["Quinn"]
    rep = world.a.client(Role.REP)

    mine = rep.get(reverse("commissions_my"))
    assert mine.status_code == 200
    html = text(mine)
    assert cell(html, "data-period", "Mar 2026", "payout") == "1,660.00"
    assert "Quinn" not in html

    page = rep.get(reverse("commissions_statement", args=[pat.pk]))
    assert page.status_code == 200
    html = text(page)
    assert 'data-col="earned">1,660.00</dd>' in html and 'data-col="payout"><strong>1,660.00</strong></dd>' in html
    assert "Credited <strong>12,000.00</strong> against a quota of 10,000.00: <strong>120.00%</strong>" in html
    assert ("Deal X3 on 20 Mar 2026 credited to you as account owner (100%): $5,000.00. Bookings commission (AE v1), "
            "tier 2 (above 100% of quota) at 8.0000% on $2,000.00 → $160.00. Attainment 100.00% → 120.00%.") in html
    assert "Quota bonus (AE v1): attainment bonus; final attainment 120.00% reached tier 1" in html
    with tenant_context(world.a.org):
        line_ids = set(LineItem.objects.filter(run=cw["run"], person=cw["pat"]).values_list("pk", flat=True))
    assert {int(x) for x in re.findall(r'<tr data-line="(\d+)"', html)} == line_ids
    assert "@media print" in html
    try:
        dispute = reverse("commissions_dispute_new")
    except NoReverseMatch:  # the disputes area is not routed here: no dead links
        assert "Dispute this line" not in html
    else:
        assert f'href="{dispute}?line={min(line_ids)}"' in html
    assert "Approve as" not in html  # reps do not approve

    # Someone else's statement does not exist for a rep; an analyst reads it (in the third person).
    assert rep.get(reverse("commissions_statement", args=[quinn.pk])).status_code == 404
    analyst = text(world.a.client(Role.REVOPS_ANALYST).get(reverse("commissions_statement", args=[quinn.pk])))
    assert "credited to Quinn Closer by split (75%): $3,000.00" in analyst
    assert 'data-col="draw_paid">350.00<' in analyst and 'data-col="payout"><strong>500.00</strong><' in analyst
    assert "Recoverable draw balance after this period: <strong>350.00</strong>" in analyst
    assert world.a.client(Role.BILLING_MANAGER).get(reverse("commissions_statement", args=[pat.pk])).status_code == 403

    # The lines export has every line with its explanation.
    export = rep.get(reverse("commissions_statement", args=[pat.pk]) + "?format=csv")
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert len(rows) == len(line_ids)
    assert sum(D(r["amount"]) for r in rows) == D("1660.00")
    assert all(r["explanation"] for r in rows)

    # Another organization's statement: 404 for every role.
    with tenant_context(world.b.org):
        b = fixtures.build()
        b_run = runs.run_now(period=runs.period_ensure(start=fixtures.MAR))
        b_statement = Statement.objects.get(run=b_run, person=b["pat"])
    for role in (Role.ADMIN, Role.REVOPS_ANALYST, Role.REP):
        assert world.a.client(role).get(reverse("commissions_statement", args=[b_statement.pk])).status_code == 404


def test_statements_with_many_lines_page_through_them_two_hundred_at_a_time(world):
    cw = march(world.a)
    with tenant_context(world.a.org):
        from commissions.services.transactions import transactions_upsert

        rows = [(f"BULK-{i}", "bookings", None, cw["olive"].pk, None, fixtures.MAR.replace(day=1 + i % 28), D("10"),
                 "", None, "", "") for i in range(450)]
        transactions_upsert(rows=rows)
        run = runs.run_now(period=cw["period"])
        statement = Statement.objects.get(period=cw["period"], person=cw["olive"])
        count = LineItem.objects.filter(run=run, person=cw["olive"]).count()
    assert count == 452  # X1 and X3 overlay lines, and 450 named on Olive (1% of 10.00 = 0.10 each)
    analyst = world.a.client(Role.REVOPS_ANALYST)
    url = reverse("commissions_statement", args=[statement.pk])
    first, last = text(analyst.get(url)), text(analyst.get(url + "?page=3"))
    assert len(re.findall(r'<tr data-line="', first)) == 200 and len(re.findall(r'<tr data-line="', last)) == 52
    assert "Lines 1–200 of 452" in first and "Lines 401–452 of 452" in last
    # Sums by component cover every line, not the page: 110.00 + 450 x 0.10.
    assert re.search(r'data-component="Overlay commission" data-kind="commission">.*?data-col="amount">155.00<', first,
                     re.S)


def test_an_analyst_starts_a_run_the_job_computes_it_and_executives_and_admins_approve_and_lock(
        world, django_capture_on_commit_callbacks):
    cw = march(world.a)
    period_url = reverse("commissions_period", args=[cw["period"].pk])
    run_url = reverse("commissions_period_run", args=[cw["period"].pk])
    assert world.a.client(Role.EXECUTIVE).post(run_url).status_code == 403
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = world.a.client(Role.REVOPS_ANALYST).post(run_url)
    with tenant_context(world.a.org):
        run = CommissionRun.objects.filter(period=cw["period"]).order_by("-pk").first()
    assert response.status_code == 302 and response["Location"] == reverse("commissions_run", args=[run.pk])
    assert run.status == RunStatus.QUEUED and run.job_id and len(callbacks) == 1
    page = text(world.a.client(Role.REVOPS_ANALYST).get(response["Location"]))
    assert f'hx-get="{reverse("job_progress", args=[run.job_id])}"' in page and 'role="progressbar"' in page
    assert "Approve and lock" not in text(world.a.client(Role.EXECUTIVE).get(period_url))  # a run is in progress
    # A second run while one is queued is refused with the reason.
    follow = world.a.client(Role.REVOPS_ANALYST).post(run_url, follow=True)
    assert "already queued or running" in text(follow)

    run_task.apply(kwargs={"tenant_id": world.a.org.pk, "job_id": run.job_id, "run_id": run.pk})  # what a worker does
    with tenant_context(world.a.org):
        run.refresh_from_db()
        cw["period"].refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and cw["period"].current_run_id == run.pk
    page = text(world.a.client(Role.REVOPS_ANALYST).get(reverse("commissions_run", args=[run.pk])))
    assert 'id="run-status">Succeeded<' in page and 'data-col="payout">2,720.00<' in page
    listed = text(world.a.client(Role.REVOPS_ANALYST).get(reverse("commissions_periods")))
    assert cell(listed, "data-period", "Mar 2026", "payout") == "2,720.00"  # two runs, one set of statements
    assert cell(listed, "data-period", "Mar 2026", "statements") == "5"

    # Statements: the executive approves as manager, then the admin as finance; analysts may not.
    pat = cw["statements"]["Pat"]
    approve = reverse("commissions_statement_approve", args=[pat.pk])
    assert world.a.client(Role.REVOPS_ANALYST).post(approve).status_code == 403
    admin_first = world.a.client(Role.ADMIN).post(approve, follow=True)
    assert "Finance approves a statement after the manager has." in text(admin_first)
    world.a.client(Role.EXECUTIVE).post(approve)
    world.a.client(Role.ADMIN).post(approve, {"next": period_url})
    with tenant_context(world.a.org):
        assert Statement.objects.get(pk=pat.pk).status == StatementStatus.FINANCE_APPROVED

    # Payroll waits for the lock; only executives and admins lock; the payroll has finance-approved statements.
    refused = world.a.client(Role.REVOPS_ANALYST).get(reverse("commissions_period_payroll", args=[cw["period"].pk]),
                                                      follow=True)
    assert "payroll exports locked periods only" in text(refused)
    lock = reverse("commissions_period_approve", args=[cw["period"].pk])
    assert world.a.client(Role.REVOPS_ANALYST).post(lock).status_code == 403
    world.a.client(Role.EXECUTIVE).post(lock)
    world.a.client(Role.ADMIN).post(reverse("commissions_period_paid", args=[cw["period"].pk]))
    with tenant_context(world.a.org):
        assert CommissionPeriod.objects.get(pk=cw["period"].pk).status == PeriodStatus.PAID
    payroll = world.a.client(Role.REVOPS_ANALYST).get(reverse("commissions_period_payroll", args=[cw["period"].pk]))
    rows = list(csv.DictReader(io.StringIO(payroll.content.decode("utf-8-sig"))))
    assert [(r["employee_id"], r["earned"], r["payout"]) for r in rows] == [("CW1", "1660.00", "1660.00")]
    assert "Run Mar 2026" not in text(world.a.client(Role.REVOPS_ANALYST).get(period_url))  # locked: no run button


def test_payout_summary_by_kind_team_and_cost_share(world):
    march(world.a)
    for role, status in ((Role.EXECUTIVE, 200), (Role.ADMIN, 200), (Role.REVOPS_ANALYST, 200), (Role.REP, 403),
                         (Role.BILLING_MANAGER, 403)):
        assert world.a.client(role).get(reverse("commissions_payouts")).status_code == status, role
    html = text(world.a.client(Role.EXECUTIVE).get(reverse("commissions_payouts")))
    assert cell(html, "data-period", "Mar 2026", "payout") == "2,720.00"
    assert cell(html, "data-period", "Mar 2026", "cost") == "2,370.00"
    assert cell(html, "data-period", "Mar 2026", "credited") == "15,000.00"
    assert cell(html, "data-period", "Mar 2026", "cost_pct") == "15.80%"
    assert 'data-figure="fig-payouts"' in html and '"name": "Commission"' in html
    export = world.a.client(Role.EXECUTIVE).get(reverse("commissions_payouts") + "?format=csv")
    row = next(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert (row["commission"], row["bonus"], row["payout"], row["cost_pct"]) == ("1370.00", "1000.00", "2720.00",
                                                                                   "15.80")
    assert (row["team: CW West"], row["team: CW Leaders"], row["team: No team"]) == ("2160.00", "300.00", "260.00")


def test_transactions_page_filters_exports_and_imports_a_csv_with_per_line_errors(world):
    cw = march(world.a)
    analyst = world.a.client(Role.REVOPS_ANALYST)
    url = reverse("commissions_transactions")
    html = text(analyst.get(url))
    assert all(f'data-transaction="{x}"' in html for x in ("X1", "X2", "X3"))
    filtered = text(analyst.get(url, {"date_from": "2026-03-08", "date_to": "2026-03-15", "basis": "bookings"}))
    assert 'data-transaction="X2"' in filtered and 'data-transaction="X1"' not in filtered
    export = analyst.get(url, {"date_from": "2026-03-08", "format": "csv"})
    body = b"".join(export.streaming_content).decode("utf-8-sig")
    assert sorted(r["external_id"] for r in csv.DictReader(io.StringIO(body))) == ["X2", "X3"]
    assert world.a.client(Role.REP).get(url).status_code == 403

    account = cw["accounts"]["A"].pk
    bad = (f"external_id,basis,account,transaction_date,amount\nX7,bookings,{account},2026-03-22,700\n"
           f"X8,bookings,999999,2026-03-23,800\nX9,bookings,{account},not-a-date,900\n")
    upload = analyst.post(reverse("commissions_transactions_import"),
                          {"file": SimpleUploadedFile("t.csv", bad.encode(), "text/csv")})
    assert upload.status_code == 400
    html = text(upload)
    assert "Nothing was loaded: 2 of 3 lines failed." in html
    assert re.search(r'data-line="3">.*?No account has id 999999', html, re.S)
    assert re.search(r'data-line="4">.*?transaction_date', html, re.S)
    with tenant_context(world.a.org):
        assert not Transaction.objects.filter(external_id="X7").exists()
    good = f"external_id,basis,account,transaction_date,amount,description\nX7,bookings,{account},2026-03-22,700,Late\n"
    done = analyst.post(reverse("commissions_transactions_import"),
                        {"file": SimpleUploadedFile("t.csv", good.encode(), "text/csv")}, follow=True)
    assert "1 lines: 1 inserted, 0 updated, 0 unchanged." in text(done)
    with tenant_context(world.a.org):
        assert Transaction.objects.get(external_id="X7").source == "import"
    assert world.a.client(Role.EXECUTIVE).post(reverse("commissions_transactions_import")).status_code == 403


def test_opening_a_period_and_the_roles_that_may(world):
    url = reverse("commissions_periods")
    assert world.a.client(Role.EXECUTIVE).post(url, {"month": "2026-04"}).status_code == 403
    bad = world.a.client(Role.REVOPS_ANALYST).post(url, {"month": "April"})
    assert bad.status_code == 400 and "Enter a month as YYYY-MM" in text(bad)
    assert world.a.client(Role.REVOPS_ANALYST).post(url, {"month": "2026-04"}).status_code == 302
    again = world.a.client(Role.REVOPS_ANALYST).post(url, {"month": "2026-04"}, follow=True)
    assert "Apr 2026 is already open." in text(again)
    with tenant_context(world.a.org):
        period = CommissionPeriod.objects.get()
    assert (period.start.isoformat(), period.end.isoformat(), period.name) == ("2026-04-01", "2026-05-01", "Apr 2026")
    html = text(world.a.client(Role.REVOPS_ANALYST).get(url))
    assert 'data-period="Apr 2026"' in html and "Run<span" in html
    assert "Run<span" not in text(world.a.client(Role.EXECUTIVE).get(url))


def test_my_statements_needs_a_linked_person(world):
    url = reverse("commissions_my")
    assert "Your user is not linked to a person" in text(world.a.client(Role.EXECUTIVE).get(url))
    assert "No statements yet" in text(world.a.client(Role.REP).get(url))  # the world's rep, never paid
    assert world.a.client(Role.INTEGRATOR).get(url).status_code == 403
    assert world.a.client(Role.BILLING_MANAGER).get(url).status_code == 403
