"""`NotificationStore` on SQL: the notifications table and the marks of how far each
incident's events have been told."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from recovery.errors import IncidentNotFoundError
from recovery.service.ports.notifications import Derive, StoredNotice
from recovery.storage.database import reading, writing
from recovery.storage.tables import incidents, notification_marks, notifications


class SqlNotificationStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert: Any = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert

    def tell(self, incident_id: str, derive: Derive, now: datetime) -> int:
        try:
            with writing(self.engine) as conn:  # SQLite: BEGIN IMMEDIATE, one writer at once
                return self._tell(conn, incident_id, derive, now)
        except sa_exc.IntegrityError:  # the mark's key: no such incident (here)
            raise IncidentNotFoundError(incident_id) from None

    def _tell(self, conn: Connection, incident_id: str, derive: Derive, now: datetime) -> int:
        marks = notification_marks
        conn.execute(
            self._insert(marks)
            .values(incident_id=incident_id, seq=0)
            .on_conflict_do_nothing(index_elements=["incident_id"])
        )
        told = conn.execute(
            select(marks.c.seq).where(marks.c.incident_id == incident_id).with_for_update()
        ).scalar_one()
        upto, notices = derive(told)
        if upto <= told:
            return 0
        stored = 0
        if notices:
            rows = [{**n._asdict(), "created_at": now} for n in notices]
            result = conn.execute(
                self._insert(notifications)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["recipient", "incident_id", "seq", "kind"])
                .returning(notifications.c.id)
            )
            stored = len(result.all())
        conn.execute(update(marks).where(marks.c.incident_id == incident_id).values(seq=upto))
        return stored

    def untold(self, statuses: Sequence[str], limit: int) -> list[str]:
        marks = notification_marks
        query = (
            select(incidents.c.id)
            .select_from(incidents.outerjoin(marks, marks.c.incident_id == incidents.c.id))
            .where(
                and_(
                    incidents.c.status.in_(list(statuses)),
                    incidents.c.version > func.coalesce(marks.c.seq, 0),
                )
            )
            .limit(limit)
        )
        with reading(self.engine) as conn:
            return list(conn.execute(query).scalars())

    def unread_count(self, recipient: str) -> int:
        n = notifications
        query = select(func.count()).where(n.c.recipient == recipient, n.c.read_at.is_(None))
        with reading(self.engine) as conn:
            return int(conn.execute(query).scalar_one())

    def list(self, recipient: str, *, limit: int = 100) -> list[StoredNotice]:
        n = notifications
        query = (
            select(
                n.c.id,
                n.c.recipient,
                n.c.incident_id,
                n.c.seq,
                n.c.kind,
                n.c.site,
                n.c.message,
                n.c.created_at,
                n.c.read_at,
            )
            .where(n.c.recipient == recipient)
            .order_by(n.c.id.desc())
            .limit(limit)
        )
        with reading(self.engine) as conn:
            return [StoredNotice(*row) for row in conn.execute(query)]

    def mark_read(self, recipient: str, ids: Sequence[int] | None, now: datetime) -> int:
        n = notifications
        query = update(n).where(n.c.recipient == recipient, n.c.read_at.is_(None))
        if ids is not None:
            query = query.where(n.c.id.in_(list(ids)))
        with writing(self.engine) as conn:
            return max(conn.execute(query.values(read_at=now)).rowcount, 0)
