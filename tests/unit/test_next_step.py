"""The next thing to do on an incident: overdue first, then what awaits the viewer's
decision, then the earliest due; held steps last; the viewer's own steps before others'."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from recovery.catalog import Catalog
from recovery.domain.commands import Actor, CustomerProfile, OpenIncident
from recovery.domain.decide import Context, decide_open
from recovery.domain.queries import next_step
from recovery.domain.state import IncidentState, iso
from tests.unit.test_domain import PLAYBOOK_DIR

HOTEL = Catalog.from_directory(PLAYBOOK_DIR).get("hotel-walked-guest")
NOW = datetime(2026, 7, 4, 14, 0, tzinfo=UTC)
NOW_ISO = iso(NOW)


def opened() -> IncidentState:
    command = OpenIncident(
        incident_type=HOTEL.playbook.incident_types[0],
        site="ribe",
        customer=CustomerProfile(name="Mette Jensen"),
    )
    context = Context(actor=Actor(id="ana", role="front_desk"), channel="desk", now=NOW)
    state, _ = decide_open(HOTEL, "inc_1", command, context)
    return state


def shaped(
    state: IncidentState,
    *,
    due_in: dict[str, int] | None = None,
    status: dict[str, str] | None = None,
    held: tuple[str, ...] = (),
) -> IncidentState:
    """`state` with steps due in so many minutes from NOW, in a status, or on hold."""
    out = state.clone()
    steps = dict(out.steps)
    for step_id, minutes in (due_in or {}).items():
        steps[step_id] = dataclasses.replace(
            steps[step_id], due_at=iso(NOW + timedelta(minutes=minutes))
        )
    for step_id, new_status in (status or {}).items():
        steps[step_id] = dataclasses.replace(steps[step_id], status=new_status)
    out.steps = steps
    if held:
        out.holds = {
            s: {"since": iso(NOW - timedelta(days=1)), "reason": "the guest"} for s in held
        }
    return out


def finished(step_id: str) -> str:
    """A status in which the step counts as resolved (done, or a letter sent)."""
    return sorted(HOTEL.kinds[opened().steps[step_id].kind].resolved)[0]


def far_future(state: IncidentState) -> dict[str, int]:
    return {s: 1000 + i for i, s in enumerate(state.steps)}


def test_an_overdue_step_comes_before_an_approval_and_an_earlier_due() -> None:
    base = opened()
    state = shaped(
        base,
        due_in={**far_future(base), "written_apology": -30, "pay_room": 60},
        status={"pay_room": "awaiting_approval"},
    )
    first = next_step(HOTEL, state, NOW_ISO, "manager")
    assert first is not None and first.step.id == "written_apology" and first.overdue
    # nothing overdue: the approval waiting for the manager comes before an earlier due
    calm = shaped(state, due_in={"written_apology": 5})
    first = next_step(HOTEL, calm, NOW_ISO, "manager")
    assert first is not None and first.step.id == "pay_room" and first.decision


def test_the_desk_is_shown_its_own_steps_not_the_approval_it_waits_for() -> None:
    base = opened()
    state = shaped(
        base,
        due_in={**far_future(base), "pay_room": 1, "dinner": 20},
        status={"pay_room": "awaiting_approval"},
    )
    first = next_step(HOTEL, state, NOW_ISO, "front_desk")
    assert first is not None and first.step.id == "pay_room"  # its own step, earliest due
    assert not first.decision
    # the manager's own step (the written apology) is theirs before the desk's earlier ones
    first = next_step(HOTEL, shaped(base, due_in=far_future(base)), NOW_ISO, "manager")
    assert first is not None and first.step.id == "written_apology"


def test_most_overdue_first_and_held_steps_last_even_when_overdue() -> None:
    base = opened()
    state = shaped(
        base,
        due_in={**far_future(base), "apologise": -90, "dinner": -10, "rebook_local": -300},
        held=("rebook_local",),
    )
    first = next_step(HOTEL, state, NOW_ISO)
    assert first is not None and first.step.id == "apologise" and not first.held
    everything_held = shaped(state, held=tuple(state.steps))
    first = next_step(HOTEL, everything_held, NOW_ISO)
    assert first is not None and first.held


def test_done_steps_and_ended_incidents_give_nothing_to_do() -> None:
    base = opened()
    all_done = shaped(base, status={s: finished(s) for s in base.steps})
    assert next_step(HOTEL, all_done, NOW_ISO) is None
    closed = base.clone()
    closed.status = "closed"
    assert next_step(HOTEL, closed, NOW_ISO) is None


STEPS = list(opened().steps)


@given(
    dues=st.lists(st.integers(-600, 600), min_size=len(STEPS), max_size=len(STEPS)),
    done=st.sets(st.sampled_from(STEPS)),
    held=st.sets(st.sampled_from(STEPS)),
    awaiting=st.sets(st.sampled_from(STEPS)),
    role=st.sampled_from([None, "front_desk", "manager", "auditor"]),
)
def test_the_next_step_is_the_most_urgent_open_one(
    dues: list[int], done: set[str], held: set[str], awaiting: set[str], role: str | None
) -> None:
    status = {s: "awaiting_approval" for s in awaiting} | {s: finished(s) for s in done}
    state = shaped(
        opened(), due_in=dict(zip(STEPS, dues, strict=True)), status=status, held=tuple(held)
    )
    first = next_step(HOTEL, state, NOW_ISO, role)
    still_open = [s for s in state.steps.values() if s.id not in done]
    if not still_open:
        assert first is None
        return
    assert first is not None
    decides = role == "manager"
    mine = [s for s in still_open if s.owner == role or (decides and s.id in awaiting)]
    pool = mine or still_open
    assert first.step in pool
    running = [s for s in pool if s.id not in held]
    if running:
        assert not first.held  # held steps only when nothing else is left
    overdue = [s for s in running if s.due_at <= NOW_ISO]
    if overdue:
        assert first.overdue and first.step.due_at == min(s.due_at for s in overdue)
    elif decides and any(s.id in awaiting for s in running):
        assert first.decision
    elif running:
        assert first.step.due_at == min(s.due_at for s in running)
