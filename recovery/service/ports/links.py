"""The status links port: customers' links to their incident's status page, by hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class StoredLink:
    token_hash: str
    incident_id: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class StatusLinkStore(Protocol):
    """Links kept only as the SHA-256 of their token (the service makes and hashes them)."""

    def add(self, token_hash: str, incident_id: str, created_by: str, now: datetime) -> None: ...

    def incident_of(self, token_hash: str) -> str | None:
        """The incident a live link opens, or None (unknown or revoked)."""
        ...

    def active_count(self, incident_id: str) -> int: ...

    def revoke_all(self, incident_id: str, now: datetime) -> int:
        """End every live link of an incident; how many there were."""
        ...

    def list_links(self, incident_id: str) -> list[StoredLink]:
        """Every link of an incident, live or revoked, oldest first."""
        ...

    def revoke(self, token_hash: str, now: datetime) -> bool:
        """End one live link; False when it is unknown or already revoked."""
        ...
