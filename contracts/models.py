"""Payer contracts: effective-dated terms, expected reimbursement, underpayment, quarterly reviews.

- ``Contract``: an agreement with a payer, for all its plans (``plan_name`` blank) or one plan, or a
  single-case agreement for one patient (``patient_hash``, as stored on claims) in one program.
- ``ContractVersion``: one effective-dated set of terms. A draft is edited freely; publishing gives it
  its effective date and closes the previous version the day before. Published versions are never
  edited again: a change of terms is a new version (history stays as it was priced).
- ``ContractTerm``: one term of a version: a fee schedule rate for a code (and modifier), a per diem
  for a level of care (optionally "lesser of charges or per diem"), a case rate per claim or per
  admission, or a percent of charges.
- ``ClaimExpectation`` / ``LineExpectation``: the expected reimbursement of every claim and line,
  materialized by ``contracts.services.reimbursement.expected_recompute`` (set-based SQL), with the
  payments it is compared with. ``ContractReview``: a quarterly review record and its decision.

docs/contracts.md gives every number's one definition and the precedence rules.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from rcm_feeds.models import fact_tenant, loader_link
from revops.models.reference import LevelOfCare
from revops.tenancy import TenantModel

MONEY = {"max_digits": 14, "decimal_places": 2}
RATE = {"max_digits": 14, "decimal_places": 4}


class ContractKind(models.TextChoices):
    STANDARD = "standard", "Payer contract"
    SINGLE_CASE = "single_case", "Single-case agreement"


class Contract(TenantModel):
    payer = models.ForeignKey("revops.Payer", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=ContractKind.choices, default=ContractKind.STANDARD)
    name = models.CharField(max_length=160)
    plan_name = models.CharField(max_length=120, blank=True,
                                 help_text="The payer's plan this contract is for; blank: all the payer's plans.")
    patient_hash = models.CharField(max_length=64, blank=True,
                                    help_text="Single-case agreements: the patient's salted member-id hash.")
    program = models.ForeignKey("revops.Program", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                help_text="Single-case agreements: the program the agreement covers.")
    ends_on = models.DateField(null=True, blank=True, help_text="Last day the contract is in force (termination).")
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="contract_name_unique"),
            models.CheckConstraint(
                condition=(Q(kind="standard", patient_hash="", program__isnull=True)
                           | (Q(kind="single_case") & ~Q(patient_hash="") & Q(program__isnull=False))),
                name="contract_single_case_fields"),
        ]
        indexes = [models.Index(fields=["tenant", "payer"])]

    def __str__(self) -> str:
        return self.name

    @property
    def scope_label(self) -> str:
        if self.kind == ContractKind.SINGLE_CASE:
            return "Single-case agreement"
        return f"Plan {self.plan_name}" if self.plan_name else "All plans"


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class ContractVersion(TenantModel):
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    effective_from = models.DateField(null=True, blank=True)
    effective_to = models.DateField(null=True, blank=True,
                                    help_text="Set when a later version is published: the day before it starts.")
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")

    class Meta:
        ordering = ["contract_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "contract", "number"], name="contractversion_number_unique"),
            models.CheckConstraint(condition=Q(status="draft") | Q(effective_from__isnull=False),
                                   name="contractversion_published_dated"),
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_from__isnull=False)
                                   & Q(effective_to__gte=models.F("effective_from")),
                                   name="contractversion_dates_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.contract} v{self.number}"

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT


class TermKind(models.TextChoices):
    FEE_SCHEDULE = "fee_schedule", "Fee schedule (per unit of a code)"
    PER_DIEM = "per_diem", "Per diem (per day of a level of care)"
    CASE_RATE = "case_rate", "Case rate"
    PERCENT_OF_CHARGES = "percent_of_charges", "Percent of charges"


class CaseRateBasis(models.TextChoices):
    PER_CLAIM = "per_claim", "Per claim"
    PER_ADMISSION = "per_admission", "Per admission"


class ContractTerm(TenantModel):
    """One term. ``rate`` is money per unit (fee schedule), per day (per diem), per case (case rate), or a
    percent (percent of charges: 65 means 65%)."""

    version = models.ForeignKey(ContractVersion, on_delete=models.CASCADE, related_name="terms")
    kind = models.CharField(max_length=20, choices=TermKind.choices)
    code = models.CharField(max_length=12, blank=True, help_text="Fee schedule: CPT/HCPCS (or revenue) code.")
    modifier = models.CharField(max_length=2, blank=True, help_text="Fee schedule: only lines with this modifier.")
    level_of_care = models.CharField(max_length=16, choices=LevelOfCare.choices, blank=True,
                                     help_text="Per diem: required. Case rate: blank applies to every level.")
    basis = models.CharField(max_length=16, choices=CaseRateBasis.choices, blank=True)
    rate = models.DecimalField(**RATE)
    lesser_of_charges = models.BooleanField(default=False,
                                            help_text="Per diem: pay the lesser of the day's charges or the per diem.")
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["kind", "level_of_care", "code", "modifier"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "version", "kind", "code", "modifier", "level_of_care", "basis"],
                                    name="contractterm_unique"),
            models.CheckConstraint(condition=Q(rate__gte=0), name="contractterm_rate_not_negative"),
            models.CheckConstraint(
                condition=(Q(kind="fee_schedule") & ~Q(code="")
                           & Q(level_of_care="", basis="", lesser_of_charges=False))
                | (Q(kind="per_diem") & ~Q(level_of_care="") & Q(code="", modifier="", basis=""))
                | (Q(kind="case_rate") & ~Q(basis="") & Q(code="", modifier="", lesser_of_charges=False))
                | Q(kind="percent_of_charges", code="", modifier="", level_of_care="", basis="",
                    lesser_of_charges=False, rate__lte=1000),
                name="contractterm_kind_fields"),
        ]

    def __str__(self) -> str:
        if self.kind == TermKind.FEE_SCHEDULE:
            return f"{self.code}{'-' + self.modifier if self.modifier else ''} {self.rate}/unit"
        if self.kind == TermKind.PER_DIEM:
            return f"{self.get_level_of_care_display()} per diem {self.rate}"
        if self.kind == TermKind.CASE_RATE:
            return f"Case rate {self.get_basis_display().lower()} {self.rate}"
        return f"{self.rate}% of charges"


class ExpectationStatus(models.TextChoices):
    PRICED = "priced", "Priced"
    PARTIAL = "partial", "Some lines without a term"
    NO_TERM = "no_term", "No term for any line"
    NO_CONTRACT = "no_contract", "No contract in force"
    SUPERSEDED = "superseded", "Replaced by a corrected claim"
    VOID = "void", "Voided"


class ContractSource(models.TextChoices):
    SINGLE_CASE = "single_case", "Single-case agreement"
    PLAN = "plan", "Plan-specific contract"
    PAYER = "payer", "Payer-wide contract"


class ClaimExpectation(TenantModel):
    """Expected reimbursement of one claim under the contract in force on its service date, and what was paid.

    Written only by the recompute (whole sets, COPY-sized); ``expected`` is NULL when nothing prices the claim.
    """

    tenant = fact_tenant()
    claim = loader_link("rcm_feeds.Claim", on_delete=models.CASCADE, related_name="+", db_index=False)
    payer = loader_link("revops.Payer", null=True, on_delete=models.DO_NOTHING, related_name="+", db_index=False)
    program = loader_link("revops.Program", null=True, on_delete=models.DO_NOTHING, related_name="+", db_index=False)
    service_date = models.DateField()
    submitted_on = models.DateField()
    plan_name = models.CharField(max_length=120, blank=True, help_text="From the claim's admission (intake).")
    admission = loader_link("intake.Admission", null=True, on_delete=models.DO_NOTHING, related_name="+",
                            db_index=False)
    contract = loader_link(Contract, null=True, on_delete=models.DO_NOTHING, related_name="+", db_index=False)
    version = loader_link(ContractVersion, null=True, on_delete=models.DO_NOTHING, related_name="+", db_index=False)
    source = models.CharField(max_length=12, choices=ContractSource.choices, blank=True)
    status = models.CharField(max_length=12, choices=ExpectationStatus.choices)
    charge = models.DecimalField(**MONEY)
    expected = models.DecimalField(**MONEY, null=True)
    lines_total = models.IntegerField(default=0)
    lines_priced = models.IntegerField(default=0)
    paid = models.DecimalField(**MONEY, default=0, help_text="835 CLP04, reversals netted.")
    patient_responsibility = models.DecimalField(**MONEY, default=0, help_text="835 CLP05, reversals netted.")
    adjudicated = models.BooleanField(default=False)
    denied = models.BooleanField(default=False)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-service_date", "-claim_id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "claim"], name="claimexpectation_claim_unique")]
        indexes = [
            models.Index(fields=["tenant", "payer", "service_date"]),
            models.Index(fields=["tenant", "contract", "service_date"]),
        ]

    @property
    def variance(self):  # type: ignore[no-untyped-def]
        """Underpayment variance (see docs/contracts.md): expected - (paid + patient responsibility)."""
        if self.expected is None or not self.adjudicated:
            return None
        return self.expected - self.paid - self.patient_responsibility


class LineExpectation(TenantModel):
    tenant = fact_tenant()
    claim = loader_link("rcm_feeds.Claim", on_delete=models.CASCADE, related_name="+", db_index=False)
    claim_line = loader_link("rcm_feeds.ClaimLine", on_delete=models.CASCADE, related_name="+", db_index=False)
    line_number = models.IntegerField()
    code = models.CharField(max_length=12, blank=True)
    service_date = models.DateField(null=True)
    units = models.DecimalField(max_digits=10, decimal_places=2, null=True)
    charge = models.DecimalField(**MONEY)
    term = loader_link(ContractTerm, null=True, on_delete=models.DO_NOTHING, related_name="+", db_index=False)
    term_kind = models.CharField(max_length=20, choices=TermKind.choices, blank=True)
    expected = models.DecimalField(**MONEY, null=True)
    paid = models.DecimalField(**MONEY, default=0, help_text="Matched 835 SVC03, reversals netted.")
    patient_responsibility = models.DecimalField(**MONEY, default=0, help_text="Matched line CAS group PR.")
    matched = models.BooleanField(default=False, help_text="An 835 service line was matched to this line.")

    class Meta:
        ordering = ["claim_id", "line_number"]
        constraints = [models.UniqueConstraint(fields=["tenant", "claim_line"], name="lineexpectation_line_unique")]
        indexes = [models.Index(fields=["tenant", "claim"], name="lineexpectation_claim_idx")]


class Recommendation(models.TextChoices):
    KEEP = "keep", "Keep"
    RENEGOTIATE = "renegotiate", "Renegotiate"
    EXIT = "exit", "Exit"


class ContractReview(TenantModel):
    """A contract's quarterly review: the figures as computed on ``computed_at``, the rule-based
    recommendation with its reasons, and the analyst's decision (who, when, why)."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="reviews")
    quarter_start = models.DateField(help_text="First day of the quarter reviewed.")
    computed_at = models.DateTimeField(default=timezone.now)
    claims = models.IntegerField(default=0)
    previous_claims = models.IntegerField(default=0, help_text="Claims of the quarter before (volume trend).")
    charges = models.DecimalField(**MONEY, default=0)
    expected = models.DecimalField(**MONEY, default=0)
    net_revenue = models.DecimalField(**MONEY, default=0)
    direct_cost = models.DecimalField(**MONEY, default=0)
    rcm_cost = models.DecimalField(**MONEY, default=0)
    margin = models.DecimalField(**MONEY, default=0)
    underpayment = models.DecimalField(**MONEY, default=0)
    claims_adjudicated = models.IntegerField(default=0)
    claims_denied = models.IntegerField(default=0)
    denial_rate = models.DecimalField(max_digits=7, decimal_places=2, null=True)
    days_to_pay = models.DecimalField(max_digits=7, decimal_places=1, null=True)
    appeals = models.IntegerField(default=0)
    appeals_won = models.IntegerField(default=0)
    volume_change = models.DecimalField(max_digits=9, decimal_places=2, null=True)
    recommendation = models.CharField(max_length=12, choices=Recommendation.choices)
    reasons = models.JSONField(default=list)
    decision = models.CharField(max_length=12, choices=Recommendation.choices, blank=True)
    decision_note = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-quarter_start", "contract_id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "contract", "quarter_start"], name="contractreview_unique"),
            models.CheckConstraint(condition=Q(quarter_start__day=1) & Q(quarter_start__month__in=[1, 4, 7, 10]),
                                   name="contractreview_quarter_start"),
        ]

    def __str__(self) -> str:
        return f"{self.contract} {self.quarter_label}"

    @property
    def quarter_label(self) -> str:
        return f"{self.quarter_start.year} Q{(self.quarter_start.month - 1) // 3 + 1}"

    @property
    def margin_pct(self):  # type: ignore[no-untyped-def]
        if not self.net_revenue:
            return None
        return (self.margin * 100 / self.net_revenue).quantize(self.margin.__class__("0.01"))

    @property
    def underpayment_pct(self):  # type: ignore[no-untyped-def]
        if not self.expected:
            return None
        return (self.underpayment * 100 / self.expected).quantize(self.expected.__class__("0.01"))


