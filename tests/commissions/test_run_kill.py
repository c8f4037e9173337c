"""A commission run killed for real: a separate process runs it, is SIGKILLed after writing every line but
before its commit, and the database is left with the previous run's result, never a mix. The next start
sees the dead run (it no longer holds the period's advisory lock), marks it failed and runs."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from commissions.models import CommissionRun, LineItem, RunStatus, Statement
from commissions.services import runs
from commissions.services.transactions import transactions_upsert
from revops.tenancy import tenant_context
from tests.commissions import fixtures

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {root!r})
    os.environ["DJANGO_SETTINGS_MODULE"] = "revops.settings"
    import django
    django.setup()
    from django.db import connections
    connections["default"].settings_dict["NAME"] = {name!r}
    from commissions.services import runs
    from revops.tenancy import tenant_context

    def checkpoint(stage):
        if stage.startswith("Statements"):  # every line is written, nothing committed
            open({flag!r}, "w").write("written")
            time.sleep(120)

    with tenant_context({org}):
        runs.run_execute(run_id={run}, checkpoint=checkpoint)
""")


@pytest.mark.django_db(transaction=True)
def test_a_sigkilled_run_leaves_the_previous_result_and_the_next_run_goes_through(world, tmp_path):
    with tenant_context(world.a.org):
        cw = fixtures.build()
        march = runs.period_ensure(start=fixtures.MAR)
        first = runs.run_now(period=march)
        before = sorted(LineItem.objects.filter(run=first).values_list("person_id", "kind", "amount"))
        transactions_upsert(rows=[("X9", "bookings", cw["accounts"]["A"].pk, None, None, fixtures.MAR.replace(day=28),
                                   Decimal("9000"), "", None, "", "")])
        doomed = runs.run_start(period=march, enqueue=False)
    flag = tmp_path / "written"
    script = CHILD.format(root=str(ROOT), name=settings.DATABASES["default"]["NAME"], flag=str(flag),
                          org=world.a.org.pk, run=doomed.pk)
    child = subprocess.Popen([sys.executable, "-c", script], env={**os.environ}, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while not flag.exists():
            assert child.poll() is None, "the run process ended before it wrote its lines"
            assert time.monotonic() < deadline, "the run process never reached the end of its writes"
            time.sleep(0.2)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    with tenant_context(world.a.org):
        march.refresh_from_db()
        assert march.current_run_id == first.pk
        assert not LineItem.objects.filter(run_id=doomed.pk).exists()
        assert sorted(LineItem.objects.filter(run=first).values_list("person_id", "kind", "amount")) == before
        assert Statement.objects.get(period=march, person=cw["pat"]).earned == Decimal("1660.00")
        assert CommissionRun.objects.get(pk=doomed.pk).status == RunStatus.RUNNING  # it died, nobody said so
        # The next start notices: the dead run holds no lock any more (its backend rolled back).
        deadline = time.monotonic() + 30
        while True:
            try:
                again = runs.run_start(period=march, enqueue=False)
                break
            except Exception:
                assert time.monotonic() < deadline, "the killed run's session never went away"
                time.sleep(0.5)
        dead = CommissionRun.objects.get(pk=doomed.pk)
        assert dead.status == RunStatus.FAILED and "Interrupted" in dead.error
        runs.run_execute(run_id=again.pk)
        march.refresh_from_db()
        assert march.current_run_id == again.pk
        # X9: 9,000 above 100% of quota at 8% = 720.00 more for Pat.
        assert Statement.objects.get(period=march, person=cw["pat"]).earned == Decimal("2380.00")
