"""Conflicts only where they are real: a step decision taken on an older version goes
through when nobody touched that step since; a real conflict says who changed what."""

from __future__ import annotations

import pytest

from recovery import Recovery
from recovery.errors import ConflictError
from tests.conftest import FRONT_DESK, MANAGER
from tests.contract.support import open_hotel, refused


def test_a_decision_on_an_untouched_step_goes_through(rec: Recovery) -> None:
    incident = open_hotel(rec).id
    seen = rec.get(incident).version
    rec.add_note(incident, "guest is at the bar", actor=MANAGER)
    rec.waive_step(incident, "dinner", "ate at the wedding", actor=MANAGER)
    out = rec.complete_step(
        incident, "apologise", {"apology_by": "Ana"}, actor=FRONT_DESK, seen_version=seen
    )
    assert out.incident.state.steps["apologise"].status == "done"
    assert out.incident.version == seen + 3


def test_a_decision_on_a_touched_step_is_refused_naming_the_change(rec: Recovery) -> None:
    incident = open_hotel(rec).id
    seen = rec.get(incident).version
    rec.waive_step(incident, "dinner", "ate at the wedding", actor=MANAGER)
    error = refused(
        rec,
        incident,
        ConflictError,
        lambda: rec.request_approval(incident, "dinner", 120, actor=FRONT_DESK, seen_version=seen),
    )
    assert error.current_version == seen + 1
    assert [(c["actor"], c["role"], c["step"]) for c in error.changes] == [
        ("mads", "manager", "dinner")
    ]
    assert error.changes[0]["what"] == "Buy dinner at a local restaurant: waived"
    assert error.plain is not None and "mads (manager) at 2026-07-04 14:00 UTC" in error.plain


def test_a_strict_version_still_refuses_any_change_and_says_which(rec: Recovery) -> None:
    incident = open_hotel(rec).id
    seen = rec.get(incident).version
    rec.add_note(incident, "guest is at the bar", actor=MANAGER)
    with pytest.raises(ConflictError) as caught:
        rec.complete_step(
            incident, "apologise", {"apology_by": "Ana"}, actor=FRONT_DESK, expected_version=seen
        )
    assert [c["what"] for c in caught.value.changes] == ["Note"]
    assert caught.value.to_dict()["changes"][0]["actor"] == "mads"
