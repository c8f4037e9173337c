"""Writes of contracts, their versions and terms, single-case agreements and fee schedule imports.

Published versions are history: their terms are never edited. A change is a new draft version (a copy
of the latest published one), edited, then published from a date, which closes the previous version the
day before. Publishing, ending a contract or adding a single-case agreement queues the expected
reimbursement recompute for the payer's claims.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from rcm_feeds.phi import patient_hash as hash_member_id
from revops.models import Payer, Program

from ..models import CaseRateBasis, Contract, ContractKind, ContractTerm, ContractVersion, TermKind, VersionStatus

ONE_DAY = dt.timedelta(days=1)


def _user(user: Any) -> Any:
    return user if getattr(user, "pk", None) else None


def _recompute_after_commit(*, payer_id: int, reason: str, user: Any = None) -> None:
    from .reimbursement import expected_recompute_start

    expected_recompute_start(payer_ids=[payer_id], reason=reason, user=_user(user))


@transaction.atomic
def contract_create(*, payer: Payer, name: str, plan_name: str = "", notes: str = "", user: Any = None) -> Contract:
    """A payer contract (all plans, or ``plan_name``) with an empty draft version 1."""
    name = name.strip()
    if Contract.objects.filter(name=name).exists():
        raise ValidationError({"name": "A contract with this name exists."})
    contract = Contract(payer=payer, name=name, plan_name=plan_name.strip(), notes=notes, created_by=_user(user))
    contract.full_clean(exclude=["tenant", "created_by"])
    contract.save()
    ContractVersion.objects.create(contract=contract, number=1, created_by=_user(user), note="First version")
    return contract


@transaction.atomic
def contract_update(*, contract: Contract, name: str, notes: str = "", ends_on: dt.date | None = None,
                    user: Any = None) -> Contract:
    """Rename, annotate or end (terminate) a contract. Ending it re-prices the payer's claims."""
    name = name.strip()
    if Contract.objects.filter(name=name).exclude(pk=contract.pk).exists():
        raise ValidationError({"name": "A contract with this name exists."})
    first = contract.versions.filter(status=VersionStatus.PUBLISHED).order_by("effective_from").first()
    if ends_on is not None and first is not None and ends_on < first.effective_from:
        raise ValidationError({"ends_on": f"The contract starts on {first.effective_from:%Y-%m-%d}."})
    changed_end = contract.ends_on != ends_on
    contract.name, contract.notes, contract.ends_on = name, notes, ends_on
    contract.save()
    if changed_end:
        _recompute_after_commit(payer_id=contract.payer_id, reason=f"{contract.name} end date", user=user)
    return contract


def _next_number(contract: Contract) -> int:
    return (ContractVersion.objects.filter(contract=contract).aggregate(n=Max("number"))["n"] or 0) + 1


@transaction.atomic
def version_create(*, contract: Contract, note: str = "", user: Any = None) -> ContractVersion:
    """A new draft: a copy of the latest published version's terms (one draft at a time)."""
    if contract.versions.filter(status=VersionStatus.DRAFT).exists():
        raise ValidationError("This contract already has a draft version: edit or publish it first.")
    latest = contract.versions.filter(status=VersionStatus.PUBLISHED).order_by("-effective_from", "-number").first()
    version = ContractVersion.objects.create(contract=contract, number=_next_number(contract), note=note[:300],
                                             created_by=_user(user))
    if latest is not None:
        ContractTerm.objects.bulk_create([
            ContractTerm(tenant_id=version.tenant_id, version=version, kind=t.kind, code=t.code, modifier=t.modifier,
                         level_of_care=t.level_of_care, basis=t.basis, rate=t.rate,
                         lesser_of_charges=t.lesser_of_charges, description=t.description)
            for t in latest.terms.all()])
    return version


def _require_draft(version: ContractVersion) -> None:
    if version.status != VersionStatus.DRAFT:
        raise ValidationError("Published terms are history and cannot change: start a new version instead.")


