"""Typed event payloads: the stored data of every event type reads into its class and back
byte for byte (hashes and replays of existing databases depend on it), the describe that
the web and the CLI share reads them, and each has a JSON schema."""

from __future__ import annotations

import dataclasses
import typing
from datetime import timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from recovery.domain import apply as applying
from recovery.domain.chain import canonical
from recovery.domain.commands import (
    AddNote,
    Close,
    Command,
    Erase,
    Escalate,
    HandOff,
    Hold,
    MissDeadlines,
    RecordContact,
    RecordPush,
    Release,
    Reopen,
    ReportCues,
    Resume,
    SendStatusLink,
)
from recovery.domain.describe import describe
from recovery.domain.effects import (
    CustomerMessage,
    DeadlineEffect,
    Effect,
    Notice,
    StepEffect,
    effects_of,
)
from recovery.domain.events import (
    EVENT_TYPES,
    PAYLOADS,
    TRIGGER_OF_EVENT,
    CuesReported,
    Payload,
    StepActed,
    payload_of,
    payload_schema,
)
from recovery.domain.state import Event
from recovery.letters.vouchers import new_voucher_code
from tests.unit.test_domain import HOTEL, MAILER, MANAGER, NOW, Incident, years_ago


def every_kind_of_event() -> list[Event]:
    """One incident through every event type, and every shape of step action."""
    inc = Incident(customer={"member_since": years_ago(7)}, cues=["upset"])
    inc.step("apologise", "complete", evidence={"apology_by": "Ana"})
    inc.do(ReportCues(cues=["public_complaint"], order_value=25000))
    inc.step("pay_room", "request_approval", amount=450)  # no reason: stored as null
    inc.step("pay_room", "grant_approval", MANAGER, reason="only hotel left")
    inc.step("pay_room", "complete", evidence={"amount": 450}, at=NOW + timedelta(days=3))
    inc.step("dinner", "request_approval", amount=400, reason="a wedding menu")
    inc.step("dinner", "deny_approval", MANAGER, alternatives=["dinner up to 150 EUR"])
    inc.step("rebook_local", "waive", MANAGER, reason="guest found a room")
    voucher = HOTEL.steps["written_apology"].voucher
    assert voucher is not None
    inc.step("written_apology", "draft", evidence={"voucher_code": new_voucher_code(voucher)})
    queued = {"recipient": "m@x.dk", "letter_id": "let_1", "letter_digest": "0" * 64}
    inc.step("written_apology", "request_send", evidence=queued)
    inc.step("written_apology", "bounce", MAILER, evidence={"letter_id": "let_1", "error": "550"})
    inc.do(RecordPush(asked_for="a room in town", step="rebook_local"))
    inc.do(RecordPush(asked_for="a taxi"))
    inc.do(RecordContact(channel="phone", direction="outbound", summary="called back"))
    inc.do(HandOff(to="bo", context="guest needs a room in Ribe tonight"))
    inc.do(HandOff(to="cy", to_role="manager", context="the manager takes it from here"))
    inc.do(AddNote(text="guest calm again"))
    inc.do(
        SendStatusLink(link="0123456789abcdef", via="email", recipient="m@x.dk", message_id="<1@x>")
    )
    url = "https://example.com/status/t"
    inc.do(SendStatusLink(link="fedcba9876543210", via="sms", recipient="+45 20", url=url))
    inc.do(Hold(reason="waiting for the guest's bank details", step="dinner"))
    inc.do(Hold(reason="the guest is travelling until Monday"))  # every other open step
    inc.do(Resume(step="dinner"))
    inc.do(Resume())
    inc.do(Escalate(reason="guest upset"))
    inc.do(MissDeadlines(), MAILER, at=NOW + timedelta(days=30))
    inc.do(Release(reason="fully booked town", referral="Hotel Dagmar, Ribe"))
    inc.do(Reopen(reason="guest wrote back"))
    for step in inc.state.steps.values():
        if step.status not in HOTEL.kinds[step.kind].resolved:
            inc.step(step.id, "waive", MANAGER, reason="settled with the guest")
    inc.do(Close(summary=None))
    inc.do(Erase(reason="the guest asked to be forgotten"))
    return inc.events


EVENTS = every_kind_of_event()


def test_the_story_records_every_event_type_and_effect() -> None:
    assert {e.type for e in EVENTS} == set(PAYLOADS)
    effects = [effect for e in EVENTS for effect in effects_of(e.data)]
    assert {type(effect) for effect in effects} == {
        Notice,
        StepEffect,
        DeadlineEffect,
        CustomerMessage,
    }
    reasons = [e.data.get("reason", "absent") for e in EVENTS if e.type == "step_action"]
    assert None in reasons and "absent" in reasons  # null and left out are both stored


