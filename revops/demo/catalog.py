"""What the two demo organizations are made of: facilities, programs, payers, regions, specialties.

Places are real (the ZIP codes are checked against ``zipcodes`` when seeding); organizations,
people and payer identifiers are invented. Payer names are the public names of real plans so
the payer mix reads true to a US behavioral-health or lab revenue team; their ``payer_id``
values are synthetic, not the plans' EDI identifiers.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from revops.models import AccountType, LevelOfCare, OrganizationKind, PayerClass


@dataclass(frozen=True)
class FacilitySpec:
    key: str
    name: str
    zip_code: str


@dataclass(frozen=True)
class ProgramSpec:
    code: str
    name: str
    level_of_care: str
    facility: str
    place_of_service: str
    is_part2: bool = False


@dataclass(frozen=True)
class PayerSpec:
    name: str
    payer_class: str
    # Expected share of encounters (behavioral health) or billed tests (lab), in percent.
    # Not stored: it documents the mix and drives demo claim volumes in later seeds.
    share: Decimal


@dataclass(frozen=True)
class AreaSpec:
    name: str
    states: tuple[str, ...]


@dataclass(frozen=True)
class RegionSpec:
    name: str
    areas: tuple[AreaSpec, ...]


@dataclass(frozen=True)
class AccountKind:
    """One kind of account: type, specialty, primary service line, relative weight, name patterns."""

    account_type: str
    specialty: str
    service_line: str | None
    weight: int
    patterns: tuple[str, ...]
    has_npi: bool = True


# --- Riverbend Behavioral Health: a provider network in Tennessee, Kentucky, North Carolina, Georgia

RIVERBEND = {
    "name": "Riverbend Behavioral Health",
    "slug": "riverbend-bh",
    "kind": OrganizationKind.BEHAVIORAL_HEALTH,
    # Its withdrawal-management program makes it a substance-use treatment provider (EKRA).
    "ekra_covered": True,
    "fiscal_year_start_month": 7,
    "email_domain": "riverbend-bh.example",
}

RIVERBEND_SERVICE_LINES = (("Adult Mental Health", "AMH"), ("Substance Use Disorder", "SUD"))

RIVERBEND_FACILITIES = (
    FacilitySpec("nsh", "Riverbend Nashville Campus", "37203"),
    FacilitySpec("knx", "Riverbend Knoxville Residential Center", "37919"),
    FacilitySpec("cha", "Riverbend Chattanooga Outpatient Center", "37403"),
    FacilitySpec("lou", "Riverbend Recovery Center Louisville", "40202"),
    FacilitySpec("ash", "Riverbend Asheville Clinic", "28801"),
    FacilitySpec("dec", "Riverbend Decatur Campus", "30030"),
)

# CMS place-of-service codes: 11 office, 52 psychiatric facility partial hospitalization,
# 53 community mental health center, 55 residential substance abuse treatment facility,
# 56 psychiatric residential treatment center.
RIVERBEND_PROGRAMS = (
    ProgramSpec("NSH-PHP", "Nashville Adult Partial Hospitalization", LevelOfCare.PHP, "nsh", "52"),
    ProgramSpec("NSH-IOP", "Nashville Adult Intensive Outpatient", LevelOfCare.IOP, "nsh", "53"),
    ProgramSpec("NSH-OP", "Nashville Outpatient Psychiatry and Therapy", LevelOfCare.OP, "nsh", "11"),
    ProgramSpec("KNX-RES", "Knoxville Adult Residential Treatment", LevelOfCare.RESIDENTIAL, "knx", "56"),
    ProgramSpec("KNX-PHP", "Knoxville Partial Hospitalization", LevelOfCare.PHP, "knx", "52"),
    ProgramSpec("CHA-IOP", "Chattanooga Intensive Outpatient", LevelOfCare.IOP, "cha", "53"),
    ProgramSpec("CHA-OP", "Chattanooga Outpatient Therapy", LevelOfCare.OP, "cha", "11"),
    # The substance-use program: records that originate here fall under 42 CFR Part 2.
    ProgramSpec("LOU-WM", "Louisville Withdrawal Management", LevelOfCare.DETOX, "lou", "55", is_part2=True),
    ProgramSpec("ASH-OP", "Asheville Outpatient Therapy", LevelOfCare.OP, "ash", "11"),
    ProgramSpec("DEC-PHP", "Decatur Partial Hospitalization", LevelOfCare.PHP, "dec", "52"),
    ProgramSpec("DEC-IOP", "Decatur Intensive Outpatient", LevelOfCare.IOP, "dec", "53"),
)

_P = PayerClass
RIVERBEND_PAYERS = (
    PayerSpec("Kentucky Medicaid", _P.MEDICAID, Decimal("7")),
    PayerSpec("Georgia Medicaid", _P.MEDICAID, Decimal("5")),
    PayerSpec("NC Medicaid Direct", _P.MEDICAID, Decimal("4")),
    PayerSpec("BlueCare Tennessee", _P.MEDICAID_MANAGED, Decimal("11")),
    PayerSpec("UnitedHealthcare Community Plan of Tennessee", _P.MEDICAID_MANAGED, Decimal("8")),
    PayerSpec("Wellpoint Tennessee", _P.MEDICAID_MANAGED, Decimal("7")),
    PayerSpec("Passport by Molina Healthcare", _P.MEDICAID_MANAGED, Decimal("4")),
    PayerSpec("Humana Healthy Horizons in Kentucky", _P.MEDICAID_MANAGED, Decimal("3")),
    PayerSpec("Peach State Health Plan", _P.MEDICAID_MANAGED, Decimal("3")),
    PayerSpec("Vaya Health", _P.MEDICAID_MANAGED, Decimal("2")),
    PayerSpec("BlueCross BlueShield of Tennessee", _P.COMMERCIAL, Decimal("10")),
    PayerSpec("Anthem Blue Cross and Blue Shield", _P.COMMERCIAL, Decimal("5")),
    PayerSpec("Aetna", _P.COMMERCIAL, Decimal("5")),
    PayerSpec("Cigna Healthcare", _P.COMMERCIAL, Decimal("5")),
    PayerSpec("UnitedHealthcare", _P.COMMERCIAL, Decimal("4")),
    PayerSpec("Optum Behavioral Health", _P.COMMERCIAL, Decimal("3")),
    PayerSpec("Medicare Part A and B", _P.MEDICARE, Decimal("6")),
    PayerSpec("Humana Medicare Advantage", _P.MEDICARE_ADVANTAGE, Decimal("3")),
    PayerSpec("TRICARE East", _P.OTHER, Decimal("2")),
    PayerSpec("Self-pay", _P.SELF_PAY, Decimal("3")),
)

# Business development: a VP, two regional directors, community liaisons by facility.
RIVERBEND_REGIONS = (
    ("Tennessee Business Development", ("nsh", "knx", "cha")),
    ("Southeast Business Development", ("lou", "ash", "dec")),
)
RIVERBEND_LIAISONS_PER_FACILITY = {"nsh": 2, "knx": 2, "cha": 1, "lou": 2, "ash": 1, "dec": 2}
RIVERBEND_ACCOUNTS_PER_FACILITY = 30
RIVERBEND_REFERRAL_RADIUS_MILES = 60.0

_A = AccountType
RIVERBEND_ACCOUNT_KINDS = (
    AccountKind(_A.HOSPITAL, "Hospital Medicine", None, 10, (
        "{county} Regional Medical Center", "{city} General Hospital", "Saint {saint} Hospital",
        "{city} Medical Center")),
    AccountKind(_A.HOSPITAL, "Emergency Medicine", None, 12, (
        "{city} Medical Center Emergency Department", "{county} Regional Emergency Department",
        "Saint {saint} Hospital Emergency Department")),
    AccountKind(_A.PHYSICIAN_PRACTICE, "Psychiatry", "AMH", 24, (
        "{first} {last}, MD", "{last} Psychiatric Associates", "{city} Psychiatry Group",
        "{first} {last}, PMHNP")),
    AccountKind(_A.PHYSICIAN_PRACTICE, "Addiction Medicine", "SUD", 6, (
        "{first} {last}, DO", "{city} Addiction Medicine", "{last} Recovery Medicine")),
    AccountKind(_A.CLINIC, "Counseling", "AMH", 14, (
        "{city} Counseling Center", "{last} Family Therapy", "{county} Behavioral Clinic")),
    AccountKind(_A.COMMUNITY_ORG, "Community Mental Health", "AMH", 12, (
        "{county} Community Mental Health Center", "{city} Crisis Stabilization Unit",
        "{city} Rescue Mission"), has_npi=False),
    AccountKind(_A.COMMUNITY_ORG, "Recovery Support", "SUD", 10, (
        "{city} Recovery Community Center", "{county} Recovery Court", "{city} Sober Living Network"),
        has_npi=False),
    AccountKind(_A.REFERRAL_SOURCE, "Employee Assistance", None, 6, (
        "{city} Employee Assistance Program", "{last} EAP Services"), has_npi=False),
    AccountKind(_A.PAYER_CASE_MANAGER, "Case Management", None, 6, (
        "{payer} Behavioral Case Management",), has_npi=False),
)

# --- Meridian Diagnostics: a lab selling toxicology, molecular and pathology to practices

MERIDIAN = {
    "name": "Meridian Diagnostics",
    "slug": "meridian-dx",
    "kind": OrganizationKind.LAB,
    "ekra_covered": True,
    "fiscal_year_start_month": 1,
    "email_domain": "meridian-dx.example",
}

MERIDIAN_SERVICE_LINES = (("Toxicology", "TOX"), ("Molecular Diagnostics", "MOL"), ("Anatomic Pathology", "PATH"))

MERIDIAN_FACILITIES = (
    FacilitySpec("tpa", "Meridian Reference Laboratory Tampa", "33607"),
    FacilitySpec("dal", "Meridian Laboratory Dallas", "75247"),
)

MERIDIAN_PAYERS = (
    PayerSpec("Medicare Part B", _P.MEDICARE, Decimal("24")),
    PayerSpec("Humana Medicare Advantage", _P.MEDICARE_ADVANTAGE, Decimal("7")),
    PayerSpec("UnitedHealthcare Medicare Advantage", _P.MEDICARE_ADVANTAGE, Decimal("6")),
    PayerSpec("UnitedHealthcare", _P.COMMERCIAL, Decimal("12")),
    PayerSpec("Aetna", _P.COMMERCIAL, Decimal("9")),
    PayerSpec("Cigna Healthcare", _P.COMMERCIAL, Decimal("8")),
    PayerSpec("Blue Cross and Blue Shield of Texas", _P.COMMERCIAL, Decimal("9")),
    PayerSpec("Florida Blue", _P.COMMERCIAL, Decimal("8")),
    PayerSpec("Blue Cross NC", _P.COMMERCIAL, Decimal("4")),
    PayerSpec("Texas Medicaid", _P.MEDICAID, Decimal("3")),
    PayerSpec("Sunshine Health", _P.MEDICAID_MANAGED, Decimal("3")),
    PayerSpec("Client bill", _P.OTHER, Decimal("5")),
    PayerSpec("Self-pay", _P.SELF_PAY, Decimal("2")),
)

MERIDIAN_REGIONS = (
    RegionSpec("South Central Region", (
        AreaSpec("North Texas and Oklahoma", ("TX", "OK")),
        AreaSpec("Gulf Coast", ("TX", "LA")))),
    RegionSpec("Southeast Region", (
        AreaSpec("Florida", ("FL",)),
        AreaSpec("Georgia and Alabama", ("GA", "AL")))),
    RegionSpec("Carolinas and Virginia Region", (
        AreaSpec("Carolinas", ("NC", "SC")),
        AreaSpec("Virginia and Tennessee", ("VA", "TN")))),
)
MERIDIAN_REPS_PER_AREA = 4
MERIDIAN_CORE_ACCOUNTS = 360

MERIDIAN_ACCOUNT_KINDS = (
    AccountKind(_A.PHYSICIAN_PRACTICE, "Pain Management", "TOX", 14, (
        "{city} Pain and Spine Center", "{last} Pain Management", "{county} Interventional Pain")),
    AccountKind(_A.PHYSICIAN_PRACTICE, "Addiction Medicine", "TOX", 8, (
        "{city} Recovery Medicine", "{last} Addiction Medicine", "{first} {last}, DO")),
    AccountKind(_A.PHYSICIAN_PRACTICE, "Family Medicine", "TOX", 20, (
        "{last} Family Medicine", "{city} Family Practice", "{last} and {last2} Family Medicine",
        "{first} {last}, MD")),
    AccountKind(_A.PHYSICIAN_PRACTICE, "Internal Medicine", "MOL", 14, (
        "{last} Internal Medicine", "{city} Internal Medicine Associates", "{first} {last}, MD")),
    AccountKind(_A.PHYSICIAN_PRACTICE, "Obstetrics and Gynecology", "MOL", 12, (
        "{city} OB/GYN", "{last} Women's Health", "{last} and {last2} Obstetrics and Gynecology")),
    AccountKind(_A.PHYSICIAN_PRACTICE, "Psychiatry", "MOL", 6, (
        "{last} Psychiatric Associates", "{first} {last}, MD")),
    AccountKind(_A.PHYSICIAN_PRACTICE, "Oncology", "MOL", 5, (
        "{city} Cancer Specialists", "{county} Oncology Associates")),
    AccountKind(_A.PHYSICIAN_PRACTICE, "Urology", "PATH", 7, ("{city} Urology", "{last} Urology Associates")),
    AccountKind(_A.PHYSICIAN_PRACTICE, "Dermatology", "PATH", 8, (
        "{city} Dermatology", "{last} Skin and Laser", "{county} Dermatology Group")),
    AccountKind(_A.PHYSICIAN_PRACTICE, "Gastroenterology", "PATH", 6, (
        "{city} Gastroenterology", "{last} Digestive Health")),
    AccountKind(_A.CLINIC, "Urgent Care", "TOX", 4, ("{city} Urgent Care", "{county} Walk-In Clinic")),
    AccountKind(_A.HOSPITAL, "Hospital Outreach", "PATH", 2, (
        "{county} Regional Medical Center", "Saint {saint} Hospital")),
)
