"""Saved what-if scenarios: one change (exit a contract, tighten an intake rule, move a payer's denial rate)
measured against the base case of a window of months, with the result stored as it was computed.

A scenario is computed by a background job (``scenarios.tasks``), whose progress its page shows; the stored
result is the latest successful computation. A scenario is private to its author until shared with everyone in
the organization who may view scenarios; its detail URL is the share link (a private scenario answers 404 to
anyone else). docs/scenarios.md has the formulas.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from revops.tenancy import TenantModel


class ScenarioKind(models.TextChoices):
    EXIT_CONTRACT = "exit_contract", "Exit a payer contract"
    TIGHTEN_INTAKE_RULE = "tighten_intake_rule", "Tighten an intake rule"
    DENIAL_RATE_CHANGE = "denial_rate_change", "Change a payer's denial rate"


class Scenario(TenantModel):
    name = models.CharField(max_length=160)
    kind = models.CharField(max_length=24, choices=ScenarioKind.choices)
    parameters = models.JSONField(default=dict, help_text="The change, validated per kind (docs/scenarios.md).")
    description = models.TextField(blank=True)
    window_end = models.DateField(help_text="First day of the base window's last month.")
    window_months = models.PositiveSmallIntegerField(default=12)
    horizon_months = models.PositiveSmallIntegerField(default=12, help_text="Months of the cash projection.")
    effective_month = models.DateField(help_text="First day of the month the change takes effect (in the horizon).")
    shared = models.BooleanField(default=False, help_text="Visible to everyone in the organization who may view "
                                                          "scenarios (otherwise only to its author).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    result = models.JSONField(default=dict, blank=True, help_text="Base and scenario figures as last computed.")
    computed_at = models.DateTimeField(null=True, blank=True)
    inputs_digest = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the data the result used.")
    job = models.ForeignKey("revops.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                            help_text="The latest computation (a background job with a progress bar).")
    error = models.TextField(blank=True, help_text="Why the latest computation was refused (the data does not fit "
                                                   "the change); empty when it succeeded.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "created_by", "-created_at"], name="scenario_author_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(window_end__day=1) & Q(effective_month__day=1),
                                   name="scenario_months_first_day"),
            models.CheckConstraint(condition=Q(window_months__gte=1) & Q(window_months__lte=24)
                                   & Q(horizon_months__gte=1) & Q(horizon_months__lte=36),
                                   name="scenario_month_counts"),
        ]

    def __str__(self) -> str:
        return self.name
