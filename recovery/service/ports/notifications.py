"""The notifications port: what each person was told, when, and whether they read it; and
how far each incident's events have been told (so each is told once)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple, Protocol


class NewNotice(NamedTuple):
    """One thing to tell one person, caused by one event. `message` is English (a `str`,
    as the API gives it); when it is `Said`, the store keeps its words too, so each
    person reads it in their own language."""

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
    """English as a `str`; `Said` (to be said in the reader's language) when its words
    were kept"""
    created_at: datetime
    read_at: datetime | None
    mailed_at: datetime | None = None
    """when the mailer accepted the e-mail that told it (None: not mailed)"""


class Told(NamedTuple):
    """What one incident's events from `after` (exclusive) to `upto` tell."""

    incident_id: str
    after: int
    upto: int
    notices: Sequence[NewNotice]


class NotificationStore(Protocol):
    def marks(self, incident_ids: Sequence[str]) -> dict[str, int]:
        """How far each incident's events have been told (0: not at all)."""
        ...

    def record(self, told: Sequence[Told], now: datetime) -> tuple[int, list[str]]:
        """In ONE transaction, for each: move the incident's mark from `after` to `upto`
        and store its notices, only if the mark is still at `after` (another worker may
        have told them meanwhile; a notice is stored once per recipient, event and kind
        whatever happens). How many notices were stored, and the incidents whose mark
        had moved on (to be derived again)."""
        ...

    def untold(self, statuses: Sequence[str], limit: int) -> list[str]:
        """Incidents in `statuses` with events not told yet (a worker's catch-up)."""
        ...

    def claim_mail(
        self, since: Sequence[tuple[str, datetime]], now: datetime, stale: datetime, limit: int
    ) -> list[StoredNotice]:
        """In one statement, claim (at `now`) up to `limit` notices not mailed yet of each
        (recipient, created since) in `since`, oldest first: unclaimed, or claimed before
        `stale` by a worker that never finished. A notice is claimed by one worker."""
        ...

    def finish_mail(self, ids: Sequence[int], now: datetime) -> None:
        """The mailer accepted the e-mail telling these notices at `now`."""
        ...

    def release_mail(self, ids: Sequence[int]) -> None:
        """Not mailed (the mailer refused): to be claimed again."""
        ...

    def unread_count(self, recipient: str) -> int: ...

    def list(self, recipient: str, *, limit: int = 100) -> list[StoredNotice]:
        """Newest first."""
        ...

    def mark_read(self, recipient: str, ids: Sequence[int] | None, now: datetime) -> int:
        """Mark the recipient's notices `ids` (None: all) read; how many were unread."""
        ...
