"""Incident state and recorded events: plain dataclasses, JSON round-trippable.

The event log is the truth; `IncidentState` is what replaying it produces, and the stored
snapshot row is a cache that replay must reproduce exactly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson

from recovery.domain.events import Payload, payload_of
from recovery.errors import IntegrityError

EVENT_SCHEMA_VERSION = 1
_T = TypeVar("_T")


def iso(moment: datetime) -> str:
    """The one text form of a moment: UTC, microseconds, 'Z'. Hashes depend on it."""
    if moment.tzinfo is None:
        return moment.isoformat(timespec="microseconds") + "Z"
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"  # without "+00:00"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _restore(cls: type[_T], fields: dict[str, Any]) -> _T:
    """Rebuild a dataclass from its own serialised fields without running __init__:
    the snapshot is read on every command, and it only ever holds what we wrote."""
    obj = object.__new__(cls)
    defaults = _defaults(cls)
    if not defaults.keys() <= fields.keys():
        obj.__dict__.update(defaults)
    obj.__dict__.update(fields)
    return obj


_DEFAULTS: dict[type, dict[str, Any]] = {}


def _defaults(cls: type) -> dict[str, Any]:
    """Field defaults, so snapshots written before a field existed still load."""
    found = _DEFAULTS.get(cls)
    if found is None:
        found = {
            f.name: f.default
            for f in dataclasses.fields(cls)
            if f.default is not dataclasses.MISSING
        }
        _DEFAULTS[cls] = found
    return found


@dataclass
class StepState:
    id: str
    kind: str
    title: str
    owner: str
    required: bool
    due_at: str
    status: str
    added_by: str | None = None
    resolved_at: str | None = None
    late: bool = False
    missed: bool = False
    pushed: int = 0
    evidence: dict[str, Any] = field(default_factory=dict)
    approval: dict[str, Any] | None = None

    def copy(self) -> StepState:
        """A copy to change: every field is reassigned on change, never mutated in place."""
        copy = object.__new__(StepState)
        copy.__dict__.update(self.__dict__)
        return copy


@dataclass
class IncidentState:
    id: str
    playbook_id: str
    playbook_version: int
    incident_type: str
    site: str
    status: str
    tier: int
    owner: str
    customer: dict[str, Any]
    cues: list[str]
    opened_at: str
    updated_at: str
    steps: dict[str, StepState]
    summary: str | None = None
    external_ref: str | None = None
    ended_at: str | None = None
    cue_rules_fired: list[str] = field(default_factory=list)
    pushes: int = 0
    handoffs: int = 0
    contacts: int = 0
    notes: int = 0
    escalations: int = 0
    release: dict[str, Any] | None = None
    version: int = 0
    customer_summary: str | None = None
    holds: dict[str, dict[str, str]] | None = None
    """steps on hold: step id -> {"since": moment, "reason": what we wait for}"""
    held_since: str | None = None
    """since when something has been on hold (None when nothing is)"""
    held_seconds: float = 0.0
    """time something was on hold, holds that ended"""
    erased_at: str | None = None
    """when its personal data was erased (`domain.personal`): it reads redacted since"""

    def to_json(self) -> bytes:
        return orjson.dumps(self)

    def clone(self) -> IncidentState:
        """A copy that `apply` may change without touching this one. `apply` reassigns
        fields, extends or sets keys of customer, cues, cue_rules_fired and steps (so
        those are copied), and copies a step before changing it (so steps are shared)."""
        copy = object.__new__(IncidentState)
        fields = copy.__dict__
        fields.update(self.__dict__)
        fields["customer"] = self.customer.copy()
        fields["cues"] = self.cues.copy()
        fields["cue_rules_fired"] = self.cue_rules_fired.copy()
        fields["steps"] = self.steps.copy()
        return copy

    @classmethod
    def from_json(cls, raw: bytes | str, incident_id: str = "") -> IncidentState:
        """The stored snapshot; `IntegrityError` (naming `incident_id`) when it is not one."""
        try:
            data = orjson.loads(raw)
            data["steps"] = {k: _restore(StepState, v) for k, v in data["steps"].items()}
        except (orjson.JSONDecodeError, TypeError, KeyError, AttributeError) as exc:
            where = f"incident {incident_id}" if incident_id else "an incident"
            raise IntegrityError(
                f"the stored state of {where} is not readable ({exc}); the events are the "
                f"truth: run `recovery audit verify {incident_id or '--all'}`",
                incident_id=incident_id,
                seq=None,
            ) from None
        return _restore(cls, data)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = orjson.loads(self.to_json())
        return result


@dataclass(frozen=True, init=False)
class Event:
    """One recorded fact about an incident; `hash` chains it to the one before."""

    incident_id: str
    seq: int
    type: str
    schema_version: int
    playbook_id: str
    playbook_version: int
    actor: str
    actor_role: str
    channel: str
    recorded_at: str
    data: dict[str, Any]
    prev_hash: str = ""
    hash: str = ""

    def __init__(
        self,
        incident_id: str,
        seq: int,
        type: str,
        schema_version: int,
        playbook_id: str,
        playbook_version: int,
        actor: str,
        actor_role: str,
        channel: str,
        recorded_at: str,
        data: dict[str, Any],
        prev_hash: str = "",
        hash: str = "",
    ) -> None:
        # The frozen dataclass __init__ sets each field through object.__setattr__; one
        # dict update costs a third of that, on every command and every row read back.
        self.__dict__.update(
            incident_id=incident_id,
            seq=seq,
            type=type,
            schema_version=schema_version,
            playbook_id=playbook_id,
            playbook_version=playbook_version,
            actor=actor,
            actor_role=actor_role,
            channel=channel,
            recorded_at=recorded_at,
            data=data,
            prev_hash=prev_hash,
            hash=hash,
        )

    def chained(self, prev_hash: str, digest: str) -> Event:
        """This event with its link to the one before and its own hash."""
        sealed = object.__new__(Event)  # skips the frozen __init__: one copy per command
        fields = sealed.__dict__
        fields.update(self.__dict__)
        fields["prev_hash"] = prev_hash
        fields["hash"] = digest
        return sealed

    @property
    def payload(self) -> Payload:
        """`data` read into the payload class of its type (`events.py`): data of an older
        schema version reads after `upcast`. LookupError or ValueError if it does not."""
        return payload_of(self.type, self.data)

    @classmethod
    def from_stored(cls, row: Any) -> Event:
        """An event from its stored fields (a mapping; data as JSON text, recorded_at in
        the ISO text form). `IntegrityError` naming the incident and position when the
        stored data is not a JSON object: the log is broken there, whoever reads it."""
        try:
            data = orjson.loads(row["data"])
        except orjson.JSONDecodeError as exc:
            raise unreadable_event(row["incident_id"], row["seq"], str(exc)) from None
        if not isinstance(data, dict):
            raise unreadable_event(row["incident_id"], row["seq"], "not a JSON object")
        return cls(
            incident_id=row["incident_id"],
            seq=row["seq"],
            type=row["type"],
            schema_version=row["schema_version"],
            playbook_id=row["playbook_id"],
            playbook_version=row["playbook_version"],
            actor=row["actor"],
            actor_role=row["actor_role"],
            channel=row["channel"],
            recorded_at=row["recorded_at"],
            data=data,
            prev_hash=row["prev_hash"],
            hash=row["hash"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id,
            "seq": self.seq,
            "type": self.type,
            "schema_version": self.schema_version,
            "playbook_id": self.playbook_id,
            "playbook_version": self.playbook_version,
            "actor": self.actor,
            "actor_role": self.actor_role,
            "channel": self.channel,
            "recorded_at": self.recorded_at,
            "data": self.data,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def unreadable_event(incident_id: str, seq: int, reason: str) -> IntegrityError:
    return IntegrityError(
        f"incident {incident_id}: the stored data of event {seq} is not readable ({reason}); "
        f"the history is broken from event {seq} on (`recovery audit verify {incident_id}` "
        "checks the whole chain)",
        incident_id=incident_id,
        seq=seq,
    )


EVENT_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Event))
"""An event's fields in order: the columns of the `events` table."""
