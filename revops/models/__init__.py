"""Shared system of record: organizations, access, reference data, audit and jobs."""
from .access import ApiKey, Membership, Organization, OrganizationKind, Role
from .audit import AuditEvent
from .jobs import Job, JobStatus, TenantSchedule
from .reference import (
    Account,
    AccountType,
    Facility,
    LevelOfCare,
    Payer,
    PayerClass,
    Person,
    PersonRole,
    Program,
    ReportingLine,
    ServiceLine,
    Team,
)

__all__ = [
    "Account",
    "AccountType",
    "ApiKey",
    "AuditEvent",
    "Facility",
    "Job",
    "JobStatus",
    "LevelOfCare",
    "Membership",
    "Organization",
    "OrganizationKind",
    "Payer",
    "PayerClass",
    "Person",
    "PersonRole",
    "Program",
    "ReportingLine",
    "Role",
    "ServiceLine",
    "Team",
    "TenantSchedule",
]
