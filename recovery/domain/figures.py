"""What reports and queues need of one incident, as plain numbers: stored in columns of the
incident's row with every event (so reports aggregate in the database instead of reading
every state), and computed the same way when a report is rebuilt from the log.

The recovery score of one incident starts at 100 and loses, for every time the customer had
to push for something the bundle should have given unasked, 15 points; for every handoff,
5; for every required step whose deadline passed while it was open, 10; for every other
step finished late, 5. It never goes below 0.
"""

from __future__ import annotations

from typing import NamedTuple

from recovery.domain.compiler import ACTIVE_STATES, CompiledPlaybook
from recovery.domain.state import IncidentState, parse_iso

PUSH_PENALTY = 15
HANDOFF_PENALTY = 5
MISSED_PENALTY = 10
LATE_PENALTY = 5
AWAITING = "awaiting_approval"


class Figures(NamedTuple):
    """One incident's figures (the columns of the same names)."""

    score: int
    steps_due: int
    """required steps resolved or missed: those whose deadline could be kept or not"""
    steps_kept: int
    """of those, resolved in time"""
    steps_missed: int
    apology_minutes: float | None
    """from opening to the (first) apology step resolved"""
    recovery_hours: float | None
    """from opening to closing, once closed"""
    held_seconds: float
    on_hold: int
    awaiting_approval: int
    """steps awaiting a manager's approval (0 once the incident is not active)"""


def recovery_score(state: IncidentState) -> int:
    missed = sum(1 for s in state.steps.values() if s.missed)
    late = sum(1 for s in state.steps.values() if s.late and not s.missed)
    score = (
        100
        - PUSH_PENALTY * state.pushes
        - HANDOFF_PENALTY * state.handoffs
        - MISSED_PENALTY * missed
        - LATE_PENALTY * late
    )
    return max(score, 0)


def minutes_between(start: str, end: str) -> float:
    return (parse_iso(end) - parse_iso(start)).total_seconds() / 60


def figures(compiled: CompiledPlaybook, state: IncidentState) -> Figures:
    """Computed on every command: one pass over the steps."""
    kept = due = missed = late = awaiting = 0
    apology: float | None = None
    kinds, steps = compiled.kinds, compiled.steps
    for step in state.steps.values():
        resolved = step.status in kinds[step.kind].resolved
        if step.missed:
            missed += 1
        elif step.late:
            late += 1
        if step.status == AWAITING:
            awaiting += 1
        if step.required and (resolved or step.missed):
            due += 1
            if resolved and not step.late and not step.missed:
                kept += 1
        if resolved and step.resolved_at and steps[step.id].apology:
            minutes = minutes_between(state.opened_at, step.resolved_at)
            apology = minutes if apology is None else min(apology, minutes)
    recovery = None
    if state.status == "closed" and state.ended_at:
        recovery = minutes_between(state.opened_at, state.ended_at) / 60
    penalties = (
        PUSH_PENALTY * state.pushes
        + HANDOFF_PENALTY * state.handoffs
        + MISSED_PENALTY * missed
        + LATE_PENALTY * late
    )
    return Figures(
        score=max(100 - penalties, 0),
        steps_due=due,
        steps_kept=kept,
        steps_missed=missed,
        apology_minutes=apology,
        recovery_hours=recovery,
        held_seconds=state.held_seconds,
        on_hold=1 if state.holds else 0,
        awaiting_approval=awaiting if state.status in ACTIVE_STATES else 0,
    )
