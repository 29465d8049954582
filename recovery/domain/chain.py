"""The hash chain: a canonical byte encoding of an event and its sha256 link to the previous.

    hash = sha256( JSON[prev_hash, incident_id, seq, type, schema_version, playbook_id,
                        playbook_version, actor, actor_role, channel, recorded_at]
                   + b"\\n" + canonical JSON of data )

Canonical JSON is orjson with sorted keys and no whitespace; the data column stores exactly
those bytes, so verification hashes stored bytes without re-encoding them.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from recovery.domain.state import Event

GENESIS = "0" * 64


def canonical(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def event_hash(
    prev_hash: str,
    incident_id: str,
    seq: int,
    type_: str,
    schema_version: int,
    playbook_id: str,
    playbook_version: int,
    actor: str,
    actor_role: str,
    channel: str,
    recorded_at: str,
    data_bytes: bytes,
) -> str:
    header = orjson.dumps(
        [
            prev_hash,
            incident_id,
            seq,
            type_,
            schema_version,
            playbook_id,
            playbook_version,
            actor,
            actor_role,
            channel,
            recorded_at,
        ]
    )
    return hashlib.sha256(header + b"\n" + data_bytes).hexdigest()


def seal(event: Event, prev_hash: str, stored: dict[str, Any] | None = None) -> tuple[Event, bytes]:
    """Chain `event` to `prev_hash`: the event with its hash, and its canonical data bytes
    (exactly what is hashed and stored). `stored`: the data as stored, when it differs from
    the event's (its personal values sealed: `domain.personal.conceal`); the event keeps
    its own data for the caller."""
    data = canonical(event.data if stored is None else stored)
    digest = event_hash(
        prev_hash,
        event.incident_id,
        event.seq,
        event.type,
        event.schema_version,
        event.playbook_id,
        event.playbook_version,
        event.actor,
        event.actor_role,
        event.channel,
        event.recorded_at,
        data,
    )
    return event.chained(prev_hash, digest), data
