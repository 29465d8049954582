"""What reports and queues need of one incident, as plain numbers: stored in columns of the
incident's row with every event (so reports aggregate in the database instead of reading
every state), and computed the same way when a report is rebuilt from the log.

The recovery score of one incident starts at 100 and loses, for every time the customer had
to push for something the bundle should have given unasked, 15 points; for every handoff,
5; for every required step whose deadline passed while it was open, 10; for every other
step finished late, 5. It never goes below 0.

Compensation spent is the amount of every compensation step done (paid, credited, given:
not one offered, awaiting approval or waived), in the playbook's currency, in its minor
units (cents) so sums are exact. Approval turnaround is each decided request's wait from
request to decision; an incident keeps the mean of its requests' waits.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from babel.numbers import get_currency_precision

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
    compensation_spent: int = 0
    """compensation steps done: their amounts' sum in the currency's minor units"""
    compensation_currency: str = ""
    """the playbook's currency when compensation was spent, else "" """
    approvals_decided: int = 0
    """approval requests granted or declined"""
    approval_seconds: float | None = None
    """their mean wait from request to decision (None: none decided)"""


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


def minor_units(amount: float, currency: str) -> int:
    """`amount` in the currency's minor units (EUR 12.5 -> 1250, JPY 300 -> 300)."""
    return round(amount * _scale(currency))


def from_minor_units(amount: int, currency: str) -> float:
    return amount / _scale(currency)


def _scale(currency: str) -> int:
    digits: int = get_currency_precision(currency)
    return int(10**digits)


def approval_waits(approval: dict[str, Any] | None) -> tuple[int, float]:
    """How many of a step's approval requests were decided, and their waits' sum (s)."""
    if not approval:
        return 0, 0.0
    decided = approval.get("earlier_decisions", 0)
    seconds = approval.get("earlier_seconds", 0.0)
    if "decided_at" in approval and "requested_at" in approval:
        decided += 1
        waited = parse_iso(approval["decided_at"]) - parse_iso(approval["requested_at"])
        seconds += waited.total_seconds()
    return decided, seconds


def compensation_amount(step_amount: Any) -> float | None:
    if isinstance(step_amount, int | float) and not isinstance(step_amount, bool):
        return float(step_amount)
    return None


def figures(compiled: CompiledPlaybook, state: IncidentState) -> Figures:
    """Computed on every command: one pass over the steps."""
    kept = due = missed = late = awaiting = spent = decided = 0
    waited = 0.0
    currency = compiled.playbook.currency
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
        if step.approval:
            n, seconds = approval_waits(step.approval)
            decided, waited = decided + n, waited + seconds
        if step.kind == "compensation" and step.status == "done":
            definition = steps.get(step.id)
            amount = (
                None
                if definition is None
                else compensation_amount(step.evidence.get(definition.amount_field))
            )
            spent += 0 if amount is None else minor_units(amount, currency)
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
        compensation_spent=spent,
        compensation_currency=currency if spent else "",
        approvals_decided=decided,
        approval_seconds=waited / decided if decided else None,
    )
