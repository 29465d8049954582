"""Customer status links (`service.ports.StatusLinkStore`): the table holds each token's
hash, the incident, who made it and when, and when it was revoked."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy import exc as sa_exc

from recovery.errors import StorageError
from recovery.service.ports.links import StoredLink
from recovery.storage.database import reading
from recovery.storage.moments import utc
from recovery.storage.tables.access import status_links


class SqlStatusLinkStore:
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

    def add(self, token_hash: str, incident_id: str, created_by: str, now: datetime) -> None:
        with self._write() as conn:
            conn.execute(
                status_links.insert().values(
                    token_hash=token_hash,
                    incident_id=incident_id,
                    created_by=created_by,
                    created_at=now,
                    revoked_at=None,
                )
            )

    def incident_of(self, token_hash: str) -> str | None:
        query = select(status_links.c.incident_id).where(
            status_links.c.token_hash == token_hash, status_links.c.revoked_at.is_(None)
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

    def list_links(self, incident_id: str) -> list[StoredLink]:
        c = status_links.c
        query = (
            select(c.token_hash, c.incident_id, c.created_by, c.created_at, c.revoked_at)
            .where(c.incident_id == incident_id)
            .order_by(c.created_at, c.token_hash)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [
            StoredLink(
                r.token_hash,
                r.incident_id,
                r.created_by,
                utc(r.created_at),
                utc(r.revoked_at) if r.revoked_at is not None else None,
            )
            for r in rows
        ]

    def revoke(self, token_hash: str, now: datetime) -> bool:
        with self._write() as conn:
            result = conn.execute(
                update(status_links)
                .where(status_links.c.token_hash == token_hash, status_links.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return bool(result.rowcount)
