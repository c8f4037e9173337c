"""Writes of the plan builder: plans, versions, components, compliance sign-offs, assignments and credit rules.

Every function works in the active organization, in one transaction, and refuses with a
``ValidationError`` whose message says what to do. A version is built while it is a draft; it
activates only when it has components and every component flagged under EKRA / the
Anti-Kickback Statute has a compliance sign-off (docs/commissions.md, "Compliance guardrail").
Activating a version ends the plan's previously active version where the new one starts, so
two active versions of a plan never overlap. Every row written here is audited (commissions/apps.py).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from revops.models import Membership, Organization, Person, ServiceLine
from revops.tenancy import require_tenant_id

from ..models import (
    EKRA_BASES,
    Basis,
    ComplianceSignoff,
    CompPlan,
    CompPlanVersion,
    Component,
    ComponentKind,
    CreditRule,
    CreditRuleKind,
    PlanAssignment,
    RateType,
    TierBasis,
    VersionStatus,
)
from ..selectors.plans import document_version

ZERO = Decimal(0)
HUNDRED = Decimal(100)
RATE_PLACES = 6  # the engine works in micro-units of a rate
THRESHOLD_PLACES = 2  # and in centi-percent / cents of a threshold


def _org() -> Organization:
    return Organization.objects.get(pk=require_tenant_id())


def _decimal(value: Any, label: str) -> Decimal:
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(f"{label}: {value!r} is not a number.") from None
    if not number.is_finite():
        raise ValidationError(f"{label}: {value!r} is not a number.")
    return number


def _places(number: Decimal, places: int, label: str) -> None:
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise ValidationError(f"{label}: {number:f} has more than {places} decimal places.")


def _text(number: Decimal) -> str:
    """A Decimal as stored in a tier: plain digits, no exponent, no trailing zeros ("0.05", "100")."""
    text = f"{number.normalize():f}"
    return "0" if text in ("-0", "") else text


def _valid_range(effective_from: dt.date, effective_to: dt.date | None, what: str) -> None:
    if effective_from is None:
        raise ValidationError(f"{what} needs a start date.")
    if effective_to is not None and effective_to <= effective_from:
        raise ValidationError(f"{what} must end after it starts: the end date ({effective_to:%b %-d, %Y}) is "
                              "exclusive, the first day it no longer applies.")


def _draft(version: CompPlanVersion) -> None:
    if version.status != VersionStatus.DRAFT:
        raise ValidationError(f"{version} is {version.get_status_display().lower()}: only a draft changes. "
                              "Create a new version (a copy) to change the plan.")


# -- plans -----------------------------------------------------------------------------------------

@transaction.atomic
def plan_create(*, name: str, description: str = "") -> CompPlan:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["A plan needs a name."]})
    if CompPlan.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": [f"A compensation plan named {name!r} already exists."]})
    return CompPlan.objects.create(name=name, description=(description or "").strip())


@transaction.atomic
def plan_update(*, plan: CompPlan, name: str | None = None, description: str | None = None) -> CompPlan:
    if name is not None:
        name = name.strip()
        if not name:
            raise ValidationError({"name": ["A plan needs a name."]})
        if CompPlan.objects.filter(name__iexact=name).exclude(pk=plan.pk).exists():
            raise ValidationError({"name": [f"A compensation plan named {name!r} already exists."]})
        plan.name = name
    if description is not None:
        plan.description = description.strip()
    plan.save()
    return plan


@transaction.atomic
def plan_delete(*, plan: CompPlan) -> None:
    """Delete a plan nobody is assigned to and that never had a version activated."""
    if PlanAssignment.objects.filter(plan=plan).exists():
        raise ValidationError(f"{plan.name} has assignments: people are (or were) paid under it. End them instead; "
                              "the plan is kept for their history.")
    if plan.versions.exclude(status=VersionStatus.DRAFT).exists():
        raise ValidationError(f"{plan.name} has had an active version, so it is kept for the history of what it "
                              "paid. Retire its versions instead.")
    plan.delete()


# -- versions --------------------------------------------------------------------------------------

VERSION_FIELDS = {"effective_from", "effective_to", "period_cap", "quota_basis", "notes"}
COMPONENT_COPY_FIELDS = ("name", "order", "kind", "basis", "custom_basis", "service_line_id", "rate_type", "rate",
                         "tier_basis", "tiers", "service_line_rates", "hurdle_pct", "cap_amount", "unit_amount",
                         "spiff_start", "spiff_end", "hold_pct", "hold_days", "clawback_days")


def _check_version_fields(*, period_cap: Decimal | None, quota_basis: str) -> None:
    if period_cap is not None and _decimal(period_cap, "Period cap") < 0:
        raise ValidationError({"period_cap": ["A period cap cannot be negative."]})
    if not (quota_basis or "").strip():
        raise ValidationError({"quota_basis": ["Name the basis the quota measures (bookings, a custom metric's "
                                               "code, ...)."]})


@transaction.atomic
def version_create(*, plan: CompPlan, effective_from: dt.date, effective_to: dt.date | None = None,
                   copy_from: CompPlanVersion | None = None, period_cap: Decimal | None = None,
                   quota_basis: str | None = None, notes: str | None = None, user: Any = None) -> CompPlanVersion:
    """A draft version numbered after the plan's last one. ``copy_from`` copies that version's cap, quota basis,
    notes and components (tiers, rates and every term; not its compliance sign-offs, which are for a reviewed
    version and are recorded again)."""
    _valid_range(effective_from, effective_to, "A version")
    if copy_from is not None:
        period_cap = copy_from.period_cap if period_cap is None else period_cap
        quota_basis = quota_basis or copy_from.quota_basis
        notes = copy_from.notes if notes is None else notes
    quota_basis = (quota_basis or Basis.BOOKINGS).strip()
    _check_version_fields(period_cap=period_cap, quota_basis=quota_basis)
    CompPlan.objects.select_for_update().filter(pk=plan.pk).first()  # number versions one at a time
    number = (plan.versions.aggregate(n=Max("version"))["n"] or 0) + 1
    version = CompPlanVersion.objects.create(
        plan=plan, version=number, effective_from=effective_from, effective_to=effective_to,
        period_cap=period_cap, quota_basis=quota_basis, notes=(notes or "").strip(),
        created_by=user if getattr(user, "pk", None) else None)
    if copy_from is not None:
        for source in copy_from.components.order_by("order", "id"):
            Component.objects.create(version=version, **{f: getattr(source, f) for f in COMPONENT_COPY_FIELDS})
    return version


@transaction.atomic
def version_update(*, version: CompPlanVersion, **fields: Any) -> CompPlanVersion:
    """Change a draft's dates, period cap, quota basis or notes."""
    _draft(version)
    unknown = set(fields) - VERSION_FIELDS
    if unknown:
        raise ValidationError(f"These version fields cannot be edited: {', '.join(sorted(unknown))}.")
    for key, value in fields.items():
        setattr(version, key, value.strip() if isinstance(value, str) else value)
    _valid_range(version.effective_from, version.effective_to, "A version")
    _check_version_fields(period_cap=version.period_cap, quota_basis=version.quota_basis)
    version.save()
    return version


