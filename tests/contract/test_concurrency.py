"""Acceptance story 4: staff act on the same incident at the same moment.

Real concurrency: threads, each with its OWN engine (its own connection pool), released
together by a barrier. Whatever the interleaving, every action is either recorded in order
or refused with a clear error; never lost, never duplicated, and the chain still verifies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text

from recovery import Actor, Catalog, ConflictError, NotAllowedNowError, Outcome, Recovery
from recovery.bootstrap import over_engine
from recovery.storage.database import create_db_engine
from tests.conftest import FRONT_DESK, MANAGER, Clock
from tests.contract.support import open_hotel

postgres = pytest.mark.postgres


@dataclass
class Results:
    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def engines(catalog: Catalog, clock: Clock) -> Iterator[Callable[[str, int], list[Recovery]]]:
    made: list[Recovery] = []

    def make(url: str, count: int) -> list[Recovery]:
        for _ in range(count):
            made.append(over_engine(create_db_engine(url), catalog, clock=clock))
        return made[-count:]

    yield make
    for rec in made:
        rec.dispose()


def run_together(
    recs: list[Recovery], action: Callable[[Recovery, int, int], Outcome], times: int
) -> Results:
    """Each engine runs `action(rec, worker, attempt)` `times` times, all starting at once."""
    results = Results()
    barrier = threading.Barrier(len(recs))

    def worker(index: int, rec: Recovery) -> None:
        barrier.wait()
        for attempt in range(times):
            try:
                out = action(rec, index, attempt)
            except BaseException as exc:  # reported below, never lost in the thread
                with results.lock:
                    results.errors.append(exc)
            else:
                with results.lock:
                    results.outcomes.append(out)

    threads = [threading.Thread(target=worker, args=(i, r)) for i, r in enumerate(recs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a writer is stuck"
    return results


def assert_nothing_lost(rec: Recovery, incident_id: str, results: Results, opened: int) -> None:
    """The log holds exactly the successes, numbered 1..N without gaps, and verifies."""
    unexpected = [
        e for e in results.errors if not isinstance(e, ConflictError | NotAllowedNowError)
    ]
    assert unexpected == [], f"unexpected errors: {unexpected!r}"
    timeline = rec.timeline(incident_id)
    assert [e.seq for e in timeline] == list(range(1, len(timeline) + 1))
    assert len(timeline) == opened + len(results.outcomes)
    assert sorted(o.event.seq for o in results.outcomes) == [e.seq for e in timeline[opened:]]
    by_seq = {e.seq: e for e in timeline}
    for out in results.outcomes:
        assert by_seq[out.event.seq] == out.event, "the recorded event is the one returned"
    state = rec.get(incident_id).state
    assert state.version == len(timeline)
    verification = rec.verify(incident_id)
    assert verification.ok, verification
    assert rec.replay(incident_id) == state


def notes_race(
    url: str, engines: Callable[[str, int], list[Recovery]], writers: int, notes: int
) -> None:
    recs = engines(url, writers)
    incident = open_hotel(recs[0]).id

    def note(rec: Recovery, worker: int, attempt: int) -> Outcome:
        actor = Actor(id=f"staff{worker}", role="front_desk")
        return rec.add_note(incident, f"note {attempt} from staff{worker}", actor=actor)

    results = run_together(recs, note, notes)
    assert_nothing_lost(recs[0], incident, results, opened=1)
    state = recs[0].get(incident).state
    assert state.notes == len(results.outcomes)
    texts = [e.data["text"] for e in recs[0].timeline(incident)[1:]]
    assert len(set(texts)) == len(texts), "no note recorded twice"
    assert len(results.outcomes) + len(results.errors) == writers * notes
    # notes carry no expected version: both orders are valid, so none may be refused
    assert results.errors == []


@postgres
def test_eight_writers_on_one_postgres_incident_lose_nothing(
    pg_url: str, engines: Callable[[str, int], list[Recovery]]
) -> None:
    notes_race(pg_url, engines, writers=8, notes=6)


def test_four_writers_on_one_sqlite_incident_lose_nothing(
    sqlite_url: str, engines: Callable[[str, int], list[Recovery]]
) -> None:
    notes_race(sqlite_url, engines, writers=4, notes=5)


def same_version_race(
    url: str, engines: Callable[[str, int], list[Recovery]], writers: int
) -> None:
    """All writers saw the same version: exactly one wins, the rest get a ConflictError."""
    recs = engines(url, writers)
    incident = open_hotel(recs[0]).id
    seen = recs[0].get(incident).version

    def note(rec: Recovery, worker: int, attempt: int) -> Outcome:
        return rec.add_note(
            incident,
            f"decided on version {seen} by {worker}",
            actor=FRONT_DESK,
            expected_version=seen,
        )

    results = run_together(recs, note, 1)
    assert len(results.outcomes) == 1
    assert len(results.errors) == writers - 1
    for error in results.errors:
        assert isinstance(error, ConflictError)
        assert error.current_version == seen + 1
        assert error.incident_id == incident
    assert_nothing_lost(recs[0], incident, results, opened=1)


@postgres
def test_postgres_writers_on_the_same_version_one_wins_the_rest_conflict(
    pg_url: str, engines: Callable[[str, int], list[Recovery]]
) -> None:
    same_version_race(pg_url, engines, writers=8)


def test_sqlite_writers_on_the_same_version_one_wins_the_rest_conflict(
    sqlite_url: str, engines: Callable[[str, int], list[Recovery]]
) -> None:
    same_version_race(sqlite_url, engines, writers=4)


@postgres
def test_two_staff_completing_the_same_step_at_once_record_it_once(
    pg_url: str, engines: Callable[[str, int], list[Recovery]]
) -> None:
    recs = engines(pg_url, 2)
    incident = open_hotel(recs[0]).id

    def complete(rec: Recovery, worker: int, attempt: int) -> Outcome:
        actor = [FRONT_DESK, MANAGER][worker]
        return rec.complete_step(incident, "apologise", {"apology_by": actor.id}, actor=actor)

    results = run_together(recs, complete, 1)
    assert len(results.outcomes) == 1
    [error] = results.errors
    assert isinstance(error, NotAllowedNowError)
    assert error.state == "apologise:done"
    assert_nothing_lost(recs[0], incident, results, opened=1)
    winner = results.outcomes[0].event.actor
    assert recs[0].get(incident).state.steps["apologise"].evidence == {"apology_by": winner}


@postgres
def test_mixed_commands_from_many_engines_on_postgres_replay_exactly(
    pg_url: str, engines: Callable[[str, int], list[Recovery]]
) -> None:
    recs = engines(pg_url, 6)
    incident = open_hotel(recs[0]).id
    plans: list[list[Callable[[Recovery], Outcome]]] = [
        [lambda r: r.complete_step(incident, "apologise", {"apology_by": "a"}, actor=FRONT_DESK)],
        [lambda r: r.record_push(incident, "dinner", "dinner", actor=FRONT_DESK)],
        [lambda r: r.report_cues(incident, ["upset"], actor=FRONT_DESK)],
        [lambda r: r.escalate(incident, "guest upset", actor=MANAGER)],
        [lambda r: r.waive_step(incident, "dinner", "declined", actor=MANAGER)],
        [lambda r: r.record_contact(incident, "phone", "inbound", "called", actor=FRONT_DESK)],
    ]

    def act(rec: Recovery, worker: int, attempt: int) -> Outcome:
        return plans[worker][attempt](rec)

    results = run_together(recs, act, 1)
    assert results.errors == []
    assert_nothing_lost(recs[0], incident, results, opened=1)
    with recs[0].storage.engine.connect() as conn:
        stored = conn.execute(
            text("SELECT count(*) FROM events WHERE incident_id = :id"), {"id": incident}
        ).scalar_one()
    assert stored == 7


@postgres
def test_a_postgres_incident_locked_first_after_a_lost_race_records_and_refuses_as_before(
    pg_url: str, engines: Callable[[str, int], list[Recovery]]
) -> None:
    """An incident this engine lost a race on is locked before it is read, for a while:
    commands are recorded in order and a stale `expected_version` is still refused."""
    rec, other = engines(pg_url, 2)
    incident = open_hotel(rec).id
    seen = rec.get(incident).version
    other.add_note(incident, "the other desk was first", actor=FRONT_DESK)
    rec.unit_of_work.contended.lost_race(incident)
    assert incident in rec.unit_of_work.contended
    with pytest.raises(ConflictError) as refused:
        rec.add_note(incident, "decided on an old page", actor=FRONT_DESK, expected_version=seen)
    assert refused.value.current_version == seen + 1
    out = rec.add_note(incident, "decided on the new page", actor=FRONT_DESK)
    assert out.event.seq == seen + 2
    assert_nothing_lost(rec, incident, Results(outcomes=[out]), opened=2)
