"""Replay at audit speed: the pinned playbook's machines, answered from what they compiled to.

A flat `transitions` machine without conditions or callbacks is a pure function of
(state, trigger). Firing it costs ~10 µs, more than hashing and parsing an event together,
so an audit that replays a million events asks each machine once per (state, trigger) and
remembers the answer. A machine with any condition or callback is left untouched (fired
every time), so the memo never changes what replay decides.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from recovery.domain.compiler import CompiledPlaybook, Lifecycle

_MACHINE_CALLBACKS = (
    "before_state_change",
    "after_state_change",
    "prepare_event",
    "finalize_event",
    "on_exception",
    "on_final",
)
_STATE_CALLBACKS = ("on_enter", "on_exit", "on_final")
_TRANSITION_CALLBACKS = ("prepare", "conditions", "unless", "before", "after")


def _no_callbacks(obj: Any, names: tuple[str, ...]) -> bool:
    for name in names:
        value = getattr(obj, name, [])
        if not isinstance(value, list) or value:
            return False
    return True


def is_pure(machine: Any) -> bool:
    """True when firing `machine` depends on nothing but the state and the trigger."""
    try:
        if not _no_callbacks(machine, _MACHINE_CALLBACKS):
            return False
        if getattr(machine, "has_queue", False):
            return False
        if not all(_no_callbacks(s, _STATE_CALLBACKS) for s in machine.states.values()):
            return False
        for event in machine.events.values():
            for transitions in event.transitions.values():
                if not all(_no_callbacks(t, _TRANSITION_CALLBACKS) for t in transitions):
                    return False
    except AttributeError:  # a `transitions` release shaped differently: don't guess
        return False
    return True


@dataclass(frozen=True)
class MemoLifecycle(Lifecycle):
    """A lifecycle whose `fire` answers each (state, trigger) once from the machine."""

    memo: dict[tuple[str, str], str | None] = field(default_factory=dict, compare=False, repr=False)

    def fire(self, state: str, trigger: str) -> str | None:
        key = (state, trigger)
        try:
            return self.memo[key]
        except KeyError:
            answer = super().fire(state, trigger)
            self.memo[key] = answer
            return answer


def _memoised(lifecycle: Lifecycle) -> Lifecycle:
    if isinstance(lifecycle, MemoLifecycle) or not is_pure(lifecycle.machine):
        return lifecycle
    values = {f.name: getattr(lifecycle, f.name) for f in dataclasses.fields(lifecycle) if f.init}
    return MemoLifecycle(**values)


def for_audit(compiled: CompiledPlaybook) -> CompiledPlaybook:
    """The same playbook, with every pure machine memoised (a copy: the original is shared
    by the engine's commands and stays as it is)."""
    return dataclasses.replace(
        compiled,
        incident=_memoised(compiled.incident),
        kinds={name: _memoised(lifecycle) for name, lifecycle in compiled.kinds.items()},
    )
