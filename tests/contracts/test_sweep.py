"""The sweep factory makes one row of every model a contracts URL addresses, in the right organization."""
from __future__ import annotations

import pytest

from revops.tenancy import tenant_context
from tests.contracts import sweep

pytestmark = pytest.mark.django_db


def test_sweep_objects_for_both_organizations(world):
    for tenant in (world.a, world.b):
        with tenant_context(tenant.org):
            for name in sweep.MODELS:
                obj = sweep.sweep_object(tenant, name) if f"sweep:{name}" not in tenant.objects \
                    else tenant.objects[f"sweep:{name}"]
                assert obj.tenant_id == tenant.org.pk, name
            assert tenant.objects["sweep:contractversion"].status == "draft"
            assert tenant.objects["sweep:claimexpectation"].status == "no_term"  # the world claim has no lines
            assert tenant.objects["sweep:contractreview"].claims == 1
