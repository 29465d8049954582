"""The acceptance stories of MISSION.md, end to end through the engine (SQLite and PostgreSQL).

Story 1: the walked hotel guest gets the whole bundle at once and never has to push.
Story 4: two staff on one incident at the same moment (the threaded version, with real
         concurrent connections, is in test_concurrency.py).
Story 5: an auditor replays any incident to any moment and finds any edit of its history
         (every kind of tampering, located, is in test_audit.py).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from recovery import (
    Catalog,
    ConflictError,
    InvalidEvidenceError,
    NotAllowedNowError,
    PermissionDeniedError,
    Recovery,
)
from recovery.bootstrap import over_engine
from recovery.letters import FileMailer
from recovery.service.letter_delivery import deliver_letters
from recovery.storage.database import create_db_engine
from tests.conftest import AUDITOR, FRONT_DESK, MANAGER, Clock
from tests.contract.support import HOTEL_STEPS, execute_sql, open_hotel, recorded, refused


def test_story_1_the_walked_guest_gets_everything_without_pushing(
    rec: Recovery, clock: Clock, tmp_path: Path
) -> None:
    # One call opens the incident, and all six steps are open at once.
    opened = open_hotel(rec)
    incident = opened.id
    state = opened.incident.state
    assert list(state.steps) == HOTEL_STEPS
    assert {s.status for s in state.steps.values()} == {"open"}
    assert {f"{s}.complete" for s in HOTEL_STEPS if s != "written_apology"} <= set(
        opened.incident.allowed
    )
    assert len(rec.timeline(incident)) == 1

    # 1. Apologise, and mean it.
    clock.advance(minutes=2)
    rec.complete_step(
        incident, "apologise", {"apology_by": "Ana, duty manager"}, actor=FRONT_DESK, channel="desk"
    )

    # 2. A room 32 km away is not "in this town": refused, nothing recorded...
    far = {"hotel": "Sister property, Vejen", "distance_km": 32}
    not_local = refused(
        rec,
        incident,
        InvalidEvidenceError,
        lambda: rec.complete_step(incident, "rebook_local", far, actor=FRONT_DESK),
    )
    assert not_local.field == "evidence.distance_km"
    assert "local" in str(not_local) and "guest_consents_further" in str(not_local)
    # ...unless the guest consents to going further.
    clock.advance(minutes=5)
    moved = rec.complete_step(
        incident, "rebook_local", {**far, "guest_consents_further": True}, actor=FRONT_DESK
    )
    recorded(rec, moved)
    assert moved.incident.state.steps["rebook_local"].status == "done"

    # 3. Insist on paying: within the desk's 300 EUR limit, no manager is needed.
    clock.advance(minutes=5)
    paid = rec.complete_step(
        incident, "pay_room", {"amount": 300, "reference": "PMS-4711"}, actor=FRONT_DESK
    )
    assert paid.event.actor_role == "front_desk"
    assert paid.incident.state.steps["pay_room"].approval is None

    # 4. Dinner, 5. what else would help.
    clock.advance(minutes=20)
    rec.complete_step(incident, "dinner", {"amount": 120, "restaurant": "Kroen"}, actor=FRONT_DESK)
    rec.complete_step(incident, "ask_what_else", {"answer": "a late checkout"}, actor=FRONT_DESK)

    # The incident cannot close until the written follow-up is drafted AND sent.
    waiting = refused(rec, incident, NotAllowedNowError, lambda: rec.close(incident, actor=MANAGER))
    assert "written_apology" in str(waiting)
    assert rec.get(incident).pending_for_close == ["written_apology"]
    clock.advance(hours=20)
    drafted = rec.draft_letter(
        incident, "written_apology", actor=MANAGER, note="We are truly sorry, Mette."
    )
    code = drafted.incident.state.steps["written_apology"].evidence["voucher_code"]
    assert code.startswith("FN-")
    still = refused(rec, incident, NotAllowedNowError, lambda: rec.close(incident, actor=MANAGER))
    assert "written_apology" in str(still)
    queued = rec.request_letter(
        incident, "written_apology", actor=MANAGER, recipient="mette@example.dk"
    )
    assert queued.incident.state.steps["written_apology"].status == "sending"
    queued_only = refused(
        rec, incident, NotAllowedNowError, lambda: rec.close(incident, actor=MANAGER)
    )
    assert "written_apology" in str(queued_only), "a letter queued is not yet a letter sent"
    clock.advance(hours=1)
    stats = deliver_letters(rec, FileMailer(tmp_path / "mail"))
    assert rec.get(incident).state.steps["written_apology"].status == "sent", stats
    [mail] = (tmp_path / "mail").glob("*.eml")
    assert code in mail.read_text(encoding="utf-8")
    closed = rec.close(incident, "guest thanked us", actor=MANAGER)
    recorded(rec, closed)

    final = closed.incident.state
    assert final.status == "closed"
    assert final.pushes == 0, "the guest never had to push"
    assert not any(s.late for s in final.steps.values())
    assert {s.status for s in final.steps.values()} == {"done", "sent"}
    assert [e.type for e in rec.timeline(incident)].count("push_recorded") == 0
    effects = [m["kind"] for m in rec.outbox(incident)]
    assert effects == ["book_room", "post_payment", "post_payment", "send_letter"]  # room, dinner
    verification = rec.verify(incident)
    assert verification.ok and verification.events == 10


def test_story_1_a_loyal_guest_also_gets_the_managers_call(rec: Recovery) -> None:
    opened = open_hotel(rec, member_since=date(2015, 5, 1), cues=["upset"])
    assert opened.incident.state.tier == 2
    assert "manager_call" in opened.incident.pending_for_close
    roles = sorted(m["payload"]["role"] for m in rec.outbox(opened.id))
    assert roles == ["loyalty_team", "manager", "manager"]


def test_story_4_two_staff_on_one_incident_never_lose_an_action(
    rec: Recovery, db_url: str, catalog: Catalog, clock: Clock
) -> None:
    colleague = over_engine(create_db_engine(db_url), catalog, clock=clock)
    try:
        incident = open_hotel(rec).id
        seen = rec.get(incident).version
        assert colleague.get(incident).version == seen
        # Both look at version `seen` and act: the second is refused with a clear conflict.
        first = rec.complete_step(
            incident, "apologise", {"apology_by": "Ana"}, actor=FRONT_DESK, expected_version=seen
        )
        conflict = refused(
            colleague,
            incident,
            ConflictError,
            lambda: colleague.add_note(
                incident, "I apologised too", actor=MANAGER, expected_version=seen
            ),
        )
        assert conflict.current_version == seen + 1
        # Without a version, both are recorded, in order.
        second = colleague.add_note(incident, "guest asked for a taxi", actor=MANAGER)
        assert [first.event.seq, second.event.seq] == [2, 3]
        assert [e.seq for e in rec.timeline(incident)] == [1, 2, 3]
        assert rec.verify(incident).ok
    finally:
        colleague.dispose()


@pytest.mark.sql  # edits one stored byte
def test_story_5_an_auditor_replays_any_moment_and_finds_an_edit(
    rec: Recovery, clock: Clock
) -> None:
    incident = open_hotel(rec).id
    start = clock.now
    clock.advance(minutes=10)
    rec.complete_step(incident, "pay_room", {"amount": 250}, actor=FRONT_DESK)
    clock.advance(minutes=10)
    rec.add_note(incident, "guest happy", actor=FRONT_DESK)

    # the auditor reads and replays, and may change nothing
    refused(
        rec, incident, PermissionDeniedError, lambda: rec.add_note(incident, "audit", actor=AUDITOR)
    )
    assert rec.replay(incident, at_seq=1).steps["pay_room"].status == "open"
    assert rec.replay(incident, at_time=start.replace(minute=15)).steps["pay_room"].evidence == {
        "amount": 250
    }
    assert rec.replay(incident, at_time=start.replace(minute=15)).notes == 0
    assert rec.verify(incident).ok

    # one byte of one stored event altered behind the engine's back: 250 -> 150
    changed = execute_sql(
        rec,
        "UPDATE events SET data = REPLACE(data, :old, :new) WHERE incident_id = :id AND seq = 2",
        old='"evidence":{"amount":250},"from"',
        new='"evidence":{"amount":150},"from"',
        id=incident,
    )
    assert changed == 1
    result = rec.verify(incident)
    assert not result.ok
    assert result.broken_seq == 2
    assert result.to_dict()["broken_seq"] == 2
