"""What every request handler of either face needs: the engine, accounts, status links,
idempotency, the runner, the caller's scope."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from recovery.errors import IncidentNotFoundError
from recovery.http.idempotency import Idempotency
from recovery.http.runner import Runner
from recovery.service.accounts import Accounts
from recovery.service.engine import Recovery
from recovery.service.links import StatusLinks
from recovery.service.principal import Principal
from recovery.service.webhooks import WebhookEndpoints


class SiteCache:
    """incident id → property. An incident never changes property, so entries never go
    stale; only ids that exist are kept (bounded)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._sites: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, incident_id: str) -> str | None:
        return self._sites.get(incident_id)

    def put(self, incident_id: str, site: str) -> None:
        with self._lock:
            if len(self._sites) >= self.max_entries:
                self._sites.clear()
            self._sites[incident_id] = site


@dataclass
class ApiContext:
    rec: Recovery
    accounts: Accounts
    links: StatusLinks
    idempotency: Idempotency
    runner: Runner
    clock: Callable[[], datetime]
    webhooks: WebhookEndpoints
    sites: SiteCache = field(default_factory=SiteCache)

    def check_scope(self, principal: Principal, incident_id: str) -> str:
        """The incident's property, if the caller may see it; otherwise 'not found', exactly
        as for an incident that does not exist, so existence does not leak."""
        site = self.sites.get(incident_id)
        if site is None:
            site = self.rec.log.incident_site(incident_id)
            if site is None:
                raise IncidentNotFoundError(incident_id)
            self.sites.put(incident_id, site)
        if not principal.may_see(site):
            raise IncidentNotFoundError(incident_id)
        return site
