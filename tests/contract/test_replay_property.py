"""Property: whatever sequence of commands staff send (valid or not), the stored history
replays to exactly the stored state, verifies, and refused commands record nothing.

Hypothesis drives random commands, with random actors, evidence and pauses, through the
engine on SQLite: one database per test run, a new incident per example.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from recovery import (
    Catalog,
    CommandRejectedError,
    ConflictError,
    CustomerProfile,
    OpenIncident,
    Outcome,
    Recovery,
    RecoveryError,
)
from recovery.bootstrap import over_engine
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.playbook import EvidenceField
from recovery.storage.database import create_db_engine
from tests.conftest import AUDITOR, FRONT_DESK, MANAGER, Actor, Clock
from tests.contract.support import Footprint, footprint

START = datetime(2026, 7, 4, 14, 0, tzinfo=UTC)
PLAYBOOKS = ["hotel-walked-guest", "complaint-written-answer", "loyal-customer-at-risk"]
CUES = ["upset", "considering_competitor", "ombudsman", "public_complaint", "hungry"]
COMPLAINTS_TEAM = Actor(id="cara", role="complaints_team")
ACTORS = st.sampled_from([FRONT_DESK] * 4 + [MANAGER] * 3 + [COMPLAINTS_TEAM, AUDITOR])
TEXT = st.sampled_from(["guest waiting in the lobby"] * 6 + ["ok", "", "   ", None])
MAYBE = st.sampled_from([True, False])


@pytest.fixture
def engine_api(sqlite_url: str, catalog: Catalog) -> Iterator[tuple[Recovery, Clock]]:
    clock = Clock()
    rec = over_engine(
        create_db_engine(sqlite_url, sqlite_synchronous="normal"), catalog, clock=clock
    )
    yield rec, clock
    rec.dispose()


def evidence_value(field: EvidenceField) -> st.SearchStrategy[Any]:
    """Mostly valid values for the field, sometimes wrong ones."""
    if field.type in ("number", "money"):
        low, high = field.min or 0, field.max if field.max is not None else 10_000
        valid = [v for v in (0, 3, 50, 120, 300, 450, 2500) if low <= v <= high]
        wrong = [-1, 32, "lots"]
    elif field.type == "bool":
        valid, wrong = [True, False, "no"], ["maybe"]
    elif field.type == "choice":
        valid, wrong = list(field.choices or []), ["pigeon"]
    elif field.type == "date":
        valid, wrong = ["2019-03-01"], ["last spring"]
    else:
        valid, wrong = ["Ana", "Hotel Dagmar", "dear guest"], ["", 7]
    return st.one_of(st.sampled_from(valid), st.sampled_from(valid), st.sampled_from(wrong))


def evidence_for(
    draw: Callable[..., Any], compiled: CompiledPlaybook, step: str, action: str
) -> dict[str, Any]:
    evidence: dict[str, Any] = {}
    for field in compiled.evidence_for(step, action):
        if draw(st.integers(0, 14)) > 0:  # now and then a field is left out
            evidence[field.name] = draw(evidence_value(field))
    if draw(st.integers(0, 19)) == 0:
        evidence["unasked"] = "x"
    return evidence


def random_command(draw: Callable[..., Any], rec: Recovery, incident: str) -> Callable[[], Outcome]:
    view = rec.get(incident)
    compiled = rec.playbook_of(view.state)
    actor = draw(ACTORS)
    kind = draw(
        st.sampled_from(
            ["step"] * 16
            + [
                "push",
                "contact",
                "hand_off",
                "note",
                "cues",
                "escalate",
                "release",
                "close",
                "close",
                "reopen",
                "stale",
                "hold",
                "resume",
            ]
        )
    )
    if kind == "step":
        step = draw(st.sampled_from([*view.state.steps, "ghost"]))
        triggers = sorted(compiled.lifecycle_of(step).machine.events) if step != "ghost" else []
        action = draw(st.sampled_from([*triggers, "complete"]))
        if step in view.state.steps and draw(st.integers(0, 2)) > 0:
            allowed = [a for a in view.allowed if a.startswith(f"{step}.")]
            if allowed:  # bias towards actions the step allows now
                action = draw(st.sampled_from(allowed)).split(".", 1)[1]
        evidence = evidence_for(draw, compiled, step, action) if step != "ghost" else {}
        amount = draw(st.sampled_from([None, 80, 450, 2500]))
        reason = draw(TEXT) if action != "complete" else None
        alternatives = draw(st.sampled_from([[], ["a smaller room upgrade"]]))
        return lambda: rec.act_on_step(
            incident,
            step,
            action,
            actor=actor,
            evidence=evidence,
            reason=reason,
            amount=amount,
            alternatives=alternatives,
        )
    if kind == "push":
        step_or_none = draw(st.sampled_from([None, "ghost", *view.state.steps]))
        return lambda: rec.record_push(incident, "had to ask", step_or_none, actor=actor)
    if kind == "contact":
        direction = draw(st.sampled_from(["inbound", "outbound", "sideways"]))
        return lambda: rec.record_contact(incident, "phone", direction, "called", actor=actor)
    if kind == "hand_off":
        to = draw(st.sampled_from(["ana", "bo", "mads"]))
        context = draw(TEXT) or ""
        return lambda: rec.hand_off(incident, to, context, actor=actor)
    if kind == "note":
        note = draw(TEXT) or ""
        return lambda: rec.add_note(incident, note, actor=actor)
    if kind == "cues":
        cues = draw(st.lists(st.sampled_from(CUES), max_size=2))
        return lambda: rec.report_cues(incident, cues, actor=actor)
    if kind == "escalate":
        return lambda: rec.escalate(incident, "deadline at risk", actor=actor)
    if kind == "release":
        referral = draw(TEXT) or ""
        return lambda: rec.release(incident, "cannot serve", referral, actor=actor)
    if kind == "close":
        return lambda: rec.close(incident, actor=actor)
    if kind == "reopen":
        return lambda: rec.reopen(incident, "customer wrote back", actor=actor)
    if kind in ("hold", "resume"):
        held = draw(st.sampled_from([None, "ghost", *view.state.steps]))
        if kind == "resume":
            return lambda: rec.resume(incident, held, actor=actor)
        return lambda: rec.hold(incident, "the guest's bank details", held, actor=actor)
    stale = view.version - 1
    return lambda: rec.add_note(incident, "on an old view", actor=actor, expected_version=stale)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_commands_replay_to_the_stored_state(
    engine_api: tuple[Recovery, Clock], data: st.DataObject
) -> None:
    rec, clock = engine_api
    draw = data.draw
    clock.now = START
    playbook = draw(st.sampled_from(PLAYBOOKS), label="playbook")
    compiled = rec.catalog.get(playbook)
    opened = rec.open(
        OpenIncident(
            incident_type=compiled.playbook.incident_types[0],
            site=draw(st.sampled_from(["ribe", "esbjerg-complaints"])),  # 24/7, or 8-16
            customer=CustomerProfile(
                name="Mette Jensen",
                member_since=draw(st.sampled_from([None, date(2024, 1, 1), date(2015, 1, 1)])),
                order_value=draw(st.sampled_from([None, 500, 20000])),
            ),
            cues=draw(st.lists(st.sampled_from(CUES), max_size=2)),
            playbook=playbook,
        ),
        actor=FRONT_DESK,
    )
    incident = opened.id
    snapshots = [opened.incident.state.to_dict()]

    for _ in range(draw(st.integers(1, 20), label="commands")):
        clock.advance(minutes=draw(st.sampled_from([0, 1, 20, 90, 600, 3000])))
        command = random_command(draw, rec, incident)
        before: Footprint = footprint(rec, incident)
        try:
            out = command()
        except (CommandRejectedError, ConflictError) as refusal:
            event(f"refused: {type(refusal).__name__}")
            assert footprint(rec, incident) == before, f"{refusal!r} recorded something"
            continue
        except RecoveryError as error:  # anything else is a defect
            raise AssertionError(f"unexpected {error!r}") from error
        stored = rec.get(incident)
        assert out.event.seq == before.version + 1 == stored.version
        assert len(rec.timeline(incident)) == before.events + 1
        assert out.incident.state == stored.state
        assert out.incident.allowed == stored.allowed
        snapshots.append(stored.state.to_dict())
        event(f"recorded: {out.event.type}")

    final = rec.get(incident).state
    assert rec.replay(incident) == final
    # byte for byte, key order included: what lets an audit compare without parsing
    assert rec.replay(incident).to_json() == final.to_json() == out_json(rec, incident)
    verification = rec.verify(incident)
    assert verification.ok, verification
    assert verification.events == len(snapshots) == final.version
    for seq, snapshot in enumerate(snapshots, start=1):
        assert rec.replay(incident, at_seq=seq).to_dict() == snapshot


def out_json(rec: Recovery, incident: str) -> bytes:
    """The state row's text exactly as stored."""
    with rec.storage.engine.connect() as conn:
        stored = conn.execute(
            text("SELECT state FROM incidents WHERE id = :id"), {"id": incident}
        ).scalar_one()
    return str(stored).encode()
