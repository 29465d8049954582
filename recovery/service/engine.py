"""`Recovery`: the engine's public Python API, one method per command or query.

Each command is one transaction: load the incident's row, decide through the pinned
compiled playbook, append the event and update the row, or change nothing and raise.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from recovery.catalog import Catalog
from recovery.domain.apply import replay
from recovery.domain.commands import (
    Actor,
    AddNote,
    Close,
    Escalate,
    HandOff,
    IncidentCommand,
    MissDeadlines,
    OpenIncident,
    RecordContact,
    RecordPush,
    Release,
    Reopen,
    ReportCues,
    StepAction,
)
from recovery.domain.compiler import ACTIVE_STATES, CompiledPlaybook
from recovery.domain.decide import Context, decide, decide_open
from recovery.domain.queries import allowed_actions, eta, next_due, pending_for_close
from recovery.domain.state import Event, IncidentState, iso
from recovery.errors import (
    CommandRejectedError,
    ConflictError,
    IncidentNotFoundError,
    NotAllowedNowError,
    PlaybookError,
    Problem,
    UnknownPlaybookError,
)
from recovery.service.audit import Verification, verify_incident
from recovery.service.ports import Storage
from recovery.service.reports import GroupBy, ReportRow, build_report, in_period
from recovery.service.unit_of_work import Decision, IncidentUnitOfWork

Clock = Callable[[], datetime]
C = TypeVar("C", bound=BaseModel)
DEADLINE_WORKER = Actor(id="deadline-worker", role="system")


def build(command: type[C], **fields: Any) -> C:
    """A command from keyword arguments; bad input becomes a `CommandRejectedError` that
    names the field, like every other refusal."""
    try:
        return command(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise CommandRejectedError(f"{field}: {first['msg']}", field=field) from None


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_incident_id() -> str:
    return f"inc_{uuid.uuid4().hex}"


class IncidentView:
    """An incident as callers see it: state, what can be done now, and by when.

    The state is the one recorded; treat it as read-only. What can be done and by when are
    worked out from it when first asked for (a caller that only records pays nothing)."""

    def __init__(self, compiled: CompiledPlaybook, state: IncidentState) -> None:
        self._compiled = compiled
        self.state = state

    @functools.cached_property
    def allowed(self) -> list[str]:
        return allowed_actions(self._compiled, self.state)

    @functools.cached_property
    def eta(self) -> str | None:
        return eta(self._compiled, self.state) if self.state.status in ACTIVE_STATES else None

    @functools.cached_property
    def pending_for_close(self) -> list[str]:
        return pending_for_close(self._compiled, self.state)

    @property
    def id(self) -> str:
        return self.state.id

    @property
    def status(self) -> str:
        return self.state.status

    @property
    def version(self) -> int:
        return self.state.version

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = orjson.loads(self.to_json())
        return result

    def to_json(self) -> bytes:
        return orjson.dumps(self._serialisable())

    def _serialisable(self) -> dict[str, Any]:
        # orjson writes the state's dataclasses itself: no intermediate dicts.
        return {
            **vars(self.state),
            "allowed": self.allowed,
            "eta": self.eta,
            "pending_for_close": self.pending_for_close,
        }


@dataclass(frozen=True)
class Outcome:
    """The result of a successful command: the incident after it, and the event recorded."""

    incident: IncidentView
    event: Event

    @property
    def id(self) -> str:
        return self.incident.id

    def to_dict(self) -> dict[str, Any]:
        return {"incident": self.incident.to_dict(), "event": self.event.to_dict()}

    def to_json(self) -> bytes:
        """`to_dict()` as JSON bytes, written in one pass."""
        return orjson.dumps({"incident": self.incident._serialisable(), "event": self.event})


class Recovery:
    """The service-recovery engine bound to one database and one playbook catalog.

    >>> rec = recovery.connect("sqlite:///recovery.db")
    >>> out = rec.open(OpenIncident(...), actor=Actor(id="ana", role="front_desk"))
    """

    def __init__(
        self,
        storage: Storage,
        catalog: Catalog | None = None,
        *,
        clock: Clock = utc_now,
        new_id: Callable[[], str] = new_incident_id,
    ) -> None:
        self.storage = storage
        # Bridge while the last adapters move into storage; nothing new may use it.
        self.engine: Any = getattr(storage, "engine", None)
        self.catalog = catalog if catalog is not None else Catalog.from_directory()
        self.log = storage.incidents
        self.unit_of_work = IncidentUnitOfWork(storage.incidents)
        self.clock = clock
        self.new_id = new_id
        self._registered: set[tuple[str, int]] = set()
        # Playbook versions incidents were opened with, resolved and registered: every
        # command looks its incident's one up.
        self._pinned: dict[tuple[str, int], CompiledPlaybook] = {}

    def dispose(self) -> None:
        self.storage.dispose()

    # ------------------------------------------------------------------ commands

    def open(self, command: OpenIncident, *, actor: Actor, channel: str = "api") -> Outcome:
        """Open an incident: every step of its playbook's bundle opens at once."""
        if command.playbook is not None:
            compiled = self.catalog.get(command.playbook)
        else:
            compiled = self.catalog.for_incident_type(command.incident_type)
        self._register(compiled)
        ctx = Context(actor=actor, channel=channel, now=self.clock())
        state, event = decide_open(compiled, self.new_id(), command, ctx)
        recorded = self.unit_of_work.create(Decision(state, event, next_due(compiled, state)))
        return Outcome(self._view(compiled, state), recorded)

    def execute(
        self,
        incident_id: str,
        command: IncidentCommand,
        *,
        actor: Actor,
        channel: str = "api",
        expected_version: int | None = None,
    ) -> Outcome:
        """Run one command on an incident. `expected_version` refuses it if the incident
        moved on since the caller looked (optimistic concurrency)."""
        compiled_of: list[CompiledPlaybook] = []

        def decider(state: IncidentState) -> Decision:
            compiled = self.playbook_of(state)
            compiled_of.append(compiled)
            ctx = Context(actor=actor, channel=channel, now=self.clock())
            new_state, event = decide(compiled, state, command, ctx)
            return Decision(new_state, event, next_due(compiled, new_state))

        state, event = self.unit_of_work.execute(incident_id, decider, expected_version)
        return Outcome(self._view(compiled_of[-1], state), event)

    def act_on_step(
        self,
        incident_id: str,
        step: str,
        action: str,
        *,
        actor: Actor,
        channel: str = "api",
        evidence: dict[str, Any] | None = None,
        reason: str | None = None,
        amount: float | None = None,
        alternatives: Sequence[str] = (),
        expected_version: int | None = None,
    ) -> Outcome:
        command = build(
            StepAction,
            step=step,
            name=action,
            evidence=evidence or {},
            reason=reason,
            amount=amount,
            alternatives=list(alternatives),
        )
        return self.execute(
            incident_id, command, actor=actor, channel=channel, expected_version=expected_version
        )

    def complete_step(
        self, incident_id: str, step: str, evidence: dict[str, Any] | None = None, **kw: Any
    ) -> Outcome:
        return self.act_on_step(incident_id, step, "complete", evidence=evidence, **kw)

    def waive_step(self, incident_id: str, step: str, reason: str, **kw: Any) -> Outcome:
        return self.act_on_step(incident_id, step, "waive", reason=reason, **kw)

    def request_approval(self, incident_id: str, step: str, amount: float, **kw: Any) -> Outcome:
        return self.act_on_step(incident_id, step, "request_approval", amount=amount, **kw)

    def grant_approval(self, incident_id: str, step: str, **kw: Any) -> Outcome:
        return self.act_on_step(incident_id, step, "grant_approval", **kw)

    def deny_approval(
        self, incident_id: str, step: str, alternatives: Sequence[str], **kw: Any
    ) -> Outcome:
        return self.act_on_step(incident_id, step, "deny_approval", alternatives=alternatives, **kw)

    def record_push(
        self, incident_id: str, asked_for: str, step: str | None = None, **kw: Any
    ) -> Outcome:
        return self.execute(incident_id, build(RecordPush, asked_for=asked_for, step=step), **kw)

    def record_contact(
        self, incident_id: str, via: str, direction: str, summary: str, **kw: Any
    ) -> Outcome:
        """Record a contact with the customer `via` a channel (phone, email, desk, ...)."""
        command = build(RecordContact, channel=via, direction=direction, summary=summary)
        return self.execute(incident_id, command, **kw)

    def report_cues(self, incident_id: str, cues: Sequence[str], **kw: Any) -> Outcome:
        return self.execute(incident_id, build(ReportCues, cues=list(cues)), **kw)

    def hand_off(self, incident_id: str, to: str, context: str, **kw: Any) -> Outcome:
        return self.execute(incident_id, build(HandOff, to=to, context=context), **kw)

    def add_note(self, incident_id: str, text: str, **kw: Any) -> Outcome:
        return self.execute(incident_id, build(AddNote, text=text), **kw)

    def escalate(self, incident_id: str, reason: str, **kw: Any) -> Outcome:
        return self.execute(incident_id, build(Escalate, reason=reason), **kw)

    def release(self, incident_id: str, reason: str, referral: str, **kw: Any) -> Outcome:
        return self.execute(incident_id, build(Release, reason=reason, referral=referral), **kw)

    def close(self, incident_id: str, summary: str | None = None, **kw: Any) -> Outcome:
        return self.execute(incident_id, build(Close, summary=summary), **kw)

    def reopen(self, incident_id: str, reason: str, **kw: Any) -> Outcome:
        return self.execute(incident_id, build(Reopen, reason=reason), **kw)

    def sweep_deadlines(self, *, limit: int = 100) -> list[Outcome]:
        """Record every passed deadline once and escalate as each playbook says.

        Safe to run from any number of workers at once: the incident's version decides who
        records a miss, and a step already recorded as missed is never recorded again."""
        outcomes = []
        for incident_id in self.log.due_incident_ids(iso(self.clock()), limit):
            try:
                outcomes.append(
                    self.execute(
                        incident_id, MissDeadlines(), actor=DEADLINE_WORKER, channel="worker"
                    )
                )
            except (NotAllowedNowError, ConflictError):
                continue  # another worker recorded it first, or a step was just completed
        return outcomes

    # ------------------------------------------------------------------ queries

    def get(self, incident_id: str) -> IncidentView:
        state, _head = self.log.load(incident_id)
        return self._view(self.playbook_of(state), state)

    def list_incidents(
        self,
        *,
        active_only: bool = True,
        site: str | None = None,
        sites: Sequence[str] | None = None,
        playbook: str | None = None,
        owner: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[IncidentView]:
        """Incidents ordered by the nearest deadline (active ones by default)."""
        states = self.log.list_states(
            statuses=ACTIVE_STATES if active_only else None,
            site=site,
            sites=sites,
            playbook_id=playbook,
            owner=owner,
            limit=limit,
            offset=offset,
        )
        return [self._view(self.playbook_of(s), s) for s in states]

    def report(
        self,
        *,
        by: GroupBy = "site_playbook",
        site: str | None = None,
        sites: Sequence[str] | None = None,
        playbook: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ReportRow]:
        """How recovery was delivered: score, pushes, handoffs, deadlines kept, ..."""
        states = (
            s
            for s in self.log.iter_states(site=site, sites=sites, playbook_id=playbook)
            if in_period(s, since, until)
        )
        return build_report(states, self.playbook_of, by=by)

    def timeline(self, incident_id: str) -> list[Event]:
        found = self.log.events(incident_id)
        if not found:
            raise IncidentNotFoundError(incident_id)
        return found

    def replay(
        self, incident_id: str, *, at_seq: int | None = None, at_time: datetime | None = None
    ) -> IncidentState:
        """The incident's state as it was after event `at_seq` or at moment `at_time`."""
        found = self.log.events(
            incident_id, upto_seq=at_seq, upto_time=iso(at_time) if at_time else None
        )
        if not found:
            self.log.load(incident_id)  # raises IncidentNotFoundError if it never existed
            raise CommandRejectedError(
                f"incident {incident_id} did not exist yet at that moment", field="at"
            )
        compiled = self.pinned_playbook(found[0].playbook_id, found[0].playbook_version)
        return replay(compiled, found)

    def verify(self, incident_id: str) -> Verification:
        state, head_hash = self.log.load(incident_id)
        rows = self.log.raw_events(incident_id)
        compiled = self.playbook_of(state)
        return verify_incident(incident_id, rows, state, head_hash, compiled)

    def verify_all(self) -> list[Verification]:
        """Every incident's chain and strict replay, read in one streamed pass."""
        from recovery.audit.verify import Auditor  # the audit package builds on this one

        return [
            Verification(r.incident_id, r.ok, r.events, r.broken_seq, r.problem)
            for r in Auditor.of(self).results()
        ]

    def outbox(self, incident_id: str | None = None) -> list[dict[str, Any]]:
        return self.log.outbox_messages(incident_id)

    # ------------------------------------------------------------------ playbooks

    def playbook_of(self, state: IncidentState) -> CompiledPlaybook:
        return self.pinned_playbook(state.playbook_id, state.playbook_version)

    def pinned_playbook(self, playbook_id: str, version: int) -> CompiledPlaybook:
        """The pinned version; retired versions are rebuilt from the stored definition."""
        compiled = self._pinned.get((playbook_id, version))
        if compiled is not None:
            return compiled
        compiled = self._load_pinned(playbook_id, version)
        self._pinned[compiled.key] = compiled
        return compiled

    def _load_pinned(self, playbook_id: str, version: int) -> CompiledPlaybook:
        if self.catalog.has(playbook_id, version):
            compiled = self.catalog.get(playbook_id, version)
            self._register(compiled)
            return compiled
        definition = self.log.stored_definition(playbook_id, version)
        if definition is None:
            raise UnknownPlaybookError(
                f"playbook {playbook_id!r} version {version} is neither loaded nor stored"
            )
        compiled = self.catalog.add_definition(definition, f"database:{playbook_id}@v{version}")
        self._registered.add(compiled.key)
        return compiled

    def _register(self, compiled: CompiledPlaybook) -> None:
        """Store each version's definition once, and refuse a file changed without a version
        bump: incidents recorded under a version must keep exactly its rules."""
        if compiled.key in self._registered:
            return
        playbook = compiled.playbook
        stored_digest = self.log.register_playbook(
            playbook.id,
            playbook.version,
            compiled.digest,
            playbook.model_dump(mode="json", exclude_defaults=True),
            iso(self.clock()),
        )
        if stored_digest is not None and stored_digest != compiled.digest:
            raise PlaybookError(
                [
                    Problem(
                        self.catalog.source_of(*compiled.key),
                        "version",
                        f"{playbook.id} v{playbook.version} differs from the version "
                        "already used by recorded incidents; bump 'version'",
                    )
                ]
            )
        self._registered.add(compiled.key)

    # ------------------------------------------------------------------ helpers

    def _view(self, compiled: CompiledPlaybook, state: IncidentState) -> IncidentView:
        return IncidentView(compiled, state)
