"""The next thing to do, on the board and at the top of the incident page, over a real
server: the overdue step first, then what awaits the viewer's decision; and the incident
page's times in the property's zone, marked."""

from __future__ import annotations

import re
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

from recovery import Catalog
from recovery.domain.state import parse_iso
from tests.conftest import Clock
from tests.e2e.test_web import act, open_hotel
from tests.e2e.test_web_helpers import PASSWORD, running_site, text_of


def next_column(board: str) -> dict[str, str]:
    """Each board row's incident id -> the text of its "Next to do" cell."""
    rows = re.findall(
        r'<td data-label="Next to do"[^>]*>(.*?)</td>\s*<td data-label="Customer">'
        r'<a href="/web/incidents/(\w+)"',
        board,
        re.S,
    )
    return {incident: text_of(cell).strip() for cell, incident in rows}


def top_of(page: str) -> str:
    found = re.search(r'<p class="next-to-do" id="next-to-do">(.*?)</p>', page, re.S)
    assert found, "the incident page shows no next thing to do"
    return text_of(found.group(1)).strip()


def test_the_overdue_step_is_the_next_thing_to_do_on_the_board_and_the_incident(
    catalog: Catalog, sqlite_url: str, tmp_path: Path, clock: Clock
) -> None:
    with running_site(sqlite_url, catalog, tmp_path / "mail", clock=clock) as site:
        desk = site.signed_in("ana")
        late = open_hotel(desk, **{"customer.name": "Late Guest"})
        clock.advance(minutes=3)
        calm = open_hotel(desk, **{"customer.name": "Calm Guest"})
        act(desk, calm, "steps/apologise/complete", {"ev.apology_by": "Ana"})
        clock.advance(minutes=4)  # the first guest's apology (due in 5 minutes) is late

        column = next_column(desk.get("/").text)
        assert column[late].startswith("Apologise and mean it (front desk), overdue by 2 min")
        assert column[calm].startswith("Find another room in this town, now (front desk), due in")
        assert "overdue" not in column[calm]
        top = top_of(desk.get(f"/web/incidents/{late}").text)
        assert top.startswith("Next: Apologise and mean it (front desk), overdue by 2 min")

        # once apologised, the next step is the earliest due of the rest
        act(desk, late, "steps/apologise/complete", {"ev.apology_by": "Ana"})
        top = top_of(desk.get(f"/web/incidents/{late}").text)
        assert top.startswith(
            "Next: Find another room in this town, now (front desk), due in 23 min"
        )

        # an approval asked for is the manager's next thing, not the desk's
        act(desk, calm, "steps/pay_room/request_approval", {"amount": "450", "reason": "Suite"})
        manager = site.signed_in("mads")
        column = next_column(manager.get("/").text)
        assert column[calm].startswith("Insist on paying for the replacement room (front desk)")
        assert "awaiting your decision" in column[calm]
        assert "awaiting your decision" not in next_column(desk.get("/").text)[calm]


def test_the_incident_page_shows_times_in_the_propertys_zone_marked(
    catalog: Catalog, sqlite_url: str, tmp_path: Path, clock: Clock
) -> None:
    with running_site(sqlite_url, catalog, tmp_path / "mail", clock=clock) as site:
        site.app.state.ctx.accounts.add_user("kim", PASSWORD, "front_desk", ["copenhagen-airport"])
        kim = site.signed_in("kim")
        airport = open_hotel(kim, site="copenhagen-airport")
        opened = site.rec.get(airport).state.opened_at
        local = parse_iso(opened).astimezone(ZoneInfo("Europe/Copenhagen"))
        assert local.tzname() in ("CET", "CEST")
        page = text_of(kim.get(f"/web/incidents/{airport}").text)
        assert f"Opened {local:%a} {local.day} {local:%b, %H:%M} {local:%Z}" in page
        # a property without a calendar stays in UTC, and says so
        desk = site.signed_in("ana")
        ribe = open_hotel(desk)
        utc = parse_iso(site.rec.get(ribe).state.opened_at).astimezone(UTC)
        page = text_of(desk.get(f"/web/incidents/{ribe}").text)
        assert f"Opened {utc:%a} {utc.day} {utc:%b, %H:%M} UTC" in page


def test_a_conflict_says_when_in_the_propertys_zone_marked(
    catalog: Catalog, sqlite_url: str, tmp_path: Path, clock: Clock
) -> None:
    """Who changed what and when, the when written as the page around it writes times."""
    from tests.e2e.test_web import shown_version

    with running_site(sqlite_url, catalog, tmp_path / "mail", clock=clock) as site:
        site.app.state.ctx.accounts.add_user("kim", PASSWORD, "front_desk", ["copenhagen-airport"])
        site.app.state.ctx.accounts.add_user("lis", PASSWORD, "manager", ["copenhagen-airport"])
        kim, lis = site.signed_in("kim"), site.signed_in("lis")
        airport = open_hotel(kim, site="copenhagen-airport")
        seen = shown_version(kim.get(f"/web/incidents/{airport}").text, "step-dinner-complete")
        clock.advance(minutes=2)
        lis.get(f"/web/incidents/{airport}")
        waived = lis.post(
            f"/web/incidents/{airport}/steps/dinner/waive",
            {"reason": "ate at the wedding", "version": seen},
        )
        assert waived.status_code == 303
        stale = kim.post(
            f"/web/incidents/{airport}/steps/dinner/complete",
            {"ev.amount": "60", "ev.restaurant": "Backhaus", "version": seen},
        )
        assert stale.status_code == 409
        local = clock.now.astimezone(ZoneInfo("Europe/Copenhagen"))
        said = text_of(stale.text)
        assert f"lis (manager) at {local:%Y-%m-%d %H:%M} {local:%Z}: " in said, said[:3000]
        assert " UTC" not in said.split("Someone else recorded")[1].split(".")[0]
