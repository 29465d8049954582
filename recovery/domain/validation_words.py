"""A playbook's words in other languages, checked: only the languages we speak, only the
fields, choices, teams and cues the playbook has (errors, located); and what a language
leaves out (warnings: the pages show the English there)."""

from __future__ import annotations

from collections.abc import Iterable

from recovery.domain.playbook import EvidenceField, KindDef, Playbook, StepDef
from recovery.domain.playbook_translations import LANGUAGES
from recovery.errors import Problem

__all__ = [
    "missing_translations",
    "playbook_translation_problems",
    "step_fields",
    "step_translation_problems",
]


def playbook_translation_problems(playbook: Playbook, source: str) -> Iterable[Problem]:
    """The playbook's own translations: known languages, declared teams, listened cues."""
    cues = {c for rule in playbook.cue_rules for c in rule.when.cues_any or ()}
    for language, own in playbook.translations.items():
        if language not in LANGUAGES:
            yield Problem(source, f"translations.{language}", _unknown_language(language))
            continue
        for role in own.roles:
            if role not in playbook.roles:
                yield Problem(
                    source,
                    f"translations.{language}.roles.{role}",
                    f"{role!r} is not a team this playbook declares in 'roles' "
                    f"({', '.join(playbook.roles) or 'none'}); staff roles are translated "
                    "with the pages",
                )
        for cue in own.cues:
            if cue not in cues:
                yield Problem(
                    source,
                    f"translations.{language}.cues.{cue}",
                    f"no cue rule listens for {cue!r} ({', '.join(sorted(cues)) or 'none'})",
                )


def _unknown_language(language: str) -> str:
    return (
        f"unknown language {language!r}; a playbook is translated into "
        f"{', '.join(LANGUAGES)} (its own words are the English)"
    )


def step_fields(step: StepDef, kind: KindDef) -> dict[str, EvidenceField]:
    """Every evidence field a step asks for, by any of its actions (its lifecycle's too)."""
    fields = {f.name: f for action in kind.evidence.values() for f in action}
    fields.update((f.name, f) for f in step.evidence)
    return fields


def step_translation_problems(
    step: StepDef, kind: KindDef, where: str, source: str
) -> Iterable[Problem]:
    """A translation names a language we speak, and only evidence fields (and choices)
    the step has: a label for a field that does not exist is a typo, never shown."""
    fields = step_fields(step, kind)
    known = ", ".join(sorted(fields)) or "none"
    for language, translated in step.translations.items():
        here = f"{where}.translations.{language}"
        if language not in LANGUAGES:
            yield Problem(source, here, _unknown_language(language))
            continue
        for part in ("labels", "help", "choices"):
            for name in getattr(translated, part):
                if name not in fields:
                    yield Problem(
                        source,
                        f"{here}.{part}.{name}",
                        f"step {step.id!r} has no evidence field {name!r} (its fields: {known})",
                    )
        for name, options in translated.choices.items():
            field = fields.get(name)
            if field is None:
                continue
            for value in options:
                if value not in (field.choices or ()):
                    yield Problem(
                        source,
                        f"{here}.choices.{name}.{value}",
                        f"{value!r} is not one of the choices of {name!r} "
                        f"({', '.join(field.choices or ()) or 'none'})",
                    )


def missing_translations(playbook: Playbook, source: str) -> list[Problem]:
    """Warnings: staff texts a language lacks (the pages show the English instead), one
    per step and language, naming what is missing."""
    return list(_missing_translations(playbook, source))


def _missing_translations(playbook: Playbook, source: str) -> Iterable[Problem]:
    for language in LANGUAGES:
        own = playbook.translations.get(language)
        if own is None or not own.title:
            yield Problem(
                source, f"translations.{language}.title", f"no {language!r} title (English shown)"
            )
        cues = {c for rule in playbook.cue_rules for c in rule.when.cues_any or ()}
        unnamed = [
            *(f"roles.{r}" for r in playbook.roles if not (own and r in own.roles)),
            *(f"cues.{c}" for c in sorted(cues) if not (own and c in own.cues)),
        ]
        if unnamed:
            yield Problem(
                source,
                f"translations.{language}",
                f"no {language!r} {', '.join(unnamed)} (English shown)",
            )
        for section, steps in (("steps", playbook.steps), ("tier_steps", playbook.tier_steps)):
            for i, step in enumerate(steps):
                found = step.translations.get(language)
                missing = [] if found is not None and found.title else ["title"]
                if step.description and not (found and found.description):
                    missing.append("description")
                labelled = [f.name for f in step.evidence if f.label]
                missing += [
                    f"labels.{name}" for name in labelled if not (found and name in found.labels)
                ]
                if missing:
                    yield Problem(
                        source,
                        f"{section}[{i}].translations.{language}",
                        f"no {language!r} {', '.join(missing)} (English shown)",
                    )
