"""The notifications port: what each person was told, when, and whether they read it; and
how far each incident's events have been told (so each is told once)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple, Protocol


class NewNotice(NamedTuple):
    """One thing to tell one person, caused by one event."""

    recipient: str
    incident_id: str
    seq: int
    kind: str
    site: str
    message: str


class StoredNotice(NamedTuple):
    id: int
    recipient: str
    incident_id: str
    seq: int
    kind: str
    site: str
    message: str
    created_at: datetime
    read_at: datetime | None


# Given how far the incident's events were told: how far they are now, and the notices.
Derive = Callable[[int], tuple[int, Sequence[NewNotice]]]


class NotificationStore(Protocol):
    def tell(self, incident_id: str, derive: Derive, now: datetime) -> int:
        """In ONE transaction holding the incident's mark (other workers wait): call
        `derive` with the seq told so far, store its notices (one per recipient, event and
        kind, whatever happens) and move the mark on. How many were stored."""
        ...

    def untold(self, statuses: Sequence[str], limit: int) -> list[str]:
        """Incidents in `statuses` with events not told yet (a worker's catch-up)."""
        ...

    def unread_count(self, recipient: str) -> int: ...

    def list(self, recipient: str, *, limit: int = 100) -> list[StoredNotice]:
        """Newest first."""
        ...

    def mark_read(self, recipient: str, ids: Sequence[int] | None, now: datetime) -> int:
        """Mark the recipient's notices `ids` (None: all) read; how many were unread."""
        ...
