"""Deadlines: when steps are due, holds that stop their clock, and recording misses.

Due moments are computed here, when a step opens or resumes, in elapsed or business time
(the site's calendar, `calendar.py`), and recorded in the event: apply and replay read the
moments and never ask a calendar.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from recovery.domain.checks import SYSTEM_ROLE
from recovery.domain.commands import Context, Hold, MissDeadlines, Resume
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.effects import DeadlineEffect, Effect, Notice
from recovery.domain.events import DeadlineMissed, Held, Resumed
from recovery.domain.playbook import StepDef
from recovery.domain.queries import allowed_actions, clock_stopped, open_steps
from recovery.domain.state import IncidentState, iso, parse_iso
from recovery.errors import CommandRejectedError, NotAllowedNowError, PermissionDeniedError

MAX_TIER = 5


def due_moments(steps: Iterable[StepDef], ctx: Context) -> tuple[dict[str, str], str | None]:
    """Each step's due moment from now, and the calendar's label when one was used."""
    now = ctx.now
    dues: dict[str, str] = {}
    used = False
    for step in steps:
        due = step.due
        if isinstance(due, timedelta):
            dues[step.id] = iso(now + due)
        else:
            dues[step.id] = iso(ctx.calendar.add(now, due))
            used = True
    return dues, ctx.calendar.label if used else None


def finished_late(state: IncidentState, step_id: str, due_at: str, now: str) -> bool:
    """Whether a step finishing now is late: a step held before its deadline was not."""
    hold = state.holds.get(step_id) if state.holds else None
    return (hold["since"] if hold is not None else now) > due_at


def decide_hold(
    compiled: CompiledPlaybook, state: IncidentState, command: Hold, ctx: Context
) -> Held:
    holds = state.holds or {}
    if command.step is not None:
        step = state.steps.get(command.step)
        if step is None:
            raise CommandRejectedError(
                f"no step {command.step!r} on this incident; steps: {', '.join(state.steps)}",
                field="step",
            )
        if step.status in compiled.kinds[step.kind].resolved:
            raise NotAllowedNowError(
                f"step {step.id!r} is {step.status}: there is no clock to stop",
                state=f"{step.id}:{step.status}",
                allowed=allowed_actions(compiled, state),
            )
        if step.id in holds:
            raise NotAllowedNowError(
                f"step {step.id!r} is already on hold: {holds[step.id]['reason']}",
                state=f"{step.id}:on_hold",
                allowed=allowed_actions(compiled, state),
            )
        return Held(steps=[step.id], reason=command.reason)
    steps = [s.id for s in open_steps(compiled, state) if s.id not in holds]
    if not steps:
        raise NotAllowedNowError(
            "no open step left to put on hold",
            state=state.status,
            allowed=allowed_actions(compiled, state),
        )
    return Held(steps=steps, reason=command.reason)


def decide_resume(
    compiled: CompiledPlaybook, state: IncidentState, command: Resume, ctx: Context
) -> Resumed:
    holds = state.holds or {}
    if command.step is not None:
        if command.step not in holds:
            raise NotAllowedNowError(
                f"step {command.step!r} is not on hold",
                state=state.status,
                allowed=allowed_actions(compiled, state),
            )
        resuming = [command.step]
    else:
        resuming = [s for s in state.steps if s in holds]
    if not resuming:
        raise NotAllowedNowError(
            "nothing is on hold", state=state.status, allowed=allowed_actions(compiled, state)
        )
    dues: dict[str, str] = {}
    used = False
    for step_id in resuming:
        step = state.steps[step_id]
        due = compiled.steps[step_id].due
        used = used or not isinstance(due, timedelta)
        moved = ctx.calendar.shifted_after_hold(
            parse_iso(step.due_at), parse_iso(holds[step_id]["since"]), ctx.now, due
        )
        dues[step_id] = iso(moved)
    return Resumed(steps=dues, calendar=ctx.calendar.label if used else None)


def decide_miss(
    compiled: CompiledPlaybook, state: IncidentState, command: MissDeadlines, ctx: Context
) -> DeadlineMissed:
    if ctx.actor.role != SYSTEM_ROLE:
        raise PermissionDeniedError("deadlines are recorded as missed by the engine's worker only")
    now = iso(ctx.now)
    missed = [
        s.id
        for s in open_steps(compiled, state)
        if s.required and not s.missed and s.due_at <= now and not clock_stopped(state, s)
    ]
    if not missed:
        raise NotAllowedNowError(
            "no open step has passed its deadline",
            state=state.status,
            allowed=allowed_actions(compiled, state),
        )
    policy = compiled.playbook.on_deadline_missed
    effects: list[Effect] = [
        Notice("notify", role, "deadline_missed", missed) for role in policy.notify
    ]
    if policy.effect:
        effects.append(DeadlineEffect(policy.effect, "deadline_missed", missed))
    return DeadlineMissed(
        steps=missed,
        tier=min(state.tier + policy.raise_tier_by, MAX_TIER),
        effects=effects,
    )
