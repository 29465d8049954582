"""An idempotency key's reply is stored in the transaction that records its command's event:
both exist or neither, on every backend. A second command under a live key is rolled back
whole (`KeyTaken`), so a key never has two effects."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from recovery import Recovery
from recovery.errors import NotAllowedNowError
from recovery.service.once import Once
from recovery.service.ports import KeyTaken
from recovery.service.ports.accounts import Claim, StoredResponse
from recovery.service.views import Outcome
from tests.conftest import FRONT_DESK, Clock
from tests.contract.support import hotel_command, open_hotel

DAY = timedelta(days=1)


def once(rec: Recovery, key: str, fingerprint: str = "f1", principal: str = "ana") -> Once:
    now = rec.clock()

    def respond(outcome: Outcome) -> StoredResponse:
        return StoredResponse(200, outcome.to_json(), {"ETag": f'"{outcome.incident.version}"'})

    return Once(principal, key, fingerprint, now, now + DAY, respond)


def events(rec: Recovery, incident_id: str) -> int:
    return len(rec.timeline(incident_id))


def test_the_reply_is_stored_with_the_event(rec: Recovery) -> None:
    iid = open_hotel(rec).id
    keys = rec.storage.idempotency
    now = rec.clock()
    assert keys.find_key("ana", "k1", "f1", now) == Claim("free")

    done = rec.add_note(iid, "taxi booked", actor=FRONT_DESK, once=once(rec, "k1"))
    found = keys.find_key("ana", "k1", "f1", now)
    assert found.outcome == "replay" and found.response is not None
    assert found.response.status == 200
    assert found.response.body == done.to_json()  # exactly the reply the caller got
    assert found.response.headers == {"ETag": f'"{done.incident.version}"'}
    assert keys.find_key("ana", "k1", "f2", now) == Claim("mismatch")
    assert keys.find_key("bo", "k1", "f2", now) == Claim("free")  # keys are per caller
    assert events(rec, iid) == 2


def test_a_second_command_under_a_live_key_records_nothing(rec: Recovery) -> None:
    iid = open_hotel(rec).id
    rec.add_note(iid, "first", actor=FRONT_DESK, once=once(rec, "k1"))
    with pytest.raises(KeyTaken):
        rec.add_note(iid, "first", actor=FRONT_DESK, once=once(rec, "k1"))
    assert events(rec, iid) == 2
    # opening an incident is the same: no second incident
    before = len(rec.list_incidents(active_only=False))
    rec.open(hotel_command(), actor=FRONT_DESK, once=once(rec, "open-1"))
    with pytest.raises(KeyTaken):
        rec.open(hotel_command(), actor=FRONT_DESK, once=once(rec, "open-1"))
    assert len(rec.list_incidents(active_only=False)) == before + 1


def test_a_refused_command_stores_no_key(rec: Recovery) -> None:
    iid = open_hotel(rec).id
    with pytest.raises(NotAllowedNowError):
        rec.close(iid, actor=FRONT_DESK, once=once(rec, "close-1"))
    now = rec.clock()
    assert rec.storage.idempotency.find_key("ana", "close-1", "f1", now) == Claim("free")
    rec.add_note(iid, "then a note", actor=FRONT_DESK, once=once(rec, "close-1"))
    assert events(rec, iid) == 2


def test_an_expired_key_is_free_again_and_purged(rec: Recovery, clock: Clock) -> None:
    iid = open_hotel(rec).id
    keys = rec.storage.idempotency
    rec.add_note(iid, "day one", actor=FRONT_DESK, once=once(rec, "k1"))
    rec.add_note(iid, "day one", actor=FRONT_DESK, once=once(rec, "k2"))
    clock.advance(hours=25)
    assert keys.find_key("ana", "k1", "f1", rec.clock()) == Claim("free")
    rec.add_note(iid, "day two", actor=FRONT_DESK, once=once(rec, "k1", "f2"))  # replaces it
    assert keys.find_key("ana", "k1", "f2", rec.clock()).outcome == "replay"
    assert events(rec, iid) == 4
    assert keys.purge_keys(rec.clock()) == 1  # k2; k1 lives a day from now
    assert keys.purge_keys(rec.clock() + DAY) == 1


def test_concurrent_duplicates_have_one_effect(rec: Recovery) -> None:
    iid = open_hotel(rec).id
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def post() -> None:
        barrier.wait()
        try:
            rec.add_note(iid, "once only", actor=FRONT_DESK, once=once(rec, "dup"))
            result = "recorded"
        except KeyTaken:
            result = "taken"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["recorded"] + ["taken"] * 5
    assert events(rec, iid) == 2
    assert rec.verify(iid).ok
