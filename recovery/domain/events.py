"""Event payloads: one frozen class per event type, the one definition of what an event's
`data` holds, and of the effects (requests to the back office) that some events carry.

`as_data()` is exactly the dict that is stored and hashed (as canonical JSON): key names,
which keys are left out, and value types are part of the hash, so they never change within
a schema version (a new shape is a new version, with an upcaster: `upcast.py`). `from_data`
reads stored data back converting nothing, so data -> payload -> data is the identity. The
lists and dicts a payload holds are those of the data: treat them as read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar, Literal, get_args

from pydantic import TypeAdapter

from recovery.domain.effects import (
    EFFECTS,
    OPTIONAL,
    OPTIONAL_EFFECTS,
    PERSONAL,
    Effect,
    Stored,
    personal,
)

APPROVAL_ACTIONS = frozenset({"request_approval", "grant_approval", "deny_approval"})


# ---------------------------------------------------------------------------- payloads


@dataclass(frozen=True)
class Payload(Stored):
    """What an event of one type records."""

    type: ClassVar[str]
    """the event's type"""
    trigger: ClassVar[str]
    """the incident action that records it (the incident machine's trigger)"""


@dataclass(frozen=True)
class Opened(Payload):
    type: ClassVar[str] = "opened"
    trigger: ClassVar[str] = "open"

    incident_type: str
    site: str
    customer: dict[str, Any] = field(metadata=PERSONAL)
    """the customer's profile as given (keys sorted, no nulls)"""
    cues: list[str]
    summary: str | None = field(metadata=PERSONAL)
    owner: str
    tenure_years: float | None
    tier: int
    cue_rules_fired: list[str]
    steps: dict[str, str]
    """the steps opened at once, with their due time"""
    effects: list[Effect] = field(metadata=EFFECTS)
    calendar: str | None = field(default=None, metadata=OPTIONAL)
    """business-time deadlines: the site calendar (`site@vN`) they were counted in"""
    customer_summary: str | None = field(default=None, metadata=personal(OPTIONAL))
    """what the customer may read about it (`summary` is for colleagues)"""
    external_ref: str | None = field(default=None, metadata=personal(OPTIONAL))
    """the reservation, account or case number the customer knows it by (left out when
    none, so events recorded before it existed read back unchanged)"""


@dataclass(frozen=True)
class StepActed(Payload):
    type: ClassVar[str] = "step_action"
    trigger: ClassVar[str] = "act_on_step"

    step: str
    action: str
    from_: str
    to: str
    amount: float | None = field(default=None, metadata=OPTIONAL)
    """request_approval: the amount asked for; grant_approval: the amount granted"""
    alternatives: list[str] = field(default_factory=list, metadata=personal(OPTIONAL))
    """deny_approval: what the customer is offered instead"""
    reason: str | None = field(
        default=None,
        metadata=personal(OPTIONAL, {"kept_if": lambda p: p.action in APPROVAL_ACTIONS}),
    )
    """required to waive; an approval request or decision stores it even when none"""
    evidence: dict[str, Any] = field(default_factory=dict, metadata=personal(OPTIONAL, texts=True))
    """what the step recorded: its texts are personal, its amounts are not"""
    late: bool | None = field(default=None, metadata=OPTIONAL)
    """complete and send: whether it finished after its deadline"""
    effects: list[Effect] = field(default_factory=list, metadata=OPTIONAL_EFFECTS)


@dataclass(frozen=True)
class CuesReported(Payload):
    type: ClassVar[str] = "cues_reported"
    trigger: ClassVar[str] = "report_cues"

    cues: list[str]
    """the cues not heard before"""
    order_value: float | None
    tier: int
    cue_rules_fired: list[str]
    steps: dict[str, str]
    """the steps the fired rules added, with their due time"""
    effects: list[Effect] = field(metadata=EFFECTS)
    calendar: str | None = field(default=None, metadata=OPTIONAL)
    """business-time deadlines: the site calendar (`site@vN`) they were counted in"""


@dataclass(frozen=True)
class PushRecorded(Payload):
    type: ClassVar[str] = "push_recorded"
    trigger: ClassVar[str] = "record_push"

    asked_for: str = field(metadata=PERSONAL)
    step: str | None


@dataclass(frozen=True)
class ContactRecorded(Payload):
    type: ClassVar[str] = "contact_recorded"
    trigger: ClassVar[str] = "record_contact"

    channel: str
    direction: Literal["inbound", "outbound"]
    summary: str = field(metadata=PERSONAL)


