"""Every commission line in plain language: which deal, whose credit and why, which component and tier, what it
paid, and what the notes mean (docs/commissions.md is the rule book this text paraphrases).

Pure Python, no database: ``line_explanation`` reads a line's fields (a ``LineItem`` or a dict of its field
names) and looks up names in ``Names``, which ``commissions.selectors.runs.names_for`` loads for a page of
lines in a handful of queries. A name it cannot find is said as "component #12" rather than guessed.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

COUNT_BASES = frozenset({"referrals", "tests"})
COUNT_NOUNS = {"referrals": ("referral", "referrals"), "tests": ("test", "tests")}
PRIMARY_ROLES = frozenset({"owner", "direct", "split"})
ROLE_PHRASES = {
    "owner": "as account owner",
    "direct": "as the person named on it",
    "split": "by split",
    "team": "as team credit",
    "overlay": "as overlay",
    "override": "as manager override",
}
KIND_LABELS = {
    "commission": "commission", "bonus": "attainment bonus", "spiff": "SPIFF", "clawback": "clawback", "cap": "cap",
    "release": "held pay released", "adjustment": "adjustment", "manual": "manual adjustment", "draw": "draw",
    "recovery": "draw recovery",
}
REVERSAL_REASONS = {"cancellation": "deal cancelled", "claim_reversal": "claim reversed",
                    "denial": "claim denied", "correction": "correction"}


_OWN = object()  # no ``credit_total`` given: the line's credited amount is the whole credit


@dataclass(frozen=True)
class ComponentInfo:
    name: str
    kind: str = "commission"
    basis: str = "bookings"
    rate_type: str = "flat"
    tier_basis: str = "attainment"
    tiers: tuple[Mapping[str, Any], ...] = ()
    hurdle_pct: Decimal | None = None
    cap_amount: Decimal | None = None
    clawback_days: int | None = None


@dataclass(frozen=True)
class VersionInfo:
    label: str  # "AE v1"
    period_cap: Decimal | None = None


@dataclass(frozen=True)
class TransactionInfo:
    external_id: str
    basis: str
    amount: Decimal
    date: dt.date | None = None
    description: str = ""
    reverses: str = ""  # the original's external id, for a reversal
    reverses_date: dt.date | None = None
    reversal_reason: str = ""


@dataclass
class Names:
    """What a line's ids stand for. ``subject`` is who the statement is for ("you")."""

    components: dict[int, ComponentInfo] = field(default_factory=dict)
    versions: dict[int, VersionInfo] = field(default_factory=dict)
    rules: dict[int, str] = field(default_factory=dict)
    transactions: dict[int, TransactionInfo] = field(default_factory=dict)
    periods: dict[int, str] = field(default_factory=dict)
    subject: str = "you"


# -- formatting ------------------------------------------------------------------------------------

def money(value: Any) -> str:
    """$1,234.50; -$50.00."""
    amount = Decimal(value or 0).quantize(Decimal("0.01"))
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def plain_number(value: Any) -> str:
    """A decimal without trailing zeros: 100, 50.5, 33.3333."""
    number = Decimal(value).normalize()
    text = format(number, "f")
    return text


def pct(value: Any, places: int = 2) -> str:
    return f"{Decimal(value):,.{places}f}%"


def day(value: dt.date | None) -> str:
    return f"{value.day} {value:%b %Y}" if value else "an unknown date"


def share_text(share: Any) -> str:
    """A credit share as a percent: 1 -> 100%, 0.25 -> 25%, 0.333333 -> 33.3333%."""
    percent = (Decimal(share) * 100).quantize(Decimal("0.0001"))
    return f"{plain_number(percent)}%"


def quantity(amount: Any, basis: str) -> str:
    """Money, or a count with its noun on the count bases (3 referrals)."""
    if basis in COUNT_BASES:
        one, many = COUNT_NOUNS[basis]
        count = Decimal(amount or 0)
        return f"{plain_number(count)} {one if count == 1 else many}"
    return money(amount)


# -- reading a line ----------------------------------------------------------------------------------

def _get(line: Any, name: str, default: Any = None) -> Any:
    if isinstance(line, (dict, Mapping)):  # dict first: the common case skips the ABC check
        return line.get(name, default)
    return getattr(line, name, default)


