"""Intake, utilization review and program economics for behavioral-health providers.

- ``Admission``: one patient stay in a program (level of care), with the payer and plan that cover
  it, admitted and discharged dates and the expected length of stay. Patients are never named: the
  member id arrives and only its salted per-organization hash is kept (``rcm_feeds.phi``), the same
  hash claims carry, so an admission's claims are found by (patient hash, program, service dates).
- ``ProgramCost``: the direct cost inputs of a program per month (care staff, facility, utilization
  review / authorization effort, other), which program profitability and payer margins allocate.

- ``AdmissionClaim``: the claims of a stay (derived set-based by ``intake.services.admission_claims_link``).
- ``Authorization``: days or units a payer granted an admission over a date range, with the next review date.
- ``IntakeRule``: whether a payer (plan) qualifies for a program or level of care, effective-dated.
- ``ProgramClaimMoney``: the linked claims' money per program, service month and payer (a summary that program
  profitability reads), with ``ProgramClaimMoneyState`` saying it is built (``intake.services.program_money``).

Definitions of every figure built on these: docs/intake.md.
"""
from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from revops.models import LevelOfCare
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

    @property
    def length_of_stay(self) -> int | None:
        """Admitted through discharged, both days counted (None while in care)."""
        return (self.discharged_on - self.admitted_on).days + 1 if self.discharged_on else None


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


class AdmissionClaim(TenantModel):
    """A claim of an admission: same patient hash and program, service dates within the stay.

    Filled set-based by ``intake.services.admission_claims_link`` (never by hand); a claim belongs
    to at most one admission (the latest one admitted on or before its first service date).
    """

    admission = models.ForeignKey(Admission, on_delete=models.CASCADE, related_name="claim_links")
    # rcm_feeds' claims are a fact table loaded in bulk without constraint triggers; the link
    # follows it (no database constraint; the linking SQL only ever pairs rows of one organization).
    claim = models.ForeignKey("rcm_feeds.Claim", on_delete=models.CASCADE, related_name="+", db_constraint=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "claim"], name="admissionclaim_claim_unique")]
        indexes = [models.Index(fields=["tenant", "admission"])]


class UnitKind(models.TextChoices):
    DAYS = "days", "Days (distinct service dates)"
    UNITS = "units", "Units (claim-line units)"


class Authorization(TenantModel):
    """A payer's authorization of an admission: units or days granted over a date range, next review."""

    admission = models.ForeignKey(Admission, on_delete=models.CASCADE, related_name="authorizations")
    payer = models.ForeignKey("revops.Payer", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    level_of_care = models.CharField(max_length=16, choices=LevelOfCare.choices)
    auth_number = models.CharField(max_length=50, help_text="The payer's authorization number (upsert key).")
    unit_kind = models.CharField(max_length=8, choices=UnitKind.choices, default=UnitKind.DAYS)
    units_granted = models.DecimalField(max_digits=10, decimal_places=2)
    starts_on = models.DateField()
    ends_on = models.DateField()
    next_review_on = models.DateField(null=True, blank=True, help_text="Next concurrent review with the payer.")
    note = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=16, default="api", help_text="api, import, page, demo")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "auth_number"], name="authorization_number_unique"),
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="authorization_dates_ordered"),
            models.CheckConstraint(condition=Q(units_granted__gte=0), name="authorization_units_not_negative"),
        ]
        indexes = [
            models.Index(fields=["tenant", "admission"]),
            models.Index(fields=["tenant", "next_review_on"]),
        ]

    def __str__(self) -> str:
        return self.auth_number


class IntakeDecision(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    ALLOWED_WITH_AUTHORIZATION = "allowed_with_authorization", "Allowed with authorization"
    NOT_ALLOWED = "not_allowed", "Not allowed"


class IntakeRule(TenantModel):
    """Whether a payer (optionally one plan of it) qualifies for a program, or for every program of a level
    of care, from ``effective_from`` to ``effective_to`` (inclusive; empty: open-ended)."""

    payer = models.ForeignKey("revops.Payer", on_delete=models.CASCADE, related_name="+")
    plan_name = models.CharField(max_length=120, blank=True, help_text="Empty: every plan of the payer.")
    program = models.ForeignKey("revops.Program", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+", help_text="Empty: every program of the level of care.")
    level_of_care = models.CharField(max_length=16, choices=LevelOfCare.choices, blank=True,
                                     help_text="Used when no program is named.")
    decision = models.CharField(max_length=32, choices=IntakeDecision.choices)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True, help_text="Why RevOps decided this (shown at intake).")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["payer__name", "plan_name", "program__name", "level_of_care", "-effective_from", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(program__isnull=False) | ~Q(level_of_care=""),
                                   name="intakerule_program_or_level"),
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_to__gte=F("effective_from")),
                                   name="intakerule_dates_ordered"),
        ]
        indexes = [models.Index(fields=["tenant", "payer", "effective_from"])]

    def __str__(self) -> str:
        target = self.program or self.get_level_of_care_display()
        return f"{self.payer} {self.plan_name or 'any plan'} -> {target}: {self.get_decision_display()}"


class ProgramClaimMoney(TenantModel):
    """The money of the claims linked to a program's admissions, per (program, claim service month, payer).

    A summary, never written by hand: ``intake.services.program_money_refresh`` replaces the rows of whole
    service months, after every RCM load (``rcm_feeds.aggregates.aggregates_refresh``) and whenever links
    change (``admission_claims_link``). Definitions: ``intake.selectors.profitability`` and docs/intake.md.
    ``lost`` is the counted denials not overturned (valued at the payer's clean yield when read, so that the
    yield, which every load moves, is never stored here).
    """

    program = models.ForeignKey("revops.Program", on_delete=models.DO_NOTHING, related_name="+",
                                db_constraint=False)
    month = models.DateField(help_text="First day of the claims' first service month.")
    payer = models.ForeignKey("revops.Payer", null=True, on_delete=models.DO_NOTHING, related_name="+",
                              db_constraint=False)
    claims = models.IntegerField(default=0, help_text="Current versions.")
    gross_charges = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    net_after_denials = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    denied = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    written_off = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    lost = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        indexes = [models.Index(fields=["tenant", "month", "program"])]


class ProgramClaimMoneyState(TenantModel):
    """One row per organization once ``ProgramClaimMoney`` holds its whole history; until then (an
    organization whose claims predate the summary) program profitability computes the money from the claims."""

    built_at = models.DateTimeField(default=timezone.now)
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="programclaimmoneystate_tenant_unique")]
