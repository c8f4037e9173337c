"""Reads of the plan builder: plans with their versions, a version's components with their compliance state,
assignments, and the plan document a rep reads and acknowledges (every term in plain language)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from revops.models import Organization, Person, ServiceLine
from revops.tenancy import require_tenant_id

from ..models import (
    COUNT_BASES,
    EKRA_BASES,
    Basis,
    CompPlan,
    CompPlanVersion,
    Component,
    ComponentKind,
    CreditRule,
    PlanAssignment,
    RateType,
    TierBasis,
    VersionStatus,
)

BASIS_NOUNS = {
    Basis.BOOKINGS: "bookings",
    Basis.FIRST_YEAR_REVENUE: "first-year revenue",
    Basis.NET_COLLECTED: "net collected revenue",
    Basis.REFERRALS: "referrals",
    Basis.TESTS: "tests",
    Basis.BILLED: "amounts billed",
}
UNIT_NOUNS = {Basis.REFERRALS: "referral", Basis.TESTS: "test"}


def organization() -> Organization:
    return Organization.objects.get(pk=require_tenant_id())


# -- plans and versions ----------------------------------------------------------------------------

def version_in_force(plan: CompPlan | int, on: dt.date) -> CompPlanVersion | None:
    """The plan's active version whose dates contain ``on``."""
    plan_id = plan if isinstance(plan, int) else plan.pk
    return (CompPlanVersion.objects.filter(plan_id=plan_id, status=VersionStatus.ACTIVE, effective_from__lte=on)
            .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=on)).first())


def plans(*, today: dt.date | None = None) -> list[CompPlan]:
    """Every plan with its versions (newest first), counts, the version in force today, and people on it today."""
    today = today or timezone.localdate()
    current = Q(assignments__effective_from__lte=today) & (
        Q(assignments__effective_to__isnull=True) | Q(assignments__effective_to__gt=today))
    rows = list(CompPlan.objects.annotate(
        version_count=Count("versions", distinct=True),
        assignment_count=Count("assignments", distinct=True),
        current_assignment_count=Count("assignments", filter=current, distinct=True),
    ).prefetch_related(Prefetch("versions", queryset=CompPlanVersion.objects.order_by("-version"))))
    for plan in rows:
        versions = list(plan.versions.all())
        plan.version_list = versions  # type: ignore[attr-defined]
        plan.in_force = next((v for v in versions if v.status == VersionStatus.ACTIVE  # type: ignore[attr-defined]
                              and v.effective_from <= today and (v.effective_to is None or v.effective_to > today)),
                             None)
        plan.draft_count = sum(1 for v in versions if v.status == VersionStatus.DRAFT)  # type: ignore[attr-defined]
        plan.active_count = sum(1 for v in versions if v.status == VersionStatus.ACTIVE)  # type: ignore[attr-defined]
    return rows


def plan_versions(plan: CompPlan) -> QuerySet[CompPlanVersion]:
    return (CompPlanVersion.objects.filter(plan=plan).select_related("created_by", "activated_by")
            .annotate(component_count=Count("components")).order_by("-version"))


@dataclass
class ComponentRow:
    component: Component
    flagged: bool
    signoff: Any  # ComplianceSignoff | None
    terms: list[str]

    @property
    def needs_signoff(self) -> bool:
        return self.flagged and self.signoff is None


@dataclass
class VersionDetail:
    version: CompPlanVersion
    ekra_covered: bool
    rows: list[ComponentRow] = field(default_factory=list)

    @property
    def missing(self) -> list[Component]:
        return [r.component for r in self.rows if r.needs_signoff]

    @property
    def flagged_count(self) -> int:
        return sum(1 for r in self.rows if r.flagged)

    @property
    def blockers(self) -> list[str]:
        """Why the version cannot be activated now (empty when it can)."""
        out = []
        if self.version.status != VersionStatus.DRAFT:
            out.append(f"It is {self.version.get_status_display().lower()}.")
        if not self.rows:
            out.append("It has no components.")
        if self.missing:
            out.append("Compliance sign-off missing for: " + ", ".join(c.name for c in self.missing) + ".")
        return out


def version_components(version: CompPlanVersion) -> QuerySet[Component]:
    return (Component.objects.filter(version=version).select_related("service_line", "signoff", "signoff__signed_by")
            .order_by("order", "id"))


def version_detail(version: CompPlanVersion) -> VersionDetail:
    """The version's components, each with its plain-language terms, EKRA flag and sign-off."""
    org = organization()
    detail = VersionDetail(version=version, ekra_covered=org.ekra_covered)
    lines = _service_line_names()
    for c in version_components(version):
        flagged = bool(org.ekra_covered) and c.basis in EKRA_BASES
        detail.rows.append(ComponentRow(component=c, flagged=flagged, signoff=getattr(c, "signoff", None),
                                        terms=component_terms(c, version=version, quota_known=True,
                                                              service_lines=lines)))
    return detail


# -- assignments -----------------------------------------------------------------------------------

