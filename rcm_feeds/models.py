"""RCM system of record: feeds, received files and runs, quarantine, claims, remittances, denials, A/R, costs.

Every table is tenant-owned (row-level security via migrations). Money is numeric(14, 2).
Patient identity is minimised: no names are stored; member ids only as a per-organization
salted HMAC (``rcm_feeds.phi.patient_hash``). Rows that come from a 42 CFR Part 2 program
carry that program in ``part2_program``.
"""
from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from revops.tenancy import TenantModel

MONEY = {"max_digits": 14, "decimal_places": 2}


def money(**kwargs):  # type: ignore[no-untyped-def]
    return models.DecimalField(**MONEY, **kwargs)


# Fact tables (claims, lines, payments, adjustments, denials, acknowledgments) take hundreds of
# thousands of rows per file through revops.bulk, and a foreign-key constraint costs one
# trigger probe per row and column at commit (10 of the 40 seconds of a 100,000-claim 835 in
# bench/rcm_load.py). Two kinds of key are declared without a database constraint:
# - their ``tenant``: row-level security's WITH CHECK already admits only rows of the
#   organization the connection is scoped to (``app.tenant_id``, set from an authenticated
#   membership), and organizations are deleted table by table (revops.services);
# - links the loader fills from ids that Postgres returned for rows it inserted for the same
#   organization earlier in the same transaction (a line's claim, an adjustment's payment).
# Django keeps on_delete for both. Their single-column indexes stay even where a (tenant, ...)
# index leads with the same column after the tenant: row-level security's predicate is an OR
# (tenant or bypass) that cannot drive an index, so a join or a deletion cascade without its
# own tenant_id condition would scan the table (the overturn query went from 2 to 16 s
# without them). ``rcm_feeds.integrity.integrity_problems`` (a management
# command and a test after every kind of load) checks, set-based, that no row points at a
# missing row or at another organization's row. Links to reference data that users edit
# (payers, programs, facilities) keep their constraints.
def fact_tenant():  # type: ignore[no-untyped-def]
    return models.ForeignKey("revops.Organization", on_delete=models.CASCADE, related_name="+", editable=False,
                             db_index=False, db_constraint=False)


def nonnull_indexes(table: str, *fields: str) -> list[models.Index]:
    """Partial indexes on nullable links that most rows leave empty (a correction's original claim, a
    Part 2 program, the payment that overturned a denial): only the rows that have one are indexed,
    so bulk loads maintain nothing for the rest, and the lookups by value a deletion cascade or
    ``on_delete`` check makes (``field_id = X``) still use them."""
    return [models.Index(fields=[field], condition=models.Q(**{f"{field}__isnull": False}),
                         name=f"{table}_{field}_nn"[:30]) for field in fields]


def loader_link(to, **kwargs):  # type: ignore[no-untyped-def]
    """A foreign key the loader fills from ids it just inserted (see above): no constraint trigger."""
    return models.ForeignKey(to, db_constraint=False, **kwargs)


class FeedKind(models.TextChoices):
    X12_835 = "x12_835", "X12 835 remittances"
    X12_837 = "x12_837", "X12 837P/837I claims"
    X12_277CA = "x12_277ca", "X12 277CA claim acknowledgments"
    X12_999 = "x12_999", "X12 999 implementation acknowledgments"
    CSV_CLAIMS = "csv_claims", "CSV claim export"
    CSV_AR = "csv_ar", "CSV A/R aging snapshot"
    CSV_COSTS = "csv_costs", "CSV revenue-cycle costs"


class Feed(TenantModel):
    """A source of files: a kind, an inbox polled on a schedule, and (CSV) a column mapping."""

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=FeedKind.choices)
    inbox_dir = models.CharField(
        max_length=255, blank=True,
        help_text="Folder polled for new files, relative to RCM_INBOX_ROOT/<organization id>/.",
    )
    crontab = models.CharField(max_length=100, default="*/15 * * * *", help_text="When the inbox is polled.")
    column_mapping = models.JSONField(default=dict, blank=True, help_text="CSV feeds: our field -> your column header.")
    source_program = models.ForeignKey(
        "revops.Program", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Program the files come from (tags 42 CFR Part 2 data).",
    )
    strict_validation = models.BooleanField(default=False, help_text="Also validate X12 with pyx12 (slower).")
    is_active = models.BooleanField(default=True)
    schedule = models.OneToOneField("revops.TenantSchedule", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="feed_name_unique")]

    def __str__(self) -> str:
        return self.name


