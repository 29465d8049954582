"""Live pages over HTTP on a real server (SQLite and PostgreSQL): the change stream of a
page hears a command recorded by another engine (as another process would), only within
the viewer's scope; the number of streams is bounded; the approval queue and the
notifications work as plain forms without JavaScript; and a letter queued on a server
without a worker says so."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from recovery import Actor, Catalog, CustomerProfile, OpenIncident, Recovery
from recovery.bootstrap import over_engine
from recovery.http.web import live
from recovery.service.notifications import Notifier
from recovery.storage.database import create_db_engine
from tests.e2e.test_web_helpers import Person, Site, running_site, text_of

ANA = Actor(id="ana", role="front_desk")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def site(request: pytest.FixtureRequest, catalog: Catalog, tmp_path: Path) -> Iterator[Site]:
    url = str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))
    with running_site(url, catalog, tmp_path / "mail") as running:
        running.url = url  # type: ignore[attr-defined]
        yield running


@pytest.fixture
def other_process(site: Site, catalog: Catalog) -> Iterator[Recovery]:
    """An engine of its own over the same database: what another server or a worker is."""
    rec = over_engine(create_db_engine(site.url), catalog)  # type: ignore[attr-defined]
    yield rec
    rec.dispose()


def open_at(rec: Recovery, site_name: str, name: str = "Lone Berg") -> str:
    return rec.open(
        OpenIncident(
            incident_type="hotel.walked_guest",
            site=site_name,
            customer=CustomerProfile(name=name),
        ),
        actor=Actor(id="someone", role="front_desk"),
        channel="desk",
    ).id


class Stream:
    """An open change stream, read on a thread (as a browser's EventSource)."""

    def __init__(self, person: Person, path: str) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.status: queue.Queue[int] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(person.http, path))
        self._thread.daemon = True
        self._thread.start()

    def _read(self, http: httpx.Client, path: str) -> None:
        try:
            with http.stream("GET", path, timeout=None) as response:
                self.status.put(response.status_code)
                for line in response.iter_lines():
                    self.lines.put(line)
        except httpx.HTTPError:
            pass

    def next_event(self, wait: float = 10.0) -> tuple[str, str]:
        """The next event's name and data (comments and blank lines skipped)."""
        name = ""
        while True:
            line = self.lines.get(timeout=wait)
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name:
                return name, line[6:]


def signed_in(site: Site, username: str) -> Person:
    return site.signed_in(username)


def test_a_page_hears_another_process_record_a_change_in_its_scope(
    site: Site, other_process: Recovery
) -> None:
    mine = open_at(other_process, "ribe")
    theirs = open_at(other_process, "vejle")
    ana = signed_in(site, "ana")  # front desk at ribe
    board = Stream(ana, "/live/board")
    page = Stream(ana, f"/live?incident={mine}")
    assert board.status.get(timeout=10) == 200
    assert page.status.get(timeout=10) == 200
    assert board.lines.get(timeout=10) == "retry: 1000"

    other_process.add_note(theirs, "at another property", actor=ANA, channel="desk")
    other_process.add_note(mine, "the guest called", actor=ANA, channel="desk")
    assert page.next_event() == ("change", f'{{"incidents":["{mine}"]}}')
    # the board hears its own property's incident; vejle's never reaches ana's stream
    # (on PostgreSQL other tests' schemas notify the same channel: read up to this one)
    heard: list[str] = []
    while mine not in heard:
        name, data = board.next_event()
        assert name == "change"
        heard += orjson.loads(data)["incidents"]
    assert theirs not in heard


def test_a_stream_is_refused_where_the_page_would_be(site: Site, other_process: Recovery) -> None:
    theirs = open_at(other_process, "vejle")
    ana = signed_in(site, "ana")
    assert ana.http.get(f"/live?incident={theirs}").status_code == 404
    assert ana.http.get("/live").status_code == 400
    stranger = Person(site.client())
    assert stranger.http.get("/live/board").status_code == 303  # to the sign-in page


def test_the_number_of_open_streams_is_bounded(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "MAX_STREAMS", 1)
    ana = signed_in(site, "ana")
    first = Stream(ana, "/live/board")
    assert first.status.get(timeout=10) == 200
    refused = ana.http.get("/live/board")
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "30"


def test_approvals_and_notifications_work_without_javascript(
    site: Site, other_process: Recovery
) -> None:
    iid = open_at(other_process, "ribe", "Jens Holm")
    other_process.act_on_step(
        iid, "pay_room", "request_approval", actor=ANA, amount=450, reason="suite only"
    )
    mads = signed_in(site, "mads")
    queue_page = mads.get("/web/approvals")
    shown = text_of(queue_page.text)
    assert "Jens Holm" in shown and "450 EUR" in shown and "suite only" in shown
    assert "300 EUR (front desk)" in shown
    done = mads.post(
        f"/web/incidents/{iid}/steps/pay_room/grant_approval",
        {"version": str(site.rec.get(iid).version), "reason": "", "back": "/web/approvals"},
    )
    assert done.headers["location"] == "/web/approvals"
    assert "Nothing waits for your approval" in text_of(mads.follow(done).text)
    assert signed_in(site, "ana").get("/web/approvals").status_code == 403

    Notifier(site.rec).tell(iid)  # the worker's pass
    ana = signed_in(site, "ana")
    listed = ana.get("/web/notifications")
    assert "mads approved" in text_of(listed.text)
    read = ana.post("/web/notifications/read", {})
    assert "1 marked read" in text_of(ana.follow(read).text) or "Marked read" in text_of(ana.page)
    assert site.rec.storage.notifications.unread_count("ana") == 0
    assert ana.post("/web/notifications/read", {"id": "x1"}).status_code == 400


def test_a_letter_queued_without_a_worker_says_it_waits_for_one(
    site: Site, other_process: Recovery
) -> None:
    iid = open_at(other_process, "ribe")
    mads = Actor(id="mads", role="manager")
    other_process.act_on_step(iid, "written_apology", "draft", actor=mads)
    other_process.act_on_step(
        iid, "written_apology", "request_send", actor=mads, recipient="guest@example.com"
    )
    page = text_of(signed_in(site, "mads").get(f"/web/incidents/{iid}").text)
    assert "No worker runs in this server" in page
    assert "recovery worker" in page
