"""revops.background_flush: a flush in a second thread on the caller's connection and transaction."""
from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from revops.background_flush import BackgroundFlush
from revops.models import Payer, PayerClass
from revops.tenancy import tenant_context


def _count(name: str) -> int:
    return Payer.objects.filter(name=name).count()


def test_the_flush_runs_in_the_callers_transaction_and_rolls_back_with_it(world):
    seen = {}
    with tenant_context(world.a.org):
        with transaction.atomic():
            Payer.objects.create(name="made by the caller", payer_class=PayerClass.COMMERCIAL)

            def flush() -> None:
                seen["thread"] = threading.current_thread().name
                seen["caller's row"] = _count("made by the caller")  # uncommitted: same transaction
                Payer.objects.create(name="made by the flush", payer_class=PayerClass.COMMERCIAL)

            with BackgroundFlush() as background:
                background.submit(flush)
            assert _count("made by the flush") == 1
            transaction.set_rollback(True)
        assert _count("made by the caller") == 0
        assert _count("made by the flush") == 0
    assert seen == {"thread": "revops-background-flush", "caller's row": 1}


def test_a_statement_of_the_caller_waits_for_the_flush_in_flight(world):
    order = []
    with tenant_context(world.a.org), transaction.atomic():
        def flush() -> None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(0.3)")
            Payer.objects.create(name="slow flush", payer_class=PayerClass.COMMERCIAL)
            order.append("flush done")

        with BackgroundFlush() as background:
            background.submit(flush)
            assert background.busy
            order.append("caller queries")
            assert _count("slow flush") == 1  # waited for the flush before running
        transaction.set_rollback(True)
    assert order == ["caller queries", "flush done"]


def test_the_flush_sees_only_the_active_organization(world):
    seen = []
    with tenant_context(world.b.org), transaction.atomic():
        def flush() -> None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT DISTINCT tenant_id FROM revops_account")
                seen.extend(row[0] for row in cursor.fetchall())

        with BackgroundFlush() as background:
            background.submit(flush)
    assert seen == [world.b.org.pk]


def test_an_error_in_the_flush_is_raised_in_the_caller(world):
    class Boom(Exception):
        pass

    def flush() -> None:
        raise Boom("batch 2 is bad")

    with tenant_context(world.a.org), transaction.atomic():
        with BackgroundFlush() as background:
            background.submit(flush)
            with pytest.raises(Boom, match="batch 2 is bad"):
                background.wait()
            background.wait()  # raised once, not again
        with pytest.raises(Boom):
            with BackgroundFlush() as background:
                background.submit(flush)  # raised when the block exits


def test_the_flushs_error_wins_over_a_later_one_of_the_caller(world):
    def flush() -> None:
        raise ValueError("the earlier batch")

    with tenant_context(world.a.org), transaction.atomic():
        with pytest.raises(ValueError, match="the earlier batch"):
            with BackgroundFlush() as background:
                background.submit(flush)
                raise KeyError("a later position in the file")


def test_one_flush_at_a_time_and_on_done_in_the_callers_thread(world):
    events = []
    caller = threading.get_ident()

    def flush(n: int) -> None:
        events.append(("start", n))
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(0.05)")
        events.append(("end", n))

    def on_done() -> None:
        events.append(("merged", threading.get_ident() == caller))

    with tenant_context(world.a.org), transaction.atomic():
        with BackgroundFlush(on_done=on_done) as background:
            for n in range(3):
                background.submit(flush, n)
    flushes = [e for e in events if e[0] != "merged"]
    assert flushes == [("start", 0), ("end", 0), ("start", 1), ("end", 1), ("start", 2), ("end", 2)]
    assert [e for e in events if e[0] == "merged"] == [("merged", True)] * 3


def test_the_connection_is_left_as_it_was(world):
    wrappers = list(connection.execute_wrappers)
    with tenant_context(world.a.org), transaction.atomic():
        with BackgroundFlush() as background:
            background.submit(lambda: None)
    assert connection.execute_wrappers == wrappers
    assert not connection.allow_thread_sharing


def test_the_switch_interval_is_lowered_for_the_block_and_restored(world):
    import sys

    before = sys.getswitchinterval()
    with tenant_context(world.a.org), transaction.atomic():
        with BackgroundFlush(switch_interval=0.001) as background:
            assert sys.getswitchinterval() == 0.001
            background.submit(lambda: None)
    assert sys.getswitchinterval() == before
