"""The engine's codes in the words staff use: role titles, step titles, evidence labels and
what each action does. Refusals carry these (`RecoveryError.plain`) next to the codes,
which stay in the machine fields (`field`, `state`, `allowed`).

A refusal's words are `Said`: the English text (a `str`, as the API and CLI show it) that
also keeps its message and values, so the web page says it in the viewer's language (the
staff pages' catalogs hold the messages, extracted from the `say(...)` calls).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from recovery.domain.compiler import CompiledPlaybook


class Said(str):
    """Words for staff: English as a `str`, with the message (`{name}` placeholders) and
    the values it was made from (themselves `Said` when they are words too), or, for a
    list, its items and separator."""

    msgid: str | None
    values: Mapping[str, Any]
    items: tuple[Any, ...]
    sep: str

    def __new__(cls, english: str, msgid: str | None, values: Mapping[str, Any]) -> Said:
        said = super().__new__(cls, english)
        said.msgid, said.values, said.items, said.sep = msgid, dict(values), (), ""
        return said


def say(msgid: str, **values: Any) -> Said:
    """`say("Only a manager may {verb}.", verb=...)`: the English now, the rest for later."""
    return Said(msgid.format(**values), msgid, values)


def say_list(items: Iterable[Any], sep: str = ", ") -> Said:
    """Items (words or names) joined, each translated on its own."""
    kept = tuple(items)
    said = Said(sep.join(str(i) for i in kept), None, {})
    said.items, said.sep = kept, sep
    return said


def said_to_data(text: Any) -> Any:
    """`Said` as plain data (to keep it where only JSON goes, such as a cookie)."""
    if not isinstance(text, Said):
        return str(text)
    if text.msgid is None:
        return {"items": [said_to_data(i) for i in text.items], "sep": text.sep}
    return {"msgid": text.msgid, "values": {k: said_to_data(v) for k, v in text.values.items()}}


def said_from_data(data: Any, depth: int = 0) -> Any:
    """What `said_to_data` gave back as `Said` (text that is not stays text). Bounded: the
    data may come from a cookie."""
    if isinstance(data, str) or depth > 4:
        return str(data)
    if not isinstance(data, dict):
        return str(data)
    if isinstance(data.get("items"), list):
        items = [said_from_data(i, depth + 1) for i in data["items"][:50]]
        return say_list(items, str(data.get("sep", ", "))[:5])
    msgid, values = data.get("msgid"), data.get("values")
    if not isinstance(msgid, str) or not isinstance(values, dict):
        return ""
    kept = {str(k): said_from_data(v, depth + 1) for k, v in list(values.items())[:20]}
    try:
        return say(msgid, **kept)
    except (KeyError, IndexError, ValueError):
        return ""


def localize(text: Any, translate: Any) -> str:
    """`text` in another language: `translate(msgid) -> str` gives a message's words;
    anything that is not `Said` (a name, a number) stays as it is. A translation whose
    placeholders do not fit falls back to the English."""
    if not isinstance(text, Said):
        return str(text)
    if text.msgid is None:
        return text.sep.join(localize(item, translate) for item in text.items)
    values = {name: localize(value, translate) for name, value in text.values.items()}
    try:
        return str(translate(text.msgid)).format(**values)
    except (KeyError, IndexError, ValueError):
        return str(text)


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
    definition = compiled.steps.get(step_id)
    title = definition.title if definition is not None else words(step_id)
    return say("“{title}”", title=title)


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
