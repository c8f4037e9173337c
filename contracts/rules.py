"""Recommendation rules of quarterly contract reviews (plain Python; docs/contracts.md lists them).

Every rule is evaluated and kept with its value and threshold, so a review shows why it recommends what
it does. ``exit`` when the contract loses money after direct and RCM cost; otherwise ``renegotiate`` when
any renegotiation rule triggers; otherwise ``keep``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

UNDERPAYMENT_PCT = Decimal("5")  # underpayment / expected reimbursement, percent
DENIAL_RATE_PCT = Decimal("12")  # claims denied / claims adjudicated, percent
DAYS_TO_PAY = Decimal("45")  # average days from submission to first payment
MARGIN_PCT = Decimal("10")  # net contribution margin / net revenue, percent


@dataclass(frozen=True)
class Reason:
    rule: str
    triggered: bool
    text: str
    leads_to: str  # the recommendation this rule argues for


@dataclass(frozen=True)
class Figures:
    claims: int
    net_revenue: Decimal
    margin: Decimal
    expected: Decimal
    underpayment: Decimal
    denial_rate: Decimal | None
    days_to_pay: Decimal | None


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    """Exact (unrounded) percent: thresholds compare exact values; texts show two decimals."""
    return None if not whole else part * 100 / whole


def recommend(fig: Figures) -> tuple[str, list[dict[str, Any]]]:
    """(recommendation, reasons as dicts) for one contract's quarter."""
    if fig.claims == 0:
        return "keep", [asdict(Reason("no_volume", True, "No claims under this contract in the quarter: nothing to "
                                                         "act on yet.", "keep"))]
    margin_pct = _pct(fig.margin, fig.net_revenue)
    under_pct = _pct(fig.underpayment, fig.expected)
    denial_text = f"{fig.denial_rate}%" if fig.denial_rate is not None else "undefined (nothing adjudicated)"
    reasons = [
        Reason("negative_margin", fig.margin < 0,
               f"Net contribution margin {fig.margin:,.2f} "
               f"{'is below zero' if fig.margin < 0 else 'is not negative'} (exit when below zero).", "exit"),
        Reason("thin_margin", margin_pct is not None and margin_pct < MARGIN_PCT,
               f"Margin is {f'{margin_pct:.2f}%' if margin_pct is not None else 'undefined (no net revenue)'}"
               " of net revenue (renegotiate below {MARGIN_PCT}%).",
               "renegotiate"),
        Reason("underpayment", under_pct is not None and under_pct >= UNDERPAYMENT_PCT,
               f"Underpayment {fig.underpayment:,.2f} is "
               f"{f'{under_pct:.2f}%' if under_pct is not None else 'undefined (nothing expected)'} of expected "
               f"reimbursement (renegotiate at {UNDERPAYMENT_PCT}% or more).", "renegotiate"),
        Reason("denials", fig.denial_rate is not None and fig.denial_rate >= DENIAL_RATE_PCT,
               f"Denial rate {denial_text} (renegotiate at {DENIAL_RATE_PCT}% or more).", "renegotiate"),
        Reason("slow_pay", fig.days_to_pay is not None and fig.days_to_pay > DAYS_TO_PAY,
               f"Days to pay {fig.days_to_pay if fig.days_to_pay is not None else 'undefined (nothing paid)'} "
               f"(renegotiate above {DAYS_TO_PAY}).", "renegotiate"),
    ]
    if reasons[0].triggered:
        outcome = "exit"
    elif any(r.triggered for r in reasons[1:]):
        outcome = "renegotiate"
    else:
        outcome = "keep"
    return outcome, [asdict(r) for r in reasons]
