"""Every command through the engine, on SQLite and PostgreSQL.

Each command is either fully recorded (one event, the state row, its outbox effects) and
returns the new state with the actions allowed next, or refused with nothing recorded.
"""

from __future__ import annotations

import pytest

from recovery import (
    CommandRejectedError,
    ConflictError,
    IncidentNotFoundError,
    InvalidEvidenceError,
    NotAllowedNowError,
    PermissionDeniedError,
    Recovery,
)
from tests.conftest import AUDITOR, FRONT_DESK, MANAGER, Clock
from tests.contract.support import HOTEL_STEPS, hotel_command, open_hotel, recorded, refused

APOLOGY = {"apology_by": "Ana"}
LOCAL_ROOM = {"hotel": "Hotel Dagmar", "distance_km": 1.2}


def test_open_returns_the_state_and_what_can_be_done_next(rec: Recovery) -> None:
    out = open_hotel(rec)
    recorded(rec, out)
    assert out.event.type == "opened"
    assert out.event.channel == "desk"
    assert out.event.actor == "ana"
    assert out.incident.status == "open"
    assert out.incident.pending_for_close == HOTEL_STEPS
    assert "close" not in out.incident.allowed
    assert {f"{s}.complete" for s in HOTEL_STEPS[:-1]} <= set(out.incident.allowed)
    assert "written_apology.draft" in out.incident.allowed
    assert out.incident.eta == "2026-07-06T14:00:00.000000Z"


def test_complete_a_step_with_its_evidence(rec: Recovery, clock: Clock) -> None:
    incident = open_hotel(rec).id
    clock.advance(minutes=3)
    out = rec.complete_step(incident, "apologise", APOLOGY, actor=FRONT_DESK, channel="desk")
    recorded(rec, out)
    step = out.incident.state.steps["apologise"]
    assert (step.status, step.evidence, step.late) == ("done", APOLOGY, False)
    assert step.resolved_at == "2026-07-04T14:03:00.000000Z"
    assert "apologise.complete" not in out.incident.allowed
    assert "apologise" not in out.incident.pending_for_close

    again = refused(
        rec,
        incident,
        NotAllowedNowError,
        lambda: rec.complete_step(incident, "apologise", APOLOGY, actor=FRONT_DESK),
    )
    assert again.state == "apologise:done"
    # what the front desk may take: no waiver or approval decision, which are a manager's
    assert again.allowed == [
        a
        for a in out.incident.allowed
        if not a.endswith((".waive", "_approval")) or a.endswith(".request_approval")
    ]


def test_step_with_missing_or_wrong_evidence_records_nothing(rec: Recovery) -> None:
    incident = open_hotel(rec).id
    missing = refused(
        rec,
        incident,
        InvalidEvidenceError,
        lambda: rec.complete_step(incident, "rebook_local", {"hotel": "X"}, actor=FRONT_DESK),
    )
    assert missing.field == "evidence.distance_km"
    unknown = refused(
        rec,
        incident,
        CommandRejectedError,
        lambda: rec.complete_step(incident, "spa", {}, actor=FRONT_DESK),
    )
    assert unknown.field == "step"


def test_paying_within_the_desk_limit_needs_no_manager(rec: Recovery) -> None:
    incident = open_hotel(rec).id
    out = rec.complete_step(incident, "pay_room", {"amount": 300}, actor=FRONT_DESK)
    recorded(rec, out)
    assert out.incident.state.steps["pay_room"].status == "done"
    assert [e.type for e in rec.timeline(incident)] == ["opened", "step_action"]
    [payment] = [m for m in rec.outbox(incident) if m["kind"] == "post_payment"]
    assert payment["payload"]["evidence"] == {"amount": 300}
    assert payment["seq"] == 2


