"""The change feed in memory: a poll of the stored versions (tests, `in_memory`)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from recovery.service.ports.changes import Change
from recovery.storage.memory.incidents import MemoryIncidentLog
from recovery.storage.memory.notifications import MemoryNotificationStore


class MemoryChangeSource:
    def __init__(
        self,
        log: MemoryIncidentLog,
        notices: MemoryNotificationStore,
        *,
        poll_interval: float = 0.05,
    ) -> None:
        self._log = log
        self._notices = notices
        self._told = len(notices.rows)
        self._interval = poll_interval
        self._stop = threading.Event()
        self._seen = self._versions()

    def _versions(self) -> dict[str, tuple[int, str]]:
        with self._log.lock:
            return {key: (row.version, row.site) for key, row in self._log.rows.items()}

    def wait(self, timeout: float) -> Sequence[Change]:
        waited = 0.0
        while True:
            now = self._versions()
            found = [
                Change(key, site)
                for key, (version, site) in now.items()
                if self._seen.get(key, (None,))[0] != version
            ]
            self._seen = now
            told = self._notices.rows[self._told :]
            self._told += len(told)
            found += [Change(n.incident_id, n.site, n.recipient) for n in told]
            if found or waited >= timeout or self._stop.wait(self._interval):
                return found
            waited += self._interval

    def close(self) -> None:
        self._stop.set()
