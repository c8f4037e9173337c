"""Reference lookups for a load: payer, program (level of care), facility; loaded once per file.

Payers are matched by payer id (835 N1*PR N104 / REF*2U, 837 NM1*PR NM109, CSV ``payer_id``),
then by name, case-insensitively. An unknown payer is created with class "other" and the load
records a ``payer_created`` warning, so a new payer never stops a file.

Programs, in order (first hit wins; docs/rcm_ingestion.md):
1. the feed's ``source_program`` (a feed from one program's billing system);
2. an explicit program code (CSV ``program`` column);
3. the tenant's ``ProgramMapping`` rules: a line's procedure code, then a line's revenue code,
   then the claim's place of service (837P) or facility type (837I);
4. the one active program whose ``place_of_service`` is the claim's place of service.
A claim is tagged ``part2_program`` when its program is a 42 CFR Part 2 program.
"""
from __future__ import annotations

from collections.abc import Iterable

from revops.models import Facility, Payer, PayerClass, Program

from ..models import ProgramMapping, ProgramMappingKind
from .context import LoadContext


class PayerResolver:
    def __init__(self, ctx: LoadContext) -> None:
        self.ctx = ctx
        self.by_id: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        for pk, name, payer_id in Payer.objects.values_list("pk", "name", "payer_id"):
            if payer_id:
                self.by_id.setdefault(payer_id.strip().upper(), pk)
            self.by_name.setdefault(name.strip().lower(), pk)

    def resolve(self, *, payer_id: str = "", name: str = "", segment: int | None = None,
                line: int | None = None, offset: int | None = None, reference: str = "") -> int | None:
        payer_id, name = (payer_id or "").strip(), (name or "").strip()
        if not payer_id and not name:
            return None
        key = payer_id.upper()
        if key and key in self.by_id:
            return self.by_id[key]
        if name and name.lower() in self.by_name:
            pk = self.by_name[name.lower()]
            if key:
                self.by_id[key] = pk
            return pk
        label = (name or f"Payer {payer_id}")[:160]
        payer = Payer.objects.create(name=label, payer_class=PayerClass.OTHER, payer_id=payer_id[:80])
        if key:
            self.by_id[key] = payer.pk
        self.by_name[label.lower()] = payer.pk
        if name:
            self.by_name.setdefault(name.lower(), payer.pk)
        self.ctx.counts["payers_created"] += 1
        self.ctx.warn("payer_created", f"Unknown payer {label!r} (payer id {payer_id or 'none'}) was created "
                                       "with class 'other'; set its class in reference data.",
                      segment=segment, line=line, offset=offset, claim_reference=reference)
        return payer.pk


class ProgramResolver:
    def __init__(self, ctx: LoadContext) -> None:
        feed = ctx.feed
        self.source_program_id: int | None = feed.source_program_id
        self.by_code: dict[str, int] = {}
        self.part2: set[int] = set()
        self.facility_of: dict[int, int | None] = {}
        by_pos: dict[str, list[int]] = {}
        for pk, code, pos, is_part2, facility_id, active in Program.objects.values_list(
                "pk", "code", "place_of_service", "is_part2", "facility_id", "is_active"):
            self.by_code[code.strip().lower()] = pk
            self.facility_of[pk] = facility_id
            if is_part2:
                self.part2.add(pk)
            if pos and active:
                by_pos.setdefault(pos, []).append(pk)
        self.by_pos = {pos: pks[0] for pos, pks in by_pos.items() if len(pks) == 1}
        self.rules: dict[tuple[str, str], int] = {
            (kind, code.strip().upper()): program_id
            for kind, code, program_id in ProgramMapping.objects.values_list("kind", "code", "program_id")
        }

    def resolve(self, *, procedures: Iterable[str] = (), revenue_codes: Iterable[str] = (),
                facility_code: str = "", claim_kind: str = "", program_code: str = "") -> int | None:
        if self.source_program_id is not None:
            return self.source_program_id
        if program_code:
            return self.by_code.get(program_code.strip().lower())
        rules = self.rules
        if rules:
            for code in procedures:
                found = rules.get((ProgramMappingKind.PROCEDURE, code.upper()))
                if found is not None:
                    return found
            for code in revenue_codes:
                found = rules.get((ProgramMappingKind.REVENUE_CODE, code.upper()))
                if found is not None:
                    return found
            if facility_code:
                kinds = {"P": (ProgramMappingKind.PLACE_OF_SERVICE,), "I": (ProgramMappingKind.FACILITY_TYPE,)}.get(
                    claim_kind, (ProgramMappingKind.PLACE_OF_SERVICE, ProgramMappingKind.FACILITY_TYPE))
                for kind in kinds:
                    found = rules.get((kind, facility_code.upper()))
                    if found is not None:
                        return found
        if facility_code and claim_kind != "I":
            return self.by_pos.get(facility_code)
        return None

    def part2_of(self, program_id: int | None) -> int | None:
        return program_id if program_id in self.part2 else None

    def known_code(self, program_code: str) -> bool:
        return program_code.strip().lower() in self.by_code


class FacilityResolver:
    def __init__(self) -> None:
        self.by_npi: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        for pk, name, npi in Facility.objects.values_list("pk", "name", "npi"):
            if npi:
                self.by_npi.setdefault(npi, pk)
            self.by_name[name.strip().lower()] = pk

    def by_billing_npi(self, npi: str) -> int | None:
        return self.by_npi.get(npi) if npi else None

    def named(self, name: str) -> int | None:
        return self.by_name.get(name.strip().lower()) if name else None
