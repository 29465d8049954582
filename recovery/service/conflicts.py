"""Conflicts only where they are real: what was recorded on an incident since a page showed
it, in words (who, what, when), and whether any of it touched the step being acted on.

A decision on a step is taken on what the page showed of that step. If others recorded
things since, but none on that step (a note, a contact, another step done), the decision
still stands and is applied to the incident as it is now; the step's own rules (the state
machine, limits, evidence) are checked there as always. Only a change to the same step
refuses it, saying who changed what, and when.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.describe import describe
from recovery.domain.state import Event
from recovery.domain.words import role_title, say
from recovery.errors import ConflictError
from recovery.service.ports import IncidentLog

Pinned = Callable[[str, int], CompiledPlaybook]
"""A playbook version by id and version (`Recovery.pinned_playbook`)."""


@dataclass(frozen=True)
class Change:
    """One event recorded after the version a caller saw."""

    seq: int
    at: str
    actor: str
    role: str
    what: str
    step: str | None

    def words(self) -> str:
        at = self.at[:16].replace("T", " ")  # minutes are enough to place it
        return f"{self.actor} ({role_title(self.role)}) at {at} UTC: {self.what}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "role": self.role,
            "what": self.what,
            "step": self.step,
        }


def change_of(event: Event, compiled: CompiledPlaybook) -> Change:
    step = event.data.get("step") if event.type == "step_action" else None
    return Change(
        seq=event.seq,
        at=event.recorded_at,
        actor=event.actor,
        role=event.actor_role,
        what=describe(event, compiled).title,
        step=step if isinstance(step, str) else None,
    )


def changes_since(
    log: IncidentLog, playbook: Pinned, incident_id: str, seen: int, upto: int | None = None
) -> list[Change]:
    """What was recorded on the incident after version `seen` (up to `upto`), in words."""
    events = log.events(incident_id, upto_seq=upto)
    return [
        change_of(e, playbook(e.playbook_id, e.playbook_version)) for e in events if e.seq > seen
    ]


def version_to_act_on(
    log: IncidentLog, playbook: Pinned, incident_id: str, step: str, seen: int
) -> int:
    """The version a decision on `step` taken on version `seen` applies to: the current
    one, unless what was recorded since touched that step (then ConflictError)."""
    state, _head = log.load(incident_id)
    if state.version == seen:
        return seen
    changes = changes_since(log, playbook, incident_id, seen, state.version)
    if seen > state.version or any(c.step == step for c in changes):
        raise conflict(incident_id, seen, state.version, changes)
    return state.version


def explained(
    error: ConflictError, log: IncidentLog, playbook: Pinned, seen: int | None
) -> ConflictError:
    """`error` (a refusal at version `seen`) with what was recorded since, in words."""
    current = error.current_version
    if seen is None or current is None or error.changes or not 0 <= seen < current:
        return error
    changes = changes_since(log, playbook, error.incident_id, seen, current)
    return conflict(error.incident_id, seen, current, changes)


def conflict(incident_id: str, seen: int, current: int, changes: Sequence[Change]) -> ConflictError:
    """The refusal of a decision taken on version `seen`, naming what changed since."""
    told = "; ".join(c.words() for c in changes) or "(not shown)"
    error = ConflictError(
        f"incident {incident_id} is at version {current}, not {seen}: someone else acted on "
        f"it; reload and decide again. Since then: {told}",
        incident_id=incident_id,
        current_version=current,
    )
    error.plain = say("Since you opened the page: {told}. Check it, then decide again.", told=told)
    error.changes = [c.to_dict() for c in changes]
    return error
