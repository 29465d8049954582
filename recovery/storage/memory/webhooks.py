"""`MemoryWebhookEndpoints`: registered webhook endpoints and their delivery log in memory
(`delivery.endpoints.EndpointStore`), with the SQL adapter's rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import orjson

from recovery.delivery.endpoints import Attempt, Endpoint, LoggedAttempt, endpoint_key
from recovery.delivery.ports import DELIVERING, PENDING
from recovery.storage.leases import clip
from recovery.storage.memory.accounts import MemoryAccountStore
from recovery.storage.memory.incidents import MemoryIncidentLog
from recovery.storage.outcomes import targets_text


class MemoryWebhookEndpoints:
    def __init__(self, log: MemoryIncidentLog, accounts: MemoryAccountStore) -> None:
        self._log = log  # its lock guards the endpoints and the log too
        self._accounts = accounts
        self._endpoints: dict[str, Endpoint] = {}
        self._attempts: list[LoggedAttempt] = []
        self._next_id = 1

    def add(self, endpoint: Endpoint) -> None:
        with self._log.lock:
            if endpoint.id in self._endpoints:
                raise ValueError(f"endpoint {endpoint.id} exists")
            self._endpoints[endpoint.id] = endpoint

    def get(self, endpoint_id: str) -> Endpoint | None:
        with self._log.lock:
            return self._endpoints.get(endpoint_id)

    def list_endpoints(self, owner: str | None = None) -> list[Endpoint]:
        with self._log.lock:
            found = [
                e
                for e in self._endpoints.values()
                if e.deleted_at is None and (owner is None or e.owner == owner)
            ]
        return sorted(found, key=lambda e: (e.created_at, e.id))

    def count(self, owner: str) -> int:
        return len(self.list_endpoints(owner))

    def _change(self, endpoint_id: str, **values: object) -> Endpoint | None:
        with self._log.lock:
            found = self._endpoints.get(endpoint_id)
            if found is None or found.deleted_at is not None:
                return None
            changed = replace(found, **values)  # type: ignore[arg-type]
            self._endpoints[endpoint_id] = changed
            return changed

    def rotate(
        self, endpoint_id: str, secret: str, previous_until: datetime | None
    ) -> Endpoint | None:
        with self._log.lock:
            found = self._endpoints.get(endpoint_id)
            previous = found.secret if found is not None and previous_until else None
            return self._change(
                endpoint_id, secret=secret, previous_secret=previous, previous_until=previous_until
            )

    def delete(self, endpoint_id: str, now: datetime) -> Endpoint | None:
        return self._change(endpoint_id, deleted_at=now)

    def active(self) -> list[Endpoint]:
        revoked = {
            f"token:{t.name}" for t in self._accounts.list_tokens() if t.revoked_at is not None
        }
        return [e for e in self.list_endpoints() if e.owner not in revoked]

    def log(self, attempts: Sequence[Attempt], prune_before: datetime | None = None) -> None:
        with self._log.lock:
            for a in attempts:
                row = self._log.outbox[a.message_id - 1]
                self._attempts.append(
                    LoggedAttempt(
                        endpoint_id=a.endpoint_id,
                        message_id=a.message_id,
                        attempt=a.attempt,
                        status_code=a.status_code,
                        error=clip(a.error) if a.error else None,
                        duration_ms=a.duration_ms,
                        at=a.at,
                        id=self._next_id,
                        event=f"{row['incident_id']}:{row['seq']}",
                        kind=row["kind"],
                    )
                )
                self._next_id += 1
            if prune_before is not None:
                self._attempts = [a for a in self._attempts if a.at >= prune_before]

    def deliveries(
        self, endpoint_id: str, *, before: int | None = None, limit: int = 50
    ) -> list[LoggedAttempt]:
        with self._log.lock:
            found = [
                a
                for a in reversed(self._attempts)
                if a.endpoint_id == endpoint_id and (before is None or a.id < before)
            ]
        return found[:limit]

    def redeliver(self, endpoint_id: str, message_id: int, now: datetime) -> str:
        with self._log.lock:
            sent = any(
                a.endpoint_id == endpoint_id and a.message_id == message_id for a in self._attempts
            )
            if not sent:
                return "unknown"
            row = self._log.outbox[message_id - 1]
            if row["status"] == DELIVERING:
                return "busy"
            accepted = set(orjson.loads(row["accepted_by"])) if row["accepted_by"] else set()
            accepted.discard(endpoint_key(endpoint_id))
            row.update(status=PENDING, next_attempt_at=now, accepted_by=targets_text(accepted))
        return "queued"
