"""Overlap a bulk load's database work with the Python work that prepares the next batch.

A large load (an 835 or 837 file) alternates between Python (parse a batch, build its rows) and
Postgres (COPY, ``INSERT ... SELECT``, lookups). Run one after the other, the worker's core idles
while Postgres works and Postgres idles while Python works. ``BackgroundFlush`` runs a batch's
flush in a second thread **on the same connection, inside the same transaction**, while the
calling thread goes on with the next batch:

- The flush uses Django's connection as usual: the thread is handed the caller's connection
  object (``connections[alias] = ...``, with Django's thread sharing switched on for the block,
  as its live-server tests do) and the caller's context variables (the active organization), so
  row-level security and ``revops.bulk`` work unchanged, and everything still commits or rolls
  back with the caller's transaction.
- One flush at a time: ``submit`` first waits for the previous one.
- **The connection is never used by both threads at once**: an execute wrapper (installed first,
  so it runs before the tenant-setting one) makes any statement the *calling* thread sends wait
  until the flush in flight has finished. Code that runs in the calling thread while a flush is
  in flight (resolving a new payer, say) therefore needs no care; it waits, then runs.
- An exception in a flush is raised in the calling thread, at the next ``submit``/``wait``, at
  its next statement, or when the block exits, whichever comes first. A flush's exception
  wins over one the calling thread raised meanwhile: it belongs to an earlier batch, i.e. to
  an earlier position in the file.

Python threads share one interpreter lock, so the gain is the database time hidden behind the
calling thread's Python work (bench/rcm_load.py measures it), not two cores of Python. Handing
over whole batches (10,000 claims) keeps the lock hand-offs few; an earlier attempt that queued
single records between threads was slower than no thread at all. Each time a statement of the
flush returns, its thread must win the interpreter lock back from the busy parsing thread, which
by default hands it over only every 5 ms; the block lowers that switch interval to 0.5 ms (and
restores it), which took a 100,000-claim 837 from 11.9 s to 9.0-9.5 s in the same bench.
"""
from __future__ import annotations

import contextvars
import sys
import threading
from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections


class BackgroundFlush:
    """``with BackgroundFlush(on_done=...) as bg: bg.submit(flush, batch); ...; bg.wait()``.

    ``on_done`` runs in the calling thread after each flush has finished without error (to merge
    what the flush collected: counts, warnings).
    """

    def __init__(self, *, on_done: Callable[[], None] | None = None, using: str = DEFAULT_DB_ALIAS,
                 switch_interval: float = 0.0005) -> None:
        self.using = using
        self.on_done = on_done
        self.switch_interval = switch_interval
        self._interval = sys.getswitchinterval()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._owner = threading.get_ident()
        self._connection: Any = None

    # -- the block -----------------------------------------------------------------------------

    def __enter__(self) -> BackgroundFlush:
        connection = connections[self.using]
        connection.ensure_connection()
        connection.inc_thread_sharing()
        connection.execute_wrappers.insert(0, self._barrier)
        self._connection = connection
        self._owner = threading.get_ident()
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(self.switch_interval)
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            self._join()
        finally:
            sys.setswitchinterval(self._interval)
            self._connection.execute_wrappers.remove(self._barrier)
            self._connection.dec_thread_sharing()
        error, self._error = self._error, None
        if error is not None:
            raise error
        if exc is None and self.on_done is not None:
            self.on_done()

    # -- work ------------------------------------------------------------------------------------

    def submit(self, flush: Callable[..., Any], *args: Any) -> None:
        """Run ``flush(*args)`` in the background once the previous flush has finished."""
        if self._connection is None:
            raise RuntimeError("BackgroundFlush.submit outside its with-block")
        self.wait()
        context = contextvars.copy_context()
        connection = self._connection

        def run() -> None:
            connections[self.using] = connection
            try:
                context.run(flush, *args)
            except BaseException as exc:  # handed to the calling thread
                self._error = exc

        self._thread = threading.Thread(target=run, name="revops-background-flush", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Wait for the flush in flight; raise its exception, if it had one."""
        if threading.get_ident() != self._owner:
            return
        had_flush = self._join()
        error, self._error = self._error, None
        if error is not None:
            raise error
        if had_flush and self.on_done is not None:
            self.on_done()

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def _join(self) -> bool:
        thread, self._thread = self._thread, None
        if thread is None:
            return False
        thread.join()
        return True

    def _barrier(self, execute: Any, sql: Any, params: Any, many: bool, context: dict[str, Any]) -> Any:
        if self._thread is not None and threading.get_ident() == self._owner:
            self.wait()
        return execute(sql, params, many, context)
