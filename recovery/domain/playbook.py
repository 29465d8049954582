"""The playbook model: what a playbook file may say, validated with pydantic.

A playbook declares the WHOLE recovery bundle for an incident type. Every step opens
when the incident opens; there is deliberately no way to make a step wait for anything
(see `WAITING_KEYS` in the loader, which explains that to authors who try).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> timedelta:
    """'90s', '30m', '4h', '2d', '1w' (or a number of seconds) to a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])
    raise ValueError(f"{value!r} is not a duration; write e.g. '30m', '4h', '2d' or '1w'")


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.-]*$", max_length=80)]

FINISHING_ACTIONS = ("complete", "send")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvidenceField(_Strict):
    """One piece of evidence an action asks for, with the rules on it."""

    name: Identifier
    type: Literal["text", "number", "money", "bool", "choice", "date"] = "text"
    label: str | None = None
    help: str | None = None
    required: bool = True
    min: float | None = None
    max: float | None = None
    unless: Identifier | None = Field(
        default=None,
        description="a bool field of the same evidence that, when true, lifts `max` "
        "(e.g. the guest consents to a hotel further away)",
    )
    choices: list[str] | None = None


class TransitionDef(_Strict):
    trigger: Identifier
    source: list[Identifier] | Identifier
    dest: Identifier

    def sources(self) -> list[str]:
        return [self.source] if isinstance(self.source, str) else list(self.source)


class KindDef(_Strict):
    """A step lifecycle, as data: compiled once into a `transitions` machine."""

    states: list[Identifier] = Field(min_length=2)
    initial: Identifier = "open"
    transitions: list[TransitionDef] = Field(min_length=1)
    resolved: list[Identifier] = Field(
        min_length=1, description="states in which the step counts as done for closing"
    )
    evidence: dict[Identifier, list[EvidenceField]] = Field(
        default_factory=dict, description="evidence every step of this kind asks per action"
    )


class StepDef(_Strict):
    id: Identifier
    kind: Identifier = "plain"
    title: str = Field(min_length=1)
    description: str | None = None
    customer_text: str | None = Field(
        default=None, description="how the step is described to the customer"
    )
    owner: Identifier = Field(description="the role that owns the step")
    due: Duration = Field(description="deadline relative to the incident's opening")
    required: bool = True
    evidence: list[EvidenceField] = Field(
        default_factory=list, description="what completing (or sending) the step needs"
    )
    amount_field: Identifier = Field(
        default="amount", description="compensation steps: the evidence field holding the amount"
    )
    approval: Literal["over_limit", "always"] = "over_limit"
    apology: bool = Field(
        default=False, description="this step is the apology (reports measure time to it)"
    )
    effect: Identifier | None = Field(
        default=None,
        description="a back-office effect to request when the step finishes, e.g. book_room",
    )


class RoleLimit(_Strict):
    max_amount: float = Field(ge=0, description="what this role may pay without approval")


class CueCondition(_Strict):
    """All given conditions must hold."""

    tenure_years_at_least: float | None = Field(default=None, ge=0)
    cues_any: list[Identifier] | None = None
    order_value_at_least: float | None = Field(default=None, ge=0)
    segment_in: list[str] | None = None


class CueRule(_Strict):
    id: Identifier
    when: CueCondition
    raise_tier_to: int = Field(default=1, ge=1, le=5)
    add_steps: list[Identifier] = Field(default_factory=list)
    notify: list[Identifier] = Field(default_factory=list)


class EscalationPolicy(_Strict):
    """What happens when a step's deadline passes with the step still open."""

    raise_tier_by: int = Field(default=1, ge=0, le=4)
    notify: list[Identifier] = Field(default_factory=lambda: ["manager"])
    effect: Identifier | None = Field(
        default="escalation", description="the back-office webhook to request"
    )


class Playbook(_Strict):
    id: Slug
    version: int = Field(ge=1)
    title: str = Field(min_length=1)
    description: str | None = None
    incident_types: list[Slug] = Field(min_length=1)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    limits: dict[Identifier, RoleLimit] = Field(default_factory=dict)
    kinds: dict[Identifier, KindDef] = Field(
        default_factory=dict, description="extra or refined step lifecycles"
    )
    steps: list[StepDef] = Field(min_length=1)
    tier_steps: list[StepDef] = Field(
        default_factory=list, description="steps that cue rules add when they fire"
    )
    cue_rules: list[CueRule] = Field(default_factory=list)
    on_deadline_missed: EscalationPolicy = Field(default_factory=EscalationPolicy)
    close_requires: list[Identifier] | None = Field(
        default=None,
        description="steps that must be done or waived before closing "
        "(default: every required step)",
    )

    @property
    def key(self) -> tuple[str, int]:
        return (self.id, self.version)

    def step(self, step_id: str) -> StepDef:
        for step in (*self.steps, *self.tier_steps):
            if step.id == step_id:
                return step
        raise KeyError(step_id)


BUILTIN_KINDS: dict[str, KindDef] = {
    "plain": KindDef(
        states=["open", "done", "waived"],
        transitions=[
            TransitionDef(trigger="complete", source="open", dest="done"),
            TransitionDef(trigger="waive", source="open", dest="waived"),
        ],
        resolved=["done", "waived"],
    ),
    "compensation": KindDef(
        states=["open", "awaiting_approval", "approved", "done", "waived"],
        transitions=[
            TransitionDef(trigger="complete", source=["open", "approved"], dest="done"),
            TransitionDef(trigger="request_approval", source="open", dest="awaiting_approval"),
            TransitionDef(trigger="grant_approval", source="awaiting_approval", dest="approved"),
            TransitionDef(trigger="deny_approval", source="awaiting_approval", dest="open"),
            TransitionDef(
                trigger="waive", source=["open", "awaiting_approval", "approved"], dest="waived"
            ),
        ],
        resolved=["done", "waived"],
    ),
    "written": KindDef(
        states=["open", "drafted", "sent", "waived"],
        transitions=[
            TransitionDef(trigger="draft", source=["open", "drafted"], dest="drafted"),
            TransitionDef(trigger="send", source="drafted", dest="sent"),
            TransitionDef(trigger="waive", source=["open", "drafted"], dest="waived"),
        ],
        resolved=["sent", "waived"],
        evidence={"draft": [EvidenceField(name="body", label="Letter text")]},
    ),
}
