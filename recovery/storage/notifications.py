"""`NotificationStore` on SQL: the notifications table and the marks of how far each
incident's events have been told."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from recovery.domain.words import Said, said_from_data, said_to_data
from recovery.service.ports.notifications import StoredNotice, Told
from recovery.storage.database import reading, writing
from recovery.storage.moments import aware
from recovery.storage.tables.inbox import notification_marks, notifications
from recovery.storage.tables.log import incidents

_COLUMNS = (
    notifications.c.id,
    notifications.c.recipient,
    notifications.c.incident_id,
    notifications.c.seq,
    notifications.c.kind,
    notifications.c.site,
    notifications.c.message,
    notifications.c.created_at,
    notifications.c.read_at,
    notifications.c.mailed_at,
    notifications.c.message_words,
)


def _notice(row: Any) -> StoredNotice:
    """A stored notice, its times aware (SQLite's come back without their zone), its
    message `Said` again when its words were kept."""
    *fields, message, created_at, read_at, mailed_at, words = row
    return StoredNotice._make(
        (*fields, said_of(message, words), aware(created_at), aware(read_at), aware(mailed_at))
    )


def words_of(message: str) -> str | None:
    """A notice's words as stored (JSON), or None when it has none to keep."""
    return orjson.dumps(said_to_data(message)).decode() if isinstance(message, Said) else None


def said_of(message: str, words: str | None) -> str:
    """The stored message, as `Said` when its words parse (else the English as stored)."""
    if not words:
        return message
    try:
        found = said_from_data(orjson.loads(words))
    except orjson.JSONDecodeError:
        return message
    return found if isinstance(found, Said) and found else message


class SqlNotificationStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert: Any = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert

    def marks(self, incident_ids: Sequence[str]) -> dict[str, int]:
        m = notification_marks
        found = dict.fromkeys(incident_ids, 0)
        with reading(self.engine) as conn:
            for key, seq in conn.execute(
                select(m.c.incident_id, m.c.seq).where(m.c.incident_id.in_(list(found)))
            ):
                found[key] = seq
        return found

    def record(self, told: Sequence[Told], now: datetime) -> tuple[int, list[str]]:
        m = notification_marks
        stored, moved_on = 0, []
        with writing(self.engine) as conn:  # one short write for a whole pass
            for item in told:
                if item.after == 0:
                    conn.execute(
                        self._insert(m)
                        .values(incident_id=item.incident_id, seq=0)
                        .on_conflict_do_nothing(index_elements=["incident_id"])
                    )
                moved = conn.execute(
                    update(m)
                    .where(m.c.incident_id == item.incident_id, m.c.seq == item.after)
                    .values(seq=item.upto)
                )
                if moved.rowcount != 1:  # another worker told them first
                    moved_on.append(item.incident_id)
                    continue
                if item.notices:
                    rows = [
                        {
                            **n._asdict(),
                            "message": str(n.message),
                            "message_words": words_of(n.message),
                            "created_at": now,
                        }
                        for n in item.notices
                    ]
                    result = conn.execute(
                        self._insert(notifications)
                        .values(rows)
                        .on_conflict_do_nothing(
                            index_elements=["recipient", "incident_id", "seq", "kind"]
                        )
                        .returning(notifications.c.id)
                    )
                    stored += len(result.all())
        return stored, moved_on

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

    def claim_mail(
        self, since: Sequence[tuple[str, datetime]], now: datetime, stale: datetime, limit: int
    ) -> list[StoredNotice]:
        n = notifications
        if not since:
            return []
        wanted = (
            select(n.c.id)
            .where(
                or_(*(and_(n.c.recipient == who, n.c.created_at >= t) for who, t in since)),
                n.c.mailed_at.is_(None),
                or_(n.c.mail_claimed_at.is_(None), n.c.mail_claimed_at < stale),
            )
            .order_by(n.c.id)
            .limit(limit)
        )
        if self.engine.dialect.name == "postgresql":  # others skip what one worker holds
            wanted = wanted.with_for_update(skip_locked=True)
        claim = (
            update(n)
            .where(n.c.id.in_(wanted.scalar_subquery()))
            .values(mail_claimed_at=now)
            .returning(*_COLUMNS)
        )
        with writing(self.engine) as conn:  # one statement: claimed by one worker only
            rows = conn.execute(claim).all()
        return sorted((_notice(row) for row in rows), key=lambda found: found.id)

    def finish_mail(self, ids: Sequence[int], now: datetime) -> None:
        n = notifications
        with writing(self.engine) as conn:
            conn.execute(update(n).where(n.c.id.in_(list(ids))).values(mailed_at=now))

    def release_mail(self, ids: Sequence[int]) -> None:
        n = notifications
        query = update(n).where(n.c.id.in_(list(ids)), n.c.mailed_at.is_(None))
        with writing(self.engine) as conn:
            conn.execute(query.values(mail_claimed_at=None))

    def unread_count(self, recipient: str) -> int:
        n = notifications
        query = select(func.count()).where(n.c.recipient == recipient, n.c.read_at.is_(None))
        with reading(self.engine) as conn:
            return int(conn.execute(query).scalar_one())

    def list(self, recipient: str, *, limit: int = 100) -> list[StoredNotice]:
        n = notifications
        query = (
            select(*_COLUMNS).where(n.c.recipient == recipient).order_by(n.c.id.desc()).limit(limit)
        )
        with reading(self.engine) as conn:
            return [_notice(row) for row in conn.execute(query)]

    def mark_read(self, recipient: str, ids: Sequence[int] | None, now: datetime) -> int:
        n = notifications
        query = update(n).where(n.c.recipient == recipient, n.c.read_at.is_(None))
        if ids is not None:
            query = query.where(n.c.id.in_(list(ids)))
        with writing(self.engine) as conn:
            return max(conn.execute(query.values(read_at=now)).rowcount, 0)
