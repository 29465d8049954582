"""Acceptance story 5 in detail: replay any incident to any moment, and detect and locate
every edit of its stored history, on SQLite and PostgreSQL.

The tampering is done the way an insider would: plain SQL against the tables, bypassing
the engine. `verify` must report ok=False with the first broken position (`broken_seq`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import text

from recovery import CommandRejectedError, IncidentNotFoundError, IncidentState, Recovery
from recovery.domain.chain import event_hash
from recovery.storage.moments import from_column
from tests.conftest import FRONT_DESK, MANAGER, Clock
from tests.contract.support import execute_sql, open_hotel, sql


@dataclass
class History:
    incident_id: str
    states: list[IncidentState]  # states[n - 1] is the state right after event n


def build_history(rec: Recovery, clock: Clock) -> History:
    """Seven events, ten minutes apart, whose data hold values we can alter by one byte."""
    out = open_hotel(rec)
    incident = out.id
    states = [out.incident.state]
    steps = [
        lambda: rec.add_note(incident, "refund 100 EUR agreed", actor=FRONT_DESK),
        lambda: rec.complete_step(incident, "apologise", {"apology_by": "Ana"}, actor=FRONT_DESK),
        lambda: rec.record_push(incident, "a room in town", "rebook_local", actor=FRONT_DESK),
        lambda: rec.complete_step(
            incident, "rebook_local", {"hotel": "Dagmar", "distance_km": 3}, actor=FRONT_DESK
        ),
        lambda: rec.waive_step(incident, "dinner", "guest ate at the wedding", actor=MANAGER),
        lambda: rec.complete_step(incident, "pay_room", {"amount": 180}, actor=FRONT_DESK),
    ]
    for step in steps:
        clock.advance(minutes=10)
        states.append(step().incident.state)
    assert rec.verify(incident).ok
    return History(incident, states)


# ------------------------------------------------------------------ replay to any moment


def test_replay_to_any_event(rec: Recovery, clock: Clock) -> None:
    history = build_history(rec, clock)
    for n, expected in enumerate(history.states, start=1):
        assert rec.replay(history.incident_id, at_seq=n) == expected
    assert (
        rec.replay(history.incident_id) == history.states[-1] == rec.get(history.incident_id).state
    )


def test_replay_to_any_moment(rec: Recovery, clock: Clock) -> None:
    opened_at = clock.now
    history = build_history(rec, clock)
    incident = history.incident_id
    for n, expected in enumerate(history.states, start=1):
        recorded_at = opened_at + timedelta(minutes=10 * (n - 1))
        assert rec.replay(incident, at_time=recorded_at) == expected
        assert rec.replay(incident, at_time=recorded_at + timedelta(minutes=9)) == expected
    state = rec.replay(incident, at_time=opened_at + timedelta(minutes=25))
    assert state.version == 3
    assert state.steps["apologise"].status == "done"
    assert state.pushes == 0
    assert rec.replay(incident, at_time=opened_at + timedelta(days=30)) == history.states[-1]
    with pytest.raises(CommandRejectedError, match="did not exist yet") as before_opening:
        rec.replay(incident, at_time=opened_at - timedelta(seconds=1))
    assert before_opening.value.field == "at"
    with pytest.raises(IncidentNotFoundError):
        rec.replay("inc_never_opened", at_seq=1)


# ------------------------------------------------------------------ tampering


SEALED = "<personal>"


def data_of(rec: Recovery, incident: str, seq: int) -> str:
    with sql(rec) as conn:
        return str(
            conn.execute(
                text("SELECT data FROM events WHERE incident_id = :id AND seq = :seq"),
                {"id": incident, "seq": seq},
            ).scalar_one()
        )


def alter_one_byte(rec: Recovery, incident: str, seq: int, old: str, new: str) -> None:
    """Replace the LAST occurrence of `old` (the step's evidence, after its effects)."""
    original = data_of(rec, incident, seq)
    if old == SEALED:  # a personal value: one character of its sealed box
        at = original.index('"personal":"') + len('"personal":"') + 5
        old, new = original[at], "A" if original[at] != "A" else "B"
    else:
        at = original.rfind(old)
    assert at >= 0 and len(old) == len(new)
    altered = original[:at] + new + original[at + len(old) :]
    assert sum(a != b for a, b in zip(original, altered, strict=True)) == 1
    changed = execute_sql(
        rec,
        "UPDATE events SET data = :data WHERE incident_id = :id AND seq = :seq",
        data=altered,
        id=incident,
        seq=seq,
    )
    assert changed == 1


@pytest.mark.parametrize(
    ("seq", "old", "new"),
    [
        (1, SEALED, ""),  # the customer's name in the opening event (sealed)
        (2, SEALED, ""),  # what was agreed, in a note (sealed)
        (5, '"distance_km":3', '"distance_km":8'),  # a rebooking made to look not local
        (7, '"amount":180', '"amount":980'),  # the newest event: the amount paid
    ],
)
@pytest.mark.sql
def test_altering_one_byte_of_one_event_is_detected_and_located(
    rec: Recovery, clock: Clock, seq: int, old: str, new: str
) -> None:
    history = build_history(rec, clock)
    alter_one_byte(rec, history.incident_id, seq, old, new)
    result = rec.verify(history.incident_id)
    assert not result.ok
    assert result.broken_seq == seq
    assert result.problem is not None and "hash" in result.problem
    assert [v.ok for v in rec.verify_all()] == [False]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "mads"),
        ("actor_role", "manager"),
        ("channel", "web"),
        ("type", "note_added"),
        ("playbook_version", 7),
    ],
)
@pytest.mark.sql
def test_altering_an_events_metadata_is_detected_and_located(
    rec: Recovery, clock: Clock, column: str, value: object
) -> None:
    history = build_history(rec, clock)
    execute_sql(
        rec,
        f"UPDATE events SET {column} = :value WHERE incident_id = :id AND seq = 3",
        value=value,
        id=history.incident_id,
    )
    result = rec.verify(history.incident_id)
    assert (result.ok, result.broken_seq) == (False, 3)


