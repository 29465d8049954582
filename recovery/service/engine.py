"""`Recovery`: the engine's public Python API, one method per command or query.

Each command is one unit of work (`unit_of_work.py`): read the incident's head, decide
through the pinned compiled playbook, seal the event into the hash chain and append it with
the new state, in one transaction of the storage it was given; or change nothing and raise.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from recovery.catalog import Catalog
from recovery.domain.commands import (
    Actor,
    AddNote,
    Close,
    Context,
    Escalate,
    HandOff,
    Hold,
    IncidentCommand,
    MissDeadlines,
    OpenIncident,
    RecordContact,
    RecordPush,
    Release,
    Reopen,
    ReportCues,
    Resume,
    StepAction,
)
from recovery.domain.compiler import ACTIVE_STATES, CompiledPlaybook
from recovery.domain.decide import decide, decide_open
from recovery.domain.figures import figures
from recovery.domain.queries import next_due
from recovery.domain.search import query_keys
from recovery.domain.state import IncidentState, iso
from recovery.errors import (
    CommandRejectedError,
    ConflictError,
    NotAllowedNowError,
)
from recovery.letters.written import LETTER_ACTIONS
from recovery.service.board import MAX_PAGE_SIZE, PAGE_SIZE, decode_after, encode_after
from recovery.service.conflicts import explained, version_to_act_on
from recovery.service.customers import CustomerQueries
from recovery.service.history import HistoryQueries
from recovery.service.letters import LetterCommands
from recovery.service.once import Once
from recovery.service.playbooks import PinnedPlaybooks
from recovery.service.ports import Storage
from recovery.service.ports.reports import ReportFilter
from recovery.service.privacy import PersonalData
from recovery.service.reports import GroupBy, ReportRow, report_rows, with_erasures
from recovery.service.unit_of_work import Decision, IncidentUnitOfWork
from recovery.service.update_mail import UPDATE_EVENTS, queue_update_mail
from recovery.service.views import IncidentView, Outcome
from recovery.sites import Sites

__all__ = ["IncidentView", "Outcome", "Recovery"]  # with the views of service.views

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


class Recovery(LetterCommands, CustomerQueries, HistoryQueries, PersonalData):
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
        sites: Sites | None = None,
    ) -> None:
        self.storage = storage
        self.catalog = catalog if catalog is not None else Catalog.from_directory()
        self.sites = sites if sites is not None else Sites.from_directory()
        self.log = storage.incidents
        self.unit_of_work = IncidentUnitOfWork(storage.incidents)
        self.clock = clock
        self.new_id = new_id
        self.playbooks = PinnedPlaybooks(self.catalog, storage.incidents, clock)

    def dispose(self) -> None:
        self.storage.dispose()

    # ------------------------------------------------------------------ commands

    def open(
        self, command: OpenIncident, *, actor: Actor, channel: str = "api", once: Once | None = None
    ) -> Outcome:
        """Open an incident: every step of its playbook's bundle opens at once. `once`: the
        idempotency key it runs under (its reply is stored with the event)."""
        if command.playbook is not None:
            compiled = self.catalog.get(command.playbook)
        else:
            compiled = self.catalog.for_incident_type(command.incident_type)
        self.playbooks.register(compiled)
        ctx = Context(actor, channel, self.clock(), self.sites.calendar(command.site))
        history = self.history_for(compiled, command)
        state, event = decide_open(compiled, self.new_id(), command, ctx, history)
        keyed = once.keyed(lambda s, e: Outcome(self._view(compiled, s), e)) if once else None
        decision = Decision(state, event, next_due(compiled, state), figures(compiled, state))
        recorded = self.unit_of_work.create(decision, keyed)
        return Outcome(self._view(compiled, state), recorded)

    def execute(
        self,
        incident_id: str,
        command: IncidentCommand,
        *,
        actor: Actor,
        channel: str = "api",
        expected_version: int | None = None,
        once: Once | None = None,
    ) -> Outcome:
        """Run one command on an incident. `expected_version` refuses it if the incident
        moved on since the caller looked (optimistic concurrency), saying what changed;
        `once`: the idempotency key it runs under."""
        compiled_of: list[CompiledPlaybook] = []

        def decider(state: IncidentState) -> Decision:
            compiled = self.playbook_of(state)
            compiled_of.append(compiled)
            ctx = Context(actor, channel, self.clock(), self.sites.calendar(state.site))
            new_state, event = decide(compiled, state, command, ctx)
            return Decision(
                new_state, event, next_due(compiled, new_state), figures(compiled, new_state)
            )

        keyed = None
        if once is not None:
            keyed = once.keyed(lambda s, e: Outcome(self._view(compiled_of[-1], s), e))
        try:
            state, event = self.unit_of_work.execute(incident_id, decider, expected_version, keyed)
        except ConflictError as error:
            raise explained(error, self.log, self.pinned_playbook, expected_version) from None
        if event.type in UPDATE_EVENTS:  # the customer may be told by e-mail too
            queue_update_mail(self.storage.letters, state, event, self.clock())
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
        note: str | None = None,
        recipient: str | None = None,
        locale: str | None = None,
        once: Once | None = None,
        seen_version: int | None = None,
    ) -> Outcome:
        """Any step action, for every caller. On a step whose kind sends letters, `draft`
        and `request_send` are the letter's commands (`draft_letter` with `note`,
        `request_letter` with `recipient` and `locale`): the voucher is drawn, the letter
        rendered and queued. `seen_version` (the version a page showed) refuses it only
        if what was recorded since touched this step (`service.conflicts`)."""
        if seen_version is not None and expected_version is None:
            expected_version = version_to_act_on(
                self.log, self.pinned_playbook, incident_id, step, seen_version
            )
        if action in LETTER_ACTIONS:
            letter = self._letter_action(
                incident_id,
                step,
                action,
                actor=actor,
                channel=channel,
                expected_version=expected_version,
                evidence=evidence,
                note=note,
                recipient=recipient,
                locale=locale,
                once=once,
            )
            if letter is not None:
                return letter
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
            incident_id,
            command,
            actor=actor,
            channel=channel,
            expected_version=expected_version,
            once=once,
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

    def hold(self, incident_id: str, reason: str, step: str | None = None, **kw: Any) -> Outcome:
        """Stop the clock of a step (or every open step) while we wait for the customer."""
        return self.execute(incident_id, build(Hold, reason=reason, step=step), **kw)

    def resume(self, incident_id: str, step: str | None = None, **kw: Any) -> Outcome:
        """Start it again: each deadline moves by the time held (business time if it is)."""
        return self.execute(incident_id, build(Resume, step=step), **kw)

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

    def board_page(
        self,
        *,
        statuses: Sequence[str] | None = ACTIVE_STATES,
        site: str | None = None,
        sites: Sequence[str] | None = None,
        playbook: str | None = None,
        owner: str | None = None,
        after: str | None = None,
        limit: int = PAGE_SIZE,
    ) -> tuple[list[IncidentView], str | None]:
        """A page of `list_incidents`' order after the cursor `after`, and the cursor of the
        next page (None: this is the last)."""
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        start = None if after is None else decode_after(after)
        found = self.log.page_states(
            statuses=statuses, site=site, sites=sites, playbook_id=playbook, owner=owner,
            after=start, limit=limit + 1,
        )  # fmt: skip
        more = len(found) > limit
        found = found[:limit]
        nxt = encode_after((found[-1][1], found[-1][0].id)) if more else None
        return [self._view(self.playbook_of(s), s) for s, _due in found], nxt

    def search(
        self, query: str, *, sites: Sequence[str] | None = None, limit: int = 50
    ) -> list[IncidentView]:
        """Incidents open or ended whose customer name (or a word of it), contact (e-mail,
        phone digits), id or external reference starts with `query`, case ignored; at
        `sites` (None: every property). Fewer than 2 characters find nothing."""
        states = self.log.search(query_keys(query), sites=sites, limit=limit)
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
        where = ReportFilter(site, sites, playbook, since, until)  # summed by the storage
        totals = with_erasures(
            self.log.report_totals(by, where), self.log.erasure_totals(by, where)
        )
        return report_rows(by, totals)

    # ------------------------------------------------------------------ playbooks

    def playbook_of(self, state: IncidentState) -> CompiledPlaybook:
        return self.playbooks.pinned(state.playbook_id, state.playbook_version)

    def pinned_playbook(self, playbook_id: str, version: int) -> CompiledPlaybook:
        """The version an incident pinned; retired versions are rebuilt from the stored
        definition."""
        return self.playbooks.pinned(playbook_id, version)

    # ------------------------------------------------------------------ helpers

    def _view(self, compiled: CompiledPlaybook, state: IncidentState) -> IncidentView:
        return IncidentView(compiled, state)