def test_paying_above_the_limit_needs_a_managers_approval_in_the_timeline(
    rec: Recovery,
) -> None:
    incident = open_hotel(rec).id
    over = refused(
        rec,
        incident,
        NotAllowedNowError,
        lambda: rec.complete_step(incident, "pay_room", {"amount": 450}, actor=FRONT_DESK),
    )
    assert "pay_room.request_approval" in over.allowed

    asked = rec.request_approval(incident, "pay_room", 450, actor=FRONT_DESK, reason="last room")
    recorded(rec, asked)
    assert asked.incident.allowed.count("pay_room.grant_approval") == 1
    assert any(
        m["kind"] == "notify" and m["payload"]["reason"] == "approval_requested"
        for m in rec.outbox(incident)
    )
    refused(
        rec,
        incident,
        PermissionDeniedError,
        lambda: rec.grant_approval(incident, "pay_room", actor=FRONT_DESK),
    )
    granted = rec.grant_approval(incident, "pay_room", actor=MANAGER)
    recorded(rec, granted)
    paid = rec.complete_step(incident, "pay_room", {"amount": 450}, actor=FRONT_DESK)
    recorded(rec, paid)

    steps = [(e.actor, e.actor_role, e.data["action"]) for e in rec.timeline(incident)[1:]]
    assert steps == [
        ("ana", "front_desk", "request_approval"),
        ("mads", "manager", "grant_approval"),
        ("ana", "front_desk", "complete"),
    ]
    approval = rec.get(incident).state.steps["pay_room"].approval
    assert approval is not None
    assert (approval["status"], approval["granted_amount"], approval["decided_by"]) == (
        "granted",
        450,
        "mads",
    )


def test_deny_approval_needs_alternatives(rec: Recovery) -> None:
    incident = open_hotel(rec).id
    rec.request_approval(incident, "dinner", 400, actor=FRONT_DESK)
    bare = refused(
        rec,
        incident,
        CommandRejectedError,
        lambda: rec.deny_approval(incident, "dinner", [], actor=MANAGER),
    )
    assert bare.field == "alternatives"
    out = rec.deny_approval(incident, "dinner", ["dinner up to 150 EUR at Kroen"], actor=MANAGER)
    recorded(rec, out)
    assert out.event.data["alternatives"] == ["dinner up to 150 EUR at Kroen"]
    assert out.incident.state.steps["dinner"].status == "open"


def test_waive_needs_a_manager_and_a_reason(rec: Recovery) -> None:
    incident = open_hotel(rec).id
    refused(
        rec,
        incident,
        PermissionDeniedError,
        lambda: rec.waive_step(incident, "dinner", "guest declined", actor=FRONT_DESK),
    )
    no_reason = refused(
        rec,
        incident,
        CommandRejectedError,
        lambda: rec.act_on_step(incident, "dinner", "waive", actor=MANAGER),
    )
    assert no_reason.field == "reason"
    refused(
        rec,
        incident,
        CommandRejectedError,
        lambda: rec.waive_step(incident, "dinner", "   ", actor=MANAGER),
    )
    out = rec.waive_step(incident, "dinner", "guest ate at the wedding", actor=MANAGER)
    recorded(rec, out)
    assert out.incident.state.steps["dinner"].status == "waived"
    assert out.event.data["reason"] == "guest ate at the wedding"


def test_record_a_push_counts_it(rec: Recovery) -> None:
    incident = open_hotel(rec).id
    out = rec.record_push(
        incident, "a room in town, not 20 miles away", "rebook_local", actor=FRONT_DESK
    )
    recorded(rec, out)
    assert out.incident.state.pushes == 1
    assert out.incident.state.steps["rebook_local"].pushed == 1
    refused(
        rec,
        incident,
        CommandRejectedError,
        lambda: rec.record_push(incident, "a spa", "spa", actor=FRONT_DESK),
    )
    refused(
        rec, incident, CommandRejectedError, lambda: rec.record_push(incident, "", actor=FRONT_DESK)
    )


