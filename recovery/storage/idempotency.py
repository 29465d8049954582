"""Idempotency keys of HTTP commands (`service.ports.IdempotencyKeys`).

A key's row is written only by the transaction that records its command's event
(`SqlIncidentLog`'s append runs `UPSERT_KEY`), with the reply the caller gets: the row and
the event are committed together or not at all, so a crash anywhere leaves either a reply
to replay or nothing (and a retry runs the command anew). The primary key `(principal,
key)` makes a concurrent duplicate wait for the first writer and then find its row: its
own transaction is rolled back (`KeyTaken`) and it replays the first reply.
"""

from __future__ import annotations

from datetime import datetime

import orjson
from sqlalchemy import Engine, delete, select

from recovery.domain.state import iso
from recovery.service.ports.accounts import Claim, KeyedReply, StoredResponse
from recovery.storage.database import reading, writing
from recovery.storage.moments import aware, to_column
from recovery.storage.tables.access import idempotency_keys

# Driver-level (qmark; `%s` on PostgreSQL): the row of a key, unless a live one exists. An
# expired row is replaced; so is a claim left `in_flight` by a version that claimed keys
# in a transaction of their own. Nothing written (rowcount 0): the key is taken.
UPSERT_KEY = (
    'INSERT INTO idempotency_keys (principal, "key", fingerprint, status, response_status, '
    "response_body, response_headers, created_at, expires_at) "
    "VALUES (?, ?, ?, 'done', ?, ?, ?, ?, ?) "
    'ON CONFLICT (principal, "key") DO UPDATE SET fingerprint = excluded.fingerprint, '
    "status = excluded.status, response_status = excluded.response_status, "
    "response_body = excluded.response_body, response_headers = excluded.response_headers, "
    "created_at = excluded.created_at, expires_at = excluded.expires_at "
    "WHERE idempotency_keys.expires_at <= excluded.created_at "
    "OR idempotency_keys.status = 'in_flight'"
)


def key_row(reply: KeyedReply, *, postgres: bool) -> tuple[object, ...]:
    """The parameters of `UPSERT_KEY` for `reply`."""
    response = reply.response
    return (
        reply.principal,
        reply.key,
        reply.fingerprint,
        response.status,
        response.body.decode(),
        orjson.dumps(response.headers).decode(),
        to_column(iso(reply.created_at), postgres=postgres),
        to_column(iso(reply.expires_at), postgres=postgres),
    )


def found(
    fingerprint: str,
    now: datetime,
    *,
    row_fingerprint: str,
    status: str,
    expires_at: datetime,
    response_status: int | None,
    response_body: str | None,
    response_headers: str | None,
) -> Claim:
    """What a stored key row means for a request with `fingerprint` at `now`."""
    if expires_at <= now or status != "done":
        return Claim("free")
    if row_fingerprint != fingerprint:
        return Claim("mismatch")
    headers = orjson.loads(response_headers) if response_headers else {}
    body = (response_body or "").encode()
    return Claim("replay", StoredResponse(int(response_status or 0), body, headers))


class SqlIdempotencyKeys:
    """The idempotency keys table (reads and purges; writes are in the incident log's
    transactions); every driver error becomes a `StorageError`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def find_key(self, principal: str, key: str, fingerprint: str, now: datetime) -> Claim:
        with reading(self.engine) as conn:
            row = conn.execute(
                select(idempotency_keys).where(
                    idempotency_keys.c.principal == principal, idempotency_keys.c.key == key
                )
            ).one_or_none()
        if row is None:
            return Claim("free")
        return found(
            fingerprint,
            now,
            row_fingerprint=row.fingerprint,
            status=row.status,
            expires_at=aware(row.expires_at) or now,
            response_status=row.response_status,
            response_body=row.response_body,
            response_headers=row.response_headers,
        )

    def purge_keys(self, now: datetime) -> int:
        with writing(self.engine) as conn:
            return int(
                conn.execute(
                    delete(idempotency_keys).where(idempotency_keys.c.expires_at <= now)
                ).rowcount
            )
