"""A customer asks to be called back, from their status page.

The request is an inbound contact on the incident (`contact_recorded`, channel
`status_page`), recorded as the link that opened the page (`customer:<link id>`), never as
a person. A link may ask `LIMIT` times an hour: counted from the incident's events, so the
limit holds however many server processes there are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from recovery.domain.commands import Actor
from recovery.domain.state import Event, parse_iso
from recovery.errors import CommandRejectedError, ConflictError
from recovery.service.engine import Recovery
from recovery.service.links import StatusLinks, link_id
from recovery.service.secrets import token_hash

CHANNEL = "status_page"
ROLE = "customer"
LIMIT = 3
TRIES = 3
WINDOW = timedelta(hours=1)
MESSAGE_MAX = 500
PHONE_MAX = 40
_PHONE = re.compile(r"^[0-9+()./\s-]{3,40}$")


class TooManyRequests(CommandRejectedError):
    """The link asked `LIMIT` times within the hour already."""


def customer_actor(token: str) -> Actor:
    return Actor(id=f"customer:{link_id(token_hash(token))}", role=ROLE)


def callback_requests(events: list[Event]) -> list[Event]:
    """The incident's callback requests made from a status page, oldest first."""
    return [
        e
        for e in events
        if e.type == "contact_recorded" and e.channel == CHANNEL and e.actor_role == ROLE
    ]


def clean(phone: str, message: str) -> tuple[str, str]:
    """The phone and message as given, checked; a bad one is refused naming the field."""
    phone = " ".join(phone.split())
    message = message.strip()
    if phone and not _PHONE.fullmatch(phone):
        raise CommandRejectedError("phone: digits, spaces and + ( ) - only", field="phone")
    if len(message) > MESSAGE_MAX:
        raise CommandRejectedError(f"message: at most {MESSAGE_MAX} characters", field="message")
    return phone, message


@dataclass(frozen=True)
class Callbacks:
    rec: Recovery
    links: StatusLinks

    def request(self, token: str, phone: str, message: str, now: datetime) -> str:
        """Record the request of the link `token`; the incident's id. Refused when the link
        is not live, the input is bad, or the link asked `LIMIT` times in the last hour."""
        incident_id = self.links.incident_of(token)
        if incident_id is None:
            raise CommandRejectedError("this link is not valid", field="token")
        phone, message = clean(phone, message)
        actor = customer_actor(token)
        summary = "Callback requested" + (f" at {phone}" if phone else "")
        summary += f": {message}" if message else "."
        for attempt in range(TRIES):
            events = self.rec.timeline(incident_id)
            since = now - WINDOW
            recent = [
                e
                for e in callback_requests(events)
                if e.actor == actor.id and parse_iso(e.recorded_at) > since
            ]
            if len(recent) >= LIMIT:
                raise TooManyRequests(f"at most {LIMIT} requests an hour", field="token")
            try:
                # At the version counted: two requests at once cannot both pass the limit.
                self.rec.record_contact(
                    incident_id,
                    CHANNEL,
                    "inbound",
                    summary,
                    actor=actor,
                    channel=CHANNEL,
                    expected_version=events[-1].seq if events else None,
                )
            except ConflictError:
                if attempt == TRIES - 1:
                    raise
                continue
            break
        return incident_id
