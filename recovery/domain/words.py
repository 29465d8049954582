"""The engine's codes in the words staff use: role titles, step titles, evidence labels and
what each action does. Refusals carry these (`RecoveryError.plain`) next to the codes,
which stay in the machine fields (`field`, `state`, `allowed`).

A refusal's words are `Said`: the English text (a `str`, as the API and CLI show it) that
also keeps its message and values, so the web page says it in the viewer's language (the
staff pages' catalogs hold the messages, extracted from the `say(...)` calls).
"""

from __future__ import annotations

from collections.abc import Sequence

from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.said import (
    Said,
    localize,
    said_from_data,
    said_local,
    said_to_data,
    say,
    say_list,
)

__all__ = [
    "Said",
    "localize",
    "said_from_data",
    "said_local",
    "said_to_data",
    "say",
    "say_list",
]


ROLE_TITLES = {
    "front_desk": say("front desk"),
    "manager": say("manager"),
    "auditor": say("auditor"),
    "integration": say("back-office system"),
    "admin": say("administrator"),
    "system": say("the engine's worker"),
}
STEP_ACTIONS = {
    "complete": say("mark it done"),
    "waive": say("waive it"),
    "request_approval": say("ask a manager to approve"),
    "grant_approval": say("approve"),
    "deny_approval": say("decline, offering alternatives"),
    "draft": say("draft the letter"),
    "request_send": say("send the letter"),
    "send": say("record the letter as sent"),
    "bounce": say("record the letter as bounced"),
}
INCIDENT_ACTIONS = {
    "record_contact": say("record a contact"),
    "add_note": say("add a note"),
    "report_cues": say("report dissatisfaction cues"),
    "record_push": say("record that the customer had to ask"),
    "hand_off": say("hand off"),
    "escalate": say("escalate"),
    "hold": say("put on hold (waiting on the customer)"),
    "resume": say("resume the clock"),
    "release": say("release (an honest ending)"),
    "close": say("close the incident"),
    "reopen": say("reopen"),
}
STATUSES = {
    "open": say("still to do"),
    "done": say("done"),
    "waived": say("waived"),
    "awaiting_approval": say("awaiting a manager's approval"),
    "approved": say("approved"),
    "drafted": say("drafted"),
    "sending": say("queued for the mailer"),
    "sent": say("sent"),
    "escalated": say("escalated"),
    "closed": say("closed"),
    "released": say("released"),
}


def words(code: str) -> str:
    """A code as words when no better title is known: `distance_km` -> "distance km"."""
    return code.replace("_", " ").replace(".", " ")


def role_title(role: str) -> str:
    return ROLE_TITLES.get(role, words(role))


def status_words(status: str) -> str:
    return STATUSES.get(status, words(status))


def step_title(compiled: CompiledPlaybook, step_id: str) -> str:
    return say("“{title}”", title=compiled.said.step_title(step_id))


def evidence_label(compiled: CompiledPlaybook, step_id: str, action: str, name: str) -> str:
    for field in compiled.evidence_for(step_id, action):
        if field.name == name and field.label:
            return compiled.said.label(step_id, name)
    return words(name).capitalize()


def action_words(compiled: CompiledPlaybook, allowed: str) -> str:
    """`dinner.request_approval` -> `“Dinner”: ask a manager to approve`."""
    step_id, dot, name = allowed.partition(".")
    if not dot:
        return INCIDENT_ACTIONS.get(allowed, words(allowed))
    return say(
        "{step}: {action}",
        step=step_title(compiled, step_id),
        action=STEP_ACTIONS.get(name, words(name)),
    )


def allowed_words(compiled: CompiledPlaybook, allowed: Sequence[str]) -> str:
    """What can be done, as one sentence's worth of words."""
    if not allowed:
        return say("nothing can be done on it now")
    return say_list((action_words(compiled, a) for a in allowed), "; ")
