"""The approvals waiting for a manager, kept current by the change feed.

`PendingApprovals` holds, per process, every step awaiting approval in an active incident
(built by one scan on first use, then kept current from the change feed: each changed
incident is read again). The page header counts a manager's from it without a database
read, and the queue page lists them with what a decision needs (amount, limit, reason,
requester) read from the incident's log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from recovery.domain.checks import APPROVER_ROLES, payment_limit
from recovery.domain.compiler import ACTIVE_STATES
from recovery.errors import IncidentNotFoundError, RecoveryError
from recovery.service.changes import EVERYTHING, ChangeFeed
from recovery.service.engine import Recovery
from recovery.service.ports.changes import Change

log = logging.getLogger("recovery.approvals")

AWAITING = "awaiting_approval"
SCAN_LIMIT = 100_000


@dataclass(frozen=True)
class Waiting:
    """One step of one incident awaiting a manager's decision."""

    incident_id: str
    site: str
    step_id: str


@dataclass(frozen=True)
class ApprovalRequest:
    """What a manager decides on: the request as recorded."""

    incident_id: str
    site: str
    customer: str
    step_id: str
    step_title: str
    amount: float | None
    currency: str
    requester: str
    requester_role: str
    requester_limit: float | None
    reason: str | None
    requested_at: str
    version: int


def waiting_in(rec: Recovery, incident_id: str) -> tuple[str, list[Waiting]]:
    """The incident's site and its steps awaiting approval (none once it is not active)."""
    state = rec.get(incident_id).state
    if state.status not in ACTIVE_STATES:
        return state.site, []
    return state.site, [
        Waiting(state.id, state.site, s.id) for s in state.steps.values() if s.status == AWAITING
    ]


class PendingApprovals:
    """Steps awaiting approval, in memory, current to within the change feed's delay."""

    def __init__(self, rec: Recovery, feed: ChangeFeed) -> None:
        self._rec = rec
        self._feed = feed
        self._lock = threading.Lock()
        self._by_incident: dict[str, list[Waiting]] | None = None
        self._stop_listening: object = None

    def _ensure(self) -> dict[str, list[Waiting]]:
        with self._lock:
            if self._by_incident is None:
                # listen first: a change made during the scan is then read again
                self._stop_listening = self._feed.listen(self._on_changes)
                self._by_incident = self._scan()
            return self._by_incident

    def warm(self) -> None:
        """Listen and build the index now rather than on the first page."""
        self._ensure()

    def _scan(self) -> dict[str, list[Waiting]]:
        found: dict[str, list[Waiting]] = {}
        for view in self._rec.list_incidents(limit=SCAN_LIMIT):
            steps = [
                Waiting(view.state.id, view.state.site, s.id)
                for s in view.state.steps.values()
                if s.status == AWAITING
            ]
            if steps:
                found[view.state.id] = steps
        return found

    def _on_changes(self, changes: Sequence[Change]) -> None:
        if EVERYTHING in changes:
            fresh = self._scan()
            with self._lock:
                self._by_incident = fresh
            return
        for change in changes:
            try:
                _site, steps = waiting_in(self._rec, change.incident_id)
            except IncidentNotFoundError:
                steps = []
            except RecoveryError:
                log.exception("approvals: cannot read incident %s", change.incident_id)
                continue
            with self._lock:
                if self._by_incident is None:
                    return
                if steps:
                    self._by_incident[change.incident_id] = steps
                else:
                    self._by_incident.pop(change.incident_id, None)

    def for_manager(self, role: str, sites: Sequence[str]) -> list[Waiting]:
        """What waits for someone of `role` at `sites` (["*"]: every property)."""
        if role not in APPROVER_ROLES:
            return []
        every = "*" in sites
        found = self._ensure()
        with self._lock:
            return [w for steps in found.values() for w in steps if every or w.site in sites]

    def count(self, role: str, sites: Sequence[str]) -> int:
        return len(self.for_manager(role, sites))


def approval_requests(rec: Recovery, waiting: Sequence[Waiting]) -> list[ApprovalRequest]:
    """The requests behind `waiting`, as recorded (the newest request of each step)."""
    out: list[ApprovalRequest] = []
    for incident_id in dict.fromkeys(w.incident_id for w in waiting):
        try:
            view = rec.get(incident_id)
        except IncidentNotFoundError:
            continue
        state = view.state
        compiled = rec.playbook_of(state)
        events = rec.timeline(incident_id)
        for step in state.steps.values():
            if step.status != AWAITING:
                continue
            request = next(
                (
                    e
                    for e in reversed(events)
                    if e.data.get("step") == step.id and e.data.get("action") == "request_approval"
                ),
                None,
            )
            amount = (step.approval or {}).get("requested_amount")
            out.append(
                ApprovalRequest(
                    incident_id=state.id,
                    site=state.site,
                    customer=str(state.customer.get("name", "")),
                    step_id=step.id,
                    step_title=step.title,
                    amount=None if amount is None else float(amount),
                    currency=compiled.playbook.currency,
                    requester=str((step.approval or {}).get("requested_by", "")),
                    requester_role=request.actor_role if request else "",
                    requester_limit=(
                        payment_limit(compiled, request.actor_role) if request else None
                    ),
                    reason=(request.data.get("reason") if request else None) or None,
                    requested_at=request.recorded_at if request else state.updated_at,
                    version=state.version,
                )
            )
    out.sort(key=lambda r: r.requested_at)
    return out
