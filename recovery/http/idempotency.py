"""Idempotent commands: a retried POST with the same `Idempotency-Key` is answered with the
first response and records nothing new, whatever happened in between (a crash, a lost
connection, a database restart).

There is no claim of its own: the key's row, holding the response, is written by the
transaction that records the command's event (`service.once.Once`), so the two exist
together or not at all. A retry first looks the key up: the stored response is replayed;
absent, the command runs. Two requests with one key at once: the second's transaction
waits for the first's at the key's row, is rolled back (`KeyTaken`) and replays the first
response. A command that failed recorded nothing and stored nothing: a retry runs it again.
Keys are per caller, kept for `ttl`.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from recovery.http.errors import api_error
from recovery.service.once import Once
from recovery.service.ports import KeyTaken
from recovery.service.ports.accounts import Claim, IdempotencyKeys, StoredResponse
from recovery.service.views import Outcome

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
        purge_every: timedelta = timedelta(hours=1),
        die_after_commit: str | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.ttl = ttl
        self.purge_every = purge_every
        self._last_purge: datetime | None = None
        self._lock = threading.Lock()
        # fault injection (tests/faults): SIGKILL right after recording a command whose key
        # starts with this, before replying: the crash a retry must survive
        self._die_after = die_after_commit

    def run(
        self,
        scope: str,
        key: str,
        print_: str,
        produce: Callable[[Once], Outcome],
        reply_of: Callable[[Outcome], Reply],
    ) -> Reply:
        """Answer the request that `produce` records (its outcome made a reply by
        `reply_of`), once per (caller, key)."""
        now = self.clock()
        self._maybe_purge(now)
        earlier = self._answer(self.store.find_key(scope, key, print_, now))
        if earlier is not None:
            return earlier
        made: list[Reply] = []

        def respond(outcome: Outcome) -> StoredResponse:
            reply = reply_of(outcome)
            made.append(reply)
            return StoredResponse(reply.status, reply.body, reply.headers)

        try:
            outcome = produce(Once(scope, key, print_, now, now + self.ttl, respond))
        except KeyTaken:
            # Another request with this key was recorded first: its answer is ours.
            earlier = self._answer(self.store.find_key(scope, key, print_, self.clock()))
            if earlier is None:
                raise api_error(
                    409,
                    "request_in_flight",
                    "a request with this Idempotency-Key is being processed; retry in a moment",
                    field="header.Idempotency-Key",
                ) from None
            return earlier
        except Exception:
            # A duplicate sent at the same moment may have been recorded first and moved
            # the incident past this one's If-Match: then its answer is ours too.
            earlier = self._replay_after_failure(scope, key, print_)
            if earlier is None:
                raise
            return earlier
        if self._die_after is not None and key.startswith(self._die_after):
            os.kill(os.getpid(), signal.SIGKILL)
        return made[-1] if made else reply_of(outcome)

    def _replay_after_failure(self, scope: str, key: str, print_: str) -> Reply | None:
        try:
            claim = self.store.find_key(scope, key, print_, self.clock())
        except Exception:
            return None  # the first error is the one to report
        return self._answer(claim) if claim.outcome == "replay" else None

    @staticmethod
    def _answer(claim: Claim) -> Reply | None:
        """The reply a stored key gives (None: the key is free)."""
        if claim.outcome == "mismatch":
            raise api_error(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was already used with a different request; "
                "use a new key for a new request",
                field="header.Idempotency-Key",
            )
        if claim.outcome == "replay":
            assert claim.response is not None
            stored = claim.response
            return Reply(stored.status, stored.body, {**stored.headers, REPLAYED_HEADER: "true"})
        return None

    def _maybe_purge(self, now: datetime) -> None:
        with self._lock:
            if self._last_purge is not None and now - self._last_purge < self.purge_every:
                return
            self._last_purge = now
        self.store.purge_keys(now)
