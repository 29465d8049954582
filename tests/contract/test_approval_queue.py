"""The approval queue reads a page of incidents by id (keyset), their states in one read
and their request events in another; what it lists equals what each incident's own
timeline says, and the pages cover every waiting request once."""

from __future__ import annotations

import pytest

from recovery import Recovery
from recovery.domain.checks import payment_limit
from recovery.service import approvals
from recovery.service.approvals import PendingApprovals, approval_queue, approval_requests
from recovery.service.changes import ChangeFeed
from tests.conftest import Clock
from tests.contract.test_report_figures import make_incidents


def _from_timelines(rec: Recovery, ids: list[str]) -> set[tuple[object, ...]]:
    """The reference: each incident read alone, its newest request per step."""
    out = set()
    for incident_id in ids:
        state = rec.get(incident_id).state
        if state.status not in ("open", "escalated"):
            continue
        compiled = rec.playbook_of(state)
        events = rec.timeline(incident_id)
        for step in state.steps.values():
            if step.status != "awaiting_approval":
                continue
            request = next(
                e
                for e in reversed(events)
                if e.data.get("step") == step.id and e.data.get("action") == "request_approval"
            )
            out.add(
                (
                    incident_id,
                    step.id,
                    float(step.approval["requested_amount"]),
                    request.actor_role,
                    payment_limit(compiled, request.actor_role),
                    request.data.get("reason") or None,
                    request.recorded_at,
                    state.version,
                )
            )
    return out


def test_the_queue_pages_list_every_request_as_its_timeline_says(
    rec: Recovery, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = make_incidents(rec, clock, 100, seed=11, approvals=0.5)  # 20-odd requests waiting
    expected = _from_timelines(rec, ids)
    assert len(expected) > 10, "the stories request approvals"
    monkeypatch.setattr(approvals, "QUEUE_LIMIT", 7)
    pending = PendingApprovals(rec, ChangeFeed(lambda: pytest.fail("the queue reads no feed")))
    seen: list[tuple[object, ...]] = []
    after, pages = None, 0
    while True:
        waiting, after = pending.for_manager("manager", ["*"], after)
        pages += 1
        queue = approval_queue(rec, waiting)
        assert [r for r, _v in queue] == approval_requests(rec, waiting)
        for request, view in queue:
            assert view.state.id == request.incident_id
            assert f"{request.step_id}.grant_approval" in view.allowed
            seen.append(
                (
                    request.incident_id,
                    request.step_id,
                    request.amount,
                    request.requester_role,
                    request.requester_limit,
                    request.reason,
                    request.requested_at,
                    request.version,
                )
            )
        if after is None:
            break
    assert pages > 1
    assert len(seen) == len(set(seen))
    assert set(seen) == expected
    assert pending.for_manager("front_desk", ["*"]) == ([], None)
