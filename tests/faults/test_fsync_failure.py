"""A failed disk sync stops the store from taking writes until it is restarted, as
PostgreSQL does, instead of writing on (on Linux a later fsync can succeed although the
earlier data is lost). Reads go on; what was acknowledged before stays; after a restart
the store writes again.

How the failure is injected, from the most to the least direct:
- the event store's own sync of SQLite's log (`os.fdatasync`, group commit) fails with
  EIO, as the kernel reports it (the call is replaced for the test; the next call
  succeeds, as a real disk's may);
- SQLite's COMMIT fails with the error sqlite3 raises when its own sync fails
  (SQLITE_IOERR_FSYNC, "disk I/O error"), through a `sqlite3.Connection` subclass given
  to the driver (the DBAPI level: nothing in the store knows about it).
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from recovery import Catalog, Recovery
from recovery.bootstrap import over_engine
from recovery.errors import StorageError
from recovery.http import create_app
from recovery.http.server import serve_in_thread
from recovery.storage import durability
from recovery.storage.database import create_db_engine
from tests.conftest import FRONT_DESK
from tests.contract.support import open_hotel

SQLITE_IOERR_FSYNC = 1034  # SQLITE_IOERR | (4 << 8)
HOTEL = {
    "incident_type": "hotel.walked_guest",
    "site": "ribe",
    "customer": {"name": "Mette Jensen"},
    "summary": "Booked for the wrong month",
}


def refused(call: Any) -> str:
    with pytest.raises(StorageError) as raised:
        call()
    return str(raised.value)


def test_a_failed_log_sync_stops_every_later_write(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'recovery.db'}"
    rec = over_engine(create_db_engine(url), catalog)
    incident = open_hotel(rec).id
    rec.add_note(incident, "acknowledged before the failure", actor=FRONT_DESK)

    def failing_sync(_fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(durability, "_sync_file", failing_sync)
    first = refused(lambda: rec.add_note(incident, "its sync fails", actor=FRONT_DESK))
    assert "could not be synced" in first
    monkeypatch.undo()  # the disk answers again: its next sync would succeed

    later = refused(lambda: rec.add_note(incident, "after the failure", actor=FRONT_DESK))
    assert "no write is taken until the server is restarted" in later
    refused(lambda: open_hotel(rec))
    # the other tables too (sessions, users, ...): every write transaction of the engine
    accounts = rec.storage.accounts
    refused(lambda: accounts.add_user("ana", "x" * 20, "front_desk", ["ribe"], datetime.now(UTC)))

    # reads go on, and show what was acknowledged
    notes = [e.data.get("text") for e in rec.timeline(incident) if e.type == "note_added"]
    assert "acknowledged before the failure" in notes
    rec.dispose()

    restarted = over_engine(create_db_engine(url), catalog)
    notes = [e.data.get("text") for e in restarted.timeline(incident) if e.type == "note_added"]
    assert "acknowledged before the failure" in notes
    restarted.add_note(incident, "after the restart", actor=FRONT_DESK)
    assert restarted.verify(incident).ok
    restarted.dispose()


class FaultyDisk(sqlite3.Connection):
    """A driver connection whose COMMIT fails as SQLite's does when the disk cannot sync,
    while `failing` is set (for every connection of the test)."""

    failing = False

    def commit(self) -> None:
        if FaultyDisk.failing and self.in_transaction:
            error = sqlite3.OperationalError("disk I/O error")
            error.sqlite_errorcode = SQLITE_IOERR_FSYNC  # type: ignore[attr-defined]
            error.sqlite_errorname = "SQLITE_IOERR_FSYNC"  # type: ignore[attr-defined]
            raise error
        super().commit()


@pytest.fixture
def served(tmp_path: Path, catalog: Catalog) -> Iterator[tuple[str, Recovery, str]]:
    url = f"sqlite:///{tmp_path / 'recovery.db'}"
    engine = create_db_engine(url, connect_args={"factory": FaultyDisk})
    rec = over_engine(engine, catalog)
    app = create_app(rec)
    _row, token = app.state.ctx.accounts.create_token("pms", "integration", ["*"])
    try:
        with serve_in_thread(app) as base:
            yield base, rec, token
    finally:
        FaultyDisk.failing = False
        engine.dispose()


def test_a_commit_that_cannot_sync_answers_503_from_then_on(
    served: tuple[str, Recovery, str], tmp_path: Path, catalog: Catalog
) -> None:
    base, _rec, token = served
    with httpx.Client(
        base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as api:
        opened = api.post("/incidents", json=HOTEL)
        assert opened.status_code == 201, opened.text
        incident = opened.json()["incident"]["id"]
        note = f"/incidents/{incident}/notes"
        assert api.post(note, json={"text": "acknowledged"}).status_code == 200

        FaultyDisk.failing = True
        failed = api.post(note, json={"text": "its commit fails"})
        FaultyDisk.failing = False  # the disk answers again
        assert failed.status_code == 503, failed.text
        after = api.post(note, json={"text": "after the failure"})
        assert after.status_code == 503, after.text
        assert "could not be synced" in after.json()["message"]
        assert api.post("/incidents", json=HOTEL).status_code == 503

        shown = api.get(f"/incidents/{incident}/timeline")
        assert shown.status_code == 200
        texts = [e["data"].get("text") for e in shown.json()["events"] if e["type"] == "note_added"]
        assert texts == ["acknowledged"]
    # a restart: a new engine on the same file writes again, with what was acknowledged
    again = over_engine(create_db_engine(f"sqlite:///{tmp_path / 'recovery.db'}"), catalog)
    again.add_note(incident, "after the restart", actor=FRONT_DESK)
    texts = [e.data.get("text") for e in again.timeline(incident) if e.type == "note_added"]
    assert texts == ["acknowledged", "after the restart"]
    again.dispose()
