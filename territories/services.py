"""Writes of the territories app: plans and their lifecycle, hierarchy, rules, coverage, activation.

Every function works in the active organization (fail-closed managers, row-level security) and
in one transaction. Plans are edited while they are drafts or proposed; an edit of a proposed
plan sends it back to draft (what was proposed is no longer what is there). Approval is a
separate step (executives and admins, enforced by the pages and the API through the access
matrix); activation needs an approved plan and writes the effective-dated ownership history.

``plan_assign`` evaluates a plan's rules for every active account in one SQL statement; the
services that change rules call it, so ``PlanAssignment`` always reflects the rules.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone

from revops.audit import audit_bulk
from revops.models import Account, Person, ServiceLine
from revops.models.audit import AuditAction
from revops.tenancy import require_tenant_id

from .models import (
    RULE_PRECEDENCE,
    AccountOwnership,
    AssignmentRule,
    Coverage,
    CoverageRole,
    PlanAssignment,
    PlanStatus,
    PotentialBasis,
    RuleKind,
    Territory,
    TerritoryPlan,
)

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4f46e5",
           "#65a30d", "#0d9488", "#b91c1c", "#7c3aed", "#c2410c", "#0369a1", "#a16207")


# -- plans -----------------------------------------------------------------------------------------

def _editable(plan: TerritoryPlan) -> None:
    if not plan.is_editable:
        raise ValidationError(f"Plan {plan.name!r} is {plan.get_status_display().lower()}: copy it to a new "
                              "scenario to change it.")


def plan_touched(plan: TerritoryPlan) -> None:
    """An edit of a proposed plan withdraws the proposal."""
    if plan.status == PlanStatus.PROPOSED:
        plan.status = PlanStatus.DRAFT
        plan.proposed_at = None
        plan.save(update_fields=["status", "proposed_at"])


@transaction.atomic
def plan_create(*, name: str, effective_from: dt.date, effective_to: dt.date | None = None,
                potential_basis: str = PotentialBasis.PAYER_ADJUSTED, holdout_days: int = 0, description: str = "",
                user: Any | None = None) -> TerritoryPlan:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A plan needs a name."})
    if TerritoryPlan.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": "Another plan has this name."})
    if effective_to is not None and effective_to <= effective_from:
        raise ValidationError({"effective_to": "The end must be after the start."})
    if potential_basis not in PotentialBasis.values:
        raise ValidationError({"potential_basis": f"Unknown potential basis {potential_basis!r}."})
    plan = TerritoryPlan.objects.create(
        name=name, effective_from=effective_from, effective_to=effective_to, potential_basis=potential_basis,
        holdout_days=holdout_days, description=description, created_by=user if getattr(user, "pk", None) else None)
    plan_assign(plan=plan)  # a new plan's accounts are all in the unassigned bucket, visibly
    return plan


@transaction.atomic
def plan_update(*, plan: TerritoryPlan, **fields: Any) -> TerritoryPlan:
    _editable(plan)
    allowed = {"name", "description", "effective_from", "effective_to", "potential_basis", "holdout_days"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"Fields {sorted(unknown)} cannot be changed here.")
    for key, value in fields.items():
        setattr(plan, key, value.strip() if isinstance(value, str) and key == "name" else value)
    if plan.effective_to is not None and plan.effective_to <= plan.effective_from:
        raise ValidationError({"effective_to": "The end must be after the start."})
    if TerritoryPlan.objects.filter(name__iexact=plan.name).exclude(pk=plan.pk).exists():
        raise ValidationError({"name": "Another plan has this name."})
    plan.save()
    plan_touched(plan)
    return plan


@transaction.atomic
def plan_copy(*, plan: TerritoryPlan, name: str, effective_from: dt.date | None = None,
              user: Any | None = None) -> TerritoryPlan:
    """A new draft with ``plan``'s hierarchy, rules and open coverage: the start of a scenario."""
    copy = plan_create(name=name, effective_from=effective_from or plan.effective_from,
                       effective_to=plan.effective_to if effective_from is None else None,
                       potential_basis=plan.potential_basis, holdout_days=plan.holdout_days,
                       description=f"Copied from {plan.name}.", user=user)
    copy.based_on = plan
    copy.save(update_fields=["based_on"])
    new_id: dict[int, Territory] = {}
    # Parents before children: order by depth.
    pending = list(plan.territories.all())
    while pending:
        rest = []
        for t in pending:
            if t.parent_id is None or t.parent_id in new_id:
                new_id[t.pk] = Territory.objects.create(
                    plan=copy, parent=new_id.get(t.parent_id) if t.parent_id else None, code=t.code, name=t.name,
                    level=t.level, color=t.color)
            else:
                rest.append(t)
        if len(rest) == len(pending):
            raise ValidationError("The plan's hierarchy has a cycle.")
        pending = rest
    for rule in plan.rules.all():
        AssignmentRule.objects.create(plan=copy, territory=new_id[rule.territory_id], kind=rule.kind,
                                      value=rule.value, priority=rule.priority, locked=rule.locked)
    start = copy.effective_from
    for cov in Coverage.objects.filter(territory__plan=plan).filter(valid_to__isnull=True):
        Coverage.objects.create(territory=new_id[cov.territory_id], person=cov.person, placeholder=cov.placeholder,
                                role=cov.role, valid_from=max(cov.valid_from, start))
    plan_assign(plan=copy)
    return copy


