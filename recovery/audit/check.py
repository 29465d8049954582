"""One incident's rows checked: a fast path that only decides "verifies", else the reference.

The fast path folds the rows as they come (hash chain, head pointer, replay through the
pinned playbook, state compared with the stored one) with as little per-event work as it
can. Whenever it does not decide "verifies", `incident.verify_incident` (what
`Recovery.verify` runs) runs on the same rows, so a broken incident is reported with
exactly the reference's first broken position and problem.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from recovery.audit.incident import Verification, check_chain, verify_incident
from recovery.audit.ports import (
    DATA,
    HASH,
    PLAYBOOK,
    PLAYBOOK_VERSION,
    SCHEMA,
    SEQ,
    TYPE,
    Row,
)
from recovery.domain.apply import apply, apply_change
from recovery.domain.chain import GENESIS
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.personal import BOX, decode_key, reveal
from recovery.domain.state import EVENT_FIELDS, EVENT_SCHEMA_VERSION, Event, IncidentState
from recovery.domain.upcast import upcast
from recovery.errors import IntegrityError, RecoveryError, StorageError

Resolver = Callable[[str, int], CompiledPlaybook]
"""The compiled playbook an incident is pinned to, by (playbook_id, version)."""


@dataclass(frozen=True)
class AuditResult(Verification):
    """A verification, plus the chain's stored head and (if asked) the hash at one seq."""

    head_hash: str | None = None
    pinned_hash: str | None = None


class Playbooks:
    """Compiled playbooks by (id, version), each resolved once per pass."""

    def __init__(self, resolve: Resolver) -> None:
        self._resolve = resolve
        self._cache: dict[tuple[str, int], CompiledPlaybook] = {}

    def get(self, playbook_id: str, version: int) -> CompiledPlaybook:
        key = (playbook_id, version)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._resolve(playbook_id, version)
        return found


IsoText = Callable[[Any], str]
"""Turns a row's timestamp into the ISO text form the chain hashes (`AuditRows.iso_text`)."""


def check_incident(
    incident_id: str,
    state_row: Row | None,
    events: list[Row],
    playbooks: Playbooks,
    pins: Mapping[str, int] | None,
    iso_text: IsoText,
) -> AuditResult:
    """The verification of one incident from its state row (None if it is missing) and
    its events in seq order; `pins` asks for the stored hash at one seq."""
    head = events[-1][HASH] if events else None
    pinned = None
    if pins is not None and incident_id in pins:
        at = pins[incident_id]
        pinned = next((e[HASH] for e in events if e[SEQ] == at), None)
    if state_row is None:
        problem = "events are recorded for an incident whose state row is missing"
        return AuditResult(incident_id, False, len(events), None, problem, None, head, pinned)
    try:
        compiled = playbooks.get(state_row[PLAYBOOK], state_row[PLAYBOOK_VERSION])
    except StorageError:
        raise
    except (RecoveryError, LookupError, ValueError, TypeError) as exc:  # an unusable playbook
        problem = f"cannot replay: {exc}"
        return AuditResult(incident_id, False, len(events), None, problem, None, head, pinned)
    try:
        key = decode_key(state_row[TYPE])
    except (ValueError, TypeError) as exc:
        problem = f"the incident's personal data key is not readable ({exc})"
        return AuditResult(incident_id, False, len(events), None, problem, None, head, pinned)
    state = _verifies(incident_id, state_row, events, compiled, iso_text, key)
    if state is not None:
        return AuditResult(
            incident_id, True, len(events), None, None, state.erased_at, head, pinned
        )
    found = _reference(incident_id, state_row, events, compiled, iso_text, key)
    return AuditResult(
        incident_id,
        found.ok,
        found.events,
        found.broken_seq,
        found.problem,
        found.erased_at,
        head,
        pinned,
    )


