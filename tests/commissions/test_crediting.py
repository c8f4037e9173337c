"""Crediting SQL on the hand-made world of tests/commissions/fixtures.py (expected credits by hand)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from commissions.models import CreditRule, Transaction
from commissions.services import crediting
from commissions.services.transactions import splits_replace, transactions_upsert
from revops.tenancy import tenant_context
from tests.commissions import fixtures

pytestmark = pytest.mark.django_db


def _credits(cw: dict, start=fixtures.MAR, end=fixtures.APR) -> set[tuple]:
    frame = crediting.credits_for(start=start, end=end)
    names = {cw[k].pk: k for k in ("pat", "quinn", "olive", "mo", "dee")}
    txns = dict(Transaction.objects.values_list("pk", "external_id"))
    return {(txns[r.txn_id], names[r.person_id], r.role, int(r.credited_cents)) for r in frame.itertuples()}


def test_owner_split_overlay_and_two_override_levels(world):
    with tenant_context(world.a.org):
        cw = fixtures.build()
        got = _credits(cw)
    assert got == {
        # X1 6,000 on account A (T1, Pat): Olive overlays T1; Mo 100%, Dee 50% of Pat's credit.
        ("X1", "pat", "owner", 600000), ("X1", "olive", "overlay", 600000),
        ("X1", "mo", "override", 600000), ("X1", "dee", "override", 300000),
        # X2 4,000 split 75/25: no territory, so no overlay; overrides follow each split credit.
        ("X2", "quinn", "split", 300000), ("X2", "pat", "split", 100000),
        ("X2", "mo", "override", 300000), ("X2", "mo", "override", 100000),
        ("X2", "dee", "override", 150000), ("X2", "dee", "override", 50000),
        # X3 5,000 on account B (T1, Pat).
        ("X3", "pat", "owner", 500000), ("X3", "olive", "overlay", 500000),
        ("X3", "mo", "override", 500000), ("X3", "dee", "override", 250000),
    }


def test_every_credit_carries_the_version_the_person_is_paid_under(world):
    with tenant_context(world.a.org):
        cw = fixtures.build()
        frame = crediting.credits_for(start=fixtures.MAR, end=fixtures.APR)
        expected = {cw["pat"].pk: cw["ae"].pk, cw["quinn"].pk: cw["ae"].pk, cw["olive"].pk: cw["overlay"].pk,
                    cw["mo"].pk: cw["leader"].pk, cw["dee"].pk: cw["leader"].pk}
        assert {(int(r.person_id), int(r.version_id)) for r in frame.itertuples()} == set(expected.items())


def test_team_credit_goes_to_the_other_members_of_the_team(world):
    with tenant_context(world.a.org):
        cw = fixtures.build()
        CreditRule.objects.all().delete()
        CreditRule.objects.create(name="Team", kind="team", share=Decimal("0.1"))
        got = _credits(cw)
    # Pat and Quinn are the West team: each gets 10% of the other's credit.
    assert got == {
        ("X1", "pat", "owner", 600000), ("X1", "quinn", "team", 60000),
        ("X2", "quinn", "split", 300000), ("X2", "pat", "team", 30000),
        ("X2", "pat", "split", 100000), ("X2", "quinn", "team", 10000),
        ("X3", "pat", "owner", 500000), ("X3", "quinn", "team", 50000),
    }


def test_a_named_person_is_credited_directly_and_a_reversal_credits_the_originals_people(world):
    with tenant_context(world.a.org):
        cw = fixtures.build()
        CreditRule.objects.all().delete()
        transactions_upsert(rows=[
            ("P1", "bookings", None, cw["quinn"].pk, None, dt.date(2026, 4, 2), Decimal("700"), "", None, "", ""),
            # Reverses X2 (split 75/25 in March) in April: credited by the original's splits.
            ("R2", "bookings", cw["accounts"]["C"].pk, None, None, dt.date(2026, 4, 9), Decimal("-4000"), "",
             "X2", "cancellation", ""),
        ])
        got = _credits(cw, start=fixtures.APR, end=dt.date(2026, 5, 1))
        frame = crediting.credits_for(start=fixtures.APR, end=dt.date(2026, 5, 1))
        x2 = Transaction.objects.get(external_id="X2")
        reversal = frame[frame["reverses_txn_id"] > 0]
    assert got == {("P1", "quinn", "direct", 70000), ("R2", "quinn", "split", -300000), ("R2", "pat", "split", -100000)}
    assert set(reversal["reverses_txn_id"]) == {x2.pk}
    assert set(reversal["orig_amount_cents"]) == {400000}
    assert set(reversal["orig_date"].dt.date) == {dt.date(2026, 3, 10)}


def test_unowned_transactions_are_counted_not_dropped(world):
    with tenant_context(world.a.org):
        fixtures.build()
        transactions_upsert(rows=[("U1", "bookings", world.a.objects["account"].pk, None, None, dt.date(2026, 3, 7),
                                   Decimal("250"), "", None, "", "")])
        assert crediting.uncredited(start=fixtures.MAR, end=fixtures.APR) == {
            "unowned_transactions": 1, "unowned_amount": "250.00"}


def test_upsert_is_idempotent_and_refuses_bad_rows(world):
    with tenant_context(world.a.org):
        cw = fixtures.build()
        row = ("X1", "bookings", cw["accounts"]["A"].pk, None, None, dt.date(2026, 3, 5), Decimal("6000"), "Deal 1",
               None, "", "")
        assert transactions_upsert(rows=[row]) == {"received": 1, "inserted": 0, "updated": 0, "unchanged": 1,
                                                   "reversals_linked": 0}
        changed = (*row[:6], Decimal("6500"), *row[7:])
        assert transactions_upsert(rows=[changed])["updated"] == 1
        with pytest.raises(ValidationError, match="appears twice"):
            transactions_upsert(rows=[row, row])
        with pytest.raises(ValidationError, match="not on file"):
            transactions_upsert(rows=[("R9", "bookings", None, cw["pat"].pk, None, dt.date(2026, 3, 5),
                                       Decimal("-1"), "", "NOPE", "", "")])
        with pytest.raises(ValidationError, match="add up to 90.0000%"):
            splits_replace(rows=[("X1", "bookings", cw["pat"].pk, Decimal("0.9"))])


def test_another_organizations_people_cannot_be_credited(world):
    with tenant_context(world.b.org):
        foreign = world.b.objects["person"].pk
    with tenant_context(world.a.org):
        fixtures.build()
        with pytest.raises(ValidationError, match="not in this organization"):
            transactions_upsert(rows=[("F1", "bookings", None, foreign, None, dt.date(2026, 3, 5), Decimal("1"), "",
                                       None, "", "")])
        with pytest.raises(ValidationError, match="not in this organization"):
            splits_replace(rows=[("X1", "bookings", foreign, Decimal("1"))])


def test_the_pandas_crediting_agrees_with_the_one_query_sql_reference(world):
    """Two independent implementations of docs/commissions.md "Crediting": the merges of
    ``credits_for`` and one SQL query (tests/commissions/sql_crediting.py), on every rule kind."""
    from revops.tenancy import require_tenant_id
    from tests.commissions import sql_crediting

    with tenant_context(world.a.org):
        cw = fixtures.build()
        CreditRule.objects.create(name="Team", kind="team", share=Decimal("0.1"))
        transactions_upsert(rows=[
            ("P1", "bookings", cw["accounts"]["B"].pk, cw["quinn"].pk, None, dt.date(2026, 3, 2), Decimal("700"), "",
             None, "", ""),
            ("R2", "bookings", cw["accounts"]["C"].pk, None, None, dt.date(2026, 3, 29), Decimal("-4000"), "",
             "X2", "cancellation", ""),
            ("R3", "bookings", cw["accounts"]["A"].pk, None, None, dt.date(2026, 3, 30), Decimal("-600"), "",
             "X1", "cancellation", ""),
        ])
        fast = crediting.credits_for(start=fixtures.MAR, end=fixtures.APR)
        query = sql_crediting.credits_sql(override_levels=sql_crediting.override_levels())
        slow = crediting.typed_credits(crediting.copy_frame(
            query, {"t": require_tenant_id(), "s": fixtures.MAR, "e": fixtures.APR}))

    def rows(frame):
        return sorted(tuple(str(v) for v in r) for r in frame[crediting.CREDIT_COLUMNS].itertuples(index=False))

    # 8 primary credits (X1, X2 x2, X3, P1, R2 x2, R3), 8 team, 3 overlay (X1, X3, R3 on T1), 8 + 8 overrides.
    assert len(fast) == 35
    assert rows(fast) == rows(slow)


def test_the_unowned_counts_of_crediting_equal_the_uncredited_query(world):
    """A run takes the unowned counts from ``credits_and_unowned`` (the frames crediting already has);
    ``uncredited`` is the one-query statement of the same rule."""
    with tenant_context(world.a.org):
        cw = fixtures.build()
        nobody = world.a.objects["account"].pk  # no owner on any date
        transactions_upsert(rows=[
            ("U1", "bookings", nobody, None, None, dt.date(2026, 3, 7), Decimal("250"), "", None, "", ""),
            ("U2", "bookings", nobody, None, None, dt.date(2026, 3, 8), Decimal("100.10"), "", None, "", ""),
        ])
        transactions_upsert(rows=[
            # A reversal of an unowned deal is unowned too; one of an owned deal (X1, Pat's) is not.
            ("UR1", "bookings", nobody, None, None, dt.date(2026, 3, 20), Decimal("-250"), "", "U1", "cancellation",
             ""),
            ("R1", "bookings", cw["accounts"]["A"].pk, None, None, dt.date(2026, 3, 21), Decimal("-600"), "", "X1",
             "cancellation", ""),
            # Named and split deals are credited whoever owns the account.
            ("N1", "bookings", nobody, cw["quinn"].pk, None, dt.date(2026, 3, 9), Decimal("70"), "", None, "", ""),
        ])
        frame, unowned = crediting.credits_and_unowned(start=fixtures.MAR, end=fixtures.APR)
        sql = crediting.uncredited(start=fixtures.MAR, end=fixtures.APR)
        assert frame.equals(crediting.credits_for(start=fixtures.MAR, end=fixtures.APR))
        empty = crediting.credits_and_unowned(start=dt.date(2027, 1, 1), end=dt.date(2027, 2, 1))[1]
        empty_sql = crediting.uncredited(start=dt.date(2027, 1, 1), end=dt.date(2027, 2, 1))
    # U1 250 + U2 100.10 - UR1 250 = 100.10 over three transactions.
    assert unowned == sql == {"unowned_transactions": 3, "unowned_amount": "100.10"}
    assert empty == empty_sql == {"unowned_transactions": 0, "unowned_amount": "0"}



def test_credits_and_their_digest_do_not_depend_on_the_order_the_server_returns_rows(world, monkeypatch):
    """A large table's sequential scan may start where another scan of it stopped (synchronized scans),
    so the period's transactions can arrive in any order: the credits (and the run's inputs digest)
    come out the same, transactions in id order and splits in (transaction, split) order."""
    from pandas.testing import assert_frame_equal

    from commissions.services import runs

    with tenant_context(world.a.org):
        fixtures.build()  # X2 is split 75/25
        in_order = crediting.credits_for(start=fixtures.MAR, end=fixtures.APR)
        read = crediting.copy_frame
        monkeypatch.setattr(crediting, "copy_frame", lambda *a, **k: read(*a, **k).iloc[::-1].reset_index(drop=True))
        reversed_ = crediting.credits_for(start=fixtures.MAR, end=fixtures.APR)
    assert len(in_order) == 14  # X1 and X3: owner, overlay, two overrides; X2: two splits, four overrides
    assert_frame_equal(in_order, reversed_, check_exact=True)
    assert runs._digest_frame(in_order) == runs._digest_frame(reversed_)
