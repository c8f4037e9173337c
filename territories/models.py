"""Territory design: plans (scenarios), their territory hierarchy, assignment rules, coverage,
the accounts each plan assigns, and the effective-dated history of who owned an account.

- A ``TerritoryPlan`` is a scenario: draft, proposed, approved, active, archived. Several drafts
  live side by side; one plan per organization is active. Copying a plan copies its hierarchy,
  rules and coverage (``territories.services.plan_copy``).
- ``Territory`` rows form a hierarchy per plan (region > area > territory, any depth). Accounts
  are assigned to leaves.
- ``AssignmentRule`` rows say which accounts a territory gets. Precedence: named account first,
  then NPI, service line, account type, specialty, then geography from the most specific (ZIP,
  ZIP3, county, state); within one kind the lower ``priority`` wins, then the older rule. An
  account no rule matches is in the plan's unassigned bucket (``PlanAssignment.territory`` is
  empty), which the pages always show.
- ``PlanAssignment`` is the plan's evaluated rule set, one row per active account, recomputed
  set-based in SQL whenever rules change (``territories.services.plan_assign``).
- ``Coverage``: who covers a territory (primary rep or overlay role), effective-dated, or a "to
  be hired" placeholder.
- ``AccountOwnership`` is the history written on activation: for any date, exactly one row says
  which territory and rep owned an account (exclusion constraint). A hold-out keeps an account
  moved mid-period with its old owner for the plan's ``holdout_days``.
"""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeOperators
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from revops.tenancy import TenantModel

MONEY = {"max_digits": 16, "decimal_places": 2}


class DateRange(models.Func):
    function = "DATERANGE"
    output_field = DateRangeField()


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft (scenario)"
    PROPOSED = "proposed", "Proposed"
    APPROVED = "approved", "Approved"
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


class PotentialBasis(models.TextChoices):
    VOLUME = "volume", "Volume (annual visits or referrals)"
    REVENUE = "revenue", "Revenue (annual billed charges)"
    PAYER_ADJUSTED = "payer_adjusted", "Payer-adjusted (expected collectible revenue)"


class TerritoryPlan(TenantModel):
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="Exclusive; open if empty.")
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies")
    potential_basis = models.CharField(max_length=16, choices=PotentialBasis.choices,
                                       default=PotentialBasis.PAYER_ADJUSTED)
    holdout_days = models.PositiveIntegerField(
        default=0, help_text="Accounts moved by activation keep their old owner this many days.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    proposed_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-effective_from", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="territoryplan_name_unique"),
            models.UniqueConstraint(fields=["tenant"], condition=Q(status="active"), name="territoryplan_one_active"),
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_to__gt=F("effective_from")),
                                   name="territoryplan_valid_range"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_editable(self) -> bool:
        return self.status in (PlanStatus.DRAFT, PlanStatus.PROPOSED)


class Territory(TenantModel):
    plan = models.ForeignKey(TerritoryPlan, on_delete=models.CASCADE, related_name="territories")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=120)
    level = models.CharField(max_length=40, default="territory", help_text="region, area, territory, ...")
    color = models.CharField(max_length=7, blank=True)

    class Meta:
        ordering = ["plan", "code"]
        constraints = [models.UniqueConstraint(fields=["tenant", "plan", "code"], name="territory_code_unique")]
        indexes = [models.Index(fields=["tenant", "plan", "parent"])]
        verbose_name_plural = "territories"

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RuleKind(models.TextChoices):
    # In precedence order: the first kind that matches an account decides.
    ACCOUNT = "account", "Named account"
    NPI = "npi", "NPI"
    SERVICE_LINE = "service_line", "Service line"
    ACCOUNT_TYPE = "account_type", "Account type"
    SPECIALTY = "specialty", "Specialty"
    ZIP = "zip", "ZIP code"
    ZIP3 = "zip3", "ZIP3"
    COUNTY = "county", "County (state:county)"
    STATE = "state", "State"


RULE_PRECEDENCE: dict[str, int] = {kind: n for n, kind in enumerate(RuleKind.values, start=1)}


