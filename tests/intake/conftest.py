import pytest

from tests.intake.fixtures import build


@pytest.fixture
def intake_world(tenant_a):
    return build(tenant_a)