class FileSource(models.TextChoices):
    INBOX = "inbox", "Inbox"
    UPLOAD = "upload", "Upload (page)"
    API = "api", "Upload (API)"


class ReceivedFile(TenantModel):
    """Every file ever received, kept as it came (content-addressed)."""

    feed = models.ForeignKey(Feed, on_delete=models.PROTECT, related_name="files")
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    storage_path = models.CharField(max_length=500)
    source = models.CharField(max_length=8, choices=FileSource.choices)
    received_at = models.DateTimeField(default=timezone.now)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "sha256"], name="receivedfile_sha_unique")]
        indexes = [models.Index(fields=["tenant", "feed", "-received_at"])]

    def __str__(self) -> str:
        return self.filename


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    LOADED = "loaded", "Loaded"
    LOADED_WITH_WARNINGS = "loaded_with_warnings", "Loaded with warnings"
    PARTIAL = "partial", "Loaded; some rows quarantined"
    QUARANTINED = "quarantined", "Quarantined"
    DUPLICATE = "duplicate", "Already loaded (no change)"
    FAILED = "failed", "Failed"


class IngestionRun(TenantModel):
    """One attempt to load one file: counts, warnings, outcome. A re-run is a new run."""

    file = models.ForeignKey(ReceivedFile, on_delete=models.CASCADE, related_name="runs")
    job = models.ForeignKey("revops.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=24, choices=RunStatus.choices, default=RunStatus.QUEUED)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["tenant", "status", "-id"])]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.file}"


class IngestionWarning(TenantModel):
    """A problem that did not stop the load (e.g. an 835 claim that does not balance)."""

    run = models.ForeignKey(IngestionRun, on_delete=models.CASCADE, related_name="warnings")
    code = models.CharField(max_length=40)
    message = models.TextField()
    segment_number = models.IntegerField(null=True, blank=True)
    line_number = models.IntegerField(null=True, blank=True)
    byte_offset = models.BigIntegerField(null=True, blank=True)
    claim_reference = models.CharField(max_length=80, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["tenant", "run"])]


class QuarantineStatus(models.TextChoices):
    OPEN = "open", "Open"
    RERUN = "rerun", "Fixed and re-run"
    DISCARDED = "discarded", "Discarded"


