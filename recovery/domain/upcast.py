"""Upcasters: keep old events replayable when an event's data schema evolves.

An upcaster turns the data of one event type at schema version N into version N+1. Stored
events are never rewritten (their hashes cover the bytes as recorded); they are upcast in
memory on the way into `apply`, one version at a time, up to `EVENT_SCHEMA_VERSION`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from recovery.domain.state import EVENT_SCHEMA_VERSION, Event

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

# (event type, from schema version) -> function returning the data at the next version.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    def register(function: Upcaster) -> Upcaster:
        UPCASTERS[(event_type, from_version)] = function
        return function

    return register


def upcast(event: Event, target: int = EVENT_SCHEMA_VERSION) -> Event:
    """The event as the current code expects it (unchanged when already current)."""
    if event.schema_version >= target:
        return event
    data, version = event.data, event.schema_version
    while version < target:
        step = UPCASTERS.get((event.type, version))
        if step is not None:
            data = step(dict(data))
        version += 1
    return replace(event, data=data, schema_version=version)
