"""Verify an incident's history: the hash chain, then a strict replay against the snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from recovery.domain.apply import replay
from recovery.domain.chain import GENESIS, event_hash
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.personal import revealed
from recovery.domain.state import Event, IncidentState
from recovery.errors import IntegrityError, RecoveryError


@dataclass(frozen=True)
class Verification:
    incident_id: str
    ok: bool
    events: int
    broken_seq: int | None = None
    problem: str | None = None
    erased_at: str | None = None
    """an incident that verifies: when its personal data was erased (None: never)"""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "incident_id": self.incident_id,
            "ok": self.ok,
            "events": self.events,
            "broken_seq": self.broken_seq,
            "problem": self.problem,
        }
        if self.erased_at is not None:
            out["erased_at"] = self.erased_at
        return out


def check_chain(incident_id: str, rows: list[dict[str, Any]]) -> Verification:
    """Recompute every link; report the first position where the stored history breaks.
    `rows` are events as stored: data as text, recorded_at in the ISO text form."""
    prev = GENESIS
    for expected_seq, row in enumerate(rows, start=1):
        seq = row["seq"]
        if seq != expected_seq:
            problem = "an event is missing" if seq > expected_seq else "events are out of order"
            return Verification(incident_id, False, len(rows), expected_seq, problem)
        if row["prev_hash"] != prev:
            return Verification(
                incident_id, False, len(rows), seq, "the link to the previous event is broken"
            )
        digest = event_hash(
            prev,
            row["incident_id"],
            seq,
            row["type"],
            row["schema_version"],
            row["playbook_id"],
            row["playbook_version"],
            row["actor"],
            row["actor_role"],
            row["channel"],
            row["recorded_at"],
            row["data"].encode(),
        )
        if digest != row["hash"]:
            return Verification(
                incident_id, False, len(rows), seq, "the event's content does not match its hash"
            )
        prev = digest
    if not rows:
        return Verification(incident_id, False, 0, 1, "the incident has no events")
    return Verification(incident_id, True, len(rows))


def verify_incident(
    incident_id: str,
    rows: list[dict[str, Any]],
    stored: IncidentState,
    head_hash: str,
    compiled: CompiledPlaybook,
    key: bytes | None = None,
) -> Verification:
    """Chain check, then replay through the pinned playbook must equal the stored state.
    `key`: the incident's personal data key (None once erased: replayed redacted)."""
    chained = check_chain(incident_id, rows)
    if not chained.ok:
        return chained
    if rows[-1]["hash"] != head_hash or stored.version != len(rows):
        return Verification(
            incident_id,
            False,
            len(rows),
            len(rows) + 1 if stored.version > len(rows) else stored.version + 1,
            "the current state does not point at the newest event (events were removed "
            "or the state row was edited)",
        )
    try:
        replayed = replay(compiled, [revealed(Event.from_stored(r), key) for r in rows])
    except IntegrityError as exc:
        return Verification(incident_id, False, len(rows), exc.seq, str(exc))
    except (RecoveryError, KeyError, ValueError) as exc:
        return Verification(incident_id, False, len(rows), None, f"replay failed: {exc!r}")
    if orjson.loads(replayed.to_json()) != orjson.loads(stored.to_json()):
        return Verification(
            incident_id,
            False,
            len(rows),
            None,
            "replaying the events does not rebuild the stored state",
        )
    return Verification(incident_id, True, len(rows), erased_at=replayed.erased_at)


def state_unreadable(
    incident_id: str, rows: list[dict[str, Any]], error: Exception
) -> Verification:
    """The verdict when the state row cannot be read: the chain's first break, if any,
    else the state row itself."""
    chained = check_chain(incident_id, rows)
    return (
        chained if not chained.ok else Verification(incident_id, False, len(rows), None, str(error))
    )
