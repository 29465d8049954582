"""Decide: the pure heart of the engine.

`decide` checks a command against an incident's state and its compiled playbook and returns
the one event it produces (or raises a `CommandRejectedError` having changed nothing), with
the state that event leads to (`apply.py`). Each command has its decider, which builds the
event's payload (`events.py`). Time and ids come in as arguments: both are deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from recovery.domain.apply import apply
from recovery.domain.chain import canonical
from recovery.domain.checks import (
    DECISIONS,
    check_amount,
    check_decision,
    check_may_write,
    check_system_action,
    check_voucher,
)
from recovery.domain.commands import (
    AddNote,
    Close,
    Context,
    Escalate,
    HandOff,
    Hold,
    IncidentCommand,
    MissDeadlines,
    OpenIncident,
    RecordContact,
    RecordPush,
    Release,
    Reopen,
    ReportCues,
    Resume,
    StepAction,
)
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.cues import fired_rules, notify_effects, rules_at_open, tier_steps
from recovery.domain.customers import CustomerHistory
from recovery.domain.deadlines import (
    MAX_TIER,
    decide_hold,
    decide_miss,
    decide_resume,
    due_moments,
    finished_late,
)
from recovery.domain.effects import Effect, Notice, StepEffect
from recovery.domain.events import (
    Closed,
    ContactRecorded,
    CuesReported,
    Escalated,
    HandedOff,
    NoteAdded,
    Opened,
    Payload,
    PushRecorded,
    Released,
    Reopened,
    StepActed,
)
from recovery.domain.evidence import check_evidence
from recovery.domain.playbook import FINISHING_ACTIONS
from recovery.domain.queries import (
    allowed_actions,
    allowed_for_role,
    pending_for_close,
)
from recovery.domain.state import EVENT_SCHEMA_VERSION, Event, IncidentState, iso
from recovery.domain.updates import SERVICE_DECIDERS, told_customer
from recovery.domain.validation import kinds_of
from recovery.domain.words import (
    INCIDENT_ACTIONS,
    STEP_ACTIONS,
    allowed_words,
    say,
    say_list,
    status_words,
    step_title,
    words,
)
from recovery.errors import CommandRejectedError, NotAllowedNowError


def decide_open(
    compiled: CompiledPlaybook,
    incident_id: str,
    command: OpenIncident,
    ctx: Context,
    history: CustomerHistory | None = None,
) -> tuple[IncidentState, Event]:
    check_may_write(ctx.actor)
    playbook = compiled.playbook
    if command.incident_type not in playbook.incident_types:
        raise CommandRejectedError(
            f"playbook {playbook.id!r} does not handle incident type {command.incident_type!r}",
            field="incident_type",
        )
    fired, tenure = rules_at_open(playbook.cue_rules, command, ctx.now, history)
    dues, calendar = due_moments([*playbook.steps, *tier_steps(compiled, fired)], ctx)
    payload = Opened(
        incident_type=command.incident_type,
        site=command.site,
        customer=as_stored(command.customer.model_dump(mode="json", exclude_none=True)),
        cues=list(dict.fromkeys(command.cues)),
        summary=command.summary,
        owner=command.owner or ctx.actor.id,
        tenure_years=tenure,
        tier=max([1, *(r.raise_tier_to for r in fired)]),
        cue_rules_fired=[r.id for r in fired],
        steps=dues,
        effects=notify_effects(fired),
        calendar=calendar,
        customer_summary=command.customer_summary,
        external_ref=command.external_ref,
    )
    event = _event(compiled, incident_id, 1, payload, ctx)
    return apply(compiled, None, event), event


# An erased incident keeps only its record: the deadline worker may still mark it missed.
_AFTER_ERASURE = frozenset({"miss_deadlines"})


def decide(
    compiled: CompiledPlaybook, state: IncidentState, command: IncidentCommand, ctx: Context
) -> tuple[IncidentState, Event]:
    """Check `command` and return the new state (`state` is updated in place) and its event."""
    check_may_write(ctx.actor)
    if state.erased_at is not None and command.action not in _AFTER_ERASURE:
        raise NotAllowedNowError(
            f"incident {state.id}: its personal data was erased on {state.erased_at[:10]}; "
            "it takes no more actions",
            state=state.status,
            allowed=[],
            plain=f"This incident was erased on {state.erased_at[:10]}: it takes no more actions.",
        )
    if not compiled.incident.can(state.status, command.action):
        allowed = allowed_for_role(allowed_actions(compiled, state), ctx.actor.role)
        raise NotAllowedNowError(
            f"cannot {command.action.replace('_', ' ')} an incident that is {state.status}",
            state=state.status,
            allowed=allowed,
            plain=say(
                "This incident is {status}, so you cannot {action}. You can: {allowed}.",
                status=status_words(state.status),
                action=INCIDENT_ACTIONS.get(command.action, words(command.action)),
                allowed=allowed_words(compiled, allowed),
            ),
        )
    payload = told_customer(
        compiled, state, _DECIDERS[type(command)](compiled, state, command, ctx)
    )
    event = _event(compiled, state.id, state.version + 1, payload, ctx)
    return apply(compiled, state, event), event


def as_stored(value: dict[str, Any]) -> dict[str, Any]:
    """`value` as replay reads it back: event data is stored as canonical JSON (keys
    sorted), and a state must come out the same, key order included, whether a command
    built it or a replay did (an audit compares the two byte for byte)."""
    stored: dict[str, Any] = orjson.loads(canonical(value))
    return stored


def _event(
    compiled: CompiledPlaybook,
    incident_id: str,
    seq: int,
    payload: Payload,
    ctx: Context,
) -> Event:
    return Event(
        incident_id=incident_id,
        seq=seq,
        type=payload.type,
        schema_version=EVENT_SCHEMA_VERSION,
        playbook_id=compiled.playbook.id,
        playbook_version=compiled.playbook.version,
        actor=ctx.actor.id,
        actor_role=ctx.actor.role,
        channel=ctx.channel,
        recorded_at=iso(ctx.now),
        data=payload.as_data(),
    )


def _decide_step(
    compiled: CompiledPlaybook, state: IncidentState, command: StepAction, ctx: Context
) -> StepActed:
    step = state.steps.get(command.step)
    if step is None:
        raise CommandRejectedError(
            f"no step {command.step!r} on this incident; steps: {', '.join(state.steps)}",
            field="step",
            plain=say("This incident has no step {step}.", step=repr(command.step)),
        )
    lifecycle = compiled.kinds[step.kind]
    dest = lifecycle.fire(step.status, command.name)
    if dest is None:
        allowed = [f"{step.id}.{t}" for t in lifecycle.allowed[step.status]]
        here = allowed_for_role(allowed, ctx.actor.role)
        raise NotAllowedNowError(
            f"cannot {command.name} step {step.id!r} while it is {step.status}; "
            f"allowed on this step now: {', '.join(allowed) or 'nothing'}",
            state=f"{step.id}:{step.status}",
            allowed=allowed_for_role(allowed_actions(compiled, state), ctx.actor.role),
            plain=say(
                "{step} is {status}, so you cannot {action} now. On this step you can: {allowed}.",
                step=step_title(compiled, step.id),
                status=status_words(step.status),
                action=STEP_ACTIONS.get(command.name, words(command.name)),
                allowed=allowed_words(compiled, here),
            )
            if here
            else say(
                "{step} is {status}, so you cannot {action} now. Nothing more can be done on "
                "this step by you now.",
                step=step_title(compiled, step.id),
                status=status_words(step.status),
                action=STEP_ACTIONS.get(command.name, words(command.name)),
            ),
        )
    definition = compiled.steps[step.id]
    effects: list[Effect] = []
    amount: float | None = None
    alternatives: list[str] = []
    reason: str | None = None
    late: bool | None = None
    actor = ctx.actor
    if command.name in kinds_of(compiled.playbook)[step.kind].system_actions:
        check_system_action(step, command.name, actor, lifecycle.can(step.status, "request_send"))

    if command.name in DECISIONS:
        amount, alternatives, reason = check_decision(compiled, step, command, actor)
        if command.name == "request_approval":
            effects.append(Notice("notify", "manager", "approval_requested"))

    fields = compiled.evidence_for(step.id, command.name)
    evidence = check_evidence(fields, command.evidence, command.name)
    check_voucher(definition, step, command.name, evidence)

    if command.name in FINISHING_ACTIONS:
        if step.kind == "compensation" or definition.approval == "always":
            check_amount(compiled, step, definition, evidence, actor)
        late = finished_late(state, step.id, step.due_at, iso(ctx.now))
        if definition.effect:
            # what the step recorded on its way (a letter's voucher code, recipient...) too
            recorded = {**step.evidence, **evidence}
            effects.append(StepEffect(definition.effect, step.id, recorded))
    return StepActed(
        step=step.id,
        action=command.name,
        from_=step.status,
        to=dest,
        amount=amount,
        alternatives=alternatives,
        reason=reason,
        evidence=as_stored(evidence) if evidence else {},
        late=late,
        effects=effects,
    )


def _decide_cues(
    compiled: CompiledPlaybook, state: IncidentState, command: ReportCues, ctx: Context
) -> CuesReported:
    new_cues = [c for c in dict.fromkeys(command.cues) if c not in state.cues]
    order_value = command.order_value
    if order_value is None:
        order_value = state.customer.get("order_value")
    fired = fired_rules(
        compiled.playbook.cue_rules,
        set(state.cue_rules_fired),
        [*state.cues, *new_cues],
        state.customer.get("tenure_years"),
        order_value,
        state.customer.get("segment"),
    )
    dues, calendar = due_moments(
        [s for s in tier_steps(compiled, fired) if s.id not in state.steps], ctx
    )
    return CuesReported(
        cues=new_cues,
        order_value=command.order_value,
        tier=max([state.tier, *(r.raise_tier_to for r in fired)]),
        cue_rules_fired=[r.id for r in fired],
        steps=dues,
        effects=notify_effects(fired),
        calendar=calendar,
    )


def _decide_push(
    compiled: CompiledPlaybook, state: IncidentState, command: RecordPush, ctx: Context
) -> PushRecorded:
    if command.step is not None and command.step not in state.steps:
        raise CommandRejectedError(f"no step {command.step!r} on this incident", field="step")
    return PushRecorded(asked_for=command.asked_for, step=command.step)


def _decide_contact(
    compiled: CompiledPlaybook, state: IncidentState, command: RecordContact, ctx: Context
) -> ContactRecorded:
    return ContactRecorded(
        channel=command.channel, direction=command.direction, summary=command.summary
    )


def _decide_hand_off(
    compiled: CompiledPlaybook, state: IncidentState, command: HandOff, ctx: Context
) -> HandedOff:
    if command.to == state.owner:
        raise CommandRejectedError(f"{command.to!r} already owns this incident", field="to")
    return HandedOff(
        from_=state.owner, to=command.to, to_role=command.to_role, context=command.context
    )


def _decide_note(
    compiled: CompiledPlaybook, state: IncidentState, command: AddNote, ctx: Context
) -> NoteAdded:
    return NoteAdded(text=command.text)


def _decide_escalate(
    compiled: CompiledPlaybook, state: IncidentState, command: Escalate, ctx: Context
) -> Escalated:
    return Escalated(
        reason=command.reason,
        tier=min(state.tier + 1, MAX_TIER),
        effects=[Notice("escalation", "manager", command.reason)],
    )


def _decide_release(
    compiled: CompiledPlaybook, state: IncidentState, command: Release, ctx: Context
) -> Released:
    return Released(reason=command.reason, referral=command.referral)


def _decide_close(
    compiled: CompiledPlaybook, state: IncidentState, command: Close, ctx: Context
) -> Closed:
    pending = pending_for_close(compiled, state)
    if pending:
        raise NotAllowedNowError(
            f"cannot close while required steps are open: {', '.join(pending)}",
            state=state.status,
            allowed=allowed_for_role(allowed_actions(compiled, state), ctx.actor.role),
            plain=say(
                "The incident cannot be closed while these required steps are still to do "
                "or waive: {steps}.",
                steps=say_list(step_title(compiled, s) for s in pending),
            ),
        )
    return Closed(summary=command.summary)


def _decide_reopen(
    compiled: CompiledPlaybook, state: IncidentState, command: Reopen, ctx: Context
) -> Reopened:
    return Reopened(reason=command.reason)


_DECIDERS: dict[type, Callable[[CompiledPlaybook, IncidentState, Any, Context], Payload]] = {
    StepAction: _decide_step,
    ReportCues: _decide_cues,
    RecordPush: _decide_push,
    RecordContact: _decide_contact,
    HandOff: _decide_hand_off,
    AddNote: _decide_note,
    Escalate: _decide_escalate,
    MissDeadlines: decide_miss,
    Hold: decide_hold,
    Resume: decide_resume,
    Release: _decide_release,
    Close: _decide_close,
    Reopen: _decide_reopen,
    **SERVICE_DECIDERS,
}
