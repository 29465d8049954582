"""Webhook endpoints that back offices register themselves (through the API), beside the
targets operators configure on the worker: the port storage implements, and its records.

An endpoint is a `WebhookTarget` whose key in a message's `accepted_by` is `ep:<id>`
(not its URL: two integrations may register the same URL), that takes only messages
created after it was registered, and that is signed with its current secret and, for a
grace period after a rotation, the previous one too. Each request to it is logged
(`webhook_deliveries`), one row per attempt.

    pending message ─▶ claim (one worker) ─▶ POST to each wanting endpoint not in
    accepted_by ─▶ 2xx: `ep:<id>` joins accepted_by, so neither a retry nor another
    worker sends it to that endpoint again; a redelivery takes it out again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from recovery.delivery._targets import WebhookTarget

ENDPOINT_PREFIX = "ep:"


def endpoint_key(endpoint_id: str) -> str:
    """How an endpoint is named in a message's `accepted_by`."""
    return ENDPOINT_PREFIX + endpoint_id


@dataclass(frozen=True)
class Endpoint:
    id: str
    owner: str  # the principal that registered it: `token:NAME`, `user:NAME`, `operator`
    url: str
    kinds: tuple[str, ...] | None  # None: every kind
    sites: tuple[str, ...] | None  # None: every property
    secret: str
    previous_secret: str | None
    previous_until: datetime | None  # the previous secret signs too until then
    created_at: datetime
    deleted_at: datetime | None = None

    def target(self, now: datetime) -> WebhookTarget:
        """The endpoint as the worker delivers to it at `now`."""
        old = (
            self.previous_secret
            if self.previous_secret and self.previous_until and now < self.previous_until
            else None
        )
        return WebhookTarget(
            self.url,
            self.secret,
            self.kinds,
            self.sites,
            key=endpoint_key(self.id),
            old_secret=old,
            since=self.created_at,
        )


@dataclass(frozen=True)
class Attempt:
    """One request to an endpoint: what it answered (`status_code`, None when no answer
    came) or what went wrong, and how long it took."""

    endpoint_id: str
    message_id: int
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: int
    at: datetime


@dataclass(frozen=True)
class LoggedAttempt(Attempt):
    id: int = 0
    event: str = ""
    kind: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class EndpointStore(Protocol):
    """Registered endpoints and their delivery log; each method is one transaction."""

    def add(self, endpoint: Endpoint) -> None: ...

    def get(self, endpoint_id: str) -> Endpoint | None:
        """An endpoint, deleted or not (None: unknown)."""
        ...

    def list_endpoints(self, owner: str | None = None) -> list[Endpoint]:
        """Live endpoints (one owner's, or all), oldest first."""
        ...

    def count(self, owner: str) -> int:
        """How many live endpoints an owner has."""
        ...

    def rotate(
        self, endpoint_id: str, secret: str, previous_until: datetime | None
    ) -> Endpoint | None:
        """Give a live endpoint a new secret; the old one keeps signing until
        `previous_until` (None: it stops now). None if the endpoint is unknown or deleted."""
        ...

    def delete(self, endpoint_id: str, now: datetime) -> Endpoint | None:
        """Stop delivering to a live endpoint (its log stays). None if unknown or deleted."""
        ...

    def active(self) -> list[Endpoint]:
        """The endpoints the worker delivers to: live, and their owner's token not revoked."""
        ...

    def log(self, attempts: Sequence[Attempt], prune_before: datetime | None = None) -> None:
        """Keep what the requests to endpoints did; drop log rows older than
        `prune_before` if given (the log is bounded by age)."""
        ...

    def deliveries(
        self, endpoint_id: str, *, before: int | None = None, limit: int = 50
    ) -> list[LoggedAttempt]:
        """An endpoint's logged attempts, newest first, those with an id below `before`."""
        ...

    def redeliver(self, endpoint_id: str, message_id: int, now: datetime) -> str:
        """Send a message to this endpoint again: it leaves the message's `accepted_by`
        and the message is due now. 'queued', 'unknown' (no such message was sent to the
        endpoint) or 'busy' (a worker holds the message now: ask again shortly)."""
        ...
