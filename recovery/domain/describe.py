"""An event in words, for whoever picks the incident up: the one description that the web
timeline and the CLI show, read from the event's typed payload and its playbook's names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.events import (
    Closed,
    ContactRecorded,
    CuesReported,
    DeadlineMissed,
    Erased,
    Escalated,
    HandedOff,
    Held,
    NoteAdded,
    Opened,
    PushRecorded,
    Released,
    Reopened,
    Resumed,
    StatusLinkSent,
    StepActed,
)
from recovery.domain.state import Event
from recovery.domain.upcast import upcast

PAST_TENSE = {
    "complete": "done",
    "waive": "waived",
    "request_approval": "approval requested",
    "grant_approval": "approved",
    "deny_approval": "declined",
    "draft": "letter drafted",
    "request_send": "letter queued for the mailer",
    "send": "letter accepted by the mail server",
    "bounce": "letter bounced",
}


@dataclass(frozen=True)
class Description:
    """A title, perhaps a text, labelled details, and the kinds of the effects asked for."""

    title: str
    text: str | None = None
    details: list[tuple[str, str]] = field(default_factory=list)
    effects: list[str] = field(default_factory=list)

    def line(self) -> str:
        """All of it on one line."""
        text = f"{self.title}: {self.text}" if self.text else self.title
        text += "".join(f"; {label}: {value}" for label, value in self.details)
        if self.effects:
            text += f" [effects: {', '.join(self.effects)}]"
        return text


def describe(event: Event, compiled: CompiledPlaybook) -> Description:
    """The event in words; steps and evidence are named as the playbook names them."""
    try:
        payload = upcast(event).payload
    except (LookupError, ValueError, TypeError):
        # not the data of its type (an edited row, which the audit reports): say what it was
        return Description(humanise(event.type).capitalize())
    currency = compiled.playbook.currency
    details: list[tuple[str, str]] = []
    text: str | None = None
    match payload:
        case Opened():
            customer = payload.customer
            title = f"Opened for {customer.get('name', 'the customer')}"
            text = payload.summary
            details = [("Type", str(payload.incident_type)), ("Property", str(payload.site))]
            if customer.get("member_since"):
                details.append(("Member since", str(customer["member_since"])))
            if payload.cues:
                details.append(("Cues", ", ".join(humanise(c) for c in payload.cues)))
            details.append(("Tier", str(payload.tier)))
            details.append(("Steps opened at once", str(len(payload.steps))))
        case StepActed():
            step, action = payload.step, payload.action
            title = f"{step_title(compiled, step)}: {PAST_TENSE.get(action, action)}"
            money = money_fields(compiled, step)
            for name, value in payload.evidence.items():
                if value in (None, ""):
                    continue
                details.append(
                    (
                        label_of(compiled, step, name),
                        show_value(value, money=currency if name in money else None),
                    )
                )
            if payload.amount is not None:
                details.append(("Amount", show_value(payload.amount, money=currency)))
            if payload.alternatives:
                details.append(("Alternatives offered", "; ".join(payload.alternatives)))
            if payload.reason:
                details.append(("Reason", str(payload.reason)))
            if payload.late:
                details.append(("Deadline", "finished after its deadline"))
        case CuesReported():
            title = "Dissatisfaction cues: " + ", ".join(humanise(c) for c in payload.cues)
            details = [("Tier", str(payload.tier))]
            if payload.steps:
                titles = ", ".join(step_title(compiled, s) for s in payload.steps)
                details.append(("Steps added", titles))
        case PushRecorded():
            title = "The customer had to ask"
            text = str(payload.asked_for)
            if payload.step:
                details = [("Step", step_title(compiled, str(payload.step)))]
        case ContactRecorded():
            title = f"Contact: {payload.direction} by {payload.channel}"
            text = str(payload.summary)
        case HandedOff():
            title = f"Handed off from {payload.from_} to {payload.to}"
            text = str(payload.context)
            if payload.to_role:
                details = [("New owner's role", humanise(str(payload.to_role)))]
        case NoteAdded():
            title = "Note"
            text = str(payload.text)
        case Escalated():
            title = f"Escalated to tier {payload.tier}"
            text = str(payload.reason)
        case DeadlineMissed():
            steps = ", ".join(step_title(compiled, s) for s in payload.steps)
            title = f"Deadline missed: {steps}"
            details = [("Tier", str(payload.tier))]
        case Released():
            title = "Released (an honest ending)"
            details = [("Reason", str(payload.reason)), ("Referral", str(payload.referral))]
        case Closed():
            title = "Closed"
            text = payload.summary
        case Reopened():
            title = "Reopened"
            text = str(payload.reason)
        case StatusLinkSent():
            title = f"Status link sent by {payload.via} to {payload.recipient}"
        case Held():
            title = "On hold: " + ", ".join(step_title(compiled, s) for s in payload.steps)
            text = f"Waiting for: {payload.reason}"
        case Resumed():
            title = "Resumed: " + ", ".join(step_title(compiled, s) for s in payload.steps)
            details = [
                (step_title(compiled, s), f"now due {due}") for s, due in payload.steps.items()
            ]
            if payload.calendar:
                details.append(("Business time of", payload.calendar))
        case Erased():
            title = f"Personal data erased on {event.recorded_at[:10]}"
            text = str(payload.reason)
        case _:
            title = humanise(event.type).capitalize()
    effects = getattr(payload, "effects", [])
    return Description(title, text, details, [effect.kind for effect in effects])


def humanise(code: str) -> str:
    return code.replace("_", " ").replace(".", " ").strip()


def step_title(compiled: CompiledPlaybook, step_id: str) -> str:
    definition = compiled.steps.get(step_id)
    return definition.title if definition else humanise(step_id)


def label_of(compiled: CompiledPlaybook, step_id: str, name: str) -> str:
    """An evidence field's label, as the playbook names it."""
    definition = compiled.steps.get(step_id)
    if definition is not None:
        lifecycle_actions = compiled.kinds[definition.kind].machine.events
        for action in lifecycle_actions:
            for f in compiled.evidence_for(step_id, action):
                if f.name == name and f.label:
                    return f.label
    return humanise(name).capitalize()


def show_value(value: Any, *, money: str | None = None) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if money is not None and isinstance(value, int | float):
        return f"{value:,} {money}".replace(",", " ")
    if isinstance(value, list):
        return "; ".join(show_value(v) for v in value)
    return str(value)


def money_fields(compiled: CompiledPlaybook, step_id: str) -> set[str]:
    """The step's evidence fields that hold an amount of money."""
    names: set[str] = set()
    definition = compiled.steps.get(step_id)
    if definition is None:
        return names
    for action in compiled.kinds[definition.kind].machine.events:
        names.update(f.name for f in compiled.evidence_for(step_id, action) if f.type == "money")
    return names
