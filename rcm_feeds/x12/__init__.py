"""Our X12 engine: streaming tokenizer, 835/837/277CA/999 parsers, balancing and denial rules.

Plain Python, no Django: the ingestion services feed it binary file objects and load what it
yields. See docs/x12.md for what is extracted and every rule.
"""
from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import BinaryIO

from . import ack, claim837, remit835
from .ack import AckBatch277, ClaimAck, GroupAck, TransactionAck, parse_277ca, parse_999
from .claim837 import parse_837
from .errors import X12Error, X12Warning
from .records import (
    Adjustment,
    BillingProvider,
    Claim,
    ClaimBatch,
    ClaimPayment,
    OtherPayer,
    ProviderAdjustment,
    Remittance,
    RemittanceEnd,
    ServiceLine,
    ServicePayment,
    Subscriber,
)
from .remit835 import parse_835
from .tokenizer import Segment, Separators, Tokenizer

Record = (Remittance | ClaimPayment | RemittanceEnd | ClaimBatch | Claim | AckBatch277 | ClaimAck
          | TransactionAck | GroupAck)

__all__ = [
    "AckBatch277",
    "Adjustment",
    "BillingProvider",
    "Claim",
    "ClaimAck",
    "ClaimBatch",
    "ClaimPayment",
    "GroupAck",
    "OtherPayer",
    "ProviderAdjustment",
    "Record",
    "Remittance",
    "RemittanceEnd",
    "Segment",
    "Separators",
    "ServiceLine",
    "ServicePayment",
    "Subscriber",
    "Tokenizer",
    "TransactionAck",
    "X12Error",
    "X12Warning",
    "parse",
    "parse_277ca",
    "parse_835",
    "parse_837",
    "parse_999",
]


def parse(source: BinaryIO, *, strict: bool = False, balance: bool = True) -> Iterator[Record]:
    """Parse whichever transaction the file holds (835, 837, 277, 999), told by its first ST.

    All transaction sets in the file must be of that kind; another kind raises X12Error.
    """
    tok = Tokenizer(source)
    segments = iter(tok)
    head = []
    for seg in segments:
        head.append(seg)
        if seg[0][0] == "ST":
            break
    else:
        last = head[-1]
        raise X12Error("empty_interchange", "the interchange holds no transaction set",
                       segment=last[1], offset=last[2], line=last[3], segment_id=last[0][0])
    assert tok.transaction is not None
    set_id = tok.transaction.set_id
    stream = chain(head, segments)
    if set_id == "835":
        return remit835._parse(tok, stream, strict=strict, balance=balance)
    if set_id == "837":
        return claim837._parse(tok, stream, strict=strict, balance=balance)
    if set_id == "277":
        return ack._parse_277(tok, stream)
    if set_id == "999":
        return ack._parse_999(tok, stream)
    st = head[-1]
    raise X12Error("unsupported", f"transaction set {set_id[:6]!r} is not one the engine reads "
                                  "(835, 837, 277, 999)",
                   segment=st[1], offset=st[2], line=st[3], segment_id="ST")