@dataclass(frozen=True)
class HandedOff(Payload):
    type: ClassVar[str] = "handed_off"
    trigger: ClassVar[str] = "hand_off"

    from_: str
    to: str
    to_role: str | None
    context: str = field(metadata=PERSONAL)
    effects: list[Effect] = field(default_factory=list, metadata=OPTIONAL_EFFECTS)


@dataclass(frozen=True)
class NoteAdded(Payload):
    type: ClassVar[str] = "note_added"
    trigger: ClassVar[str] = "add_note"

    text: str = field(metadata=PERSONAL)


@dataclass(frozen=True)
class Escalated(Payload):
    type: ClassVar[str] = "escalated"
    trigger: ClassVar[str] = "escalate"

    reason: str = field(metadata=PERSONAL)
    tier: int
    effects: list[Effect] = field(metadata=EFFECTS)


@dataclass(frozen=True)
class DeadlineMissed(Payload):
    type: ClassVar[str] = "deadline_missed"
    trigger: ClassVar[str] = "miss_deadlines"

    steps: list[str]
    tier: int
    effects: list[Effect] = field(metadata=EFFECTS)


@dataclass(frozen=True)
class Released(Payload):
    type: ClassVar[str] = "released"
    trigger: ClassVar[str] = "release"

    reason: str = field(metadata=PERSONAL)
    referral: str = field(metadata=PERSONAL)


@dataclass(frozen=True)
class Closed(Payload):
    type: ClassVar[str] = "closed"
    trigger: ClassVar[str] = "close"

    summary: str | None = field(metadata=PERSONAL)


@dataclass(frozen=True)
class Reopened(Payload):
    type: ClassVar[str] = "reopened"
    trigger: ClassVar[str] = "reopen"

    reason: str = field(metadata=PERSONAL)


@dataclass(frozen=True)
class Held(Payload):
    """The clock of these steps stops (every open step when the whole incident is held)."""

    type: ClassVar[str] = "held"
    trigger: ClassVar[str] = "hold"

    steps: list[str]
    reason: str = field(metadata=PERSONAL)
    """what we are waiting for, as the customer reads it"""


@dataclass(frozen=True)
class Resumed(Payload):
    """The clock runs again: each step's deadline, moved by the time it was held."""

    type: ClassVar[str] = "resumed"
    trigger: ClassVar[str] = "resume"

    steps: dict[str, str]
    calendar: str | None = field(default=None, metadata=OPTIONAL)
    effects: list[Effect] = field(default_factory=list, metadata=OPTIONAL_EFFECTS)


@dataclass(frozen=True)
class StatusLinkSent(Payload):
    type: ClassVar[str] = "status_link_sent"
    trigger: ClassVar[str] = "send_status_link"

    link: str
    """the link's id (never its token)"""
    via: str
    """email (sent by the mailer), or a channel the back office delivers (sms, ...)"""
    recipient: str = field(metadata=PERSONAL)
    message_id: str | None = field(default=None, metadata=OPTIONAL)
    """email: the id the mail server accepted"""
    effects: list[Effect] = field(default_factory=list, metadata=OPTIONAL_EFFECTS)


@dataclass(frozen=True)
class Erased(Payload):
    """The incident's personal data was erased (its key destroyed): who and when are the
    event's own fields, why is here; what was erased is not recorded."""

    type: ClassVar[str] = "erased"
    trigger: ClassVar[str] = "erase"

    reason: str
    """why: a customer's request, or the retention period that ran out"""


EventPayload = (
    Opened
    | StepActed
    | CuesReported
    | PushRecorded
    | ContactRecorded
    | HandedOff
    | NoteAdded
    | Escalated
    | DeadlineMissed
    | Released
    | Closed
    | Reopened
    | Held
    | Resumed
    | StatusLinkSent
    | Erased
)
PAYLOADS: dict[str, type[Payload]] = {cls.type: cls for cls in get_args(EventPayload)}
"""Event type -> its payload class."""
EVENT_TYPES: dict[str, str] = {cls.trigger: cls.type for cls in PAYLOADS.values()}
"""Incident action -> the type of the event it records."""
TRIGGER_OF_EVENT: dict[str, str] = {cls.type: cls.trigger for cls in PAYLOADS.values()}


def payload_of(event_type: str, data: Mapping[str, Any]) -> Payload:
    """The payload that `data` stores for an event of `event_type` (at the current schema
    version); LookupError for an unknown type, ValueError for data not of its shape."""
    return PAYLOADS[event_type].from_data(data)


@cache
def payload_schema(event_type: str) -> dict[str, Any]:
    """The JSON schema of the data of an event of `event_type`, as stored."""
    return TypeAdapter(PAYLOADS[event_type]).json_schema(by_alias=True)
