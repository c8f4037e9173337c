"""Commission management: plans, crediting, runs, line items, statements, disputes.

- A ``CompPlan`` has effective-dated ``CompPlanVersion`` rows; a version holds ``Component`` rows
  (commission on a credited amount with a rate table, attainment bonus, SPIFF). Versions are built
  in a page; a version activates only when every flagged component has a ``ComplianceSignoff``.
- ``PlanAssignment`` puts a person on a plan for dates, with their quota per period (or the active
  quota plan's), a draw or guarantee, and the rep's acknowledgment of the plan document.
- ``Transaction`` rows (bookings, first-year revenue, net collected revenue, referrals, tests,
  billed amounts, custom metrics) are what pays; ``TransactionSplit`` splits one between people;
  ``CreditRule`` rows add team credit, overlays and manager overrides up the reporting lines.
- A ``CommissionRun`` computes a ``CommissionPeriod`` into ``LineItem`` rows that trace each dollar:
  transaction -> credit (role, rule, share) -> component (plan version) -> tier and rate -> amount.
  A run writes its lines in one transaction and becomes the period's current run only on commit.
- A ``Statement`` per person and period sums the current run; it is approved by the manager, then
  finance. A ``Dispute`` questions one line; its resolution may add a ``ManualAdjustment``.

The money rules are defined in docs/commissions.md; the batch engine is ``commissions.engine``.
"""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.contrib.postgres.indexes import BrinIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from revops.models.reference import DateRange
from revops.tenancy import TenantModel

MONEY = {"max_digits": 16, "decimal_places": 2}
RATE = {"max_digits": 12, "decimal_places": 6}
SHARE = {"max_digits": 7, "decimal_places": 6, "validators": [MinValueValidator(0), MaxValueValidator(1)]}


class Basis(models.TextChoices):
    """What a transaction measures (and what a component pays on)."""

    BOOKINGS = "bookings", "Bookings"
    FIRST_YEAR_REVENUE = "first_year_revenue", "First-year revenue"
    NET_COLLECTED = "net_collected_revenue", "Net collected revenue (835 remittances)"
    REFERRALS = "referrals", "Referral count"
    TESTS = "tests", "Test count"
    BILLED = "billed_amount", "Amount billed"
    CUSTOM = "custom", "Custom metric (fed through the API)"


# Paying marketers of labs and addiction-treatment providers on these bases is what EKRA and the
# Anti-Kickback Statute restrict (docs/commissions.md, "Compliance guardrail").
EKRA_BASES = frozenset({Basis.REFERRALS, Basis.TESTS, Basis.BILLED, Basis.NET_COLLECTED})
COUNT_BASES = frozenset({Basis.REFERRALS, Basis.TESTS})


class ReversalReason(models.TextChoices):
    CANCELLATION = "cancellation", "Deal cancelled"
    CLAIM_REVERSAL = "claim_reversal", "Claim reversed (835 CLP02 = 22)"
    DENIAL = "denial", "Claim denied"
    CORRECTION = "correction", "Correction"


class Transaction(TenantModel):
    """Something that pays commission. Credited to whoever owned ``account`` on ``transaction_date``
    (territories.AccountOwnership), to ``person`` when there is no account, or by its splits.

    ``amount`` is money, or a count for the count bases. A reversal is its own row with a negative
    amount that ``reverses`` the original; within a component's clawback window it claws back."""

    external_id = models.CharField(max_length=80, blank=True, help_text="The source system's id (upsert key).")
    basis = models.CharField(max_length=40, help_text="A basis, or a custom metric's code.")
    account = models.ForeignKey("revops.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("revops.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    service_line = models.ForeignKey("revops.ServiceLine", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    transaction_date = models.DateField()
    amount = models.DecimalField(**MONEY)
    description = models.CharField(max_length=200, blank=True)
    reverses = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals")
    reversal_reason = models.CharField(max_length=16, choices=ReversalReason.choices, blank=True)
    source = models.CharField(max_length=16, default="api", help_text="api, import, rcm_835, demo, …")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-transaction_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "basis", "external_id"], condition=~Q(external_id=""),
                                    name="commtxn_external_id_unique"),
            models.CheckConstraint(condition=Q(account__isnull=False) | Q(person__isnull=False), name="commtxn_who"),
        ]
        indexes = [models.Index(fields=["tenant", "transaction_date"])]

    def __str__(self) -> str:
        return self.external_id or f"Transaction {self.pk}"


