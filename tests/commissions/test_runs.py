"""Commission runs end to end on the hand-made world of tests/commissions/fixtures.py.

March 2026 by hand (quota $10,000 for Pat and Quinn; AE: 5% to 100%, 8% above; $1,000 bonus at 100%):
- Pat: X1 6,000 owner -> 300.00 (0% -> 60%); X2 1,000 split -> 50.00 (60% -> 70%); X3 5,000 owner crosses
  100%: 3,000 at 5% = 150.00 and 2,000 at 8% = 160.00 (70% -> 120%); bonus 1,000.00. Earned 1,660.00.
- Quinn: X2 3,000 split at 5% = 150.00 (30%, no bonus); $500 recoverable draw: draw paid 350.00,
  payout 500.00, balance 350.00.
- Olive (overlay on T1, 1%): X1 60.00 + X3 50.00 = 110.00.
- Mo (level-1 override 100% of 15,000 credited, 2%): 120 + 60 + 20 + 100 = 300.00.
- Dee (level-2 override 50% = 7,500 credited, 2%): 150.00.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from commissions.models import CommissionRun, LineItem, RunStatus, Statement
from commissions.services import runs, statements
from commissions.services.transactions import transactions_upsert
from revops.tenancy import tenant_context
from tests.commissions import fixtures

pytestmark = pytest.mark.django_db

D = Decimal


def _statements(period) -> dict[str, tuple]:
    return {s.person.first_name: (s.earned, s.adjustments, s.draw_paid, s.draw_balance, s.payout)
            for s in Statement.objects.filter(period=period).select_related("person")}


def _march(world):
    cw = fixtures.build()
    march = runs.period_ensure(start=fixtures.MAR)
    run = runs.run_now(period=march)
    return cw, march, run


def test_march_statements_match_the_hand_computed_figures(world):
    with tenant_context(world.a.org):
        cw, march, run = _march(world)
        assert run.status == RunStatus.SUCCEEDED
        assert _statements(march) == {
            "Pat": (D("1660.00"), D(0), D(0), D(0), D("1660.00")),
            "Quinn": (D("150.00"), D(0), D("350.00"), D("350.00"), D("500.00")),
            "Olive": (D("110.00"), D(0), D(0), D(0), D("110.00")),
            "Mo": (D("300.00"), D(0), D(0), D(0), D("300.00")),
            "Dee": (D("150.00"), D(0), D(0), D(0), D("150.00")),
        }
        pat = Statement.objects.get(period=march, person=cw["pat"])
        assert (pat.credited, pat.quota, pat.attainment) == (D("12000.00"), D("10000.00"), D("120.00"))
        assert D(run.totals["payout"]) == D("2720.00")


def test_a_credit_crossing_a_tier_is_traced_line_by_line(world):
    with tenant_context(world.a.org):
        cw, march, run = _march(world)
        x3 = LineItem.objects.filter(run=run, person=cw["pat"], transaction__external_id="X3", kind="commission")
        got = sorted((l.tier, l.credited, l.rate, l.amount, l.attainment_before, l.attainment_after) for l in x3)
        # Each part carries the attainment it spans: 70% -> 100% in tier 1, 100% -> 120% in tier 2.
        assert got == [(1, D("3000.00"), D("0.050000"), D("150.00"), D("70.00"), D("100.00")),
                       (2, D("2000.00"), D("0.080000"), D("160.00"), D("100.00"), D("120.00"))]
        line = x3.first()
        assert line.version_id == cw["ae"].pk and line.component.name == "Bookings commission"
        assert line.credit_role == "owner" and line.credit_share == D(1)
        bonus = LineItem.objects.get(run=run, person=cw["pat"], kind="bonus")
        assert (bonus.amount, bonus.tier, bonus.transaction_id) == (D("1000.00"), 1, None)


def test_a_rerun_gives_the_same_lines_to_the_cent_and_keeps_approvals(world):
    with tenant_context(world.a.org):
        cw, march, first = _march(world)
        pat = Statement.objects.get(period=march, person=cw["pat"])
        statements.statement_approve(statement=pat, user=cw["approver"], as_finance=False)
        second = runs.run_now(period=march)
        first.refresh_from_db()
        march.refresh_from_db()
        assert second.results_digest == first.results_digest and second.inputs_digest == first.inputs_digest
        assert first.status == RunStatus.SUPERSEDED and march.current_run_id == second.pk
        assert not LineItem.objects.filter(run=first).exists()
        assert Statement.objects.get(pk=pat.pk).status == "manager_approved"  # payout unchanged
        assert _statements(march)["Pat"][-1] == D("1660.00")


def test_a_run_killed_midway_leaves_the_previous_result(world):
    with tenant_context(world.a.org):
        cw, march, first = _march(world)
        before = sorted(LineItem.objects.filter(run=first).values_list("person_id", "kind", "amount"))
        transactions_upsert(rows=[("X9", "bookings", cw["accounts"]["A"].pk, None, None, dt.date(2026, 3, 28),
                                   D("9000"), "", None, "", "")])
        doomed = runs.run_start(period=march, enqueue=False)

        def kill(stage: str) -> None:
            if stage.startswith("Statements"):  # lines are written, statements half-way: die here
                raise KeyboardInterrupt("worker killed")

        with pytest.raises(KeyboardInterrupt):
            runs.run_execute(run_id=doomed.pk, checkpoint=kill)
        march.refresh_from_db()
        assert march.current_run_id == first.pk
        assert not LineItem.objects.filter(run=doomed).exists()
        assert sorted(LineItem.objects.filter(run=first).values_list("person_id", "kind", "amount")) == before
        assert _statements(march)["Pat"][-1] == D("1660.00")
        assert CommissionRun.objects.get(pk=doomed.pk).status == RunStatus.FAILED
        # and the next run goes through, now with X9 (Pat: 9,000 above 100% at 8% = 720.00 more); Pat's
        # approval is withdrawn because the payout changed, Quinn's stays.
        for name in ("pat", "quinn"):
            statements.statement_approve(statement=Statement.objects.get(period=march, person=cw[name]),
                                         user=cw["approver"], as_finance=False)
        runs.run_now(period=march)
        assert _statements(march)["Pat"][0] == D("2380.00")
        pat = Statement.objects.get(period=march, person=cw["pat"])
        assert (pat.status, pat.manager_approved_by_id, pat.manager_approved_at) == ("draft", None, None)
        quinn = Statement.objects.get(period=march, person=cw["quinn"])
        assert (quinn.status, quinn.manager_approved_by_id) == ("manager_approved", cw["approver"].pk)


def test_a_late_deal_in_a_locked_period_is_an_adjustment_in_the_open_one(world):
    with tenant_context(world.a.org):
        cw, march, run = _march(world)
        runs.period_approve(period=march, user=cw["approver"])
        with pytest.raises(Exception, match="locked"):
            runs.run_start(period=march, enqueue=False)
        # X4: 1,000 on account A dated 25 March, after the lock. Pat is above 100%: 8% = 80.00;
        # Olive 1% = 10.00; Mo 2% of 1,000 = 20.00; Dee 2% of 500 = 10.00.
        transactions_upsert(rows=[("X4", "bookings", cw["accounts"]["A"].pk, None, None, dt.date(2026, 3, 25),
                                   D("1000"), "Late deal", None, "", "")])
        april = runs.period_ensure(start=fixtures.APR)
        april_run = runs.run_now(period=april)
        adjustments = {(l.person.first_name, l.transaction.external_id, l.amount, l.source_period_id)
                       for l in LineItem.objects.filter(run=april_run, kind="adjustment").select_related(
                           "person", "transaction")}
        assert adjustments == {("Pat", "X4", D("80.00"), march.pk), ("Olive", "X4", D("10.00"), march.pk),
                               ("Mo", "X4", D("20.00"), march.pk), ("Dee", "X4", D("10.00"), march.pk)}
        # March itself is untouched.
        assert _statements(march)["Pat"][-1] == D("1660.00")
        april_statements = _statements(april)
        assert april_statements["Pat"] == (D(0), D("80.00"), D(0), D(0), D("80.00"))
        # Quinn's draw again: nothing earned, 500.00 paid, balance 350 + 500.
        assert april_statements["Quinn"] == (D(0), D(0), D("500.00"), D("850.00"), D("500.00"))
        # Re-running April does not book the adjustment twice.
        runs.run_now(period=april)
        assert _statements(april)["Pat"] == (D(0), D("80.00"), D(0), D(0), D("80.00"))


def test_a_reversal_within_the_window_claws_back_and_the_shortfall_carries(world):
    with tenant_context(world.a.org):
        cw, march, run = _march(world)
        runs.period_approve(period=march, user=cw["approver"])
        transactions_upsert(rows=[("R1", "bookings", cw["accounts"]["A"].pk, None, None, dt.date(2026, 4, 10),
                                   D("-6000"), "X1 cancelled", "X1", "cancellation", "")])
        april = runs.period_ensure(start=fixtures.APR)
        april_run = runs.run_now(period=april)
        pat_lines = LineItem.objects.filter(run=april_run, person=cw["pat"]).order_by("kind")
        # The bonus line says the bonus was not reached (reversals do not count toward attainment).
        assert [(l.kind, l.amount) for l in pat_lines] == [("bonus", D("0.00")), ("clawback", D("-300.00"))]
        # The leader plan has no clawback: Mo's line says so and pays nothing.
        mo = LineItem.objects.get(run=april_run, person=cw["mo"])
        assert (mo.kind, mo.amount, mo.note) == ("clawback", D("0.00"), "no_clawback")
        # Pat's net is -300: nothing paid, 300.00 carried as a recoverable balance.
        assert _statements(april)["Pat"] == (D("-300.00"), D(0), D(0), D("300.00"), D(0))
