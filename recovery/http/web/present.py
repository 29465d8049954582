"""What the pages show, computed from the engine's state: step checklists with the forms
each allowed action needs, board rows, and the timeline in words.

Everything here is plain data for the templates (which escape it all): no HTML is built.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from recovery.domain.checks import APPROVER_ROLES
from recovery.domain.compiler import ACTIVE_STATES, CompiledPlaybook
from recovery.domain.describe import describe as describe_event
from recovery.domain.describe import humanise as humanise  # re-exported for the pages
from recovery.domain.describe import label_of, money_fields, show_value
from recovery.domain.playbook import EvidenceField
from recovery.domain.queries import open_steps, resolved_states
from recovery.domain.state import Event, IncidentState, StepState
from recovery.http.web.i18n import LANGUAGE_NAMES, LOCALES, pick_locale
from recovery.letters import sends_letters
from recovery.service.engine import IncidentView

STEP_STATUS = {
    "open": "to do",
    "done": "done",
    "waived": "waived",
    "awaiting_approval": "awaiting approval",
    "approved": "approved",
    "drafted": "letter drafted",
    "sending": "letter queued for the mailer",
    "sent": "letter sent",
}
ACTION_LABELS = {
    "complete": ("Complete", "Mark done"),
    "waive": ("Waive", "Waive this step"),
    "request_approval": ("Ask a manager to approve", "Request approval"),
    "grant_approval": ("Approve", "Approve"),
    "deny_approval": ("Decline, offering alternatives", "Decline with alternatives"),
    "draft": ("Draft the letter", "Draft letter"),
    "request_send": ("Send the letter", "Queue letter for sending"),
}
MANAGER_ACTIONS = frozenset({"waive", "grant_approval", "deny_approval"})
CHANNELS = ("desk", "phone", "email", "chat", "web", "letter")
ROLE_NAMES = {
    "front_desk": "front desk",
    "manager": "manager",
    "auditor": "auditor",
    "integration": "integration",
    "admin": "admin",
    "system": "system",
}


@dataclass(frozen=True)
class FieldSpec:
    """One labelled form control (`name` is the form field's name)."""

    name: str
    label: str
    type: str = "text"  # text, textarea, number, money, bool, choice, multi, date, email, hidden
    required: bool = False
    help: str | None = None
    choices: tuple[tuple[str, str], ...] = ()
    min: float | None = None
    max: float | None = None
    suffix: str | None = None
    default: str = ""
    options: tuple[str, ...] = ()  # suggestions (a datalist) for a text field


@dataclass(frozen=True)
class ActionForm:
    """A form that posts one action: where, what it asks, and how its button reads."""

    key: str
    url: str
    label: str
    button: str
    fields: tuple[FieldSpec, ...] = ()
    note: str | None = None
    danger: bool = False
    # The incident version the page showed: sent back, so that a decision taken on a page
    # someone else has since changed is refused rather than applied to what it did not see.
    version: int | None = None


@dataclass(frozen=True)
class StepView:
    id: str
    title: str
    description: str | None
    kind: str
    owner: str
    status: str
    status_label: str
    resolved: bool
    required: bool
    due_at: str
    overdue: bool
    late: bool
    missed: bool
    pushed: int
    added_by: str | None
    evidence: list[tuple[str, str]]
    approval: str | None
    forms: list[ActionForm]
    push_form: ActionForm | None
    letter_url: str | None


@dataclass(frozen=True)
class BoardRow:
    id: str
    customer: str
    site: str
    playbook: str
    incident_type: str
    owner: str
    status: str
    tier: int
    next_due: str | None
    overdue: bool
    open_steps: int
    total_steps: int
    pushes: int
    handoffs: int


@dataclass(frozen=True)
class Entry:
    """One event of the timeline, in words."""

    seq: int
    at: str
    actor: str
    role: str
    channel: str
    type: str
    title: str
    text: str | None = None
    details: list[tuple[str, str]] = field(default_factory=list)
    hash: str = ""
    prev_hash: str = ""


def evidence_fields(
    compiled: CompiledPlaybook, step_id: str, action: str
) -> tuple[EvidenceField, ...]:
    return compiled.evidence_for(step_id, action)


def field_spec(
    f: EvidenceField, currency: str, siblings: Sequence[EvidenceField] = ()
) -> FieldSpec:
    ftype: str = f.type
    if ftype == "text" and f.name in ("body", "answer", "outcome", "findings"):
        ftype = "textarea"
    help_text = f.help
    if f.unless is not None and f.max is not None:
        labels = {s.name: s.label for s in siblings if s.label}
        extra = f"up to {f.max:g}, unless “{labels.get(f.unless, humanise(f.unless))}” is ticked"
        help_text = f"{help_text}; {extra}" if help_text else extra
    return FieldSpec(
        name=f"ev.{f.name}",
        label=f.label or humanise(f.name).capitalize(),
        type=ftype,
        required=f.required and f.type != "bool",
        help=help_text,
        choices=tuple((c, c) for c in (f.choices or ())),
        min=f.min,
        # with `unless`, the server decides (and says why); the browser must not block it
        max=None if f.unless is not None else f.max,
        suffix=currency if f.type == "money" else None,
    )


def step_evidence(compiled: CompiledPlaybook, step: StepState) -> list[tuple[str, str]]:
    currency = compiled.playbook.currency
    money = money_fields(compiled, step.id)
    return [
        (
            label_of(compiled, step.id, name),
            show_value(value, money=currency if name in money else None),
        )
        for name, value in step.evidence.items()
        if value not in (None, "")
    ]


def _step_form(
    compiled: CompiledPlaybook,
    state: IncidentState,
    step: StepState,
    action: str,
    base: str,
) -> ActionForm:
    currency = compiled.playbook.currency
    label, button = ACTION_LABELS.get(action, (humanise(action).capitalize(),) * 2)
    url = f"{base}/steps/{step.id}/{action}"
    key = f"step:{step.id}:{action}"
    written = sends_letters(compiled, step.kind)
    if written and action == "draft":
        voucher = compiled.steps[step.id].voucher
        note = (
            f"Drafting issues the {humanise(voucher.kind)} certificate's code."
            if voucher is not None
            else None
        )
        fields: tuple[FieldSpec, ...] = (
            FieldSpec(
                "note",
                "A personal paragraph for the letter",
                "textarea",
                help="optional: the rest of the letter comes from the playbook's template",
            ),
        )
        return ActionForm(key, url, label, button, fields, note)
    if written and action == "request_send":
        contact = str(state.customer.get("contact") or "")
        language = pick_locale(str(state.customer.get("language") or "en"))
        fields = (
            FieldSpec(
                "recipient",
                "Send to (e-mail address)",
                "email",
                help="empty: the customer's contact" + (f" ({contact})" if contact else ""),
                default=str(step.evidence.get("recipient") or ""),
            ),
            FieldSpec(
                "locale",
                "Language of the letter",
                "choice",
                required=True,
                choices=tuple((code, LANGUAGE_NAMES[code]) for code in LOCALES),
                default=language,
            ),
        )
        note = "The mail worker sends it and records it as sent once the mail server accepts it."
        return ActionForm(key, url, label, button, fields, note)
    if action == "waive":
        fields = (FieldSpec("reason", "Why this step is waived", "textarea", required=True),)
        return ActionForm(key, url, label, button, fields, danger=True)
    if action == "request_approval":
        fields = (
            FieldSpec(
                "amount", "Amount to approve", "money", required=True, min=0, suffix=currency
            ),
            FieldSpec("reason", "Why (for the manager)", "textarea"),
        )
        return ActionForm(key, url, label, button, fields)
    if action == "grant_approval":
        requested = (step.approval or {}).get("requested_amount")
        note = f"Requested: {show_value(requested, money=currency)}" if requested else None
        return ActionForm(key, url, label, button, (FieldSpec("reason", "Note", "text"),), note)
    if action == "deny_approval":
        fields = (
            FieldSpec(
                "alternatives",
                "Alternatives offered to the customer (one per line)",
                "textarea",
                required=True,
                help="a decline is never a bare no",
            ),
            FieldSpec("reason", "Why", "text"),
        )
        return ActionForm(key, url, label, button, fields)
    asked = evidence_fields(compiled, step.id, action)
    fields = tuple(field_spec(f, currency, asked) for f in asked)
    return ActionForm(key, url, label, button, fields)


def step_views(
    view: IncidentView,
    compiled: CompiledPlaybook,
    now_iso: str,
    *,
    role: str,
    can_write: bool,
    base: str,
) -> list[StepView]:
    state = view.state
    resolved = resolved_states(compiled)
    out: list[StepView] = []
    for step in state.steps.values():
        done = step.status in resolved[step.kind]
        definition = compiled.steps.get(step.id)
        forms: list[ActionForm] = []
        if can_write:
            for allowed in view.allowed:
                step_id, _, action = allowed.partition(".")
                if step_id != step.id or not action:
                    continue
                if action in MANAGER_ACTIONS and role not in APPROVER_ROLES:
                    continue
                form = _step_form(compiled, state, step, action, base)
                forms.append(dataclasses.replace(form, version=state.version))
        push_form = None
        if can_write and not done and view.status in ("open", "escalated"):
            push_form = ActionForm(
                f"step:{step.id}:push",
                f"{base}/pushes",
                "The customer had to ask for this",
                "Record that the customer asked",
                (
                    FieldSpec(
                        "asked_for",
                        "What the customer asked for",
                        required=True,
                        default=step.title,
                    ),
                    FieldSpec("step", "Step", "hidden", default=step.id),
                ),
                note="Recorded honestly: it counts against the recovery score.",
            )
        approval = None
        if step.approval:
            a = step.approval
            currency = compiled.playbook.currency
            if a.get("status") == "requested":
                approval = (
                    f"{show_value(a.get('requested_amount'), money=currency)} requested by "
                    f"{a.get('requested_by')}, waiting for a manager"
                )
            elif a.get("status") == "granted":
                approval = (
                    f"{show_value(a.get('granted_amount'), money=currency)} approved by "
                    f"{a.get('decided_by')}"
                )
            elif a.get("status") == "denied":
                approval = f"declined by {a.get('decided_by')}; alternatives offered: " + "; ".join(
                    str(x) for x in a.get("alternatives", [])
                )
        letter_url = None
        if sends_letters(compiled, step.kind) and step.status != "open":
            letter_url = f"{base}/letters/{step.id}"
        out.append(
            StepView(
                id=step.id,
                title=step.title,
                description=definition.description if definition else None,
                kind=step.kind,
                owner=humanise(step.owner),
                status=step.status,
                status_label=STEP_STATUS.get(step.status, humanise(step.status)),
                resolved=done,
                required=step.required,
                due_at=step.due_at,
                overdue=not done and step.due_at <= now_iso,
                late=step.late,
                missed=step.missed,
                pushed=step.pushed,
                added_by=step.added_by,
                evidence=step_evidence(compiled, step),
                approval=approval,
                forms=forms,
                push_form=push_form,
                letter_url=letter_url,
            )
        )
    return out


def board_row(view: IncidentView, compiled: CompiledPlaybook, now_iso: str) -> BoardRow:
    state = view.state
    still_open = open_steps(compiled, state)
    # The board shows the nearest due time of anything still to do, missed ones included
    # (most overdue first), unlike the sweep's key which skips what is already escalated.
    dues = [s.due_at for s in still_open]
    due = min(dues) if dues and state.status in ACTIVE_STATES else None
    return BoardRow(
        id=state.id,
        customer=str(state.customer.get("name", "")),
        site=state.site,
        playbook=compiled.playbook.title,
        incident_type=state.incident_type,
        owner=state.owner,
        status=state.status,
        tier=state.tier,
        next_due=due,
        overdue=due is not None and due <= now_iso,
        open_steps=len(still_open),
        total_steps=len(state.steps),
        pushes=state.pushes,
        handoffs=state.handoffs,
    )


def describe(event: Event, compiled: CompiledPlaybook) -> Entry:
    """The event in words, for whoever picks the incident up."""
    described = describe_event(event, compiled)
    return Entry(
        seq=event.seq,
        at=event.recorded_at,
        actor=event.actor,
        role=ROLE_NAMES.get(event.actor_role, humanise(event.actor_role)),
        channel=event.channel,
        type=event.type,
        title=described.title,
        text=described.text,
        details=described.details,
        hash=event.hash,
        prev_hash=event.prev_hash,
    )


def cue_choices(compiled_all: Sequence[CompiledPlaybook]) -> list[str]:
    """Every cue any playbook's rules listen for, in first-seen order."""
    seen: dict[str, None] = {}
    for compiled in compiled_all:
        for rule in compiled.playbook.cue_rules:
            for cue in rule.when.cues_any or ():
                seen.setdefault(cue, None)
    return list(seen)


# Incident actions decided on what the page shows: refused if the incident moved on since.
# Notes, contacts and pushes only add to the record, whatever else happened meanwhile.
DECIDED_ON_THE_PAGE = frozenset(
    {"close", "reopen", "hand_off", "escalate", "release", "report_cues"}
)


def incident_forms(
    view: IncidentView,
    base: str,
    *,
    users: Sequence[str],
    roles: Sequence[str],
    channel: str,
    cues: Sequence[str],
) -> dict[str, ActionForm]:
    """The incident-level forms allowed now, by action (close, hand_off, ...)."""
    allowed = set(view.allowed)
    forms: dict[str, ActionForm] = {}

    def add(
        action: str, command: str, label: str, button: str, *fields: FieldSpec, **kw: Any
    ) -> None:
        if action in allowed:
            version = view.version if action in DECIDED_ON_THE_PAGE else None
            forms[action] = ActionForm(
                f"cmd:{command}", f"{base}/{command}", label, button, fields, version=version, **kw
            )

    add(
        "close",
        "close",
        "Close the incident",
        "Close incident",
        FieldSpec("summary", "Closing summary", "text"),
    )
    add(
        "reopen",
        "reopen",
        "Reopen",
        "Reopen incident",
        FieldSpec("reason", "Why it is reopened", "textarea", required=True),
    )
    add(
        "hand_off",
        "handoffs",
        "Hand off",
        "Hand off with context",
        FieldSpec("to", "Hand off to", required=True, options=tuple(users)),
        FieldSpec(
            "to_role",
            "Their role",
            "choice",
            choices=tuple((r, humanise(r)) for r in roles),
        ),
        FieldSpec(
            "context",
            "Context for the next owner",
            "textarea",
            required=True,
            help="at least 10 characters: what they need to know, so the customer never "
            "has to tell the story again",
        ),
        note="Every handoff is counted.",
    )
    contact_channels = tuple(
        dict.fromkeys((channel, "phone", "email", "desk", "chat", "sms", "letter"))
    )
    add(
        "record_contact",
        "contacts",
        "Record a contact",
        "Record contact",
        FieldSpec(
            "channel",
            "Channel",
            "choice",
            required=True,
            choices=tuple((c, c) for c in contact_channels),
            default=channel,
        ),
        FieldSpec(
            "direction",
            "Direction",
            "choice",
            required=True,
            choices=(
                ("inbound", "the customer contacted us"),
                ("outbound", "we contacted the customer"),
            ),
            default="outbound",
        ),
        FieldSpec("summary", "What was said", "textarea", required=True),
    )
    add(
        "record_push",
        "pushes",
        "The customer had to ask for something else",
        "Record that the customer asked",
        FieldSpec("asked_for", "What the customer asked for", required=True),
        note="Something the bundle should have given unasked. Recorded honestly: it counts "
        "against the recovery score.",
    )
    add(
        "add_note",
        "notes",
        "Add a note",
        "Add note",
        FieldSpec(
            "text",
            "Note",
            "textarea",
            required=True,
            help="internal: never shown to the customer",
        ),
    )
    if cues:
        add(
            "report_cues",
            "cues",
            "Report dissatisfaction cues",
            "Report cues",
            FieldSpec(
                "cues",
                "Cues heard",
                "multi",
                required=True,
                choices=tuple((c, humanise(c)) for c in cues),
            ),
        )
    add(
        "escalate",
        "escalate",
        "Escalate",
        "Escalate to a manager",
        FieldSpec("reason", "Why", "textarea", required=True),
    )
    add(
        "release",
        "release",
        "Release (an honest ending)",
        "Release with referral",
        FieldSpec("reason", "Why we cannot serve the customer well", "textarea", required=True),
        FieldSpec("referral", "Who can, and how", "textarea", required=True),
        danger=True,
    )
    return forms