class TransactionSplit(TenantModel):
    """A split: ``share`` of the transaction credits ``person``. Splits replace owner crediting."""

    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="splits")
    person = models.ForeignKey("revops.Person", on_delete=models.PROTECT, related_name="+")
    share = models.DecimalField(**SHARE)

    class Meta:
        ordering = ["transaction", "person"]
        constraints = [models.UniqueConstraint(fields=["tenant", "transaction", "person"], name="commsplit_unique")]


class CreditRuleKind(models.TextChoices):
    TEAM = "team", "Team credit"
    OVERLAY = "overlay", "Overlay"
    MANAGER_OVERRIDE = "manager_override", "Manager override"


class CreditRule(TenantModel):
    """Credit beyond the owner's: team members of the owner, overlays covering the owner's territory,
    or the owner's manager ``level`` steps up the reporting line on the transaction date; each gets
    ``share`` x the credited amount. Empty ``basis`` means every basis."""

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=CreditRuleKind.choices)
    level = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(5)],
                                             help_text="Manager overrides: 1 = the direct manager.")
    share = models.DecimalField(**SHARE)
    basis = models.CharField(max_length=40, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "level", "name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "kind", "level", "basis"], name="creditrule_unique")]

    def __str__(self) -> str:
        return self.name


class CompPlan(TenantModel):
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="compplan_name_unique")]

    def __str__(self) -> str:
        return self.name


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class CompPlanVersion(TenantModel):
    """One version of a plan, in force from ``effective_from`` until ``effective_to`` (exclusive)."""

    plan = models.ForeignKey(CompPlan, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveSmallIntegerField()
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    period_cap = models.DecimalField(**MONEY, null=True, blank=True,
                                     help_text="Most a person earns under this version in one period.")
    quota_basis = models.CharField(max_length=40, default=Basis.BOOKINGS,
                                   help_text="The basis the assignment's quota measures (attainment tiers, bonuses).")
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    activated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "plan", "version"], name="compversion_unique"),
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_to__gt=F("effective_from")),
                                   name="compversion_valid_range"),
            ExclusionConstraint(
                name="compversion_active_no_overlap",
                expressions=[
                    ("tenant", RangeOperators.EQUAL),
                    ("plan", RangeOperators.EQUAL),
                    (DateRange("effective_from", "effective_to", models.Value("[)")), RangeOperators.OVERLAPS),
                ],
                condition=Q(status="active"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan.name} v{self.version}"


class ComponentKind(models.TextChoices):
    COMMISSION = "commission", "Commission on credited amount"
    BONUS = "bonus", "Quota attainment bonus"
    SPIFF = "spiff", "SPIFF (time-boxed)"


class RateType(models.TextChoices):
    FLAT = "flat", "Flat rate"
    TIERED_MARGINAL = "tiered_marginal", "Tiered, marginal (each tier's rate on the part in it)"
    TIERED_RETRO = "tiered_retro", "Tiered, retroactive (the reached tier's rate on everything)"


class TierBasis(models.TextChoices):
    ATTAINMENT = "attainment", "Quota attainment (%)"
    AMOUNT = "amount", "Credited amount"


class Component(TenantModel):
    """One way a plan version pays (rules in docs/commissions.md).

    - ``commission``: ``rate`` (flat, overridden per service line by ``service_line_rates``) or
      ``tiers`` [{"from": threshold, "rate": r}] on period-to-date attainment or amount; rates above
      100% attainment are accelerators, below are decelerators. Count bases pay ``rate`` per unit.
    - ``bonus``: ``tiers`` [{"from": attainment %, "amount": a}]: the highest reached pays once.
    - ``spiff``: ``unit_amount`` per qualifying transaction plus ``rate`` x amount, only for
      transactions dated in [``spiff_start``, ``spiff_end``].
    ``hurdle_pct``: no pay on credit below this attainment. ``cap_amount``: most the component pays
    a person in a period. ``hold_pct``: that part of each line waits ``hold_days`` after the
    transaction date. ``clawback_days``: a reversal within this many days of the original claws back.
    """

    version = models.ForeignKey(CompPlanVersion, on_delete=models.CASCADE, related_name="components")
    name = models.CharField(max_length=120)
    order = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=12, choices=ComponentKind.choices, default=ComponentKind.COMMISSION)
    basis = models.CharField(max_length=40, choices=Basis.choices, default=Basis.BOOKINGS)
    custom_basis = models.CharField(max_length=40, blank=True, help_text="The metric code when basis is custom.")
    service_line = models.ForeignKey("revops.ServiceLine", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", help_text="Only transactions of this service line count.")
    rate_type = models.CharField(max_length=16, choices=RateType.choices, default=RateType.FLAT)
    rate = models.DecimalField(**RATE, default=Decimal(0))
    tier_basis = models.CharField(max_length=10, choices=TierBasis.choices, default=TierBasis.ATTAINMENT)
    tiers = models.JSONField(default=list, blank=True)
    service_line_rates = models.JSONField(default=dict, blank=True, help_text="{service line code: rate}")
    hurdle_pct = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    cap_amount = models.DecimalField(**MONEY, null=True, blank=True)
    unit_amount = models.DecimalField(**MONEY, default=Decimal(0))
    spiff_start = models.DateField(null=True, blank=True)
    spiff_end = models.DateField(null=True, blank=True, help_text="Inclusive.")
    hold_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal(0),
                                   validators=[MinValueValidator(0), MaxValueValidator(100)])
    hold_days = models.PositiveIntegerField(default=0)
    clawback_days = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["version", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "version", "name"], name="component_name_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def basis_code(self) -> str:
        return self.custom_basis if self.basis == Basis.CUSTOM else self.basis


