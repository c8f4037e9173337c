"""Intake, utilization review and program economics for behavioral-health providers.

- ``Admission``: one patient stay in a program (level of care), with the payer and plan that cover
  it, admitted and discharged dates and the expected length of stay. Patients are never named: the
  member id arrives and only its salted per-organization hash is kept (``rcm_feeds.phi``), the same
  hash claims carry, so an admission's claims are found by (patient hash, program, service dates).
- ``ProgramCost``: the direct cost inputs of a program per month (care staff, facility, utilization
  review / authorization effort, other), which program profitability and payer margins allocate.

Authorizations, intake rules, the intake check and the program profitability report build on these.
"""
from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from revops.tenancy import TenantModel

MONEY = {"max_digits": 14, "decimal_places": 2}


class Admission(TenantModel):
    """A stay in a program. ``discharged_on`` is empty while the patient is in care."""

    external_id = models.CharField(max_length=64, help_text="The EHR's admission id (upsert key).")
    patient_hash = models.CharField(max_length=64, help_text="Salted hash of the member id (rcm_feeds.phi).")
    program = models.ForeignKey("revops.Program", on_delete=models.PROTECT, related_name="+")
    payer = models.ForeignKey("revops.Payer", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    plan_name = models.CharField(max_length=120, blank=True, help_text="The payer's plan or product, e.g. 'PPO'.")
    facility = models.ForeignKey("revops.Facility", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    admitted_on = models.DateField()
    discharged_on = models.DateField(null=True, blank=True)
    expected_los_days = models.PositiveIntegerField(null=True, blank=True,
                                                    help_text="Expected length of stay at intake, in days.")
    source = models.CharField(max_length=16, default="api", help_text="api, import, demo")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-admitted_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "external_id"], name="admission_external_id_unique"),
            models.CheckConstraint(condition=Q(discharged_on__isnull=True) | Q(discharged_on__gte=F("admitted_on")),
                                   name="admission_dates_ordered"),
        ]
        indexes = [
            models.Index(fields=["tenant", "program", "admitted_on"]),
            models.Index(fields=["tenant", "patient_hash"]),
            models.Index(fields=["tenant", "payer", "admitted_on"]),
        ]

    def __str__(self) -> str:
        return self.external_id


class ProgramCostCategory(models.TextChoices):
    CARE_STAFF = "care_staff", "Care staff"
    FACILITY = "facility", "Facility and room"
    UTILIZATION_REVIEW = "utilization_review", "Utilization review and authorizations"
    SUPPLIES = "supplies", "Supplies, labs and medication"
    OTHER = "other", "Other direct cost"


class ProgramCost(TenantModel):
    """A direct cost of ``program`` in ``month`` (first day of the month)."""

    program = models.ForeignKey("revops.Program", on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="First day of the month.")
    category = models.CharField(max_length=24, choices=ProgramCostCategory.choices)
    amount = models.DecimalField(**MONEY)
    hours = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True,
                                help_text="Staff hours behind the cost (e.g. UR hours), when known.")
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-month", "program_id", "category"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "program", "month", "category"], name="programcost_unique"),
            models.CheckConstraint(condition=Q(month__day=1), name="programcost_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.program_id} {self.month:%Y-%m} {self.category}"