def test_record_a_contact(rec: Recovery) -> None:
    incident = open_hotel(rec).id
    out = rec.record_contact(
        incident, "phone", "inbound", "guest called from the taxi", actor=FRONT_DESK
    )
    recorded(rec, out)
    assert out.incident.state.contacts == 1
    assert out.event.data == {
        "channel": "phone",
        "direction": "inbound",
        "summary": "guest called from the taxi",
    }
    refused(
        rec,
        incident,
        CommandRejectedError,
        lambda: rec.record_contact(incident, "phone", "sideways", "x", actor=FRONT_DESK),
    )


def test_hand_off_needs_context_and_is_counted(rec: Recovery) -> None:
    incident = open_hotel(rec).id
    no_context = refused(
        rec,
        incident,
        CommandRejectedError,
        lambda: rec.hand_off(incident, "bo", "", actor=FRONT_DESK),
    )
    assert no_context.field == "context"
    refused(
        rec,
        incident,
        CommandRejectedError,
        lambda: rec.hand_off(incident, "bo", "see note", actor=FRONT_DESK),
    )
    refused(
        rec,
        incident,
        CommandRejectedError,
        lambda: rec.hand_off(incident, "ana", "guest waits in the lobby", actor=FRONT_DESK),
    )
    out = rec.hand_off(
        incident, "bo", "room found at Dagmar; dinner still to book", actor=FRONT_DESK
    )
    recorded(rec, out)
    assert (out.incident.state.owner, out.incident.state.handoffs) == ("bo", 1)
    assert out.event.data["from"] == "ana"
    assert out.event.data["context"] == "room found at Dagmar; dinner still to book"
    assert [v.id for v in rec.list_incidents(owner="bo")] == [incident]


def test_add_a_note(rec: Recovery) -> None:
    incident = open_hotel(rec).id
    out = rec.add_note(incident, "guest is attending a wedding at 16:00", actor=FRONT_DESK)
    recorded(rec, out)
    assert out.incident.state.notes == 1
    refused(
        rec, incident, CommandRejectedError, lambda: rec.add_note(incident, "", actor=FRONT_DESK)
    )


def test_escalate_raises_the_tier_and_notifies(rec: Recovery) -> None:
    incident = open_hotel(rec).id
    out = rec.escalate(incident, "no room in town", actor=FRONT_DESK)
    recorded(rec, out)
    assert (out.incident.status, out.incident.state.tier) == ("escalated", 2)
    assert [m["kind"] for m in rec.outbox(incident)] == ["escalation"]
    rec.complete_step(incident, "apologise", APOLOGY, actor=FRONT_DESK)


def test_release_needs_a_referral_and_ends_the_incident(rec: Recovery) -> None:
    incident = open_hotel(rec).id
    refused(
        rec,
        incident,
        CommandRejectedError,
        lambda: rec.release(incident, "town fully booked", "", actor=FRONT_DESK),
    )
    out = rec.release(incident, "town fully booked", "Hotel Dagmar, Ribe", actor=FRONT_DESK)
    recorded(rec, out)
    assert out.incident.status == "released"
    assert out.incident.state.release == {
        "reason": "town fully booked",
        "referral": "Hotel Dagmar, Ribe",
    }
    assert sorted(out.incident.allowed) == ["add_note", "record_contact", "reopen"]
    assert out.incident.eta is None
    after = refused(
        rec,
        incident,
        NotAllowedNowError,
        lambda: rec.complete_step(incident, "apologise", APOLOGY, actor=FRONT_DESK),
    )
    assert after.state == "released"
    assert sorted(after.allowed) == ["add_note", "record_contact", "reopen"]


