"""Turn raw playbook data into a valid `Playbook`, or a list of located problems.

Pure: takes already-parsed data and a source name (the file path) for the messages.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from recovery.domain.playbook import (
    BUILTIN_KINDS,
    FINISHING_ACTIONS,
    STAFF_ROLES,
    KindDef,
    Playbook,
    StepDef,
)
from recovery.domain.validation_words import (
    playbook_translation_problems,
    step_translation_problems,
)
from recovery.errors import PlaybookError, Problem

# Keys people reach for when they want a step to wait. The engine refuses them with an
# explanation rather than a bare "extra field": opening the whole bundle is the point.
WAITING_KEYS = frozenset(
    {
        "after",
        "depends_on",
        "wait_for",
        "waits_for",
        "requires",
        "unlock_on",
        "unlocks_on",
        "on_push",
        "when_pushed",
        "when",
        "only_if_asked",
        "trigger",
        "opens_after",
    }
)
_WAITING_MESSAGE = (
    "a step cannot wait for anything: every step opens the moment the incident opens, "
    "so the customer never has to push for the next level of service. Remove {key!r}; "
    "to add steps when a customer cue appears, use cue_rules with add_steps"
)


def format_location(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# Roles that pay: the actors commands run as (an integration acts as the front desk).
PAYING_ROLES = ("front_desk", "manager")


def validate_playbook(
    data: Any, source: str, *, authoring: bool = False, stored: bool = False
) -> Playbook:
    """Validate one playbook's data; raise `PlaybookError` listing every problem found.

    `authoring` adds checks for what a person writes (role names, kinds that can finish).
    `stored`: a definition an earlier release stored for its incidents, which must replay
    as it was recorded (a deadline bound added later does not apply to it)."""
    if not isinstance(data, Mapping):
        raise PlaybookError([Problem(source, "", "a playbook must be a mapping of fields")])
    problems = list(_waiting_problems(data, source))
    try:
        playbook = Playbook.model_validate(data, context={"stored": stored})
    except ValidationError as exc:
        for err in exc.errors():
            loc = format_location(err["loc"])
            if err["type"] == "extra_forbidden" and str(err["loc"][-1]) in WAITING_KEYS:
                continue  # already explained above
            problems.append(Problem(source, loc, err["msg"].removeprefix("Value error, ")))
        raise PlaybookError(problems) from None
    problems.extend(_cross_problems(playbook, source))
    if authoring:
        problems.extend(_role_problems(playbook, source))
        for name, kind in playbook.kinds.items():
            problems.extend(_unfinishable(kind, f"kinds.{name}", source))
    if problems:
        raise PlaybookError(problems)
    return playbook


def _waiting_problems(data: Mapping[str, Any], source: str) -> Iterable[Problem]:
    for section in ("steps", "tier_steps"):
        steps = data.get(section)
        if not isinstance(steps, list):
            continue
        for index, step in enumerate(steps):
            if isinstance(step, Mapping):
                for key in step:
                    if key in WAITING_KEYS:
                        yield Problem(
                            source,
                            f"{section}[{index}].{key}",
                            _WAITING_MESSAGE.format(key=key),
                        )


def kinds_of(playbook: Playbook) -> dict[str, KindDef]:
    return {**BUILTIN_KINDS, **playbook.kinds}


def _cross_problems(playbook: Playbook, source: str) -> Iterable[Problem]:
    kinds = kinds_of(playbook)
    for name, kind in playbook.kinds.items():
        yield from _kind_problems(kind, f"kinds.{name}", source)

    yield from playbook_translation_problems(playbook, source)

    seen: dict[str, str] = {}
    all_steps: list[tuple[str, StepDef]] = [
        *((f"steps[{i}]", s) for i, s in enumerate(playbook.steps)),
        *((f"tier_steps[{i}]", s) for i, s in enumerate(playbook.tier_steps)),
    ]
    for where, step in all_steps:
        if step.id in seen:
            yield Problem(
                source, f"{where}.id", f"step id {step.id!r} is also used at {seen[step.id]}"
            )
        seen[step.id] = where
        if step.kind not in kinds:
            yield Problem(
                source,
                f"{where}.kind",
                f"unknown step kind {step.kind!r}; known kinds: {', '.join(sorted(kinds))}",
            )
            continue
        yield from _evidence_problems(step, where, source)
        yield from _customer_text_problems(step, where, source)
        yield from step_translation_problems(step, kinds[step.kind], where, source)
        if step.kind == "compensation":
            names = {f.name: f for f in step.evidence}
            field = names.get(step.amount_field)
            if field is None or field.type not in ("money", "number"):
                yield Problem(
                    source,
                    f"{where}.evidence",
                    f"a compensation step needs a money evidence field named "
                    f"{step.amount_field!r} (the amount paid)",
                )

    tier_ids = {s.id for s in playbook.tier_steps}
    for i, rule in enumerate(playbook.cue_rules):
        for j, step_id in enumerate(rule.add_steps):
            if step_id not in tier_ids:
                yield Problem(
                    source,
                    f"cue_rules[{i}].add_steps[{j}]",
                    f"{step_id!r} is not declared in tier_steps",
                )
        if rule.when == type(rule.when)():
            yield Problem(source, f"cue_rules[{i}].when", "a cue rule needs at least one condition")
    used = {step_id for rule in playbook.cue_rules for step_id in rule.add_steps}
    for i, step in enumerate(playbook.tier_steps):
        if step.id not in used:
            yield Problem(
                source, f"tier_steps[{i}].id", f"{step.id!r} is not added by any cue rule"
            )
    for i, step_id in enumerate(playbook.close_requires or ()):
        if step_id not in seen:
            yield Problem(source, f"close_requires[{i}]", f"no step {step_id!r} in this playbook")


def _customer_text_problems(step: StepDef, where: str, source: str) -> Iterable[Problem]:
    """A step the customer is told about once done must also be told while still to do:
    otherwise a page or letter would word a step that has not happened as done."""
    if step.customer_text and not step.customer_next:
        yield Problem(
            source,
            f"{where}.customer_next",
            "a step with a customer_text (what was done) needs a customer_next (what we "
            "will do), so a step still to do is never told to the customer as done",
        )
    for language, translated in step.translations.items():
        if translated.customer_text and not translated.customer_next:
            yield Problem(
                source,
                f"{where}.translations.{language}.customer_next",
                f"the {language!r} customer_text needs a {language!r} customer_next too",
            )


def lint_playbook(playbook: Playbook, source: str) -> list[Problem]:
    """Warnings: what a valid playbook probably should say but need not (the playbook
    still loads). A compensation step without an effect never reaches the back office."""
    warnings = []
    for section, steps in (("steps", playbook.steps), ("tier_steps", playbook.tier_steps)):
        for i, step in enumerate(steps):
            if step.kind == "compensation" and step.effect is None:
                warnings.append(
                    Problem(
                        source,
                        f"{section}[{i}].effect",
                        f"compensation step {step.id!r} has no effect: what is paid never "
                        "reaches the back office (e.g. effect: post_payment)",
                    )
                )
    return warnings


def _kind_problems(kind: KindDef, where: str, source: str) -> Iterable[Problem]:
    states = set(kind.states)
    if kind.initial not in states:
        yield Problem(source, f"{where}.initial", f"{kind.initial!r} is not one of the states")
    for state in kind.resolved:
        if state not in states:
            yield Problem(source, f"{where}.resolved", f"{state!r} is not one of the states")
    for i, t in enumerate(kind.transitions):
        for state in [*t.sources(), t.dest]:
            if state not in states:
                yield Problem(
                    source, f"{where}.transitions[{i}]", f"{state!r} is not one of the states"
                )
    finishing = {t.trigger for t in kind.transitions} & set(FINISHING_ACTIONS)
    if not finishing:
        yield Problem(
            source,
            f"{where}.transitions",
            "a kind needs a 'complete' or 'send' trigger that finishes the step",
        )


def _evidence_problems(step: StepDef, where: str, source: str) -> Iterable[Problem]:
    names = {f.name: f for f in step.evidence}
    if len(names) != len(step.evidence):
        yield Problem(source, f"{where}.evidence", "evidence field names must be unique")
    for i, field in enumerate(step.evidence):
        if field.unless is not None:
            other = names.get(field.unless)
            if other is None or other.type != "bool":
                yield Problem(
                    source,
                    f"{where}.evidence[{i}].unless",
                    f"{field.unless!r} must name a bool field of the same evidence",
                )
            if field.max is None:
                yield Problem(
                    source, f"{where}.evidence[{i}].unless", "'unless' lifts 'max'; set 'max' too"
                )
        if field.type == "choice" and not field.choices:
            yield Problem(source, f"{where}.evidence[{i}].choices", "a choice field needs choices")


def _role_problems(playbook: Playbook, source: str) -> Iterable[Problem]:
    """Every role a playbook names is a staff role or a team it declares in `roles`: a typo
    (`frnt_desk`) would give a step to nobody or a limit to no one."""
    known = (*STAFF_ROLES, *playbook.roles)
    named: list[tuple[str, str]] = []
    for section, steps in (("steps", playbook.steps), ("tier_steps", playbook.tier_steps)):
        named.extend((f"{section}[{i}].owner", step.owner) for i, step in enumerate(steps))
    for i, rule in enumerate(playbook.cue_rules):
        named.extend((f"cue_rules[{i}].notify[{j}]", r) for j, r in enumerate(rule.notify))
    named.extend(
        (f"on_deadline_missed.notify[{j}]", r)
        for j, r in enumerate(playbook.on_deadline_missed.notify)
    )
    for where, role in named:
        if role not in known:
            yield Problem(source, where, _unknown_role(role, known, "declare a team in 'roles'"))
    paying = (*PAYING_ROLES, *playbook.roles)
    for role in playbook.limits:
        if role not in paying:
            yield Problem(
                source,
                f"limits.{role}",
                _unknown_role(role, paying, "limits apply to the roles that pay"),
            )
    for i, role in enumerate(playbook.roles):
        if role in STAFF_ROLES:
            yield Problem(source, f"roles[{i}]", f"{role!r} is a staff role; declare teams only")


def _unknown_role(role: str, known: tuple[str, ...], hint: str) -> str:
    close = difflib.get_close_matches(role, known, n=1)
    guess = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown role {role!r}; {guess}known: {', '.join(known)} ({hint})"


def _unfinishable(kind: KindDef, where: str, source: str) -> Iterable[Problem]:
    """A kind whose steps could never be done: no resolved state is reachable from its
    initial state, so an incident using it could never close."""
    reachable = {kind.initial}
    frontier = [kind.initial]
    while frontier:
        state = frontier.pop()
        for t in kind.transitions:
            if state in t.sources() and t.dest not in reachable:
                reachable.add(t.dest)
                frontier.append(t.dest)
    if not reachable & set(kind.resolved):
        yield Problem(
            source,
            f"{where}.resolved",
            f"no transition leads from {kind.initial!r} to a resolved state "
            f"({', '.join(kind.resolved)}): a step of this kind could never be done",
        )
