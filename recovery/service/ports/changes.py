"""The change feed port: what was committed since the last look, by anyone, from any
process (a page lives on it: `service/changes.py` fans it out to the open pages).

Adapters: PostgreSQL LISTEN/NOTIFY (triggers notify on commit; `storage/changes.py`),
SQLite a poll of the database's change counter (`PRAGMA data_version`), memory a poll of
the stored versions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol


class Change(NamedTuple):
    """One incident recorded something (its id and property); with `recipient`, that
    person was notified of something about it."""

    incident_id: str
    site: str
    recipient: str = ""


class ChangeSource(Protocol):
    """One reader of the changes (one per process: it holds a connection)."""

    def wait(self, timeout: float) -> Sequence[Change]:
        """The changes committed since the previous call, waiting up to `timeout` seconds
        for one (empty when none came). Raises `StorageError` when the database is gone."""
        ...

    def close(self) -> None: ...