def term_clean(*, kind: str, code: str = "", modifier: str = "", level_of_care: str = "", basis: str = "",
               rate: Any, lesser_of_charges: bool = False) -> dict[str, Any]:
    """The term's fields normalised for its kind, or a ValidationError naming the field."""
    if kind not in TermKind.values:
        raise ValidationError({"kind": f"Unknown term kind {kind!r}."})
    try:
        rate = Decimal(str(rate).strip().replace(",", "").replace("$", "").rstrip("%"))
    except (InvalidOperation, ValueError):
        raise ValidationError({"rate": "Enter a number."}) from None
    if rate < 0 or rate != rate.quantize(Decimal("0.0001")) or rate >= Decimal("1e10"):
        raise ValidationError({"rate": "Enter a non-negative amount with at most 4 decimals."})
    code, modifier = (code or "").strip().upper(), (modifier or "").strip().upper()
    out: dict[str, Any] = {"kind": kind, "code": "", "modifier": "", "level_of_care": "", "basis": "", "rate": rate,
                           "lesser_of_charges": False}
    if kind == TermKind.FEE_SCHEDULE:
        if not code or len(code) > 12:
            raise ValidationError({"code": "A fee schedule rate needs a CPT/HCPCS code (up to 12 characters)."})
        if len(modifier) > 2:
            raise ValidationError({"modifier": "A modifier has two characters."})
        out.update(code=code, modifier=modifier)
    elif kind == TermKind.PER_DIEM:
        from revops.models.reference import LevelOfCare

        if level_of_care not in LevelOfCare.values:
            raise ValidationError({"level_of_care": "A per diem needs a level of care."})
        out.update(level_of_care=level_of_care, lesser_of_charges=bool(lesser_of_charges))
    elif kind == TermKind.CASE_RATE:
        from revops.models.reference import LevelOfCare

        if basis not in CaseRateBasis.values:
            raise ValidationError({"basis": "A case rate is per claim or per admission."})
        if level_of_care and level_of_care not in LevelOfCare.values:
            raise ValidationError({"level_of_care": "Unknown level of care."})
        out.update(basis=basis, level_of_care=level_of_care or "")
    elif rate > 1000:
        raise ValidationError({"rate": "A percent of charges is at most 1000."})
    return out


@transaction.atomic
def term_save(*, version: ContractVersion, term: ContractTerm | None = None, description: str = "",
              **fields: Any) -> ContractTerm:
    """Add a term to a draft version (or change one of its terms)."""
    _require_draft(version)
    data = term_clean(**fields)
    clash = ContractTerm.objects.filter(version=version, kind=data["kind"], code=data["code"],
                                        modifier=data["modifier"], level_of_care=data["level_of_care"],
                                        basis=data["basis"])
    if term is not None:
        clash = clash.exclude(pk=term.pk)
    if clash.exists():
        raise ValidationError("This version already has that term: change it instead.")
    if data["kind"] == TermKind.PERCENT_OF_CHARGES:
        others = ContractTerm.objects.filter(version=version, kind=TermKind.PERCENT_OF_CHARGES)
        if term is not None:
            others = others.exclude(pk=term.pk)
        if others.exists():
            raise ValidationError("A version has at most one percent of charges.")
    term = term or ContractTerm(version=version)
    for name, value in data.items():
        setattr(term, name, value)
    term.description = description[:200]
    term.save()
    return term


@transaction.atomic
def term_delete(*, term: ContractTerm) -> None:
    _require_draft(term.version)
    term.delete()


@transaction.atomic
def version_delete(*, version: ContractVersion) -> None:
    _require_draft(version)
    version.delete()


def _overlapping(contract: Contract, start: dt.date, end: dt.date | None,
                 exclude_version: int) -> ContractVersion | None:
    """A published version of another contract for the same payer and plan in force on a day of [start, end]."""
    if contract.kind != ContractKind.STANDARD:
        return None
    versions = (ContractVersion.objects.filter(status=VersionStatus.PUBLISHED, contract__payer=contract.payer_id,
                                               contract__kind=ContractKind.STANDARD,
                                               contract__plan_name=contract.plan_name)
                .exclude(contract=contract).exclude(pk=exclude_version).select_related("contract"))
    versions = versions.filter(Q(effective_to__isnull=True) | Q(effective_to__gte=start),
                               Q(contract__ends_on__isnull=True) | Q(contract__ends_on__gte=start))
    if end is not None:
        versions = versions.filter(effective_from__lte=end)
    return versions.order_by("effective_from").first()


@transaction.atomic
def version_publish(*, version: ContractVersion, effective_from: dt.date, user: Any = None,
                    recompute: bool = True) -> ContractVersion:
    """Publish a draft from ``effective_from``: the previous version ends the day before (history kept).

    ``recompute=False`` leaves re-pricing to the caller (a bulk load that recomputes once at the end)."""
    version = ContractVersion.objects.select_for_update().select_related("contract").get(pk=version.pk)
    _require_draft(version)
    contract = version.contract
    if not version.terms.exists():
        raise ValidationError("Add at least one term before publishing.")
    previous = (ContractVersion.objects.filter(contract=contract, status=VersionStatus.PUBLISHED)
                .order_by("-effective_from").first())
    if previous is not None and effective_from <= previous.effective_from:
        raise ValidationError({"effective_from": f"Must be after {previous.effective_from:%Y-%m-%d}, when version "
                                                 f"{previous.number} took effect (published terms are not rewritten)."})
    if contract.ends_on is not None and effective_from > contract.ends_on:
        raise ValidationError({"effective_from": f"The contract ends on {contract.ends_on:%Y-%m-%d}."})
    clash = _overlapping(contract, effective_from, contract.ends_on, version.pk)
    if clash is not None:
        raise ValidationError({"effective_from": f"{clash.contract} (version {clash.number}) is in force for the same "
                                                 "payer and plan on these dates: end it first."})
    if previous is not None:
        ContractVersion.objects.filter(contract=contract, status=VersionStatus.PUBLISHED,
                                       effective_from__lt=effective_from).filter(
            Q(effective_to__isnull=True) | Q(effective_to__gte=effective_from)).update(
            effective_to=effective_from - ONE_DAY)
    version.status, version.effective_from, version.effective_to = VersionStatus.PUBLISHED, effective_from, None
    version.published_at, version.published_by = timezone.now(), _user(user)
    version.save()
    if recompute:
        _recompute_after_commit(payer_id=contract.payer_id, reason=f"{contract.name} v{version.number}", user=user)
    return version


