"""Reads of the RCM record for pages, the API and the KPI module: querysets and small plain summaries.

Every function runs inside the active organization (the models' managers are fail-closed).
Conventions the readers rely on (docs/rcm_ingestion.md):

- **Reversals.** A CLP02 22 row (``is_reversal``) carries the negated charge and payment, so sums
  over all claim payments net out; the payment it takes back has ``reversed_by`` set. To count
  adjudications, use ``claim_payments_effective()``: neither reversals nor reversed originals.
- **Resubmissions.** ``Claim.original_claim`` points at the first submission of the family;
  ``is_resubmission`` marks frequency 7/8 and repeats of a control number to the same payer.
- **Denials** exist at claim level and line level (``level``); a claim denied as a whole and line
  by line has both. ``status`` and its dates give overturn rate and resolution time.
- **Front end.** ``Claim.front_end_status`` is '', 'accepted' or 'rejected' (277CA / 999).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from .models import (
    Acknowledgment,
    Adjustment,
    ArBalance,
    CarcCategory,
    Claim,
    ClaimPayment,
    Denial,
    DenialStatus,
    Feed,
    IngestionRun,
    IngestionWarning,
    ProgramMapping,
    QuarantineItem,
    QuarantineStatus,
    RcmCost,
    ReceivedFile,
    Remittance,
    RunStatus,
)


def _where(qs: QuerySet[Any], **lookups: Any) -> QuerySet[Any]:
    """``qs`` filtered on every lookup whose value was given (None means: no filter)."""
    given = {k: v for k, v in lookups.items() if v is not None}
    return qs.filter(**given) if given else qs


def feeds(*, active: bool | None = None) -> QuerySet[Feed]:
    qs = Feed.objects.select_related("source_program", "schedule")
    return qs if active is None else qs.filter(is_active=active)


def received_files(*, feed: Feed | None = None) -> QuerySet[ReceivedFile]:
    qs = ReceivedFile.objects.select_related("feed", "received_by")
    return qs if feed is None else qs.filter(feed=feed)


def ingestion_runs(*, feed: Feed | None = None, status: str | None = None, file: ReceivedFile | None = None
                   ) -> QuerySet[IngestionRun]:
    """Runs, newest first, with their file, feed and job (for progress bars)."""
    qs = IngestionRun.objects.select_related("file", "file__feed", "job").annotate(
        warning_total=Count("warnings", distinct=True),
        quarantine_open=Count("quarantine", filter=Q(quarantine__status=QuarantineStatus.OPEN), distinct=True),
    )
    return _where(qs, file__feed=feed, status=status, file=file).order_by("-id")


def ingestion_runs_active() -> QuerySet[IngestionRun]:
    return ingestion_runs().filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])


def run_warnings(*, run: IngestionRun, code: str | None = None) -> QuerySet[IngestionWarning]:
    qs = IngestionWarning.objects.filter(run=run)
    return qs if code is None else qs.filter(code=code)


def quarantine_items(*, status: str | None = QuarantineStatus.OPEN, feed: Feed | None = None
                     ) -> QuerySet[QuarantineItem]:
    qs = QuarantineItem.objects.select_related("file", "file__feed", "run", "rerun", "resolved_by")
    return _where(qs, status=status, file__feed=feed).order_by("-id")


def claims(*, payer_id: int | None = None, program_id: int | None = None, facility_id: int | None = None,
           submitted_from: dt.date | None = None, submitted_to: dt.date | None = None,
           patient_control_number: str | None = None, front_end_status: str | None = None) -> QuerySet[Claim]:
    qs = Claim.objects.select_related("payer", "program", "facility", "source_file")
    return _where(
        qs, payer_id=payer_id, program_id=program_id, facility_id=facility_id,
        submitted_on__gte=submitted_from, submitted_on__lte=submitted_to,
        patient_control_number=patient_control_number or None, front_end_status=front_end_status,
    )


def claim_family(*, claim: Claim) -> QuerySet[Claim]:
    """The claim, its original and every correction of that original, in submission order."""
    root = claim.original_claim_id or claim.pk
    return Claim.objects.filter(Q(pk=root) | Q(original_claim_id=root)).order_by("submitted_on", "id")


def remittances(*, payer_id: int | None = None, paid_from: dt.date | None = None, paid_to: dt.date | None = None
                ) -> QuerySet[Remittance]:
    qs = Remittance.objects.select_related("payer", "source_file")
    return _where(qs, payer_id=payer_id, payment_date__gte=paid_from, payment_date__lte=paid_to)


def claim_payments(*, remittance: Remittance | None = None, claim: Claim | None = None,
                   denied: bool | None = None) -> QuerySet[ClaimPayment]:
    qs = ClaimPayment.objects.select_related("remittance", "remittance__payer", "claim", "reversed_by")
    return _where(qs, remittance=remittance, claim=claim, is_denied=denied)


def claim_payments_effective() -> QuerySet[ClaimPayment]:
    """Adjudications that stand: no reversal rows and no payments a reversal took back."""
    return ClaimPayment.objects.filter(is_reversal=False, reversed_by__isnull=True)


def adjustments(*, claim_payment: ClaimPayment | None = None, group_code: str | None = None,
                reason_code: str | None = None) -> QuerySet[Adjustment]:
    qs = Adjustment.objects.select_related("claim_payment", "service_payment")
    return _where(qs, claim_payment=claim_payment, group_code=group_code, reason_code=reason_code)


def denials(*, status: str | None = None, category: str | None = None, level: str | None = None,
            payer_id: int | None = None, program_id: int | None = None, carc: str | None = None,
            denied_from: dt.date | None = None, denied_to: dt.date | None = None) -> QuerySet[Denial]:
    qs = Denial.objects.select_related("claim_payment", "claim_payment__remittance", "service_payment", "claim",
                                       "payer", "program", "overturned_by")
    return _where(
        qs, status=status, category=category, level=level, payer_id=payer_id, program_id=program_id,
        carc_codes__contains=[carc] if carc is not None else None,
        denied_on__gte=denied_from, denied_on__lte=denied_to,
    )


def denials_open() -> QuerySet[Denial]:
    return denials().filter(status__in=[DenialStatus.OPEN, DenialStatus.APPEALED])


def acknowledgments(*, claim: Claim | None = None, rejected: bool | None = None) -> QuerySet[Acknowledgment]:
    qs = Acknowledgment.objects.select_related("claim", "source_file")
    return _where(qs, claim=claim, rejected=rejected)


def ar_balances(*, as_of: dt.date | None = None) -> QuerySet[ArBalance]:
    qs = ArBalance.objects.select_related("payer", "program", "facility")
    return qs if as_of is None else qs.filter(as_of=as_of)


def rcm_costs(*, month: dt.date | None = None) -> QuerySet[RcmCost]:
    qs = RcmCost.objects.select_related("facility")
    return qs if month is None else qs.filter(month=month.replace(day=1))


def carc_categories() -> QuerySet[CarcCategory]:
    return CarcCategory.objects.all()


def program_mappings() -> QuerySet[ProgramMapping]:
    return ProgramMapping.objects.select_related("program")


def file_summary(*, file: ReceivedFile) -> dict[str, Any]:
    """What a file put in the record: rows by table and the money of its remittances."""
    money = Remittance.objects.filter(source_file=file).aggregate(payments=Sum("payment_amount"))
    paid = ClaimPayment.objects.filter(remittance__source_file=file).aggregate(charge=Sum("charge"), paid=Sum("paid"))
    return {
        "claims": Claim.objects.filter(source_file=file).count(),
        "remittances": Remittance.objects.filter(source_file=file).count(),
        "claim_payments": ClaimPayment.objects.filter(remittance__source_file=file).count(),
        "denials": Denial.objects.filter(claim_payment__remittance__source_file=file).count(),
        "acknowledgments": Acknowledgment.objects.filter(source_file=file).count(),
        "ar_balances": ArBalance.objects.filter(source_file=file).count(),
        "rcm_costs": RcmCost.objects.filter(source_file=file).count(),
        "payment_total": money["payments"],
        "charge_total": paid["charge"],
        "paid_total": paid["paid"],
    }
