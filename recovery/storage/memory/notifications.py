"""`NotificationStore` in memory."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from recovery.domain.personal import REDACTED
from recovery.service.ports.notifications import StoredNotice, Told
from recovery.storage.memory.incidents import MemoryIncidentLog


class MemoryNotificationStore:
    def __init__(self, log: MemoryIncidentLog) -> None:
        self._log = log
        self._lock = threading.Lock()
        self.rows: list[StoredNotice] = []
        self._keys: set[tuple[str, str, int, str]] = set()
        self._marks: dict[str, int] = {}
        self._claims: dict[int, datetime] = {}

    def erase_personal(self, incident_id: str) -> None:
        """What the incident's notifications said, gone; who was told and when, kept."""
        with self._lock:
            self.rows = [
                n._replace(message=REDACTED) if n.incident_id == incident_id else n
                for n in self.rows
            ]

    def marks(self, incident_ids: Sequence[str]) -> dict[str, int]:
        with self._lock:
            return {key: self._marks.get(key, 0) for key in incident_ids}

    def record(self, told: Sequence[Told], now: datetime) -> tuple[int, list[str]]:
        stored, moved_on = 0, []
        with self._lock:
            for item in told:
                if self._marks.get(item.incident_id, 0) != item.after:
                    moved_on.append(item.incident_id)
                    continue
                self._marks[item.incident_id] = item.upto
                for n in item.notices:
                    key = (n.recipient, n.incident_id, n.seq, n.kind)
                    if key not in self._keys:
                        self._keys.add(key)
                        self.rows.append(StoredNotice(len(self.rows) + 1, *n, now, None))
                        stored += 1
        return stored, moved_on

    def untold(self, statuses: Sequence[str], limit: int) -> list[str]:
        with self._log.lock:
            found = [
                key
                for key, row in self._log.rows.items()
                if row.status in statuses and row.version > self._marks.get(key, 0)
            ]
        return found[:limit]

    def claim_mail(
        self, since: Sequence[tuple[str, datetime]], now: datetime, stale: datetime, limit: int
    ) -> list[StoredNotice]:
        start = dict(since)
        claimed: list[StoredNotice] = []
        with self._lock:
            for r in self.rows:
                if len(claimed) >= limit:
                    break
                wanted = r.recipient in start and r.created_at >= start[r.recipient]
                held = self._claims.get(r.id)
                if wanted and r.mailed_at is None and (held is None or held < stale):
                    self._claims[r.id] = now
                    claimed.append(r)
        return claimed

    def finish_mail(self, ids: Sequence[int], now: datetime) -> None:
        done = set(ids)
        with self._lock:
            for i, r in enumerate(self.rows):
                if r.id in done:
                    self.rows[i] = r._replace(mailed_at=now)

    def release_mail(self, ids: Sequence[int]) -> None:
        with self._lock:
            for notice_id in ids:
                self._claims.pop(notice_id, None)

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
