"""The one composition point: settings → database engine → storage adapters → `Recovery`.

Entry points (HTTP, CLI, worker, demo) and embedding code get their engine from here,
never by building storage themselves.

    import recovery
    rec = recovery.connect("sqlite:///hotel.db")   # created and migrated on first use
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from recovery.catalog import Catalog
from recovery.config import Settings
from recovery.service.engine import Recovery, new_incident_id, utc_now
from recovery.storage.sql import SqlStorage

Clock = Callable[[], datetime]


def connect(
    url: str | None = None,
    *,
    playbooks: str | Path | Catalog | None = None,
    sqlite_synchronous: str | None = None,
    clock: Clock = utc_now,
    new_id: Callable[[], str] = new_incident_id,
    migrate: bool = True,
    settings: Settings | None = None,
) -> Recovery:
    """The engine on the database at `url` (default: the settings' RECOVERY_DB), with the
    playbooks of a folder (default: the settings', else the shipped ones) or a catalog."""
    settings = settings or Settings.from_env()
    storage = SqlStorage.from_url(
        url or settings.db_url,
        sqlite_synchronous=sqlite_synchronous or settings.sqlite_synchronous,
        migrate=migrate,
    )
    catalog = (
        playbooks
        if isinstance(playbooks, Catalog)
        else Catalog.from_directory(playbooks or settings.playbook_dir)
    )
    return Recovery(storage, catalog, clock=clock, new_id=new_id)


def over_engine(engine: Any, catalog: Catalog | None = None, **options: Any) -> Recovery:
    """The engine over an existing SQLAlchemy `Engine` (its pool and options are kept);
    `options` are `Recovery`'s (clock, new_id), plus `migrate`."""
    migrate = options.pop("migrate", True)
    return Recovery(SqlStorage(engine, migrate=migrate), catalog, **options)
