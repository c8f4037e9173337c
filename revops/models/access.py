"""Organizations (tenants), memberships with roles, and integrator API keys."""
from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from revops.tenancy import TenantModel


class OrganizationKind(models.TextChoices):
    BEHAVIORAL_HEALTH = "behavioral_health", "Behavioral-health provider"
    HEALTH_SYSTEM = "health_system", "Health system"
    LAB = "lab", "Laboratory"
    SERVICE_LINE_SALES = "service_line_sales", "Service-line sales organization"
    OTHER = "other", "Other"


def _new_salt() -> str:
    return secrets.token_hex(16)


class Organization(models.Model):
    """A tenant. Not itself tenant-scoped: users reach it through their memberships."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=32, choices=OrganizationKind.choices)
    fiscal_year_start_month = models.PositiveSmallIntegerField(default=1)
    # Labs and substance-use treatment providers fall under EKRA: compensation components paid on
    # referrals, tests or amounts billed/collected need a compliance sign-off (commissions app).
    ekra_covered = models.BooleanField(
        default=False, help_text="Lab or substance-use treatment provider (EKRA / Anti-Kickback)."
    )
    # Per-organization salt for hashing patient identifiers (never stored in the clear).
    phi_salt = models.CharField(max_length=64, default=_new_salt, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    EXECUTIVE = "executive", "Executive"
    REVOPS_ANALYST = "revops_analyst", "RevOps analyst"
    BILLING_MANAGER = "billing_manager", "Billing manager"
    REP = "rep", "Rep"
    INTEGRATOR = "integrator", "Integrator"


class Membership(TenantModel):
    """A user's role in one organization; a user may hold several memberships."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    # The rep's own person record: statements, attainment and calls are read through it.
    person = models.ForeignKey(
        "revops.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_one_per_user"),
        ]
        indexes = [models.Index(fields=["tenant", "role"])]

    def __str__(self) -> str:
        return f"{self.user} as {self.get_role_display()}"


class ApiKey(TenantModel):
    """An integrator's key: shown once, stored as a SHA-256 hash, revocable.

    The presented key is ``<prefix>.<secret>``; the prefix finds the row, the hash of the
    secret proves it. Keys carry the integrator role.
    """

    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=16, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.INTEGRATOR, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "prefix"], name="apikey_prefix_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
