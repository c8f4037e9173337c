"""scenarios.demo.seed on the hand-computed world: an exit, a denial-rate change, and (with an intake rule) a
tightened rule; running it again adds nothing."""
from __future__ import annotations

import datetime as dt

import pytest

from intake import services as intake_services
from revops.tenancy import tenant_context
from scenarios import demo
from scenarios.models import Scenario

pytestmark = pytest.mark.django_db


def test_seed_creates_saved_scenarios_once(world):
    from tests.scenarios.fixtures import build

    with tenant_context(world.a.org):
        rows = build(world.a)
        intake_services.intake_rule_save(payer=rows["a"], program=rows["php"],
                                         decision="allowed_with_authorization", effective_from=dt.date(2024, 1, 1))
    outcome = demo.seed(world.a.org)
    assert outcome.refused == [] and len(outcome.created) == 3, outcome
    with tenant_context(world.a.org):
        kinds = sorted(Scenario.objects.values_list("kind", "shared"))
        assert kinds == [("denial_rate_change", True), ("exit_contract", True), ("tighten_intake_rule", False)]
        assert all(s.result["summary"] for s in Scenario.objects.all())
    assert demo.seed(world.a.org).skipped
