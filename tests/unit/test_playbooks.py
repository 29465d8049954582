"""What a playbook author relies on: shipped playbooks load, and bad files fail clearly.

No database: playbooks are validated and compiled in memory, test files live in tmp_path.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from recovery.catalog import Catalog, load_file, parse_playbook
from recovery.domain.calendar import BusinessTime
from recovery.domain.commands import Actor, CustomerProfile, OpenIncident
from recovery.domain.decide import Context, decide_open
from recovery.domain.validation import WAITING_KEYS, kinds_of
from recovery.errors import PlaybookError, Problem

PLAYBOOK_DIR = Path(__file__).resolve().parents[2] / "playbooks"
SHIPPED = sorted(PLAYBOOK_DIR.glob("*.yaml"))

BASE: dict[str, Any] = {
    "id": "test-playbook",
    "version": 1,
    "title": "Test playbook",
    "incident_types": ["test.incident"],
    "limits": {"front_desk": {"max_amount": 50}},
    "steps": [
        {"id": "apologise", "title": "Apologise", "owner": "front_desk", "due": "5m"},
        {
            "id": "fix_it",
            "title": "Fix it",
            "owner": "front_desk",
            "due": "1h",
            "evidence": [{"name": "what", "label": "What was fixed"}],
        },
    ],
}


def playbook(**changes: Any) -> dict[str, Any]:
    """A small valid playbook, with top-level fields replaced by `changes`."""
    data = copy.deepcopy(BASE)
    data.update(copy.deepcopy(changes))
    return data


def with_step(index: int, **changes: Any) -> dict[str, Any]:
    """The base playbook with fields of step `index` changed (None removes a field)."""
    data = playbook()
    step = data["steps"][index]
    for key, value in changes.items():
        if value is None:
            step.pop(key, None)
        else:
            step[key] = value
    return data


def write(folder: Path, name: str, data: dict[str, Any] | str) -> Path:
    path = folder / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(PlaybookError) as caught:
        load_file(path)
    assert caught.value.problems, "a PlaybookError must list its problems"
    return caught.value.problems


def problem_at(problems: list[Problem], location: str) -> Problem:
    found = [p for p in problems if p.location == location]
    assert found, f"no problem at {location!r}; got {[str(p) for p in problems]}"
    return found[0]


# ------------------------------------------------------------------ shipped playbooks


def test_the_five_story_playbooks_ship() -> None:
    ids = {path.stem for path in SHIPPED}
    assert {
        "hotel-walked-guest",
        "telecom-billing-error",
        "pass-change-bounced",
        "complaint-written-answer",
        "loyal-customer-at-risk",
    } <= ids


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_playbook_loads_and_compiles(path: Path) -> None:
    loaded = load_file(path)
    assert loaded.id == path.stem, "a playbook file is named after its id"
    compiled = Catalog([loaded]).get(loaded.id, loaded.version)
    known = kinds_of(loaded)
    for step in (*loaded.steps, *loaded.tier_steps):
        assert step.kind in known
        assert step.kind in compiled.kinds
        assert step.owner, f"{step.id} has an owner role"
        assert step.customer_text, f"{step.id} says what the customer is told"
        assert isinstance(step.due, BusinessTime) or step.due > timedelta(0)
        assert compiled.kinds[step.kind].initial == "open"
    for rule in loaded.cue_rules:
        assert set(rule.add_steps) <= set(compiled.steps)


def test_the_whole_catalog_loads() -> None:
    catalog = Catalog.from_directory(PLAYBOOK_DIR)
    assert {c.playbook.id for c in catalog.latest()} == {p.stem for p in SHIPPED}


def test_hotel_playbook_opens_all_six_steps_at_once() -> None:
    compiled = Catalog.from_directory(PLAYBOOK_DIR).for_incident_type("hotel.walked_guest")
    main_steps = [s.id for s in compiled.playbook.steps]
    assert main_steps == [
        "apologise",
        "rebook_local",
        "pay_room",
        "dinner",
        "ask_what_else",
        "written_apology",
    ]
    assert set(main_steps) <= set(compiled.steps)
    for step_id in main_steps:
        assert compiled.lifecycle_of(step_id).initial == "open"

    now = datetime(2026, 7, 4, 16, 0, tzinfo=UTC)
    state, _ = decide_open(
        compiled,
        "inc-1",
        OpenIncident(
            incident_type="hotel.walked_guest",
            site="Small Town Inn",
            customer=CustomerProfile(name="A. Guest"),
        ),
        Context(actor=Actor(id="desk-1", role="front_desk"), channel="counter", now=now),
    )
    assert list(state.steps) == main_steps
    assert {s.status for s in state.steps.values()} == {"open"}


def test_hotel_rebooking_is_local_unless_the_guest_consents() -> None:
    compiled = Catalog.from_directory(PLAYBOOK_DIR).get("hotel-walked-guest")
    fields = {f.name: f for f in compiled.evidence_for("rebook_local", "complete")}
    distance = fields["distance_km"]
    assert distance.max == 5
    assert distance.unless == "guest_consents_further"
    assert fields["guest_consents_further"].type == "bool"


def test_complaint_answer_is_due_in_hours_not_weeks() -> None:
    loaded = load_file(PLAYBOOK_DIR / "complaint-written-answer.yaml")
    answer = loaded.step("written_answer")
    assert answer.kind == "written"
    # in the site's business days: a team working weekdays is not escalated on Sunday
    assert answer.due == BusinessTime(2, "days")
    assert loaded.step("goodwill_credit").required is False


# ------------------------------------------------------------------ located errors


def test_bad_duration_names_file_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", with_step(1, due="soon"))
    with pytest.raises(PlaybookError) as caught:
        load_file(path)
    problem = problem_at(caught.value.problems, "steps[1].due")
    assert problem.source == str(path)
    assert "soon" in problem.message
    assert f"{path}: steps[1].due" in str(caught.value)


def test_missing_owner_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", with_step(0, owner=None))
    problem = problem_at(problems_of(path), "steps[0].owner")
    assert problem.source == str(path)
    assert "required" in problem.message.lower()


def test_unknown_step_kind_is_located_and_lists_known_kinds(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", with_step(0, kind="teleport"))
    problem = problem_at(problems_of(path), "steps[0].kind")
    assert "teleport" in problem.message
    for kind in ("plain", "compensation", "written"):
        assert kind in problem.message


def test_duplicate_step_id_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", with_step(1, id="apologise"))
    problem = problem_at(problems_of(path), "steps[1].id")
    assert "apologise" in problem.message
    assert "steps[0]" in problem.message


def test_cue_rule_may_only_add_declared_tier_steps(tmp_path: Path) -> None:
    data = playbook(
        cue_rules=[{"id": "upset", "when": {"cues_any": ["upset"]}, "add_steps": ["ghost"]}]
    )
    problems = problems_of(write(tmp_path, "bad.yaml", data))
    problem = problem_at(problems, "cue_rules[0].add_steps[0]")
    assert "ghost" in problem.message
    assert "tier_steps" in problem.message


def test_invalid_yaml_gives_a_line_number(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "id: x\nversion: 1\nsteps: [\n  - id: a\n")
    [problem] = problems_of(path)
    assert problem.source == str(path)
    assert problem.location.startswith("line ")
    assert "not valid YAML" in problem.message


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    data = with_step(1, due="soon")
    data["steps"][0].pop("owner")
    locations = {p.location for p in problems_of(write(tmp_path, "bad.yaml", data))}
    assert {"steps[0].owner", "steps[1].due"} <= locations


def test_compensation_step_needs_a_money_amount(tmp_path: Path) -> None:
    data = with_step(1, kind="compensation")
    problem_at(problems_of(write(tmp_path, "bad.yaml", data)), "steps[1].evidence")


# ------------------------------------------------------------------ no waiting


@pytest.mark.parametrize(("key", "value"), [("after", "apologise"), ("wait_for", "customer_push")])
def test_a_step_that_waits_is_refused_with_an_explanation(
    tmp_path: Path, key: str, value: str
) -> None:
    path = write(tmp_path, "bad.yaml", with_step(1, **{key: value}))
    problems = problems_of(path)
    assert [p.location for p in problems] == [f"steps[1].{key}"], "explained once, no noise"
    message = problems[0].message
    assert "every step opens the moment the incident opens" in message
    assert "cue_rules" in message
    assert key in message


@pytest.mark.parametrize("key", sorted(WAITING_KEYS))
def test_every_waiting_key_is_refused_in_tier_steps_too(key: str) -> None:
    data = playbook(
        tier_steps=[
            {"id": "manager_call", "title": "Call", "owner": "manager", "due": "4h", key: "x"}
        ],
        cue_rules=[{"id": "upset", "when": {"cues_any": ["upset"]}, "add_steps": ["manager_call"]}],
    )
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(yaml.safe_dump(data), "memory.yaml")
    problem = problem_at(caught.value.problems, f"tier_steps[0].{key}")
    assert "every step opens the moment the incident opens" in problem.message


# ------------------------------------------------------------------ directory loading


def test_one_bad_file_stops_the_whole_directory(tmp_path: Path) -> None:
    write(tmp_path, "good.yaml", playbook(id="good"))
    bad = write(tmp_path, "bad.yaml", with_step(1, due="soon") | {"id": "bad"})
    with pytest.raises(PlaybookError) as caught:
        Catalog.from_directory(tmp_path)
    assert {p.source for p in caught.value.problems} == {str(bad)}
    assert str(bad) in str(caught.value)


def test_same_id_and_version_in_two_files_is_refused(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", playbook())
    second = write(tmp_path, "b.yaml", playbook())
    with pytest.raises(PlaybookError) as caught:
        Catalog.from_directory(tmp_path)
    [problem] = caught.value.problems
    assert problem.source == str(second)
    assert problem.location == "version"
    assert str(first) in problem.message


def test_versions_of_one_playbook_load_side_by_side(tmp_path: Path) -> None:
    write(tmp_path, "v1.yaml", playbook())
    write(tmp_path, "v2.yaml", playbook(version=2))
    catalog = Catalog.from_directory(tmp_path)
    assert catalog.get("test-playbook").key == ("test-playbook", 2)
    assert catalog.has("test-playbook", 1)


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError) as caught:
        Catalog.from_directory(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(caught.value)


# ------------------------------------------------------------------ custom kinds


def callback_kind(**changes: Any) -> dict[str, Any]:
    kind: dict[str, Any] = {
        "states": ["open", "scheduled", "done", "waived"],
        "transitions": [
            {"trigger": "schedule", "source": "open", "dest": "scheduled"},
            {"trigger": "complete", "source": ["open", "scheduled"], "dest": "done"},
            {"trigger": "waive", "source": ["open", "scheduled"], "dest": "waived"},
        ],
        "resolved": ["done", "waived"],
        "evidence": {"schedule": [{"name": "call_on", "type": "date", "label": "Call on"}]},
    }
    kind.update(changes)
    return kind


def test_a_playbook_may_define_its_own_step_kind(tmp_path: Path) -> None:
    data = with_step(1, kind="callback")
    data["kinds"] = {"callback": callback_kind()}
    loaded = load_file(write(tmp_path, "ok.yaml", data))
    compiled = Catalog([loaded]).get(loaded.id)
    life = compiled.lifecycle_of("fix_it")
    assert life.fire("open", "schedule") == "scheduled"
    assert life.fire("scheduled", "complete") == "done"
    assert life.fire("done", "schedule") is None
    assert life.allowed["scheduled"] == ("complete", "waive")
    assert life.resolved == frozenset({"done", "waived"})
    assert [f.name for f in compiled.evidence_for("fix_it", "schedule")] == ["call_on"]
    assert [f.name for f in compiled.evidence_for("fix_it", "complete")] == ["what"]


def test_a_kind_with_an_unknown_state_is_located(tmp_path: Path) -> None:
    kind = callback_kind()
    kind["transitions"][1]["dest"] = "finished"
    data = with_step(1, kind="callback") | {"kinds": {"callback": kind}}
    problem = problem_at(
        problems_of(write(tmp_path, "bad.yaml", data)), "kinds.callback.transitions[1]"
    )
    assert "finished" in problem.message


def test_a_kind_that_cannot_finish_is_located(tmp_path: Path) -> None:
    kind = callback_kind(
        transitions=[{"trigger": "schedule", "source": "open", "dest": "scheduled"}]
    )
    data = with_step(1, kind="callback") | {"kinds": {"callback": kind}}
    problem = problem_at(
        problems_of(write(tmp_path, "bad.yaml", data)), "kinds.callback.transitions"
    )
    assert "complete" in problem.message
    assert "send" in problem.message


def test_a_kind_with_a_bad_initial_or_resolved_state_is_located(tmp_path: Path) -> None:
    kind = callback_kind(initial="new", resolved=["closed"])
    data = with_step(1, kind="callback") | {"kinds": {"callback": kind}}
    locations = {p.location for p in problems_of(write(tmp_path, "bad.yaml", data))}
    assert {"kinds.callback.initial", "kinds.callback.resolved"} <= locations
