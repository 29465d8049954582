"""Where engine calls run.

Reads go to the shared thread pool. Writes do too on PostgreSQL (row locks let them run in
parallel). On SQLite, which admits one writer at a time, a write runs right on the event
loop: it takes a few hundred microseconds, and handing it to a thread costs more than that
(a thread hop and the GIL traded back and forth), while threads polling for SQLite's lock
cost far more still (p99 near a second under load). What a write must not do on the loop
is wait for the disk: it commits without syncing, and its reply awaits the fsync that makes
it durable, run on the loop's executor, one fsync for every write waiting then
(`Storage.deferred_sync`). Measured with `benchmarks/http.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool

from recovery.service.ports import PendingSync

Deferred = Callable[[], AbstractContextManager[Sequence[tuple[PendingSync, int]]]]

P = ParamSpec("P")
T = TypeVar("T")


class Runner:
    def __init__(self, *, serial_writes: bool, deferred: Deferred) -> None:
        self._inline_writes = serial_writes
        self._deferred = deferred

    async def read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await run_in_threadpool(fn, *args, **kwargs)

    async def write(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._inline_writes:
            with self._deferred() as pending:
                result = fn(*args, **kwargs)
            for log, ticket in pending:  # on disk before the reply: on a thread, so the
                await log.wait_async(ticket)  # the loop serves others meanwhile
            return result
        return await run_in_threadpool(fn, *args, **kwargs)

    def close(self) -> None:
        """Nothing to release: writes run inline or on the shared pool."""