@pytest.mark.sql
def test_altering_when_an_event_happened_is_detected_and_located(
    rec: Recovery, clock: Clock
) -> None:
    history = build_history(rec, clock)
    with sql(rec) as conn:
        when = conn.execute(
            text("SELECT recorded_at FROM events WHERE incident_id = :id AND seq = 4"),
            {"id": history.incident_id},
        ).scalar_one()
        if isinstance(when, str):  # SQLite keeps the text form
            moved = when.replace(" 14:30:", " 14:29:")
            assert moved != when
        else:
            moved = when - timedelta(minutes=1)
        conn.execute(
            text("UPDATE events SET recorded_at = :at WHERE incident_id = :id AND seq = 4"),
            {"at": moved, "id": history.incident_id},
        )
    result = rec.verify(history.incident_id)
    assert (result.ok, result.broken_seq) == (False, 4)


@pytest.mark.parametrize("seq", [1, 4, 7])
@pytest.mark.sql
def test_deleting_an_event_is_detected_and_located(rec: Recovery, clock: Clock, seq: int) -> None:
    history = build_history(rec, clock)
    execute_sql(
        rec,
        "DELETE FROM events WHERE incident_id = :id AND seq = :seq",
        id=history.incident_id,
        seq=seq,
    )
    result = rec.verify(history.incident_id)
    assert (result.ok, result.broken_seq) == (False, seq)


@pytest.mark.sql
def test_truncating_the_newest_events_is_detected_and_located(rec: Recovery, clock: Clock) -> None:
    history = build_history(rec, clock)
    execute_sql(
        rec, "DELETE FROM events WHERE incident_id = :id AND seq >= 5", id=history.incident_id
    )
    result = rec.verify(history.incident_id)
    assert (result.ok, result.broken_seq) == (False, 5)
    assert result.problem is not None and "removed" in result.problem