def _dec(value: Any) -> Decimal | None:
    return None if value is None or value == "" else Decimal(value)


def _component(names: Names, component_id: int | None) -> ComponentInfo | None:
    if not component_id:
        return None
    return names.components.get(component_id) or ComponentInfo(name=f"component #{component_id}")


def _version_label(names: Names, version_id: int | None) -> str:
    if not version_id:
        return ""
    info = names.versions.get(version_id)
    return info.label if info else f"plan version #{version_id}"


def _component_label(names: Names, component_id: int | None, version_id: int | None) -> str:
    component = _component(names, component_id)
    version = _version_label(names, version_id)
    if component is None:
        return f"Plan {version}" if version else "The plan"
    return f"{component.name} ({version})" if version else component.name


def _transaction_noun(info: TransactionInfo | None) -> str:
    if info is None:
        return "Transaction"
    return "Deal" if info.basis == "bookings" else "Transaction"


def _transaction_ref(names: Names, transaction_id: int | None, line_date: dt.date | None) -> str:
    """'Deal X3 on 20 Mar 2026'."""
    info = names.transactions.get(transaction_id) if transaction_id else None
    if info is None:
        ref = f"Transaction #{transaction_id}" if transaction_id else "A transaction"
        return f"{ref} on {day(line_date)}" if line_date else ref
    label = info.external_id or f"#{transaction_id}"
    return f"{_transaction_noun(info)} {label} on {day(info.date or line_date)}"


def _threshold(component: ComponentInfo, value: Any) -> str:
    if component.tier_basis == "amount":
        return money(value)
    return f"{plain_number(Decimal(str(value)))}%"


def _tier_range(component: ComponentInfo, tier: int) -> str:
    """'up to 100% of quota', '50% to 100% of quota', 'above 100% of quota' (or credited amounts)."""
    tiers = list(component.tiers)
    if not 1 <= tier <= len(tiers):
        return ""
    lower = Decimal(str(tiers[tier - 1].get("from", 0)))
    upper = Decimal(str(tiers[tier].get("from", 0))) if tier < len(tiers) else None
    suffix = " of quota" if component.tier_basis == "attainment" else " credited"
    if upper is None:
        return f"above {_threshold(component, lower)}{suffix}" if lower else f"from 0{suffix}"
    if lower <= 0:
        return f"up to {_threshold(component, upper)}{suffix}"
    return f"{_threshold(component, lower)} to {_threshold(component, upper)}{suffix}"


def _rate_text(rate: Decimal, basis: str) -> str:
    if basis in COUNT_BASES:
        return f"{money(rate)} each"
    return pct(rate * 100, 4)


def _credit_sentence(line: Any, names: Names) -> str:
    """'Deal X3 on 20 Mar 2026 credited to you as account owner (100%): $5,000.00.'"""
    role = _get(line, "credit_role") or ""
    txn_id = _get(line, "transaction_id")
    info = names.transactions.get(txn_id) if txn_id else None
    basis = info.basis if info else ""
    ref = _transaction_ref(names, txn_id, _get(line, "transaction_date"))
    phrase = ROLE_PHRASES.get(role, "")
    rule_id = _get(line, "credit_rule_id")
    if role not in PRIMARY_ROLES and rule_id:
        rule = names.rules.get(rule_id)
        if rule:
            phrase += f" ({rule})"
    share = _dec(_get(line, "credit_share"))
    share_part = f" ({share_text(share)})" if share is not None and role else ""
    # ``credit_total`` present but None: the whole credit cannot be told (say nothing); absent: the line's own.
    total = _get(line, "credit_total", _OWN)
    credit = _dec(_get(line, "credited")) if total is _OWN else _dec(total)
    credit_part = f": {quantity(credit, basis)}" if credit is not None else ""
    who = f" credited to {names.subject}" + (f" {phrase}" if phrase else "") if role else ""
    return f"{ref}{who}{share_part}{credit_part}."


def _attainment_sentence(line: Any) -> str:
    before, after = _dec(_get(line, "attainment_before")), _dec(_get(line, "attainment_after"))
    if before is None or after is None:
        return ""
    return f"Attainment {pct(before)} → {pct(after)}."


def _held_sentence(line: Any, names: Names) -> str:
    held = _dec(_get(line, "held")) or Decimal(0)
    if not held:
        return ""
    release_on = _get(line, "release_on")
    return f"{money(held)} of it is held and paid on {day(release_on)}." if release_on else \
        f"{money(held)} of it is held."


