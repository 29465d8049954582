"""The approvals waiting for a manager, kept current by the change feed.

Every incident's row counts its steps awaiting approval (`incidents.awaiting_approval`,
written with each event, 0 once the incident is not active). The page header counts a
manager's with one indexed query by site (kept until the change feed tells of a change),
and the queue page lists them with what a decision needs (amount, limit, reason,
requester) read from the incident's log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from recovery.domain.checks import APPROVER_ROLES, payment_limit
from recovery.domain.compiler import ACTIVE_STATES
from recovery.domain.figures import AWAITING
from recovery.errors import IncidentNotFoundError, RecoveryError
from recovery.service.changes import ChangeFeed
from recovery.service.engine import Recovery
from recovery.service.ports.changes import Change

log = logging.getLogger("recovery.approvals")

QUEUE_LIMIT = 500  # incidents on one queue page
MAX_COUNTS = 1000  # sets of sites whose header count is kept


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
    """Steps awaiting approval, read from the incidents' `awaiting_approval` column (one
    indexed query by site). The header's counts are kept per set of sites until the change
    feed says something changed, so a page render rarely asks the database."""

    def __init__(self, rec: Recovery, feed: ChangeFeed) -> None:
        self._rec = rec
        self._feed = feed
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, ...], int] = {}
        self._listening = False

    def warm(self) -> None:
        """Listen to the change feed (counts are then dropped on every change)."""
        with self._lock:
            if not self._listening:
                self._feed.listen(self._on_changes)
                self._listening = True

    def _on_changes(self, changes: Sequence[Change]) -> None:
        with self._lock:
            self._counts.clear()

    def for_manager(self, role: str, sites: Sequence[str]) -> list[Waiting]:
        """What waits for someone of `role` at `sites` (["*"]: every property)."""
        if role not in APPROVER_ROLES:
            return []
        found: list[Waiting] = []
        for awaiting in self._rec.log.awaiting_approval(_scope(sites), QUEUE_LIMIT):
            try:
                _site, steps = waiting_in(self._rec, awaiting.incident_id)
            except IncidentNotFoundError:
                continue
            except RecoveryError:
                log.exception("approvals: cannot read incident %s", awaiting.incident_id)
                continue
            found.extend(steps)
        return found

    def count(self, role: str, sites: Sequence[str]) -> int:
        if role not in APPROVER_ROLES:
            return 0
        key = tuple(sorted(sites))
        with self._lock:
            known = self._counts.get(key) if self._listening else None
        if known is not None:
            return known
        counted = self._rec.log.awaiting_approval_count(_scope(sites))
        with self._lock:
            if self._listening and len(self._counts) < MAX_COUNTS:
                self._counts[key] = counted
        return counted


def _scope(sites: Sequence[str]) -> Sequence[str] | None:
    return None if "*" in sites else sites


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
