"""The change feed adapters (`service.ports.changes.ChangeSource`) on SQL databases.

PostgreSQL: triggers on `incidents` (migration 0009) `pg_notify` the row's id and
property; NOTIFY is transactional, so a listener hears a change once it is committed, in
every process. SQLite: one connection polls `PRAGMA data_version`, which moves when any
other connection (of any process) commits; only then does it read which incident rows
moved on, in a window of recent `updated_at`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
import psycopg
from sqlalchemy import Engine, func, select
from sqlalchemy import exc as sa_exc

from recovery.errors import StorageError
from recovery.service.ports.changes import Change
from recovery.storage.database import READ_ONLY, first_line
from recovery.storage.tables.inbox import notifications
from recovery.storage.tables.log import incidents

CHANNEL = "recovery_changes"

# A row committed late with an older `updated_at` (another process's clock, a slow
# commit) is still seen if it is within this much of the newest seen.
WINDOW = timedelta(seconds=30)
EPOCH = datetime(1970, 1, 1)


def change_source(
    engine: Engine, *, poll_interval: float = 0.25
) -> PgChangeSource | SqliteChangeSource:
    if engine.dialect.name == "postgresql":
        return PgChangeSource(engine)
    return SqliteChangeSource(engine, poll_interval=poll_interval)


class PgChangeSource:
    """LISTEN on its own autocommit connection."""

    def __init__(self, engine: Engine) -> None:
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            self._conn = psycopg.connect(url, autocommit=True)
            self._conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            raise StorageError(f"cannot listen for changes: {first_line(exc)}") from exc

    def wait(self, timeout: float) -> Sequence[Change]:
        found: list[Change] = []
        try:
            for note in self._conn.notifies(timeout=timeout, stop_after=1):
                found.append(_parse(note.payload))
            if found:  # and whatever else arrived meanwhile, without waiting
                for note in self._conn.notifies(timeout=0.0):
                    found.append(_parse(note.payload))
        except psycopg.Error as exc:
            raise StorageError(f"change feed: {first_line(exc)}") from exc
        return list(dict.fromkeys(found))

    def close(self) -> None:
        self._conn.close()


def _parse(payload: str) -> Change:
    return Change(*(str(part) for part in orjson.loads(payload)))


class SqliteChangeSource:
    """Polls the database's change counter every `poll_interval` seconds."""

    def __init__(self, engine: Engine, *, poll_interval: float = 0.25) -> None:
        self._interval = poll_interval
        self._stop = threading.Event()
        self._seen: dict[str, tuple[int, datetime]] = {}
        self._newest: datetime | None = None
        try:
            # its own connection, held: the counter tells what OTHER connections committed
            self._conn = engine.connect().execution_options(**{READ_ONLY: True})
            self._data_version = self._counter()
            self._take(self._read(None))
            self._last_notice = int(
                self._conn.execute(
                    select(func.coalesce(func.max(notifications.c.id), 0))
                ).scalar_one()
            )
        except sa_exc.SQLAlchemyError as exc:
            raise StorageError(f"change feed: {first_line(exc)}") from exc
        finally:
            self._end()

    def _end(self) -> None:
        if getattr(self, "_conn", None) is not None and self._conn.in_transaction():
            self._conn.rollback()  # no read transaction kept: the next look sees new commits

    def _counter(self) -> int:
        return int(self._conn.exec_driver_sql("PRAGMA data_version").scalar_one())

    def _read(self, since: datetime | None) -> list[Any]:
        query = select(
            incidents.c.id, incidents.c.site, incidents.c.version, incidents.c.updated_at
        )
        if since is None:  # start at the newest: what is there already is not news
            newest = select(func.max(incidents.c.updated_at)).scalar_subquery()
            query = query.where(incidents.c.updated_at >= newest)
        else:
            query = query.where(incidents.c.updated_at >= since)
        return list(self._conn.execute(query).all())

    def _notices(self) -> list[Change]:
        n = notifications
        rows = self._conn.execute(
            select(n.c.id, n.c.incident_id, n.c.site, n.c.recipient)
            .where(n.c.id > self._last_notice)
            .order_by(n.c.id)
        ).all()
        if rows:
            self._last_notice = rows[-1][0]
        return [Change(incident_id, site, who) for _id, incident_id, site, who in rows]

    def _take(self, rows: list[Any]) -> list[Change]:
        """Remember the rows' versions; the changes among them."""
        found = []
        for incident_id, site, version, moment in rows:
            known = self._seen.get(incident_id)
            if known is None or known[0] != version:
                found.append(Change(incident_id, site))
            self._seen[incident_id] = (version, moment)
            if self._newest is None or moment > self._newest:
                self._newest = moment
        if self._newest is not None:
            horizon = self._newest - WINDOW
            self._seen = {k: v for k, v in self._seen.items() if v[1] >= horizon}
        return found

    def wait(self, timeout: float) -> Sequence[Change]:
        waited = 0.0
        while True:
            try:
                counter = self._counter()
                if counter != self._data_version:
                    self._data_version = counter
                    # nothing there at the start: every row is news
                    since = EPOCH if self._newest is None else self._newest - WINDOW
                    changes = self._take(self._read(since)) + self._notices()
                    if changes:
                        return changes
            except sa_exc.SQLAlchemyError as exc:
                raise StorageError(f"change feed: {first_line(exc)}") from exc
            finally:
                self._end()
            if waited >= timeout or self._stop.wait(self._interval):
                return []
            waited += self._interval

    def close(self) -> None:
        self._stop.set()
        self._conn.close()
