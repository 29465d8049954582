"""Idempotent commands: a retried POST with the same `Idempotency-Key` is answered with the
first response and records nothing new.

The key's row is claimed (INSERTed, status in_flight) in its own transaction before the
command runs, so a concurrent request with the same key in any process gets 409; the
response is stored when the command succeeds. A command that failed recorded nothing, so
its claim is released and a retry runs it again. Keys are per caller, kept for `ttl`.

Not covered: a process that dies after the engine committed but before the response was
stored leaves the key in flight; after `stale_after` a retry runs the command again.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from recovery.http.errors import api_error
from recovery.service.ports.accounts import IdempotencyKeys, StoredResponse

KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class Reply:
    """A finished response, as stored for replays: status, JSON body bytes, headers."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, content: Any, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, orjson.dumps(content), headers or {})


def fingerprint(*parts: Any) -> str:
    """What makes two requests 'the same': method, path, validated body, preconditions."""
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()


class Idempotency:
    def __init__(
        self,
        store: IdempotencyKeys,
        clock: Callable[[], datetime],
        *,
        ttl: timedelta = timedelta(hours=24),
        stale_after: timedelta = timedelta(minutes=5),
        purge_every: timedelta = timedelta(hours=1),
    ) -> None:
        self.store = store
        self.clock = clock
        self.ttl = ttl
        self.stale_after = stale_after
        self.purge_every = purge_every
        self._last_purge: datetime | None = None
        self._lock = threading.Lock()

    def run(self, scope: str, key: str, print_: str, produce: Callable[[], Reply]) -> Reply:
        """Answer the request that `produce` makes, once per (caller, key)."""
        now = self.clock()
        self._maybe_purge(now)
        claim = self.store.claim_key(
            scope, key, print_, now, now + self.ttl, now - self.stale_after
        )
        if claim.outcome == "mismatch":
            raise api_error(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was already used with a different request; "
                "use a new key for a new request",
                field="header.Idempotency-Key",
            )
        if claim.outcome == "in_flight":
            raise api_error(
                409,
                "request_in_flight",
                "a request with this Idempotency-Key is still being processed; retry in a moment",
                field="header.Idempotency-Key",
            )
        if claim.outcome == "replay":
            assert claim.response is not None
            stored = claim.response
            return Reply(stored.status, stored.body, {**stored.headers, REPLAYED_HEADER: "true"})
        try:
            reply = produce()
        except BaseException:
            self.store.release_key(scope, key)
            raise
        self.store.complete_key(scope, key, StoredResponse(reply.status, reply.body, reply.headers))
        return reply

    def _maybe_purge(self, now: datetime) -> None:
        with self._lock:
            if self._last_purge is not None and now - self._last_purge < self.purge_every:
                return
            self._last_purge = now
        self.store.purge_keys(now)
