"""Customer status links: an unguessable token the agent sends, kept only as its SHA-256.

The token (`secrets.token_urlsafe(24)`: 192 random bits) is shown once, when it is made;
storage holds its hash, the incident, who made it and when, and when it was revoked.
A link opens one incident's status page and nothing else. A link is named by its `id`
(the first 16 hex digits of the hash: it opens nothing), to list and revoke it.

`send` makes a new link and gives it to the customer: by e-mail through the mailer, or
(any other channel: sms, chat...) as a `notify_customer` webhook effect that the back
office delivers. Either way the sending is recorded in the incident's timeline.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from recovery.config import Settings
from recovery.domain.commands import Actor, SendStatusLink
from recovery.domain.state import IncidentState
from recovery.errors import CommandRejectedError, IncidentNotFoundError
from recovery.letters.i18n import pick_locale
from recovery.letters.mailers import Mailer, MailError, mailer_from_settings
from recovery.letters.render import humanise
from recovery.service.engine import Recovery
from recovery.service.once import Once
from recovery.service.ports.links import StatusLinkStore, StoredLink
from recovery.service.secrets import token_hash
from recovery.service.views import Outcome

TOKEN_BYTES = 24
ID_LENGTH = 16

# The e-mail that carries a link, in the customer's language.
_MAIL: dict[str, tuple[str, str]] = {
    "en": (
        "Your case at {site}",
        "Dear {name},\n\nYou can follow what we are doing to put things right, and by when, "
        "on this page:\n\n{url}\n\nThe page is for you only: please do not share the link.\n"
        "\nKind regards,\n{site}\n",
    ),
    "da": (
        "Din sag hos {site}",
        "Kære {name}\n\nPå denne side kan du følge, hvad vi gør for at rette op på det, og "
        "hvornår:\n\n{url}\n\nSiden er kun til dig: del venligst ikke linket.\n"
        "\nMed venlig hilsen\n{site}\n",
    ),
    "id": (
        "Kasus Anda di {site}",
        "Yth. {name},\n\nAnda dapat mengikuti apa yang kami lakukan untuk memperbaikinya, "
        "beserta batas waktunya, di halaman ini:\n\n{url}\n\nHalaman ini hanya untuk Anda: "
        "mohon jangan bagikan tautannya.\n\nHormat kami,\n{site}\n",
    ),
}


def link_id(hashed: str) -> str:
    return hashed[:ID_LENGTH]


@dataclass(frozen=True)
class LinkInfo:
    """A link as staff and back offices see it: never its token."""

    id: str
    incident_id: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "incident_id": self.incident_id,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "active": self.active,
        }


@dataclass(frozen=True)
class NewLink:
    """A link just made: its token and address are here only."""

    id: str
    token: str
    url: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "token": self.token, "url": self.url}


@dataclass(frozen=True)
class SentLink:
    link: NewLink
    outcome: Outcome


def _info(stored: StoredLink) -> LinkInfo:
    return LinkInfo(
        link_id(stored.token_hash),
        stored.incident_id,
        stored.created_by,
        stored.created_at,
        stored.revoked_at,
    )


class StatusLinks:
    """The links of every incident. `rec` (the engine) and `mailer` are needed to send;
    `public_url` is the address customers reach this server at (for the link's URL)."""

    def __init__(
        self,
        store: StatusLinkStore,
        *,
        rec: Recovery | None = None,
        mailer: Mailer | None = None,
        public_url: str | None = None,
        sender: str | None = None,
    ) -> None:
        self.store = store
        self.rec = rec
        self.mailer = mailer
        self.public_url = (public_url or Settings.from_env().public_url or "").rstrip("/") or None
        self.sender = sender

    def create(self, incident_id: str, created_by: str, now: datetime) -> str:
        """A new link's token for `incident_id` (returned here only)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        self.store.add(token_hash(token), incident_id, created_by, now)
        return token

    def make(
        self, incident_id: str, created_by: str, now: datetime, base_url: str | None = None
    ) -> NewLink:
        """`create`, with the link's id and address (when the server's address is known)."""
        token = self.create(incident_id, created_by, now)
        base = (base_url or self.public_url or "").rstrip("/")
        return NewLink(
            link_id(token_hash(token)), token, f"{base}/status/{token}" if base else None
        )

    def incident_of(self, token: str) -> str | None:
        """The incident a live link opens, or None (unknown or revoked)."""
        if not token or len(token) > 200:
            return None
        return self.store.incident_of(token_hash(token))

    def active_count(self, incident_id: str) -> int:
        return self.store.active_count(incident_id)

    def list(self, incident_id: str) -> list[LinkInfo]:
        """Every link of the incident, live or revoked, oldest first."""
        return [_info(s) for s in self.store.list_links(incident_id)]

    def revoke(self, incident_id: str, link: str, now: datetime) -> LinkInfo:
        """End one link of the incident by its id; an unknown id is refused by name."""
        for stored in self.store.list_links(incident_id):
            if link_id(stored.token_hash) == link:
                if stored.revoked_at is None:
                    self.store.revoke(stored.token_hash, now)
                    return _info(replace(stored, revoked_at=now))
                return _info(stored)
        raise CommandRejectedError(f"no status link {link!r} on this incident", field="link")

    def revoke_all(self, incident_id: str, now: datetime) -> int:
        """End every live link of an incident; how many there were."""
        return self.store.revoke_all(incident_id, now)

    def send(
        self,
        incident_id: str,
        *,
        via: str = "email",
        recipient: str | None = None,
        actor: Actor,
        channel: str = "api",
        base_url: str | None = None,
        once: Once | None = None,
        on_link: Callable[[NewLink], None] | None = None,
    ) -> SentLink:
        """Make a new link and give it to the customer: `via` email (the mailer sends it
        now; default recipient: the customer's e-mail contact) or any other channel (the
        back office delivers it from a `notify_customer` webhook). Recorded in the
        timeline; a link that could not be sent is revoked at once. `once`: the API's
        idempotency key, stored with the event; `on_link` hears of the link before that."""
        if self.rec is None:
            raise CommandRejectedError("sending links needs the engine", field="via")
        view = self.rec.get(incident_id)  # IncidentNotFoundError for an unknown id
        state = view.state
        contact = state.customer.get("contact")
        to = (recipient or "").strip() or (contact if isinstance(contact, str) else "")
        if not to:
            raise CommandRejectedError(
                "no recipient: give one, or record the customer's contact", field="recipient"
            )
        if via == "email" and "@" not in to:
            raise CommandRejectedError(f"{to!r} is not an e-mail address", field="recipient")
        now = self.rec.clock()
        link = self.make(incident_id, actor.id, now, base_url)
        if link.url is None:
            self.store.revoke(token_hash(link.token), now)
            raise CommandRejectedError(
                "the server's public address is unknown: set RECOVERY_PUBLIC_URL or pass base_url",
                field="base_url",
            )
        message_id = None
        try:
            if via == "email":
                mailer = self.mailer or mailer_from_settings(Settings.from_env())
                message_id = mailer.send(self._email(state, to, link.url, link.id))
            command = SendStatusLink(
                link=link.id,
                via=via,
                recipient=to[:200],
                message_id=message_id,
                url=None if via == "email" else link.url,
            )
            if on_link is not None:
                on_link(link)
            outcome = self.rec.execute(
                incident_id, command, actor=actor, channel=channel, once=once
            )
        except (MailError, CommandRejectedError, IncidentNotFoundError) as exc:
            self.store.revoke(token_hash(link.token), now)
            if isinstance(exc, MailError):
                raise CommandRejectedError(
                    f"the mail server did not accept the link: {exc}", field="recipient"
                ) from exc
            raise
        return SentLink(link, outcome)

    def _email(self, state: IncidentState, recipient: str, url: str, link: str) -> EmailMessage:
        locale = pick_locale(state.customer.get("language"))
        subject, body = _MAIL[locale]
        site = humanise(state.site)
        words = {"site": site, "name": state.customer.get("name", ""), "url": url}
        message = EmailMessage()
        message["From"] = self.sender or Settings.from_env().mail_from
        message["To"] = recipient
        message["Subject"] = subject.format(**words)
        message["Message-ID"] = make_msgid(domain="recovery.local")
        message["X-Recovery-Letter"] = f"status-link-{link}"  # the file mailer's file name
        message.set_content(body.format(**words))
        return message
