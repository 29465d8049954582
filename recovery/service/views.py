"""What a command or query gives back: the incident as callers see it (`IncidentView`), and
a command's `Outcome` (the incident after it and the event recorded)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import orjson

from recovery.domain.compiler import ACTIVE_STATES, CompiledPlaybook
from recovery.domain.queries import allowed_actions, eta, pending_for_close
from recovery.domain.state import Event, IncidentState


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
    def compiled(self) -> CompiledPlaybook:
        """The playbook version the incident is pinned to."""
        return self._compiled

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