@pytest.mark.parametrize(("first", "second"), [(2, 3), (3, 6), (6, 7)])
@pytest.mark.sql
def test_reordering_events_is_detected_and_located(
    rec: Recovery, clock: Clock, first: int, second: int
) -> None:
    history = build_history(rec, clock)
    swap = "UPDATE events SET seq = :to WHERE incident_id = :id AND seq = :seq"
    incident = history.incident_id
    execute_sql(rec, swap, to=-1, id=incident, seq=first)
    execute_sql(rec, swap, to=first, id=incident, seq=second)
    execute_sql(rec, swap, to=second, id=incident, seq=-1)
    result = rec.verify(incident)
    assert (result.ok, result.broken_seq) == (False, first)


def forge_after(rec: Recovery, incident: str, *, valid_hash: bool) -> int:
    """Append a copy of the newest event as event N+1, chained to it (hash correct or not)."""
    with sql(rec) as conn:
        row = (
            conn.execute(
                text("SELECT * FROM events WHERE incident_id = :id ORDER BY seq DESC LIMIT 1"),
                {"id": incident},
            )
            .mappings()
            .one()
        )
        forged = dict(row)
        forged["seq"] = row["seq"] + 1
        forged["prev_hash"] = row["hash"]
        forged["data"] = '{"text":"the guest agreed to pay for everything"}'
        forged["type"] = "note_added"
        forged["hash"] = (
            event_hash(
                row["hash"],
                incident,
                forged["seq"],
                "note_added",
                row["schema_version"],
                row["playbook_id"],
                row["playbook_version"],
                row["actor"],
                row["actor_role"],
                row["channel"],
                from_column(row["recorded_at"]) or "",
                forged["data"].encode(),
            )
            if valid_hash
            else "f" * 64
        )
        columns = ", ".join(forged)
        values = ", ".join(f":{name}" for name in forged)
        conn.execute(text(f"INSERT INTO events ({columns}) VALUES ({values})"), forged)
    return int(forged["seq"])


@pytest.mark.parametrize("valid_hash", [True, False], ids=["chained", "bad-hash"])
@pytest.mark.sql
def test_inserting_a_forged_event_is_detected_and_located(
    rec: Recovery, clock: Clock, valid_hash: bool
) -> None:
    history = build_history(rec, clock)
    forged_seq = forge_after(rec, history.incident_id, valid_hash=valid_hash)
    result = rec.verify(history.incident_id)
    assert (result.ok, result.broken_seq) == (False, forged_seq)


@pytest.mark.sql
def test_editing_the_current_state_row_is_detected(rec: Recovery, clock: Clock) -> None:
    history = build_history(rec, clock)
    state = rec.get(history.incident_id).state
    state.pushes = 0
    execute_sql(
        rec,
        "UPDATE incidents SET state = :state WHERE id = :id",
        state=state.to_json().decode(),
        id=history.incident_id,
    )
    result = rec.verify(history.incident_id)
    assert not result.ok
    assert result.problem is not None and "state" in result.problem


@pytest.mark.sql
def test_tampering_with_one_incident_leaves_the_others_verified(
    rec: Recovery, clock: Clock
) -> None:
    tampered = build_history(rec, clock).incident_id
    untouched = build_history(rec, clock).incident_id
    alter_one_byte(rec, tampered, 2, SEALED, "")
    results = {v.incident_id: v for v in rec.verify_all()}
    assert results[untouched].ok
    assert (results[tampered].ok, results[tampered].broken_seq) == (False, 2)


@pytest.mark.sql
def test_a_pass_shared_by_worker_processes_reports_exactly_what_one_process_does(
    rec: Recovery, clock: Clock
) -> None:
    histories = [build_history(rec, clock).incident_id for _ in range(7)]
    ordered = sorted(histories)
    alter_one_byte(rec, ordered[1], 2, SEALED, "")  # in the first id range
    alter_one_byte(rec, ordered[5], 7, '"amount":180', '"amount":980')  # in a later one
    execute_sql(rec, "DELETE FROM events WHERE incident_id = :id AND seq = 4", id=ordered[6])
    auditor = rec.auditor()

    alone = list(auditor.results())
    shared = list(auditor.results(jobs=3))

    assert shared == alone
    assert [r.incident_id for r in shared] == ordered
    assert [(r.ok, r.broken_seq) for r in shared if not r.ok] == [
        (False, 2),
        (False, 7),
        (False, 4),
    ]
