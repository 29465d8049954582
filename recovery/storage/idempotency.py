"""Idempotency keys of HTTP commands (`service.ports.IdempotencyKeys`).

A key is claimed by INSERTing its row in its own transaction before the command runs: the
primary key `(principal, key)` makes a second claimer (any process, any server) fail at
once, so a request still in flight is told so instead of running twice.
"""

from __future__ import annotations

from datetime import datetime

import orjson
from sqlalchemy import Engine, and_, bindparam, delete, select, update
from sqlalchemy import exc as sa_exc

from recovery.service.ports.accounts import Claim, StoredResponse
from recovery.storage.database import reading, writing
from recovery.storage.moments import aware
from recovery.storage.tables import idempotency_keys

# Built once: the per-command idempotency statements reuse SQLAlchemy's compiled cache.
_CLAIM = idempotency_keys.insert()
_COMPLETE = update(idempotency_keys).where(
    idempotency_keys.c.principal == bindparam("p"), idempotency_keys.c.key == bindparam("k")
)


class SqlIdempotencyKeys:
    """The idempotency keys table; every driver error becomes a `StorageError`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim_key(
        self,
        principal: str,
        key: str,
        fingerprint: str,
        now: datetime,
        expires_at: datetime,
        stale_before: datetime,
    ) -> Claim:
        """Claim `key` for one request, or say what the first request with it left behind.

        An expired key is free again; a claim still `in_flight` since before `stale_before`
        belonged to a process that died mid-request and is taken over.
        """
        for _attempt in range(3):
            try:
                with writing(self.engine) as conn:
                    conn.execute(
                        _CLAIM,
                        {
                            "principal": principal,
                            "key": key,
                            "fingerprint": fingerprint,
                            "status": "in_flight",
                            "created_at": now,
                            "expires_at": expires_at,
                        },
                    )
                return Claim("claimed")
            except sa_exc.IntegrityError:
                pass
            where = and_(idempotency_keys.c.principal == principal, idempotency_keys.c.key == key)
            with reading(self.engine) as conn:
                row = conn.execute(select(idempotency_keys).where(where)).one_or_none()
            if row is None:
                continue  # released meanwhile: try to claim again
            created_at = aware(row.created_at) or now
            expired = (aware(row.expires_at) or now) <= now
            stale = row.status == "in_flight" and created_at < stale_before
            if expired or stale:
                with writing(self.engine) as conn:
                    conn.execute(
                        delete(idempotency_keys).where(
                            where, idempotency_keys.c.created_at == row.created_at
                        )
                    )
                continue
            if row.fingerprint != fingerprint:
                return Claim("mismatch")
            if row.status == "in_flight":
                return Claim("in_flight")
            headers = orjson.loads(row.response_headers) if row.response_headers else {}
            body = (row.response_body or "").encode()
            return Claim("replay", StoredResponse(int(row.response_status), body, headers))
        return Claim("in_flight")

    def complete_key(self, principal: str, key: str, response: StoredResponse) -> None:
        with writing(self.engine) as conn:
            conn.execute(
                _COMPLETE,
                {
                    "p": principal,
                    "k": key,
                    "status": "done",
                    "response_status": response.status,
                    "response_body": response.body.decode(),
                    "response_headers": orjson.dumps(response.headers).decode(),
                },
            )

    def release_key(self, principal: str, key: str) -> None:
        """Forget a claim whose request recorded nothing, so that a retry runs it again."""
        with writing(self.engine) as conn:
            conn.execute(
                delete(idempotency_keys).where(
                    idempotency_keys.c.principal == principal,
                    idempotency_keys.c.key == key,
                    idempotency_keys.c.status == "in_flight",
                )
            )

    def purge_keys(self, now: datetime) -> int:
        with writing(self.engine) as conn:
            return int(
                conn.execute(
                    delete(idempotency_keys).where(idempotency_keys.c.expires_at <= now)
                ).rowcount
            )
