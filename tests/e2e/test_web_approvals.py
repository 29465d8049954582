"""The approval queue declines right there, as it approves: with the alternatives the
customer is offered instead (required), back to the queue, the request gone from it, the
alternatives on the step, and the desk told that its request was declined."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from recovery import Catalog
from recovery.service.notifications import Notifier
from tests.e2e.test_web import act, open_hotel
from tests.e2e.test_web_helpers import Site, running_site, text_of


@pytest.fixture
def lite(catalog: Catalog, sqlite_url: str, tmp_path: Path) -> Iterator[Site]:
    with running_site(sqlite_url, catalog, tmp_path / "mail") as running:
        yield running


def test_a_manager_declines_from_the_queue_offering_alternatives(lite: Site) -> None:
    desk = lite.signed_in("ana")
    incident = open_hotel(desk, **{"customer.name": "Jonna Vind"})
    act(desk, incident, "steps/dinner/request_approval", {"amount": "250", "reason": "tasting"})

    mads = lite.signed_in("mads")
    queue = text_of(mads.get("/web/approvals").text)
    assert "Jonna Vind" in queue and "250 EUR" in queue and "tasting" in queue
    version = str(lite.rec.get(incident).version)
    path = f"/web/incidents/{incident}/steps/dinner/deny_approval"

    bare = mads.post(path, {"version": version, "alternatives": "", "back": "/web/approvals"})
    assert bare.status_code == 422  # a decline is never a bare no
    assert lite.rec.get(incident).state.steps["dinner"].status == "awaiting_approval"

    mads.get("/web/approvals")
    declined = mads.post(
        path,
        {
            "version": version,
            "alternatives": "the three-course menu, paid in full\na bottle of wine",
            "reason": "over the dinner limit",
            "back": "/web/approvals",
        },
    )
    assert declined.status_code == 303 and declined.headers["location"] == "/web/approvals"
    queue = text_of(mads.follow(declined).text)
    assert "Nothing waits for your approval" in queue
    assert "declined; the alternatives are offered" in queue and "to do" not in queue
    step = lite.rec.get(incident).state.steps["dinner"]
    assert step.status == "open" and step.approval is not None
    assert step.approval["alternatives"] == [
        "the three-course menu, paid in full",
        "a bottle of wine",
    ]

    Notifier(lite.rec).tell(incident)  # the worker's pass
    told = text_of(desk.get("/web/notifications").text)
    assert "your request was declined" in told and "Jonna Vind" in told
    page = text_of(desk.get(f"/web/incidents/{incident}").text)
    assert "a bottle of wine" in page
