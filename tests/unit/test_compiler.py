"""A compiled lifecycle answers exactly as its `transitions` machine does."""

from __future__ import annotations

from recovery import Catalog
from recovery.domain.compiler import _Carrier


def _machine_says(lifecycle, state: str, trigger: str) -> str | None:  # type: ignore[no-untyped-def]
    event = lifecycle.machine.events.get(trigger)
    if event is None:
        return None
    carrier = _Carrier(state)
    try:
        return carrier.state if event.trigger(carrier) else None
    except Exception:
        return None


def test_every_remembered_answer_is_the_machines(catalog: Catalog) -> None:
    for compiled in catalog.latest():
        for lifecycle in (compiled.incident, *compiled.kinds.values()):
            states = list(lifecycle.allowed)
            triggers = sorted({t for ts in lifecycle.allowed.values() for t in ts} | {"nope"})
            for _ in range(2):  # first asked of the machine, then remembered
                for state in states:
                    for trigger in triggers:
                        expected = (
                            state
                            if (state, trigger) in lifecycle.internal
                            else _machine_says(lifecycle, state, trigger)
                        )
                        assert lifecycle.fire(state, trigger) == expected, (state, trigger)


def test_a_compiled_playbook_is_shared_not_rebuilt(catalog: Catalog) -> None:
    first = catalog.get("hotel-walked-guest", 3)
    assert catalog.get("hotel-walked-guest", 3) is first
    assert catalog.for_incident_type("hotel.walked_guest") is first