class AssignmentRule(TenantModel):
    """``value`` meaning by kind: account id, NPI, service line id, account type, specialty (case
    insensitive), 5-digit ZIP, 3-digit ZIP prefix, ``ST:County`` (case insensitive), state code."""

    plan = models.ForeignKey(TerritoryPlan, on_delete=models.CASCADE, related_name="rules")
    territory = models.ForeignKey(Territory, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=16, choices=RuleKind.choices)
    value = models.CharField(max_length=120)
    priority = models.IntegerField(default=100, help_text="Lower wins among rules of the same kind.")
    locked = models.BooleanField(default=False, help_text="The balancing optimizer leaves what it matches in place.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["plan", "kind", "priority", "id"]
        constraints = [
            models.UniqueConstraint("tenant", "plan", "kind", Lower("value"), name="assignmentrule_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "plan", "territory"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value} → {self.territory.code}"


class PlanAssignment(TenantModel):
    """Where a plan's rules put an account (territory empty: unassigned), and the rule that did."""

    plan = models.ForeignKey(TerritoryPlan, on_delete=models.CASCADE, related_name="assignments")
    account = models.ForeignKey("revops.Account", on_delete=models.CASCADE, related_name="+")
    territory = models.ForeignKey(Territory, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(AssignmentRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "plan", "account"], name="planassignment_unique")]
        indexes = [models.Index(fields=["tenant", "plan", "territory"])]


class CoverageRole(models.TextChoices):
    PRIMARY = "primary", "Primary rep"
    OVERLAY = "overlay", "Overlay"


class Coverage(TenantModel):
    """``person`` (or a to-be-hired placeholder) covers ``territory`` from ``valid_from`` (to ``valid_to``, exclusive)."""

    territory = models.ForeignKey(Territory, on_delete=models.CASCADE, related_name="coverage")
    person = models.ForeignKey("revops.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    placeholder = models.CharField(max_length=80, blank=True, help_text="e.g. 'To be hired: Rep, Denver'")
    role = models.CharField(max_length=10, choices=CoverageRole.choices, default=CoverageRole.PRIMARY)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["territory", "role", "valid_from"]
        constraints = [
            models.CheckConstraint(condition=Q(person__isnull=False) | ~Q(placeholder=""), name="coverage_who"),
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                                   name="coverage_valid_range"),
            # One primary per territory at a time.
            ExclusionConstraint(
                name="coverage_one_primary",
                expressions=[
                    ("tenant", RangeOperators.EQUAL),
                    ("territory", RangeOperators.EQUAL),
                    (DateRange("valid_from", "valid_to", models.Value("[)")), RangeOperators.OVERLAPS),
                ],
                condition=Q(role="primary"),
            ),
        ]
        indexes = [models.Index(fields=["tenant", "person"])]

    def __str__(self) -> str:
        return f"{self.person or self.placeholder} on {self.territory.code}"


class OwnershipReason(models.TextChoices):
    ACTIVATION = "activation", "Plan activation"
    HOLDOUT = "holdout", "Hold-out (kept by the previous owner)"
    EDIT = "edit", "Edit of the active plan"


class AccountOwnership(TenantModel):
    """Effective-dated: ``account`` belonged to ``territory`` (and ``person``) from ``valid_from`` to ``valid_to``."""

    account = models.ForeignKey("revops.Account", on_delete=models.CASCADE, related_name="+")
    plan = models.ForeignKey(TerritoryPlan, on_delete=models.PROTECT, related_name="+")
    territory = models.ForeignKey(Territory, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("revops.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=12, choices=OwnershipReason.choices, default=OwnershipReason.ACTIVATION)

    class Meta:
        ordering = ["account", "valid_from"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                                   name="ownership_valid_range"),
            ExclusionConstraint(
                name="ownership_no_overlap",
                expressions=[
                    ("tenant", RangeOperators.EQUAL),
                    ("account", RangeOperators.EQUAL),
                    (DateRange("valid_from", "valid_to", models.Value("[)")), RangeOperators.OVERLAPS),
                ],
            ),
        ]
        indexes = [models.Index(fields=["tenant", "territory", "valid_from"]),
                   models.Index(fields=["tenant", "person", "valid_from"])]


class AccountVolume(TenantModel):
    """Annual volume and revenue of an account (what the potential is computed from), by year."""

    account = models.ForeignKey("revops.Account", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    volume = models.DecimalField(max_digits=12, decimal_places=2, default=0, help_text="Visits or referrals a year.")
    revenue = models.DecimalField(**MONEY, default=0, help_text="Billed charges a year.")
    visits = models.DecimalField(max_digits=10, decimal_places=2, default=0, help_text="Rep visits a year (workload).")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "account", "year"], name="accountvolume_unique")]


class BalanceRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    APPLIED = "applied", "Applied to the plan"
    FAILED = "failed", "Failed"


class BalanceRun(TenantModel):
    """One run of the balancing optimizer on a draft plan: its settings, and the balance before and after."""

    plan = models.ForeignKey(TerritoryPlan, on_delete=models.CASCADE, related_name="balance_runs")
    job = models.ForeignKey("revops.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=BalanceRunStatus.choices, default=BalanceRunStatus.QUEUED)
    territories = models.PositiveIntegerField(help_text="Leaf territories to balance into.")
    tolerance = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.05"))
    weight_potential = models.FloatField(default=1.0)
    weight_workload = models.FloatField(default=0.0)
    weight_compactness = models.FloatField(default=1.0)
    weight_disruption = models.FloatField(default=1.0)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    zips_moved = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "plan", "-created_at"])]