def _verifies(
    incident_id: str,
    state_row: Row,
    events: list[Row],
    compiled: CompiledPlaybook,
    iso_text: IsoText,
    key: bytes | None,
) -> IncidentState | None:
    """The fast path: the replayed state only if the reference would find nothing wrong
    either (else None)."""
    sha256, dumps, loads = hashlib.sha256, orjson.dumps, orjson.loads
    make_event = _make_event
    prev = GENESIS
    state: IncidentState | None = None
    expected = 0
    try:
        for _, _, seq, type_, schema, pb, pb_v, actor, role, channel, at, data, link, h in events:
            expected += 1
            if seq != expected or link != prev:
                return None
            # The embedded database's stored form rewritten in place, as `iso_text` does
            # (no call per event); anything but the ISO form goes through it.
            if len(at) == 26 and at[10] == " ":
                at = f"{at[:10]}T{at[11:]}Z"
            elif len(at) != 27 or at[10] != "T" or at[26] != "Z":
                at = iso_text(at)
            header = dumps(
                [prev, incident_id, seq, type_, schema, pb, pb_v, actor, role, channel, at]
            )
            if sha256(header + b"\n" + data.encode()).hexdigest() != h:
                return None
            prev = h
            if schema == EVENT_SCHEMA_VERSION and type_ != "opened":  # no Event needed
                stored = loads(data)
                if BOX in stored:
                    stored = reveal(stored, key, incident_id, seq)
                state = apply_change(
                    compiled, state, incident_id, seq, type_, actor, at, stored, owned=True
                )
                continue
            event = make_event(
                {
                    "incident_id": incident_id,
                    "seq": seq,
                    "type": type_,
                    "schema_version": schema,
                    "playbook_id": pb,
                    "playbook_version": pb_v,
                    "actor": actor,
                    "actor_role": role,
                    "channel": channel,
                    "recorded_at": at,
                    "data": reveal(loads(data), key, incident_id, seq),
                    "prev_hash": link,
                    "hash": h,
                }
            )
            state = apply(compiled, state, upcast(event), owned=True)
    except (RecoveryError, LookupError, ValueError, TypeError, AttributeError):
        return None
    if state is None or prev != state_row[HASH] or state_row[SCHEMA] != len(events):
        return None
    return state if _same_state(state, state_row[DATA]) else None


def _same_state(state: IncidentState, stored_text: str | bytes) -> bool:
    """`state` equals the stored JSON as the reference compares them (both as JSON values).
    Usually the stored bytes are exactly what `state.to_json()` writes (the engine wrote
    them with it); otherwise its fields are compared in place with the parsed JSON
    (`to_json` writes exactly each dataclass's __dict__). Anything unexpected is False,
    and the reference decides."""
    stored_bytes = stored_text.encode() if isinstance(stored_text, str) else stored_text
    if state.to_json() == stored_bytes:
        return True
    try:
        stored = orjson.loads(stored_text)
        mine = vars(state)
        if type(stored) is not dict or mine.keys() != stored.keys():
            return False
        steps, stored_steps = mine["steps"], stored["steps"]
        if type(stored_steps) is not dict or steps.keys() != stored_steps.keys():
            return False
        for name, value in mine.items():
            if name != "steps" and value != stored[name]:
                return False
        return all(vars(step) == stored_steps[name] for name, step in steps.items())
    except (orjson.JSONDecodeError, TypeError, KeyError, AttributeError):
        return False


def _event_maker() -> Callable[[dict[str, Any]], Event]:
    """Build an `Event` from its fields' dict without running the frozen dataclass's
    __init__ (a third of replay's cost per event), as `IncidentState.from_json` restores
    its dataclasses; the plain constructor if `Event` ever stops keeping a __dict__."""
    if "__dict__" not in dir(Event) or hasattr(Event, "__slots__"):
        return lambda fields: Event(**fields)
    new, set_attr = object.__new__, object.__setattr__

    def make(fields: dict[str, Any]) -> Event:
        event = new(Event)
        set_attr(event, "__dict__", fields)
        return event

    return make


_make_event = _event_maker()


def _reference(
    incident_id: str,
    state_row: Row,
    events: list[Row],
    compiled: CompiledPlaybook,
    iso_text: IsoText,
    key: bytes | None,
) -> Verification:
    """`verify_incident` on the same rows: the exact first broken position and problem."""
    rows = [dict(zip(EVENT_FIELDS, (r[0], *r[2:]), strict=True)) for r in events]
    for row in rows:  # the chain hashes the ISO text form; an unreadable one fails its hash
        with contextlib.suppress(ValueError, TypeError):
            row["recorded_at"] = iso_text(row["recorded_at"])
    try:
        stored = IncidentState.from_json(state_row[DATA], incident_id)
    except (ValueError, KeyError, TypeError, IntegrityError) as exc:
        found = _chain_only(incident_id, rows)
        if not found.ok:
            return found
        return Verification(
            incident_id, False, len(rows), None, f"the state row cannot be read: {exc}"
        )
    try:
        found = verify_incident(incident_id, rows, stored, state_row[HASH], compiled, key)
    except (RecoveryError, LookupError, ValueError, TypeError, AttributeError) as exc:
        seq = exc.seq if isinstance(exc, IntegrityError) else None
        return Verification(incident_id, False, len(rows), seq, f"replay failed: {exc!r}")
    return found


def _chain_only(incident_id: str, rows: list[dict[str, Any]]) -> Verification:
    try:
        return check_chain(incident_id, rows)
    except (ValueError, TypeError) as exc:
        return Verification(incident_id, False, len(rows), None, f"unreadable event: {exc}")
