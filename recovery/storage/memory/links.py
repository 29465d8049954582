"""`MemoryStatusLinkStore`: customers' status links (`service.ports.StatusLinkStore`) in
memory, by the hash of their token, with the SQL adapter's rules, for tests and demos that
need no database."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from recovery.errors import StorageError
from recovery.service.ports.links import StoredLink
from recovery.storage.memory.incidents import MemoryIncidentLog
from recovery.storage.moments import utc

# What the SQL adapter says when the table refuses a row (a hash taken, an unknown incident).
_REFUSED = "status links: database error: IntegrityError"


@dataclass
class _Link:
    incident_id: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None = None


class MemoryStatusLinkStore:
    """Gone when the process ends; safe to share between threads. Given the memory log, a
    link to an incident it does not hold is refused, as the table's foreign key does."""

    def __init__(self, incidents: MemoryIncidentLog | None = None) -> None:
        self._lock = threading.RLock()
        self._incidents = incidents
        self._links: dict[str, _Link] = {}  # by token hash

    def erase_personal(self, incident_id: str) -> None:
        """The incident's links deleted (erased: they open nothing any more)."""
        with self._lock:
            for token_hash in [
                h for h, link in self._links.items() if link.incident_id == incident_id
            ]:
                del self._links[token_hash]

    def add(self, token_hash: str, incident_id: str, created_by: str, now: datetime) -> None:
        if self._incidents is not None:
            with self._incidents.lock:
                known = incident_id in self._incidents.rows
            if not known:
                raise StorageError(_REFUSED)
        with self._lock:
            if token_hash in self._links:
                raise StorageError(_REFUSED)
            self._links[token_hash] = _Link(incident_id, created_by, utc(now))

    def incident_of(self, token_hash: str) -> str | None:
        """The incident a live link opens, or None (unknown or revoked)."""
        with self._lock:
            link = self._links.get(token_hash)
            return None if link is None or link.revoked_at is not None else link.incident_id

    def active_count(self, incident_id: str) -> int:
        with self._lock:
            return len(self._live(incident_id))

    def revoke_all(self, incident_id: str, now: datetime) -> int:
        """End every live link of an incident; how many there were."""
        with self._lock:
            live = self._live(incident_id)
            for link in live:
                link.revoked_at = utc(now)
            return len(live)

    def list_links(self, incident_id: str) -> list[StoredLink]:
        with self._lock:
            found = [
                StoredLink(h, link.incident_id, link.created_by, link.created_at, link.revoked_at)
                for h, link in self._links.items()
                if link.incident_id == incident_id
            ]
        return sorted(found, key=lambda link: (link.created_at, link.token_hash))

    def revoke(self, token_hash: str, now: datetime) -> bool:
        with self._lock:
            link = self._links.get(token_hash)
            if link is None or link.revoked_at is not None:
                return False
            link.revoked_at = utc(now)
            return True

    def _live(self, incident_id: str) -> list[_Link]:
        return [
            link
            for link in self._links.values()
            if link.incident_id == incident_id and link.revoked_at is None
        ]