class QuarantineItem(TenantModel):
    """A whole file that could not be parsed, or one bad CSV row, with the reason and where."""

    run = models.ForeignKey(IngestionRun, on_delete=models.CASCADE, related_name="quarantine")
    file = models.ForeignKey(ReceivedFile, on_delete=models.CASCADE, related_name="quarantine")
    scope = models.CharField(max_length=8, choices=[("file", "Whole file"), ("row", "One row")])
    reason_code = models.CharField(max_length=40)
    reason = models.TextField()
    segment_number = models.IntegerField(null=True, blank=True)
    line_number = models.IntegerField(null=True, blank=True)
    byte_offset = models.BigIntegerField(null=True, blank=True)
    raw = models.TextField(blank=True, help_text="The offending row or segment, as received.")
    status = models.CharField(max_length=12, choices=QuarantineStatus.choices, default=QuarantineStatus.OPEN)
    fixed_raw = models.TextField(blank=True)
    rerun = models.ForeignKey(
        IngestionRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The run that loaded the fix (a re-parsed row or a corrected file).",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["tenant", "status", "-id"])]


class Claim(TenantModel):
    """A claim as submitted (837 CLM or a CSV claim row)."""

    tenant = fact_tenant()
    source_file = loader_link(ReceivedFile, on_delete=models.PROTECT, related_name="+", db_index=False)
    source_position = models.IntegerField(help_text="Segment number of the CLM, or CSV line number.")
    patient_control_number = models.CharField(max_length=40)
    kind = models.CharField(max_length=1, choices=[("P", "Professional"), ("I", "Institutional")], default="P")
    payer = models.ForeignKey("revops.Payer", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              db_index=False)  # (tenant, payer, submitted_on) serves it
    program = models.ForeignKey("revops.Program", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    facility = models.ForeignKey("revops.Facility", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Partial indexes (Meta) for the two links most claims leave empty: a load pays nothing for them.
    part2_program = models.ForeignKey("revops.Program", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                      db_index=False)
    billing_npi = models.CharField(max_length=10, blank=True)
    referring_npi = models.CharField(
        max_length=10, blank=True,
        help_text="The referral source: 837 NM1*DN referring (or NM1*DK ordering) provider NPI; matches an account's NPI.",
    )
    patient_hash = models.CharField(max_length=64, blank=True)
    charge = money()
    facility_code = models.CharField(max_length=4, blank=True, help_text="Place of service (837P) or facility type (837I).")
    frequency = models.CharField(max_length=1, default="1", help_text="1 original, 7 replacement, 8 void.")
    original_payer_claim_number = models.CharField(max_length=50, blank=True)
    original_claim = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="corrections",
                                       db_index=False)
    prior_authorization = models.CharField(max_length=50, blank=True)
    diagnoses = ArrayField(models.CharField(max_length=10), default=list, blank=True)
    service_from = models.DateField(null=True, blank=True)
    service_to = models.DateField(null=True, blank=True)
    submitted_on = models.DateField()
    front_end_status = models.CharField(
        max_length=10, blank=True, choices=[("", "No acknowledgment"), ("accepted", "Accepted"), ("rejected", "Rejected")]
    )
    front_end_codes = models.CharField(max_length=120, blank=True)
    is_resubmission = models.BooleanField(default=False, help_text="Frequency 7/8 or a repeat of an earlier control number.")
    transaction_reference = models.CharField(
        max_length=40, blank=True,
        help_text="837 GS06/ST02 (group and transaction set control numbers), matched by 999 acknowledgments.",
    )

    class Meta:
        ordering = ["-submitted_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "source_file", "source_position"], name="claim_position_unique"),
        ]
        indexes = [
            models.Index(fields=["tenant", "patient_control_number"]),
            models.Index(fields=["tenant", "submitted_on"]),
            models.Index(fields=["tenant", "payer", "submitted_on"]),
            models.Index(fields=["tenant", "transaction_reference", "source_file"], name="claim_txref_idx"),
            *nonnull_indexes("claim", "original_claim", "part2_program"),
        ]

    def __str__(self) -> str:
        return self.patient_control_number


class ClaimLine(TenantModel):
    tenant = fact_tenant()
    claim = loader_link(Claim, on_delete=models.CASCADE, related_name="lines")
    line_number = models.IntegerField()
    procedure_code = models.CharField(max_length=12, blank=True)
    modifiers = models.CharField(max_length=20, blank=True)
    revenue_code = models.CharField(max_length=4, blank=True)
    charge = money()
    units = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    service_date = models.DateField(null=True, blank=True)
    control_number = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["claim", "line_number"]
        constraints = [models.UniqueConstraint(fields=["tenant", "claim", "line_number"], name="claimline_unique")]


class Remittance(TenantModel):
    """One 835 transaction: a payment (or notification) from a payer, identified by its TRN trace."""

    source_file = models.ForeignKey(ReceivedFile, on_delete=models.PROTECT, related_name="+")
    source_position = models.IntegerField()
    payer = models.ForeignKey("revops.Payer", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payer_name = models.CharField(max_length=120, blank=True)
    payer_identifier = models.CharField(max_length=80, blank=True)
    trace_number = models.CharField(max_length=60)
    trace_originator = models.CharField(max_length=20, blank=True)
    handling_code = models.CharField(max_length=2)
    payment_method = models.CharField(max_length=3, blank=True)
    payment_amount = money()
    payment_date = models.DateField(null=True, blank=True)
    production_date = models.DateField(null=True, blank=True)
    payee_npi = models.CharField(max_length=10, blank=True)
    provider_adjustment_total = money(default=0)
    balanced = models.BooleanField(default=True)

    class Meta:
        ordering = ["-payment_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "trace_number", "trace_originator", "payment_amount"], name="remittance_trace_unique"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "payment_date"])]

    def __str__(self) -> str:
        return f"{self.payer_name} {self.trace_number}"


class ClaimPayment(TenantModel):
    """One CLP: the payer's adjudication of a claim in a remittance."""

    tenant = fact_tenant()
    remittance = loader_link(Remittance, on_delete=models.CASCADE, related_name="claim_payments")
    claim = loader_link(Claim, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments")
    source_position = models.IntegerField()
    patient_control_number = models.CharField(max_length=40)
    status_code = models.CharField(max_length=2)
    charge = money()
    paid = money()
    patient_responsibility = money(null=True, blank=True)
    contractual_adjustment = money(default=0, help_text="Sum of CO adjustments (claim and lines).")
    filing_indicator = models.CharField(max_length=2, blank=True)
    payer_claim_number = models.CharField(max_length=50, blank=True)
    frequency = models.CharField(max_length=1, blank=True)
    patient_hash = models.CharField(max_length=64, blank=True)
    statement_from = models.DateField(null=True, blank=True)
    statement_to = models.DateField(null=True, blank=True)
    is_reversal = models.BooleanField(default=False)
    # Set on the original payment when a later CLP02 22 reverses it (the reversal row carries the
    # negated amounts, so sums over all rows net out; see docs/rcm_ingestion.md).
    reversed_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reversed_payments", db_index=False,
        help_text="The CLP02 22 reversal that takes this payment back.",
    )
    is_denied = models.BooleanField(default=False)
    balanced = models.BooleanField(default=True)
    part2_program = models.ForeignKey("revops.Program", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                      db_index=False)  # partial index in Meta

    class Meta:
        ordering = ["remittance", "source_position"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "remittance", "source_position"], name="claimpayment_unique"),
            # Partial: only reversed originals are indexed, so bulk loads pay nothing for it.
            models.UniqueConstraint(
                fields=["tenant", "reversed_by"], condition=models.Q(reversed_by__isnull=False),
                name="claimpayment_reversed_by_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "patient_control_number"]),
            models.Index(fields=["tenant", "payer_claim_number"]),
            models.Index(fields=["tenant", "claim"]),
            *nonnull_indexes("claimpayment", "part2_program"),
        ]


class ServicePayment(TenantModel):
    tenant = fact_tenant()
    claim_payment = loader_link(ClaimPayment, on_delete=models.CASCADE, related_name="lines")
    source_position = models.IntegerField()
    procedure_qualifier = models.CharField(max_length=2, blank=True)
    procedure_code = models.CharField(max_length=48, blank=True)
    modifiers = models.CharField(max_length=20, blank=True)
    revenue_code = models.CharField(max_length=4, blank=True)
    charge = money()
    paid = money()
    units = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    service_date = models.DateField(null=True, blank=True)
    remark_codes = ArrayField(models.CharField(max_length=8), default=list, blank=True)
    is_denied = models.BooleanField(default=False)
    balanced = models.BooleanField(default=True)

    class Meta:
        ordering = ["claim_payment", "source_position"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "claim_payment", "source_position"], name="servicepayment_unique"),
        ]


class Adjustment(TenantModel):
    """One CAS reason/amount pair, at claim level (service_payment empty) or line level."""

    tenant = fact_tenant()
    claim_payment = loader_link(ClaimPayment, on_delete=models.CASCADE, related_name="adjustments")
    service_payment = loader_link(ServicePayment, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="adjustments")
    group_code = models.CharField(max_length=2)
    reason_code = models.CharField(max_length=5)
    amount = money()
    quantity = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)

    class Meta:
        # Two indexes only on the biggest table: (tenant, group, reason) lookups are API filters
        # over a page of rows, not worth an index every load maintains.
        indexes = [models.Index(fields=["tenant", "claim_payment"])]


