"""What the customer is told, as events: a status link sent (by e-mail, or by the back
office on another channel), and the customer-facing updates the timeline holds (a new
owner, a promised deadline moved), worded without staff names or notes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

from recovery.domain.commands import Erase, SendStatusLink
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.effects import CustomerMessage, Effect
from recovery.domain.events import Erased, HandedOff, Payload, Resumed, StatusLinkSent
from recovery.domain.state import Event, IncidentState
from recovery.errors import CommandRejectedError

NOTIFY_CUSTOMER = "notify_customer"


def _decide_link_sent(
    compiled: CompiledPlaybook, state: IncidentState, command: SendStatusLink, ctx: Any
) -> StatusLinkSent:
    effects: list[Effect] = []
    if command.via != "email":
        if not command.url:
            raise CommandRejectedError("a link sent by the back office needs its url", field="url")
        effects.append(
            CustomerMessage(NOTIFY_CUSTOMER, command.via, command.recipient, command.url)
        )
    return StatusLinkSent(
        link=command.link,
        via=command.via,
        recipient=command.recipient,
        message_id=command.message_id,
        effects=effects,
    )


def _decide_erased(
    compiled: CompiledPlaybook, state: IncidentState, command: Erase, ctx: Any
) -> Erased:
    return Erased(reason=command.reason)


SERVICE_DECIDERS: dict[type, Callable[[CompiledPlaybook, IncidentState, Any, Any], Payload]] = {
    SendStatusLink: _decide_link_sent,
    Erase: _decide_erased,
}


UpdateKind = Literal["new_owner", "deadlines_moved"]


@dataclass(frozen=True)
class CustomerUpdate:
    """Something the customer is told happened: only what and when, never who or why
    (a hand-off's names and context are for staff)."""

    kind: UpdateKind
    at: str


# The events that mean something changed for the customer, and how it is told: a hand-off,
# and a resumed hold (its promised deadlines moved by the time held).
_UPDATES: dict[str, UpdateKind] = {"handed_off": "new_owner", "resumed": "deadlines_moved"}


def customer_updates(events: Iterable[Event]) -> list[CustomerUpdate]:
    """The customer-facing updates of an incident's timeline, oldest first."""
    return [CustomerUpdate(_UPDATES[e.type], e.recorded_at) for e in events if e.type in _UPDATES]


# The playbook's names (`customer_updates.notify`) for the changes it may tell as they happen.
_TOLD: dict[type, tuple[str, UpdateKind]] = {
    HandedOff: ("handoff", "new_owner"),
    Resumed: ("deadline_moved", "deadlines_moved"),
}


def told_customer(compiled: CompiledPlaybook, state: IncidentState, payload: Payload) -> Payload:
    """`payload` with a `notify_customer` effect when the playbook tells the customer of
    this change: only what changed (the update's kind) and to whom; never a name, a note
    or a hand-off's context. The back office words it in the customer's language."""
    told = _TOLD.get(type(payload))
    wanted = compiled.playbook.customer_updates
    if told is None or wanted is None or told[0] not in wanted.notify:
        return payload
    assert isinstance(payload, HandedOff | Resumed)
    contact = str(state.customer.get("contact") or "")
    message = CustomerMessage(NOTIFY_CUSTOMER, wanted.channel, contact, update=told[1])
    return replace(payload, effects=[*payload.effects, message])