def _commission(line: Any, names: Names) -> list[str]:
    component = _component(names, _get(line, "component_id")) or ComponentInfo(name="Commission")
    label = _component_label(names, _get(line, "component_id"), _get(line, "version_id"))
    txn = names.transactions.get(_get(line, "transaction_id"))
    basis = txn.basis if txn else component.basis
    credited = _dec(_get(line, "credited")) or Decimal(0)
    amount = _dec(_get(line, "amount")) or Decimal(0)
    rate = _dec(_get(line, "rate"))
    tier = _get(line, "tier")
    note = _get(line, "note") or ""
    out = [_credit_sentence(line, names)]
    if note == "below_hurdle":
        hurdle = f" of {plain_number(component.hurdle_pct)}% of quota" if component.hurdle_pct is not None else ""
        out.append(f"{label}: the part of {quantity(credited, basis)} below the hurdle{hurdle} pays nothing → "
                   f"{money(amount)}.")
    else:
        tier_part = ""
        if component.rate_type != "flat" and tier:
            described = _tier_range(component, int(tier))
            tier_part = f", tier {tier}" + (f" ({described})" if described else "")
            if component.rate_type == "tiered_retro":
                tier_part += ", reached by the period's final attainment"
        rate_part = f" at {_rate_text(rate, basis)}" if rate is not None else ""
        out.append(f"{label}{tier_part}{rate_part} on {quantity(credited, basis)} → {money(amount)}.")
    out.append(_attainment_sentence(line))
    if note == "no_quota":
        out.append(f"{names.subject.capitalize()} had no quota on this basis, so the first tier's rate applies.")
    out.append(_held_sentence(line, names))
    return out


def _spiff(line: Any, names: Names) -> list[str]:
    label = _component_label(names, _get(line, "component_id"), _get(line, "version_id"))
    amount = _dec(_get(line, "amount")) or Decimal(0)
    return [_credit_sentence(line, names), f"SPIFF {label} on this transaction → {money(amount)}.",
            _attainment_sentence(line), _held_sentence(line, names)]


def _bonus(line: Any, names: Names) -> list[str]:
    component = _component(names, _get(line, "component_id")) or ComponentInfo(name="Bonus")
    label = _component_label(names, _get(line, "component_id"), _get(line, "version_id"))
    amount = _dec(_get(line, "amount")) or Decimal(0)
    after = _dec(_get(line, "attainment_after"))
    tier = _get(line, "tier")
    if (_get(line, "note") or "") == "no_quota":
        return [f"{label}: attainment bonus. {names.subject.capitalize()} had no quota for the period, so there is "
                f"no attainment to pay a bonus on → {money(amount)}."]
    reached = f"final attainment {pct(after)}" if after is not None and component.tier_basis == "attainment" \
        else f"{quantity(_dec(_get(line, 'credited')) or 0, component.basis)} credited in the period"
    if tier:
        tiers = list(component.tiers)
        threshold = ""
        if 1 <= int(tier) <= len(tiers):
            threshold = f" (from {_threshold(component, tiers[int(tier) - 1].get('from', 0))}" + \
                (" of quota)" if component.tier_basis == "attainment" else " credited)")
        return [f"{label}: attainment bonus; {reached} reached tier {tier}{threshold} → {money(amount)}."]
    return [f"{label}: attainment bonus; {reached} reached no bonus tier → {money(amount)}."]


def _clawback(line: Any, names: Names) -> list[str]:
    component = _component(names, _get(line, "component_id")) or ComponentInfo(name="The component")
    label = _component_label(names, _get(line, "component_id"), _get(line, "version_id"))
    txn_id = _get(line, "transaction_id")
    info = names.transactions.get(txn_id) if txn_id else None
    amount = _dec(_get(line, "amount")) or Decimal(0)
    ref = _transaction_ref(names, txn_id, _get(line, "transaction_date"))
    first = f"{ref} is a reversal"
    if info is not None:
        first += f" of {quantity(info.amount, info.basis)}"
        if info.reverses:
            first += f" of {info.reverses}" + (f" ({day(info.reverses_date)})" if info.reverses_date else "")
        if info.reversal_reason:
            first += f": {REVERSAL_REASONS.get(info.reversal_reason, info.reversal_reason)}"
    out = [first + "."]
    note = _get(line, "note") or ""
    if note == "no_clawback":
        out.append(f"{label} has no clawback: nothing is clawed back → {money(amount)}.")
    elif note == "outside_clawback_window":
        days = f"{component.clawback_days}-day " if component.clawback_days is not None else ""
        out.append(f"It came after {label}'s {days}clawback window: nothing is clawed back → {money(amount)}.")
    else:
        out.append(f"{label} claws back what the original paid {names.subject}, in proportion to the reversed "
                   f"amount → {money(amount)}.")
    return out