class ProviderAdjustment(TenantModel):
    """One PLB amount: provider-level adjustments (interest, recoupments, forward balances)."""

    remittance = models.ForeignKey(Remittance, on_delete=models.CASCADE, related_name="provider_adjustments")
    reason_code = models.CharField(max_length=4)
    reference = models.CharField(max_length=50, blank=True)
    amount = money()
    fiscal_period_date = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "remittance"])]


class DenialCategory(models.TextChoices):
    ELIGIBILITY = "eligibility", "Eligibility"
    AUTHORIZATION = "authorization", "Authorization"
    MEDICAL_NECESSITY = "medical_necessity", "Medical necessity"
    TIMELY_FILING = "timely_filing", "Timely filing"
    DUPLICATE = "duplicate", "Duplicate"
    BUNDLING = "bundling", "Bundling"
    MISSING_INFORMATION = "missing_information", "Missing information"
    WRONG_PAYER = "wrong_payer", "Wrong payer / coordination of benefits"
    OTHER = "other", "Other"


class CarcCategory(TenantModel):
    """Editable mapping of a CARC to a denial category (seeded from rcm_feeds.x12.denials)."""

    reason_code = models.CharField(max_length=5)
    category = models.CharField(max_length=24, choices=DenialCategory.choices)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["reason_code"]
        constraints = [models.UniqueConstraint(fields=["tenant", "reason_code"], name="carccategory_unique")]


class DenialStatus(models.TextChoices):
    OPEN = "open", "Open"
    APPEALED = "appealed", "Appealed"
    OVERTURNED = "overturned", "Overturned (paid later)"
    WRITTEN_OFF = "written_off", "Written off"


