"""Create SQLAlchemy engines for SQLite and PostgreSQL, and migrate them on first use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from recovery.errors import RecoveryError, StorageError
from recovery.storage.durability import guard_writes

# Execution option marking a connection that only reads.
READ_ONLY = "recovery_read_only"

# An arbitrary constant: the PostgreSQL advisory lock that serialises concurrent migrations.
_MIGRATION_LOCK = 7_283_114


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use psycopg 3 for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def masked_url(url: str) -> str:
    """The URL with any password hidden, for printing (as given when it does not parse:
    that is reported when it is opened)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def create_db_engine(url: str, *, sqlite_synchronous: str = "full", **kwargs: Any) -> Engine:
    """An engine for `url`; `StorageError` for a URL that is not one, or names a database
    kind that cannot be loaded."""
    try:
        url = normalise_url(url)
    except ArgumentError as exc:
        raise StorageError(f"not a database URL: {url!r}") from exc
    try:
        if url.startswith("sqlite"):
            # Every transaction here ends itself (context managers, explicit commit/rollback):
            # the pool's extra rollback on each check-in only costs time.
            kwargs.setdefault("pool_reset_on_return", None)
            engine = create_engine(url, **kwargs)
            _configure_sqlite(engine, sqlite_synchronous)
            return engine
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        # A server restart leaves every pooled connection dead: test each one as it is
        # checked out (one round trip) and replace it, so that no command fails on a stale
        # connection; the first dead one found invalidates the rest of the pool at once.
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    except sa_exc.SQLAlchemyError as exc:
        raise StorageError(f"database error: {first_line(exc)}") from exc


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    if synchronous not in ("full", "normal"):
        raise ValueError(f"sqlite synchronous must be full or normal, not {synchronous!r}")
    # A failed sync stops every write of this engine (see `durability`); reads go on.
    guard_writes(engine, lambda conn: conn.get_execution_options().get(READ_ONLY, False))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN IMMEDIATE can be emitted:
        # writers queue on the busy timeout instead of failing on lock upgrade.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted and overwritten content is zeroed, not left in free space: an erasure's
        # plaintext (older state rows, letters) must not survive in the file.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock up front; readers (marked `read_only`) never take it,
        # so in WAL mode they neither wait for writers nor make them wait.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def first_line(exc: BaseException) -> str:
    """The driver's own message (its first line), for a one-line StorageError."""
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only connection (it never takes SQLite's write lock); driver errors become
    `StorageError`. Every read outside a write transaction goes through here."""
    try:
        with engine.connect() as conn:
            yield conn.execution_options(**{READ_ONLY: True})
    except RecoveryError:
        raise
    except (sa_exc.SQLAlchemyError, engine.dialect.loaded_dbapi.Error) as exc:
        raise StorageError(f"database error: {first_line(exc)}") from exc


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction, committed on leaving; driver errors become `StorageError`,
    except a constraint's `IntegrityError`, which the caller turns into what it means."""
    try:
        with engine.begin() as conn:
            yield conn
    except (RecoveryError, sa_exc.IntegrityError):
        raise
    except sa_exc.DBAPIError as exc:
        raise StorageError(f"database error: {first_line(exc)}") from exc


def migrations_dir() -> Path:
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "migrations", here / "_bundled" / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise StorageError("the alembic migrations folder is missing from this installation")


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if url is not None:
        config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`; cheap when it already is there."""
    config = alembic_config()
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if revision == "head" and current == heads:
        return
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