def test_close_is_refused_while_required_steps_are_open_and_reopen_works(
    rec: Recovery, clock: Clock
) -> None:
    incident = open_hotel(rec).id
    rec.complete_step(incident, "apologise", APOLOGY, actor=FRONT_DESK)
    error = refused(rec, incident, NotAllowedNowError, lambda: rec.close(incident, actor=MANAGER))
    assert error.state == "open"
    assert "close" not in error.allowed
    for step in HOTEL_STEPS[1:]:
        assert step in str(error)

    for step in HOTEL_STEPS[1:]:
        rec.waive_step(incident, step, "test: waived to reach close", actor=MANAGER)
    assert "close" in rec.get(incident).allowed
    clock.advance(hours=1)
    closed = rec.close(incident, "guest satisfied", actor=MANAGER)
    recorded(rec, closed)
    assert closed.incident.status == "closed"
    assert closed.incident.state.ended_at == "2026-07-04T15:00:00.000000Z"
    refused(rec, incident, NotAllowedNowError, lambda: rec.close(incident, actor=MANAGER))

    reopened = rec.reopen(incident, "guest wrote back", actor=FRONT_DESK)
    recorded(rec, reopened)
    assert reopened.incident.status == "open"
    assert reopened.incident.state.ended_at is None
    refused(
        rec,
        incident,
        NotAllowedNowError,
        lambda: rec.reopen(incident, "again", actor=FRONT_DESK),
    )


def test_an_auditor_can_read_everything_and_change_nothing(rec: Recovery) -> None:
    incident = open_hotel(rec).id
    rec.complete_step(incident, "apologise", APOLOGY, actor=FRONT_DESK)
    attempts = [
        lambda: rec.add_note(incident, "audited", actor=AUDITOR),
        lambda: rec.complete_step(incident, "rebook_local", LOCAL_ROOM, actor=AUDITOR),
        lambda: rec.waive_step(incident, "dinner", "audit", actor=AUDITOR),
        lambda: rec.record_push(incident, "x", actor=AUDITOR),
        lambda: rec.record_contact(incident, "phone", "outbound", "x", actor=AUDITOR),
        lambda: rec.hand_off(incident, "aud", "auditor takes over", actor=AUDITOR),
        lambda: rec.escalate(incident, "x", actor=AUDITOR),
        lambda: rec.release(incident, "x", "y", actor=AUDITOR),
        lambda: rec.close(incident, actor=AUDITOR),
        lambda: rec.report_cues(incident, ["upset"], actor=AUDITOR),
    ]
    for attempt in attempts:
        refused(rec, incident, PermissionDeniedError, attempt)
    before = len(rec.log.incident_ids())
    with pytest.raises(PermissionDeniedError):
        rec.open(hotel_command(), actor=AUDITOR)
    assert len(rec.log.incident_ids()) == before

    assert rec.get(incident).version == 2
    assert len(rec.timeline(incident)) == 2
    assert rec.replay(incident, at_seq=1).steps["apologise"].status == "open"
    assert rec.verify(incident).ok


def test_report_cues_later_adds_the_tier_step(rec: Recovery) -> None:
    incident = open_hotel(rec).id
    out = rec.report_cues(incident, ["upset"], actor=FRONT_DESK)
    recorded(rec, out)
    assert out.incident.state.tier == 2
    assert "manager_call" in out.incident.pending_for_close
    assert "manager_call.complete" in out.incident.allowed
    assert {m["payload"]["role"] for m in rec.outbox(incident)} == {"manager"}


def test_unknown_incident_is_not_found(rec: Recovery) -> None:
    with pytest.raises(IncidentNotFoundError):
        rec.add_note("inc_missing", "x", actor=FRONT_DESK)
    with pytest.raises(IncidentNotFoundError):
        rec.get("inc_missing")
    with pytest.raises(IncidentNotFoundError):
        rec.replay("inc_missing")


def test_a_stale_expected_version_is_a_conflict_and_records_nothing(rec: Recovery) -> None:
    incident = open_hotel(rec).id
    seen = rec.get(incident).version
    rec.add_note(incident, "someone else acted first", actor=MANAGER)
    conflict = refused(
        rec,
        incident,
        ConflictError,
        lambda: rec.complete_step(
            incident, "apologise", APOLOGY, actor=FRONT_DESK, expected_version=seen
        ),
    )
    assert conflict.current_version == seen + 1
    assert conflict.incident_id == incident
    out = rec.complete_step(
        incident, "apologise", APOLOGY, actor=FRONT_DESK, expected_version=seen + 1
    )
    recorded(rec, out)
