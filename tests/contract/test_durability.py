"""SQLite at its default durability: a command is acknowledged only once it is on disk.

The event store's connection commits without syncing and syncs the write-ahead log itself
before it returns (recovery.storage.durability), so that commands arriving together share
one fsync. These tests watch the fsyncs (the disk is outside the system; the calls are
real, only recorded) to hold it to its promise.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from recovery import Catalog, Recovery, StorageError
from recovery.bootstrap import over_engine
from recovery.storage import durability
from recovery.storage.database import create_db_engine
from tests.conftest import FRONT_DESK, Clock
from tests.contract.support import open_hotel
from tests.e2e.test_api_helpers import running_api


class Syncs:
    """Every fsync of the database's write-ahead log, as it returns."""

    def __init__(self, wal: str, delay: float = 0.0) -> None:
        self.wal = wal
        self.delay = delay
        self.finished: list[float] = []
        self._real = durability._sync_file

    def __call__(self, descriptor: int) -> None:
        if self.delay:
            time.sleep(self.delay)  # a slow disk: commands pile up behind one fsync
        self._real(descriptor)
        if os.readlink(f"/proc/self/fd/{descriptor}") == self.wal:
            self.finished.append(time.monotonic())


@pytest.fixture
def watch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Syncs]:
    def start(delay: float = 0.0) -> Syncs:
        syncs = Syncs(str(tmp_path / "recovery.db-wal"), delay)
        monkeypatch.setattr(durability, "_sync_file", syncs)
        return syncs

    return start


@pytest.fixture
def full(tmp_path: Path, catalog: Catalog, clock: Clock) -> Iterator[Recovery]:
    engine = over_engine(
        create_db_engine(f"sqlite:///{tmp_path / 'recovery.db'}"), catalog, clock=clock
    )
    yield engine
    engine.dispose()


def test_a_command_returns_only_after_its_log_is_synced(
    full: Recovery, watch: Callable[..., Syncs]
) -> None:
    incident = open_hotel(full).id
    syncs = watch()
    started = time.monotonic()
    full.add_note(incident, "guest called", actor=FRONT_DESK)
    assert len(syncs.finished) == 1 and syncs.finished[0] >= started
    writer = full.log._writer  # the store's own connection leaves the syncing to it
    assert writer.execute("PRAGMA synchronous").fetchone()[0] == 1


def test_normal_durability_leaves_syncing_to_sqlite_checkpoints(
    tmp_path: Path, catalog: Catalog, watch: Callable[..., Syncs]
) -> None:
    url = f"sqlite:///{tmp_path / 'recovery.db'}"
    rec = over_engine(create_db_engine(url, sqlite_synchronous="normal"), catalog)
    try:
        incident = open_hotel(rec).id
        syncs = watch()
        rec.add_note(incident, "guest called", actor=FRONT_DESK)
        assert syncs.finished == []
    finally:
        rec.dispose()


def test_commands_arriving_together_share_fsyncs_and_each_waits_for_its_own(
    full: Recovery, watch: Callable[..., Syncs]
) -> None:
    incidents = [open_hotel(full).id for _ in range(8)]
    syncs = watch(delay=0.005)
    returned: list[float] = []
    lock = threading.Lock()

    def staff(incident: str) -> None:
        for n in range(10):
            full.add_note(incident, f"note {n}", actor=FRONT_DESK)
            with lock:
                returned.append(time.monotonic())

    threads = [threading.Thread(target=staff, args=(i,)) for i in incidents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(returned) == 80
    assert len(syncs.finished) < 40, "commands waiting together share one fsync"
    assert all(any(done <= at for done in syncs.finished) for at in returned)
    assert all(full.verify(i).ok for i in incidents)


def test_the_server_replies_only_after_the_sync(
    tmp_path: Path, catalog: Catalog, watch: Callable[..., Syncs]
) -> None:
    with running_api(f"sqlite:///{tmp_path / 'recovery.db'}", catalog) as api:
        incident = api.open()["id"]
        syncs = watch(delay=0.2)
        started = time.monotonic()
        with httpx.Client(base_url=api.base_url) as client:
            reply = client.post(
                f"/incidents/{incident}/notes",
                json={"text": "guest called"},
                headers={"Authorization": f"Bearer {api.tokens['desk']}"},
            )
        answered = time.monotonic()
    assert reply.status_code == 200, reply.text
    assert [t for t in syncs.finished if started <= t <= answered], "no sync before the reply"


def test_the_server_shares_one_fsync_among_the_requests_waiting_for_it(
    tmp_path: Path, catalog: Catalog, watch: Callable[..., Syncs]
) -> None:
    with running_api(f"sqlite:///{tmp_path / 'recovery.db'}", catalog) as api:
        incidents = [api.open()["id"] for _ in range(16)]
        syncs = watch(delay=0.05)
        answered: list[tuple[int, float]] = []
        lock = threading.Lock()

        def note(incident: str) -> None:
            with httpx.Client(base_url=api.base_url) as client:
                reply = client.post(
                    f"/incidents/{incident}/notes",
                    json={"text": "guest called"},
                    headers={"Authorization": f"Bearer {api.tokens['desk']}"},
                )
            with lock:
                answered.append((reply.status_code, time.monotonic()))

        threads = [threading.Thread(target=note, args=(i,)) for i in incidents]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert [status for status, _ in answered] == [200] * 16
    assert len(syncs.finished) <= 8, "requests that wait together share an fsync"
    assert all(any(done <= at for done in syncs.finished) for _, at in answered)


def test_a_disk_that_fails_to_sync_is_a_storage_error_not_an_acknowledgement(
    full: Recovery, monkeypatch: pytest.MonkeyPatch
) -> None:
    incident = open_hotel(full).id

    def failing(descriptor: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(durability, "_sync_file", failing)
    with pytest.raises(StorageError, match="could not be synced to disk"):
        full.add_note(incident, "guest called", actor=FRONT_DESK)
