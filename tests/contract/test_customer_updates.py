"""A playbook's `customer_updates` tells the customer of a hand-off or a moved deadline as
it happens: a `notify_customer` effect on the event, through the outbox, on memory, SQLite
and PostgreSQL; only when the playbook says so, and never with a staff name or note."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from recovery import Catalog, CustomerProfile, OpenIncident, Recovery
from recovery.bootstrap import in_memory, over_engine
from recovery.errors import PlaybookError
from recovery.storage.database import create_db_engine
from tests.conftest import FRONT_DESK, MANAGER, PLAYBOOKS, Clock

CONTEXT = "HANDOFFSECRET: the guest shouted at reception, see the note"
NOTE = "NOTESECRET internal"


def catalog_with(tmp_path: Path, option: str | None) -> Catalog:
    directory = tmp_path / "playbooks"
    shutil.copytree(PLAYBOOKS, directory)
    if option is not None:
        hotel = directory / "hotel-walked-guest.yaml"
        hotel.write_text(hotel.read_text() + "\n" + option)
    return Catalog.from_directory(directory)


@pytest.fixture(params=["both", "handoff", "none"])
def told(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path, clock: Clock
) -> Iterator[tuple[str, Recovery]]:
    option = {
        "both": "customer_updates:\n  notify: [handoff, deadline_moved]\n  channel: sms\n",
        "handoff": "customer_updates:\n  notify: [handoff]\n  channel: email\n",
        "none": None,
    }[request.param]
    catalog = catalog_with(tmp_path, option)
    if backend == "memory":
        rec = in_memory(catalog, clock=clock)
    else:
        rec = over_engine(create_db_engine(request.getfixturevalue("db_url")), catalog, clock=clock)
    yield request.param, rec
    rec.dispose()


def test_the_customer_is_told_only_what_the_playbook_says(
    told: tuple[str, Recovery], clock: Clock
) -> None:
    which, rec = told
    opened = rec.open(
        OpenIncident(
            incident_type="hotel.walked_guest",
            site="ribe",
            customer=CustomerProfile(name="Mette Jensen", contact="+45 20 30 40 50"),
        ),
        actor=FRONT_DESK,
        channel="desk",
    )
    iid = opened.id
    rec.add_note(iid, NOTE, actor=FRONT_DESK)
    handed = rec.hand_off(iid, "mads", CONTEXT, actor=FRONT_DESK)
    rec.hold(iid, "waiting for the guest", actor=MANAGER)
    clock.advance(hours=1)
    resumed = rec.resume(iid, actor=MANAGER)

    def effects(data: dict[str, object]) -> list[object]:
        return list(data.get("effects", []))  # type: ignore[call-overload]

    outbox, _ = rec.storage.outbox.claim(
        clock.now, limit=100, lease=timedelta(minutes=1), max_attempts=5
    )
    told_customer = [json.loads(c.payload) for c in outbox if c.kind == "notify_customer"]
    expected = {"both": ["new_owner", "deadlines_moved"], "handoff": ["new_owner"], "none": []}
    assert [m["update"] for m in told_customer] == expected[which]
    channel = {"both": "sms", "handoff": "email", "none": None}[which]
    for message in told_customer:
        assert message["channel"] == channel
        assert message["recipient"] == "+45 20 30 40 50"
        text = json.dumps(message)
        for secret in ("ana", "mads", "HANDOFFSECRET", "NOTESECRET", "shouted"):
            assert secret not in text
    assert bool(effects(handed.event.data)) == (which != "none")
    assert bool(effects(resumed.event.data)) == (which == "both")
    # The timeline replays to the same state with the effects in it.
    assert rec.get(iid).state.owner == "mads"


@pytest.mark.parametrize(
    ("option", "where"),
    [
        ("customer_updates:\n  notify: [handoff, callback]\n  channel: sms\n", "notify"),
        ("customer_updates:\n  notify: []\n  channel: sms\n", "notify"),
        ("customer_updates:\n  notify: [handoff, handoff]\n  channel: sms\n", "notify"),
        ("customer_updates:\n  notify: [handoff]\n", "channel"),
        ("customer_updates:\n  notify: [handoff]\n  channel: SMS!\n", "channel"),
    ],
)
def test_a_bad_customer_updates_option_is_refused_by_name(
    tmp_path: Path, option: str, where: str
) -> None:
    with pytest.raises(PlaybookError) as refused:
        catalog_with(tmp_path, option)
    message = str(refused.value)
    assert "hotel-walked-guest.yaml" in message and "customer_updates" in message
    assert where in message
