"""The engine's codes in the words staff use: role titles, step titles, evidence labels and
what each action does. Refusals carry these (`RecoveryError.plain`) next to the codes,
which stay in the machine fields (`field`, `state`, `allowed`)."""

from __future__ import annotations

from collections.abc import Sequence

from recovery.domain.compiler import CompiledPlaybook

ROLE_TITLES = {
    "front_desk": "front desk",
    "manager": "manager",
    "auditor": "auditor",
    "integration": "back-office system",
    "admin": "administrator",
    "system": "the engine's worker",
}
STEP_ACTIONS = {
    "complete": "mark it done",
    "waive": "waive it",
    "request_approval": "ask a manager to approve",
    "grant_approval": "approve",
    "deny_approval": "decline, offering alternatives",
    "draft": "draft the letter",
    "request_send": "send the letter",
    "send": "record the letter as sent",
    "bounce": "record the letter as bounced",
}
INCIDENT_ACTIONS = {
    "record_contact": "record a contact",
    "add_note": "add a note",
    "report_cues": "report dissatisfaction cues",
    "record_push": "record that the customer had to ask",
    "hand_off": "hand off",
    "escalate": "escalate",
    "hold": "put on hold (waiting on the customer)",
    "resume": "resume the clock",
    "release": "release (an honest ending)",
    "close": "close the incident",
    "reopen": "reopen",
}
STATUSES = {
    "open": "still to do",
    "done": "done",
    "waived": "waived",
    "awaiting_approval": "awaiting a manager's approval",
    "approved": "approved",
    "drafted": "drafted",
    "sending": "queued for the mailer",
    "sent": "sent",
    "escalated": "escalated",
    "closed": "closed",
    "released": "released",
}


def words(code: str) -> str:
    """A code as words when no better title is known: `distance_km` -> "distance km"."""
    return code.replace("_", " ").replace(".", " ")


def role_title(role: str) -> str:
    return ROLE_TITLES.get(role, words(role))


def status_words(status: str) -> str:
    return STATUSES.get(status, words(status))


def step_title(compiled: CompiledPlaybook, step_id: str) -> str:
    definition = compiled.steps.get(step_id)
    return f"“{definition.title}”" if definition is not None else f"“{words(step_id)}”"


def evidence_label(compiled: CompiledPlaybook, step_id: str, action: str, name: str) -> str:
    for field in compiled.evidence_for(step_id, action):
        if field.name == name and field.label:
            return field.label
    return words(name).capitalize()


def action_words(compiled: CompiledPlaybook, allowed: str) -> str:
    """`dinner.request_approval` -> `“Dinner”: ask a manager to approve`."""
    step_id, dot, name = allowed.partition(".")
    if not dot:
        return INCIDENT_ACTIONS.get(allowed, words(allowed))
    return f"{step_title(compiled, step_id)}: {STEP_ACTIONS.get(name, words(name))}"


def allowed_words(compiled: CompiledPlaybook, allowed: Sequence[str]) -> str:
    """What can be done, as one sentence's worth of words."""
    if not allowed:
        return "nothing can be done on it now"
    return "; ".join(action_words(compiled, a) for a in allowed)
