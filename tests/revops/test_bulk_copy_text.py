"""COPY text written by the caller (revops.bulk.CopyText): the staged values are exactly what
psycopg's ``Copy.write_row`` stages, nasty text included (that goes through psycopg's dumpers)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction

from rcm_feeds.models import DenialStatus
from rcm_feeds.services import claims, remittances
from revops import bulk

NASTY = ["back\\slash", "tab\there", "new\nline", "carriage\rreturn", "\\N", "", "ünïcødé ✓ 漢字", "x\x08\x0b\x0c",
         "trailing\\", "{a,b}", '"quoted"', "NULL"]


def _staged(table: str, columns: tuple[str, ...], rows: list[tuple], text: bulk.CopyText | None) -> list[tuple]:
    staging = bulk.staging_create(table, columns)
    assert bulk.staging_copy(staging, columns, rows, text) == len(rows)
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{staging}"')
        out = cursor.fetchall()
    bulk.staging_drop(staging)
    return out


def _both(table: str, columns: tuple[str, ...], rows: list[tuple], text: bulk.CopyText) -> list[tuple]:
    with transaction.atomic():
        fast = _staged(table, columns, rows, text)
        reference = _staged(table, columns, rows, None)
    assert fast == reference  # same values, same order
    return fast


def _sp(i: int, text: str = "HC", remarks: object = "{N130,M15}", units: object = Decimal("1.50"),
        day: object = dt.date(2024, 1, 5)) -> tuple:
    return (1000 + i, i, text, "99213", "25:59", "", Decimal("125.00"), Decimal("-80.50"), units, day, remarks,
            i % 2 == 0, i % 3 != 0)


@pytest.mark.django_db
def test_clean_rows_take_the_fast_path_and_match_write_row(monkeypatch):
    calls = []
    lines = remittances.SP_TEXT.lines
    text = bulk.CopyText(lines=lambda rows: calls.append(len(rows)) or lines(rows), texts=remittances.SP_TEXT.texts)
    rows = [_sp(i, units=None if i % 4 == 0 else Decimal("1.50"), day=None if i % 5 == 0 else dt.date(2024, 2, i % 28 + 1))
            for i in range(50)]
    staged = _both("rcm_feeds_servicepayment", remittances.SP_COLUMNS, rows, text)
    assert calls == [50]
    assert staged == [tuple(list(r[:10]) + [["N130", "M15"]] + list(r[11:])) for r in rows]


@pytest.mark.django_db
@pytest.mark.parametrize("nasty", NASTY)
def test_nasty_text_is_staged_exactly(monkeypatch, nasty):
    monkeypatch.setattr(bulk, "COPY_CHUNK", 3)  # clean chunks around the nasty one keep their order
    rows = [_sp(i) for i in range(4)] + [_sp(4, text=nasty[:2])] + [_sp(i) for i in range(5, 9)]
    rows.append((1, 9, "HC", nasty, nasty[:20], nasty[:4], Decimal("0"), Decimal("0"), None, None, "{}", True, False))
    staged = _both("rcm_feeds_servicepayment", remittances.SP_COLUMNS, rows, remittances.SP_TEXT)
    assert staged[9][3:6] == (nasty, nasty[:20], nasty[:4])
    assert staged[4][2] == nasty[:2]


@pytest.mark.django_db
def test_lists_and_nulls_in_text_columns_go_through_psycopg():
    rows = [_sp(0, remarks=["A B", 'q"uote', "b\\slash", "NULL", ""]), _sp(1), _sp(2, remarks=[])]
    staged = _both("rcm_feeds_servicepayment", remittances.SP_COLUMNS, rows, remittances.SP_TEXT)
    assert staged[0][10] == ["A B", 'q"uote', "b\\slash", "NULL", ""]
    assert staged[2][10] == []
    none_text = [(1, None, "CO", None, Decimal("1.00"), None)]
    assert _both("rcm_feeds_adjustment", remittances.ADJ_COLUMNS, none_text, remittances.ADJ_TEXT) == [
        (1, None, "CO", None, Decimal("1.00"), None)]


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["PCN-1", "P\\C\tN"])
def test_every_table_format_matches_write_row(text):
    day = dt.date(2023, 12, 31)
    cp = [(7, None if i else 9, i, text, "1", Decimal("10.00"), Decimal("-5.25"), None if i else Decimal("1.10"),
           Decimal("0.00"), "MC", text, "1", "ab" * 32, None if i else day, day, bool(i), not i, True,
           None if i else 3) for i in range(3)]
    _both("rcm_feeds_claimpayment", remittances.CP_COLUMNS, cp, remittances.CP_TEXT)
    adj = [(7, None if i else 8, "CO", text[:5], Decimal("12.34"), None if i else Decimal("2")) for i in range(3)]
    _both("rcm_feeds_adjustment", remittances.ADJ_COLUMNS, adj, remittances.ADJ_TEXT)
    den = [(7, None if i else 8, None if i else 9, "claim", None if i else 4, None if i else 5, "coding",
            "{CO16,PR1}", "{}" if i else "{N130}", Decimal("99.99"), day, DenialStatus.OPEN) for i in range(3)]
    staged = _both("rcm_feeds_denial", remittances.DENIAL_COLUMNS, den, remittances.DENIAL_TEXT)
    assert staged[0][11] == "open"
    claim = [(1, i, text, "P", None if i else 2, None if i else 3, None if i else 4, None if i else 5, "1234567893",
              "cd" * 32, Decimal("150.00"), "11", "1", "" if i else text, None if i else 6, text, "{F1010,Z000}",
              None if i else day, day, dt.date(2024, 1, 2), bool(i), text, "") for i in range(3)]
    _both("rcm_feeds_claim", claims.CLAIM_COLUMNS, claim, claims.CLAIM_TEXT)
    line = [(1, i, text, "", "0450", Decimal("75.00"), None if i else Decimal("3.5"), None if i else day, text)
            for i in range(3)]
    _both("rcm_feeds_claimline", claims.LINE_COLUMNS, line, claims.LINE_TEXT)


def test_date_text_is_iso_and_null():
    assert bulk.date_text(dt.date(2024, 3, 9)) == "2024-03-09"
    assert bulk.date_text(None) == "\\N"
    assert bulk.date_text_cached(dt.date(2024, 3, 9)) == "2024-03-09"