@transaction.atomic
def version_delete(*, version: CompPlanVersion) -> None:
    _draft(version)
    version.delete()


def missing_signoffs(version: CompPlanVersion) -> list[Component]:
    """The version's flagged components that have no compliance sign-off (none when the org is not covered)."""
    if not _org().ekra_covered:
        return []
    return [c for c in version.components.select_related("signoff").order_by("order", "id")
            if c.basis in EKRA_BASES and not hasattr(c, "signoff")]


@transaction.atomic
def version_activate(*, version: CompPlanVersion, user: Any) -> list[str]:
    """Make a draft the plan's active version from its ``effective_from``.

    Refused when it has no components, or when a flagged component has no compliance sign-off.
    The plan's active versions it overlaps are ended where it starts (``effective_to`` = its
    ``effective_from``), or retired when they start on or after that day (nothing left to cover).
    Returns one sentence per version so changed.
    """
    CompPlan.objects.select_for_update().filter(pk=version.plan_id).first()
    version.refresh_from_db()
    if version.status != VersionStatus.DRAFT:
        raise ValidationError(f"{version} is {version.get_status_display().lower()}; only a draft can be activated.")
    if not version.components.exists():
        raise ValidationError(f"{version} has no components, so it would pay nothing. Add at least one component "
                              "before activating it.")
    unsigned = missing_signoffs(version)
    if unsigned:
        names = ", ".join(c.name for c in unsigned)
        raise ValidationError(
            f"{version} cannot be activated: {len(unsigned)} component{'s' if len(unsigned) > 1 else ''} flagged under "
            f"EKRA (18 U.S.C. § 220) and the Anti-Kickback Statute need{'' if len(unsigned) > 1 else 's'} a compliance "
            f"sign-off first: {names}.")
    start, end = version.effective_from, version.effective_to
    overlapping = CompPlanVersion.objects.filter(plan_id=version.plan_id, status=VersionStatus.ACTIVE).exclude(
        pk=version.pk).filter(Q(effective_to__isnull=True) | Q(effective_to__gt=start))
    if end is not None:
        overlapping = overlapping.filter(effective_from__lt=end)
    changes = []
    for previous in overlapping.order_by("effective_from"):
        if previous.effective_from < start:
            previous.effective_to = start
            previous.save()
            changes.append(f"v{previous.version} now ends on {start:%b %-d, %Y}.")
        else:
            previous.status = VersionStatus.RETIRED
            previous.save()
            changes.append(f"v{previous.version} was retired: v{version.version} covers all of its dates from "
                           f"{start:%b %-d, %Y}.")
    version.status, version.activated_at = VersionStatus.ACTIVE, timezone.now()
    version.activated_by = user if getattr(user, "pk", None) else None
    version.save()
    return changes