@transaction.atomic
def single_case_create(*, payer: Payer, program: Program, starts_on: dt.date, ends_on: dt.date, kind: str,
                       rate: Any, member_id: str = "", patient_hash: str = "", basis: str = "",
                       lesser_of_charges: bool = False, name: str = "", notes: str = "",
                       user: Any = None, recompute: bool = True) -> Contract:
    """A single-case agreement: one patient (member id hashed at once, or the hash as on claims), one program,
    from ``starts_on`` to ``ends_on``, priced by one term (per diem for the program's level of care, case rate,
    or percent of charges). Published at once; it outranks the payer's contracts for that patient."""
    if ends_on < starts_on:
        raise ValidationError({"ends_on": "Ends before it starts."})
    digest = hash_member_id(member_id) if member_id.strip() else patient_hash.strip().lower()
    if not digest or len(digest) != 64:
        raise ValidationError({"member_id": "Give the patient's member id (or the patient hash as on the claims)."})
    if kind == TermKind.FEE_SCHEDULE:
        raise ValidationError({"kind": "A single-case agreement is priced per diem, by case rate or percent."})
    fields = term_clean(kind=kind, rate=rate, level_of_care=program.level_of_care if kind == TermKind.PER_DIEM else "",
                        basis=basis, lesser_of_charges=lesser_of_charges)
    name = (name or f"SCA {payer.name} · {program.code} · {starts_on:%Y-%m-%d} · {digest[:6]}").strip()[:160]
    if Contract.objects.filter(name=name).exists():
        raise ValidationError({"name": "A contract with this name exists."})
    contract = Contract.objects.create(payer=payer, kind=ContractKind.SINGLE_CASE, name=name, patient_hash=digest,
                                       program=program, ends_on=ends_on, notes=notes, created_by=_user(user))
    version = ContractVersion.objects.create(contract=contract, number=1, status=VersionStatus.PUBLISHED,
                                             effective_from=starts_on, note="Single-case agreement",
                                             created_by=_user(user), published_at=timezone.now(),
                                             published_by=_user(user))
    ContractTerm.objects.create(version=version, description="Single-case rate", **fields)
    if recompute:
        _recompute_after_commit(payer_id=payer.pk, reason=f"single-case agreement {name}", user=user)
    return contract


# -- fee schedule CSV import -------------------------------------------------------------------------

FEE_SCHEDULE_COLUMNS = ("code", "modifier", "rate", "description")


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


@transaction.atomic
def fee_schedule_import(*, version: ContractVersion, text: str) -> ImportResult:
    """Load a fee schedule (CSV with columns code, modifier, rate, description; header required) into a draft.

    All or nothing: any bad row refuses the whole file, and the errors name the line. A code (and
    modifier) already in the version gets the new rate.
    """
    _require_draft(version)
    result = ImportResult()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "code" not in headers or "rate" not in headers:
        raise ValidationError("The CSV needs a header row with at least the columns code and rate "
                              "(optional: modifier, description).")
    parsed: dict[tuple[str, str], tuple[Decimal, str]] = {}
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        if not any(row.values()):
            continue
        try:
            data = term_clean(kind=TermKind.FEE_SCHEDULE, code=row.get("code", ""), modifier=row.get("modifier", ""),
                              rate=row.get("rate", ""))
        except ValidationError as exc:
            result.errors.append(f"line {number}: " + "; ".join(f"{k}: {' '.join(v)}"
                                                                  for k, v in exc.message_dict.items()))
            continue
        key = (data["code"], data["modifier"])
        if key in parsed:
            result.errors.append(f"line {number}: {key[0]}{'-' + key[1] if key[1] else ''} appears twice")
            continue
        parsed[key] = (data["rate"], row.get("description", "")[:200])
    if result.errors:
        raise ValidationError(result.errors)
    if not parsed:
        raise ValidationError("The CSV has no rows.")
    existing = {(t.code, t.modifier): t for t in ContractTerm.objects.filter(version=version,
                                                                            kind=TermKind.FEE_SCHEDULE)}
    new, changed = [], []
    for (code, modifier), (rate, description) in parsed.items():
        term = existing.get((code, modifier))
        if term is None:
            new.append(ContractTerm(tenant_id=version.tenant_id, version=version, kind=TermKind.FEE_SCHEDULE,
                                    code=code, modifier=modifier, rate=rate, description=description))
        else:
            term.rate, term.description = rate, description or term.description
            changed.append(term)
    ContractTerm.objects.bulk_create(new)
    ContractTerm.objects.bulk_update(changed, ["rate", "description"])
    result.created, result.updated = len(new), len(changed)
    return result
