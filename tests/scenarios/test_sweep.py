"""The sweep factory makes a scenario in the right organization, and the main isolation sweep
(tests/test_isolation_sweep.py) covers every scenarios route with it."""
from __future__ import annotations

import pytest

from revops.tenancy import tenant_context
from tests.scenarios import sweep

pytestmark = pytest.mark.django_db


def test_sweep_objects_for_both_organizations(world):
    for tenant in (world.a, world.b):
        with tenant_context(tenant.org):
            obj = sweep.sweep_object(tenant, "scenario")
            assert obj.tenant_id == tenant.org.pk and obj.shared and obj.result["summary"]



def test_the_main_sweep_covers_the_scenario_routes():
    from tests import test_isolation_sweep as s

    names = {r.name for r in s.SWEPT}
    assert {"scenarios_list", "scenarios_detail"} <= names
    assert any(n.startswith("api-scenarios-") for n in names)
    assert s.SWEEP_OBJECTS["scenario"] is sweep.sweep_object