@transaction.atomic
def plan_propose(*, plan: TerritoryPlan) -> TerritoryPlan:
    if plan.status != PlanStatus.DRAFT:
        raise ValidationError("Only a draft can be proposed.")
    if not plan.territories.exists():
        raise ValidationError("A plan without territories cannot be proposed.")
    plan.status, plan.proposed_at = PlanStatus.PROPOSED, timezone.now()
    plan.save(update_fields=["status", "proposed_at"])
    return plan


@transaction.atomic
def plan_return_to_draft(*, plan: TerritoryPlan) -> TerritoryPlan:
    if plan.status not in (PlanStatus.PROPOSED, PlanStatus.APPROVED):
        raise ValidationError("Only a proposed or approved plan goes back to draft.")
    plan.status, plan.proposed_at, plan.approved_at, plan.approved_by = PlanStatus.DRAFT, None, None, None
    plan.save(update_fields=["status", "proposed_at", "approved_at", "approved_by"])
    return plan


@transaction.atomic
def plan_approve(*, plan: TerritoryPlan, user: Any) -> TerritoryPlan:
    """Approve a proposed plan (the caller has checked the approver's role)."""
    if plan.status != PlanStatus.PROPOSED:
        raise ValidationError("Only a proposed plan can be approved.")
    plan.status, plan.approved_by, plan.approved_at = PlanStatus.APPROVED, user, timezone.now()
    plan.save(update_fields=["status", "approved_by", "approved_at"])
    return plan


