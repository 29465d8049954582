"""Personal data inside events, kept apart from the chain's proof (crypto-shredding).

Which values are personal is declared on the payload and effect classes (`events.py`,
`effects.py`: field metadata `PERSONAL`, or `PERSONAL_TEXTS` for a mapping whose text
values are personal and whose numbers, such as an amount, are not). Before an event is
chained, `conceal` moves those values into one AES-GCM box under the incident's own data
key and leaves a placeholder (`REDACTED`, `{}` or `[]`) in their place; the box is stored
in the data under `"personal"`, so the hash covers the ciphertext. `reveal` puts the values
back with the key; once the key is erased the placeholders stay, and everything else
(amounts, steps, states, times, actors) replays as before.

The box's associated data is "<incident id>:<seq>": a box moved to another event does not
open.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from recovery.domain.effects import effect_class, personal_keys
from recovery.domain.events import PAYLOADS
from recovery.domain.state import Event
from recovery.errors import IntegrityError

BOX = "personal"
"""The data key of the sealed personal values."""
REDACTED = "[redacted]"
"""What a personal text reads as without its key (and what is stored in its place)."""
KEY_BYTES = 32
_NONCE = 12

Path = tuple[str | int, ...]

PERSONAL_FIELDS: dict[str, dict[str, str]] = {
    event_type: personal_keys(cls) for event_type, cls in PAYLOADS.items()
}
"""Event type -> its data keys that hold personal values: "all" (the whole value), "texts"
(the text values of a mapping) or "nested" (effects, each with its own declaration)."""


def new_key() -> bytes:
    """A fresh data key for one incident (AES-256)."""
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def _placeholder(value: Any) -> Any:
    if isinstance(value, dict):
        return {}
    if isinstance(value, list):
        return []
    return REDACTED


def _personal(value: Any) -> bool:
    """A value worth sealing: not empty, and not a number or a flag."""
    if value is None or isinstance(value, bool | int | float):
        return False
    return bool(value)


def _found(spec: Mapping[str, str], data: Mapping[str, Any], base: Path) -> Iterator[Path]:
    """The paths of the personal values in `data` (a payload's or an effect's)."""
    for key, kind in spec.items():
        value = data.get(key)
        if kind == "all":
            if _personal(value):
                yield (*base, key)
        elif kind == "texts":
            if isinstance(value, dict):
                for name, inner in value.items():
                    if _personal(inner):
                        yield (*base, key, name)
        elif kind == "nested" and isinstance(value, list):
            for index, effect in enumerate(value):
                if isinstance(effect, dict):
                    inner_spec = personal_keys(effect_class(effect))
                    yield from _found(inner_spec, effect, (*base, key, index))


def _copied(data: dict[str, Any], path: Path) -> Any:
    """The container holding the last step of `path`, copied on the way down so that the
    caller's data is never changed."""
    node: Any = data
    for step in path[:-1]:
        child = node[step]
        child = child.copy()
        node[step] = child
        node = child
    return node


@lru_cache(maxsize=1024)
def _cipher(key: bytes) -> AESGCM:
    """The cipher of a key (its setup costs as much as sealing a note): recently used
    incidents' ciphers are kept, as their snapshots keep their keys."""
    return AESGCM(key)


def _aad(incident_id: str, seq: int) -> bytes:
    return f"{incident_id}:{seq}".encode()


def conceal(
    event_type: str, data: dict[str, Any], key: bytes | None, incident_id: str, seq: int
) -> dict[str, Any]:
    """The data to store for an event: its personal values sealed under `key` (None: the
    key was erased, so they are dropped), placeholders in their place. `data` itself is
    left as it is; an event without personal values comes back unchanged."""
    spec = PERSONAL_FIELDS.get(event_type)
    if not spec:
        return data
    out: dict[str, Any] | None = None
    sealed: list[Any] = []
    for name, kind in spec.items():  # every command: whole values without a generator
        value = data.get(name)
        if value is None or value == "" or value == [] or value == {}:
            continue
        if out is None:
            out = dict(data)
        if kind == "all":
            if isinstance(value, bool | int | float):
                continue
            sealed.append([[name], value])
            out[name] = _placeholder(value)
            continue
        for path in _found({name: kind}, data, ()):
            holder = _copied(out, path)
            sealed.append([list(path), holder[path[-1]]])
            holder[path[-1]] = _placeholder(holder[path[-1]])
    if out is None or not sealed:
        return data
    if key is not None:
        nonce = os.urandom(_NONCE)
        box = _cipher(key).encrypt(nonce, orjson.dumps(sealed), _aad(incident_id, seq))
        out[BOX] = base64.b64encode(nonce + box).decode()
    return out


def reveal(data: dict[str, Any], key: bytes | None, incident_id: str, seq: int) -> dict[str, Any]:
    """Stored data as the event recorded it (`key` None: with placeholders for the personal
    values). `IntegrityError` when the box does not open with the incident's key."""
    box = data.get(BOX)
    if box is None:
        return data
    out = dict(data)
    del out[BOX]
    if key is None:
        return out
    try:
        raw = base64.b64decode(box)
        opened = _cipher(key).decrypt(raw[:_NONCE], raw[_NONCE:], _aad(incident_id, seq))
        sealed = orjson.loads(opened)
    except (InvalidTag, ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise IntegrityError(
            f"incident {incident_id}: the personal data of event {seq} does not open with "
            f"the incident's key ({type(exc).__name__})",
            incident_id=incident_id,
            seq=seq,
        ) from None
    for path, value in sealed:
        holder = _copied(out, tuple(path))
        holder[path[-1]] = value
    return out


def revealed(event: Event, key: bytes | None) -> Event:
    """A stored event with its data as recorded (`reveal`)."""
    if BOX not in event.data:
        return event
    data = reveal(event.data, key, event.incident_id, event.seq)
    opened = object.__new__(Event)
    opened.__dict__.update(event.__dict__)
    opened.__dict__["data"] = data
    return opened


def encode_key(key: bytes | None) -> str | None:
    """A key as stored (text: the same column type on every database)."""
    return None if key is None else base64.b64encode(key).decode()


def decode_key(text: str | bytes | None) -> bytes | None:
    if text is None:
        return None
    return base64.b64decode(text)


def declared() -> dict[str, dict[str, str]]:
    """Event type -> its personal data keys and how each is personal (for the README and
    the export)."""
    return {t: dict(spec) for t, spec in PERSONAL_FIELDS.items() if spec}