@pytest.mark.parametrize("event", EVENTS, ids=[f"{e.seq}-{e.type}" for e in EVENTS])
def test_stored_data_reads_into_its_payload_and_back_unchanged(event: Event) -> None:
    stored = orjson.loads(canonical(event.data))  # as a replay reads it back
    payload = payload_of(event.type, stored)
    assert isinstance(payload, PAYLOADS[event.type])
    again = payload.as_data()
    assert again == event.data
    assert list(again) == list(event.data), "key order, as the command's response shows it"
    assert canonical(again) == canonical(event.data), "the bytes that are hashed"
    assert event.payload == payload
    TypeAdapter(PAYLOADS[event.type]).validate_python(stored, strict=False)


def test_data_not_of_its_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="needs 'text'"):
        payload_of("note_added", {})
    with pytest.raises(ValueError, match="has no body"):
        payload_of("note_added", {"text": "x", "body": "x"})
    with pytest.raises(LookupError):
        payload_of("teleported", {})


def test_every_payload_names_its_event_and_command() -> None:
    assert {cls.trigger: event_type for event_type, cls in PAYLOADS.items()} == EVENT_TYPES
    assert {v: k for k, v in EVENT_TYPES.items()} == TRIGGER_OF_EVENT
    assert {command.action for command in typing.get_args(Command)} == set(EVENT_TYPES)


def test_apply_reads_the_keys_the_payloads_define() -> None:
    # opening and reporting cues add tier steps through the same keys
    shared = ("tier", "cue_rules_fired", "steps")
    assert CuesReported.data_keys(*shared) == (applying.TIER, applying.RULES_FIRED, applying.DUES)
    with pytest.raises(KeyError):
        StepActed.data_keys("amount_granted")


def test_each_payload_has_a_json_schema_of_its_stored_keys() -> None:
    step = payload_schema("step_action")
    assert step["required"] == ["step", "action", "from", "to"]
    assert {"amount", "reason", "evidence", "late", "effects"} <= step["properties"].keys()
    handed = payload_schema("handed_off")
    assert handed["required"] == ["from", "to", "to_role", "context"]
    assert "null" in orjson.dumps(handed["properties"]["to_role"]).decode()
    assert "description" in payload_schema("opened")["properties"]["steps"]
    for event_type in PAYLOADS:
        assert payload_schema(event_type)["type"] == "object"


def test_the_timeline_descriptions_read_the_payloads() -> None:
    said = {e.seq: describe(e, HOTEL) for e in EVENTS}
    assert said[1].title == "Opened for Mette Jensen"
    assert ("Member since", str(years_ago(7))) in said[1].details
    assert set(said[1].effects) == {"notify"}
    assert said[4].title == "Insist on paying for the replacement room: approval requested"
    assert ("Amount", "450 EUR") in said[4].details
    assert said[7].details == [("Amount", "400 EUR"), ("Reason", "a wedding menu")]
    assert ("Alternatives offered", "dinner up to 150 EUR") in said[8].details
    handed = [d for d in said.values() if d.title.startswith("Handed off")]
    assert handed[0].title == "Handed off from ana to bo"
    assert handed[1].details == [("New owner's role", "manager")]
    assert said[len(EVENTS) - 1].line() == "Closed"
    assert said[len(EVENTS)].title.startswith("Personal data erased on ")
    note = next(d for d in said.values() if d.title == "Note")
    assert note.line() == "Note: guest calm again"


def test_an_event_that_does_not_read_is_described_by_its_type() -> None:
    edited = Event(**{**EVENTS[-2].__dict__, "data": {"summary": 1, "extra": True}})
    assert describe(edited, HOTEL).title == "Closed"


# ---------------------------------------------------------------------------- any data

JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
WORDS = st.text(max_size=8)


def _strategy(hint: Any) -> st.SearchStrategy[Any]:
    if hint == dict[str, Any]:
        return st.dictionaries(WORDS, JSON_VALUE, max_size=3)
    if hint == list[Effect]:
        return st.lists(st.one_of(*(_stored(cls) for cls in typing.get_args(Effect))), max_size=3)
    if hint is int:
        return st.integers(-(2**53), 2**53)
    if hint is float or hint == float | None:
        floats = st.floats(allow_nan=False, allow_infinity=False)
        return floats if hint is float else st.none() | floats
    return st.from_type(hint)


def _stored(cls: type) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls)
    fields = {f.name: _strategy(hints[f.name]) for f in dataclasses.fields(cls)}
    return st.builds(cls, **fields)


@pytest.mark.parametrize("cls", list(PAYLOADS.values()), ids=list(PAYLOADS))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_data_a_payload_stores_reads_back_as_the_same_bytes(
    cls: type[Payload], data: st.DataObject
) -> None:
    stored = orjson.loads(canonical(data.draw(_stored(cls)).as_data()))
    again = payload_of(cls.type, stored).as_data()
    assert again == stored
    assert canonical(again) == canonical(stored)
