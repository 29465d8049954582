"""The approvals waiting for a manager, kept current by the change feed.

Every incident's row counts its steps awaiting approval (`incidents.awaiting_approval`,
written with each event, 0 once the incident is not active). The page header counts a
manager's with one indexed query by site (kept until the change feed tells of a change),
and the queue page lists them with what a decision needs (amount, limit, reason,
requester): one page of incidents by id (keyset), their states in one read and their
request events in another.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from recovery.domain.checks import APPROVER_ROLES, payment_limit
from recovery.domain.compiler import ACTIVE_STATES
from recovery.domain.figures import AWAITING
from recovery.domain.state import Event, IncidentState
from recovery.service.changes import ChangeFeed
from recovery.service.engine import Recovery
from recovery.service.ports.changes import Change
from recovery.service.views import IncidentView

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
    return state.site, _waiting(state)


def _waiting(state: IncidentState) -> list[Waiting]:
    if state.status not in ACTIVE_STATES:
        return []
    return [
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

    def for_manager(
        self, role: str, sites: Sequence[str], after: str | None = None
    ) -> tuple[list[Waiting], str | None]:
        """What waits for someone of `role` at `sites` (["*"]: every property): one page of
        incidents by id after `after`, and the key of the next page (None: the last). Two
        reads: the indexed column, then the page's states."""
        if role not in APPROVER_ROLES:
            return [], None
        page = self._rec.log.awaiting_approval(_scope(sites), QUEUE_LIMIT, after)
        states = {s.id: s for s in self._rec.log.states_of([a.incident_id for a in page])}
        found = [
            w for a in page if a.incident_id in states for w in _waiting(states[a.incident_id])
        ]
        return found, page[-1].incident_id if len(page) == QUEUE_LIMIT else None

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
    return [request for request, _view in approval_queue(rec, waiting)]


def approval_queue(
    rec: Recovery, waiting: Sequence[Waiting]
) -> list[tuple[ApprovalRequest, IncidentView]]:
    """The requests behind `waiting` with their incidents' views (what a decision may be),
    oldest request first. Two reads for the page: the states, then the request events."""
    ids = list(dict.fromkeys(w.incident_id for w in waiting))
    states = rec.log.states_of(ids)
    requests: dict[tuple[str, str], Event] = {}
    for event in rec.log.step_actions(ids, "request_approval"):
        requests[(event.incident_id, str(event.data.get("step")))] = event  # the newest wins
    out = []
    for state in states:
        compiled = rec.playbook_of(state)
        view = IncidentView(compiled, state)
        for step in state.steps.values():
            if step.status != AWAITING:
                continue
            request = requests.get((state.id, step.id))
            approval = step.approval or {}
            amount = approval.get("requested_amount")
            found = ApprovalRequest(
                incident_id=state.id,
                site=state.site,
                customer=str(state.customer.get("name", "")),
                step_id=step.id,
                step_title=compiled.said.step_title(step.id),
                amount=None if amount is None else float(amount),
                currency=compiled.playbook.currency,
                requester=str(approval.get("requested_by", "")),
                requester_role=request.actor_role if request else "",
                requester_limit=(payment_limit(compiled, request.actor_role) if request else None),
                reason=(request.data.get("reason") if request else None) or None,
                requested_at=request.recorded_at if request else state.updated_at,
                version=state.version,
            )
            out.append((found, view))
    out.sort(key=lambda pair: (pair[0].requested_at, pair[0].incident_id, pair[0].step_id))
    return out
