"""Several engines (processes, in production) on one database.

Each engine remembers the state it last recorded, so that its next command on the same
incident need not read the snapshot back. These tests hold it to what that must never
change: a command is decided from the incident as it is in the database, whoever moved it
on, and a state already handed to a caller never changes afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from recovery import Catalog, NotAllowedNowError, Recovery
from recovery.bootstrap import over_engine
from recovery.storage.database import create_db_engine
from tests.conftest import FRONT_DESK, MANAGER, Clock
from tests.contract.support import open_hotel, recorded


@pytest.fixture
def other(db_url: str, catalog: Catalog, clock: Clock) -> Iterator[Recovery]:
    """A second engine on the same database, with its own connections and memory."""
    engine = over_engine(create_db_engine(db_url), catalog, clock=clock)
    yield engine
    engine.dispose()


def test_a_close_refused_by_a_stale_memory_is_decided_again_from_the_database(
    rec: Recovery, other: Recovery
) -> None:
    incident = open_hotel(rec).id
    with pytest.raises(NotAllowedNowError, match="required steps are open"):
        rec.close(incident, actor=MANAGER)
    for step in rec.get(incident).pending_for_close:
        other.waive_step(incident, step, "done by the night shift", actor=MANAGER)

    out = rec.close(incident, actor=MANAGER)

    assert out.incident.status == "closed"
    recorded(rec, out)
    assert rec.verify(incident).ok


def test_a_command_after_another_engine_wrote_builds_on_its_event(
    rec: Recovery, other: Recovery
) -> None:
    incident = open_hotel(rec).id
    rec.add_note(incident, "first", actor=FRONT_DESK)
    other.record_push(incident, "a room tonight", step="rebook_local", actor=FRONT_DESK)

    out = rec.add_note(incident, "second", actor=FRONT_DESK)

    assert out.event.seq == 4
    assert out.incident.state.pushes == 1, "the other engine's push is in the new state"
    assert out.incident.state.steps["rebook_local"].pushed == 1
    assert out.event.prev_hash == other.timeline(incident)[2].hash
    recorded(rec, out)
    assert rec.verify(incident).ok and other.verify(incident).ok


def test_a_step_done_elsewhere_is_refused_here_with_its_current_state(
    rec: Recovery, other: Recovery
) -> None:
    incident = open_hotel(rec).id
    other.waive_step(incident, "dinner", "guest ate at the wedding", actor=MANAGER)

    with pytest.raises(NotAllowedNowError, match="while it is waived"):
        rec.waive_step(incident, "dinner", "again", actor=MANAGER)
    assert len(rec.timeline(incident)) == 2


def test_states_handed_out_never_change_afterwards(rec: Recovery) -> None:
    opened = open_hotel(rec)
    noted = rec.add_note(opened.id, "guest on the phone", actor=FRONT_DESK)
    kept = {
        "opened": (opened.incident.state, opened.incident.state.to_json()),
        "noted": (noted.incident.state, noted.incident.state.to_json()),
    }

    rec.record_push(opened.id, "a room tonight", step="rebook_local", actor=FRONT_DESK)
    rec.complete_step(opened.id, "pay_room", {"amount": 300}, actor=FRONT_DESK)
    rec.report_cues(opened.id, ["considering_competitor"], actor=FRONT_DESK)
    rec.waive_step(opened.id, "dinner", "guest ate at the wedding", actor=MANAGER)

    for name, (state, as_recorded) in kept.items():
        assert state.to_json() == as_recorded, f"the {name} state changed after the fact"
    assert rec.verify(opened.id).ok
