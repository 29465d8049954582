"""Apply: fold an event into an incident's state through the compiled machines, so that
replaying a log rebuilds the state exactly (what a command decided, a replay reproduces).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.events import (
    TRIGGER_OF_EVENT,
    CuesReported,
    DeadlineMissed,
    Escalated,
    HandedOff,
    Held,
    Opened,
    PushRecorded,
    Released,
    Resumed,
    StepActed,
)
from recovery.domain.state import Event, IncidentState, StepState, parse_iso
from recovery.domain.upcast import upcast
from recovery.errors import IntegrityError

# Replay reads event data as dicts: building a payload object per event would cost more
# than applying it (measured: ~3 µs an event against ~2 µs for parsing and applying), and
# an audit replays millions. The keys it reads are named by the payload classes
# (`events.py`, the one definition of each event's fields): renaming a field there fails
# here on import rather than silently reading nothing.
STEP, ACTION, TO, AMOUNT, ALTERNATIVES, EVIDENCE, LATE = StepActed.data_keys(
    "step", "action", "to", "amount", "alternatives", "evidence", "late"
)
INCIDENT_TYPE, SITE, CUSTOMER, CUES, SUMMARY, OWNER, TENURE_YEARS = Opened.data_keys(
    "incident_type", "site", "customer", "cues", "summary", "owner", "tenure_years"
)
(CUSTOMER_SUMMARY,) = Opened.data_keys("customer_summary")
(EXTERNAL_REF,) = Opened.data_keys("external_ref")
TIER, RULES_FIRED, DUES = Opened.data_keys("tier", "cue_rules_fired", "steps")  # as CuesReported
NEW_CUES, ORDER_VALUE = CuesReported.data_keys("cues", "order_value")
(PUSHED_STEP,) = PushRecorded.data_keys("step")
(NEW_OWNER,) = HandedOff.data_keys("to")
(ESCALATED_TO,) = Escalated.data_keys("tier")
HELD_STEPS, HOLD_REASON = Held.data_keys("steps", "reason")
(RESUMED_DUES,) = Resumed.data_keys("steps")
MISSED_STEPS, MISSED_TIER = DeadlineMissed.data_keys("steps", "tier")
REASON, REFERRAL = Released.data_keys("reason", "referral")


def apply(
    compiled: CompiledPlaybook,
    state: IncidentState | None,
    event: Event,
    *,
    owned: bool = False,
) -> IncidentState:
    """Fold one event into the state (in place), through the compiled machines.

    A step is copied before it changes, since a clone shares its steps with the original
    (`IncidentState.clone`); `owned` says nothing else refers to them (a replay building
    its own state), so they are changed in place."""
    if event.type == "opened":
        return _apply_opened(compiled, event)
    return apply_change(
        compiled,
        state,
        event.incident_id,
        event.seq,
        event.type,
        event.actor,
        event.recorded_at,
        event.data,
        owned=owned,
    )


def apply_change(
    compiled: CompiledPlaybook,
    state: IncidentState | None,
    incident_id: str,
    seq: int,
    event_type: str,
    actor: str,
    at: str,
    data: dict[str, Any],
    *,
    owned: bool = False,
) -> IncidentState:
    """`apply` for every event after "opened", from the event's fields: an audit replaying
    a million events need not build an `Event` for each."""
    if state is None or seq != state.version + 1:
        raise IntegrityError(
            f"event {seq} does not follow version {state.version if state else 0}",
            incident_id=incident_id,
            seq=seq,
        )
    trigger = TRIGGER_OF_EVENT.get(event_type)
    status = None
    if trigger is not None:
        # the machine's remembered answer, else ask it (`Lifecycle.fire`)
        status = compiled.incident.answers.get((state.status, trigger))
        if status is None:
            status = compiled.incident.fire(state.status, trigger)
    if status is None or event_type == "opened":
        raise IntegrityError(
            f"event {seq} ({event_type}) is not allowed from {state.status}",
            incident_id=incident_id,
            seq=seq,
        )
    state.status = status
    state.version = seq
    state.updated_at = at

    if event_type == "step_action":
        _change_step(compiled, state, data, actor, at, owned)
    elif event_type == "cues_reported":
        state.cues.extend(data[NEW_CUES])
        if data.get(ORDER_VALUE) is not None:
            state.customer["order_value"] = data[ORDER_VALUE]
        _add_tier_steps(compiled, state, data)
    elif event_type == "push_recorded":
        state.pushes += 1
        if data.get(PUSHED_STEP):
            _changing_step(state, data[PUSHED_STEP], owned).pushed += 1
    elif event_type == "contact_recorded":
        state.contacts += 1
    elif event_type == "handed_off":
        state.handoffs += 1
        state.owner = data[NEW_OWNER]
    elif event_type == "note_added":
        state.notes += 1
    elif event_type == "escalated":
        state.escalations += 1
        state.tier = data[ESCALATED_TO]
    elif event_type == "deadline_missed":
        state.escalations += 1
        state.tier = data[MISSED_TIER]
        for step_id in data[MISSED_STEPS]:
            _changing_step(state, step_id, owned).missed = True
    elif event_type == "released":
        state.release = {"reason": data[REASON], "referral": data[REFERRAL]}
        state.ended_at = at
        _end_holds(state, state.holds or (), at)
    elif event_type == "closed":
        state.ended_at = at
        _end_holds(state, state.holds or (), at)
    elif event_type == "held":
        hold = {"since": at, "reason": data[HOLD_REASON]}
        state.holds = {**(state.holds or {}), **{s: hold for s in data[HELD_STEPS]}}
        if state.held_since is None:
            state.held_since = at
    elif event_type == "resumed":
        for step_id, due_at in data[RESUMED_DUES].items():
            _changing_step(state, step_id, owned).due_at = due_at
        _end_holds(state, data[RESUMED_DUES], at)
    elif event_type == "erased":
        state.erased_at = at
    elif event_type == "reopened":
        state.ended_at = None
        state.release = None
    return state


def _changing_step(state: IncidentState, step_id: str, owned: bool) -> StepState:
    """The step to change: in place when the replay owns the state, else a copy."""
    return state.steps[step_id] if owned else _own_step(state, step_id)


def _change_step(
    compiled: CompiledPlaybook,
    state: IncidentState,
    data: dict[str, Any],
    actor: str,
    at: str,
    owned: bool,
) -> None:
    step = _changing_step(state, data[STEP], owned)
    lifecycle = compiled.kinds[step.kind]
    action = data[ACTION]
    dest = lifecycle.fire(step.status, action)
    if dest is None or dest != data[TO]:
        raise IntegrityError(
            f"event {state.version}: {action} is not allowed on step {step.id} "
            f"while it is {step.status}",
            incident_id=state.id,
            seq=state.version,
        )
    step.status = dest
    if data.get(EVIDENCE):
        step.evidence = {**step.evidence, **data[EVIDENCE]}
    if action == "request_approval":
        step.approval = {
            "status": "requested",
            "requested_amount": data[AMOUNT],
            "requested_by": actor,
            "requested_at": at,
            **_earlier_waits(step.approval),
        }
    elif action == "grant_approval":
        step.approval = {
            **(step.approval or {}),
            "status": "granted",
            "granted_amount": data[AMOUNT],
            "decided_by": actor,
            "decided_at": at,
        }
    elif action == "deny_approval":
        step.approval = {
            **(step.approval or {}),
            "status": "denied",
            "alternatives": data[ALTERNATIVES],
            "decided_by": actor,
            "decided_at": at,
        }
    if dest in lifecycle.resolved:
        step.resolved_at = at
        step.late = bool(data.get(LATE, False))
        if state.holds and step.id in state.holds:
            _end_holds(state, (step.id,), at)


def _earlier_waits(approval: dict[str, Any] | None) -> dict[str, Any]:
    """A step asked again after a decision keeps the earlier requests' waits (seconds from
    request to decision, and how many), so reports count every decided request."""
    if not approval or "decided_at" not in approval or "requested_at" not in approval:
        return {}
    waited = parse_iso(approval["decided_at"]) - parse_iso(approval["requested_at"])
    return {
        "earlier_decisions": approval.get("earlier_decisions", 0) + 1,
        "earlier_seconds": approval.get("earlier_seconds", 0.0) + waited.total_seconds(),
    }


def _end_holds(state: IncidentState, step_ids: Iterable[str], at: str) -> None:
    """Take these steps off hold; once nothing is held, count the time something was."""
    ended = set(step_ids)
    if not ended:
        return
    holds = {s: hold for s, hold in (state.holds or {}).items() if s not in ended}
    state.holds = holds or None
    if not holds and state.held_since is not None:
        held = parse_iso(at) - parse_iso(state.held_since)
        state.held_seconds = state.held_seconds + held.total_seconds()
        state.held_since = None


def _own_step(state: IncidentState, step_id: str) -> StepState:
    """The step, copied into `state` before it is changed: a state's clone shares its
    steps with the original (see `IncidentState.clone`)."""
    step = state.steps[step_id] = state.steps[step_id].copy()
    return step


def _apply_opened(compiled: CompiledPlaybook, event: Event) -> IncidentState:
    data = event.data
    if event.seq != 1:
        raise IntegrityError(
            "an incident must open with event 1", incident_id=event.incident_id, seq=event.seq
        )
    customer = dict(data[CUSTOMER])
    if data.get(TENURE_YEARS) is not None:
        customer["tenure_years"] = data[TENURE_YEARS]
    state = IncidentState(
        id=event.incident_id,
        playbook_id=event.playbook_id,
        playbook_version=event.playbook_version,
        incident_type=data[INCIDENT_TYPE],
        site=data[SITE],
        status=compiled.incident.initial,
        tier=1,
        owner=data[OWNER],
        customer=customer,
        cues=list(data[CUES]),
        opened_at=event.recorded_at,
        updated_at=event.recorded_at,
        steps={},
        summary=data.get(SUMMARY),
        external_ref=data.get(EXTERNAL_REF),
        version=1,
    )
    if CUSTOMER_SUMMARY in data:
        state.customer_summary = data[CUSTOMER_SUMMARY]
    _add_tier_steps(compiled, state, data)
    return state


def _add_tier_steps(compiled: CompiledPlaybook, state: IncidentState, data: dict[str, Any]) -> None:
    state.tier = max(state.tier, data[TIER])
    fired = [r for r in data[RULES_FIRED] if r not in state.cue_rules_fired]
    state.cue_rules_fired.extend(fired)
    added_by = (
        {s: r.id for r in compiled.playbook.cue_rules if r.id in fired for s in r.add_steps}
        if fired
        else {}
    )
    dues = data[DUES]
    # The playbook's order, not the event's: stored event data has its keys sorted.
    new_step = compiled.new_step
    for step_id in [s for s in compiled.steps if s in dues]:
        state.steps[step_id] = new_step(step_id, dues[step_id], added_by.get(step_id))


def replay(compiled: CompiledPlaybook, events: list[Event]) -> IncidentState:
    state: IncidentState | None = None
    for event in events:
        state = apply(compiled, state, upcast(event), owned=True)
    if state is None:
        raise IntegrityError("no events to replay", incident_id="", seq=None)
    return state