class ComplianceSignoff(TenantModel):
    """A compliance officer's recorded sign-off on an EKRA / Anti-Kickback flagged component."""

    component = models.OneToOneField(Component, on_delete=models.CASCADE, related_name="signoff")
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "component"], name="signoff_unique")]


class PlanAssignment(TenantModel):
    """``person`` is paid under ``plan`` (the version in force on each transaction date) from
    ``effective_from`` until ``effective_to`` (exclusive). Periods of one person never overlap."""

    person = models.ForeignKey("revops.Person", on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(CompPlan, on_delete=models.PROTECT, related_name="assignments")
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    quota_amount = models.DecimalField(**MONEY, null=True, blank=True,
                                       help_text="Quota per period; empty: the person's quota in the active quota plan.")
    draw_amount = models.DecimalField(**MONEY, default=Decimal(0), help_text="Paid when earnings fall short.")
    draw_recoverable = models.BooleanField(default=True, help_text="Recovered from later earnings above the draw.")
    draw_until = models.DateField(null=True, blank=True,
                                  help_text="Last day the draw applies (a new hire's guarantee ends here).")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    acknowledged_version = models.ForeignKey(CompPlanVersion, null=True, blank=True, on_delete=models.SET_NULL,
                                             related_name="+")

    class Meta:
        ordering = ["person", "effective_from"]
        constraints = [
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_to__gt=F("effective_from")),
                                   name="assignment_valid_range"),
            ExclusionConstraint(
                name="assignment_no_overlap",
                expressions=[
                    ("tenant", RangeOperators.EQUAL),
                    ("person", RangeOperators.EQUAL),
                    (DateRange("effective_from", "effective_to", models.Value("[)")), RangeOperators.OVERLAPS),
                ],
            ),
        ]
        indexes = [models.Index(fields=["tenant", "plan"])]


class PeriodStatus(models.TextChoices):
    OPEN = "open", "Open"
    APPROVED = "approved", "Approved (locked)"
    PAID = "paid", "Paid"


