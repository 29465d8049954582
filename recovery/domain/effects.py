"""The stored form of event data, and the effects (requests to the back office) that some
events carry: frozen dataclasses whose `as_data()` is exactly the dict that is stored and
hashed, and whose `from_data` reads it back unchanged (field metadata says which keys are
left out when empty). `events.py` declares the payload of each event type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Literal, NamedTuple, Self

from pydantic import ConfigDict


def key_of(name: str) -> str:
    """A field's key in the data: its name without the trailing underscore that a Python
    keyword needs (`from_` is stored as "from")."""
    return name.removesuffix("_")


# Field metadata. OPTIONAL: left out of the data when None or empty (never stored as null
# or []); "kept_if": unless this says the payload stores it all the same (as null).
# EFFECTS: a list of effects, stored as their data.
OPTIONAL: Mapping[str, Any] = MappingProxyType({"optional": True})
EFFECTS: Mapping[str, Any] = MappingProxyType({"nested": True})
OPTIONAL_EFFECTS: Mapping[str, Any] = MappingProxyType({"optional": True, "nested": True})
# Personal data (`domain.personal`): PERSONAL, the whole value (a name, a contact, a text
# typed by staff or the customer); PERSONAL_TEXTS, the text values of a mapping (evidence:
# its amounts stay plain). Sealed per incident before the event is chained.
PERSONAL: Mapping[str, Any] = MappingProxyType({"personal": "all"})
PERSONAL_TEXTS: Mapping[str, Any] = MappingProxyType({"personal": "texts"})


def personal(*metadata: Mapping[str, Any], texts: bool = False) -> Mapping[str, Any]:
    """Field metadata `metadata` (OPTIONAL, ...) marked as personal data."""
    merged: dict[str, Any] = {}
    for part in metadata:
        merged.update(part)
    merged.update(PERSONAL_TEXTS if texts else PERSONAL)
    return MappingProxyType(merged)


def personal_keys(cls: type) -> dict[str, str]:
    """A class's data keys that hold personal values: "all", "texts", or "nested" (effects,
    each declaring its own)."""
    found: dict[str, str] = {}
    for f in dataclasses.fields(cls):
        if "personal" in f.metadata:
            found[key_of(f.name)] = f.metadata["personal"]
        elif f.metadata.get("nested"):
            found[key_of(f.name)] = "nested"
    return found


class _Slot(NamedTuple):
    name: str
    key: str
    optional: bool
    kept_if: Callable[[Any], bool] | None
    nested: bool


class _Layout(NamedTuple):
    slots: tuple[_Slot, ...]
    keys: frozenset[str]


_LAYOUTS: dict[type, _Layout] = {}


def _layout(cls: type) -> _Layout:
    """A class's fields as stored, worked out on first use."""
    layout = _LAYOUTS.get(cls)
    if layout is None:
        slots = tuple(
            _Slot(
                f.name,
                key_of(f.name),
                f.metadata.get("optional", False),
                f.metadata.get("kept_if"),
                f.metadata.get("nested", False),
            )
            for f in dataclasses.fields(cls)
        )
        layout = _LAYOUTS[cls] = _Layout(slots, frozenset(slot.key for slot in slots))
    return layout


@dataclass(frozen=True)
class Stored:
    """A value stored inside event data (a payload, or one of its effects)."""

    # Field names are stored without a keyword's underscore (`key_of`) in the schema too;
    # field docstrings become the schema's descriptions.
    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(
        alias_generator=key_of, use_attribute_docstrings=True, extra="forbid"
    )

    def as_data(self) -> dict[str, Any]:
        """The dict stored for this value, keys in field order."""
        data: dict[str, Any] = {}
        values = self.__dict__
        for slot in _layout(type(self)).slots:
            value = values[slot.name]
            if (
                slot.optional
                and (value is None or (not value and isinstance(value, list | dict)))
                and (slot.kept_if is None or not slot.kept_if(self))
            ):
                continue
            data[slot.key] = [e.as_data() for e in value] if slot.nested else value
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        """The value that `data` stores; ValueError if `data` is not of its shape."""
        layout = _layout(cls)
        unknown = data.keys() - layout.keys
        if unknown:
            raise ValueError(f"{cls.__name__} has no {', '.join(sorted(unknown))}")
        fields: dict[str, Any] = {}
        for slot in layout.slots:
            if slot.key in data:
                value = data[slot.key]
                fields[slot.name] = [effect_of(e) for e in value] if slot.nested else value
            elif not slot.optional:
                raise ValueError(f"{cls.__name__} needs {slot.key!r}")
        return cls(**fields)

    @classmethod
    def data_keys(cls, *names: str) -> tuple[str, ...]:
        """The data keys of these fields (KeyError if one is not a field): for code that
        reads the stored dict directly, where building the payload would cost too much."""
        slots = {slot.name: slot.key for slot in _layout(cls).slots}
        return tuple(slots[name] for name in names)


# ---------------------------------------------------------------------------- effects


@dataclass(frozen=True)
class Notice(Stored):
    """Tell a role: "notify" (a cue rule fired, approval is wanted, deadlines were missed)
    or "escalation" (a manager is asked to step in)."""

    kind: Literal["notify", "escalation"]
    role: str
    reason: str = field(metadata=PERSONAL)
    """why: `approval_requested`, `deadline_missed`, `cue:<rule id>`, or the escalation's"""
    steps: list[str] | None = field(default=None, metadata=OPTIONAL)
    """the steps whose deadline was missed"""


@dataclass(frozen=True)
class StepEffect(Stored):
    """The back-office effect a step asks for when it finishes (book_room, ...)."""

    kind: str
    step: str
    evidence: dict[str, Any] = field(metadata=PERSONAL_TEXTS)
    """everything the step recorded on its way (a letter's voucher code, recipient...)"""


@dataclass(frozen=True)
class DeadlineEffect(Stored):
    """The back-office effect the playbook asks for when deadlines are missed."""

    kind: str
    reason: Literal["deadline_missed"]
    steps: list[str]


@dataclass(frozen=True)
class CustomerMessage(Stored):
    """A message for the back office to give the customer (SMS, chat, ...): `notify_customer`
    with the customer's status link (revocable: it opens that page until revoked)."""

    kind: str
    channel: str
    recipient: str = field(metadata=PERSONAL)
    url: str = field(default="", metadata=personal(OPTIONAL))
    update: str | None = field(default=None, metadata=OPTIONAL)
    """a change the playbook tells the customer of: `new_owner` or `deadlines_moved`"""


Effect = Notice | StepEffect | DeadlineEffect | CustomerMessage


def effect_class(data: Mapping[str, Any]) -> type[Effect]:
    """The class of the effect `data` stores, told apart by its keys (the kinds of the last
    two are the playbook's own names)."""
    if "role" in data:
        return Notice
    if "recipient" in data:
        return CustomerMessage
    if "step" in data:
        return StepEffect
    return DeadlineEffect


def effect_of(data: Mapping[str, Any]) -> Effect:
    """The effect `data` stores."""
    return effect_class(data).from_data(data)


def effects_of(data: Mapping[str, Any]) -> list[Effect]:
    """The effects an event's data asks for (most events ask for none)."""
    stored = data.get("effects")
    return [effect_of(e) for e in stored] if stored else []
