"""Commands: what a caller asks the engine to do to an incident.

They are pydantic models because they arrive from the edges (HTTP bodies, CLI options,
library calls) and must be validated with field-located messages before anything runs.
Each one maps to exactly one incident-level action (`action`) and one recorded event.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, NamedTuple

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from recovery.domain.calendar import ALWAYS_OPEN, BusinessCalendar


def _not_a_flag(value: Any) -> Any:
    if isinstance(value, bool):  # Python's True is 1: never an amount
        raise ValueError("must be a number, not true/false")
    return value


# Amounts of money or business: never a flag; text forms may send "120". (The bounds come
# before the check so that the JSON schema shows them as minimum/maximum.)
OrderValue = Annotated[
    float, Field(ge=0, le=1e15, allow_inf_nan=False), BeforeValidator(_not_a_flag)
]
ApprovalAmount = Annotated[
    float, Field(gt=0, le=1e12, allow_inf_nan=False), BeforeValidator(_not_a_flag)
]
# Cues one report or incident may carry: each is recorded in the event, and every later
# reply carries them all.
MAX_CUES = 50
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]*$", max_length=80)]
ExternalRef = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[^\x00-\x1f]{1,100}$")
]


class Actor(BaseModel):
    """Who acts, in which role (roles: front_desk, manager, auditor, integration, admin, ...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Name
    role: Code


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    action: ClassVar[str]


class CustomerProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    contact: Name | None = None
    key: Name | None = Field(
        default=None,
        description="the back office's own reference for this customer (loyalty, account or "
        "booking-profile number) that links their incidents; default: the contact",
    )
    member_since: date | None = Field(default=None, description="when the customer joined")
    segment: Name | None = None
    order_value: OrderValue | None = Field(default=None, description="business at stake")
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")] = "en"


class OpenIncident(_Command):
    action: ClassVar[str] = "open"

    incident_type: Slug
    site: Name = Field(description="the property or site where it happened")
    customer: CustomerProfile
    cues: list[Code] = Field(
        default_factory=list, max_length=MAX_CUES, description="dissatisfaction cues heard"
    )
    summary: Text | None = Field(default=None, description="what went wrong, in a sentence")
    customer_summary: Text | None = Field(
        default=None,
        description="what the customer may read about it: letters quote this, never `summary` "
        "(which is for colleagues)",
    )
    external_ref: ExternalRef | None = Field(
        default=None, description="the reservation, account or case number (searchable)"
    )
    owner: Name | None = Field(default=None, description="who owns it (default: the opener)")
    playbook: Slug | None = Field(
        default=None, description="a playbook id, when several fit the incident type"
    )


class StepAction(_Command):
    """An action on one step: complete, waive, request/grant/deny approval, draft, send..."""

    action: ClassVar[str] = "act_on_step"

    step: Code
    name: Code = Field(description="the step action, e.g. complete, waive, send")
    evidence: dict[str, Any] = Field(default_factory=dict, max_length=50)
    reason: Text | None = None
    amount: ApprovalAmount | None = Field(default=None, description="request_approval: amount")
    alternatives: list[Text] = Field(
        default_factory=list,
        max_length=50,
        description="deny_approval: what the customer is offered instead",
    )


class ReportCues(_Command):
    action: ClassVar[str] = "report_cues"

    cues: list[Code] = Field(min_length=1, max_length=MAX_CUES)
    order_value: OrderValue | None = None


class RecordPush(_Command):
    """The customer had to ask for something the bundle should have given unasked."""

    action: ClassVar[str] = "record_push"

    asked_for: Text
    step: Code | None = None


class RecordContact(_Command):
    action: ClassVar[str] = "record_contact"

    channel: Code
    direction: Literal["inbound", "outbound"]
    summary: Text


class HandOff(_Command):
    action: ClassVar[str] = "hand_off"

    to: Name
    to_role: Code | None = None
    context: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=10, max_length=4000)
    ] = Field(description="what the next owner needs to know, so the customer never repeats it")


class AddNote(_Command):
    action: ClassVar[str] = "add_note"

    text: Text


class Escalate(_Command):
    action: ClassVar[str] = "escalate"

    reason: Text


class Release(_Command):
    """An honest ending: we cannot serve this customer well, and here is who can."""

    action: ClassVar[str] = "release"

    reason: Text
    referral: Text


class Close(_Command):
    action: ClassVar[str] = "close"

    summary: Text | None = None


class Reopen(_Command):
    action: ClassVar[str] = "reopen"

    reason: Text


class Hold(_Command):
    """Stop the clock while we wait for the customer: one step, or every open step."""

    action: ClassVar[str] = "hold"

    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)
    ] = Field(description="what we are waiting for, e.g. the guest's bank details")
    step: Code | None = Field(default=None, description="the step (default: the whole incident)")


class Resume(_Command):
    """Start the clock again: each held deadline moves by the time it was held."""

    action: ClassVar[str] = "resume"

    step: Code | None = Field(default=None, description="the step (default: every held step)")


class MissDeadlines(_Command):
    """Recorded by the deadline worker (system role) when open steps pass their due time."""

    action: ClassVar[str] = "miss_deadlines"


class SendStatusLink(_Command):
    """Recorded by the status links service once a new link went out to the customer."""

    action: ClassVar[str] = "send_status_link"

    link: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
    via: Code
    recipient: Name
    message_id: Name | None = None
    url: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        default=None, description="other channels: the link, for the back office to deliver"
    )


class Erase(_Command):
    """Recorded by the privacy service when an incident's personal data is erased (its key
    destroyed): a customer's request, or the retention period ran out."""

    action: ClassVar[str] = "erase"

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


IncidentCommand = (
    StepAction
    | ReportCues
    | RecordPush
    | RecordContact
    | HandOff
    | AddNote
    | Escalate
    | Release
    | Close
    | Reopen
    | Hold
    | Resume
    | MissDeadlines
    | SendStatusLink
    | Erase
)
Command = OpenIncident | IncidentCommand


class Context(NamedTuple):
    """Who acts, through which channel, at what moment (injected: no clock in the domain),
    and the site's calendar that business-time deadlines are counted in."""

    actor: Actor
    channel: str
    now: datetime
    calendar: BusinessCalendar = ALWAYS_OPEN
