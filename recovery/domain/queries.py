"""Questions about an incident's state: what may be done now, what blocks closing, by when.

Pure functions of a state and its compiled playbook, used by the deciders, the views and
the deadline sweep alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recovery.domain.checks import APPROVER_ROLES, MANAGER_ACTIONS, READ_ONLY_ROLES
from recovery.domain.compiler import (
    ACTIVE_STATES,
    SERVICE_ACTIONS,
    SYSTEM_ACTIONS,
    CompiledPlaybook,
)
from recovery.domain.state import IncidentState, StepState
from recovery.domain.validation import kinds_of


def resolved_states(compiled: CompiledPlaybook) -> dict[str, frozenset[str]]:
    return {name: life.resolved for name, life in compiled.kinds.items()}


def pending_for_close(compiled: CompiledPlaybook, state: IncidentState) -> list[str]:
    """Steps that must still be done or waived before the incident may close."""
    required = compiled.playbook.close_requires
    pending = []
    for step in state.steps.values():
        needed = step.id in required if required is not None else step.required
        if needed and step.status not in compiled.kinds[step.kind].resolved:
            pending.append(step.id)
    return pending


def allowed_actions(compiled: CompiledPlaybook, state: IncidentState) -> list[str]:
    """What can be done now: incident actions, and `step.action` for each step."""
    key = (state.status, *(s.status for s in state.steps.values()), *state.steps)
    cached = compiled.allowed_cache.get(key)
    if cached is None:
        cached = _allowed_actions(compiled, state)
        if len(compiled.allowed_cache) < 4096:
            compiled.allowed_cache[key] = cached
    if state.holds and "hold" in cached:
        return [*cached, "resume"]  # offered only while something is held
    return list(cached)


def allowed_for_role(allowed: Sequence[str], role: str) -> list[str]:
    """Of `allowed` (as `allowed_actions` gives them), what someone in `role` may take:
    nothing for a read-only role, and no waiver or approval decision but a manager's."""
    if role in READ_ONLY_ROLES:
        return []
    if role in APPROVER_ROLES:
        return list(allowed)
    return [a for a in allowed if a.partition(".")[2] not in MANAGER_ACTIONS]


def _allowed_actions(compiled: CompiledPlaybook, state: IncidentState) -> tuple[str, ...]:
    incident_actions = compiled.incident.allowed[state.status]
    hidden = ("act_on_step", "resume", *SYSTEM_ACTIONS, *SERVICE_ACTIONS)  # resume: only while held
    out = [a for a in incident_actions if a not in hidden]
    if "close" in out and pending_for_close(compiled, state):
        out.remove("close")
    if "act_on_step" in incident_actions:
        kinds = kinds_of(compiled.playbook)
        for step in state.steps.values():
            system = kinds[step.kind].system_actions
            for trigger in compiled.kinds[step.kind].allowed[step.status]:
                if trigger not in system:
                    out.append(f"{step.id}.{trigger}")
    return tuple(out)


def open_steps(compiled: CompiledPlaybook, state: IncidentState) -> list[StepState]:
    """Steps not yet done or waived (their kind's resolved states), in playbook order."""
    return [s for s in state.steps.values() if s.status not in compiled.kinds[s.kind].resolved]


def eta(compiled: CompiledPlaybook, state: IncidentState) -> str | None:
    """When everything still open is due: the honest answer to 'by when?'."""
    open_dues = [s.due_at for s in open_steps(compiled, state)]
    return max(open_dues) if open_dues else None


def clock_stopped(state: IncidentState, step: StepState) -> bool:
    """The step is on hold since before its deadline: it cannot be missed while held. A hold
    placed after the deadline passed stops nothing (it cannot hide a missed deadline)."""
    hold = state.holds.get(step.id) if state.holds else None
    return hold is not None and hold["since"] < step.due_at


def next_due(compiled: CompiledPlaybook, state: IncidentState) -> str | None:
    """The next promise that can still be missed: the nearest due time of a required open
    step not yet recorded as missed, its clock running (the deadline sweep's key; None
    once ended)."""
    if state.status not in ACTIVE_STATES:
        return None
    kinds = compiled.kinds
    dues = [
        s.due_at
        for s in state.steps.values()
        if s.required and not s.missed and s.status not in kinds[s.kind].resolved
    ]
    if state.holds:
        dues = [
            s.due_at
            for s in state.steps.values()
            if s.required
            and not s.missed
            and s.status not in kinds[s.kind].resolved
            and not clock_stopped(state, s)
        ]
    return min(dues) if dues else None


@dataclass(frozen=True)
class NextStep:
    """The open step to act on first, and why it comes first."""

    step: StepState
    overdue: bool
    """its deadline has passed and its clock is running"""
    decision: bool
    """it awaits a decision the viewer's role may give (an approval, for a manager)"""
    held: bool
    """on hold (waiting for the customer or someone else): last, whatever its deadline"""
    title: str = ""
    """the step's title as the playbook names it (with its translations)"""
    owner: str = ""
    """the name of the role or team that owns it (with the playbook's translations)"""


def next_step(
    compiled: CompiledPlaybook, state: IncidentState, now_iso: str, role: str | None = None
) -> NextStep | None:
    """The most urgent open step for someone in `role` (for anyone when none is theirs, or
    `role` is None): overdue first (most overdue first), then those awaiting the role's
    decision, then the earliest due; held steps last. None once the incident has ended."""
    if state.status not in ACTIVE_STATES:
        return None
    holds = state.holds or {}
    candidates = [
        NextStep(
            step=s,
            overdue=s.due_at <= now_iso and not clock_stopped(state, s),
            decision=role in APPROVER_ROLES and s.status == "awaiting_approval",
            held=s.id in holds,
            title=compiled.said.step_title(s.id),
            owner=compiled.said.role(s.owner),
        )
        for s in open_steps(compiled, state)
    ]
    if role is not None and role not in READ_ONLY_ROLES:
        mine = [c for c in candidates if c.decision or c.step.owner == role]
        candidates = mine or candidates
    order = {step_id: i for i, step_id in enumerate(state.steps)}
    return min(
        candidates,
        key=lambda c: (c.held, not c.overdue, not c.decision, c.step.due_at, order[c.step.id]),
        default=None,
    )
