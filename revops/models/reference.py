"""Shared reference data every pillar uses: people, teams, service lines, programs, payers, accounts."""
from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeOperators
from django.db import models
from django.db.models import F, Func, Q

from revops.tenancy import TenantModel


class ServiceLine(TenantModel):
    name = models.CharField(max_length=120)
    code = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="serviceline_name_unique")]

    def __str__(self) -> str:
        return self.name


class Team(TenantModel):
    name = models.CharField(max_length=120)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    service_line = models.ForeignKey(ServiceLine, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="team_name_unique")]

    def __str__(self) -> str:
        return self.name


class PersonRole(models.TextChoices):
    REP = "rep", "Rep"
    MANAGER = "manager", "Manager"
    OVERLAY = "overlay", "Overlay specialist"
    EXECUTIVE = "executive", "Executive"
    OTHER = "other", "Other"


class Person(TenantModel):
    """A rep, manager or leader; the reporting hierarchy is effective-dated (ReportingLine)."""

    employee_id = models.CharField(max_length=64, help_text="Unique within the organization (HRIS id).")
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    email = models.EmailField(blank=True)
    title = models.CharField(max_length=120, blank=True)
    role = models.CharField(max_length=16, choices=PersonRole.choices, default=PersonRole.REP)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="people")
    hire_date = models.DateField()
    termination_date = models.DateField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "employee_id"], name="person_employee_id_unique"),
            models.CheckConstraint(
                condition=Q(termination_date__isnull=True) | Q(termination_date__gte=F("hire_date")),
                name="person_terminated_after_hire",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "team"])]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class DateRange(Func):
    function = "daterange"
    output_field = DateRangeField()


class ReportingLine(TenantModel):
    """``person`` reports to ``manager`` from ``valid_from`` until ``valid_to`` (exclusive, open if null).

    Periods of one person never overlap (exclusion constraint), so "who was X's manager on
    date D" has exactly one answer.
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="reporting_lines")
    manager = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="direct_report_lines")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["person", "valid_from"]
        constraints = [
            models.CheckConstraint(condition=~Q(person=F("manager")), name="reporting_not_self"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                name="reporting_valid_range",
            ),
            ExclusionConstraint(
                name="reporting_no_overlap",
                expressions=[
                    ("tenant", RangeOperators.EQUAL),
                    ("person", RangeOperators.EQUAL),
                    (DateRange("valid_from", "valid_to", models.Value("[)")), RangeOperators.OVERLAPS),
                ],
            ),
        ]
        indexes = [models.Index(fields=["tenant", "manager", "valid_from"])]

    def __str__(self) -> str:
        return f"{self.person} → {self.manager} from {self.valid_from}"


class Facility(TenantModel):
    name = models.CharField(max_length=160)
    npi = models.CharField(max_length=10, blank=True)
    zip_code = models.CharField(max_length=5, blank=True)
    state = models.CharField(max_length=2, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "facilities"
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="facility_name_unique")]

    def __str__(self) -> str:
        return self.name


class LevelOfCare(models.TextChoices):
    RESIDENTIAL = "residential", "Residential"
    PHP = "php", "Partial hospitalization (PHP)"
    IOP = "iop", "Intensive outpatient (IOP)"
    OP = "op", "Outpatient (OP)"
    OTP = "otp", "Opioid treatment program (OTP)"
    DETOX = "detox", "Withdrawal management"
    OTHER = "other", "Other"


class Program(TenantModel):
    """A level of care offered by the organization (editable per tenant)."""

    code = models.CharField(max_length=32)
    name = models.CharField(max_length=120)
    level_of_care = models.CharField(max_length=16, choices=LevelOfCare.choices)
    facility = models.ForeignKey(Facility, null=True, blank=True, on_delete=models.SET_NULL, related_name="programs")
    place_of_service = models.CharField(max_length=2, blank=True, help_text="CMS place-of-service code, e.g. 52 for PHP.")
    # 42 CFR Part 2: data originating in this program is tagged with it and access is audited.
    is_part2 = models.BooleanField(default=False, verbose_name="42 CFR Part 2 program")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="program_code_unique")]

    def __str__(self) -> str:
        return self.name


class PayerClass(models.TextChoices):
    COMMERCIAL = "commercial", "Commercial"
    MEDICARE = "medicare", "Medicare"
    MEDICARE_ADVANTAGE = "medicare_advantage", "Medicare Advantage"
    MEDICAID = "medicaid", "Medicaid"
    MEDICAID_MANAGED = "medicaid_managed", "Medicaid managed care"
    SELF_PAY = "self_pay", "Self-pay"
    OTHER = "other", "Other"


class Payer(TenantModel):
    name = models.CharField(max_length=160)
    payer_class = models.CharField(max_length=24, choices=PayerClass.choices)
    payer_id = models.CharField(max_length=80, blank=True, help_text="Identifier in 835 N1*PR / 837 NM1*PR.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="payer_name_unique")]
        indexes = [models.Index(fields=["tenant", "payer_id"])]

    def __str__(self) -> str:
        return self.name


class AccountType(models.TextChoices):
    PHYSICIAN_PRACTICE = "physician_practice", "Physician practice"
    HOSPITAL = "hospital", "Hospital"
    REFERRAL_SOURCE = "referral_source", "Referral source"
    CLINIC = "clinic", "Clinic"
    COMMUNITY_ORG = "community_org", "Community organization"
    PAYER_CASE_MANAGER = "payer_case_manager", "Payer case management"
    OTHER = "other", "Other"


class Account(TenantModel):
    """A referral source or customer, placed on a real US ZIP code."""

    external_id = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=200)
    npi = models.CharField(max_length=10, blank=True)
    specialty = models.CharField(max_length=120, blank=True)
    account_type = models.CharField(max_length=24, choices=AccountType.choices, default=AccountType.PHYSICIAN_PRACTICE)
    service_line = models.ForeignKey(ServiceLine, null=True, blank=True, on_delete=models.SET_NULL)
    city = models.CharField(max_length=80, blank=True)
    zip_code = models.CharField(max_length=5)
    county = models.CharField(max_length=80, blank=True)
    state = models.CharField(max_length=2)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_id"], condition=~Q(external_id=""), name="account_external_id_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "zip_code"]),
            models.Index(fields=["tenant", "state", "county"]),
            models.Index(fields=["tenant", "npi"]),
        ]

    def __str__(self) -> str:
        return self.name
