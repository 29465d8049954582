"""Decide: the pure heart of the engine.

`decide` checks a command against an incident's state and its compiled playbook and returns
the one event it produces (or raises a `CommandRejectedError` having changed nothing), with
the state that event leads to (`apply.py`). Time and ids come in as arguments: both are
deterministic.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NamedTuple

import orjson

from recovery.domain.apply import EVENT_TYPES, apply
from recovery.domain.chain import canonical
from recovery.domain.commands import (
    Actor,
    AddNote,
    Close,
    CustomerProfile,
    Escalate,
    HandOff,
    IncidentCommand,
    MissDeadlines,
    OpenIncident,
    RecordContact,
    RecordPush,
    Release,
    Reopen,
    ReportCues,
    StepAction,
)
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.evidence import check_evidence
from recovery.domain.playbook import FINISHING_ACTIONS, CueRule, StepDef
from recovery.domain.queries import allowed_actions, open_steps, pending_for_close
from recovery.domain.state import EVENT_SCHEMA_VERSION, Event, IncidentState, StepState, iso
from recovery.domain.validation import kinds_of
from recovery.errors import (
    CommandRejectedError,
    InvalidEvidenceError,
    NotAllowedNowError,
    PermissionDeniedError,
)

READ_ONLY_ROLES = frozenset({"auditor"})
SYSTEM_ROLE = "system"
APPROVER_ROLES = frozenset({"manager"})
MAX_TIER = 5


class Context(NamedTuple):
    """Who acts, through which channel, at what moment (injected: no clock in the domain)."""

    actor: Actor
    channel: str
    now: datetime


def decide_open(
    compiled: CompiledPlaybook, incident_id: str, command: OpenIncident, ctx: Context
) -> tuple[IncidentState, Event]:
    _check_may_write(ctx.actor)
    playbook = compiled.playbook
    if command.incident_type not in playbook.incident_types:
        raise CommandRejectedError(
            f"playbook {playbook.id!r} does not handle incident type {command.incident_type!r}",
            field="incident_type",
        )
    tenure = _tenure_years(command.customer, ctx.now)
    fired = _fired_rules(
        playbook.cue_rules,
        set(),
        command.cues,
        tenure,
        command.customer.order_value,
        command.customer.segment,
    )
    steps = [*playbook.steps, *_tier_steps(compiled, fired)]
    data: dict[str, Any] = {
        "incident_type": command.incident_type,
        "site": command.site,
        "customer": as_stored(command.customer.model_dump(mode="json", exclude_none=True)),
        "cues": list(dict.fromkeys(command.cues)),
        "summary": command.summary,
        "owner": command.owner or ctx.actor.id,
        "tenure_years": tenure,
        "tier": max([1, *(r.raise_tier_to for r in fired)]),
        "cue_rules_fired": [r.id for r in fired],
        "steps": {s.id: iso(ctx.now + s.due) for s in steps},
        "effects": _notify_effects(fired),
    }
    event = _event(compiled, incident_id, 1, "open", data, ctx)
    return apply(compiled, None, event), event


def decide(
    compiled: CompiledPlaybook, state: IncidentState, command: IncidentCommand, ctx: Context
) -> tuple[IncidentState, Event]:
    """Check `command` and return the new state (`state` is updated in place) and its event."""
    _check_may_write(ctx.actor)
    if not compiled.incident.can(state.status, command.action):
        raise NotAllowedNowError(
            f"cannot {command.action.replace('_', ' ')} an incident that is {state.status}",
            state=state.status,
            allowed=allowed_actions(compiled, state),
        )
    data = _DECIDERS[type(command)](compiled, state, command, ctx)
    event = _event(compiled, state.id, state.version + 1, command.action, data, ctx)
    return apply(compiled, state, event), event


def as_stored(value: dict[str, Any]) -> dict[str, Any]:
    """`value` as replay reads it back: event data is stored as canonical JSON (keys
    sorted), and a state must come out the same, key order included, whether a command
    built it or a replay did (an audit compares the two byte for byte)."""
    stored: dict[str, Any] = orjson.loads(canonical(value))
    return stored


def _check_may_write(actor: Actor) -> None:
    if actor.role in READ_ONLY_ROLES:
        raise PermissionDeniedError(f"the {actor.role} role can read incidents but not change them")


def _event(
    compiled: CompiledPlaybook,
    incident_id: str,
    seq: int,
    action: str,
    data: dict[str, Any],
    ctx: Context,
) -> Event:
    return Event(
        incident_id=incident_id,
        seq=seq,
        type=EVENT_TYPES[action],
        schema_version=EVENT_SCHEMA_VERSION,
        playbook_id=compiled.playbook.id,
        playbook_version=compiled.playbook.version,
        actor=ctx.actor.id,
        actor_role=ctx.actor.role,
        channel=ctx.channel,
        recorded_at=iso(ctx.now),
        data=data,
    )


def _decide_step(
    compiled: CompiledPlaybook, state: IncidentState, command: StepAction, ctx: Context
) -> dict[str, Any]:
    step = state.steps.get(command.step)
    if step is None:
        raise CommandRejectedError(
            f"no step {command.step!r} on this incident; steps: {', '.join(state.steps)}",
            field="step",
        )
    lifecycle = compiled.kinds[step.kind]
    dest = lifecycle.fire(step.status, command.name)
    if dest is None:
        allowed = [f"{step.id}.{t}" for t in lifecycle.allowed[step.status]]
        raise NotAllowedNowError(
            f"cannot {command.name} step {step.id!r} while it is {step.status}; "
            f"allowed on this step now: {', '.join(allowed) or 'nothing'}",
            state=f"{step.id}:{step.status}",
            allowed=allowed_actions(compiled, state),
        )
    definition = compiled.steps[step.id]
    currency = compiled.playbook.currency
    effects: list[dict[str, Any]] = []
    data: dict[str, Any] = {
        "step": step.id,
        "action": command.name,
        "from": step.status,
        "to": dest,
    }
    actor = ctx.actor
    if command.name in kinds_of(compiled.playbook)[step.kind].system_actions:
        _check_system_action(step, command.name, actor, lifecycle.can(step.status, "request_send"))

    if command.name == "waive":
        if actor.role not in APPROVER_ROLES:
            raise PermissionDeniedError(
                f"only a manager may waive a step; the {actor.role} role may not", field="name"
            )
        data["reason"] = _required(command.reason, "reason", "waiving a step needs a reason")
    elif command.name == "request_approval":
        if command.amount is None:
            raise CommandRejectedError(
                "request_approval needs the amount to approve", field="amount"
            )
        data["amount"] = command.amount
        data["reason"] = command.reason
        effects.append({"kind": "notify", "role": "manager", "reason": "approval_requested"})
    elif command.name in ("grant_approval", "deny_approval"):
        if actor.role not in APPROVER_ROLES:
            raise PermissionDeniedError(
                f"only a manager may {command.name.replace('_', ' ')}; "
                f"the {actor.role} role may not",
                field="name",
            )
        requested = float((step.approval or {}).get("requested_amount", 0))
        if command.name == "grant_approval":
            limit = _limit(compiled, actor.role)
            if limit is not None and requested > limit:
                raise PermissionDeniedError(
                    f"{requested:g} {currency} is above the {actor.role} limit of "
                    f"{limit:g} {currency}",
                    field="amount",
                )
            data["amount"] = requested
        else:
            if not command.alternatives:
                raise CommandRejectedError(
                    "a decline must offer the customer alternatives, never a bare no",
                    field="alternatives",
                )
            data["alternatives"] = list(command.alternatives)
        data["reason"] = command.reason

    fields = compiled.evidence_for(step.id, command.name)
    evidence = check_evidence(fields, command.evidence, command.name)
    _check_voucher(definition, step, command.name, evidence)
    if evidence:
        data["evidence"] = as_stored(evidence)

    if command.name in FINISHING_ACTIONS:
        if step.kind == "compensation" or definition.approval == "always":
            _check_amount(compiled, step, definition, evidence, actor)
        data["late"] = iso(ctx.now) > step.due_at
        if definition.effect:
            # what the step recorded on its way (a letter's voucher code, recipient...) too
            recorded = {**step.evidence, **evidence}
            effects.append({"kind": definition.effect, "step": step.id, "evidence": recorded})
    if effects:
        data["effects"] = effects
    return data


def _check_system_action(step: StepState, action: str, actor: Actor, can_request: bool) -> None:
    if actor.role == SYSTEM_ROLE:
        return
    hint = (
        f"; queue the letter with {step.id}.request_send and the mail worker records "
        f"{action} once the mail server has accepted it"
        if can_request
        else ""
    )
    raise PermissionDeniedError(
        f"only the engine's own worker records {action} on step {step.id!r}{hint}", field="name"
    )


def _check_voucher(
    definition: StepDef, step: StepState, action: str, evidence: dict[str, Any]
) -> None:
    """A written step with a voucher needs its code when drafted; once issued it is kept."""
    voucher = definition.voucher
    code = evidence.get("voucher_code")
    if code is None:
        if voucher is not None and action == "draft":
            raise InvalidEvidenceError(
                f"step {step.id!r} issues a {voucher.kind.replace('_', ' ')} voucher: draft the "
                "letter through the letters service, which issues its code "
                "(recovery.letters.draft_letter, or `recovery letters draft`)",
                field="evidence.voucher_code",
            )
        return
    if voucher is None:
        raise InvalidEvidenceError(
            f"step {step.id!r} issues no voucher", field="evidence.voucher_code"
        )
    if not voucher.matches(code):
        raise InvalidEvidenceError(
            f"{code!r} is not a code of this voucher: {voucher.prefix}- then "
            f"{voucher.length} random symbols",
            field="evidence.voucher_code",
        )
    issued = step.evidence.get("voucher_code")
    if issued is not None and issued != code:
        raise InvalidEvidenceError(
            f"step {step.id!r} already issued voucher {issued}; a new draft keeps that code",
            field="evidence.voucher_code",
        )


def _check_amount(
    compiled: CompiledPlaybook,
    step: StepState,
    definition: StepDef,
    evidence: dict[str, Any],
    actor: Actor,
) -> None:
    amount = float(evidence.get(definition.amount_field, 0))
    currency = compiled.playbook.currency
    if step.status == "approved":
        granted = float((step.approval or {}).get("granted_amount", 0))
        if amount > granted:
            raise InvalidEvidenceError(
                f"{amount:g} {currency} is more than the {granted:g} {currency} approved",
                field=f"evidence.{definition.amount_field}",
            )
        return
    limit = _limit(compiled, actor.role)
    if definition.approval == "always" or limit is None or amount > limit:
        why = (
            "this step always needs a manager's approval"
            if definition.approval == "always"
            else f"the {actor.role} role has no payment limit in this playbook"
            if limit is None
            else f"{amount:g} {currency} is above the {actor.role} limit of {limit:g} {currency}"
        )
        raise NotAllowedNowError(
            f"{why}; request approval first ({step.id}.request_approval)",
            state=f"{step.id}:{step.status}",
            allowed=[f"{step.id}.request_approval", f"{step.id}.complete"],
        )


def _limit(compiled: CompiledPlaybook, role: str) -> float | None:
    limit = compiled.playbook.limits.get(role)
    return None if limit is None else limit.max_amount


def _required(value: str | None, field: str, message: str) -> str:
    if not value:
        raise CommandRejectedError(message, field=field)
    return value


def _decide_cues(
    compiled: CompiledPlaybook, state: IncidentState, command: ReportCues, ctx: Context
) -> dict[str, Any]:
    new_cues = [c for c in dict.fromkeys(command.cues) if c not in state.cues]
    order_value = command.order_value
    if order_value is None:
        order_value = state.customer.get("order_value")
    fired = _fired_rules(
        compiled.playbook.cue_rules,
        set(state.cue_rules_fired),
        [*state.cues, *new_cues],
        state.customer.get("tenure_years"),
        order_value,
        state.customer.get("segment"),
    )
    added = [s for s in _tier_steps(compiled, fired) if s.id not in state.steps]
    return {
        "cues": new_cues,
        "order_value": command.order_value,
        "tier": max([state.tier, *(r.raise_tier_to for r in fired)]),
        "cue_rules_fired": [r.id for r in fired],
        "steps": {s.id: iso(ctx.now + s.due) for s in added},
        "effects": _notify_effects(fired),
    }


def _decide_push(
    compiled: CompiledPlaybook, state: IncidentState, command: RecordPush, ctx: Context
) -> dict[str, Any]:
    if command.step is not None and command.step not in state.steps:
        raise CommandRejectedError(f"no step {command.step!r} on this incident", field="step")
    return {"asked_for": command.asked_for, "step": command.step}


def _decide_contact(
    compiled: CompiledPlaybook, state: IncidentState, command: RecordContact, ctx: Context
) -> dict[str, Any]:
    return command.model_dump()


def _decide_hand_off(
    compiled: CompiledPlaybook, state: IncidentState, command: HandOff, ctx: Context
) -> dict[str, Any]:
    if command.to == state.owner:
        raise CommandRejectedError(f"{command.to!r} already owns this incident", field="to")
    return {"from": state.owner, **command.model_dump()}


def _decide_note(
    compiled: CompiledPlaybook, state: IncidentState, command: AddNote, ctx: Context
) -> dict[str, Any]:
    return command.model_dump()


def _decide_escalate(
    compiled: CompiledPlaybook, state: IncidentState, command: Escalate, ctx: Context
) -> dict[str, Any]:
    return {
        "reason": command.reason,
        "tier": min(state.tier + 1, MAX_TIER),
        "effects": [{"kind": "escalation", "role": "manager", "reason": command.reason}],
    }


def _decide_miss(
    compiled: CompiledPlaybook, state: IncidentState, command: MissDeadlines, ctx: Context
) -> dict[str, Any]:
    if ctx.actor.role != SYSTEM_ROLE:
        raise PermissionDeniedError("deadlines are recorded as missed by the engine's worker only")
    now = iso(ctx.now)
    missed = [
        s.id for s in open_steps(compiled, state) if s.required and not s.missed and s.due_at <= now
    ]
    if not missed:
        raise NotAllowedNowError(
            "no open step has passed its deadline",
            state=state.status,
            allowed=allowed_actions(compiled, state),
        )
    policy = compiled.playbook.on_deadline_missed
    effects: list[dict[str, Any]] = [
        {"kind": "notify", "role": role, "reason": "deadline_missed", "steps": missed}
        for role in policy.notify
    ]
    if policy.effect:
        effects.append({"kind": policy.effect, "reason": "deadline_missed", "steps": missed})
    return {
        "steps": missed,
        "tier": min(state.tier + policy.raise_tier_by, MAX_TIER),
        "effects": effects,
    }


def _decide_release(
    compiled: CompiledPlaybook, state: IncidentState, command: Release, ctx: Context
) -> dict[str, Any]:
    return command.model_dump()


def _decide_close(
    compiled: CompiledPlaybook, state: IncidentState, command: Close, ctx: Context
) -> dict[str, Any]:
    pending = pending_for_close(compiled, state)
    if pending:
        raise NotAllowedNowError(
            f"cannot close while required steps are open: {', '.join(pending)}",
            state=state.status,
            allowed=allowed_actions(compiled, state),
        )
    return command.model_dump()


def _decide_reopen(
    compiled: CompiledPlaybook, state: IncidentState, command: Reopen, ctx: Context
) -> dict[str, Any]:
    return command.model_dump()


_DECIDERS: dict[type, Any] = {
    StepAction: _decide_step,
    ReportCues: _decide_cues,
    RecordPush: _decide_push,
    RecordContact: _decide_contact,
    HandOff: _decide_hand_off,
    AddNote: _decide_note,
    Escalate: _decide_escalate,
    MissDeadlines: _decide_miss,
    Release: _decide_release,
    Close: _decide_close,
    Reopen: _decide_reopen,
}


def _tenure_years(customer: CustomerProfile, now: datetime) -> float | None:
    """Whole calendar years since joining plus the year's fraction, so that a cue rule
    'at least 5 years' fires on the fifth anniversary and never before it."""
    since = customer.member_since
    if since is None:
        return None
    today = now.date()
    years = today.year - since.year - ((today.month, today.day) < (since.month, since.day))
    if years < 0:
        return 0.0
    start, end = _anniversary(since, years), _anniversary(since, years + 1)
    return min(round(years + (today - start).days / (end - start).days, 2), years + 0.99)


def _anniversary(since: date, years: int) -> date:
    try:
        return since.replace(year=since.year + years)
    except ValueError:  # 29 February in a year without one
        return date(since.year + years, 3, 1)


def _fired_rules(
    rules: list[CueRule],
    already: set[str],
    cues: list[str],
    tenure: float | None,
    order_value: float | None,
    segment: str | None,
) -> list[CueRule]:
    fired = []
    for rule in rules:
        if rule.id in already:
            continue
        when = rule.when
        if when.tenure_years_at_least is not None and (
            tenure is None or tenure < when.tenure_years_at_least
        ):
            continue
        if when.cues_any is not None and not set(when.cues_any) & set(cues):
            continue
        if when.order_value_at_least is not None and (
            order_value is None or order_value < when.order_value_at_least
        ):
            continue
        if when.segment_in is not None and segment not in when.segment_in:
            continue
        fired.append(rule)
    return fired


def _tier_steps(compiled: CompiledPlaybook, fired: list[CueRule]) -> list[StepDef]:
    ids = dict.fromkeys(step_id for rule in fired for step_id in rule.add_steps)
    return [compiled.steps[step_id] for step_id in ids]


def _notify_effects(fired: list[CueRule]) -> list[dict[str, Any]]:
    return [
        {"kind": "notify", "role": role, "reason": f"cue:{rule.id}"}
        for rule in fired
        for role in rule.notify
    ]
