"""What the pages show, computed from the engine's state: the words for statuses, actions,
channels and roles, board rows, and the timeline in words (the step checklist and the
forms are in `present_steps` and `present_forms`).

Everything here is plain data for the templates (which escape it all): no HTML is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from recovery.domain.compiler import ACTIVE_STATES, CompiledPlaybook
from recovery.domain.describe import describe as describe_event
from recovery.domain.describe import humanise as humanise  # re-exported for the pages
from recovery.domain.queries import NextStep, clock_stopped, next_step, open_steps
from recovery.domain.state import Event
from recovery.domain.words import say
from recovery.http.web.translations import N_
from recovery.service.engine import IncidentView

STEP_STATUS = {
    "open": N_("to do"),
    "done": N_("done"),
    "waived": N_("waived"),
    "awaiting_approval": N_("awaiting approval"),
    "approved": N_("approved"),
    "drafted": N_("letter drafted"),
    "sending": N_("letter queued for the mailer"),
    "sent": N_("letter sent"),
}
ACTION_LABELS = {
    "complete": (N_("Complete"), N_("Mark done")),
    "waive": (N_("Waive"), N_("Waive this step")),
    "request_approval": (N_("Ask a manager to approve"), N_("Request approval")),
    "grant_approval": (N_("Approve"), N_("Approve")),
    "deny_approval": (N_("Decline, offering alternatives"), N_("Decline with alternatives")),
    "draft": (N_("Draft the letter"), N_("Draft letter")),
    "request_send": (N_("Send the letter"), N_("Queue letter for sending")),
}
FIELD_TYPES = {  # an evidence field's type, as the playbook page names it
    "text": N_("text"),
    "number": N_("number"),
    "money": N_("money"),
    "bool": N_("yes or no"),
    "choice": N_("choice"),
    "date": N_("date"),
}
CHANNELS = ("desk", "phone", "email", "chat", "web", "letter")
ROLE_NAMES = {  # shown translated (N_: in the catalogs)
    "front_desk": N_("front desk"),
    "manager": N_("manager"),
    "auditor": N_("auditor"),
    "integration": N_("integration"),
    "admin": N_("admin"),
    "system": N_("system"),
}


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
    waiting_for: str | None = None
    """on hold: what we are waiting for (those steps' clocks are stopped)"""
    next: NextStep | None = None
    """the step to act on first (the viewer's own, when they have one)"""


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


def board_row(
    view: IncidentView, compiled: CompiledPlaybook, now_iso: str, role: str | None = None
) -> BoardRow:
    state = view.state
    still_open = open_steps(compiled, state)
    # The board shows the nearest due time of anything still to do, missed ones included
    # (most overdue first), unlike the sweep's key which skips what is already escalated.
    # Steps on hold before their deadline have no running clock.
    dues = [s.due_at for s in still_open if not clock_stopped(state, s)]
    holds = state.holds or {}
    due = min(dues) if dues and state.status in ACTIVE_STATES else None
    return BoardRow(
        id=state.id,
        customer=say("erased on {date}", date=state.erased_at[:10])
        if state.erased_at
        else str(state.customer.get("name", "")),
        site=state.site,
        playbook=compiled.said.title,
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
        waiting_for="; ".join(dict.fromkeys(h["reason"] for h in holds.values())) or None,
        next=next_step(compiled, state, now_iso, role),
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


def cue_choices(compiled_all: Sequence[CompiledPlaybook]) -> dict[str, str]:
    """Every cue any playbook's rules listen for, in first-seen order, with its name (as
    the first playbook that names it translates it)."""
    seen: dict[str, str] = {}
    for compiled in compiled_all:
        for rule in compiled.playbook.cue_rules:
            for cue in rule.when.cues_any or ():
                seen.setdefault(cue, compiled.said.cue(cue))
    return seen
