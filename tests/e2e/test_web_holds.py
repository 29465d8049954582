"""Business time and holds on the pages: the customer's status page writes the promise in the
property's time zone, marked, and says "next working day" where that is the honest answer;
staff put a step on hold from the incident page, the board and the customer see what we
wait for, and resuming moves the deadline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from recovery import Catalog, CustomerProfile, OpenIncident
from recovery.domain.state import iso
from recovery.domain.validation import validate_playbook
from recovery.sites import Sites
from tests.conftest import FRONT_DESK, PLAYBOOKS, Clock
from tests.contract.test_business_time import CALLBACK
from tests.e2e.test_web import act
from tests.e2e.test_web_helpers import Site, running_site, text_of

CPH = ZoneInfo("Europe/Copenhagen")
RIBE = """site: ribe
version: 1
time_zone: Europe/Copenhagen
country: DK
hours: {mon-fri: "08:00-16:00"}
"""


@pytest.fixture
def desk(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[Site, Clock]]:
    catalog = Catalog.from_directory(PLAYBOOKS)
    catalog.add(validate_playbook(CALLBACK, "callback-desk.yaml"))
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "ribe.yaml").write_text(RIBE)
    clock = Clock(datetime(2026, 3, 6, 15, 30, tzinfo=CPH).astimezone(UTC))  # a Friday
    with running_site(sqlite_url, catalog, tmp_path / "mail", clock) as running:
        running.rec.sites = Sites.from_directory(sites)
        yield running, clock


def open_callback(site: Site) -> str:
    command = OpenIncident(
        incident_type="energy.callback",
        site="ribe",
        customer=CustomerProfile(name="Birgitte Poulsen"),
    )
    return site.rec.open(command, actor=FRONT_DESK, channel="phone").id


def status_page(site: Site, incident_id: str, lang: str) -> str:
    token = site.app.state.web.links.create(incident_id, "test", site.rec.clock())
    response = site.client().get(f"/status/{token}?lang={lang}")
    assert response.status_code == 200
    return text_of(response.text)


def test_the_customer_reads_the_promise_in_the_propertys_time(
    desk: tuple[Site, Clock],
) -> None:
    site, _clock = desk
    incident_id = open_callback(site)
    english = status_page(site, incident_id, "en")
    assert "by next working day, 9 March 2026, 09:30 (CET)" in english
    assert "(CET)" in english and "Times are Ribe time (CET)." in english
    danish = status_page(site, incident_id, "da")
    assert "næste arbejdsdag" in danish
    indonesian = status_page(site, incident_id, "id")
    assert "hari kerja berikutnya" in indonesian


def test_a_step_put_on_hold_from_the_page_shows_what_we_wait_for(
    desk: tuple[Site, Clock],
) -> None:
    site, clock = desk
    incident_id = open_callback(site)
    ana = site.signed_in("ana")
    page = text_of(
        act(
            ana,
            incident_id,
            "hold",
            {"step": "call_back", "reason": "your latest meter reading"},
        )
    )
    assert "On hold: the clock stops until you resume." in page
    assert "on hold: your latest meter reading" in page
    board = text_of(ana.get("/").text)
    assert "waiting for your latest meter reading" in board
    customer = status_page(site, incident_id, "en")
    assert "We are waiting for: your latest meter reading" in customer
    assert "next working day" not in customer  # its clock is stopped: no promise to date

    # Held from Friday 15:30 to Monday 11:00: 3.5 business hours; the 2 left run from now.
    clock.now = datetime(2026, 3, 9, 11, 0, tzinfo=CPH).astimezone(UTC)
    ana = site.signed_in("ana")  # Monday: Friday's session is past its 12 hours
    page = text_of(act(ana, incident_id, "resume", {"step": ""}))
    assert "Resumed: deadlines moved by the time held." in page
    state = site.rec.get(incident_id).state
    assert state.holds is None
    assert state.steps["call_back"].due_at == iso(datetime(2026, 3, 9, 13, 0, tzinfo=CPH))
