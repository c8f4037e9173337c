"""Territory pages (mounted at ``territories/``): plans, the plan workspace with its map and editing, diffs, ownership."""
from .balancing import balance_runs
from .history import ownership, plan_diff
from .plans import (
    plan_activate,
    plan_approve,
    plan_copy,
    plan_delete,
    plan_propose,
    plan_return_to_draft,
    plan_settings,
    plans,
)
from .workspace import (
    balance_fragment,
    edit_coverage,
    edit_merge,
    edit_move,
    edit_rule_add,
    edit_split,
    edit_territory_add,
    plan_export,
    rule_delete,
    rule_edit,
    rules_import,
    workspace,
)

__all__ = [
    "balance_runs",
    "balance_fragment",
    "edit_coverage",
    "edit_merge",
    "edit_move",
    "edit_rule_add",
    "edit_split",
    "edit_territory_add",
    "ownership",
    "plan_activate",
    "plan_approve",
    "plan_copy",
    "plan_delete",
    "plan_diff",
    "plan_export",
    "plan_propose",
    "plan_return_to_draft",
    "plan_settings",
    "plans",
    "rule_delete",
    "rule_edit",
    "rules_import",
    "workspace",
]
