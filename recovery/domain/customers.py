"""Customers across incidents: the stable key that links a customer's incidents, and what
their earlier incidents tell a new one (for the repeat-contact cue rules).

The key is the back office's own reference (loyalty, account or booking-profile number)
given at open as `customer.key`; without one, the contact (e-mail or phone), lower-cased,
so that the same address finds the same customer. Pure: the service reads the earlier
incidents and passes what they tell in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.state import IncidentState

KEY_LENGTH = 200


def customer_key_of(customer: Mapping[str, Any]) -> str | None:
    """The key that links this customer's incidents, or None (no key and no contact)."""
    key = customer.get("key")
    if isinstance(key, str) and key.strip():
        return key.strip()[:KEY_LENGTH]
    contact = customer.get("contact")
    if isinstance(contact, str) and contact.strip():
        return " ".join(contact.split()).lower()[:KEY_LENGTH]
    return None


@dataclass(frozen=True)
class CustomerHistory:
    """What a customer's earlier incidents tell a new one: when each was opened, and when
    compensation was given (a compensation step done)."""

    opened: tuple[str, ...] = ()
    compensated: tuple[str, ...] = ()
    incidents: tuple[str, ...] = field(default=(), compare=False)


def compensation_given(
    compiled: CompiledPlaybook, state: IncidentState
) -> list[tuple[str, float, str]]:
    """(when, amount, step id) of every compensation step done in the incident."""
    given = []
    for step in state.steps.values():
        definition = compiled.steps.get(step.id)
        if definition is None or step.kind != "compensation" or step.status != "done":
            continue
        amount = step.evidence.get(definition.amount_field)
        if isinstance(amount, int | float) and not isinstance(amount, bool):
            given.append((step.resolved_at or state.updated_at, float(amount), step.id))
    return given


def history_of(
    states: Iterable[IncidentState], compiled_of: Callable[[IncidentState], CompiledPlaybook]
) -> CustomerHistory:
    earlier = list(states)
    compensated = sorted(
        given[0] for state in earlier for given in compensation_given(compiled_of(state), state)
    )
    return CustomerHistory(
        opened=tuple(sorted(state.opened_at for state in earlier)),
        compensated=tuple(compensated),
        incidents=tuple(state.id for state in earlier),
    )
