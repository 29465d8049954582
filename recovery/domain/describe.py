"""An event in words, for whoever picks the incident up: the one description that the web
timeline and the CLI show, read from the event's typed payload and its playbook's names.
"""

from __future__ import annotations

from collections.abc import Iterable
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
from recovery.domain.said import say, say_list
from recovery.domain.state import Event
from recovery.domain.upcast import upcast
from recovery.domain.words import ROLE_TITLES, role_title

# the channels an event names, in words (the staff pages' catalogs)
CHANNELS = {
    "desk": say("desk"),
    "phone": say("phone"),
    "email": say("e-mail"),
    "chat": say("chat"),
    "web": say("web"),
    "letter": say("letter"),
    "sms": say("SMS"),
    "status_page": say("status page"),
}

PAST_TENSE = {
    "complete": say("done"),
    "waive": say("waived"),
    "request_approval": say("approval requested"),
    "grant_approval": say("approved"),
    "deny_approval": say("declined"),
    "draft": say("letter drafted"),
    "request_send": say("letter queued for the mailer"),
    "send": say("letter accepted by the mail server"),
    "bounce": say("letter bounced"),
}
DIRECTIONS = {"inbound": say("inbound"), "outbound": say("outbound")}


@dataclass(frozen=True)
class Description:
    """A title, perhaps a text, labelled details, and the kinds of the effects asked for.

    The words are `Said`: English as they are (the CLI, the API, the export), and in the
    viewer's language on the staff pages (the catalogs' messages, the playbook's own
    translations); what people typed (summaries, notes, reasons) stays as typed."""

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
    title: str
    match payload:
        case Opened():
            customer = payload.customer
            title = say("Opened for {name}", name=customer.get("name") or say("the customer"))
            text = payload.summary
            details = [
                (say("Type"), str(payload.incident_type)),
                (say("Property"), str(payload.site)),
            ]
            if customer.get("member_since"):
                details.append((say("Member since"), str(customer["member_since"])))
            if payload.cues:
                details.append((say("Cues"), cue_names(compiled, payload.cues)))
            details.append((say("Tier"), str(payload.tier)))
            details.append((say("Steps opened at once"), str(len(payload.steps))))
        case StepActed():
            step, action = payload.step, payload.action
            title = say(
                "{step}: {what}",
                step=step_title(compiled, step),
                what=PAST_TENSE.get(action, action),
            )
            money = money_fields(compiled, step)
            for name, value in payload.evidence.items():
                if value in (None, ""):
                    continue
                shown = (
                    compiled.said.choice(step, name, value)
                    if isinstance(value, str)
                    else show_value(value, money=currency if name in money else None)
                )
                details.append((label_of(compiled, step, name), shown))
            if payload.amount is not None:
                details.append((say("Amount"), show_value(payload.amount, money=currency)))
            if payload.alternatives:
                details.append((say("Alternatives offered"), "; ".join(payload.alternatives)))
            if payload.reason:
                details.append((say("Reason"), str(payload.reason)))
            if payload.late:
                details.append((say("Deadline"), say("finished after its deadline")))
        case CuesReported():
            title = say("Dissatisfaction cues: {cues}", cues=cue_names(compiled, payload.cues))
            details = [(say("Tier"), str(payload.tier))]
            if payload.steps:
                details.append((say("Steps added"), step_titles(compiled, payload.steps)))
        case PushRecorded():
            title = say("The customer had to ask")
            text = str(payload.asked_for)
            if payload.step:
                details = [(say("Step"), step_title(compiled, str(payload.step)))]
        case ContactRecorded():
            title = say(
                "Contact: {direction} by {channel}",
                direction=DIRECTIONS.get(str(payload.direction), str(payload.direction)),
                channel=CHANNELS.get(str(payload.channel), str(payload.channel)),
            )
            text = str(payload.summary)
        case HandedOff():
            title = say("Handed off from {giver} to {taker}", giver=payload.from_, taker=payload.to)
            text = str(payload.context)
            if payload.to_role:
                role = str(payload.to_role)
                named = role_title(role) if role in ROLE_TITLES else compiled.said.role(role)
                details = [(say("New owner's role"), named)]
        case NoteAdded():
            title = say("Note")
            text = str(payload.text)
        case Escalated():
            title = say("Escalated to tier {tier}", tier=payload.tier)
            text = str(payload.reason)
        case DeadlineMissed():
            title = say("Deadline missed: {steps}", steps=step_titles(compiled, payload.steps))
            details = [(say("Tier"), str(payload.tier))]
        case Released():
            title = say("Released (an honest ending)")
            details = [
                (say("Reason"), str(payload.reason)),
                (say("Referral"), str(payload.referral)),
            ]
        case Closed():
            title = say("Closed")
            text = payload.summary
        case Reopened():
            title = say("Reopened")
            text = str(payload.reason)
        case StatusLinkSent():
            title = say(
                "Status link sent by {via} to {recipient}",
                via=CHANNELS.get(str(payload.via), str(payload.via)),
                recipient=payload.recipient,
            )
        case Held():
            title = say("On hold: {steps}", steps=step_titles(compiled, payload.steps))
            text = say("Waiting for: {reason}", reason=payload.reason)
        case Resumed():
            title = say("Resumed: {steps}", steps=step_titles(compiled, payload.steps))
            details = [
                (step_title(compiled, s), say("now due {due}", due=due))
                for s, due in payload.steps.items()
            ]
            if payload.calendar:
                details.append((say("Business time of"), payload.calendar))
        case Erased():
            title = say("Personal data erased on {date}", date=event.recorded_at[:10])
            text = str(payload.reason)
        case _:
            title = humanise(event.type).capitalize()
    effects = getattr(payload, "effects", [])
    return Description(title, text, details, [effect.kind for effect in effects])


def humanise(code: str) -> str:
    return code.replace("_", " ").replace(".", " ").strip()


def step_title(compiled: CompiledPlaybook, step_id: str) -> str:
    """A step's title as the playbook names it (with its translations)."""
    return compiled.said.step_title(step_id)


def cue_names(compiled: CompiledPlaybook, cues: Iterable[str]) -> str:
    """Cues as the playbook names them (with its translations)."""
    return say_list(compiled.said.cue(str(c)) for c in cues)


def step_titles(compiled: CompiledPlaybook, step_ids: Iterable[str]) -> str:
    return say_list(step_title(compiled, str(s)) for s in step_ids)


def label_of(compiled: CompiledPlaybook, step_id: str, name: str) -> str:
    """An evidence field's label, as the playbook names it (with its translations)."""
    return compiled.said.label(step_id, name)


def show_value(value: Any, *, money: str | None = None) -> str:
    if isinstance(value, bool):
        return say("yes") if value else say("no")
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
