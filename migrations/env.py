"""Alembic environment: runs on a connection handed in by `recovery`, or on a URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from recovery.storage.database import create_db_engine
from recovery.storage.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get(
        "RECOVERY_DB", "sqlite:///recovery.db"
    )
    engine = create_db_engine(url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("recovery migrations run online only")
run_migrations_online()
