"""Commands: what a caller asks the engine to do to an incident.

They are pydantic models because they arrive from the edges (HTTP bodies, CLI options,
library calls) and must be validated with field-located messages before anything runs.
Each one maps to exactly one incident-level action (`action`) and one recorded event.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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
    member_since: date | None = Field(default=None, description="when the customer joined")
    segment: Name | None = None
    order_value: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="business at stake"
    )
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")] = "en"


class OpenIncident(_Command):
    action: ClassVar[str] = "open"

    incident_type: Slug
    site: Name = Field(description="the property or site where it happened")
    customer: CustomerProfile
    cues: list[Code] = Field(default_factory=list, description="dissatisfaction cues heard")
    summary: Text | None = Field(default=None, description="what went wrong, in a sentence")
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
    evidence: dict[str, Any] = Field(default_factory=dict)
    reason: Text | None = None
    amount: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, description="request_approval: amount"
    )
    alternatives: list[Text] = Field(
        default_factory=list, description="deny_approval: what the customer is offered instead"
    )


class ReportCues(_Command):
    action: ClassVar[str] = "report_cues"

    cues: list[Code] = Field(min_length=1)
    order_value: float | None = Field(default=None, ge=0, allow_inf_nan=False)


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


class MissDeadlines(_Command):
    """Recorded by the deadline worker (system role) when open steps pass their due time."""

    action: ClassVar[str] = "miss_deadlines"


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
    | MissDeadlines
)
Command = OpenIncident | IncidentCommand
