"""Notifications: each person is told what needs them, once, from the events; marked read
per person; answerable afterwards (who was told what, about which event, when)."""

from __future__ import annotations

import threading

from recovery import Recovery
from recovery.service.notifications import Notifier
from recovery.service.ports.notifications import NewNotice, Told
from tests.conftest import FRONT_DESK, MANAGER, Clock
from tests.contract.support import open_hotel

USERS = {
    "ana": ("front_desk", ["ribe"]),
    "mads": ("manager", ["ribe"]),
    "mia": ("manager", ["*"]),
    "vejle-boss": ("manager", ["vejle"]),
    "aud": ("auditor", ["*"]),
}


def add_users(rec: Recovery, clock: Clock) -> None:
    for name, (role, sites) in USERS.items():
        rec.storage.accounts.add_user(name, "not-a-real-hash", role, sites, clock())


def told(rec: Recovery, who: str) -> list[tuple[str, int, str]]:
    return sorted((n.kind, n.seq, n.incident_id) for n in rec.storage.notifications.list(who))


def test_an_approval_request_tells_the_managers_and_the_answer_tells_the_requester(
    rec: Recovery, clock: Clock
) -> None:
    add_users(rec, clock)
    notifier = Notifier(rec)
    iid = open_hotel(rec).id
    asked = rec.act_on_step(
        iid, "pay_room", "request_approval", actor=FRONT_DESK, amount=450, reason="suite only"
    )
    assert notifier.tell(iid) == 2
    seq = asked.event.seq
    assert told(rec, "mads") == told(rec, "mia") == [("approval_requested", seq, iid)]
    assert told(rec, "vejle-boss") == []  # another property's manager
    assert told(rec, "ana") == []  # not told of her own request
    assert "asks for approval of 450 EUR for" in rec.storage.notifications.list("mads")[0].message

    assert notifier.tell(iid) == 0  # told once: a second pass finds nothing new
    granted = rec.act_on_step(iid, "pay_room", "grant_approval", actor=MANAGER)
    assert notifier.tell(iid) == 1
    assert told(rec, "ana") == [("approval_granted", granted.event.seq, iid)]
    assert len(told(rec, "mads")) == 1  # not told of his own decision
    notice = rec.storage.notifications.list("ana")[0]
    assert notice.created_at is not None and notice.read_at is None
    assert notice.site == "ribe"


def test_a_hand_off_tells_the_person_it_goes_to(rec: Recovery, clock: Clock) -> None:
    add_users(rec, clock)
    iid = open_hotel(rec).id
    handed = rec.hand_off(iid, "mads", "the guest wants a manager", actor=FRONT_DESK)
    Notifier(rec).tell(iid)
    assert told(rec, "mads") == [("handed_to_you", handed.event.seq, iid)]


def test_missed_deadlines_tell_the_owner_and_the_managers(rec: Recovery, clock: Clock) -> None:
    add_users(rec, clock)
    iid = open_hotel(rec).id
    clock.advance(hours=2)  # apologise (30 min) and others are overdue
    (missed,) = rec.sweep_deadlines()
    Notifier(rec).tell(iid)
    for person in ("ana", "mads", "mia"):
        assert ("step_overdue", missed.event.seq, iid) in told(rec, person), person
    assert told(rec, "vejle-boss") == []


def test_a_catch_up_tells_what_happened_while_no_worker_ran(rec: Recovery, clock: Clock) -> None:
    add_users(rec, clock)
    iid = open_hotel(rec).id
    rec.act_on_step(iid, "pay_room", "request_approval", actor=FRONT_DESK, amount=450)
    assert Notifier(rec).catch_up() == 2
    assert Notifier(rec).catch_up() == 0


def test_several_workers_tell_each_thing_once(rec: Recovery, clock: Clock) -> None:
    add_users(rec, clock)
    ids = [open_hotel(rec).id for _ in range(5)]
    for iid in ids:
        rec.act_on_step(iid, "pay_room", "request_approval", actor=FRONT_DESK, amount=450)
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        notifier = Notifier(rec)
        for iid in ids:
            notifier.tell(iid)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(told(rec, "mads")) == 5
    assert len(set(told(rec, "mads"))) == 5


def test_marked_read_per_person(rec: Recovery, clock: Clock) -> None:
    add_users(rec, clock)
    store = rec.storage.notifications
    for _ in range(3):
        iid = open_hotel(rec).id
        rec.act_on_step(iid, "pay_room", "request_approval", actor=FRONT_DESK, amount=450)
        Notifier(rec).tell(iid)
    assert store.unread_count("mads") == store.unread_count("mia") == 3
    first = store.list("mads")[-1].id
    assert store.mark_read("mads", [first], clock()) == 1
    assert store.mark_read("mads", [first], clock()) == 0  # already read
    assert store.mark_read("mia", [first], clock()) == 0  # not hers
    assert store.unread_count("mads") == 2
    assert store.unread_count("mia") == 3
    assert store.mark_read("mads", None, clock()) == 2
    assert store.unread_count("mads") == 0
    assert all(n.read_at is not None for n in store.list("mads"))


def test_an_incident_that_is_not_there_tells_nobody(rec: Recovery) -> None:
    # (a change heard from elsewhere, e.g. another schema on the same PostgreSQL channel)
    assert Notifier(rec).tell("inc_0000000000000000000000000000dead") == 0


def test_a_catch_up_goes_through_every_batch(rec: Recovery, clock: Clock) -> None:
    add_users(rec, clock)
    for _ in range(5):
        iid = open_hotel(rec).id
        rec.act_on_step(iid, "pay_room", "request_approval", actor=FRONT_DESK, amount=450)
    assert Notifier(rec).catch_up(batch=2) == 10  # mads and mia, five times
    assert rec.storage.notifications.untold(["open", "escalated"], 100) == []


def test_a_worker_that_derived_from_an_old_mark_stores_nothing(rec: Recovery, clock: Clock) -> None:
    iid = open_hotel(rec).id
    store = rec.storage.notifications
    notice = NewNotice("mads", iid, 1, "approval_requested", "ribe", "asks for approval")
    assert store.record([Told(iid, 0, 1, [notice])], clock()) == (1, [])
    assert store.marks([iid]) == {iid: 1}
    late = Told(iid, 0, 1, [notice._replace(kind="tier_raised")])
    assert store.record([late], clock()) == (0, [iid])  # the mark moved on: told already
    assert [n.kind for n in store.list("mads")] == ["approval_requested"]
