"""Request and response schemas of the HTTP API (`...Create` in, `...Read` out).

Command bodies reuse the engine's own pydantic commands (`recovery.domain.commands`).
Responses are rendered straight from the engine's dataclasses (orjson, no validation on
the way out); every route declares its model here or in a resource's own module beside it
(`access_schemas`, `playbook_schemas`, `customer_schemas`), so that the OpenAPI document says
exactly what is sent: a `ReadModel` lists every key (no others are sent), and
`tests/e2e/test_api_models.py` checks real responses against them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    create_model,
)

from recovery.domain.commands import Text
from recovery.domain.events import PAYLOADS, Payload

# Evidence values: text, a finite number, a flag or nothing (bounded, so that any value the
# API accepts can be stored and hashed).
MAX_NUMBER = 1e15
MAX_EVIDENCE_FIELDS = 50


def _evidence_value(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if len(value) > 4000:
            raise ValueError("text may be at most 4000 characters")
        return value
    if isinstance(value, int | float):
        if not math.isfinite(value) or abs(value) > MAX_NUMBER:
            raise ValueError(f"a number must be between -{MAX_NUMBER:g} and {MAX_NUMBER:g}")
        return value
    raise ValueError("must be text, a number, true/false or null")


EvidenceValue = Annotated[
    Any,
    AfterValidator(_evidence_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": 4000},
                {"type": "number", "minimum": -MAX_NUMBER, "maximum": MAX_NUMBER},
                {"type": "boolean"},
                {"type": "null"},
            ]
        }
    ),
]


class StepActionCreate(BaseModel):
    """What a step action carries; the step and the action are in the path."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    evidence: dict[
        Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)],
        EvidenceValue,
    ] = Field(
        default_factory=dict,
        max_length=MAX_EVIDENCE_FIELDS,
        description="what the step asks for, by field name",
    )
    reason: Text | None = Field(default=None, description="waive: why the step is not needed")
    # strict: `true` or `"12"` is a mistake, never 1.0 or 12.0 (a whole number is fine)
    amount: float | None = Field(
        default=None,
        gt=0,
        le=1e12,
        allow_inf_nan=False,
        strict=True,
        description="request_approval: amount",
    )
    alternatives: list[Text] = Field(
        default_factory=list,
        max_length=50,
        description="deny_approval: what the customer is offered instead",
    )


class ReadModel(BaseModel):
    """A response: exactly these keys (the OpenAPI says `additionalProperties: false`)."""

    model_config = ConfigDict(extra="forbid")


class StepRead(ReadModel):
    id: str
    kind: str
    title: str
    owner: str
    required: bool
    due_at: str
    status: str
    added_by: str | None = None
    resolved_at: str | None = None
    late: bool = False
    missed: bool = Field(default=False, description="recorded as missed by the deadline sweep")
    pushed: int = 0
    evidence: dict[str, Any] = Field(default_factory=dict)
    approval: dict[str, Any] | None = None


class StateRead(ReadModel):
    """An incident's recorded state (what replaying its events rebuilds)."""

    id: str
    playbook_id: str
    playbook_version: int
    incident_type: str
    site: str
    status: Literal["open", "escalated", "closed", "released"]
    tier: int
    owner: str
    customer: dict[str, Any]
    cues: list[str]
    opened_at: str
    updated_at: str
    steps: dict[str, StepRead]
    summary: str | None = None
    external_ref: str | None = Field(
        default=None, description="the reservation, account or case number given at open"
    )
    ended_at: str | None = None
    cue_rules_fired: list[str] = Field(default_factory=list)
    pushes: int = 0
    handoffs: int = 0
    contacts: int = 0
    notes: int = 0
    escalations: int = 0
    release: dict[str, Any] | None = None
    version: int = Field(description="the number of recorded events; also the ETag")
    customer_summary: str | None = Field(
        default=None, description="what the customer may read (letters quote only this)"
    )
    holds: dict[str, dict[str, str]] | None = Field(
        default=None,
        description="steps on hold, their clock stopped: step id -> since, reason "
        "(what we are waiting for)",
    )
    held_since: str | None = Field(default=None, description="on hold since (None: not held)")
    held_seconds: float = Field(default=0.0, description="time held, holds that ended")
    erased_at: str | None = Field(
        default=None,
        description="when the customer's personal data was erased (it reads [redacted])",
    )


