"""Deadlines are rows (the incident's next due time), swept by workers: a missed promise
escalates by itself, exactly once, even with several workers racing."""

from __future__ import annotations

import threading

import pytest

from recovery import Actor, Catalog, CustomerProfile, OpenIncident, Recovery
from recovery.bootstrap import over_engine
from recovery.errors import PermissionDeniedError
from recovery.storage.database import create_db_engine
from tests.conftest import FRONT_DESK, Clock

ACKNOWLEDGED = {"acknowledged_by": "Ana", "channel": "phone"}


def _complaint(rec: Recovery) -> str:
    command = OpenIncident(
        incident_type="energy.complaint",
        site="energy-north",
        customer=CustomerProfile(name="Sara Lind"),
        summary="Promised an answer 'within 8 weeks'",
    )
    return rec.open(command, actor=FRONT_DESK, channel="phone").id


def _missed(rec: Recovery, incident_id: str) -> list[list[str]]:
    return [e.data["steps"] for e in rec.timeline(incident_id) if e.type == "deadline_missed"]


def test_a_deadline_met_in_time_never_fires(rec: Recovery, clock: Clock) -> None:
    incident_id = _complaint(rec)
    rec.complete_step(incident_id, "acknowledge", ACKNOWLEDGED, actor=FRONT_DESK)
    rec.complete_step(incident_id, "offer_call", {"accepted": True}, actor=FRONT_DESK)
    clock.advance(hours=5)  # both were due after 4 h; nothing else is due yet
    assert rec.sweep_deadlines() == []
    assert _missed(rec, incident_id) == []


def test_a_missed_written_answer_escalates_once_and_notifies(rec: Recovery, clock: Clock) -> None:
    incident_id = _complaint(rec)
    clock.advance(hours=49)  # past the 48 h written answer, nobody watching this incident
    first = rec.sweep_deadlines()
    assert [o.id for o in first] == [incident_id]
    view = rec.get(incident_id)
    assert view.status == "escalated"
    assert view.state.tier == 2
    assert "written_answer" in _missed(rec, incident_id)[0]
    assert view.state.steps["written_answer"].missed
    kinds = [m["kind"] for m in rec.outbox(incident_id)]
    assert "escalation" in kinds
    assert any(
        m["kind"] == "notify" and m["payload"]["role"] == "manager" for m in rec.outbox(incident_id)
    )
    # Sweeping again, later, records nothing new for the same deadlines.
    clock.advance(hours=1)
    assert rec.sweep_deadlines() == []
    assert len(_missed(rec, incident_id)) == 1
    assert rec.verify(incident_id).ok


def test_a_step_completed_after_its_deadline_is_recorded_late(rec: Recovery, clock: Clock) -> None:
    incident_id = _complaint(rec)
    clock.advance(hours=5)
    out = rec.complete_step(incident_id, "acknowledge", ACKNOWLEDGED, actor=FRONT_DESK)
    assert out.event.data["late"] is True
    assert out.incident.state.steps["acknowledge"].late


def test_only_the_engine_records_a_missed_deadline(rec: Recovery, clock: Clock) -> None:
    from recovery.domain.commands import MissDeadlines

    incident_id = _complaint(rec)
    clock.advance(hours=5)
    with pytest.raises(PermissionDeniedError):
        rec.execute(incident_id, MissDeadlines(), actor=Actor(id="x", role="manager"))


@pytest.mark.postgres
def test_workers_racing_on_postgres_record_each_miss_once(
    pg_url: str, catalog: Catalog, clock: Clock
) -> None:
    engines = [create_db_engine(pg_url) for _ in range(4)]
    workers = [over_engine(engine, catalog, clock=clock) for engine in engines]
    ids = [_complaint(workers[0]) for _ in range(30)]
    clock.advance(hours=49)
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def sweep(worker: Recovery) -> None:
        try:
            barrier.wait()
            while worker.sweep_deadlines(limit=7):
                pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sweep, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for incident_id in ids:
        missed = [step for steps in _missed(workers[0], incident_id) for step in steps]
        assert sorted(missed) == sorted(set(missed))  # no step recorded twice
        assert "written_answer" in missed
        assert workers[0].verify(incident_id).ok
    for engine in engines:
        engine.dispose()
