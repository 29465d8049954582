"""A playbook's words in more languages: a step's customer texts and staff texts, and the
playbook's own title, teams and cues (English in the playbook itself is the fallback)."""

from __future__ import annotations

from pydantic import Field

from recovery.domain.playbook_types import Identifier, Label, Prose, _Strict

# The languages a playbook may be translated into: the staff pages' and the letters' (its
# own words are English, the fallback).
LANGUAGES = ("da", "id")
# What a translation says that only staff read (left out of the playbook's digest: words
# on a page change no incident's rules, so a translation is fixed without a new version).
STAFF_TEXTS = ("title", "description", "labels", "help", "choices")


class StepTranslation(_Strict):
    """A step's texts in one more language: the customer's (letters, status page) and the
    staff's (the pages: title, description, and its evidence fields' labels, help and
    choices by field name)."""

    customer_text: Prose | None = None
    customer_next: Prose | None = None
    title: Label | None = Field(default=None, min_length=1)
    description: Prose | None = None
    labels: dict[Identifier, Label] = Field(
        default_factory=dict, max_length=200, description="evidence labels, by field name"
    )
    help: dict[Identifier, Prose] = Field(
        default_factory=dict, max_length=200, description="evidence help, by field name"
    )
    choices: dict[Identifier, dict[Label, Label]] = Field(
        default_factory=dict,
        max_length=200,
        description="a choice field's options as staff read them (the value stays as is)",
    )


class PlaybookTranslation(_Strict):
    """The playbook's own words in one more language (staff pages): its title and
    description, the teams it names (`roles`) and the cues its rules listen for, by code."""

    title: Label | None = Field(default=None, min_length=1)
    description: Prose | None = None
    roles: dict[Identifier, Label] = Field(
        default_factory=dict, max_length=100, description="team names, by role code"
    )
    cues: dict[Identifier, Label] = Field(
        default_factory=dict, max_length=200, description="cue names, by cue code"
    )
