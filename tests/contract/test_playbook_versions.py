"""Each incident pins the playbook version it was opened with, on SQLite and PostgreSQL.

An engine whose catalog no longer has that version (only a newer one) still reads, acts on,
replays and verifies the old incident through the definition stored in the database. A
playbook changed without bumping its version must be refused, or two different rule sets
would share one version number and history could no longer be replayed as it was lived.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import event

from recovery import (
    Catalog,
    NotAllowedNowError,
    PlaybookError,
    Recovery,
    UnknownPlaybookError,
)
from recovery.bootstrap import over_engine
from recovery.storage.database import create_db_engine
from tests.conftest import FRONT_DESK, MANAGER, PLAYBOOKS, Clock
from tests.contract.support import HOTEL_STEPS, execute_sql, open_hotel, recorded, refused

HOTEL_FILE = PLAYBOOKS / "hotel-walked-guest.yaml"


def hotel_definition() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(HOTEL_FILE.read_text(encoding="utf-8"))
    return data


# the shipped version, and the one a deploy would bring next
SHIPPED = int(hotel_definition()["version"])
NEWER = SHIPPED + 1


def changed_hotel(version: int) -> dict[str, Any]:
    """The hotel playbook with different rules: a new step, a smaller 'local', a lower limit."""
    data = copy.deepcopy(hotel_definition())
    data["version"] = version
    data["limits"]["front_desk"]["max_amount"] = 100
    rebook = next(s for s in data["steps"] if s["id"] == "rebook_local")
    next(f for f in rebook["evidence"] if f["name"] == "distance_km")["max"] = 2
    data["steps"].append(
        {"id": "taxi", "title": "Pay the taxi", "owner": "front_desk", "due": "30m"}
    )
    return data


def catalog_of(folder: Path, *definitions: dict[str, Any]) -> Catalog:
    folder.mkdir(parents=True, exist_ok=True)
    for definition in definitions:
        name = f"{definition['id']}-v{definition['version']}.yaml"
        (folder / name).write_text(yaml.safe_dump(definition, sort_keys=False), encoding="utf-8")
    return Catalog.from_directory(folder)


@pytest.fixture
def rec(db_url: str, clock: Clock) -> Iterator[Recovery]:
    """The shipped playbooks in a catalog of this test's own: engines add the versions
    they read from the database to their catalog, so a shared one would leak between tests."""
    engine = over_engine(create_db_engine(db_url), Catalog.from_directory(PLAYBOOKS), clock=clock)
    yield engine
    engine.dispose()


@pytest.fixture
def second_engine(db_url: str, clock: Clock) -> Iterator[Any]:
    """Build another engine on the same database with a different playbook catalog."""
    made: list[Recovery] = []

    def build(catalog: Catalog) -> Recovery:
        made.append(over_engine(create_db_engine(db_url), catalog, clock=clock))
        return made[-1]

    yield build
    for rec in made:
        rec.dispose()


def test_an_incident_keeps_its_playbook_version_after_the_file_moves_on(
    rec: Recovery, second_engine: Any, tmp_path: Path
) -> None:
    old = open_hotel(rec)
    rec.complete_step(old.id, "apologise", {"apology_by": "Ana"}, actor=FRONT_DESK)
    v1_state = rec.get(old.id).state

    newer = second_engine(catalog_of(tmp_path / "v2", changed_hotel(NEWER)))
    assert not newer.catalog.has("hotel-walked-guest", SHIPPED)

    view = newer.get(old.id)
    assert view.state == v1_state
    assert (view.state.playbook_id, view.state.playbook_version) == ("hotel-walked-guest", SHIPPED)
    assert "taxi" not in view.state.steps
    assert view.pending_for_close == HOTEL_STEPS[1:]
    assert newer.replay(old.id) == v1_state
    assert newer.replay(old.id, at_seq=1).steps["apologise"].status == "open"
    assert newer.verify(old.id).ok

    # acting on the old incident still follows v1's rules: 4 km is local, 250 EUR is
    # within the desk's limit (v2 would refuse both)
    moved = newer.complete_step(
        old.id, "rebook_local", {"hotel": "Dagmar", "distance_km": 4}, actor=FRONT_DESK
    )
    recorded(newer, moved)
    paid = newer.complete_step(old.id, "pay_room", {"amount": 250}, actor=FRONT_DESK)
    assert paid.event.playbook_version == SHIPPED
    assert newer.verify(old.id).ok
    assert rec.verify(old.id).ok

    # a new incident gets v2, with its rules
    fresh = open_hotel(newer)
    assert fresh.incident.state.playbook_version == NEWER
    assert list(fresh.incident.state.steps) == [*HOTEL_STEPS, "taxi"]
    refused(
        newer,
        fresh.id,
        NotAllowedNowError,
        lambda: newer.complete_step(fresh.id, "pay_room", {"amount": 250}, actor=FRONT_DESK),
    )
    assert newer.verify(fresh.id).ok
    # and the first engine, which never loaded v2, reads it from the database too
    assert rec.get(fresh.id).state.playbook_version == NEWER
    assert rec.verify(fresh.id).ok


def test_a_version_neither_loaded_nor_stored_is_reported(
    rec: Recovery, second_engine: Any, tmp_path: Path
) -> None:
    incident = open_hotel(rec).id
    execute_sql(rec, "DELETE FROM playbook_versions")
    other = second_engine(catalog_of(tmp_path / "other", changed_hotel(NEWER)))
    with pytest.raises(UnknownPlaybookError, match=f"version {SHIPPED}"):
        other.get(incident)
    assert rec.get(incident).state.playbook_version == SHIPPED  # still loaded in this catalog


def test_a_playbook_changed_without_a_version_bump_is_refused_when_opening(
    rec: Recovery, second_engine: Any, tmp_path: Path
) -> None:
    open_hotel(rec)  # the database now records hotel-walked-guest v1 as shipped
    same_version = changed_hotel(SHIPPED)
    edited = second_engine(catalog_of(tmp_path / "edited", same_version))
    before = edited.log.incident_ids()
    try:
        open_hotel(edited)
    except PlaybookError as error:
        assert any(p.location == "version" for p in error.problems)
        assert edited.log.incident_ids() == before
    else:
        raise AssertionError("opening with a changed, same-version playbook was accepted")


def test_a_playbook_changed_without_a_version_bump_is_refused_for_recorded_incidents(
    rec: Recovery, second_engine: Any, tmp_path: Path
) -> None:
    incident = open_hotel(rec).id
    edited = second_engine(catalog_of(tmp_path / "edited", changed_hotel(SHIPPED)))
    before = len(edited.timeline(incident))
    try:
        edited.complete_step(incident, "pay_room", {"amount": 50}, actor=MANAGER)
    except PlaybookError:
        assert len(edited.timeline(incident)) == before
    else:
        raise AssertionError("a command ran under a changed, same-version playbook")


def test_reloading_the_same_unchanged_playbook_is_accepted(
    rec: Recovery, second_engine: Any, tmp_path: Path
) -> None:
    open_hotel(rec)
    same = second_engine(catalog_of(tmp_path / "same", hotel_definition()))
    out = open_hotel(same)
    assert out.incident.state.playbook_version == SHIPPED
    assert same.verify(out.id).ok


def test_first_command_on_an_incident_of_a_retired_version(
    rec: Recovery, db_url: str, clock: Clock, tmp_path: Path
) -> None:
    """A fresh engine (after a deploy of v2) whose first call on a v1 incident is a command."""
    incident = open_hotel(rec).id
    engine = create_db_engine(db_url)
    if engine.dialect.name == "sqlite":
        # A read inside the write transaction must not wait for the write lock: if it did,
        # this would fail after half a second rather than hang for the busy timeout.
        @event.listens_for(engine, "connect")
        def _short_wait(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA busy_timeout=500")

    fresh = over_engine(engine, catalog_of(tmp_path / "v2", changed_hotel(NEWER)), clock=clock)
    try:
        out = fresh.complete_step(
            incident, "rebook_local", {"hotel": "Dagmar", "distance_km": 4}, actor=FRONT_DESK
        )
        assert out.event.playbook_version == SHIPPED
        recorded(fresh, out)
    finally:
        fresh.dispose()


def test_reading_a_newer_incident_does_not_change_what_new_incidents_get(
    rec: Recovery, second_engine: Any, tmp_path: Path
) -> None:
    newer = second_engine(catalog_of(tmp_path / "v2", changed_hotel(NEWER)))
    from_v2 = open_hotel(newer).id
    assert open_hotel(rec).incident.state.playbook_version == SHIPPED
    assert rec.get(from_v2).state.playbook_version == NEWER
    assert open_hotel(rec).incident.state.playbook_version == SHIPPED, (
        "shipped files, shipped version"
    )
