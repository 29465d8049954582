"""The change feed (`Storage.changes()`): a committed change is heard, once, by a reader
that was listening; a refused command is not a change; and `ChangeFeed` fans one reader
out to its listeners."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from recovery import Recovery
from recovery.errors import NotAllowedNowError
from recovery.service.changes import ChangeFeed
from recovery.service.ports.changes import Change, ChangeSource
from tests.conftest import FRONT_DESK
from tests.contract.support import open_hotel


def heard(source: ChangeSource, incident_id: str, looks: int = 40) -> list[Change]:
    """Changes read until one names `incident_id` (each look waits up to 0.25 s)."""
    found: list[Change] = []
    for _ in range(looks):
        found.extend(source.wait(0.25))
        if any(c.incident_id == incident_id for c in found):
            return found
    return found


def quiet_about(source: ChangeSource, incident_id: str) -> bool:
    """No change of `incident_id` within a second (on PostgreSQL other tests' schemas
    notify on the same channel: only this incident's changes count)."""
    return not any(c.incident_id == incident_id for _ in range(4) for c in source.wait(0.25))


def test_a_committed_command_is_heard_once_with_its_property(rec: Recovery) -> None:
    source = rec.storage.changes()
    try:
        opened = open_hotel(rec)
        assert Change(opened.id, "ribe") in heard(source, opened.id)
        assert quiet_about(source, opened.id)  # heard once, not again
        rec.add_note(opened.id, "guest called back", actor=FRONT_DESK, channel="desk")
        assert Change(opened.id, "ribe") in heard(source, opened.id)
        with pytest.raises(NotAllowedNowError):
            rec.close(opened.id, actor=FRONT_DESK)  # refused: nothing recorded
        assert quiet_about(source, opened.id)
    finally:
        source.close()


def test_a_reader_opened_later_hears_only_what_comes_after(rec: Recovery) -> None:
    before = open_hotel(rec)
    source = rec.storage.changes()
    try:
        assert quiet_about(source, before.id)
        after = open_hotel(rec)
        assert [c.incident_id for c in heard(source, after.id)].count(before.id) == 0
    finally:
        source.close()


def test_the_feed_fans_one_reader_out_to_every_listener(rec: Recovery) -> None:
    feed = ChangeFeed(rec.storage.changes, max_listeners=2)
    got: dict[str, list[Change]] = {"a": [], "b": []}

    def listener(name: str):  # type: ignore[no-untyped-def]
        def on(changes: Sequence[Change]) -> None:
            got[name].extend(changes)

        return on

    def heard_by_both(incident_id: str) -> bool:
        # (on PostgreSQL other schemas' tests notify the same channel: look for this one)
        for _ in range(100):
            if all(any(c.incident_id == incident_id for c in list(got[k])) for k in got):
                return True
            threading.Event().wait(0.1)
        return False

    try:
        stop_a = feed.listen(listener("a"))
        assert stop_a is not None
        assert feed.listen(listener("b")) is not None
        assert feed.listen(listener("c")) is None  # bounded: the third is turned away
        opened = open_hotel(rec)
        assert heard_by_both(opened.id)
        assert Change(opened.id, "ribe") in got["a"]
        assert Change(opened.id, "ribe") in got["b"]
        stop_a()
        assert feed.listeners == 1
    finally:
        feed.close()


def test_a_reader_opened_on_an_empty_database_hears_every_first_change(rec: Recovery) -> None:
    source = rec.storage.changes()
    try:
        first, second = open_hotel(rec).id, open_hotel(rec).id  # before the reader looks
        found: set[str] = set()
        for _ in range(40):
            found |= {c.incident_id for c in source.wait(0.25)}
            if {first, second} <= found:
                break
        assert {first, second} <= found
    finally:
        source.close()
