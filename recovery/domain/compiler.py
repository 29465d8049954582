"""Compile a playbook once into shared `transitions` machines (the only user of the library).

One machine per lifecycle, built with `model=None` and shared by every incident and thread;
an action is fired on a two-field carrier loaded from the stored state (the `transitions`
FAQ recipe for many objects). Flat machines without queues keep no per-trigger state, so
sharing across threads is safe.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson
from transitions import Machine, MachineError

from recovery.domain.playbook import (
    FINISHING_ACTIONS,
    EvidenceField,
    KindDef,
    Playbook,
    StepDef,
)
from recovery.domain.playbook_translations import STAFF_TEXTS
from recovery.domain.said import Said, said_local
from recovery.domain.state import StepState
from recovery.domain.validation import kinds_of
from recovery.domain.validation_words import step_fields

INCIDENT_STATES = ("open", "escalated", "closed", "released")
ACTIVE_STATES = ("open", "escalated")
ENDED_STATES = ("closed", "released")
# Actions only the engine's own workers take; never offered to people as "allowed".
SYSTEM_ACTIONS = frozenset({"miss_deadlines"})
# Actions taken through their own service (the status links'), never offered as "allowed".
SERVICE_ACTIONS = frozenset({"send_status_link", "erase"})

# Incident-level actions. `dest: None` is an internal transition: allowed, state unchanged.
INCIDENT_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "act_on_step", "source": list(ACTIVE_STATES), "dest": None},
    {"trigger": "report_cues", "source": list(ACTIVE_STATES), "dest": None},
    {"trigger": "record_push", "source": list(ACTIVE_STATES), "dest": None},
    {"trigger": "hand_off", "source": list(ACTIVE_STATES), "dest": None},
    {"trigger": "hold", "source": list(ACTIVE_STATES), "dest": None},
    {"trigger": "resume", "source": list(ACTIVE_STATES), "dest": None},
    {"trigger": "record_contact", "source": list(INCIDENT_STATES), "dest": None},
    {"trigger": "add_note", "source": list(INCIDENT_STATES), "dest": None},
    {"trigger": "send_status_link", "source": list(INCIDENT_STATES), "dest": None},
    {"trigger": "erase", "source": list(INCIDENT_STATES), "dest": None},
    {"trigger": "escalate", "source": list(ACTIVE_STATES), "dest": "escalated"},
    {"trigger": "miss_deadlines", "source": list(ACTIVE_STATES), "dest": "escalated"},
    {"trigger": "release", "source": list(ACTIVE_STATES), "dest": "released"},
    {"trigger": "close", "source": list(ACTIVE_STATES), "dest": "closed"},
    {"trigger": "reopen", "source": list(ENDED_STATES), "dest": "open"},
]


class _Carrier:
    """The light object a shared machine fires on: just the current state."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


