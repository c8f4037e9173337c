"""Forecasting: the pipeline with its full history, periods and the calls reps and managers make,
forecast runs (weighted pipeline, time series, cash) with their values, and accuracy scores.

- ``Opportunity`` rows are upserted by external id (integrators sync them from the CRM). Every
  change of stage, amount, close date or category appends an ``OpportunityHistory`` row, so stage
  conversion and cycle times are learned from each organization's own history.
- A ``ForecastPeriod`` (month or quarter) collects ``ForecastCall`` rows: a rep's own call per
  category, and managers' adjusted numbers for their team. Every submission is kept; the latest
  per (period, person, category, kind) is the current one. A manager's adjustment never
  overwrites the rep's call: both are shown side by side.
- A ``ForecastRun`` (a Celery job) writes ``ForecastValue`` rows: per level and key (company,
  territory, service line, program, payer), month and model, a point forecast and intervals.
- When a period closes, every forecast is scored (``ForecastScore``) against actuals.
"""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from revops.tenancy import TenantModel

MONEY = {"max_digits": 16, "decimal_places": 2}


class Stage(TenantModel):
    """A pipeline stage of the organization's sales process, in order; won and lost are closing stages."""

    name = models.CharField(max_length=80)
    order = models.PositiveSmallIntegerField()
    is_won = models.BooleanField(default=False)
    is_lost = models.BooleanField(default=False)
    default_probability = models.DecimalField(
        max_digits=5, decimal_places=4, default=Decimal(0),
        help_text="Used only until the organization has closed history for the stage.")

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="stage_name_unique"),
            models.CheckConstraint(condition=~(Q(is_won=True) & Q(is_lost=True)), name="stage_won_or_lost"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.is_won or self.is_lost


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", "Pipeline"
    BEST_CASE = "best_case", "Best case"
    COMMIT = "commit", "Commit"
    OMITTED = "omitted", "Omitted"
    CLOSED = "closed", "Closed"


CALL_CATEGORIES = (ForecastCategory.COMMIT, ForecastCategory.BEST_CASE, ForecastCategory.PIPELINE)


class Opportunity(TenantModel):
    """A deal, referral relationship or contract being won."""

    external_id = models.CharField(max_length=80, blank=True, help_text="The CRM's id (upsert key).")
    name = models.CharField(max_length=200)
    account = models.ForeignKey("revops.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    service_line = models.ForeignKey("revops.ServiceLine", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    owner = models.ForeignKey("revops.Person", on_delete=models.PROTECT, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)
    expected_close = models.DateField()
    category = models.CharField(max_length=10, choices=ForecastCategory.choices, default=ForecastCategory.PIPELINE)
    created_on = models.DateField(default=timezone.localdate)
    closed_on = models.DateField(null=True, blank=True, help_text="Set when the opportunity reaches a won or lost stage.")
    is_won = models.BooleanField(default=False)
    is_lost = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["expected_close", "name"]
        verbose_name_plural = "opportunities"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "external_id"], condition=~Q(external_id=""),
                                    name="opportunity_external_id_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="opportunity_amount_not_negative"),
        ]
        indexes = [models.Index(fields=["tenant", "owner", "expected_close"]),
                   models.Index(fields=["tenant", "expected_close"])]

    def __str__(self) -> str:
        return self.name


