"""Personal data on request: erase a customer (or one incident), export what is held about
a customer, and erase what the retention period has passed (a mixin of `Recovery`).

Erasing an incident is one transaction: its `erased` event (who, when, why; never what) is
appended, its personal data key destroyed, its state row rewritten from a replay without
the key, and every plain copy elsewhere scrubbed (`IncidentTransaction.erase_personal`).
The events are not touched: their personal values stay sealed under a key that no longer
exists, so each chain still verifies and replays, redacted (`domain.personal`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from recovery.domain.apply import replay
from recovery.domain.commands import Actor, Context, Erase
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.decide import decide
from recovery.domain.figures import figures
from recovery.domain.personal import revealed
from recovery.domain.queries import next_due
from recovery.domain.retention import retention_cutoff
from recovery.domain.state import Event, IncidentState, iso
from recovery.errors import (
    CommandRejectedError,
    ConflictError,
    CustomerNotFoundError,
    IncidentNotFoundError,
    IntegrityError,
    PermissionDeniedError,
)
from recovery.service.ports import IncidentTransaction, Record, Storage
from recovery.service.ports.incidents import IncidentLog
from recovery.service.ports.reports import BY_RETENTION, ON_REQUEST, Erasure
from recovery.service.privacy_export import incident_export
from recovery.service.unit_of_work import Decision, IncidentUnitOfWork
from recovery.sites import Sites

ERASERS = frozenset({"admin", "system"})
"""Who may erase or export personal data: administrators, and the retention worker."""
RETENTION_WORKER = Actor(id="retention-worker", role="system")
RETENTION_REASON = "retention period ended"
MAX_REASON = 500
UNSEALED = (
    "incident {id} was not erased: its events hold its personal data unsealed (its chain "
    "was already broken when the database was upgraded to sealed personal data, migration "
    "0018), so destroying a key cannot erase them; `recovery audit verify {id}` shows where "
    "it breaks (README: Personal data)"
)
_PAGE = 100


@dataclass(frozen=True)
class CustomerErasure:
    """What erasing a customer did: the incidents erased now, and those erased before."""

    key: str
    erased: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    unsealed: list[str] = field(default_factory=list)
    """not erased: their events were never sealed (`UNSEALED`)"""

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "erased": self.erased,
            "already_erased": self.already,
            "unsealed": self.unsealed,
        }


class _Engine(Protocol):
    storage: Storage
    log: IncidentLog
    sites: Sites
    unit_of_work: IncidentUnitOfWork
    clock: Callable[[], datetime]

    def pinned_playbook(self, playbook_id: str, version: int) -> CompiledPlaybook: ...

    def playbook_of(self, state: IncidentState) -> CompiledPlaybook: ...


def _may_handle(actor: Actor, what: str) -> None:
    if actor.role not in ERASERS:
        raise PermissionDeniedError(
            f"only an admin may {what} personal data, not the {actor.role} role",
            plain=f"Only an administrator may {what} a customer's personal data.",
        )


def _key_of(key: str) -> str:
    key = key.strip()
    if not key or len(key) > 200:
        raise CommandRejectedError("a customer key is 1 to 200 characters", field="key")
    return key


def _reason_of(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason or len(reason) > MAX_REASON:
        raise CommandRejectedError(
            f"the reason for an erasure is 1 to {MAX_REASON} characters", field="reason"
        )
    return reason


class PersonalData:
    def erase_incident(
        self: _Engine, incident_id: str, *, actor: Actor, reason: str, channel: str = "api"
    ) -> bool:
        """Erase one incident's personal data; False if it was erased already;
        `UnsealedError` for an incident whose events were never sealed."""
        _may_handle(actor, "erase")
        return _erase(self, incident_id, actor, _reason_of(reason), channel)

    def erase_customer(
        self: _Engine, key: str, *, actor: Actor, reason: str, channel: str = "api"
    ) -> CustomerErasure:
        """Erase the personal data of every incident of the customer with this key (each
        incident in one transaction). `IncidentNotFoundError` naming the key when the
        customer has no incident. An incident whose events were never sealed is not
        erased, and is named in `unsealed`."""
        _may_handle(actor, "erase")
        key, reason = _key_of(key), _reason_of(reason)
        done = CustomerErasure(key)
        while True:  # erased incidents lose the key: each page holds only the rest
            found = self.log.customer_states(key, limit=_PAGE)
            if not found:
                break
            if all(state.id in done.unsealed for state in found):
                break
            for state in found:
                if state.id in done.unsealed:
                    continue
                try:
                    erased = _erase(self, state.id, actor, reason, channel)
                except UnsealedError:
                    done.unsealed.append(state.id)  # said in the reply; the rest go on
                    continue
                (done.erased if erased else done.already).append(state.id)
        if not done.erased and not done.already and not done.unsealed:
            raise CustomerNotFoundError(key)
        self.log.settle_erasure()
        return done

    def export_customer(self: _Engine, key: str, *, actor: Actor) -> dict[str, Any]:
        """Everything held about the customer with this key, machine-readable: each
        incident's profile, timeline (texts included), the timeline as the customer reads
        it in their language, letters and status links."""
        _may_handle(actor, "export")
        key = _key_of(key)
        states = self.log.customer_states(key, limit=1000)
        if not states:
            raise CustomerNotFoundError(key)
        return {
            "customer_key": key,
            "exported_at": iso(self.clock()),
            "incidents": [incident_export(self, state) for state in states],
        }


def erase_expired(
    engine: Any, *, default: str | None = None, now: datetime | None = None, limit: int = 100
) -> int:
    """Erase the personal data of incidents that ended longer ago than their playbook's
    `retention.personal_data` (else `default`, e.g. '24 months'; None: kept until erased
    on request); how many were erased now. Each is erased exactly once, whichever worker
    gets there first: its `erased` event is appended only at the version it was read at."""
    moment = now or engine.clock()
    erased = 0
    for compiled in engine.catalog.latest():
        rule = compiled.playbook.retention
        period = rule.personal_data if rule is not None else default
        if period is None:
            continue
        cutoff = iso(retention_cutoff(moment, period))
        for incident_id in engine.log.retention_due(compiled.playbook.id, cutoff, limit):
            try:
                if _erase(engine, incident_id, RETENTION_WORKER, RETENTION_REASON, "worker"):
                    erased += 1
            except ConflictError:
                continue  # it moved on (reopened, perhaps): looked at again next pass
    if erased:
        engine.log.settle_erasure()
    return erased


def _erase(engine: _Engine, incident_id: str, actor: Actor, reason: str, channel: str) -> bool:
    """One incident erased in one transaction; False if it was already."""
    rows = engine.log.raw_events(incident_id)
    if not rows:
        raise IncidentNotFoundError(incident_id)
    events = [revealed(Event.from_stored(row), None) for row in rows]
    compiled = engine.pinned_playbook(events[0].playbook_id, events[0].playbook_version)
    redacted = replay(compiled, events)  # the state as it reads without the key
    if redacted.erased_at is not None:
        return False
    if engine.log.personal_key(incident_id) is None:
        raise UnsealedError(UNSEALED.format(id=incident_id), incident_id=incident_id, seq=None)
    command = Erase(reason=reason)

    def decider(state: IncidentState) -> Decision:
        if state.erased_at is not None:
            raise _AlreadyErased()
        if state.version != redacted.version:
            raise ConflictError(
                f"incident {incident_id} moved on while it was being erased; erase it again",
                incident_id=incident_id,
                current_version=state.version,
            )
        ctx = Context(actor, channel, engine.clock())
        new_state, event = decide(compiled, redacted.clone(), command, ctx)
        return Decision(
            new_state, event, next_due(compiled, new_state), figures(compiled, new_state)
        )

    how = BY_RETENTION if actor.role == "system" else ON_REQUEST

    def scrub(tx: IncidentTransaction, record: Record) -> None:
        erasure = Erasure(record.event.recorded_at, how)
        tx.erase_personal(incident_id, f"erased:{secrets.token_hex(8)}", erasure)

    try:
        engine.unit_of_work.execute(incident_id, decider, also=scrub)
    except _AlreadyErased:
        return False
    return True


class UnsealedError(IntegrityError):
    """The incident's events were never sealed (`UNSEALED`): it cannot be erased."""


class _AlreadyErased(Exception):
    """Another process erased the incident first."""
