"""`NotificationStore` in memory."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from recovery.service.ports.notifications import Derive, StoredNotice
from recovery.storage.memory.incidents import MemoryIncidentLog


class MemoryNotificationStore:
    def __init__(self, log: MemoryIncidentLog) -> None:
        self._log = log
        self._lock = threading.Lock()
        self.rows: list[StoredNotice] = []
        self._keys: set[tuple[str, str, int, str]] = set()
        self._marks: dict[str, int] = {}

    def tell(self, incident_id: str, derive: Derive, now: datetime) -> int:
        with self._lock:
            told = self._marks.get(incident_id, 0)
            upto, notices = derive(told)
            if upto <= told:
                return 0
            stored = 0
            for n in notices:
                key = (n.recipient, n.incident_id, n.seq, n.kind)
                if key in self._keys:
                    continue
                self._keys.add(key)
                self.rows.append(StoredNotice(len(self.rows) + 1, *n, now, None))
                stored += 1
            self._marks[incident_id] = upto
            return stored

    def untold(self, statuses: Sequence[str], limit: int) -> list[str]:
        with self._log.lock:
            found = [
                key
                for key, row in self._log.rows.items()
                if row.status in statuses and row.version > self._marks.get(key, 0)
            ]
        return found[:limit]

    def unread_count(self, recipient: str) -> int:
        with self._lock:
            return sum(1 for r in self.rows if r.recipient == recipient and r.read_at is None)

    def list(self, recipient: str, *, limit: int = 100) -> list[StoredNotice]:
        with self._lock:
            return [r for r in reversed(self.rows) if r.recipient == recipient][:limit]

    def mark_read(self, recipient: str, ids: Sequence[int] | None, now: datetime) -> int:
        wanted = None if ids is None else set(ids)
        changed = 0
        with self._lock:
            for i, r in enumerate(self.rows):
                mine = r.recipient == recipient and r.read_at is None
                if mine and (wanted is None or r.id in wanted):
                    self.rows[i] = r._replace(read_at=now)
                    changed += 1
        return changed