class OpportunityHistory(TenantModel):
    """What an opportunity looked like from ``valid_from`` on (append-only)."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="history")
    valid_from = models.DateField()
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)
    expected_close = models.DateField()
    category = models.CharField(max_length=10, choices=ForecastCategory.choices)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["opportunity", "valid_from", "id"]
        indexes = [models.Index(fields=["tenant", "opportunity", "valid_from"])]


class PeriodKind(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"


class ForecastPeriod(TenantModel):
    kind = models.CharField(max_length=8, choices=PeriodKind.choices, default=PeriodKind.MONTH)
    start = models.DateField()
    end = models.DateField(help_text="Exclusive.")
    deadline = models.DateField(help_text="Calls are due by this day; later submissions are marked late.")
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-start", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "start"], name="forecastperiod_unique"),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="forecastperiod_valid_range"),
        ]

    def __str__(self) -> str:
        if self.kind == PeriodKind.QUARTER:
            return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        return f"{self.start:%B %Y}"

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class CallKind(models.TextChoices):
    REP = "rep", "Rep's own call"
    MANAGER = "manager", "Manager's adjusted number"


class ForecastCall(TenantModel):
    """One submission: ``person``'s number (a rep's own, or a manager's for their team) for a category."""

    period = models.ForeignKey(ForecastPeriod, on_delete=models.CASCADE, related_name="calls")
    person = models.ForeignKey("revops.Person", on_delete=models.PROTECT, related_name="+",
                               help_text="Whose number: the rep, or the manager whose team it covers.")
    subject = models.ForeignKey("revops.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                help_text="A manager's adjustment of one report's number (empty: the whole team).")
    kind = models.CharField(max_length=8, choices=CallKind.choices, default=CallKind.REP)
    category = models.CharField(max_length=10, choices=ForecastCategory.choices)
    amount = models.DecimalField(**MONEY)
    note = models.CharField(max_length=500, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    submitted_at = models.DateTimeField(default=timezone.now)
    is_late = models.BooleanField(default=False)

    class Meta:
        ordering = ["period", "person", "category", "-submitted_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="forecastcall_amount_not_negative")]
        indexes = [models.Index(fields=["tenant", "period", "person", "category", "kind", "-submitted_at"])]


class RunKind(models.TextChoices):
    PIPELINE = "pipeline", "Weighted pipeline"
    TIME_SERIES = "time_series", "Time series"
    CASH = "cash", "Cash from RCM"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ForecastRun(TenantModel):
    kind = models.CharField(max_length=12, choices=RunKind.choices)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    job = models.ForeignKey("revops.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    as_of = models.DateField(help_text="The forecast only uses what was known on this day.")
    horizon = models.PositiveSmallIntegerField(default=6, help_text="Months ahead.")
    params = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "kind", "-created_at"])]


class ForecastValue(TenantModel):
    run = models.ForeignKey(ForecastRun, on_delete=models.CASCADE, related_name="values")
    level = models.CharField(max_length=16, help_text="company, territory, service_line, program, payer, rep")
    key = models.CharField(max_length=80)
    label = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=40)
    month = models.DateField()
    point = models.DecimalField(**MONEY)
    lo80 = models.DecimalField(**MONEY, null=True, blank=True)
    hi80 = models.DecimalField(**MONEY, null=True, blank=True)
    lo95 = models.DecimalField(**MONEY, null=True, blank=True)
    hi95 = models.DecimalField(**MONEY, null=True, blank=True)

    class Meta:
        ordering = ["run", "level", "key", "model", "month"]
        indexes = [models.Index(fields=["tenant", "run", "level", "key"])]


class ForecastScore(TenantModel):
    """How one forecast of a closed period compared with what happened."""

    period = models.ForeignKey(ForecastPeriod, on_delete=models.CASCADE, related_name="scores")
    source = models.CharField(max_length=40, help_text="rep_call, manager_call, or a model's name")
    level = models.CharField(max_length=16)
    key = models.CharField(max_length=80)
    label = models.CharField(max_length=200, blank=True)
    horizon = models.PositiveSmallIntegerField(default=0, help_text="Months between the forecast and the period.")
    forecast = models.DecimalField(**MONEY)
    actual = models.DecimalField(**MONEY)
    # The forecast's prediction intervals, when it had them and the period is one month (calibration).
    lo80 = models.DecimalField(**MONEY, null=True, blank=True)
    hi80 = models.DecimalField(**MONEY, null=True, blank=True)
    lo95 = models.DecimalField(**MONEY, null=True, blank=True)
    hi95 = models.DecimalField(**MONEY, null=True, blank=True)

    class Meta:
        ordering = ["period", "source", "level", "key"]
        constraints = [models.UniqueConstraint(fields=["tenant", "period", "source", "level", "key", "horizon"],
                                               name="forecastscore_unique")]
