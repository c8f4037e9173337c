"""The tenant's editable RCM reference tables: CARC -> denial category, and program mapping rules."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from revops.models import Program

from ..models import CarcCategory, DenialCategory, ProgramMapping, ProgramMappingKind


@transaction.atomic
def carc_category_save(*, reason_code: str, category: str, description: str = "") -> CarcCategory:
    """Map a CARC to a denial category (used by loads from now on; denials already loaded keep theirs)."""
    code = (reason_code or "").strip().upper()
    if not code or len(code) > 5 or not code.isalnum():
        raise ValidationError({"reason_code": "A CARC is 1 to 5 letters or digits, e.g. 197 or B7."})
    if category not in DenialCategory.values:
        raise ValidationError({"category": f"{category!r} is not one of {', '.join(DenialCategory.values)}."})
    row = CarcCategory.objects.filter(reason_code=code).first() or CarcCategory(reason_code=code)
    row.category, row.description = category, description.strip()[:300]
    row.save()
    return row


@transaction.atomic
def program_mapping_save(*, kind: str, code: str, program: Program) -> ProgramMapping:
    """Claims with this procedure/revenue code, place of service or facility type belong to ``program``."""
    if kind not in ProgramMappingKind.values:
        raise ValidationError({"kind": f"{kind!r} is not one of {', '.join(ProgramMappingKind.values)}."})
    code = (code or "").strip().upper()
    if not code or len(code) > 12:
        raise ValidationError({"code": "Give the code (at most 12 characters)."})
    row = ProgramMapping.objects.filter(kind=kind, code=code).first() or ProgramMapping(kind=kind, code=code)
    row.program = program
    row.save()
    return row


@transaction.atomic
def program_mapping_delete(*, mapping: ProgramMapping) -> None:
    mapping.delete()
