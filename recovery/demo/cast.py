"""Who acts in the demo's stories, and the shapes a story is written in (acts, letters)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recovery.domain.commands import (
    Actor,
    IncidentCommand,
    OpenIncident,
    RecordPush,
    StepAction,
)

# Ribe Central hotel: the right way, and the old way on another day.
ANA = Actor(id="ana.holm", role="front_desk")
MADS = Actor(id="mads.kristensen", role="manager")
JESPER = Actor(id="jesper.lund", role="front_desk")
HENRIK = Actor(id="henrik.bach", role="manager")
# The transit operator's phone line and pass team.
JONAS = Actor(id="jonas.berg", role="front_desk")
KARIN = Actor(id="karin.dahl", role="front_desk")
# The mobile carrier's retention desk.
LINE = Actor(id="line.moller", role="front_desk")
SARA = Actor(id="sara.friis", role="manager")
NIELS = Actor(id="niels.bak", role="loyalty_team")
# The energy supplier's complaints team.
KARIM = Actor(id="karim.haddad", role="complaints_team")


@dataclass(frozen=True)
class DraftLetter:
    """Draft a written step's letter (issuing its voucher) with a personal note."""

    step: str
    note: str


@dataclass(frozen=True)
class SendLetter:
    """Queue the letter for the mailer (to the customer's contact)."""

    step: str


@dataclass(frozen=True)
class MailerPass:
    """The mail worker runs: the letter is accepted and the step recorded as sent."""


@dataclass(frozen=True)
class Act:
    """One thing that happens in a story, `minutes` after the incident was opened."""

    minutes: float
    actor: Actor
    channel: str
    command: IncidentCommand | DraftLetter | SendLetter | MailerPass


@dataclass(frozen=True)
class Story:
    key: str
    title: str
    started_minutes_ago: float
    opener: Actor
    channel: str
    incident: OpenIncident
    acts: tuple[Act, ...]


def step(step: str, action: str = "complete", **evidence: Any) -> StepAction:
    return StepAction(step=step, name=action, evidence=evidence)


def push(asked_for: str, step: str) -> RecordPush:
    return RecordPush(asked_for=asked_for, step=step)