@transaction.atomic
def plan_activate(*, plan: TerritoryPlan, on: dt.date | None = None, user: Any | None = None) -> dict[str, int]:
    """Make an approved plan the active one from ``on`` and write the ownership history.

    For every active account: the open ownership row is closed on ``on``; the account then
    belongs to the territory the plan's rules give it and that territory's primary rep on
    ``on``. An account whose territory (by code) or rep changes is *moved*: with the plan's
    ``holdout_days`` > 0 its old owner keeps it from ``on`` for that many days (a ``holdout``
    row), and the new ownership starts after. The previously active plan is archived, ending
    the day before ``on``.
    """
    if plan.status != PlanStatus.APPROVED:
        raise ValidationError("Only an approved plan can be activated: propose it and have an executive or an "
                              "admin approve it.")
    on = on or plan.effective_from
    tenant_id = require_tenant_id()
    later = AccountOwnership.objects.filter(valid_from__gte=on).exists()
    if later:
        raise ValidationError(f"Ownership history already starts on or after {on}: activate on a later date.")
    plan_assign(plan=plan)
    params = {"t": tenant_id, "plan": plan.pk, "on": on, "hold": on + dt.timedelta(days=plan.holdout_days),
              "holdout": plan.holdout_days > 0}
    with connection.cursor() as cursor:
        # Set-based at any size: the primary of each territory on the day in one pass, hash joins on
        # the accounts (a seed activates plans inside the transaction that loaded the accounts, when
        # the tables have no statistics and the planner would otherwise pick nested loops).
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute("""
            CREATE TEMP TABLE _activation ON COMMIT DROP AS
            SELECT pa.account_id, pa.territory_id, t.code, cov.person_id,
                   o.id AS old_id, o.territory_id AS old_territory_id, ot.code AS old_code, o.person_id AS old_person_id,
                   (o.id IS NOT NULL AND (ot.code IS DISTINCT FROM t.code OR o.person_id IS DISTINCT FROM cov.person_id))
                       AS moved
            FROM territories_planassignment pa
            LEFT JOIN territories_territory t ON t.id = pa.territory_id
            LEFT JOIN (
                SELECT DISTINCT ON (c.territory_id) c.territory_id, c.person_id FROM territories_coverage c
                WHERE c.tenant_id = %(t)s AND c.role = 'primary' AND c.person_id IS NOT NULL
                  AND c.valid_from <= %(on)s AND (c.valid_to IS NULL OR c.valid_to > %(on)s)
                ORDER BY c.territory_id, c.valid_from DESC
            ) cov ON cov.territory_id = pa.territory_id
            LEFT JOIN territories_accountownership o
                   ON o.tenant_id = %(t)s AND o.account_id = pa.account_id AND o.valid_to IS NULL
            LEFT JOIN territories_territory ot ON ot.id = o.territory_id
            WHERE pa.tenant_id = %(t)s AND pa.plan_id = %(plan)s
        """, params)
        cursor.execute("SET LOCAL enable_nestloop = on")
        cursor.execute("ANALYZE _activation")
        cursor.execute("""
            UPDATE territories_accountownership o SET valid_to = %(on)s
            FROM _activation a WHERE o.id = a.old_id
        """, params)
        closed = cursor.rowcount
        held = 0
        if plan.holdout_days > 0:
            cursor.execute("""
                INSERT INTO territories_accountownership
                    (tenant_id, account_id, plan_id, territory_id, person_id, valid_from, valid_to, reason)
                SELECT %(t)s, account_id, %(plan)s, old_territory_id, old_person_id, %(on)s, %(hold)s, 'holdout'
                FROM _activation WHERE moved
            """, params)
            held = cursor.rowcount
        cursor.execute("""
            INSERT INTO territories_accountownership
                (tenant_id, account_id, plan_id, territory_id, person_id, valid_from, valid_to, reason)
            SELECT %(t)s, account_id, %(plan)s, territory_id, person_id,
                   CASE WHEN moved AND %(holdout)s THEN %(hold)s ELSE %(on)s END, NULL, 'activation'
            FROM _activation
        """, params)
        opened = cursor.rowcount
        cursor.execute("SELECT count(*) FILTER (WHERE moved) FROM _activation")
        moved = cursor.fetchone()[0]
        cursor.execute("DROP TABLE _activation")
    previous = TerritoryPlan.objects.filter(status=PlanStatus.ACTIVE).exclude(pk=plan.pk).first()
    if previous is not None:
        previous.status = PlanStatus.ARCHIVED
        if previous.effective_to is None or previous.effective_to > on:
            previous.effective_to = on if on > previous.effective_from else None
        previous.save(update_fields=["status", "effective_to"])
    plan.status, plan.activated_at = PlanStatus.ACTIVE, timezone.now()
    if plan.effective_from != on:
        plan.effective_from = on
    plan.save(update_fields=["status", "activated_at", "effective_from"])
    counts = {"accounts": opened, "moved": moved, "held_out": held, "closed": closed}
    audit_bulk(model=AccountOwnership, action=AuditAction.CREATE, tenant_id=tenant_id,
               summary={"plan": plan.pk, "activated_on": on.isoformat(), **counts,
                        "by": getattr(user, "username", None)})
    return counts


@transaction.atomic
def plan_delete(*, plan: TerritoryPlan) -> None:
    if plan.status in (PlanStatus.ACTIVE, PlanStatus.ARCHIVED):
        raise ValidationError("An active or archived plan is part of the ownership history and is kept.")
    PlanAssignment.objects.filter(plan=plan).delete()
    try:
        plan.delete()
    except (ProtectedError, RestrictedError) as exc:  # e.g. a quota plan built on this draft
        users = sorted({f"{o._meta.verbose_name} “{o}”" for o in exc.args[1]})
        raise ValidationError(
            f"This plan cannot be deleted while {', '.join(users)} uses it: delete that first, or keep the plan."
        ) from exc


# -- hierarchy -------------------------------------------------------------------------------------

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


