"""Customer status links: an unguessable token the agent sends, kept only as its SHA-256.

The token (`secrets.token_urlsafe(24)`: 192 random bits) is shown once, when it is made;
the table holds its hash, the incident, who made it and when, and when it was revoked.
A link opens one incident's status page and nothing else; revoking an incident's links
ends them all at once (a new one can be made at any time).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy import exc as sa_exc

from recovery.errors import StorageError
from recovery.service.secrets import token_hash
from recovery.storage.database import reading
from recovery.storage.tables import status_links

TOKEN_BYTES = 24


class StatusLinks:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa_exc.DBAPIError as exc:
            raise StorageError(f"status links: database error: {type(exc).__name__}") from exc

    def _read(self) -> contextlib.AbstractContextManager[Connection]:
        return reading(self.engine)

    def create(self, incident_id: str, created_by: str, now: datetime) -> str:
        """A new link's token for `incident_id` (returned here only)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self._write() as conn:
            conn.execute(
                status_links.insert().values(
                    token_hash=token_hash(token),
                    incident_id=incident_id,
                    created_by=created_by,
                    created_at=now,
                    revoked_at=None,
                )
            )
        return token

    def incident_of(self, token: str) -> str | None:
        """The incident a live link opens, or None (unknown or revoked)."""
        if not token or len(token) > 200:
            return None
        query = select(status_links.c.incident_id).where(
            status_links.c.token_hash == token_hash(token), status_links.c.revoked_at.is_(None)
        )
        with self._read() as conn:
            found = conn.execute(query).scalar_one_or_none()
        return None if found is None else str(found)

    def active_count(self, incident_id: str) -> int:
        query = select(func.count()).where(
            status_links.c.incident_id == incident_id, status_links.c.revoked_at.is_(None)
        )
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def revoke_all(self, incident_id: str, now: datetime) -> int:
        """End every live link of an incident; how many there were."""
        with self._write() as conn:
            result = conn.execute(
                update(status_links)
                .where(
                    status_links.c.incident_id == incident_id,
                    status_links.c.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
        return int(result.rowcount)
