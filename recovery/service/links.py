"""Customer status links: an unguessable token the agent sends, kept only as its SHA-256.

The token (`secrets.token_urlsafe(24)`: 192 random bits) is shown once, when it is made;
storage holds its hash, the incident, who made it and when, and when it was revoked.
A link opens one incident's status page and nothing else; revoking an incident's links
ends them all at once (a new one can be made at any time).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from recovery.service.ports.links import StatusLinkStore
from recovery.service.secrets import token_hash

TOKEN_BYTES = 24


class StatusLinks:
    def __init__(self, store: StatusLinkStore) -> None:
        self.store = store

    def create(self, incident_id: str, created_by: str, now: datetime) -> str:
        """A new link's token for `incident_id` (returned here only)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        self.store.add(token_hash(token), incident_id, created_by, now)
        return token

    def incident_of(self, token: str) -> str | None:
        """The incident a live link opens, or None (unknown or revoked)."""
        if not token or len(token) > 200:
            return None
        return self.store.incident_of(token_hash(token))

    def active_count(self, incident_id: str) -> int:
        return self.store.active_count(incident_id)

    def revoke_all(self, incident_id: str, now: datetime) -> int:
        """End every live link of an incident; how many there were."""
        return self.store.revoke_all(incident_id, now)
