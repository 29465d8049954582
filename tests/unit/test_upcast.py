"""Old events stay replayable when an event's data schema evolves."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from recovery import AddNote, Catalog, CustomerProfile, OpenIncident
from recovery.domain import upcast as upcasting
from recovery.domain.apply import replay
from recovery.domain.decide import Context, decide, decide_open
from tests.conftest import FRONT_DESK

NOW = datetime(2026, 7, 4, 14, 0, tzinfo=UTC)


def test_an_old_event_is_upcast_in_memory_before_replay(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = catalog.get("hotel-walked-guest")
    ctx = Context(actor=FRONT_DESK, channel="desk", now=NOW)
    opened_state, opened = decide_open(
        compiled,
        "inc_1",
        OpenIncident(
            incident_type="hotel.walked_guest", site="ribe", customer=CustomerProfile(name="M")
        ),
        ctx,
    )
    _, note = decide(compiled, opened_state, AddNote(text="called back"), ctx)
    # The same note as an older schema wrote it: version 0 called the field "body".
    old_note = replace(note, schema_version=0, data={"body": "called back"})
    monkeypatch.setitem(
        upcasting.UPCASTERS, ("note_added", 0), lambda data: {"text": data.pop("body")}
    )
    upcast = upcasting.upcast(old_note)
    assert upcast.data == {"text": "called back"}
    assert upcast.schema_version == note.schema_version
    assert replay(compiled, [opened, old_note]) == replay(compiled, [opened, note])


def test_a_current_event_is_left_as_recorded() -> None:
    event = upcasting.Event(
        "inc_1", 1, "note_added", 1, "p", 1, "a", "front_desk", "desk", "t", {"text": "x"}
    )
    assert upcasting.upcast(event) is event
