"""Rows the isolation sweep (tests/test_isolation_sweep.py) addresses by id on the commission run routes: a
November 2029 period computed by a run, with the world's rep paid on it (a statement and a line) and the
transaction that paid. Wire it as ``SWEEP_OBJECTS`` entries for the models of ``MODELS``."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from revops.tenancy import tenant_context

MODELS = ("commissionperiod", "commissionrun", "statement", "lineitem", "transaction")
START = dt.date(2029, 11, 1)


def commission_run_objects(tenant: Any) -> dict[str, Any]:
    """Build, in ``tenant``'s organization, a plan (flat 5% on bookings) assigned to the world's rep for
    November 2029, a 1,000.00 deal named on the rep, and the period's run; returns ``{model name: row}``."""
    from commissions.models import (
        Component,
        CompPlan,
        CompPlanVersion,
        LineItem,
        PlanAssignment,
        Statement,
        Transaction,
    )
    from commissions.services import runs
    from commissions.services.transactions import transactions_upsert

    with tenant_context(tenant.org):
        rep = tenant.objects["person"]
        plan = CompPlan.objects.create(name="Sweep runs plan")
        version = CompPlanVersion.objects.create(plan=plan, version=1, effective_from=START,
                                                 effective_to=dt.date(2029, 12, 1), status="active")
        Component.objects.create(version=version, name="Sweep bookings", kind="commission", basis="bookings",
                                 rate=Decimal("0.05"))
        PlanAssignment.objects.create(person=rep, plan=plan, effective_from=START, effective_to=dt.date(2029, 12, 1))
        transactions_upsert(rows=[("SWEEP-C1", "bookings", None, rep.pk, None, dt.date(2029, 11, 15),
                                   Decimal("1000.00"), "Sweep deal", None, "", "")])
        period = runs.period_ensure(start=START)
        run = runs.run_now(period=period)
        made = {
            "commissionperiod": period, "commissionrun": run,
            "statement": Statement.objects.get(period=period, person=rep),
            "lineitem": LineItem.objects.get(run=run, person=rep),
            "transaction": Transaction.objects.get(external_id="SWEEP-C1"),
        }
    tenant.objects.update({f"sweep:{k}": v for k, v in made.items()})
    return made


def sweep_object(tenant: Any, name: str) -> Any:
    """``SWEEP_OBJECTS``' signature: makes the rows once per organization, keeps them as ``sweep:<model>``."""
    made = commission_run_objects(tenant)
    tenant.objects.update({f"sweep:{k}": v for k, v in made.items()})
    return made[name]