def _cap(line: Any, names: Names) -> list[str]:
    amount = _dec(_get(line, "amount")) or Decimal(0)
    component_id, version_id = _get(line, "component_id"), _get(line, "version_id")
    component = _component(names, component_id)
    if component is not None:
        label = _component_label(names, component_id, version_id)
        limit = f" {money(component.cap_amount)}" if component.cap_amount is not None else " its cap"
        return [f"Capped: {label} pays at most{limit} a period; this line brings it down by {money(-amount)}."]
    version = names.versions.get(version_id) if version_id else None
    label = _version_label(names, version_id) or "the plan"
    limit = f" {money(version.period_cap)}" if version and version.period_cap is not None else " its period cap"
    return [f"Capped: {label} pays at most{limit} a period over all its components; this line brings it down by "
            f"{money(-amount)}."]


def _release(line: Any, names: Names) -> list[str]:
    amount = _dec(_get(line, "amount")) or Decimal(0)
    label = _component_label(names, _get(line, "component_id"), _get(line, "version_id"))
    txn_id = _get(line, "transaction_id")
    source = names.periods.get(_get(line, "source_period_id"))
    what = _transaction_ref(names, txn_id, _get(line, "transaction_date")) if txn_id else "a line"
    earned = f", earned in {source}" if source else ""
    return [f"Held pay released: {money(amount)} held from {what[0].lower() + what[1:]} under {label}{earned}."]


def _adjustment(line: Any, names: Names) -> list[str]:
    amount = _dec(_get(line, "amount")) or Decimal(0)
    note = _get(line, "note") or ""
    kind, _, note_period = note.partition(":")
    source = names.periods.get(_get(line, "source_period_id")) or note_period or "an earlier period"
    label = _component_label(names, _get(line, "component_id"), _get(line, "version_id"))
    txn_id = _get(line, "transaction_id")
    on = ""
    if txn_id:
        ref = _transaction_ref(names, txn_id, _get(line, "transaction_date"))
        on = f" on {ref[0].lower() + ref[1:]}"
    direction = "more" if amount >= 0 else "less"
    return [f"Retroactive adjustment: belongs to {source}, which is locked. Recomputed with today's inputs, its "
            f"{KIND_LABELS.get(kind, kind or 'pay')}{on} under {label} pays {money(abs(amount))} {direction} than "
            f"was paid → {money(amount)}."]


def _manual(line: Any, names: Names) -> list[str]:
    amount = _dec(_get(line, "amount")) or Decimal(0)
    note = _get(line, "note") or ""
    reason = note.split(": ", 1)[1] if note.startswith("#") and ": " in note else note
    return [f"Manual adjustment{': ' + reason if reason else ''} → {money(amount)}."]


def line_explanation(line: Any, names: Names | None = None) -> str:
    """One line (a ``LineItem`` or a dict with its field names) in plain language. A dict may carry
    ``credit_total``: the whole credit a tier-crossing line is part of (None: not known, left unsaid)."""
    names = names or Names()
    kind = _get(line, "kind") or ""
    handlers = {"commission": _commission, "spiff": _spiff, "bonus": _bonus, "clawback": _clawback, "cap": _cap,
                "release": _release, "adjustment": _adjustment, "manual": _manual}
    handler = handlers.get(kind)
    if handler is None:
        amount = _dec(_get(line, "amount")) or Decimal(0)
        parts = [f"{KIND_LABELS.get(kind, kind or 'Line').capitalize()} → {money(amount)}."]
    else:
        parts = handler(line, names)
    return " ".join(p for p in parts if p)


def explain_all(lines: Sequence[Any], names: Names) -> list[str]:
    return [line_explanation(line, names) for line in lines]