def assignments(*, plan: CompPlan | None = None, person: Person | None = None,
                person_ids: set[int] | None = None) -> QuerySet[PlanAssignment]:
    qs = PlanAssignment.objects.select_related("person", "plan", "acknowledged_by", "acknowledged_version")
    if plan is not None:
        qs = qs.filter(plan=plan)
    if person is not None:
        qs = qs.filter(person=person)
    if person_ids is not None:
        qs = qs.filter(person_id__in=person_ids)
    return qs.order_by("person__last_name", "person__first_name", "-effective_from")


def assignment_is_current(assignment: PlanAssignment, today: dt.date) -> bool:
    return assignment.effective_from <= today and (assignment.effective_to is None or assignment.effective_to > today)


def document_version(assignment: PlanAssignment, *, today: dt.date | None = None,
                     active_versions: list[CompPlanVersion] | None = None) -> CompPlanVersion | None:
    """The version a plan document shows: the one in force today (or on the assignment's first day when it has not
    started; on its last day when it has ended), else the plan's latest active version. ``active_versions`` (the
    plan's active versions) saves the queries when many assignments of one plan are shown."""
    today = today or timezone.localdate()
    on = today
    if assignment.effective_from > today:
        on = assignment.effective_from
    elif assignment.effective_to is not None and assignment.effective_to <= today:
        on = assignment.effective_to - dt.timedelta(days=1)
    if active_versions is None:
        active_versions = list(CompPlanVersion.objects.filter(plan_id=assignment.plan_id,
                                                              status=VersionStatus.ACTIVE))
    active = sorted((v for v in active_versions if v.plan_id == assignment.plan_id),
                    key=lambda v: v.effective_from, reverse=True)
    in_force = next((v for v in active if v.effective_from <= on and (v.effective_to is None or v.effective_to > on)),
                    None)
    return in_force or (active[0] if active else None)


def credit_rules() -> QuerySet[CreditRule]:
    return CreditRule.objects.order_by("kind", "level", "basis", "name")


# -- plain language --------------------------------------------------------------------------------

def money(value: Decimal | int | None) -> str:
    if value is None:
        return "—"
    value = Decimal(value)
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def number(value: Decimal | str) -> str:
    """12.50 -> "12.5", 100.00 -> "100" (no exponent)."""
    text = f"{Decimal(value).normalize():f}"
    return text


def percent_of_rate(rate: Decimal | str) -> str:
    """0.05 -> "5%", 0.0525 -> "5.25%"."""
    return f"{number(Decimal(rate) * 100)}%"


def basis_noun(basis: str, custom_basis: str = "") -> str:
    if basis == Basis.CUSTOM:
        return f"the custom metric {custom_basis}" if custom_basis else "a custom metric"
    return BASIS_NOUNS.get(basis, basis)  # type: ignore[call-overload]


def _service_line_names() -> dict[str, str]:
    return dict(ServiceLine.objects.values_list("code", "name"))


def rate_text(rate: Decimal | str, basis: str) -> str:
    """A rate as a rep reads it: a percent of money, or dollars per unit of a count."""
    if basis in COUNT_BASES:
        return f"{money(Decimal(rate))} per {UNIT_NOUNS.get(basis, 'unit')}"  # type: ignore[call-overload]
    return percent_of_rate(rate)


def threshold_text(threshold: Decimal | str, tier_basis: str) -> str:
    if tier_basis == TierBasis.AMOUNT:
        return f"{money(Decimal(threshold))} credited in the period"
    return f"{number(threshold)}% of quota"


def _paid_on(rate: Decimal | str, c: Component, noun: str) -> str:
    if c.basis in COUNT_BASES:
        return f"{rate_text(rate, c.basis)} credited to you"
    return f"{percent_of_rate(rate)} of {noun} credited to you"