class CommissionPeriod(TenantModel):
    name = models.CharField(max_length=40)
    start = models.DateField()
    end = models.DateField(help_text="Exclusive.")
    status = models.CharField(max_length=8, choices=PeriodStatus.choices, default=PeriodStatus.OPEN)
    current_run = models.ForeignKey("CommissionRun", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "start"], name="commperiod_start_unique"),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="commperiod_valid_range"),
            ExclusionConstraint(
                name="commperiod_no_overlap",
                expressions=[("tenant", RangeOperators.EQUAL),
                             (DateRange("start", "end", models.Value("[)")), RangeOperators.OVERLAPS)],
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_locked(self) -> bool:
        return self.status != PeriodStatus.OPEN


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SUPERSEDED = "superseded", "Superseded"


class CommissionRun(TenantModel):
    period = models.ForeignKey(CommissionPeriod, on_delete=models.CASCADE, related_name="runs")
    job = models.ForeignKey("revops.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    inputs_digest = models.CharField(max_length=64, blank=True, help_text="Hash of everything the run read.")
    results_digest = models.CharField(max_length=64, blank=True, help_text="Hash of the lines it wrote.")
    totals = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "period", "status"])]


class LineKind(models.TextChoices):
    COMMISSION = "commission", "Commission"
    BONUS = "bonus", "Attainment bonus"
    SPIFF = "spiff", "SPIFF"
    CLAWBACK = "clawback", "Clawback"
    CAP = "cap", "Cap"
    HOLD_RELEASE = "release", "Held pay released"
    ADJUSTMENT = "adjustment", "Retroactive adjustment"
    MANUAL = "manual", "Manual adjustment"
    DRAW = "draw", "Draw / guarantee"
    DRAW_RECOVERY = "recovery", "Draw recovery"


class CreditRole(models.TextChoices):
    OWNER = "owner", "Account owner on the date"
    DIRECT = "direct", "Named on the transaction"
    SPLIT = "split", "Split"
    TEAM = "team", "Team credit"
    OVERLAY = "overlay", "Overlay"
    OVERRIDE = "override", "Manager override"


