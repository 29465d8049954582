"""The change feed of one process: ONE reader of the database's changes (`ChangeSource`),
fanned out to every open page (and anything else listening) in this process.

A listener is a callback, called on the feed's thread with each batch of changes; it
must return at once (the web layer hands the batch to its event loop). The number of
listeners is bounded: beyond it `listen` returns None and the page simply does not
update live. A database outage is waited out; listeners then get a `Change` for every
incident (`EVERYTHING`), since what happened meanwhile is unknown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from recovery.errors import StorageError
from recovery.service.ports.changes import Change, ChangeSource

log = logging.getLogger("recovery.changes")

Listener = Callable[[Sequence[Change]], None]

# After an outage: anything may have changed.
EVERYTHING = Change("*", "*")


class ChangeFeed:
    """Starts its reader with the first listener; `close` stops it."""

    def __init__(
        self,
        open_source: Callable[[], ChangeSource],
        *,
        max_listeners: int = 500,
        retry_seconds: float = 2.0,
    ) -> None:
        self._open_source = open_source
        self.max_listeners = max_listeners
        self._retry = retry_seconds
        self._listeners: dict[int, Listener] = {}
        self._next = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.generation = 0
        """How many batches this process has heard: a page rendered at one generation
        and listening from a later one missed something, and looks again."""

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def listen(self, listener: Listener) -> Callable[[], None] | None:
        """Call `listener` with each batch of changes from now on; returns the function
        that stops it, or None when the feed is full or closed."""
        with self._lock:
            if self._stop.is_set() or len(self._listeners) >= self.max_listeners:
                return None
            key = self._next
            self._next += 1
            self._listeners[key] = listener
            if self._thread is None:
                # opened here: what is committed once `listen` returns is heard
                source = self._try_open()
                self._thread = threading.Thread(
                    target=self._run, args=(source,), name="recovery-changes"
                )
                self._thread.daemon = True
                self._thread.start()

        def stop() -> None:
            with self._lock:
                self._listeners.pop(key, None)

        return stop

    def _try_open(self) -> ChangeSource | None:
        try:
            return self._open_source()
        except StorageError:
            log.exception("change feed: cannot open; trying again in %gs", self._retry)
            return None

    def _run(self, source: ChangeSource | None) -> None:
        while not self._stop.is_set():
            try:
                if source is None:
                    source = self._open_source()
                changes = source.wait(0.5)
            except StorageError:
                log.exception("change feed: database error; trying again in %gs", self._retry)
                if source is not None:
                    _close(source)
                    source = None
                    self._publish([EVERYTHING])
                self._stop.wait(self._retry)
                continue
            if changes:
                self._publish(changes)
        if source is not None:
            _close(source)

    def _publish(self, changes: Sequence[Change]) -> None:
        with self._lock:
            self.generation += 1
            listeners = list(self._listeners.values())
        for listener in listeners:
            try:
                listener(changes)
            except Exception:  # one broken listener must not starve the others
                log.exception("change feed: a listener failed")

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._lock:
            self._listeners.clear()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)


def _close(source: ChangeSource) -> None:
    try:
        source.close()
    except Exception:
        log.exception("change feed: closing the reader failed")