class UnderpaymentMonthly(TenantModel):
    """The underpayment variance's additive measures per (payer, claim service month): a summary of
    ``ClaimExpectation`` that the payer report (the executive dashboard's underpayment tile) sums instead of
    scanning the period's claims. Written only by ``contracts.services.reimbursement.underpayment_monthly_refresh``,
    which ``expected_recompute`` calls for the service months of the claims it recomputes; definitions in
    ``contracts.selectors`` and docs/contracts.md ("Underpayment variance")."""

    tenant = fact_tenant()
    payer = loader_link("revops.Payer", null=True, on_delete=models.DO_NOTHING, related_name="+", db_index=False)
    month = models.DateField(help_text="First day of the claims' service month.")
    total = models.IntegerField(default=0)
    in_variance = models.IntegerField(default=0)
    not_adjudicated = models.IntegerField(default=0)
    denied = models.IntegerField(default=0)
    no_contract = models.IntegerField(default=0)
    no_term = models.IntegerField(default=0)
    charges_no_contract = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    expected = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    paid = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    patient_responsibility = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    variance = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    underpaid_claims = models.IntegerField(default=0)
    denied_expected = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        indexes = [models.Index(fields=["tenant", "month"])]


class UnderpaymentMonthlyState(TenantModel):
    """One row per organization once ``UnderpaymentMonthly`` holds its whole history; until then the underpayment
    report scans the claim expectations."""

    built_at = models.DateTimeField(default=timezone.now)
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="underpaymentmonthlystate_tenant_unique")]