def component_terms(c: Component, *, version: CompPlanVersion | None = None, quota_known: bool = True,
                    service_lines: dict[str, str] | None = None) -> list[str]:
    """The component's terms as sentences, e.g. "5% of bookings credited to you; 8% on the part above 100% of
    quota." (docs/commissions.md defines each one)."""
    noun = basis_noun(c.basis, c.custom_basis)
    lines = service_lines if service_lines is not None else _service_line_names()
    out: list[str] = []
    if c.kind == ComponentKind.COMMISSION:
        if c.rate_type == RateType.FLAT:
            main = _paid_on(c.rate, c, noun) if c.rate > 0 else f"Pays on {noun} credited to you"
            out.append(main[0].upper() + main[1:] + ".")
        else:
            tiers = c.tiers or []
            first = tiers[0] if tiers else {"rate": "0"}
            parts = [_paid_on(first["rate"], c, noun)]
            if c.rate_type == RateType.TIERED_MARGINAL:
                for tier in tiers[1:]:
                    parts.append(f"{rate_text(tier['rate'], c.basis)} on the part above "
                                 f"{threshold_text(tier['from'], c.tier_basis)}")
                text = "; ".join(parts) + "."
            else:
                for tier in tiers[1:]:
                    parts.append(f"once the period reaches {threshold_text(tier['from'], c.tier_basis)}, "
                                 f"{rate_text(tier['rate'], c.basis)} on everything credited in the period")
                text = "; ".join(parts) + " (the tier reached by the end of the period sets one rate for all of it)."
            out.append(text[0].upper() + text[1:])
        if c.service_line_rates:
            rates = ", ".join(f"{lines.get(code, code)}: {rate_text(r, c.basis)}"
                              for code, r in sorted(c.service_line_rates.items()))
            out.append(f"Rates by service line instead: {rates}.")
    elif c.kind == ComponentKind.BONUS:
        steps = "; ".join(f"{number(t['from'])}% of quota: {money(Decimal(t['amount']))}" for t in (c.tiers or []))
        out.append(f"A one-time bonus when your attainment for the period reaches {steps} "
                   "(only the highest tier reached pays).")
    else:
        pays = []
        if c.unit_amount > 0:
            pays.append(f"{money(c.unit_amount)} per qualifying {noun} transaction")
        if c.rate > 0:
            pays.append(f"{rate_text(c.rate, c.basis)}" + ("" if c.basis in COUNT_BASES else " of its credited amount"))
        start = f"{c.spiff_start:%b %-d, %Y}" if c.spiff_start else "?"
        end = f"{c.spiff_end:%b %-d, %Y}" if c.spiff_end else "?"
        out.append(f"SPIFF for {noun} dated {start} to {end}: {' plus '.join(pays)}.")
    if c.service_line_id:
        out.append(f"Only {c.service_line.name} transactions count.")
    if c.hurdle_pct is not None and c.hurdle_pct > 0:
        if c.kind == ComponentKind.COMMISSION and c.rate_type == RateType.TIERED_RETRO:
            out.append(f"Nothing is paid for the period if your attainment ends below {number(c.hurdle_pct)}% of quota.")
        else:
            out.append(f"Nothing is paid on credit below {number(c.hurdle_pct)}% of quota.")
    if c.cap_amount is not None:
        out.append(f"Pays at most {money(c.cap_amount)} in a period.")
    if c.hold_pct > 0:
        out.append(f"{number(c.hold_pct)}% of each payment is held back and paid {c.hold_days} days after the "
                   "transaction date.")
    if c.clawback_days:
        out.append(f"If a transaction is reversed (cancelled, claim reversed or denied) within {c.clawback_days} days, "
                   "what it paid you is taken back.")
    if not quota_known and (c.kind == ComponentKind.BONUS or c.tier_basis == TierBasis.ATTAINMENT
                            and c.rate_type != RateType.FLAT):
        out.append("Attainment needs a quota: without one, the first tier applies.")
    return out


@dataclass
class DocumentComponent:
    name: str
    kind: str
    terms: list[str]


@dataclass
class PlanDocument:
    assignment: PlanAssignment
    person: Person
    plan: CompPlan
    version: CompPlanVersion | None
    components: list[DocumentComponent]
    quota_text: str
    draw_text: str | None
    cap_text: str | None
    acknowledged_current: bool
    dates_text: str


def plan_document(assignment: PlanAssignment, *, today: dt.date | None = None) -> PlanDocument:
    """What a rep reads before acknowledging: their plan, the version in force, every component in plain language,
    quota, caps, draw or guarantee."""
    version = document_version(assignment, today=today)
    quota_basis = basis_noun(version.quota_basis) if version else "the plan's quota basis"
    if assignment.quota_amount is not None:
        quota_text = f"Your quota is {money(assignment.quota_amount)} of {quota_basis} per period."
    else:
        quota_text = (f"Your quota is your {quota_basis} quota for each period in the active quota plan; "
                      "attainment is credit of that basis over it.")
    draw_text = None
    if assignment.draw_amount > 0:
        until = f" until {assignment.draw_until:%b %-d, %Y}" if assignment.draw_until else ""
        if assignment.draw_recoverable:
            draw_text = (f"Recoverable draw of {money(assignment.draw_amount)} a period{until}: when your net earnings "
                         "for a period are below it, the draw makes up the difference, and your later earnings above "
                         "the draw pay it back.")
        else:
            draw_text = (f"Guarantee of {money(assignment.draw_amount)} a period{until}: you are paid at least this "
                         "much; it is not paid back.")
    components: list[DocumentComponent] = []
    cap_text = None
    if version is not None:
        lines = _service_line_names()
        for c in version_components(version):
            components.append(DocumentComponent(name=c.name, kind=c.get_kind_display(),
                                                terms=component_terms(c, version=version, service_lines=lines)))
        if version.period_cap is not None:
            cap_text = f"You earn at most {money(version.period_cap)} in a period under this plan, all components together."
    until = f"until {assignment.effective_to - dt.timedelta(days=1):%b %-d, %Y}" if assignment.effective_to \
        else "with no end date"
    return PlanDocument(
        assignment=assignment, person=assignment.person, plan=assignment.plan, version=version, components=components,
        quota_text=quota_text, draw_text=draw_text, cap_text=cap_text,
        acknowledged_current=bool(assignment.acknowledged_at and version is not None
                                  and assignment.acknowledged_version_id == version.pk),
        dates_text=f"From {assignment.effective_from:%b %-d, %Y} {until}",
    )


def people() -> QuerySet[Person]:
    return Person.objects.order_by("last_name", "first_name")
