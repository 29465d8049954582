"""Helpers shared by the contract tests: open incidents, and prove a refusal recorded nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from sqlalchemy import Connection, text

from recovery import CustomerProfile, OpenIncident, Outcome, Recovery
from tests.conftest import FRONT_DESK

HOTEL_STEPS = [
    "apologise",
    "rebook_local",
    "pay_room",
    "dinner",
    "ask_what_else",
    "written_apology",
]


def hotel_command(**customer: Any) -> OpenIncident:
    cues = customer.pop("cues", [])
    return OpenIncident(
        incident_type="hotel.walked_guest",
        site="ribe",
        customer=CustomerProfile(name="Mette Jensen", **customer),
        cues=cues,
        summary="reservation booked for June instead of July",
    )


def open_hotel(rec: Recovery, **customer: Any) -> Outcome:
    return rec.open(hotel_command(**customer), actor=FRONT_DESK, channel="desk")


@dataclass(frozen=True)
class Footprint:
    """Everything a command may write for one incident."""

    version: int
    events: int
    outbox: int
    state: dict[str, Any]


def footprint(rec: Recovery, incident_id: str) -> Footprint:
    return Footprint(
        version=rec.get(incident_id).version,
        events=len(rec.timeline(incident_id)),
        outbox=len(rec.outbox(incident_id)),
        state=rec.get(incident_id).state.to_dict(),
    )


def refused(
    rec: Recovery,
    incident_id: str,
    error: type[BaseException] | tuple[type[BaseException], ...],
    command: Callable[[], object],
) -> Any:
    """Run `command`, expect `error`, and check that nothing at all was recorded."""
    before = footprint(rec, incident_id)
    with pytest.raises(error) as caught:
        command()
    assert footprint(rec, incident_id) == before, "a refused command must record nothing"
    assert rec.verify(incident_id).ok
    return caught.value


def recorded(rec: Recovery, out: Outcome) -> None:
    """A success returns the new state and the next actions, exactly as now stored."""
    stored = rec.get(out.id)
    assert out.incident.state == stored.state
    assert out.incident.allowed == stored.allowed, (out.incident.allowed, stored.allowed)
    assert out.incident.version == out.event.seq == len(rec.timeline(out.id))
    assert rec.timeline(out.id)[-1] == out.event
    # the JSON written for API callers is exactly the documented dict form
    assert orjson.loads(out.to_json()) == {
        "incident": stored.to_dict(),
        "event": out.event.to_dict(),
    }


@contextmanager
def sql(rec: Recovery) -> Iterator[Connection]:
    """A raw SQL connection to the engine's database, committed on exit (for tampering)."""
    with rec.storage.engine.begin() as conn:
        yield conn


def execute_sql(rec: Recovery, statement: str, **params: Any) -> int:
    with sql(rec) as conn:
        return conn.execute(text(statement), params).rowcount