class LineItem(TenantModel):
    """One traced amount. ``amount`` is earned; ``held`` of it is paid later (a release line)."""

    # The table is LIST-partitioned on ``run``: each run COPYs its lines into a partition of its own
    # and attaches it at commit; a superseded run's partition is dropped (migration 0003,
    # ``services/runs.py``, docs/benchmarks.md). Hence no database foreign keys (deferred RI triggers
    # cost ~35 us a row at commit), no B-tree (one BRIN, built after the load) and no database
    # uniqueness on ``id`` (Postgres requires the partition key in it): ids come from blocks of the
    # parent's identity sequence (``line_store.line_ids_reserve``), the only way lines are written.
    # Deleting a run or period through the ORM still removes its lines (cascade through the parent).
    tenant = models.ForeignKey("revops.Organization", on_delete=models.CASCADE, related_name="+", editable=False,
                               db_index=False, db_constraint=False)
    run = models.ForeignKey(CommissionRun, on_delete=models.CASCADE, related_name="lines", db_constraint=False, db_index=False)
    period = models.ForeignKey(CommissionPeriod, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    person = models.ForeignKey("revops.Person", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False)
    kind = models.CharField(max_length=10, choices=LineKind.choices)
    component = models.ForeignKey(Component, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                  db_constraint=False, db_index=False)
    version = models.ForeignKey(CompPlanVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                db_constraint=False, db_index=False)
    transaction = models.ForeignKey(Transaction, null=True, blank=True, on_delete=models.DO_NOTHING,
                                    related_name="+", db_constraint=False, db_index=False)
    transaction_date = models.DateField(null=True, blank=True)
    credit_role = models.CharField(max_length=10, choices=CreditRole.choices, blank=True)
    credit_rule = models.ForeignKey(CreditRule, null=True, blank=True, on_delete=models.DO_NOTHING,
                                    related_name="+", db_constraint=False, db_index=False)
    credit_share = models.DecimalField(**SHARE, null=True, blank=True)
    credited = models.DecimalField(**MONEY, default=Decimal(0), help_text="Credited amount this line pays on.")
    attainment_before = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    attainment_after = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    tier = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1-based tier of the rate table.")
    rate = models.DecimalField(**RATE, null=True, blank=True)
    amount = models.DecimalField(**MONEY)
    held = models.DecimalField(**MONEY, default=Decimal(0))
    release_on = models.DateField(null=True, blank=True, help_text="When the held part is paid.")
    source_period = models.ForeignKey(CommissionPeriod, null=True, blank=True, on_delete=models.DO_NOTHING,
                                      related_name="+", db_constraint=False, db_index=False,
                                      help_text="Adjustments and releases: the period the amount belongs to.")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["person", "transaction_date", "id"]
        indexes = [BrinIndex(fields=["tenant", "run", "person", "id"], pages_per_range=32,
                             name="commissions_lineitem_brin")]


class StatementStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    MANAGER_APPROVED = "manager_approved", "Approved by manager"
    FINANCE_APPROVED = "finance_approved", "Approved by finance"


class Statement(TenantModel):
    """A person's pay for a period from its current run. Numbers change only when a run changes them,
    and then any approval is withdrawn."""

    period = models.ForeignKey(CommissionPeriod, on_delete=models.CASCADE, related_name="statements")
    person = models.ForeignKey("revops.Person", on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(CommissionRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    credited = models.DecimalField(**MONEY, default=Decimal(0))
    quota = models.DecimalField(**MONEY, null=True, blank=True)
    attainment = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    earned = models.DecimalField(**MONEY, default=Decimal(0), help_text="Commission, bonus, SPIFF, clawback, cap.")
    adjustments = models.DecimalField(**MONEY, default=Decimal(0))
    held = models.DecimalField(**MONEY, default=Decimal(0))
    released = models.DecimalField(**MONEY, default=Decimal(0))
    draw_paid = models.DecimalField(**MONEY, default=Decimal(0))
    draw_recovered = models.DecimalField(**MONEY, default=Decimal(0))
    draw_balance = models.DecimalField(**MONEY, default=Decimal(0), help_text="Recoverable draw still owed after.")
    payout = models.DecimalField(**MONEY, default=Decimal(0))
    status = models.CharField(max_length=18, choices=StatementStatus.choices, default=StatementStatus.DRAFT)
    manager_approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                            on_delete=models.SET_NULL, related_name="+")
    manager_approved_at = models.DateTimeField(null=True, blank=True)
    finance_approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                            on_delete=models.SET_NULL, related_name="+")
    finance_approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["period", "person"]
        constraints = [models.UniqueConstraint(fields=["tenant", "period", "person"], name="statement_unique")]


class ManualAdjustment(TenantModel):
    """An analyst's amount for a person in an open period (a dispute's resolution, a correction)."""

    period = models.ForeignKey(CommissionPeriod, on_delete=models.PROTECT, related_name="manual_adjustments")
    person = models.ForeignKey("revops.Person", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=300)
    dispute = models.ForeignKey("Dispute", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["period", "person", "id"]
        indexes = [models.Index(fields=["tenant", "period"])]


class DisputeStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    REJECTED = "rejected", "Rejected"


class Dispute(TenantModel):
    """A rep's inquiry about one line. The line's key (period, person, transaction, component, kind)
    and its amount then are kept, because re-runs replace line rows."""

    period = models.ForeignKey(CommissionPeriod, on_delete=models.PROTECT, related_name="disputes")
    person = models.ForeignKey("revops.Person", on_delete=models.PROTECT, related_name="+")
    line = models.ForeignKey(LineItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             db_constraint=False)
    transaction = models.ForeignKey(Transaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    component = models.ForeignKey(Component, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    line_kind = models.CharField(max_length=10, choices=LineKind.choices, blank=True)
    amount_disputed = models.DecimalField(**MONEY, default=Decimal(0))
    subject = models.CharField(max_length=200)
    status = models.CharField(max_length=8, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)
    resolution = models.TextField(blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["tenant", "status"]), models.Index(fields=["tenant", "person"])]


class DisputeMessage(TenantModel):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    body = models.TextField()
    attachment = models.FileField(upload_to="commissions/disputes/%Y/%m/", blank=True)
    attachment_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["dispute", "created_at", "id"]
        indexes = [models.Index(fields=["tenant", "dispute"])]