@transaction.atomic
def territory_create(*, plan: TerritoryPlan, code: str, name: str, parent: Territory | None = None,
                     level: str = "territory", color: str = "") -> Territory:
    _editable(plan)
    code = code.strip()
    if not _CODE.match(code):
        raise ValidationError({"code": "Use letters, digits, '.', '_' or '-' (up to 40), e.g. 'W-03'."})
    if Territory.objects.filter(plan=plan, code__iexact=code).exists():
        raise ValidationError({"code": f"The plan already has a territory {code}."})
    if parent is not None and parent.plan_id != plan.pk:
        raise ValidationError({"parent": "The parent belongs to another plan."})
    if not color:
        color = PALETTE[Territory.objects.filter(plan=plan).count() % len(PALETTE)]
    territory = Territory.objects.create(plan=plan, parent=parent, code=code, name=name.strip() or code,
                                         level=level.strip() or "territory", color=color)
    plan_touched(plan)
    return territory


@transaction.atomic
def territory_merge(*, source: Territory, target: Territory) -> Territory:
    """Fold ``source`` into ``target``: its rules, coverage and children move; ``source`` is deleted."""
    plan = source.plan
    _editable(plan)
    if source.plan_id != target.plan_id or source.pk == target.pk:
        raise ValidationError("Merge two different territories of the same plan.")
    node: Territory | None = target
    while node is not None:
        if node.pk == source.pk:
            raise ValidationError("A territory cannot be merged into one of its own descendants.")
        node = node.parent
    for rule in AssignmentRule.objects.filter(territory=source):
        rule.territory = target
        rule.save(update_fields=["territory"])
    for cov in Coverage.objects.filter(territory=source):
        if cov.role == CoverageRole.PRIMARY:
            cov.role = CoverageRole.OVERLAY  # the target keeps its own primary rep
        cov.territory = target
        cov.save(update_fields=["territory", "role"])
    for child in Territory.objects.filter(parent=source):
        child.parent = target
        child.save(update_fields=["parent"])
    PlanAssignment.objects.filter(plan=plan, territory=source).update(territory=target)
    source.delete()
    plan_assign(plan=plan)
    plan_touched(plan)
    return target


@transaction.atomic
def territory_split(*, territory: Territory, code: str, name: str, rules: list[AssignmentRule]) -> Territory:
    """A new sibling of ``territory`` that takes ``rules`` (some of ``territory``'s) with it."""
    for rule in rules:
        if rule.territory_id != territory.pk:
            raise ValidationError("Only rules of the territory being split can move to the new one.")
    new = territory_create(plan=territory.plan, code=code, name=name, parent=territory.parent, level=territory.level)
    for rule in rules:
        rule.territory = new
        rule.save(update_fields=["territory"])
    plan_assign(plan=territory.plan)
    return new



_COLOR = re.compile(r"^(#[0-9a-fA-F]{6})?$")


@transaction.atomic
def territory_update(*, territory: Territory, **fields: Any) -> Territory:
    """Rename, recode, recolour or re-parent a territory of an editable plan."""
    plan = territory.plan
    _editable(plan)
    unknown = set(fields) - {"code", "name", "parent", "level", "color"}
    if unknown:
        raise ValidationError(f"Fields {sorted(unknown)} cannot be changed here.")
    if "code" in fields:
        code = (fields["code"] or "").strip()
        if not _CODE.match(code):
            raise ValidationError({"code": "Use letters, digits, '.', '_' or '-' (up to 40), e.g. 'W-03'."})
        if Territory.objects.filter(plan=plan, code__iexact=code).exclude(pk=territory.pk).exists():
            raise ValidationError({"code": f"The plan already has a territory {code}."})
        territory.code = code
    if "parent" in fields:
        parent = fields["parent"]
        node = parent
        while node is not None:
            if node.pk == territory.pk:
                raise ValidationError({"parent": "A territory cannot sit under itself or one of its descendants."})
            node = node.parent
        if parent is not None and parent.plan_id != plan.pk:
            raise ValidationError({"parent": "The parent belongs to another plan."})
        territory.parent = parent
    for key in ("name", "level"):
        if key in fields:
            setattr(territory, key, (fields[key] or "").strip() or getattr(territory, key))
    if "color" in fields:
        color = (fields["color"] or "").strip()
        if not _COLOR.match(color):
            raise ValidationError({"color": "A colour reads #rrggbb, e.g. #2563eb."})
        territory.color = color or territory.color
    territory.save()
    plan_touched(plan)
    return territory


@transaction.atomic
def territory_delete(*, territory: Territory) -> None:
    """Delete a territory without sub-territories; its rules and coverage go, its accounts fall unassigned."""
    plan = territory.plan
    _editable(plan)
    if Territory.objects.filter(parent=territory).exists():
        raise ValidationError("The territory has sub-territories: merge or delete them first.")
    territory.delete()
    plan_assign(plan=plan)
    plan_touched(plan)

