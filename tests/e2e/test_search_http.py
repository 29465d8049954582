"""Search over every door: the API (`GET /incidents?q=`), the web page without
JavaScript (`/web/search`, the header's box) and the CLI (`recovery incidents search`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recovery import Catalog
from recovery.cli import app as cli
from tests.conftest import MANAGER
from tests.e2e.test_api_helpers import Api, running_api
from tests.e2e.test_web_helpers import HOTEL_FORM, Site, running_site, text_of


@pytest.fixture
def api(sqlite_url: str, catalog: Catalog) -> Iterator[Api]:
    with running_api(sqlite_url, catalog) as running:
        yield running


@pytest.fixture
def site(sqlite_url: str, catalog: Catalog, tmp_path: Path) -> Iterator[Site]:
    with running_site(sqlite_url, catalog, tmp_path / "mail") as running:
        yield running


def test_api_search_finds_closed_incidents_in_scope(api: Api) -> None:
    mette = api.open(external_ref="RES-104233")
    assert mette["external_ref"] == "RES-104233"
    api.rec.release(mette["id"], "chose another hotel", "Hotel Dagmar", actor=MANAGER)
    api.open(site="vejle", who="desk_vejle", external_ref="RES-104299")
    desk = api.client("desk")
    found = desk.get("/incidents", params={"q": "res-1042"})
    assert found.status_code == 200, found.text
    assert [i["id"] for i in found.json()["items"]] == [mette["id"]]  # not vejle's
    assert found.json()["items"][0]["status"] == "released"
    assert (
        len(api.client("auditor").get("/incidents", params={"q": "res1042"}).json()["items"]) == 2
    )
    assert desk.get("/incidents").json()["items"] == []  # the board's list: open ones only
    bad = desk.get("/incidents", params={"q": "a\x01"})
    assert bad.status_code == 422
    assert "q" in bad.json()["field"]


def test_web_search_box_and_page(site: Site) -> None:
    desk = site.signed_in("ana")
    desk.get("/web/incidents/new")
    opened = desk.post("/web/incidents/new", data={**HOTEL_FORM, "external_ref": "RES-77"})
    incident = desk.follow(opened)
    assert "RES-77" in text_of(incident.text)
    incident_id = str(opened.headers["location"]).rsplit("/", 1)[1]
    site.rec.release(incident_id, "chose another hotel", "Hotel Dagmar", actor=MANAGER)
    board = desk.get("/")
    assert 'action="/web/search"' in board.text and "Mette" not in text_of(board.text)
    page = desk.get("/web/search", params={"q": "res-77"})
    assert page.status_code == 200
    assert f'href="/web/incidents/{incident_id}"' in page.text
    assert "1 found" in text_of(page.text)
    # another property's desk does not find it
    other = site.signed_in("vera").get("/web/search", params={"q": "res-77"})
    assert "Nothing found" in text_of(other.text)
    assert incident_id not in other.text
    # the exact incident id goes straight to it
    direct = desk.get("/web/search", params={"q": incident_id})
    assert direct.status_code == 303
    assert direct.headers["location"].endswith(incident_id)
    assert "at least 2 characters" in text_of(desk.get("/web/search?q=m").text)


def test_cli_search(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    opened = runner.invoke(
        cli,
        ["incident", "open", "--type", "hotel.walked_guest", "--site", "ribe",
         "--customer", "Mette Jensen", "--contact", "+45 20 30 40 50", "--ref", "ACC-55",
         "--db", db, "--json"],
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    incident_id = json.loads(opened.stdout)["incident"]["id"]
    for query in ("acc-55", "20304050", "jensen"):
        found = runner.invoke(cli, ["incidents", "search", query, "--db", db, "--json"])
        assert found.exit_code == 0, found.output
        assert [i["id"] for i in json.loads(found.stdout)] == [incident_id], query
    table = runner.invoke(cli, ["incidents", "search", "nobody", "--db", db])
    assert table.exit_code == 0
