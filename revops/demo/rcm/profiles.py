"""What the demo organizations bill and how their payers behave: codes, charges, payer terms, denials.

Plain data for ``revops.demo.rcm.simulate``. Amounts are in cents. Codes are real CPT/HCPCS,
revenue, CARC/RARC and 277CA status codes; charges, fee schedules, rates and days to pay are
invented but in the ranges the domain brief quotes (initial denial rate 5-10%, behavioral health
7-15%; Medicare pays clean electronic claims from day 14, Medicaid 90% within 30 days).
"""
from __future__ import annotations

from dataclasses import dataclass, field

# -- services ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    """One billable service: HCPCS/CPT code, revenue code (institutional), charge, and a fee.

    ``fee`` is the Medicare-like fee schedule amount that lab payers price from; behavioral-health
    payers price from the charge (percent of charges / per diem), so it stays 0 there.
    """

    code: str
    charge: int
    revenue_code: str = ""
    modifier: str = ""
    fee: int = 0
    unit: str = "UN"  # SV1/SV2 unit of measure: UN units, DA days


# Riverbend's chargemaster (behavioral health). Institutional lines carry a revenue code.
PHP = Service("H0035", 65000, "0913")  # partial hospitalization per diem
IOP = Service("S9480", 42000)  # psychiatric intensive outpatient per diem
RES = Service("H0019", 85000, "1001", unit="DA")  # residential treatment per diem (psychiatric)
DETOX = Service("H0011", 110000, "0126", unit="DA")  # acute withdrawal management per diem
PSYCHOTHERAPY_60 = Service("90837", 22500)
PSYCHOTHERAPY_45 = Service("90834", 16500)
PSYCHOTHERAPY_30 = Service("90832", 11000)
INTAKE = Service("90791", 30000)
INTAKE_MEDICAL = Service("90792", 35000)
EM_VISIT = Service("99214", 21000)
PSYCHOTHERAPY_ADDON = Service("90833", 9500)
GROUP = Service("90853", 7500)
FAMILY = Service("90847", 18000)
INTERACTIVE_COMPLEXITY = Service("90785", 4000)

# Outpatient visits: the lines of one visit, with weights.
OP_VISITS: tuple[tuple[tuple[Service, ...], int], ...] = (
    ((PSYCHOTHERAPY_60,), 24), ((PSYCHOTHERAPY_45,), 20), ((PSYCHOTHERAPY_30,), 6), ((INTAKE,), 7),
    ((INTAKE_MEDICAL,), 3), ((EM_VISIT, PSYCHOTHERAPY_ADDON), 14), ((EM_VISIT,), 8), ((GROUP,), 8),
    ((FAMILY,), 5), ((PSYCHOTHERAPY_45, INTERACTIVE_COMPLEXITY), 5),
)

# Meridian's lab tests, priced off a Medicare-like clinical lab / physician fee schedule.
def _lab(code: str, charge: int, fee: int) -> Service:
    return Service(code, charge, fee=fee)


CMP = _lab("80053", 4500, 1056)
CBC = _lab("85025", 3500, 777)
LIPID = _lab("80061", 4000, 1339)
TSH = _lab("84443", 6000, 1680)
A1C = _lab("83036", 4500, 971)
VITAMIN_D = _lab("82306", 11000, 2960)
URINALYSIS = _lab("81003", 1500, 225)
VENIPUNCTURE = _lab("36415", 1500, 300)
CHLAMYDIA = _lab("87491", 15000, 3509)
GONORRHEA = _lab("87591", 15000, 3509)
TRICHOMONAS = _lab("87661", 14000, 3509)
RESPIRATORY_PANEL = _lab("0240U", 35000, 14263)
SARS_COV_2 = _lab("87635", 14000, 5131)
DRUG_SCREEN = _lab("80307", 18000, 6214)
DEFINITIVE_1_7 = _lab("G0480", 25000, 11443)
DEFINITIVE_8_14 = _lab("G0481", 35000, 15659)
DEFINITIVE_15_21 = _lab("G0482", 45000, 19874)
CYP2C19 = _lab("81225", 45000, 29221)
CYP2D6 = _lab("81226", 55000, 43293)
CYP2C9 = _lab("81227", 40000, 17494)
CA_125 = _lab("86304", 9000, 2105)
SURGICAL_PATH = _lab("88305", 21000, 7015)
IMMUNOHISTO = _lab("88342", 25000, 8998)
SPECIAL_STAIN = _lab("88312", 16000, 6012)
HEPATIC = _lab("80076", 5500, 1120)
HEPATITIS_C = _lab("86803", 7000, 1434)
HIV = _lab("87389", 9000, 2448)
SYPHILIS = _lab("86592", 3000, 577)
ANTIBODY_SCREEN = _lab("86850", 4500, 1286)
BLOOD_TYPE = _lab("86900", 2500, 281)
B12 = _lab("82607", 7000, 1470)
FERRITIN = _lab("82728", 6000, 1351)
PSA = _lab("84153", 8000, 1810)
STREP = _lab("87880", 4500, 1653)
H_PYLORI = _lab("86677", 6000, 1535)


@dataclass(frozen=True)
class Order:
    """A lab requisition template: the tests on one claim, optional extras, diagnoses."""

    name: str
    tests: tuple[Service, ...]
    extras: tuple[tuple[Service, float], ...]  # each added with its probability
    diagnoses: tuple[str, ...]
    units: tuple[int, int] = (1, 1)  # units on the first test (pathology specimens)


ORDERS: dict[str, Order] = {
    "tox_monitoring": Order("Medication monitoring", (DRUG_SCREEN, DEFINITIVE_8_14),
                            ((CMP, 0.8), (CBC, 0.7), (URINALYSIS, 0.7), (VENIPUNCTURE, 0.8), (A1C, 0.2),
                             (HEPATIC, 0.3)), ("Z79891", "F1120", "G894", "M545")),
    "tox_addiction": Order("Addiction treatment panel", (DRUG_SCREEN, DEFINITIVE_15_21),
                           ((CMP, 0.8), (CBC, 0.7), (URINALYSIS, 0.7), (VENIPUNCTURE, 0.8), (A1C, 0.2),
                            (HEPATITIS_C, 0.4), (HIV, 0.35)), ("F1120", "F1020", "F1520", "Z5181")),
    "tox_screen": Order("Drug screen", (DRUG_SCREEN,), ((DEFINITIVE_1_7, 0.7), (URINALYSIS, 0.6), (CMP, 0.3),
                                                        (VENIPUNCTURE, 0.3)), ("Z0289", "F1910", "Z5181")),
    "wellness": Order("Annual chemistry", (CMP, CBC, LIPID, VENIPUNCTURE),
                      ((A1C, 0.7), (TSH, 0.6), (VITAMIN_D, 0.45), (URINALYSIS, 0.6), (B12, 0.25), (FERRITIN, 0.2),
                       (PSA, 0.2)), ("Z0000", "E119", "E785", "I10", "R7303")),
    "sti": Order("STI panel", (CHLAMYDIA, GONORRHEA), ((TRICHOMONAS, 0.75), (URINALYSIS, 0.6), (CBC, 0.2),
                                                     (HIV, 0.35), (SYPHILIS, 0.4)), ("Z113", "Z01419", "N898")),
    "prenatal": Order("Prenatal panel", (CBC, CMP, URINALYSIS, VENIPUNCTURE),
                      ((CHLAMYDIA, 0.8), (GONORRHEA, 0.8), (TSH, 0.4), (HIV, 0.6), (SYPHILIS, 0.6),
                       (ANTIBODY_SCREEN, 0.7), (BLOOD_TYPE, 0.7)), ("Z3401", "Z3481", "O9921")),
    "respiratory": Order("Respiratory panel", (RESPIRATORY_PANEL,), ((CBC, 0.35), (VENIPUNCTURE, 0.35), (STREP, 0.3)),
                         ("J069", "R509", "R05")),
    "pgx": Order("Pharmacogenomics", (CYP2C19, CYP2D6), ((CYP2C9, 0.6), (CMP, 0.3), (VENIPUNCTURE, 0.3)),
                 ("F329", "F411", "F331")),
    "oncology": Order("Oncology monitoring", (CBC, CMP, VENIPUNCTURE),
                      ((CA_125, 0.5), (A1C, 0.2), (TSH, 0.3), (FERRITIN, 0.3), (PSA, 0.2)), ("C509", "C56", "Z08")),
    "derm_biopsy": Order("Skin biopsy", (SURGICAL_PATH,), ((IMMUNOHISTO, 0.25), (SPECIAL_STAIN, 0.2)),
                         ("D485", "L989", "C44311"), units=(1, 4)),
    "gi_biopsy": Order("GI biopsy", (SURGICAL_PATH,), ((SPECIAL_STAIN, 0.5), (IMMUNOHISTO, 0.2), (CBC, 0.3),
                                                       (H_PYLORI, 0.3)), ("K635", "K2970", "Z1211"),
                       units=(2, 6)),
    "prostate_biopsy": Order("Prostate biopsy", (SURGICAL_PATH, URINALYSIS),
                             ((IMMUNOHISTO, 0.4), (CMP, 0.3), (VENIPUNCTURE, 0.3), (PSA, 0.6)), ("R972", "N401", "C61"),
                             units=(6, 12)),
}

MERIDIAN_CLAIMS_PER_MONTH = 200  # requisitions billed to payers by X12 (client bill and self-pay aside)

# Order mix by account specialty (Meridian's account kinds, revops/demo/catalog.py).
ORDERS_BY_SPECIALTY: dict[str, tuple[tuple[str, int], ...]] = {
    "Pain Management": (("tox_monitoring", 8), ("wellness", 1)),
    "Addiction Medicine": (("tox_addiction", 8), ("tox_screen", 2)),
    "Family Medicine": (("wellness", 8), ("tox_screen", 1), ("respiratory", 1), ("sti", 1)),
    "Internal Medicine": (("wellness", 8), ("respiratory", 1), ("oncology", 1)),
    "Obstetrics and Gynecology": (("sti", 5), ("prenatal", 4), ("wellness", 1)),
    "Psychiatry": (("pgx", 6), ("tox_screen", 2), ("wellness", 2)),
    "Oncology": (("oncology", 8), ("wellness", 1)),
    "Urology": (("prostate_biopsy", 5), ("wellness", 2)),
    "Dermatology": (("derm_biopsy", 9),),
    "Gastroenterology": (("gi_biopsy", 8), ("wellness", 1)),
    "Urgent Care": (("respiratory", 4), ("tox_screen", 3), ("sti", 2), ("wellness", 1)),
    "Hospital Outreach": (("derm_biopsy", 2), ("gi_biopsy", 2), ("wellness", 3)),
}

# -- behavioral-health programs ----------------------------------------------------------------


@dataclass(frozen=True)
class ProgramBilling:
    """How one Riverbend program bills: claim type, facility type (837I), what a claim holds, volume."""

    kind: str  # P (837P) or I (837I)
    recipe: str  # php, iop, op, res, detox
    claims_per_month: int
    facility_type: str = ""  # 837I CLM05-1: 13 hospital outpatient, 76 CMHC, 86 residential facility
    reject_rate: float = 0.03


RIVERBEND_BILLING: dict[str, ProgramBilling] = {
    "NSH-PHP": ProgramBilling("I", "php", 16, "13"),
    "KNX-PHP": ProgramBilling("I", "php", 12, "13"),
    "DEC-PHP": ProgramBilling("I", "php", 12, "76"),
    "KNX-RES": ProgramBilling("I", "res", 10, "86"),
    "LOU-WM": ProgramBilling("I", "detox", 12, "86"),
    "NSH-IOP": ProgramBilling("P", "iop", 14),
    "CHA-IOP": ProgramBilling("P", "iop", 12),
    "DEC-IOP": ProgramBilling("P", "iop", 10),
    "NSH-OP": ProgramBilling("P", "op", 30),
    "CHA-OP": ProgramBilling("P", "op", 22, reject_rate=0.04),
    "ASH-OP": ProgramBilling("P", "op", 20),
}

BH_DIAGNOSES: dict[str, tuple[str, ...]] = {
    "php": ("F332", "F331", "F319", "F4310", "F250", "F411"),
    "iop": ("F329", "F331", "F411", "F4310", "F603", "F319"),
    "op": ("F329", "F411", "F4310", "F902", "F331", "F431", "F4322"),
    "res": ("F332", "F314", "F250", "F4312", "F201"),
    "detox": ("F10239", "F11230", "F10230", "F13239", "F1123"),
}

# -- payers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """How a payer pays: allowed amount, patient share, days to pay, how often and why it denies."""

    allowed: tuple[float, float]  # fraction of the charge (behavioral health) or of the fee (lab)
    days_to_pay: tuple[int, int, int]  # low, mode, high (triangular), counted from submission
    denial_rate: float  # whole-claim denials per adjudicated claim
    coinsurance: float = 0.0  # patient share of the allowed amount, on claims that have one
    cost_share_rate: float = 0.0  # share of claims with coinsurance or deductible
    line_denial_rate: float = 0.02  # per extra line of a paid claim
    sequestration: bool = False  # Medicare: 2% off every payment (CARC 253)
    denial_mix: tuple[tuple[str, int], ...] = ()  # (category, weight)
    payment_weekday: int = 1  # 0 Monday ... 4 Friday: the day of the payer's check run
    check_weeks: int = 2  # weeks between check runs (government payers pay weekly)


_BH_MIX = (("authorization", 30), ("medical_necessity", 17), ("eligibility", 18), ("missing_information", 13),
           ("wrong_payer", 10), ("timely_filing", 6), ("duplicate", 6))
_LAB_MIX = (("medical_necessity", 30), ("eligibility", 20), ("missing_information", 18), ("authorization", 12),
            ("duplicate", 8), ("timely_filing", 6), ("wrong_payer", 6))

BH_TERMS: dict[str, Terms] = {
    "medicaid": Terms((0.42, 0.55), (10, 18, 34), 0.10, denial_mix=_BH_MIX, payment_weekday=2, check_weeks=1),
    "medicaid_managed": Terms((0.48, 0.62), (16, 28, 52), 0.13, denial_mix=_BH_MIX, payment_weekday=3),
    "commercial": Terms((0.58, 0.78), (14, 24, 48), 0.11, coinsurance=0.18, cost_share_rate=0.6, denial_mix=_BH_MIX),
    "medicare": Terms((0.45, 0.55), (14, 16, 26), 0.07, coinsurance=0.2, cost_share_rate=0.9, sequestration=True,
                      denial_mix=(("medical_necessity", 35), ("missing_information", 30), ("eligibility", 15),
                                  ("duplicate", 12), ("timely_filing", 8)), payment_weekday=0, check_weeks=1),
    "medicare_advantage": Terms((0.45, 0.58), (18, 30, 50), 0.12, coinsurance=0.1, cost_share_rate=0.7,
                                denial_mix=_BH_MIX, payment_weekday=4),
    "other": Terms((0.50, 0.62), (16, 24, 40), 0.08, coinsurance=0.05, cost_share_rate=0.5, denial_mix=_BH_MIX),
}
LAB_TERMS: dict[str, Terms] = {
    "medicare": Terms((1.0, 1.0), (14, 15, 24), 0.07, sequestration=True, line_denial_rate=0.018,
                      denial_mix=(("medical_necessity", 42), ("missing_information", 28), ("eligibility", 14),
                                  ("duplicate", 10), ("timely_filing", 6)), payment_weekday=0, check_weeks=1),
    "medicare_advantage": Terms((0.95, 1.05), (18, 28, 46), 0.12, line_denial_rate=0.01, denial_mix=_LAB_MIX,
                                payment_weekday=4),
    "commercial": Terms((1.2, 2.2), (16, 27, 52), 0.11, coinsurance=0.2, cost_share_rate=0.45, line_denial_rate=0.01,
                        denial_mix=_LAB_MIX),
    "medicaid": Terms((0.65, 0.8), (15, 24, 45), 0.14, line_denial_rate=0.01, denial_mix=_LAB_MIX,
                      payment_weekday=2, check_weeks=1),
    "medicaid_managed": Terms((0.7, 0.85), (20, 34, 58), 0.16, line_denial_rate=0.01, denial_mix=_LAB_MIX,
                              payment_weekday=3),
}


# Payer-specific behaviour on top of the class terms: the payers a billing team talks about.
PAYER_TWEAKS: dict[str, dict[str, object]] = {
    "Optum Behavioral Health": {"denial_rate": 0.17, "denial_mix": (("authorization", 50), ("medical_necessity", 30),
                                                                    ("missing_information", 10), ("eligibility", 10))},
    "Wellpoint Tennessee": {"days_to_pay": (24, 40, 70), "denial_rate": 0.15},
    "Vaya Health": {"denial_rate": 0.15, "denial_mix": (("authorization", 45), ("wrong_payer", 25),
                                                        ("eligibility", 15), ("missing_information", 15))},
    "Kentucky Medicaid": {"days_to_pay": (9, 14, 24), "denial_rate": 0.08},
    "BlueCare Tennessee": {"denial_rate": 0.09},
    "Humana Medicare Advantage": {"denial_rate": 0.14, "days_to_pay": (20, 35, 60)},
    "Cigna Healthcare": {"denial_rate": 0.13},
    "UnitedHealthcare": {"days_to_pay": (14, 21, 40)},
    "Aetna": {"denial_rate": 0.10},
    "Sunshine Health": {"denial_rate": 0.18, "days_to_pay": (24, 40, 65)},
    "Texas Medicaid": {"days_to_pay": (14, 20, 35)},
}

# Where each Riverbend payer covers patients (Medicaid and its managed-care plans are state programs).
RIVERBEND_PAYER_STATES: dict[str, tuple[str, ...]] = {
    "Kentucky Medicaid": ("KY",), "Passport by Molina Healthcare": ("KY",),
    "Humana Healthy Horizons in Kentucky": ("KY",),
    "Georgia Medicaid": ("GA",), "Peach State Health Plan": ("GA",),
    "NC Medicaid Direct": ("NC",), "Vaya Health": ("NC",),
    "BlueCare Tennessee": ("TN",), "UnitedHealthcare Community Plan of Tennessee": ("TN",),
    "Wellpoint Tennessee": ("TN",), "BlueCross BlueShield of Tennessee": ("TN",),
    "Anthem Blue Cross and Blue Shield": ("KY", "GA"),
}
# Medicare does not cover non-hospital residential treatment.
NOT_FOR_RECIPE: dict[str, tuple[str, ...]] = {"res": ("medicare", "medicare_advantage")}

# Payer classes billed by X12; the rest (Meridian's client bill, self-pay) are billed on paper
# statements and show up only in the A/R snapshots.
RIVERBEND_X12_CLASSES = ("medicaid", "medicaid_managed", "commercial", "medicare", "medicare_advantage", "other")
MERIDIAN_X12_CLASSES = ("medicaid", "medicaid_managed", "commercial", "medicare", "medicare_advantage")

# SBR09 claim filing indicator by payer class (837I Medicare is Part A, 837P Part B).
FILING_INDICATOR = {"medicaid": "MC", "medicaid_managed": "MC", "commercial": "CI", "medicare_advantage": "16",
                    "other": "CH", "medicare": "MB"}

# -- denials -----------------------------------------------------------------------------------

# Category -> (CARC, RARC, weight). CARC 31 ("patient cannot be identified") is sent with CLP02 4.
DENIAL_CODES: dict[str, tuple[tuple[str, str, int], ...]] = {
    "eligibility": (("27", "N30", 5), ("26", "N30", 2), ("31", "", 2), ("177", "", 1)),
    "authorization": (("197", "N54", 6), ("15", "M62", 3), ("198", "N362", 2)),
    "medical_necessity": (("50", "N115", 6), ("50", "M25", 3)),
    "timely_filing": (("29", "", 1),),
    "duplicate": (("18", "", 1),),
    "missing_information": (("16", "M51", 4), ("16", "MA130", 2), ("16", "N264", 2), ("252", "N706", 1)),
    "wrong_payer": (("109", "N418", 3), ("22", "MA04", 2)),
}
LINE_DENIALS: tuple[tuple[str, str, str, int], ...] = (  # category, CARC, RARC, weight
    ("bundling", "97", "M15", 5), ("bundling", "234", "N20", 2), ("medical_necessity", "50", "N115", 3),
)

# What happens after an initial denial: (fate, weight) per category. ``corrected``: a replacement
# claim (frequency 7, REF*F8) that the payer pays; ``appeal_won``: appealed, then paid;
# ``appeal_lost``: appealed, then written off; ``write_off``; ``open``: still being worked.
FATES: dict[str, tuple[tuple[str, int], ...]] = {
    "eligibility": (("corrected", 40), ("write_off", 52), ("open", 8)),
    "authorization": (("appeal_won", 48), ("appeal_lost", 17), ("write_off", 28), ("open", 7)),
    "medical_necessity": (("appeal_won", 40), ("appeal_lost", 28), ("write_off", 24), ("open", 8)),
    "timely_filing": (("appeal_won", 12), ("write_off", 83), ("open", 5)),
    "duplicate": (("write_off", 94), ("open", 6)),
    "missing_information": (("corrected", 82), ("write_off", 10), ("open", 8)),
    "wrong_payer": (("corrected", 60), ("write_off", 32), ("open", 8)),
}
WRITE_OFF_REASONS: dict[str, str] = {
    "eligibility": "No coverage on the date of service; balance transferred to the patient",
    "authorization": "No authorization on file for the service dates",
    "medical_necessity": "Medical necessity not supported by the documentation",
    "timely_filing": "Filed after the payer's timely filing limit",
    "duplicate": "Duplicate of a claim already paid",
    "missing_information": "Corrected claim not sent within the payer's window",
    "wrong_payer": "Coordination of benefits could not be resolved",
    "bundling": "Bundled service: not separately payable",
    "appeal_lost": "Appeal upheld by the payer",
}

# 277CA front-end rejections (STC01: category, claim status code, entity).
REJECTIONS: tuple[tuple[str, str, str], ...] = (
    ("A7", "164", "IL"),  # subscriber's contract/member number
    ("A7", "562", "85"),  # billing provider's NPI not on file with the payer
    ("A6", "21", ""),  # missing or invalid information
    ("A7", "187", ""),  # dates of service
    ("A7", "255", ""),  # diagnosis code
)
ACCEPTED = ("A2", "20", "PR")

# -- revenue-cycle costs -----------------------------------------------------------------------


@dataclass(frozen=True)
class CostPlan:
    """Monthly revenue-cycle cost as a share of the month's collections, split into categories."""

    rate: tuple[float, float]
    categories: tuple[tuple[str, float], ...]
    floor: int  # a month with little cash still pays its staff (cents)