@transaction.atomic
def version_retire(*, version: CompPlanVersion) -> CompPlanVersion:
    """Stop paying under an active version (its plan then pays nothing on its dates until another is active)."""
    if version.status != VersionStatus.ACTIVE:
        raise ValidationError(f"{version} is {version.get_status_display().lower()}; only an active version is "
                              "retired (a draft can be deleted).")
    version.status = VersionStatus.RETIRED
    version.save()
    return version


# -- components ------------------------------------------------------------------------------------

COMPONENT_FIELDS = {"name", "order", "kind", "basis", "custom_basis", "service_line", "rate_type", "rate",
                    "tier_basis", "tiers", "service_line_rates", "hurdle_pct", "cap_amount", "unit_amount",
                    "spiff_start", "spiff_end", "hold_pct", "hold_days", "clawback_days"}


def _an(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def _tiers(raw: Any, *, value_key: str, value_label: str, first_from_zero: bool) -> list[dict[str, str]]:
    """Check and normalise a tier table: [{"from": threshold, value_key: number}], thresholds ascending."""
    if not isinstance(raw, (list, tuple)) or not raw:
        raise ValidationError({"tiers": [f"Give at least one tier: a threshold and {_an(value_label)} per row."]})
    out, previous = [], None
    for number, tier in enumerate(raw, start=1):
        if not isinstance(tier, dict) or "from" not in tier or value_key not in tier:
            raise ValidationError({"tiers": [f"Tier {number} needs \"from\" (the threshold) and \"{value_key}\"."]})
        extra = set(tier) - {"from", value_key}
        if extra:
            raise ValidationError({"tiers": [f"Tier {number} has unknown keys: {', '.join(sorted(extra))}."]})
        threshold = _decimal(tier["from"], f"Tier {number} threshold")
        value = _decimal(tier[value_key], f"Tier {number} {value_label}")
        _places(threshold, THRESHOLD_PLACES, f"Tier {number} threshold")
        _places(value, RATE_PLACES if value_key == "rate" else 2, f"Tier {number} {value_label}")
        if threshold < 0:
            raise ValidationError({"tiers": [f"Tier {number}: a threshold cannot be negative."]})
        if value < 0:
            raise ValidationError({"tiers": [f"Tier {number}: {_an(value_label)} cannot be negative."]})
        if number == 1 and first_from_zero and threshold != 0:
            raise ValidationError({"tiers": [f"The first tier starts from 0 (it is the rate below the next threshold); "
                                             f"it starts from {_text(threshold)}."]})
        if previous is not None and threshold <= previous:
            raise ValidationError({"tiers": [f"Tier thresholds go up: tier {number} ({_text(threshold)}) is not above "
                                             f"tier {number - 1} ({_text(previous)})."]})
        previous = threshold
        out.append({"from": _text(threshold), value_key: _text(value)})
    return out


def _service_line_rates(raw: Any) -> dict[str, str]:
    if not raw:
        return {}
    if not isinstance(raw, dict):
        raise ValidationError({"service_line_rates": ["Service-line rates are {service line code: rate}."]})
    known = set(ServiceLine.objects.filter(code__in=list(raw)).values_list("code", flat=True))
    out = {}
    for code, value in raw.items():
        if code not in known:
            raise ValidationError({"service_line_rates": [f"There is no service line with the code {code!r}."]})
        rate = _decimal(value, f"Rate of {code}")
        _places(rate, RATE_PLACES, f"Rate of {code}")
        if rate < 0:
            raise ValidationError({"service_line_rates": [f"The rate of {code} cannot be negative."]})
        out[code] = _text(rate)
    return out


def _check_component(c: Component) -> None:
    """Per-kind rules of docs/commissions.md; normalises tiers and clears what the kind does not use."""
    c.name = (c.name or "").strip()
    if not c.name:
        raise ValidationError({"name": ["A component needs a name."]})
    if c.kind not in ComponentKind.values:
        raise ValidationError({"kind": [f"{c.kind!r} is not a component kind."]})
    if c.basis not in Basis.values:
        raise ValidationError({"basis": [f"{c.basis!r} is not a basis."]})
    c.custom_basis = (c.custom_basis or "").strip()
    if c.basis == Basis.CUSTOM and not c.custom_basis:
        raise ValidationError({"custom_basis": ["A custom basis needs the metric's code (what its transactions "
                                                "carry)."]})
    if c.basis != Basis.CUSTOM:
        c.custom_basis = ""
    if c.rate_type not in RateType.values:
        raise ValidationError({"rate_type": [f"{c.rate_type!r} is not a rate type."]})
    if c.tier_basis not in TierBasis.values:
        raise ValidationError({"tier_basis": [f"{c.tier_basis!r} is not a tier basis."]})
    for field, label in (("rate", "Rate"), ("unit_amount", "Amount per transaction"), ("hold_pct", "Hold %")):
        value = _decimal(getattr(c, field) if getattr(c, field) is not None else 0, label)
        if value < 0:
            raise ValidationError({field: [f"{label} cannot be negative."]})
        setattr(c, field, value)
    _places(c.rate, RATE_PLACES, "Rate")
    if c.hold_pct > HUNDRED:
        raise ValidationError({"hold_pct": ["Hold % is between 0 and 100."]})
    for field, label in (("hurdle_pct", "Hurdle %"), ("cap_amount", "Cap")):
        value = getattr(c, field)
        if value is not None:
            value = _decimal(value, label)
            if value < 0:
                raise ValidationError({field: [f"{label} cannot be negative."]})
            setattr(c, field, value)
    c.hold_days, c.order = c.hold_days or 0, c.order or 0
    for field, label in (("hold_days", "Hold days"), ("clawback_days", "Clawback window"), ("order", "Order")):
        value = getattr(c, field)
        if value is not None and int(value) < 0:
            raise ValidationError({field: [f"{label} cannot be negative."]})
    if c.hold_pct > 0 and not c.hold_days:
        raise ValidationError({"hold_days": ["A hold needs the number of days the held part waits."]})
    c.service_line_rates = _service_line_rates(c.service_line_rates)

    if c.kind == ComponentKind.COMMISSION:
        if c.rate_type == RateType.FLAT:
            if c.rate <= 0 and not c.service_line_rates:
                raise ValidationError({"rate": ["A flat commission needs a rate above 0 (or per-service-line rates)."]})
            c.tiers = []
        else:
            c.tiers = _tiers(c.tiers, value_key="rate", value_label="rate", first_from_zero=True)
            c.rate = ZERO
        c.spiff_start = c.spiff_end = None
        c.unit_amount = ZERO
    elif c.kind == ComponentKind.BONUS:
        c.tiers = _tiers(c.tiers, value_key="amount", value_label="amount", first_from_zero=False)
        c.rate_type, c.rate, c.tier_basis = RateType.FLAT, ZERO, TierBasis.ATTAINMENT
        c.spiff_start = c.spiff_end = None
        c.unit_amount, c.service_line_rates = ZERO, {}
    else:  # SPIFF
        if c.spiff_start is None or c.spiff_end is None:
            raise ValidationError({"spiff_start": ["A SPIFF needs the first and last day transactions qualify."]})
        if c.spiff_start > c.spiff_end:
            raise ValidationError({"spiff_end": [f"The SPIFF ends ({c.spiff_end:%b %-d, %Y}) before it starts "
                                                 f"({c.spiff_start:%b %-d, %Y})."]})
        if c.unit_amount <= 0 and c.rate <= 0:
            raise ValidationError({"unit_amount": ["A SPIFF pays an amount per transaction, a rate, or both: give "
                                                   "one above 0."]})
        c.rate_type, c.tiers, c.service_line_rates = RateType.FLAT, [], {}


def _terms(component: Component) -> dict[str, Any]:
    return {f: getattr(component, f) for f in COMPONENT_COPY_FIELDS}


@transaction.atomic
def component_save(*, version: CompPlanVersion, component: Component | None = None, **fields: Any) -> Component:
    """Create (``component`` None) or change a draft's component; fields not given keep their values.

    Changing the terms of a component that had a compliance sign-off withdraws the sign-off (it was given
    for what was reviewed); ``component.signoff_withdrawn`` says so.
    """
    _draft(version)
    unknown = set(fields) - COMPONENT_FIELDS
    if unknown:
        raise ValidationError(f"These component fields do not exist: {', '.join(sorted(unknown))}.")
    if component is not None and component.version_id != version.pk:
        raise ValidationError("That component belongs to another version.")
    creating = component is None
    if creating:
        component = Component(version=version)
        if "order" not in fields:
            fields["order"] = (version.components.aggregate(n=Max("order"))["n"] or 0) + 1
    before = None if creating else _terms(component)
    for key, value in fields.items():
        setattr(component, key, value)
    _check_component(component)
    if Component.objects.filter(version=version, name__iexact=component.name).exclude(pk=component.pk).exists():
        raise ValidationError({"name": [f"{version} already has a component named {component.name!r}."]})
    component.save()
    component.signoff_withdrawn = False  # type: ignore[attr-defined]
    if not creating and before != _terms(component):
        withdrawn = ComplianceSignoff.objects.filter(component=component)
        if withdrawn.exists():
            for signoff in withdrawn:
                signoff.delete()  # one by one, so the audit trail keeps each
            component.signoff_withdrawn = True  # type: ignore[attr-defined]
            if hasattr(component, "_state") and "signoff" in component._state.fields_cache:
                del component._state.fields_cache["signoff"]
    return component


@transaction.atomic
def component_delete(*, component: Component) -> None:
    _draft(component.version)
    component.delete()


# -- compliance ------------------------------------------------------------------------------------

def component_flagged(component: Component, *, org: Organization | None = None) -> bool:
    """True when the organization is EKRA-covered and the component pays on referrals, tests, amounts billed or
    amounts collected (``EKRA_BASES``)."""
    organization = org if org is not None else Organization.objects.get(pk=component.tenant_id)
    return bool(organization.ekra_covered) and component.basis in EKRA_BASES


BASIS_WHY = {
    Basis.REFERRALS: "the number of patient referrals",
    Basis.TESTS: "the number of tests ordered or performed",
    Basis.BILLED: "the amounts billed for services",
    Basis.NET_COLLECTED: "the amounts collected from payers (net collected revenue from 835 remittances)",
}


def ekra_explanation(component: Component) -> str:
    """Plain language: why the component is flagged and what a sign-off means."""
    why = BASIS_WHY.get(component.basis, "referrals, tests, or amounts billed or collected")
    return (
        f"{component.name} pays on {why}. Your organization is marked as a laboratory or substance-use treatment "
        "provider, so two laws apply: the Eliminating Kickbacks in Recovery Act (EKRA, 18 U.S.C. § 220) and the "
        "federal Anti-Kickback Statute (42 U.S.C. § 1320a-7b(b)). Both restrict paying the people who bring in "
        "patients or business, employees and contractors alike, by the number of referrals or tests, or by the "
        "amounts billed or collected. "
        "This version will not activate until someone with approval rights records a compliance sign-off for "
        "this component: a written reason (for example, counsel's review of the arrangement, or why the pay is "
        "not tied to referrals). Who signed and when are kept in the audit trail. A sign-off documents that the "
        "arrangement was reviewed; it is not itself a legal safe harbor."
    )


@transaction.atomic
def signoff_record(*, component: Component, user: Any, reason: str) -> ComplianceSignoff:
    """Record a compliance officer's sign-off on a flagged component (the approve right is checked by callers)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["A sign-off needs the reason: what was reviewed and why the component "
                                          "is acceptable."]})
    if not component_flagged(component):
        raise ValidationError(f"{component.name} is not flagged (it pays on {component.get_basis_display().lower()}"
                              f"{'' if _org().ekra_covered else ', and the organization is not EKRA-covered'}), "
                              "so it needs no compliance sign-off.")
    if not getattr(user, "pk", None):
        raise ValidationError("A sign-off is recorded by a signed-in person, not an API key.")
    existing = ComplianceSignoff.objects.filter(component=component).select_related("signed_by").first()
    if existing is not None:
        who = existing.signed_by.get_full_name() or existing.signed_by.get_username()
        raise ValidationError(f"{component.name} was already signed off by {who} on "
                              f"{timezone.localtime(existing.signed_at):%b %-d, %Y}.")
    return ComplianceSignoff.objects.create(component=component, signed_by=user, reason=reason)


# -- assignments -----------------------------------------------------------------------------------

def _overlap_message(person: Person, other: PlanAssignment) -> str:
    until = f"until {other.effective_to:%b %-d, %Y}" if other.effective_to else "with no end date"
    return (f"{person} is already on {other.plan.name} from {other.effective_from:%b %-d, %Y} {until}; a person is "
            "on one plan at a time. End that assignment first, or start this one after it ends.")


@transaction.atomic
def assignment_save(*, person: Person, plan: CompPlan, effective_from: dt.date, effective_to: dt.date | None = None,
                    quota_amount: Decimal | None = None, draw_amount: Decimal = ZERO, draw_recoverable: bool = True,
                    draw_until: dt.date | None = None, assignment: PlanAssignment | None = None) -> PlanAssignment:
    """Put ``person`` on ``plan`` for [``effective_from``, ``effective_to``) (or change ``assignment``).

    A change of plan, dates, quota or draw clears the person's acknowledgment: the plan document changed.
    """
    _valid_range(effective_from, effective_to, "An assignment")
    if quota_amount is not None and _decimal(quota_amount, "Quota") < 0:
        raise ValidationError({"quota_amount": ["A quota cannot be negative."]})
    draw_amount = _decimal(draw_amount if draw_amount is not None else 0, "Draw")
    if draw_amount < 0:
        raise ValidationError({"draw_amount": ["A draw cannot be negative."]})
    if draw_until is not None and draw_until < effective_from:
        raise ValidationError({"draw_until": ["The draw ends before the assignment starts."]})
    others = PlanAssignment.objects.filter(person=person).exclude(pk=getattr(assignment, "pk", None))
    others = others.filter(Q(effective_to__isnull=True) | Q(effective_to__gt=effective_from))
    if effective_to is not None:
        others = others.filter(effective_from__lt=effective_to)
    clash = others.select_related("plan").order_by("effective_from").first()
    if clash is not None:
        raise ValidationError(_overlap_message(person, clash))
    values = {"person": person, "plan": plan, "effective_from": effective_from, "effective_to": effective_to,
              "quota_amount": quota_amount, "draw_amount": draw_amount, "draw_recoverable": bool(draw_recoverable),
              "draw_until": draw_until}
    if assignment is None:
        assignment = PlanAssignment(**values)
    else:
        terms = ("person_id", "plan_id", "effective_from", "effective_to", "quota_amount", "draw_amount",
                 "draw_recoverable", "draw_until")
        before = [getattr(assignment, k) for k in terms]
        for key, value in values.items():
            setattr(assignment, key, value)
        if before != [getattr(assignment, k) for k in terms]:
            assignment.acknowledged_at = assignment.acknowledged_by = assignment.acknowledged_version = None
    try:
        with transaction.atomic():
            assignment.save()
    except IntegrityError:  # a concurrent write won the race for the same dates
        raise ValidationError(f"{person} already has an assignment on these dates; reload and try again.") from None
    return assignment


@transaction.atomic
def assignment_end(*, assignment: PlanAssignment, effective_to: dt.date) -> PlanAssignment:
    """End an assignment: ``effective_to`` is the first day the person is no longer on the plan."""
    if effective_to is None:
        raise ValidationError({"effective_to": ["Give the first day the person is no longer on the plan."]})
    _valid_range(assignment.effective_from, effective_to, "An assignment")
    assignment.effective_to = effective_to
    assignment.save()
    return assignment


@transaction.atomic
def assignment_delete(*, assignment: PlanAssignment) -> None:
    """Remove an assignment made by mistake (runs of locked periods show the difference as adjustments)."""
    assignment.delete()


def user_is_person(user: Any, person: Person) -> bool:
    """Whether ``user`` is ``person``: the person's user link, or the membership's person link."""
    if not getattr(user, "pk", None):
        return False
    if person.user_id == user.pk:
        return True
    return Membership.objects.filter(user_id=user.pk, person_id=person.pk, is_active=True).exists()


@transaction.atomic
def assignment_acknowledge(*, assignment: PlanAssignment, user: Any, today: dt.date | None = None) -> PlanAssignment:
    """The rep acknowledges their plan document: only the user linked to the assignment's person may.
    Records when, who, and the version the document showed (``selectors.plans.document_version``)."""
    person = assignment.person
    if not user_is_person(user, person):
        raise ValidationError(f"Only {person} can acknowledge their own plan document.")
    version = document_version(assignment, today=today)
    if version is None:
        raise ValidationError(f"{assignment.plan.name} has no active version yet, so there is no plan document to "
                              "acknowledge.")
    if assignment.acknowledged_version_id == version.pk and assignment.acknowledged_at is not None:
        raise ValidationError(f"You already acknowledged {version} on "
                              f"{timezone.localtime(assignment.acknowledged_at):%b %-d, %Y}.")
    assignment.acknowledged_at, assignment.acknowledged_by, assignment.acknowledged_version = (
        timezone.now(), user, version)
    assignment.save()
    return assignment


# -- credit rules ----------------------------------------------------------------------------------

@transaction.atomic
def credit_rule_save(*, name: str, kind: str, share: Decimal, level: int = 1, basis: str = "",
                     is_active: bool = True, rule: CreditRule | None = None) -> CreditRule:
    """Team credit, an overlay, or a manager override ``level`` steps up; ``share`` of the credited amount."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["A rule needs a name."]})
    if kind not in CreditRuleKind.values:
        raise ValidationError({"kind": [f"{kind!r} is not a kind of credit rule."]})
    share = _decimal(share, "Share")
    if not (0 < share <= 1):
        raise ValidationError({"share": ["The share is a fraction above 0 and at most 1 (0.1 = 10% of the credited "
                                         "amount)."]})
    _places(share, 6, "Share")
    level = int(level or 1)
    if kind != CreditRuleKind.MANAGER_OVERRIDE:
        level = 1
    elif not (1 <= level <= 5):
        raise ValidationError({"level": ["A manager override reaches 1 to 5 levels up the reporting line."]})
    basis = (basis or "").strip()
    clash = CreditRule.objects.filter(kind=kind, level=level, basis=basis).exclude(pk=getattr(rule, "pk", None)).first()
    if clash is not None:
        what = f"level {level} " if kind == CreditRuleKind.MANAGER_OVERRIDE else ""
        on = f"the {basis} basis" if basis else "every basis"
        raise ValidationError(f"{clash.name} is already the {what}{CreditRuleKind(kind).label.lower()} rule for {on}; "
                              "change that rule instead.")
    rule = rule or CreditRule()
    rule.name, rule.kind, rule.share, rule.level, rule.basis = name, kind, share, level, basis
    rule.is_active = is_active
    rule.save()
    return rule


@transaction.atomic
def credit_rule_delete(*, rule: CreditRule) -> None:
    rule.delete()