@dataclass(frozen=True)
class Lifecycle:
    """A compiled state machine plus what each state allows, precomputed."""

    name: str
    machine: Any
    allowed: dict[str, tuple[str, ...]]
    resolved: frozenset[str] = frozenset()
    initial: str = "open"
    internal: frozenset[tuple[str, str]] = frozenset()
    # The compiler builds machines from data alone (no conditions, no callbacks), so a
    # machine is a pure function of (state, trigger): each answer is asked of it once.
    # Firing costs ~10 µs, more than hashing and parsing an event together.
    answers: dict[tuple[str, str], str | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def can(self, state: str, trigger: str) -> bool:
        return trigger in self.allowed.get(state, ())

    def fire(self, state: str, trigger: str) -> str | None:
        """The state after `trigger`, or None when it is not allowed from `state`.

        Internal transitions (allowed, state unchanged) are answered from the table the
        machine compiled to; real moves are asked of the machine once and remembered."""
        key = (state, trigger)
        try:
            return self.answers[key]
        except KeyError:
            answer = state if key in self.internal else self._ask_machine(state, trigger)
            self.answers[key] = answer
            return answer

    def _ask_machine(self, state: str, trigger: str) -> str | None:
        event = self.machine.events.get(trigger)
        if event is None:
            return None
        carrier = _Carrier(state)
        try:
            fired = event.trigger(carrier)
        except (MachineError, ValueError):
            return None
        return carrier.state if fired else None


def _build(
    name: str, states: list[str], transitions: list[dict[str, Any]], initial: str
) -> tuple[Any, dict[str, tuple[str, ...]]]:
    machine = Machine(
        model=None,
        states=states,
        transitions=transitions,
        initial=initial,
        auto_transitions=False,
        name=name,
    )
    allowed = {state: tuple(sorted(machine.get_triggers(state))) for state in states}
    return machine, allowed


def _compile_kind(name: str, kind: KindDef) -> Lifecycle:
    transitions = [
        {"trigger": t.trigger, "source": t.sources(), "dest": t.dest} for t in kind.transitions
    ]
    machine, allowed = _build(name, list(kind.states), transitions, kind.initial)
    return Lifecycle(name, machine, allowed, frozenset(kind.resolved), kind.initial)


def playbook_digest(playbook: Playbook) -> str:
    """sha256 of what the author wrote (defaults left out, so a new optional field in a
    later release does not make an unchanged file look edited). `roles` only declares
    names for validation and changes no incident: declaring them is not an edit."""
    definition = playbook.model_dump(mode="json", exclude_defaults=True)
    definition.pop("roles", None)
    # the staff's words in other languages change no rule either (STAFF_TEXTS)
    definition.pop("translations", None)
    for section in ("steps", "tier_steps"):
        for step in definition.get(section, ()):
            kept = {
                language: {k: v for k, v in texts.items() if k not in STAFF_TEXTS}
                for language, texts in step.get("translations", {}).items()
            }
            kept = {language: texts for language, texts in kept.items() if texts}
            if kept:
                step["translations"] = kept
            else:
                step.pop("translations", None)
    canonical = orjson.dumps(definition, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True)
class CompiledPlaybook:
    playbook: Playbook
    digest: str
    incident: Lifecycle
    kinds: dict[str, Lifecycle]
    steps: dict[str, StepDef]
    evidence: dict[tuple[str, str], tuple[EvidenceField, ...]] = field(default_factory=dict)
    # What is allowed depends only on the statuses; shared by threads (dict ops are atomic).
    allowed_cache: dict[tuple[str, ...], tuple[str, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )
    step_templates: dict[str, dict[str, Any]] = field(
        default_factory=dict, compare=False, repr=False
    )
    words: PlaybookWords | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> tuple[str, int]:
        return self.playbook.key

    def new_step(self, step_id: str, due_at: str, added_by: str | None) -> StepState:
        """Step `step_id` as it opens: one copy of its template (see `_step_template`)."""
        step = object.__new__(StepState)
        fields = step.__dict__
        fields.update(self.step_templates[step_id])
        fields["due_at"] = due_at
        fields["added_by"] = added_by
        fields["evidence"] = {}
        return step

    @property
    def said(self) -> PlaybookWords:
        """The playbook's words for staff, each with its translations (`Said`)."""
        if self.words is None:  # a CompiledPlaybook made by hand (tests)
            object.__setattr__(self, "words", playbook_words(self.playbook))
        assert self.words is not None
        return self.words

    def lifecycle_of(self, step_id: str) -> Lifecycle:
        return self.kinds[self.steps[step_id].kind]

    def evidence_for(self, step_id: str, action: str) -> tuple[EvidenceField, ...]:
        return self.evidence.get((step_id, action), ())


def compile_playbook(playbook: Playbook) -> CompiledPlaybook:
    machine, allowed = _build(
        f"incident:{playbook.id}:v{playbook.version}",
        list(INCIDENT_STATES),
        INCIDENT_TRANSITIONS,
        "open",
    )
    internal = frozenset(
        (source, t["trigger"])
        for t in INCIDENT_TRANSITIONS
        if t["dest"] is None
        for source in t["source"]
    )
    incident = Lifecycle("incident", machine, allowed, frozenset(ENDED_STATES), "open", internal)
    kind_defs = kinds_of(playbook)
    used = {s.kind for s in (*playbook.steps, *playbook.tier_steps)}
    kinds = {name: _compile_kind(name, kind_defs[name]) for name in sorted(used)}
    steps = {s.id: s for s in (*playbook.steps, *playbook.tier_steps)}
    evidence: dict[tuple[str, str], tuple[EvidenceField, ...]] = {}
    for step in steps.values():
        kind = kind_defs[step.kind]
        for action, fields in kind.evidence.items():
            evidence[(step.id, action)] = tuple(fields)
        for action in FINISHING_ACTIONS:
            if action in kinds[step.kind].machine.events:
                evidence[(step.id, action)] = (*evidence.get((step.id, action), ()), *step.evidence)
    templates = {sid: _step_template(d, kinds[d.kind].initial) for sid, d in steps.items()}
    return CompiledPlaybook(
        playbook,
        playbook_digest(playbook),
        incident,
        kinds,
        steps,
        evidence,
        step_templates=templates,
        words=playbook_words(playbook),
    )


def _humanise(code: str) -> str:
    return code.replace("_", " ").replace(".", " ").strip()


@dataclass(frozen=True)
class PlaybookWords:
    """What a playbook shows to staff, as `Said` with the playbook's translations (English
    when a language lacks one): made once, when the playbook is compiled."""

    title: Said
    description: Said | None
    step_titles: dict[str, Said]
    step_descriptions: dict[str, Said]
    labels: dict[tuple[str, str], Said]
    helps: dict[tuple[str, str], Said]
    choices: dict[tuple[str, str, str], Said]
    roles: dict[str, Said] = field(default_factory=dict)
    cues: dict[str, Said] = field(default_factory=dict)

    def step_title(self, step_id: str) -> str:
        return self.step_titles.get(step_id) or _humanise(step_id)

    def label(self, step_id: str, name: str) -> str:
        """An evidence field's label (the field's name in words when it has none)."""
        return self.labels.get((step_id, name)) or _humanise(name).capitalize()

    def help(self, step_id: str, name: str) -> str | None:
        return self.helps.get((step_id, name))

    def choice(self, step_id: str, name: str, value: str) -> str:
        return self.choices.get((step_id, name, value)) or value

    def role(self, code: str) -> str:
        """A role's or team's name (staff roles: the pages' catalogs say them)."""
        return self.roles.get(code) or said_local(_humanise(code), {})

    def cue(self, code: str) -> str:
        return self.cues.get(code) or said_local(_humanise(code), {})


def playbook_words(playbook: Playbook) -> PlaybookWords:
    kind_defs = kinds_of(playbook)
    own = playbook.translations
    titles: dict[str, Said] = {}
    descriptions: dict[str, Said] = {}
    labels: dict[tuple[str, str], Said] = {}
    helps: dict[tuple[str, str], Said] = {}
    choices: dict[tuple[str, str, str], Said] = {}
    for step in (*playbook.steps, *playbook.tier_steps):
        local = step.translations
        titles[step.id] = said_local(step.title, {k: t.title for k, t in local.items()})
        if step.description:
            descriptions[step.id] = said_local(
                step.description, {k: t.description for k, t in local.items()}
            )
        kind = kind_defs.get(step.kind)
        if kind is None:
            continue
        for name, f in step_fields(step, kind).items():
            if f.label:
                labels[(step.id, name)] = said_local(
                    f.label, {k: t.labels.get(name) for k, t in local.items()}
                )
            if f.help:
                helps[(step.id, name)] = said_local(
                    f.help, {k: t.help.get(name) for k, t in local.items()}
                )
            for value in f.choices or ():
                choices[(step.id, name, value)] = said_local(
                    value, {k: t.choices.get(name, {}).get(value) for k, t in local.items()}
                )
    roles = {
        code: said_local(_humanise(code), {k: t.roles.get(code) for k, t in own.items()})
        for code in playbook.roles
    }
    cues = {
        code: said_local(_humanise(code), {k: t.cues.get(code) for k, t in own.items()})
        for rule in playbook.cue_rules
        for code in rule.when.cues_any or ()
    }
    return PlaybookWords(
        said_local(playbook.title, {k: t.title for k, t in own.items()}),
        said_local(playbook.description, {k: t.description for k, t in own.items()})
        if playbook.description
        else None,
        titles,
        descriptions,
        labels,
        helps,
        choices,
        roles,
        cues,
    )


def _step_template(definition: StepDef, initial: str) -> dict[str, Any]:
    """A new step's fields in `StepState`'s order (so its JSON is what the dataclass writes):
    what the playbook says, the lifecycle's first status, and the defaults."""
    template: dict[str, Any] = {
        f.name: None if f.default is dataclasses.MISSING else f.default
        for f in dataclasses.fields(StepState)
    }
    template.update(
        id=definition.id,
        kind=definition.kind,
        title=definition.title,
        owner=definition.owner,
        required=definition.required,
        status=initial,
    )
    return template
