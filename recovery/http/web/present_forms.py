"""The forms of the incident page as data: each labelled control, each form that posts one
action, and the incident-level forms (close, hand off, notes...) allowed now."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from recovery.http.web.translations import N_
from recovery.service.engine import IncidentView


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
    cues: Mapping[str, str],
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
        N_("Close the incident"),
        N_("Close incident"),
        FieldSpec("summary", N_("Closing summary"), "text"),
    )
    add(
        "reopen",
        "reopen",
        N_("Reopen"),
        N_("Reopen incident"),
        FieldSpec("reason", N_("Why it is reopened"), "textarea", required=True),
    )
    add(
        "hand_off",
        "handoffs",
        "Hand off",
        N_("Hand off with context"),
        FieldSpec("to", N_("Hand off to"), required=True, options=tuple(users)),
        FieldSpec(
            "to_role",
            N_("Their role"),
            "choice",
            choices=tuple((r, view.compiled.said.role(r)) for r in roles),
        ),
        FieldSpec(
            "context",
            N_("Context for the next owner"),
            "textarea",
            required=True,
            help=N_(
                "at least 10 characters: what they need to know, so the customer never "
                "has to tell the story again"
            ),
        ),
        note=N_("Every handoff is counted."),
    )
    contact_channels = tuple(
        dict.fromkeys((channel, "phone", "email", "desk", "chat", "sms", "letter"))
    )
    add(
        "record_contact",
        "contacts",
        N_("Record a contact"),
        N_("Record contact"),
        FieldSpec(
            "channel",
            N_("Channel"),
            "choice",
            required=True,
            choices=tuple((c, c) for c in contact_channels),
            default=channel,
        ),
        FieldSpec(
            "direction",
            N_("Direction"),
            "choice",
            required=True,
            choices=(
                ("inbound", N_("the customer contacted us")),
                ("outbound", N_("we contacted the customer")),
            ),
            default="outbound",
        ),
        FieldSpec("summary", N_("What was said"), "textarea", required=True),
    )
    add(
        "record_push",
        "pushes",
        N_("The customer had to ask for something else"),
        N_("Record that the customer asked"),
        FieldSpec("asked_for", N_("What the customer asked for"), required=True),
        note=N_(
            "Something the bundle should have given unasked. Recorded honestly: it counts "
            "against the recovery score."
        ),
    )
    add(
        "add_note",
        "notes",
        N_("Add a note"),
        N_("Add note"),
        FieldSpec(
            "text",
            N_("Note"),
            "textarea",
            required=True,
            help=N_("internal: never shown to the customer"),
        ),
    )
    if cues:
        add(
            "report_cues",
            "cues",
            N_("Report dissatisfaction cues"),
            N_("Report cues"),
            FieldSpec(
                "cues",
                N_("Cues heard"),
                "multi",
                required=True,
                choices=tuple(cues.items()),
            ),
        )
    add(
        "escalate",
        "escalate",
        N_("Escalate"),
        N_("Escalate to a manager"),
        FieldSpec("reason", N_("Why"), "textarea", required=True),
    )
    holds = view.state.holds or {}
    said = view.compiled.said
    acting_on = {a.partition(".")[0] for a in allowed if "." in a}  # steps still open
    open_steps = [s for s in view.state.steps.values() if s.id in acting_on]
    add(
        "hold",
        "hold",
        N_("Waiting on the customer"),
        N_("Put on hold"),
        FieldSpec(
            "step",
            N_("What waits"),
            "choice",
            choices=(
                ("", N_("the whole incident")),
                *((s.id, said.step_title(s.id)) for s in open_steps if s.id not in holds),
            ),
        ),
        FieldSpec(
            "reason",
            N_("What we are waiting for"),
            "textarea",
            required=True,
            help=N_("the customer's status page shows it, e.g. the guest's bank details"),
        ),
        note=N_("The clock stops until you resume; a deadline already missed stays missed."),
    )
    add(
        "resume",
        "resume",
        N_("Resume the clock"),
        N_("Resume"),
        FieldSpec(
            "step",
            N_("What resumes"),
            "choice",
            choices=(
                ("", N_("everything on hold")),
                *((s, said.step_title(s)) for s in holds if s in view.state.steps),
            ),
        ),
        note=N_("Each deadline moves by the time held (in business time where it is counted so)."),
    )
    add(
        "release",
        "release",
        N_("Release (an honest ending)"),
        N_("Release with referral"),
        FieldSpec("reason", N_("Why we cannot serve the customer well"), "textarea", required=True),
        FieldSpec("referral", N_("Who can, and how"), "textarea", required=True),
        danger=True,
    )
    return forms
