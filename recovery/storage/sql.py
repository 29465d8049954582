"""`SqlStorage`: every adapter of one SQLAlchemy database (`service.ports.Storage`)."""

from __future__ import annotations

from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.util.exc import CommandError
from sqlalchemy import Engine, text
from sqlalchemy import exc as sa_exc

from recovery.errors import StorageError
from recovery.service.ports import Backlog
from recovery.service.ports.changes import ChangeSource
from recovery.storage.accounts import SqlAccountStore
from recovery.storage.audit import SqlAuditRows
from recovery.storage.backlog import backlog, head_revision
from recovery.storage.changes import change_source
from recovery.storage.database import create_db_engine, first_line, reading, upgrade
from recovery.storage.durability import deferred
from recovery.storage.idempotency import SqlIdempotencyKeys
from recovery.storage.incidents import SqlIncidentLog
from recovery.storage.letters import SqlLetterStore
from recovery.storage.links import SqlStatusLinkStore
from recovery.storage.notifications import SqlNotificationStore
from recovery.storage.outbox import SqlOutbox
from recovery.storage.webhooks import SqlWebhookEndpoints


class SqlStorage:
    """The adapters over one engine. `migrate` brings the schema to the newest version
    (cheap when it is there already)."""

    def __init__(self, engine: Engine, *, migrate: bool = True) -> None:
        self.engine = engine
        self.incidents = SqlIncidentLog(engine)
        self.outbox = SqlOutbox(engine)
        self.letters = SqlLetterStore(engine)
        self.audit = SqlAuditRows(engine)
        self.accounts = SqlAccountStore(engine)
        self.idempotency = SqlIdempotencyKeys(engine)
        self.links = SqlStatusLinkStore(engine)
        self.notifications = SqlNotificationStore(engine)
        self.webhooks = SqlWebhookEndpoints(engine)
        if migrate:
            self.migrate()

    @classmethod
    def from_url(
        cls, url: str, *, sqlite_synchronous: str = "full", migrate: bool = True
    ) -> SqlStorage:
        """The storage on a new engine for `url` (disposed again if migrating fails)."""
        engine = create_db_engine(url, sqlite_synchronous=sqlite_synchronous)
        try:
            return cls(engine, migrate=migrate)
        except BaseException:
            engine.dispose()
            raise

    @property
    def name(self) -> str:
        return self.engine.dialect.name

    @property
    def serial_writes(self) -> bool:
        return self.name == "sqlite"

    def ping(self) -> None:
        with reading(self.engine) as conn:  # a probe must not take SQLite's write lock
            conn.execute(text("SELECT 1"))

    # the function itself: the HTTP server enters it on every write
    deferred_sync = staticmethod(deferred)

    def changes(self) -> ChangeSource:
        return change_source(self.engine)

    def migrate(self) -> None:
        try:
            upgrade(self.engine)
        except sa_exc.SQLAlchemyError as exc:
            raise StorageError(f"cannot prepare the database: {first_line(exc)}") from exc
        except CommandError as exc:  # e.g. a schema newer than this code's migrations
            raise StorageError(
                f"cannot prepare the database: {first_line(exc)} (is it used by a newer "
                "release of recovery? run that release, or upgrade this one)"
            ) from exc

    def current_revision(self) -> str | None:
        with reading(self.engine) as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        return head_revision()

    def backlog(self) -> Backlog:
        return backlog(self.engine)

    def describe(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def file_path(self) -> Path | None:
        url = self.engine.url
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return None
        return Path(url.database)

    def dispose(self) -> None:
        self.incidents.close()
        self.engine.dispose()
