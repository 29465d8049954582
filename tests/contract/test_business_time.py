"""Deadlines in the site's business time, and holds while waiting on the customer, on every
backend: a callback due in 2 business hours at a desk open weekdays 8-16 and opened on a
Friday at 15:30 is due on Monday at 09:30; the sweeper escalates it once, in business
time; a hold stops its clock and resuming moves it by the business time held."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from recovery import Catalog, CustomerProfile, OpenIncident, Recovery
from recovery.bootstrap import in_memory, over_engine
from recovery.domain.state import iso
from recovery.domain.validation import validate_playbook
from recovery.errors import NotAllowedNowError
from recovery.sites import Sites
from recovery.storage.database import create_db_engine
from tests.conftest import FRONT_DESK, MANAGER, Clock

CPH = ZoneInfo("Europe/Copenhagen")
SITES_DIR = Path(__file__).resolve().parents[2] / "sites"
SITES = Sites.from_directory(SITES_DIR)
FRIDAY_1530 = datetime(2026, 3, 6, 15, 30, tzinfo=CPH).astimezone(UTC)
CALLBACK = {
    "id": "callback-desk",
    "version": 1,
    "title": "Call the customer back",
    "incident_types": ["energy.callback"],
    "steps": [
        {
            "id": "call_back",
            "title": "Call the customer back",
            "customer_text": "We called you back.",
            "owner": "complaints_team",
            "due": "2 business hours",
        },
        {
            "id": "note_it",
            "title": "Note the call in the customer's file",
            "customer_text": "We noted the call.",
            "owner": "complaints_team",
            "due": "30m",
            "required": False,
        },
    ],
}


def cph(*args: int) -> str:
    return iso(datetime(*args, tzinfo=CPH))  # type: ignore[misc]


@pytest.fixture(scope="module")
def callback_catalog() -> Catalog:
    return Catalog([validate_playbook(CALLBACK, "callback-desk.yaml")])


@pytest.fixture
def desk(
    backend: str, callback_catalog: Catalog, request: pytest.FixtureRequest
) -> Iterator[tuple[Recovery, Clock]]:
    clock = Clock(FRIDAY_1530)
    if backend == "memory":
        rec = in_memory(callback_catalog, clock=clock)
    else:
        engine = create_db_engine(request.getfixturevalue("db_url"))
        rec = over_engine(engine, callback_catalog, clock=clock)
    yield rec, clock
    rec.dispose()


def at(clock: Clock, *args: int) -> None:
    clock.now = datetime(*args, tzinfo=CPH).astimezone(UTC)  # type: ignore[misc]


def open_callback(rec: Recovery) -> str:
    command = OpenIncident(
        incident_type="energy.callback",
        site="esbjerg-complaints",
        customer=CustomerProfile(name="Birgitte Poulsen"),
        summary="Asked to be called back about three estimated bills",
    )
    return rec.open(command, actor=FRONT_DESK, channel="phone").id


def missed(rec: Recovery, incident_id: str) -> list[list[str]]:
    return [e.data["steps"] for e in rec.timeline(incident_id) if e.type == "deadline_missed"]


def test_two_business_hours_from_friday_1530_are_monday_0930(
    desk: tuple[Recovery, Clock],
) -> None:
    rec, _clock = desk
    incident_id = open_callback(rec)
    state = rec.get(incident_id).state
    assert state.steps["call_back"].due_at == cph(2026, 3, 9, 9, 30)
    assert state.steps["note_it"].due_at == cph(2026, 3, 6, 16, 0)  # elapsed: as always
    opened = rec.timeline(incident_id)[0]
    assert opened.data["calendar"] == "esbjerg-complaints@v1"  # what it was counted in


def test_the_sweeper_escalates_in_business_time_exactly_once(
    desk: tuple[Recovery, Clock],
) -> None:
    rec, clock = desk
    incident_id = open_callback(rec)
    at(clock, 2026, 3, 7, 20, 0)  # Saturday evening: 4 hours of wall clock long gone
    assert rec.sweep_deadlines() == []
    at(clock, 2026, 3, 9, 9, 29)
    assert rec.sweep_deadlines() == []
    at(clock, 2026, 3, 9, 9, 31)
    assert [o.id for o in rec.sweep_deadlines()] == [incident_id]
    assert rec.get(incident_id).status == "escalated"
    clock.advance(hours=3)
    assert rec.sweep_deadlines() == []
    assert missed(rec, incident_id) == [["call_back"]]
    assert rec.verify(incident_id).ok


def test_a_hold_of_three_hours_moves_the_deadline_by_three_business_hours(
    desk: tuple[Recovery, Clock],
) -> None:
    rec, clock = desk
    incident_id = open_callback(rec)
    at(clock, 2026, 3, 9, 8, 0)  # Monday, as the desk opens: 1.5 business hours left
    held = rec.hold(
        incident_id, "waiting for the customer's meter reading", step="call_back", actor=MANAGER
    )
    assert held.incident.state.holds == {
        "call_back": {"since": iso(clock.now), "reason": "waiting for the customer's meter reading"}
    }
    assert "resume" in held.incident.allowed
    at(clock, 2026, 3, 9, 10, 0)  # past the old deadline, but its clock is stopped
    assert rec.sweep_deadlines() == []
    at(clock, 2026, 3, 9, 11, 0)
    resumed = rec.resume(incident_id, actor=MANAGER)
    assert resumed.event.data["steps"] == {"call_back": cph(2026, 3, 9, 12, 30)}
    state = resumed.incident.state
    assert state.steps["call_back"].due_at == cph(2026, 3, 9, 12, 30)
    assert state.holds is None and state.held_seconds == 3 * 3600
    assert "resume" not in resumed.incident.allowed
    at(clock, 2026, 3, 9, 12, 29)
    assert rec.sweep_deadlines() == []
    at(clock, 2026, 3, 9, 12, 31)
    assert [o.id for o in rec.sweep_deadlines()] == [incident_id]
    assert rec.sweep_deadlines() == []
    assert rec.verify(incident_id).ok


def test_a_hold_outside_opening_hours_moves_it_by_the_business_time_held(
    desk: tuple[Recovery, Clock],
) -> None:
    rec, clock = desk
    incident_id = open_callback(rec)
    rec.hold(incident_id, "waiting for the customer's meter reading", actor=FRONT_DESK)
    clock.advance(hours=3)  # Friday 15:30 to 18:30: half an hour of it was open
    resumed = rec.resume(incident_id, actor=FRONT_DESK)
    assert resumed.incident.state.steps["call_back"].due_at == cph(2026, 3, 9, 10, 0)
    assert resumed.incident.state.steps["note_it"].due_at == cph(2026, 3, 6, 19, 0)  # elapsed


def test_a_hold_after_the_deadline_passed_does_not_undo_the_miss(
    desk: tuple[Recovery, Clock],
) -> None:
    rec, clock = desk
    incident_id = open_callback(rec)
    at(clock, 2026, 3, 9, 9, 45)  # a quarter of an hour late, the sweeper not yet by
    rec.hold(incident_id, "waiting for the customer", step="call_back", actor=FRONT_DESK)
    assert [o.id for o in rec.sweep_deadlines()] == [incident_id]
    assert missed(rec, incident_id) == [["call_back"]]
    clock.advance(hours=2)
    resumed = rec.resume(incident_id, step="call_back", actor=FRONT_DESK)
    step = resumed.incident.state.steps["call_back"]
    assert step.missed and step.due_at == cph(2026, 3, 9, 9, 30)  # not moved
    done = rec.complete_step(incident_id, "call_back", actor=FRONT_DESK)
    assert done.event.data["late"] is True
    assert rec.verify(incident_id).ok


def test_a_step_finished_while_held_before_its_deadline_is_not_late(
    desk: tuple[Recovery, Clock],
) -> None:
    rec, clock = desk
    incident_id = open_callback(rec)
    rec.hold(incident_id, "waiting for the customer", step="call_back", actor=FRONT_DESK)
    at(clock, 2026, 3, 10, 12, 0)  # long after the old deadline
    done = rec.complete_step(incident_id, "call_back", actor=FRONT_DESK)
    assert done.event.data["late"] is False
    assert done.incident.state.holds is None  # a finished step is held no more
    assert done.incident.state.held_seconds == (clock.now - FRIDAY_1530).total_seconds()


def test_holding_twice_or_resuming_nothing_is_refused(desk: tuple[Recovery, Clock]) -> None:
    rec, _clock = desk
    incident_id = open_callback(rec)
    with pytest.raises(NotAllowedNowError, match="nothing is on hold"):
        rec.resume(incident_id, actor=FRONT_DESK)
    rec.hold(incident_id, "waiting for the customer", step="call_back", actor=FRONT_DESK)
    with pytest.raises(NotAllowedNowError, match="already on hold"):
        rec.hold(incident_id, "again", step="call_back", actor=FRONT_DESK)
    assert len(rec.timeline(incident_id)) == 2


def test_deadlines_replay_the_same_after_the_calendar_changes(
    desk: tuple[Recovery, Clock], callback_catalog: Catalog, tmp_path: Path
) -> None:
    rec, clock = desk
    incident_id = open_callback(rec)
    rec.hold(incident_id, "waiting for the customer", actor=FRONT_DESK)
    clock.advance(hours=1)
    rec.resume(incident_id, actor=FRONT_DESK)
    before = rec.get(incident_id).state
    # The desk now opens at 10 and has a new closed day: version 2 of its calendar.
    changed = (SITES_DIR / "esbjerg-complaints.yaml").read_text()
    changed = changed.replace("version: 1", "version: 2").replace("08:00-16:00", "10:00-16:00")
    (tmp_path / "esbjerg-complaints.yaml").write_text(changed)
    later = Recovery(
        rec.storage, callback_catalog, clock=clock, sites=Sites.from_directory(tmp_path)
    )
    assert later.replay(incident_id) == before
    assert later.verify(incident_id).ok
    # New incidents count in the new version.
    clock.now = FRIDAY_1530
    newer = later.get(open_callback(later))
    assert newer.state.steps["call_back"].due_at == cph(2026, 3, 9, 11, 30)


@pytest.mark.postgres
def test_workers_racing_escalate_each_business_deadline_once(
    pg_url: str, callback_catalog: Catalog
) -> None:
    clock = Clock(FRIDAY_1530)
    engines = [create_db_engine(pg_url) for _ in range(4)]
    workers = [over_engine(engine, callback_catalog, clock=clock) for engine in engines]
    ids = [open_callback(workers[0]) for _ in range(12)]
    workers[0].hold(ids[0], "waiting for the customer", actor=FRONT_DESK)
    clock.now = datetime(2026, 3, 9, 9, 31, tzinfo=CPH).astimezone(UTC)
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def sweep(worker: Recovery) -> None:
        try:
            barrier.wait()
            while worker.sweep_deadlines(limit=5):
                pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sweep, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert missed(workers[0], ids[0]) == []  # held: its clock is stopped
    for incident_id in ids[1:]:
        assert missed(workers[0], incident_id) == [["call_back"]]
        assert workers[0].verify(incident_id).ok
    clock.now += timedelta(hours=1)
    assert workers[0].sweep_deadlines() == []
    for engine in engines:
        engine.dispose()
