"""The outbox port: what webhook delivery needs from storage, and the records it trades.

    pending ─┐                 ┌─ 2xx from every target ──────────▶ delivered
             ├─ claim ─▶ delivering ─ a failure, attempts left ──▶ failed ─┐
    failed ──┘   ▲             ├─ a failure, no attempts left ───▶ dead    │
                 │             └─ lease over, worker never reported:        │
                 │                claimable again (dead if no attempts left)│
                 └──────────────── next_attempt_at reached ─────────────────┘

A claim moves due messages to `delivering`, adds one to `attempts` and holds them until
the end of its lease; `attempts` is the claim token. An outcome is recorded only while the
message is still `delivering` at that attempt, so a worker whose lease ran out (and whose
message was claimed again) can never overwrite the newer claim's outcome. Every method is
one short transaction; the HTTP requests run outside any.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

PENDING = "pending"
DELIVERING = "delivering"
DELIVERED = "delivered"
FAILED = "failed"
DEAD = "dead"
STATUSES = (PENDING, DELIVERING, FAILED, DELIVERED, DEAD)

Wanted = tuple[Collection[str] | None, Collection[str] | None, datetime | None]
"""What one target takes: its effect kinds, its properties (None: all of them) and the
messages created since when (None: all)."""


@dataclass(frozen=True)
class Claim:
    """A message this worker holds until `lease_until`; `attempt` is the claim token."""

    id: int
    incident_id: str
    site: str
    seq: int
    kind: str
    payload: str
    created_at: datetime
    attempt: int
    lease_until: datetime
    accepted_by: frozenset[str] = frozenset()  # target URLs that took it on an earlier try

    @property
    def event(self) -> str:
        return f"{self.incident_id}:{self.seq}"


@dataclass(frozen=True)
class MessageStatus:
    """One outbox message. `next_attempt_at` is when it is due (pending, failed) or when
    its current claim's lease ends (delivering); it means nothing once delivered or dead."""

    id: int
    incident_id: str
    seq: int
    event: str
    kind: str
    status: str
    attempts: int
    created_at: str
    next_attempt_at: str
    delivered_at: str | None
    last_error: str | None
    accepted_by: list[str]  # target URLs that took it; a retry goes to the others


class OutboxStore(Protocol):
    """The outbox's delivery state; each method is one transaction (or one read)."""

    def claim(
        self,
        now: datetime,
        *,
        limit: int,
        lease: timedelta,
        max_attempts: int,
        wanted: Sequence[Wanted] | None = None,
    ) -> tuple[list[Claim], int]:
        """Claim up to `limit` due messages until `now + lease`: those some entry of
        `wanted` covers (its kinds and properties; None in an entry: any), or any message
        if `wanted` is None.

        A message whose previous claim ran out of lease on its last allowed attempt is
        marked dead here instead of being claimed again; the second value counts them."""
        ...

    def mark_delivered(
        self, claim: Claim, now: datetime, accepted_by: Collection[str] = ()
    ) -> bool:
        """Record a successful delivery; False if this claim no longer holds the message.
        An earlier attempt's `last_error` is kept: it tells why delivery took a while."""
        ...

    def mark_failed(
        self,
        claim: Claim,
        error: str,
        retry_at: datetime | None,
        accepted_by: Collection[str] = (),
    ) -> bool:
        """Record a failed attempt: retry at `retry_at`, or dead when it is None.
        `accepted_by`: the targets that took it so far, which a retry leaves out.
        False if this claim no longer holds the message."""
        ...

    def status(
        self,
        incident_id: str | None = None,
        *,
        statuses: Sequence[str] | None = None,
        limit: int = 1000,
    ) -> tuple[dict[str, int], list[MessageStatus]]:
        """From one read that takes no write lock: the number of messages per status
        present (one incident's, or all), and up to `limit` of the messages (only those
        in `statuses`, if given), oldest first."""
        ...

    def rows(self, incident_id: str | None = None) -> list[dict[str, Any]]:
        """Every message (one incident's, or all) as stored, its `payload` and
        `accepted_by` parsed, oldest first."""
        ...