class IncidentRead(StateRead):
    """An incident as callers see it: its state, what can be done now, and by when."""

    allowed: list[str] = Field(
        description="incident actions, and `step.action` for each step action possible now"
    )
    eta: str | None = Field(description="when everything still open is due")
    pending_for_close: list[str] = Field(description="steps that must be done before closing")


class EventFields(ReadModel):
    """What every recorded event carries; `data` is its type's payload."""

    incident_id: str
    seq: int
    schema_version: int
    playbook_id: str
    playbook_version: int
    actor: str
    actor_role: str
    channel: str
    recorded_at: str
    prev_hash: str
    hash: str


def _event_read(payload: type[Payload]) -> Any:
    """The event model of one type: `type` names it, `data` is its payload class."""
    return create_model(
        f"{payload.__name__}EventRead",
        __base__=EventFields,
        type=(Literal[payload.type], ...),  # type: ignore[arg-type]
        data=(payload, ...),
    )


if TYPE_CHECKING:
    EventRead = EventFields
else:
    # One model per event type, told apart by `type`: the OpenAPI documents each payload.
    EventRead = Annotated[
        Union[tuple(_event_read(payload) for payload in PAYLOADS.values())],  # noqa: UP007
        Field(discriminator="type"),
    ]


class OutcomeRead(ReadModel):
    """The result of a command: the incident after it, and the event recorded."""

    incident: IncidentRead
    event: EventRead


class IncidentList(ReadModel):
    items: list[IncidentRead]
    limit: int
    offset: int
    next: str | None = Field(
        default=None,
        description="cursor of the next page (pass it as `after`); null on the last page",
    )


class TimelineRead(ReadModel):
    incident_id: str
    events: list[EventRead]


class ReplayRead(ReadModel):
    incident_id: str
    seq: int | None = Field(description="replayed up to this event (inclusive), when given")
    at: str | None = Field(description="replayed up to this moment, when given")
    state: StateRead


class VerificationRead(ReadModel):
    incident_id: str
    ok: bool
    events: int
    broken_seq: int | None = Field(description="the first event where the history breaks")
    problem: str | None
    erased_at: str | None = Field(
        default=None, description="it verifies, and its personal data was erased then"
    )


class DeliveryRead(BaseModel):
    """One requested back-office effect (webhook) and its delivery state."""

    model_config = ConfigDict(extra="allow")

    id: int
    incident_id: str
    seq: int
    kind: str
    payload: dict[str, Any]
    status: str
    attempts: int
    created_at: str | None = None
    next_attempt_at: str | None = None
    delivered_at: str | None = None
    last_error: str | None = None
    accepted_by: list[str] = Field(
        default_factory=list, description="the target URLs that have taken it (2xx)"
    )


class DeliveryList(ReadModel):
    incident_id: str
    deliveries: list[DeliveryRead]


class ProblemRead(BaseModel):
    field: str | None = None
    message: str
    source: str | None = None
    location: str | None = None


class ErrorRead(BaseModel):
    """Every error: a stable `error` code, a message, and where it helps, the field at
    fault, the incident's state and what is allowed now, or the current version."""

    model_config = ConfigDict(extra="allow")

    error: str
    message: str
    plain: str | None = Field(
        default=None,
        description="the message in the words staff use: role titles, step titles and "
        "evidence labels instead of codes (show this one to people)",
    )
    field: str | None = None
    state: str | None = None
    allowed: list[str] | None = None
    current_version: int | None = None
    incident_id: str | None = None
    incident: IncidentRead | None = None
    problems: list[ProblemRead] | None = None


class HealthRead(ReadModel):
    status: Literal["ok"]
    database: str
