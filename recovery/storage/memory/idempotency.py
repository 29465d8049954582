"""`MemoryIdempotencyKeys`: idempotency keys (`service.ports.IdempotencyKeys`) in memory,
with the SQL adapter's rules: a key's row is written only with its command's event (by
`MemoryIncidentLog`'s append, under the log's lock), expired rows are free again."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

import orjson

from recovery.service.ports.accounts import Claim, KeyedReply
from recovery.storage.idempotency import found
from recovery.storage.moments import utc


@dataclass
class _Key:
    """An idempotency key's row: the response is kept as the text the SQL table holds."""

    fingerprint: str
    created_at: datetime
    expires_at: datetime
    response_status: int
    response_body: str
    response_headers: str


class MemoryIdempotencyKeys:
    """Gone when the process ends; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._keys: dict[tuple[str, str], _Key] = {}

    def find_key(self, principal: str, key: str, fingerprint: str, now: datetime) -> Claim:
        with self._lock:
            row = self._keys.get((principal, key))
        if row is None:
            return Claim("free")
        return found(
            fingerprint,
            now,
            row_fingerprint=row.fingerprint,
            status="done",
            expires_at=row.expires_at,
            response_status=row.response_status,
            response_body=row.response_body,
            response_headers=row.response_headers,
        )

    def erase_replies(self, incident_id: str, body: str) -> None:
        """Replies that name the incident emptied (its personal data was erased)."""
        with self._lock:
            for row in self._keys.values():
                if f'"{incident_id}"' in row.response_body:
                    row.response_body = body

    def is_free(self, reply: KeyedReply) -> bool:
        """Whether `reply` may be kept (no live row holds its key); the caller holds the
        incident log's lock, so the answer stands until it calls `keep`."""
        with self._lock:
            row = self._keys.get((reply.principal, reply.key))
            return row is None or row.expires_at <= reply.created_at

    def keep(self, reply: KeyedReply) -> None:
        response = reply.response
        row = _Key(
            reply.fingerprint,
            utc(reply.created_at),
            utc(reply.expires_at),
            response.status,
            response.body.decode(),  # as the SQL adapter stores it (same errors)
            orjson.dumps(response.headers).decode(),
        )
        with self._lock:
            self._keys[(reply.principal, reply.key)] = row

    def purge_keys(self, now: datetime) -> int:
        with self._lock:
            expired = [held for held, row in self._keys.items() if row.expires_at <= now]
            for held in expired:
                del self._keys[held]
            return len(expired)