RIVERBEND_COSTS = CostPlan((0.024, 0.032), (
    ("Billing and collections staff", 0.46), ("Utilization review staff", 0.22), ("Clearinghouse and EDI fees", 0.07),
    ("Practice management software", 0.13), ("Coding and compliance", 0.12)), floor=500000)
# Lab claims are many and small: collecting them costs more per dollar than behavioral health's.
MERIDIAN_COSTS = CostPlan((0.034, 0.046), (
    ("Billing staff", 0.48), ("Clearinghouse fees", 0.09), ("Billing software", 0.14),
    ("Appeals and denial management", 0.17), ("Collection agency fees", 0.12)), floor=50000)


@dataclass(frozen=True)
class FeedPlan:
    """One demo feed: name, kind, inbox folder, crontab, CSV column mapping, source program."""

    key: str
    name: str
    kind: str
    inbox_dir: str
    crontab: str
    column_mapping: dict[str, str] = field(default_factory=dict)
    source_program: str = ""


AR_MAPPING = {"as_of": "Snapshot Date", "balance": "Open Balance", "billed_on": "Bill Date",
              "patient_control_number": "Patient Account", "payer": "Payer Name", "payer_id": "Payer ID",
              "program": "Program Code", "facility": "Facility"}
COST_MAPPING = {"month": "Period", "category": "Cost Center", "amount": "Amount", "facility": "Location"}