# -- rules -----------------------------------------------------------------------------------------

def rule_value_normalise(kind: str, value: str) -> str:
    value = (value or "").strip()
    if kind not in RULE_PRECEDENCE:
        raise ValidationError({"kind": f"Unknown rule kind {kind!r}."})
    if not value:
        raise ValidationError({"value": "A rule needs a value."})
    if kind == RuleKind.ZIP and not re.fullmatch(r"\d{5}", value):
        raise ValidationError({"value": "A ZIP rule takes a 5-digit ZIP code."})
    if kind == RuleKind.ZIP3 and not re.fullmatch(r"\d{3}", value):
        raise ValidationError({"value": "A ZIP3 rule takes the first 3 digits of a ZIP code."})
    if kind == RuleKind.STATE:
        value = value.upper()
        if not re.fullmatch(r"[A-Z]{2}", value):
            raise ValidationError({"value": "A state rule takes a 2-letter state code."})
    if kind == RuleKind.COUNTY:
        state, _, county = value.partition(":")
        if len(state.strip()) != 2 or not county.strip():
            raise ValidationError({"value": "A county rule reads 'ST:County', e.g. 'CO:Denver County'."})
        value = f"{state.strip().upper()}:{county.strip()}"
    if kind == RuleKind.NPI and not re.fullmatch(r"\d{10}", value):
        raise ValidationError({"value": "An NPI rule takes a 10-digit NPI."})
    if kind == RuleKind.ACCOUNT:
        if not value.isdigit() or not Account.objects.filter(pk=int(value)).exists():
            raise ValidationError({"value": "A named-account rule takes the id of one of the organization's accounts."})
    if kind == RuleKind.SERVICE_LINE:
        if not value.isdigit() or not ServiceLine.objects.filter(pk=int(value)).exists():
            raise ValidationError({"value": "A service-line rule takes the id of one of the organization's service lines."})
    return value


@transaction.atomic
def rule_save(*, plan: TerritoryPlan, territory: Territory, kind: str, value: str, priority: int = 100,
              locked: bool = False, rule: AssignmentRule | None = None, reassign: bool = True) -> AssignmentRule:
    _editable(plan)
    if territory.plan_id != plan.pk:
        raise ValidationError({"territory": "The territory belongs to another plan."})
    value = rule_value_normalise(kind, value)
    clash = AssignmentRule.objects.filter(plan=plan, kind=kind, value__iexact=value)
    if rule is not None:
        clash = clash.exclude(pk=rule.pk)
    if clash.exists():
        raise ValidationError({"value": f"The plan already has a {RuleKind(kind).label.lower()} rule for {value}."})
    rule = rule or AssignmentRule(plan=plan)
    rule.territory, rule.kind, rule.value, rule.priority, rule.locked = territory, kind, value, priority, locked
    rule.save()
    if reassign:
        plan_assign(plan=plan)
    plan_touched(plan)
    return rule


@transaction.atomic
def rule_delete(*, rule: AssignmentRule) -> None:
    plan = rule.plan
    _editable(plan)
    rule.delete()
    plan_assign(plan=plan)
    plan_touched(plan)


@transaction.atomic
def unit_move(*, plan: TerritoryPlan, kind: str, value: str, territory: Territory) -> AssignmentRule:
    """Move a ZIP (or a named account, or any rule key) to ``territory``: its rule is created or re-pointed."""
    value = rule_value_normalise(kind, value)
    existing = AssignmentRule.objects.filter(plan=plan, kind=kind, value__iexact=value).first()
    if existing is not None and existing.locked:
        raise ValidationError(f"{RuleKind(kind).label} {value} is locked in {existing.territory.code}: unlock it first.")
    return rule_save(plan=plan, territory=territory, kind=kind, value=value,
                     priority=existing.priority if existing else 100, rule=existing)


# -- coverage --------------------------------------------------------------------------------------

