"""One customer across incidents, and one incident's standing with its customer.

A customer is found by the key that links their incidents (`domain.customers`): every
incident of theirs in one timeline, the compensation given so far, the pushes, and the
promises still open; and, for an incident's page, the customer's recent history ("called
yesterday about the bill: promised a call back by 16:00"). Every query is scoped to the
caller's properties (`sites`; None: every property).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from recovery.domain.commands import OpenIncident
from recovery.domain.compiler import ACTIVE_STATES, CompiledPlaybook
from recovery.domain.customers import (
    CustomerHistory,
    compensation_given,
    customer_key_of,
    history_of,
)
from recovery.domain.describe import describe
from recovery.domain.queries import open_steps
from recovery.domain.state import Event, IncidentState
from recovery.domain.updates import CustomerUpdate, customer_updates
from recovery.errors import CommandRejectedError
from recovery.service.ports import Storage
from recovery.service.reports import recovery_score
from recovery.service.views import IncidentView

# Bounds: a customer's view reads at most this many incidents (newest first), and a new
# incident's cue rules look at as many earlier ones.
MAX_INCIDENTS = 50


class _Engine(Protocol):
    storage: Storage

    def get(self, incident_id: str) -> IncidentView: ...

    def playbook_of(self, state: IncidentState) -> CompiledPlaybook: ...

    def timeline(self, incident_id: str) -> list[Event]: ...


@dataclass(frozen=True)
class Promise:
    incident_id: str
    step: str
    title: str
    due_at: str
    late: bool


@dataclass(frozen=True)
class Compensation:
    incident_id: str
    step: str
    title: str
    amount: float
    currency: str
    at: str


@dataclass(frozen=True)
class Entry:
    """One line of the customer's timeline (staff words: notes and summaries included)."""

    at: str
    incident_id: str
    playbook: str
    actor: str
    channel: str
    type: str
    title: str
    text: str | None


@dataclass(frozen=True)
class IncidentLine:
    """One incident of the customer, in a line: what it was about, where it stands, and
    what was promised next."""

    incident_id: str
    opened_at: str
    site: str
    playbook: str
    status: str
    summary: str | None
    owner: str
    pushes: int
    recovery_score: int
    next_promise: Promise | None


@dataclass(frozen=True)
class CustomerView:
    key: str
    name: str | None
    contact: str | None
    member_since: str | None
    incidents: list[IncidentLine]
    timeline: list[Entry]
    compensation: list[Compensation]
    compensation_total: dict[str, float]
    pushes: int
    open_promises: list[Promise]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _promises(compiled: CompiledPlaybook, state: IncidentState, now: str) -> list[Promise]:
    if state.status not in ACTIVE_STATES:
        return []
    return [
        Promise(state.id, s.id, compiled.said.step_title(s.id), s.due_at, s.due_at < now)
        for s in sorted(open_steps(compiled, state), key=lambda s: s.due_at)
        if s.required
    ]


class CustomerQueries:
    """Mixed into `Recovery`."""

    def score(self: _Engine, incident_id: str) -> dict[str, Any]:
        """The incident's recovery score (0-100) and what it lost points for."""
        state = self.get(incident_id).state
        return {
            "incident_id": state.id,
            "recovery_score": recovery_score(state),
            "pushes": state.pushes,
            "handoffs": state.handoffs,
            "missed_deadlines": sum(1 for s in state.steps.values() if s.missed),
            "late_steps": sum(1 for s in state.steps.values() if s.late and not s.missed),
        }

    def customer_updates(self: _Engine, incident_id: str) -> list[CustomerUpdate]:
        """What the customer is told changed (a new owner, ...), oldest first: for the
        status page, without staff names or notes."""
        return customer_updates(self.timeline(incident_id))

    def history_for(
        self: _Engine, compiled: CompiledPlaybook, command: OpenIncident
    ) -> CustomerHistory | None:
        """What the customer's earlier incidents tell a new one, read only when the
        playbook has a rule that asks (another incident within N days, compensation in
        the last N months)."""
        asks = any(
            r.when.repeat_within_days or r.when.compensated_within_months
            for r in compiled.playbook.cue_rules
        )
        key = customer_key_of(command.customer.model_dump(exclude_none=True))
        if not asks or key is None:
            return None
        earlier = self.storage.incidents.customer_states(key, limit=MAX_INCIDENTS)
        return history_of(earlier, self.playbook_of)

    def customer(
        self: _Engine,
        key: str,
        *,
        sites: Sequence[str] | None = None,
        now: str | None = None,
        exclude: str | None = None,
    ) -> CustomerView:
        """Every incident of the customer with this key (at `sites`), newest first, in one
        timeline; `exclude` leaves one incident out (the one whose page shows this)."""
        key = key.strip()
        if not key or len(key) > 200:
            raise CommandRejectedError("a customer key is 1 to 200 characters", field="key")
        found = self.storage.incidents.customer_states(key, sites=sites, limit=MAX_INCIDENTS)
        states = [s for s in found if s.id != exclude]
        now = now or max((s.updated_at for s in found), default="")
        lines: list[IncidentLine] = []
        entries: list[Entry] = []
        given: list[Compensation] = []
        promises: list[Promise] = []
        for state in states:
            compiled = self.playbook_of(state)
            title = compiled.said.title
            open_now = _promises(compiled, state, now)
            promises.extend(open_now)
            lines.append(
                IncidentLine(
                    state.id,
                    state.opened_at,
                    state.site,
                    title,
                    state.status,
                    state.summary,
                    state.owner,
                    state.pushes,
                    recovery_score(state),
                    open_now[0] if open_now else None,
                )
            )
            currency = compiled.playbook.currency
            for when, amount, step_id in compensation_given(compiled, state):
                step_title = compiled.said.step_title(step_id)
                given.append(Compensation(state.id, step_id, step_title, amount, currency, when))
            for event in self.timeline(state.id):
                said = describe(event, compiled)
                entries.append(
                    Entry(
                        event.recorded_at,
                        state.id,
                        title,
                        event.actor,
                        event.channel,
                        event.type,
                        said.title,
                        said.text,
                    )
                )
        entries.sort(key=lambda e: e.at, reverse=True)
        totals: dict[str, float] = {}
        for item in given:
            totals[item.currency] = totals.get(item.currency, 0.0) + item.amount
        latest = found[0].customer if found else {}
        return CustomerView(
            key=key,
            name=latest.get("name"),
            contact=latest.get("contact"),
            member_since=latest.get("member_since"),
            incidents=lines,
            timeline=entries,
            compensation=sorted(given, key=lambda c: c.at),
            compensation_total=totals,
            pushes=sum(s.pushes for s in states),
            open_promises=sorted(promises, key=lambda p: p.due_at),
        )
