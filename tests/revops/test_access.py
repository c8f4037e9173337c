"""The permission matrix: one definition, documented, and answering as written."""
from pathlib import Path

import pytest

from revops.access import MATRIX, allowed, matrix_markdown
from revops.models import Role

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def test_docs_show_the_matrix_the_code_enforces():
    text = DOC.read_text()
    block = text.split("<!-- matrix:start -->")[1].split("<!-- matrix:end -->")[0]
    assert block.strip() == matrix_markdown().strip()


def test_every_role_in_the_matrix_is_a_real_role():
    for resource, actions in MATRIX.items():
        for action, roles in actions.items():
            assert roles <= set(Role.values), (resource, action)


@pytest.mark.parametrize(
    ("role", "resource", "action", "expected"),
    [
        (Role.ADMIN, "memberships", "change", True),
        (Role.EXECUTIVE, "memberships", "view", False),
        (Role.REP, "reference", "view", False),
        (Role.INTEGRATOR, "reference", "change", True),
        (Role.BILLING_MANAGER, "reference", "change", False),
        (Role.EXECUTIVE, "audit", "view", True),
        (None, "home", "view", False),
    ],
)
def test_allowed_answers_from_the_matrix(role, resource, action, expected):
    assert allowed(role, resource, action) is expected


def test_unknown_resource_is_an_error_not_a_silent_no():
    with pytest.raises(KeyError):
        allowed(Role.ADMIN, "no-such-resource", "view")
