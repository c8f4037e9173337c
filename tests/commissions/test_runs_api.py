"""The commissions API of transactions, periods, runs, lines and statements, on the March world of
tests/commissions/fixtures.py (Pat 1,660.00, Quinn payout 500.00 with a 350.00 draw, total payout 2,720.00)."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from commissions.models import RunStatus, Statement, StatementStatus, Transaction, TransactionSplit
from commissions.services import runs
from commissions.tasks import run_task
from revops.models import Role
from revops.tenancy import tenant_context
from tests.commissions import fixtures

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.commissions.urls_runs_only")]
D = Decimal


def march(tenant) -> dict:
    with tenant_context(tenant.org):
        cw = fixtures.build()
        period = runs.period_ensure(start=fixtures.MAR)
        run = runs.run_now(period=period)
        membership = tenant.users[Role.REP].memberships.get()
        membership.person = cw["pat"]
        membership.save()
        statements = {s.person.first_name: s for s in Statement.objects.filter(period=period).select_related("person")}
    return {**cw, "period": period, "run": run, "statements": statements}


def test_starting_a_run_answers_202_with_the_job_and_the_job_makes_it_current(
        world, django_capture_on_commit_callbacks):
    cw = march(world.a)
    url = reverse("api-commissions-period-runs", args=[cw["period"].pk])
    assert world.a.api(Role.EXECUTIVE).post(url).status_code == 403  # executives lock periods; they do not run them
    assert world.a.api(Role.REP).post(url).status_code == 403
    with django_capture_on_commit_callbacks(execute=False):
        response = world.a.api().post(url)  # the integrator's API key may run periods
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["job"]["kind"] == "commission_run" and body["job"]["id"]
    assert body["is_current"] is False
    again = world.a.api(Role.REVOPS_ANALYST).post(url)
    assert again.status_code == 400 and "already queued or running" in str(again.json())

    run_task.apply(kwargs={"tenant_id": world.a.org.pk, "job_id": body["job"]["id"], "run_id": body["id"]})
    detail = world.a.api(Role.REVOPS_ANALYST).get(reverse("api-commissions-run-detail", args=[body["id"]])).json()
    assert detail["status"] == RunStatus.SUCCEEDED and detail["is_current"] is True
    assert D(detail["totals"]["payout"]) == D("2720.00") and detail["job"]["status"] == "succeeded"
    history = world.a.api(Role.EXECUTIVE).get(url).json()
    assert [r["status"] for r in history] == ["succeeded", "superseded"]
    assert history[1]["results_digest"] == history[0]["results_digest"]  # same inputs, same lines to the cent
    runs_list = world.a.api().get(reverse("api-commissions-run-list"), {"period": cw["period"].pk}).json()
    assert runs_list["count"] == 2


def test_periods_are_opened_idempotently_locked_by_executives_and_export_payroll(world):
    cw = march(world.a)
    api = world.a.api(Role.REVOPS_ANALYST)
    created = api.post(reverse("api-commissions-period-list"), {"start": "2026-04-01"}, format="json")
    assert created.status_code == 201 and created.json()["name"] == "Apr 2026" and created.json()["end"] == "2026-05-01"
    assert api.post(reverse("api-commissions-period-list"), {"start": "2026-04-01"}, format="json").status_code == 200
    assert world.a.api(Role.EXECUTIVE).post(reverse("api-commissions-period-list"), {"start": "2026-05-01"},
                                            format="json").status_code == 403

    approve = reverse("api-commissions-period-approve", args=[cw["period"].pk])
    assert api.post(approve).status_code == 403
    payroll = reverse("api-commissions-period-payroll", args=[cw["period"].pk])
    assert "locked periods only" in str(api.get(payroll).json())
    locked = world.a.api(Role.EXECUTIVE).post(approve)
    assert locked.status_code == 200 and locked.json()["status"] == "approved"
    assert world.a.api(Role.EXECUTIVE).post(approve).status_code == 400  # already approved
    assert api.get(payroll).json() == []  # no statement is finance-approved yet

    pat = cw["statements"]["Pat"]
    with tenant_context(world.a.org):
        from commissions.services.statements import statement_approve

        statement_approve(statement=pat, user=world.a.users[Role.EXECUTIVE], as_finance=False)
        statement_approve(statement=pat, user=world.a.users[Role.ADMIN], as_finance=True)
    rows = api.get(payroll).json()
    assert [(r["employee_id"], r["earned"], r["payout"]) for r in rows] == [("CW1", "1660.00", "1660.00")]
    exported = api.get(payroll, {"format": "csv"})
    assert next(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))["payout"] == "1660.00"
    paid = world.a.api(Role.ADMIN).post(reverse("api-commissions-period-mark-paid", args=[cw["period"].pk]))
    assert paid.json()["status"] == "paid"


def test_lines_carry_their_explanations_and_filter_by_period_and_person(world):
    cw = march(world.a)
    url = reverse("api-commissions-line-list")
    assert world.a.api(Role.REVOPS_ANALYST).get(url).status_code == 400  # run or period
    body = world.a.api().get(url, {"period": cw["period"].pk, "person": cw["pat"].pk}).json()
    assert body["count"] == 5  # X1, X2, X3 in two tiers, and the bonus
    by = {(r["transaction_external_id"], r["kind"], r["tier"]): r for r in body["results"]}
    tier2 = by[("X3", "commission", 2)]
    assert (tier2["credited"], tier2["rate"], tier2["amount"], tier2["component_name"], tier2["version_label"]) == (
        "2000.00", "0.080000", "160.00", "Bookings commission", "AE v1")
    assert tier2["explanation"] == (
        "Deal X3 on 20 Mar 2026 credited to the person as account owner (100%): $5,000.00. Bookings commission "
        "(AE v1), tier 2 (above 100% of quota) at 8.0000% on $2,000.00 → $160.00. Attainment 100.00% → 120.00%.")
    assert sum(D(r["amount"]) for r in body["results"]) == D("1660.00")
    everyone = world.a.api(Role.EXECUTIVE).get(url, {"run": cw["run"].pk, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(everyone.content.decode("utf-8-sig"))))
    assert sum(D(r["amount"]) for r in rows) == D("2370.00") and all(r["explanation"] for r in rows)
    assert world.a.api(Role.REP).get(url, {"period": cw["period"].pk}).status_code == 403
    with tenant_context(world.b.org):
        b_run = runs.run_now(period=runs.period_ensure(start=fixtures.MAR))
    assert world.a.api(Role.REVOPS_ANALYST).get(url, {"run": b_run.pk}).status_code == 404


def test_a_rep_reads_only_their_own_statements_and_integrators_none(world):
    cw = march(world.a)
    pat, quinn = cw["statements"]["Pat"], cw["statements"]["Quinn"]
    rep = world.a.api(Role.REP)
    listed = rep.get(reverse("api-commissions-statement-list")).json()
    assert [(s["person_name"], s["earned"], s["payout"]) for s in listed["results"]] == [
        ("Pat Seller", "1660.00", "1660.00")]
    assert rep.get(reverse("api-commissions-statement-detail", args=[quinn.pk])).status_code == 404
    lines = rep.get(reverse("api-commissions-statement-lines", args=[pat.pk])).json()
    assert lines["count"] == 5 and all("credited to you" in r["explanation"] for r in lines["results"]
                                       if r["kind"] == "commission")
    assert rep.get(reverse("api-commissions-statement-lines", args=[quinn.pk])).status_code == 404
    assert world.a.api().get(reverse("api-commissions-statement-list")).status_code == 403  # integrators: no pay

    analyst = world.a.api(Role.REVOPS_ANALYST).get(reverse("api-commissions-statement-list"),
                                                   {"period": cw["period"].pk}).json()
    got = {s["person_name"]: (s["earned"], s["draw_paid"], s["draw_balance"], s["payout"]) for s in analyst["results"]}
    assert got == {"Pat Seller": ("1660.00", "0.00", "0.00", "1660.00"),
                   "Quinn Closer": ("150.00", "350.00", "350.00", "500.00"),
                   "Olive Overlay": ("110.00", "0.00", "0.00", "110.00"),
                   "Mo Manager": ("300.00", "0.00", "0.00", "300.00"),
                   "Dee Director": ("150.00", "0.00", "0.00", "150.00")}

    with tenant_context(world.b.org):
        b = fixtures.build()
        b_run = runs.run_now(period=runs.period_ensure(start=fixtures.MAR))
        b_statement = Statement.objects.get(run=b_run, person=b["pat"])
    for role in (Role.ADMIN, Role.REVOPS_ANALYST, Role.REP):
        assert world.a.api(role).get(reverse("api-commissions-statement-detail",
                                             args=[b_statement.pk])).status_code == 404
        assert world.a.api(role).get(reverse("api-commissions-statement-lines",
                                             args=[b_statement.pk])).status_code == 404
    assert world.a.api(Role.ADMIN).post(reverse("api-commissions-statement-approve",
                                                args=[b_statement.pk])).status_code == 404


def test_statement_approval_goes_manager_then_finance_and_never_ones_own(world):
    cw = march(world.a)
    quinn = cw["statements"]["Quinn"]
    url = reverse("api-commissions-statement-approve", args=[quinn.pk])
    assert world.a.api(Role.REVOPS_ANALYST).post(url).status_code == 403
    assert world.a.api(Role.REP).post(url).status_code == 403
    early = world.a.api(Role.ADMIN).post(url)
    assert early.status_code == 400 and "after the manager" in str(early.json())
    manager = world.a.api(Role.EXECUTIVE).post(url)
    assert manager.status_code == 200 and manager.json()["status"] == StatementStatus.MANAGER_APPROVED
    assert manager.json()["manager_approved_by"] == world.a.users[Role.EXECUTIVE].username
    finance = world.a.api(Role.ADMIN).post(url)
    assert finance.json()["status"] == StatementStatus.FINANCE_APPROVED
    # An executive linked to Mo's person may not approve Mo's statement.
    with tenant_context(world.a.org):
        membership = world.a.users[Role.EXECUTIVE].memberships.get()
        membership.person = cw["mo"]
        membership.save()
    own = world.a.api(Role.EXECUTIVE).post(reverse("api-commissions-statement-approve",
                                                   args=[cw["statements"]["Mo"].pk]))
    assert own.status_code == 400 and "own statement" in str(own.json())


def test_bulk_upsert_takes_objects_reports_bad_rows_and_is_idempotent(world):
    cw = march(world.a)
    url = reverse("api-commissions-transaction-bulk-upsert")
    rows = [
        {"external_id": "X4", "basis": "bookings", "account": cw["accounts"]["A"].pk, "transaction_date": "2026-03-25",
         "amount": "1000.00", "description": "Late deal", "service_line": "TOX"},
        {"external_id": "X1-R", "basis": "bookings", "account": cw["accounts"]["A"].pk,
         "transaction_date": "2026-03-28", "amount": "-3000.00", "reverses_external_id": "X1",
         "reversal_reason": "cancellation"},
        {"external_id": "X5", "basis": "bookings", "transaction_date": "2026-03-26", "amount": "5"},
        {"external_id": "X6", "basis": "bookings", "person_employee_id": "NOPE", "transaction_date": "2026-03-26",
         "amount": "5"},
    ]
    assert world.a.api(Role.EXECUTIVE).post(url, {"rows": rows}, format="json").status_code == 403
    strict = world.a.api().post(url + "?all_or_nothing=true", {"rows": rows}, format="json")
    assert strict.status_code == 400 and strict.json()["loaded"] == 0
    response = world.a.api().post(url, {"rows": rows}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["total"], body["failed"], body["inserted"], body["reversals_linked"]) == (4, 2, 2, 1)
    assert [(r["index"], sorted(r["errors"])) for r in body["rows"]] == [(2, ["account"]),
                                                                         (3, ["person_employee_id"])]
    with tenant_context(world.a.org):
        reversal = Transaction.objects.get(external_id="X1-R")
        assert reversal.reverses.external_id == "X1" and reversal.amount == D("-3000.00")
        assert Transaction.objects.get(external_id="X4").service_line.code == "TOX"
    resent = world.a.api().post(url, {"rows": rows[:2]}, format="json").json()
    assert (resent["inserted"], resent["updated"], resent["unchanged"]) == (0, 0, 2)
    missing = world.a.api().post(url, {"rows": [{**rows[1], "external_id": "X9-R", "reverses_external_id": "X99"}]},
                                 format="json")
    assert missing.status_code == 400 and "not on file" in str(missing.json())

    listed = world.a.api(Role.EXECUTIVE).get(reverse("api-commissions-transaction-list"),
                                             {"reversals": "true"}).json()
    assert [t["external_id"] for t in listed["results"]] == ["X1-R"]
    x2 = world.a.api(Role.EXECUTIVE).get(reverse("api-commissions-transaction-list"), {"external_id": "X2"}).json()
    assert sorted((s["person_name"], s["share"]) for s in x2["results"][0]["splits"]) == [
        ("Pat Seller", "0.250000"), ("Quinn Closer", "0.750000")]


def test_splits_replace_a_transactions_splits_and_must_add_up(world):
    cw = march(world.a)
    url = reverse("api-commissions-transaction-splits")
    half = {"external_id": "X3", "basis": "bookings", "share": "0.5"}
    short = world.a.api().post(url, {"rows": [{**half, "person": cw["pat"].pk}]}, format="json")
    assert short.status_code == 400 and "not 100%" in str(short.json())
    done = world.a.api().post(url, {"rows": [{**half, "person": cw["pat"].pk},
                                             {**half, "person_employee_id": "CW2"}]}, format="json")
    assert done.status_code == 200 and done.json()["splits_written"] == 2
    with tenant_context(world.a.org):
        assert sorted(TransactionSplit.objects.filter(transaction__external_id="X3")
                      .values_list("person__first_name", "share")) == [("Pat", D("0.5")), ("Quinn", D("0.5"))]
    with tenant_context(world.b.org):
        b_person = world.b.objects["person"]
    foreign = world.a.api().post(url, {"rows": [{**half, "share": "1", "person": b_person.pk}]}, format="json")
    assert foreign.status_code == 400


def test_the_openapi_schema_describes_the_endpoints(world):
    response = world.a.api(Role.REVOPS_ANALYST).get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/commissions/transactions/bulk-upsert/", "/api/v1/commissions/periods/{id}/runs/",
                 "/api/v1/commissions/periods/{id}/approve/", "/api/v1/commissions/lines/",
                 "/api/v1/commissions/statements/{id}/lines/", "/api/v1/commissions/statements/{id}/approve/"):
        assert path in paths, path
    assert "202" in paths["/api/v1/commissions/periods/{id}/runs/"]["post"]["responses"]