@transaction.atomic
def coverage_assign(*, territory: Territory, person: Person | None = None, placeholder: str = "",
                    role: str = CoverageRole.PRIMARY, valid_from: dt.date | None = None) -> Coverage:
    """``person`` (or a to-be-hired ``placeholder``) covers ``territory`` from ``valid_from``; an open
    primary coverage of the territory ends that day."""
    plan = territory.plan
    _editable(plan)
    if person is None and not placeholder.strip():
        raise ValidationError("Name a person or a to-be-hired placeholder.")
    valid_from = valid_from or plan.effective_from
    if role == CoverageRole.PRIMARY:
        current = Coverage.objects.filter(territory=territory, role=CoverageRole.PRIMARY, valid_to__isnull=True).first()
        if current is not None:
            if current.valid_from >= valid_from:
                current.delete()
            else:
                current.valid_to = valid_from
                current.save(update_fields=["valid_to"])
    coverage = Coverage.objects.create(territory=territory, person=person, placeholder=placeholder.strip(),
                                       role=role, valid_from=valid_from)
    plan_touched(plan)
    return coverage


# -- evaluation ------------------------------------------------------------------------------------

_PRECEDENCE_SQL = "array_position(ARRAY[" + ", ".join(f"'{k}'" for k in RULE_PRECEDENCE) + "]::text[], r.kind)"

ASSIGN_SQL = f"""
WITH rules AS MATERIALIZED (
    SELECT r.id, r.territory_id, r.kind, r.priority,
           CASE WHEN r.kind IN ('account_type', 'specialty', 'county') THEN lower(r.value)
                WHEN r.kind = 'state' THEN upper(r.value) ELSE r.value END AS key,
           {_PRECEDENCE_SQL} AS precedence
    FROM territories_assignmentrule r
    WHERE r.tenant_id = %(t)s AND r.plan_id = %(plan)s
), accounts AS MATERIALIZED (
    SELECT a.id, a.npi, a.service_line_id, a.account_type, a.specialty, a.zip_code, a.county, a.state
    FROM revops_account a WHERE a.tenant_id = %(t)s AND a.is_active
), keys AS (
              SELECT id AS account_id, 'account'::text AS kind, id::text AS key FROM accounts
    UNION ALL SELECT id, 'npi', nullif(npi, '') FROM accounts
    UNION ALL SELECT id, 'service_line', service_line_id::text FROM accounts
    UNION ALL SELECT id, 'account_type', lower(account_type) FROM accounts
    UNION ALL SELECT id, 'specialty', lower(nullif(specialty, '')) FROM accounts
    UNION ALL SELECT id, 'zip', zip_code FROM accounts
    UNION ALL SELECT id, 'zip3', left(zip_code, 3) FROM accounts
    UNION ALL SELECT id, 'county', lower(state || ':' || nullif(county, '')) FROM accounts
    UNION ALL SELECT id, 'state', upper(state) FROM accounts
), best AS (
    SELECT DISTINCT ON (keys.account_id) keys.account_id, r.id AS rule_id, r.territory_id
    FROM keys JOIN rules r ON r.kind = keys.kind AND r.key = keys.key
    ORDER BY keys.account_id, r.precedence, r.priority, r.id
)
INSERT INTO territories_planassignment (tenant_id, plan_id, account_id, territory_id, rule_id)
SELECT %(t)s, %(plan)s, a.id, best.territory_id, best.rule_id
FROM accounts a LEFT JOIN best ON best.account_id = a.id
"""


@transaction.atomic
def plan_assign(*, plan: TerritoryPlan) -> dict[str, int]:
    """Evaluate the plan's rules for every active account (one statement); counts of the result."""
    tenant_id = require_tenant_id()
    params = {"t": tenant_id, "plan": plan.pk}
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM territories_planassignment WHERE tenant_id = %(t)s AND plan_id = %(plan)s", params)
        # Accounts' keys meet the rules in a hash join whatever the statistics say: on tables
        # loaded moments ago (no statistics yet) the planner expected one account and nested
        # loops over accounts x rules x 9 keys (23 s for a plan of the seeded test organization).
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute("SET LOCAL jit = off")  # its compile time, not the work, would dominate
        cursor.execute(ASSIGN_SQL, params)
        total = cursor.rowcount
        cursor.execute("SET LOCAL enable_nestloop TO DEFAULT")
        cursor.execute("SET LOCAL jit TO DEFAULT")
        cursor.execute("SELECT count(*) FROM territories_planassignment "
                       "WHERE tenant_id = %(t)s AND plan_id = %(plan)s AND territory_id IS NULL", params)
        unassigned = cursor.fetchone()[0]
    return {"accounts": total, "assigned": total - unassigned, "unassigned": unassigned}