def feeds_for(org: str, programs: dict[str, str]) -> list[FeedPlan]:
    """The feeds of ``org`` (riverbend-bh or meridian-dx); ``programs``: program code -> name."""
    common = [
        FeedPlan("835", "Clearinghouse 835 remittances (ERA)", "x12_835", "era-835", "0 6,12,18 * * *"),
        FeedPlan("277", "Clearinghouse 277CA claim acknowledgments", "x12_277ca", "ack-277ca", "*/30 6-20 * * 1-5"),
        FeedPlan("ar", "Billing system A/R aging snapshot (CSV)", "csv_ar", "ar-aging", "0 7 1 * *",
                 AR_MAPPING if org == "riverbend-bh" else {k: v for k, v in AR_MAPPING.items() if k != "program"}),
        FeedPlan("costs", "Finance revenue-cycle costs (CSV)", "csv_costs", "rcm-costs", "0 7 5 * *", COST_MAPPING),
    ]
    if org == "meridian-dx":
        return [FeedPlan("837", "Lab billing 837P claims", "x12_837", "claims-837p", "0 * * * *"), *common]
    feeds = []
    for code, billing in RIVERBEND_BILLING.items():
        # Each program's EHR exports its own claim batch; the feed names the program, which is
        # how ingestion assigns the claims to it (and tags the Part 2 program's claims).
        claim_type = "837I" if billing.kind == "I" else "837P"
        feeds.append(FeedPlan(f"837:{code}", f"{claim_type} claims: {programs[code]} ({code})", "x12_837",
                              f"claims-{code.lower()}", "15 * * * *", source_program=code))
    return [*feeds, *common]
