"""Where blocking engine calls run, so the event loop never waits on the database.

Reads go to the shared thread pool. Writes do too on PostgreSQL (row locks let them run in
parallel), but on SQLite they queue on ONE thread: SQLite admits one writer at a time, and
threads polling for its lock cost far more (p99 near a second under load) than a queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool

P = ParamSpec("P")
T = TypeVar("T")


class Runner:
    def __init__(self, *, serial_writes: bool) -> None:
        self._writer = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="recovery-writer")
            if serial_writes
            else None
        )

    async def read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await run_in_threadpool(fn, *args, **kwargs)

    async def write(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._writer is None:
            return await run_in_threadpool(fn, *args, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, partial(fn, *args, **kwargs))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.shutdown(wait=True)
