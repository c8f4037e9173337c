"""835 remittance parser: streams Remittance, ClaimPayment and RemittanceEnd records."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

from . import balancing
from .errors import X12Warning
from .records import (
    ZERO,
    Adjustment,
    ClaimPayment,
    ProviderAdjustment,
    Remittance,
    RemittanceEnd,
    ServicePayment,
)
from .tokenizer import Segment, Separators, Tokenizer
from .values import _MISSING, Values, fail, pad, warning

Record835 = Remittance | ClaimPayment | RemittanceEnd
CAS_GROUPS = frozenset({"CO", "OA", "PI", "PR", "CR"})


def parse_835(source: BinaryIO | Tokenizer, *, strict: bool = False,
              balance: bool = True) -> Iterator[Record835]:
    """Stream the 835 transaction sets of an interchange.

    For each transaction set: one Remittance (once its header is read), then one ClaimPayment
    per CLP as soon as the claim is complete, then one RemittanceEnd at its SE. With
    ``balance`` the balancing warnings are attached to the claims and to the end record.
    Raises X12Error for a file that cannot be trusted; see docs/x12.md for every rule.
    """
    tok = source if isinstance(source, Tokenizer) else Tokenizer(source)
    return _parse(tok, iter(tok), strict=strict, balance=balance)


def _parse(tok: Tokenizer, segments: Iterable[Segment], *, strict: bool,
           balance: bool) -> Iterator[Record835]:
    vals = Values(Separators("*", ":", None, "~"))  # replaced at each ST
    money = vals.money
    cache = vals.money_cache  # a hit (the usual case) costs no call; `or` falls back on a zero too
    dates = vals.dates
    comp = vals.component
    remit: Remittance | None = None
    header_out = False
    seen_bpr = seen_trn = False
    claim: ClaimPayment | None = None
    svc: ServicePayment | None = None
    count = 0
    total_charge = total_paid = ZERO
    plbs: list[ProviderAdjustment] = []
    check_claim = balancing.check_claim
    new = object.__new__

    # The branches run in order of how often the segments occur in a remittance.
    for seg in segments:
        els = seg[0]
        sid = els[0]
        if sid == "DTM":
            if len(els) < 3:
                continue
            day = dates.get(els[2], _MISSING)
            if day is None or day is _MISSING:
                owner = claim if claim is not None else remit
                if owner is None:
                    continue
                day = vals.date(els[2], seg, 2, owner.warnings)
            qual = els[1]
            if svc is not None:
                if qual == "472":
                    svc.service_date = day
                elif qual == "150":
                    svc.service_from = day
                elif qual == "151":
                    svc.service_to = day
            elif claim is not None:
                if qual == "232":
                    claim.statement_from = day
                elif qual == "233":
                    claim.statement_to = day
                elif qual == "050":
                    claim.received_date = day
                elif qual == "036":
                    claim.coverage_expiration = day
            elif remit is not None and qual == "405":
                remit.production_date = day
        elif sid == "CAS":
            if claim is None:
                raise fail(seg, "structure", "CAS outside a claim (no CLP before it)")
            target = svc.adjustments if svc is not None else claim.adjustments
            if len(els) == 4 and els[1] in CAS_GROUPS and els[2]:  # the usual single triplet
                amount = cache.get(els[3]) or money(els[3], seg, 3)
                # Built field by field: a dataclass __init__ call costs more than the stores.
                adj = new(Adjustment)
                adj.group = els[1]
                adj.reason = els[2]
                adj.amount = amount
                adj.quantity = None
                _, adj.segment, adj.offset, adj.line = seg
                target.append(adj)
            else:
                target.extend(_adjustments(vals, seg))
        elif sid == "SVC":
            if claim is None:
                raise fail(seg, "structure", "SVC outside a claim (no CLP before it)")
            n = len(els)
            if n < 4:
                pad(els, 4)
            parts = els[1].split(comp)
            if len(parts) > 2:
                qualifier, code = parts[0], parts[1]
                mods = tuple(parts[2:6])
                if "" in mods:
                    mods = tuple(m for m in mods if m)
            elif len(parts) == 2:
                qualifier, code = parts
                mods = ()
            else:
                qualifier, code, mods = vals.procedure(els[1], seg, 1, claim.warnings)
            original = ""
            if n > 6 and els[6]:
                parts = vals.qualified(els[6], seg, 6, claim.warnings)
                original = parts[1] if len(parts) > 1 else parts[0]
            charge = cache.get(els[2]) or money(els[2], seg, 2)
            paid = cache.get(els[3]) or money(els[3], seg, 3)
            units_text = els[5] if n > 5 else ""
            units = (cache.get(units_text) or money(units_text, seg, 5)) if units_text else None
            svc = new(ServicePayment)
            _, svc.segment, svc.offset, svc.line = seg
            svc.qualifier = qualifier
            svc.code = code
            svc.modifiers = mods
            svc.charge = charge
            svc.paid = paid
            svc.revenue_code = els[4] if n > 4 else ""
            svc.units = units
            svc.original_code = original
            svc.service_date = svc.service_from = svc.service_to = svc.allowed = None
            svc.control_number = ""
            svc.adjustments = []
            svc.remark_codes = []
            claim.lines.append(svc)
        elif sid == "REF":
            if len(els) < 3:
                continue
            if svc is not None:
                if els[1] == "6R":
                    svc.control_number = els[2]
            elif claim is None and remit is not None:
                if els[1] == "2U" and not remit.payer_id:
                    remit.payer_id = els[2]
                elif els[1] == "TJ" and not remit.payee_tax_id:
                    remit.payee_tax_id = els[2]
        elif sid == "AMT":
            if svc is not None and len(els) > 2 and els[1] == "B6":
                svc.allowed = cache.get(els[2]) or money(els[2], seg, 2)
        elif sid == "NM1":
            if claim is not None and svc is None:
                if len(els) < 10:
                    pad(els, 10)
                if els[1] == "QC":
                    claim.patient_id_qualifier = els[8]
                    claim.patient_member_id = els[9]
                elif els[1] == "IL":
                    claim.insured_member_id = els[9]
        elif sid == "CLP":
            if remit is None:
                raise fail(seg, "structure", "CLP outside an 835 transaction set")
            if claim is not None:
                if balance:
                    claim.warnings.extend(check_claim(claim))
                yield claim
            elif not header_out:
                _require_header(seg, seen_bpr, seen_trn)
                header_out = True
                yield remit
            if len(els) < 10:
                pad(els, 10)
            if not els[1] or not els[2]:
                raise fail(seg, "missing_value", "CLP01 (patient control number) and CLP02 "
                                                 "(status) are required")
            charge = cache.get(els[3]) or money(els[3], seg, 3)
            paid = cache.get(els[4]) or money(els[4], seg, 4)
            responsibility = (cache.get(els[5]) or money(els[5], seg, 5)) if els[5] else None
            # Built field by field: a dataclass __init__ call costs more than the stores.
            claim = new(ClaimPayment)
            claim.patient_responsibility = responsibility
            claim.remittance = remit
            _, claim.segment, claim.offset, claim.line = seg
            (_, claim.patient_control_number, claim.status, _, _, _, claim.filing_indicator,
             claim.payer_claim_number, claim.facility_type, claim.frequency) = els[:10]
            claim.charge = charge
            claim.paid = paid
            claim.patient_id_qualifier = claim.patient_member_id = claim.insured_member_id = ""
            claim.statement_from = claim.statement_to = None
            claim.received_date = claim.coverage_expiration = None
            claim.adjustments = []
            claim.remark_codes = []
            claim.lines = []
            claim.warnings = []
            svc = None
            count += 1
            total_charge += charge
            total_paid += paid
        elif sid == "LQ":
            if svc is not None and len(els) > 2 and els[1] == "HE" and els[2]:
                svc.remark_codes.append(els[2])
        elif sid == "MOA" or sid == "MIA":
            if claim is not None:
                idx = (3, 4, 5, 6, 7) if sid == "MOA" else (5, 20, 21, 22, 23)
                pad(els, idx[-1] + 1)
                claim.remark_codes.extend(els[i] for i in idx if els[i])
        elif sid == "LX":
            if claim is not None:
                if balance:
                    claim.warnings.extend(check_claim(claim))
                yield claim
                claim = svc = None
        elif sid == "PLB":
            if remit is None:
                raise fail(seg, "structure", "PLB outside an 835 transaction set")
            if claim is not None:
                if balance:
                    claim.warnings.extend(check_claim(claim))
                yield claim
                claim = svc = None
            if not header_out:
                _require_header(seg, seen_bpr, seen_trn)
                header_out = True
                yield remit
            plbs.extend(_provider_adjustments(vals, seg, remit.warnings))
        elif sid == "BPR":
            if remit is None or header_out:
                raise fail(seg, "structure", "BPR outside an 835 header")
            pad(els, 17)
            remit.handling_code = els[1]
            remit.payment_amount = money(els[2], seg, 2)
            remit.credit_debit = els[3]
            remit.payment_method = els[4]
            remit.payment_date = vals.date(els[16], seg, 16, remit.warnings)
            remit.payment_position = (seg[1], seg[2], seg[3])
            seen_bpr = True
        elif sid == "TRN":
            if remit is not None and claim is None:
                pad(els, 5)
                remit.trace_number, remit.trace_originator = els[2], els[3]
                remit.trace_supplemental = els[4]
                seen_trn = bool(els[2])
        elif sid == "N1":
            if remit is not None and claim is None:
                pad(els, 5)
                if els[1] == "PR":
                    remit.payer_name, remit.payer_id_qualifier, remit.payer_id = els[2:5]
                elif els[1] == "PE":
                    remit.payee_name, remit.payee_id_qualifier, remit.payee_id = els[2:5]
                    if els[3] == "XX":
                        remit.payee_npi = els[4]
                    elif els[3] == "FI":
                        remit.payee_tax_id = els[4]
        elif sid == "ST":
            st = tok.transaction
            assert st is not None and tok.separators is not None
            if st.set_id != "835":
                raise fail(seg, "wrong_transaction", f"expected an 835 transaction set, found "
                                                     f"{st.set_id!r}")
            vals = Values(tok.separators, strict=strict)
            money, cache, dates, comp = vals.money, vals.money_cache, vals.dates, vals.component
            remit = Remittance(st, seg[1], seg[2], seg[3])
            remit.warnings.extend(tok.warnings)
            header_out = seen_bpr = seen_trn = False
            claim = svc = None
            count = 0
            total_charge = total_paid = ZERO
            plbs = []
        elif sid == "SE":
            assert remit is not None
            if claim is not None:
                if balance:
                    claim.warnings.extend(check_claim(claim))
                yield claim
            if not header_out:
                _require_header(seg, seen_bpr, seen_trn)
                yield remit
            end = RemittanceEnd(remit, seg[1], seg[2], seg[3], count, total_charge, total_paid,
                                plbs)
            if balance:
                end.warnings.extend(balancing.check_remittance(end))
            yield end
            remit = claim = svc = None


def _require_header(seg: Segment, seen_bpr: bool, seen_trn: bool) -> None:
    if not seen_bpr:
        raise fail(seg, "structure", "the 835 has no BPR (payment) segment before its claims")
    if not seen_trn:
        raise fail(seg, "structure", "the 835 has no TRN (trace number) segment before its claims")


def _adjustments(vals: Values, seg: Segment) -> list[Adjustment]:
    els = seg[0]
    pad(els, 20)
    group = els[1]
    if group not in CAS_GROUPS:
        raise fail(seg, "bad_code", f"CAS01 group {group[:10]!r} is not one of CO, OA, PI, PR, CR")
    out = []
    _, ordinal, offset, line = seg
    for i in range(2, 20, 3):
        reason, amount = els[i], els[i + 1]
        if not reason:
            if amount:
                raise fail(seg, "missing_value", f"CAS{i + 1:02d} amount {amount[:20]!r} has no "
                                                 f"reason code in CAS{i:02d}")
            continue
        out.append(Adjustment(group, reason, vals.money(amount, seg, i + 1),
                              vals.money_or_none(els[i + 2], seg, i + 2), ordinal, offset, line))
    if not out:
        raise fail(seg, "missing_value", "CAS has a group but no reason code and amount")
    return out


def _provider_adjustments(vals: Values, seg: Segment,
                          warnings: list[X12Warning]) -> list[ProviderAdjustment]:
    els = seg[0]
    pad(els, 15)
    fiscal = vals.date(els[2], seg, 2, warnings)
    out = []
    for i in range(3, 15, 2):
        if not els[i]:
            if els[i + 1]:
                raise fail(seg, "missing_value", f"PLB{i + 1:02d} amount has no reason in PLB{i:02d}")
            continue
        parts = vals.qualified(els[i], seg, i, warnings)
        reason = parts[0]
        reference = parts[1] if len(parts) > 1 else ""
        out.append(ProviderAdjustment(els[1], fiscal, reason, reference,
                                      vals.money(els[i + 1], seg, i + 1), seg[1], seg[2], seg[3]))
    if not out:
        warnings.append(warning(seg, "empty_plb", "PLB without any adjustment"))
    return out