class Denial(TenantModel):
    """An initial denial of a claim or a line, and its lifecycle to resolution."""

    tenant = fact_tenant()
    claim_payment = loader_link(ClaimPayment, on_delete=models.CASCADE, related_name="denials")
    service_payment = loader_link(ServicePayment, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="denials")
    claim = loader_link(Claim, null=True, blank=True, on_delete=models.SET_NULL, related_name="denials")
    level = models.CharField(max_length=5, choices=[("claim", "Claim"), ("line", "Line")])
    payer = models.ForeignKey("revops.Payer", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey("revops.Program", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    category = models.CharField(max_length=24, choices=DenialCategory.choices)
    carc_codes = ArrayField(models.CharField(max_length=5), default=list)
    rarc_codes = ArrayField(models.CharField(max_length=8), default=list, blank=True)
    denied_charge = money()
    denied_on = models.DateField()
    status = models.CharField(max_length=12, choices=DenialStatus.choices, default=DenialStatus.OPEN)
    appealed_on = models.DateField(null=True, blank=True)
    resolved_on = models.DateField(null=True, blank=True)
    recovered_amount = money(default=0)
    overturned_by = models.ForeignKey(
        ClaimPayment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False,
        help_text="The later payment that overturned this denial.",
    )
    write_off_reason = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-denied_on", "-id"]
        indexes = [
            models.Index(fields=["tenant", "denied_on"]),
            models.Index(fields=["tenant", "status"]),
            models.Index(fields=["tenant", "category"]),
            *nonnull_indexes("denial", "overturned_by"),  # empty when a denial is loaded
        ]


class AckKind(models.TextChoices):
    CA277 = "277ca", "277CA"
    ACK999 = "999", "999"


class Acknowledgment(TenantModel):
    """A front-end accept/reject of a claim (277CA) or a transaction set (999)."""

    tenant = fact_tenant()
    source_file = models.ForeignKey(ReceivedFile, on_delete=models.PROTECT, related_name="+")
    source_position = models.IntegerField()
    kind = models.CharField(max_length=6, choices=AckKind.choices)
    reference = models.CharField(max_length=50, help_text="Claim control number (277CA) or ST control number (999).")
    accepted = models.BooleanField()
    rejected = models.BooleanField(default=False, help_text="277CA A3/A6/A7/A8, 999 IK5 R/M/W/X (A4 is neither).")
    codes = models.CharField(max_length=200, blank=True)
    claim = models.ForeignKey(Claim, null=True, blank=True, on_delete=models.SET_NULL, related_name="acknowledgments")
    acknowledged_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "source_file", "source_position"], name="ack_position_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "reference"])]


class ArBalance(TenantModel):
    """One row of an A/R aging snapshot (CSV): an open balance as of a date."""

    source_file = models.ForeignKey(ReceivedFile, on_delete=models.PROTECT, related_name="+")
    source_position = models.IntegerField()
    as_of = models.DateField()
    patient_control_number = models.CharField(max_length=40, blank=True)
    payer = models.ForeignKey("revops.Payer", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey("revops.Program", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    facility = models.ForeignKey("revops.Facility", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    balance = money()
    billed_on = models.DateField(help_text="Aging starts from the date the claim was billed.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "source_file", "source_position"], name="arbalance_position_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "as_of"])]


class RcmCost(TenantModel):
    """Revenue-cycle cost of a month (CSV), for cost to collect."""

    source_file = models.ForeignKey(ReceivedFile, on_delete=models.PROTECT, related_name="+")
    source_position = models.IntegerField()
    month = models.DateField(help_text="First day of the month.")
    category = models.CharField(max_length=60)
    facility = models.ForeignKey("revops.Facility", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    amount = money()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "source_file", "source_position"], name="rcmcost_position_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "month"])]


class ProgramMappingKind(models.TextChoices):
    PROCEDURE = "procedure", "Procedure code (HCPCS/CPT)"
    REVENUE_CODE = "revenue_code", "Revenue code"
    PLACE_OF_SERVICE = "place_of_service", "Place of service (837P CLM05-1)"
    FACILITY_TYPE = "facility_type", "Facility type (837I CLM05-1)"


class ProgramMapping(TenantModel):
    """Editable rule: a claim with this code belongs to this program (level of care).

    Used when the feed names no source program; see docs/rcm_ingestion.md for the precedence.
    """

    kind = models.CharField(max_length=16, choices=ProgramMappingKind.choices)
    code = models.CharField(max_length=12)
    program = models.ForeignKey("revops.Program", on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["kind", "code"]
        constraints = [models.UniqueConstraint(fields=["tenant", "kind", "code"], name="programmapping_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.code} -> {self.program_id}"
