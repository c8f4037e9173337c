import pytest

from tests.scenarios.fixtures import build


@pytest.fixture
def scenario_world(tenant_a):
    return build(tenant_a)
