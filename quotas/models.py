"""Quota management: quota plans per fiscal year and metric, the allocation tree, monthly quotas,
relief, and the credited transactions attainment is measured from.

- A ``QuotaPlan`` sets a company target for one fiscal year and one metric, on the hierarchy of a
  territory plan. Its ``Quota`` rows mirror that hierarchy (a company root, then every territory);
  a leaf's quota is its rep's (the primary covering the territory when the plan starts).
- Allocation is top-down (``quotas.engine.allocate``): each parent's annual target is split among
  its children by a blend of methods (even, potential, prior-year actual, trailing twelve months,
  a custom field); a manager's override fixes a child and the rest re-balances around it. Every
  level sums to its parent to the cent (largest-remainder rounding).
- ``QuotaMonth`` phases each leaf's annual target by the plan's seasonality profile; parents are
  the sums of their children, month by month. ``ramp`` (new hires) and ``relief`` (accounts moved
  mid-period) adjust a month; ``amount`` is what the rep carries, ``actual`` what they achieved.
- ``CreditedTransaction`` rows (deals, revenue, collections, referrals, or a custom metric fed by
  the API) credit the territory that owned the account on the transaction date.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from revops.tenancy import TenantModel

MONEY = {"max_digits": 16, "decimal_places": 2}
WEIGHT = {"max_digits": 5, "decimal_places": 4, "validators": [MinValueValidator(0), MaxValueValidator(1)]}
DEFAULT_RAMP = [Decimal(25), Decimal(50), Decimal(75)]


def default_ramp() -> list[Decimal]:
    return list(DEFAULT_RAMP)


class QuotaMetric(models.TextChoices):
    BOOKINGS = "bookings", "Bookings"
    NEW_ACCOUNT_REVENUE = "new_account_revenue", "New-account revenue"
    REFERRALS_CONVERTED = "referrals_converted", "Referrals converted"
    NET_COLLECTED_REVENUE = "net_collected_revenue", "Net collected revenue"
    CUSTOM = "custom", "Custom metric (fed through the API)"


class QuotaPlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved"
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


class SeasonalitySource(models.TextChoices):
    TYPED = "typed", "Typed in"
    LEARNED = "learned", "Learned from history"
    FLAT = "flat", "Flat"


class SeasonalityProfile(TenantModel):
    """Monthly phasing: twelve weights in fiscal-month order (month 1 = the first month of the
    fiscal year) that sum to 1."""

    name = models.CharField(max_length=120)
    source = models.CharField(max_length=8, choices=SeasonalitySource.choices, default=SeasonalitySource.TYPED)
    weights = ArrayField(models.DecimalField(max_digits=8, decimal_places=6), size=12)
    learned_from = models.CharField(max_length=200, blank=True, help_text="What a learned profile was computed from.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="seasonality_name_unique")]

    def __str__(self) -> str:
        return self.name


def fiscal_year_start(fiscal_year: int, start_month: int) -> dt.date:
    """FY ``N`` ends in calendar year ``N``: with a July start, FY2027 runs Jul 2026 - Jun 2027."""
    return dt.date(fiscal_year if start_month == 1 else fiscal_year - 1, start_month, 1)


def fiscal_months(start: dt.date) -> list[dt.date]:
    """The first days of the twelve months of a fiscal year starting on ``start``."""
    return [dt.date(start.year + (start.month - 1 + k) // 12, (start.month - 1 + k) % 12 + 1, 1) for k in range(12)]


class QuotaPlan(TenantModel):
    name = models.CharField(max_length=120)
    fiscal_year = models.PositiveSmallIntegerField(help_text="FY N ends in calendar year N.")
    metric = models.CharField(max_length=24, choices=QuotaMetric.choices, default=QuotaMetric.BOOKINGS)
    custom_metric = models.CharField(max_length=40, blank=True,
                                     help_text="Code of the custom metric (transactions carry it) when metric is custom.")
    territory_plan = models.ForeignKey("territories.TerritoryPlan", on_delete=models.PROTECT, related_name="+")
    company_target = models.DecimalField(**MONEY)
    weight_even = models.DecimalField(**WEIGHT, default=Decimal(0))
    weight_potential = models.DecimalField(**WEIGHT, default=Decimal("0.6"))
    weight_prior_year = models.DecimalField(**WEIGHT, default=Decimal("0.4"))
    weight_ttm = models.DecimalField(**WEIGHT, default=Decimal(0))
    weight_custom = models.DecimalField(**WEIGHT, default=Decimal(0))
    seasonality = models.ForeignKey(SeasonalityProfile, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", help_text="Empty: flat phasing.")
    ramp_percents = ArrayField(models.DecimalField(max_digits=5, decimal_places=2), default=default_ramp, blank=True,
                               help_text="Percent of quota a new hire carries in their 1st, 2nd, ... month; 100% after.")
    outlier_band = models.DecimalField(max_digits=4, decimal_places=2, default=Decimal("0.25"),
                                       help_text="Quota-to-potential ratios this far from the median are flagged.")
    status = models.CharField(max_length=10, choices=QuotaPlanStatus.choices, default=QuotaPlanStatus.DRAFT)
    effective_from = models.DateField()
    effective_to = models.DateField(help_text="Exclusive: the first day after the fiscal year.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    allocated_at = models.DateTimeField(null=True, blank=True)
    attainment_at = models.DateTimeField(null=True, blank=True, help_text="When actuals were last computed.")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    allocation_warnings = models.JSONField(default=list, blank=True)
    attainment_summary = models.JSONField(default=dict, blank=True,
                                          help_text="Totals of the last attainment run (credited, uncredited).")
    summary_at = models.DateTimeField(null=True, blank=True,
                                      help_text="When the leaf-month attainment summary was last rebuilt.")

    class Meta:
        ordering = ["-fiscal_year", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="quotaplan_name_unique"),
            models.UniqueConstraint(fields=["tenant", "fiscal_year", "metric", "custom_metric"],
                                    condition=Q(status="active"), name="quotaplan_one_active"),
            models.CheckConstraint(condition=Q(effective_to__gt=F("effective_from")), name="quotaplan_valid_range"),
            models.CheckConstraint(condition=~Q(metric="custom") | ~Q(custom_metric=""), name="quotaplan_custom_code"),
            models.CheckConstraint(condition=Q(company_target__gte=0), name="quotaplan_target_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def metric_code(self) -> str:
        """What ``CreditedTransaction.metric`` carries for this plan."""
        return self.custom_metric if self.metric == QuotaMetric.CUSTOM else self.metric

    @property
    def is_editable(self) -> bool:
        return self.status == QuotaPlanStatus.DRAFT

    @property
    def months(self) -> list[dt.date]:
        return fiscal_months(self.effective_from)

    @property
    def weights(self) -> dict[str, Decimal]:
        return {"even": self.weight_even, "potential": self.weight_potential, "prior_year": self.weight_prior_year,
                "ttm": self.weight_ttm, "custom": self.weight_custom}


class Quota(TenantModel):
    """One node of a plan's allocation tree: the company (root), a territory at any level, or a leaf
    territory and its rep. Annual figures; months are in ``QuotaMonth``."""

    plan = models.ForeignKey(QuotaPlan, on_delete=models.CASCADE, related_name="quotas")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    territory = models.ForeignKey("territories.Territory", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    person = models.ForeignKey("revops.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    code = models.CharField(max_length=40, help_text="The territory code; the root is 'COMPANY'.")
    name = models.CharField(max_length=160)
    level = models.CharField(max_length=40)
    depth = models.PositiveSmallIntegerField(default=0)
    is_leaf = models.BooleanField(default=False)
    # Allocation bases (leaves computed, parents the sums of their children).
    potential = models.DecimalField(**MONEY, default=Decimal(0))
    prior_year = models.DecimalField(**MONEY, default=Decimal(0))
    ttm = models.DecimalField(**MONEY, default=Decimal(0))
    custom_basis = models.DecimalField(**MONEY, default=Decimal(0))
    override = models.DecimalField(**MONEY, null=True, blank=True,
                                   help_text="A manager's fixed annual target; siblings re-balance around it.")
    annual = models.DecimalField(**MONEY, default=Decimal(0), help_text="Allocated annual target (before ramp and relief).")
    amount = models.DecimalField(**MONEY, default=Decimal(0), help_text="Sum of the months after ramp and relief.")
    actual = models.DecimalField(**MONEY, default=Decimal(0))
    ramp_start = models.DateField(null=True, blank=True, help_text="First month of a new hire's ramp.")
    bottom_up = models.DecimalField(**MONEY, null=True, blank=True, help_text="The manager's bottom-up submission.")
    bottom_up_note = models.CharField(max_length=500, blank=True)
    bottom_up_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    bottom_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "plan", "code"], name="quota_code_unique"),
            models.UniqueConstraint(fields=["tenant", "plan"], condition=Q(parent__isnull=True), name="quota_one_root"),
            models.CheckConstraint(condition=Q(override__isnull=True) | Q(override__gte=0), name="quota_override_not_negative"),
        ]
        indexes = [models.Index(fields=["tenant", "plan", "parent"]), models.Index(fields=["tenant", "person"])]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class QuotaMonth(TenantModel):
    quota = models.ForeignKey(Quota, on_delete=models.CASCADE, related_name="months")
    month = models.DateField(help_text="First day of the month.")
    allocated = models.DecimalField(**MONEY, default=Decimal(0), help_text="Annual target phased by seasonality.")
    ramp = models.DecimalField(**MONEY, default=Decimal(0), help_text="Reduction for a new hire's ramp (<= 0).")
    relief = models.DecimalField(**MONEY, default=Decimal(0), help_text="Quota moved in (+) or out (-) with accounts.")
    amount = models.DecimalField(**MONEY, default=Decimal(0), help_text="allocated + ramp + relief.")
    actual = models.DecimalField(**MONEY, default=Decimal(0))

    class Meta:
        ordering = ["quota", "month"]
        constraints = [models.UniqueConstraint(fields=["tenant", "quota", "month"], name="quotamonth_unique")]


class LeafAttainmentMonth(TenantModel):
    """The attainment summary: one row per leaf of a plan and fiscal month, rebuilt from ``QuotaMonth`` by
    ``quotas.services.attainment_summary_refresh`` after every allocation and attainment recompute (so late
    actuals reach it through the recompute that credits them). The executive dashboard sums it instead of
    reading the quota tree and its months on every request.

    The figures are the leaf's ``QuotaMonth.amount`` and ``actual`` in cents (exact: money has two decimals),
    so a year is summed with integer arithmetic; ``*_rep`` are the same months as the rep counts them (zero
    before the rep's hire month, ``Quota.ramp_start``: ``quotas.selectors.attainment`` by rep and team).
    ``k`` is the fiscal month's index in the plan (0 = its first month)."""

    plan = models.ForeignKey(QuotaPlan, on_delete=models.CASCADE, related_name="+")
    quota = models.ForeignKey(Quota, on_delete=models.CASCADE, related_name="+")
    k = models.PositiveSmallIntegerField(help_text="Fiscal month index in the plan, 0-11.")
    month = models.DateField(help_text="First day of the month.")
    amount_cents = models.BigIntegerField(default=0)
    actual_cents = models.BigIntegerField(default=0)
    amount_rep_cents = models.BigIntegerField(default=0, help_text="amount, or 0 before the rep's hire month.")
    actual_rep_cents = models.BigIntegerField(default=0, help_text="actual, or 0 before the rep's hire month.")

    class Meta:
        ordering = ["plan", "quota", "k"]
        # Leading with the plan and ordered by leaf: a plan's rows come out grouped by leaf (no sort to sum them).
        constraints = [models.UniqueConstraint(fields=["tenant", "plan", "quota", "k"],
                                               name="leafattainmentmonth_unique")]


class QuotaRelief(TenantModel):
    """Quota that moved with an account when ownership changed mid-period, for one month."""

    plan = models.ForeignKey(QuotaPlan, on_delete=models.CASCADE, related_name="reliefs")
    account = models.ForeignKey("revops.Account", on_delete=models.CASCADE, related_name="+")
    from_quota = models.ForeignKey(Quota, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    to_quota = models.ForeignKey(Quota, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    effective_date = models.DateField()
    month = models.DateField()
    share = models.DecimalField(max_digits=9, decimal_places=6, help_text="Account potential / territory potential.")
    days_fraction = models.DecimalField(max_digits=9, decimal_places=6, help_text="Days of the month after the move.")
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["plan", "effective_date", "account", "month"]
        indexes = [models.Index(fields=["tenant", "plan", "from_quota"]), models.Index(fields=["tenant", "plan", "to_quota"])]


class TransactionKind(models.TextChoices):
    DEAL = "deal", "Deal"
    REVENUE = "revenue", "Revenue"
    COLLECTION = "collection", "Collection"
    REFERRAL = "referral", "Referral"
    OTHER = "other", "Other"


class CreditedTransaction(TenantModel):
    """Something that counts toward a quota: credited to whoever owned ``account`` on ``transaction_date``
    (or to ``person`` directly when there is no account)."""

    external_id = models.CharField(max_length=80, blank=True, help_text="The source system's id (upsert key).")
    metric = models.CharField(max_length=40, help_text="A quota metric, or a custom metric's code.")
    kind = models.CharField(max_length=12, choices=TransactionKind.choices, default=TransactionKind.DEAL)
    account = models.ForeignKey("revops.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("revops.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    transaction_date = models.DateField()
    amount = models.DecimalField(**MONEY)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-transaction_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "metric", "external_id"], condition=~Q(external_id=""),
                                    name="creditedtxn_external_id_unique"),
            models.CheckConstraint(condition=Q(account__isnull=False) | Q(person__isnull=False), name="creditedtxn_who"),
        ]
        indexes = [models.Index(fields=["tenant", "metric", "transaction_date"])]
